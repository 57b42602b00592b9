/* test_room.c - the room's packet path (sfu/room.c, sfu/forward.c, sfu/layers.c) end to end without
 * sockets: negotiation and renegotiation, transport events, forwarding with rewriting, upstream
 * NACKs and RTX answers, feedback to publishers, PLI throttling, sender report rewriting, simulcast
 * layer switches, video views, a receiver's bandwidth estimate, pacing, members leaving mid-flight.
 *
 * The transport is tests/unit/fake_peer.c (fake_peer.h): what the room sends is recorded in plain
 * text, what it receives is handed to the callbacks it registered. Time is virtual (room_env.clock_us
 * and the `now` of every delivery); the worker's loop is played by advance() (the room's tick every
 * ROOM_TICK_MS, the pacers every ROOM_PACE_TICK_MS) and by fake_loop_end_iteration() (the
 * end-of-iteration fan-out). SSRCs and sequence starts come from g_random, seeded.
 *
 * Publishers offer Chromium's captured SDP (tests/data/sdp); receivers answer the SFU's offers as a
 * browser does (browser_answer); packets are synthetic VP8 and Opus with Chromium's header
 * extensions, each payload ending in an origin tag (layer, publisher seq) so that what a receiver
 * gets can be traced back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_peer.h"
#include "sfu/fault.h"
#include "sfu/log.h"
#include "sfu/room_internal.h"

#define T0 (100 * G_USEC_PER_SEC) /* virtual start: far from 0, which the room reads as "never" */
#define FRAME_US 33333
#define AUDIO_US 20000
#define NACK_TRIES 3        /* forward.c: NACKs of one upstream loss */
#define NACK_RETRY_US 30000 /* forward.c: between two of them */
#define LAYERS_FEWER_US 3000000 /* layers.c: fewer layers told after this long */
#define ORIGIN_TAG 0x5a
#define MAX_EVENTS 512
#define HIST 128            /* packets a test publisher keeps (to retransmit, to compare) */

/* ---- the world: one room, its events, the loop's timers ---- */

typedef struct {
    sfu_event *ev;
    int64_t at_us;
} event_rec;

static struct {
    room *r;
    GMainContext *ctx; /* the room's GSources (tick, pacing) attach here; it is never iterated */
    sfu_stats stats;
    event_rec ev[MAX_EVENTS];
    size_t n_ev;
    int64_t next_tick, next_pace;
} W;

static void on_event(void *ud, sfu_event *ev)
{
    (void)ud;
    assert_true(W.n_ev < MAX_EVENTS);
    W.ev[W.n_ev].ev = ev;
    W.ev[W.n_ev].at_us = fake_clock_now();
    W.n_ev++;
}

static int setup(void **state)
{
    (void)state;
    memset(&W, 0, sizeof(W));
    g_random_set_seed(20240607);
    fake_clock_set(T0);
    vm_log_set_level(VM_LOG_WARN);
    W.ctx = g_main_context_new();
    room_env env;
    memset(&env, 0, sizeof(env));
    env.peer.ctx = W.ctx;
    env.peer.stats = &W.stats;
    env.emit = on_event;
    env.clock_us = fake_clock_now;
    W.r = room_new(&env, "m1");
    W.next_tick = T0 + ROOM_TICK_MS * 1000;
    W.next_pace = T0 + ROOM_PACE_TICK_MS * 1000;
    return W.r ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fault_set(NULL);
    room_free(W.r);
    size_t leaked = fake_peer_reset();
    for (size_t i = 0; i < W.n_ev; i++) { /* as sfu_event_free (sfu.c is not linked) */
        free(W.ev[i].ev->text);
        free(W.ev[i].ev);
    }
    g_main_context_unref(W.ctx);
    return leaked ? -1 : 0;
}

/* Runs the worker's timers up to `us` from now, as their GSources would: the pacers every
 * ROOM_PACE_TICK_MS (the pacing source runs only while packets wait; with none it does nothing), the
 * room's tick every ROOM_TICK_MS; each timer's loop iteration ends with its deferred tasks. */
static void advance(int64_t us)
{
    int64_t end = fake_clock_now() + us;
    for (;;) {
        int64_t next = W.next_tick < W.next_pace ? W.next_tick : W.next_pace;
        if (next > end)
            break;
        fake_clock_set(next);
        if (next == W.next_pace) {
            forward_pace(W.r, next);
            W.next_pace += ROOM_PACE_TICK_MS * 1000;
        }
        if (next == W.next_tick) {
            forward_tick(W.r, next);
            W.next_tick += ROOM_TICK_MS * 1000;
        }
        fake_loop_end_iteration();
    }
    fake_clock_set(end);
}

/* The last event of this kind for user after index `from` (NULL: none). */
static const event_rec *event_after(size_t from, const char *user, sfu_event_kind kind)
{
    const event_rec *found = NULL;
    for (size_t i = from; i < W.n_ev; i++)
        if (W.ev[i].ev->kind == kind && !strcmp(W.ev[i].ev->user_id, user))
            found = &W.ev[i];
    return found;
}

static size_t count_events(size_t from, const char *user, sfu_event_kind kind)
{
    size_t n = 0;
    for (size_t i = from; i < W.n_ev; i++)
        n += W.ev[i].ev->kind == kind && !strcmp(W.ev[i].ev->user_id, user);
    return n;
}

static member *mem(const char *user)
{
    for (size_t i = 0; i < W.r->n_members; i++)
        if (!strcmp(W.r->members[i]->user_id, user))
            return W.r->members[i];
    fail_msg("no member %s", user);
    return NULL;
}

/* ---- SDP ---- */

/* tests/data/sdp/<name>, malloc'd. */
static char *load(const char *name)
{
    char *path = g_strdup_printf("%s/sdp/%s", VM_TEST_DATA_DIR, name), *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        fail_msg("cannot read %s", path);
    char *copy = strdup(text);
    assert_non_null(copy);
    g_free(text);
    g_free(path);
    return copy;
}

static sdp_session *parse(const char *text)
{
    sdp_session *s = NULL;
    sdp_error err = {0};
    if (sdp_parse(text, strlen(text), &s, &err) != 0)
        fail_msg("SDP: line %d: %s", err.line, err.reason);
    return s;
}

static char *build(sdp_session *s)
{
    char *text = sdp_build_alloc(s, NULL);
    assert_non_null(text);
    sdp_free(s);
    return text;
}

/* Swaps the ids of two header extensions in every m-line of an offer (the ids are the offerer's
 * choice: it makes the SFU's mapping to the receiver's ids visible). Frees text. */
static char *swap_ext(char *text, const char *uri_a, const char *uri_b)
{
    sdp_session *s = parse(text);
    free(text);
    for (size_t i = 0; i < s->n_media; i++) {
        sdp_media *m = s->media[i];
        unsigned a = sdp_media_extmap_id(m, uri_a), b = sdp_media_extmap_id(m, uri_b);
        for (size_t k = 0; k < m->n_extmaps; k++) {
            if (!strcmp(m->extmaps[k].uri, uri_a))
                m->extmaps[k].id = (uint16_t)(b ? b : a);
            else if (!strcmp(m->extmaps[k].uri, uri_b))
                m->extmaps[k].id = (uint16_t)(a ? a : b);
        }
    }
    return build(s);
}

#define BROWSER_UFRAG "brws"
#define BROWSER_PWD "browserPassword012345678"

/* The answer a browser gives to the SFU's downstream offer: every offered track received
 * (recvonly), setup:active, its own ICE credentials and fingerprint, no SSRCs or msid; rejected
 * m-lines stay rejected. twcc false: neither transport-cc feedback nor the transport-wide
 * extension taken (a browser with it disabled). */
static char *browser_answer(const char *offer, bool twcc)
{
    sdp_session *s = parse(offer);
    s->sess_id = 7777;
    s->sess_version = 2;
    for (size_t i = 0; i < s->n_media; i++) {
        sdp_media *m = s->media[i];
        m->direction = m->port && m->direction == SDP_DIR_SENDONLY ? SDP_DIR_RECVONLY : SDP_DIR_INACTIVE;
        if (!m->port)
            continue; /* rejected: no transport of its own */
        m->transport.ice_ufrag = sdp_strdup(s, BROWSER_UFRAG);
        m->transport.ice_pwd = sdp_strdup(s, BROWSER_PWD);
        m->transport.setup = SDP_SETUP_ACTIVE;
        memset(m->transport.fingerprint.bytes, 0x11, 32);
        m->transport.fingerprint.len = 32;
        m->n_ssrcs = m->n_ssrc_groups = m->n_msids = m->n_candidates = 0;
        m->end_of_candidates = false;
        size_t w = 0;
        for (size_t k = 0; k < m->n_rtcp_fbs; k++)
            if (twcc || strcmp(m->rtcp_fbs[k].type, "transport-cc") != 0)
                m->rtcp_fbs[w++] = m->rtcp_fbs[k];
        m->n_rtcp_fbs = w;
        w = 0;
        for (size_t k = 0; k < m->n_extmaps; k++)
            if (twcc || strcmp(m->extmaps[k].uri, SDP_EXT_URI_TWCC) != 0)
                m->extmaps[w++] = m->extmaps[k];
        m->n_extmaps = w;
    }
    return build(s);
}

/* What one m-line of an SDP says (the first payload type, its RTX, SSRCs, extension ids). */
typedef struct {
    sdp_media_kind kind;
    char mid[SDP_MAX_MID + 1];
    int pt, rtx_pt;
    uint32_t ssrc, rtx_ssrc;
    sdp_ext_ids ext;
} mline;

/* The nth m-line of `kind` with a non-zero port in text. */
static mline read_mline(const char *text, sdp_media_kind kind, unsigned nth)
{
    sdp_session *s = parse(text);
    mline out;
    memset(&out, 0, sizeof(out));
    out.rtx_pt = -1;
    const sdp_media *m = NULL;
    for (size_t i = 0; i < s->n_media && !m; i++)
        if (s->media[i]->kind == kind && s->media[i]->port && nth-- == 0)
            m = s->media[i];
    assert_non_null(m);
    out.kind = kind;
    snprintf(out.mid, sizeof(out.mid), "%s", m->mid ? m->mid : "");
    out.pt = sdp_media_pt(m, 0);
    for (size_t k = 0; k < m->n_rtpmaps; k++)
        if (!strcmp(m->rtpmaps[k].name, "rtx") &&
            sdp_fmtp_get_uint(sdp_media_fmtp(m, m->rtpmaps[k].pt), "apt") == out.pt)
            out.rtx_pt = m->rtpmaps[k].pt;
    if (m->n_ssrcs) {
        out.ssrc = m->ssrcs[0].ssrc;
        out.rtx_ssrc = sdp_media_fid_rtx(m, out.ssrc);
    }
    out.ext.mid = (uint8_t)sdp_media_extmap_id(m, SDP_EXT_URI_MID);
    out.ext.audio_level = (uint8_t)sdp_media_extmap_id(m, SDP_EXT_URI_AUDIO_LEVEL);
    out.ext.abs_send_time = (uint8_t)sdp_media_extmap_id(m, SDP_EXT_URI_ABS_SEND_TIME);
    out.ext.twcc = (uint8_t)sdp_media_extmap_id(m, SDP_EXT_URI_TWCC);
    out.ext.rid = (uint8_t)sdp_media_extmap_id(m, SDP_EXT_URI_RID);
    out.ext.rrid = (uint8_t)sdp_media_extmap_id(m, SDP_EXT_URI_RRID);
    sdp_free(s);
    return out;
}

/* The receiver's view of the nth forwarded track of `kind` in the last offer it was sent. */
static mline offered(const char *user, sdp_media_kind kind, unsigned nth)
{
    const event_rec *o = event_after(0, user, SFU_EV_OFFER);
    assert_non_null(o);
    return read_mline(o->ev->text, kind, nth);
}

/* ---- publishers: Chromium-like RTP ---- */

typedef struct {
    peer *up;
    uint16_t twcc_seq;
} publisher;

typedef struct {
    publisher *pub;
    bool video;
    mline sdp;         /* the m-line in the SFU's answer: pt, extension ids, mid */
    const char *rid;   /* a simulcast layer's rid (sent in the rid extension); NULL: one stream */
    uint8_t layer;     /* written into the origin tag */
    uint32_t ssrc, rtx_ssrc;
    uint16_t seq, rtx_seq;
    uint32_t ts;
    uint16_t picid;
    uint8_t tl0;
    uint16_t width, height; /* written into keyframes */
    bool key_due;      /* a PLI asked for a keyframe: the next picture is one */
    /* the last HIST packets sent (or lost on the way), by seq */
    uint8_t hist[HIST][RTP_MAX_PACKET];
    size_t hist_len[HIST];
    uint16_t hist_seq[HIST];
} stream;

static void stream_init(stream *s, publisher *p, const mline *sdp, uint32_t ssrc, uint32_t rtx_ssrc, uint16_t seq)
{
    memset(s, 0, sizeof(*s));
    s->pub = p;
    s->sdp = *sdp;
    s->video = sdp->kind == SDP_MEDIA_VIDEO;
    s->ssrc = ssrc;
    s->rtx_ssrc = rtx_ssrc;
    s->seq = seq;
    s->rtx_seq = 100;
    s->ts = 0x10000000u + seq;
    s->picid = 0x7ff0; /* wraps soon */
    s->tl0 = 250;
}

/* The packet s sent with sequence number seq (NULL: not in its history). */
static const uint8_t *sent_by(const stream *s, uint16_t seq, size_t *len)
{
    const size_t k = seq % HIST;
    if (!s->hist_len[k] || s->hist_seq[k] != seq)
        return NULL;
    *len = s->hist_len[k];
    return s->hist[k];
}

/* The next RTP packet of s: Chromium's extensions (mid, and rid for a simulcast layer; audio level
 * on audio; abs-send-time; the transport-wide seq), then the codec bytes, filler, and the origin tag
 * (layer, seq, ORIGIN_TAG) in the payload's last 4 bytes. Kept in the history. */
static size_t make_packet(stream *s, uint8_t *out, bool marker, const uint8_t *codec, size_t codec_len, size_t size)
{
    publisher *p = s->pub;
    const char *mid = s->sdp.mid;
    uint8_t tw[2] = {(uint8_t)(p->twcc_seq >> 8), (uint8_t)p->twcc_seq};
    uint8_t abs[3] = {0x12, 0x34, 0x56};
    uint8_t level = 0x85;
    struct rtp_ext_elem e[5];
    size_t n = 0;
    p->twcc_seq++;
    if (s->sdp.ext.mid)
        e[n++] = (struct rtp_ext_elem){s->sdp.ext.mid, (uint8_t)strlen(mid), (const uint8_t *)mid};
    if (s->rid && s->sdp.ext.rid)
        e[n++] = (struct rtp_ext_elem){s->sdp.ext.rid, (uint8_t)strlen(s->rid), (const uint8_t *)s->rid};
    if (!s->video && s->sdp.ext.audio_level)
        e[n++] = (struct rtp_ext_elem){s->sdp.ext.audio_level, 1, &level};
    if (s->sdp.ext.abs_send_time)
        e[n++] = (struct rtp_ext_elem){s->sdp.ext.abs_send_time, 3, abs};
    if (s->sdp.ext.twcc)
        e[n++] = (struct rtp_ext_elem){s->sdp.ext.twcc, 2, tw};
    struct rtp_hdr h = {(uint8_t)s->sdp.pt, marker, s->seq, s->ts, s->ssrc, e, n};
    uint8_t payload[RTP_MAX_PACKET];
    assert_true(size <= 1200 && size >= codec_len + 4);
    memcpy(payload, codec, codec_len);
    for (size_t i = codec_len; i < size; i++)
        payload[i] = (uint8_t)(i * 7 + s->seq);
    payload[size - 4] = s->layer;
    payload[size - 3] = (uint8_t)(s->seq >> 8);
    payload[size - 2] = (uint8_t)s->seq;
    payload[size - 1] = ORIGIN_TAG;
    int len = rtp_build(out, RTP_MAX_PACKET, &h, payload, size);
    assert_true(len > 0);
    const size_t k = s->seq % HIST;
    memcpy(s->hist[k], out, (size_t)len);
    s->hist_len[k] = (size_t)len;
    s->hist_seq[k] = s->seq;
    s->seq++;
    return (size_t)len;
}

/* The VP8 payload descriptor (RFC 7741: 15-bit picture id, TL0PICIDX, temporal layer 0) and, on a
 * picture's first packet, the VP8 frame tag: a keyframe's with its start code and size. */
