// Protocol v2 in the core against a fake port with a recording receive
// stream: every v2 message, bad input, gaps, duplicates, a full ring, abort,
// SHA-256 and size checks, disconnect and resume. Expected notifications are
// the byte-exact lines of docs/protocol-vectors.txt where one exists.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "ble_ota_core.h"
#include "bo_sha256.h"
#include "protocol_vectors.hpp"

using bo_test::Vector;

namespace {

using Bytes = std::vector<uint8_t>;

struct V2Port {
    std::vector<std::string> calls;
    std::vector<Bytes> notes;
    Bytes pushed;                    // stream bytes taken, in order
    bool begin_compressed = false;
    uint32_t begin_size = 0;
    ble_ota_err_t begin_result = BLE_OTA_OK;
    ble_ota_err_t push_result = BLE_OTA_OK;
    uint32_t room = UINT32_MAX;      // what stream_room reports (ports that have it)
    ble_ota_err_t finish_result = BLE_OTA_OK;
    ble_ota_err_t end_result = BLE_OTA_OK;
    int aborts = 0;
    int restarts = 0;

    static V2Port *Self(void *ctx) { return static_cast<V2Port *>(ctx); }
    static ble_ota_err_t Begin(void *, uint32_t, uint32_t *) { return BLE_OTA_ERR_INTERNAL; }
    static ble_ota_err_t Write(void *, const uint8_t *, size_t) { return BLE_OTA_ERR_INTERNAL; }
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
    static ble_ota_err_t Notify(void *ctx, uint16_t, const uint8_t *d, size_t n)
    {
        Self(ctx)->notes.emplace_back(d, d + n);
        return BLE_OTA_OK;
    }
    static void Restart(void *ctx, uint32_t) { Self(ctx)->restarts++; }
    static uint32_t Now(void *) { return 0; }
    // The running image a delta REQUEST must name: 4096 bytes whose SHA-256 is 20 21 .. 3f.
    static ble_ota_err_t Info(void *, ble_ota_device_info_t *out)
    {
        out->image_len = 4096;
        for (uint8_t i = 0; i < 32; i++) {
            out->image_sha256[i] = static_cast<uint8_t>(0x20 + i);
        }
        return BLE_OTA_OK;
    }
    static ble_ota_err_t BaseRead(void *, uint32_t, uint8_t *, size_t) { return BLE_OTA_OK; }
    static ble_ota_err_t StreamBegin(void *ctx, uint32_t size, ble_ota_stream_encoding_t encoding, uint32_t *cap)
    {
        auto *p = Self(ctx);
        bool compressed = encoding == BLE_OTA_STREAM_DEFLATE;
        p->calls.push_back("stream_begin(" + std::to_string(size) +
                           (compressed ? ",deflate)" : encoding == BLE_OTA_STREAM_DELTA ? ",delta)" : ")"));
        p->begin_size = size;
        p->begin_compressed = compressed;
        p->pushed.clear();
        *cap = 1u << 20;
        return p->begin_result;
    }
    static ble_ota_err_t StreamPush(void *ctx, const uint8_t *d, size_t n)
    {
        auto *p = Self(ctx);
        if (p->push_result == BLE_OTA_OK) {
            p->pushed.insert(p->pushed.end(), d, d + n);
        }
        return p->push_result;
    }
    static uint32_t Room(void *ctx) { return Self(ctx)->room; }
    // A raw stream: the image is what was pushed.
    static ble_ota_err_t StreamFinish(void *ctx, uint8_t sha[32], uint32_t *len)
    {
        auto *p = Self(ctx);
        p->calls.push_back("stream_finish");
        bo_sha256(p->pushed.data(), p->pushed.size(), sha);
        *len = static_cast<uint32_t>(p->pushed.size());
        return p->finish_result;
    }
};

const ble_ota_port_t kV2Port = {
    V2Port::Begin, V2Port::Write, V2Port::End, V2Port::Abort, V2Port::Notify, V2Port::Restart,
    V2Port::Now, nullptr, V2Port::Info, V2Port::StreamBegin, V2Port::StreamPush, V2Port::StreamFinish,
    nullptr, // base_read: no delta
    nullptr, // stream_room: a port without it never holds an acknowledgement
};

constexpr uint16_t kConn = 1;
constexpr uint16_t kOther = 2;
constexpr uint16_t kMtu = 247;                   // packet 244 = offset + 240 payload
constexpr uint32_t kPayload = kMtu - 3 - 4;

void Put32(Bytes &b, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        b[at + i] = static_cast<uint8_t>(v >> (8 * i));
    }
}

