/*
 * rtp.c - RTP parsing, header extensions, in-place rewriting, RTX and codec keyframe
 * detection. See rtp.h for the API and the forwarding-path usage.
 *
 * Design: rtp_parse validates the fixed header, CSRC list, extension block bounds and
 * padding once, and records offsets. Element-level extension parsing is lazy (most
 * packets are forwarded with at most two element lookups). Every read is bounds-checked
 * against the view's length; no function allocates, copies more than it writes, or keeps
 * state between calls.
 */
#include "sfu/rtp.h"

#include <errno.h>
#include <string.h>

#include "sfu/bytes.h"

/*
 * RFC 7983 section 7 (first byte B of a datagram on the ICE 5-tuple), with RFC 5761
 * section 4 splitting RTP from RTCP by the second byte (marker bit + payload type):
 *
 *                  +----------------+
 *                  |        [0..3] -+--> STUN
 *                  |      [16..19] -+--> ZRTP            (unknown here)
 *      packet -->  |      [20..63] -+--> DTLS
 *                  |      [64..79] -+--> TURN channel    (unknown here)
 *                  |    [128..191] -+--+ RTP / RTCP
 *                  +----------------+  |
 *                                      |   second byte (M|PT):
 *                                      +-- [192..223] --> RTCP (PT 200 SR .. 206 PSFB, 207 XR)
 *                                      +-- otherwise  --> RTP  (PT 0..63, 96..127)
 *
 * RTCP packet types 192..223 are the RTP payload types 64..95 with the marker bit set,
 * which is why RFC 5761 forbids those payload types for RTP when muxing.
 */
enum rtp_kind rtp_demux(const uint8_t *buf, size_t len)
{
    if (len == 0)
        return RTP_KIND_UNKNOWN;
    uint8_t b = buf[0];
    if (b <= 3)
        return RTP_KIND_STUN;
    if (b >= 20 && b <= 63)
        return RTP_KIND_DTLS;
    if (b >= 128 && b <= 191) {
        if (len < 2)
            return RTP_KIND_UNKNOWN;
        return (buf[1] >= 192 && buf[1] <= 223) ? RTP_KIND_RTCP : RTP_KIND_RTP;
    }
    return RTP_KIND_UNKNOWN;
}

/*
 * RFC 3550 5.1 fixed header:
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * |                           timestamp                           |
 * |           synchronization source (SSRC) identifier            |
 * |            contributing source (CSRC) identifiers             |  cc * 4 bytes
 * |      defined by profile       |           length              |  if X
 * |                        header extension                       |  length * 4 bytes
 */
int rtp_parse(struct rtp_view *v, const uint8_t *buf, size_t len)
{
    if (!v || !buf || len < RTP_HEADER_MIN)
        return -EBADMSG;
    if ((buf[0] >> 6) != 2)
        return -EPROTONOSUPPORT;
    v->pkt = buf;
    v->len = len;
    v->padding = (buf[0] >> 5) & 1;
    v->extension = (buf[0] >> 4) & 1;
    v->cc = buf[0] & 0x0f;
    v->marker = buf[1] >> 7;
    v->pt = buf[1] & 0x7f;
    v->seq = rd16(buf + 2);
    v->ts = rd32(buf + 4);
    v->ssrc = rd32(buf + 8);

    size_t off = RTP_HEADER_MIN + 4u * v->cc;
    if (off > len)
        return -EBADMSG;
    v->ext_profile = 0;
    v->ext_off = off;
    v->ext_len = 0;
    if (v->extension) {
        if (off + 4 > len)
            return -EBADMSG;
        v->ext_profile = rd16(buf + off);
        v->ext_len = 4u * rd16(buf + off + 2);
        v->ext_off = off + 4;
        if (v->ext_len > len - v->ext_off)
            return -EBADMSG;
        off = v->ext_off + v->ext_len;
    }
    v->payload_off = off;
    v->pad_len = 0;
    if (v->padding) {
        uint8_t pad = buf[len - 1];
        if (pad == 0 || pad > len - off)
            return -EBADMSG;
        v->pad_len = pad;
    }
    v->payload_len = len - off - v->pad_len;
    return 0;
}

uint32_t rtp_csrc(const struct rtp_view *v, unsigned i)
{
    if (i >= v->cc)
        return 0;
    return rd32(v->pkt + RTP_HEADER_MIN + 4u * i);
}

/* ---- extension elements (RFC 8285 4.2 one-byte, 4.3 two-byte) ---- */

