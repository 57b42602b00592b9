/*
 * fuzz_udp.c - libFuzzer target for the path a received UDP datagram takes in the SFU, with real
 * peers behind it: peer_receive() (sfu/peer.c, what ICE hands up: the RFC 7983 demultiplexing) into
 * DTLS (sfu/dtls.c, OpenSSL), SRTP/SRTCP unprotect (sfu/srtp_session.c) and the room's packet path
 * (sfu/forward.c, room.c, layers.c: tracks, NACK, PLI, RTX, simulcast, rewriting, transport-cc,
 * receiver reports, pacing, the fan-out to subscribers, whose SRTP protect runs too).
 *
 * The world, made once at start: a room of three members with the real transport (peer.c, libnice
 * agents that are never connected, OpenSSL DTLS, SRTP) and no sockets in the packet path: each SFU
 * peer's wire (peer_set_wire) leads to an in-process "browser" (a dtls_t of ours in the client role
 * and the SRTP session from its keys). Alice publishes Chromium's audio + video offer (AES-GCM),
 * carol Chromium's three-layer simulcast offer (AES-CM + HMAC-SHA1, the libsrtp path), bob only
 * receives; every SFU offer is answered as a browser does, every DTLS handshake completes. Keys come
 * from a fixed-seed random source (det_rand.h); time is virtual (room_env.clock_us and the `now` of
 * each datagram); the worker's loop is never run: the fuzzer plays its timers and the end of its
 * iterations.
 *
 * An input is a script of records [op][n1][n0][n bytes]; op & 7 picks the browser connection (alice
 * up, carol up, bob down, alice down, carol down), op >> 3 & 7 what happens:
 *   0 the bytes as a datagram, as they are (STUN/garbage/DTLS/forged SRTP: demux and refusals);
 *   1 the bytes as RTP, protected by the browser first (so they reach the room);
 *   2 the same with the version set to 2 and the SSRC taken from the session's (byte 8 picks it: below
 *     128 one its connection sends or receives, else any);
 *   3 the bytes as RTCP, protected by the browser first;
 *   4 the same with version 2 and the sender and media SSRCs taken from the session's (bytes 4, 8);
 *   5 the bytes as DTLS application data, sent through the browser's DTLS (decrypted by the SFU's);
 *   6 time passes: n % 300 ms of the room's timers (tick, pacing), no bytes;
 *   7 the loop iteration ends (the fan-out), no bytes.
 * The iteration also ends after each input. Checks (trap): what the SFU sends a browser decrypts
 * and parses (RTP, every packet of a compound RTCP), nothing crashes, leaks or trips UBSan. After each
 * input the SSRCs it used are forgotten on both sides (SRTP replay state), so that an input does not
 * depend on the ones before through SRTP; the room's own state does carry over, as in a long call.
 * If a connection failed, the world is made again.
 * STUN is not ours: libnice consumes it (ice.c leaves first bytes 0-3 to it).
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "det_rand.h"
#include "sfu/cert.h"
#include "sfu/dtls.h"
#include "sfu/log.h"
#include "sfu/peer.h"
#include "sfu/room_internal.h"
#include "sfu/rtcp.h"
#include "sfu/rtp.h"
#include "sfu/sdp.h"
#include "sfu/srtp_session.h"

#define CHECK(x)              \
    do {                      \
        if (!(x))             \
            __builtin_trap(); \
    } while (0)

#define N_BROWSERS 5
#define QMAX 32
#define DGRAM_MAX 2048
#define MAX_SSRCS 32
#define MAX_USED 64
#define T0 (100 * G_USEC_PER_SEC)

static const char *const users[3] = {"alice", "bob", "carol"};

typedef struct {
    int user;               /* index in users */
    sfu_pc pc;
    peer *p;                /* the SFU's end (the room owns it) */
    dtls_t *d;              /* the browser's DTLS endpoint (client) */
    srtp_session_t *srtp;   /* the browser's SRTP: protects what it sends, unprotects what it gets */
    uint8_t q[QMAX][DGRAM_MAX]; /* DTLS datagrams the browser sent, waiting for the SFU */
    size_t qlen[QMAX], qn;
    uint8_t sq[QMAX][DGRAM_MAX]; /* ... and those the SFU sent, waiting for the browser */
    size_t sqlen[QMAX], sqn;
    unsigned rtp_got, rtcp_got;  /* media the browser received from the SFU and could read */
} browser;

