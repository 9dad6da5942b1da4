using System.Runtime.CompilerServices;

namespace BleOta.Tests.Support;

/// <summary>
/// The test process gets its own user data folder before any test runs, so updates the cmdlets make in-process keep
/// the images they send (the delta base cache, under $XDG_DATA_HOME or $env:LOCALAPPDATA) in a temporary folder,
/// never in the home of whoever runs the tests.
/// </summary>
internal static class IsolatedUserData
{
    public static string Root { get; } = Path.Combine(Path.GetTempPath(), "bleota-tests", $"userdata-{Environment.ProcessId}");

    [ModuleInitializer]
    internal static void Redirect()
    {
        Environment.SetEnvironmentVariable("XDG_DATA_HOME", Root);
        Environment.SetEnvironmentVariable("LOCALAPPDATA", Root);
    }
}
