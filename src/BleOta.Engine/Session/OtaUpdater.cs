using BleOta.Engine.Discovery;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;

namespace BleOta.Engine.Session;

/// <summary>
/// Runs one update of one device end to end: connect, learn what the device is, refuse a mismatched image,
/// send it with the chosen protocol, and report a result. Never throws for a device's failure; the result says.
/// </summary>
public sealed class OtaUpdater(OtaSessionRegistry registry)
{
    private readonly TransferPlanner _planner = new();

    public OtaUpdater() : this(OtaSessionRegistry.Shared)
    {
    }

    /// <summary>Opens a session now, so it is visible to <c>Get-OtaProgress</c> while it waits its turn.</summary>
    /// <exception cref="ArgumentException">The image is not a valid app image: nothing of it may reach a device.</exception>
    public OtaSession CreateSession(Esp32Device device, FirmwareImage image) =>
        image.IsValid
            ? registry.Start(device, image)
            : throw new ArgumentException($"{image.Path ?? "The image"} is not a valid app image: {image.Diagnostics.First(d => d.Severity == DiagnosticSeverity.Error).Message}", nameof(image));

    /// <summary>The protocols this engine speaks, oldest first; <c>Auto</c> picks the newest the device offers.</summary>
    public static IReadOnlyList<OtaProtocolVersion> SupportedProtocols { get; } = [OtaProtocolVersion.V1, OtaProtocolVersion.V2];

    /// <summary>
    /// Runs the session to its end. <paramref name="cancellationToken"/> and <see cref="OtaSession.Cancel"/> both stop
    /// it; a session cancelled before it started ends at once without connecting.
    /// </summary>
    public async Task<OtaResult> RunAsync(OtaSession session, OtaOptions options, IProgress<OtaProgress>? progress, CancellationToken cancellationToken)
    {
        string? versionBefore = null;
        var protocol = OtaProtocolVersion.V1;
        var transfer = OtaTransfer.Full;
        var counter = new TransferCounter();
        var log = options.Log;
        IBleConnection? connection = null;
        OtaResult Finish(OtaStatus status, string? after, OtaException? error) =>
            Result(session, status, protocol, versionBefore, after, error) with { Transfer = transfer, BytesOnAir = counter.DataBytes };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, session.CancellationToken);
        cancellationToken = stop.Token;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            session.SetState(OtaState.Connecting);
            progress?.Report(session.Snapshot());
            log.Verbose($"Connecting over the {session.Device.TransportName} transport.");
            connection = await ConnectAsync(session, options, cancellationToken).ConfigureAwait(false);

            session.SetState(OtaState.Negotiating);
            progress?.Report(session.Snapshot());
            var info = await NegotiateAsync(connection, session.Image, options, cancellationToken).ConfigureAwait(false);
            versionBefore = info?.RunningVersion;
            if (options.SkipIfCurrent && RunsImage(info, session.Image, log))
            {
                session.SetState(OtaState.Skipped);
                return Finish(OtaStatus.Skipped, versionBefore, null);
            }

            protocol = ChooseProtocol(options.Protocol, info, connection.Address);

