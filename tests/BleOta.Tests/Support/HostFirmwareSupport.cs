using BleOta.Transport.HostFirmware;

namespace BleOta.Tests.Support;

/// <summary>
/// Whether the firmware's C core can run in the loop (libble_ota_host, built by firmware/test/run.sh).
/// build.ps1 builds it first and sets BLEOTA_REQUIRE_HOST_FIRMWARE, so there a missing library fails the
/// tests instead of skipping them; on a machine without a C compiler they skip and say why.
/// </summary>
internal static class HostFirmwareSupport
{
    public const string NotBuilt = "libble_ota_host is not built (run firmware/test/run.sh; needs cmake and a C compiler).";

    public static bool IsAvailable()
    {
        if (HostFirmwareLibrary.TryLoad(out string? reason))
        {
            return true;
        }

        return Environment.GetEnvironmentVariable("BLEOTA_REQUIRE_HOST_FIRMWARE") == "1"
            ? throw new InvalidOperationException($"The firmware host library is required but could not be loaded: {reason}")
            : false;
    }
}
