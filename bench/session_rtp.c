/* session_rtp.c - the packet paths of a bench session (see session_rtp.h).
 *
 * Out (publisher): the worker tick polls the synthetic streams (bench/media.h): audio, and video as
 * one stream or, with --simulcast, as three layers q/h/f (Chromium's 720p ladder: 150/1700 and
 * 500/1700 of --bitrate, and --bitrate; 320x180, 640x360, 1280x720; L1T3 by default). Each packet
 * is copied into the worker's scratch buffer (room for the SRTP tag) and sent on the up peer. A
 * sender report (SR per stream + SDES CNAME) goes out every second. RTCP from the SFU: NACKs are
 * answered from the stream's send cache (RTX when negotiated), PLI/FIR ask the stream of that SSRC
 * (one layer) for a keyframe, a receiver report block about a layer's SSRC stops its mid/rid, REMB
 * and transport-cc are counted.
 *
 * In (receiver): with --police-kbps a policed receiver's token bucket (bench/police.h) sees every
 * packet first and drops what exceeds it, before anything else below sees it, as a policer on the
 * wire would. Each RTP packet is parsed in libnice's buffer (already decrypted in place by the
 * peer); its transport-wide number is recorded with its arrival time (bench/twcc_rx.h); it is
 * matched to its m-line by SSRC (RTX is unwrapped in place), and fed to the track's sequence
 * tracker; first-time packets give a one-way delay sample from the stamp at the end of the payload,
 * and video ones go to the track's frame assembler and decoder model (bench/frames.h); the first
 * VP8 keyframe after the subscription gives the keyframe delay. The tick sends transport-cc feedback
 * every --twcc-interval-ms where transport-cc was negotiated, generic NACKs for gaps (bench_rxseq's
 * schedule: 10 ms after the gap, then every 25 ms, 10 tries, 1 s at most) where the offer asked for
 * nack, and a PLI when a subscribed video track has shown no keyframe for 500 ms or its decoder is
 * stuck (complete frames waiting 200 ms for a lost reference), again every 500 ms, like a browser.
 * No allocation on these paths.
 */
#include "bench/session_rtp.h"

#include "bench/meeting.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sfu/rtcp.h"
#include "sfu/rtp.h"

#define SR_INTERVAL_US 1000000
#define PLI_WAIT_US 500000
#define VIDEO_CACHE_SLOTS 1024
#define AUDIO_CACHE_SLOTS 128
#define NACK_BATCH 64
#define TWCC_BURST 8 /* feedback packets one tick may send for one receiver */

/* Simulcast layers, lowest first: rid, share of --bitrate, keyframe size (Chromium's 720p ladder). */
static const struct {
    const char *rid;
    unsigned num, den;
    uint16_t width, height;
} layers[BENCH_MAX_RIDS] = {{"q", 150, 1700, 320, 180}, {"h", 500, 1700, 640, 360}, {"f", 1, 1, 1280, 720}};

static const bench_nack_policy nack_policy = {
    .first_delay_us = 10000,
    .retry_us = 25000,
    .max_tries = 10,
    .max_age_us = 1000000,
};

/* ---- publishing ---- */

static uint32_t random_ssrc(void)
{
    uint32_t v;
    do
        v = g_random_int();
    while (v == 0);
    return v;
}

/* The random parts of stream k of s: fixed by --seed, else random. */
static uint32_t media_seed(const bench_session *s, unsigned k)
{
    uint32_t seed = s->w->run->cfg.seed;
    if (!seed)
        return g_random_int();
    uint32_t x = seed ^ (uint32_t)s->room * 0x9e3779b1u ^ (uint32_t)s->index * 0x85ebca6bu ^ (k + 1) * 0xc2b2ae35u;
    return x ? x : 1;
}

