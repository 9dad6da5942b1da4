// The protocol core against a recording fake port: every opcode path and
// every bad input, with exact ATT statuses and port calls.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "ble_ota_core.h"

namespace {

struct Notification {
    uint16_t conn;
    std::vector<uint8_t> data;
};

struct FakePort {
    std::vector<std::string> calls;
    std::vector<uint8_t> flash;
    std::vector<Notification> notes;
    std::vector<ble_ota_core_event_t> events;
    ble_ota_err_t begin_result = BLE_OTA_OK;
    ble_ota_err_t write_result = BLE_OTA_OK;
    ble_ota_err_t end_result = BLE_OTA_OK;
    uint32_t capacity = 64 * 1024;
    uint32_t now = 1000;
    uint32_t restart_delay = 0;
    int restarts = 0;
    int aborts = 0;

    static FakePort *Self(void *ctx) { return static_cast<FakePort *>(ctx); }

    static ble_ota_err_t Begin(void *ctx, uint32_t size, uint32_t *cap)
    {
        auto *p = Self(ctx);
        p->calls.push_back("begin(" + std::to_string(size) + ")");
        if (p->begin_result == BLE_OTA_OK) {
            p->flash.clear();
            *cap = p->capacity;
        }
        return p->begin_result;
    }
    static ble_ota_err_t Write(void *ctx, const uint8_t *d, size_t n)
    {
        auto *p = Self(ctx);
        p->calls.push_back("write(" + std::to_string(n) + ")");
        if (p->write_result != BLE_OTA_OK) {
            return p->write_result;
        }
        p->flash.insert(p->flash.end(), d, d + n);
        return BLE_OTA_OK;
    }
    static ble_ota_err_t End(void *ctx)
    {
        Self(ctx)->calls.push_back("end");
        return Self(ctx)->end_result;
    }
    static void Abort(void *ctx)
    {
        Self(ctx)->calls.push_back("abort");
        Self(ctx)->aborts++;
    }
    static ble_ota_err_t Notify(void *ctx, uint16_t conn, const uint8_t *d, size_t n)
    {
        Self(ctx)->calls.push_back("notify(" + std::to_string(d[0]) + ")");
        Self(ctx)->notes.push_back({conn, std::vector<uint8_t>(d, d + n)});
        return BLE_OTA_OK;
    }
    static void Restart(void *ctx, uint32_t delay)
    {
        Self(ctx)->calls.push_back("restart");
        Self(ctx)->restarts++;
        Self(ctx)->restart_delay = delay;
    }
    static uint32_t Now(void *ctx) { return Self(ctx)->now; }
    static void Event(void *ctx, const ble_ota_core_event_t *ev) { Self(ctx)->events.push_back(*ev); }
    ble_ota_device_info_t info{};
    ble_ota_err_t info_result = BLE_OTA_OK;
    static ble_ota_err_t DeviceInfo(void *ctx, ble_ota_device_info_t *out)
    {
        Self(ctx)->calls.push_back("device_info");
        *out = Self(ctx)->info;
        return Self(ctx)->info_result;
    }
};

const ble_ota_port_t kPort = {
    FakePort::Begin, FakePort::Write, FakePort::End, FakePort::Abort,
    FakePort::Notify, FakePort::Restart, FakePort::Now, FakePort::Event,
    FakePort::DeviceInfo,
};

constexpr uint16_t kConn = 1;
constexpr uint16_t kOther = 2;

class CoreTest : public ::testing::Test {
protected:
    FakePort port;
    ble_ota_core_t core;

    void SetUp() override
    {
        ble_ota_core_config_t cfg = ble_ota_core_config_default();
        cfg.progress_interval_ms = 0;
        ASSERT_EQ(ble_ota_core_init(&core, &cfg, &kPort, &port), BLE_OTA_OK);
        ble_ota_core_on_connect(&core, kConn, 247);
    }

    ble_ota_err_t Control(uint8_t op, uint16_t conn = kConn)
    {
        return ble_ota_core_on_control_write(&core, conn, &op, 1);
    }
    ble_ota_err_t Data(const std::vector<uint8_t> &d, uint16_t conn = kConn)
    {
        return ble_ota_core_on_data_write(&core, conn, d.data(), d.size());
    }
    ble_ota_err_t PacketSize(uint16_t n, uint16_t conn = kConn)
    {
        return Data({static_cast<uint8_t>(n), static_cast<uint8_t>(n >> 8)}, conn);
    }
    uint8_t ReadControl()
    {
        uint8_t v = 0xEE;
        size_t n = 0;
        EXPECT_EQ(ble_ota_core_on_control_read(&core, kConn, &v, 1, &n), BLE_OTA_OK);
        EXPECT_EQ(n, 1u);
        return v;
    }
    uint8_t LastNote() { return port.notes.empty() ? 0xEE : port.notes.back().data.at(0); }
    void StartUpdate(uint16_t packet = 100)
    {
        ASSERT_EQ(PacketSize(packet), BLE_OTA_OK);
        ASSERT_EQ(Control(BLE_OTA_OP_REQUEST), BLE_OTA_OK);
        ASSERT_EQ(LastNote(), BLE_OTA_OP_REQUEST_ACK);
        ASSERT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_RECEIVING);
    }
};

}  // namespace

