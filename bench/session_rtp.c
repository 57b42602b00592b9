/* session_rtp.c - the packet paths of a bench session (see session_rtp.h).
 *
 * Out (publisher): the worker tick polls the two synthetic tracks (bench/media.h); each packet is
 * copied into the worker's scratch buffer (room for the SRTP tag) and sent on the up peer. A sender
 * report (SR per track + SDES CNAME) goes out every second. RTCP from the SFU: NACKs are answered
 * from the track's send cache (RTX when negotiated), PLI/FIR ask the video track for a keyframe,
 * REMB, transport-cc and receiver reports are counted.
 *
 * In (receiver): each RTP packet is parsed in libnice's buffer (already decrypted in place by the
 * peer), matched to its m-line by SSRC (RTX is unwrapped in place), and fed to the track's sequence
 * tracker; first-time packets give a one-way delay sample from the stamp at the end of the payload;
 * the first VP8 keyframe after the subscription gives the keyframe delay. The tick sends generic
 * NACKs for gaps (bench_rxseq's schedule: 10 ms after the gap, then every 25 ms, 10 tries, 1 s at
 * most) where the offer asked for nack, and a PLI when a subscribed video track has shown no keyframe
 * for 500 ms (again every 500 ms), like a browser. No allocation on these paths.
 */
#include "bench/session_rtp.h"

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

int bench_session_media_init(bench_session *s)
{
    const bench_config *cfg = &s->w->run->cfg;
    sdp_ext_ids ea = {.mid = BENCH_EXT_MID, .audio_level = BENCH_EXT_AUDIO_LEVEL, .abs_send_time = BENCH_EXT_ABS_SEND_TIME, .twcc = BENCH_EXT_TWCC};
    sdp_ext_ids ev = ea;
    ev.audio_level = 0;
    int rc = bench_media_track_init(&s->audio, SDP_MEDIA_AUDIO, BENCH_PT_OPUS, -1, random_ssrc(), 0, BENCH_MID_AUDIO,
                                    &ea, 0, 0, AUDIO_CACHE_SLOTS, g_random_int());
    if (rc == 0)
        rc = bench_media_track_init(&s->video, SDP_MEDIA_VIDEO, BENCH_PT_VP8, BENCH_PT_VP8_RTX, random_ssrc(),
                                    random_ssrc(), BENCH_MID_VIDEO, &ev, cfg->bitrate_kbps * 1000u, cfg->fps,
                                    VIDEO_CACHE_SLOTS, g_random_int());
    s->media_init = true;
    return rc;
}

void bench_session_media_apply(bench_session *s, const bench_sdp_sent *audio, const bench_sdp_sent *video)
{
    s->audio_on = audio->accepted;
    s->video_on = video->accepted;
    if (audio->accepted) {
        s->audio.pt = audio->pt;
        s->audio.ext = audio->ext;
    }
    if (video->accepted) {
        s->video.pt = video->pt;
        s->video.rtx_pt = video->rtx_pt;
        s->video.ext = video->ext;
        s->video.ext.audio_level = 0;
    }
}

void bench_session_media_start(bench_session *s, int64_t now_us)
{
    if (s->audio_on)
        bench_media_start(&s->audio, now_us);
    if (s->video_on)
        bench_media_start(&s->video, now_us);
    s->next_sr_us = now_us + SR_INTERVAL_US / 2;
}

void bench_session_media_free(bench_session *s)
{
    if (!s->media_init)
        return;
    bench_media_track_free(&s->audio);
    bench_media_track_free(&s->video);
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
    bench_media_track *tracks[2] = {&s->audio, &s->video};
    for (int i = 0; i < 2; i++) {
        bench_media_track *t = tracks[i];
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
    int r = n ? rtcp_build_sdes_cname(buf + n, cap - n, s->audio_on ? s->audio.ssrc : s->video.ssrc, cname,
                                      (size_t)cl)
              : -1;
    if (r > 0)
        send_rtcp(s, s->up, n + (size_t)r);
}

static void tick_publisher(bench_session *s, int64_t now_us)
{
    if (!s->up_connected)
        return;
    uint64_t keys = s->video.keyframes;
    bench_media_poll(&s->audio, now_us, &s->twcc_seq, emit_up, s);
    bench_media_poll(&s->video, now_us, &s->twcc_seq, emit_up, s);
    if (s->video.keyframes != keys)
        STATS_ADD(s->w->c.keyframes_sent, s->video.keyframes - keys);
    if (now_us >= s->next_sr_us) {
        s->next_sr_us = now_us + SR_INTERVAL_US;
        send_sr(s, now_us);
    }
}

/* ---- feedback to the publisher ---- */

static bench_media_track *sent_track(bench_session *s, uint32_t ssrc)
{
    if (s->audio_on && ssrc == s->audio.ssrc)
        return &s->audio;
    if (s->video_on && ssrc == s->video.ssrc)
        return &s->video;
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
    if (s->video_on && ssrc == s->video.ssrc)
        bench_media_request_keyframe(&s->video);
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
            STATS_INC(s->w->c.rr_received);
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

/* Delay and keyframe samples of a packet that arrived for the first time. */
static void sample(bench_session *s, bench_rx_track *t, const struct rtp_view *v, bool rtx, int64_t now_us)
{
    bench_worker *w = s->w;
    const uint8_t *pl = rtp_payload(v);
    int64_t sent;
    if (!rtx && bench_stamp_read(pl, v->payload_len, &sent) == 0 && sent <= now_us)
        bench_hist_add(&w->delay, (uint64_t)(now_us - sent));
    if (t->sdp.kind != SDP_MEDIA_VIDEO || t->got_key)
        return;
    struct rtp_vp8 vp8;
    if (rtp_vp8_parse(pl, v->payload_len, &vp8) == 0 && vp8.keyframe) {
        t->got_key = true;
        if (t->sub_us)
            bench_hist_add(&w->keyframe, (uint64_t)(now_us > t->sub_us ? now_us - t->sub_us : 0));
    }
}

void bench_session_down_rtp(void *ud, uint8_t *buf, size_t len, int64_t now_us)
{
    bench_session *s = ud;
    bench_worker *w = s->w;
    if (w->stopping)
        return;
    STATS_INC(w->c.rtp_received);
    STATS_ADD(w->c.rtp_bytes_received, len);
    struct rtp_view v;
    bool rtx = false;
    bench_rx_track *t = rtp_parse(&v, buf, len) == 0 ? rx_track(s, v.ssrc, &rtx) : NULL;
    if (!t) {
        STATS_INC(w->c.rx_unknown);
        return;
    }
    t->packets++;
    t->bytes += len;
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
    if (t->sdp.kind == SDP_MEDIA_VIDEO && t->sdp.fb_pli && !t->got_key && t->sub_us &&
        now_us - t->sub_us >= PLI_WAIT_US && now_us - t->last_pli_us >= PLI_WAIT_US) {
        int len = rtcp_build_pli(buf, cap, s->rtcp_ssrc, t->sdp.ssrc);
        if (len > 0) {
            send_rtcp(s, s->down, (size_t)len);
            STATS_INC(s->w->c.plis_sent);
            t->last_pli_us = now_us;
            t->plis++;
        }
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
    for (guint i = 0; i < w->sessions->len; i++) {
        bench_session *s = w->sessions->pdata[i];
        if (s->failed || s->closed)
            continue;
        if (s->publishes)
            tick_publisher(s, now_us);
        if (s->down_connected) {
            for (size_t k = 0; k < s->n_rx; k++) {
                if (s->rx[k].sdp.active)
                    send_feedback(s, &s->rx[k], now_us);
            }
        }
    }
}