int bench_session_media_init(bench_session *s)
{
    const bench_config *cfg = &s->w->run->cfg;
    sdp_ext_ids ea = {.mid = BENCH_EXT_MID, .audio_level = BENCH_EXT_AUDIO_LEVEL, .abs_send_time = BENCH_EXT_ABS_SEND_TIME, .twcc = BENCH_EXT_TWCC};
    sdp_ext_ids ev = ea;
    ev.audio_level = 0;
    s->media_init = true;
    int rc = bench_media_track_init(&s->audio, SDP_MEDIA_AUDIO, BENCH_PT_OPUS, -1, random_ssrc(), 0, BENCH_MID_AUDIO,
                                    &ea, 0, 0, AUDIO_CACHE_SLOTS, media_seed(s, 0));
    if (rc == 0 && cfg->audio_turn_ms && s->publishes)
        bench_media_set_turns(&s->audio, (int64_t)cfg->audio_turn_ms * 1000, (unsigned)s->index,
                              (unsigned)(cfg->mode == BENCH_MODE_MEETING ? cfg->participants : 1));
    s->audio.dtx = cfg->audio_dtx && cfg->audio_turn_ms;
    s->n_video = cfg->simulcast ? BENCH_MAX_RIDS : 1;
    for (unsigned k = 0; rc == 0 && k < s->n_video; k++) {
        bench_media_track *t = &s->video[k];
        unsigned kbps = cfg->simulcast ? cfg->bitrate_kbps * layers[k].num / layers[k].den : cfg->bitrate_kbps;
        rc = bench_media_track_init(t, SDP_MEDIA_VIDEO, BENCH_PT_VP8, BENCH_PT_VP8_RTX, random_ssrc(), random_ssrc(),
                                    BENCH_MID_VIDEO, &ev, kbps * 1000u, cfg->fps, VIDEO_CACHE_SLOTS,
                                    media_seed(s, k + 1));
        if (rc == 0 && cfg->simulcast)
            bench_media_set_simulcast(t, (int)k, layers[k].rid, layers[k].width, layers[k].height);
        if (rc == 0)
            bench_media_set_temporal(t, cfg->temporal_layers);
    }
    if (rc < 0)
        s->n_video = 0;
    return rc;
}

const char *bench_session_rid(unsigned layer)
{
    return layer < BENCH_MAX_RIDS ? layers[layer].rid : "?";
}

void bench_session_media_apply(bench_session *s, const bench_sdp_sent *audio, const bench_sdp_sent *video)
{
    s->audio_on = audio->accepted;
    s->video_on = video->accepted;
    if (audio->accepted) {
        s->audio.pt = audio->pt;
        s->audio.ext = audio->ext;
    }
    if (!video->accepted)
        return;
    if (s->w->run->cfg.simulcast && video->n_rids == 0) {
        bench_session_fail(s, "the SFU's answer does not receive simulcast");
        s->video_on = false;
        return;
    }
    for (unsigned k = 0; k < s->n_video; k++) {
        bench_media_track *t = &s->video[k];
        t->pt = video->pt;
        t->rtx_pt = video->rtx_pt;
        t->ext = video->ext;
        t->ext.audio_level = 0;
        bool taken = !s->w->run->cfg.simulcast;
        for (size_t i = 0; i < video->n_rids && !taken; i++)
            taken = !strcmp(video->rids[i], t->rid);
        s->video_taken[k] = taken; /* a layer the SFU does not take is never started */
    }
}

void bench_session_media_start(bench_session *s, int64_t now_us)
{
    if (s->audio_on)
        bench_media_start(&s->audio, now_us);
    for (unsigned k = 0; s->video_on && k < s->n_video; k++)
        if (s->video_taken[k])
            bench_media_start(&s->video[k], now_us);
    s->next_sr_us = now_us + SR_INTERVAL_US / 2;
}

void bench_session_media_free(bench_session *s)
{
    if (!s->media_init)
        return;
    bench_media_track_free(&s->audio);
    for (unsigned k = 0; k < BENCH_MAX_RIDS; k++)
        bench_media_track_free(&s->video[k]);
    s->media_init = false;
}

static void emit_up(void *ud, const uint8_t *pkt, size_t len)
{
    bench_session *s = ud;
    bench_worker *w = s->w;
    memcpy(w->scratch, pkt, len);
    if (peer_send_rtp(s->up, w->scratch, len, BENCH_SCRATCH) == 0) {
        STATS_INC(w->c.rtp_sent);
        STATS_ADD(w->c.rtp_bytes_sent, len);
    }
}

