Set-StrictMode -Version Latest

# Runs against a real ESP32 over the machine's radio (see docs/hardware-testing.md). build.ps1 Test excludes the
# Hardware tag; run it with Invoke-Pester -TagFilter Hardware after setting BLEOTA_HARDWARE_ADDRESS (and
# BLEOTA_HARDWARE_IMAGE for the update). Without the address every test skips.

BeforeDiscovery {
    $script:NoDevice = -not $env:BLEOTA_HARDWARE_ADDRESS
    $script:NoImage = $script:NoDevice -or -not $env:BLEOTA_HARDWARE_IMAGE
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-BleOtaUnderTest
    $script:Address = $env:BLEOTA_HARDWARE_ADDRESS
}

Describe 'A real ESP32 over the radio' -Tag 'Hardware' {
    It 'is found by its address, advertising the OTA service' -Skip:$NoDevice {
        $device = Find-Esp32Device -TimeoutSec 10 | Where-Object Address -eq $Address | Select-Object -First 1
        $device | Should -Not -BeNullOrEmpty -Because "$Address should advertise within 10 s"
        $device.AdvertisesOta | Should -BeTrue
    }

    It 'takes the image, boots it, and the link negotiated more than the default MTU' -Skip:$NoImage {
        $verbose = $null
        $result = Invoke-Esp32Ota -Address $Address -Path $env:BLEOTA_HARDWARE_IMAGE -Force -PassThru -Verbose 4>&1 |
            Tee-Object -Variable verbose | Where-Object { $_ -is [BleOta.OtaUpdateResult] }
        $result.Status | Should -Be 'Succeeded'
        $link = @($verbose | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -match 'ATT MTU (\d+)' })
        $link | Should -Not -BeNullOrEmpty
        [int]($link[0].Message -replace '.*ATT MTU (\d+).*', '$1') | Should -BeGreaterThan 23
    }
}