typedef struct {
    browser *b;
    uint32_t ssrc;
} used_ssrc;

enum { B_ALICE_UP, B_CAROL_UP, B_BOB_DOWN, B_ALICE_DOWN, B_CAROL_DOWN };

static struct {
    GMainContext *ctx;
    cert_t *sfu_cert, *br_cert;
    dtls_ctx_t *sfu_dtls, *br_dtls;
    sfu_ice_config ice;
    sfu_stats stats;
    room *r;
    int64_t now;
    unsigned steps;         /* of advance(): the room's tick comes every few */
    browser b[N_BROWSERS];
    char *offer[3];         /* the last SFU offer to each user (owned) */
    unsigned n_offers[3];
    uint32_t ssrcs[MAX_SSRCS];
    size_t n_ssrcs;
    uint32_t own[N_BROWSERS][MAX_SSRCS]; /* per connection: what its browser sends or receives */
    size_t n_own[N_BROWSERS];
    used_ssrc used[MAX_USED]; /* SSRCs an input protected with */
    size_t n_used;
    unsigned rebuilt;
} W;

static int64_t clock_now(void)
{
    return W.now;
}

/* ---- the browser ends ---- */

static void queue(uint8_t q[][DGRAM_MAX], size_t *qlen, size_t *qn, const uint8_t *buf, size_t len)
{
    if (*qn == QMAX || len > DGRAM_MAX)
        return; /* a lossy wire */
    memcpy(q[*qn], buf, len);
    qlen[*qn] = len;
    (*qn)++;
}

static void browser_send(void *user, const uint8_t *buf, size_t len)
{
    browser *b = user;
    queue(b->q, b->qlen, &b->qn, buf, len);
}

/* What the SFU sends through b's connection. */
static void sfu_wire(void *ud, const uint8_t *buf, size_t len)
{
    browser *b = ud;
    CHECK(len > 0 && len <= DGRAM_MAX);
    if (buf[0] >= 20 && buf[0] <= 63) {
        queue(b->sq, b->sqlen, &b->sqn, buf, len);
        return;
    }
    CHECK(buf[0] >= 128 && buf[0] <= 191 && len >= 12 && b->srtp);
    uint8_t copy[DGRAM_MAX];
    memcpy(copy, buf, len);
    if (buf[1] >= 192 && buf[1] <= 223) {
        int n = srtp_session_unprotect_rtcp(b->srtp, copy, len);
        CHECK(n > 0);
        struct rtcp_iter it;
        struct rtcp_pkt pk;
        int rc;
        rtcp_iter_init(&it, copy, (size_t)n);
        while ((rc = rtcp_iter_next(&it, &pk)) == 1)
            ;
        CHECK(rc == 0);
        b->rtcp_got++;
    } else {
        int n = srtp_session_unprotect_rtp(b->srtp, copy, len);
        if (n == SRTP_SESSION_ERR_REPLAY)
            return; /* an earlier input's packet again: the SFU's replay state is reset between inputs
                     * (peer_forget_ssrc below), the browser's is not */
        CHECK(n > 0);
        struct rtp_view v;
        CHECK(rtp_parse(&v, copy, (size_t)n) == 0);
        b->rtp_got++;
    }
}

