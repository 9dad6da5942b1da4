using System.Buffers.Binary;
using System.Threading.Channels;
using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;

namespace BleOta.Tests.Tutorial;

/// <summary>How a run of the tutorial's script ends: what it prints last.</summary>
public enum TutorialClientOutcome
{
    /// <summary>"OTA successful! Total time: ..."</summary>
    Succeeded,

    /// <summary>"OTA failed.": DONE_NAK.</summary>
    Failed,

    /// <summary>"ESP32 did not acknowledge the OTA request.": REQUEST_NAK.</summary>
    RequestNotAcknowledged,

    /// <summary>"ESP32 has not been found.", then an AssertionError.</summary>
    NotFound,

    /// <summary>A Bleak call raised (an ATT error, a dropped link): Python prints a traceback.</summary>
    Crashed,

    /// <summary>It waits on its queue for an answer that never comes.</summary>
    Hangs,
}

/// <summary>The Bleak the script runs on: the default of write_gatt_char's <c>response</c> changed in 0.21.</summary>
public enum BleakVersion
{
    /// <summary>Before 0.21 (Debian's python3-bleak 0.20.2): <c>response=False</c>, so REQUEST and DONE go as write commands.</summary>
    Before021,

    /// <summary>0.21 and later: <c>response=None</c> writes with response when the characteristic has "write", as Control has.</summary>
    Since021,
}

/// <param name="Output">What the script printed, line by line.</param>
/// <param name="Error">What a <see cref="TutorialClientOutcome.Crashed"/> run raised.</param>
public sealed record TutorialClientRun(TutorialClientOutcome Outcome, IReadOnlyList<string> Output, Exception? Error, int PacketSize);

/// <summary>
/// The tutorial's Python client (michael-angerer/esp32_ble_ota, ble_client/main.py), unmodified, step by step over
/// any <see cref="IBleTransport"/>, so it can drive BleOta's firmware (its C core in the loop, or the simulator).
/// <paramref name="mtuSize"/> is what Bleak's <c>client.mtu_size</c> returns: the MTU the central negotiated on
/// macOS and Windows, 23 on Linux (the BlueZ backend reports 23 unless <c>_acquire_mtu()</c> was called).
/// </summary>
public sealed class TutorialClient(IBleTransport transport, int mtuSize, BleakVersion bleak = BleakVersion.Before021)
{
    /// <summary>BleakScanner.discover()'s default timeout.</summary>
    private static readonly TimeSpan DiscoverTime = TimeSpan.FromSeconds(5);

    /// <summary>How long an empty queue counts as "never": every device answers within its write, or not at all.</summary>
    private static readonly TimeSpan Never = TimeSpan.FromSeconds(5);

    private readonly List<string> _output = [];

