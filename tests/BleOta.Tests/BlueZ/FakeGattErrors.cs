using Tmds.DBus.Protocol;

namespace BleOta.Tests.BlueZ;

/// <summary>
/// How bluetoothd answers a GATT call the peripheral refused: bluez src/gatt-client.c create_gatt_dbus_error
/// (present since 5.28), with the messages of src/error.c.
/// </summary>
internal static class FakeGattErrors
{
    /// <summary>The error name and message bluetoothd replies with for ATT error <paramref name="attError"/>.</summary>
    public static (string Name, string Message) For(byte attError) => attError switch
    {
        0x02 => ("org.bluez.Error.NotPermitted", "Read not permitted"),
        0x03 => ("org.bluez.Error.NotPermitted", "Write not permitted"),
        0x05 or 0x0C or 0x0F => ("org.bluez.Error.NotPermitted", "Not paired"), // authentication, key size, encryption
        0x07 => ("org.bluez.Error.InvalidArguments", "Invalid offset"),
        0x0D => ("org.bluez.Error.InvalidArguments", "Invalid Length"),
        0x08 => ("org.bluez.Error.NotAuthorized", "Operation Not Authorized"), // btd_error_not_authorized
        0x06 => ("org.bluez.Error.NotSupported", "Operation is not supported"), // btd_error_not_supported
        _ => ("org.bluez.Error.Failed", $"Operation failed with ATT error: 0x{attError:x2}"),
    };

    public static void Reply(MethodContext context, byte attError)
    {
        var (name, message) = For(attError);
        context.ReplyError(name, message);
    }
}
