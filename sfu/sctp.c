/* sctp.c - SCTP over DTLS with usrsctp's AF_CONN family, and the data channels on it (see sctp.h).
 *
 * Per association: one usrsctp socket (one-to-one style) bound and connected to a sockaddr_conn
 * whose address is the sctp_assoc itself (usrsctp_register_address), so usrsctp's output callback
 * (conn_output) knows which association a packet is for. Reading: the socket is non-blocking and
 * its upcall only says "readable"; sctp_assoc_input drains it right after usrsctp_conninput
 * returns (outside usrsctp's locks), and an upcall at any other time schedules a drain on the
 * owner's context.
 *
 * Lifetime across threads: a packet or drain handed to the owner's context (only for what another
 * worker's timer run produced) holds a reference; sctp_assoc_free marks the association closed and
 * drops its own, and the memory goes with the last reference. usrsctp stops calling conn_output
 * for the association once usrsctp_close (an abort, under the association's lock) has returned.
 */
#include "sfu/sctp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <usrsctp.h>

#include "sfu/log.h"

#define SCTP_STREAMS 1024       /* in and out: channel stream ids below this */
#define SCTP_PMTU 1140          /* an SCTP packet + DTLS record overhead fits a 1200-byte datagram */
#define TIMER_STEP_MS 10

struct sctp_assoc {
    atomic_int refs;
    bool closed;                 /* owner thread only, like everything below */
    bool started;
    bool in_input;               /* usrsctp_conninput is running: drain after it */
    bool readable;
    bool skipping;               /* the rest of a message too large for rbuf */
    bool up;                     /* SCTP_COMM_UP seen, and no loss of it since */
    GMainContext *ctx;
    GThread *owner;
    sctp_callbacks cb;
    void *ud;
    uint16_t remote_port;
    struct socket *so;
    dc_state dc;
    uint8_t rbuf[DC_MAX_MESSAGE + 1];
    uint8_t sbuf[DC_MAX_MESSAGE + SCTP_PREFIX_MAX];
};

static GOnce init_once = G_ONCE_INIT;
static atomic_llong last_timer_ms;
static atomic_int n_assocs;

/* ---- references and the hop to the owner ---- */

static void assoc_unref(sctp_assoc *a)
{
    if (atomic_fetch_sub(&a->refs, 1) == 1)
        free(a);
}

typedef struct {
    sctp_assoc *a;
    size_t len;
    uint8_t data[];
} hop_pkt;

static gboolean hop_send(gpointer data)
{
    hop_pkt *h = data;
    if (!h->a->closed)
        h->a->cb.send(h->a->ud, h->data, h->len);
    return G_SOURCE_REMOVE;
}

static void hop_free(gpointer data)
{
    hop_pkt *h = data;
    assoc_unref(h->a);
    free(h);
}

static void drain(sctp_assoc *a);

static gboolean hop_drain(gpointer data)
{
    sctp_assoc *a = data;
    if (!a->closed)
        drain(a);
    return G_SOURCE_REMOVE;
}

static void post(sctp_assoc *a, GSourceFunc fn, gpointer data, GDestroyNotify destroy)
{
    atomic_fetch_add(&a->refs, 1);
    GSource *s = g_idle_source_new();
    g_source_set_callback(s, fn, data, destroy);
    g_source_attach(s, a->ctx);
    g_source_unref(s);
}

/* ---- usrsctp callbacks ---- */

static int conn_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df)
{
    sctp_assoc *a = addr;
    if (a->owner == g_thread_self()) {
        if (!a->closed || a->so) /* the ABORT of sctp_assoc_free still goes out */
            a->cb.send(a->ud, buf, len);
        return 0;
    }
    hop_pkt *h = malloc(sizeof(*h) + len);
    if (!h)
        return ENOMEM;
    h->a = a;
    h->len = len;
    memcpy(h->data, buf, len);
    post(a, hop_send, h, hop_free);
    return 0;
}

static void upcall(struct socket *so, void *arg, int flags)
{
    sctp_assoc *a = arg;
    if (!(usrsctp_get_events(so) & SCTP_EVENT_READ))
        return;
    if (a->owner == g_thread_self() && a->in_input) {
        a->readable = true;
        return;
    }
    post(a, hop_drain, a, (GDestroyNotify)assoc_unref);
}