/* Moves DTLS datagrams both ways until the wire is quiet. */
static void pump(browser *b)
{
    for (int rounds = 0; rounds < 64 && (b->qn || b->sqn); rounds++) {
        static uint8_t buf[QMAX][DGRAM_MAX];
        size_t len[QMAX], n = b->qn;
        memcpy(buf, b->q, sizeof(b->q[0]) * n);
        memcpy(len, b->qlen, sizeof(len[0]) * n);
        b->qn = 0;
        for (size_t i = 0; i < n; i++)
            peer_receive(b->p, buf[i], len[i], W.now);
        n = b->sqn;
        memcpy(buf, b->sq, sizeof(b->sq[0]) * n);
        memcpy(len, b->sqlen, sizeof(len[0]) * n);
        b->sqn = 0;
        for (size_t i = 0; i < n; i++)
            dtls_handle_datagram(b->d, buf[i], len[i]);
    }
}

/* b's SFU peer exists (its remote SDP applied): the wire goes to b, and b's DTLS handshake runs. */
static void connect_browser(browser *b, unsigned profiles)
{
    peer_set_wire(b->p, sfu_wire, b);
    dtls_config_t c;
    memset(&c, 0, sizeof(c));
    c.role = DTLS_ROLE_CLIENT;
    c.remote_fingerprint = cert_fingerprint(W.sfu_cert);
    c.srtp_profiles = profiles;
    c.initial_timeout_ms = c.max_timeout_ms = 60000; /* no retransmission: OpenSSL's timer is on its own clock */
    dtls_callbacks_t cb = {browser_send, NULL, NULL, b, NULL};
    b->d = dtls_new(W.br_dtls, &c, &cb);
    CHECK(b->d && dtls_start(b->d) == 0);
    pump(b);
    CHECK(dtls_state(b->d) == DTLS_STATE_CONNECTED && peer_get_state(b->p) == PEER_CONNECTED);
    dtls_srtp_keys_t k;
    CHECK(dtls_get_srtp_keys(b->d, &k) == 0);
    b->srtp = srtp_session_new(k.profile, k.local_key, k.local_salt, k.remote_key, k.remote_salt);
    CHECK(b->srtp);
}

/* ---- the room and its signaling ---- */

static void on_event(void *ud, sfu_event *ev)
{
    (void)ud;
    for (int u = 0; u < 3; u++) {
        if (ev->kind == SFU_EV_OFFER && !strcmp(ev->user_id, users[u])) {
            free(W.offer[u]);
            W.offer[u] = strdup(ev->text);
            W.n_offers[u]++;
        }
    }
    CHECK(ev->kind != SFU_EV_ERROR && ev->kind != SFU_EV_NO_PORTS);
    sfu_event_free(ev);
}

static member *member_of(int u)
{
    for (size_t i = 0; i < W.r->n_members; i++)
        if (!strcmp(W.r->members[i]->user_id, users[u]))
            return W.r->members[i];
    return NULL;
}

static void add_ssrc(uint32_t *list, size_t *n, uint32_t x)
{
    for (size_t j = 0; j < *n; j++)
        if (list[j] == x)
            return;
    if (*n < MAX_SSRCS)
        list[(*n)++] = x;
}

/* The SSRCs of s: the session's, and those of browser bi's connection. */
static void add_ssrcs(const sdp_session *s, int bi)
{
    for (size_t i = 0; i < s->n_media; i++)
        for (size_t k = 0; k < s->media[i]->n_ssrcs; k++) {
            add_ssrc(W.ssrcs, &W.n_ssrcs, s->media[i]->ssrcs[k].ssrc);
            add_ssrc(W.own[bi], &W.n_own[bi], s->media[i]->ssrcs[k].ssrc);
        }
}

/* An SSRC for browser b's packet: byte < 128 one of its connection's, else any of the session's. */
static uint32_t pick_ssrc(const browser *b, uint8_t byte)
{
    int bi = (int)(b - W.b);
    if (byte < 128 && W.n_own[bi])
        return W.own[bi][byte % W.n_own[bi]];
    return W.ssrcs[byte % W.n_ssrcs];
}

/* text with every m-line's fingerprint set to the browsers' certificate; setup as given (none: as
 * it was). Frees text; the result is malloc'd. Adds its SSRCs to the session's. */
