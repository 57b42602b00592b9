/*
 * test_dcep.c - unit tests for sfu/dcep.[ch]: DATA_CHANNEL_OPEN parsing (exact lengths, truncation,
 * other types), the channel table (ACK, parity of stream ids, duplicates, the channel limit, close
 * and reuse), what is relayed (string PPID only, size limit) and the per-association token bucket
 * in virtual time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sfu/dcep.h"

static int open_msg(uint8_t *buf, size_t cap, const char *label)
{
    int n = dcep_build_open(buf, cap, label);
    assert_true(n > 0);
    return n;
}

static void test_parse_open(void **state)
{
    (void)state;
    /* RFC 8832 §5.1: type 3, reliable unordered, priority 256, label "chat", protocol "x" */
    static const uint8_t m[] = {0x03, 0x80, 0x01, 0x00, 0, 0, 0, 7, 0, 4, 0, 1, 'c', 'h', 'a', 't', 'x'};
    dcep_open o;
    assert_int_equal(dcep_parse_open(m, sizeof(m), &o), 0);
    assert_int_equal(o.channel_type, 0x80);
    assert_int_equal(o.priority, 256);
    assert_int_equal(o.reliability, 7);
    assert_int_equal(o.label_len, 4);
    assert_memory_equal(o.label, "chat", 4);
    assert_int_equal(o.protocol_len, 1);
    assert_int_equal(o.protocol[0], 'x');
    for (size_t n = 0; n < sizeof(m); n++) /* every truncation */
        assert_int_equal(dcep_parse_open(m, n, &o), -EBADMSG);
    uint8_t longer[sizeof(m) + 1];
    memcpy(longer, m, sizeof(m));
    longer[sizeof(m)] = 0;
    assert_int_equal(dcep_parse_open(longer, sizeof(longer), &o), -EBADMSG); /* trailing byte */
    uint8_t other[sizeof(m)];
    memcpy(other, m, sizeof(m));
    other[0] = DCEP_ACK;
    assert_int_equal(dcep_parse_open(other, sizeof(other), &o), -EBADMSG);
    uint8_t built[64];
    int n = dcep_build_open(built, sizeof(built), "vm");
    assert_int_equal(n, DCEP_OPEN_HEADER + 2);
    assert_int_equal(dcep_parse_open(built, (size_t)n, &o), 0);
    assert_int_equal(o.label_len, 2);
    assert_int_equal(dcep_build_open(built, 13, "vm"), -EMSGSIZE);
}

static void test_open_ack_deliver(void **state)
{
    (void)state;
    dc_state st;
    dc_init(&st, true);
    uint8_t buf[64];
    int n = open_msg(buf, sizeof(buf), "vm");
    dc_verdict v = dc_input(&st, 2, DCEP_PPID, buf, (size_t)n, 0);
    assert_int_equal(v.kind, DC_ACK);
    assert_string_equal(v.channel->label, "vm");
    assert_int_equal(v.channel->sid, 2);
    assert_int_equal(dc_count(&st), 1);
    assert_non_null(dc_find(&st, "vm"));
    assert_null(dc_find(&st, "other"));
    const char *hello = "{\"t\":\"hello\"}";
    v = dc_input(&st, 2, DC_PPID_STRING, (const uint8_t *)hello, strlen(hello), 1000);
    assert_int_equal(v.kind, DC_DELIVER);
    assert_string_equal(v.channel->label, "vm");
    /* the same stream opened twice, odd ids from an even peer, ids 0xffff: refused */
    assert_int_equal(dc_input(&st, 2, DCEP_PPID, buf, (size_t)n, 0).reason, DC_DROP_MALFORMED);
    v = dc_input(&st, 3, DCEP_PPID, buf, (size_t)n, 0);
    assert_int_equal(v.kind, DC_DROP);
    assert_int_equal(v.reason, DC_DROP_MALFORMED);
    /* an ACK (the SFU opens nothing), an unknown DCEP type, an empty DCEP message */
    assert_int_equal(dc_input(&st, 2, DCEP_PPID, dcep_ack, 1, 0).reason, DC_DROP_MALFORMED);
    static const uint8_t weird[] = {0x09, 1, 2};
    assert_int_equal(dc_input(&st, 2, DCEP_PPID, weird, sizeof(weird), 0).reason, DC_DROP_MALFORMED);
    assert_int_equal(dc_input(&st, 2, DCEP_PPID, weird, 0, 0).reason, DC_DROP_MALFORMED);
    /* a label with a NUL byte, a label over DC_MAX_LABEL */
    uint8_t nul[16] = {DCEP_OPEN, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 'a', 0, 'b'};
    assert_int_equal(dc_input(&st, 4, DCEP_PPID, nul, 15, 0).reason, DC_DROP_MALFORMED);
    char big[DC_MAX_LABEL + 2];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    uint8_t bigmsg[128];
    n = open_msg(bigmsg, sizeof(bigmsg), big);
    assert_int_equal(dc_input(&st, 4, DCEP_PPID, bigmsg, (size_t)n, 0).reason, DC_DROP_MALFORMED);
    assert_int_equal(dc_count(&st), 1);
}