static void debug_printf(const char *fmt, ...)
{
    (void)fmt;
}

static gpointer init_usrsctp(gpointer unused)
{
    usrsctp_init_nothreads(0, conn_output, debug_printf);
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    usrsctp_sysctl_set_sctp_delayed_sack_time_default(0); /* SACKs leave with the input */
    usrsctp_sysctl_set_sctp_heartbeat_interval_default(10000);
    /* a lost INIT or DATA is sent again after 1 s, not usrsctp's 3 s; at most 10 s apart */
    usrsctp_sysctl_set_sctp_rto_initial_default(1000);
    usrsctp_sysctl_set_sctp_init_rto_max_default(10000);
    usrsctp_sysctl_set_sctp_rto_max_default(10000);
    return NULL;
}

/* ---- stream reset: how a channel is refused or closed ---- */

static void reset_stream(sctp_assoc *a, uint16_t sid)
{
    size_t sz = sizeof(struct sctp_reset_streams) + sizeof(uint16_t);
    uint8_t raw[sizeof(struct sctp_reset_streams) + sizeof(uint16_t)] __attribute__((aligned(8)));
    struct sctp_reset_streams *rs = (struct sctp_reset_streams *)raw;
    memset(raw, 0, sz);
    rs->srs_assoc_id = SCTP_ALL_ASSOC;
    rs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
    rs->srs_number_streams = 1;
    rs->srs_stream_list[0] = sid;
    if (usrsctp_setsockopt(a->so, IPPROTO_SCTP, SCTP_RESET_STREAMS, rs, (socklen_t)sz) < 0)
        LOG_D("sctp: reset of stream %u failed: %s", (unsigned)sid, strerror(errno));
}

static void notification(sctp_assoc *a, const uint8_t *buf, size_t len)
{
    const union sctp_notification *n = (const void *)buf;
    if (len < sizeof(n->sn_header))
        return;
    if (n->sn_header.sn_type == SCTP_STREAM_RESET_EVENT && len >= sizeof(struct sctp_stream_reset_event)) {
        const struct sctp_stream_reset_event *e = &n->sn_strreset_event;
        if (!(e->strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN))
            return;
        size_t k = (len - sizeof(*e)) / sizeof(uint16_t);
        for (size_t i = 0; i < k; i++) {
            uint16_t sid = e->strreset_stream_list[i];
            bool open = false;
            for (size_t c = 0; c < DC_MAX_CHANNELS; c++)
                open = open || (a->dc.ch[c].used && a->dc.ch[c].sid == sid);
            dc_close(&a->dc, sid);
            if (open)
                reset_stream(a, sid); /* the closing handshake: our side of the stream too */
        }
    } else if (n->sn_header.sn_type == SCTP_ASSOC_CHANGE && len >= sizeof(struct sctp_assoc_change)) {
        unsigned st = n->sn_assoc_change.sac_state;
        a->up = st == SCTP_COMM_UP || st == SCTP_RESTART;
        LOG_D("sctp: association state %u", st);
    }
}

static int send_raw(sctp_assoc *a, uint16_t sid, uint32_t ppid, bool unordered, const uint8_t *buf, size_t len)
{
    struct sctp_sndinfo si;
    memset(&si, 0, sizeof(si));
    si.snd_sid = sid;
    si.snd_ppid = htonl(ppid);
    si.snd_flags = SCTP_EOR | (unordered ? SCTP_UNORDERED : 0);
    ssize_t n = usrsctp_sendv(a->so, buf, len, NULL, 0, &si, sizeof(si), SCTP_SENDV_SNDINFO, 0);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -ENOTCONN;
    return 0;
}

static void dropped(sctp_assoc *a, dc_drop_reason r)
{
    if (a->cb.dropped)
        a->cb.dropped(a->ud, r);
}

