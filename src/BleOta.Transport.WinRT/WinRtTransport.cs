using System;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using BleOta.Engine.Transport;
using Windows.Devices.Bluetooth;
using Windows.Devices.Bluetooth.Advertisement;

namespace BleOta.Transport.WinRT;

/// <summary>
/// Windows radio: active scanning with <see cref="BluetoothLEAdvertisementWatcher"/>, connecting with
/// <see cref="BluetoothLEDevice.FromBluetoothAddressAsync(ulong)"/>, GATT looked up uncached, so a device that
/// changed its firmware is seen as it is now. The watcher raises one Received event per packet, the
/// advertisement and its scan response apart, so the service UUID and the name arrive separately; its
/// service UUID filter would pass only the packet that carries the UUID and the name would never be seen
/// (MicrosoftDocs/winrt-api issue 1983), so every packet is passed on and the engine merges and filters them.
/// </summary>
public sealed class WinRtTransport : IBleTransport
{
    public string Name => "WinRT";

    public string Describe() => "WinRT BluetoothLEAdvertisementWatcher, active scanning, advertisement and scan response merged and filtered by BleOta";

    public async IAsyncEnumerable<BleAdvertisement> ScanAsync(ScanFilter filter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var found = Channel.CreateUnbounded<BleAdvertisement>();
        var watcher = new BluetoothLEAdvertisementWatcher { ScanningMode = BluetoothLEScanningMode.Active };
        watcher.Received += (_, e) => found.Writer.TryWrite(BleAdvertisement.FromPacket(FormatAddress(e.BluetoothAddress),
            e.Advertisement.LocalName, e.RawSignalStrengthInDBm, [.. e.Advertisement.ServiceUuids],
            e.IsScanResponse ? AdvertisingPdu.ScanResponse : (AdvertisingPdu)(int)e.AdvertisementType, e.IsScannable, this));
        watcher.Stopped += (_, e) => found.Writer.TryComplete(e.Error == BluetoothError.Success ? null : ScanStopped(e.Error));

        watcher.Start();
        try
        {
            while (true)
            {
                BleAdvertisement advertisement;
                try
                {
                    advertisement = await found.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    yield break;
                }
                catch (ChannelClosedException ex) when (ex.InnerException is BleTransportException stopped)
                {
                    throw stopped;
                }
                catch (ChannelClosedException)
                {
                    yield break;
                }

                yield return advertisement;
            }
        }
        finally
        {
            watcher.Stop();
        }
    }

    public async Task<IBleConnection> ConnectAsync(string address, CancellationToken cancellationToken)
    {
        ulong raw = ParseAddress(address);
        var device = await RetryPolicy.Connect.RunAsync(async (_, ct) =>
            await BluetoothLEDevice.FromBluetoothAddressAsync(raw).AsTask(ct).ConfigureAwait(false)
            ?? throw new BleTransportException($"Windows found no Bluetooth LE device at {address}. Check that it is powered and in range, and that Bluetooth is on.", failure: BleTransportFailure.DeviceNotFound),
            error => error is BleTransportException, TimeProvider.System, cancellationToken).ConfigureAwait(false);
        try
        {
            return await WinRtConnection.OpenAsync(device, address, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    /// <summary>"24:0A:C4:00:00:01" from the 48-bit address Windows uses.</summary>
    public static string FormatAddress(ulong address) =>
        string.Join(":", Enumerable.Range(0, 6).Select(i => ((address >> (8 * (5 - i))) & 0xFF).ToString("X2", CultureInfo.InvariantCulture)));

    public static ulong ParseAddress(string address)
    {
        string hex = address.Replace(":", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal);
        return hex.Length == 12 && ulong.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong value)
            ? value
            : throw new BleTransportException($"'{address}' is not a Bluetooth address; write it as six hex bytes, e.g. 24:0A:C4:00:00:01.");
    }

    private static BleTransportException ScanStopped(BluetoothError error) => new(error switch
    {
        BluetoothError.RadioNotAvailable => "The Bluetooth radio is off or missing. Turn Bluetooth on in Settings > Bluetooth & devices.",
        BluetoothError.DisabledByPolicy => "Bluetooth is disabled by policy on this machine; ask its administrator.",
        BluetoothError.DisabledByUser => "Bluetooth access is turned off for apps. Allow it in Settings > Privacy & security.",
        BluetoothError.ResourceInUse => "Another app holds the Bluetooth radio for scanning; close it and try again.",
        _ => $"Windows stopped the Bluetooth scan ({error}).",
    }, failure: BleTransportFailure.RadioUnavailable);
}