TEST(CoreInit, RejectsMissingCallbacksAndBadLimits)
{
    FakePort port;
    ble_ota_core_t core;
    EXPECT_EQ(ble_ota_core_init(nullptr, nullptr, &kPort, &port), BLE_OTA_ERR_INVALID_ARG);
    EXPECT_EQ(ble_ota_core_init(&core, nullptr, nullptr, &port), BLE_OTA_ERR_INVALID_ARG);
    ble_ota_port_t p = kPort;
    p.flash_write = nullptr;
    EXPECT_EQ(ble_ota_core_init(&core, nullptr, &p, &port), BLE_OTA_ERR_INVALID_ARG);
    p = kPort;
    p.on_event = nullptr; // optional
    EXPECT_EQ(ble_ota_core_init(&core, nullptr, &p, &port), BLE_OTA_OK);
    ble_ota_core_config_t cfg = ble_ota_core_config_default();
    cfg.max_packet_size = 0;
    EXPECT_EQ(ble_ota_core_init(&core, &cfg, &kPort, &port), BLE_OTA_ERR_INVALID_ARG);
    cfg.max_packet_size = 513;
    EXPECT_EQ(ble_ota_core_init(&core, &cfg, &kPort, &port), BLE_OTA_ERR_INVALID_ARG);
}

TEST(CoreErrors, MapToAttStatuses)
{
    EXPECT_EQ(ble_ota_err_to_att(BLE_OTA_OK), 0x00);
    EXPECT_EQ(ble_ota_err_to_att(BLE_OTA_ERR_INVALID_LEN), 0x0D);
    EXPECT_EQ(ble_ota_err_to_att(BLE_OTA_ERR_VALUE_NOT_ALLOWED), 0x13);
    EXPECT_EQ(ble_ota_err_to_att(BLE_OTA_ERR_NO_MEM), 0x11);
    EXPECT_EQ(ble_ota_err_to_att(BLE_OTA_ERR_INVALID_STATE), 0x80);
    EXPECT_EQ(ble_ota_err_to_att(BLE_OTA_ERR_UNKNOWN_OPCODE), 0x81);
    EXPECT_EQ(ble_ota_err_to_att(BLE_OTA_ERR_FLASH), 0x82);
    EXPECT_EQ(ble_ota_err_to_att(BLE_OTA_ERR_IMAGE_TOO_LARGE), 0x83);
    EXPECT_EQ(ble_ota_err_to_att(BLE_OTA_ERR_BUSY), 0x84);
    EXPECT_EQ(ble_ota_err_to_att(BLE_OTA_ERR_IMAGE_INVALID), 0x85);
    EXPECT_EQ(ble_ota_err_to_att(BLE_OTA_ERR_INTERNAL), 0x0E);
    EXPECT_STREQ(ble_ota_err_name(BLE_OTA_ERR_FLASH), "BLE_OTA_ERR_FLASH");
}

TEST_F(CoreTest, StartsIdleAndControlReadsNop)
{
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);
    EXPECT_EQ(ReadControl(), BLE_OTA_OP_NOP);
    uint8_t buf[1];
    size_t n;
    EXPECT_EQ(ble_ota_core_on_control_read(&core, kConn, buf, 0, &n), BLE_OTA_ERR_INVALID_ARG);
}

TEST_F(CoreTest, NopIsAcceptedAndStored)
{
    EXPECT_EQ(Control(BLE_OTA_OP_NOP), BLE_OTA_OK);
    EXPECT_EQ(ReadControl(), BLE_OTA_OP_NOP);
    EXPECT_TRUE(port.calls.empty());
}

TEST_F(CoreTest, ControlWriteOfWrongLengthIsRejected)
{
    uint8_t two[2] = {1, 0};
    EXPECT_EQ(ble_ota_core_on_control_write(&core, kConn, two, 2), BLE_OTA_ERR_INVALID_LEN);
    EXPECT_EQ(ble_ota_core_on_control_write(&core, kConn, two, 0), BLE_OTA_ERR_INVALID_LEN);
    EXPECT_TRUE(port.calls.empty());
}