Bytes Notification(uint8_t op, uint8_t err, uint16_t window, uint32_t offset)
{
    Bytes b(8);
    b[0] = op;
    b[1] = err;
    b[2] = static_cast<uint8_t>(window);
    b[3] = static_cast<uint8_t>(window >> 8);
    Put32(b, 4, offset);
    return b;
}

Bytes Request(const Bytes &image, uint8_t flags = 0, uint32_t stream_size = 0)
{
    Bytes r(BLE_OTA_V2_REQUEST_LEN, 0);
    r[0] = BLE_OTA_OP_REQUEST;
    r[1] = BLE_OTA_V2;
    r[2] = flags;
    Put32(r, 3, static_cast<uint32_t>(image.size()));
    Put32(r, 7, stream_size != 0 ? stream_size : static_cast<uint32_t>(image.size()));
    bo_sha256(image.data(), image.size(), &r[11]);
    return r;
}

Bytes Image(size_t n)
{
    Bytes b(n);
    for (size_t i = 0; i < n; i++) {
        b[i] = static_cast<uint8_t>(i * 7 + 3);
    }
    return b;
}

// The same port telling the core how much its ring takes (port/ble_ota_stream.c does).
ble_ota_port_t WithRoom()
{
    ble_ota_port_t p = kV2Port;
    p.stream_room = V2Port::Room;
    return p;
}

const ble_ota_port_t kV2PortWithRoom = WithRoom();

class CoreV2 : public ::testing::Test {
protected:
    V2Port port;
    ble_ota_core_t core;
    Bytes image = Image(5000);

    void SetUp() override { Init(false); }

    void Init(bool compression, uint16_t window = 16, const ble_ota_port_t *table = &kV2Port)
    {
        ble_ota_core_config_t cfg = ble_ota_core_config_default();
        cfg.window = window;
        cfg.compression = compression;
        ASSERT_EQ(ble_ota_core_init(&core, &cfg, table, &port), BLE_OTA_OK);
        ble_ota_core_on_connect(&core, kConn, kMtu);
        ble_ota_core_on_connect(&core, kOther, kMtu);
    }
    ble_ota_err_t Control(const Bytes &m, uint16_t conn = kConn)
    {
        return ble_ota_core_on_control_write(&core, conn, m.data(), m.size());
    }
    // The packet at stream offset `offset` of `stream`.
    ble_ota_err_t Packet(uint32_t offset, const Bytes &stream, uint16_t conn = kConn)
    {
        uint32_t n = std::min<uint32_t>(kPayload, static_cast<uint32_t>(stream.size()) - offset);
        Bytes p(4 + n);
        Put32(p, 0, offset);
        std::memcpy(&p[4], &stream[offset], n);
        return ble_ota_core_on_data_write(&core, conn, p.data(), p.size());
    }
    void SendFrom(uint32_t offset, const Bytes &stream)
    {
        for (; offset < stream.size(); offset += kPayload) {
            ASSERT_EQ(Packet(offset, stream), BLE_OTA_OK);
        }
    }
    void Start()
    {
        ASSERT_EQ(Control(Request(image)), BLE_OTA_OK);
        ASSERT_EQ(port.notes.back(), Notification(BLE_OTA_OP_REQUEST_ACK, 0, 16, 0));
        port.notes.clear();
    }
    std::vector<Bytes> TakeNotes()
    {
        auto n = port.notes;
        port.notes.clear();
        return n;
    }
};

TEST(CoreV2Init, AllThreeStreamHooksOrNoneAndAWindowOf1To255)
{
    V2Port p;
    ble_ota_core_t c;
    ble_ota_port_t partial = kV2Port;
    partial.stream_finish = nullptr;
    EXPECT_EQ(ble_ota_core_init(&c, nullptr, &partial, &p), BLE_OTA_ERR_INVALID_ARG);
    ble_ota_core_config_t cfg = ble_ota_core_config_default();
    cfg.window = 0;
    EXPECT_EQ(ble_ota_core_init(&c, &cfg, &kV2Port, &p), BLE_OTA_ERR_INVALID_ARG);
    cfg.window = 256;
    EXPECT_EQ(ble_ota_core_init(&c, &cfg, &kV2Port, &p), BLE_OTA_ERR_INVALID_ARG);
    cfg.window = 255;
    EXPECT_EQ(ble_ota_core_init(&c, &cfg, &kV2Port, &p), BLE_OTA_OK);
}