static size_t vp8_head(const stream *s, uint8_t *out, bool start, bool key)
{
    size_t o = 0;
    out[o++] = (uint8_t)(0x80 | (start ? 0x10 : 0)); /* X, S, partition 0 */
    out[o++] = 0x80 | 0x40 | 0x20;                   /* I, L, T */
    out[o++] = (uint8_t)(0x80 | ((s->picid >> 8) & 0x7f));
    out[o++] = (uint8_t)s->picid;
    out[o++] = s->tl0;
    out[o++] = 0x00; /* TID 0 */
    if (start) {
        out[o++] = key ? 0x10 : 0x11; /* P bit: 0 on a keyframe */
        out[o++] = 0;
        out[o++] = 0;
        if (key) {
            const uint8_t sc[7] = {0x9d, 0x01, 0x2a, (uint8_t)s->width, (uint8_t)(s->width >> 8),
                                   (uint8_t)s->height, (uint8_t)(s->height >> 8)};
            memcpy(out + o, sc, sizeof(sc));
            o += sizeof(sc);
        }
    }
    return o;
}

/* One picture of s in n packets of `size` payload bytes (the last with the marker bit), handed to
 * the SFU in this loop iteration; packets whose bit is set in lose_mask are lost on the way. A
 * keyframe when asked (key) or when a PLI asked for one. */
static void deliver_frame_lossy(stream *s, bool key, unsigned n, size_t size, unsigned lose_mask)
{
    key = key || s->key_due;
    s->key_due = false;
    for (unsigned i = 0; i < n; i++) {
        uint8_t head[32], pkt[RTP_MAX_PACKET];
        size_t hl = vp8_head(s, head, i == 0, key);
        size_t len = make_packet(s, pkt, i == n - 1, head, hl, size);
        if (!(lose_mask & (1u << i)))
            fake_peer_deliver(s->pub->up, pkt, len);
    }
    s->ts += 3000;
    s->picid = (s->picid + 1) & 0x7fff;
    s->tl0++;
}

static void deliver_frame(stream *s, bool key, unsigned n, size_t size)
{
    deliver_frame_lossy(s, key, n, size, 0);
}

/* deliver_frame, and the loop iteration ends (the fan-out runs). */
static void send_frame(stream *s, bool key, unsigned n, size_t size)
{
    deliver_frame(s, key, n, size);
    fake_loop_end_iteration();
}

/* One 20 ms Opus packet in this loop iteration. */
static void deliver_audio(stream *s)
{
    static const uint8_t opus[3] = {0xfc, 0xff, 0xfe};
    uint8_t pkt[RTP_MAX_PACKET];
    size_t len = make_packet(s, pkt, false, opus, sizeof(opus), 64);
    fake_peer_deliver(s->pub->up, pkt, len);
    s->ts += 960;
}

static void send_audio(stream *s)
{
    deliver_audio(s);
    fake_loop_end_iteration();
}

/* The publisher retransmits packet seq on its RTX stream (RFC 4588), in its own iteration. */
static void send_rtx(stream *s, uint16_t seq)
{
    size_t len = 0;
    const uint8_t *orig = sent_by(s, seq, &len);
    assert_non_null(orig);
    struct rtp_view v;
    assert_int_equal(rtp_parse(&v, orig, len), 0);
    uint8_t pkt[RTP_MAX_PACKET + 2];
    int n = rtp_rtx_wrap(pkt, sizeof(pkt), &v, (uint8_t)s->sdp.rtx_pt, s->rtx_seq++, s->rtx_ssrc);
    assert_true(n > 0);
    struct rtp_view rv;
    assert_int_equal(rtp_parse(&rv, pkt, (size_t)n), 0);
    if (s->sdp.ext.twcc) /* a packet of its own on the transport: its own transport-wide number */
        assert_int_equal(rtp_ext_set_u16(pkt, &rv, s->sdp.ext.twcc, s->pub->twcc_seq++), 0);
    if (s->rid && s->sdp.ext.rid) /* a simulcast layer's RTX says repaired-rid, not rid */
        assert_int_equal(rtp_ext_set_id(pkt, &rv, s->sdp.ext.rid, s->sdp.ext.rrid), 0);
    fake_peer_deliver(s->pub->up, pkt, (size_t)n);
    fake_loop_end_iteration();
}

/* An RTCP packet from a browser (SR from a publisher; NACK, PLI, FIR from a receiver). */
static void deliver_rtcp(peer *p, const uint8_t *buf, int len)
{
    assert_true(len > 0);
    fake_peer_deliver(p, buf, (size_t)len);
    fake_loop_end_iteration();
}

/* ---- what the SFU sent ---- */

/* One RTP packet a peer was given, copied and parsed. */
typedef struct {
    uint8_t data[FAKE_PEER_MAX_PACKET];
    struct rtp_view v;
    int64_t at_us;
    uint32_t roc;
    bool roc_given;
} got_pkt;

static struct {
    got_pkt p[1024];
    size_t n;
} got;

/* The RTP packets sent to p on ssrc (0: any), from its sent packet number `from` on, into `got`. */
static size_t collect(peer *p, uint32_t ssrc, size_t from)
{
    got.n = 0;
    for (size_t i = from; i < fake_peer_n_sent(p); i++) {
        const fake_sent *s = fake_peer_sent(p, i);
        if (s->rtcp)
            continue;
        got_pkt *g = &got.p[got.n];
        memcpy(g->data, s->data, s->len);
        assert_int_equal(rtp_parse(&g->v, g->data, s->len), 0);
        if (ssrc && g->v.ssrc != ssrc)
            continue;
        g->at_us = s->at_us;
        g->roc = s->roc;
        g->roc_given = s->roc_given;
        assert_true(++got.n < sizeof(got.p) / sizeof(got.p[0]));
    }
    return got.n;
}

/* The origin tag of a forwarded packet (offset: bytes before the tagged payload, 2 for RTX). */
static int origin_layer(const got_pkt *g)
{
    const uint8_t *end = g->v.pkt + g->v.payload_off + g->v.payload_len;
    assert_int_equal(end[-1], ORIGIN_TAG);
    return end[-4];
}

static uint16_t origin_seq(const got_pkt *g)
{
    const uint8_t *end = g->v.pkt + g->v.payload_off + g->v.payload_len;
    assert_int_equal(end[-1], ORIGIN_TAG);
    return (uint16_t)(end[-3] << 8 | end[-2]);
}

/* A copy of a collected packet that the next collect() leaves alone. */
static void keep(got_pkt *dst, const got_pkt *src)
{
    *dst = *src;
    dst->v.pkt = dst->data;
}

static bool is_keyframe_start(const got_pkt *g)
{
    struct rtp_vp8 d;
    return rtp_vp8_parse(g->v.pkt + g->v.payload_off, g->v.payload_len, &d) == 0 && d.keyframe;
}

/* The packet of s that a forwarded packet came from (its origin tag), parsed in s's history. */
static struct rtp_view source_of(const stream *s, const got_pkt *g)
{
    size_t len = 0;
    struct rtp_view v;
    const uint8_t *orig = sent_by(s, origin_seq(g), &len);
    assert_non_null(orig);
    assert_int_equal(rtp_parse(&v, orig, len), 0);
    return v;
}

/* One RTCP packet the SFU sent, what the tests look at. */
typedef struct {
    enum rtcp_kind kind;
    int64_t at_us;
    uint32_t ssrc, media_ssrc;
    uint16_t nacked[64];
    size_t n_nacked;
    struct rtcp_sr_info sr;
    struct rtcp_report_block rb[8]; /* RR */
    unsigned n_rb;
    uint16_t twcc_base, twcc_count; /* transport-cc: the packets described, whether each arrived */
    bool twcc_received[256];
} rtcp_seen;

/* The RTCP packets of `kind` sent to p from its sent packet number `from` on, about media_ssrc (0:
 * any). */
static size_t rtcp_sent(peer *p, size_t from, enum rtcp_kind kind, uint32_t media_ssrc, rtcp_seen *out, size_t max)
{
    size_t n = 0;
    for (size_t i = from; i < fake_peer_n_sent(p); i++) {
        const fake_sent *s = fake_peer_sent(p, i);
        if (!s->rtcp)
            continue;
        struct rtcp_iter it;
        struct rtcp_pkt pk;
        int rc;
        rtcp_iter_init(&it, s->data, s->len);
        while ((rc = rtcp_iter_next(&it, &pk)) > 0) {
            uint32_t about = pk.kind == RTCP_K_SR ? pk.ssrc : pk.media_ssrc;
            if (pk.kind != kind || (media_ssrc && about != media_ssrc))
                continue;
            assert_true(n < max);
            rtcp_seen *r = &out[n++];
            memset(r, 0, sizeof(*r));
            r->kind = pk.kind;
            r->at_us = s->at_us;
            r->ssrc = pk.ssrc;
            r->media_ssrc = pk.media_ssrc;
            if (pk.kind == RTCP_K_SR)
                r->sr = pk.u.sr.info;
            for (unsigned k = 0; pk.kind == RTCP_K_RR && k < pk.count && r->n_rb < 8; k++)
                assert_int_equal(rtcp_pkt_report_block(&pk, k, &r->rb[r->n_rb++]), 0);
            if (pk.kind == RTCP_K_TWCC) {
                struct rtcp_twcc_iter ti;
                struct rtcp_twcc_status st;
                r->twcc_base = pk.u.twcc.base_seq;
                r->twcc_count = pk.u.twcc.status_count;
                rtcp_twcc_iter_init(&pk.u.twcc, &ti);
                for (unsigned k = 0; rtcp_twcc_next(&ti, &st) > 0 && k < 256; k++)
                    r->twcc_received[k] = st.symbol != RTCP_TWCC_NOT_RECEIVED;
            }
            for (unsigned k = 0; pk.kind == RTCP_K_NACK && k < pk.u.nack.n_items; k++) {
                struct rtcp_nack_item item;
                uint16_t seqs[17];
                assert_int_equal(rtcp_pkt_nack_item(&pk, k, &item), 0);
                unsigned m = rtcp_nack_unpack(&item, seqs);
                for (unsigned j = 0; j < m && r->n_nacked < 64; j++)
                    r->nacked[r->n_nacked++] = seqs[j];
            }
        }
        assert_int_equal(rc, 0); /* what the SFU builds parses */
    }
    return n;
}

/* The publisher answers the PLIs it got since `*from` with a keyframe on the stream asked for. */
static void answer_plis(publisher *p, size_t *from, stream **streams, size_t n)
{
    rtcp_seen pli[64];
    size_t k = rtcp_sent(p->up, *from, RTCP_K_PLI, 0, pli, 64);
    *from = fake_peer_n_sent(p->up);
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < n; j++)
            if (streams[j]->ssrc == pli[i].media_ssrc)
                streams[j]->key_due = true;
}

/* ---- members ---- */

static publisher PA; /* alice */
static stream SA, SV; /* alice's audio and (one-stream) video */
static stream SL[3];  /* alice's simulcast layers q, h, f */
static mline BA, BV;  /* bob's m-lines for alice's audio and video, from the SFU's offer */

/* st as alice's simulcast layer k (q, h, f: 320x180 << k, starting with a keyframe) of m-line m; track
 * (nth) 0 is her camera, another one (a screen) has its SSRCs and sequence numbers moved out of its way. */
static void layer_init(stream *st, const mline *m, unsigned k, unsigned nth)
{
    static const char *const rids[3] = {"q", "h", "f"};
    stream_init(st, &PA, m, 0x51000001u + k + 16 * nth, 0x52000001u + k + 16 * nth,
                (uint16_t)(7000 * (k + 1) + 100 * nth));
    st->rid = rids[k];
    st->layer = (uint8_t)k;
    st->width = (uint16_t)(320 << k);
    st->height = (uint16_t)(180 << k);
    st->picid = (uint16_t)(100 * k + 5);
    st->key_due = true;
}

/* user publishes the offer; the SFU answers and the publishing connection comes up. */
static void publish(publisher *p, const char *user, const char *offer)
{
    size_t from = W.n_ev;
    room_remote_sdp(W.r, user, SFU_PC_UP, offer);
    assert_null(event_after(from, user, SFU_EV_ERROR));
    assert_non_null(event_after(from, user, SFU_EV_ANSWER));
    memset(p, 0, sizeof(*p));
    p->up = mem(user)->up;
    assert_non_null(p->up);
    fake_peer_set_state(p->up, PEER_CONNECTED, NULL);
}

/* user answers the SFU's last offer as a browser, and the receiving connection comes up. */
static void receive(const char *user, bool twcc)
{
    size_t from = W.n_ev;
    const event_rec *o = event_after(0, user, SFU_EV_OFFER);
    assert_non_null(o);
    char *answer = browser_answer(o->ev->text, twcc);
    room_remote_sdp(W.r, user, SFU_PC_DOWN, answer);
    free(answer);
    assert_null(event_after(from, user, SFU_EV_ERROR));
    fake_peer_set_state(mem(user)->down, PEER_CONNECTED, NULL);
}

/* The m-line of the SFU's answer to user's upstream offer. */
static mline answered(const char *user, sdp_media_kind kind)
{
    const event_rec *a = event_after(0, user, SFU_EV_ANSWER);
    assert_non_null(a);
    return read_mline(a->ev->text, kind, 0);
}

/* Chromium's audio + video offer with the ids of audio-level and mid, and of abs-send-time and
 * transport-cc, swapped (so that each maps to another id towards a receiver). */
static char *swapped_offer(void)
{
    char *offer = load("chromium-offer-sendonly.sdp");
    offer = swap_ext(offer, SDP_EXT_URI_AUDIO_LEVEL, SDP_EXT_URI_MID);
    return swap_ext(offer, SDP_EXT_URI_ABS_SEND_TIME, SDP_EXT_URI_TWCC);
}

/* Returns bob's receiving connection. alice publishes swapped_offer(); bob receives both tracks
 * (taking transport-cc or not); every connection is up. Alice's sequence numbers start just below
 * the wrap. */
static peer *two_members(bool twcc)
{
    room_join(W.r, "alice");
    room_join(W.r, "bob");
    char *offer = swapped_offer();
    publish(&PA, "alice", offer);
    mline oa = read_mline(offer, SDP_MEDIA_AUDIO, 0), ov = read_mline(offer, SDP_MEDIA_VIDEO, 0);
    free(offer);
    mline aa = answered("alice", SDP_MEDIA_AUDIO), av = answered("alice", SDP_MEDIA_VIDEO);
    stream_init(&SA, &PA, &aa, oa.ssrc, 0, 65500);
    stream_init(&SV, &PA, &av, ov.ssrc, ov.rtx_ssrc, 65530);
    receive("bob", twcc);
    BA = offered("bob", SDP_MEDIA_AUDIO, 0);
    BV = offered("bob", SDP_MEDIA_VIDEO, 0);
    return mem("bob")->down;
}

/* alice publishes Chromium's offer with three simulcast encodings (q, h, f: 320x180, 640x360,
 * 1280x720, each starting with a keyframe); bob receives (with transport-cc or not). */
static void simulcast_members(bool twcc)
{
    room_join(W.r, "alice");
    room_join(W.r, "bob");
    char *offer = load("chromium-offer-simulcast.sdp");
    publish(&PA, "alice", offer);
    mline oa = read_mline(offer, SDP_MEDIA_AUDIO, 0);
    free(offer);
    mline aa = answered("alice", SDP_MEDIA_AUDIO), av = answered("alice", SDP_MEDIA_VIDEO);
    assert_true(av.ext.mid && av.ext.rid);
    stream_init(&SA, &PA, &aa, oa.ssrc, 0, 4000);
    for (unsigned k = 0; k < 3; k++)
        layer_init(&SL[k], &av, k, 0);
    receive("bob", twcc);
    BA = offered("bob", SDP_MEDIA_AUDIO, 0);
    BV = offered("bob", SDP_MEDIA_VIDEO, 0);
}

/* n frame intervals: each layer in on_mask sends a picture (layer k in k + 1 packets), alice's
 * audio a packet, in one loop iteration; alice answers the PLIs for the layers in answer_mask with
 * a keyframe on their next picture. */
static void simulcast_frames(int n, unsigned on_mask, unsigned answer_mask, size_t *pli_from)
{
    stream *answering[3];
    size_t n_answering = 0;
    for (unsigned k = 0; k < 3; k++)
        if (answer_mask & (1u << k))
            answering[n_answering++] = &SL[k];
    for (int i = 0; i < n; i++) {
        answer_plis(&PA, pli_from, answering, n_answering);
        for (unsigned k = 0; k < 3; k++)
            if (on_mask & (1u << k))
                deliver_frame(&SL[k], false, k + 1, 600);
        deliver_audio(&SA);
        fake_loop_end_iteration();
        advance(FRAME_US);
    }
}

/* simulcast_members, and half a second of every layer: bob gets the top one. Returns his receiving
 * connection. */
static peer *simulcast_flowing(size_t *pli_from)
{
    simulcast_members(false);
    *pli_from = 0;
    simulcast_frames(16, 7, 7, pli_from);
    peer *bd = mem("bob")->down;
    assert_int_equal(origin_layer(&got.p[collect(bd, BV.ssrc, 0) - 1]), 2);
    return bd;
}

/* What p was sent on ssrc from its packet number `from` on (collected into `got`) is one unbroken
 * VP8 stream: consecutive sequence numbers, timestamps not going back, and (vp8_ids) at each picture
 * start the picture id and TL0PICIDX one more than the last (every picture is temporal layer 0); the
 * packets of a picture share its id. The SFU renumbers VP8 pictures of simulcast videos only: a
 * one-stream video's ids are the publisher's (a gap after a pause, at a keyframe, like a loss). */
