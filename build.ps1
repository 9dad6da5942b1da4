#!/usr/bin/env pwsh
<#
.SYNOPSIS
    The one entry point: builds the module, runs the demo and the tests.
.DESCRIPTION
    Tasks:
      Build  builds the solution and lays the module out in out/BleOta (import it from there), and the Windows radio
             in out/BleOta.WinRT, a module of its own that BleOta loads from beside it on Windows.
      Test   builds, then runs every suite (firmware CTest, ESP-IDF compile check, xunit, help check, Pester) and ends
             with the line "N passed, N failed"; exits non-zero on any failure.
      Demo   builds, then updates three simulated ESP32s from a sample image with progress and results.
      Bench  runs every link profile with every protocol in simulated time, plus the engine's own cost against
             the firmware's C core, and writes the table to docs/benchmarks.md and the console.
      Docs   builds, then checks that docs/help, the committed MAML built from it (docs/help/en-US) and the cmdlets
             agree, and fails when they do not. Needs Microsoft.PowerShell.PlatyPS. With -Update it first brings
             docs/help up to date with the cmdlets (describe what it adds) and rewrites the committed MAML.
      Package builds and writes out/package/BleOta.<version>.nupkg and BleOta.WinRT.<version>.nupkg, which
             Publish-PSResource and Install-PSResource accept (BleOta.WinRT requires BleOta).
    Build, Demo, Package and Test ship the committed help (docs/help/en-US), so PlatyPS is needed only to change it.
      Fuzz   fuzzes the firmware's protocol core under AddressSanitizer and UBSan: libFuzzer for
             -FuzzSeconds when clang is installed, else the seeded random harness with many more inputs.
    Run it through the repo's local dotnet tool so only the .NET SDK is needed:
      dotnet tool restore && dotnet pwsh ./build.ps1 Demo
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Demo', 'Bench', 'Docs', 'Package', 'Fuzz')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Docs: bring docs/help up to date with the cmdlets (Update-MarkdownCommandHelp) and rewrite the committed MAML.
    [switch] $Update,

    # Fuzz: how long libFuzzer runs (the random harness instead gets 800 inputs per second asked for).
    [ValidateRange(1, 86400)]
    [int] $FuzzSeconds = 300
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$Root = $PSScriptRoot
$Out = Join-Path $Root 'out'
$ModuleDir = Join-Path $Out 'BleOta'
$WinRtModuleDir = Join-Path $Out 'BleOta.WinRT'
$HelpSource = Join-Path $Root 'docs/help'
# PlatyPS's output from docs/help, committed so that every build ships help, with or without PlatyPS.
$CommittedHelp = Join-Path $HelpSource 'en-US'