TEST_F(CoreV2, InfoOffersProtocol2WithWindowAndFeatures)
{
    uint8_t out[BLE_OTA_INFO_LEN];
    size_t n = 0;
    ASSERT_EQ(ble_ota_core_on_info_read(&core, kConn, out, sizeof(out), &n), BLE_OTA_OK);
    EXPECT_EQ(out[BLE_OTA_INFO_OFF_PROTOCOL], 2);
    EXPECT_EQ(out[BLE_OTA_INFO_OFF_WINDOW], 16);
    EXPECT_EQ(out[BLE_OTA_INFO_OFF_FEATURES], BLE_OTA_INFO_FEATURE_RESUME) << "compression off by default";
    Init(true, 8);
    ASSERT_EQ(ble_ota_core_on_info_read(&core, kConn, out, sizeof(out), &n), BLE_OTA_OK);
    EXPECT_EQ(out[BLE_OTA_INFO_OFF_WINDOW], 8);
    EXPECT_EQ(out[BLE_OTA_INFO_OFF_FEATURES], BLE_OTA_INFO_FEATURE_RESUME | BLE_OTA_INFO_FEATURE_DEFLATE_8K)
        << "bit 4, never bit 0: a client that knows only bit 0 would send streams reaching 32 KB back";
}

TEST_F(CoreV2, RequestVectorsDecodeToSizesAndFlags)
{
    Init(true);
    ASSERT_EQ(Control(Vector("request.raw")), BLE_OTA_OK);
    EXPECT_EQ(port.calls.back(), "stream_begin(74565)");
    EXPECT_EQ(port.notes.back(), Vector("request_ack.start"));
    ASSERT_EQ(Control(Vector("abort")), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back(), Vector("abort_ack"));
    ASSERT_EQ(Control(Vector("request.deflate")), BLE_OTA_OK);
    EXPECT_EQ(port.calls.back(), "stream_begin(1048576,deflate)");
    EXPECT_EQ(port.notes.back(), Vector("request_ack.start"));
}

TEST_F(CoreV2, DeflateIsRefusedWhenCompressionIsOff)
{
    ASSERT_EQ(Control(Vector("request.deflate")), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back(), Vector("request_nak.unsupported"));
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);
    EXPECT_TRUE(port.calls.empty()) << "no flash session opened";
}

TEST_F(CoreV2, DeltaIsOfferedOnlyWithAWayToReadTheBase)
{
    uint8_t out[BLE_OTA_INFO_LEN];
    size_t n = 0;
    ASSERT_EQ(ble_ota_core_on_info_read(&core, kConn, out, sizeof(out), &n), BLE_OTA_OK);
    EXPECT_EQ(out[BLE_OTA_INFO_OFF_FEATURES] & BLE_OTA_INFO_FEATURE_DELTA, 0);
    ASSERT_EQ(Control(Vector("request.delta")), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back(), Notification(BLE_OTA_OP_REQUEST_NAK, BLE_OTA_ERR_UNSUPPORTED, 16, 0));
    EXPECT_TRUE(port.calls.empty()) << "no flash session opened";

    ble_ota_port_t with_base = kV2Port;
    with_base.base_read = V2Port::BaseRead;
    ASSERT_EQ(ble_ota_core_init(&core, nullptr, &with_base, &port), BLE_OTA_OK);
    ASSERT_EQ(ble_ota_core_on_info_read(&core, kConn, out, sizeof(out), &n), BLE_OTA_OK);
    EXPECT_EQ(out[BLE_OTA_INFO_OFF_FEATURES], BLE_OTA_INFO_FEATURE_RESUME | BLE_OTA_INFO_FEATURE_DELTA);
    for (uint8_t i = 0; i < 32; i++) {
        EXPECT_EQ(out[BLE_OTA_INFO_OFF_IMAGE_SHA256 + i], 0x20 + i);
    }
}

TEST_F(CoreV2, DeltaRequestVectorsStartAPatchOrNameTheWrongBase)
{
    ble_ota_port_t with_base = kV2Port;
    with_base.base_read = V2Port::BaseRead;
    ASSERT_EQ(ble_ota_core_init(&core, nullptr, &with_base, &port), BLE_OTA_OK);
    ble_ota_core_on_connect(&core, kConn, kMtu);
    ASSERT_EQ(Control(Vector("request.delta")), BLE_OTA_OK); // names the base 20..3f the device runs
    EXPECT_EQ(port.calls.back(), "stream_begin(1048576,delta)");
    EXPECT_EQ(port.notes.back(), Vector("request_ack.start"));
    ASSERT_EQ(Control(Vector("abort")), BLE_OTA_OK);

    Bytes other_base = Vector("request.delta");
    other_base[BLE_OTA_V2_REQ_OFF_BASE_SHA256] ^= 1;
    port.calls.clear();
    ASSERT_EQ(Control(other_base), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back(), Vector("request_nak.base_mismatch"));
    EXPECT_EQ(ble_ota_core_last_error(&core), BLE_OTA_ERR_BASE_MISMATCH);
    EXPECT_TRUE(port.calls.empty()) << "no flash session opened";
}

