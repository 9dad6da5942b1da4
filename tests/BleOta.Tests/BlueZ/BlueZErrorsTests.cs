using BleOta.Engine.Protocol;
using BleOta.Engine.Transport;
using BleOta.Transport.BlueZ;
using Tmds.DBus.Protocol;

namespace BleOta.Tests.BlueZ;

/// <summary>Every error reply bluetoothd words for a refused GATT call (src/gatt-client.c create_gatt_dbus_error) reads back as what the device meant.</summary>
public sealed class BlueZErrorsTests
{
    [Theory]
    [InlineData(0x05, OtaErrorCode.PairingRequired)] // NotPermitted "Not paired"
    [InlineData(0x0C, OtaErrorCode.PairingRequired)]
    [InlineData(0x0F, OtaErrorCode.PairingRequired)]
    [InlineData(0x0D, OtaErrorCode.TransportError)] // InvalidArguments "Invalid Length"
    [InlineData(0x82, OtaErrorCode.FlashFailed)] // Failed "Operation failed with ATT error: 0x82"
    [InlineData(0x84, OtaErrorCode.DeviceBusy)]
    [InlineData(0x85, OtaErrorCode.ImageRejected)]
    public void A_refused_gatt_call_reads_back_as_the_att_error_the_device_sent(byte attError, OtaErrorCode expected)
    {
        var (name, message) = FakeGattErrors.For(attError);

        var translated = BlueZErrors.Translate(new DBusErrorReplyException(name, message), "writing OTA Control");

        var att = Assert.IsType<BleAttException>(translated);
        Assert.Equal(expected, OtaAttError.ToException(att.AttError).Code);
        Assert.Contains(message, att.Message);
    }

    [Theory]
    [InlineData(0x07, 0x07)] // InvalidArguments "Invalid offset"
    [InlineData(0x08, 0x08)] // NotAuthorized
    [InlineData(0x0D, 0x0D)]
    [InlineData(0x02, 0x02)] // NotPermitted "Read not permitted"
    [InlineData(0x03, 0x03)]
    [InlineData(0x0E, 0x0E)]
    public void The_att_code_survives_bluetoothds_wording(byte attError, byte expected)
    {
        var (name, message) = FakeGattErrors.For(attError);

        var translated = Assert.IsType<BleAttException>(BlueZErrors.Translate(new DBusErrorReplyException(name, message), "writing"));

        Assert.Equal(expected, translated.AttError);
    }

    [Fact]
    public void Another_not_permitted_reply_is_not_taken_for_a_pairing_problem()
    {
        var translated = BlueZErrors.Translate(new DBusErrorReplyException("org.bluez.Error.NotPermitted", "Write acquired"), "writing");

        Assert.IsNotType<BleAttException>(translated);
        Assert.Contains("Write acquired", translated.Message);
    }

    [Theory]
    [InlineData("org.bluez.Error.Failed", "Not connected")] // a GATT call after the link dropped
    [InlineData("org.bluez.Error.DoesNotExist", "Does Not Exist")] // src/error.c btd_error_does_not_exist
    public void A_call_on_a_link_that_is_gone_is_a_resumable_link_loss(string name, string message)
    {
        Assert.IsType<BleLinkLostException>(BlueZErrors.Translate(new DBusErrorReplyException(name, message), "writing"));
    }

    [Fact]
    public void Losing_the_bus_is_a_resumable_link_loss_that_says_to_start_bluetooth()
    {
        var translated = Assert.IsType<BleLinkLostException>(BlueZErrors.Translate(new DBusConnectionClosedException("Connection closed by peer"), "writing"));

        Assert.Contains(BlueZErrors.NotRunningHint, translated.Message);
    }
}