static char *as_browser(char *text, sdp_setup setup, bool answer, int bi)
{
    sdp_session *s = NULL;
    CHECK(sdp_parse(text, strlen(text), &s, NULL) == 0);
    free(text);
    const cert_fingerprint_t *fp = cert_fingerprint(W.br_cert);
    for (size_t i = 0; i < s->n_media; i++) {
        sdp_media *m = s->media[i];
        if (answer) { /* everything offered is received; no SSRCs of its own */
            m->direction = m->port && m->direction == SDP_DIR_SENDONLY ? SDP_DIR_RECVONLY : SDP_DIR_INACTIVE;
            if (!m->port)
                continue;
            m->transport.ice_ufrag = sdp_strdup(s, "brws");
            m->transport.ice_pwd = sdp_strdup(s, "browserPassword012345678");
            m->n_ssrcs = m->n_ssrc_groups = m->n_msids = m->n_candidates = 0;
        }
        if (setup != SDP_SETUP_NONE)
            m->transport.setup = setup;
        memcpy(m->transport.fingerprint.bytes, fp->bytes, fp->len);
        m->transport.fingerprint.len = fp->len;
    }
    if (!answer)
        add_ssrcs(s, bi);
    char *out = sdp_build_alloc(s, NULL);
    CHECK(out);
    sdp_free(s);
    return out;
}

static char *load(const char *name)
{
    char *path = g_strdup_printf("%s/sdp/%s", VM_TEST_DATA_DIR, name), *text = NULL;
    CHECK(g_file_get_contents(path, &text, NULL, NULL));
    char *copy = strdup(text);
    g_free(text);
    g_free(path);
    return copy;
}

static void publish(int bi, const char *file, unsigned profiles)
{
    browser *b = &W.b[bi];
    char *offer = as_browser(load(file), SDP_SETUP_NONE, false, bi);
    room_remote_sdp(W.r, users[b->user], SFU_PC_UP, offer);
    free(offer);
    b->p = member_of(b->user)->up;
    CHECK(b->p);
    connect_browser(b, profiles);
}

/* Answers the SFU's offers until none waits; a receiving connection comes up with its first answer. */
static void answer_offers(void)
{
    for (int round = 0; round < 8; round++) {
        bool any = false;
        for (int bi = B_BOB_DOWN; bi <= B_CAROL_DOWN; bi++) {
            browser *b = &W.b[bi];
            member *m = member_of(b->user);
            if (!m->down_pending)
                continue;
            any = true;
            CHECK(W.offer[b->user]);
            sdp_session *s = NULL;
            CHECK(sdp_parse(W.offer[b->user], strlen(W.offer[b->user]), &s, NULL) == 0);
            add_ssrcs(s, bi);
            sdp_free(s);
            char *answer = as_browser(strdup(W.offer[b->user]), SDP_SETUP_ACTIVE, true, bi);
            room_remote_sdp(W.r, users[b->user], SFU_PC_DOWN, answer);
            free(answer);
            if (!b->d) {
                b->p = m->down;
                CHECK(b->p);
                connect_browser(b, 0);
            }
        }
        if (!any)
            return;
    }
    CHECK(0); /* offers never settled */
}

/* ---- the worker's loop, played ---- */

static void end_iteration(void)
{
    forward_fanout(W.r);
}

/* The worker's timers for ms milliseconds, in steps of ROOM_PACE_TICK_MS: the pacers at every step,
 * the room's tick every ROOM_TICK_MS; each loop iteration ends with its fan-out. */
static void advance(unsigned ms)
{
    for (unsigned t = ROOM_PACE_TICK_MS; t <= ms; t += ROOM_PACE_TICK_MS) {
        W.now += ROOM_PACE_TICK_MS * 1000;
        forward_pace(W.r, W.now);
        if (++W.steps % (ROOM_TICK_MS / ROOM_PACE_TICK_MS) == 0)
            forward_tick(W.r, W.now);
        end_iteration();
    }
}