TEST_F(CoreTest, UnknownAndDeviceToClientOpcodesAreRejected)
{
    for (uint8_t op : {0x02, 0x03, 0x05, 0x06, 0x07, 0x42, 0xFF}) {
        EXPECT_EQ(Control(op), BLE_OTA_ERR_UNKNOWN_OPCODE) << int(op);
    }
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);
    EXPECT_TRUE(port.calls.empty());
}

TEST_F(CoreTest, PacketSizeWriteWhileIdleIsStored)
{
    EXPECT_EQ(ble_ota_core_packet_size(&core, kConn), 244); // MTU 247 - 3 by default
    EXPECT_EQ(PacketSize(180), BLE_OTA_OK);
    EXPECT_EQ(ble_ota_core_packet_size(&core, kConn), 180);
    EXPECT_TRUE(port.calls.empty()) << "the packet-size write touches no flash";
}

TEST_F(CoreTest, PacketSizeOutOfRangeIsRejected)
{
    EXPECT_EQ(PacketSize(0), BLE_OTA_ERR_VALUE_NOT_ALLOWED);
    EXPECT_EQ(PacketSize(513), BLE_OTA_ERR_VALUE_NOT_ALLOWED);
    EXPECT_EQ(PacketSize(514), BLE_OTA_ERR_VALUE_NOT_ALLOWED); // MTU 517 - 3 uncapped
    EXPECT_EQ(PacketSize(512), BLE_OTA_OK);
}

TEST_F(CoreTest, DefaultPacketSizeFollowsMtuCappedByBuffer)
{
    ble_ota_core_on_connect(&core, 5, 23);
    EXPECT_EQ(ble_ota_core_packet_size(&core, 5), 20);
    ble_ota_core_on_mtu(&core, 5, 517);
    EXPECT_EQ(ble_ota_core_packet_size(&core, 5), 512);
}

TEST_F(CoreTest, DataBeforeRequestIsRejected)
{
    for (size_t n : {size_t(1), size_t(3), size_t(20), size_t(512)}) {
        EXPECT_EQ(Data(std::vector<uint8_t>(n, 0xE9)), BLE_OTA_ERR_INVALID_STATE) << n;
    }
    EXPECT_TRUE(port.calls.empty());
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);
}

TEST_F(CoreTest, RequestBeginsFlashAndNotifiesAck)
{
    StartUpdate();
    EXPECT_EQ(port.calls, (std::vector<std::string>{"begin(0)", "notify(2)"}));
    EXPECT_EQ(port.notes.back().conn, kConn);
    EXPECT_EQ(ReadControl(), BLE_OTA_OP_REQUEST_ACK);
    EXPECT_EQ(ble_ota_core_owner(&core), kConn);
    ASSERT_FALSE(port.events.empty());
    EXPECT_EQ(port.events.back().type, BLE_OTA_CORE_EV_STARTED);
}

TEST_F(CoreTest, RequestFailureNotifiesNakAndStaysIdle)
{
    port.begin_result = BLE_OTA_ERR_NO_PARTITION;
    EXPECT_EQ(Control(BLE_OTA_OP_REQUEST), BLE_OTA_OK); // the write itself is fine
    EXPECT_EQ(LastNote(), BLE_OTA_OP_REQUEST_NAK);
    EXPECT_EQ(ReadControl(), BLE_OTA_OP_REQUEST_NAK);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);
    EXPECT_EQ(ble_ota_core_last_error(&core), BLE_OTA_ERR_NO_PARTITION);
    port.begin_result = BLE_OTA_OK;
    StartUpdate(); // and a later REQUEST works
}

TEST_F(CoreTest, SecondRequestFromOwnerRestartsCleanly)
{
    StartUpdate();
    ASSERT_EQ(Data({0xE9, 1, 2, 3}), BLE_OTA_OK);
    port.calls.clear();
    EXPECT_EQ(Control(BLE_OTA_OP_REQUEST), BLE_OTA_OK);
    EXPECT_EQ(port.calls, (std::vector<std::string>{"abort", "begin(0)", "notify(2)"}));
    EXPECT_EQ(ble_ota_core_bytes_received(&core), 0u);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_RECEIVING);
}

TEST_F(CoreTest, RequestFromAnotherCentralIsNakedWithoutTouchingTheUpdate)
{
    ble_ota_core_on_connect(&core, kOther, 185);
    StartUpdate();
    ASSERT_EQ(Data({0xE9, 1}), BLE_OTA_OK);
    port.calls.clear();
    EXPECT_EQ(Control(BLE_OTA_OP_REQUEST, kOther), BLE_OTA_OK);
    EXPECT_EQ(port.calls, (std::vector<std::string>{"notify(3)"}));
    EXPECT_EQ(port.notes.back().conn, kOther);
    EXPECT_EQ(ble_ota_core_owner(&core), kConn);
    EXPECT_EQ(ble_ota_core_bytes_received(&core), 2u);
    EXPECT_EQ(ReadControl(), BLE_OTA_OP_REQUEST_ACK);
}

