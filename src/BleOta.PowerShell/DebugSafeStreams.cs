using System.Management.Automation;

namespace BleOta;

/// <summary>
/// Writes verbose lines and warnings so that -Debug never stops to ask. PowerShell's command runtime gives a compiled
/// cmdlet run with -Debug a debug preference of Continue, but verbose and warning preferences of Inquire unless
/// -Verbose or -WarningAction is given too (<c>MshCommandRuntime.VerbosePreference</c> and <c>WarningPreference</c>
/// in PowerShell 7.x): every verbose line then asked "Continue with this operation?", and with standard input not a
/// console, ConsoleHost's PromptForChoice read end-of-file and threw a NullReferenceException. Under -Debug alone
/// those lines go to the debug stream, which -Debug shows without asking.
/// </summary>
internal static class DebugSafeStreams
{
    public static void Verbose(Cmdlet cmdlet, string text)
    {
        if (WouldInquire(cmdlet, "Verbose"))
        {
            cmdlet.WriteDebug(text);
        }
        else
        {
            cmdlet.WriteVerbose(text);
        }
    }

    public static void Warning(Cmdlet cmdlet, string text)
    {
        if (WouldInquire(cmdlet, "WarningAction"))
        {
            cmdlet.WriteDebug($"WARNING: {text}");
        }
        else
        {
            cmdlet.WriteWarning(text);
        }
    }

    /// <summary>-Debug is on and the stream's own common parameter was not given: the runtime would prompt.</summary>
    private static bool WouldInquire(Cmdlet cmdlet, string streamParameter) =>
        cmdlet is PSCmdlet { MyInvocation.BoundParameters: var bound }
        && bound.TryGetValue("Debug", out object? debug) && LanguagePrimitives.IsTrue(debug)
        && !bound.ContainsKey(streamParameter);
}
