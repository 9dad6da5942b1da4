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
        Radio(string.Format(CultureInfo.InvariantCulture, PoweredOffHint, BlueZNames.AdapterName(adapterPath)));

    public static BleTransportException NoAdapter() => Radio(NoAdapterHint);

    /// <summary>A failure of the radio itself (adapter, bluetoothd, D-Bus), not of one device.</summary>
    public static BleTransportException Radio(string message, Exception? inner = null) => new(message, inner, BleTransportFailure.RadioUnavailable);

    /// <summary>The exception to throw for <paramref name="error"/>, raised while <paramref name="action"/> (e.g. "connecting to X").</summary>
    public static Exception Translate(Exception error, string action) => error switch
    {
        BleTransportException or OperationCanceledException => error,
        DBusErrorReplyException reply => FromReply(reply, action),
        DBusConnectFailedException => Radio(
            $"Cannot reach the D-Bus system bus while {action} ({error.Message}). BlueZ is reached through it: check that dbus is running; in a container, mount /run/dbus/system_bus_socket.", error),
        // Without the bus there is no link either (bluetoothd restarted, or dbus went away): resumable once it is back.
        DBusConnectionClosedException or DBusConnectionException => new BleLinkLostException(
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
                return Radio(NotRunningHint, reply);
            case "org.freedesktop.DBus.Error.AccessDenied":
                return Radio(PermissionHint, reply);
            case "org.bluez.Error.NotReady":
                return Radio($"The Bluetooth adapter is not ready while {action}. Turn it on with 'bluetoothctl power on'.", reply);
            case "org.bluez.Error.DoesNotExist":
            case "org.freedesktop.DBus.Error.UnknownObject":
                return new BleLinkLostException($"BlueZ no longer knows the device while {action}: it went out of range or was removed.", reply);
            case "org.bluez.Error.NotConnected":
                return new BleLinkLostException($"The device is not connected while {action}.", reply);
        }

        if (AttErrorReply(reply) is { } att)
        {
            return new BleAttException(att, $"The device refused {action} ({detail}).");
        }

        // gatt-client.c answers a GATT call on a device whose GATT client is gone (the link dropped) with this.
        return reply.ErrorName == "org.bluez.Error.Failed" && reply.ErrorMessage == "Not connected"
            ? new BleLinkLostException($"The link to the device is gone while {action} ({detail}).", reply)
            : new BleTransportException($"BlueZ failed {action} ({detail}).", reply);
    }

    /// <summary>
    /// The ATT error code behind a GATT call's error reply, as bluez src/gatt-client.c create_gatt_dbus_error
    /// words it: 0x05, 0x0C and 0x0F become NotPermitted "Not paired" (the exact code is lost; 0x0F stands for
    /// them), 0x02/0x03 NotPermitted "Read/Write not permitted", 0x07 and 0x0D InvalidArguments "Invalid offset"
    /// and "Invalid Length", 0x08 NotAuthorized, and every other code Failed "Operation failed with ATT error: 0x..".
    /// </summary>
    private static byte? AttErrorReply(DBusErrorReplyException reply) => (reply.ErrorName, reply.ErrorMessage) switch
    {
        ("org.bluez.Error.NotPermitted", "Not paired") => 0x0F,
        ("org.bluez.Error.NotPermitted", "Read not permitted") => 0x02,
        ("org.bluez.Error.NotPermitted", "Write not permitted") => 0x03,
        ("org.bluez.Error.InvalidArguments", "Invalid offset") => 0x07,
        ("org.bluez.Error.InvalidArguments", "Invalid Length") => 0x0D,
        ("org.bluez.Error.NotAuthorized", _) => 0x08,
        ("org.bluez.Error.Failed", var message) when AttError().Match(message) is { Success: true } att =>
            byte.Parse(att.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture),
        _ => null,
    };

    // src/gatt-client.c create_gatt_dbus_error: "Operation failed with ATT error: 0x%02x".
    [GeneratedRegex(@"^Operation failed with ATT error: 0x([0-9A-Fa-f]{2})$")]
    private static partial Regex AttError();
}