TEST_F(CoreV2, MalformedControlMessagesAreRefused)
{
    Bytes r = Request(image);
    EXPECT_EQ(ble_ota_core_on_control_write(&core, kConn, r.data(), r.size() - 1), BLE_OTA_ERR_INVALID_LEN);
    EXPECT_EQ(Control({0x04, 0x02, 0x00}), BLE_OTA_ERR_INVALID_LEN) << "DONE is exactly 2 bytes";
    EXPECT_EQ(Control({0x05, 0x02}), BLE_OTA_ERR_UNKNOWN_OPCODE);
    EXPECT_EQ(Control({0x01, 0x03}), BLE_OTA_ERR_INVALID_LEN) << "version byte must be 2";
    EXPECT_EQ(ble_ota_core_on_control_write(&core, kConn, nullptr, 600), BLE_OTA_ERR_INVALID_LEN);
    EXPECT_EQ(Control(Vector("done")), BLE_OTA_ERR_INVALID_STATE) << "DONE while idle";
    EXPECT_TRUE(port.notes.empty());
}

TEST_F(CoreV2, BadRequestFieldsAreNakedWithValueNotAllowed)
{
    Bytes bad_flags = Request(image, 0x04);
    Bytes raw_size_mismatch = Request(image, 0, 4000);
    Bytes empty = Request(Bytes{});
    for (const Bytes &r : {bad_flags, raw_size_mismatch, empty}) {
        ASSERT_EQ(Control(r), BLE_OTA_OK);
        EXPECT_EQ(port.notes.back(), Notification(BLE_OTA_OP_REQUEST_NAK, BLE_OTA_ERR_VALUE_NOT_ALLOWED, 16, 0));
    }
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);
}

TEST_F(CoreV2, PortRefusalOfTheSessionIsTheNakCode)
{
    port.begin_result = BLE_OTA_ERR_IMAGE_TOO_LARGE;
    ASSERT_EQ(Control(Request(image)), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back(), Notification(BLE_OTA_OP_REQUEST_NAK, BLE_OTA_ERR_IMAGE_TOO_LARGE, 16, 0));
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);
}

TEST_F(CoreV2, InOrderPacketsAreAckedEveryHalfWindowAndAtTheEnd)
{
    Start();
    SendFrom(0, image);  // 21 packets of 240 (the last 200)
    EXPECT_EQ(port.pushed, image);
    auto notes = TakeNotes();
    ASSERT_EQ(notes.size(), 3u);
    EXPECT_EQ(notes[0], Notification(BLE_OTA_OP_DATA_ACK, 0, 16, 8 * kPayload));
    EXPECT_EQ(notes[1], Notification(BLE_OTA_OP_DATA_ACK, 0, 16, 16 * kPayload));
    EXPECT_EQ(notes[2], Notification(BLE_OTA_OP_DATA_ACK, 0, 16, 5000));
    ASSERT_EQ(Control(Vector("done")), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back(), Notification(BLE_OTA_OP_DONE_ACK, 0, 16, 5000));
    EXPECT_EQ(port.calls.back(), "end");
    EXPECT_EQ(port.restarts, 1);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_RESTARTING);
}

TEST_F(CoreV2, DuplicatesAreIgnoredAndAnsweredOnceWithTheExpectedOffset)
{
    Start();
    ASSERT_EQ(Packet(0, image), BLE_OTA_OK);
    ASSERT_EQ(Packet(kPayload, image), BLE_OTA_OK);
    ASSERT_EQ(Packet(0, image), BLE_OTA_OK);
    ASSERT_EQ(Packet(kPayload, image), BLE_OTA_OK);
    EXPECT_EQ(port.pushed, Bytes(image.begin(), image.begin() + 2 * kPayload));
    auto notes = TakeNotes();
    ASSERT_EQ(notes.size(), 1u) << "one answer per run of duplicates";
    EXPECT_EQ(notes[0], Notification(BLE_OTA_OP_DATA_ACK, 0, 16, 2 * kPayload));
}