static void check_continuity(peer *p, uint32_t ssrc, size_t from, bool vp8_ids)
{
    struct rtp_vp8 prev, d;
    assert_true(collect(p, ssrc, from) > 0);
    assert_int_equal(rtp_vp8_parse(got.p[0].v.pkt + got.p[0].v.payload_off, got.p[0].v.payload_len, &prev), 0);
    for (size_t i = 1; i < got.n; i++) {
        const struct rtp_view *a = &got.p[i - 1].v, *b = &got.p[i].v;
        assert_int_equal(b->seq, (uint16_t)(a->seq + 1));
        assert_true((int32_t)(b->ts - a->ts) >= 0);
        assert_int_equal(rtp_vp8_parse(b->pkt + b->payload_off, b->payload_len, &d), 0);
        assert_true(d.has_picid && d.has_tl0);
        bool picture_start = d.start && d.pid == 0;
        if (picture_start)
            assert_true(b->ts != a->ts);
        else
            assert_int_equal(b->ts, a->ts);
        if (vp8_ids) {
            assert_int_equal(d.picid, picture_start ? (prev.picid + 1) & 0x7fff : prev.picid);
            assert_int_equal(d.tl0picidx, picture_start ? (uint8_t)(prev.tl0picidx + 1) : prev.tl0picidx);
        }
        prev = d;
    }
}

/* Kept header extension elements of a forwarded packet: how many, and the first one. */
static int kept_ext(const struct rtp_view *v, struct rtp_ext *first)
{
    struct rtp_ext_iter it;
    struct rtp_ext e;
    int n = 0, rc;
    rtp_ext_iter_init(v, &it);
    while ((rc = rtp_ext_next(v, &it, &e)) > 0)
        if (n++ == 0)
            *first = e;
    assert_int_equal(rc, 0);
    return n;
}

static void set_view(const char *user, const char *mid, uint16_t w, uint16_t h)
{
    sfu_view v;
    memset(&v, 0, sizeof(v));
    assert_true(g_strlcpy(v.mid, mid, sizeof(v.mid)) < sizeof(v.mid));
    v.width = w;
    v.height = h;
    room_video_views(W.r, user, &v, 1);
}

static track *video_track(const char *user)
{
    member *m = mem(user);
    for (size_t i = 0; i < m->n_tracks; i++)
        if (m->tracks[i]->kind == SDP_MEDIA_VIDEO)
            return m->tracks[i];
    fail_msg("%s publishes no video", user);
    return NULL;
}

/* ---- 1. negotiation and forwarding ---- */

/* Two members: alice publishes, bob receives. The negotiation (offer to bob, his answer applied,
 * transports configured), then alice's RTP reaches bob rewritten: his own SSRCs, the payload types
 * he was offered, consecutive sequence numbers through the 16-bit wrap with the SRTP rollover
 * counter following, alice's timestamps with one offset, payloads untouched, header extensions
 * mapped to his ids (alice's audio level from her id to his; mid, abs-send-time and transport-cc,
 * which he did not take, blanked). */
static void test_forward_rewritten(void **state)
{
    (void)state;
    peer *bd = two_members(false);
    assert_true(fake_peer_controlling(bd));
    assert_false(fake_peer_controlling(PA.up));
    assert_true(fake_peer_gathering(bd));
    const sdp_remote_transport *rt = fake_peer_remote(bd);
    assert_non_null(rt);
    assert_string_equal(rt->ice_ufrag, BROWSER_UFRAG);
    assert_false(rt->dtls_client); /* the browser answered setup:active */
    assert_true(BV.ssrc && BV.ssrc != SV.ssrc && BV.rtx_ssrc && BV.rtx_ssrc != SV.rtx_ssrc && BV.rtx_pt >= 0);
    assert_true(BA.ssrc && BA.ssrc != SA.ssrc);
    assert_int_equal(BV.pt, SV.sdp.pt);
    assert_int_equal(BA.pt, SA.sdp.pt);
    assert_true(BA.ext.audio_level && BA.ext.audio_level != SA.sdp.ext.audio_level);

    /* candidates trickle to bob under the first m-line's mid */
    size_t ev0 = W.n_ev;
    fake_peer_candidate(bd, "candidate:1 1 udp 2130706431 192.0.2.1 40000 typ host");
    const event_rec *c = event_after(ev0, "bob", SFU_EV_CANDIDATE);
    assert_non_null(c);
    assert_int_equal(c->ev->pc, SFU_PC_DOWN);
    sdp_session *o = parse(event_after(0, "bob", SFU_EV_OFFER)->ev->text);
    assert_string_equal(c->ev->mid, o->media[0]->mid);
    sdp_free(o);

    /* bob's connection came up: alice was asked for a keyframe for him */
    rtcp_seen pli[4];
    assert_int_equal(rtcp_sent(PA.up, 0, RTCP_K_PLI, SV.ssrc, pli, 4), 1);

    size_t from = fake_peer_n_sent(bd);
    send_frame(&SV, true, 3, 1000);
    for (int i = 0; i < 12; i++) {
        send_audio(&SA);
        advance(AUDIO_US);
        if (i % 2)
            send_frame(&SV, false, 2, 700);
    }
    /* a packet of no published SSRC, and one of a payload type not negotiated, go nowhere */
    stream stray = SV;
    stray.ssrc = 0xdeadbeef;
    send_frame(&stray, false, 1, 100);
    stray.ssrc = SV.ssrc;
    stray.sdp.pt = 45;
    send_frame(&stray, false, 1, 100);
    assert_int_equal(STATS_GET(W.stats.dropped_unknown_ssrc), 1);

    size_t n = collect(bd, BV.ssrc, from);
    assert_int_equal(n, 3 + 6 * 2);
    assert_true(is_keyframe_start(&got.p[0]));
    const got_pkt *g0 = &got.p[0];
    uint32_t ts_off = g0->v.ts - source_of(&SV, g0).ts;
    for (size_t i = 0; i < n; i++) {
        const got_pkt *g = &got.p[i];
        struct rtp_view ov = source_of(&SV, g);
        assert_int_equal(g->v.pt, BV.pt);
        assert_int_equal(g->v.seq, (uint16_t)(g0->v.seq + i));
        assert_int_equal(g->v.ts - ov.ts, ts_off);
        assert_int_equal(g->v.marker, ov.marker);
        assert_int_equal(g->v.payload_len, ov.payload_len);
        assert_memory_equal(g->v.pkt + g->v.payload_off, ov.pkt + ov.payload_off, ov.payload_len);
        assert_true(g->roc_given);
        assert_int_equal(g->roc, (g0->v.seq + i) >> 16); /* the first has rollover counter 0 */
        struct rtp_ext e;
        assert_int_equal(kept_ext(&g->v, &e), 0);
    }
    assert_true(got.p[n - 1].v.seq < g0->v.seq); /* the wrap was crossed */
    /* each fan-out ended with bob's queue flushed */
    assert_true(fake_peer_flushes(bd) > fake_peer_sent(bd, fake_peer_n_sent(bd) - 1)->flushes);

    n = collect(bd, BA.ssrc, from);
    assert_int_equal(n, 12);
    for (size_t i = 0; i < n; i++) {
        const got_pkt *g = &got.p[i];
        assert_int_equal(g->v.pt, BA.pt);
        assert_int_equal(g->v.seq, (uint16_t)(got.p[0].v.seq + i));
        struct rtp_ext e;
        assert_int_equal(kept_ext(&g->v, &e), 1);
        assert_int_equal(e.id, BA.ext.audio_level);
        assert_int_equal(e.len, 1);
        assert_int_equal(g->v.pkt[e.off], 0x85);
    }
}

/* One offer at a time on bob's receiving connection: carol publishing while bob's first offer waits
 * for its answer is offered right after it. Two publishers with the same SSRCs (the same captured
 * offer) reach bob apart. An answer when no offer waits is refused. alice leaving with packets of
 * hers waiting for the fan-out: none of them goes out, carol's media goes on, and bob is offered
 * alice's m-lines inactive. */
/* The audio level of alice's packets (RFC 6464, -5 dBov: speech) reaches the speaker detector
 * through the publisher's own extension id: after a second of it she is the dominant speaker, told
 * to the whole meeting (user_id ""), once; a participant who joins later is told who spoke; when she
 * leaves the meeting is told again (nobody). */
static void test_active_speaker(void **state)
{
    (void)state;
    two_members(false);
    size_t ev0 = W.n_ev;
    int64_t t0 = fake_clock_now();
    for (int i = 0; i < 75; i++) { /* 1.5 s of 20 ms packets */
        send_audio(&SA);
        advance(20000);
    }
    const event_rec *e = event_after(ev0, "", SFU_EV_SPEAKERS);
    assert_non_null(e);
    assert_string_equal(e->ev->text, "alice");
    assert_int_equal(count_events(ev0, "", SFU_EV_SPEAKERS), 1);
    assert_true(e->at_us - t0 <= 1300000);
    room_join(W.r, "carol");
    const event_rec *c = event_after(ev0, "carol", SFU_EV_SPEAKERS);
    assert_non_null(c);
    assert_string_equal(c->ev->text, "alice");
    size_t ev1 = W.n_ev;
    room_leave(W.r, "alice");
    advance(400000);
    e = event_after(ev1, "", SFU_EV_SPEAKERS);
    assert_non_null(e);
    assert_string_equal(e->ev->text, "");
}

static void test_renegotiation_and_leave(void **state)
{
    (void)state;
    static publisher PC;
    static stream SC;
    room_join(W.r, "bob");
    room_join(W.r, "alice");
    room_join(W.r, "carol");
    char *offer = load("chromium-offer-sendonly.sdp");
    mline ov = read_mline(offer, SDP_MEDIA_VIDEO, 0);
    publish(&PA, "alice", offer);
    assert_int_equal(count_events(0, "bob", SFU_EV_OFFER), 1);
    publish(&PC, "carol", offer);
    free(offer);
    assert_int_equal(count_events(0, "bob", SFU_EV_OFFER), 1);
    receive("bob", false);
    assert_int_equal(count_events(0, "bob", SFU_EV_OFFER), 2);
    receive("bob", false);
    assert_int_equal(count_events(0, "bob", SFU_EV_OFFER), 2);
    mline b_alice = offered("bob", SDP_MEDIA_VIDEO, 0), b_carol = offered("bob", SDP_MEDIA_VIDEO, 1);
    assert_int_not_equal(b_alice.ssrc, b_carol.ssrc);

    size_t ev0 = W.n_ev;
    const event_rec *last_offer = event_after(0, "bob", SFU_EV_OFFER);
    char *again = browser_answer(last_offer->ev->text, false);
    room_remote_sdp(W.r, "bob", SFU_PC_DOWN, again);
    free(again);
    assert_non_null(event_after(ev0, "bob", SFU_EV_ERROR));

    mline av = answered("alice", SDP_MEDIA_VIDEO), cv = answered("carol", SDP_MEDIA_VIDEO);
    stream_init(&SV, &PA, &av, ov.ssrc, ov.rtx_ssrc, 1000);
    stream_init(&SC, &PC, &cv, ov.ssrc, ov.rtx_ssrc, 1000);
    SC.layer = 1; /* tells carol's packets from alice's */
    peer *bd = mem("bob")->down;
    size_t from = fake_peer_n_sent(bd);
    deliver_frame(&SV, true, 2, 500);
    deliver_frame(&SC, true, 2, 500);
    fake_loop_end_iteration();
    assert_int_equal(collect(bd, b_alice.ssrc, from), 2);
    assert_int_equal(origin_layer(&got.p[0]), 0);
    assert_int_equal(collect(bd, b_carol.ssrc, from), 2);
    assert_int_equal(origin_layer(&got.p[0]), 1);

    from = fake_peer_n_sent(bd);
    ev0 = W.n_ev;
    advance(FRAME_US);
    deliver_frame(&SV, false, 2, 500);
    deliver_frame(&SC, false, 2, 500);
    room_leave(W.r, "alice");
    fake_loop_end_iteration();
    assert_int_equal(collect(bd, b_alice.ssrc, from), 0);
    assert_int_equal(collect(bd, b_carol.ssrc, from), 2);
    const event_rec *o = event_after(ev0, "bob", SFU_EV_OFFER);
    assert_non_null(o);
    sdp_session *s = parse(o->ev->text);
    const sdp_media *gone = sdp_find_mid(s, b_alice.mid), *kept = sdp_find_mid(s, b_carol.mid);
    assert_true(gone && kept);
    assert_true(gone->direction == SDP_DIR_INACTIVE || gone->port == 0);
    assert_int_equal(kept->direction, SDP_DIR_SENDONLY);
    sdp_free(s);
}

/* Candidates both ways (the SFU's under the first m-line's mid, the browser's to the right
 * connection); a connection failing is told to its browser, and nothing more is sent on it. */
static void test_transport_events(void **state)
{
    (void)state;
    peer *bd = two_members(false);
    size_t ev0 = W.n_ev;
    fake_peer_candidate(PA.up, "candidate:1 1 udp 2130706431 192.0.2.1 40002 typ host");
    fake_peer_candidate(PA.up, "");
    assert_int_equal(count_events(ev0, "alice", SFU_EV_CANDIDATE), 2);
    const event_rec *e = event_after(ev0, "alice", SFU_EV_CANDIDATE);
    assert_int_equal(e->ev->pc, SFU_PC_UP);
    assert_string_equal(e->ev->mid, SA.sdp.mid);
    assert_string_equal(e->ev->text, "");
    room_remote_candidate(W.r, "bob", SFU_PC_DOWN, "candidate:1 1 udp 2130706431 198.51.100.7 50000 typ host");
    room_remote_candidate(W.r, "alice", SFU_PC_UP, "");
    assert_int_equal(fake_peer_n_remote_candidates(bd), 1);
    assert_int_equal(fake_peer_n_remote_candidates(PA.up), 1);

    fake_peer_set_state(bd, PEER_FAILED, "ICE failed or consent lost");
    e = event_after(ev0, "bob", SFU_EV_FAILED);
    assert_non_null(e);
    assert_int_equal(e->ev->pc, SFU_PC_DOWN);
    assert_string_equal(e->ev->text, "ICE failed or consent lost");
    size_t from = fake_peer_n_sent(bd);
    send_frame(&SV, true, 2, 500);
    send_audio(&SA);
    advance(1000000);
    assert_int_equal(fake_peer_n_sent(bd), from);
    assert_int_equal(fake_peer_refused(bd), 0); /* not even tried */
    fake_peer_set_state(PA.up, PEER_FAILED, NULL);
    e = event_after(ev0, "alice", SFU_EV_FAILED);
    assert_non_null(e);
    assert_int_equal(e->ev->pc, SFU_PC_UP);
    assert_true(e->ev->text[0] != '\0');
}

/* A connection that gets no UDP port (libnice could bind none): its member is reported once
 * (SFU_EV_NO_PORTS, with the connection), left alone until signaling takes it out (its SDP and
 * candidates ignored, its tracks offered to nobody), and the others go on as before. */
static void test_no_ports(void **state)
{
    (void)state;
    peer *bd = two_members(false);
    size_t ev0 = W.n_ev;
    fake_peer_fail_gather(true);
    room_join(W.r, "carol"); /* alice publishes: carol's receiving connection is made at once */
    const event_rec *e = event_after(ev0, "carol", SFU_EV_NO_PORTS);
    assert_non_null(e);
    assert_int_equal(e->ev->pc, SFU_PC_DOWN);
    assert_true(e->ev->text[0] != '\0');
    char *offer = swapped_offer();
    room_remote_sdp(W.r, "carol", SFU_PC_UP, offer);
    room_remote_candidate(W.r, "carol", SFU_PC_DOWN, "candidate:1 1 udp 2130706431 198.51.100.9 50000 typ host");
    assert_null(event_after(ev0, "carol", SFU_EV_ANSWER));
    assert_null(mem("carol")->up);
    assert_int_equal(fake_peer_n_remote_candidates(mem("carol")->down), 0);
    assert_int_equal(count_events(ev0, "carol", SFU_EV_NO_PORTS), 1);

    fake_peer_fail_gather(false);
    room_join(W.r, "dave");
    receive("dave", false);
    fake_peer_fail_gather(true);
    size_t ev1 = W.n_ev;
    room_remote_sdp(W.r, "dave", SFU_PC_UP, offer); /* answered; then no port for it */
    free(offer);
    assert_non_null(event_after(ev1, "dave", SFU_EV_ANSWER));
    e = event_after(ev1, "dave", SFU_EV_NO_PORTS);
    assert_non_null(e);
    assert_int_equal(e->ev->pc, SFU_PC_UP);
    assert_int_equal(mem("dave")->n_tracks, 0);
    assert_int_equal(count_events(ev1, "bob", SFU_EV_OFFER), 0); /* dave's tracks: offered to nobody */
    assert_int_equal(count_events(ev1, "alice", SFU_EV_OFFER), 0);

    room_leave(W.r, "carol");
    room_leave(W.r, "dave");
    assert_int_equal(W.r->n_members, 2);
    size_t from = fake_peer_n_sent(bd);
    send_frame(&SV, true, 2, 500);
    advance(FRAME_US);
    check_continuity(bd, BV.ssrc, from, false);
    assert_int_equal(got.n, 2);
}

