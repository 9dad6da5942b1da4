using BleOta.Engine.Discovery;

namespace BleOta;

/// <summary>The devices the last scan of this process saw, so -Name and -Address can be completed with Tab.</summary>
internal static class ScanHistory
{
    private static IReadOnlyList<Esp32Device> _lastScan = [];

    public static IReadOnlyList<Esp32Device> LastScan => Volatile.Read(ref _lastScan);

    public static void Record(IReadOnlyList<Esp32Device> devices) => Volatile.Write(ref _lastScan, devices);
}
