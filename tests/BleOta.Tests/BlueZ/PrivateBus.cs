using System.Diagnostics;

namespace BleOta.Tests.BlueZ;

/// <summary>
/// A dbus-daemon of our own, so the BlueZ transport talks real D-Bus without touching the machine's system bus.
/// build.ps1 sets BLEOTA_REQUIRE_DBUS where dbus-daemon is installed (and in CI), so tests needing it never skip there.
/// </summary>
internal sealed class PrivateBus : IDisposable
{
    private readonly Process _daemon;

    private PrivateBus(Process daemon, string address)
    {
        _daemon = daemon;
        Address = address;
    }

    public string Address { get; }

    /// <summary>Starts a bus, or skips the test (fails it when BLEOTA_REQUIRE_DBUS=1) where dbus-daemon is missing.</summary>
    public static PrivateBus Start()
    {
        string? daemon = FindDaemon();
        if (daemon is null)
        {
            if (Environment.GetEnvironmentVariable("BLEOTA_REQUIRE_DBUS") == "1")
            {
                throw new InvalidOperationException("dbus-daemon is required (BLEOTA_REQUIRE_DBUS=1) but is not installed. Install the dbus package.");
            }

            Skip.If(true, "dbus-daemon is not installed: the BlueZ transport tests need a private D-Bus (apt install dbus).");
        }

        var start = new ProcessStartInfo(daemon!, "--session --nofork --nopidfile --print-address=1")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start)!;
        string? address = process.StandardOutput.ReadLine();
        if (string.IsNullOrWhiteSpace(address))
        {
            process.Kill();
            throw new InvalidOperationException($"dbus-daemon printed no address: {process.StandardError.ReadToEnd()}");
        }

        return new PrivateBus(process, address.Trim());
    }

    public void Dispose()
    {
        if (!_daemon.HasExited)
        {
            _daemon.Kill();
            _daemon.WaitForExit();
        }

        _daemon.Dispose();
    }

    private static string? FindDaemon() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, "dbus-daemon"))
            .FirstOrDefault(File.Exists);
}
