/*
 * rewrite.c - per-subscriber SSRC / sequence number / timestamp rewriting.
 * See rewrite.h for the API and the behaviour on source switches.
 *
 * Model: input seqs of the current source are extended to 32 bits relative to the
 * highest one seen (in_max), starting in the second 2^16 cycle so that unwrapping late
 * packets never underflows. The input axis is cut into segments; within a segment,
 * output ext seq = input ext seq + segment offset. A new segment starts at every anchor
 * (source switch / resync / restart: the history is reset to one segment whose offset
 * makes the output continue at out_max + 1) and after every skipped packet (offset one
 * lower, so the output closes the gap). A packet maps through the newest segment whose
 * start is not after it; the segment boundaries remember which seqs were skipped, so a
 * late copy of a skipped packet is refused instead of colliding with its neighbour.
 * Output seqs only grow for growing input, so out_max is the output of in_max's
 * segment. The timestamp offset changes only at an anchor.
 */
#include "sfu/rewrite.h"

#include <errno.h>
#include <string.h>

void rewrite_init(struct rewrite *rw, uint32_t out_ssrc, uint32_t clock_rate)
{
    memset(rw, 0, sizeof(*rw));
    rw->out_ssrc = out_ssrc;
    rw->clock_rate = clock_rate;
}

void rewrite_resync(struct rewrite *rw)
{
    rw->resync = 1;
}

/* Start a new segment at this packet; returns its extended input seq. */
static uint32_t anchor(struct rewrite *rw, uint32_t ssrc, uint16_t seq, uint32_t ts,
                       uint64_t now_us)
{
    uint32_t ext = 0x10000u + seq;
    uint32_t off = 0;
    if (!rw->started) {
        rw->ts_off = 0; /* the first source passes through unchanged */
    } else {
        off = rw->out_max + 1 - ext;
        uint64_t elapsed = now_us > rw->last_ts_at ? now_us - rw->last_ts_at : 0;
        uint64_t ticks = elapsed * rw->clock_rate / 1000000u;
        if (ticks == 0)
            ticks = 1;
        rw->ts_off = rw->last_ts + (uint32_t)ticks - ts;
    }
    rw->started = 1;
    rw->resync = 0;
    rw->src_ssrc = ssrc;
    rw->in_max = ext - 1;
    rw->n_seg = 1;
    rw->seg[0].start = ext;
    rw->seg[0].off = off;
    rw->seg[0].skipped = 0;
    return ext;
}

/* Segment for an extended input seq not newer than in_max: index, -ESTALE (before the
 * history) or -EALREADY (skipped on purpose). */
static int find_seg(const struct rewrite *rw, uint32_t ext)
{
    for (int i = (int)rw->n_seg - 1; i >= 0; i--) {
        const struct rewrite_seg *s = &rw->seg[i];
        if ((int32_t)(ext - s->start) >= 0)
            return i;
        if ((int32_t)(ext - (s->start - s->skipped)) >= 0)
            return -EALREADY;
    }
    return -ESTALE;
}

static int map_ext(struct rewrite *rw, uint32_t ext, uint32_t ts, uint64_t now_us,
                   struct rewrite_out *out)
{
    uint32_t out_ext;
    if ((int32_t)(ext - rw->in_max) > 0) {
        out_ext = ext + rw->seg[rw->n_seg - 1].off;
        rw->in_max = ext;
        rw->out_max = out_ext;
        rw->last_ts = ts + rw->ts_off;
        rw->last_ts_at = now_us;
    } else {
        int i = find_seg(rw, ext);
        if (i < 0)
            return i;
        out_ext = ext + rw->seg[i].off;
    }
    out->seq = (uint16_t)out_ext;
    out->ts = ts + rw->ts_off;
    out->ssrc = rw->out_ssrc;
    return 0;
}

int rewrite_map(struct rewrite *rw, uint32_t ssrc, uint16_t seq, uint32_t ts, uint64_t now_us,
                struct rewrite_out *out)
{
    uint32_t ext;
    if (!rw->started || rw->resync || ssrc != rw->src_ssrc) {
        ext = anchor(rw, ssrc, seq, ts, now_us);
    } else {
        ext = rtp_seq_unwrap(rw->in_max, seq);
        int32_t d = (int32_t)(ext - rw->in_max);
        if (d > REWRITE_MAX_JUMP || d < -REWRITE_MAX_JUMP)
            ext = anchor(rw, ssrc, seq, ts, now_us);
    }
    return map_ext(rw, ext, ts, now_us, out);
}

int rewrite_apply(struct rewrite *rw, uint8_t *pkt, const struct rtp_view *v, uint64_t now_us)
{
    struct rewrite_out o;
    int rc = rewrite_map(rw, v->ssrc, v->seq, v->ts, now_us, &o);
    if (rc < 0)
        return rc;
    rtp_set_seq(pkt, o.seq);
    rtp_set_ts(pkt, o.ts);
    rtp_set_ssrc(pkt, o.ssrc);
    return 0;
}

int rewrite_skip(struct rewrite *rw, uint32_t ssrc, uint16_t seq)
{
    if (!rw->started || rw->resync || ssrc != rw->src_ssrc)
        return -ESTALE;
    uint32_t ext = rtp_seq_unwrap(rw->in_max, seq);
    int32_t d = (int32_t)(ext - rw->in_max);
    if (d <= 0 || d > REWRITE_MAX_JUMP)
        return -ESTALE;
    rw->in_max = ext;
    struct rewrite_seg *last = &rw->seg[rw->n_seg - 1];
    if (last->skipped && last->start == ext) {
        /* consecutive skips: nothing was mapped through `last` yet, widen it */
        last->start++;
        last->off--;
        last->skipped++;
        return 0;
    }
    if (rw->n_seg == REWRITE_HISTORY) {
        memmove(&rw->seg[0], &rw->seg[1], sizeof(rw->seg[0]) * (REWRITE_HISTORY - 1));
        rw->n_seg--;
        last = &rw->seg[rw->n_seg - 1];
    }
    struct rewrite_seg *s = &rw->seg[rw->n_seg++];
    s->start = ext + 1;
    s->off = last->off - 1;
    s->skipped = 1;
    return 0;
}

int rewrite_nack_to_source(const struct rewrite *rw, uint16_t out_seq, uint16_t *src_seq)
{
    if (!rw->started)
        return -ENOENT;
    uint32_t out_ext = rtp_seq_unwrap(rw->out_max, out_seq);
    if ((int32_t)(out_ext - rw->out_max) > 0)
        return -ENOENT;
    for (int i = (int)rw->n_seg - 1; i >= 0; i--) {
        uint32_t in = out_ext - rw->seg[i].off;
        if ((int32_t)(in - rw->seg[i].start) >= 0) {
            *src_seq = (uint16_t)in;
            return 0;
        }
    }
    return -ENOENT;
}

int rewrite_lookup(const struct rewrite *rw, uint16_t seq, uint32_t ts, struct rewrite_out *out)
{
    if (!rw->started)
        return -ENOENT;
    uint32_t ext = rtp_seq_unwrap(rw->in_max, seq);
    if ((int32_t)(ext - rw->in_max) > 0)
        return -ENOENT;
    int i = find_seg(rw, ext);
    if (i < 0)
        return -ENOENT;
    out->seq = (uint16_t)(ext + rw->seg[i].off);
    out->ts = ts + rw->ts_off;
    out->ssrc = rw->out_ssrc;
    return 0;
}