void rtp_ext_iter_init(const struct rtp_view *v, struct rtp_ext_iter *it)
{
    it->pos = v->ext_off;
    it->end = v->ext_off + v->ext_len;
    if (!v->extension)
        it->two_byte = 2;
    else if (v->ext_profile == 0xBEDE)
        it->two_byte = 0;
    else if ((v->ext_profile & 0xfff0) == 0x1000)
        it->two_byte = 1;
    else
        it->two_byte = 2;
}

int rtp_ext_next(const struct rtp_view *v, struct rtp_ext_iter *it, struct rtp_ext *out)
{
    const uint8_t *p = v->pkt;
    if (it->two_byte == 2)
        return 0;
    while (it->pos < it->end) {
        uint8_t b = p[it->pos];
        if (b == 0 || (it->two_byte == 0 && (b >> 4) == 0)) {
            it->pos++; /* padding byte */
            continue;
        }
        if (it->two_byte == 0) {
            if ((b >> 4) == 15) { /* reserved: stop processing the block */
                it->pos = it->end;
                return 0;
            }
            out->id = b >> 4;
            out->len = (uint8_t)((b & 0x0f) + 1);
            out->off = it->pos + 1;
        } else {
            if (it->pos + 2 > it->end)
                return -EBADMSG;
            out->id = b;
            out->len = p[it->pos + 1];
            out->off = it->pos + 2;
        }
        if (out->len > it->end - out->off)
            return -EBADMSG;
        it->pos = out->off + out->len;
        return 1;
    }
    return 0;
}

int rtp_ext_find(const struct rtp_view *v, uint8_t id, struct rtp_ext *out)
{
    struct rtp_ext_iter it;
    struct rtp_ext e;
    int rc;
    if (id == 0)
        return -EINVAL;
    rtp_ext_iter_init(v, &it);
    while ((rc = rtp_ext_next(v, &it, &e)) == 1) {
        if (e.id == id) {
            *out = e;
            return 0;
        }
    }
    return rc < 0 ? rc : -ENOENT;
}

int rtp_ext_get_u16(const struct rtp_view *v, uint8_t id, uint16_t *val)
{
    struct rtp_ext e;
    int rc = rtp_ext_find(v, id, &e);
    if (rc < 0)
        return rc;
    if (e.len < 2)
        return -EINVAL;
    *val = rd16(v->pkt + e.off);
    return 0;
}

int rtp_ext_write(uint8_t *pkt, const struct rtp_view *v, uint8_t id,
                  const uint8_t *data, size_t len)
{
    struct rtp_ext e;
    int rc = rtp_ext_find(v, id, &e);
    if (rc < 0)
        return rc;
    if (e.len != len)
        return -EINVAL;
    memcpy(pkt + e.off, data, len);
    return 0;
}

int rtp_ext_set_u16(uint8_t *pkt, const struct rtp_view *v, uint8_t id, uint16_t val)
{
    struct rtp_ext e;
    int rc = rtp_ext_find(v, id, &e);
    if (rc < 0)
        return rc;
    if (e.len < 2)
        return -EINVAL;
    wr16(pkt + e.off, val);
    return 0;
}

/* Write new_id into the element header whose data starts at e->off. */
static int ext_put_id(uint8_t *pkt, const struct rtp_ext_iter *it, const struct rtp_ext *e,
                      uint8_t new_id)
{
    if (it->two_byte) {
        if (new_id == 0)
            return -EINVAL;
        pkt[e->off - 2] = new_id;
        return 0;
    }
    if (new_id == 0 || new_id >= 15)
        return -EINVAL;
    pkt[e->off - 1] = (uint8_t)((new_id << 4) | (pkt[e->off - 1] & 0x0f));
    return 0;
}

int rtp_ext_set_id(uint8_t *pkt, const struct rtp_view *v, uint8_t old_id, uint8_t new_id)
{
    struct rtp_ext_iter it;
    struct rtp_ext e;
    int rc;
    if (old_id == 0)
        return -EINVAL;
    rtp_ext_iter_init(v, &it);
    while ((rc = rtp_ext_next(v, &it, &e)) == 1) {
        if (e.id == old_id)
            return ext_put_id(pkt, &it, &e, new_id);
    }
    return rc < 0 ? rc : -ENOENT;
}

int rtp_ext_remap(uint8_t *pkt, const struct rtp_view *v, const uint8_t map[256])
{
    struct rtp_ext_iter it;
    struct rtp_ext e;
    int rc, kept = 0;
    rtp_ext_iter_init(v, &it);
    while ((rc = rtp_ext_next(v, &it, &e)) == 1) {
        uint8_t to = map[e.id];
        if (to == 0) {
            size_t hdr = it.two_byte ? 2 : 1;
            memset(pkt + e.off - hdr, 0, hdr + e.len); /* becomes padding */
            continue;
        }
        rc = ext_put_id(pkt, &it, &e, to);
        if (rc < 0)
            return rc;
        kept++;
    }
    return rc < 0 ? rc : kept;
}

