/* media.c - synthetic VP8 and Opus RTP for the bench publisher, with a send cache for NACKs
 * (see media.h for the packet layout). Packets are built straight into their cache slot, so the
 * only copy per packet is the caller's (into a buffer with room for the SRTP tag).
 */
#include "bench/media.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/rtp.h"

#define KEYFRAME_FACTOR 4.0
#define MAX_CATCH_UP 5
#define AUDIO_PERIOD_US 20000
#define VP8_DESC_LEN 4      /* X, I: 15-bit picture id */
#define VP8_DESC_T_LEN 6    /* ... and L, T: TL0PICIDX, TID/Y/KEYIDX */
#define VP8_TAG_LEN 3
#define VP8_KEY_HDR_LEN 7 /* start code + width + height */

void bench_stamp_write(uint8_t *payload, size_t len, int64_t send_us, int layer)
{
    if (len < BENCH_STAMP_LEN)
        return;
    uint8_t *p = payload + len - BENCH_STAMP_LEN;
    uint32_t magic = BENCH_STAMP_MAGIC << 8 | (uint32_t)(layer < 0 ? BENCH_STAMP_SINGLE : '0' + layer);
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(magic >> (24 - 8 * i));
    uint64_t v = (uint64_t)send_us;
    for (int i = 0; i < 8; i++)
        p[4 + i] = (uint8_t)(v >> (56 - 8 * i));
}

int bench_stamp_read(const uint8_t *payload, size_t len, int64_t *send_us, int *layer)
{
    if (len < BENCH_STAMP_LEN)
        return -1;
    const uint8_t *p = payload + len - BENCH_STAMP_LEN;
    uint32_t magic = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    if (magic != BENCH_STAMP_MAGIC || (p[3] != BENCH_STAMP_SINGLE && (p[3] < '0' || p[3] > '9')))
        return -1;
    if (layer)
        *layer = p[3] == BENCH_STAMP_SINGLE ? -1 : p[3] - '0';
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[4 + i];
    *send_us = (int64_t)v;
    return 0;
}

static uint32_t rnd(bench_media_track *t)
{
    uint32_t x = t->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    t->rng = x;
    return x;
}

int bench_media_track_init(bench_media_track *t, sdp_media_kind kind, uint8_t pt, int rtx_pt, uint32_t ssrc,
                           uint32_t rtx_ssrc, const char *mid, const sdp_ext_ids *ext, unsigned bitrate_bps,
                           unsigned fps, size_t cache_slots, uint32_t seed)
{
    memset(t, 0, sizeof(*t));
    t->kind = kind;
    t->pt = pt;
    t->rtx_pt = rtx_pt;
    t->ssrc = ssrc;
    t->rtx_ssrc = rtx_ssrc;
    t->rng = seed ? seed : 0x9e3779b9u;
    t->seq = (uint16_t)rnd(t);
    t->rtx_seq = (uint16_t)rnd(t);
    t->ts_base = rnd(t);
    t->picid = (uint16_t)(rnd(t) & 0x7fff);
    t->clock_rate = kind == SDP_MEDIA_AUDIO ? 48000 : 90000;
    snprintf(t->mid, sizeof(t->mid), "%s", mid ? mid : "");
    if (ext)
        t->ext = *ext;
    t->layer = -1;
    t->width = 640;
    t->height = 480;
    t->n_temporal = 1;
    if (fps == 0)
        fps = 30;
    t->period_us = kind == SDP_MEDIA_AUDIO ? AUDIO_PERIOD_US : 1000000 / (int64_t)fps;
    t->avg_frame_bytes = (double)bitrate_bps / 8.0 / (double)fps;
    t->cache_slots = cache_slots ? cache_slots : 1;
    t->cache = malloc(t->cache_slots * BENCH_MEDIA_MAX_PACKET);
    t->cache_len = calloc(t->cache_slots, sizeof(uint16_t));
    t->cache_seq = calloc(t->cache_slots, sizeof(uint16_t));
    if (!t->cache || !t->cache_len || !t->cache_seq) {
        bench_media_track_free(t);
        return -ENOMEM;
    }
    return 0;
}

