using System.Net.Sockets;
using BleOta.Engine.Discovery;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;
using BleOta.Engine.Transport;
using BleOta.Tests.Support;

namespace BleOta.Tests.Session;

/// <summary>OtaUpdater's promise: every update ends in a result and a finished session, whatever the transport throws.</summary>
public sealed class OtaUpdaterTests
{
    /// <summary>A radio with one device behind one scripted connection.</summary>
    private sealed class OneLinkTransport(IBleConnection connection) : IBleTransport
    {
        public string Name => "OneLink";

        public async IAsyncEnumerable<BleAdvertisement> ScanAsync(ScanFilter filter, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.CompletedTask;
            yield break;
        }

        public Task<IBleConnection> ConnectAsync(string address, CancellationToken cancellationToken) => Task.FromResult(connection);
    }

    [Fact]
    public async Task An_os_error_a_transport_lets_through_ends_the_session_as_failed_with_a_result()
    {
        var registry = new OtaSessionRegistry();
        var updater = new OtaUpdater(registry);
        var connection = new RecordingConnection(247) { WriteFailure = new SocketException((int)SocketError.Shutdown) };
        var device = new Esp32Device(connection.Address, "esp32-ota", -50, new OneLinkTransport(connection));
        var session = updater.CreateSession(device, FirmwareImage.Parse(TestImages.Build()));

        var result = await updater.RunAsync(session, OtaOptions.Default with { Protocol = OtaProtocolVersion.V1 }, null, CancellationToken.None);

        Assert.Equal((OtaStatus.Failed, OtaErrorCode.TransportError), (result.Status, result.ErrorCode));
        Assert.Contains("SocketException", result.Error);
        var snapshot = Assert.Single(registry.Snapshots());
        Assert.Equal(OtaState.Failed, snapshot.State);
        Assert.True(snapshot.IsFinished);
    }
}
