using BleOta.Engine.Delta;
using BleOta.Engine.Discovery;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;
using BleOta.Transport.Simulated;
using BleOta.Engine.Transport;
using BleOta.Tests.Support;
using Xunit.Abstractions;

namespace BleOta.Tests.Faults;

/// <summary>
/// Every fault at every phase, for every protocol both the engine and the device speak, times a set of seeds,
/// on the simulator (BleOta's firmware and the tutorial's) and on the firmware's C core (with and without Info). Each run either completes or fails with a clear error; then
/// the device must accept a new request at once (no restart needed, as after a cancel); then it is power-cycled
/// and must boot its old image or the new one byte for byte, never a partial one, and take a clean update. The figures go to the test output (docs/fault-model.md quotes them).
/// </summary>
public sealed class FaultMatrixTests(ITestOutputHelper output)
{
    private const int Seeds = 6;
    private static readonly OtaTimeouts Patient = OtaTimeouts.All(TimeSpan.FromSeconds(5));

    // Faults that leave a v1 client waiting for an answer that never comes: a short timeout keeps the matrix quick.
    private static readonly OtaTimeouts Impatient = OtaTimeouts.All(TimeSpan.FromMilliseconds(500));

    /// <summary>A protocol, and whether the update sends a delta patch against the image the device runs.</summary>
    private sealed record Variant(OtaProtocolVersion Protocol, bool Delta)
    {
        public override string ToString() => Delta ? $"{Protocol}+delta" : Protocol.ToString();
    }

    private enum Expect
    {
        Complete,
        Fail,
        Either,
    }

    private sealed record Scenario(string Fault, UpdatePhase Phase, LinkFaultKind? Link, Func<OtaProtocolVersion, Expect> Expected)
    {
        public override string ToString() => $"{Fault}@{Phase}";
    }

    /// <summary>What happens with v1, where it is known; a protocol added later starts at Either and tightens its own rows.</summary>
    private static Func<OtaProtocolVersion, Expect> V1(Expect v1) => protocol => protocol == OtaProtocolVersion.V1 ? v1 : Expect.Either;

    private static IEnumerable<Scenario> Scenarios()
    {
        yield return new("none", UpdatePhase.Transfer, null, _ => Expect.Complete);
        var v1Outcomes = new Dictionary<LinkFaultKind, Expect[]>
        {
            // Negotiate, Request, Transfer, Done
            [LinkFaultKind.DropNotification] = [Expect.Complete, Expect.Fail, Expect.Complete, Expect.Fail],
            [LinkFaultKind.DuplicatePacket] = [Expect.Complete, Expect.Complete, Expect.Either, Expect.Complete],
            [LinkFaultKind.CorruptPacket] = [Expect.Either, Expect.Fail, Expect.Fail, Expect.Fail],
            [LinkFaultKind.LosePacket] = [Expect.Fail, Expect.Fail, Expect.Fail, Expect.Fail],
            [LinkFaultKind.Disconnect] = [Expect.Fail, Expect.Fail, Expect.Fail, Expect.Fail],
            [LinkFaultKind.DeviceRestart] = [Expect.Fail, Expect.Fail, Expect.Fail, Expect.Fail],
            [LinkFaultKind.Cancel] = [Expect.Fail, Expect.Fail, Expect.Fail, Expect.Fail],
        };
        foreach (var (kind, outcomes) in v1Outcomes)
        {
            foreach (var phase in Enum.GetValues<UpdatePhase>())
            {
                yield return new(kind.ToString(), phase, kind, V1(outcomes[(int)phase]));
            }
        }

        yield return new("FlashFailure", UpdatePhase.Request, null, _ => Expect.Fail);
        yield return new("FlashFailure", UpdatePhase.Transfer, null, _ => Expect.Fail);
        yield return new("FlashFailure", UpdatePhase.Done, null, _ => Expect.Fail);
        yield return new("SlowFlash", UpdatePhase.Transfer, null, _ => Expect.Complete);
        yield return new("PartitionTooSmall", UpdatePhase.Negotiate, null, _ => Expect.Fail);
    }