static void send_rtcp(bench_session *s, peer *p, size_t len)
{
    if (peer_send_rtcp(p, s->w->scratch, len, BENCH_SCRATCH) == 0)
        STATS_INC(s->w->c.rtcp_sent);
}

static void send_sr(bench_session *s, int64_t now_us)
{
    uint8_t *buf = s->w->scratch;
    size_t cap = BENCH_SCRATCH - SRTP_SESSION_RTCP_MAX_OVERHEAD, n = 0;
    uint64_t ntp = rtcp_ntp_from_unix_us((uint64_t)g_get_real_time());
    for (unsigned i = 0; i <= s->n_video; i++) {
        bench_media_track *t = i ? &s->video[i - 1] : &s->audio;
        if (!t->running)
            continue;
        struct rtcp_sr_info sr = {t->ssrc, ntp, bench_media_rtp_ts(t, now_us), (uint32_t)t->packets,
                                  (uint32_t)t->octets};
        int r = rtcp_build_sr(buf + n, cap - n, &sr, NULL, 0);
        if (r > 0)
            n += (size_t)r;
    }
    char cname[80];
    int cl = snprintf(cname, sizeof(cname), "bench-%s", s->user_id);
    int r = n ? rtcp_build_sdes_cname(buf + n, cap - n, s->audio_on ? s->audio.ssrc : s->video[0].ssrc, cname,
                                      (size_t)cl)
              : -1;
    if (r > 0)
        send_rtcp(s, s->up, n + (size_t)r);
}

static void tick_publisher(bench_session *s, int64_t now_us)
{
    if (!s->up_connected)
        return;
    bench_media_poll(&s->audio, now_us, &s->twcc_seq, emit_up, s);
    for (unsigned k = 0; k < s->n_video; k++) {
        bench_media_track *t = &s->video[k];
        if (bench_meeting_layer_paused(s, k))
            continue; /* video-layers turned it off: the encoder does not run */
        uint64_t keys = t->keyframes;
        bench_media_poll(t, now_us, &s->twcc_seq, emit_up, s);
        if (t->keyframes != keys)
            STATS_ADD(s->w->c.keyframes_sent, t->keyframes - keys);
    }
    if (now_us >= s->next_sr_us) {
        s->next_sr_us = now_us + SR_INTERVAL_US;
        send_sr(s, now_us);
    }
}

/* ---- feedback to the publisher ---- */

/* The stream sent with this (media) SSRC. */
static bench_media_track *sent_track(bench_session *s, uint32_t ssrc)
{
    if (s->audio_on && ssrc == s->audio.ssrc)
        return &s->audio;
    for (unsigned k = 0; s->video_on && k < s->n_video; k++)
        if (s->video[k].running && ssrc == s->video[k].ssrc)
            return &s->video[k];
    return NULL;
}

static void on_nack(bench_session *s, const struct rtcp_pkt *p)
{
    bench_media_track *t = sent_track(s, p->media_ssrc);
    for (unsigned i = 0; t && i < p->u.nack.n_items; i++) {
        struct rtcp_nack_item item;
        uint16_t seqs[17];
        if (rtcp_pkt_nack_item(p, i, &item) < 0)
            break;
        unsigned n = rtcp_nack_unpack(&item, seqs);
        STATS_ADD(s->w->c.nacks_received, n);
        for (unsigned k = 0; k < n; k++) {
            uint8_t *out = s->w->scratch;
            int len = bench_media_retransmit(t, seqs[k], &s->twcc_seq, out,
                                             BENCH_SCRATCH - SRTP_SESSION_RTP_MAX_OVERHEAD);
            if (len > 0 && peer_send_rtp(s->up, out, (size_t)len, BENCH_SCRATCH) == 0)
                STATS_INC(s->w->c.retransmissions_sent);
        }
    }
}

static void on_keyframe_request(bench_session *s, uint32_t ssrc)
{
    STATS_INC(s->w->c.plis_received);
    bench_media_track *t = sent_track(s, ssrc);
    if (t && t->kind == SDP_MEDIA_VIDEO)
        bench_media_request_keyframe(t);
}

