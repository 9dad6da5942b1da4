Set-StrictMode -Version Latest

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestSupport.psm1') -Force
    Import-BleOtaUnderTest
}

Describe 'Get-Esp32Image' -Tag 'CI' {
    It 'shows chip, project, version, IDF version, size and the same SHA-256 as Get-FileHash' {
        $file = New-TestImage -Version '7.1.0' -Chip 'Esp32S3' -Size 40000

        $image = Get-Esp32Image -Path $file.FullName

        $image.IsValid | Should -BeTrue
        $image.ChipName | Should -Be 'ESP32-S3'
        $image.ProjectName | Should -Be 'pester-app'
        $image.Version | Should -Be '7.1.0'
        $image.IdfVersion | Should -Match '^v\d'
        $image.Size | Should -Be $file.Length
        $image.Sha256 | Should -Be (Get-FileHash -LiteralPath $file.FullName -Algorithm SHA256).Hash
    }

    It 'reads every file piped from Get-ChildItem and marks the damaged one invalid with the reason' {
        $folder = New-Item -ItemType Directory (Join-Path $TestDrive 'folder')
        $null = New-TestImage -Name 'folder/good [1].bin'
        $cut = New-TestImage -Name 'folder/cut.bin'
        [IO.File]::WriteAllBytes($cut.FullName, [IO.File]::ReadAllBytes($cut.FullName)[0..999])

        $images = Get-ChildItem $folder -Filter '*.bin' | Get-Esp32Image -ErrorVariable problems | Sort-Object Name

        $problems | Should -BeNullOrEmpty
        $images.Name | Should -Be @('cut.bin', 'good [1].bin')
        $images.IsValid | Should -Be @($false, $true)
        $images[0].Problem | Should -Match 'truncated'
    }

    It 'shows a build folder''s bootloader and merged image as invalid with what they are' {
        $build = New-Item -ItemType Directory (Join-Path $TestDrive 'build')
        $null = New-TestImage -Name 'build/greenhouse.bin'
        $null = New-NonAppImage -Kind Bootloader -Name 'build/bootloader.bin'
        $null = New-NonAppImage -Kind MergedFromZero -Name 'build/merged-binary.bin'

        $images = Get-ChildItem $build -Filter '*.bin' | Get-Esp32Image | Sort-Object Name

        $images.Name | Should -Be @('bootloader.bin', 'greenhouse.bin', 'merged-binary.bin')
        $images.IsValid | Should -Be @($false, $true, $false)
        $images.Kind | Should -Be @('Bootloader', 'App', 'MergedFlashImage')
        $images[0].Problem | Should -Match 'ESP-IDF bootloader'
    }

    It 'takes strings from the pipeline and resolves wildcards' {
        $null = New-TestImage -Name 'fw-a.bin'
        $null = New-TestImage -Name 'fw-b.bin'

        (Join-Path $TestDrive 'fw-*.bin') | Get-Esp32Image | ForEach-Object Name | Sort-Object | Should -Be @('fw-a.bin', 'fw-b.bin')
    }

    It 'gives ImageNotFound for a path that names no file' {
        $result = Get-Esp32Image -Path (Join-Path $TestDrive 'missing.bin') -ErrorVariable problems -ErrorAction SilentlyContinue

        $result | Should -BeNullOrEmpty
        $problems[0].FullyQualifiedErrorId | Should -Be 'ImageNotFound,BleOta.GetEsp32Image'
    }
}
