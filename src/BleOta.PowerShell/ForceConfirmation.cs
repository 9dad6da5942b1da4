using System.Management.Automation;

namespace BleOta;

/// <summary>
/// What -Force may skip. It answers the confirmation prompt, nothing more: -WhatIf and $WhatIfPreference still win
/// (as with Remove-Item -Force), and an explicit -Confirm still asks.
/// </summary>
internal static class ForceConfirmation
{
    public static bool SkipsPrompt(PSCmdlet cmdlet, bool force) => force && !IsSet(cmdlet, "WhatIf", "WhatIfPreference") && !IsSet(cmdlet, "Confirm", null);

    /// <summary>The switch as bound, else the preference variable, as PowerShell's command runtime reads them.</summary>
    private static bool IsSet(PSCmdlet cmdlet, string parameter, string? preference) =>
        cmdlet.MyInvocation.BoundParameters.TryGetValue(parameter, out object? bound)
            ? LanguagePrimitives.IsTrue(bound)
            : preference is not null && LanguagePrimitives.IsTrue(cmdlet.SessionState.PSVariable.GetValue(preference));
}