/* A receiver report: the SFU knows the SSRCs it reports on (a layer stops sending mid and rid). */
static void on_report(bench_session *s, const struct rtcp_pkt *p)
{
    STATS_INC(s->w->c.rr_received);
    for (unsigned i = 0; i < p->count; i++) {
        struct rtcp_report_block rb;
        bench_media_track *t = rtcp_pkt_report_block(p, i, &rb) == 0 ? sent_track(s, rb.ssrc) : NULL;
        if (t && t->layer >= 0)
            bench_media_ids_acked(t);
    }
}

void bench_session_up_rtcp(void *ud, uint8_t *buf, size_t len, int64_t now_us)
{
    bench_session *s = ud;
    if (s->w->stopping)
        return;
    struct rtcp_iter it;
    struct rtcp_pkt p;
    rtcp_iter_init(&it, buf, len);
    while (rtcp_iter_next(&it, &p) > 0) {
        switch (p.kind) {
        case RTCP_K_NACK:
            on_nack(s, &p);
            break;
        case RTCP_K_PLI:
            on_keyframe_request(s, p.media_ssrc);
            break;
        case RTCP_K_FIR:
            for (unsigned i = 0; i < p.u.fir.n_entries; i++) {
                uint32_t ssrc;
                uint8_t seq_nr;
                if (rtcp_pkt_fir_entry(&p, i, &ssrc, &seq_nr) == 0)
                    on_keyframe_request(s, ssrc);
            }
            break;
        case RTCP_K_REMB:
            STATS_INC(s->w->c.remb_received);
            break;
        case RTCP_K_TWCC:
            STATS_INC(s->w->c.twcc_received);
            break;
        case RTCP_K_RR:
            on_report(s, &p);
            break;
        default:
            break;
        }
    }
}

/* ---- receiving ---- */

static bench_rx_track *rx_track(bench_session *s, uint32_t ssrc, bool *rtx)
{
    for (size_t i = 0; i < s->n_rx; i++) {
        bench_rx_track *t = &s->rx[i];
        if (!t->sdp.active)
            continue;
        if (t->sdp.ssrc == ssrc) {
            *rtx = false;
            return t;
        }
        if (t->sdp.rtx_ssrc && t->sdp.rtx_ssrc == ssrc) {
            *rtx = true;
            return t;
        }
    }
    return NULL;
}

static void count_result(bench_worker *w, bench_rx_result res, bool rtx)
{
    if (res == BENCH_RX_DUPLICATE)
        STATS_INC(w->c.rx_duplicates);
    else if (res == BENCH_RX_FILLED && rtx)
        STATS_INC(w->c.rx_recovered);
    else if (res == BENCH_RX_FILLED)
        STATS_INC(w->c.rx_reordered);
}

/* Delay and keyframe samples of a packet that arrived for the first time, and its frame. */
static void sample(bench_session *s, bench_rx_track *t, const struct rtp_view *v, bool rtx, int64_t now_us)
{
    bench_worker *w = s->w;
    const uint8_t *pl = rtp_payload(v);
    int64_t sent;
    int layer = -1;
    bool stamped = bench_stamp_read(pl, v->payload_len, &sent, &layer) == 0;
    if (!rtx && stamped && sent <= now_us)
        bench_hist_add(&w->delay, (uint64_t)(now_us - sent));
    struct rtp_vp8 vp8;
    if (t->sdp.kind != SDP_MEDIA_VIDEO || rtp_vp8_parse(pl, v->payload_len, &vp8) < 0)
        return;
    bench_frame_pkt fp = {v->seq, v->marker, vp8.start && vp8.pid == 0, vp8.keyframe,
                          vp8.has_picid ? vp8.picid : -1, vp8.has_tid ? vp8.tid : -1, vp8.tl0picidx,
                          vp8.layer_sync, layer};
    bench_frames_on_packet(&t->frames, &fp, now_us);
    if (!t->got_key && vp8.keyframe) {
        t->got_key = true;
        if (t->sub_us)
            bench_hist_add(&w->keyframe, (uint64_t)(now_us > t->sub_us ? now_us - t->sub_us : 0));
    }
}