/* alice's camera changes (a new offer, the video with another SSRC): her m-line keeps its track (bob
 * is offered nothing new), the old SSRC is forgotten in her SRTP state and no longer forwarded, and
 * bob's stream goes on with the new source: his SSRC, his numbering continued. */
static void test_publisher_new_ssrc(void **state)
{
    (void)state;
    peer *bd = two_members(false);
    size_t from = fake_peer_n_sent(bd);
    for (int i = 0; i < 2; i++, advance(FRAME_US))
        send_frame(&SV, i == 0, 2, 500);
    char *offer = swapped_offer();
    sdp_session *s = parse(offer);
    free(offer);
    sdp_media *m = s->media[1];
    uint32_t old = SV.ssrc, fresh = old ^ 0x5a5a5a5au;
    assert_int_equal(m->ssrcs[0].ssrc, old);
    m->ssrcs[0].ssrc = fresh;
    m->ssrc_groups[0].ssrcs[0] = fresh;
    offer = build(s);
    size_t ev0 = W.n_ev;
    room_remote_sdp(W.r, "alice", SFU_PC_UP, offer);
    free(offer);
    assert_non_null(event_after(ev0, "alice", SFU_EV_ANSWER));
    assert_int_equal(count_events(ev0, "bob", SFU_EV_OFFER), 0);
    assert_true(fake_peer_forgot(PA.up, old));

    send_frame(&SV, false, 1, 500); /* a late packet of the old source */
    assert_int_equal(STATS_GET(W.stats.dropped_unknown_ssrc), 1);
    SV.ssrc = fresh;
    SV.seq = 30000;
    SV.picid = 1;
    for (int i = 0; i < 4; i++) {
        advance(FRAME_US);
        send_frame(&SV, i == 0, 2, 500);
    }
    check_continuity(bd, BV.ssrc, from, false);
    assert_int_equal(got.n, 4 + 8);
    assert_int_equal(origin_seq(&got.p[4]), 30000);
}

/* alice's first offer is refused (no DTLS fingerprint); her next one is answered and sets her
 * publishing connection up as a first one would: the browser's transport applied, gathering
 * started, candidates under her first mid. */
static void test_refused_offer_then_good_one(void **state)
{
    (void)state;
    room_join(W.r, "alice");
    char *good = swapped_offer();
    sdp_session *s = parse(good);
    for (size_t i = 0; i < s->n_media; i++)
        s->media[i]->transport.fingerprint.len = 0;
    s->transport.fingerprint.len = 0;
    char *bad = build(s);
    size_t ev0 = W.n_ev;
    room_remote_sdp(W.r, "alice", SFU_PC_UP, bad);
    free(bad);
    assert_non_null(event_after(ev0, "alice", SFU_EV_ERROR));
    assert_null(event_after(ev0, "alice", SFU_EV_ANSWER));

    ev0 = W.n_ev;
    room_remote_sdp(W.r, "alice", SFU_PC_UP, good);
    free(good);
    assert_null(event_after(ev0, "alice", SFU_EV_ERROR));
    assert_non_null(event_after(ev0, "alice", SFU_EV_ANSWER));
    peer *up = mem("alice")->up;
    assert_non_null(fake_peer_remote(up));
    assert_true(fake_peer_gathering(up));
    fake_peer_candidate(up, "");
    assert_string_equal(event_after(ev0, "alice", SFU_EV_CANDIDATE)->ev->mid, "0");
}

/* ---- 2. losses ---- */

/* Upstream: a gap in alice's sequence numbers makes the SFU NACK her, NACK_TRIES times
 * NACK_RETRY_US apart at least, then give up; a loss she repairs (RTX) is NACKed no more and
 * reaches bob in place. Downstream: bob's NACKs for packets he got are answered from the cache as
 * RTX (RFC 4588: his RTX SSRC and payload type, its own sequence numbers, the original sequence
 * number first, then the payload); one for a packet the SFU never had is not. */
static void test_nack_upstream_and_rtx(void **state)
{
    (void)state;
    peer *bd = two_members(false);
    size_t from = fake_peer_n_sent(bd);
    send_frame(&SV, true, 3, 900);
    advance(FRAME_US);

    size_t up_from = fake_peer_n_sent(PA.up);
    uint16_t lost = (uint16_t)(SV.seq + 1);
    deliver_frame_lossy(&SV, false, 3, 900, 1u << 1);
    fake_loop_end_iteration();
    for (int i = 0; i < 10; i++) {
        advance(FRAME_US);
        send_frame(&SV, false, 2, 500);
    }
    rtcp_seen nk[32];
    size_t n = rtcp_sent(PA.up, up_from, RTCP_K_NACK, SV.ssrc, nk, 32);
    assert_int_equal(n, NACK_TRIES);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(nk[i].n_nacked, 1);
        assert_int_equal(nk[i].nacked[0], lost);
        assert_int_equal(nk[i].ssrc, mem("alice")->rtcp_ssrc);
        if (i)
            assert_true(nk[i].at_us - nk[i - 1].at_us >= NACK_RETRY_US);
    }
    assert_true(nk[0].at_us - T0 < 2 * FRAME_US + ROOM_TICK_MS * 1000);
    assert_int_equal(STATS_GET(W.stats.nacks_sent), NACK_TRIES);

    /* a loss alice repairs after the first NACK */
    up_from = fake_peer_n_sent(PA.up);
    uint16_t lost2 = SV.seq;
    deliver_frame_lossy(&SV, false, 2, 600, 1u << 0);
    fake_loop_end_iteration();
    advance(ROOM_TICK_MS * 1000);
    assert_int_equal(rtcp_sent(PA.up, up_from, RTCP_K_NACK, SV.ssrc, nk, 32), 1);
    send_rtx(&SV, lost2);
    for (int i = 0; i < 6; i++) {
        advance(FRAME_US);
        send_frame(&SV, false, 2, 500);
    }
    assert_int_equal(rtcp_sent(PA.up, up_from, RTCP_K_NACK, SV.ssrc, nk, 32), 1);

    n = collect(bd, BV.ssrc, from);
    int32_t off = (int16_t)(got.p[0].v.seq - origin_seq(&got.p[0]));
    bool repaired = false;
    for (size_t i = 0; i < n; i++) {
        assert_int_not_equal(origin_seq(&got.p[i]), lost);
        assert_int_equal(got.p[i].v.seq, (uint16_t)(origin_seq(&got.p[i]) + off));
        repaired = repaired || origin_seq(&got.p[i]) == lost2;
    }
    assert_true(repaired);

    /* bob NACKs two packets he got, and the one he never got */
    static got_pkt a, b;
    keep(&a, &got.p[1]);
    keep(&b, &got.p[2]);
    uint16_t seqs[3] = {a.v.seq, b.v.seq, (uint16_t)(lost + off)};
    struct rtcp_nack_item items[3];
    for (int round = 0; round < 2; round++) {
        size_t n_items = rtcp_nack_pack(round == 0 ? seqs : &seqs[2], round == 0 ? 2 : 1, items, 3, NULL);
        uint8_t buf[128];
        int len = rtcp_build_nack(buf, sizeof(buf), 0xb0b0b0b0u, BV.ssrc, items, n_items);
        size_t rfrom = fake_peer_n_sent(bd);
        deliver_rtcp(bd, buf, len);
        n = collect(bd, BV.rtx_ssrc, rfrom);
        if (round == 1) {
            assert_int_equal(n, 0);
            break;
        }
        assert_int_equal(n, 2);
        for (size_t i = 0; i < 2; i++) {
            const got_pkt *r = &got.p[i], *orig = i ? &b : &a;
            assert_int_equal(r->v.pt, BV.rtx_pt);
            assert_int_equal(r->v.ts, orig->v.ts);
            assert_int_equal(r->v.marker, orig->v.marker);
            assert_int_equal(r->v.payload_len, orig->v.payload_len + 2);
            const uint8_t *p = r->v.pkt + r->v.payload_off;
            assert_int_equal(p[0] << 8 | p[1], orig->v.seq);
            assert_memory_equal(p + 2, orig->v.pkt + orig->v.payload_off, orig->v.payload_len);
            assert_true(r->roc_given);
        }
        assert_int_equal(got.p[1].v.seq, (uint16_t)(got.p[0].v.seq + 1));
    }
    assert_int_equal(STATS_GET(W.stats.retransmissions), 2);
    assert_int_equal(STATS_GET(W.stats.nacks_received), 3);
}

/* What alice is told of what she sends: transport-cc feedback every tick (each of her transport-wide
 * numbers, received or not), and once a second a receiver report per stream whose loss counts what
 * never came (a loss repaired by RTX is no loss; repeats of packets that came do not hide losses),
 * and no REMB (she negotiated transport-cc). */
static void test_feedback_to_publisher(void **state)
{
    (void)state;
    two_members(false);
    advance(ROOM_TICK_MS * 1000); /* the first reports, of nothing yet */
    size_t up_from = fake_peer_n_sent(PA.up);
    uint16_t first_tw = PA.twcc_seq, first_seq = SV.seq;
    send_frame(&SV, true, 4, 600);
    uint16_t repaired = (uint16_t)(SV.seq + 1), lost_tw = (uint16_t)(PA.twcc_seq + 1);
    deliver_frame_lossy(&SV, false, 4, 600, 1u << 1 | 1u << 3); /* two lost, one repaired */
    fake_loop_end_iteration();
    send_rtx(&SV, repaired);
    for (int i = 0; i < 3; i++) /* repeats of packets that came (probe padding does so) */
        send_rtx(&SV, (uint16_t)(first_seq + i));
    for (int i = 0; i < 3; i++) {
        advance(FRAME_US);
        send_frame(&SV, false, 4, 600);
    }
    uint16_t last_seq = (uint16_t)(SV.seq - 1);
    advance(ROOM_TICK_MS * 1000);

    static rtcp_seen tw[64];
    size_t n = rtcp_sent(PA.up, up_from, RTCP_K_TWCC, 0, tw, 64);
    assert_true(n >= 1);
    unsigned received = 0, lost = 0;
    for (size_t i = 0; i < n; i++)
        for (unsigned k = 0; k < tw[i].twcc_count; k++) {
            uint16_t seq = (uint16_t)(tw[i].twcc_base + k);
            assert_true((uint16_t)(seq - first_tw) < (uint16_t)(PA.twcc_seq - first_tw));
            received += tw[i].twcc_received[k];
            lost += !tw[i].twcc_received[k];
            if (seq == lost_tw || seq == (uint16_t)(lost_tw + 2))
                assert_false(tw[i].twcc_received[k]);
        }
    assert_int_equal(received + lost, (uint16_t)(PA.twcc_seq - first_tw));
    assert_int_equal(lost, 2); /* on the transport, the repaired one was lost too: its RTX is another packet */

    advance(1000000);
    static rtcp_seen rr[64];
    n = rtcp_sent(PA.up, up_from, RTCP_K_RR, 0, rr, 64);
    assert_true(n >= 1);
    const rtcp_seen *last = &rr[n - 1];
    assert_int_equal(last->ssrc, mem("alice")->rtcp_ssrc);
    const struct rtcp_report_block *vb = NULL;
    for (unsigned k = 0; k < last->n_rb; k++)
        if (last->rb[k].ssrc == SV.ssrc)
            vb = &last->rb[k];
    assert_non_null(vb);
    assert_int_equal(vb->cum_lost, 1);
    assert_int_equal((uint16_t)vb->ext_high_seq, last_seq);
    assert_int_equal(rtcp_sent(PA.up, 0, RTCP_K_REMB, 0, rr, 64), 0);
}

/* ---- 3. keyframe requests ---- */

/* A request of bob's within ROOM_PLI_INTERVAL_US of the last PLI is sent by the tick once the
 * interval has passed. bob asks for a keyframe every 10 ms (PLI and FIR in turn): alice gets at most
 * one PLI per interval while she answers them with keyframes, and while a keyframe asked for has not
 * come, none for a second. */
static void test_pli_throttled(void **state)
{
    (void)state;
    peer *bd = two_members(false);
    send_frame(&SV, true, 2, 500); /* what the PLI of bob's connection asked for */
    stream *vs[1] = {&SV};
    size_t pli_from = 0;
    uint8_t pli[64], fir[64];
    int pli_len = rtcp_build_pli(pli, sizeof(pli), 0xb0b0b0b0u, BV.ssrc);
    rtcp_seen s[64];

    /* one request within the interval waits for it, and the tick sends it */
    advance(ROOM_TICK_MS * 1000);
    deliver_rtcp(bd, pli, pli_len);
    assert_int_equal(rtcp_sent(PA.up, 0, RTCP_K_PLI, SV.ssrc, s, 64), 1);
    advance(ROOM_PLI_INTERVAL_US);
    assert_int_equal(rtcp_sent(PA.up, 0, RTCP_K_PLI, SV.ssrc, s, 64), 2);
    assert_true(s[1].at_us - s[0].at_us >= ROOM_PLI_INTERVAL_US);
    assert_true(s[1].at_us - s[0].at_us <= ROOM_PLI_INTERVAL_US + ROOM_TICK_MS * 1000);

    for (int i = 0; i < 200; i++) { /* 2 s */
        if (i % 2)
            deliver_rtcp(bd, fir, rtcp_build_fir(fir, sizeof(fir), 0xb0b0b0b0u, BV.ssrc, (uint8_t)i));
        else
            deliver_rtcp(bd, pli, pli_len);
        if (i % 3 == 0) {
            answer_plis(&PA, &pli_from, vs, 1);
            send_frame(&SV, false, 2, 500);
        }
        advance(10000);
    }
    size_t n = rtcp_sent(PA.up, 0, RTCP_K_PLI, SV.ssrc, s, 64);
    assert_true(n >= 8); /* throttled, not starved */
    for (size_t i = 1; i < n; i++)
        assert_true(s[i].at_us - s[i - 1].at_us >= ROOM_PLI_INTERVAL_US);
    assert_int_equal(STATS_GET(W.stats.plis_received), 201);

    /* alice stops answering: asked again only after a second */
    size_t up_from = fake_peer_n_sent(PA.up);
    for (int i = 0; i < 250; i++) {
        deliver_rtcp(bd, pli, pli_len);
        if (i % 3 == 0)
            send_frame(&SV, false, 2, 500);
        advance(10000);
    }
    n = rtcp_sent(PA.up, up_from, RTCP_K_PLI, SV.ssrc, s, 64);
    assert_true(n >= 2 && n <= 3);
    for (size_t i = 1; i < n; i++)
        assert_true(s[i].at_us - s[i - 1].at_us >= 1000000);
}

/* bob's connection comes up before alice's: the keyframe asked for him cannot be sent yet, and does
 * not count as asked: once alice is connected, bob's PLI reaches her at once (not a second later,
 * as for a keyframe on its way). */
static void test_pli_before_publisher_connected(void **state)
{
    (void)state;
    room_join(W.r, "bob");
    room_join(W.r, "alice");
    char *offer = load("chromium-offer-sendonly.sdp");
    size_t from = W.n_ev;
    room_remote_sdp(W.r, "alice", SFU_PC_UP, offer);
    assert_non_null(event_after(from, "alice", SFU_EV_ANSWER));
    mline ov = read_mline(offer, SDP_MEDIA_VIDEO, 0);
    free(offer);
    memset(&PA, 0, sizeof(PA));
    PA.up = mem("alice")->up;
    mline av = answered("alice", SDP_MEDIA_VIDEO);
    stream_init(&SV, &PA, &av, ov.ssrc, ov.rtx_ssrc, 1000);
    receive("bob", false);
    BV = offered("bob", SDP_MEDIA_VIDEO, 0);
    assert_int_equal(fake_peer_n_sent(PA.up), 0);
    assert_int_equal(STATS_GET(W.stats.plis_sent), 0); /* nothing could be sent */

    advance(ROOM_TICK_MS * 1000);
    fake_peer_set_state(PA.up, PEER_CONNECTED, NULL);
    send_frame(&SV, false, 2, 500); /* her first keyframe was lost on the way */
    advance(ROOM_TICK_MS * 1000);
    uint8_t pli[64];
    deliver_rtcp(mem("bob")->down, pli, rtcp_build_pli(pli, sizeof(pli), 0xb0b0b0b0u, BV.ssrc));
    advance(ROOM_PLI_INTERVAL_US + ROOM_TICK_MS * 1000);
    rtcp_seen s[4];
    assert_int_equal(rtcp_sent(PA.up, 0, RTCP_K_PLI, SV.ssrc, s, 4), 1);
}

/* ---- 4. sender reports ---- */