TEST_F(CoreV2, AGapIsAnsweredOnceWithOffsetAndTheResentPacketsAreAccepted)
{
    Start();
    ASSERT_EQ(Packet(0, image), BLE_OTA_OK);
    ASSERT_EQ(Packet(2 * kPayload, image), BLE_OTA_OK);  // packet 1 lost
    ASSERT_EQ(Packet(3 * kPayload, image), BLE_OTA_OK);
    auto notes = TakeNotes();
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_EQ(notes[0], Notification(BLE_OTA_OP_DATA_ACK, BLE_OTA_ERR_OFFSET, 16, kPayload));
    SendFrom(kPayload, image);
    EXPECT_EQ(port.pushed, image) << "byte-identical after the retransmission";
}

TEST_F(CoreV2, AFullRingRefusesThePacketUntilTheWriterCatchesUp)
{
    Start();
    ASSERT_EQ(Packet(0, image), BLE_OTA_OK);
    port.push_result = BLE_OTA_ERR_RING_FULL;
    ASSERT_EQ(Packet(kPayload, image), BLE_OTA_OK);
    ASSERT_EQ(Packet(2 * kPayload, image), BLE_OTA_OK);
    auto notes = TakeNotes();
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_EQ(notes[0], Notification(BLE_OTA_OP_DATA_ACK, BLE_OTA_ERR_RING_FULL, 16, kPayload));
    EXPECT_EQ(ble_ota_core_stream_offset(&core), kPayload);
    ASSERT_EQ(Packet(kPayload, image), BLE_OTA_OK);
    EXPECT_EQ(TakeNotes(), std::vector<Bytes>{Notification(BLE_OTA_OP_DATA_ACK, BLE_OTA_ERR_RING_FULL, 16, kPayload)})
        << "a probe the full ring refuses is answered again";
    port.push_result = BLE_OTA_OK;
    ASSERT_EQ(Packet(kPayload, image), BLE_OTA_OK);
    EXPECT_EQ(TakeNotes(), std::vector<Bytes>{Notification(BLE_OTA_OP_DATA_ACK, 0, 16, 2 * kPayload)})
        << "the first packet taken after a full ring is acknowledged at once, so a waiting client can probe with one";
    ASSERT_EQ(Packet(2 * kPayload, image), BLE_OTA_OK);
    EXPECT_TRUE(TakeNotes().empty()) << "then every half window again";
    SendFrom(3 * kPayload, image);
    EXPECT_EQ(port.pushed, image);
}

TEST_F(CoreV2, AnAckWaitsWhileTheRingCannotTakeAWindowAndGoesOutOnceItCan)
{
    Init(false, 16, &kV2PortWithRoom);
    Start();
    port.room = 16 * kPayload - 1; // one byte short of a whole window
    for (uint32_t i = 0; i < 8; i++) {
        ASSERT_EQ(Packet(i * kPayload, image), BLE_OTA_OK);
    }
    EXPECT_TRUE(TakeNotes().empty()) << "no credit the ring could not honour";
    ble_ota_core_on_stream_room(&core);
    EXPECT_TRUE(TakeNotes().empty()) << "the writer freed too little";
    port.room = 16 * kPayload;
    ble_ota_core_on_stream_room(&core);
    auto notes = TakeNotes();
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_EQ(notes[0], Notification(BLE_OTA_OP_DATA_ACK, 0, 16, 8 * kPayload));
    for (uint32_t i = 8; i < 16; i++) {
        ASSERT_EQ(Packet(i * kPayload, image), BLE_OTA_OK);
    }
    EXPECT_EQ(TakeNotes(), std::vector<Bytes>{Notification(BLE_OTA_OP_DATA_ACK, 0, 16, 16 * kPayload)}) << "and the next on time";
}

TEST_F(CoreV2, TheLastAckGoesOutWhateverTheRingHolds)
{
    Init(false, 16, &kV2PortWithRoom);
    Start();
    port.room = 0;
    SendFrom(0, image);
    auto notes = TakeNotes();
    ASSERT_FALSE(notes.empty());
    EXPECT_EQ(notes.back(), Notification(BLE_OTA_OP_DATA_ACK, 0, 16, static_cast<uint32_t>(image.size())));
    EXPECT_EQ(Control({BLE_OTA_OP_DONE, 2}), BLE_OTA_OK) << "DONE waits for the writer instead";
}