            var image = session.Image.Bytes;
            var reporter = new Progress(session, progress);
            if (protocol == OtaProtocolVersion.V2)
            {
                var plan = _planner.Plan(session.Image, info!, options);
                transfer = plan.Kind;
                int payload = V2Client.PayloadSizeFor(connection.Mtu, info!.MaxPacketPayload);
                BeginV2(session, connection, plan, payload, info, log);
                for (int reconnects = 0; ; )
                {
                    try
                    {
                        await new V2Client(options.Timeouts, counter).SendAsync(connection, image, plan.Stream, plan.Compressed, info.MaxPacketPayload, reporter, cancellationToken, plan.BaseSha256).ConfigureAwait(false);
                        break;
                    }
                    catch (OtaException ex) when (ex.DeviceError == V2Error.BaseMismatch && plan.BaseSha256 is not null)
                    {
                        // Info named one image and the device checked the patch's base against another: never a failure.
                        log.Verbose("The device refused the patch: it does not run the image the patch was made against (BaseMismatch). Sending the whole image instead.");
                        plan = _planner.Full(session.Image, info, options);
                        transfer = plan.Kind;
                        BeginV2(session, connection, plan, payload, info, log);
                    }
                    catch (OtaException ex) when (ex.Code == OtaErrorCode.Disconnected && reconnects < options.MaxReconnects)
                    {
                        // The device keeps a v2 update for its client: the same REQUEST resumes at the device's offset.
                        reconnects++;
                        log.Verbose($"The link dropped after {session.Snapshot().BytesSent:N0} acknowledged bytes ({ex.Message}); reconnecting to resume ({reconnects} of {options.MaxReconnects}).");
                        // Closed before reconnecting: closing a link the OS still counts as up (its write socket
                        // was shut first) would otherwise disconnect the new one.
                        await connection.DisposeAsync().ConfigureAwait(false);
                        connection = null;
                        connection = await ConnectAsync(session, options, cancellationToken).ConfigureAwait(false);
                        await connection.RequestMtuAsync(options.PreferredMtu, cancellationToken).ConfigureAwait(false);
                        if (await RunsAlreadyAsync(connection, session.Image, cancellationToken).ConfigureAwait(false))
                        {
                            log.Verbose("The device already runs the new image: it took it and restarted before its DONE_ACK reached this computer.");
                            break;
                        }
                    }
                }
            }
            else
            {
                int packetSize = V1Client.PacketSizeFor(connection.Mtu);
                session.BeginTransfer(connection.Clock, V1Client.PacketCount(image.Length, packetSize));
                log.Verbose($"Sending {image.Length:N0} bytes in {session.Snapshot().TotalPackets} packets with protocol {protocol}.");
                log.Debug($"MTU {connection.Mtu}, {packetSize}-byte packets, each acknowledged; image SHA-256 {Convert.ToHexString(session.Image.FileSha256)}.");
                await new V1Client(options.Timeouts, counter).SendAsync(connection, image, reporter, cancellationToken).ConfigureAwait(false);
            }

            log.Verbose("The device checked the image and accepted it (DONE_ACK); it restarts into it.");
            Remember(session.Image, options);

            string? versionAfter = session.Image.Version;
            bool? verified = null;
            if (options.Verify)
            {
                string? running = await VerifyAsync(session, connection, info, options, cancellationToken).ConfigureAwait(false);
                verified = running is null ? null : true;
                versionAfter = running ?? versionAfter;
            }