/* alice's sender reports reach bob as his: his SSRC, the RTP timestamp through the same offset as
 * his packets' (not 0 here: alice's encoder restarted, which re-anchored the rewriting), the packet
 * and octet counts of what he was sent, alice's NTP time. */
static void test_sr_rewritten(void **state)
{
    (void)state;
    peer *bd = two_members(false);
    send_frame(&SV, true, 3, 800);
    send_audio(&SA);
    advance(FRAME_US);
    send_frame(&SV, false, 2, 600);
    advance(FRAME_US);
    SV.seq = (uint16_t)(SV.seq + 10000); /* alice's encoder restarts */
    SV.ts += 123456789u;
    send_frame(&SV, true, 2, 600);
    advance(FRAME_US);
    send_frame(&SV, false, 2, 600);

    size_t n = collect(bd, BV.ssrc, 0);
    uint32_t octets = 0;
    for (size_t i = 0; i < n; i++)
        octets += (uint32_t)got.p[i].v.payload_len;
    const got_pkt *last = &got.p[n - 1];
    struct rtp_view ov = source_of(&SV, last);
    uint32_t ts_off = last->v.ts - ov.ts;
    assert_int_not_equal(ts_off, 0);

    struct rtcp_sr_info sr = {SV.ssrc, 0x1122334455667788ull, ov.ts + 900, 4321, 987654};
    uint8_t buf[128];
    size_t bfrom = fake_peer_n_sent(bd);
    deliver_rtcp(PA.up, buf, rtcp_build_sr(buf, sizeof(buf), &sr, NULL, 0));
    rtcp_seen out[4];
    assert_int_equal(rtcp_sent(bd, bfrom, RTCP_K_SR, 0, out, 4), 1);
    assert_int_equal(out[0].sr.ssrc, BV.ssrc);
    assert_true(out[0].sr.ntp == sr.ntp);
    assert_int_equal(out[0].sr.rtp_ts, ov.ts + 900 + ts_off);
    assert_int_equal(out[0].sr.packets, n);
    assert_int_equal(out[0].sr.octets, octets);

    /* audio likewise; an SR of an SSRC alice does not send goes nowhere */
    n = collect(bd, BA.ssrc, 0);
    assert_int_equal(n, 1);
    sr = (struct rtcp_sr_info){SA.ssrc, 0x1122334455667799ull, SA.ts, 1, 64};
    bfrom = fake_peer_n_sent(bd);
    deliver_rtcp(PA.up, buf, rtcp_build_sr(buf, sizeof(buf), &sr, NULL, 0));
    assert_int_equal(rtcp_sent(bd, bfrom, RTCP_K_SR, 0, out, 4), 1);
    assert_int_equal(out[0].sr.ssrc, BA.ssrc);
    assert_int_equal(out[0].sr.rtp_ts, SA.ts + (got.p[0].v.ts - (SA.ts - 960)));
    sr.ssrc = 0x0badf00d;
    bfrom = fake_peer_n_sent(bd);
    deliver_rtcp(PA.up, buf, rtcp_build_sr(buf, sizeof(buf), &sr, NULL, 0));
    assert_int_equal(rtcp_sent(bd, bfrom, RTCP_K_SR, 0, out, 4), 0);
}

/* ---- 5. simulcast ---- */

/* The layer each packet bob got came from, in order: where it changes, and that every packet of
 * the part before is from `before` and the part after from `after`, starting with a keyframe. */
static size_t check_switch(int before, int after)
{
    size_t at = got.n;
    for (size_t i = 0; i < got.n; i++) {
        if (origin_layer(&got.p[i]) == after && at == got.n)
            at = i;
        assert_int_equal(origin_layer(&got.p[i]), at == got.n ? before : after);
    }
    assert_true(at > 0 && at < got.n);
    assert_true(is_keyframe_start(&got.p[at]));
    return at;
}

/* What was collected (`got`) starts at a keyframe and is all of one layer. */
static void check_one_layer(int layer)
{
    assert_true(got.n > 0);
    assert_true(is_keyframe_start(&got.p[0]));
    for (size_t i = 0; i < got.n; i++)
        assert_int_equal(origin_layer(&got.p[i]), layer);
}

/* alice sends three layers; the SFU learns their SSRCs from the rid extension and bob gets one layer
 * on one SSRC: the top one at first (no bandwidth estimate: the highest sent), asked for with a PLI on
 * its SSRC. When alice stops it, bob moves to the middle layer at its keyframe (asked for on its
 * SSRC); when it comes back, bob keeps the middle layer until the top one's keyframe, then moves up.
 * Throughout, one unbroken stream: sequence numbers, picture ids and TL0PICIDX continue. */
static void test_simulcast_switch(void **state)
{
    (void)state;
    simulcast_members(false);
    peer *bd = mem("bob")->down;
    size_t pli_from = 0, from = fake_peer_n_sent(bd);

    simulcast_frames(1, 7, 7, &pli_from);
    assert_int_equal(collect(bd, BV.ssrc, from), 0); /* no layer chosen before the first tick */
    track *t = video_track("alice");
    assert_int_equal(t->n_layers, 3);
    for (unsigned k = 0; k < 3; k++)
        assert_int_equal(t->layers[k]->ssrc, SL[k].ssrc);

    simulcast_frames(15, 7, 7, &pli_from);
    rtcp_seen s[32];
    assert_true(rtcp_sent(PA.up, 0, RTCP_K_PLI, SL[2].ssrc, s, 32) >= 1);
    assert_int_equal(rtcp_sent(PA.up, 0, RTCP_K_PLI, SL[0].ssrc, s, 32), 0);
    assert_int_equal(rtcp_sent(PA.up, 0, RTCP_K_PLI, SL[1].ssrc, s, 32), 0);
    size_t n = collect(bd, BV.ssrc, from);
    assert_true(n > 10);
    check_one_layer(2);
    assert_int_equal(collect(bd, 0, from), n + collect(bd, BA.ssrc, from)); /* nothing on other SSRCs */

    /* alice's top layer stops */
    size_t up_from = fake_peer_n_sent(PA.up);
    simulcast_frames(30, 3, 3, &pli_from);
    assert_true(rtcp_sent(PA.up, up_from, RTCP_K_PLI, SL[1].ssrc, s, 32) >= 1);
    check_continuity(bd, BV.ssrc, from, true);
    check_switch(2, 1);

    /* it comes back without a keyframe until alice answers its PLIs: bob stays on h until then */
    size_t from2 = fake_peer_n_sent(bd);
    up_from = fake_peer_n_sent(PA.up);
    simulcast_frames(20, 7, 3, &pli_from);
    assert_true(rtcp_sent(PA.up, up_from, RTCP_K_PLI, SL[2].ssrc, s, 32) >= 1);
    n = collect(bd, BV.ssrc, from2);
    assert_true(n > 20);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(origin_layer(&got.p[i]), 1);
    SL[2].key_due = true;
    simulcast_frames(5, 7, 7, &pli_from);
    collect(bd, BV.ssrc, from2);
    check_switch(1, 2);
    check_continuity(bd, BV.ssrc, from, true);
}

/* carol joins while alice's layers flow: she is given the top layer, and the only keyframe asked of
 * alice for her is that layer's (its PLI on that layer's SSRC), not one of layer 0's. */
static void test_simulcast_late_receiver(void **state)
{
    (void)state;
    size_t pli_from;
    simulcast_flowing(&pli_from);
    room_join(W.r, "carol");
    size_t up_from = fake_peer_n_sent(PA.up);
    receive("carol", false);
    mline cv = offered("carol", SDP_MEDIA_VIDEO, 0);
    size_t from = fake_peer_n_sent(mem("carol")->down);
    simulcast_frames(16, 7, 7, &pli_from);
    rtcp_seen s[8];
    assert_int_equal(rtcp_sent(PA.up, up_from, RTCP_K_PLI, SL[0].ssrc, s, 8), 0);
    assert_int_equal(rtcp_sent(PA.up, up_from, RTCP_K_PLI, SL[1].ssrc, s, 8), 0);
    assert_int_equal(rtcp_sent(PA.up, up_from, RTCP_K_PLI, SL[2].ssrc, s, 8), 1);
    assert_true(collect(mem("carol")->down, cv.ssrc, from) > 10);
    check_one_layer(2);
}

/* A loss on alice's top layer: she is NACKed on that layer's SSRC, and her RTX for it (an SSRC the SFU
 * learns from its mid and repaired-rid extensions) reaches bob in place. */
static void test_simulcast_rtx(void **state)
{
    (void)state;
    size_t pli_from;
    peer *bd = simulcast_flowing(&pli_from);
    size_t up_from = fake_peer_n_sent(PA.up), from = fake_peer_n_sent(bd);
    uint16_t lost = (uint16_t)(SL[2].seq + 1);
    deliver_frame(&SL[0], false, 1, 600);
    deliver_frame_lossy(&SL[2], false, 3, 600, 1u << 1);
    fake_loop_end_iteration();
    advance(ROOM_TICK_MS * 1000);
    rtcp_seen nk[8];
    assert_int_equal(rtcp_sent(PA.up, up_from, RTCP_K_NACK, SL[2].ssrc, nk, 8), 1);
    assert_int_equal(nk[0].nacked[0], lost);
    assert_int_equal(rtcp_sent(PA.up, up_from, RTCP_K_NACK, 0, nk, 8), 1);
    send_rtx(&SL[2], lost);
    assert_int_equal(video_track("alice")->layers[2]->rtx_ssrc, SL[2].rtx_ssrc);
    size_t n = collect(bd, BV.ssrc, from);
    assert_int_equal(n, 3);
    assert_int_equal(origin_seq(&got.p[2]), lost);
    assert_int_equal(got.p[2].v.seq, (uint16_t)(got.p[0].v.seq + 1));
    assert_int_equal(STATS_GET(W.stats.dropped_unknown_ssrc), 0);
}

/* After a switch bob's picture ids and TL0PICIDX are not alice's: a packet he NACKs goes again (RTX)
 * with the VP8 descriptor it first went with. With alice's numbers, the frame it completes would
 * not follow the pictures before it, and bob's decoder would wait for a keyframe. */
static void test_simulcast_rtx_after_switch(void **state)
{
    (void)state;
    size_t pli_from;
    peer *bd = simulcast_flowing(&pli_from);
    size_t from = fake_peer_n_sent(bd);
    simulcast_frames(30, 3, 3, &pli_from); /* alice's top layer stops: bob moves to the middle one */
    size_t n = collect(bd, BV.ssrc, from);
    assert_true(n > 4);
    assert_true(is_keyframe_start(&got.p[0]));
    for (size_t i = 0; i < n; i++)
        assert_int_equal(origin_layer(&got.p[i]), 1);
    static got_pkt a, b;
    keep(&a, &got.p[n - 2]);
    keep(&b, &got.p[n - 1]);
    struct rtp_vp8 da, src;
    assert_int_equal(rtp_vp8_parse(a.v.pkt + a.v.payload_off, a.v.payload_len, &da), 0);
    /* what alice sent as that packet has other numbers (else this test would show nothing) */
    const uint8_t *cached;
    size_t cached_len;
    track *mid = video_track("alice")->layers[1];
    assert_int_equal(rtx_cache_get(mid->cache, origin_seq(&a), (uint64_t)fake_clock_now(), &cached, &cached_len), 0);
    struct rtp_view cv;
    assert_int_equal(rtp_parse(&cv, cached, cached_len), 0);
    assert_int_equal(rtp_vp8_parse(cv.pkt + cv.payload_off, cv.payload_len, &src), 0);
    assert_int_not_equal(src.picid, da.picid);
    uint16_t seqs[2] = {a.v.seq, b.v.seq};
    struct rtcp_nack_item items[2];
    size_t n_items = rtcp_nack_pack(seqs, 2, items, 2, NULL);
    uint8_t buf[128];
    int len = rtcp_build_nack(buf, sizeof(buf), 0xb0b0b0b0u, BV.ssrc, items, n_items);
    size_t rfrom = fake_peer_n_sent(bd);
    deliver_rtcp(bd, buf, len);
    assert_int_equal(collect(bd, BV.rtx_ssrc, rfrom), 2);
    for (size_t i = 0; i < 2; i++) {
        const got_pkt *r = &got.p[i], *orig = i ? &b : &a;
        const uint8_t *p = r->v.pkt + r->v.payload_off;
        assert_int_equal(p[0] << 8 | p[1], orig->v.seq);
        assert_int_equal(r->v.payload_len, orig->v.payload_len + 2);
        assert_memory_equal(p + 2, orig->v.pkt + orig->v.payload_off, orig->v.payload_len);
    }
}

/* ---- 6. video views ---- */

/* bob shows alice's simulcast video in a 640x360 tile: he gets the middle layer (its keyframes say
 * 640x360), and alice is told, 3 s later and not before, that q and h are enough. Hidden: bob gets
 * no video (audio goes on), and alice is told no layer is needed (3 s later). Shown at 1280x720: the
 * top layer is asked for at once, and bob's video resumes at a keyframe. */
static void test_views_simulcast(void **state)
{
    (void)state;
    size_t pli_from, from = 0;
    peer *bd = simulcast_flowing(&pli_from);

    size_t ev0 = W.n_ev;
    int64_t t_view = fake_clock_now();
    set_view("bob", BV.mid, 640, 360);
    simulcast_frames(30, 7, 7, &pli_from);
    check_continuity(bd, BV.ssrc, from, true);
    check_switch(2, 1);
    assert_int_equal(count_events(ev0, "alice", SFU_EV_LAYERS), 0);
    simulcast_frames(70, 7, 7, &pli_from); /* 3.3 s since the view */
    assert_int_equal(count_events(ev0, "alice", SFU_EV_LAYERS), 1);
    const event_rec *e = event_after(ev0, "alice", SFU_EV_LAYERS);
    assert_string_equal(e->ev->text, "q,h");
    assert_string_equal(e->ev->mid, SL[0].sdp.mid);
    assert_int_equal(e->ev->pc, SFU_PC_UP);
    assert_true(e->at_us - t_view >= LAYERS_FEWER_US);
    assert_true(e->at_us - t_view <= LAYERS_FEWER_US + 2 * ROOM_TICK_MS * 1000);

    /* hidden */
    ev0 = W.n_ev;
    int64_t t_hide = fake_clock_now();
    set_view("bob", BV.mid, 0, 0);
    advance(ROOM_TICK_MS * 1000);
    size_t from_hidden = fake_peer_n_sent(bd);
    simulcast_frames(100, 7, 7, &pli_from);
    assert_int_equal(collect(bd, BV.ssrc, from_hidden), 0);
    assert_true(collect(bd, BA.ssrc, from_hidden) >= 100);
    e = event_after(ev0, "alice", SFU_EV_LAYERS);
    assert_non_null(e);
    assert_string_equal(e->ev->text, "");
    assert_true(e->at_us - t_hide >= LAYERS_FEWER_US);

    /* shown, large */
    ev0 = W.n_ev;
    int64_t t_show = fake_clock_now();
    size_t up_from = fake_peer_n_sent(PA.up);
    set_view("bob", BV.mid, 1280, 720);
    simulcast_frames(10, 7, 7, &pli_from);
    e = event_after(ev0, "alice", SFU_EV_LAYERS);
    assert_non_null(e);
    assert_string_equal(e->ev->text, "q,h,f");
    assert_true(e->at_us - t_show <= ROOM_TICK_MS * 1000);
    rtcp_seen s[8];
    assert_int_equal(rtcp_sent(PA.up, up_from, RTCP_K_PLI, SL[2].ssrc, s, 8), 1);
    collect(bd, BV.ssrc, from_hidden);
    check_one_layer(2);
    check_continuity(bd, BV.ssrc, from, true);
}

/* A large meeting (found by the bench's meeting50 scenario): bob receives the audio and camera of 33
 * others (66 forwards) before alice's simulcast camera (his 67th and 68th). Every forward takes part
 * in the allocation, however many there are (it stopped at 64: alice's video never reached bob):
 * shown, it reaches him; hidden, it stops (her audio goes on); shown again, it comes back. */
