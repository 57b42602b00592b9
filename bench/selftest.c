/* selftest.c - `videomeet-bench --self-test`: unit tests of the bench's pure modules, run without a
 * server (tests/e2e/bench.test.mjs runs it too):
 *   - the latency histogram's percentiles, the sequence tracker's loss / duplicate / reorder counts
 *     across a seq wrap, and its NACK schedule;
 *   - the synthetic media: bitrate, keyframe first and on request, marker bits, stamps, RTX;
 *   - the SDP of both connections against the SFU's own negotiation code (sfu/sdp_negotiate.h):
 *     the publisher's offer is answered by sdp_answer_upstream() with the expected codecs, RTX pairs
 *     and extension ids, and the bench's answer to an sdp_down offer (also after a track left) is
 *     accepted by sdp_down_apply_answer();
 *   - the /metrics parser.
 * Prints one line per failed check and "N passed, M failed"; returns 0 when all passed.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/cluster.h"
#include "bench/frames.h"
#include "bench/media.h"
#include "bench/police.h"
#include "bench/probe.h"
#include "bench/rxstats.h"
#include "bench/sdp_client.h"
#include "bench/tiles.h"
#include "bench/twcc_rx.h"
#include "bench/ws.h"
#include "sfu/rtcp.h"
#include "sfu/rtp.h"
#include "sfu/twcc_history.h"

int bench_selftest(void);

static int passed, failed;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (cond) {                                                                     \
            passed++;                                                                   \
        } else {                                                                        \
            failed++;                                                                   \
            fprintf(stderr, "self-test: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                               \
    } while (0)

/* A check inside a loop: counted only when it fails. */
#define CHECK_QUIET(cond)                                                               \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            failed++;                                                                   \
            fprintf(stderr, "self-test: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                               \
    } while (0)

static bool near(double v, double want, double tol)
{
    return v >= want * (1 - tol) && v <= want * (1 + tol);
}

static void test_hist(void)
{
    static bench_hist h;
    bench_hist_reset(&h);
    CHECK(bench_hist_percentile(&h, 0.5) == 0);
    for (uint64_t v = 1; v <= 10000; v++)
        bench_hist_add(&h, v);
    CHECK(h.n == 10000 && h.max == 10000);
    CHECK(near((double)bench_hist_percentile(&h, 0.5), 5000, 0.04));
    CHECK(near((double)bench_hist_percentile(&h, 0.99), 9900, 0.04));
    CHECK(bench_hist_percentile(&h, 1.0) <= 10000);
    bench_hist_reset(&h);
    bench_hist_add(&h, 7);
    bench_hist_add(&h, 7);
    bench_hist_add(&h, 63);
    CHECK(bench_hist_percentile(&h, 0.5) == 7 && bench_hist_percentile(&h, 1.0) == 63);
    /* n samples at once count as n: 7 x3, 63 x1 above, then 63 x4 more */
    bench_hist_add_n(&h, 7, 1);
    bench_hist_add_n(&h, 63, 4);
    bench_hist_add_n(&h, 1000, 0);
    CHECK(h.n == 8 && h.sum == 7 * 3 + 63 * 5 && h.max == 63);
    CHECK(bench_hist_percentile(&h, 0.3) == 7 && bench_hist_percentile(&h, 0.5) == 63);
}

static void test_rxseq(void)
{
    static bench_rxseq s;
    bench_nack_policy pol = {10, 20, 2, 1000};
    bench_rxseq_init(&s);
    uint32_t de, du;
    /* 65533 65534 _ 0 1 | 65535 arrives late, 0 twice, 3 as RTX after 2 is lost */
    CHECK(bench_rxseq_update(&s, 65533, false, 0, &pol, &de, &du) == BENCH_RX_NEW && de == 1 && du == 1);
    CHECK(bench_rxseq_update(&s, 65534, false, 1, &pol, NULL, NULL) == BENCH_RX_NEW);
    CHECK(bench_rxseq_update(&s, 0, false, 2, &pol, &de, &du) == BENCH_RX_NEW && de == 2 && du == 1);
    CHECK(s.n_missing == 1 && (uint16_t)s.missing[0].ext == 65535);
    uint16_t out[8];
    CHECK(bench_rxseq_due_nacks(&s, 5, &pol, out, 8) == 0); /* not before first_delay */
    CHECK(bench_rxseq_due_nacks(&s, 12, &pol, out, 8) == 1 && out[0] == 65535);
    CHECK(bench_rxseq_due_nacks(&s, 20, &pol, out, 8) == 0); /* retry not due yet */
    CHECK(bench_rxseq_update(&s, 1, false, 21, &pol, NULL, NULL) == BENCH_RX_NEW);
    CHECK(bench_rxseq_update(&s, 65535, false, 22, &pol, &de, &du) == BENCH_RX_FILLED && de == 0 && du == 1);
    CHECK(s.n_missing == 0 && s.reordered == 1);
    CHECK(bench_rxseq_update(&s, 0, false, 23, &pol, NULL, NULL) == BENCH_RX_DUPLICATE && s.duplicates == 1);
    CHECK(bench_rxseq_update(&s, 4, false, 24, &pol, NULL, NULL) == BENCH_RX_NEW); /* 2, 3 missing */
    CHECK(bench_rxseq_update(&s, 3, true, 25, &pol, NULL, NULL) == BENCH_RX_FILLED && s.recovered == 1);
    CHECK(s.expected == 8 && s.unique == 7 && bench_rxseq_lost(&s) == 1);
    CHECK(bench_rxseq_due_nacks(&s, 40, &pol, out, 8) == 1 && out[0] == 2);
    CHECK(bench_rxseq_due_nacks(&s, 60, &pol, out, 8) == 1 && out[0] == 2);
    CHECK(bench_rxseq_due_nacks(&s, 80, &pol, out, 8) == 0 && s.n_missing == 0); /* out of tries */
    CHECK(bench_rxseq_update(&s, 4, false, 90, &pol, NULL, NULL) == BENCH_RX_DUPLICATE);
    CHECK(bench_rxseq_update(&s, 4 + 3000, false, 91, &pol, &de, NULL) == BENCH_RX_NEW && de == 3000);
    CHECK(s.untracked == 2999 && bench_rxseq_lost(&s) == 3000);
    CHECK(bench_rxseq_update(&s, 5, false, 92, &pol, NULL, NULL) == BENCH_RX_LATE);
}

typedef struct media_sink {
    size_t packets, bytes, markers, keyframes, first_key, frames_started, bad_stamp;
    uint16_t last_seq;
} media_sink;

static void sink(void *ud, const uint8_t *pkt, size_t len)
{
    media_sink *m = ud;
    struct rtp_view v;
    if (rtp_parse(&v, pkt, len) < 0)
        return;
    int64_t t;
    int layer = 99;
    if (bench_stamp_read(rtp_payload(&v), v.payload_len, &t, &layer) < 0 || layer != -1)
        m->bad_stamp++;
    if (v.pt == BENCH_PT_VP8) {
        struct rtp_vp8 vp8;
        if (rtp_vp8_parse(rtp_payload(&v), v.payload_len, &vp8) == 0 && vp8.start) {
            if (m->frames_started == 0)
                m->first_key = vp8.keyframe;
            m->frames_started++;
            m->keyframes += vp8.keyframe;
        }
    }
    uint16_t tw;
    if (rtp_ext_get_u16(&v, BENCH_EXT_TWCC, &tw) < 0)
        m->bad_stamp++;
    m->markers += v.marker;
    m->packets++;
    m->bytes += v.payload_len;
    m->last_seq = v.seq;
}

static void test_media(void)
{
    static bench_media_track vt, at;
    sdp_ext_ids ext = {.mid = BENCH_EXT_MID, .audio_level = BENCH_EXT_AUDIO_LEVEL, .abs_send_time = BENCH_EXT_ABS_SEND_TIME, .twcc = BENCH_EXT_TWCC};
    CHECK(bench_media_track_init(&vt, SDP_MEDIA_VIDEO, BENCH_PT_VP8, BENCH_PT_VP8_RTX, 1111, 2222, "1", &ext,
                                 1000000, 30, 1024, 7) == 0);
    CHECK(bench_media_track_init(&at, SDP_MEDIA_AUDIO, BENCH_PT_OPUS, -1, 3333, 0, "0", &ext, 0, 0, 128, 9) == 0);
    media_sink mv = {0}, ma = {0};
    uint16_t twcc = 0;
    bench_media_start(&vt, 1000000);
    bench_media_start(&at, 1000000);
    for (int64_t t = 1000000; t < 11000000; t += 5000) {
        bench_media_poll(&vt, t, &twcc, sink, &mv);
        bench_media_poll(&at, t, &twcc, sink, &ma);
        if (t == 6000000)
            bench_media_request_keyframe(&vt);
    }
    CHECK(near((double)mv.bytes * 8 / 10.0, 1000000, 0.08));
    CHECK(mv.first_key == 1 && mv.keyframes == 2 && vt.keyframes == 2);
    CHECK(mv.frames_started == 300 && mv.markers == 300);
    CHECK(ma.packets == 500 && mv.bad_stamp == 0 && ma.bad_stamp == 0);
    CHECK(twcc == mv.packets + ma.packets);
    uint8_t out[1500];
    int n = bench_media_retransmit(&vt, mv.last_seq, &twcc, out, sizeof(out));
    struct rtp_view v;
    CHECK(n > 0 && rtp_parse(&v, out, (size_t)n) == 0 && v.pt == BENCH_PT_VP8_RTX && v.ssrc == 2222);
    CHECK(n > 0 && rtp_rtx_unwrap(out, (size_t)n, BENCH_PT_VP8, 1111) > 0 && rtp_parse(&v, out, (size_t)n - 2) == 0 &&
          v.seq == mv.last_seq);
    CHECK(bench_media_retransmit(&vt, (uint16_t)(mv.last_seq + 1), &twcc, out, sizeof(out)) < 0);
    bench_media_track_free(&vt);
    bench_media_track_free(&at);

    /* --audio-dtx: turns of 2 s between 2; participant 0 speaks in [0, 2) s and [4, 6) s: 50 packets a
     * second then, and one per 400 ms of silence in [2, 4) s */
    static bench_media_track dt;
    CHECK(bench_media_track_init(&dt, SDP_MEDIA_AUDIO, BENCH_PT_OPUS, -1, 3333, 0, "0", &ext, 0, 0, 128, 9) == 0);
    bench_media_set_turns(&dt, 2000000, 0, 2);
    dt.dtx = true;
    media_sink md = {0};
    bench_media_start(&dt, 0);
    for (int64_t t = 0; t < 2000000; t += 5000)
        bench_media_poll(&dt, t, &twcc, sink, &md);
    CHECK(md.packets == 100);
    uint64_t loud_bytes = md.bytes;
    for (int64_t t = 2000000; t < 4000000; t += 5000)
        bench_media_poll(&dt, t, &twcc, sink, &md);
    CHECK(md.packets == 105 && md.bytes - loud_bytes == 5 * (1 + BENCH_STAMP_LEN) && md.bad_stamp == 0);
    for (int64_t t = 4000000; t < 5000000; t += 5000)
        bench_media_poll(&dt, t, &twcc, sink, &md);
    CHECK(md.packets == 155);
    bench_media_track_free(&dt);
}

/* ---- transport-cc feedback of a receiver ---- */

/* Parses one feedback packet into results through the SFU's own sent-packet history. */
static size_t sfu_reads(twcc_history *h, const uint8_t *buf, int len, twcc_result *out, size_t cap)
{
    struct rtcp_iter it;
    struct rtcp_pkt p;
    if (len <= 0)
        return 0;
    rtcp_iter_init(&it, buf, (size_t)len);
    if (rtcp_iter_next(&it, &p) != 1 || p.kind != RTCP_K_TWCC)
        return 0;
    return twcc_history_on_feedback(h, &p.u.twcc, out, cap);
}

static void test_twcc_rx(void)
{
    static bench_twcc_rx r;
    static twcc_history h;
    static twcc_result res[256];
    uint8_t buf[1200];
    bench_twcc_rx_init(&r);
    twcc_history_init(&h);
    /* the SFU sends numbers 0..9 (its history starts at 0); 2, 3 and 7 are lost on the way */
    for (int i = 0; i < 10; i++)
        twcc_history_on_send(&h, 1000 * i, 1000, 0);
    static const int64_t at[10] = {5000, 6000, -1, -1, 9000, 10000, 11500, -1, 13000, 14000};
    for (int i = 0; i < 6; i++)
        if (at[i] >= 0)
            bench_twcc_rx_on_packet(&r, (uint16_t)i, at[i]);
    int len = bench_twcc_rx_feedback(&r, buf, sizeof(buf), 1, 2);
    size_t n = sfu_reads(&h, buf, len, res, 256);
    CHECK(n == 6 && res[0].seq == 0 && res[5].seq == 5);
    CHECK(n == 6 && res[2].recv_us < 0 && res[3].recv_us < 0 && res[4].recv_us - res[1].recv_us == 3000);
    CHECK(bench_twcc_rx_feedback(&r, buf, sizeof(buf), 1, 2) == 0); /* nothing new */
    /* 6 arrives, 7 is lost, 8 and 9 arrive: the next feedback starts at 6 */
    for (int i = 6; i < 10; i++)
        if (at[i] >= 0)
            bench_twcc_rx_on_packet(&r, (uint16_t)i, at[i]);
    bench_twcc_rx_on_packet(&r, 3, 15000); /* too late: reported lost already */
    len = bench_twcc_rx_feedback(&r, buf, sizeof(buf), 1, 2);
    n = sfu_reads(&h, buf, len, res, 256);
    CHECK(n == 4 && res[0].seq == 6 && res[1].recv_us < 0 && res[3].recv_us - res[0].recv_us == 2500);
    CHECK(r.late == 1 && r.feedbacks == 2 && buf[19] == 1);
    /* losses before the first arrival of a feedback are reported (a policer's burst of drops) */
    for (int i = 10; i < 20; i++)
        twcc_history_on_send(&h, 1000 * i, 1000, 0);
    bench_twcc_rx_on_packet(&r, 15, 20000);
    len = bench_twcc_rx_feedback(&r, buf, sizeof(buf), 1, 2);
    n = sfu_reads(&h, buf, len, res, 256);
    CHECK(n == 6 && res[0].seq == 10 && res[0].recv_us < 0 && res[4].recv_us < 0 && res[5].recv_us >= 0);
    /* across the 16-bit wrap, split over several packets when the buffer is small: every number
     * is described once, in order */
    bench_twcc_rx_init(&r);
    uint16_t seq = 65500;
    for (int i = 0; i < 100; i++, seq++)
        if (i % 7 != 3)
            bench_twcc_rx_on_packet(&r, seq, 100000 + 3000 * i);
    uint32_t next = 65500, statuses = 0, lost = 0;
    int packets = 0;
    while ((len = bench_twcc_rx_feedback(&r, buf, 40, 1, 2)) > 0) {
        struct rtcp_iter it;
        struct rtcp_pkt p;
        rtcp_iter_init(&it, buf, (size_t)len);
        CHECK(rtcp_iter_next(&it, &p) == 1 && p.u.twcc.base_seq == (uint16_t)next);
        struct rtcp_twcc_iter ti;
        struct rtcp_twcc_status st;
        rtcp_twcc_iter_init(&p.u.twcc, &ti);
        while (rtcp_twcc_next(&ti, &st) == 1) {
            statuses++;
            lost += st.symbol == RTCP_TWCC_NOT_RECEIVED;
        }
        next += p.u.twcc.status_count;
        packets++;
    }
    CHECK(packets > 2 && statuses == 100 && lost == 14);
    /* a long run, many windows' worth, one feedback per 10 packets: every arrival time comes back as
     * it was recorded (to the 250 us tick), none from a slot's previous use */
    bench_twcc_rx_init(&r);
    bool times_ok = true;
    int64_t first = -1;
    for (int i = 0; i < 5 * BENCH_TWCC_RX_WINDOW; i++) {
        bench_twcc_rx_on_packet(&r, (uint16_t)(40000 + i), 7000000 + 1000 * (int64_t)i);
        if (i % 10 != 9)
            continue;
        len = bench_twcc_rx_feedback(&r, buf, sizeof(buf), 1, 2);
        struct rtcp_iter it;
        struct rtcp_pkt p;
        rtcp_iter_init(&it, buf, len > 0 ? (size_t)len : 0);
        times_ok = times_ok && len > 0 && rtcp_iter_next(&it, &p) == 1 && p.u.twcc.status_count == 10;
        struct rtcp_twcc_iter ti;
        struct rtcp_twcc_status st;
        rtcp_twcc_iter_init(&p.u.twcc, &ti);
        for (int k = i - 9; times_ok && rtcp_twcc_next(&ti, &st) == 1; k++) {
            if (first < 0)
                first = st.arrival_us; /* the receiver's clock starts at its first arrival */
            times_ok = st.symbol != RTCP_TWCC_NOT_RECEIVED && st.arrival_us - first == 1000 * (int64_t)k;
        }
    }
    CHECK(times_ok);
    /* a gap longer than the window: the oldest numbers are never described */
    bench_twcc_rx_init(&r);
    bench_twcc_rx_on_packet(&r, 0, 0);
    bench_twcc_rx_on_packet(&r, BENCH_TWCC_RX_WINDOW + 10, 1000);
    CHECK(r.skipped == 11 && bench_twcc_rx_feedback(&r, buf, sizeof(buf), 1, 2) > 0);
}

/* ---- the policer ---- */

static void test_police(void)
{
    static bench_police p;
    /* 800 kbit/s = 100000 bytes/s, 10000 bytes of burst; 1000-byte packets at twice the rate for 10 s */
    bench_police_init(&p, 800, 10000);
    for (int64_t t = 0; t < 10000000; t += 5000)
        bench_police_pass(&p, 1000, t);
    CHECK(p.passed + p.dropped == 2000);
    CHECK(p.passed_bytes <= 100000 * 10 + 10000 && p.passed_bytes >= 100000 * 10 + 10000 - 1000 - 500);
    /* under the rate nothing is dropped */
    bench_police_init(&p, 800, 10000);
    for (int64_t t = 0; t < 10000000; t += 20000)
        CHECK_QUIET(bench_police_pass(&p, 1000, t));
    CHECK(p.dropped == 0 && p.passed == 500);
    /* a burst: a full bucket lets 10 of 12 back-to-back packets through, then refills at the rate */
    bench_police_init(&p, 800, 10000);
    unsigned ok = 0;
    for (int i = 0; i < 12; i++)
        ok += bench_police_pass(&p, 1000, 1000000);
    CHECK(ok == 10 && p.dropped == 2);
    CHECK(!bench_police_pass(&p, 1000, 1000000 + 9999) && bench_police_pass(&p, 1000, 1000000 + 10000));
    /* a bucket smaller than a packet would drop everything: it holds one 1500-byte packet at least */
    bench_police_init(&p, 100, 10);
    CHECK(bench_police_pass(&p, 1500, 0));
}

/* ---- frames, decoder and freezes ---- */

/* A synthetic L1T3 (temporal pattern 0 2 1 2, Y on the two frames after a TL0) or single-layer VP8
 * stream: frame k of `packets` packets at 30 fps. */
typedef struct fgen {
    uint16_t seq;
    int picid;
    uint8_t tl0;
    int k;
    bool temporal;
    int layer;
    int pos; /* place in the temporal pattern: 0 at a keyframe */
} fgen;

static fgen fgen_at(uint16_t seq, int picid, uint8_t tl0, bool temporal, int layer)
{
    return (fgen){seq, picid, tl0, 0, temporal, layer, 0};
}

static int64_t ftime(int k)
{
    return 1000000 + (int64_t)k * 33333;
}

/* Builds frame g->k's packets into out[0..packets); returns its arrival time. */
static int64_t next_frame(fgen *g, bool key, int packets, bench_frame_pkt *out)
{
    static const int pattern[4] = {0, 2, 1, 2};
    if (key)
        g->pos = 0;
    int tid = g->temporal ? pattern[g->pos % 4] : -1;
    if (tid == 0 && g->k > 0)
        g->tl0++;
    for (int i = 0; i < packets; i++)
        out[i] = (bench_frame_pkt){g->seq++, i == packets - 1, i == 0, key && i == 0, g->picid, tid, g->tl0,
                                   g->temporal && tid > 0 && g->pos % 4 != 3, g->layer};
    g->pos++;
    g->picid = (g->picid + 1) & 0x7fff;
    return ftime(g->k++);
}

/* n frames of 2 packets, a keyframe first if key_first; frame drop_frame loses packet 1 (-1: none). */
static void feed(bench_frames *f, fgen *g, int n, bool key_first, int drop_frame)
{
    for (int i = 0; i < n; i++) {
        bench_frame_pkt p[2];
        int k = g->k;
        int64_t t = next_frame(g, key_first && i == 0, 2, p);
        bench_frames_on_packet(f, &p[0], t);
        if (k != drop_frame)
            bench_frames_on_packet(f, &p[1], t + 100);
    }
}

static void test_frames(void)
{
    static bench_frames f;
    /* no loss: every frame decoded, no freeze, all the time on layer 1 */
    bench_frames_init(&f);
    fgen g = fgen_at(65000, 32760, 200, true, 1);
    bench_frames_window_start(&f, ftime(0));
    feed(&f, &g, 60, true, -1);
    bench_frames_window_end(&f, ftime(60));
    CHECK(f.win.decoded[2] == 60 && f.win.freezes == 0 && f.win.skipped == 0 && f.win.switches == 0);
    CHECK(f.win.shown_us[2] >= ftime(60) - ftime(0) - 200 && bench_frames_layer(&f) == 1);
    /* a TL2 frame lost costs that picture only; a TL1 frame lost costs it and the TL2 after it */
    bench_frames_init(&f);
    g = fgen_at(0, 0, 0, true, 0);
    bench_frames_window_start(&f, ftime(0));
    feed(&f, &g, 8, true, -1);
    feed(&f, &g, 4, false, 9);  /* frame 9: TL2 */
    feed(&f, &g, 5, false, 14); /* frame 14: TL1, 15 (TL2, not a sync frame) depends on it */
    bench_frames_window_end(&f, ftime(17));
    CHECK(f.win.decoded[1] == 14 && f.win.skipped == 3 && f.win.freezes == 0);
    CHECK(!bench_frames_stuck(&f, ftime(17)));
    /* a TL0 frame lost: nothing decodes until a keyframe; stuck after 200 ms; one freeze */
    bench_frames_init(&f);
    g = fgen_at(100, 5, 9, true, 0);
    bench_frames_window_start(&f, ftime(0));
    feed(&f, &g, 4, true, -1);
    feed(&f, &g, 12, false, 4); /* frame 4: TL0 */
    CHECK(f.decoded_total == 4 && bench_frames_stuck(&f, ftime(15)) && f.win.stuck == 1);
    feed(&f, &g, 4, true, -1);  /* the keyframe asked for: frame 16 */
    bench_frames_window_end(&f, ftime(20));
    /* (the pictures before a keyframe are not counted lost: a pause or a switch looks the same) */
    CHECK(f.decoded_total == 8 && f.win.freezes == 1 && f.win.skipped == 0 && !bench_frames_stuck(&f, ftime(20)));
    CHECK(f.win.longest_freeze_us == ftime(16) - ftime(3) && f.win.freeze_us == f.win.longest_freeze_us);
    /* the same loss repaired 50 ms later (RTX): the waiting frames decode at once, no freeze */
    bench_frames_init(&f);
    g = fgen_at(0, 0, 0, true, 0);
    bench_frames_window_start(&f, ftime(0));
    feed(&f, &g, 4, true, -1);
    bench_frame_pkt p[2];
    int64_t t = next_frame(&g, false, 2, p); /* frame 4, TL0: its second packet comes late */
    bench_frames_on_packet(&f, &p[0], t);
    feed(&f, &g, 2, false, -1);
    CHECK(f.decoded_total == 4);
    bench_frames_on_packet(&f, &p[1], t + 50000);
    feed(&f, &g, 4, false, -1);
    bench_frames_window_end(&f, ftime(11));
    CHECK(f.decoded_total == 11 && f.win.freezes == 0 && f.win.skipped == 0);
    /* a switch to layer 2 at its keyframe, then back to layer 0 */
    bench_frames_init(&f);
    g = fgen_at(0, 0, 0, true, 1);
    bench_frames_window_start(&f, ftime(0));
    feed(&f, &g, 10, true, -1);
    g.layer = 2;
    feed(&f, &g, 10, true, -1);
    g.layer = 0;
    feed(&f, &g, 10, true, -1);
    bench_frames_window_end(&f, ftime(30));
    CHECK(f.win.decoded[1] == 10 && f.win.decoded[2] == 10 && f.win.decoded[3] == 10 && f.win.switches == 2);
    CHECK(bench_frames_layer(&f) == 0 && f.win.shown_us[3] >= 9 * 33333 && f.win.shown_us[3] <= 10 * 33333);
    /* a single stream without temporal layers: any loss stops it until a keyframe; a freeze still
     * open at the end of the window counts up to it */
    bench_frames_init(&f);
    g = fgen_at(0, 0, 0, false, -1);
    feed(&f, &g, 5, true, -1);
    bench_frames_window_start(&f, ftime(5));
    feed(&f, &g, 30, false, 10);
    bench_frames_window_end(&f, ftime(35));
    CHECK(f.decoded_total == 10 && f.win.decoded[0] == 5 && f.win.freezes == 1);
    CHECK(f.win.longest_freeze_us == ftime(35) - ftime(9) - 100);
    /* a lower frame rate is not a freeze (W3C: 3x the average interval): frames 267 ms apart (a TL0
     * frame rate), then one 700 ms late (under 3 x 267), then one 1.3 s late */
    bench_frames_init(&f);
    g = fgen_at(0, 0, 0, false, -1);
    int64_t at = 0;
    for (int i = 0; i < 42; i++) {
        bench_frame_pkt one[1];
        next_frame(&g, i == 0, 1, one);
        at += i == 40 ? 700000 : i == 41 ? 1300000 : 266667;
        if (i == 32)
            bench_frames_window_start(&f, at);
        bench_frames_on_packet(&f, one, at);
    }
    bench_frames_window_end(&f, at);
    CHECK(f.decoded_total == 42 && f.win.freezes == 1 && f.win.longest_freeze_us == 1300000);
    /* picture ids wrap (15 bits) and frames arriving out of order are put together */
    bench_frames_init(&f);
    g = fgen_at(65530, 0x7ffe, 0, true, 0);
    bench_frame_pkt a[2], b[2];
    int64_t ta = next_frame(&g, true, 2, a), tb = next_frame(&g, false, 2, b);
    bench_frames_on_packet(&f, &b[1], tb);
    bench_frames_on_packet(&f, &a[1], ta);
    bench_frames_on_packet(&f, &b[0], tb);
    bench_frames_on_packet(&f, &a[0], tb + 10);
    feed(&f, &g, 6, false, -1);
    CHECK(f.decoded_total == 8);
}

/* What a simulcast layer's packets carry: per frame, its temporal layer, TL0PICIDX, Y and N; per
 * packet, mid and rid while not acknowledged; the layer's tag in the stamp. */
typedef struct layer_sink {
    size_t packets, frames, keyframes, with_rid, with_mid, bad;
    uint64_t bytes;
    int tids[16];
    uint8_t tl0[16];
    bool sync[16], non_ref[16];
    uint16_t width;
} layer_sink;

static void layer_sink_fn(void *ud, const uint8_t *pkt, size_t len)
{
    layer_sink *m = ud;
    struct rtp_view v;
    struct rtp_vp8 vp8;
    struct rtp_ext e;
    int64_t t;
    int layer;
    if (rtp_parse(&v, pkt, len) < 0 || rtp_vp8_parse(rtp_payload(&v), v.payload_len, &vp8) < 0 ||
        bench_stamp_read(rtp_payload(&v), v.payload_len, &t, &layer) < 0 || layer != 2 || !vp8.has_tid ||
        !vp8.has_tl0) {
        m->bad++;
        return;
    }
    m->packets++;
    m->bytes += v.payload_len;
    if (rtp_ext_find(&v, BENCH_EXT_RID, &e) == 0 && e.len == 1 && v.pkt[e.off] == 'f')
        m->with_rid++;
    m->with_mid += rtp_ext_find(&v, BENCH_EXT_MID, &e) == 0;
    if (!vp8.start)
        return;
    if (m->frames < 16) {
        m->tids[m->frames] = vp8.tid;
        m->tl0[m->frames] = vp8.tl0picidx;
        m->sync[m->frames] = vp8.layer_sync;
        m->non_ref[m->frames] = vp8.non_ref;
    }
    m->frames++;
    m->keyframes += vp8.keyframe;
    if (vp8.keyframe)
        m->width = vp8.width;
}

static void test_media_layer(void)
{
    static bench_media_track t;
    sdp_ext_ids ext = {.mid = BENCH_EXT_MID, .abs_send_time = BENCH_EXT_ABS_SEND_TIME, .twcc = BENCH_EXT_TWCC,
                       .rid = BENCH_EXT_RID, .rrid = BENCH_EXT_RRID};
    CHECK(bench_media_track_init(&t, SDP_MEDIA_VIDEO, BENCH_PT_VP8, BENCH_PT_VP8_RTX, 4444, 5555, "1", &ext,
                                 1700000, 30, 1024, 11) == 0);
    bench_media_set_simulcast(&t, 2, "f", 1280, 720);
    bench_media_set_temporal(&t, 3);
    layer_sink m = {0};
    uint16_t twcc = 0;
    bench_media_start(&t, 0);
    for (int64_t now = 0; now < 10000000; now += 5000) {
        if (now == 5000000)
            bench_media_ids_acked(&t);
        bench_media_poll(&t, now, &twcc, layer_sink_fn, &m);
    }
    CHECK(m.bad == 0 && m.frames == 300 && m.keyframes == 1 && m.width == 1280);
    /* L1T3 from the keyframe on: 0 2 1 2 0 ..., TL0PICIDX up at each TL0 frame, Y on the two frames
     * after a TL0 frame, N on TL2 frames */
    static const int tids[8] = {0, 2, 1, 2, 0, 2, 1, 2};
    bool pattern = true;
    for (int i = 0; i < 8; i++)
        pattern = pattern && m.tids[i] == tids[i] && m.tl0[i] == (uint8_t)(m.tl0[0] + i / 4) &&
                  m.sync[i] == (i % 4 == 1 || i % 4 == 2) && m.non_ref[i] == (tids[i] == 2);
    CHECK(pattern);
    /* the layer's rate with the TL0 frames larger (1.6x) than the others (0.8x) */
    CHECK(near((double)m.bytes * 8 / 10.0, 1700000, 0.08));
    /* mid and rid until the SFU's report showed it knows the SSRC */
    CHECK(m.with_rid == m.with_mid && m.with_rid > m.packets / 3 && m.with_rid < m.packets * 2 / 3);
    /* RTX: mid and repaired-rtp-stream-id, never rtp-stream-id; the original comes back from it */
    uint8_t out[1500];
    uint16_t seq = (uint16_t)(t.seq - 1);
    int n = bench_media_retransmit(&t, seq, &twcc, out, sizeof(out));
    struct rtp_view v;
    struct rtp_ext e;
    CHECK(n > 0 && rtp_parse(&v, out, (size_t)n) == 0 && v.ssrc == 5555 && v.pt == BENCH_PT_VP8_RTX);
    CHECK(n > 0 && rtp_ext_find(&v, BENCH_EXT_RRID, &e) == 0 && e.len == 1 && out[e.off] == 'f');
    CHECK(n > 0 && rtp_ext_find(&v, BENCH_EXT_MID, &e) == 0 && rtp_ext_find(&v, BENCH_EXT_RID, &e) == -ENOENT);
    uint16_t tw;
    CHECK(n > 0 && rtp_ext_get_u16(&v, BENCH_EXT_TWCC, &tw) == 0 && tw == (uint16_t)(twcc - 1));
    int64_t sent;
    int layer;
    CHECK(n > 0 && rtp_rtx_unwrap(out, (size_t)n, BENCH_PT_VP8, 4444) > 0 && rtp_parse(&v, out, (size_t)n - 2) == 0 &&
          v.seq == seq && bench_stamp_read(rtp_payload(&v), v.payload_len, &sent, &layer) == 0 && layer == 2);
    bench_media_track_free(&t);
}

static sdp_local fake_local(const char *ufrag)
{
    sdp_local l;
    memset(&l, 0, sizeof(l));
    l.ice_ufrag = ufrag;
    l.ice_pwd = "abcdefghijklmnopqrstuvwxyz";
    l.ice_options = "trickle";
    for (int i = 0; i < 32; i++)
        l.fingerprint_sha256[i] = (uint8_t)i;
    l.sess_id = 42;
    l.sess_version = 1;
    return l;
}

static void test_sdp_up(void)
{
    sdp_local bench = fake_local("benc"), sfu = fake_local("sfuu");
    bench_pub_params p = {7, 100, 200, 201, "cname", "stream", NULL, 0, false, false};
    char *offer = bench_sdp_publish_offer(&bench, &p);
    sdp_session *o = NULL, *answer = NULL;
    static sdp_up_result res;
    CHECK(offer && sdp_parse(offer, strlen(offer), &o, NULL) == 0);
    CHECK(o && sdp_answer_upstream(o, &sfu, &answer, &res) == 0);
    CHECK(res.n_accepted == 2);
    const sdp_up_media *a = &res.media[0], *v = &res.media[1];
    CHECK(a->accepted && a->codecs[0].id == SDP_CODEC_OPUS && a->codecs[0].pt == BENCH_PT_OPUS &&
          a->ssrcs[0].ssrc == 100 && a->ext.audio_level == BENCH_EXT_AUDIO_LEVEL && a->direction == SDP_DIR_RECVONLY);
    CHECK(v->accepted && v->codecs[0].id == SDP_CODEC_VP8 && v->codecs[0].pt == BENCH_PT_VP8 &&
          v->codecs[0].rtx_pt == BENCH_PT_VP8_RTX && v->codecs[0].fb_nack && v->codecs[0].fb_pli);
    CHECK(v->ssrcs[0].ssrc == 200 && v->ssrcs[0].rtx_ssrc == 201 && v->ext.twcc == BENCH_EXT_TWCC &&
          v->ext.abs_send_time == BENCH_EXT_ABS_SEND_TIME && !strcmp(v->stream_id, "stream"));
    CHECK(res.remote.setup == SDP_SETUP_ACTPASS && !strcmp(res.remote.ice_ufrag, "benc"));
    char *atext = answer ? sdp_build_alloc(answer, NULL) : NULL;
    bench_sdp_up_answer ua;
    CHECK(atext && bench_sdp_read_up_answer(atext, strlen(atext), &ua) == 0);
    CHECK(ua.remote.dtls_client && !strcmp(ua.remote.ice_ufrag, "sfuu") && ua.remote.fingerprint.len == 32);
    CHECK(ua.audio.accepted && ua.audio.pt == BENCH_PT_OPUS && ua.audio.rtx_pt == -1 &&
          ua.audio.ext.audio_level == BENCH_EXT_AUDIO_LEVEL);
    CHECK(ua.video.accepted && ua.video.pt == BENCH_PT_VP8 && ua.video.rtx_pt == BENCH_PT_VP8_RTX &&
          ua.video.ext.twcc == BENCH_EXT_TWCC && ua.video.ext.mid == BENCH_EXT_MID && !ua.data_channel);
    free(atext);
    free(offer);
    sdp_free(o);
    sdp_free(answer);

    /* simulcast: Chromium's form (rid send lines, simulcast:send, no a=ssrc), received by the SFU */
    static const char *const rids[3] = {"q", "h", "f"};
    bench_pub_params ps = {8, 100, 0, 0, "cname", "stream", rids, 3, true, true}; /* data channel, DTX */
    offer = bench_sdp_publish_offer(&bench, &ps);
    o = answer = NULL;
    const char *video = offer ? strstr(offer, "m=video") : NULL;
    CHECK(video && strstr(video, "a=simulcast:send q;h;f\r\n") && strstr(video, "a=rid:h send\r\n") &&
          !strstr(video, "a=ssrc"));
    CHECK(offer && strstr(offer, "a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1\r\n")); /* --audio-dtx */
    CHECK(offer && sdp_parse(offer, strlen(offer), &o, NULL) == 0);
    sfu.accept_data_channel = true; /* as sfu/room.c answers */
    CHECK(o && sdp_answer_upstream(o, &sfu, &answer, &res) == 0);
    CHECK(res.n_media == 3 && res.media[2].accepted && res.media[2].data_channel && res.media[2].remote_sctp_port == 5000);
    v = &res.media[1];
    CHECK(v->accepted && v->n_rids == 3 && !strcmp(v->rids[0], "q") && !strcmp(v->rids[2], "f") &&
          v->ext.rid == BENCH_EXT_RID && v->ext.rrid == BENCH_EXT_RRID && v->n_ssrcs == 0);
    atext = answer ? sdp_build_alloc(answer, NULL) : NULL;
    CHECK(atext && bench_sdp_read_up_answer(atext, strlen(atext), &ua) == 0);
    CHECK(ua.video.accepted && ua.video.n_rids == 3 && !strcmp(ua.video.rids[0], "q") &&
          !strcmp(ua.video.rids[1], "h") && !strcmp(ua.video.rids[2], "f") && ua.video.ext.rid == BENCH_EXT_RID &&
          ua.video.ext.rrid == BENCH_EXT_RRID && ua.audio.n_rids == 0 && ua.data_channel);
    free(atext);
    free(offer);
    sdp_free(o);
    sdp_free(answer);
}

static sdp_down_track down_track(const char *mid, sdp_media_kind kind, uint32_t ssrc, uint32_t rtx)
{
    sdp_down_track t;
    memset(&t, 0, sizeof(t));
    snprintf(t.mid, sizeof(t.mid), "%s", mid);
    t.kind = kind;
    if (kind == SDP_MEDIA_AUDIO)
        sdp_codec_default(&t.codec, SDP_CODEC_OPUS, BENCH_PT_OPUS, -1);
    else
        sdp_codec_default(&t.codec, SDP_CODEC_VP8, BENCH_PT_VP8, BENCH_PT_VP8_RTX);
    t.ssrc = ssrc;
    t.rtx_ssrc = rtx;
    snprintf(t.cname, sizeof(t.cname), "pub");
    snprintf(t.stream_id, sizeof(t.stream_id), "user1");
    snprintf(t.track_id, sizeof(t.track_id), "%s", mid);
    return t;
}

/* One downstream offer/answer round; returns the number of active tracks the bench saw. */
static size_t down_round(sdp_down *d, const sdp_local *sfu, const sdp_local *bench, bool twcc,
                         bench_sdp_rx_track *tracks, size_t *n)
{
    sdp_session *offer = NULL, *ans = NULL;
    static sdp_remote_transport remote, seen;
    char *otext = NULL, *atext = NULL;
    size_t active = 0;
    *n = 0;
    CHECK(sdp_down_offer(d, sfu, &offer) == 0 && (otext = sdp_build_alloc(offer, NULL)) != NULL);
    CHECK(otext && bench_sdp_answer_down(otext, strlen(otext), bench, twcc, &atext, &remote, tracks, 8, n) == 0);
    CHECK(remote.dtls_client && !strcmp(remote.ice_ufrag, "sfuu"));
    CHECK(atext && sdp_parse(atext, strlen(atext), &ans, NULL) == 0);
    CHECK(ans && sdp_down_apply_answer(d, ans, &seen) == 0);
    CHECK(seen.setup == SDP_SETUP_ACTIVE && !seen.dtls_client && !strcmp(seen.ice_ufrag, "benc"));
    for (size_t i = 0; i < *n; i++)
        active += tracks[i].active;
    free(otext);
    free(atext);
    sdp_free(offer);
    sdp_free(ans);
    return active;
}

static void test_sdp_down(void)
{
    sdp_local bench = fake_local("benc"), sfu = fake_local("sfuu");
    sdp_ext_ids ext = {.audio_level = 1, .abs_send_time = 2};
    sdp_down *d = sdp_down_new(99, &ext);
    sdp_down_track tr[2] = {down_track("a0", SDP_MEDIA_AUDIO, 500, 0), down_track("v1", SDP_MEDIA_VIDEO, 600, 601)};
    bench_sdp_rx_track tracks[8];
    size_t n;
    CHECK(d && sdp_down_set_tracks(d, tr, 2) == 0);
    CHECK(d && down_round(d, &sfu, &bench, true, tracks, &n) == 2 && n == 2);
    CHECK(tracks[1].kind == SDP_MEDIA_VIDEO && tracks[1].ssrc == 600 && tracks[1].rtx_ssrc == 601 &&
          tracks[1].pt == BENCH_PT_VP8 && tracks[1].rtx_pt == BENCH_PT_VP8_RTX && tracks[1].fb_nack &&
          tracks[1].fb_pli && !strcmp(tracks[1].stream_id, "user1"));
    CHECK(tracks[0].kind == SDP_MEDIA_AUDIO && tracks[0].ssrc == 500 && tracks[0].rtx_pt == -1 && !tracks[0].fb_nack);
    const sdp_down_slot *s = d ? sdp_down_find(d, "v1") : NULL;
    CHECK(s && s->accepted && s->codec_accepted && s->rtx_accepted && s->ext.abs_send_time == 2 &&
          s->answer_direction == SDP_DIR_RECVONLY);
    /* the video track leaves, a new one arrives: a port-0 m-line and an added one */
    sdp_down_track tr2[2] = {tr[0], down_track("v2", SDP_MEDIA_VIDEO, 700, 701)};
    CHECK(d && sdp_down_set_tracks(d, tr2, 2) == 0);
    CHECK(d && down_round(d, &sfu, &bench, true, tracks, &n) == 2 && n == 3);
    CHECK(!tracks[1].active && tracks[2].active && tracks[2].ssrc == 700);
    s = d ? sdp_down_find(d, "v2") : NULL;
    CHECK(s && s->accepted && s->rtx_accepted);
    sdp_down_free(d);

    /* transport-cc offered: answered with its id, or left out (--no-transport-cc) */
    sdp_ext_ids tw = {.audio_level = 1, .abs_send_time = 2, .twcc = 3};
    for (int on = 0; on < 2; on++) {
        d = sdp_down_new(100, &tw);
        CHECK(d && sdp_down_set_tracks(d, tr, 2) == 0);
        CHECK(d && down_round(d, &sfu, &bench, on, tracks, &n) == 2 && n == 2);
        CHECK(tracks[1].twcc_ext == (on ? 3 : 0) && tracks[0].twcc_ext == (on ? 3 : 0));
        s = d ? sdp_down_find(d, "v1") : NULL;
        CHECK(s && s->ext.twcc == (on ? 3 : 0) && s->answer_codec.fb_twcc == (bool)on);
        sdp_down_free(d);
    }
}

static void test_metrics(void)
{
    const char text[] = "# HELP videomeet_rtp_packets_out_total x\n# TYPE videomeet_rtp_packets_out_total counter\n"
                        "videomeet_rtp_packets_out_total 1234\nvideomeet_rtp_packets_in_total 56\n"
                        "videomeet_worker_cpu_seconds_total{worker=\"0\"} 1.5\n"
                        "videomeet_worker_cpu_seconds_total{worker=\"1\"} 0.25\nother_metric 9\n";
    bench_metrics m;
    CHECK(bench_probe_parse_metrics(text, sizeof(text) - 1, &m) == 4);
    CHECK(m.ok && m.rtp_out == 1234 && m.rtp_in == 56 && m.worker_cpu_s == 1.75 && m.rss_bytes == -1);

    /* The forwarding delay histogram: cumulative buckets, quantiles of the growth between two scrapes. */
    const char h0[] = "videomeet_forward_delay_seconds_bucket{le=\"0.001\"} 10\n"
                      "videomeet_forward_delay_seconds_bucket{le=\"0.002\"} 10\n"
                      "videomeet_forward_delay_seconds_bucket{le=\"+Inf\"} 10\n";
    const char h1[] = "videomeet_forward_delay_seconds_bucket{le=\"0.001\"} 60\n"
                      "videomeet_forward_delay_seconds_bucket{le=\"0.002\"} 110\n"
                      "videomeet_forward_delay_seconds_bucket{le=\"+Inf\"} 110\n";
    bench_metrics a, b;
    bench_probe_parse_metrics(h0, sizeof(h0) - 1, &a);
    bench_probe_parse_metrics(h1, sizeof(h1) - 1, &b);
    CHECK(a.n_fwd_delay == 3 && b.n_fwd_delay == 3 && isinf(b.fwd_delay_le[2]) && b.fwd_delay_count[1] == 110);
    /* 100 new observations: 50 in (0, 1 ms], 50 in (1, 2 ms]. */
    CHECK(fabs(bench_probe_hist_quantile(&a, &b, 0.5) - 0.001) < 1e-9);
    CHECK(fabs(bench_probe_hist_quantile(&a, &b, 0.25) - 0.0005) < 1e-9);
    CHECK(fabs(bench_probe_hist_quantile(&a, &b, 0.99) - 0.00198) < 1e-9);
    CHECK(bench_probe_hist_quantile(&a, &a, 0.5) == -1); /* no growth */
}


/* The speaker view of web/js/layout.js with N tiles, and the audio turns' arithmetic. */
static void test_tiles(void)
{
    static bench_tiles t;
    bench_tiles_init(&t, 4);
    bench_tiles_set_self(&t, "me");
    CHECK(bench_tiles_layout(&t) && t.n_shown == 1 && !strcmp(t.shown[0], "me")); /* alone: ourselves */
    char id[16], name[32];
    for (int i = 0; i < 6; i++) {
        snprintf(id, sizeof(id), "u%d", i);
        snprintf(name, sizeof(name), "bench r0 p%d", i + 1);
        bench_tiles_add(&t, id, name);
    }
    bench_tiles_add(&t, "u0", "again");  /* known: ignored */
    bench_tiles_add(&t, "me", "myself"); /* ourselves: not another */
    CHECK(t.n_users == 6 && bench_tiles_index_of(&t, "u3") == 4 && bench_tiles_index_of(&t, "me") == -1);
    CHECK(bench_tiles_name_index("Alice") == -1 && bench_tiles_name_index("bench r2 s17") == 17);
    /* nobody spoke: the first other large, then us and the others in join order */
    CHECK(bench_tiles_layout(&t) && t.n_shown == 4);
    CHECK(!strcmp(t.shown[0], "u0") && !strcmp(t.shown[1], "me") && !strcmp(t.shown[2], "u1") &&
          !strcmp(t.shown[3], "u2"));
    CHECK(!bench_tiles_layout(&t)); /* unchanged */
    CHECK(bench_tiles_place(&t, "u0") == 0 && bench_tiles_place(&t, "u2") == 1 && bench_tiles_place(&t, "u5") == -1);
    /* u5 speaks: large; the strip has recent speakers first */
    const char *sp1[] = {"u5", "gone", "u4"};
    bench_tiles_set_speakers(&t, sp1, 3);
    CHECK(bench_tiles_layout(&t));
    CHECK(!strcmp(t.shown[0], "u5") && !strcmp(t.shown[1], "u4") && !strcmp(t.shown[2], "me") &&
          !strcmp(t.shown[3], "u0"));
    /* we speak: the one before us stays large, we lead the strip */
    const char *sp2[] = {"me", "u5"};
    bench_tiles_set_speakers(&t, sp2, 2);
    bench_tiles_layout(&t);
    CHECK(!strcmp(t.shown[0], "u5") && !strcmp(t.shown[1], "me") && !strcmp(t.shown[2], "u0"));
    /* the large one leaves: the first other in join order */
    bench_tiles_remove(&t, "u5");
    CHECK(bench_tiles_layout(&t) && !strcmp(t.shown[0], "u0") && bench_tiles_place(&t, "u5") == -1);
    bench_tiles_init(&t, 99);
    CHECK(t.tiles == BENCH_TILES_MAX);
    /* turns of 3 s among 5: participant 2 speaks in [6, 9) s, [21, 24) s, ... */
    CHECK(bench_turn_start(7000000, 3000000, 2, 5) == 6000000);
    CHECK(bench_turn_start(6000000, 3000000, 2, 5) == 6000000);
    CHECK(bench_turn_start(20999999, 3000000, 2, 5) == 6000000);
    CHECK(bench_turn_start(21000000, 3000000, 2, 5) == 21000000);
    CHECK(bench_turn_start(7000000, 3000000, 4, 5) == -1); /* its first turn has not come */
    CHECK(bench_turn_start(7000000, 3000000, 5, 5) == -1 && bench_turn_start(7000000, 0, 1, 5) == -1);
}

static void test_cluster(void)
{
    static bench_cluster_node nd[4];
    const char *m = "# HELP videomeet_cluster_node_info x\n# TYPE videomeet_cluster_node_info gauge\n"
                    "videomeet_cluster_node_info{node=\"node0\",url=\"http://127.0.0.1:3001\",draining=\"0\"} 1\n"
                    "videomeet_cluster_node_participants{node=\"node0\"} 3\n"
                    "videomeet_cluster_node_info{node=\"n-2\",url=\"http://10.0.0.2:3000/n2\",draining=\"1\"} 1\n"
                    "videomeet_cluster_node_info{node=\"broken\"} 1\n"
                    "videomeet_cluster_node_info{node=\"last\",url=\"http://h:1\"} 1";
    CHECK(bench_cluster_parse_nodes(m, nd, 4) == 3);
    CHECK(!strcmp(nd[0].id, "node0") && !strcmp(nd[0].url, "http://127.0.0.1:3001"));
    CHECK(!strcmp(nd[1].id, "n-2") && !strcmp(nd[1].url, "http://10.0.0.2:3000/n2"));
    CHECK(!strcmp(nd[2].id, "last") && !strcmp(nd[2].url, "http://h:1"));
    CHECK(bench_cluster_parse_nodes(m, nd, 1) == 1);
    CHECK(bench_cluster_parse_nodes("videomeet_participants 3\n", nd, 4) == 0);
    const double even[] = {40, 40, 40}, uneven[] = {36, 44, 40}, none[] = {0, 0};
    CHECK(bench_cluster_imbalance(even, 3) == 0);
    CHECK(near(bench_cluster_imbalance(uneven, 3), 0.2, 1e-9));
    CHECK(bench_cluster_imbalance(none, 2) == 0 && bench_cluster_imbalance(even, 0) == 0);
    char host[128];
    int port;
    CHECK(bench_ws_parse_url("http://127.0.0.1:3002", host, sizeof(host), &port) == 0 && port == 3002 &&
          !strcmp(host, "127.0.0.1"));
    CHECK(bench_ws_parse_url("http://n2.example/x:y", host, sizeof(host), &port) == 0 && port == 80 &&
          !strcmp(host, "n2.example"));
    CHECK(bench_ws_parse_url("https://n2.example", host, sizeof(host), &port) < 0);
    CHECK(bench_ws_parse_url("http://h:0", host, sizeof(host), &port) < 0);
}

int bench_selftest(void)
{
    test_hist();
    test_rxseq();
    test_media();
    test_media_layer();
    test_twcc_rx();
    test_police();
    test_frames();
    test_sdp_up();
    test_sdp_down();
    test_metrics();
    test_tiles();
    test_cluster();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
