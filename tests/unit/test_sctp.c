/*
 * test_sctp.c - unit tests for sfu/sctp.[ch] on the real usrsctp, with no sockets: two associations
 * in this process ("sfu", whose peer uses even stream ids, and "browser") wired to each other
 * through a queue, as DTLS would carry their packets. The association comes up; a channel opened
 * with DCEP is acknowledged and its string messages come out of `message`; the sfu sends on the
 * browser's channel by label; what the SFU must not relay (binary, too large, a flood past the
 * burst, a stream with no channel, a fifth channel) is dropped and reported through `dropped`, and
 * the refused channel's stream is reset; garbage packets change nothing; freeing sends an ABORT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "sfu/dcep.h"
#include "sfu/log.h"
#include "sfu/sctp.h"

#define QMAX 512

typedef struct {
    uint8_t data[1500];
    size_t len;
    int to;
} qpkt;

static struct {
    qpkt q[QMAX];
    size_t n;
    size_t dropped_wire;
    sctp_assoc *sfu, *browser;
    GMainContext *ctx;
    unsigned delivered, browser_got;
    char last[DC_MAX_MESSAGE + 64];
    char last_label[DC_MAX_LABEL + 1];
    unsigned drops[DC_DROP_REASONS];
    size_t sent_by_sfu;
} T;

static void enqueue(int to, const uint8_t *buf, size_t len)
{
    if (T.n == QMAX || len > sizeof(T.q[0].data)) {
        T.dropped_wire++;
        return;
    }
    memcpy(T.q[T.n].data, buf, len);
    T.q[T.n].len = len;
    T.q[T.n].to = to;
    T.n++;
}

static void sfu_send(void *ud, const uint8_t *buf, size_t len)
{
    (void)ud;
    T.sent_by_sfu++;
    enqueue(1, buf, len);
}

static void browser_send(void *ud, const uint8_t *buf, size_t len)
{
    (void)ud;
    enqueue(0, buf, len);
}

static void sfu_message(void *ud, const char *label, const uint8_t *buf, size_t len)
{
    (void)ud;
    T.delivered++;
    g_strlcpy(T.last_label, label, sizeof(T.last_label));
    memcpy(T.last, buf, len);
    T.last[len] = '\0';
}

static void sfu_dropped(void *ud, dc_drop_reason r)
{
    (void)ud;
    T.drops[r]++;
}

static void browser_message(void *ud, const char *label, const uint8_t *buf, size_t len)
{
    (void)ud;
    (void)label;
    T.browser_got++;
    memcpy(T.last, buf, len);
    T.last[len] = '\0';
}

static void pump(void)
{
    for (int rounds = 0; rounds < 200 && T.n; rounds++) {
        size_t n = T.n;
        qpkt *batch = g_memdup2(T.q, sizeof(qpkt) * n);
        T.n = 0;
        for (size_t i = 0; i < n; i++)
            sctp_assoc_input(batch[i].to == 0 ? T.sfu : T.browser, batch[i].data, batch[i].len);
        g_free(batch);
        while (g_main_context_iteration(T.ctx, FALSE))
            ;
    }
    assert_int_equal(T.n, 0);
}

static int setup(void **state)
{
    (void)state;
    memset(&T, 0, sizeof(T));
    vm_log_set_level(VM_LOG_ERROR);
    T.ctx = g_main_context_new();
    g_main_context_push_thread_default(T.ctx);
    static const sctp_callbacks sc = {sfu_send, sfu_message, sfu_dropped};
    static const sctp_callbacks bc = {browser_send, browser_message, NULL};
    T.sfu = sctp_assoc_new(T.ctx, &sc, NULL, 5000, true);
    T.browser = sctp_assoc_new(T.ctx, &bc, NULL, 5000, false);
    assert_non_null(T.sfu);
    assert_non_null(T.browser);
    assert_false(sctp_assoc_up(T.sfu));
    sctp_assoc_start(T.browser);
    sctp_assoc_start(T.sfu);
    pump();
    assert_true(sctp_assoc_up(T.sfu));
    assert_true(sctp_assoc_up(T.browser));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sctp_assoc_free(T.sfu);
    sctp_assoc_free(T.browser);
    T.n = 0;
    while (g_main_context_iteration(T.ctx, FALSE))
        ;
    g_main_context_pop_thread_default(T.ctx);
    g_main_context_unref(T.ctx);
    return 0;
}

static void send_str(uint16_t sid, const char *s)
{
    assert_int_equal(sctp_assoc_send_raw(T.browser, sid, DC_PPID_STRING, (const uint8_t *)s, strlen(s)), 0);
}

static void test_open_message_and_reply(void **state)
{
    (void)state;
    assert_int_equal(sctp_assoc_send(T.sfu, "vm", (const uint8_t *)"u\n", 2, (const uint8_t *)"x", 1), -ENOENT);
    assert_int_equal(sctp_assoc_open_channel(T.browser, 0, "vm"), 0);
    pump();
    send_str(0, "{\"t\":\"hello\"}");
    pump();
    assert_int_equal(T.delivered, 1);
    assert_string_equal(T.last_label, "vm");
    assert_string_equal(T.last, "{\"t\":\"hello\"}");
    /* the sfu relays on the browser's channel, found by label, with the sender's prefix */
    assert_int_equal(sctp_assoc_send(T.sfu, "vm", (const uint8_t *)"u1\n", 3, (const uint8_t *)"{}", 2), 0);
    pump();
    assert_int_equal(T.browser_got, 1);
    assert_string_equal(T.last, "u1\n{}");
    assert_int_equal(sctp_assoc_send(T.sfu, "other", (const uint8_t *)"", 0, (const uint8_t *)"{}", 2), -ENOENT);
    static uint8_t big[DC_MAX_MESSAGE + 1];
    assert_int_equal(sctp_assoc_send(T.sfu, "vm", (const uint8_t *)"", 0, big, sizeof(big)), -EMSGSIZE);
    for (unsigned i = 0; i < DC_DROP_REASONS; i++)
        assert_int_equal(T.drops[i], 0);
}