void bench_media_track_free(bench_media_track *t)
{
    if (!t)
        return;
    free(t->cache);
    free(t->cache_len);
    free(t->cache_seq);
    t->cache = NULL;
    t->cache_len = t->cache_seq = NULL;
}

void bench_media_set_simulcast(bench_media_track *t, int layer, const char *rid, uint16_t width, uint16_t height)
{
    t->layer = layer;
    snprintf(t->rid, sizeof(t->rid), "%s", rid ? rid : "");
    t->width = width;
    t->height = height;
}

void bench_media_set_turns(bench_media_track *t, int64_t turn_us, unsigned index, unsigned count)
{
    t->turn_us = count ? turn_us : 0;
    t->turn_index = index;
    t->turn_count = count;
}

void bench_media_set_temporal(bench_media_track *t, unsigned n)
{
    t->n_temporal = n < 1 ? 1 : n > BENCH_MEDIA_MAX_TEMPORAL ? BENCH_MEDIA_MAX_TEMPORAL : n;
}

void bench_media_ids_acked(bench_media_track *t)
{
    t->ids_acked = true;
}

void bench_media_start(bench_media_track *t, int64_t now_us)
{
    t->running = true;
    t->start_us = t->next_us = now_us;
    t->key_wanted = true;
}

void bench_media_request_keyframe(bench_media_track *t)
{
    t->key_wanted = true;
}

uint32_t bench_media_rtp_ts(const bench_media_track *t, int64_t now_us)
{
    int64_t d = now_us - t->start_us;
    return t->ts_base + (uint32_t)((uint64_t)(d < 0 ? 0 : d) * t->clock_rate / 1000000u);
}

/* ---- packet assembly ---- */

#define MAX_EXTS 5

/* The extension elements of a media packet (rtx = false) or of a simulcast layer's RTX packet. */
static size_t build_exts(const bench_media_track *t, bool rtx, int64_t now_us, uint16_t tseq,
                         struct rtp_ext_elem e[MAX_EXTS], uint8_t abs[3], uint8_t tw[2], uint8_t *level)
{
    size_t n = 0;
    bool ids = t->layer < 0 || rtx || !t->ids_acked;
    if (t->ext.mid && t->mid[0] && ids)
        e[n++] = (struct rtp_ext_elem){t->ext.mid, (uint8_t)strlen(t->mid), (const uint8_t *)t->mid};
    uint8_t rid_id = t->layer < 0 || !ids ? 0 : rtx ? t->ext.rrid : t->ext.rid;
    if (rid_id && t->rid[0])
        e[n++] = (struct rtp_ext_elem){rid_id, (uint8_t)strlen(t->rid), (const uint8_t *)t->rid};
    if (t->ext.abs_send_time) {
        uint32_t v = (uint32_t)(((uint64_t)now_us << 18) / 1000000u) & 0xffffffu;
        abs[0] = (uint8_t)(v >> 16);
        abs[1] = (uint8_t)(v >> 8);
        abs[2] = (uint8_t)v;
        e[n++] = (struct rtp_ext_elem){t->ext.abs_send_time, 3, abs};
    }
    if (t->ext.twcc) {
        tw[0] = (uint8_t)(tseq >> 8);
        tw[1] = (uint8_t)tseq;
        e[n++] = (struct rtp_ext_elem){t->ext.twcc, 2, tw};
    }
    if (t->ext.audio_level && t->kind == SDP_MEDIA_AUDIO) {
        *level = 0x80 | 30; /* voice activity, -30 dBov */
        if (t->turn_us > 0) /* its turn: voice at -20 dBov; else digital silence */
            *level = (uint64_t)(now_us / t->turn_us) % t->turn_count == t->turn_index ? (0x80 | 20) : 127;
        e[n++] = (struct rtp_ext_elem){t->ext.audio_level, 1, level};
    }
    return n;
}

/* Writes the RTP header of the next packet into its cache slot; returns the slot and the header
 * length in *hl, or NULL. */
