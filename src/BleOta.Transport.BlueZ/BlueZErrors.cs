using System.Globalization;
using System.Text.RegularExpressions;
using BleOta.Engine.Transport;
using Tmds.DBus.Protocol;

namespace BleOta.Transport.BlueZ;

/// <summary>Turns D-Bus and BlueZ errors into messages that say what went wrong and what to do.</summary>
public static partial class BlueZErrors
{
    public const string NotRunningHint = "BlueZ (bluetoothd) is not running. Start it with 'sudo systemctl start bluetooth'.";
    public const string PermissionHint = "Access to BlueZ was denied by the D-Bus policy. Add your user to the bluetooth group ('sudo usermod -aG bluetooth $USER'), then log out and in again, or run as root.";
    public const string PoweredOffHint = "The Bluetooth adapter {0} is powered off. Turn it on with 'bluetoothctl power on' (and check 'rfkill list' for a blocked radio).";
    public const string NoAdapterHint = "No Bluetooth adapter found. Plug one in (Bluetooth 4.0 or later) and check 'bluetoothctl list'; in a VM or container, pass the adapter through.";

    public static BleTransportException PoweredOff(string adapterPath) =>
        new(string.Format(CultureInfo.InvariantCulture, PoweredOffHint, AdapterName(adapterPath)));

    public static BleTransportException NoAdapter() => new(NoAdapterHint);

    /// <summary>The exception to throw for <paramref name="error"/>, raised while <paramref name="action"/> (e.g. "connecting to X").</summary>
    public static Exception Translate(Exception error, string action) => error switch
    {
        BleTransportException or OperationCanceledException => error,
        DBusErrorReplyException reply => FromReply(reply, action),
        DBusConnectFailedException => new BleTransportException(
            $"Cannot reach the D-Bus system bus while {action} ({error.Message}). BlueZ is reached through it: check that dbus is running; in a container, mount /run/dbus/system_bus_socket.", error),
        DBusConnectionClosedException or DBusConnectionException => new BleTransportException(
            $"The D-Bus connection closed while {action} ({error.Message}). {NotRunningHint}", error),
        _ => error,
    };

    /// <summary>Connect failures a second attempt usually cures: the controller aborted the attempt or was busy.</summary>
    public static bool IsTransient(Exception error) =>
        error is DBusErrorReplyException reply
        && (reply.ErrorName == "org.bluez.Error.InProgress"
            || (reply.ErrorName == "org.bluez.Error.Failed"
                && (reply.ErrorMessage.Contains("abort", StringComparison.OrdinalIgnoreCase)
                    || reply.ErrorMessage.Contains("le-connection", StringComparison.OrdinalIgnoreCase))));

    private static Exception FromReply(DBusErrorReplyException reply, string action)
    {
        string detail = $"{reply.ErrorName}: {reply.ErrorMessage}";
        switch (reply.ErrorName)
        {
            case "org.freedesktop.DBus.Error.ServiceUnknown":
            case "org.freedesktop.DBus.Error.NameHasNoOwner":
                return new BleTransportException(NotRunningHint, reply);
            case "org.freedesktop.DBus.Error.AccessDenied":
                return new BleTransportException(PermissionHint, reply);
            case "org.bluez.Error.NotReady":
                return new BleTransportException($"The Bluetooth adapter is not ready while {action}. Turn it on with 'bluetoothctl power on'.", reply);
            case "org.bluez.Error.DoesNotExist":
            case "org.freedesktop.DBus.Error.UnknownObject":
                return new BleTransportException($"BlueZ no longer knows the device while {action}: it went out of range or was removed. Scan again with Find-Esp32Device.", reply);
            case "org.bluez.Error.NotConnected":
                return new BleTransportException($"The device is not connected while {action}.", reply);
        }

        if (AttError().Match(reply.ErrorMessage) is { Success: true } att)
        {
            byte code = byte.Parse(att.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            return new BleAttException(code, $"The device refused {action} with ATT error 0x{code:X2}.");
        }

        return new BleTransportException($"BlueZ failed {action} ({detail}).", reply);
    }

    private static string AdapterName(string adapterPath) => adapterPath[(adapterPath.LastIndexOf('/') + 1)..];

    // BlueZ's gatt-client reports an ATT error response as org.bluez.Error.Failed "Operation failed with ATT error: 0x80".
    [GeneratedRegex(@"ATT error: 0x([0-9A-Fa-f]{2})")]
    private static partial Regex AttError();
}
