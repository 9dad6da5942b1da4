namespace BleOta.Engine.Transport;

public sealed class BleDisconnectedEventArgs(string reason) : EventArgs
{
    public string Reason { get; } = reason;
}
