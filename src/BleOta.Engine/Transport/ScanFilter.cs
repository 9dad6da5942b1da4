namespace BleOta.Engine.Transport;

/// <summary>What a scan looks for. Transports apply what their OS can filter on and the engine applies the rest.</summary>
public sealed record ScanFilter(Guid? ServiceUuid = null)
{
    public static ScanFilter OtaService { get; } = new(Protocol.OtaUuids.Service);
}
