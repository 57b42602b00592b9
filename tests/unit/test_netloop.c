/* test_netloop.c - sfu/netloop.c (child contexts served through one epoll source; queued output),
 * sfu/udp_tx.c (GSO runs) and sfu/udp_ring.c (the sends of many sockets in one io_uring submit), on
 * real loopback sockets. The netloop's output is tested both with io_uring and without; where the
 * kernel refuses io_uring (a container's seccomp profile) the io_uring cases are skipped, saying so. */
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
#include "sfu/udp_ring.h"
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
    /* what a refused segmentation says, and what loses a run instead */
    assert_true(udp_tx_gso_refused(EIO) && udp_tx_gso_refused(EINVAL) && udp_tx_gso_refused(ENOPROTOOPT) &&
                udp_tx_gso_refused(EOPNOTSUPP));
    assert_false(udp_tx_gso_refused(EAGAIN) || udp_tx_gso_refused(ENOBUFS) || udp_tx_gso_refused(EBADF) ||
                 udp_tx_gso_refused(0));
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

/* ---- udp_ring ---- */

/* A ring, or a skip (with the reason) where this kernel refuses io_uring. */
static udp_ring *ring_or_skip(unsigned ops, unsigned datagrams)
{
    udp_ring *r = udp_ring_new(ops, datagrams);
    if (!r) {
        print_message("io_uring unavailable here (%s): skipped\n", strerror(errno));
        skip();
    }
    return r;
}

static void expect_datagrams(int fd, const size_t *lens, const char *first, size_t n)
{
    uint8_t got[2000];
    for (size_t i = 0; i < n; i++) {
        ssize_t len = recv_wait(fd, got, sizeof(got));
        assert_int_equal(len, (ssize_t)lens[i]);
        assert_int_equal(got[0], first[i]);
        assert_int_equal(got[len - 1], first[i]);
    }
    assert_int_equal(recv(fd, got, sizeof(got), MSG_DONTWAIT), -1);
}

static void test_ring_runs_to_many_sockets(void **state)
{
    (void)state;
    udp_ring *ring = ring_or_skip(16, 32);
    struct sockaddr_in ra, rb, sa;
    int rx = udp_socket(&ra), rx2 = udp_socket(&rb), tx = udp_socket(&sa);
    uint8_t pkt[6][1200];
    size_t lens[6] = {1000, 1000, 1000, 640, 1200, 80};
    char first[6];
    udp_tx_dgram d[6];
    for (int i = 0; i < 6; i++) {
        memset(pkt[i], 'a' + i, sizeof(pkt[i]));
        d[i] = (udp_tx_dgram){pkt[i], lens[i]};
        first[i] = (char)('a' + i);
    }
    /* two runs for ra, the last two datagrams alone for rb, then the first three again for ra */
    assert_int_equal(udp_ring_add(ring, tx, (struct sockaddr *)&ra, sizeof(ra), d, 6, true), 0);
    assert_int_equal(udp_ring_pending(ring), 2); /* [1000 1000 1000 640] [1200 80] */
    assert_int_equal(udp_ring_add(ring, tx, (struct sockaddr *)&rb, sizeof(rb), d + 4, 2, false), 0);
    assert_int_equal(udp_ring_add(ring, tx, (struct sockaddr *)&ra, sizeof(ra), d, 3, true), 0);
    assert_int_equal(udp_ring_pending(ring), 5);
    uint8_t got[2000];
    assert_int_equal(recv(rx, got, sizeof(got), MSG_DONTWAIT), -1); /* nothing leaves before the submit */
    bool gso = true;
    udp_tx_result res = {0};
    assert_int_equal(udp_ring_submit(ring, &gso, &res), 1); /* one system call for all of it */
    assert_int_equal(res.calls, 5);
    assert_int_equal(res.sent, 11);
    assert_int_equal(res.failed, 0);
    assert_true(gso);
    assert_int_equal(udp_ring_pending(ring), 0);
    size_t lens_a[9] = {1000, 1000, 1000, 640, 1200, 80, 1000, 1000, 1000};
    char first_a[9] = {'a', 'b', 'c', 'd', 'e', 'f', 'a', 'b', 'c'};
    expect_datagrams(rx, lens_a, first_a, 9);
    expect_datagrams(rx2, lens + 4, first + 4, 2);
    /* nothing pending: no system call */
    assert_int_equal(udp_ring_submit(ring, &gso, &res), 0);
    /* a socket that cannot send: its datagrams are counted as failed, the others leave */
    udp_tx_result r2 = {0};
    assert_int_equal(udp_ring_add(ring, -1, (struct sockaddr *)&ra, sizeof(ra), d, 6, true), 0);
    assert_int_equal(udp_ring_add(ring, tx, (struct sockaddr *)&rb, sizeof(rb), d + 5, 1, true), 0);
    assert_int_equal(udp_ring_submit(ring, &gso, &r2), 1);
    assert_int_equal(r2.failed, 6);
    assert_int_equal(r2.sent, 1);
    assert_true(gso);
    expect_datagrams(rx2, lens + 5, first + 5, 1);
    /* freeing a ring sends what it holds */
    assert_int_equal(udp_ring_add(ring, tx, (struct sockaddr *)&ra, sizeof(ra), d + 3, 1, true), 0);
    udp_ring_free(ring);
    expect_datagrams(rx, lens + 3, first + 3, 1);
    udp_ring_free(NULL);
    close(rx);
    close(rx2);
    close(tx);
}