static void test_dropped_not_relayed(void **state)
{
    (void)state;
    assert_int_equal(sctp_assoc_open_channel(T.browser, 0, "vm"), 0);
    pump();
    static uint8_t big[DC_MAX_MESSAGE + 500];
    memset(big, 'a', sizeof(big));
    assert_int_equal(sctp_assoc_send_raw(T.browser, 0, DC_PPID_STRING, big, sizeof(big)), 0);
    assert_int_equal(sctp_assoc_send_raw(T.browser, 0, DC_PPID_BINARY, big, 10), 0);
    send_str(8, "{}"); /* no channel on stream 8 */
    static const uint8_t short_open[] = {DCEP_OPEN, 0, 0};
    assert_int_equal(sctp_assoc_send_raw(T.browser, 4, DCEP_PPID, short_open, sizeof(short_open)), 0);
    pump();
    assert_int_equal(T.delivered, 0);
    assert_int_equal(T.drops[DC_DROP_TOO_LARGE], 1);
    assert_int_equal(T.drops[DC_DROP_PPID], 1);
    assert_int_equal(T.drops[DC_DROP_UNKNOWN_STREAM], 1);
    assert_int_equal(T.drops[DC_DROP_MALFORMED], 1);
    /* a flood: the burst goes through, the rest is over the rate */
    for (int i = 0; i < 100; i++)
        send_str(0, "{\"t\":\"flood\"}");
    pump();
    assert_true(T.delivered >= DC_RATE_BURST && T.delivered <= DC_RATE_BURST + 2);
    assert_int_equal(T.delivered + T.drops[DC_DROP_RATE], 100);
    /* the association is still fine: after a second, messages flow again */
    g_usleep(300000);
    send_str(0, "{\"t\":\"later\"}");
    pump();
    assert_string_equal(T.last, "{\"t\":\"later\"}");
}

static void test_channel_limit_and_garbage(void **state)
{
    (void)state;
    char label[8];
    for (uint16_t sid = 0; sid < 2 * (DC_MAX_CHANNELS + 1); sid += 2) {
        snprintf(label, sizeof(label), "c%u", (unsigned)sid);
        assert_int_equal(sctp_assoc_open_channel(T.browser, sid, label), sid < 2 * DC_MAX_CHANNELS ? 0 : -ENOSPC);
    }
    /* the browser side's own table is full too: open the fifth with raw DCEP */
    uint8_t open[32];
    int n = dcep_build_open(open, sizeof(open), "fifth");
    assert_int_equal(sctp_assoc_send_raw(T.browser, 2 * DC_MAX_CHANNELS, DCEP_PPID, open, (size_t)n), 0);
    size_t before = T.sent_by_sfu;
    pump();
    assert_int_equal(T.drops[DC_DROP_CHANNELS], 1);
    assert_true(T.sent_by_sfu > before); /* the ACKs and the stream reset went out */
    send_str(6, "{\"on\":\"c6\"}");
    pump();
    assert_string_equal(T.last_label, "c6");
    /* garbage of every length, right tag or not: nothing breaks */
    uint8_t junk[1200];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    for (size_t len = 0; len <= sizeof(junk); len += 61)
        sctp_assoc_input(T.sfu, junk, len);
    pump();
    assert_true(sctp_assoc_up(T.sfu));
    send_str(0, "{\"still\":1}");
    pump();
    assert_string_equal(T.last, "{\"still\":1}");
    /* freeing aborts: an ABORT goes out through send */
    before = T.sent_by_sfu;
    sctp_assoc_free(T.sfu);
    T.sfu = NULL;
    assert_true(T.sent_by_sfu > before);
    T.n = 0;
    sctp_assoc_free(NULL);
    sctp_poll_timers(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_message_and_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dropped_not_relayed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channel_limit_and_garbage, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    sctp_shutdown();
    return rc;
}