TEST_F(CoreTest, DataFromAnotherCentralIsRefusedBusy)
{
    ble_ota_core_on_connect(&core, kOther, 185);
    StartUpdate();
    EXPECT_EQ(Data({0xE9, 1, 2}, kOther), BLE_OTA_ERR_BUSY);
    EXPECT_EQ(Control(BLE_OTA_OP_DONE, kOther), BLE_OTA_ERR_BUSY);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_RECEIVING);
    EXPECT_EQ(port.aborts, 0);
}

TEST_F(CoreTest, ShortLastPacketWritesExactlyItsLength)
{
    StartUpdate(100);
    std::vector<uint8_t> full(100, 0xAA), last(37, 0xBB);
    full[0] = 0xE9;
    ASSERT_EQ(Data(full), BLE_OTA_OK);
    ASSERT_EQ(Data(last), BLE_OTA_OK);
    EXPECT_EQ(port.flash.size(), 137u) << "the seed padded every packet to packet_size";
    EXPECT_EQ(port.calls.back(), "write(37)");
    EXPECT_EQ(ble_ota_core_bytes_received(&core), 137u);
}

TEST_F(CoreTest, TwoByteDataWhileReceivingIsImageData)
{
    StartUpdate(100);
    ASSERT_EQ(Data({0xE9, 0x01}), BLE_OTA_OK);
    EXPECT_EQ(port.flash, (std::vector<uint8_t>{0xE9, 0x01}));
}

TEST_F(CoreTest, PacketLargerThanNegotiatedAbortsTheUpdate)
{
    StartUpdate(100);
    EXPECT_EQ(Data(std::vector<uint8_t>(101, 0xE9)), BLE_OTA_ERR_INVALID_LEN);
    EXPECT_EQ(port.aborts, 1);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);
    EXPECT_EQ(ReadControl(), BLE_OTA_OP_DONE_NAK);
    EXPECT_EQ(Data(std::vector<uint8_t>(50, 0)), BLE_OTA_ERR_INVALID_STATE) << "no silent gap";
}

TEST_F(CoreTest, EmptyDataWriteIsRejectedButHarmless)
{
    StartUpdate();
    EXPECT_EQ(ble_ota_core_on_data_write(&core, kConn, nullptr, 0), BLE_OTA_ERR_INVALID_LEN);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_RECEIVING);
    EXPECT_EQ(port.aborts, 0);
}

TEST_F(CoreTest, ImageLargerThanPartitionIsDroppedAndDoneNaks)
{
    port.capacity = 250;
    StartUpdate(100);
    std::vector<uint8_t> p(100, 0xE9);
    ASSERT_EQ(Data(p), BLE_OTA_OK);
    ASSERT_EQ(Data(p), BLE_OTA_OK);
    EXPECT_EQ(Data(p), BLE_OTA_OK) << "the tutorial's client stops at the first ATT error";
    EXPECT_EQ(port.flash.size(), 200u) << "the overflowing packet is never written";
    EXPECT_EQ(port.aborts, 1) << "the slot is released at once";
    EXPECT_EQ(ble_ota_core_last_error(&core), BLE_OTA_ERR_IMAGE_TOO_LARGE);
    EXPECT_EQ(Data(p), BLE_OTA_OK);
    EXPECT_EQ(port.flash.size(), 200u) << "the rest is dropped";
    port.calls.clear();
    EXPECT_EQ(Control(BLE_OTA_OP_DONE), BLE_OTA_OK);
    EXPECT_EQ(port.calls, (std::vector<std::string>{"notify(6)"})) << "no flash_end, no second abort";
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);
    EXPECT_EQ(ble_ota_core_last_error(&core), BLE_OTA_ERR_IMAGE_TOO_LARGE);
    EXPECT_EQ(port.restarts, 0);
}

TEST_F(CoreTest, ImageExactlyFillingThePartitionIsAccepted)
{
    port.capacity = 200;
    StartUpdate(100);
    std::vector<uint8_t> p(100, 0xE9);
    EXPECT_EQ(Data(p), BLE_OTA_OK);
    EXPECT_EQ(Data(p), BLE_OTA_OK);
}