static void test_ring_full(void **state)
{
    (void)state;
    udp_ring *ring = ring_or_skip(2, 4);
    struct sockaddr_in ra, sa;
    int rx = udp_socket(&ra), tx = udp_socket(&sa);
    static uint8_t b[1000];
    udp_tx_dgram one = {b, 100}, run[5] = {{b, 300}, {b, 300}, {b, 300}, {b, 300}, {b, 300}};
    /* more datagrams than it holds: refused whole */
    assert_int_equal(udp_ring_add(ring, tx, (struct sockaddr *)&ra, sizeof(ra), run, 5, true), -ENOSPC);
    assert_int_equal(udp_ring_pending(ring), 0);
    /* as many sends as it holds, then one more: refused, the others stay */
    assert_int_equal(udp_ring_add(ring, tx, (struct sockaddr *)&ra, sizeof(ra), &one, 1, true), 0);
    assert_int_equal(udp_ring_add(ring, tx, (struct sockaddr *)&ra, sizeof(ra), run, 3, true), 0);
    assert_int_equal(udp_ring_add(ring, tx, (struct sockaddr *)&ra, sizeof(ra), &one, 1, true), -ENOSPC);
    assert_int_equal(udp_ring_pending(ring), 2);
    bool gso = true;
    udp_tx_result res = {0};
    assert_int_equal(udp_ring_submit(ring, &gso, &res), 1);
    assert_int_equal(res.sent, 4);
    /* without GSO each datagram is a send of its own: 3 do not fit 2 */
    assert_int_equal(udp_ring_add(ring, tx, (struct sockaddr *)&ra, sizeof(ra), run, 3, false), -ENOSPC);
    assert_int_equal(udp_ring_add(ring, tx, (struct sockaddr *)&ra, sizeof(ra), run, 2, false), 0);
    assert_int_equal(udp_ring_pending(ring), 2);
    assert_int_equal(udp_ring_submit(ring, &gso, &res), 1);
    assert_int_equal(res.sent, 6);
    size_t lens[6] = {100, 300, 300, 300, 300, 300};
    char first[6] = {0};
    expect_datagrams(rx, lens, first, 6);
    udp_ring_free(ring);
    close(rx);
    close(tx);
}

/* A socket with UDP checksums off cannot send GSO runs (the kernel says EINVAL): with the ring as with
 * udp_tx, the run goes again datagram by datagram, and GSO goes off for the caller. */
