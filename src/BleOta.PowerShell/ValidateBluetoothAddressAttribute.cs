using System.Management.Automation;
using BleOta.Engine.Transport;

namespace BleOta;

/// <summary>
/// Refuses an address that is not six hex bytes when the parameter is bound, so a typo fails at once with what to
/// write instead, before any radio is asked for a device that cannot exist.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateBluetoothAddressAttribute : ValidateEnumeratedArgumentsAttribute
{
    protected override void ValidateElement(object element)
    {
        if (!BluetoothAddress.IsValid(element as string))
        {
            throw new ValidationMetadataException(
                $"'{element}' is not a Bluetooth address. Write six hex bytes separated by colons, such as {BluetoothAddress.Example}; Find-Esp32Device lists the devices in range with their addresses.");
        }
    }
}