static void drain(sctp_assoc *a)
{
    a->readable = false;
    for (;;) {
        struct sctp_rcvinfo info;
        socklen_t infolen = sizeof(info);
        unsigned int infotype = 0;
        int flags = 0;
        struct sockaddr_conn from;
        socklen_t fromlen = sizeof(from);
        ssize_t n = usrsctp_recvv(a->so, a->rbuf, sizeof(a->rbuf), (struct sockaddr *)&from, &fromlen, &info,
                                  &infolen, &infotype, &flags);
        if (n <= 0)
            return; /* nothing more (EWOULDBLOCK), or the association ended */
        if (a->skipping) {
            a->skipping = !(flags & MSG_EOR);
            continue;
        }
        if (!(flags & MSG_EOR)) { /* longer than any message we accept */
            a->skipping = true;
            dropped(a, (flags & MSG_NOTIFICATION) ? DC_DROP_MALFORMED : DC_DROP_TOO_LARGE);
            continue;
        }
        if (flags & MSG_NOTIFICATION) {
            notification(a, a->rbuf, (size_t)n);
            continue;
        }
        if (infotype != SCTP_RECVV_RCVINFO)
            continue;
        uint32_t ppid = ntohl(info.rcv_ppid);
        dc_verdict v = dc_input(&a->dc, info.rcv_sid, ppid, a->rbuf, (size_t)n, g_get_monotonic_time());
        if (v.kind == DC_ACK) {
            send_raw(a, info.rcv_sid, DCEP_PPID, false, dcep_ack, sizeof(dcep_ack));
        } else if (v.kind == DC_DELIVER) {
            a->cb.message(a->ud, v.channel->label, a->rbuf, (size_t)n);
            if (a->closed)
                return;
        } else {
            dropped(a, v.reason);
            if (v.reason == DC_DROP_CHANNELS)
                reset_stream(a, info.rcv_sid);
        }
    }
}

/* ---- API ---- */

static int setopt(struct socket *so, int name, const void *v, socklen_t len)
{
    int rc = usrsctp_setsockopt(so, IPPROTO_SCTP, name, v, len);
    if (rc < 0)
        LOG_D("sctp: option %#x: %s", (unsigned)name, strerror(errno));
    return rc;
}

sctp_assoc *sctp_assoc_new(GMainContext *ctx, const sctp_callbacks *cbs, void *ud, uint16_t remote_port,
                           bool peer_even)
{
    g_once(&init_once, init_usrsctp, NULL);
    sctp_assoc *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    atomic_init(&a->refs, 1);
    a->ctx = ctx;
    a->owner = g_thread_self();
    a->cb = *cbs;
    a->ud = ud;
    a->remote_port = remote_port ? remote_port : SCTP_LOCAL_PORT;
    dc_init(&a->dc, peer_even);
    usrsctp_register_address(a);
    a->so = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
    if (!a->so) {
        usrsctp_deregister_address(a);
        free(a);
        return NULL;
    }
    atomic_fetch_add(&n_assocs, 1);
    usrsctp_set_upcall(a->so, upcall, a);
    usrsctp_set_non_blocking(a->so, 1);
    struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* close = ABORT, at once */
    usrsctp_setsockopt(a->so, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    int on = 1;
    setopt(a->so, SCTP_NODELAY, &on, sizeof(on));
    setopt(a->so, SCTP_RECVRCVINFO, &on, sizeof(on));
    struct sctp_assoc_value av = {.assoc_id = SCTP_FUTURE_ASSOC, .assoc_value = SCTP_ENABLE_RESET_STREAM_REQ};
    setopt(a->so, SCTP_ENABLE_STREAM_RESET, &av, sizeof(av));
    struct sctp_initmsg im = {.sinit_num_ostreams = SCTP_STREAMS, .sinit_max_instreams = SCTP_STREAMS};
    setopt(a->so, SCTP_INITMSG, &im, sizeof(im));
    static const uint16_t events[] = {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT};
    for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        struct sctp_event ev = {.se_assoc_id = SCTP_ALL_ASSOC, .se_type = events[i], .se_on = 1};
        setopt(a->so, SCTP_EVENT, &ev, sizeof(ev));
    }
    struct sctp_paddrparams pp;
    memset(&pp, 0, sizeof(pp));
    pp.spp_assoc_id = SCTP_FUTURE_ASSOC;
    pp.spp_flags = SPP_PMTUD_DISABLE;
    pp.spp_pathmtu = SCTP_PMTU;
    setopt(a->so, SCTP_PEER_ADDR_PARAMS, &pp, sizeof(pp));
    struct sockaddr_conn sc;
    memset(&sc, 0, sizeof(sc));
    sc.sconn_family = AF_CONN;
    sc.sconn_port = htons(SCTP_LOCAL_PORT);
    sc.sconn_addr = a;
    if (usrsctp_bind(a->so, (struct sockaddr *)&sc, sizeof(sc)) < 0) {
        LOG_W("sctp: bind: %s", strerror(errno));
        sctp_assoc_free(a);
        return NULL;
    }
    return a;
}

