namespace BleOta.Engine.Image;

/// <summary>What a file is, as far as its bytes tell. Only an <see cref="App"/> can be sent to an OTA slot.</summary>
public enum ImageKind
{
    /// <summary>Not an ESP image at all, or too damaged to tell.</summary>
    Unknown,

    /// <summary>An app image: what <c>idf.py build</c> writes as <c>build/&lt;project&gt;.bin</c>.</summary>
    App,

    /// <summary>A second-stage bootloader (<c>build/bootloader/bootloader.bin</c>): every segment loads into RAM.</summary>
    Bootloader,

    /// <summary>An app built to run from RAM only (<c>CONFIG_APP_BUILD_TYPE_RAM</c>), which no bootloader boots from flash.</summary>
    RamOnlyApp,

    /// <summary>Bootloader, partition table and app in one file for <c>esptool write_flash 0x0</c> (<c>esptool merge_bin</c>).</summary>
    MergedFlashImage,
}
