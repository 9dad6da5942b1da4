# Shared setup for the Pester suites: import the built module as a user would, and make test images and fleets.
Set-StrictMode -Version Latest

# Updates keep the images they send for later delta updates under the user's data folder: in tests, a private one.
$env:XDG_DATA_HOME = Join-Path ([IO.Path]::GetTempPath()) "bleota-pester-$PID"
$env:LOCALAPPDATA = $env:XDG_DATA_HOME

function Import-BleOtaUnderTest {
    $module = if ($env:BLEOTA_MODULE) { $env:BLEOTA_MODULE } else { Join-Path $PSScriptRoot '../../out/BleOta' }
    if (-not (Test-Path (Join-Path $module 'BleOta.psd1'))) { throw "Build first: ./build.ps1 Build (no module at $module)" }
    Import-Module (Join-Path $module 'BleOta.psd1') -Force -Global
    # The cmdlets load the simulator on first use; the helpers below name its types before any cmdlet has run.
    $null = [Reflection.Assembly]::LoadFrom((Join-Path $module 'BleOta.Transport.Simulated.dll'))
}

function New-TestImage {
    param([string] $Version = '2.0.0', [int] $Size = 30000, [string] $Chip = 'Esp32', [string] $Name = 'app.bin')
    $builder = [BleOta.Engine.Image.EspAppImageBuilder]::new()
    $builder.Version = $Version
    $builder.ProjectName = 'pester-app'
    $builder.Size = $Size
    $builder.Chip = $Chip
    $path = Join-Path $TestDrive $Name
    [IO.File]::WriteAllBytes($path, $builder.Build())
    Get-Item -LiteralPath $path
}

function New-NonAppImage {
    # ESP images that are not apps, as ESP-IDF and esptool make them: what an admin may pick up from build/ by mistake.
    param(
        [ValidateSet('LegacyBootloader', 'Bootloader', 'SignedBootloader', 'RamOnlyApp', 'MergedFromZero', 'MergedStartingWithBootloader')]
        [string] $Kind,
        [string] $Name = "$Kind.bin"
    )
    $builder = [BleOta.Engine.Image.EspAppImageBuilder]::new()
    $builder.Size = 20000
    $builder.Kind = if ($Kind -eq 'RamOnlyApp') { 'RamOnlyApp' } else { 'Bootloader' }
    switch ($Kind) {
        'LegacyBootloader' { $builder.AppendSha256 = $false }                                   # before IDF 5.2: no description
        'Bootloader' { $builder.BootloaderDescription = $true; $builder.IdfVersion = 'v5.2.1' }    # IDF 5.2+, SHA-256 appended
        'SignedBootloader' { $builder.BootloaderDescription = $true; $builder.SecureBootV2 = $true }
        'MergedStartingWithBootloader' { $builder.Chip = 'Esp32S3'; $builder.BootloaderDescription = $true }
    }
    $bytes = $builder.Build()
    if ($Kind -like 'Merged*') {
        $app = [BleOta.Engine.Image.EspAppImageBuilder]@{ Chip = $builder.Chip; ProjectName = 'pester-app'; Version = '2.0.0'; Size = 30000 }
        $bytes = [BleOta.Engine.Image.EspFlashImageBuilder]::Merge($builder.Chip, $bytes, $app.Build(), 0)
    }
    $path = Join-Path $TestDrive $Name
    [IO.File]::WriteAllBytes($path, $bytes)
    Get-Item -LiteralPath $path
}

function New-TestFleet {
    # A private simulated fleet that runs without waiting; devices come back as Find-Esp32Device emits them. Each -Adapter
    # (hci0, hci1) is a radio of its own, and its devices' addresses differ from other adapters' in their fifth byte.
    param([object[]] $Faults = @($null), [BleOta.Transport.Simulated.SimulatedFirmware] $Firmware = 'BleOta', [string] $Adapter = 'hci0')
    $transport = [BleOta.Transport.Simulated.SimulatedTransport]::new(0, $Adapter)
    $adapterNumber = [int]($Adapter -replace '\D')
    $number = 0
    foreach ($fault in $Faults) {
        $number++
        $deviceFaults = if ($fault) { [BleOta.Transport.Simulated.DeviceFaults]$fault } else { [BleOta.Transport.Simulated.DeviceFaults]::None }
        $options = [BleOta.Transport.Simulated.SimulatedDeviceOptions]@{ Faults = $deviceFaults; Firmware = $Firmware }
        $device = [BleOta.Transport.Simulated.SimulatedDevice]::new(('7E:57:50:00:{0:X2}:{1:X2}' -f $adapterNumber, $number), ('pester-{0:D2}' -f $number),
            [BleOta.Transport.Simulated.SampleImages]::Factory, $options)
        $null = $transport.Add($device)
    }
    [pscustomobject]@{
        Transport = $transport
        Devices   = @($transport.Devices | ForEach-Object {
                [BleOta.Engine.Discovery.Esp32Device]::new($_.Address, $_.Name, $_.Rssi, $transport)
            })
    }
}