static void test_views_many_forwards(void **state)
{
    (void)state;
    static publisher others[33];
    room_join(W.r, "bob");
    char *plain = load("chromium-offer-sendonly.sdp");
    for (int i = 0; i < 33; i++) {
        char user[16];
        snprintf(user, sizeof(user), "p%02d", i);
        room_join(W.r, user);
        publish(&others[i], user, plain);
    }
    free(plain);
    room_join(W.r, "alice");
    char *offer = load("chromium-offer-simulcast.sdp");
    publish(&PA, "alice", offer);
    mline oa = read_mline(offer, SDP_MEDIA_AUDIO, 0);
    free(offer);
    mline aa = answered("alice", SDP_MEDIA_AUDIO), av = answered("alice", SDP_MEDIA_VIDEO);
    stream_init(&SA, &PA, &aa, oa.ssrc, 0, 4000);
    for (unsigned k = 0; k < 3; k++)
        layer_init(&SL[k], &av, k, 0);
    for (size_t offers = 0; offers != count_events(0, "bob", SFU_EV_OFFER);) { /* until nothing changes */
        offers = count_events(0, "bob", SFU_EV_OFFER);
        receive("bob", true);
    }
    assert_int_equal(mem("bob")->n_fwds, 68);
    BA = offered("bob", SDP_MEDIA_AUDIO, 33);
    BV = offered("bob", SDP_MEDIA_VIDEO, 33);
    assert_true(BA.ssrc && BV.ssrc);
    peer *bd = mem("bob")->down;
    size_t pli_from = 0;
    set_view("bob", BV.mid, 320, 180);
    simulcast_frames(30, 7, 7, &pli_from);
    size_t from = fake_peer_n_sent(bd);
    simulcast_frames(10, 7, 7, &pli_from);
    assert_true(collect(bd, BV.ssrc, from) >= 10); /* shown: q, one packet a frame */

    set_view("bob", BV.mid, 0, 0);
    advance(ROOM_TICK_MS * 1000);
    simulcast_frames(10, 7, 7, &pli_from);
    from = fake_peer_n_sent(bd);
    simulcast_frames(30, 7, 7, &pli_from);
    assert_int_equal(collect(bd, BV.ssrc, from), 0); /* hidden: nothing */
    assert_true(collect(bd, BA.ssrc, from) >= 30);

    set_view("bob", BV.mid, 320, 180);
    simulcast_frames(30, 7, 7, &pli_from);
    from = fake_peer_n_sent(bd);
    simulcast_frames(10, 7, 7, &pli_from);
    assert_true(collect(bd, BV.ssrc, from) >= 10); /* shown again */
}

/* bob's tile grows while alice's top layer answers no PLI for a while: the SFU keeps asking for its
 * keyframe while it forwards the lower layer, from inside the forwarding of each packet (layer_pass).
 * A PLI built in the room's scratch buffer overwrote the header of the packet being forwarded there
 * (sent with X=0, CC=1: fake_peer aborts on it); each packet keeps its header, and the switch comes
 * once the keyframe does. */
static void test_keyframe_asked_while_forwarding(void **state)
{
    (void)state;
    size_t pli_from, from = 0;
    peer *bd = simulcast_flowing(&pli_from);
    set_view("bob", BV.mid, 320, 180);
    simulcast_frames(60, 7, 7, &pli_from);
    collect(bd, BV.ssrc, 0);
    assert_int_equal(origin_layer(&got.p[got.n - 1]), 0);
    size_t up_from = fake_peer_n_sent(PA.up);
    from = fake_peer_n_sent(bd);
    set_view("bob", BV.mid, 1280, 720);
    simulcast_frames(90, 7, 3, &pli_from); /* 3 s: layers q and h answer PLIs, f does not */
    rtcp_seen seen[16];
    assert_true(rtcp_sent(PA.up, up_from, RTCP_K_PLI, SL[2].ssrc, seen, 16) >= 2); /* asked again */
    collect(bd, BV.ssrc, from);
    for (size_t i = 0; i < got.n; i++)
        assert_true(origin_layer(&got.p[i]) < 2);
    simulcast_frames(30, 7, 7, &pli_from);
    collect(bd, BV.ssrc, from);
    assert_int_equal(origin_layer(&got.p[got.n - 1]), 2);
    check_continuity(bd, BV.ssrc, 0, true);
}

/* bob hides alice's video for a long time (about 11 minutes at 30 pictures/s: more than half the
 * 15-bit picture id space) and shows it again at the same size, on the same layer: his video resumes
 * at a keyframe, its numbering continued, not held back as "older" than what he got before. */
static void test_views_hidden_long(void **state)
{
    (void)state;
    size_t pli_from;
    peer *bd = simulcast_flowing(&pli_from);
    set_view("bob", BV.mid, 0, 0);
    simulcast_frames(10, 7, 7, &pli_from);
    for (unsigned k = 0; k < 3; k++) { /* the pictures of those minutes, which bob did not get */
        SL[k].picid = (uint16_t)((SL[k].picid + 20000) & 0x7fff);
        SL[k].tl0 = (uint8_t)(SL[k].tl0 + 123);
    }
    simulcast_frames(10, 7, 7, &pli_from);
    size_t from = fake_peer_n_sent(bd);
    set_view("bob", BV.mid, 1280, 720);
    simulcast_frames(20, 7, 7, &pli_from);
    collect(bd, BV.ssrc, from);
    check_one_layer(2);
    check_continuity(bd, BV.ssrc, 0, true);
}

/* The only receiver hides alice's video: after 3 s alice is told no layer is needed, and her browser
 * stops every encoding. Shown again, she is told at once to send them all; her encoders restart
 * (each with a keyframe), and bob gets the top layer again. */
static void test_views_all_layers_off(void **state)
{
    (void)state;
    size_t pli_from;
    peer *bd = simulcast_flowing(&pli_from);
    size_t ev0 = W.n_ev;
    set_view("bob", BV.mid, 0, 0);
    while (!event_after(ev0, "alice", SFU_EV_LAYERS))
        simulcast_frames(1, 7, 7, &pli_from);
    assert_string_equal(event_after(ev0, "alice", SFU_EV_LAYERS)->ev->text, "");
    simulcast_frames(60, 0, 0, &pli_from); /* 2 s of audio only */

    ev0 = W.n_ev;
    size_t from = fake_peer_n_sent(bd);
    set_view("bob", BV.mid, 1280, 720);
    advance(ROOM_TICK_MS * 1000);
    const event_rec *e = event_after(ev0, "alice", SFU_EV_LAYERS);
    assert_non_null(e);
    assert_string_equal(e->ev->text, "q,h,f");
    for (unsigned k = 0; k < 3; k++)
        SL[k].key_due = true;
    simulcast_frames(20, 7, 7, &pli_from);
    assert_true(collect(bd, BV.ssrc, from) > 20);
    check_one_layer(2);
    assert_true(got.p[0].at_us - e->at_us <= 200000);
    check_continuity(bd, BV.ssrc, 0, true);
}

/* The smallest tile takes the lowest layer that covers it: 300x170 -> q (320x180). */
static void test_views_small_tile(void **state)
{
    (void)state;
    size_t pli_from;
    peer *bd = simulcast_flowing(&pli_from);
    size_t from = fake_peer_n_sent(bd);
    set_view("bob", BV.mid, 300, 170);
    simulcast_frames(30, 7, 7, &pli_from);
    check_continuity(bd, BV.ssrc, from, true);
    check_switch(2, 0);
}

/* A one-stream video: hidden, bob gets none of it while alice's audio goes on; shown again, alice is
 * asked for a keyframe and bob's video resumes with it, its numbering unbroken. */
static void test_views_hidden_single(void **state)
{
    (void)state;
    peer *bd = two_members(false);
    size_t from = fake_peer_n_sent(bd);
    send_frame(&SV, true, 2, 500);
    for (int i = 0; i < 3; i++) {
        advance(FRAME_US);
        send_frame(&SV, false, 2, 500);
    }
    set_view("bob", BV.mid, 0, 0);
    advance(ROOM_TICK_MS * 1000);
    size_t from_hidden = fake_peer_n_sent(bd);
    for (int i = 0; i < 20; i++) {
        send_frame(&SV, false, 2, 500);
        send_audio(&SA);
        advance(FRAME_US);
    }
    assert_int_equal(collect(bd, BV.ssrc, from_hidden), 0);
    assert_int_equal(collect(bd, BA.ssrc, from_hidden), 20);

    size_t up_from = fake_peer_n_sent(PA.up), pli_from = up_from;
    stream *vs[1] = {&SV};
    set_view("bob", BV.mid, 640, 480);
    for (int i = 0; i < 10; i++) {
        answer_plis(&PA, &pli_from, vs, 1);
        send_frame(&SV, false, 2, 500);
        advance(FRAME_US);
    }
    rtcp_seen s[4];
    assert_int_equal(rtcp_sent(PA.up, up_from, RTCP_K_PLI, SV.ssrc, s, 4), 1);
    size_t n = collect(bd, BV.ssrc, from_hidden);
    assert_true(n >= 2);
    assert_true(is_keyframe_start(&got.p[0]));
    check_continuity(bd, BV.ssrc, from, false);
}

/* simulcast_members with transport-cc (bob's video paced), 20 frames of every layer, then a keyframe
 * of `packets` on the layer bob gets (one with a stream of its own): most of it waits in his pacer.
 * Returns bob's video fwd; *from: bob's packet count before that keyframe. */
static fwd *simulcast_backlog(unsigned packets, size_t *from)
{
    simulcast_members(true);
    size_t pli_from = 0;
    simulcast_frames(20, 7, 7, &pli_from);
    member *b = mem("bob");
    assert_non_null(b->pace);
    fwd *f = b->fwds[0]->track->kind == SDP_MEDIA_VIDEO ? b->fwds[0] : b->fwds[1];
    assert_true(f->ls.current >= 1);
    *from = fake_peer_n_sent(b->down);
    deliver_frame(&SL[f->ls.current], true, packets, 1200);
    fake_loop_end_iteration();
    assert_true(pacer_queued(b->pace) > 10);
    return f;
}

/* bob is moved down a layer while most of a keyframe of his current layer waits in his pacer: the
 * lower layer's keyframe does not wait behind it. Its first packet goes at once, the switch happens
 * there, and what waited of the old layer is never sent (it left the queue); one unbroken stream. On
 * the old code the keyframe went after the whole backlog. */
static void test_simulcast_switch_skips_backlog(void **state)
{
    (void)state;
    size_t from, pli_from = 0;
    fwd *f = simulcast_backlog(30, &from);
    member *b = mem("bob");
    peer *bd = b->down;
    size_t before = collect(bd, BV.ssrc, from);
    assert_true(before < 30);

    set_view("bob", BV.mid, 320, 180); /* his tile made small: the lowest layer from the next tick on */
    layer_select_set_target(&f->ls, 0, LAYER_SELECT_ALL_TEMPORAL); /* ... and now */
    int64_t t_key = fake_clock_now();
    deliver_frame(&SL[0], true, 1, 600);
    fake_loop_end_iteration();
    size_t n = collect(bd, BV.ssrc, from);
    assert_int_equal(n, before + 1);
    assert_int_equal(origin_layer(&got.p[n - 1]), 0);
    assert_true(is_keyframe_start(&got.p[n - 1]));
    assert_int_equal(got.p[n - 1].at_us, t_key);
    assert_int_equal(f->ls.current, 0);
    assert_int_equal(pacer_queued(b->pace), 0); /* the old layer's backlog left */

    size_t from2 = fake_peer_n_sent(bd);
    simulcast_frames(10, 7, 7, &pli_from);
    n = collect(bd, BV.ssrc, from2);
    assert_true(n >= 5); /* layer 0: a packet a picture */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(origin_layer(&got.p[i]), 0);
    check_continuity(bd, BV.ssrc, from, true);
}

/* alice's browser drops its top encoding (a new offer listing q and h): the SFU frees the layers'
 * streams while packets of the one bob gets wait in his pacer; they are dropped, not read. */
static void test_simulcast_renegotiated_while_paced(void **state)
{
    (void)state;
    size_t from;
    simulcast_backlog(20, &from);
    member *b = mem("bob");

    char *offer = load("chromium-offer-simulcast.sdp");
    sdp_session *s = parse(offer);
    free(offer);
    sdp_media *m = s->media[1];
    size_t w = 0;
    for (size_t i = 0; i < m->n_attrs; i++) {
        if (!strcmp(m->attrs[i].name, "rid") && !strcmp(m->attrs[i].value, "f send"))
            continue;
        if (!strcmp(m->attrs[i].name, "simulcast"))
            m->attrs[i].value = sdp_strdup(s, "send q;h");
        m->attrs[w++] = m->attrs[i];
    }
    m->n_attrs = w;
    offer = build(s);
    size_t ev0 = W.n_ev;
    room_remote_sdp(W.r, "alice", SFU_PC_UP, offer);
    free(offer);
    assert_non_null(event_after(ev0, "alice", SFU_EV_ANSWER));
    assert_int_equal(video_track("alice")->n_layers, 2);
    advance(500000);
    assert_int_equal(pacer_queued(b->pace), 0);
}

/* ---- bandwidth ---- */

/* bob's browser's transport-cc feedback on every RTP packet the SFU sent him since his packet
 * number *from: each arrived when it was sent, except every lose_every-th (0: none) lost. */
static void twcc_feedback(peer *bd, size_t *from, unsigned lose_every)
{
    static uint8_t fb_count;
    static struct rtcp_twcc_arrival arr[1024];
    size_t n = collect(bd, 0, *from), k = 0;
    *from = fake_peer_n_sent(bd);
    for (size_t i = 0; i < n; i++) {
        uint16_t tw;
        assert_int_equal(rtp_ext_get_u16(&got.p[i].v, BV.ext.twcc, &tw), 0);
        if (!lose_every || i % lose_every)
            arr[k++] = (struct rtcp_twcc_arrival){tw, got.p[i].at_us};
    }
    for (size_t done = 0, used = 0; done < k; done += used) {
        uint8_t buf[1200];
        int len = rtcp_build_twcc(buf, sizeof(buf), 0xb0b0b0b0u, BV.ssrc, fb_count++, arr + done, k - done, &used);
        deliver_rtcp(bd, buf, len);
    }
}

/* simulcast_frames for `us`, bob's browser sending transport-cc feedback every 100 ms. */
static void frames_with_feedback(int64_t us, unsigned lose_every, size_t *pli_from, size_t *fb_from)
{
    peer *bd = mem("bob")->down;
    for (int64_t t = 0; t < us; t += 3 * FRAME_US) {
        simulcast_frames(3, 7, 7, pli_from);
        twcc_feedback(bd, fb_from, lose_every);
    }
}

/* bob's link starts losing half of what it is sent: his estimate falls and he is moved to a lower
 * layer (never up meanwhile; at its keyframe, numbering continued), then his video is paused and he
 * is told (video-paused "bandwidth"), his audio going on. Once the losses stop his estimate grows back and the video
 * resumes at a keyframe, and he is told. */
static void test_bandwidth_layers_and_pause(void **state)
{
    (void)state;
    simulcast_members(true);
    peer *bd = mem("bob")->down;
    size_t pli_from = 0, fb_from = 0;
    uint64_t fb0 = STATS_GET(W.stats.twcc_feedbacks_in);
    frames_with_feedback(1000000, 0, &pli_from, &fb_from);
    /* one feedback every 3 frames for 1 s (one packet each: what they describe fits), each counted */
    assert_int_equal(STATS_GET(W.stats.twcc_feedbacks_in) - fb0, (1000000 + 3 * FRAME_US - 1) / (3 * FRAME_US));
    size_t from = fake_peer_n_sent(bd);
    assert_int_equal(origin_layer(&got.p[collect(bd, BV.ssrc, 0) - 1]), 2);

    size_t ev0 = W.n_ev;
    frames_with_feedback(4000000, 2, &pli_from, &fb_from);
    const event_rec *paused = event_after(ev0, "bob", SFU_EV_PAUSED);
    assert_non_null(paused);
    assert_string_equal(paused->ev->text, "bandwidth");
    assert_string_equal(paused->ev->mid, BV.mid);
    assert_int_equal(paused->ev->pc, SFU_PC_DOWN);
    assert_int_equal(count_events(ev0, "bob", SFU_EV_PAUSED), 1);
    size_t n = collect(bd, BV.ssrc, from);
    int seen[3] = {0};
    for (size_t i = 0; i < n; i++) {
        int l = origin_layer(&got.p[i]);
        seen[l]++;
        if (i)
            assert_true(l <= origin_layer(&got.p[i - 1])); /* only down */
    }
    assert_true(seen[2] > 0 && seen[0] + seen[1] > 0); /* down a layer before the pause */
    check_continuity(bd, BV.ssrc, 0, true);
    size_t after = fake_peer_n_sent(bd);
    simulcast_frames(30, 7, 7, &pli_from);
    assert_int_equal(collect(bd, BV.ssrc, after), 0);
    assert_int_equal(collect(bd, BA.ssrc, after), 30);

    ev0 = W.n_ev;
    after = fake_peer_n_sent(bd);
    for (int i = 0; i < 40 && !event_after(ev0, "bob", SFU_EV_PAUSED); i++)
        frames_with_feedback(1000000, 0, &pli_from, &fb_from);
    const event_rec *resumed = event_after(ev0, "bob", SFU_EV_PAUSED);
    assert_non_null(resumed);
    assert_string_equal(resumed->ev->text, "");
    frames_with_feedback(500000, 0, &pli_from, &fb_from);
    assert_true(collect(bd, BV.ssrc, after) > 0);
    assert_true(is_keyframe_start(&got.p[0]));
    assert_true(got.p[0].at_us >= resumed->at_us);
    check_continuity(bd, BV.ssrc, 0, true);
}

/* ---- 7. pacing ---- */