    /// <summary>send_ota(file_path), with the file's bytes.</summary>
    public async Task<TutorialClientRun> SendOtaAsync(byte[] firmware)
    {
        int packetSize = 0;
        try
        {
            var esp32 = await SearchForEsp32Async();
            if (esp32 is null)
            {
                return Run(TutorialClientOutcome.NotFound, null, 0);
            }

            // async with BleakClient(esp32) as client: connects, and disconnects on the way out.
            await using var client = await transport.ConnectAsync(esp32, CancellationToken.None);
            await client.RequestMtuAsync(mtuSize, CancellationToken.None);

            // _ota_notification_handler: compares the whole value with each one-byte opcode.
            var queue = Channel.CreateUnbounded<string>();
            bool notifying = true;
            await client.SubscribeAsync(OtaUuids.Control, data =>
            {
                if (!notifying)
                {
                    return; // after stop_notify
                }

                string? answer = data switch
                {
                    [(byte)OtaOpcode.RequestAck] => "ack",
                    [(byte)OtaOpcode.RequestNak] => "nak",
                    [(byte)OtaOpcode.DoneAck] => "ack",
                    [(byte)OtaOpcode.DoneNak] => "nak",
                    _ => null,
                };
                if (answer is null)
                {
                    _output.Add($"Notification received: sender: ..., data: {Convert.ToHexString(data)}");
                    return;
                }

                _output.Add($"ESP32: {(data[0] is (byte)OtaOpcode.RequestAck or (byte)OtaOpcode.RequestNak ? "OTA request" : "OTA done")} {(answer == "ack" ? "" : "NOT ")}acknowledged.");
                queue.Writer.TryWrite(answer);
                notifying = data[0] == (byte)OtaOpcode.RequestAck; // every other answer calls stop_notify
            }, CancellationToken.None);

            // packet_size = (client.mtu_size - 3), written uncapped to OTA Data with response.
            packetSize = client.Mtu - 3;
            _output.Add($"Sending packet size: {packetSize}.");
            var size = new byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(size, (ushort)packetSize);
            await client.WriteAsync(OtaUuids.Data, size, WriteType.WithResponse, CancellationToken.None);

            // while chunk := file.read(packet_size): firmware.append(chunk)
            var chunks = firmware.Chunk(packetSize).ToList();

            _output.Add("Sending OTA request.");
            await client.WriteAsync(OtaUuids.Control, new[] { (byte)OtaOpcode.Request }, ControlWriteType, CancellationToken.None);

            // await asyncio.sleep(1); if await queue.get() == "ack":
            if (await GetAsync(queue) is not { } requestAnswer)
            {
                return Run(TutorialClientOutcome.Hangs, null, packetSize);
            }

            if (requestAnswer != "ack")
            {
                _output.Add("ESP32 did not acknowledge the OTA request.");
                return Run(TutorialClientOutcome.RequestNotAcknowledged, null, packetSize);
            }

            for (int i = 0; i < chunks.Count; i++)
            {
                _output.Add($"Sending packet {i + 1}/{chunks.Count}.");
                await client.WriteAsync(OtaUuids.Data, chunks[i], WriteType.WithResponse, CancellationToken.None);
            }

            _output.Add("Sending OTA done.");
            await client.WriteAsync(OtaUuids.Control, new[] { (byte)OtaOpcode.Done }, ControlWriteType, CancellationToken.None);

            string? doneAnswer = await GetAsync(queue);
            if (doneAnswer is null)
            {
                return Run(TutorialClientOutcome.Hangs, null, packetSize);
            }

            _output.Add(doneAnswer == "ack" ? "OTA successful! Total time: ..." : "OTA failed.");
            return Run(doneAnswer == "ack" ? TutorialClientOutcome.Succeeded : TutorialClientOutcome.Failed, null, packetSize);
        }
        catch (BleTransportException ex)
        {
            return Run(TutorialClientOutcome.Crashed, ex, packetSize);
        }
    }

    /// <summary>Both firmwares give Control the "write" property (gatt_svr.c; port/ble_ota_gatt.c), so Bleak 0.21+ writes with response.</summary>
    private WriteType ControlWriteType => bleak == BleakVersion.Before021 ? WriteType.WithoutResponse : WriteType.WithResponse;

    /// <summary>_search_for_esp32: BleakScanner.discover(), then the last device whose name is exactly "esp32".</summary>
    private async Task<string?> SearchForEsp32Async()
    {
        _output.Add("Searching for ESP32...");
        using var window = new CancellationTokenSource(DiscoverTime);
        var names = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        try
        {
            await foreach (var advertisement in transport.ScanAsync(new ScanFilter(), window.Token))
            {
                names[advertisement.Address] = advertisement.Name ?? names.GetValueOrDefault(advertisement.Address);
            }
        }
        catch (OperationCanceledException)
        {
            // the discovery window ended
        }

        string? esp32 = names.LastOrDefault(d => d.Value == "esp32").Key;
        _output.Add(esp32 is null ? "ESP32 has not been found." : "ESP32 found!");
        return esp32;
    }

    private static async Task<string?> GetAsync(Channel<string> queue)
    {
        using var never = new CancellationTokenSource(Never);
        try
        {
            return await queue.Reader.ReadAsync(never.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private TutorialClientRun Run(TutorialClientOutcome outcome, Exception? error, int packetSize) => new(outcome, _output, error, packetSize);
}