static uint8_t *begin_packet(bench_media_track *t, bool marker, uint32_t ts, int64_t now_us, uint16_t *twcc_seq,
                             int *hl)
{
    struct rtp_ext_elem e[MAX_EXTS];
    uint8_t abs[3], tw[2], level;
    size_t n_ext = build_exts(t, false, now_us, *twcc_seq, e, abs, tw, &level);
    if (t->ext.twcc)
        (*twcc_seq)++;
    struct rtp_hdr h = {t->pt, marker, t->seq, ts, t->ssrc, n_ext ? e : NULL, n_ext};
    uint8_t *slot = t->cache + (size_t)(t->seq % t->cache_slots) * BENCH_MEDIA_MAX_PACKET;
    *hl = rtp_write_header(slot, BENCH_MEDIA_MAX_PACKET, &h);
    return *hl > 0 ? slot : NULL;
}

static void finish_packet(bench_media_track *t, uint8_t *slot, size_t len, size_t payload_len, bench_media_emit emit,
                          void *ud)
{
    size_t idx = t->seq % t->cache_slots;
    t->cache_len[idx] = (uint16_t)len;
    t->cache_seq[idx] = t->seq;
    t->seq++;
    t->packets++;
    t->octets += payload_len;
    emit(ud, slot, len);
}

/* The temporal layer of the frame at pattern position pos (L1T2: 0 1, L1T3: 0 2 1 2). */
static unsigned temporal_id(const bench_media_track *t, unsigned pos)
{
    static const uint8_t t3[4] = {0, 2, 1, 2};
    return t->n_temporal >= 3 ? t3[pos % 4] : t->n_temporal == 2 ? pos % 2 : 0;
}

/* A frame of temporal layer tid is this many average frames (libwebrtc's rate split per layer over
 * the share of frames it has). */
static double temporal_factor(const bench_media_track *t, unsigned tid)
{
    if (t->n_temporal >= 3)
        return tid == 0 ? 1.6 : 0.8;
    if (t->n_temporal == 2)
        return tid == 0 ? 1.2 : 0.8;
    return 1.0;
}

static size_t frame_size(bench_media_track *t, bool key, unsigned tid)
{
    double avg = t->avg_frame_bytes * (key ? 1.0 : temporal_factor(t, tid));
    double size;
    if (key) {
        size = avg * KEYFRAME_FACTOR;
        t->debt += size - avg;
    } else {
        double planned = avg * (0.8 + 0.4 * (double)(rnd(t) % 1000) / 1000.0);
        double repay = t->debt < planned * 0.6 ? t->debt : planned * 0.6;
        size = planned - repay;
        t->debt -= repay;
    }
    double max = (double)BENCH_MEDIA_MAX_FRAME_PACKETS * (BENCH_MEDIA_MAX_PAYLOAD - VP8_DESC_T_LEN);
    if (size > max)
        size = max;
    if (size < 64)
        size = 64;
    return (size_t)size;
}

/* The VP8 frame tag (RFC 6386 9.1) and, on keyframes, the start code and the size. */
static size_t write_frame_header(const bench_media_track *t, uint8_t *p, bool key, size_t frame_bytes)
{
    uint32_t first_part = (uint32_t)(frame_bytes / 4) & 0x7ffffu;
    p[0] = (uint8_t)((key ? 0 : 1) | (1u << 4) | ((first_part & 7u) << 5));
    p[1] = (uint8_t)(first_part >> 3);
    p[2] = (uint8_t)(first_part >> 11);
    if (!key)
        return VP8_TAG_LEN;
    const uint8_t start[VP8_KEY_HDR_LEN] = {0x9d, 0x01, 0x2a, (uint8_t)t->width, (uint8_t)(t->width >> 8),
                                            (uint8_t)t->height, (uint8_t)(t->height >> 8)};
    memcpy(p + VP8_TAG_LEN, start, sizeof(start));
    return VP8_TAG_LEN + VP8_KEY_HDR_LEN;
}