TEST_F(CoreTest, FlashWriteFailureAbortsCleanly)
{
    StartUpdate();
    ASSERT_EQ(Data({0xE9, 0, 0, 0}), BLE_OTA_OK);
    port.write_result = BLE_OTA_ERR_FLASH;
    EXPECT_EQ(Data({1, 2, 3, 4}), BLE_OTA_ERR_FLASH);
    EXPECT_EQ(port.calls.back(), "abort");
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);
    EXPECT_EQ(ble_ota_core_last_error(&core), BLE_OTA_ERR_FLASH);
    EXPECT_EQ(Control(BLE_OTA_OP_DONE), BLE_OTA_ERR_INVALID_STATE) << "a holed image can never be finished";
    port.write_result = BLE_OTA_OK;
    StartUpdate(); // a new REQUEST starts clean
    EXPECT_EQ(ble_ota_core_bytes_received(&core), 0u);
}

TEST_F(CoreTest, BadFirstBytesReportedByThePortEndInDoneNak)
{
    StartUpdate();
    port.write_result = BLE_OTA_ERR_IMAGE_INVALID;
    EXPECT_EQ(Data({0x00, 1, 2}), BLE_OTA_OK) << "refused images end in DONE_NAK, not an ATT error";
    EXPECT_EQ(port.aborts, 1);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_RECEIVING);
    ASSERT_EQ(port.events.back().type, BLE_OTA_CORE_EV_FINISHED);
    EXPECT_EQ(port.events.back().result, BLE_OTA_ERR_IMAGE_INVALID);
    port.calls.clear();
    EXPECT_EQ(Data({0xE9, 1, 2}), BLE_OTA_OK);
    EXPECT_TRUE(port.calls.empty()) << "dropped, never written";
    EXPECT_EQ(Control(BLE_OTA_OP_DONE), BLE_OTA_OK);
    EXPECT_EQ(LastNote(), BLE_OTA_OP_DONE_NAK);
    EXPECT_EQ(ReadControl(), BLE_OTA_OP_DONE_NAK);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);
    EXPECT_EQ(ble_ota_core_last_error(&core), BLE_OTA_ERR_IMAGE_INVALID);
    EXPECT_EQ(port.aborts, 1);
    EXPECT_EQ(std::count_if(port.events.begin(), port.events.end(),
                            [](const ble_ota_core_event_t &e) { return e.type == BLE_OTA_CORE_EV_FINISHED; }),
              1) << "the app hears of the failure once";
}

TEST_F(CoreTest, ARefusedImageIsDroppedByLengthAlone)
{
    StartUpdate(100);
    port.write_result = BLE_OTA_ERR_IMAGE_INVALID;
    ASSERT_EQ(Data({0x00, 1, 2}), BLE_OTA_OK);
    EXPECT_EQ(ble_ota_core_data_buffer_needed(&core), 0u) << "the port need not flatten what is dropped";
    EXPECT_EQ(ble_ota_core_on_data_write(&core, kConn, nullptr, 100), BLE_OTA_OK);
    EXPECT_EQ(ble_ota_core_on_data_write(&core, kConn, nullptr, 101), BLE_OTA_ERR_INVALID_LEN)
        << "a packet longer than announced is still a broken client";
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);
    EXPECT_EQ(port.aborts, 1) << "the slot was released once";
}

TEST_F(CoreTest, AfterARefusedImageTheDeviceIsFreeAgain)
{
    StartUpdate();
    port.write_result = BLE_OTA_ERR_IMAGE_INVALID;
    ASSERT_EQ(Data({0x00, 1, 2}), BLE_OTA_OK);
    ble_ota_core_on_disconnect(&core, kConn);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);
    EXPECT_EQ(port.aborts, 1);
    ble_ota_core_on_connect(&core, kConn, 247);
    port.write_result = BLE_OTA_OK;
    StartUpdate();
    ASSERT_EQ(Data({0x00, 1, 2}), BLE_OTA_OK);
    port.write_result = BLE_OTA_ERR_IMAGE_INVALID;
    ASSERT_EQ(Data({0x00, 1, 2}), BLE_OTA_OK);
    StartUpdate(); // the same central asks again: a clean start
    port.write_result = BLE_OTA_OK;
    EXPECT_EQ(Data({0xE9, 1, 2}), BLE_OTA_OK);
    EXPECT_EQ(port.flash, (std::vector<uint8_t>{0xE9, 1, 2}));
    EXPECT_EQ(Control(BLE_OTA_OP_DONE), BLE_OTA_OK);
    EXPECT_EQ(LastNote(), BLE_OTA_OP_DONE_ACK);
}

TEST_F(CoreTest, DoneWhileIdleIsRejected)
{
    EXPECT_EQ(Control(BLE_OTA_OP_DONE), BLE_OTA_ERR_INVALID_STATE);
    EXPECT_TRUE(port.calls.empty());
}

