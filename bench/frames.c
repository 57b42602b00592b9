/* frames.c - frame assembly, the decoder model and the freeze accounting of frames.h. */
#include "bench/frames.h"

#include <string.h>

#include "sfu/rtp.h"

/* a - b in picture ids (15 bits), in -16384..16383 */
static int pic_diff(int a, int b)
{
    return ((a - b + 0x4000) & 0x7fff) - 0x4000;
}

void bench_frames_init(bench_frames *f)
{
    memset(f, 0, sizeof(*f));
    f->newest = -1;
    f->last_layer = -2;
    for (int i = 0; i < BENCH_FRAMES_RING; i++)
        f->ring[i].picid = -1;
}

static bench_frame_slot *slot_of(bench_frames *f, int picid)
{
    return &f->ring[(unsigned)picid % BENCH_FRAMES_RING];
}

static bool complete(const bench_frame_slot *s)
{
    return s->have_first && s->have_last && s->last >= s->first && s->n == s->last - s->first + 1;
}

/* Whether what s references has been decoded. */
static bool refs_decoded(const bench_frames *f, const bench_frame_slot *s)
{
    if (s->key)
        return true;
    if (!f->have_key)
        return false;
    if (s->tid < 0)
        return pic_diff(s->picid, f->last_picid) == 1;
    if (s->tid == 0)
        return (uint8_t)(f->last_tl0 + 1) == s->tl0;
    if (f->last_tl0 != s->tl0)
        return false;
    return s->tid == 1 || s->sync || (f->have_tl1 && f->tl1_tl0 == s->tl0);
}

static int layer_index(int layer)
{
    return layer >= 0 && layer < BENCH_FRAMES_LAYERS - 1 ? layer + 1 : 0;
}

/* The shortest gap that is a freeze: BENCH_FRAMES_GAP_US, and W3C webrtc-stats' threshold over the
 * recent intervals between decoded frames. */
static int64_t freeze_threshold(const bench_frames *f)
{
    int64_t t = BENCH_FRAMES_GAP_US;
    if (f->n_intervals) {
        int64_t avg = f->interval_sum / f->n_intervals;
        int64_t w3c = 3 * avg > avg + 150000 ? 3 * avg : avg + 150000;
        if (w3c > t)
            t = w3c;
    }
    return t;
}

/* Time from the previous decoded frame (or the window's start) to now: on screen, a freeze if long. */
static void account_until(bench_frames *f, int64_t now_us)
{
    if (!f->in_window)
        return;
    int64_t from = f->have_decoded && f->last_decode_us > f->win_start_us ? f->last_decode_us : f->win_start_us;
    int64_t gap = now_us - from;
    if (gap <= 0)
        return;
    if (f->have_decoded)
        f->win.shown_us[layer_index(f->last_layer)] += gap;
    if (gap >= freeze_threshold(f)) {
        f->win.freezes++;
        f->win.freeze_us += gap;
        if (gap > f->win.longest_freeze_us)
            f->win.longest_freeze_us = gap;
    }
}

static void decode(bench_frames *f, bench_frame_slot *s, int64_t now_us)
{
    account_until(f, now_us);
    if (f->in_window) {
        f->win.decoded[layer_index(s->layer)]++;
        if (f->have_decoded && s->layer != f->last_layer)
            f->win.switches++;
        if (f->have_decoded && !s->key)
            f->win.skipped += (uint64_t)(pic_diff(s->picid, f->last_picid) - 1);
    }
    if (f->have_decoded) {
        int64_t iv = now_us - f->last_decode_us;
        if (f->n_intervals == BENCH_FRAMES_AVG)
            f->interval_sum -= f->intervals[f->interval_pos];
        else
            f->n_intervals++;
        f->intervals[f->interval_pos] = iv;
        f->interval_sum += iv;
        f->interval_pos = (f->interval_pos + 1) % BENCH_FRAMES_AVG;
    }
    f->decoded_total++;
    s->done = true;
    f->have_decoded = true;
    f->last_picid = (uint16_t)s->picid;
    f->last_decode_us = now_us;
    f->last_layer = s->layer;
    if (s->key) {
        f->have_key = true;
        f->have_tl1 = false;
    }
    if (s->key || s->tid == 0) {
        f->last_tl0 = s->tl0;
        f->have_tl1 = false;
    } else if (s->tid == 1) {
        f->have_tl1 = true;
        f->tl1_tl0 = s->tl0;
    }
    f->stuck_since = 0;
    f->stuck_counted = false;
}

/* Decodes s if it can be, then every later complete frame that it (and they) unblock. */
static void try_decode(bench_frames *f, bench_frame_slot *s, int64_t now_us)
{
    if (!refs_decoded(f, s)) {
        if (!f->stuck_since)
            f->stuck_since = now_us;
        return;
    }
    decode(f, s, now_us);
    int ahead = f->newest >= 0 ? pic_diff(f->newest, s->picid) : 0;
    for (int k = 1; k <= ahead && k < BENCH_FRAMES_RING; k++) {
        int picid = (s->picid + k) & 0x7fff;
        bench_frame_slot *n = slot_of(f, picid);
        if (n->picid == picid && !n->done && complete(n) && pic_diff(picid, f->last_picid) > 0 &&
            refs_decoded(f, n))
            decode(f, n, now_us);
    }
}

void bench_frames_on_packet(bench_frames *f, const bench_frame_pkt *p, int64_t now_us)
{
    if (p->picid < 0)
        return;
    int picid = p->picid & 0x7fff;
    uint32_t ext = f->seq_started ? rtp_seq_unwrap(f->seq_max, p->seq) : 0x10000u + p->seq;
    if (!f->seq_started || ext > f->seq_max)
        f->seq_max = ext;
    f->seq_started = true;
    if (f->have_decoded && pic_diff(picid, f->last_picid) <= 0)
        return; /* its picture was decoded, or passed over */
    bench_frame_slot *s = slot_of(f, picid);
    if (s->picid != picid)
        *s = (bench_frame_slot){.picid = picid};
    if (s->done)
        return;
    s->n++;
    if (p->start) {
        s->have_first = true;
        s->first = ext;
        s->key = p->keyframe;
    }
    if (p->marker) {
        s->have_last = true;
        s->last = ext;
    }
    s->tid = (int8_t)(p->tid < 0 ? -1 : p->tid);
    s->tl0 = p->tl0;
    s->sync = p->layer_sync;
    s->layer = (int8_t)p->layer;
    if (f->newest < 0 || pic_diff(picid, f->newest) > 0)
        f->newest = picid;
    if (complete(s))
        try_decode(f, s, now_us);
}

bool bench_frames_stuck(bench_frames *f, int64_t now_us)
{
    if (!f->stuck_since || now_us - f->stuck_since < BENCH_FRAMES_STUCK_US)
        return false;
    if (!f->stuck_counted && f->in_window)
        f->win.stuck++;
    f->stuck_counted = true;
    return true;
}

int bench_frames_layer(const bench_frames *f)
{
    return f->have_decoded ? f->last_layer : -2;
}

void bench_frames_window_start(bench_frames *f, int64_t now_us)
{
    memset(&f->win, 0, sizeof(f->win));
    f->in_window = true;
    f->win_start_us = now_us;
}

void bench_frames_window_end(bench_frames *f, int64_t now_us)
{
    if (!f->in_window)
        return;
    account_until(f, now_us);
    f->in_window = false;
}
