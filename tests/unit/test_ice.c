/* test_ice.c - two ICE transports (sfu/ice.c) on 127.0.0.1 connect, trickle their candidates,
 * exchange datagrams, announce ANNOUNCED_IP in candidates, and refuse bad remote candidates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "sfu/ice.h"
#include "sfu/netloop.h"

typedef struct {
    sfu_ice *self;
    sfu_ice *peer;
    int candidates;
    bool gathered;
    sfu_ice_state state;
    int connected; /* SFU_ICE_CONNECTED reports */
    char got[64];
    size_t got_len;
    char last_candidate[256];
} side;

static void on_candidate(void *ud, const char *cand)
{
    side *s = ud;
    s->candidates++;
    g_strlcpy(s->last_candidate, cand, sizeof(s->last_candidate));
    if (s->peer)
        assert_int_equal(sfu_ice_add_remote_candidate(s->peer, cand), 0);
}

static void on_done(void *ud)
{
    ((side *)ud)->gathered = true;
}

static void on_state(void *ud, sfu_ice_state st)
{
    ((side *)ud)->state = st;
    ((side *)ud)->connected += st == SFU_ICE_CONNECTED;
}

static void on_packet(void *ud, uint8_t *buf, size_t len)
{
    side *s = ud;
    if (len < sizeof(s->got)) {
        memcpy(s->got, buf, len);
        s->got_len = len;
    }
}

static const sfu_ice_callbacks cbs = {on_candidate, on_done, on_state, on_packet};

static void spin_until(GMainContext *ctx, bool (*done)(void *), void *arg)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (!done(arg) && g_get_monotonic_time() < deadline)
        if (!g_main_context_iteration(ctx, FALSE))
            g_usleep(1000);
}

static bool both_connected(void *arg)
{
    side *s = arg;
    return s[0].state == SFU_ICE_CONNECTED && s[1].state == SFU_ICE_CONNECTED;
}

static bool got_packet(void *arg)
{
    return ((side *)arg)->got_len > 0;
}

/* Two agents on 127.0.0.1 (the first controlling, on ports lo..hi; 0, 0: any) that trickle their
 * candidates to each other, each given the other's credentials (returned in u, p) and gathering. */
static void pair_up(GMainContext *ctx, side s[2], unsigned lo, unsigned hi, char u[2][SFU_ICE_UFRAG_MAX],
                    char p[2][SFU_ICE_PWD_MAX])
{
    static const char *ips[] = {"127.0.0.1"};
    memset(s, 0, 2 * sizeof(*s));
    sfu_ice_config ca = {.ips = ips, .ip_count = 1, .min_port = lo, .max_port = hi, .controlling = true};
    sfu_ice_config cb = {.ips = ips, .ip_count = 1};
    s[0].self = sfu_ice_new(ctx, &ca, &cbs, &s[0]);
    s[1].self = sfu_ice_new(ctx, &cb, &cbs, &s[1]);
    assert_non_null(s[0].self);
    assert_non_null(s[1].self);
    s[0].peer = s[1].self;
    s[1].peer = s[0].self;
    for (int i = 0; i < 2; i++)
        sfu_ice_local_credentials(s[i].self, u[i], p[i]);
    assert_int_equal(sfu_ice_set_remote_credentials(s[0].self, u[1], p[1]), 0);
    assert_int_equal(sfu_ice_set_remote_credentials(s[1].self, u[0], p[0]), 0);
    assert_int_equal(sfu_ice_gather(s[0].self), 0);
    assert_int_equal(sfu_ice_gather(s[1].self), 0);
}

static void test_connect_and_send(void **state)
{
    (void)state;
    GMainContext *ctx = g_main_context_new();
    g_main_context_push_thread_default(ctx);
    side s[2];
    char u[2][SFU_ICE_UFRAG_MAX], p[2][SFU_ICE_PWD_MAX];
    pair_up(ctx, s, 41000, 41010, u, p);
    assert_true(strlen(u[0]) >= 4 && strlen(p[0]) >= 22); /* RFC 8445 minimum lengths */
    assert_int_equal(sfu_ice_send(s[0].self, (const uint8_t *)"x", 1), -1); /* not connected yet */
    spin_until(ctx, both_connected, s);
    assert_int_equal(s[0].state, SFU_ICE_CONNECTED);
    assert_int_equal(s[1].state, SFU_ICE_CONNECTED);
    assert_true(s[0].gathered && s[1].gathered);
    assert_int_equal(s[0].candidates, 1); /* one host UDP candidate on 127.0.0.1 */
    assert_non_null(strstr(s[0].last_candidate, " udp "));
    assert_non_null(strstr(s[0].last_candidate, " 127.0.0.1 "));
    assert_non_null(strstr(s[0].last_candidate, "typ host"));
    /* The port comes from the configured range. */
    unsigned port = 0;
    const char *at = strstr(s[0].last_candidate, "127.0.0.1 ");
    assert_int_equal(sscanf(at, "127.0.0.1 %u", &port), 1);
    assert_in_range(port, 41000, 41010);

    assert_int_equal(sfu_ice_send(s[0].self, (const uint8_t *)"\x80hello", 6), 0);
    spin_until(ctx, got_packet, &s[1]);
    assert_int_equal(s[1].got_len, 6);
    assert_memory_equal(s[1].got, "\x80hello", 6);
    /* Media on the selected pair is read by the netloop reader, not by libnice's source. */
    netloop_counters k;
    netloop_get_counters(ctx, &k);
    assert_true(k.reader_runs >= 1);
    char remote[64];
    sfu_ice_selected_remote(s[1].self, remote, sizeof(remote));
    char want[64];
    snprintf(want, sizeof(want), "127.0.0.1:%u", port);
    assert_string_equal(remote, want);

    sfu_ice_free(s[0].self);
    sfu_ice_free(s[1].self);
    sfu_ice_free(NULL);
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);
}

