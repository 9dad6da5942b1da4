using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using BleOta.Engine.Session;
using BleOta.Engine.Transport;

namespace BleOta;

/// <summary>Completes -Name with the names, and -Address with the addresses, that the last scan saw.</summary>
public sealed class ScannedDeviceCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        bool byAddress = string.Equals(parameterName, "Address", StringComparison.OrdinalIgnoreCase);
        return Completions.Matching(
            ScanHistory.LastScan.Select(d => (Value: byAddress ? d.Address : d.Name, ToolTip: $"{d} RSSI {d.Rssi} dBm, {d.TransportName}"))
                .OrderBy(c => c.Value, StringComparer.OrdinalIgnoreCase),
            wordToComplete);
    }
}

/// <summary>Completes Get-OtaProgress -Device with the names and addresses of this process's sessions.</summary>
public sealed class SessionDeviceCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completions.Matching(
            OtaSessionRegistry.Shared.Snapshots().SelectMany(s => new[] { (Value: s.Device, ToolTip: $"{s.Device}: {s.State}"), (Value: s.Address, ToolTip: $"{s.Device}: {s.State}") })
                .OrderBy(c => c.Value, StringComparer.OrdinalIgnoreCase),
            wordToComplete);
}

/// <summary>Completes -Adapter with the adapters BlueZ lists now (nothing where the radio is not BlueZ or cannot be asked).</summary>
public sealed class AdapterCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            var requested = fakeBoundParameters["Transport"] is { } transport ? LanguagePrimitives.ConvertTo<RadioTransport>(transport) : RadioTransport.Auto;
            var kind = Transports.ResolveHere(requested);
            Transports.RefuseAdapterChoice(kind);
            return Completions.Matching(Transports.ListAdapters(kind).Select(a => (Value: a.Name, ToolTip: a.ToString())), wordToComplete);
        }
        catch (Exception ex) when (ex is AdapterChoiceException or PlatformNotSupportedException or BleTransportException or PSInvalidCastException or OperationCanceledException)
        {
            return []; // Tab offers nothing rather than an error; running the command says what is wrong
        }
    }
}

internal static class Completions
{
    /// <summary>Distinct candidates that start with what was typed (quotes ignored), in the order given, quoted when they need it.</summary>
    public static IEnumerable<CompletionResult> Matching(IEnumerable<(string Value, string ToolTip)> candidates, string wordToComplete)
    {
        string typed = wordToComplete.Trim('\'', '"');
        var pattern = new WildcardPattern(WildcardPattern.Escape(typed) + "*", WildcardOptions.IgnoreCase);
        return candidates
            .Where(c => pattern.IsMatch(c.Value))
            .GroupBy(c => c.Value, StringComparer.OrdinalIgnoreCase)
            .Select(g => g.First())
            .Select(c => new CompletionResult(Quote(c.Value), c.Value, CompletionResultType.ParameterValue, c.ToolTip))
            .ToList();
    }

    private static string Quote(string value) =>
        value.Any(ch => char.IsWhiteSpace(ch) || "'\"`$(){}[];,|&@#<>".Contains(ch)) ? $"'{value.Replace("'", "''")}'" : value;
}
