using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace BleOta.Tests.Support;

/// <summary>A runspace with the BleOta cmdlets imported, as a user's session has them.</summary>
internal sealed class ModuleHost : IDisposable
{
    private readonly Runspace _runspace;

    public ModuleHost()
    {
        var state = InitialSessionState.CreateDefault2();
        state.ImportPSModule(typeof(InvokeEsp32Ota).Assembly.Location);
        _runspace = RunspaceFactory.CreateRunspace(state);
        _runspace.Open();
    }

    public void Set(string name, object? value) => _runspace.SessionStateProxy.SetVariable(name, value);

    /// <summary>Runs a script; the returned PowerShell keeps its error and progress streams for inspection.</summary>
    public (Collection<PSObject> Output, PSDataStreams Streams) Run(string script)
    {
        var shell = System.Management.Automation.PowerShell.Create(_runspace);
        shell.AddScript(script);
        var output = shell.Invoke();
        return (output, shell.Streams);
    }

    /// <summary>Starts a script without waiting, as a user's pipeline that may be stopped with Ctrl+C.</summary>
    public System.Management.Automation.PowerShell Start(string script, out IAsyncResult running)
    {
        var shell = System.Management.Automation.PowerShell.Create(_runspace);
        shell.AddScript(script);
        running = shell.BeginInvoke();
        return shell;
    }

    public void Dispose() => _runspace.Dispose();
}