/* bob took transport-cc, so his packets are paced at ROOM_PACE_FACTOR x his estimate: a keyframe of
 * 20 x 1200 bytes (far over the pacer's burst) leaves spread over time as the pacing timer runs, in
 * order, each with his next transport-wide number; alice's audio meanwhile goes at once. */
static void test_pacing(void **state)
{
    (void)state;
    two_members(true);
    member *b = mem("bob");
    peer *bd = b->down;
    assert_non_null(b->pace);
    assert_true(BV.ext.twcc != 0);
    send_frame(&SV, true, 2, 500);
    send_audio(&SA);
    advance(300000);

    uint32_t rate = pacer_rate(b->pace);
    assert_true(rate > 0);
    size_t from = fake_peer_n_sent(bd);
    int64_t t0 = fake_clock_now();
    deliver_frame(&SV, true, 20, 1200);
    deliver_audio(&SA);
    fake_loop_end_iteration();
    size_t first = collect(bd, BV.ssrc, from);
    /* the bucket's depth (pacer.h): PACER_BURST_MIN, or PACER_BURST_US of the rate */
    double burst = (double)rate / 8.0 * PACER_BURST_US / 1e6;
    if (burst < PACER_BURST_MIN)
        burst = PACER_BURST_MIN;
    assert_true(burst < 20 * 1200 / 2);
    assert_true(first >= 1 && first <= (size_t)(burst / 1200) + 2); /* the burst, no more */
    assert_int_equal(collect(bd, BA.ssrc, from), 1);
    assert_int_equal(got.p[0].at_us, t0);
    assert_non_null(W.r->pace_src); /* the pacing timer was armed */

    for (int i = 0; i < 25; i++) {
        advance(AUDIO_US);
        send_audio(&SA);
        size_t na = collect(bd, BA.ssrc, from);
        assert_int_equal(got.p[na - 1].at_us, fake_clock_now()); /* audio is not held back */
    }
    size_t n = collect(bd, BV.ssrc, from);
    assert_int_equal(n, 20);
    int64_t last = got.p[n - 1].at_us;
    size_t wire = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got.p[i].v.seq, (uint16_t)(got.p[0].v.seq + i));
        if (i)
            assert_true(got.p[i].at_us >= got.p[i - 1].at_us);
        wire += got.p[i].v.len + SRTP_SESSION_RTP_MAX_OVERHEAD;
    }
    /* spread at the pacing rate (audio shares it), not over PACER_DRAIN_US */
    assert_true(last - t0 >= (int64_t)((wire - 2 * burst) * 8 * 1000000.0 / rate));
    assert_true(last - t0 <= PACER_DRAIN_US);
    /* every packet bob got carries his own transport-wide numbers, in sending order */
    n = collect(bd, 0, from);
    for (size_t i = 0; i < n; i++) {
        uint16_t tw, tw0;
        assert_int_equal(rtp_ext_get_u16(&got.p[i].v, BV.ext.twcc, &tw), 0);
        assert_int_equal(rtp_ext_get_u16(&got.p[0].v, BV.ext.twcc, &tw0), 0);
        assert_int_equal(tw, (uint16_t)(tw0 + i));
    }
}

/* alice leaves while her packets wait in bob's pacer: they are dropped, not sent (nor read after
 * their track was freed), and the pacer empties. */
static void test_leave_while_paced(void **state)
{
    (void)state;
    peer *bd = two_members(true);
    member *b = mem("bob");
    send_frame(&SV, true, 2, 500);
    advance(300000);
    deliver_frame(&SV, true, 20, 1200);
    fake_loop_end_iteration();
    assert_true(pacer_queued(b->pace) > 10);
    size_t from = fake_peer_n_sent(bd);
    room_leave(W.r, "alice");
    advance(500000);
    assert_int_equal(collect(bd, 0, from), 0);
    assert_int_equal(pacer_queued(b->pace), 0);
}

/* text with every `from` replaced by `to` (g_free). */
static char *replace_all(const char *text, const char *from, const char *to)
{
    gchar **parts = g_strsplit(text, from, -1);
    char *out = g_strjoinv(to, parts);
    g_strfreev(parts);
    return out;
}

/* ICE restarts (RFC 8445 §9), as the web app asks for them: an upstream offer with new ICE
 * credentials is answered with the SFU's new ones (and its candidates go out again); an asked-for
 * downstream restart makes an offer with new credentials, whose answer's new credentials are
 * applied. Each is reported as reconnecting; ICE failing after DTLS and coming back is reported as
 * reconnecting and reconnected; the connections stay up and media goes on throughout. */
static void test_ice_restart(void **state)
{
    (void)state;
    peer *bd = two_members(false);
    size_t ev0 = W.n_ev;
    /* Upstream: alice restarts. */
    char *offer = swapped_offer();
    char *restart = replace_all(offer, "a=ice-ufrag:p3+K", "a=ice-ufrag:n3wU");
    free(offer);
    room_remote_sdp(W.r, "alice", SFU_PC_UP, restart);
    assert_null(event_after(ev0, "alice", SFU_EV_ERROR));
    assert_int_equal(fake_peer_restarts(PA.up), 1);
    assert_string_equal(fake_peer_remote(PA.up)->ice_ufrag, "n3wU");
    const event_rec *a = event_after(ev0, "alice", SFU_EV_ANSWER);
    assert_non_null(a);
    assert_non_null(strstr(a->ev->text, "a=ice-ufrag:" FAKE_PEER_UFRAG "1\r\n"));
    const event_rec *e = event_after(ev0, "alice", SFU_EV_RECONNECTING);
    assert_non_null(e);
    assert_int_equal(e->ev->pc, SFU_PC_UP);
    assert_string_equal(e->ev->text, "restart");
    assert_int_equal(fake_peer_gathers(PA.up), 2); /* our candidates again, after the answer */
    assert_int_equal(count_events(ev0, "bob", SFU_EV_OFFER), 0); /* same tracks: nothing for bob */
    /* The same credentials again (a renegotiation): no restart. */
    room_remote_sdp(W.r, "alice", SFU_PC_UP, restart);
    g_free(restart);
    assert_int_equal(fake_peer_restarts(PA.up), 1);
    assert_int_equal(count_events(ev0, "alice", SFU_EV_RECONNECTING), 1);
    fake_peer_ice(PA.up, true);
    assert_int_equal(event_after(ev0, "alice", SFU_EV_RECONNECTED)->ev->pc, SFU_PC_UP);

    /* Downstream: bob asks. */
    size_t ev1 = W.n_ev;
    room_restart_ice(W.r, "bob", SFU_PC_DOWN);
    assert_int_equal(fake_peer_restarts(bd), 1);
    e = event_after(ev1, "bob", SFU_EV_RECONNECTING);
    assert_non_null(e);
    assert_int_equal(e->ev->pc, SFU_PC_DOWN);
    const event_rec *o = event_after(ev1, "bob", SFU_EV_OFFER);
    assert_non_null(o);
    assert_non_null(strstr(o->ev->text, "a=ice-ufrag:" FAKE_PEER_UFRAG "1\r\n"));
    assert_int_equal(fake_peer_gathers(bd), 2);
    char *answer = browser_answer(o->ev->text, false);
    char *answer2 = replace_all(answer, "a=ice-ufrag:" BROWSER_UFRAG, "a=ice-ufrag:brw2");
    free(answer);
    room_remote_sdp(W.r, "bob", SFU_PC_DOWN, answer2);
    g_free(answer2);
    assert_null(event_after(ev1, "bob", SFU_EV_ERROR));
    assert_string_equal(fake_peer_remote(bd)->ice_ufrag, "brw2");
    /* An upstream restart is asked with an offer, not this way. */
    room_restart_ice(W.r, "alice", SFU_PC_UP);
    assert_int_equal(fake_peer_restarts(PA.up), 1);

    /* ICE fails on bob's side after DTLS, then works again (a restart repaired it). */
    size_t ev2 = W.n_ev;
    fake_peer_ice(bd, false);
    e = event_after(ev2, "bob", SFU_EV_RECONNECTING);
    assert_non_null(e);
    assert_string_equal(e->ev->text, "ice-failed");
    assert_null(event_after(ev2, "bob", SFU_EV_FAILED));
    fake_peer_ice(bd, true);
    assert_int_equal(event_after(ev2, "bob", SFU_EV_RECONNECTED)->ev->pc, SFU_PC_DOWN);
    /* Media went on: bob still gets alice's video. */
    size_t from = fake_peer_n_sent(bd);
    send_frame(&SV, true, 2, 500);
    advance(100000);
    assert_true(fake_peer_n_sent(bd) > from);
}

/* ---- 8. screen sharing ---- */

/* replace_all(), freeing text. */
static char *replaced(char *text, const char *from, const char *to)
{
    char *out = replace_all(text, from, to);
    g_free(text);
    return out;
}

#define SCREEN_SSRC 1235362099u
#define SCREEN_RTX_SSRC 744241699u

/* Chromium's audio + camera offer with a third m-line, mid "2": a screen, as the browser's
 * re-offer after addTransceiver(screen track) looks (its own SSRCs and track id). `port0`: the
 * screen's transceiver stopped (port 0, out of the BUNDLE group, no SSRCs). */
static char *screen_offer(bool port0)
{
    char *base = load("chromium-offer-sendonly.sdp");
    char *video = strstr(base, "m=video");
    assert_non_null(video);
    char *section = g_strdup(video);
    section = replaced(section, "a=mid:1", "a=mid:2");
    section = replaced(section, "1235362064", port0 ? "" : "1235362099");
    section = replaced(section, "744241618", port0 ? "" : "744241699");
    section = replaced(section, "c6e274d6-a1a3-4e30-ba2a-d658dfbc009b", "5c8e5e0e-screen-track");
    if (port0) {
        section = replaced(section, "m=video 9", "m=video 0");
        char **lines = g_strsplit(section, "\n", -1);
        GString *kept = g_string_new("");
        for (char **l = lines; *l; l++)
            if (**l && strncmp(*l, "a=ssrc", 6) != 0)
                g_string_append_printf(kept, "%s\n", *l);
        g_strfreev(lines);
        g_free(section);
        section = g_string_free(kept, FALSE);
    }
    char *out = g_strdup_printf("%s%s", base, section);
    g_free(base);
    g_free(section);
    return port0 ? out : replaced(out, "a=group:BUNDLE 0 1", "a=group:BUNDLE 0 1 2");
}

/* The m-section of text whose mid is `mid` (a new string). */
static char *section_of(const char *text, const char *mid)
{
    char key[32];
    snprintf(key, sizeof(key), "a=mid:%s\r\n", mid);
    const char *at = strstr(text, key);
    assert_non_null(at);
    const char *start = at;
    while (start > text && strncmp(start, "m=", 2) != 0)
        start--;
    const char *end = strstr(at, "\r\nm=");
    return g_strndup(start, end ? (size_t)(end - start) : strlen(start));
}

/* alice, publishing audio and camera to bob, shares her screen: her re-offer adds a video m-line
 * that her offer's sources call a screen (room_screen_mids). It is answered on the same connection;
 * bob is offered it as a third m-line after his first two, which keep their mids and SSRCs, marked
 * a=content:slides in a stream of its own ("alice-screen"); the camera m-line is not so marked.
 * Once he answered, alice is asked for a keyframe of the screen, and its packets reach bob on an
 * SSRC of his own, rewritten like the camera's, both flowing. Stopping the share (the m-line at
 * port 0) leaves it inactive in bob's next offer; the camera goes on. */
static void test_screen_share_added(void **state)
{
    (void)state;
    peer *bd = two_members(false);
    size_t ev0 = W.n_ev, pli0 = fake_peer_n_sent(PA.up);
    char *offer = screen_offer(false);
    room_screen_mids(W.r, "alice", "2");
    room_remote_sdp(W.r, "alice", SFU_PC_UP, offer);
    g_free(offer);
    assert_null(event_after(ev0, "alice", SFU_EV_ERROR));
    const event_rec *ans = event_after(ev0, "alice", SFU_EV_ANSWER);
    assert_non_null(ans);
    mline as = read_mline(ans->ev->text, SDP_MEDIA_VIDEO, 1);
    assert_string_equal(as.mid, "2");
    assert_true(video_track("alice") && mem("alice")->n_tracks == 3);
    assert_int_equal(count_events(0, "bob", SFU_EV_OFFER), 2);

    const char *bob_offer = event_after(0, "bob", SFU_EV_OFFER)->ev->text;
    mline cam = offered("bob", SDP_MEDIA_VIDEO, 0), scr = offered("bob", SDP_MEDIA_VIDEO, 1);
    assert_string_equal(cam.mid, BV.mid);
    assert_int_equal(cam.ssrc, BV.ssrc);
    assert_true(scr.ssrc && scr.ssrc != BV.ssrc && scr.ssrc != SCREEN_SSRC && scr.rtx_ssrc && scr.rtx_pt >= 0);
    sdp_session *bs = parse(bob_offer);
    assert_int_equal(bs->n_media, 3);
    assert_string_equal(bs->media[2]->mid, scr.mid);
    assert_string_equal(bs->media[2]->msids[0].stream, "alice-screen");
    assert_string_equal(bs->media[1]->msids[0].stream, "alice");
    sdp_free(bs);
    char *cam_sec = section_of(bob_offer, cam.mid), *scr_sec = section_of(bob_offer, scr.mid);
    assert_non_null(strstr(scr_sec, "a=content:slides\r\n"));
    assert_null(strstr(cam_sec, "a=content"));
    g_free(cam_sec);
    g_free(scr_sec);

    receive("bob", false);
    rtcp_seen pli[4];
    assert_int_equal(rtcp_sent(PA.up, pli0, RTCP_K_PLI, SCREEN_SSRC, pli, 4), 1);
    static stream SS;
    stream_init(&SS, &PA, &as, SCREEN_SSRC, SCREEN_RTX_SSRC, 20000);
    SS.layer = 1; /* tells the screen's packets from the camera's */
    size_t from = fake_peer_n_sent(bd);
    for (int i = 0; i < 5; i++) {
        deliver_frame(&SS, i == 0, 3, 900);
        deliver_frame(&SV, i == 0, 2, 600);
        fake_loop_end_iteration();
        advance(FRAME_US);
    }
    assert_int_equal(collect(bd, scr.ssrc, from), 15);
    assert_true(is_keyframe_start(&got.p[0]));
    for (size_t i = 0; i < got.n; i++) {
        assert_int_equal(origin_layer(&got.p[i]), 1);
        assert_int_equal(got.p[i].v.seq, (uint16_t)(got.p[0].v.seq + i));
        assert_int_equal(got.p[i].v.pt, scr.pt);
    }
    assert_int_equal(collect(bd, BV.ssrc, from), 10);
    assert_int_equal(origin_layer(&got.p[0]), 0);

    /* the share stops */
    ev0 = W.n_ev;
    offer = screen_offer(true);
    room_screen_mids(W.r, "alice", "");
    room_remote_sdp(W.r, "alice", SFU_PC_UP, offer);
    g_free(offer);
    assert_null(event_after(ev0, "alice", SFU_EV_ERROR));
    assert_int_equal(mem("alice")->n_tracks, 2);
    assert_int_equal(count_events(0, "bob", SFU_EV_OFFER), 3);
    bs = parse(event_after(0, "bob", SFU_EV_OFFER)->ev->text);
    const sdp_media *gone = sdp_find_mid(bs, scr.mid), *kept = sdp_find_mid(bs, cam.mid);
    assert_true(gone && kept);
    assert_true(gone->direction == SDP_DIR_INACTIVE || gone->port == 0);
    assert_int_equal(kept->direction, SDP_DIR_SENDONLY);
    sdp_free(bs);
    receive("bob", false);
    from = fake_peer_n_sent(bd);
    deliver_frame(&SS, false, 3, 900);
    deliver_frame(&SV, false, 2, 600);
    fake_loop_end_iteration();
    assert_int_equal(collect(bd, scr.ssrc, from), 0);
    assert_int_equal(collect(bd, BV.ssrc, from), 2);
}

/* The sources a publisher announced stay until it announces others: alice shares her screen (sources
 * say mid 2), then offers again without saying anything (signaling/session.c calls room_screen_mids
 * only for an offer with 'sources'): mid 2 is still her screen, and bob's m-line for it still says
 * a=content:slides in the stream "alice-screen". Sources that list no screen end it. */
