/* test_netloop.c - sfu/netloop.c (child contexts served through one epoll source; queued output) and
 * sfu/udp_tx.c (GSO runs), on real loopback sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sfu/netloop.h"
#include "sfu/udp_tx.h"

/* ---- helpers ---- */

static int udp_socket(struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), 0);
    socklen_t len = sizeof(*addr);
    assert_int_equal(getsockname(fd, (struct sockaddr *)addr, &len), 0);
    return fd;
}

/* Receives one datagram, waiting up to 2 s. Returns its length or -1. */
static ssize_t recv_wait(int fd, uint8_t *buf, size_t cap)
{
    for (int i = 0; i < 2000; i++) {
        ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
        if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            return n;
        g_usleep(1000);
    }
    return -1;
}

/* ---- udp_tx ---- */

static void test_run_length(void **state)
{
    (void)state;
    static const uint8_t b[1];
    udp_tx_dgram d[70] = {{b, 1}};
    assert_int_equal(udp_tx_run_length(d, 0), 0);
    size_t lens[] = {1100, 1100, 1100, 900, 1100};
    for (size_t i = 0; i < 5; i++)
        d[i] = (udp_tx_dgram){b, lens[i]};
    assert_int_equal(udp_tx_run_length(d, 5), 4); /* a shorter one ends the run */
    assert_int_equal(udp_tx_run_length(d + 3, 2), 1); /* a longer one cannot follow */
    assert_int_equal(udp_tx_run_length(d, 2), 2);
    for (size_t i = 0; i < 70; i++)
        d[i] = (udp_tx_dgram){b, 100};
    assert_int_equal(udp_tx_run_length(d, 70), UDP_TX_MAX_SEGMENTS);
    for (size_t i = 0; i < 70; i++)
        d[i] = (udp_tx_dgram){b, 1400};
    assert_int_equal(udp_tx_run_length(d, 70), 46); /* 46 * 1400 <= 65507 < 47 * 1400 */
}