/* What the receiver's policer lets through (everything when it is not policed). */
static bool policed_pass(bench_session *s, size_t len, int64_t now_us)
{
    if (!s->policed || bench_police_pass(&s->police, len + BENCH_POLICE_OVERHEAD, now_us))
        return true;
    STATS_INC(s->w->c.police_dropped);
    return false;
}

void bench_session_down_rtp(void *ud, uint8_t *buf, size_t len, int64_t now_us)
{
    bench_session *s = ud;
    bench_worker *w = s->w;
    if (w->stopping || !policed_pass(s, len, now_us))
        return;
    STATS_INC(w->c.rtp_received);
    STATS_ADD(w->c.rtp_bytes_received, len);
    struct rtp_view v;
    bool rtx = false;
    if (rtp_parse(&v, buf, len) < 0) {
        STATS_INC(w->c.rx_unknown);
        return;
    }
    uint16_t tseq;
    if (s->twcc_ext && rtp_ext_get_u16(&v, s->twcc_ext, &tseq) == 0)
        bench_twcc_rx_on_packet(&s->twcc, tseq, now_us);
    bench_rx_track *t = rx_track(s, v.ssrc, &rtx);
    if (!t) {
        STATS_INC(w->c.rx_unknown);
        return;
    }
    t->packets++;
    t->bytes += len;
    s->rx_bytes += len;
    if (t->sdp.kind == SDP_MEDIA_VIDEO) {
        s->rx_video_bytes += len;
        int64_t sent = now_us;
        int layer;
        if (!rtx && (bench_stamp_read(rtp_payload(&v), v.payload_len, &sent, &layer) < 0 || sent > now_us))
            sent = now_us;
        if (!rtx || v.payload_len > 2)
            bench_meeting_on_video(s, t, sent, now_us);
    }
    if (rtx) {
        if (v.payload_len <= 2)
            return; /* padding probe */
        int n = rtp_rtx_unwrap(buf, len, t->sdp.pt, t->sdp.ssrc);
        if (n <= 0 || rtp_parse(&v, buf, (size_t)n) < 0)
            return;
    }
    uint32_t dexp, duniq;
    bench_rx_result res = bench_rxseq_update(&t->seq, v.seq, rtx, now_us, &nack_policy, &dexp, &duniq);
    STATS_ADD(w->c.rx_expected, dexp);
    STATS_ADD(w->c.rx_unique, duniq);
    count_result(w, res, rtx);
    if (!s->t_first_media) {
        s->t_first_media = now_us;
        bench_session_check_ready(s, now_us);
    }
    if (res == BENCH_RX_NEW || res == BENCH_RX_FILLED)
        sample(s, t, &v, rtx, now_us);
}

void bench_session_down_rtcp(void *ud, uint8_t *buf, size_t len, int64_t now_us)
{
    bench_session *s = ud;
    if (!policed_pass(s, len, now_us))
        return;
    struct rtcp_iter it;
    struct rtcp_pkt p;
    rtcp_iter_init(&it, buf, len);
    while (rtcp_iter_next(&it, &p) > 0) {
        if (p.kind == RTCP_K_SR)
            STATS_INC(s->w->c.sr_received);
    }
}