TEST_F(CoreV2, RoomWithNothingHeldSendsNothingAndAResumeDropsAHeldAck)
{
    Init(false, 16, &kV2PortWithRoom);
    ble_ota_core_on_stream_room(&core);
    Start();
    ble_ota_core_on_stream_room(&core);
    EXPECT_TRUE(TakeNotes().empty());
    port.room = 0;
    for (uint32_t i = 0; i < 8; i++) {
        ASSERT_EQ(Packet(i * kPayload, image), BLE_OTA_OK);
    }
    ble_ota_core_on_disconnect(&core, kConn);
    ble_ota_core_on_connect(&core, kConn, kMtu);
    ASSERT_EQ(Control(Request(image)), BLE_OTA_OK);
    EXPECT_EQ(TakeNotes(), std::vector<Bytes>{Notification(BLE_OTA_OP_REQUEST_ACK, 0, 16, 8 * kPayload)}) << "the resume tells all";
    port.room = UINT32_MAX;
    ble_ota_core_on_stream_room(&core);
    EXPECT_TRUE(TakeNotes().empty());
}

TEST_F(CoreV2, AWriterFailureEndsTheUpdateWithItsCode)
{
    Start();
    ASSERT_EQ(Packet(0, image), BLE_OTA_OK);
    port.push_result = BLE_OTA_ERR_FLASH;
    EXPECT_EQ(Packet(kPayload, image), BLE_OTA_ERR_FLASH);
    EXPECT_EQ(port.notes.back(), Notification(BLE_OTA_OP_DONE_NAK, BLE_OTA_ERR_FLASH, 16, kPayload));
    EXPECT_EQ(port.aborts, 1);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);
}

TEST_F(CoreV2, PacketsLongerThanNegotiatedOrPastTheStreamEndTheUpdate)
{
    Start();
    Bytes too_long(kMtu - 3 + 1, 0);
    EXPECT_EQ(ble_ota_core_on_data_write(&core, kConn, too_long.data(), too_long.size()), BLE_OTA_ERR_INVALID_LEN);
    EXPECT_EQ(port.notes.back()[1], BLE_OTA_ERR_INVALID_LEN);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);

    Start();
    Bytes past(4 + 10, 0);
    Put32(past, 0, 4995);
    EXPECT_EQ(ble_ota_core_on_data_write(&core, kConn, past.data(), past.size()), BLE_OTA_ERR_SIZE_MISMATCH);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);

    Start();
    Bytes header_only(4, 0);
    EXPECT_EQ(ble_ota_core_on_data_write(&core, kConn, header_only.data(), 4), BLE_OTA_ERR_INVALID_LEN);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_RECEIVING) << "an empty packet is harmless";
}

TEST_F(CoreV2, DoneBeforeTheWholeStreamSaysWhereToGoOn)
{
    Start();
    ASSERT_EQ(Packet(0, image), BLE_OTA_OK);
    TakeNotes();
    ASSERT_EQ(Control(Vector("done")), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back(), Notification(BLE_OTA_OP_DONE_NAK, BLE_OTA_ERR_NO_DATA, 16, kPayload));
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_RECEIVING);
    SendFrom(kPayload, image);
    ASSERT_EQ(Control(Vector("done")), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back()[0], BLE_OTA_OP_DONE_ACK);
}

TEST_F(CoreV2, ShaMismatchIsCaughtBeforeTheBootSlotChanges)
{
    Bytes announced = image;
    announced[100] ^= 1;  // the client announces a different image than it sends
    ASSERT_EQ(Control(Request(announced)), BLE_OTA_OK);
    SendFrom(0, image);
    ASSERT_EQ(Control(Vector("done")), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back(), Notification(BLE_OTA_OP_DONE_NAK, BLE_OTA_ERR_SHA_MISMATCH, 16, 5000));
    EXPECT_EQ(port.calls.back(), "abort") << "flash_end (which sets the boot slot) is never called";
    EXPECT_EQ(port.restarts, 0);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);
}

TEST_F(CoreV2, SizeMismatchAndInflateErrorsAreNakedWithTheirCode)
{
    Init(true);
    // Compressed: the fake "inflates" to what was pushed, 5000 bytes, not the announced 6000.
    Bytes big = Image(6000);
    ASSERT_EQ(Control(Request(big, BLE_OTA_V2_FLAG_DEFLATE, 5000)), BLE_OTA_OK);
    SendFrom(0, image);
    ASSERT_EQ(Control(Vector("done")), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back()[1], BLE_OTA_ERR_SIZE_MISMATCH);

    ASSERT_EQ(Control(Request(image)), BLE_OTA_OK);
    SendFrom(0, image);
    port.finish_result = BLE_OTA_ERR_INFLATE;
    ASSERT_EQ(Control(Vector("done")), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back()[1], BLE_OTA_ERR_INFLATE);
    EXPECT_EQ(port.aborts, 2);
}