static void test_what_is_relayed(void **state)
{
    (void)state;
    dc_state st;
    dc_init(&st, false); /* a peer with odd ids */
    uint8_t buf[64];
    int n = open_msg(buf, sizeof(buf), "vm");
    assert_int_equal(dc_input(&st, 0, DCEP_PPID, buf, (size_t)n, 0).reason, DC_DROP_MALFORMED);
    assert_int_equal(dc_input(&st, 1, DCEP_PPID, buf, (size_t)n, 0).kind, DC_ACK);
    static uint8_t msg[DC_MAX_MESSAGE + 1];
    memset(msg, 'a', sizeof(msg));
    assert_int_equal(dc_input(&st, 1, DC_PPID_STRING, msg, DC_MAX_MESSAGE, 0).kind, DC_DELIVER);
    assert_int_equal(dc_input(&st, 1, DC_PPID_STRING, msg, DC_MAX_MESSAGE + 1, 0).reason, DC_DROP_TOO_LARGE);
    assert_int_equal(dc_input(&st, 1, DC_PPID_BINARY, msg, 10, 0).reason, DC_DROP_PPID);
    assert_int_equal(dc_input(&st, 1, DC_PPID_STRING_EMPTY, msg, 1, 0).reason, DC_DROP_PPID);
    assert_int_equal(dc_input(&st, 1, 52, msg, 1, 0).reason, DC_DROP_PPID);
    assert_int_equal(dc_input(&st, 3, DC_PPID_STRING, msg, 1, 0).reason, DC_DROP_UNKNOWN_STREAM);
}

static void test_channel_limit_and_close(void **state)
{
    (void)state;
    dc_state st;
    dc_init(&st, true);
    uint8_t buf[64];
    char label[8];
    for (unsigned i = 0; i < DC_MAX_CHANNELS; i++) {
        snprintf(label, sizeof(label), "c%u", i);
        int n = open_msg(buf, sizeof(buf), label);
        assert_int_equal(dc_input(&st, (uint16_t)(2 * i), DCEP_PPID, buf, (size_t)n, 0).kind, DC_ACK);
    }
    int n = open_msg(buf, sizeof(buf), "one-more");
    dc_verdict v = dc_input(&st, 100, DCEP_PPID, buf, (size_t)n, 0);
    assert_int_equal(v.kind, DC_DROP);
    assert_int_equal(v.reason, DC_DROP_CHANNELS);
    dc_close(&st, 2); /* "c1" closed by the peer */
    dc_close(&st, 2); /* twice: no-op */
    dc_close(&st, 77);
    assert_null(dc_find(&st, "c1"));
    assert_int_equal(dc_count(&st), DC_MAX_CHANNELS - 1);
    assert_int_equal(dc_input(&st, 2, DC_PPID_STRING, (const uint8_t *)"x", 1, 0).reason, DC_DROP_UNKNOWN_STREAM);
    assert_int_equal(dc_input(&st, 100, DCEP_PPID, buf, (size_t)n, 0).kind, DC_ACK);
    assert_non_null(dc_find(&st, "one-more"));
}

static void test_rate(void **state)
{
    (void)state;
    dc_state st;
    dc_init(&st, true);
    uint8_t buf[64];
    int n = open_msg(buf, sizeof(buf), "vm");
    assert_int_equal(dc_input(&st, 0, DCEP_PPID, buf, (size_t)n, 0).kind, DC_ACK);
    const uint8_t *m = (const uint8_t *)"{}";
    int64_t t = 5000000;
    for (int i = 0; i < DC_RATE_BURST; i++) /* a full burst at once */
        assert_int_equal(dc_input(&st, 0, DC_PPID_STRING, m, 2, t).kind, DC_DELIVER);
    assert_int_equal(dc_input(&st, 0, DC_PPID_STRING, m, 2, t).reason, DC_DROP_RATE);
    /* then DC_RATE_PER_S per second: one every 100 ms, not one more */
    int delivered = 0;
    for (int ms = 1; ms <= 2000; ms++) {
        dc_verdict v = dc_input(&st, 0, DC_PPID_STRING, m, 2, t + ms * 1000);
        delivered += v.kind == DC_DELIVER;
    }
    assert_int_equal(delivered, 2 * DC_RATE_PER_S);
    /* DCEP does not count against the rate; a long pause refills only up to the burst */
    t += 60 * 1000000LL;
    delivered = 0;
    for (int i = 0; i < 3 * DC_RATE_BURST; i++)
        delivered += dc_input(&st, 0, DC_PPID_STRING, m, 2, t).kind == DC_DELIVER;
    assert_int_equal(delivered, DC_RATE_BURST);
    /* the clock going backwards gives nothing */
    assert_int_equal(dc_input(&st, 0, DC_PPID_STRING, m, 2, t - 10000000).reason, DC_DROP_RATE);
    assert_string_equal(dc_drop_name(DC_DROP_RATE), "rate");
    assert_string_equal(dc_drop_name(DC_DROP_REASONS), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_open),
        cmocka_unit_test(test_open_ack_deliver),
        cmocka_unit_test(test_what_is_relayed),
        cmocka_unit_test(test_channel_limit_and_close),
        cmocka_unit_test(test_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