/* The payload descriptor (RFC 7741 4.2) of one packet of the frame; returns its length. */
static size_t write_descriptor(const bench_media_track *t, uint8_t *p, bool first, unsigned tid, bool sync)
{
    bool temporal = t->n_temporal > 1;
    bool non_ref = temporal && tid + 1 == t->n_temporal;
    p[0] = (uint8_t)(0x80 | (non_ref ? 0x20 : 0) | (first ? 0x10 : 0)); /* X, N, S, PID 0 */
    p[1] = temporal ? 0xe0 : 0x80;                                     /* I (+ L, T) */
    p[2] = (uint8_t)(0x80 | (t->picid >> 8));
    p[3] = (uint8_t)t->picid;
    if (!temporal)
        return VP8_DESC_LEN;
    p[4] = t->tl0picidx;
    p[5] = (uint8_t)(tid << 6 | (sync ? 0x20 : 0)); /* TID, Y, KEYIDX 0 */
    return VP8_DESC_T_LEN;
}

static size_t send_frame(bench_media_track *t, int64_t sched_us, int64_t now_us, uint16_t *twcc_seq,
                         bench_media_emit emit, void *ud)
{
    bool key = t->key_wanted;
    t->key_wanted = false;
    if (key)
        t->pattern_pos = 0;
    unsigned tid = temporal_id(t, t->pattern_pos);
    /* TL1 and TL2 frames that reference only the TL0 frame: all of L1T2's, the first two after a
     * TL0 frame in L1T3's */
    bool sync = tid > 0 && (t->n_temporal == 2 || t->pattern_pos % 4 != 3);
    if (tid == 0 && t->frames > 0)
        t->tl0picidx++;
    t->pattern_pos++;
    size_t desc_len = t->n_temporal > 1 ? VP8_DESC_T_LEN : VP8_DESC_LEN;
    size_t bytes = frame_size(t, key, tid);
    size_t chunk_max = BENCH_MEDIA_MAX_PAYLOAD - desc_len;
    size_t n = (bytes + chunk_max - 1) / chunk_max;
    uint32_t ts = bench_media_rtp_ts(t, sched_us);
    t->last_ts = ts;
    for (size_t i = 0; i < n; i++) {
        size_t chunk = bytes / n + (i < bytes % n ? 1 : 0);
        int hl;
        uint8_t *slot = begin_packet(t, i + 1 == n, ts, now_us, twcc_seq, &hl);
        if (!slot)
            return i;
        uint8_t *p = slot + hl;
        size_t off = write_descriptor(t, p, i == 0, tid, sync);
        if (i == 0)
            off += write_frame_header(t, p + off, key, bytes);
        size_t plen = desc_len + chunk;
        if (plen < off + BENCH_STAMP_LEN)
            plen = off + BENCH_STAMP_LEN;
        memset(p + off, (int)(t->picid & 0xff), plen - off - BENCH_STAMP_LEN);
        bench_stamp_write(p, plen, now_us, t->layer);
        finish_packet(t, slot, (size_t)hl + plen, plen, emit, ud);
    }
    t->picid = (uint16_t)((t->picid + 1) & 0x7fff);
    t->frames++;
    if (key)
        t->keyframes++;
    return n;
}

#define DTX_FRAMES 20 /* 400 ms of 20 ms frames */

static size_t send_audio(bench_media_track *t, int64_t sched_us, int64_t now_us, uint16_t *twcc_seq,
                         bench_media_emit emit, void *ud)
{
    bool silent = t->turn_us > 0 && (uint64_t)(now_us / t->turn_us) % t->turn_count != t->turn_index;
    if (t->dtx && silent && (sched_us / AUDIO_PERIOD_US) % DTX_FRAMES != 0)
        return 0; /* Opus DTX: silence is one comfort-noise update per 400 ms (RFC 7587 3.1.3) */
    uint32_t ts = bench_media_rtp_ts(t, sched_us);
    t->last_ts = ts;
    int hl;
    uint8_t *slot = begin_packet(t, t->frames == 0, ts, now_us, twcc_seq, &hl);
    if (!slot)
        return 0;
    size_t plen = t->dtx && silent ? 1 + BENCH_STAMP_LEN : 80 + rnd(t) % 81;
    uint8_t *p = slot + hl;
    p[0] = 0x78; /* Opus TOC: config 15 (hybrid FB 20 ms), mono, one frame */
    memset(p + 1, 0x33, plen - 1 - BENCH_STAMP_LEN);
    bench_stamp_write(p, plen, now_us, -1);
    finish_packet(t, slot, (size_t)hl + plen, plen, emit, ud);
    t->frames++;
    return 1;
}