function Invoke-Native {
    # Runs a native command, streaming its output, and fails the build when it fails.
    param([string] $Command, [string[]] $Arguments)
    & $Command @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Command $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Invoke-Build {
    Invoke-Native dotnet @('build', (Join-Path $Root 'BleOta.sln'), '-c', $Configuration, '--nologo', '-v', 'quiet')
    foreach ($dir in $ModuleDir, $WinRtModuleDir) { if (Test-Path $dir) { Remove-Item $dir -Recurse -Force } }
    # BleOta: the cmdlets, the simulator and the Linux radio. The Windows radio needs the Windows SDK projection (about
    # 26 MB), so it is a module of its own, BleOta.WinRT, that Linux and macOS installs do without; RadioAssemblies.cs
    # finds it beside BleOta.
    foreach ($project in 'BleOta.PowerShell', 'BleOta.Transport.BlueZ') {
        Invoke-Native dotnet @('publish', (Join-Path $Root "src/$project"), '-c', $Configuration, '--no-build', '--nologo', '-v', 'quiet', '-o', $ModuleDir)
    }
    Invoke-Native dotnet @('publish', (Join-Path $Root 'src/BleOta.Transport.WinRT'), '-c', $Configuration, '--no-build', '--nologo', '-v', 'quiet', '-o', $WinRtModuleDir)
    # The engine comes with BleOta, which the radio's module requires; symbols and XML docs are for developers, not users.
    Get-ChildItem $ModuleDir -File | ForEach-Object { Remove-Item (Join-Path $WinRtModuleDir $_.Name) -ErrorAction Ignore }
    Get-ChildItem $ModuleDir, $WinRtModuleDir -File |
        Where-Object { $_.Extension -eq '.pdb' -or ($_.Extension -eq '.xml' -and (Test-Path ([IO.Path]::ChangeExtension($_.FullName, '.dll')))) } |
        Remove-Item
    Copy-Item (Join-Path $Root 'BleOta.Format.ps1xml') $ModuleDir
    Copy-ModuleHelp
    foreach ($dir in $ModuleDir, $WinRtModuleDir) { Copy-Item (Join-Path $Root 'LICENSE') $dir }
    $version = (Import-PowerShellDataFile (Join-Path $Root 'BleOta.psd1')).ModuleVersion
    $manifest = (Get-Content (Join-Path $Root 'BleOta.psd1') -Raw) -replace "RootModule(\s*)=\s*'[^']*'", "RootModule`$1= 'BleOta.PowerShell.dll'"
    Set-Content (Join-Path $ModuleDir 'BleOta.psd1') $manifest -NoNewline
    # The radio's module always has BleOta's version and requires exactly that BleOta.
    $radio = (Get-Content (Join-Path $Root 'src/BleOta.Transport.WinRT/BleOta.WinRT.psd1') -Raw) -replace "ModuleVersion(\s*)=\s*'[^']*'", "ModuleVersion`$1= '$version'"
    Set-Content (Join-Path $WinRtModuleDir 'BleOta.WinRT.psd1') $radio -NoNewline
    Write-Host "Module ready: Import-Module $ModuleDir (Windows radio: $WinRtModuleDir)" -ForegroundColor Green
}

function Get-PesterModulePath {
    # Pester comes from NuGet: restoring this project puts the package in the global packages folder.
    $proj = Join-Path $Root 'tests/Pester/PesterPackage.proj'
    Invoke-Native dotnet @('restore', $proj, '--nologo', '-v', 'quiet')
    $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else {
        ((dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', '').Trim()
    }
    $manifest = Join-Path $packages 'pester/5.9.1/tools/Pester.psd1'
    if (-not (Test-Path $manifest)) { throw "Pester was restored but $manifest is missing." }
    $manifest
}

function New-SuiteResult {
    # What a suite reports: its counts, the tests it skipped and why, or why it did not run at all.
    param([int] $Passed = 0, [int] $Failed = 0, [int] $SkippedTests = 0, [string] $Note = '', [string] $SkippedBecause = '')
    [pscustomobject]@{ Passed = $Passed; Failed = $Failed; SkippedTests = $SkippedTests; Note = $Note; SkippedBecause = $SkippedBecause }
}

function Invoke-Suite {
    # Runs one suite and returns its result; a suite that cannot run counts as one failure.
    param([string] $Name, [scriptblock] $Run)
    Write-Host "`n=== $Name ===" -ForegroundColor Cyan
    $result = try { & $Run } catch {
        Write-Host "${Name}: could not run: $_" -ForegroundColor Red
        New-SuiteResult -Failed 1 -Note "could not run: $_"
    }
    $result | Add-Member -NotePropertyName Name -NotePropertyValue $Name -PassThru
}

function Format-SuiteResult {
    param($Suite)
    if ($Suite.SkippedBecause) { return 'SKIPPED: ' + $Suite.SkippedBecause }
    $line = '{0} passed, {1} failed' -f $Suite.Passed, $Suite.Failed
    if ($Suite.SkippedTests) { $line += ", $($Suite.SkippedTests) skipped" }
    if ($Suite.Note) { $line += " ($($Suite.Note))" }
    $line
}

function Invoke-XunitSuite {
    # The BlueZ tests run over a private dbus-daemon: where one is installed (and always in CI) they must not skip.
    if ($env:CI -or (Get-Command dbus-daemon -ErrorAction Ignore)) { $env:BLEOTA_REQUIRE_DBUS = '1' }
    $results = Join-Path $Out 'test-results'
    $trx = Join-Path $results 'xunit.trx'
    if (Test-Path $trx) { Remove-Item $trx }
    & dotnet test (Join-Path $Root 'tests/BleOta.Tests') -c $Configuration --no-build --nologo `
        --logger "trx;LogFileName=$trx" --logger 'console;verbosity=minimal' | Out-Host
    if (-not (Test-Path $trx)) { throw 'dotnet test wrote no results' }
    $run = ([xml](Get-Content $trx -Raw)).TestRun
    $counters = $run.ResultSummary.Counters
    # A skipped xunit test says why (Skip.If's message); the summary repeats each reason with its count.
    $skipped = @($run.Results.UnitTestResult | Where-Object outcome -EQ 'NotExecuted')
    $reasons = $skipped | Group-Object { "$($_.Output.ErrorInfo.Message)".Trim() } | ForEach-Object { "$($_.Count): $($_.Name)" }
    New-SuiteResult -Passed ([int]$counters.passed) -Failed ([int]$counters.failed + [int]$counters.error) `
        -SkippedTests $skipped.Count -Note ($reasons -join '; ')
}

function Invoke-PesterSuite {
    # Test has just built the package, so the package test must run rather than skip.
    New-ModulePackage
    $env:BLEOTA_REQUIRE_PACKAGE = '1'
    $pester = Get-PesterModulePath
    $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$pester' -MinimumVersion 5.9
`$config = New-PesterConfiguration
`$config.Run.Path = '$(Join-Path $Root 'tests/Pester')'
`$config.Run.PassThru = `$true
`$config.Filter.ExcludeTag = 'Hardware'
`$config.Output.Verbosity = 'Normal'
`$env:BLEOTA_MODULE = '$ModuleDir'
`$r = Invoke-Pester -Configuration `$config
'PESTER-COUNTS {0} {1} {2}' -f `$r.PassedCount, (`$r.FailedCount + `$r.FailedBlocksCount + `$r.FailedContainersCount), `$r.SkippedCount
"@
    # A fresh process, so the module is imported as a user would import it.
    $output = & dotnet pwsh -NoProfile -NonInteractive -Command $script 2>&1 | ForEach-Object { Write-Host $_; $_ }
    $line = $output | Where-Object { "$_" -match '^PESTER-COUNTS (\d+) (\d+) (\d+)$' } | Select-Object -Last 1
    if (-not $line) { throw 'Pester did not report its counts' }
    $null = "$line" -match '^PESTER-COUNTS (\d+) (\d+) (\d+)$'
    New-SuiteResult -Passed ([int]$Matches[1]) -Failed ([int]$Matches[2]) -SkippedTests ([int]$Matches[3]) `
        -Note 'tests tagged Hardware need a real ESP32 and are not run here: docs/hardware-testing.md'
}

function Invoke-FirmwareSuite {
    foreach ($tool in 'cmake', 'bash', 'c++') {
        if (-not (Get-Command $tool -ErrorAction Ignore)) {
            return New-SuiteResult -SkippedBecause "$tool is not installed (the firmware's C core and its host tests need cmake and a C/C++ compiler); the firmware-in-the-loop xunit tests skip with it"
        }
    }
    $output = & bash (Join-Path $Root 'firmware/test/run.sh') 2>&1 | ForEach-Object { Write-Host $_; "$_" }
    $exit = $LASTEXITCODE
    $env:BLEOTA_REQUIRE_HOST_FIRMWARE = '1'   # it was built here, so the in-the-loop tests must not skip
    $summary = $output | Where-Object { $_ -match '(\d+)% tests passed, (\d+) tests? failed out of (\d+)' } | Select-Object -Last 1
    if (-not $summary) { throw "the firmware tests printed no CTest summary (exit $exit)" }
    $null = $summary -match '(\d+)% tests passed, (\d+) tests? failed out of (\d+)'
    $failed = [int]$Matches[2]
    if ($exit -ne 0 -and $failed -eq 0) { $failed = 1 }
    New-SuiteResult -Passed ([int]$Matches[3] - [int]$Matches[2]) -Failed $failed
}

function Invoke-IdfCheckSuite {
    # A developer's check: it needs an ESP-IDF tree, which no package registry serves, so CI never has one.
    if (-not $env:IDF_PATH) {
        return New-SuiteResult -SkippedBecause 'IDF_PATH is not set; to compile the firmware against ESP-IDF, run firmware/check-idf.sh in a shell set up by ESP-IDF''s export.sh (firmware/README.md)'
    }
    $output = & bash (Join-Path $Root 'firmware/check-idf.sh') 2>&1 | ForEach-Object { Write-Host $_; "$_" }
    $exit = $LASTEXITCODE
    $summary = $output | Where-Object { $_ -match 'idf-check: (\d+) files? ok, (\d+) failed' } | Select-Object -Last 1
    if (-not $summary) { throw "idf-check printed no summary (exit $exit)" }
    $null = $summary -match 'idf-check: (\d+) files? ok, (\d+) failed'
    New-SuiteResult -Passed ([int]$Matches[1]) -Failed ([int]$Matches[2])
}

function Invoke-HelpSuite {
    # Comparing docs/help with the cmdlets needs PlatyPS; the shipped help itself is tested by Help.Tests.ps1 anyway.
    if (-not (Import-PlatyPS)) {
        return New-SuiteResult -SkippedBecause 'Microsoft.PowerShell.PlatyPS is not installed (Install-PSResource Microsoft.PowerShell.PlatyPS); Pester still tests the committed help'
    }
    Invoke-Docs
    New-SuiteResult -Passed 1
}

function Invoke-Test {
    Invoke-Build
    # The firmware suite goes first: it builds libble_ota_host, which xunit's firmware-in-the-loop tests load.
    $suites = @(
        Invoke-Suite 'firmware CTest' { Invoke-FirmwareSuite }
        Invoke-Suite 'ESP-IDF build check' { Invoke-IdfCheckSuite }
        Invoke-Suite 'xunit' { Invoke-XunitSuite }
        Invoke-Suite 'help matches the cmdlets' { Invoke-HelpSuite }
        Invoke-Suite 'Pester' { Invoke-PesterSuite }
    )
    $passed = ($suites | Measure-Object Passed -Sum).Sum
    $failed = ($suites | Measure-Object Failed -Sum).Sum
    # The summary names every suite, so a skipped one shows in a green run.
    Write-Host "`n=== Summary ===" -ForegroundColor Cyan
    foreach ($suite in $suites) { Write-Host ('  {0,-26} {1}' -f $suite.Name, (Format-SuiteResult $suite)) }
    Write-Host ''
    Write-Output "$passed passed, $failed failed"
    if ($failed -gt 0 -or $passed -eq 0) { exit 1 }
}

function Import-PlatyPS {
    # Microsoft.PowerShell.PlatyPS from the PSModulePath (Install-PSResource puts it there); the repo never carries it.
    $module = Get-Module -ListAvailable Microsoft.PowerShell.PlatyPS | Sort-Object Version -Descending | Select-Object -First 1
    if (-not $module) { return $false }
    Import-Module $module -ErrorAction Stop
    $true
}

function Get-HelpShape {
    # What the markdown must agree on with the cmdlet: parameter sets, parameters and how they bind, output types.
    param($Help)
    $parameters = foreach ($parameter in $Help.Parameters | Sort-Object Name) {
        $sets = foreach ($set in $parameter.ParameterSets | Sort-Object Name) {
            '{0}:{1}:{2}:{3}:{4}' -f $set.Name, $set.Position, $set.IsRequired, $set.ValueFromPipeline, $set.ValueFromPipelineByPropertyName
        }
        '-{0} <{1}> wildcards={2} aliases={3} sets={4}' -f $parameter.Name, $parameter.Type, $parameter.SupportsWildcards,
            (($parameter.Aliases | Sort-Object) -join ','), ($sets -join ' ')
    }
    @(
        'sets: ' + (($Help.Syntax | ForEach-Object { $_.ParameterSetName + $(if ($_.IsDefaultParameterSet) { ' (default)' }) } | Sort-Object) -join ', ')
        $parameters
        'outputs: ' + (($Help.Outputs.Typename | Sort-Object) -join ', ')
    )
}

function Get-HelpDifference {
    # Where docs/help and the cmdlets disagree: a page missing or orphaned, or a page whose syntax is not the cmdlet's.
    $commands = Get-Command -Module BleOta -CommandType Cmdlet
    foreach ($command in $commands) {
        $page = Join-Path $HelpSource "$($command.Name).md"
        if (-not (Test-Path $page)) {
            [pscustomobject]@{ Page = $null; Text = "$($command.Name) has no page: New-MarkdownCommandHelp -CommandInfo (Get-Command $($command.Name)) -OutputFolder docs/help, then fill it in." }
            continue
        }
        $documented = Get-HelpShape (Import-MarkdownCommandHelp -Path $page)
        $actual = Get-HelpShape (& { Set-StrictMode -Off; New-CommandHelp $command })   # PlatyPS is not strict-mode clean
        foreach ($difference in Compare-Object $documented $actual) {
            $where = if ($difference.SideIndicator -eq '=>') { 'cmdlet has' } else { 'docs/help says' }
            [pscustomobject]@{ Page = $page; Text = "$($command.Name): $where $($difference.InputObject)" }
        }
    }
    foreach ($page in Get-ChildItem $HelpSource -Filter '*-*.md') {
        if ($page.BaseName -notin $commands.Name) { [pscustomobject]@{ Page = $null; Text = "docs/help/$($page.Name) documents a cmdlet the module does not have." } }
    }
}

function Update-HelpMarkdown {
    # Only the pages that disagree with their cmdlet are rewritten, so the others keep their text and date.
    $pages = @(Get-HelpDifference | Where-Object Page | Select-Object -ExpandProperty Page -Unique)
    if (-not $pages) { return }
    & { Set-StrictMode -Off; $null = Update-MarkdownCommandHelp -Path $pages -NoBackup }
    Write-Host "Updated from the cmdlets: $(($pages | Split-Path -Leaf) -join ', '). Describe what they add." -ForegroundColor Yellow
}

function Test-HelpCurrent {
    $problems = @(Get-HelpDifference)
    if ($problems.Count -gt 0) {
        $problems | ForEach-Object { Write-Host "  $($_.Text)" -ForegroundColor Red }
        throw "docs/help is out of date with the cmdlets ($($problems.Count) differences). Run ./build.ps1 Docs -Update and describe what it adds."
    }
    Write-Host "docs/help matches the $(@(Get-Command -Module BleOta -CommandType Cmdlet).Count) cmdlets."
}

function Copy-ModuleHelp {
    # The committed MAML and the about topic go into the module, so Get-Help works on every machine.
    $culture = Join-Path $ModuleDir 'en-US'
    $null = New-Item -ItemType Directory -Force $culture
    Copy-Item (Join-Path $CommittedHelp '*.xml') $culture
    Copy-Item (Join-Path $HelpSource 'about_BleOta.md') (Join-Path $culture 'about_BleOta.help.txt')
}

function Invoke-Docs {
    if (-not (Import-PlatyPS)) {
        throw 'Checking or changing the help needs the Microsoft.PowerShell.PlatyPS module: Install-PSResource Microsoft.PowerShell.PlatyPS'
    }
    # PlatyPS would merge the module's shipped help into the pages it updates (repeating every description), and
    # Get-Help caches help once read: hide it before anything asks.
    if ($Update) { Remove-Item (Join-Path $ModuleDir 'en-US') -Recurse -Force -ErrorAction Ignore }
    Import-Module (Join-Path $ModuleDir 'BleOta.psd1') -Force
    if ($Update) { Update-HelpMarkdown }
    Test-HelpCurrent

    $staging = Join-Path $Out 'help-staging'
    if (Test-Path $staging) { Remove-Item $staging -Recurse -Force }
    $helps = Get-ChildItem $HelpSource -Filter '*-*.md' | ForEach-Object { Import-MarkdownCommandHelp -Path $_.FullName }
    $null = Export-MamlCommandHelp -CommandHelp $helps -OutputFolder $staging -Force
    $built = Get-ChildItem (Join-Path $staging 'BleOta') -Filter '*.xml'
    $stale = foreach ($file in $built) {
        $committed = Join-Path $CommittedHelp $file.Name
        if (-not (Test-Path $committed) -or (Get-Content $committed -Raw) -cne (Get-Content $file.FullName -Raw)) { $file }
    }
    $orphans = Get-ChildItem $CommittedHelp -Filter '*.xml' -ErrorAction Ignore | Where-Object Name -NotIn $built.Name
    if ($Update) {
        $null = New-Item -ItemType Directory -Force $CommittedHelp
        $orphans | Remove-Item
        $built | Copy-Item -Destination $CommittedHelp
        Copy-ModuleHelp
        Write-Host "Help rebuilt into docs/help/en-US and $ModuleDir/en-US: commit both docs/help changes together." -ForegroundColor Green
    }
    elseif ($stale -or $orphans) {
        throw "docs/help/en-US is not what PlatyPS builds from docs/help ($(@($stale).Count + @($orphans).Count) files differ). Run ./build.ps1 Docs -Update and commit docs/help."
    }
    else {
        Write-Host 'The committed help in docs/help/en-US is what PlatyPS builds from docs/help.'
    }
    Remove-Item $staging -Recurse -Force
}

function Invoke-Package {
    Invoke-Build
    New-ModulePackage
}

function New-ModulePackage {
    # The built modules, BleOta with its help and BleOta.WinRT, as .nupkg files that Publish-PSResource -NupkgPath and
    # Install-PSResource take. BleOta.WinRT's manifest requires BleOta, so BleOta must be findable while it is packed.
    $packages = Join-Path $Out 'package'
    if (Test-Path $packages) { Remove-Item $packages -Recurse -Force }
    $null = New-Item -ItemType Directory $packages
    Import-Module Microsoft.PowerShell.PSResourceGet -ErrorAction Stop
    $savedPath = $env:PSModulePath
    $env:PSModulePath = $Out + [IO.Path]::PathSeparator + $env:PSModulePath
    try {
        foreach ($dir in $ModuleDir, $WinRtModuleDir) { Compress-PSResource -Path $dir -DestinationPath $packages }
    }
    finally { $env:PSModulePath = $savedPath }
    $built = @(Get-ChildItem $packages -Filter '*.nupkg')
    if ($built.Count -ne 2) { throw "Compress-PSResource wrote $($built.Count) packages into $packages instead of BleOta and BleOta.WinRT" }
    $built | ForEach-Object { Write-Host ("Package ready: {0} ({1:0.0} MB)" -f $_.FullName, ($_.Length / 1MB)) -ForegroundColor Green }
}

function Invoke-Demo {
    Invoke-Build
    $script = Join-Path $Root 'docs/demo.ps1'
    & dotnet pwsh -NoProfile -File $script -ModulePath $ModuleDir -WorkDirectory (Join-Path $Out 'demo')
    if ($LASTEXITCODE -ne 0) { throw "the demo failed (exit $LASTEXITCODE)" }
}

function Invoke-Bench {
    $project = Join-Path $Root 'bench/BleOta.Bench'
    Invoke-Native dotnet @('build', $project, '-c', 'Release', '--nologo', '-v', 'quiet')
    # The engine-cost row needs the firmware's C core as a library; an optimised build keeps the figure fair.
    if ((Get-Command cmake -ErrorAction Ignore)) {
        $native = Join-Path $Out 'firmware/host-release'
        Invoke-Native cmake @('-S', (Join-Path $Root 'firmware/test'), '-B', $native, '-DCMAKE_BUILD_TYPE=Release')
        Invoke-Native cmake @('--build', $native, '--target', 'ble_ota_host')
        $library = Get-ChildItem $native -Recurse -File -Include 'libble_ota_host.so', 'libble_ota_host.dylib', 'ble_ota_host.dll' | Select-Object -First 1
        if ($library) { $env:BLEOTA_HOST_FIRMWARE_LIB = $library.FullName }
    }
    else {
        Write-Host 'cmake not found: the engine-cost row is n/a.' -ForegroundColor Yellow
    }

    $bench = Join-Path $Out 'bin/BleOta.Bench/Release/net10.0/BleOta.Bench.dll'
    Invoke-Native dotnet @($bench, '--output', (Join-Path $Root 'docs/benchmarks.md'))
}

function Test-LibFuzzer {
    # clang alone is not enough: libFuzzer and the sanitizer runtimes come in a separate package.
    if (-not (Get-Command clang -ErrorAction Ignore)) { return $false }
    $probe = Join-Path ([IO.Path]::GetTempPath()) "bleota-libfuzzer-$PID.c"
    Set-Content $probe 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }'
    & clang '-fsanitize=fuzzer,address' $probe -o "$probe.out" 2>$null
    $ok = $LASTEXITCODE -eq 0
    Remove-Item $probe, "$probe.out" -ErrorAction Ignore
    $ok
}

function Invoke-Fuzz {
    $source = Join-Path $Root 'firmware/test'
    if (Test-LibFuzzer) {
        $build = Join-Path $Out 'firmware/fuzz'
        Invoke-Native cmake @('-S', $source, '-B', $build, '-DCMAKE_C_COMPILER=clang', '-DCMAKE_CXX_COMPILER=clang++', '-DCMAKE_BUILD_TYPE=RelWithDebInfo')
        Invoke-Native cmake @('--build', $build, '--target', 'fuzz_core_libfuzzer')
        $corpus = Join-Path $build 'corpus'
        New-Item -ItemType Directory -Force $corpus | Out-Null
        Invoke-Native (Join-Path $build 'fuzz_core_libfuzzer') @($corpus, "-max_total_time=$FuzzSeconds", '-max_len=4096')
    }
    else {
        Write-Host 'No clang with libFuzzer (apt-get install clang libclang-rt-dev): running the seeded random harness instead.' -ForegroundColor Yellow
        $build = Join-Path $Out 'firmware/host'
        Invoke-Native cmake @('-S', $source, '-B', $build)
        Invoke-Native cmake @('--build', $build, '--target', 'fuzz_core_random')
        Invoke-Native (Join-Path $build 'fuzz_core_random') @("$($FuzzSeconds * 800)", "$(Get-Random)")
    }
}

Push-Location $Root
try {
    switch ($Task) {
        'Build' { Invoke-Build }
        'Test' { Invoke-Test }
        'Demo' { Invoke-Demo }
        'Bench' { Invoke-Bench }
        'Docs' { Invoke-Build; Invoke-Docs }
        'Package' { Invoke-Package }
        'Fuzz' { Invoke-Fuzz }
    }
}
finally {
    Pop-Location
}
