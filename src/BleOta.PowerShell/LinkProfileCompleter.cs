using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using BleOta.Transport.Simulated;

namespace BleOta;

/// <summary>Tab completion for -LinkProfile: the simulator's profile names, each with its description as tooltip.</summary>
public sealed class LinkProfileCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completions.Matching(LinkProfile.All.Select(p => (p.Name, p.Description)), wordToComplete);
}
