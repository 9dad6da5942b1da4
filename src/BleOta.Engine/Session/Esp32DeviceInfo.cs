namespace BleOta.Engine.Session;

/// <summary>
/// What <c>Get-Esp32DeviceInfo</c> reports about one device. Plain strings and numbers, so Export-Csv and
/// ConvertTo-Json make a readable inventory of them.
/// </summary>
/// <param name="Device">The device's name (its address when it advertises none).</param>
/// <param name="Address">The device's Bluetooth address.</param>
/// <param name="Firmware">"BleOta" (reports its Info) or "Tutorial" (the ESP-IDF NimBLE OTA tutorial's firmware: protocol v1, no Info).</param>
/// <param name="ProjectName">The running app's project name; null for the tutorial's firmware, which does not say.</param>
/// <param name="Version">The running app's version; null for the tutorial's firmware.</param>
/// <param name="IdfVersion">The ESP-IDF version the running app was built with; null for the tutorial's firmware.</param>
/// <param name="Chip">The chip, as Espressif names it ("ESP32-S3"); null for the tutorial's firmware.</param>
/// <param name="Protocols">The wire protocols the device speaks, such as "V1, V2".</param>
/// <param name="SlotSize">Bytes an OTA slot holds: the largest image the device takes.</param>
/// <param name="Features">What the firmware offers: Compression, Resume, EncryptedLinkRequired, Delta.</param>
/// <param name="ImageSha256">The SHA-256 of the running image, lowercase hex: the base a delta update patches. Null when the firmware does not report it.</param>
public sealed record Esp32DeviceInfo(
    string Device,
    string Address,
    string Firmware,
    string? ProjectName,
    string? Version,
    string? IdfVersion,
    string? Chip,
    string Protocols,
    long? SlotSize,
    string? Features,
    string? ImageSha256 = null);