static bool both_reconnected(void *arg)
{
    side *s = arg;
    return s[0].connected >= 2 && s[1].connected >= 2;
}

/* An ICE restart on both sides (RFC 8445 §9), as the SFU and a browser do it: new credentials
 * exchanged, the same local candidates announced again, a new pair reported as connected, and
 * datagrams flowing on it. */
static void test_restart(void **state)
{
    (void)state;
    GMainContext *ctx = g_main_context_new();
    g_main_context_push_thread_default(ctx);
    side s[2];
    char u[2][SFU_ICE_UFRAG_MAX], p[2][SFU_ICE_PWD_MAX];
    pair_up(ctx, s, 0, 0, u, p);
    spin_until(ctx, both_connected, s);
    assert_int_equal(s[0].connected, 1);
    char before[64], last0[256];
    g_strlcpy(last0, s[0].last_candidate, sizeof(last0));
    sfu_ice_selected_remote(s[1].self, before, sizeof(before));

    char u2[2][SFU_ICE_UFRAG_MAX], p2[2][SFU_ICE_PWD_MAX];
    for (int i = 0; i < 2; i++) {
        s[i].gathered = false;
        assert_int_equal(sfu_ice_restart(s[i].self), 0);
        sfu_ice_local_credentials(s[i].self, u2[i], p2[i]);
        assert_string_not_equal(u2[i], u[i]);
        assert_string_not_equal(p2[i], p[i]);
    }
    assert_int_equal(sfu_ice_set_remote_credentials(s[0].self, u2[1], p2[1]), 0);
    assert_int_equal(sfu_ice_set_remote_credentials(s[1].self, u2[0], p2[0]), 0);
    sfu_ice_announce(s[0].self);
    sfu_ice_announce(s[1].self);
    assert_true(s[0].gathered && s[1].gathered);
    assert_int_equal(s[0].candidates, 2);
    assert_string_equal(s[0].last_candidate, last0); /* the same socket */
    spin_until(ctx, both_reconnected, s);
    assert_true(s[0].connected >= 2 && s[1].connected >= 2);
    assert_int_equal(sfu_ice_send(s[0].self, (const uint8_t *)"\x80" "again", 6), 0);
    spin_until(ctx, got_packet, &s[1]);
    assert_memory_equal(s[1].got, "\x80" "again", 6);
    char after[64];
    sfu_ice_selected_remote(s[1].self, after, sizeof(after));
    assert_string_equal(after, before);
    sfu_ice_free(s[0].self);
    sfu_ice_free(s[1].self);
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);
}

static bool gathered(void *arg)
{
    return ((side *)arg)->gathered;
}

static void test_announced_ip_and_bad_candidates(void **state)
{
    (void)state;
    GMainContext *ctx = g_main_context_new();
    g_main_context_push_thread_default(ctx);
    const char *ips[] = {"127.0.0.1"};
    side s;
    memset(&s, 0, sizeof(s));
    sfu_ice_config c = {.ips = ips, .ip_count = 1, .announced_ip = "203.0.113.9"};
    s.self = sfu_ice_new(ctx, &c, &cbs, &s);
    assert_int_equal(sfu_ice_gather(s.self), 0);
    spin_until(ctx, gathered, &s);
    assert_non_null(strstr(s.last_candidate, " 203.0.113.9 "));
    assert_null(strstr(s.last_candidate, "127.0.0.1"));
    assert_int_equal(sfu_ice_add_remote_candidate(s.self, "garbage"), -1);
    assert_int_equal(sfu_ice_add_remote_candidate(s.self, "candidate:1 1 tcp 1 127.0.0.1 9 typ host tcptype active"), -1);
    assert_int_equal(sfu_ice_add_remote_candidate(s.self, "a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host"), 0);
    sfu_ice_free(s.self);
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);

    const char *bad_ips[] = {"not-an-ip"};
    sfu_ice_config bad = {.ips = bad_ips, .ip_count = 1};
    assert_null(sfu_ice_new(NULL, &bad, &cbs, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_and_send),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_announced_ip_and_bad_candidates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
