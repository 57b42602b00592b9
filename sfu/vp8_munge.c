/* vp8_munge.c - the VP8 descriptor rewriting of vp8_munge.h.
 *
 * Picture ids are extended to 32 bits per source (unwrapped against the highest seen), so the
 * offsets apply the same way to packets that arrive out of order. The offset history is a short
 * list of segments: each drop of a new picture starts a segment whose offset is one lower.
 */
#include "sfu/vp8_munge.h"

#include <errno.h>
#include <string.h>

#define EXT_BASE (1u << 20) /* extended ids of a source start here, so older ones stay positive */

void vp8_munge_init(struct vp8_munge *m)
{
    memset(m, 0, sizeof(*m));
}

static uint32_t mask_of(uint8_t bits)
{
    return bits == 15 ? 0x7fffu : 0x7fu;
}

/* The extended id of picture id p (of the current width) nearest to in_max. */
static uint32_t unwrap(const struct vp8_munge *m, uint16_t p)
{
    uint32_t mask = mask_of(m->bits), half = (mask + 1) / 2;
    uint32_t diff = ((uint32_t)p - m->in_max) & mask; /* forward distance from in_max */
    return diff < half ? m->in_max + diff : m->in_max - ((mask + 1) - diff);
}

/* A new source: its first picture follows the last one sent. */
static void start_source(struct vp8_munge *m, uint32_t src, const struct rtp_vp8 *d)
{
    m->started = 1;
    m->src = src;
    m->tl0_anchored = 0;
    m->keyidx_anchored = 0;
    m->n_seg = 0;
    m->bits = d->has_picid ? d->picid_bits : 0;
    if (!m->bits)
        return;
    uint32_t mask = mask_of(m->bits);
    m->in_max = EXT_BASE + d->picid;
    uint32_t off = m->have_out ? (((uint32_t)m->last_picid + 1) - d->picid) & mask : 0;
    m->seg[0].start = m->in_max;
    m->seg[0].off = off;
    m->n_seg = 1;
}

static int is_current(const struct vp8_munge *m, uint32_t src, const struct rtp_vp8 *d)
{
    if (!m->started || m->src != src)
        return 0;
    return d->has_picid ? d->picid_bits == m->bits : 1;
}

/* Whether d's picture id is there to rewrite: of the current width, within the packet. */
static int has_picid(const struct vp8_munge *m, const struct rtp_vp8 *d, size_t len)
{
    return d->has_picid && m->bits && d->picid_off + (m->bits == 15 ? 2 : 1) <= len;
}

/* Writes the output numbers of packet d into payload by m's offsets as they are (tl0/keyidx only
 * when anchored): the picture id's segment for its extended id ext. */
static void write_mapped(const struct vp8_munge *m, uint8_t *payload, size_t len, const struct rtp_vp8 *d,
                         uint32_t ext)
{
    if (has_picid(m, d, len)) {
        unsigned k = m->n_seg - 1;
        while (k > 0 && m->seg[k].start > ext)
            k--;
        uint32_t out = (ext + m->seg[k].off) & mask_of(m->bits);
        if (m->bits == 15) {
            payload[d->picid_off] = (uint8_t)(0x80 | (out >> 8));
            payload[d->picid_off + 1] = (uint8_t)out;
        } else {
            payload[d->picid_off] = (uint8_t)out;
        }
    }
    if (d->has_tl0 && d->tl0_off < len && m->tl0_anchored)
        payload[d->tl0_off] = (uint8_t)(d->tl0picidx + m->tl0_off);
    if (d->has_keyidx && d->tk_off < len && m->keyidx_anchored)
        payload[d->tk_off] = (uint8_t)((payload[d->tk_off] & 0xe0) | ((d->keyidx + m->keyidx_off) & 0x1f));
}

int vp8_munge_forward(struct vp8_munge *m, uint32_t src, uint8_t *payload, size_t len, const struct rtp_vp8 *d)
{
    if (!is_current(m, src, d))
        start_source(m, src, d);
    int newest = 1;
    uint32_t ext = 0;
    if (has_picid(m, d, len)) {
        ext = unwrap(m, d->picid);
        if (ext < m->seg[0].start)
            return -ESTALE;
        newest = ext >= m->in_max;
        if (newest)
            m->in_max = ext;
    }
    if (d->has_tl0 && d->tl0_off < len && !m->tl0_anchored) {
        m->tl0_off = m->have_tl0 ? (uint8_t)(m->last_tl0 + 1 - d->tl0picidx) : 0;
        m->tl0_anchored = 1;
    }
    if (d->has_keyidx && d->tk_off < len && !m->keyidx_anchored) {
        m->keyidx_off = m->have_keyidx ? (uint8_t)((m->last_keyidx + 1 - d->keyidx) & 0x1f) : 0;
        m->keyidx_anchored = 1;
    }
    write_mapped(m, payload, len, d, ext);
    if (newest) {
        if (has_picid(m, d, len))
            m->last_picid = (uint16_t)(m->bits == 15 ? ((payload[d->picid_off] & 0x7f) << 8) | payload[d->picid_off + 1]
                                                     : payload[d->picid_off]);
        if (d->has_tl0 && d->tl0_off < len) {
            m->last_tl0 = payload[d->tl0_off];
            m->have_tl0 = 1;
        }
        if (d->has_keyidx && d->tk_off < len) {
            m->last_keyidx = payload[d->tk_off] & 0x1f;
            m->have_keyidx = 1;
        }
    }
    m->have_out = 1;
    return 0;
}

int vp8_munge_again(const struct vp8_munge *m, uint32_t src, uint8_t *payload, size_t len, const struct rtp_vp8 *d)
{
    if (!is_current(m, src, d))
        return -ENOENT;
    uint32_t ext = 0;
    if (has_picid(m, d, len)) {
        ext = unwrap(m, d->picid);
        if (ext < m->seg[0].start)
            return -ESTALE;
        if (ext > m->in_max)
            return -ENOENT;
    }
    if ((d->has_tl0 && d->tl0_off < len && !m->tl0_anchored) ||
        (d->has_keyidx && d->tk_off < len && !m->keyidx_anchored))
        return -ENOENT;
    write_mapped(m, payload, len, d, ext);
    return 0;
}

void vp8_munge_resync(struct vp8_munge *m)
{
    m->started = 0;
}

void vp8_munge_drop(struct vp8_munge *m, uint32_t src, const struct rtp_vp8 *d)
{
    if (!is_current(m, src, d) || !d->has_picid || !m->bits)
        return;
    uint32_t ext = unwrap(m, d->picid);
    if (ext <= m->in_max)
        return; /* a picture seen before (its other packets), or a late one: leave a gap */
    m->in_max = ext;
    struct vp8_munge_seg *last = &m->seg[m->n_seg - 1];
    uint32_t off = last->off - 1;
    if (last->start == ext && m->n_seg > 1) {
        /* the picture before was dropped too: the same segment moves on */
        last->start = ext + 1;
        last->off = off;
        return;
    }
    if (m->n_seg == VP8_MUNGE_HISTORY) {
        memmove(m->seg, m->seg + 1, (VP8_MUNGE_HISTORY - 1) * sizeof(m->seg[0]));
        m->n_seg--;
    }
    m->seg[m->n_seg].start = ext + 1;
    m->seg[m->n_seg].off = off;
    m->n_seg++;
}
