/*
 * rtp.h - RTP packet views and in-place rewriting (RFC 3550, RFC 8285, RFC 7983,
 * RFC 4588 RTX, RFC 7741 VP8 descriptor, RFC 6184 H.264 keyframes).
 *
 * Everything here is pure: no I/O, no clock, no allocation, no locks. It is meant for
 * the per-packet forwarding path:
 *
 *   rtp_demux(buf)            -> RTP?  (after SRTP unprotect, in place)
 *   rtp_parse(&v, buf, len)   -> a view: numbers decoded, offsets into buf, nothing copied
 *   for each subscriber:
 *     memcpy(scratch, buf, len)                  the only copy per subscriber
 *     rtp_set_seq/ts/ssrc(scratch, ...)          header fields are at fixed offsets
 *     rtp_ext_remap(scratch, &v, map)            offsets in the view are valid in any copy
 *     rtp_ext_set_u16(scratch, &v, twcc_id, n)   transport-wide seq of this subscriber
 *
 * A view borrows the bytes it was parsed from (v->pkt) and never owns them. Because the
 * view stores offsets, the writers take the buffer to write into (`pkt`) separately:
 * it may be the parsed buffer itself (cast away const if you own it) or a same-length
 * copy of it.
 *
 * Errors are negative errno values: -EBADMSG malformed bytes, -EPROTONOSUPPORT RTP
 * version is not 2, -ENOBUFS caller buffer too small, -ENOENT not found, -EINVAL bad
 * argument, -ENODATA nothing to use (e.g. a padding-only RTX packet).
 */
#ifndef VM_SFU_RTP_H
#define VM_SFU_RTP_H

#include <stddef.h>
#include <stdint.h>

#include "sfu/bytes.h" /* wr16 / wr32 for the in-place writers */

#define RTP_HEADER_MIN 12u        /* fixed header without CSRCs */
#define RTP_MAX_PACKET 1500u      /* largest packet the SFU handles (one MTU) */

/* ---- first-byte demultiplexing (RFC 7983, RFC 5761) ---- */
enum rtp_kind {
    RTP_KIND_UNKNOWN = 0, /* ZRTP, TURN channel, empty, or nothing we speak */
    RTP_KIND_STUN,
    RTP_KIND_DTLS,
    RTP_KIND_RTP,
    RTP_KIND_RTCP,
};

/* Classify one datagram received on an ICE component by its first byte (and, for
 * RTP/RTCP, its second byte). Never reads beyond len. */
enum rtp_kind rtp_demux(const uint8_t *buf, size_t len);

/* ---- parsed view of one RTP packet ---- */
struct rtp_view {
    const uint8_t *pkt;   /* borrowed: the parsed bytes (not owned, not copied) */
    size_t len;           /* total length, padding included */
    uint8_t padding;      /* P bit */
    uint8_t extension;    /* X bit */
    uint8_t cc;           /* CSRC count */
    uint8_t marker;       /* M bit */
    uint8_t pt;           /* payload type, 0..127 */
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    uint16_t ext_profile; /* 0xBEDE (one-byte), 0x100X (two-byte), other, or 0 if no X */
    size_t ext_off;       /* offset of the first element byte (after the 4-byte ext header) */
    size_t ext_len;       /* bytes of extension elements (the length field * 4) */
    size_t payload_off;   /* = header length: 12 + 4*cc + (X ? 4 + ext_len : 0) */
    size_t payload_len;   /* payload bytes, padding excluded */
    uint8_t pad_len;      /* trailing padding bytes (0 when P is clear) */
};

/* Parse len bytes at buf into *v. Checks: at least 12 bytes (-EBADMSG), version 2
 * (-EPROTONOSUPPORT), CSRC list and extension inside the packet, padding count
 * 1..payload (-EBADMSG). Extension elements are checked lazily by the functions below.
 * On error *v is left in an unspecified state. buf stays borrowed by *v. */
int rtp_parse(struct rtp_view *v, const uint8_t *buf, size_t len);

/* CSRC i (0 <= i < v->cc) of a parsed packet. */
uint32_t rtp_csrc(const struct rtp_view *v, unsigned i);

