/* vp8_munge.h - per-subscriber rewriting of the VP8 payload descriptor (RFC 7741 §4.2), so that a
 * receiver sees one unbroken VP8 stream while the SFU switches it between simulcast layers and
 * drops temporal layers. Sequence numbers, timestamps and the SSRC are rewrite.h's job; this is
 * the codec's own numbering:
 *
 *   PictureID  out = in + offset (mod 2^7 or 2^15, the width of the packet's field). At a source
 *              switch the offset is chosen so that the new source's first picture follows the
 *              last picture sent. A picture the SFU drops on purpose (vp8_munge_drop: a temporal
 *              layer above the target) moves the pictures after it down by one, so the forwarded
 *              ids stay consecutive and the decoder sees no loss. A drop of a picture older than
 *              the newest one seen (reordering) leaves a gap instead: pictures already sent keep
 *              their ids.
 *   TL0PICIDX  out = in + offset (mod 256), anchored at a switch to follow the last one sent.
 *   KEYIDX     out = in + offset (mod 32), likewise.
 *
 * A "source" is whatever the caller switches between (the layer's SSRC). The caller switches at
 * a keyframe of the new source (a decoder cannot start elsewhere) and passes only that source's
 * packets from then on; a packet of another source re-anchors. Packets without a picture id (or
 * TL0PICIDX / KEYIDX) pass unchanged in that field.
 *
 * Pure: no allocation, no clock, no I/O; one struct per subscriber per video track, zeroed to
 * start (or vp8_munge_init), used by one thread.
 */
#ifndef VM_SFU_VP8_MUNGE_H
#define VM_SFU_VP8_MUNGE_H

#include <stddef.h>
#include <stdint.h>

#include "sfu/rtp.h"

#define VP8_MUNGE_HISTORY 8 /* offset changes remembered for late packets of a source */

struct vp8_munge_seg {
    uint32_t start; /* first extended input picture id using this offset */
    uint32_t off;   /* output = input + off (mod the field width) */
};

struct vp8_munge {
    int started;             /* a source is current */
    uint32_t src;            /* the current source */
    uint8_t bits;            /* picture id width of the current source (7 or 15; 0 = none seen) */
    uint32_t in_max;         /* highest extended input picture id of the current source */
    unsigned n_seg;          /* picture id offsets in seg[], oldest first */
    struct vp8_munge_seg seg[VP8_MUNGE_HISTORY];
    int have_out;            /* something was sent: the last_* fields below are valid */
    uint16_t last_picid;     /* last output picture id */
    uint8_t last_tl0;        /* last output TL0PICIDX */
    uint8_t last_keyidx;     /* last output KEYIDX */
    int have_tl0, have_keyidx;
    uint8_t tl0_off, keyidx_off;
    int tl0_anchored, keyidx_anchored; /* offsets set for the current source */
};

void vp8_munge_init(struct vp8_munge *m);

/* Rewrites the descriptor of one forwarded packet of source `src` in place. d is the descriptor
 * parsed from these bytes (rtp_vp8_parse). Returns 0, or -ESTALE when the packet's picture is
 * older than the history can map (do not forward it). */
int vp8_munge_forward(struct vp8_munge *m, uint32_t src, uint8_t *payload, size_t len, const struct rtp_vp8 *d);

/* Rewrites a packet of source `src` sent before, to go again (a retransmission, a probe that repeats
 * it) with the numbers it went with the first time: m's offsets as they are, nothing changed in m.
 * Returns 0; -ENOENT when src is not the current source (the receiver has switched since: its
 * numbers are gone) or the picture was never forwarded; -ESTALE when it is older than the history
 * can map. */
int vp8_munge_again(const struct vp8_munge *m, uint32_t src, uint8_t *payload, size_t len, const struct rtp_vp8 *d);

/* The next forwarded packet starts a new source even if it is the current one's, and follows the
 * last picture sent: the same stream resumed after a pause, its numbers moved on by any amount
 * meanwhile (by over half the picture id space, an unwrap would take them for older ones). */
void vp8_munge_resync(struct vp8_munge *m);

/* Notes a packet of source `src` that the SFU drops on purpose (all packets of a picture share its
 * temporal layer, so the whole picture goes). */
void vp8_munge_drop(struct vp8_munge *m, uint32_t src, const struct rtp_vp8 *d);

#endif
