using BleOta.Engine.Discovery;
using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;

namespace BleOta.Engine.Session;

/// <summary>
/// -Verify: after DONE_ACK the device resets, boots the new image and runs its self-test, which either marks the
/// image valid or makes the bootloader roll back. Only reconnecting and reading the running version tells
/// which happened, so that is what this does; where the device reports the SHA-256 of the image it runs, that
/// must be the new image's too (a rollback to another build of the same version is caught as well).
/// </summary>
internal sealed class UpdateVerifier(OtaOptions options)
{
    /// <summary>Waits for the device to come back and returns the version it runs; throws when it is not the image's.</summary>
    public async Task<string> VerifyAsync(Esp32Device device, IBleConnection updateLink, string expectedVersion, byte[] expectedSha256, CancellationToken cancellationToken)
    {
        var timeout = options.Timeouts.Restart;
        options.Log.Verbose($"Waiting up to {timeout.TotalSeconds:0.#} s for the device to restart into the new firmware.");
        await WaitForDisconnectAsync(updateLink, timeout, cancellationToken).ConfigureAwait(false);

        options.Log.Debug("The device dropped the link to restart; reconnecting once it advertises again.");
        await using var link = await DeviceLink.ConnectAsync(device, timeout,
            (why, inner) => new OtaException(OtaErrorCode.RestartTimeout,
                $"The device took the image but did not come back after restarting ({why}). It may be stuck in its bootloader or out of range: check its serial log.", inner),
            cancellationToken).ConfigureAwait(false);
        var info = await DeviceLink.ReadInfoAsync(link, cancellationToken).ConfigureAwait(false);
        options.Log.Debug($"After the restart the device reports {DeviceLink.Describe(info)}.");

        if (info.RunningVersion != expectedVersion || (info.RunningImageSha256 is { } running && !running.AsSpan().SequenceEqual(expectedSha256)))
        {
            throw new OtaException(OtaErrorCode.RolledBack,
                $"The device restarted but runs {Display(info.RunningVersion)}{(info.RunningVersion == expectedVersion ? " of another build" : "")}, not {expectedVersion}: the new image failed its self-test and the bootloader rolled back. "
                + "The device is on its previous firmware; check the new app's startup (esp_ota_mark_app_valid_cancel_rollback) before trying again.");
        }

        options.Log.Verbose($"Verified: the device runs {info.RunningVersion} after restarting.");
        return info.RunningVersion;
    }

    private static async Task WaitForDisconnectAsync(IBleConnection link, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var dropped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnDisconnected(object? sender, BleDisconnectedEventArgs e) => dropped.TrySetResult();
        link.Disconnected += OnDisconnected;
        try
        {
            if (!link.IsConnected)
            {
                return;
            }

            try
            {
                await dropped.Task.WaitAsync(timeout, link.Clock, cancellationToken).ConfigureAwait(false); // the device's time, as every wait on a link
            }
            catch (TimeoutException)
            {
                throw new OtaException(OtaErrorCode.RestartTimeout,
                    $"The device acknowledged the image but did not restart within {timeout.TotalSeconds:0.#} s. Power-cycle it; it boots the new image if it was accepted.");
            }
        }
        finally
        {
            link.Disconnected -= OnDisconnected;
        }
    }

    private static string Display(string version) => version.Length == 0 ? "an app without a version" : version;
}