/* Payload pointer of a parsed packet (inside v->pkt). */
static inline const uint8_t *rtp_payload(const struct rtp_view *v)
{
    return v->pkt + v->payload_off;
}

/* ---- header extension elements (RFC 8285) ---- */
struct rtp_ext {
    uint8_t id;   /* 1..14 (one-byte form) or 1..255 (two-byte form) */
    uint8_t len;  /* data bytes: 1..16 (one-byte form) or 0..255 (two-byte form) */
    size_t off;   /* offset of the data bytes in the packet */
};

struct rtp_ext_iter {
    size_t pos;       /* next byte to read (packet offset) */
    size_t end;       /* end of the extension block */
    uint8_t two_byte; /* 1 = 0x100X profile, 0 = 0xBEDE, 2 = unknown profile (no elements) */
};

/* Iterate the elements of the packet's extension block. Padding bytes (ID 0) are
 * skipped; a one-byte ID 15 ends the block (RFC 8285 4.2). rtp_ext_next returns 1 and
 * fills *out, 0 at the end (also when the packet has no or an unknown-profile
 * extension), or -EBADMSG when an element runs past the block. */
void rtp_ext_iter_init(const struct rtp_view *v, struct rtp_ext_iter *it);
int rtp_ext_next(const struct rtp_view *v, struct rtp_ext_iter *it, struct rtp_ext *out);

/* First element with this id: 0 and *out filled, -ENOENT, or -EBADMSG. */
int rtp_ext_find(const struct rtp_view *v, uint8_t id, struct rtp_ext *out);

/* Read the first two data bytes of element id as a big-endian number (e.g. the
 * transport-wide-cc sequence number). -ENOENT / -EBADMSG / -EINVAL (shorter than 2). */
int rtp_ext_get_u16(const struct rtp_view *v, uint8_t id, uint16_t *val);

/* ---- in-place writers; pkt holds the same bytes v was parsed from (or a copy) ---- */
static inline void rtp_set_seq(uint8_t *pkt, uint16_t seq)
{
    wr16(pkt + 2, seq);
}
static inline void rtp_set_ts(uint8_t *pkt, uint32_t ts)
{
    wr32(pkt + 4, ts);
}
static inline void rtp_set_ssrc(uint8_t *pkt, uint32_t ssrc)
{
    wr32(pkt + 8, ssrc);
}
/* Payload type (0..127); the marker bit is kept. */
static inline void rtp_set_pt(uint8_t *pkt, uint8_t pt)
{
    pkt[1] = (uint8_t)((pkt[1] & 0x80) | (pt & 0x7f));
}
static inline void rtp_set_marker(uint8_t *pkt, int marker)
{
    pkt[1] = (uint8_t)((pkt[1] & 0x7f) | (marker ? 0x80 : 0));
}

/* Overwrite the data of element id with len bytes; len must equal the element's
 * length (-EINVAL otherwise). -ENOENT / -EBADMSG as rtp_ext_find. */
int rtp_ext_write(uint8_t *pkt, const struct rtp_view *v, uint8_t id,
                  const uint8_t *data, size_t len);

/* Write val big-endian into the first two data bytes of element id (len >= 2). */
int rtp_ext_set_u16(uint8_t *pkt, const struct rtp_view *v, uint8_t id, uint16_t val);

/* Change the id of element old_id to new_id (1..14 in the one-byte form, 1..255 in the
 * two-byte form; -EINVAL otherwise). */
int rtp_ext_set_id(uint8_t *pkt, const struct rtp_view *v, uint8_t old_id, uint8_t new_id);

/* Rewrite every element's id through map (map[old] = new id): the translation from a
 * publisher's negotiated ids to a subscriber's. map[old] == 0 blanks the element (its
 * header and data become padding bytes, which receivers skip). One pass, no length
 * change. Returns the number of elements kept, or -EBADMSG / -EINVAL (a mapped id not
 * representable in the packet's form; the packet is then partly rewritten). */
int rtp_ext_remap(uint8_t *pkt, const struct rtp_view *v, const uint8_t map[256]);

/* ---- building ---- */
struct rtp_ext_elem {
    uint8_t id;
    uint8_t len;
    const uint8_t *data; /* borrowed during the call */
};