static void test_send_runs(void **state)
{
    (void)state;
    struct sockaddr_in ra, sa;
    int rx = udp_socket(&ra), tx = udp_socket(&sa);
    uint8_t pkt[6][1200];
    size_t lens[6] = {1000, 1000, 1000, 640, 1200, 80};
    udp_tx_dgram d[6];
    for (int i = 0; i < 6; i++) {
        memset(pkt[i], 'a' + i, sizeof(pkt[i]));
        d[i] = (udp_tx_dgram){pkt[i], lens[i]};
    }
    bool gso = true;
    udp_tx_result r = {0};
    udp_tx_send(tx, (struct sockaddr *)&ra, sizeof(ra), d, 6, &gso, &r);
    assert_int_equal(r.sent, 6);
    assert_int_equal(r.failed, 0);
    assert_true(gso); /* Linux >= 4.18 segments on loopback */
    assert_int_equal(r.calls, 2); /* [1000 1000 1000 640] [1200 80] */
    /* The receiver sees six datagrams with their own boundaries, in order. */
    uint8_t got[2000];
    for (int i = 0; i < 6; i++) {
        ssize_t n = recv_wait(rx, got, sizeof(got));
        assert_int_equal(n, (ssize_t)lens[i]);
        assert_int_equal(got[0], 'a' + i);
        assert_int_equal(got[n - 1], 'a' + i);
    }
    assert_int_equal(recv(rx, got, sizeof(got), MSG_DONTWAIT), -1);
    /* Without GSO: one call per datagram, same result. */
    bool off = false;
    udp_tx_result r2 = {0};
    udp_tx_send(tx, (struct sockaddr *)&ra, sizeof(ra), d, 6, &off, &r2);
    assert_int_equal(r2.calls, 6);
    assert_int_equal(r2.sent, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(recv_wait(rx, got, sizeof(got)), (ssize_t)lens[i]);
    /* A socket that cannot send: every datagram is counted as failed, GSO stays on (not its fault). */
    udp_tx_result r3 = {0};
    gso = true;
    udp_tx_send(-1, (struct sockaddr *)&ra, sizeof(ra), d, 6, &gso, &r3);
    assert_int_equal(r3.sent, 0);
    assert_int_equal(r3.failed, 6);
    assert_true(gso);
    close(rx);
    close(tx);
}

/* ---- netloop children ---- */

static gboolean set_flag(gpointer data)
{
    *(bool *)data = true;
    return G_SOURCE_REMOVE;
}

static void test_child_timer_attached_later(void **state)
{
    (void)state;
    GMainContext *parent = g_main_context_new();
    netloop_child *c = netloop_child_new(parent);
    assert_non_null(c);
    /* Let the loop settle and go idle, then attach a timer to the child without touching it: the
     * child's own wake-up (ownerless polling) must bring it back into the parent's poll. */
    for (int i = 0; i < 3; i++)
        g_main_context_iteration(parent, FALSE);
    bool fired = false;
    GSource *t = g_timeout_source_new(20);
    g_source_set_callback(t, set_flag, &fired, NULL);
    g_source_attach(t, netloop_child_context(c));
    g_source_unref(t);
    gint64 start = g_get_monotonic_time();
    while (!fired && g_get_monotonic_time() - start < 5 * G_USEC_PER_SEC)
        g_main_context_iteration(parent, TRUE); /* blocking: only a correct timeout/fd wakes it */
    assert_true(fired);
    /* An idle source has no timeout of its own to announce: only the ownerless wake-up brings it. */
    for (int i = 0; i < 3; i++)
        g_main_context_iteration(parent, FALSE);
    fired = false;
    GSource *idle = g_idle_source_new();
    g_source_set_callback(idle, set_flag, &fired, NULL);
    g_source_attach(idle, netloop_child_context(c));
    g_source_unref(idle);
    GSource *guard = g_timeout_source_new_seconds(3); /* so that a failure fails, not hangs */
    bool timed_out = false;
    g_source_set_callback(guard, set_flag, &timed_out, NULL);
    g_source_attach(guard, parent);
    while (!fired && !timed_out)
        g_main_context_iteration(parent, TRUE);
    assert_true(fired);
    g_source_destroy(guard);
    g_source_unref(guard);
    netloop_child_free(c);
    netloop_child_free(NULL);
    g_main_context_unref(parent);
}

typedef struct {
    int fd;
    int reads;
    netloop_child *self; /* freed from inside its own dispatch when set */
} reader;

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
    (void)cond;
    reader *r = data;
    uint8_t buf[64];
    while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
        r->reads++;
    if (r->self) {
        netloop_child *c = r->self;
        r->self = NULL;
        netloop_child_free(c); /* the source goes with the context once the dispatch returns */
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static void test_many_children_fds_and_free_in_dispatch(void **state)
{
    (void)state;
    enum { N = 100 };
    GMainContext *parent = g_main_context_new();
    netloop_child *c[N];
    reader r[N];
    struct sockaddr_in addr[N], sa;
    int tx = udp_socket(&sa);
    for (int i = 0; i < N; i++) {
        c[i] = netloop_child_new(parent);
        assert_non_null(c[i]);
        r[i] = (reader){udp_socket(&addr[i]), 0, i % 2 ? c[i] : NULL};
        GSource *s = g_unix_fd_source_new(r[i].fd, G_IO_IN);
        g_source_set_callback(s, G_SOURCE_FUNC(on_readable), &r[i], NULL);
        g_source_attach(s, netloop_child_context(c[i]));
        g_source_unref(s);
    }
    /* Datagrams to every third socket wake exactly those children. */
    for (int i = 0; i < N; i += 3)
        assert_int_equal(sendto(tx, "x", 1, 0, (struct sockaddr *)&addr[i], sizeof(addr[i])), 1);
    gint64 start = g_get_monotonic_time();
    bool all = false;
    while (!all && g_get_monotonic_time() - start < 5 * G_USEC_PER_SEC) {
        g_main_context_iteration(parent, TRUE);
        all = true;
        for (int i = 0; i < N; i += 3)
            all = all && r[i].reads == 1;
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(r[i].reads, i % 3 == 0 ? 1 : 0);
    netloop_counters k;
    netloop_get_counters(parent, &k);
    assert_true(k.child_runs >= (N + 2) / 3);
    assert_true(k.child_runs < 4 * N); /* a wake-up does not run every child */
    for (int i = 0; i < N; i++) {
        if (r[i].self || (i % 2 == 0))
            netloop_child_free(c[i]); /* the odd ones woken above freed themselves */
        close(r[i].fd);
    }
    close(tx);
    g_main_context_unref(parent);
}

/* A reader installed on a child's fd reads the datagrams it takes (here: first byte not 0) before the
 * child's own source sees the fd; the first one it leaves (first byte 0) makes the child run, whose
 * source reads the rest. Removing the reader gives everything back to the child. */
typedef struct {
    int taken;
    uint8_t last;
} fast;

static bool fast_reader(void *ud, int fd)
{
    fast *f = ud;
    uint8_t b;
    for (;;) {
        ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK;
        if (n == 0 || b == 0)
            return false;
        assert_int_equal(recv(fd, &b, 1, MSG_DONTWAIT), 1);
        f->taken++;
        f->last = b;
    }
}

static void spin(GMainContext *parent, bool (*done)(void *), void *arg)
{
    gint64 start = g_get_monotonic_time();
    while (!done(arg) && g_get_monotonic_time() - start < 5 * G_USEC_PER_SEC)
        g_main_context_iteration(parent, FALSE) || (g_usleep(1000), 0);
}

typedef struct {
    fast *f;
    reader *r;
    int taken, reads;
} want;

static bool reached(void *arg)
{
    want *w = arg;
    return w->f->taken >= w->taken && w->r->reads >= w->reads;
}

static void test_reader_before_child(void **state)
{
    (void)state;
    GMainContext *parent = g_main_context_new();
    netloop_child *c = netloop_child_new(parent);
    assert_non_null(c);
    struct sockaddr_in addr, sa;
    int tx = udp_socket(&sa);
    reader r = {udp_socket(&addr), 0, NULL};
    GSource *s = g_unix_fd_source_new(r.fd, G_IO_IN);
    g_source_set_callback(s, G_SOURCE_FUNC(on_readable), &r, NULL);
    g_source_attach(s, netloop_child_context(c));
    g_source_unref(s);
    fast f = {0, 0};
    netloop_child_set_reader(c, r.fd, fast_reader, &f);
    /* Media only: the reader takes all of it and the child never runs for its fd. */
    for (uint8_t i = 1; i <= 20; i++)
        assert_int_equal(sendto(tx, &i, 1, 0, (struct sockaddr *)&addr, sizeof(addr)), 1);
    want w = {&f, &r, 20, 0};
    spin(parent, reached, &w);
    assert_int_equal(f.taken, 20);
    assert_int_equal(f.last, 20);
    assert_int_equal(r.reads, 0);
    netloop_counters k;
    netloop_get_counters(parent, &k);
    assert_true(k.reader_runs >= 1);
    /* Two taken, then one it leaves: the child reads that one and the one behind it. */
    const uint8_t seq[] = {21, 22, 0, 23};
    for (size_t i = 0; i < sizeof(seq); i++)
        assert_int_equal(sendto(tx, &seq[i], 1, 0, (struct sockaddr *)&addr, sizeof(addr)), 1);
    w = (want){&f, &r, 22, 2};
    spin(parent, reached, &w);
    assert_int_equal(f.taken, 22);
    assert_int_equal(r.reads, 2);
    /* Without a reader the child gets everything. */
    netloop_child_set_reader(c, -1, NULL, NULL);
    for (uint8_t i = 30; i < 33; i++)
        assert_int_equal(sendto(tx, &i, 1, 0, (struct sockaddr *)&addr, sizeof(addr)), 1);
    w = (want){&f, &r, 22, 5};
    spin(parent, reached, &w);
    assert_int_equal(f.taken, 22);
    assert_int_equal(r.reads, 5);
    netloop_child_free(c);
    close(r.fd);
    close(tx);
    g_main_context_unref(parent);
}

static void test_send_is_queued_until_iteration_ends(void **state)
{
    (void)state;
    GMainContext *parent = g_main_context_new();
    netloop_child *c = netloop_child_new(parent);
    struct sockaddr_in ra, sa, rb;
    int rx = udp_socket(&ra), tx = udp_socket(&sa), rx2 = udp_socket(&rb);
    uint8_t pkt[1100];
    memset(pkt, 7, sizeof(pkt));
    for (int i = 0; i < 3; i++)
        assert_int_equal(netloop_send(c, tx, (struct sockaddr *)&ra, sizeof(ra), pkt, sizeof(pkt)), 0);
    uint8_t got[8192];
    assert_int_equal(recv(rx, got, sizeof(got), MSG_DONTWAIT), -1); /* still queued */
    /* A datagram for another destination sends the queue first, so order holds per socket. */
    assert_int_equal(netloop_send(c, tx, (struct sockaddr *)&rb, sizeof(rb), pkt, 100), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(recv_wait(rx, got, sizeof(got)), 1100);
    assert_int_equal(recv(rx2, got, sizeof(got), MSG_DONTWAIT), -1);
    g_main_context_iteration(parent, FALSE); /* the end of an iteration flushes */
    assert_int_equal(recv_wait(rx2, got, sizeof(got)), 100);
    /* Larger than a queue slot: sent at once. */
    static uint8_t big[4000];
    assert_int_equal(netloop_send(c, tx, (struct sockaddr *)&ra, sizeof(ra), big, sizeof(big)), 0);
    assert_int_equal(recv_wait(rx, got, sizeof(got)), 4000);
    /* More than a child's queue holds: the earlier ones leave, none is lost. */
    for (int i = 0; i < 100; i++)
        assert_int_equal(netloop_send(c, tx, (struct sockaddr *)&ra, sizeof(ra), pkt, 500), 0);
    netloop_flush(parent);
    for (int i = 0; i < 100; i++)
        assert_int_equal(recv_wait(rx, got, sizeof(got)), 500);
    netloop_counters k;
    netloop_get_counters(parent, &k);
    assert_int_equal(k.datagrams, 3 + 1 + 1 + 100);
    assert_int_equal(k.send_errors, 0);
    assert_true(k.sends <= k.datagrams);
    /* Freeing a child sends what it still has queued. */
    assert_int_equal(netloop_send(c, tx, (struct sockaddr *)&ra, sizeof(ra), pkt, 42), 0);
    netloop_child_free(c);
    assert_int_equal(recv_wait(rx, got, sizeof(got)), 42);
    close(rx);
    close(rx2);
    close(tx);
    g_main_context_unref(parent);
    netloop_get_counters(parent, &k); /* the loop went with its parent */
    assert_int_equal(k.datagrams, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_length),
        cmocka_unit_test(test_send_runs),
        cmocka_unit_test(test_child_timer_attached_later),
        cmocka_unit_test(test_many_children_fds_and_free_in_dispatch),
        cmocka_unit_test(test_send_is_queued_until_iteration_ends),
        cmocka_unit_test(test_reader_before_child),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
