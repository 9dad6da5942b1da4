using System.Text.RegularExpressions;

namespace BleOta.Engine.Transport;

/// <summary>What a Bluetooth device address looks like when written: six hex bytes, such as 24:0A:C4:12:34:56.</summary>
public static partial class BluetoothAddress
{
    public const string Example = "24:0A:C4:12:34:56";

    /// <summary>True for six hex bytes separated by colons or by dashes.</summary>
    public static bool IsValid(string? address) => address is not null && Pattern().IsMatch(address);

    [GeneratedRegex("^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\\1[0-9A-Fa-f]{2}){4}$")]
    private static partial Regex Pattern();
}