struct rtp_hdr {
    uint8_t pt;
    uint8_t marker;
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    const struct rtp_ext_elem *ext; /* optional header extension elements (NULL, 0 = none) */
    size_t n_ext;
};

/* Write a version-2 header (no CSRCs) and its extension block into buf. The one-byte
 * form is used when every id is 1..14 and every len 1..16, else the two-byte form.
 * Returns the header length, -ENOBUFS, or -EINVAL (id 0, or too much extension data). */
int rtp_write_header(uint8_t *buf, size_t cap, const struct rtp_hdr *h);

/* Header + payload. Returns the packet length or a negative error. */
int rtp_build(uint8_t *buf, size_t cap, const struct rtp_hdr *h,
              const uint8_t *payload, size_t payload_len);

/* RFC 4588: build into out the RTX packet for the original packet *orig: the original
 * header (CSRCs and extensions kept, P bit cleared) with rtx_pt/rtx_seq/rtx_ssrc, then
 * the original sequence number (2 bytes), then the original payload without padding.
 * Returns the length or -ENOBUFS. out must not overlap orig->pkt. */
int rtp_rtx_wrap(uint8_t *out, size_t cap, const struct rtp_view *orig,
                 uint8_t rtx_pt, uint16_t rtx_seq, uint32_t rtx_ssrc);

/* Reverse of rtp_rtx_wrap, in place on a received RTX packet of len bytes: restores
 * seq (from the OSN), pt and ssrc and drops the OSN and any padding. Returns the new
 * length, -ENODATA for a padding-only RTX packet (bandwidth probe), or a parse error. */
int rtp_rtx_unwrap(uint8_t *pkt, size_t len, uint8_t orig_pt, uint32_t orig_ssrc);

/* ---- codec payloads ---- */
/* VP8 payload descriptor (RFC 7741 4.2) and the first byte(s) of the VP8 payload. */
struct rtp_vp8 {
    uint8_t start;        /* S: first packet of a partition */
    uint8_t pid;          /* partition index */
    uint8_t non_ref;      /* N: frame not used as reference */
    uint8_t keyframe;     /* S, PID 0 and the VP8 payload header's P bit == 0 */
    uint8_t has_picid;
    uint8_t picid_bits;   /* 7 or 15 (0 without picture id) */
    uint16_t picid;
    size_t picid_off;     /* offset of the picture id in the payload (for rewriting) */
    uint8_t has_tl0;
    uint8_t tl0picidx;
    size_t tl0_off;       /* offset of TL0PICIDX in the payload */
    uint8_t has_tid;      /* T present */
    uint8_t tid;
    uint8_t layer_sync;   /* Y */
    uint8_t has_keyidx;   /* K present */
    uint8_t keyidx;
    size_t tk_off;        /* offset of the TID|Y|KEYIDX byte when T or K (for rewriting) */
    size_t desc_len;      /* descriptor bytes; the VP8 payload starts here */
    uint16_t width, height; /* from the keyframe header when keyframe and present, else 0 */
};

/* Parse the descriptor at the start of an RTP payload. 0 or -EBADMSG (truncated, or no
 * VP8 payload byte after the descriptor). */
int rtp_vp8_parse(const uint8_t *payload, size_t len, struct rtp_vp8 *out);

/* H.264 (RFC 6184): 1 when the payload starts a keyframe (an IDR slice, NAL type 5, or
 * an SPS, type 7: as a single NAL unit, inside a STAP-A/STAP-B, or as the start fragment
 * of an FU-A/FU-B), 0 when not, -EBADMSG when truncated. */
int rtp_h264_is_keyframe(const uint8_t *payload, size_t len);

/* ---- sequence number arithmetic ---- */
/* Extend seq to 32 bits as the value nearest to ref (an extended seq): used for
 * wrap-around (65535 -> 0) on every path that compares sequence numbers. */
static inline uint32_t rtp_seq_unwrap(uint32_t ref, uint16_t seq)
{
    uint16_t d = (uint16_t)(seq - (uint16_t)ref);
    return d < 0x8000u ? ref + d : ref - (uint32_t)(0x10000u - d);
}

#endif /* VM_SFU_RTP_H */