static void world_free(void)
{
    room_free(W.r);
    W.r = NULL;
    for (int i = 0; i < N_BROWSERS; i++) {
        dtls_free(W.b[i].d);
        srtp_session_free(W.b[i].srtp);
        memset(&W.b[i], 0, sizeof(W.b[i]));
    }
    for (int u = 0; u < 3; u++) {
        free(W.offer[u]);
        W.offer[u] = NULL;
    }
    W.n_ssrcs = 0;
    memset(W.n_own, 0, sizeof(W.n_own));
}

/* Carol's simulcast layers have no a=ssrc (the SFU learns them from the rid extension): the inputs
 * use these. */
static const uint32_t carol_layers[] = {0x0c0c0001, 0x0c0c0002, 0x0c0c0003, 0x0c0c0011, 0x0c0c0012, 0x0c0c0013};

static void world_make(void)
{
    static const int user_of[N_BROWSERS] = {0, 2, 1, 0, 2};
    static const sfu_pc pc_of[N_BROWSERS] = {SFU_PC_UP, SFU_PC_UP, SFU_PC_DOWN, SFU_PC_DOWN, SFU_PC_DOWN};
    room_env env;
    memset(&env, 0, sizeof(env));
    env.peer.ctx = W.ctx;
    env.peer.dtls = W.sfu_dtls;
    env.peer.cert = W.sfu_cert;
    env.peer.ice = &W.ice;
    env.peer.stats = &W.stats;
    env.emit = on_event;
    env.clock_us = clock_now;
    W.now = T0;
    W.r = room_new(&env, "fuzzmeet");
    CHECK(W.r);
    for (int i = 0; i < N_BROWSERS; i++) {
        W.b[i].user = user_of[i];
        W.b[i].pc = pc_of[i];
    }
    for (int u = 0; u < 3; u++)
        room_join(W.r, users[u]);
    publish(B_ALICE_UP, "chromium-offer-sendonly.sdp", DTLS_ALLOW_AEAD_AES_128_GCM);
    publish(B_CAROL_UP, "chromium-offer-simulcast.sdp", DTLS_ALLOW_AES128_CM_SHA1_80);
    for (size_t i = 0; i < sizeof(carol_layers) / sizeof(carol_layers[0]); i++) {
        add_ssrc(W.ssrcs, &W.n_ssrcs, carol_layers[i]);
        add_ssrc(W.own[B_CAROL_UP], &W.n_own[B_CAROL_UP], carol_layers[i]);
    }
    answer_offers();
    for (int i = 0; i < N_BROWSERS; i++)
        CHECK(W.b[i].d && peer_get_state(W.b[i].p) == PEER_CONNECTED);
}

/* ---- one input ---- */

static void remember(browser *b, uint32_t ssrc)
{
    if (W.n_used < MAX_USED)
        W.used[W.n_used++] = (used_ssrc){b, ssrc};
}

/* A packet from browser b, protected as it would be (RTCP or RTP), then received by the SFU. */
static void send_protected(browser *b, uint8_t *buf, size_t len, bool rtcp)
{
    if (len < 12)
        return;
    remember(b, rd32(buf + (rtcp ? 4 : 8)));
    int n = rtcp ? srtp_session_protect_rtcp(b->srtp, buf, len, DGRAM_MAX)
                 : srtp_session_protect_rtp(b->srtp, buf, len, DGRAM_MAX);
    if (n > 0)
        peer_receive(b->p, buf, (size_t)n, W.now);
}