function New-AnsweringHost {
    <#
    .SYNOPSIS
        A host whose user answers every prompt with -Answer (a choice label without its '&'), after -DelayMs, and which
        records each prompt: an admin at the console, for runspaces that must prompt.
    #>
    param([string] $Answer = 'Yes', [int] $DelayMs = 0)
    if (-not ('BleOtaTests.AnsweringHost' -as [type])) {
        Add-Type -TypeDefinition @'
using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;
using System.Threading;

namespace BleOtaTests
{
    // Stands in for an admin at PowerShell's ConsoleHost: PromptForChoice shows the choices, waits for the user and
    // returns the index of the choice typed (ConsoleHostUserInterfacePromptForChoice.cs, PromptForChoice). Output the
    // host would print is dropped; the runspace's PowerShell keeps its own streams.
    public sealed class AnsweringHost : PSHost
    {
        private readonly AnsweringUI _ui;
        public AnsweringHost(string answer, int delayMs) { _ui = new AnsweringUI(answer, delayMs); }
        public List<string> Prompts { get { return _ui.Prompts; } }
        public override CultureInfo CurrentCulture { get { return CultureInfo.InvariantCulture; } }
        public override CultureInfo CurrentUICulture { get { return CultureInfo.InvariantCulture; } }
        public override Guid InstanceId { get; } = Guid.NewGuid();
        public override string Name { get { return "BleOtaTestHost"; } }
        public override PSHostUserInterface UI { get { return _ui; } }
        public override Version Version { get { return new Version(1, 0); } }
        public override void EnterNestedPrompt() { throw new NotSupportedException(); }
        public override void ExitNestedPrompt() { throw new NotSupportedException(); }
        public override void NotifyBeginApplication() { }
        public override void NotifyEndApplication() { }
        public override void SetShouldExit(int exitCode) { }
    }

    public sealed class AnsweringUI : PSHostUserInterface
    {
        private readonly string _answer;
        private readonly int _delayMs;
        public AnsweringUI(string answer, int delayMs) { _answer = answer; _delayMs = delayMs; }
        public List<string> Prompts { get; } = new List<string>();
        public override PSHostRawUserInterface RawUI { get { return null; } }

        public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
        {
            lock (Prompts) { Prompts.Add(caption + ": " + message); }
            Thread.Sleep(_delayMs);
            for (int i = 0; i < choices.Count; i++)
            {
                if (string.Equals(choices[i].Label.Replace("&", ""), _answer, StringComparison.OrdinalIgnoreCase)) { return i; }
            }
            return defaultChoice;
        }

        public override string ReadLine() { return ""; }
        public override SecureString ReadLineAsSecureString() { return new SecureString(); }
        public override void Write(string value) { }
        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) { }
        public override void WriteLine(string value) { }
        public override void WriteErrorLine(string value) { }
        public override void WriteDebugLine(string message) { }
        public override void WriteProgress(long sourceId, ProgressRecord record) { }
        public override void WriteVerboseLine(string message) { }
        public override void WriteWarningLine(string message) { }
        public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) { throw new NotSupportedException(); }
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) { throw new NotSupportedException(); }
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) { throw new NotSupportedException(); }
    }
}
'@
    }
    [BleOtaTests.AnsweringHost]::new($Answer, $DelayMs)
}

function Invoke-InHost {
    <#
    .SYNOPSIS
        Runs a script block with the module imported in a runspace of -PromptHost, as a user's session with that host,
        and returns its PowerShell (Streams hold errors, debug and information records) with the output in .Output.
    #>
    param([System.Management.Automation.Host.PSHost] $PromptHost, [scriptblock] $Script, [object[]] $ArgumentList = @())
    $runspace = [runspacefactory]::CreateRunspace($PromptHost)
    $runspace.Open()
    $shell = [powershell]::Create()
    $shell.Runspace = $runspace
    $null = $shell.AddScript("Import-Module '$((Get-Module BleOta).Path)'").AddStatement().AddScript($Script.ToString())
    foreach ($argument in $ArgumentList) { $null = $shell.AddArgument($argument) }
    $output = $shell.Invoke()
    $shell | Add-Member -NotePropertyName Output -NotePropertyValue $output -PassThru
    $runspace.Dispose()
}

function Get-PwshCommand {
    # The pwsh that runs these tests, as a command and its leading arguments (the dotnet tool runs pwsh.dll through dotnet).
    $exe = [Environment]::ProcessPath
    if ((Split-Path $exe -Leaf) -like 'dotnet*') { , @($exe, [Environment]::GetCommandLineArgs()[0]) } else { , @($exe) }
}

Export-ModuleMember -Function Import-BleOtaUnderTest, New-TestImage, New-NonAppImage, New-TestFleet, New-AnsweringHost, Invoke-InHost, Get-PwshCommand