static void test_screen_sources_kept(void **state)
{
    (void)state;
    two_members(false);
    char *offer = screen_offer(false);
    room_screen_mids(W.r, "alice", "2");
    room_remote_sdp(W.r, "alice", SFU_PC_UP, offer);
    receive("bob", false);
    size_t ev0 = W.n_ev;
    char *again = replaced(g_strdup(offer), " 2 IN IP4", " 3 IN IP4"); /* a new version, same m-lines */
    room_remote_sdp(W.r, "alice", SFU_PC_UP, again);
    g_free(again);
    assert_null(event_after(ev0, "alice", SFU_EV_ERROR));
    assert_non_null(event_after(ev0, "alice", SFU_EV_ANSWER));
    member *a = mem("alice");
    assert_int_equal(a->n_tracks, 3);
    size_t screens = 0;
    for (size_t i = 0; i < a->n_tracks; i++)
        screens += a->tracks[i]->screen;
    assert_int_equal(screens, 1);
    const char *bob_offer = event_after(0, "bob", SFU_EV_OFFER)->ev->text;
    mline scr = offered("bob", SDP_MEDIA_VIDEO, 1);
    char *scr_sec = section_of(bob_offer, scr.mid);
    assert_non_null(strstr(scr_sec, "a=content:slides\r\n"));
    g_free(scr_sec);
    /* sources that say no screen: the same m-line is a camera from the next offer */
    room_screen_mids(W.r, "alice", "");
    again = replaced(g_strdup(offer), " 2 IN IP4", " 4 IN IP4");
    room_remote_sdp(W.r, "alice", SFU_PC_UP, again);
    g_free(again);
    g_free(offer);
    screens = 0;
    for (size_t i = 0; i < a->n_tracks; i++)
        screens += a->tracks[i]->screen;
    assert_int_equal(screens, 0);
}

/* A simulcast screen before a simulcast camera when the receiver's estimate is short. alice
 * publishes both with the same ladder (1, 2 and 6 packets of 1000 bytes a frame: 240, 480 and
 * 1440 kbit/s); bob shows her camera larger (1920x1080) than her screen (1280x720), both above the
 * top layer. From the estimate's start (1 Mbit/s) through its growth, the screen never has a lower
 * layer than the camera, and is ahead of it for a while (without ALLOC_PRIORITY_SCREEN, the larger
 * camera tile would go first). */
static void test_screen_before_camera(void **state)
{
    (void)state;
    static stream SCR[3];
    room_join(W.r, "alice");
    room_join(W.r, "bob");
    char *base = load("chromium-offer-simulcast.sdp");
    char *video = strstr(base, "m=video");
    assert_non_null(video);
    char *screen = replaced(g_strdup(video), "a=mid:1", "a=mid:2");
    char *offer = replaced(g_strdup_printf("%s%s", base, screen), "a=group:BUNDLE 0 1", "a=group:BUNDLE 0 1 2");
    free(base);
    g_free(screen);
    room_screen_mids(W.r, "alice", "2");
    publish(&PA, "alice", offer);
    mline oa = read_mline(offer, SDP_MEDIA_AUDIO, 0);
    g_free(offer);
    const char *answer = event_after(0, "alice", SFU_EV_ANSWER)->ev->text;
    mline aa = answered("alice", SDP_MEDIA_AUDIO), av = read_mline(answer, SDP_MEDIA_VIDEO, 0),
          as = read_mline(answer, SDP_MEDIA_VIDEO, 1);
    assert_string_equal(as.mid, "2");
    stream_init(&SA, &PA, &aa, oa.ssrc, 0, 4000);
    for (unsigned k = 0; k < 3; k++) {
        layer_init(&SL[k], &av, k, 0);
        layer_init(&SCR[k], &as, k, 1);
    }
    receive("bob", true);
    BA = offered("bob", SDP_MEDIA_AUDIO, 0);
    BV = offered("bob", SDP_MEDIA_VIDEO, 0);
    mline bs = offered("bob", SDP_MEDIA_VIDEO, 1);
    member *b = mem("bob");
    fwd *cam = NULL, *scr = NULL;
    for (size_t i = 0; i < b->n_fwds; i++) {
        if (b->fwds[i]->track->kind == SDP_MEDIA_VIDEO)
            *(b->fwds[i]->track->screen ? &scr : &cam) = b->fwds[i];
    }
    assert_true(cam && scr);
    assert_string_equal(scr->track->down_mid, bs.mid);
    set_view("bob", BV.mid, 1920, 1080);
    set_view("bob", bs.mid, 1280, 720);

    static const unsigned packets[3] = {1, 2, 6};
    stream *all[6] = {&SL[0], &SL[1], &SL[2], &SCR[0], &SCR[1], &SCR[2]};
    size_t pli_from = 0, fb_from = 0;
    int ahead = 0, top_at = -1;
    for (int i = 0; i < 300; i++) { /* 10 s */
        answer_plis(&PA, &pli_from, all, 6);
        for (unsigned k = 0; k < 3; k++) {
            deliver_frame(&SL[k], false, packets[k], 1000);
            deliver_frame(&SCR[k], false, packets[k], 1000);
        }
        deliver_audio(&SA);
        fake_loop_end_iteration();
        advance(FRAME_US);
        if (i % 3 == 2)
            twcc_feedback(b->down, &fb_from, 0);
        if (i < 30)
            continue; /* the first rates measured, the first keyframes through */
        assert_true(scr->ls.target >= cam->ls.target);
        ahead += scr->ls.target > cam->ls.target;
        if (top_at < 0 && scr->ls.current == 2)
            top_at = i;
    }
    print_message("screen ahead of the camera at %d of 270 frames; its top layer at frame %d\n", ahead, top_at);
    assert_true(ahead > 0);
    assert_true(top_at > 0); /* the screen got its top layer */
    assert_int_equal(scr->ls.current, 2);
}

/* Chromium's audio + video offer with its data channel m-line (as `createDataChannel` adds it). */
static char *offer_with_data_channel(void)
{
    char *offer = load("chromium-offer-sendonly.sdp");
    GString *g = g_string_new(offer);
    free(offer);
    const char *b = strstr(g->str, "a=group:BUNDLE 0 1");
    assert_non_null(b);
    g_string_insert(g, (gssize)(b - g->str) + (gssize)strlen("a=group:BUNDLE 0 1"), " 2");
    g_string_append(g, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                       "c=IN IP4 0.0.0.0\r\n"
                       "a=ice-ufrag:p3+K\r\n"
                       "a=ice-pwd:k/m+yYkA7miuuoPcGE1I9s4d\r\n"
                       "a=fingerprint:sha-256 35:64:35:BE:05:36:A7:30:52:45:83:4D:CC:42:36:05:97:2F:68:1F:"
                       "36:AB:F3:2A:82:48:18:45:82:A1:4B:08\r\n"
                       "a=setup:actpass\r\n"
                       "a=mid:2\r\n"
                       "a=sctp-port:5000\r\n"
                       "a=max-message-size:262144\r\n");
    char *out = strdup(g->str);
    g_string_free(g, TRUE);
    return out;
}

/* A data channel message of one participant reaches every other participant of its meeting, prefixed
 * with its userId, and nobody else: not the sender, not another meeting's participants. The answer
 * accepts the data channel (sctp-port, max-message-size = DC_MAX_MESSAGE). */
static void test_data_channel_relay(void **state)
{
    (void)state;
    room_env env = W.r->env;
    room *r2 = room_new(&env, "m2");
    assert_non_null(r2);
    char *offer = offer_with_data_channel();
    static const char *const users[] = {"alice", "bob", "carol"};
    publisher P[3];
    for (int i = 0; i < 3; i++)
        room_join(W.r, users[i]);
    for (int i = 0; i < 3; i++)
        publish(&P[i], users[i], offer);
    room_join(r2, "dave");
    room_remote_sdp(r2, "dave", SFU_PC_UP, offer);
    peer *dave = NULL;
    for (size_t i = 0; i < r2->n_members; i++)
        dave = r2->members[i]->up;
    assert_non_null(dave);
    free(offer);
    assert_string_equal(answered("alice", SDP_MEDIA_APPLICATION).mid, "2"); /* accepted: a port */
    const event_rec *a = event_after(0, "alice", SFU_EV_ANSWER);
    assert_non_null(strstr(a->ev->text, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel"));
    assert_non_null(strstr(a->ev->text, "a=sctp-port:5000"));
    assert_non_null(strstr(a->ev->text, "a=max-message-size:4096"));
    uint16_t port = 0;
    for (int i = 0; i < 3; i++) {
        assert_true(fake_peer_data_enabled(P[i].up, &port));
        assert_int_equal(port, 5000);
    }
    fake_peer_data_in(P[0].up, "vm", "{\"t\":\"hand\",\"up\":true}");
    assert_int_equal(fake_peer_data_count(P[0].up), 0);
    for (int i = 1; i < 3; i++) {
        assert_int_equal(fake_peer_data_count(P[i].up), 1);
        assert_string_equal(fake_peer_data_at(P[i].up, 0), "vm|alice\n{\"t\":\"hand\",\"up\":true}");
    }
    assert_int_equal(fake_peer_data_count(dave), 0);
    fake_peer_data_in(dave, "vm", "{}"); /* alone in its meeting: to nobody */
    for (int i = 0; i < 3; i++)
        assert_int_equal(fake_peer_data_count(P[i].up), i == 0 ? 0 : 1);
    /* carol leaves: bob still gets alice's next one, carol's peer is gone */
    room_leave(W.r, "carol");
    fake_peer_data_in(P[0].up, "vm", "x");
    assert_int_equal(fake_peer_data_count(P[1].up), 2);
    assert_string_equal(fake_peer_data_at(P[1].up, 1), "vm|alice\nx");
    room_free(r2);
}

/* ---- 9. control-plane failures: told, and undone ---- */

/* The one SFU_EV_INTERNAL of user since `from`, on pc; the member is dead (waits to be taken out). */
static void expect_internal(size_t from, const char *user, sfu_pc pc)
{
    assert_int_equal(count_events(from, user, SFU_EV_INTERNAL), 1);
    const event_rec *e = event_after(from, user, SFU_EV_INTERNAL);
    assert_int_equal(e->ev->pc, pc);
    assert_true(e->ev->text[0] != '\0');
}

/* Signaling takes user out (room_leave) after SFU_EV_INTERNAL, and the join that follows works from
 * nothing: bob receives alice's audio and video and gets her packets. */
static void rejoin_and_receive(const char *user)
{
    room_leave(W.r, user);
    size_t live = fake_peer_count();
    room_join(W.r, user);
    receive(user, false);
    assert_int_equal(fake_peer_count(), live + 1);
    BV = offered(user, SDP_MEDIA_VIDEO, 0);
    peer *d = mem(user)->down;
    size_t from = fake_peer_n_sent(d);
    send_frame(&SV, true, 2, 500);
    assert_int_equal(collect(d, BV.ssrc, from), 2);
}

/* No memory for a member: the joiner is told (no member is left behind), and joining again works. */
static void test_fail_member_new(void **state)
{
    (void)state;
    fault_set("member-new@1");
    room_join(W.r, "alice");
    expect_internal(0, "alice", SFU_PC_UP);
    assert_int_equal(W.r->n_members, 0);
    assert_int_equal(fake_peer_count(), 0);
    room_join(W.r, "alice");
    assert_int_equal(W.r->n_members, 1);
    assert_int_equal(count_events(0, "alice", SFU_EV_INTERNAL), 1);
}

/* bob's receiving connection cannot be made (its peer; then, on the next try, its first offer): bob
 * is told, nothing of it is left (no connection without negotiation state, the peer freed), his
 * answer and candidates are ignored meanwhile, alice is not disturbed; after signaling takes him
 * out, his join again receives alice. */
static void test_fail_down_setup(void **state)
{
    (void)state;
    static const char *const faults[] = {"down-peer@1", "down-offer@1"};
    room_join(W.r, "alice");
    char *offer = swapped_offer();
    publish(&PA, "alice", offer);
    mline ov = read_mline(offer, SDP_MEDIA_VIDEO, 0);
    free(offer);
    mline av = answered("alice", SDP_MEDIA_VIDEO);
    stream_init(&SV, &PA, &av, ov.ssrc, ov.rtx_ssrc, 100);
    for (size_t i = 0; i < 2; i++) {
        fault_set(faults[i]);
        size_t ev0 = W.n_ev, live = fake_peer_count();
        room_join(W.r, "bob");
        expect_internal(ev0, "bob", SFU_PC_DOWN);
        member *b = mem("bob");
        assert_true(b->dead);
        assert_null(b->down);
        assert_null(b->neg);
        assert_int_equal(fake_peer_count(), live);
        assert_null(event_after(ev0, "bob", SFU_EV_OFFER));
        room_remote_sdp(W.r, "bob", SFU_PC_DOWN, "v=0\r\n");
        room_remote_candidate(W.r, "bob", SFU_PC_DOWN, "candidate:1 1 udp 2130706431 198.51.100.7 50000 typ host");
        room_restart_ice(W.r, "bob", SFU_PC_DOWN);
        assert_int_equal(W.n_ev, ev0 + 1); /* nothing answered, nothing more said */
        assert_int_equal(count_events(ev0, "alice", SFU_EV_OFFER) + count_events(ev0, "alice", SFU_EV_INTERNAL), 0);
        rejoin_and_receive("bob");
        room_leave(W.r, "bob");
    }
}

/* A later offer of bob's receiving connection cannot be built (carol starts publishing): bob is told
 * once and left alone (no more offers to him, his answer ignored), alice and carol go on; his join
 * again receives both. */
static void test_fail_down_renegotiation(void **state)
{
    (void)state;
    static publisher PC;
    two_members(false);
    room_join(W.r, "carol");
    receive("carol", false);
    fault_set("down-offer");
    size_t ev0 = W.n_ev;
    char *offer = swapped_offer();
    publish(&PC, "carol", offer);
    free(offer);
    expect_internal(ev0, "bob", SFU_PC_DOWN);
    assert_int_equal(count_events(ev0, "alice", SFU_EV_INTERNAL), 1); /* alice's offer failed the same way */
    fault_set(NULL);
    assert_non_null(mem("bob")->down); /* a live connection stays until he is taken out */
    assert_non_null(mem("bob")->neg);
    room_leave(W.r, "carol");
    assert_null(event_after(ev0, "bob", SFU_EV_OFFER));
    room_leave(W.r, "alice");
    room_leave(W.r, "bob");
    assert_int_equal(fake_peer_count(), 0); /* everything of theirs freed */
}

/* alice's publishing connection cannot be made: she is told (no answer), her candidates are ignored,
 * nobody is offered anything; after she is taken out, her join and offer again are answered. */
static void test_fail_up_peer(void **state)
{
    (void)state;
    room_join(W.r, "alice");
    room_join(W.r, "bob");
    fault_set("up-peer@1");
    char *offer = swapped_offer();
    room_remote_sdp(W.r, "alice", SFU_PC_UP, offer);
    expect_internal(0, "alice", SFU_PC_UP);
    assert_null(event_after(0, "alice", SFU_EV_ANSWER));
    assert_null(mem("alice")->up);
    room_remote_candidate(W.r, "alice", SFU_PC_UP, "candidate:1 1 udp 2130706431 198.51.100.7 50000 typ host");
    room_remote_sdp(W.r, "alice", SFU_PC_UP, offer); /* ignored until she is taken out */
    assert_null(event_after(0, "alice", SFU_EV_ANSWER));
    assert_null(event_after(0, "bob", SFU_EV_OFFER));
    room_leave(W.r, "alice");
    room_join(W.r, "alice");
    publish(&PA, "alice", offer);
    free(offer);
    assert_non_null(event_after(0, "bob", SFU_EV_OFFER));
}

int main(void)
{
#define ROOM_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        ROOM_TEST(test_forward_rewritten), ROOM_TEST(test_active_speaker), ROOM_TEST(test_transport_events), ROOM_TEST(test_ice_restart),
        ROOM_TEST(test_publisher_new_ssrc), ROOM_TEST(test_no_ports),
        ROOM_TEST(test_refused_offer_then_good_one), ROOM_TEST(test_nack_upstream_and_rtx),
        ROOM_TEST(test_feedback_to_publisher),
        ROOM_TEST(test_pli_throttled), ROOM_TEST(test_pli_before_publisher_connected),
        ROOM_TEST(test_sr_rewritten), ROOM_TEST(test_simulcast_switch),
        ROOM_TEST(test_simulcast_late_receiver),
        ROOM_TEST(test_simulcast_rtx), ROOM_TEST(test_simulcast_rtx_after_switch), ROOM_TEST(test_views_simulcast), ROOM_TEST(test_views_many_forwards),
        ROOM_TEST(test_views_small_tile), ROOM_TEST(test_views_hidden_single),
        ROOM_TEST(test_views_hidden_long), ROOM_TEST(test_keyframe_asked_while_forwarding),
        ROOM_TEST(test_views_all_layers_off),
        ROOM_TEST(test_bandwidth_layers_and_pause), ROOM_TEST(test_pacing),
        ROOM_TEST(test_renegotiation_and_leave), ROOM_TEST(test_leave_while_paced),
        ROOM_TEST(test_simulcast_renegotiated_while_paced),
        ROOM_TEST(test_screen_share_added), ROOM_TEST(test_screen_sources_kept), ROOM_TEST(test_screen_before_camera),
        ROOM_TEST(test_simulcast_switch_skips_backlog), ROOM_TEST(test_data_channel_relay),
        ROOM_TEST(test_fail_member_new), ROOM_TEST(test_fail_down_setup), ROOM_TEST(test_fail_down_renegotiation),
        ROOM_TEST(test_fail_up_peer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