static void test_gso_refused(void **state)
{
    bool use_ring = *(bool *)*state;
    udp_ring *ring = use_ring ? ring_or_skip(8, 16) : NULL;
    struct sockaddr_in ra, sa;
    int rx = udp_socket(&ra), tx = udp_socket(&sa);
    int one = 1;
    assert_int_equal(setsockopt(tx, SOL_SOCKET, SO_NO_CHECK, &one, sizeof(one)), 0);
    uint8_t pkt[3][500];
    udp_tx_dgram d[3];
    size_t lens[3] = {500, 500, 500};
    char first[3] = {'x', 'y', 'z'};
    for (int i = 0; i < 3; i++) {
        memset(pkt[i], first[i], sizeof(pkt[i]));
        d[i] = (udp_tx_dgram){pkt[i], 500};
    }
    bool gso = true;
    udp_tx_result res = {0};
    if (ring) {
        assert_int_equal(udp_ring_add(ring, tx, (struct sockaddr *)&ra, sizeof(ra), d, 3, true), 0);
        assert_int_equal(udp_ring_pending(ring), 1);
        /* the refused run, then one more refused GSO try of udp_tx, then three single sends */
        assert_int_equal(udp_ring_submit(ring, &gso, &res), 1 + 1 + 3);
    } else {
        udp_tx_send(tx, (struct sockaddr *)&ra, sizeof(ra), d, 3, &gso, &res);
    }
    assert_false(gso);
    assert_int_equal(res.sent, 3);
    assert_int_equal(res.failed, 0);
    expect_datagrams(rx, lens, first, 3);
    udp_ring_free(ring);
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

/* The netloop tests that send run twice: state points at true (io_uring) or false (a call per socket). */
static GMainContext *send_loop(void **state, netloop_child **c)
{
    bool use_ring = *(bool *)*state;
    netloop_set_io_uring(use_ring);
    GMainContext *parent = g_main_context_new();
    *c = netloop_child_new(parent);
    assert_non_null(*c);
    netloop_set_io_uring(true);
    if (use_ring && !netloop_uses_io_uring(parent)) {
        netloop_child_free(*c);
        g_main_context_unref(parent);
        print_message("io_uring unavailable here: skipped\n");
        skip();
    }
    assert_int_equal(netloop_uses_io_uring(parent), use_ring);
    return parent;
}

static void test_send_is_queued_until_iteration_ends(void **state)
{
    bool use_ring = *(bool *)*state;
    netloop_child *c;
    GMainContext *parent = send_loop(state, &c);
    struct sockaddr_in ra, sa, rb;
    int rx = udp_socket(&ra), tx = udp_socket(&sa), rx2 = udp_socket(&rb);
    uint8_t pkt[1100];
    memset(pkt, 7, sizeof(pkt));
    for (int i = 0; i < 3; i++)
        assert_int_equal(netloop_send(c, tx, (struct sockaddr *)&ra, sizeof(ra), pkt, sizeof(pkt)), 0);
    uint8_t got[8192];
    assert_int_equal(recv(rx, got, sizeof(got), MSG_DONTWAIT), -1); /* still queued */
    /* A datagram for another destination ends the queue first, so order holds per socket: sent at
     * once without io_uring, put in the loop's batch with it. */
    assert_int_equal(netloop_send(c, tx, (struct sockaddr *)&rb, sizeof(rb), pkt, 100), 0);
    if (use_ring) {
        assert_int_equal(recv(rx, got, sizeof(got), MSG_DONTWAIT), -1);
    } else {
        for (int i = 0; i < 3; i++)
            assert_int_equal(recv_wait(rx, got, sizeof(got)), 1100);
    }
    assert_int_equal(recv(rx2, got, sizeof(got), MSG_DONTWAIT), -1);
    g_main_context_iteration(parent, FALSE); /* the end of an iteration sends everything */
    if (use_ring) {
        for (int i = 0; i < 3; i++)
            assert_int_equal(recv_wait(rx, got, sizeof(got)), 1100);
    }
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
    if (use_ring)
        assert_true(k.send_syscalls < k.sends); /* [3] + [1] in one submit, the large one alone, ... */
    else
        assert_int_equal(k.send_syscalls, k.sends);
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

/* Many receivers, each on its own socket, served in one iteration as a fan-out does (each child's
 * queue ended as soon as it is served): every datagram arrives, in order per socket; with io_uring
 * the whole iteration is a few system calls (the batch fills up at URING_OPS sends or the arena's
 * slots), without one call per receiver. */
static void test_fanout_to_many_sockets(void **state)
{
    bool use_ring = *(bool *)*state;
    enum { N = 300 };
    netloop_child *c[N];
    GMainContext *parent = send_loop(state, &c[0]);
    int rx[N], tx[N];
    struct sockaddr_in ra[N], sa;
    for (int i = 0; i < N; i++) {
        if (i)
            c[i] = netloop_child_new(parent);
        assert_non_null(c[i]);
        rx[i] = udp_socket(&ra[i]);
        tx[i] = udp_socket(&sa);
    }
    uint8_t pkt[1000];
    /* two sizes: a short one cannot start a run that a longer one continues, so two sends each */
    for (int i = 0; i < N; i++) {
        pkt[0] = (uint8_t)i;
        assert_int_equal(netloop_send(c[i], tx[i], (struct sockaddr *)&ra[i], sizeof(ra[i]), pkt, 200), 0);
        pkt[0] = (uint8_t)(i + 1);
        assert_int_equal(netloop_send(c[i], tx[i], (struct sockaddr *)&ra[i], sizeof(ra[i]), pkt, 900), 0);
        netloop_child_flush(c[i]);
    }
    g_main_context_iteration(parent, FALSE);
    for (int i = 0; i < N; i++) {
        uint8_t got[2000];
        assert_int_equal(recv_wait(rx[i], got, sizeof(got)), 200);
        assert_int_equal(got[0], (uint8_t)i);
        assert_int_equal(recv_wait(rx[i], got, sizeof(got)), 900);
        assert_int_equal(got[0], (uint8_t)(i + 1));
    }
    netloop_counters k;
    netloop_get_counters(parent, &k);
    assert_int_equal(k.datagrams, 2 * N);
    assert_int_equal(k.sends, 2 * N);
    assert_int_equal(k.send_errors, 0);
    if (use_ring) {
        /* 600 sends in batches of at most 256, and the 512-slot arena full once: 3-4 submits */
        assert_in_range(k.send_syscalls, 3, 4);
    } else {
        assert_int_equal(k.send_syscalls, 2 * N);
    }
    for (int i = 0; i < N; i++) {
        netloop_child_free(c[i]);
        close(rx[i]);
        close(tx[i]);
    }
    g_main_context_unref(parent);
}

/* A child's datagrams already in the loop's batch leave before netloop_child_free() returns (its
 * owner closes the socket next); so do those of netloop_child_send_now(). */
static void test_free_sends_the_batch(void **state)
{
    netloop_child *a, *b;
    GMainContext *parent = send_loop(state, &a);
    b = netloop_child_new(parent);
    struct sockaddr_in ra, rb, sa;
    int rx = udp_socket(&ra), rx2 = udp_socket(&rb), tx = udp_socket(&sa), tx2 = udp_socket(&sa);
    uint8_t pkt[300] = {1}, got[2000];
    assert_int_equal(netloop_send(a, tx, (struct sockaddr *)&ra, sizeof(ra), pkt, 300), 0);
    netloop_child_flush(a);
    assert_int_equal(netloop_send(b, tx2, (struct sockaddr *)&rb, sizeof(rb), pkt, 77), 0);
    netloop_child_free(a);
    close(tx); /* as the ICE agent's owner does */
    assert_int_equal(recv(rx, got, sizeof(got), MSG_DONTWAIT), 300); /* already there: no waiting */
    netloop_child_send_now(b);
    assert_int_equal(recv(rx2, got, sizeof(got), MSG_DONTWAIT), 77);
    netloop_counters k;
    netloop_get_counters(parent, &k);
    assert_int_equal(k.datagrams, 2);
    assert_int_equal(k.send_errors, 0);
    netloop_child_free(b);
    close(tx2);
    close(rx);
    close(rx2);
    g_main_context_unref(parent);
}

int main(void)
{
    static bool with_ring = true, without_ring = false;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_length),
        cmocka_unit_test(test_send_runs),
        cmocka_unit_test(test_child_timer_attached_later),
        cmocka_unit_test(test_many_children_fds_and_free_in_dispatch),
        cmocka_unit_test_prestate(test_send_is_queued_until_iteration_ends, &with_ring),
        cmocka_unit_test_prestate(test_send_is_queued_until_iteration_ends, &without_ring),
        cmocka_unit_test_prestate(test_fanout_to_many_sockets, &with_ring),
        cmocka_unit_test_prestate(test_fanout_to_many_sockets, &without_ring),
        cmocka_unit_test_prestate(test_free_sends_the_batch, &with_ring),
        cmocka_unit_test_prestate(test_free_sends_the_batch, &without_ring),
        cmocka_unit_test(test_ring_runs_to_many_sockets),
        cmocka_unit_test(test_ring_full),
        cmocka_unit_test_prestate(test_gso_refused, &with_ring),
        cmocka_unit_test_prestate(test_gso_refused, &without_ring),
        cmocka_unit_test(test_reader_before_child),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
