namespace BleOta.Engine.Protocol;

/// <summary>How far a protocol client is through the image. Reported after every acknowledged packet.</summary>
public readonly record struct TransferProgress(long BytesSent, long TotalBytes, int PacketsSent, int TotalPackets);
