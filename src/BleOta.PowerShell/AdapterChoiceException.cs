using System.Management.Automation;

namespace BleOta;

/// <summary>-Adapter names an adapter this radio cannot use; carries the ErrorId and category the cmdlet reports it with.</summary>
internal sealed class AdapterChoiceException(string message, string errorId, ErrorCategory category, object target) : Exception(message)
{
    public ErrorRecord ToErrorRecord() => new(this, errorId, category, target);
}