TEST_F(CoreV2, ImageRejectedAtEndKeepsTheOldFirmware)
{
    Start();
    SendFrom(0, image);
    port.end_result = BLE_OTA_ERR_IMAGE_INVALID;
    ASSERT_EQ(Control(Vector("done")), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back(), Notification(BLE_OTA_OP_DONE_NAK, BLE_OTA_ERR_IMAGE_INVALID, 16, 5000));
    EXPECT_EQ(port.restarts, 0);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);
}

TEST_F(CoreV2, AbortFreesTheDeviceAtOnce)
{
    Start();
    ASSERT_EQ(Packet(0, image), BLE_OTA_OK);
    EXPECT_EQ(Control(Vector("abort"), kOther), BLE_OTA_ERR_BUSY) << "only the owner may abort";
    ASSERT_EQ(Control(Vector("abort")), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back(), Vector("abort_ack"));
    EXPECT_EQ(port.aborts, 1);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_IDLE);
    EXPECT_EQ(ble_ota_core_last_error(&core), BLE_OTA_ERR_ABORTED);
    ASSERT_EQ(Control(Vector("abort")), BLE_OTA_OK) << "abort while idle is confirmed too";
    EXPECT_EQ(port.aborts, 1);
    ASSERT_EQ(Control(Request(image), kOther), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back()[0], BLE_OTA_OP_REQUEST_ACK) << "free for anyone";
}

TEST_F(CoreV2, AnotherCentralCannotTakeOverARunningUpdate)
{
    Start();
    ASSERT_EQ(Control(Request(image), kOther), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back(), Vector("request_nak.busy"));
    EXPECT_EQ(ble_ota_core_on_data_write(&core, kOther, image.data(), 100), BLE_OTA_ERR_BUSY);
    EXPECT_EQ(ble_ota_core_owner(&core), kConn);
}

TEST_F(CoreV2, DisconnectKeepsTheSessionAndTheSameRequestResumesFromTheDeviceOffset)
{
    Start();
    for (uint32_t i = 0; i < 10; i++) {
        ASSERT_EQ(Packet(i * kPayload, image), BLE_OTA_OK);
    }
    ble_ota_core_on_disconnect(&core, kConn);
    EXPECT_EQ(port.aborts, 0);
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_RECEIVING);
    EXPECT_EQ(ble_ota_core_owner(&core), BLE_OTA_CONN_NONE);

    ble_ota_core_on_connect(&core, 7, kMtu);
    ASSERT_EQ(Control(Request(image), 7), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back(), Notification(BLE_OTA_OP_REQUEST_ACK, 0, 16, 10 * kPayload));
    for (uint32_t off = 10 * kPayload; off < image.size(); off += kPayload) {
        ASSERT_EQ(Packet(off, image, 7), BLE_OTA_OK);
    }
    ASSERT_EQ(Control(Vector("done"), 7), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back()[0], BLE_OTA_OP_DONE_ACK);
    EXPECT_EQ(port.pushed, image) << "byte-identical across the resume";
    EXPECT_EQ(port.calls.front(), "stream_begin(5000)");
    EXPECT_EQ(std::count(port.calls.begin(), port.calls.end(), "stream_begin(5000)"), 1);
}

TEST_F(CoreV2, ADifferentImageOrAV1RequestDropsTheSuspendedSession)
{
    Start();
    ASSERT_EQ(Packet(0, image), BLE_OTA_OK);
    ble_ota_core_on_disconnect(&core, kConn);
    ble_ota_core_on_connect(&core, kConn, kMtu);
    Bytes other = Image(3000);
    ASSERT_EQ(Control(Request(other)), BLE_OTA_OK);
    EXPECT_EQ(port.aborts, 1);
    EXPECT_EQ(port.notes.back(), Notification(BLE_OTA_OP_REQUEST_ACK, 0, 16, 0)) << "starts from scratch";

    ble_ota_core_on_disconnect(&core, kConn);
    ble_ota_core_on_connect(&core, kConn, kMtu);
    uint8_t v1_request = BLE_OTA_OP_REQUEST;
    ASSERT_EQ(ble_ota_core_on_control_write(&core, kConn, &v1_request, 1), BLE_OTA_OK);
    EXPECT_EQ(port.aborts, 2) << "the suspended v2 session is dropped for the v1 REQUEST";
    EXPECT_EQ(port.notes.back(), Bytes{BLE_OTA_OP_REQUEST_NAK}) << "this fake's flash_begin refuses v1";
}

