using System.Buffers.Binary;
using BleOta.Engine.Discovery;
using BleOta.Engine.Image;
using BleOta.Engine.Protocol;
using BleOta.Engine.Session;
using BleOta.Tests.Support;
using BleOta.Transport.HostFirmware;

namespace BleOta.Tests.FirmwareInTheLoop;

/// <summary>
/// The C# client against the firmware's real C core (libble_ota_host, built by firmware/test/run.sh).
/// build.ps1 builds the library first and sets BLEOTA_REQUIRE_HOST_FIRMWARE, so these never skip there;
/// on a machine without a C compiler they skip and say why.
/// </summary>
public sealed class FirmwareInTheLoopTests : IDisposable
{
    private static readonly OtaOptions Options = OtaOptions.Default with { Timeouts = OtaTimeouts.All(TimeSpan.FromSeconds(5)) };
    private readonly HostFirmwareTransport? _transport;

    public FirmwareInTheLoopTests()
    {
        if (HostFirmwareSupport.IsAvailable())
        {
            _transport = new HostFirmwareTransport();
        }
    }

    public void Dispose() => _transport?.Dispose();

    private HostFirmwareTransport Transport()
    {
        Skip.If(_transport is null, HostFirmwareSupport.NotBuilt);
        return _transport!;
    }

    private static async Task<OtaResult> Update(HostFirmwareTransport transport, HostFirmwareDevice device, byte[] image, OtaOptions? options = null)
    {
        var updater = new OtaUpdater(new OtaSessionRegistry());
        var target = new Esp32Device(device.Address, device.Name, device.Rssi, transport);
        return await updater.RunAsync(updater.CreateSession(target, FirmwareImage.Parse(image)), options ?? Options, null, CancellationToken.None);
    }

    [SkippableTheory]
    [InlineData(23)]
    [InlineData(185)]
    [InlineData(517)]
    public async Task The_v1_client_updates_the_real_core_byte_for_byte(int mtu)
    {
        var transport = Transport();
        var device = transport.AddDevice(maxMtu: mtu);
        string? factoryVersion = device.RunningVersion;
        var image = TestImages.Build(version: "9.1.0", size: 120_000);

        var result = await Update(transport, device, image, Options with { Protocol = OtaProtocolVersion.V1 });

        Assert.Equal((OtaStatus.Succeeded, OtaProtocolVersion.V1), (result.Status, result.Protocol));
        Assert.NotNull(factoryVersion);
        Assert.Equal((factoryVersion, "9.1.0"), (result.VersionBefore, result.VersionAfter)); // read from the core's Info
        Assert.Equal(V1Client.PacketCount(image.Length, V1Client.PacketSizeFor(mtu)), result.Packets);
        Assert.Equal("9.1.0", device.RunningVersion);
        Assert.Equal(image, device.ReadRunningImage()![..image.Length]);
        Assert.Equal(0, device.NorViolations);
    }

    [SkippableFact]
    public async Task A_flash_write_fault_in_the_core_fails_the_update_and_the_old_firmware_boots()
    {
        var transport = Transport();
        var device = transport.AddDevice();
        string? before = device.RunningVersion;
        device.FailFlashWriteAt(50_000);

        var result = await Update(transport, device, TestImages.Build(size: 100_000));

        Assert.Equal((OtaStatus.Failed, OtaErrorCode.FlashFailed), (result.Status, result.ErrorCode));
        device.Reboot();
        Assert.False(device.IsBricked);
        Assert.Equal(before, device.RunningVersion);
    }

    [SkippableFact]
    public async Task An_image_for_another_chip_is_refused_from_the_cores_info_before_any_data()
    {
        var transport = Transport();
        var device = transport.AddDevice();

        var result = await Update(transport, device, TestImages.Build(chip: EspChip.Esp32C3));

        Assert.Equal(OtaErrorCode.ImageWrongChip, result.ErrorCode);
        Assert.Equal(0, device.BytesReceived);
    }

    [SkippableFact]
    public async Task A_damaged_image_is_refused_by_the_core_with_done_nak()
    {
        var transport = Transport();
        var device = transport.AddDevice();
        string? before = device.RunningVersion;
        var bytes = TestImages.Build(size: 50_000);
        bytes[20_000] ^= 0x40;
        await using var connection = await transport.ConnectAsync(device.Address, CancellationToken.None);
        await connection.RequestMtuAsync(517, CancellationToken.None);

        var error = await Assert.ThrowsAsync<OtaException>(() => new V1Client(Options.Timeouts).SendAsync(connection, bytes, null, CancellationToken.None));

        Assert.Equal(OtaErrorCode.ImageRejected, error.Code);
        device.Reboot();
        Assert.Equal(before, device.RunningVersion);
    }

