namespace BleOta.Engine.Protocol;

/// <summary>
/// The OTA GATT service. These are the UUIDs the seed firmware puts on air: its source comment reads
/// "...244a..." for the service, but the little-endian bytes it registers give "...144a...", and on-air wins.
/// </summary>
public static class OtaUuids
{
    public static readonly Guid Service = new("d6f1d96d-594c-4c53-b1c6-144a1dfde6d8");

    /// <summary>Read, write, notify: one opcode byte (v1).</summary>
    public static readonly Guid Control = new("7ad671aa-21c0-46a4-b722-270e3ae3d830");

    /// <summary>Write: the packet size before REQUEST, then image chunks (v1).</summary>
    public static readonly Guid Data = new("23408888-1f40-4cd8-9b89-ca8d45f8a5b0");

    /// <summary>Read: BleOta's device description (see docs/protocol.md). Seed firmware does not have it.</summary>
    public static readonly Guid Info = new("5b8e2f3a-7c41-4d9e-a6b2-0f1c3d5e7a90");
}