TEST_F(CoreV2, AV1ClientsPacketSizeWriteIsAcceptedWhileASessionWaitsForItsResume)
{
    Start();
    ASSERT_EQ(Packet(0, image), BLE_OTA_OK);
    ble_ota_core_on_disconnect(&core, kConn);
    ble_ota_core_on_connect(&core, kOther, kMtu);

    const uint8_t size[2] = {0xF4, 0x00};  // 244, as a seed client on MTU 247 writes it
    EXPECT_EQ(ble_ota_core_on_data_write(&core, kOther, size, sizeof(size)), BLE_OTA_OK)
        << "a kept v2 session must not lock v1 clients out until a restart";
    EXPECT_EQ(ble_ota_core_state(&core), BLE_OTA_STATE_RECEIVING) << "the session stays until a REQUEST";
    EXPECT_EQ(port.aborts, 0);
    EXPECT_EQ(ble_ota_core_on_data_write(&core, kOther, image.data(), 100), BLE_OTA_ERR_BUSY)
        << "stream data still needs the session's own REQUEST";
}

// The notification lines of docs/protocol-vectors.txt, produced by the core itself.
TEST_F(CoreV2, NotificationVectorsAreWhatTheCoreSends)
{
    constexpr uint16_t conn = 3;
    uint32_t payload = 254;  // MTU 261: packet 258 = offset + 254
    ble_ota_core_on_connect(&core, conn, 261);
    Bytes img = Image(74565);
    auto send = [&](uint32_t off) {
        uint32_t n = std::min<uint32_t>(payload, static_cast<uint32_t>(img.size()) - off);
        Bytes p(4 + n);
        Put32(p, 0, off);
        std::memcpy(&p[4], &img[off], n);
        return ble_ota_core_on_data_write(&core, conn, p.data(), p.size());
    };
    auto restart = [&](const Bytes &request) {
        ASSERT_EQ(Control(Vector("abort"), conn), BLE_OTA_OK);
        ASSERT_EQ(Control(request, conn), BLE_OTA_OK);
        ASSERT_EQ(port.notes.back(), Vector("request_ack.start"));
    };

    restart(Request(img));
    for (uint32_t i = 0; i < 16; i++) {
        ASSERT_EQ(send(i * payload), BLE_OTA_OK);
    }
    EXPECT_EQ(port.notes.back(), Vector("data_ack.ok"));

    restart(Request(img));
    for (uint32_t i = 0; i < 8; i++) {
        ASSERT_EQ(send(i * payload), BLE_OTA_OK);
    }
    ASSERT_EQ(send(9 * payload), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back(), Vector("data_ack.gap"));
    restart(Request(img));
    for (uint32_t i = 0; i < 8; i++) {
        ASSERT_EQ(send(i * payload), BLE_OTA_OK);
    }
    port.push_result = BLE_OTA_ERR_RING_FULL;
    ASSERT_EQ(send(8 * payload), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back(), Vector("data_ack.ring_full"));
    port.push_result = BLE_OTA_OK;

    Bytes announced = img;
    announced[0] ^= 0xFF;
    restart(Request(announced));
    for (uint32_t off = 0; off < img.size(); off += payload) {
        ASSERT_EQ(send(off), BLE_OTA_OK);
    }
    ASSERT_EQ(Control(Vector("done"), conn), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back(), Vector("done_nak.sha"));

    restart(Request(img));
    for (uint32_t off = 0; off < img.size(); off += payload) {
        ASSERT_EQ(send(off), BLE_OTA_OK);
    }
    ASSERT_EQ(Control(Vector("done"), conn), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back(), Vector("done_ack"));
}

TEST_F(CoreV2, ResumeVectorIsWhatTheCoreSends)
{
    constexpr uint16_t conn = 3;
    ble_ota_core_on_connect(&core, conn, 263);  // packet 260 = offset + 256
    Bytes img = Image(8192);
    ASSERT_EQ(Control(Request(img), conn), BLE_OTA_OK);
    for (uint32_t off = 0; off < 4096; off += 256) {
        Bytes p(4 + 256);
        Put32(p, 0, off);
        std::memcpy(&p[4], &img[off], 256);
        ASSERT_EQ(ble_ota_core_on_data_write(&core, conn, p.data(), p.size()), BLE_OTA_OK);
    }
    ble_ota_core_on_disconnect(&core, conn);
    ble_ota_core_on_connect(&core, conn, 263);
    ASSERT_EQ(Control(Request(img), conn), BLE_OTA_OK);
    EXPECT_EQ(port.notes.back(), Vector("request_ack.resume"));
}

}  // namespace