            session.SetState(OtaState.Succeeded);
            return Finish(OtaStatus.Succeeded, versionAfter, null) with { Verified = verified };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Closing the link (below) makes the device abort its OTA handle; it keeps its firmware.
            var stage = session.Snapshot().State;
            string outcome = stage switch
            {
                OtaState.Queued => "nothing was sent",
                OtaState.Verifying => "the device had accepted the new image, but it was not verified",
                _ => "the device keeps its current firmware",
            };
            session.SetState(OtaState.Cancelled, $"{session.CancelReason ?? "Cancelled by the user"}; {outcome}.");
            return Finish(OtaStatus.Cancelled, stage == OtaState.Verifying ? session.Image.Version : versionBefore, null);
        }
        catch (OtaException ex)
        {
            session.SetState(OtaState.Failed, ex.Message);
            return Finish(OtaStatus.Failed, versionBefore, ex) with { Verified = ex.Code == OtaErrorCode.RolledBack ? false : null };
        }
        catch (BleTransportException ex)
        {
            // A GATT step outside the image transfer failed (subscribe, read, MTU exchange).
            var failure = ex is BleLinkLostException
                ? new OtaException(OtaErrorCode.Disconnected, $"The link to the device was lost: {ex.Message}", ex)
                : new OtaException(OtaErrorCode.TransportError, $"The link to the device failed: {ex.Message}", ex);
            session.SetState(OtaState.Failed, failure.Message);
            return Finish(OtaStatus.Failed, versionBefore, failure);
        }
        catch (Exception ex)
        {
            // A transport let an OS error (or its own timeout) escape untranslated: still a result, never a session left running.
            var failure = new OtaException(OtaErrorCode.TransportError, $"The {session.Device.TransportName} transport failed unexpectedly ({ex.GetType().Name}: {ex.Message}).", ex);
            session.SetState(OtaState.Failed, failure.Message);
            return Finish(OtaStatus.Failed, versionBefore, failure);
        }
        finally
        {
            // Whichever link the update ended on: a resumed v2 update replaces its first one.
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            progress?.Report(session.Snapshot());
        }
    }

    /// <summary>Starts (or restarts, after a fallback to the whole image) the session's transfer figures for a v2 stream.</summary>
    private static void BeginV2(OtaSession session, IBleConnection connection, TransferPlan plan, int payload, DeviceInfo info, IOtaLog log)
    {
        session.BeginTransfer(connection.Clock, V2Client.PacketCount(plan.Stream.Length, payload));
        string what = plan.Kind switch
        {
            OtaTransfer.Delta => $" as a delta patch of {plan.Stream.Length:N0} bytes",
            OtaTransfer.Compressed => $" (deflate: {plan.Stream.Length:N0} on air)",
            _ => "",
        };
        log.Verbose($"Sending {session.Image.Length:N0} bytes{what} in {session.Snapshot().TotalPackets} packets with protocol V2.");
        log.Debug($"MTU {connection.Mtu}, {payload}-byte payloads without response, window {info.Window}; image SHA-256 {Convert.ToHexString(session.Image.FileSha256)}.");
    }

    /// <summary>After a reconnect: whether the device's Info names the image being sent as the one it runs.</summary>
    private static async Task<bool> RunsAlreadyAsync(IBleConnection connection, FirmwareImage image, CancellationToken cancellationToken) =>
        connection.HasCharacteristic(OtaUuids.Info)
        && (await DeviceLink.ReadInfoAsync(connection, cancellationToken).ConfigureAwait(false)).RunningImageSha256 is { } running
        && running.AsSpan().SequenceEqual(image.FileSha256);

    /// <summary>Keeps the image the device now runs, so the next update can patch against it.</summary>
    private static void Remember(FirmwareImage image, OtaOptions options)
    {
        if (options.ImageCache is { } cache && !cache.Add(image.Bytes, out string? problem))
        {
            options.Log.Verbose($"The image was not kept for later delta updates: {problem}.");
        }
    }

    private static Task<IBleConnection> ConnectAsync(OtaSession session, OtaOptions options, CancellationToken cancellationToken) =>
        DeviceLink.ConnectAsync(session.Device, options.Timeouts.Connect, (why, inner) => DeviceLink.ConnectFailure(session.Device, why, inner), cancellationToken);

    /// <summary>Sets the MTU and reads the device's Info, refusing an image the device cannot take.</summary>
    private static async Task<DeviceInfo?> NegotiateAsync(IBleConnection connection, FirmwareImage image, OtaOptions options, CancellationToken cancellationToken)
    {
        DeviceLink.RequireOtaService(connection);
        int mtu = await connection.RequestMtuAsync(options.PreferredMtu, cancellationToken).ConfigureAwait(false);
        options.Log.Debug($"Asked for an ATT MTU of {options.PreferredMtu}; the link settled on {mtu}.");
        options.Log.Verbose($"Link: {connection.DescribeLink()}.");
        if (!connection.HasCharacteristic(OtaUuids.Info))
        {
            options.Log.Verbose("The device has no Info characteristic (tutorial firmware): its running version and chip are unknown, so the image is not checked against them.");
            return null;
        }

        var info = await DeviceLink.ReadInfoAsync(connection, cancellationToken).ConfigureAwait(false);
        options.Log.Verbose($"The device runs {DeviceLink.Describe(info)}.");

        if (info.Chip != image.Chip)
        {
            throw new OtaException(OtaErrorCode.ImageWrongChip, $"The image is built for {image.Chip.ToDisplayName()} but the device is an {info.Chip.ToDisplayName()}. Build the app for the device's target (idf.py set-target).");
        }

        if (info.SlotSize > 0 && image.Length > info.SlotSize)
        {
            throw new OtaException(OtaErrorCode.ImageTooLarge, $"The image is {image.Length:N0} bytes but the device's OTA slot holds {info.SlotSize:N0}. Shrink the app or repartition the device by cable.");
        }

        return info;
    }

    /// <summary>-Verify, when the device and the image make it possible; null when the device could not be checked.</summary>
    private static async Task<string?> VerifyAsync(OtaSession session, IBleConnection connection, DeviceInfo? infoBefore, OtaOptions options, CancellationToken cancellationToken)
    {
        if (infoBefore is null)
        {
            options.Log.Warning("-Verify cannot check this device: its firmware has no Info characteristic to report the version it runs. The image was accepted; confirm the version on the device itself.");
            return null;
        }

        session.SetState(OtaState.Verifying);
        return await new UpdateVerifier(options).VerifyAsync(session.Device, connection, session.Image.Version!, session.Image.FileSha256, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>-SkipIfCurrent: whether the device's Info names the image's project and version.</summary>
    private static bool RunsImage(DeviceInfo? info, FirmwareImage image, IOtaLog log)
    {
        if (info is null)
        {
            log.Verbose("-SkipIfCurrent cannot tell what this device runs (its firmware has no Info characteristic), so it is updated.");
            return false;
        }

        bool current = info.ProjectName == image.App!.ProjectName && info.RunningVersion == image.Version;
        log.Verbose(current
            ? $"The device already runs {info.ProjectName} {info.RunningVersion}: skipped (-SkipIfCurrent)."
            : $"The device runs {info.ProjectName} {info.RunningVersion}, not {image.App.ProjectName} {image.Version}: it is updated.");
        return current;
    }

    /// <summary>Auto: v2 when the device's Info offers it, else v1. V2 on a device without it is refused with a reason.</summary>
    private static OtaProtocolVersion ChooseProtocol(OtaProtocolVersion requested, DeviceInfo? info, string address)
    {
        bool offersV2 = info is { HighestProtocol: >= 2 };
        return requested switch
        {
            OtaProtocolVersion.V1 => OtaProtocolVersion.V1,
            OtaProtocolVersion.V2 when !offersV2 => throw new OtaException(OtaErrorCode.ProtocolNotSupported,
                info is null
                    ? $"{address} has no Info characteristic, so it speaks only protocol v1 (the tutorial's firmware). Use -Protocol V1 or Auto, or flash BleOta's firmware once with v1."
                    : $"{address} speaks protocol v{info.HighestProtocol} at most, not v2. Use -Protocol V1 or Auto, or update its firmware once with v1."),
            _ => offersV2 ? OtaProtocolVersion.V2 : OtaProtocolVersion.V1,
        };
    }

    private static OtaResult Result(OtaSession session, OtaStatus status, OtaProtocolVersion protocol, string? before, string? after, OtaException? error)
    {
        var snapshot = session.Snapshot();
        return new OtaResult(session.Id, session.Device.Name, session.Device.Address, status, protocol, before, after,
            snapshot.BytesSent, snapshot.PacketsSent, session.TransferElapsed(), session.Image.Path, error?.Code, error?.Message ?? snapshot.Error);
    }

    /// <summary>Turns the client's packet reports into session snapshots.</summary>
    private sealed class Progress(OtaSession session, IProgress<OtaProgress>? sink) : IProgress<TransferProgress>
    {
        public void Report(TransferProgress value)
        {
            session.ReportTransfer(value);
            sink?.Report(session.Snapshot());
        }
    }
}