TEST_F(CoreTest, DoneBeforeAnyDataNaksAndAborts)
{
    StartUpdate();
    port.calls.clear();
    EXPECT_EQ(Control(BLE_OTA_OP_DONE), BLE_OTA_OK);
    EXPECT_EQ(port.calls, (std::vector<std::string>{"abort", "notify(6)"}));
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);
    EXPECT_EQ(ble_ota_core_last_error(&core), BLE_OTA_ERR_NO_DATA);
    EXPECT_EQ(ReadControl(), BLE_OTA_OP_DONE_NAK);
}

TEST_F(CoreTest, DoneWithValidImageAcksThenSchedulesRestart)
{
    StartUpdate();
    ASSERT_EQ(Data({0xE9, 1, 2, 3}), BLE_OTA_OK);
    port.calls.clear();
    EXPECT_EQ(Control(BLE_OTA_OP_DONE), BLE_OTA_OK);
    EXPECT_EQ(port.calls, (std::vector<std::string>{"end", "notify(5)", "restart"}))
        << "DONE_ACK must be queued before the restart is scheduled";
    EXPECT_EQ(port.restart_delay, 500u);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_RESTARTING);
    EXPECT_EQ(ReadControl(), BLE_OTA_OP_DONE_ACK);
    EXPECT_EQ(port.events.back().type, BLE_OTA_CORE_EV_FINISHED);
    EXPECT_EQ(port.events.back().result, BLE_OTA_OK);
}

TEST_F(CoreTest, EverythingIsRefusedWhileRestarting)
{
    StartUpdate();
    ASSERT_EQ(Data({0xE9, 1, 2, 3}), BLE_OTA_OK);
    ASSERT_EQ(Control(BLE_OTA_OP_DONE), BLE_OTA_OK);
    port.calls.clear();
    EXPECT_EQ(Control(BLE_OTA_OP_REQUEST), BLE_OTA_ERR_INVALID_STATE);
    EXPECT_EQ(Control(BLE_OTA_OP_DONE), BLE_OTA_ERR_INVALID_STATE);
    EXPECT_EQ(Data({1, 2}), BLE_OTA_ERR_INVALID_STATE);
    EXPECT_EQ(Data({1, 2, 3}), BLE_OTA_ERR_INVALID_STATE);
    ble_ota_core_on_disconnect(&core, kConn);
    EXPECT_TRUE(port.calls.empty()) << "disconnect after DONE_ACK must not undo the update";
}

TEST_F(CoreTest, DoneWithInvalidImageNaksWithoutAbortAfterEnd)
{
    StartUpdate();
    ASSERT_EQ(Data({0xE9, 1, 2, 3}), BLE_OTA_OK);
    port.end_result = BLE_OTA_ERR_IMAGE_INVALID;
    port.calls.clear();
    EXPECT_EQ(Control(BLE_OTA_OP_DONE), BLE_OTA_OK);
    EXPECT_EQ(port.calls, (std::vector<std::string>{"end", "notify(6)"}));
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);
    EXPECT_EQ(ble_ota_core_last_error(&core), BLE_OTA_ERR_IMAGE_INVALID);
    EXPECT_EQ(port.restarts, 0);
    port.end_result = BLE_OTA_OK;
    StartUpdate();
}

TEST_F(CoreTest, DisconnectWhileIdleChangesNothing)
{
    ASSERT_EQ(PacketSize(64), BLE_OTA_OK);
    ble_ota_core_on_disconnect(&core, kConn);
    EXPECT_TRUE(port.calls.empty());
    ble_ota_core_on_connect(&core, kConn, 185);
    EXPECT_EQ(ble_ota_core_packet_size(&core, kConn), 182) << "new connection, new packet size";
}

TEST_F(CoreTest, DisconnectAfterRequestAborts)
{
    StartUpdate();
    ble_ota_core_on_disconnect(&core, kConn);
    EXPECT_EQ(port.aborts, 1);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);
    EXPECT_EQ(ble_ota_core_last_error(&core), BLE_OTA_ERR_DISCONNECTED);
    EXPECT_EQ(port.events.back().type, BLE_OTA_CORE_EV_FINISHED);
    EXPECT_EQ(port.events.back().result, BLE_OTA_ERR_DISCONNECTED);
}

TEST_F(CoreTest, DisconnectMidDataAbortsAndNewRequestStartsClean)
{
    StartUpdate();
    ASSERT_EQ(Data({0xE9, 1, 2, 3}), BLE_OTA_OK);
    ble_ota_core_on_disconnect(&core, kConn);
    EXPECT_EQ(port.aborts, 1);
    ble_ota_core_on_connect(&core, kConn, 247);
    EXPECT_EQ(ReadControl(), BLE_OTA_OP_NOP);
    StartUpdate();
    EXPECT_EQ(ble_ota_core_bytes_received(&core), 0u);
}