    [Fact]
    public Task Fault_matrix_on_the_simulator() => RunMatrix(new SimulatorFaultDevices());

    [Fact]
    public Task Fault_matrix_on_the_tutorial_firmware() => RunMatrix(new SimulatorFaultDevices(SimulatedFirmware.Tutorial));

    [SkippableFact]
    public Task Fault_matrix_on_the_firmware_core()
    {
        Skip.IfNot(HostFirmwareSupport.IsAvailable(), HostFirmwareSupport.NotBuilt);
        return RunMatrix(new HostFirmwareFaultDevices());
    }

    [SkippableFact]
    public Task Fault_matrix_on_the_firmware_core_without_info()
    {
        Skip.IfNot(HostFirmwareSupport.IsAvailable(), HostFirmwareSupport.NotBuilt);
        return RunMatrix(new HostFirmwareFaultDevices(hasInfo: false));
    }

    private async Task RunMatrix(IFaultDeviceFactory devices)
    {
        var figures = new MatrixFigures();
        var problems = new List<string>();
        foreach (var variant in await VariantsOf(devices))
        {
            foreach (var scenario in Scenarios())
            {
                for (int seed = 1; seed <= Seeds; seed++)
                {
                    string? problem = await RunOne(devices, variant, scenario, seed, figures);
                    if (problem is not null)
                    {
                        problems.Add($"{variant} {scenario} seed {seed}: {problem}");
                    }
                }
            }
        }

        output.WriteLine($"Fault matrix on the {devices.Name}: {figures}");
        foreach (var line in figures.ByScenario)
        {
            output.WriteLine($"  {line.Key,-28} {line.Value}");
        }

        Assert.True(figures.Runs > 0);
        Assert.Equal(0, figures.Bricked);
        Assert.Equal(0, figures.CorruptedAccepted);
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    /// <summary>
    /// The protocols both sides speak: the engine's list, cut at what the device's Info offers (v1 without Info);
    /// then v2 with delta patches when the device takes them.
    /// </summary>
    private static async Task<IReadOnlyList<Variant>> VariantsOf(IFaultDeviceFactory devices)
    {
        using var device = devices.Create(devices.SlotSize);
        await using var connection = await device.Transport.ConnectAsync(device.Address, CancellationToken.None);
        if (!connection.HasCharacteristic(OtaUuids.Info))
        {
            return [new(OtaProtocolVersion.V1, Delta: false)];
        }

        var info = DeviceInfo.Parse(await connection.ReadAsync(OtaUuids.Info, CancellationToken.None));
        var variants = OtaUpdater.SupportedProtocols.Where(p => (int)p <= info.HighestProtocol).Select(p => new Variant(p, Delta: false)).ToList();
        if (info.Features.HasFlag(DeviceFeatures.Delta))
        {
            variants.Add(new(OtaProtocolVersion.V2, Delta: true));
        }

        return variants;
    }

    /// <summary>One run: returns what went against the rules, or null.</summary>
    private static async Task<string?> RunOne(IFaultDeviceFactory devices, Variant variant, Scenario scenario, int seed, MatrixFigures figures)
    {
        var protocol = variant.Protocol;
        var random = new Random(HashCode.Combine(scenario.ToString(), seed));
        bool tooSmall = scenario.Fault == "PartitionTooSmall";
        int slotSize = tooSmall ? devices.SmallSlotSize : devices.SlotSize;

        // A delta run: the device runs an image this computer sent before, and the new image is its relink.
        var (oldImage, newImage) = variant.Delta && !tooSmall
            ? TestImages.Relinked(random.Next(40_000, 120_000), seed)
            : (devices.FactoryImage, TestImages.Build(version: $"9.{seed}.0", size: tooSmall ? slotSize + 4096 : random.Next(8_000, 48_000), seed: seed));
        using var device = devices.Create(slotSize, runs: oldImage == devices.FactoryImage ? null : oldImage);
        if (scenario.Fault == "SlowFlash" && !device.ModelsFlashTiming)
        {
            return null;
        }

        using var cache = new TemporaryImageCache(variant.Delta ? oldImage : null);
        int streamLength = variant.Delta && !tooSmall ? DeltaPatch.Create(oldImage, newImage).Length : newImage.Length;
        int atByte = random.Next(scenario.Fault == "FlashFailure" ? newImage.Length : streamLength); // a flash fault hits the image, a link fault the stream
        using var cancel = new CancellationTokenSource();
        var transport = device.Transport;
        if (scenario.Link is { } kind)
        {
            transport = new FaultyTransport(device.Transport, new LinkFault(kind, scenario.Phase, atByte, seed), device.PowerCycle, cancel);
        }
        else if (scenario.Fault == "FlashFailure")
        {
            device.FailFlash(scenario.Phase, atByte);
        }
        else if (scenario.Fault == "SlowFlash")
        {
            device.SlowFlash();
        }

        // Runs expected to complete keep the patient timeouts, so a busy machine cannot fail them.
        var expected = scenario.Expected(protocol);
        bool waits = scenario.Link is LinkFaultKind.DropNotification or LinkFaultKind.LosePacket or LinkFaultKind.CorruptPacket;
        var options = OtaOptions.Default with
        {
            Protocol = protocol,
            Timeouts = waits && expected != Expect.Complete ? Impatient : Patient,
            Delta = variant.Delta ? DeltaMode.Auto : DeltaMode.Off,
            ImageCache = cache.Cache,
        };
        var result = await Update(transport, device, newImage, options, cancel.Token);
        // The matrix must exercise the patch path: only a run that failed before choosing, or a REQUEST damaged in
        // transit (the device answers BaseMismatch, and the whole image follows), may send something else.
        bool failedBeforePlanning = scenario.Phase == UpdatePhase.Negotiate && result.Status != OtaStatus.Succeeded;
        bool requestDamaged = scenario.Link == LinkFaultKind.CorruptPacket && scenario.Phase == UpdatePhase.Request;
        if (variant.Delta && !tooSmall && !failedBeforePlanning && !requestDamaged && result.Transfer != OtaTransfer.Delta)
        {
            return $"a delta run sent {result.Transfer}";
        }

        // Whatever happened, the device takes a new request at once, without a restart, even from a v1 client
        // while it keeps an interrupted v2 update for its own client to resume.
        if (!await AcceptsRequestAtOnce(device))
        {
            return "the device did not accept a new request right after the run";
        }

        // Then the power goes: what boots must be a whole image, old or new.
        device.PowerCycle();
        bool runsNew = device.Runs(newImage);
        bool runsOld = !runsNew && device.Runs(oldImage);
        var outcome = figures.Record(scenario.ToString(), result, device.IsBricked, accepted: result.Status == OtaStatus.Succeeded ? runsNew : runsNew || runsOld);
        if (device.IsBricked)
        {
            return "the device does not boot";
        }

        if (result.Status != OtaStatus.Succeeded && (result.Error is not { Length: > 20 } || (result.Status == OtaStatus.Failed && result.ErrorCode is null)))
        {
            return $"failed without a clear error: '{result.Error}'";
        }

        if ((expected == Expect.Complete && outcome != Outcome.Completed) || (expected == Expect.Fail && outcome == Outcome.Completed))
        {
            return $"expected {expected}, got {result.Status} ({result.ErrorCode}: {result.Error})";
        }

        // And it is free for the next attempt at once.
        var retryImage = TestImages.Build(version: $"10.{seed}.0", size: 12_000, seed: seed + 100);
        var retry = await Update(device.Transport, device, retryImage, OtaOptions.Default with { Protocol = protocol, Timeouts = Patient }, CancellationToken.None);
        if (retry.Status != OtaStatus.Succeeded || !device.Runs(retryImage))
        {
            return $"the next clean update did not take: {retry.Status} {retry.Error}";
        }

        return null;
    }

    /// <summary>Connects and sends REQUEST the v1 way (every BleOta device speaks v1); true on REQUEST_ACK. Leaving aborts it again.</summary>
    private static async Task<bool> AcceptsRequestAtOnce(IFaultDevice device)
    {
        await using var connection = await device.Transport.ConnectAsync(device.Address, CancellationToken.None);
        await connection.RequestMtuAsync(247, CancellationToken.None);
        var answer = new TaskCompletionSource<byte>(TaskCreationOptions.RunContinuationsAsynchronously);
        await connection.SubscribeAsync(OtaUuids.Control, value => answer.TrySetResult(value[0]), CancellationToken.None);
        await connection.WriteAsync(OtaUuids.Data, new byte[] { 244, 0 }, WriteType.WithResponse, CancellationToken.None);
        await connection.WriteAsync(OtaUuids.Control, new[] { (byte)OtaOpcode.Request }, WriteType.WithResponse, CancellationToken.None);
        return await answer.Task.WaitAsync(TimeSpan.FromSeconds(5)) == (byte)OtaOpcode.RequestAck;
    }

    /// <summary>An image cache in a temporary folder holding the base of a delta run (none for a full run).</summary>
    private sealed class TemporaryImageCache : IDisposable
    {
        private readonly string _directory = Path.Combine(Path.GetTempPath(), "bleota-tests", "matrix-" + Guid.NewGuid().ToString("N"));

        public TemporaryImageCache(byte[]? baseImage)
        {
            if (baseImage is not null)
            {
                Cache = new BaseImageCache(_directory);
                Cache.Add(baseImage, out _);
            }
        }

        public BaseImageCache? Cache { get; }

        public void Dispose()
        {
            if (Directory.Exists(_directory))
            {
                Directory.Delete(_directory, recursive: true);
            }
        }
    }

    private static Task<OtaResult> Update(IBleTransport transport, IFaultDevice device, byte[] image, OtaOptions options, CancellationToken cancellationToken)
    {
        var updater = new OtaUpdater(new OtaSessionRegistry());
        var target = new Esp32Device(device.Address, device.Name, -50, transport);
        return updater.RunAsync(updater.CreateSession(target, FirmwareImage.Parse(image, "matrix.bin")), options, null, cancellationToken);
    }

    private enum Outcome
    {
        Completed,
        FailedCleanly,
        Bricked,
        CorruptedAccepted,
    }

    private sealed class MatrixFigures
    {
        public int Runs { get; private set; }

        public int Completed { get; private set; }

        public int FailedCleanly { get; private set; }

        public int Bricked { get; private set; }

        public int CorruptedAccepted { get; private set; }

        public SortedDictionary<string, string> ByScenario { get; } = new(StringComparer.Ordinal);

        private readonly Dictionary<string, (int Completed, int Failed)> _perScenario = [];

        public Outcome Record(string scenario, OtaResult result, bool bricked, bool accepted)
        {
            Runs++;
            var outcome = bricked ? Outcome.Bricked
                : !accepted ? Outcome.CorruptedAccepted
                : result.Status == OtaStatus.Succeeded ? Outcome.Completed
                : Outcome.FailedCleanly;
            switch (outcome)
            {
                case Outcome.Completed: Completed++; break;
                case Outcome.FailedCleanly: FailedCleanly++; break;
                case Outcome.Bricked: Bricked++; break;
                default: CorruptedAccepted++; break;
            }

            var (c, f) = _perScenario.GetValueOrDefault(scenario);
            _perScenario[scenario] = outcome == Outcome.Completed ? (c + 1, f) : (c, f + 1);
            ByScenario[scenario] = $"completed {_perScenario[scenario].Completed}, failed {_perScenario[scenario].Failed}"
                + (result.ErrorCode is { } code ? $" (last: {code})" : "");
            return outcome;
        }

        public override string ToString() =>
            $"{Runs} runs, {Completed} completed, {FailedCleanly} failed cleanly, {Bricked} bricked, {CorruptedAccepted} corrupted images accepted";
    }
}