static void send_feedback(bench_session *s, bench_rx_track *t, int64_t now_us)
{
    uint8_t *buf = s->w->scratch;
    size_t cap = BENCH_SCRATCH - SRTP_SESSION_RTCP_MAX_OVERHEAD;
    if (t->sdp.fb_nack) {
        uint16_t seqs[NACK_BATCH];
        size_t n = bench_rxseq_due_nacks(&t->seq, now_us, &nack_policy, seqs, NACK_BATCH);
        if (n) {
            struct rtcp_nack_item items[NACK_BATCH];
            size_t ni = rtcp_nack_pack(seqs, n, items, NACK_BATCH, NULL);
            int len = rtcp_build_nack(buf, cap, s->rtcp_ssrc, t->sdp.ssrc, items, ni);
            if (len > 0) {
                send_rtcp(s, s->down, (size_t)len);
                STATS_ADD(s->w->c.nacks_sent, n);
                t->nacked += n;
            }
        }
    }
    if (t->sdp.kind != SDP_MEDIA_VIDEO || !t->sdp.fb_pli || !t->sub_us || now_us - t->last_pli_us < PLI_WAIT_US ||
        t->hidden)
        return; /* a hidden tile (--tiles) receives nothing: no decoder waits for it */
    bool no_key = !t->got_key && now_us - t->sub_us >= PLI_WAIT_US;
    if (no_key || bench_frames_stuck(&t->frames, now_us)) {
        int len = rtcp_build_pli(buf, cap, s->rtcp_ssrc, t->sdp.ssrc);
        if (len > 0) {
            send_rtcp(s, s->down, (size_t)len);
            STATS_INC(s->w->c.plis_sent);
            t->last_pli_us = now_us;
            t->plis++;
        }
    }
}

/* Transport-cc feedback of everything received since the last one (every --twcc-interval-ms). */
static void send_twcc(bench_session *s, int64_t now_us)
{
    if (now_us < s->next_twcc_us)
        return;
    int64_t interval = (int64_t)s->w->run->cfg.twcc_interval_ms * 1000;
    s->next_twcc_us = now_us - s->next_twcc_us < interval ? s->next_twcc_us + interval : now_us + interval;
    uint32_t media_ssrc = 0;
    for (size_t k = 0; k < s->n_rx && !media_ssrc; k++)
        if (s->rx[k].sdp.active)
            media_ssrc = s->rx[k].sdp.ssrc;
    for (int i = 0; i < TWCC_BURST; i++) {
        int len = bench_twcc_rx_feedback(&s->twcc, s->w->scratch, BENCH_SCRATCH - SRTP_SESSION_RTCP_MAX_OVERHEAD,
                                         s->rtcp_ssrc, media_ssrc);
        if (len <= 0)
            break;
        send_rtcp(s, s->down, (size_t)len);
        STATS_INC(s->w->c.twcc_sent);
    }
}

void bench_worker_tick(bench_worker *w, int64_t now_us)
{
    if (w->stopping)
        return;
    if (w->last_tick_us) {
        int64_t late = now_us - w->last_tick_us - BENCH_TICK_MS * 1000;
        bench_hist_add(&w->lag, (uint64_t)(late > 0 ? late : 0));
    }
    w->last_tick_us = now_us;
    peer_tick(now_us); /* SCTP's timers (usrsctp without threads) */
    for (guint i = 0; i < w->sessions->len; i++) {
        bench_session *s = w->sessions->pdata[i];
        if (s->failed || s->closed)
            continue;
        if (w->run->cfg.data_channel)
            bench_dc_tick(s, now_us);
        if (s->publishes)
            tick_publisher(s, now_us);
        bench_meeting_tick(s, now_us);
        if (s->down_connected) {
            if (s->twcc_ext)
                send_twcc(s, now_us);
            for (size_t k = 0; k < s->n_rx; k++) {
                if (s->rx[k].sdp.active)
                    send_feedback(s, &s->rx[k], now_us);
            }
        }
    }
}

static void mark(const bench_rx_track *t, bench_rx_mark *m)
{
    *m = (bench_rx_mark){t->seq.expected, t->seq.unique, t->bytes, t->plis};
}

void bench_session_window(bench_session *s, bool start, int64_t now_us)
{
    for (size_t k = 0; k < s->n_rx; k++) {
        bench_rx_track *t = &s->rx[k];
        mark(t, start ? &t->win_start : &t->win_end);
        if (start)
            bench_frames_window_start(&t->frames, now_us);
        else
            bench_frames_window_end(&t->frames, now_us);
    }
    bench_meeting_window(s, start, now_us);
    uint64_t seen = s->police.passed + s->police.dropped;
    if (start) {
        s->police_dropped0 = s->police.dropped;
        s->police_seen0 = seen;
    } else {
        s->police_dropped1 = s->police.dropped;
        s->police_seen1 = seen;
    }
}
