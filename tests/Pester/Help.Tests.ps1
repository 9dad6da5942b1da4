Set-StrictMode -Version Latest

# The module ships the MAML committed in docs/help/en-US (built from docs/help by PlatyPS), so these tests run on every
# machine, with or without PlatyPS. ./build.ps1 Docs additionally compares docs/help with the cmdlets where PlatyPS is.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-BleOtaUnderTest
    $cmdlets = @(Get-Command -Module BleOta | ForEach-Object { @{ Name = $_.Name } })
    $examples = foreach ($cmdlet in Get-Command -Module BleOta) {
        $number = 0
        foreach ($example in @((Get-Help $cmdlet.Name).psobject.Properties['examples'].Value.example)) {
            if ($null -eq $example) { continue }
            $number++
            @{ Cmdlet = $cmdlet.Name; Number = $number; Example = $example }
        }
    }
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-BleOtaUnderTest

    function Get-Text { param($Value) (@($Value) | ForEach-Object { if ($_ -is [string]) { $_ } else { $_.Text } }) -join "`n" }

    function Get-ExampleCode {
        # PlatyPS 1.0 keeps an example as markdown: the code is the fenced powershell block.
        param($Example)
        $text = Get-Text (@($Example.introduction) + @($Example.code) + @($Example.remarks))
        if ($text -notmatch '(?s)```powershell\s*\n(.*?)\n```') { throw "example '$($Example.title)' has no powershell code block" }
        $Matches[1].Trim()
    }

    function Get-MarkdownHelp {
        # The synopsis and the example code blocks of a docs/help page, read straight from the markdown.
        param([string] $Name)
        $text = Get-Content (Join-Path $PSScriptRoot "../../docs/help/$Name.md") -Raw
        $null = $text -match '(?s)## SYNOPSIS\s*\n(.*?)\n## '
        $synopsis = $Matches[1].Trim()
        $null = $text -match '(?s)## EXAMPLES\s*\n(.*?)\n## PARAMETERS'
        $code = [regex]::Matches($Matches[1], '(?s)```powershell\s*\n(.*?)\n```') | ForEach-Object { $_.Groups[1].Value.Trim() }
        [pscustomobject]@{ Synopsis = $synopsis; Examples = @($code) }
    }
}

Describe 'Help for <Name>' -Tag 'CI' -ForEach $cmdlets {
    BeforeAll {
        $help = Get-Help $Name -Full
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        $parameters = (Get-Command $Name).Parameters.Keys | Where-Object { $_ -notin $common }
    }

    It 'is the help written in docs/help, not the help PowerShell makes up from the syntax' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match '\{\{|^\s*Invoke-|^\s*Get-|^\s*Find-'   # not a placeholder, not generated syntax
        $help.Synopsis.Trim() | Should -Be (Get-MarkdownHelp $Name).Synopsis
    }

    It 'has a description' {
        Get-Text $help.description | Should -Match '\w{3,}.*\w{3,}'
    }

    It 'describes every parameter' {
        foreach ($parameter in $parameters) {
            $documented = $help.parameters.parameter | Where-Object name -EQ $parameter
            $documented | Should -Not -BeNullOrEmpty -Because "-$parameter must be in the help"
            $text = Get-Text $documented.description
            $text | Should -Not -BeNullOrEmpty -Because "-$parameter needs a description"
            $text | Should -Not -Match '\{\{' -Because "-$parameter still has the PlatyPS placeholder"
        }
    }

    It 'has at least two examples, the ones docs/help has (else the MAML was not rebuilt: ./build.ps1 Docs -Update)' {
        $shipped = @($help.examples.example | ForEach-Object { Get-ExampleCode $_ })
        $shipped.Count | Should -BeGreaterOrEqual 2
        $shipped | Should -Be (Get-MarkdownHelp $Name).Examples
    }
}

Describe 'about_BleOta' -Tag 'CI' {
    It 'is found by Get-Help and names every cmdlet' {
        $text = Get-Help about_BleOta | Out-String
        foreach ($cmdlet in Get-Command -Module BleOta) { $text | Should -Match $cmdlet.Name }
    }
}

Describe 'Help examples' -Tag 'CI' {
    BeforeAll {
        # The files the examples name, in a folder the examples run in.
        $null = New-Item -ItemType Directory -Force (Join-Path $TestDrive 'build'), (Join-Path $TestDrive 'firmware')
        $builder = [BleOta.Engine.Image.EspAppImageBuilder]::new()
        $builder.ProjectName = 'greenhouse'; $builder.Version = '2.0.0'; $builder.Size = 24000
        [IO.File]::WriteAllBytes((Join-Path $TestDrive 'build/app.bin'), $builder.Build())
        Copy-Item (Join-Path $TestDrive 'build/app.bin') (Join-Path $TestDrive 'firmware/greenhouse-2.0.0.bin')
        Set-Content (Join-Path $TestDrive 'firmware/notes.bin') 'not firmware'
        # Past builds, for -BaseImage: the image the simulated devices run.
        Add-Type -LiteralPath (Join-Path (Get-Module BleOta).ModuleBase 'BleOta.Transport.Simulated.dll')
        $null = New-Item -ItemType Directory -Force (Join-Path $TestDrive 'releases/1.0.0')
        [IO.File]::WriteAllBytes((Join-Path $TestDrive 'releases/1.0.0/app.bin'), [BleOta.Transport.Simulated.SampleImages]::Factory)
        $modulePath = Join-Path (Get-Module BleOta).ModuleBase 'BleOta.psd1'
    }

    It '<Cmdlet> example <Number> runs as written in a fresh session' -ForEach $examples {
        $code = Get-ExampleCode $Example
        # A process of its own: nothing an earlier example found, updated or remembered is there.
        $job = Start-Job -ArgumentList $modulePath, $TestDrive.ToString(), $code -ScriptBlock {
            param($module, $folder, $code)
            $ErrorActionPreference = 'Stop'   # for the setup; the example runs with the defaults
            Import-Module $module
            Set-Location $folder
            # Three simulated ESP32s are powered on and in range, as a reader's devices would be; nothing has scanned
            # for them yet. Only the pace changes: they answer at once instead of in real time.
            Add-Type -LiteralPath (Join-Path (Get-Module BleOta).ModuleBase 'BleOta.Transport.Simulated.dll')
            $fleet = [BleOta.Transport.Simulated.SimulatedTransport]::Shared
            $fleet.Speed = 0
            $null = $fleet.EnsureDevices(3)
            $global:PSDefaultParameterValues['Find-Esp32Device:SimulationSpeed'] = 0
            $shell = [PowerShell]::Create('CurrentRunspace')
            $null = $shell.AddScript($code)
            $output = $shell.Invoke()
            [pscustomobject]@{
                Output = @($output | Out-String -Width 200)
                Errors = @($shell.Streams.Error | ForEach-Object { "$($_.FullyQualifiedErrorId): $_" })
            }
        }
        $result = $job | Wait-Job -Timeout 120 | Receive-Job
        $job | Remove-Job -Force
        $result | Should -Not -BeNullOrEmpty -Because "the example must finish:`n$code"
        $result.Errors | Should -BeNullOrEmpty -Because "the example must run as written:`n$code"
    }
}