TEST_F(CoreTest, DisconnectOfAnotherCentralDoesNotAbort)
{
    ble_ota_core_on_connect(&core, kOther, 23);
    StartUpdate();
    ble_ota_core_on_disconnect(&core, kOther);
    EXPECT_EQ(port.aborts, 0);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_RECEIVING);
}

TEST_F(CoreTest, ProgressEventsAreRateLimited)
{
    ble_ota_core_config_t cfg = ble_ota_core_config_default();
    cfg.progress_interval_ms = 100;
    ASSERT_EQ(ble_ota_core_init(&core, &cfg, &kPort, &port), BLE_OTA_OK);
    StartUpdate(10);
    port.events.clear();
    std::vector<uint8_t> p(10, 0xE9);
    for (int i = 0; i < 10; i++) {
        ASSERT_EQ(Data(p), BLE_OTA_OK);
        port.now += 30;
    }
    // t = 0,30,...,270 after start: events at 120 and 240
    ASSERT_EQ(port.events.size(), 2u);
    EXPECT_EQ(port.events[0].type, BLE_OTA_CORE_EV_PROGRESS);
    EXPECT_EQ(port.events[0].bytes, 50u);
    EXPECT_EQ(port.events[1].bytes, 90u);
    EXPECT_EQ(port.events[1].capacity, port.capacity);
}

TEST_F(CoreTest, ConnectionTableFullIsReportedNotCrashed)
{
    for (uint16_t c = 10; c < 10 + BLE_OTA_CORE_MAX_CONNS; c++) {
        ble_ota_core_on_connect(&core, c, 23);
    }
    uint8_t two[2] = {20, 0};
    EXPECT_EQ(ble_ota_core_on_data_write(&core, 99, two, 2), BLE_OTA_ERR_NO_MEM);
    uint8_t req = BLE_OTA_OP_REQUEST;
    EXPECT_EQ(ble_ota_core_on_control_write(&core, 99, &req, 1), BLE_OTA_OK);
    EXPECT_EQ(LastNote(), BLE_OTA_OP_REQUEST_NAK);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);
}

TEST_F(CoreTest, DeinitAbortsARunningUpdate)
{
    StartUpdate();
    ble_ota_core_deinit(&core);
    EXPECT_EQ(port.aborts, 1);
}

// The IDF port checks the length before flattening and passes data = NULL for
// a write it cannot buffer: the core must decide on the length alone.
TEST_F(CoreTest, TooLongToBufferIsDecidedOnLengthAlone)
{
    EXPECT_EQ(ble_ota_core_data_buffer_needed(&core), 2u);
    EXPECT_EQ(ble_ota_core_on_data_write(&core, kConn, nullptr, 300), BLE_OTA_ERR_INVALID_STATE);
    EXPECT_EQ(ble_ota_core_on_control_write(&core, kConn, nullptr, 5), BLE_OTA_ERR_INVALID_LEN);
    StartUpdate(100);
    EXPECT_EQ(ble_ota_core_data_buffer_needed(&core), 100u);
    ble_ota_core_on_connect(&core, kOther, 247);
    EXPECT_EQ(ble_ota_core_on_data_write(&core, kOther, nullptr, 200), BLE_OTA_ERR_BUSY);
    EXPECT_EQ(ble_ota_core_on_data_write(&core, kConn, nullptr, 200), BLE_OTA_ERR_INVALID_LEN);
    EXPECT_EQ(port.aborts, 1);
    EXPECT_TRUE(port.flash.empty());
}

// ---- Info ------------------------------------------------------------------

namespace {

void CopyStr(char (&dst)[BLE_OTA_INFO_STR_LEN + 1], const std::string &src)
{
    std::memset(dst, 0, sizeof(dst));
    std::memcpy(dst, src.data(), std::min(src.size(), sizeof(dst)));
}

}  // namespace