    [SkippableTheory]
    [InlineData(23, false)]
    [InlineData(185, true)]
    [InlineData(517, false)]
    [InlineData(517, true)]
    public async Task The_v2_client_updates_the_real_core_byte_for_byte(int mtu, bool compression)
    {
        var transport = Transport();
        var device = transport.AddDevice(maxMtu: mtu);
        device.SetCompression(compression);
        var image = TestImages.BuildCompressible(version: "9.2.0", size: 120_000);

        var result = await Update(transport, device, image); // Auto: the core's Info offers v2

        Assert.Equal((OtaStatus.Succeeded, OtaProtocolVersion.V2), (result.Status, result.Protocol));
        if (compression)
        {
            Assert.InRange(result.Bytes, 1, image.Length * 3 / 4); // bytes on air: the deflate stream
        }
        else
        {
            Assert.Equal(image.Length, result.Bytes);
        }

        Assert.Equal("9.2.0", device.RunningVersion);
        Assert.Equal(image, device.ReadRunningImage()![..image.Length]);
        Assert.Equal(0, device.NorViolations);
    }

    /// <summary>
    /// What a bootloader or a RAM-only image looks like to the device: an ESP32 image whose segment 0 loads into DRAM
    /// (0x3FFB0000) instead of flash-mapped data. Without the appended SHA-256, which the edit would break.
    /// </summary>
    private static byte[] RamLoadedImage()
    {
        var image = TestImages.Build(version: "9.9.9", size: 40_000, appendSha256: false);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(24), 0x3FFB0000);
        return image;
    }

    [SkippableTheory]
    [InlineData("not an app", OtaProtocolVersion.V1, OtaErrorCode.ImageRejected, 25)] // v1's DONE_NAK carries no reason
    [InlineData("not an app", OtaProtocolVersion.V2, OtaErrorCode.ImageNotAnApp, 25)] // BLE_OTA_ERR_NOT_APP
    [InlineData("another chip", OtaProtocolVersion.V2, OtaErrorCode.ImageWrongChip, 26)] // BLE_OTA_ERR_WRONG_CHIP
    public async Task The_core_refuses_an_image_that_is_not_an_app_for_it_when_a_client_sends_one(string kind, OtaProtocolVersion protocol, OtaErrorCode expected, int coreError)
    {
        var transport = Transport();
        var device = transport.AddDevice();
        string? before = device.RunningVersion;
        var image = kind == "another chip" ? TestImages.Build(chip: EspChip.Esp32S3) : RamLoadedImage();
        await using var connection = await transport.ConnectAsync(device.Address, CancellationToken.None);
        await connection.RequestMtuAsync(247, CancellationToken.None);

        var error = await Assert.ThrowsAsync<OtaException>(() => protocol == OtaProtocolVersion.V1
            ? new V1Client(Options.Timeouts).SendAsync(connection, image, null, CancellationToken.None)
            : new V2Client(Options.Timeouts).SendAsync(connection, image, image, false, 512, null, CancellationToken.None));

        Assert.Equal(expected, error.Code);
        Assert.Equal(coreError, device.LastError);
        device.Reboot();
        Assert.Equal(before, device.RunningVersion);
    }

    [SkippableFact]
    public async Task A_v2_update_cut_by_a_disconnect_resumes_from_the_cores_offset()
    {
        var transport = Transport();
        var device = transport.AddDevice();
        var image = TestImages.BuildCompressible(version: "9.3.0", size: 150_000);
        var stream = V2Client.StreamFor(image, compress: true);
        var client = new V2Client(Options.Timeouts);

        var first = await transport.ConnectAsync(device.Address, CancellationToken.None);
        await first.RequestMtuAsync(247, CancellationToken.None);
        var cut = new SyncProgress<TransferProgress>(p =>
        {
            if (p.BytesSent > stream.Length / 2)
            {
                first.DisposeAsync().AsTask().Wait(); // the link drops mid-stream
            }
        });
        var error = await Assert.ThrowsAsync<OtaException>(() => client.SendAsync(first, image, stream, true, 512, cut, CancellationToken.None));
        Assert.Equal(OtaErrorCode.Disconnected, error.Code);
        int kept = device.StreamOffset;
        Assert.InRange(kept, stream.Length / 2, stream.Length - 1);

        await using var second = await transport.ConnectAsync(device.Address, CancellationToken.None);
        await second.RequestMtuAsync(247, CancellationToken.None);
        var reports = new List<TransferProgress>();
        await client.SendAsync(second, image, stream, true, 512, new SyncProgress<TransferProgress>(reports.Add), CancellationToken.None);

        Assert.Equal(kept, reports[0].BytesSent); // started where the device said it was
        device.Reboot();
        Assert.Equal("9.3.0", device.RunningVersion);
        Assert.Equal(image, device.ReadRunningImage()![..image.Length]);
    }
}
