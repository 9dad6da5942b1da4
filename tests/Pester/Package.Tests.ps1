Set-StrictMode -Version Latest

BeforeDiscovery {
    $package = Get-ChildItem (Join-Path $PSScriptRoot '../../out/package') -Filter 'BleOta.*.nupkg' -ErrorAction Ignore | Select-Object -First 1
    # ./build.ps1 Package writes it, and so does Test, which sets BLEOTA_REQUIRE_PACKAGE so that it never skips there.
    $skipPackage = -not $package -and $env:BLEOTA_REQUIRE_PACKAGE -ne '1'
}

Describe 'The module package' -Tag 'CI' -Skip:$skipPackage {
    It 'is published to a local repository, installed with Install-PSResource and imported from there' {
        $package = Get-ChildItem (Join-Path $PSScriptRoot '../../out/package') -Filter 'BleOta.*.nupkg' | Select-Object -First 1
        $package | Should -Not -BeNullOrEmpty -Because './build.ps1 Package writes out/package/BleOta.<version>.nupkg'

        # A separate process whose user data (repository list, CurrentUser modules) lives in the test drive.
        $saved = $env:HOME, $env:XDG_DATA_HOME
        $env:HOME = $env:XDG_DATA_HOME = Join-Path $TestDrive 'home'
        try {
            $job = Start-Job -ArgumentList $package.FullName, $TestDrive.ToString() -ScriptBlock {
                param($nupkg, $work)
                $ErrorActionPreference = 'Stop'
                $folder = New-Item -ItemType Directory (Join-Path $work 'repository')
                $name = 'BleOtaPackageTest' + [guid]::NewGuid().ToString('N').Substring(0, 8)
                Register-PSResourceRepository -Name $name -Uri $folder.FullName -Trusted
                try {
                    Publish-PSResource -NupkgPath $nupkg -Repository $name
                    Install-PSResource -Name BleOta -Repository $name -Scope CurrentUser -TrustRepository -Quiet
                    $installed = Get-InstalledPSResource -Name BleOta -Scope CurrentUser
                    $module = Import-Module (Join-Path $installed.InstalledLocation "BleOta/$($installed.Version)/BleOta.psd1") -PassThru
                    [pscustomobject]@{
                        Published = @(Get-ChildItem $folder.FullName -Filter '*.nupkg').Name
                        Location  = $module.ModuleBase
                        Version   = "$($module.Version)"
                        Cmdlets   = @((Get-Command -Module BleOta).Name | Sort-Object)
                        Help      = (Get-Help Get-Esp32Image).Synopsis
                        Tags      = @($module.Tags)
                    }
                }
                finally {
                    Unregister-PSResourceRepository -Name $name
                }
            }
            $result = $job | Wait-Job -Timeout 120 | Receive-Job -ErrorAction Stop
            $job | Remove-Job -Force
        }
        finally {
            $env:HOME, $env:XDG_DATA_HOME = $saved
        }

        $result.Published | Should -Be $package.Name
        $result.Location | Should -BeLike "$TestDrive*"
        $result.Version | Should -Be (Import-PowerShellDataFile (Join-Path $PSScriptRoot '../../BleOta.psd1')).ModuleVersion
        $result.Cmdlets | Should -Be @('Find-Esp32Device', 'Get-Esp32Image', 'Get-OtaProgress', 'Invoke-Esp32Ota')
        $result.Help | Should -Match 'firmware files'
        $result.Tags | Should -Contain 'ESP32'
    }

    It 'has a manifest with what a gallery shows' {
        $manifest = Test-ModuleManifest (Join-Path $PSScriptRoot '../../out/BleOta/BleOta.psd1')
        $manifest.ProjectUri | Should -Not -BeNullOrEmpty
        $manifest.LicenseUri | Should -Not -BeNullOrEmpty
        $manifest.ReleaseNotes | Should -Match 'Get-Esp32Image'
        $manifest.Tags | Should -Contain 'OTA'
    }
}