int sctp_assoc_start(sctp_assoc *a)
{
    if (!a || a->started)
        return 0;
    a->started = true;
    struct sockaddr_conn sc;
    memset(&sc, 0, sizeof(sc));
    sc.sconn_family = AF_CONN;
    sc.sconn_port = htons(a->remote_port);
    sc.sconn_addr = a;
    if (usrsctp_connect(a->so, (struct sockaddr *)&sc, sizeof(sc)) < 0 && errno != EINPROGRESS) {
        LOG_W("sctp: connect: %s", strerror(errno));
        return -1;
    }
    return 0;
}

void sctp_assoc_input(sctp_assoc *a, const uint8_t *buf, size_t len)
{
    if (!a || a->closed)
        return;
    a->in_input = true;
    usrsctp_conninput(a, buf, len, 0);
    a->in_input = false;
    if (a->readable)
        drain(a);
}

int sctp_assoc_send(sctp_assoc *a, const char *label, const uint8_t *prefix, size_t plen, const uint8_t *body,
                    size_t len)
{
    if (!a || a->closed)
        return -ENOTCONN;
    const dc_channel *c = dc_find(&a->dc, label);
    if (!c)
        return -ENOENT;
    if (plen > SCTP_PREFIX_MAX || len > DC_MAX_MESSAGE)
        return -EMSGSIZE;
    memcpy(a->sbuf, prefix, plen);
    memcpy(a->sbuf + plen, body, len);
    return send_raw(a, c->sid, DC_PPID_STRING, (c->channel_type & 0x80) != 0, a->sbuf, plen + len);
}

int sctp_assoc_open_channel(sctp_assoc *a, uint16_t sid, const char *label)
{
    uint8_t buf[DCEP_OPEN_HEADER + DC_MAX_LABEL];
    int n = dcep_build_open(buf, sizeof(buf), label);
    if (n < 0)
        return n;
    int rc = dc_add(&a->dc, sid, label);
    return rc < 0 ? rc : send_raw(a, sid, DCEP_PPID, false, buf, (size_t)n);
}

int sctp_assoc_send_raw(sctp_assoc *a, uint16_t sid, uint32_t ppid, const uint8_t *buf, size_t len)
{
    return a && !a->closed ? send_raw(a, sid, ppid, false, buf, len) : -ENOTCONN;
}

void sctp_assoc_send_packet(sctp_assoc *a, const uint8_t *buf, size_t len)
{
    if (a && !a->closed)
        a->cb.send(a->ud, buf, len);
}

bool sctp_assoc_up(const sctp_assoc *a)
{
    return a && a->up;
}

void sctp_assoc_free(sctp_assoc *a)
{
    if (!a)
        return;
    a->closed = true;
    if (a->so) {
        usrsctp_set_upcall(a->so, NULL, NULL);
        usrsctp_close(a->so); /* SO_LINGER 0: ABORT */
        a->so = NULL;
        atomic_fetch_sub(&n_assocs, 1);
    }
    usrsctp_deregister_address(a);
    assoc_unref(a);
}

void sctp_poll_timers(int64_t now_us)
{
    if (atomic_load(&n_assocs) == 0)
        return;
    long long now_ms = now_us / 1000;
    long long last = atomic_load(&last_timer_ms);
    if (last == 0) {
        atomic_compare_exchange_strong(&last_timer_ms, &last, now_ms);
        return;
    }
    if (now_ms - last < TIMER_STEP_MS || !atomic_compare_exchange_strong(&last_timer_ms, &last, now_ms))
        return;
    usrsctp_handle_timers((uint32_t)(now_ms - last));
}

void sctp_shutdown(void)
{
    if (init_once.status != G_ONCE_STATUS_READY)
        return;
    for (int i = 0; i < 50 && usrsctp_finish() != 0; i++) {
        usrsctp_handle_timers(100);
        g_usleep(10000);
    }
}