TEST_F(CoreTest, InfoValueIsByteExact)
{
    port.info.chip_id = 0x0009;
    port.info.slot_size = 0x1E0000;
    CopyStr(port.info.version, "1.4.2");
    CopyStr(port.info.project_name, "demo");
    CopyStr(port.info.idf_version, "v5.3.2");
    port.info.image_len = 4096;
    for (size_t i = 0; i < 32; i++) {
        port.info.image_sha256[i] = static_cast<uint8_t>(0xC0 + i);
    }
    uint8_t out[BLE_OTA_INFO_LEN + 8];
    std::memset(out, 0xAA, sizeof(out));
    size_t n = 0;
    ASSERT_EQ(ble_ota_core_on_info_read(&core, kConn, out, sizeof(out), &n), BLE_OTA_OK);
    ASSERT_EQ(n, 144u);
    std::vector<uint8_t> expect(144, 0);
    expect[0] = 1;                     // format
    expect[1] = 1;                     // highest protocol
    expect[2] = 0x09; expect[3] = 0x00;  // chip id S3
    expect[4] = 0x00; expect[5] = 0x00; expect[6] = 0x1E; expect[7] = 0x00;  // slot size
    expect[8] = 0x00; expect[9] = 0x02;  // max packet 512
    expect[10] = 0x01; expect[11] = 0x00;  // window 1
    // features [12..15] = 0
    std::memcpy(&expect[16], "1.4.2", 5);
    std::memcpy(&expect[48], "demo", 4);
    std::memcpy(&expect[80], "v5.3.2", 6);
    for (size_t i = 0; i < 32; i++) {
        expect[112 + i] = static_cast<uint8_t>(0xC0 + i);  // SHA-256 of the running image
    }
    EXPECT_EQ(std::vector<uint8_t>(out, out + 144), expect);
    EXPECT_EQ(out[144], 0xAA) << "nothing written past the value";
}

TEST_F(CoreTest, InfoStringsAreCutTo31CharactersSoEveryFieldKeepsANul)
{
    const std::string v32(32, 'v');
    CopyStr(port.info.version, v32);          // 32 characters, as esp_app_desc_t.version allows
    CopyStr(port.info.project_name, std::string(31, 'p'));
    CopyStr(port.info.idf_version, "");
    uint8_t out[BLE_OTA_INFO_LEN];
    size_t n = 0;
    ASSERT_EQ(ble_ota_core_on_info_read(&core, kConn, out, sizeof(out), &n), BLE_OTA_OK);
    EXPECT_EQ(std::string(reinterpret_cast<char *>(out + 16)), std::string(31, 'v'));
    EXPECT_EQ(out[47], 0);
    EXPECT_EQ(std::string(reinterpret_cast<char *>(out + 48)), std::string(31, 'p'));
    EXPECT_EQ(out[79], 0);
    for (size_t i = 80; i < 112; i++) {
        EXPECT_EQ(out[i], 0) << i;
    }
}

TEST_F(CoreTest, InfoReportsTheConfiguredMaxPacketAndIgnoresState)
{
    ble_ota_core_config_t cfg = ble_ota_core_config_default();
    cfg.max_packet_size = 200;
    ASSERT_EQ(ble_ota_core_init(&core, &cfg, &kPort, &port), BLE_OTA_OK);
    ble_ota_core_on_connect(&core, kConn, 247);
    uint8_t op = BLE_OTA_OP_REQUEST;
    ASSERT_EQ(ble_ota_core_on_control_write(&core, kConn, &op, 1), BLE_OTA_OK);
    uint8_t out[BLE_OTA_INFO_LEN];
    size_t n = 0;
    ASSERT_EQ(ble_ota_core_on_info_read(&core, kOther, out, sizeof(out), &n), BLE_OTA_OK);
    EXPECT_EQ(out[8] | (out[9] << 8), 200);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_RECEIVING) << "a read changes nothing";
    EXPECT_EQ(ble_ota_core_owner(&core), kConn);
}

TEST_F(CoreTest, InfoReadErrors)
{
    uint8_t out[BLE_OTA_INFO_LEN];
    size_t n = 0;
    EXPECT_EQ(ble_ota_core_on_info_read(&core, kConn, out, BLE_OTA_INFO_LEN - 1, &n), BLE_OTA_ERR_INVALID_ARG);
    EXPECT_EQ(ble_ota_core_on_info_read(&core, kConn, nullptr, sizeof(out), &n), BLE_OTA_ERR_INVALID_ARG);
    port.info_result = BLE_OTA_ERR_INTERNAL;
    EXPECT_EQ(ble_ota_core_on_info_read(&core, kConn, out, sizeof(out), &n), BLE_OTA_ERR_INTERNAL);
    EXPECT_EQ(ble_ota_err_to_att(BLE_OTA_ERR_INTERNAL), BLE_OTA_ATT_ERR_UNLIKELY);

    ble_ota_port_t no_info = kPort;
    no_info.device_info = nullptr;
    ble_ota_core_t c2;
    ASSERT_EQ(ble_ota_core_init(&c2, nullptr, &no_info, &port), BLE_OTA_OK) << "device_info is optional";
    EXPECT_EQ(ble_ota_core_on_info_read(&c2, kConn, out, sizeof(out), &n), BLE_OTA_ERR_INTERNAL);
}
