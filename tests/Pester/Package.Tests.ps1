Set-StrictMode -Version Latest

BeforeDiscovery {
    $package = Get-ChildItem (Join-Path $PSScriptRoot '../../out/package') -Filter 'BleOta.*.nupkg' -ErrorAction Ignore | Select-Object -First 1
    # ./build.ps1 Package writes it, and so does Test, which sets BLEOTA_REQUIRE_PACKAGE so that it never skips there.
    $skipPackage = -not $package -and $env:BLEOTA_REQUIRE_PACKAGE -ne '1'
}

Describe 'The module packages' -Tag 'CI' -Skip:$skipPackage {
    BeforeAll {
        $packages = Join-Path $PSScriptRoot '../../out/package'
        $main = Get-ChildItem $packages -Filter 'BleOta.*.nupkg' | Where-Object Name -NotLike 'BleOta.WinRT.*'
        $radio = Get-ChildItem $packages -Filter 'BleOta.WinRT.*.nupkg'
        $version = (Import-PowerShellDataFile (Join-Path $PSScriptRoot '../../BleOta.psd1')).ModuleVersion

        function Install-FromLocalRepository {
            # Publishes the packages to a folder repository and installs -Name from it, in a separate process whose user
            # data (repository list, CurrentUser modules) lives in the test drive; returns what the install left.
            param([string] $Name, [string] $UserHome)
            $saved = $env:HOME, $env:XDG_DATA_HOME
            $env:HOME = $env:XDG_DATA_HOME = $UserHome
            try {
                $job = Start-Job -ArgumentList @($main.FullName, $radio.FullName), $UserHome, $Name -ScriptBlock {
                    param($nupkgs, $work, $name)
                    $ErrorActionPreference = 'Stop'
                    $folder = New-Item -ItemType Directory (Join-Path $work 'repository')
                    $repository = 'BleOtaPackageTest' + [guid]::NewGuid().ToString('N').Substring(0, 8)
                    Register-PSResourceRepository -Name $repository -Uri $folder.FullName -Trusted
                    try {
                        foreach ($nupkg in $nupkgs) { Publish-PSResource -NupkgPath $nupkg -Repository $repository }
                        Install-PSResource -Name $name -Repository $repository -Scope CurrentUser -TrustRepository -Quiet
                        $installed = @(Get-InstalledPSResource -Scope CurrentUser)
                        $bleOta = $installed | Where-Object Name -EQ 'BleOta'
                        $module = Import-Module (Join-Path $bleOta.InstalledLocation "BleOta/$($bleOta.Version)/BleOta.psd1") -PassThru
                        $modules = $bleOta.InstalledLocation
                        [pscustomobject]@{
                            Published = @(Get-ChildItem $folder.FullName -Filter '*.nupkg').Name
                            Installed = @($installed.Name | Sort-Object)
                            Location  = $module.ModuleBase
                            Version   = "$($module.Version)"
                            Cmdlets   = @((Get-Command -Module BleOta).Name | Sort-Object)
                            Help      = (Get-Help Get-Esp32Image).Synopsis
                            Tags      = @($module.Tags)
                            Files     = @(Get-ChildItem $modules -Recurse -File | ForEach-Object { [IO.Path]::GetRelativePath($modules, $_.FullName) -replace '\\', '/' })
                            Bytes     = (Get-ChildItem $modules -Recurse -File | Measure-Object Length -Sum).Sum
                            Radio     = @((Get-ChildItem (Join-Path $modules 'BleOta.WinRT') -Recurse -File -ErrorAction Ignore).Name)
                            # Where RadioAssemblies.cs looks first for an installed BleOta: beside it, in its own version.
                            RadioBeside = Test-Path (Join-Path $modules "BleOta.WinRT/$($bleOta.Version)/BleOta.Transport.WinRT.dll")
                        }
                    }
                    finally {
                        Unregister-PSResourceRepository -Name $repository
                    }
                }
                $result = $job | Wait-Job -Timeout 180 | Receive-Job -ErrorAction Stop
                $job | Remove-Job -Force
                $result
            }
            finally {
                $env:HOME, $env:XDG_DATA_HOME = $saved
            }
        }
    }

    It 'installs BleOta with Install-PSResource, without the Windows radio, under 5 MB, and imports it' {
        $result = Install-FromLocalRepository -Name BleOta -UserHome (Join-Path $TestDrive 'linux-home')

        $result.Published | Sort-Object | Should -Be @($main.Name, $radio.Name | Sort-Object)
        $result.Installed | Should -Be @('BleOta')
        $result.Location | Should -BeLike "$TestDrive*"
        $result.Version | Should -Be $version
        $result.Cmdlets | Should -Be @('Find-Esp32Device', 'Get-Esp32DeviceInfo', 'Get-Esp32Image', 'Get-OtaProgress', 'Invoke-Esp32Ota', 'Stop-OtaSession')
        $result.Help | Should -Match 'firmware files'
        $result.Tags | Should -Contain 'ESP32'
        $result.Files | Should -Contain "BleOta/$version/LICENSE"
        $result.Files | Should -Contain "BleOta/$version/BleOta.Transport.BlueZ.dll"
        $result.Files | Where-Object { $_ -match 'WinRT|Windows\.SDK|\.pdb$' } | Should -BeNullOrEmpty
        $result.Bytes | Should -BeLessThan 5MB
        $main.Length | Should -BeLessThan 5MB
    }

    It 'installs the Windows radio as BleOta.WinRT, which brings BleOta and sits beside it' {
        $result = Install-FromLocalRepository -Name BleOta.WinRT -UserHome (Join-Path $TestDrive 'windows-home')

        $result.Installed | Should -Be @('BleOta', 'BleOta.WinRT')
        $result.Radio | Should -Contain 'BleOta.Transport.WinRT.dll'
        $result.RadioBeside | Should -BeTrue
        $result.Radio | Should -Contain 'Microsoft.Windows.SDK.NET.dll'
        $result.Radio | Should -Contain 'LICENSE'
        $result.Radio | Where-Object { $_ -like '*.pdb' -or $_ -eq 'BleOta.Engine.dll' } | Should -BeNullOrEmpty
    }

    It 'has manifests with what a gallery shows: current release notes and a license that ships' {
        $manifest = Test-ModuleManifest (Join-Path $PSScriptRoot '../../out/BleOta/BleOta.psd1')
        $manifest.ProjectUri | Should -Not -BeNullOrEmpty
        $manifest.LicenseUri | Should -Match '/LICENSE$'
        Test-Path (Join-Path $PSScriptRoot '../../LICENSE') | Should -BeTrue
        $manifest.ReleaseNotes | Should -Match 'Get-Esp32Image'
        $manifest.ReleaseNotes | Should -Match 'Protocol v2'
        $manifest.ReleaseNotes | Should -Match 'BleOta\.WinRT'
        $manifest.Tags | Should -Contain 'OTA'
        $radioManifest = Import-PowerShellDataFile (Join-Path $PSScriptRoot '../../out/BleOta.WinRT/BleOta.WinRT.psd1')
        $radioManifest.ModuleVersion | Should -Be $manifest.Version.ToString()
        $radioManifest.RequiredModules.ModuleName | Should -Be 'BleOta'
    }
}
