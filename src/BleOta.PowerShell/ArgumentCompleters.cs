using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using BleOta.Engine.Session;

namespace BleOta;

/// <summary>Completes -Name with the names, and -Address with the addresses, that the last scan saw.</summary>
public sealed class ScannedDeviceCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        bool byAddress = string.Equals(parameterName, "Address", StringComparison.OrdinalIgnoreCase);
        return DeviceCompletions.Matching(
            ScanHistory.LastScan.Select(d => (byAddress ? d.Address : d.Name, $"{d} RSSI {d.Rssi} dBm, {d.TransportName}")),
            wordToComplete);
    }
}

/// <summary>Completes Get-OtaProgress -Device with the names and addresses of this process's sessions.</summary>
public sealed class SessionDeviceCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        DeviceCompletions.Matching(
            OtaSessionRegistry.Shared.Snapshots().SelectMany(s => new[] { (s.Device, $"{s.Device}: {s.State}"), (s.Address, $"{s.Device}: {s.State}") }),
            wordToComplete);
}

internal static class DeviceCompletions
{
    /// <summary>Distinct candidates that start with what was typed (quotes ignored), quoted when they need it.</summary>
    public static IEnumerable<CompletionResult> Matching(IEnumerable<(string Value, string ToolTip)> candidates, string wordToComplete)
    {
        string typed = wordToComplete.Trim('\'', '"');
        var pattern = new WildcardPattern(WildcardPattern.Escape(typed) + "*", WildcardOptions.IgnoreCase);
        return candidates
            .Where(c => pattern.IsMatch(c.Value))
            .GroupBy(c => c.Value, StringComparer.OrdinalIgnoreCase)
            .Select(g => g.First())
            .OrderBy(c => c.Value, StringComparer.OrdinalIgnoreCase)
            .Select(c => new CompletionResult(Quote(c.Value), c.Value, CompletionResultType.ParameterValue, c.ToolTip))
            .ToList();
    }

    private static string Quote(string value) =>
        value.Any(ch => char.IsWhiteSpace(ch) || "'\"`$(){}[];,|&@#<>".Contains(ch)) ? $"'{value.Replace("'", "''")}'" : value;
}