size_t bench_media_poll(bench_media_track *t, int64_t now_us, uint16_t *twcc_seq, bench_media_emit emit, void *ud)
{
    if (!t->running)
        return 0;
    size_t n = 0;
    for (int i = 0; i < MAX_CATCH_UP && now_us >= t->next_us; i++) {
        int64_t sched = t->next_us;
        n += t->kind == SDP_MEDIA_VIDEO ? send_frame(t, sched, now_us, twcc_seq, emit, ud)
                                        : send_audio(t, sched, now_us, twcc_seq, emit, ud);
        t->next_us += t->period_us;
    }
    if (now_us >= t->next_us)
        t->next_us = now_us + t->period_us; /* far behind: skip instead of bursting */
    return n;
}

/* RTX (RFC 4588) of a simulcast layer's packet v: a header of its own with mid and
 * repaired-rtp-stream-id (and the transport-wide number), then the original seq and payload. */
static int layer_rtx(bench_media_track *t, const struct rtp_view *v, uint16_t *twcc_seq, uint8_t *out, size_t cap)
{
    struct rtp_ext_elem e[MAX_EXTS];
    uint8_t abs[3], tw[2], level;
    size_t n_ext = build_exts(t, true, 0, *twcc_seq, e, abs, tw, &level);
    /* abs-send-time, when negotiated, is the original's: leave it out of the repair */
    size_t k = 0;
    for (size_t i = 0; i < n_ext; i++)
        if (e[i].id != t->ext.abs_send_time)
            e[k++] = e[i];
    struct rtp_hdr h = {(uint8_t)t->rtx_pt, v->marker, t->rtx_seq, v->ts, t->rtx_ssrc, k ? e : NULL, k};
    int hl = rtp_write_header(out, cap, &h);
    if (hl < 0 || (size_t)hl + 2 + v->payload_len > cap)
        return -ENOBUFS;
    out[hl] = (uint8_t)(v->seq >> 8);
    out[hl + 1] = (uint8_t)v->seq;
    memcpy(out + hl + 2, rtp_payload(v), v->payload_len);
    if (t->ext.twcc)
        (*twcc_seq)++;
    t->rtx_seq++;
    return hl + 2 + (int)v->payload_len;
}

int bench_media_retransmit(bench_media_track *t, uint16_t seq, uint16_t *twcc_seq, uint8_t *out, size_t cap)
{
    size_t idx = seq % t->cache_slots;
    size_t len = t->cache_len[idx];
    if (len == 0 || t->cache_seq[idx] != seq) {
        t->rtx_misses++;
        return -ENOENT;
    }
    const uint8_t *orig = t->cache + idx * BENCH_MEDIA_MAX_PACKET;
    struct rtp_view v;
    if (rtp_parse(&v, orig, len) < 0)
        return -ENOENT;
    int n;
    if (t->rtx_pt >= 0 && t->layer >= 0) {
        n = layer_rtx(t, &v, twcc_seq, out, cap);
        if (n > 0)
            t->retransmitted++;
        return n;
    }
    if (t->rtx_pt >= 0) {
        n = rtp_rtx_wrap(out, cap, &v, (uint8_t)t->rtx_pt, t->rtx_seq, t->rtx_ssrc);
        if (n < 0)
            return -ENOBUFS;
        t->rtx_seq++;
    } else {
        if (len > cap)
            return -ENOBUFS;
        memcpy(out, orig, len);
        n = (int)len;
    }
    if (t->ext.twcc) {
        struct rtp_view ov;
        if (rtp_parse(&ov, out, (size_t)n) == 0 && rtp_ext_set_u16(out, &ov, t->ext.twcc, *twcc_seq) == 0)
            (*twcc_seq)++;
    }
    t->retransmitted++;
    return n;
}