/* ---- building ---- */

static int ext_block_size(const struct rtp_hdr *h, int *two_byte)
{
    size_t n = 0;
    int two = 0;
    for (size_t i = 0; i < h->n_ext; i++) {
        const struct rtp_ext_elem *x = &h->ext[i];
        if (x->id == 0)
            return -EINVAL;
        if (x->id >= 15 || x->len == 0 || x->len > 16)
            two = 1;
    }
    for (size_t i = 0; i < h->n_ext; i++)
        n += (two ? 2u : 1u) + h->ext[i].len;
    n = (n + 3) & ~(size_t)3;
    if (n / 4 > 0xffff)
        return -EINVAL;
    *two_byte = two;
    return (int)n;
}

int rtp_write_header(uint8_t *buf, size_t cap, const struct rtp_hdr *h)
{
    int two = 0;
    int elen = 0;
    if (h->n_ext) {
        elen = ext_block_size(h, &two);
        if (elen < 0)
            return elen;
    }
    size_t hlen = RTP_HEADER_MIN + (h->n_ext ? 4u + (size_t)elen : 0u);
    if (!buf || cap < hlen)
        return -ENOBUFS;
    buf[0] = (uint8_t)(0x80 | (h->n_ext ? 0x10 : 0));
    buf[1] = (uint8_t)((h->marker ? 0x80 : 0) | (h->pt & 0x7f));
    rtp_set_seq(buf, h->seq);
    rtp_set_ts(buf, h->ts);
    rtp_set_ssrc(buf, h->ssrc);
    if (!h->n_ext)
        return (int)hlen;
    wr16(buf + 12, two ? 0x1000 : 0xBEDE);
    wr16(buf + 14, (uint16_t)(elen / 4));
    size_t o = 16;
    for (size_t i = 0; i < h->n_ext; i++) {
        const struct rtp_ext_elem *x = &h->ext[i];
        if (two) {
            buf[o++] = x->id;
            buf[o++] = x->len;
        } else {
            buf[o++] = (uint8_t)((x->id << 4) | (x->len - 1));
        }
        if (x->len)
            memcpy(buf + o, x->data, x->len);
        o += x->len;
    }
    memset(buf + o, 0, hlen - o);
    return (int)hlen;
}

int rtp_build(uint8_t *buf, size_t cap, const struct rtp_hdr *h,
              const uint8_t *payload, size_t payload_len)
{
    int hl = rtp_write_header(buf, cap, h);
    if (hl < 0)
        return hl;
    if (payload_len > cap - (size_t)hl || (size_t)hl + payload_len > 0x7fffffff)
        return -ENOBUFS;
    if (payload_len)
        memcpy(buf + hl, payload, payload_len);
    return hl + (int)payload_len;
}

int rtp_rtx_wrap(uint8_t *out, size_t cap, const struct rtp_view *orig,
                 uint8_t rtx_pt, uint16_t rtx_seq, uint32_t rtx_ssrc)
{
    size_t hl = orig->payload_off;
    size_t total = hl + 2 + orig->payload_len;
    if (!out || cap < total)
        return -ENOBUFS;
    memcpy(out, orig->pkt, hl);
    out[0] &= (uint8_t)~0x20; /* no padding in the RTX packet */
    rtp_set_pt(out, rtx_pt);
    rtp_set_seq(out, rtx_seq);
    rtp_set_ssrc(out, rtx_ssrc);
    wr16(out + hl, orig->seq);
    memcpy(out + hl + 2, orig->pkt + hl, orig->payload_len);
    return (int)total;
}

int rtp_rtx_unwrap(uint8_t *pkt, size_t len, uint8_t orig_pt, uint32_t orig_ssrc)
{
    struct rtp_view v;
    int rc = rtp_parse(&v, pkt, len);
    if (rc < 0)
        return rc;
    if (v.payload_len == 0)
        return -ENODATA;
    if (v.payload_len < 2)
        return -EBADMSG;
    uint16_t osn = rd16(pkt + v.payload_off);
    memmove(pkt + v.payload_off, pkt + v.payload_off + 2, v.payload_len - 2);
    pkt[0] &= (uint8_t)~0x20;
    rtp_set_pt(pkt, orig_pt);
    rtp_set_seq(pkt, osn);
    rtp_set_ssrc(pkt, orig_ssrc);
    return (int)(v.payload_off + v.payload_len - 2);
}

