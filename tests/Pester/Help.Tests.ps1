Set-StrictMode -Version Latest

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-BleOtaUnderTest
    $helpFile = Join-Path (Split-Path (Get-Module BleOta).Path) 'en-US/BleOta.PowerShell.dll-Help.xml'
    # Built by ./build.ps1 Docs (and Test) when PlatyPS is present; CI sets BLEOTA_REQUIRE_HELP so it never skips there.
    $skipHelp = -not (Test-Path $helpFile) -and $env:BLEOTA_REQUIRE_HELP -ne '1'
    $cmdlets = @(Get-Command -Module BleOta | ForEach-Object { @{ Name = $_.Name } })
    $examples = foreach ($cmdlet in Get-Command -Module BleOta) {
        $number = 0
        foreach ($example in @((Get-Help $cmdlet.Name).examples.example)) {
            if ($null -eq $example) { continue }
            $number++
            @{ Cmdlet = $cmdlet.Name; Number = $number; Example = $example }
        }
    }
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-BleOtaUnderTest

    function Get-ExampleCode {
        # PlatyPS 1.0 keeps an example as markdown: the code is the fenced powershell block.
        param($Example)
        $text = (@($Example.introduction) + @($Example.code) + @($Example.remarks) | ForEach-Object { if ($_ -is [string]) { $_ } else { $_.Text } }) -join "`n"
        if ($text -notmatch '(?s)```powershell\s*\n(.*?)\n```') { throw "example '$($Example.title)' has no powershell code block" }
        $Matches[1]
    }

    function Get-Text { param($Value) (@($Value) | ForEach-Object { if ($_ -is [string]) { $_ } else { $_.Text } }) -join "`n" }
}

Describe 'Help for <Name>' -Tag 'CI' -ForEach $cmdlets -Skip:$skipHelp {
    BeforeAll {
        $help = Get-Help $Name -Full
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        $parameters = (Get-Command $Name).Parameters.Keys | Where-Object { $_ -notin $common }
    }

    It 'has a synopsis' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match '\{\{|^\s*Invoke-|^\s*Get-|^\s*Find-'   # not a placeholder, not generated syntax
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

    It 'has at least two examples' {
        @($help.examples.example).Count | Should -BeGreaterOrEqual 2
    }
}

Describe 'about_BleOta' -Tag 'CI' -Skip:$skipHelp {
    It 'is found by Get-Help and names every cmdlet' {
        $text = Get-Help about_BleOta | Out-String
        foreach ($cmdlet in Get-Command -Module BleOta) { $text | Should -Match $cmdlet.Name }
    }
}

Describe 'Help examples' -Tag 'CI' -Skip:$skipHelp {
    BeforeAll {
        # The files the examples name, in a folder the examples run in; the simulated fleet stands in for devices in range.
        Push-Location $TestDrive
        $null = New-Item -ItemType Directory -Force (Join-Path $TestDrive 'build'), (Join-Path $TestDrive 'firmware')
        $builder = [BleOta.Engine.Image.EspAppImageBuilder]::new()
        $builder.ProjectName = 'greenhouse'; $builder.Version = '2.0.0'; $builder.Size = 24000
        [IO.File]::WriteAllBytes((Join-Path $TestDrive 'build/app.bin'), $builder.Build())
        Copy-Item (Join-Path $TestDrive 'build/app.bin') (Join-Path $TestDrive 'firmware/greenhouse-2.0.0.bin')
        Set-Content (Join-Path $TestDrive 'firmware/notes.bin') 'not firmware'
        $null = Find-Esp32Device -Simulated 3 -SimulationSpeed 0
        $modulePath = (Get-Module BleOta).Path
    }

    AfterAll {
        Pop-Location
    }

    It '<Cmdlet> example <Number> runs against simulated devices without an error' -ForEach $examples {
        $code = Get-ExampleCode $Example
        $shell = [PowerShell]::Create()
        try {
            $null = $shell.AddScript({
                    param($module, $folder)
                    Import-Module $module
                    Set-Location $folder
                    # Only the pace changes: simulated devices answer at once instead of in real time.
                    $global:PSDefaultParameterValues['Find-Esp32Device:SimulationSpeed'] = 0
                }).AddArgument($modulePath).AddArgument($TestDrive.ToString())
            $null = $shell.Invoke()
            $shell.Commands.Clear()
            $null = $shell.AddScript($code)
            $output = $shell.Invoke()

            $null = $output
            $shell.HadErrors | Should -BeFalse -Because "the example must run as written:`n$code`n$($shell.Streams.Error | Out-String)"
        }
        finally {
            $shell.Dispose()
        }
    }
}