static void run_op(uint8_t op, uint16_t n, const uint8_t *body, size_t len)
{
    static uint8_t buf[DGRAM_MAX];
    browser *b = &W.b[(op & 7) % N_BROWSERS];
    memcpy(buf, body, len);
    switch (op >> 3 & 7) {
    case 0:
        peer_receive(b->p, buf, len, W.now);
        break;
    case 1:
        send_protected(b, buf, len, false);
        break;
    case 2:
        if (len >= 12) {
            buf[0] = (uint8_t)((buf[0] & 0x3f) | 0x80);
            wr32(buf + 8, pick_ssrc(b, buf[8]));
        }
        send_protected(b, buf, len, false);
        break;
    case 3:
        send_protected(b, buf, len, true);
        break;
    case 4:
        if (len >= 12) {
            buf[0] = (uint8_t)((buf[0] & 0x3f) | 0x80);
            wr32(buf + 4, pick_ssrc(b, buf[4]));
            wr32(buf + 8, pick_ssrc(b, buf[8]));
        }
        send_protected(b, buf, len, true);
        break;
    case 5:
        if (len)
            dtls_send_app(b->d, buf, len);
        break;
    case 6:
        advance(n % 300u);
        break;
    default:
        end_iteration();
        break;
    }
    pump(b);
}

static void report(void)
{
    fprintf(stderr, "worlds made again: %u; bob got %u RTP, %u RTCP\n", W.rebuilt, W.b[B_BOB_DOWN].rtp_got,
            W.b[B_BOB_DOWN].rtcp_got);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    vm_log_set_level(VM_LOG_ERROR);
    det_rand_install(20261203);
    static const char *const ips[] = {"127.0.0.1"};
    W.ice.ips = ips;
    W.ice.ip_count = 1;
    W.ctx = g_main_context_new();
    W.sfu_cert = cert_new();
    W.br_cert = cert_new();
    CHECK(W.sfu_cert && W.br_cert);
    W.sfu_dtls = dtls_ctx_new(W.sfu_cert);
    W.br_dtls = dtls_ctx_new(W.br_cert);
    CHECK(W.sfu_dtls && W.br_dtls);
    world_make();
    /* the harness reaches the forwarding: a packet of alice's audio gets to bob */
    static const uint8_t opus[] = {0x90, 111, 0, 1, 0, 0, 0, 100, 0, 0, 0, 0, 0xbe, 0xde, 0, 1,
                                   0x40, '0', 0, 0, 0xfc, 0xff, 0xfe, 0x01};
    uint8_t pkt[DGRAM_MAX];
    memcpy(pkt, opus, sizeof(opus));
    wr32(pkt + 8, W.ssrcs[0]); /* alice's audio: the first a=ssrc of her offer */
    unsigned before = W.b[B_BOB_DOWN].rtp_got;
    send_protected(&W.b[B_ALICE_UP], pkt, sizeof(opus), false);
    end_iteration();
    CHECK(W.b[B_BOB_DOWN].rtp_got == before + 1);
    if (getenv("FUZZ_UDP_VERBOSE")) { /* for writing seeds: which byte picks which SSRC */
        for (int b = 0; b < N_BROWSERS; b++)
            for (size_t i = 0; i < W.n_own[b]; i++)
                fprintf(stderr, "connection %d: ssrc[%zu] = %u\n", b, i, W.own[b][i]);
        atexit(report);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    W.now += 5 * G_USEC_PER_SEC; /* what the last input left waiting has timed out */
    size_t i = 0;
    while (i + 3 <= size) {
        uint8_t op = data[i];
        uint16_t n = (uint16_t)(data[i + 1] << 8 | data[i + 2]);
        i += 3;
        size_t len = 0;
        if ((op >> 3 & 7) < 6) {
            len = n % 1500u;
            if (len > size - i)
                len = size - i;
        }
        run_op(op, n, data + i, len);
        i += len;
    }
    end_iteration();
    for (size_t k = 0; k < W.n_used; k++) {
        peer_forget_ssrc(W.used[k].b->p, W.used[k].ssrc);
    }
    W.n_used = 0;
    bool healthy = true;
    for (int k = 0; k < N_BROWSERS; k++)
        healthy = healthy && peer_get_state(W.b[k].p) == PEER_CONNECTED && dtls_state(W.b[k].d) == DTLS_STATE_CONNECTED;
    if (!healthy) {
        world_free();
        world_make();
        W.rebuilt++;
    }
    return 0;
}
