/*
 * rewrite.h - per-subscriber, per-forwarded-track RTP rewriting: the subscriber sees one
 * stable SSRC and continuous sequence numbers and timestamps, whatever happens upstream.
 *
 * The caller owns a struct rewrite (embed it in the subscriber's track state; it holds
 * no pointers and needs no free) and calls, per packet it decides to forward:
 *
 *   memcpy(scratch, pkt, len);
 *   if (rewrite_apply(&rw, scratch, &view, now_us) < 0) skip;   // writes seq/ts/ssrc
 *
 * Source switches: the first packet from an SSRC other than the current one (publisher
 * reconnected, simulcast layer change), the first packet after rewrite_resync() (track
 * resumed after a pause), or a sequence jump of more than REWRITE_MAX_JUMP either way
 * within one SSRC (the source restarted; SRTP's replay window already rejects packets
 * that late), re-anchors the offsets: output seq continues at highest-sent + 1 and the
 * timestamp advances from the last sent one by the wall-clock time elapsed since it was
 * sent (now_us and the clock rate), at least 1 tick. Packets of the new source older
 * than its first forwarded one are refused (they would collide with the old source's
 * numbers). The SSRC decides which source is current, so pass only packets of the
 * source you forward now: a stray packet of the previous source switches back.
 *
 * Within one source, input seqs are extended to 32 bits (wrap-safe) and mapped through
 * an offset, so out-of-order and duplicate packets map to the same output as they would
 * in order. rewrite_skip() lets the SFU drop a packet on purpose (e.g. a temporal layer
 * it does not forward) while keeping the output gapless: a small history of offset
 * changes keeps late packets mapping consistently. rewrite_nack_to_source() maps a
 * subscriber's NACKed seq back to the source seq to look up in the retransmit cache.
 *
 * Pure: no allocation, no clock (now_us is a parameter, any monotonic microsecond
 * clock), no locks; one struct per subscriber track, used by one thread.
 */
#ifndef VM_SFU_REWRITE_H
#define VM_SFU_REWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "sfu/rtp.h"

#define REWRITE_HISTORY 8     /* offset changes remembered for late packets */
#define REWRITE_MAX_JUMP 3000 /* larger seq jumps within one SSRC re-anchor */

struct rewrite_seg {
    uint32_t start;   /* first extended input seq using this offset */
    uint32_t off;     /* output ext seq = input ext seq + off (mod 2^32) */
    uint32_t skipped; /* input seqs [start - skipped, start) were skipped on purpose */
};

struct rewrite {
    uint32_t out_ssrc;
    uint32_t clock_rate;
    int started;
    int resync;            /* re-anchor on the next packet */
    uint32_t src_ssrc;
    uint32_t in_max;       /* highest extended input seq seen (forwarded or skipped) */
    uint32_t out_max;      /* highest extended output seq assigned */
    uint32_t ts_off;       /* output ts = input ts + ts_off */
    uint32_t last_ts;      /* output ts of the packet that set out_max */
    uint64_t last_ts_at;   /* now_us when that packet was mapped */
    unsigned n_seg;        /* segments in seg[], oldest first, >= 1 once started */
    struct rewrite_seg seg[REWRITE_HISTORY];
};

struct rewrite_out {
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
};

/* Start a track towards one subscriber: it will carry out_ssrc; clock_rate in Hz
 * (90000 video, 48000 Opus). */
void rewrite_init(struct rewrite *rw, uint32_t out_ssrc, uint32_t clock_rate);

/* The next forwarded packet starts a new segment (call when resuming a paused track or
 * after dropping an unknown number of packets). */
void rewrite_resync(struct rewrite *rw);

/* Map one source packet. 0: forward it with *out. Negative: do not forward it:
 * -ESTALE too old to map (sent before a source switch or older than the history),
 * -EALREADY it was skipped on purpose (a late copy of a skipped seq). */
int rewrite_map(struct rewrite *rw, uint32_t ssrc, uint16_t seq, uint32_t ts, uint64_t now_us,
                struct rewrite_out *out);

/* rewrite_map on a parsed packet and write seq/ts/ssrc into pkt (the subscriber's
 * scratch copy of v->pkt). Same return values. */
int rewrite_apply(struct rewrite *rw, uint8_t *pkt, const struct rtp_view *v, uint64_t now_us);

/* The SFU chose not to forward source packet seq (newer than any seen): later packets
 * shift down so the subscriber sees no gap. Returns 0, or -ESTALE when seq is not newer
 * than the highest seen (its output number is already implied; it will show as lost)
 * or it is from another SSRC. */
int rewrite_skip(struct rewrite *rw, uint32_t ssrc, uint16_t seq);

/* Map a seq from the subscriber's NACK back to the current source's seq. 0 and
 * *src_seq, or -ENOENT (not sent yet, sent before the last source switch, or older than
 * the history). */
int rewrite_nack_to_source(const struct rewrite *rw, uint16_t out_seq, uint16_t *src_seq);

/* Map a retransmission of an already forwarded source packet without changing any
 * state. 0 and *out, or -ENOENT if seq was never mapped (or is before a switch). */
int rewrite_lookup(const struct rewrite *rw, uint16_t seq, uint32_t ts, struct rewrite_out *out);

#endif /* VM_SFU_REWRITE_H */
