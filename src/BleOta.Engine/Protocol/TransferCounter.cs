namespace BleOta.Engine.Protocol;

/// <summary>
/// The bytes an update wrote to OTA Data: every packet's header and payload, resends and probes included, across
/// reconnects. What went on air for the image, as the result reports it.
/// </summary>
public sealed class TransferCounter
{
    private long _bytes;

    public long DataBytes => Interlocked.Read(ref _bytes);

    public void Add(int bytes) => Interlocked.Add(ref _bytes, bytes);
}