/* ---- VP8 (RFC 7741 4.2 descriptor, 4.3 payload header; RFC 6386 9.1 key frame) ----
 *        0 1 2 3 4 5 6 7
 *       +-+-+-+-+-+-+-+-+
 *       |X|R|N|S|R| PID | (REQUIRED)
 *  X:   |I|L|T|K| RSV   | (OPTIONAL)
 *  I:   |M| PictureID   | (OPTIONAL, 15 bits when M)
 *  L:   |   TL0PICIDX   | (OPTIONAL)
 *  T/K: |TID|Y| KEYIDX  | (OPTIONAL)
 * then the VP8 payload; its first byte |Size0|H| VER |P| has P = 0 on key frames.
 */
static int vp8_ext_fields(const uint8_t *p, size_t len, size_t *o, struct rtp_vp8 *d)
{
    if (*o >= len)
        return -EBADMSG;
    uint8_t x = p[(*o)++];
    if (x & 0x80) { /* I */
        if (*o >= len)
            return -EBADMSG;
        d->has_picid = 1;
        d->picid_off = *o;
        if (p[*o] & 0x80) {
            if (*o + 2 > len)
                return -EBADMSG;
            d->picid_bits = 15;
            d->picid = (uint16_t)(rd16(p + *o) & 0x7fff);
            *o += 2;
        } else {
            d->picid_bits = 7;
            d->picid = p[(*o)++] & 0x7f;
        }
    }
    if (x & 0x40) { /* L */
        if (*o >= len)
            return -EBADMSG;
        d->has_tl0 = 1;
        d->tl0_off = *o;
        d->tl0picidx = p[(*o)++];
    }
    if (x & 0x30) { /* T or K share one byte */
        if (*o >= len)
            return -EBADMSG;
        d->tk_off = *o;
        uint8_t b = p[(*o)++];
        if (x & 0x20) {
            d->has_tid = 1;
            d->tid = b >> 6;
            d->layer_sync = (b >> 5) & 1;
        }
        if (x & 0x10) {
            d->has_keyidx = 1;
            d->keyidx = b & 0x1f;
        }
    }
    return 0;
}

int rtp_vp8_parse(const uint8_t *payload, size_t len, struct rtp_vp8 *d)
{
    memset(d, 0, sizeof(*d));
    if (!payload || len < 1)
        return -EBADMSG;
    uint8_t b0 = payload[0];
    d->non_ref = (b0 >> 5) & 1;
    d->start = (b0 >> 4) & 1;
    d->pid = b0 & 0x07;
    size_t o = 1;
    if (b0 & 0x80) {
        int rc = vp8_ext_fields(payload, len, &o, d);
        if (rc < 0)
            return rc;
    }
    if (o >= len)
        return -EBADMSG;
    d->desc_len = o;
    if (d->start && d->pid == 0 && (payload[o] & 0x01) == 0) {
        d->keyframe = 1;
        /* 3-byte frame tag, start code 9d 01 2a, 14-bit width and height (+2 scale bits) */
        if (len - o >= 10 && payload[o + 3] == 0x9d && payload[o + 4] == 0x01 &&
            payload[o + 5] == 0x2a) {
            d->width = (uint16_t)((payload[o + 6] | (payload[o + 7] << 8)) & 0x3fff);
            d->height = (uint16_t)((payload[o + 8] | (payload[o + 9] << 8)) & 0x3fff);
        }
    }
    return 0;
}

/* ---- H.264 (RFC 6184 5.2 payload structures) ---- */
static int h264_key_nal(uint8_t nal_type)
{
    return nal_type == 5 || nal_type == 7;
}

/* STAP-A / STAP-B: (16-bit size, NAL unit)* after `skip` header bytes. */
static int h264_stap(const uint8_t *p, size_t len, size_t skip)
{
    size_t o = skip;
    int key = 0;
    if (o > len)
        return -EBADMSG;
    while (o < len) {
        if (o + 2 > len)
            return -EBADMSG;
        size_t n = rd16(p + o);
        o += 2;
        if (n == 0 || n > len - o)
            return -EBADMSG;
        if (h264_key_nal(p[o] & 0x1f))
            key = 1;
        o += n;
    }
    return key;
}

int rtp_h264_is_keyframe(const uint8_t *payload, size_t len)
{
    if (!payload || len < 1)
        return -EBADMSG;
    uint8_t type = payload[0] & 0x1f;
    switch (type) {
    case 24: /* STAP-A */
        return h264_stap(payload, len, 1);
    case 25: /* STAP-B: 16-bit DON first */
        return h264_stap(payload, len, 3);
    case 28: /* FU-A */
    case 29: /* FU-B */
        if (len < 2)
            return -EBADMSG;
        return (payload[1] & 0x80) && h264_key_nal(payload[1] & 0x1f);
    default:
        return (type >= 1 && type <= 23) ? h264_key_nal(type) : 0;
    }
}
