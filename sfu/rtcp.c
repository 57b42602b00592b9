/*
 * rtcp.c - RTCP compound parsing, typed views, builders and RFC 3550 receiver statistics.
 * See rtcp.h for the API.
 *
 * Design: rtcp_iter_next checks the common header (version, length inside the buffer,
 * padding count) and then the structure of the one packet it returns (report blocks,
 * SDES chunks, BYE reason, feedback FCI, REMB SSRC list, transport-cc chunks and deltas)
 * so that later accessors are plain reads with no error path. Nothing is copied: lists
 * stay in the buffer. Builders write big-endian fields straight into the caller buffer
 * after one length check. The transport-cc builder derives every status symbol and
 * delta from the arrival array on the fly, so it needs no scratch memory.
 */
#include "sfu/rtcp.h"

#include <errno.h>
#include <string.h>

#include "sfu/bytes.h"
#include "sfu/rtp.h" /* rtp_seq_unwrap */

static inline int32_t sext24(uint32_t v)
{
    return (v & 0x800000u) ? (int32_t)v - 0x1000000 : (int32_t)v;
}

/* Common header, RFC 3550 6.4.1:
 * |V=2|P|  RC/FMT |      PT       |             length (words - 1)  | */
static void put_hdr(uint8_t *b, int padding, uint8_t count, uint8_t pt, size_t total)
{
    b[0] = (uint8_t)(0x80 | (padding ? 0x20 : 0) | (count & 0x1f));
    b[1] = pt;
    wr16(b + 2, (uint16_t)(total / 4 - 1));
}

/* ---- typed parsing ---- */

/* Offset of the first report block in an SR/RR packet. */
static size_t rb_base(const struct rtcp_pkt *p)
{
    return p->pt == RTCP_PT_SR ? 28 : 8;
}

static int parse_sr_rr(struct rtcp_pkt *p)
{
    const uint8_t *d = p->data;
    size_t fixed = p->pt == RTCP_PT_SR ? 24 : 4;
    if (p->body_len < fixed + 24u * p->count)
        return -EBADMSG;
    p->ssrc = rd32(d + 4);
    if (p->pt == RTCP_PT_SR) {
        p->kind = RTCP_K_SR;
        p->u.sr.info.ssrc = p->ssrc;
        p->u.sr.info.ntp = ((uint64_t)rd32(d + 8) << 32) | rd32(d + 12);
        p->u.sr.info.rtp_ts = rd32(d + 16);
        p->u.sr.info.packets = rd32(d + 20);
        p->u.sr.info.octets = rd32(d + 24);
    } else {
        p->kind = RTCP_K_RR;
    }
    return 0;
}

/* Walk SDES chunks: SSRC, items (type, len, text) up to an END (0) item, then zero
 * padding to the next 32-bit boundary. Returns 0 if every chunk is inside the body. */
static int parse_sdes(struct rtcp_pkt *p)
{
    const uint8_t *d = p->data;
    size_t pos = 4, end = 4 + p->body_len;
    for (unsigned c = 0; c < p->count; c++) {
        if (pos + 4 > end)
            return -EBADMSG;
        if (c == 0)
            p->ssrc = rd32(d + pos);
        pos += 4;
        for (;;) {
            if (pos >= end)
                return -EBADMSG;
            if (d[pos] == 0) {
                pos = (pos + 4) & ~(size_t)3; /* END item + padding */
                break;
            }
            if (pos + 2 > end || d[pos + 1] > end - pos - 2)
                return -EBADMSG;
            pos += 2u + d[pos + 1];
        }
        if (pos > end)
            return -EBADMSG;
    }
    p->kind = RTCP_K_SDES;
    return 0;
}

static int parse_bye(struct rtcp_pkt *p)
{
    size_t ids = 4u * p->count;
    if (p->body_len < ids)
        return -EBADMSG;
    p->kind = RTCP_K_BYE;
    p->u.bye.n_ssrcs = p->count;
    p->u.bye.reason = NULL;
    p->u.bye.reason_len = 0;
    if (p->count)
        p->ssrc = rd32(p->data + 4);
    if (p->body_len > ids) {
        const uint8_t *r = p->data + 4 + ids;
        if ((size_t)1 + r[0] > p->body_len - ids)
            return -EBADMSG;
        p->u.bye.reason = r + 1;
        p->u.bye.reason_len = r[0];
    }
    return 0;
}

/* Count the statuses of one chunk (up to `left`) and the delta bytes they need. */
static int twcc_chunk_scan(uint16_t c, unsigned left, unsigned *used, size_t *delta_bytes)
{
    if (!(c & 0x8000)) { /* run length: |0|S S|  run length (13)  | */
        unsigned sym = (c >> 13) & 3, run = c & 0x1fff;
        if (sym == 3 || run == 0)
            return -EBADMSG;
        *used = run < left ? run : left;
        *delta_bytes += (size_t)*used * sym;
        return 0;
    }
    int two = (c & 0x4000) != 0; /* |1|S| symbol list (14 x 1 bit or 7 x 2 bits) | */
    unsigned cap = two ? 7 : 14;
    *used = cap < left ? cap : left;
    for (unsigned k = 0; k < *used; k++) {
        unsigned sym = two ? (c >> (12 - 2 * k)) & 3 : (c >> (13 - k)) & 1;
        if (sym == 3)
            return -EBADMSG;
        *delta_bytes += sym;
    }
    return 0;
}

/* draft-holmer-rmcat-transport-wide-cc-extensions-01 section 3.1:
 * | base sequence number | packet status count | reference time (24) | fb pkt count |
 * | packet chunk ... | recv delta ... | zero padding | */
static int parse_twcc(struct rtcp_pkt *p, const uint8_t *fci, size_t fci_len)
{
    struct rtcp_twcc *t = &p->u.twcc;
    if (fci_len < 8)
        return -EBADMSG;
    t->base_seq = rd16(fci);
    t->status_count = rd16(fci + 2);
    t->ref_time = sext24(rd24(fci + 4));
    t->fb_count = fci[7];
    if (t->status_count == 0)
        return -EBADMSG;
    size_t pos = 8, delta_bytes = 0;
    unsigned left = t->status_count;
    while (left > 0) {
        unsigned used;
        if (pos + 2 > fci_len)
            return -EBADMSG;
        if (twcc_chunk_scan(rd16(fci + pos), left, &used, &delta_bytes) < 0)
            return -EBADMSG;
        left -= used;
        pos += 2;
    }
    if (delta_bytes > fci_len - pos)
        return -EBADMSG;
    t->chunks = fci + 8;
    t->n_chunks = (pos - 8) / 2;
    t->deltas = fci + pos;
    t->deltas_len = delta_bytes;
    p->kind = RTCP_K_TWCC;
    return 0;
}

/* REMB (draft-alvestrand-rmcat-remb 2.2), in the FCI of a PSFB FMT 15:
 * | 'R' 'E' 'M' 'B' | Num SSRC | BR Exp (6) | BR Mantissa (18) | SSRC feedback ... | */
static int parse_remb(struct rtcp_pkt *p, const uint8_t *fci, size_t fci_len)
{
    if (fci_len < 8 || memcmp(fci, "REMB", 4) != 0)
        return 0; /* some other application feedback: RTCP_K_OTHER */
    unsigned n = fci[4], e = fci[5] >> 2;
    uint64_t m = ((uint64_t)(fci[5] & 3) << 16) | rd16(fci + 6);
    if (fci_len - 8 < 4u * n)
        return -EBADMSG;
    p->kind = RTCP_K_REMB;
    p->u.remb.n_ssrcs = n;
    if (e > 0 && (m >> (64 - e)) != 0)
        p->u.remb.bitrate = UINT64_MAX;
    else
        p->u.remb.bitrate = m << e;
    return 0;
}

/* RFC 4585 6.1 common feedback: | header | sender SSRC | media SSRC | FCI ... | */
static int parse_fb(struct rtcp_pkt *p)
{
    if (p->body_len < 8)
        return -EBADMSG;
    p->ssrc = rd32(p->data + 4);
    p->media_ssrc = rd32(p->data + 8);
    const uint8_t *fci = p->data + 12;
    size_t fci_len = p->body_len - 8;
    if (p->pt == RTCP_PT_RTPFB) {
        if (p->count == RTCP_FMT_NACK) {
            p->kind = RTCP_K_NACK;
            p->u.nack.n_items = (unsigned)(fci_len / 4);
            return 0;
        }
        if (p->count == RTCP_FMT_TWCC)
            return parse_twcc(p, fci, fci_len);
        return 0;
    }
    switch (p->count) {
    case RTCP_FMT_PLI:
        p->kind = RTCP_K_PLI;
        return 0;
    case RTCP_FMT_FIR:
        p->kind = RTCP_K_FIR;
        p->u.fir.n_entries = (unsigned)(fci_len / 8);
        return 0;
    case RTCP_FMT_AFB:
        return parse_remb(p, fci, fci_len);
    default:
        return 0;
    }
}

static int parse_typed(struct rtcp_pkt *p)
{
    switch (p->pt) {
    case RTCP_PT_SR:
    case RTCP_PT_RR:
        return parse_sr_rr(p);
    case RTCP_PT_SDES:
        return parse_sdes(p);
    case RTCP_PT_BYE:
        return parse_bye(p);
    case RTCP_PT_RTPFB:
    case RTCP_PT_PSFB:
        return parse_fb(p);
    default:
        return 0;
    }
}

void rtcp_iter_init(struct rtcp_iter *it, const uint8_t *buf, size_t len)
{
    it->buf = buf;
    it->len = buf ? len : 0;
    it->off = 0;
}

int rtcp_iter_next(struct rtcp_iter *it, struct rtcp_pkt *p)
{
    if (it->off >= it->len)
        return 0;
    const uint8_t *d = it->buf + it->off;
    size_t rem = it->len - it->off;
    int rc = -EBADMSG;
    memset(p, 0, sizeof(*p));
    if (rem < 4)
        goto fail;
    if ((d[0] >> 6) != 2) {
        rc = -EPROTONOSUPPORT;
        goto fail;
    }
    size_t total = 4u * ((size_t)rd16(d + 2) + 1);
    if (total > rem)
        goto fail;
    p->kind = RTCP_K_OTHER;
    p->pt = d[1];
    p->count = d[0] & 0x1f;
    p->off = it->off;
    p->len = total;
    p->data = d;
    p->body_len = total - 4;
    if (d[0] & 0x20) {
        uint8_t pad = d[total - 1];
        if (pad == 0 || pad > p->body_len)
            goto fail;
        p->body_len -= pad;
    }
    rc = parse_typed(p);
    if (rc < 0)
        goto fail;
    it->off += total;
    return 1;
fail:
    it->off = it->len; /* stop: the rest of the compound cannot be trusted */
    return rc;
}

/* ---- accessors ---- */

int rtcp_pkt_report_block(const struct rtcp_pkt *p, unsigned i, struct rtcp_report_block *out)
{
    if ((p->kind != RTCP_K_SR && p->kind != RTCP_K_RR) || i >= p->count)
        return -EINVAL;
    const uint8_t *b = p->data + rb_base(p) + 24u * i;
    out->ssrc = rd32(b);
    out->fraction_lost = b[4];
    out->cum_lost = sext24(rd24(b + 5));
    out->ext_high_seq = rd32(b + 8);
    out->jitter = rd32(b + 12);
    out->lsr = rd32(b + 16);
    out->dlsr = rd32(b + 20);
    return 0;
}

int rtcp_pkt_nack_item(const struct rtcp_pkt *p, unsigned i, struct rtcp_nack_item *out)
{
    if (p->kind != RTCP_K_NACK || i >= p->u.nack.n_items)
        return -EINVAL;
    const uint8_t *b = p->data + 12 + 4u * i;
    out->pid = rd16(b);
    out->blp = rd16(b + 2);
    return 0;
}

int rtcp_pkt_fir_entry(const struct rtcp_pkt *p, unsigned i, uint32_t *ssrc, uint8_t *seq_nr)
{
    if (p->kind != RTCP_K_FIR || i >= p->u.fir.n_entries)
        return -EINVAL;
    const uint8_t *b = p->data + 12 + 8u * i;
    *ssrc = rd32(b);
    *seq_nr = b[4];
    return 0;
}

uint32_t rtcp_pkt_ssrc(const struct rtcp_pkt *p, unsigned i)
{
    if (p->kind == RTCP_K_BYE && i < p->u.bye.n_ssrcs)
        return rd32(p->data + 4 + 4u * i);
    if (p->kind == RTCP_K_REMB && i < p->u.remb.n_ssrcs)
        return rd32(p->data + 20 + 4u * i);
    return 0;
}

void rtcp_sdes_iter_init(const struct rtcp_pkt *p, struct rtcp_sdes_iter *it)
{
    it->p = p->data;
    it->pos = 4;
    it->end = 4 + p->body_len;
    it->chunks_left = p->kind == RTCP_K_SDES ? p->count : 0;
    it->ssrc = 0;
    it->in_chunk = 0;
}

int rtcp_sdes_next(struct rtcp_sdes_iter *it, struct rtcp_sdes_item *out)
{
    for (;;) {
        if (!it->in_chunk) {
            if (it->chunks_left == 0 || it->pos + 4 > it->end)
                return 0;
            it->ssrc = rd32(it->p + it->pos);
            it->pos += 4;
            it->in_chunk = 1;
            it->chunks_left--;
        }
        if (it->pos >= it->end)
            return 0;
        uint8_t type = it->p[it->pos];
        if (type == 0) {
            it->pos = (it->pos + 4) & ~(size_t)3;
            it->in_chunk = 0;
            continue;
        }
        out->ssrc = it->ssrc;
        out->type = type;
        out->len = it->p[it->pos + 1];
        out->text = (const char *)it->p + it->pos + 2;
        it->pos += 2u + out->len;
        return 1;
    }
}

void rtcp_twcc_iter_init(const struct rtcp_twcc *fb, struct rtcp_twcc_iter *it)
{
    it->fb = fb;
    it->chunk = 0;
    it->in_chunk = 0;
    it->delta_pos = 0;
    it->done = 0;
    it->time_us = (int64_t)fb->ref_time * 64000;
}

int rtcp_twcc_next(struct rtcp_twcc_iter *it, struct rtcp_twcc_status *out)
{
    const struct rtcp_twcc *fb = it->fb;
    if (it->done >= fb->status_count || it->chunk >= fb->n_chunks)
        return 0;
    uint16_t c = rd16(fb->chunks + 2 * it->chunk);
    unsigned sym, cap;
    if (!(c & 0x8000)) {
        sym = (c >> 13) & 3;
        cap = c & 0x1fff;
    } else if (c & 0x4000) {
        sym = (c >> (12 - 2 * it->in_chunk)) & 3;
        cap = 7;
    } else {
        sym = (c >> (13 - it->in_chunk)) & 1;
        cap = 14;
    }
    if (++it->in_chunk >= cap) {
        it->chunk++;
        it->in_chunk = 0;
    }
    out->seq = (uint16_t)(fb->base_seq + it->done);
    out->symbol = (uint8_t)sym;
    out->delta = 0;
    out->arrival_us = 0;
    if (sym == RTCP_TWCC_SMALL_DELTA && it->delta_pos < fb->deltas_len) {
        out->delta = fb->deltas[it->delta_pos++];
    } else if (sym == RTCP_TWCC_LARGE_DELTA && it->delta_pos + 2 <= fb->deltas_len) {
        out->delta = (int16_t)rd16(fb->deltas + it->delta_pos);
        it->delta_pos += 2;
    }
    if (sym != RTCP_TWCC_NOT_RECEIVED) {
        it->time_us += (int64_t)out->delta * 250;
        out->arrival_us = it->time_us;
    }
    it->done++;
    return 1;
}

/* ---- builders ---- */

static void put_report_block(uint8_t *b, const struct rtcp_report_block *rb)
{
    int32_t lost = rb->cum_lost;
    if (lost > 0x7fffff)
        lost = 0x7fffff;
    if (lost < -0x800000)
        lost = -0x800000;
    wr32(b, rb->ssrc);
    b[4] = rb->fraction_lost;
    wr24(b + 5, (uint32_t)lost & 0xffffffu);
    wr32(b + 8, rb->ext_high_seq);
    wr32(b + 12, rb->jitter);
    wr32(b + 16, rb->lsr);
    wr32(b + 20, rb->dlsr);
}

int rtcp_build_sr(uint8_t *buf, size_t cap, const struct rtcp_sr_info *sr,
                  const struct rtcp_report_block *rb, unsigned n_rb)
{
    size_t total = 28 + 24u * n_rb;
    if (n_rb > 31)
        return -EINVAL;
    if (!buf || cap < total)
        return -ENOBUFS;
    put_hdr(buf, 0, (uint8_t)n_rb, RTCP_PT_SR, total);
    wr32(buf + 4, sr->ssrc);
    wr32(buf + 8, (uint32_t)(sr->ntp >> 32));
    wr32(buf + 12, (uint32_t)sr->ntp);
    wr32(buf + 16, sr->rtp_ts);
    wr32(buf + 20, sr->packets);
    wr32(buf + 24, sr->octets);
    for (unsigned i = 0; i < n_rb; i++)
        put_report_block(buf + 28 + 24 * i, &rb[i]);
    return (int)total;
}

int rtcp_build_rr(uint8_t *buf, size_t cap, uint32_t ssrc,
                  const struct rtcp_report_block *rb, unsigned n_rb)
{
    size_t total = 8 + 24u * n_rb;
    if (n_rb > 31)
        return -EINVAL;
    if (!buf || cap < total)
        return -ENOBUFS;
    put_hdr(buf, 0, (uint8_t)n_rb, RTCP_PT_RR, total);
    wr32(buf + 4, ssrc);
    for (unsigned i = 0; i < n_rb; i++)
        put_report_block(buf + 8 + 24 * i, &rb[i]);
    return (int)total;
}

int rtcp_build_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc, const char *cname, size_t len)
{
    if (len > 255 || (len && !cname))
        return -EINVAL;
    /* header, SSRC, CNAME item (2 + len), END item, zero padding to 32 bits */
    size_t total = 8 + ((2 + len + 1 + 3) & ~(size_t)3);
    if (!buf || cap < total)
        return -ENOBUFS;
    put_hdr(buf, 0, 1, RTCP_PT_SDES, total);
    wr32(buf + 4, ssrc);
    buf[8] = 1; /* CNAME */
    buf[9] = (uint8_t)len;
    if (len)
        memcpy(buf + 10, cname, len);
    memset(buf + 10 + len, 0, total - 10 - len);
    return (int)total;
}

int rtcp_build_bye(uint8_t *buf, size_t cap, const uint32_t *ssrcs, unsigned n,
                   const char *reason, size_t reason_len)
{
    if (n > 31 || reason_len > 255 || (reason_len && !reason))
        return -EINVAL;
    size_t rlen = reason_len ? ((1 + reason_len + 3) & ~(size_t)3) : 0;
    size_t total = 4 + 4u * n + rlen;
    if (!buf || cap < total)
        return -ENOBUFS;
    put_hdr(buf, 0, (uint8_t)n, RTCP_PT_BYE, total);
    for (unsigned i = 0; i < n; i++)
        wr32(buf + 4 + 4 * i, ssrcs[i]);
    if (rlen) {
        uint8_t *r = buf + 4 + 4u * n;
        memset(r, 0, rlen);
        r[0] = (uint8_t)reason_len;
        memcpy(r + 1, reason, reason_len);
    }
    return (int)total;
}

static int build_fb(uint8_t *buf, size_t cap, uint8_t pt, uint8_t fmt, uint32_t sender,
                    uint32_t media, size_t fci_len)
{
    size_t total = 12 + fci_len;
    if (!buf || cap < total || total > 4u * 65536)
        return -ENOBUFS;
    put_hdr(buf, 0, fmt, pt, total);
    wr32(buf + 4, sender);
    wr32(buf + 8, media);
    return (int)total;
}

int rtcp_build_pli(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc)
{
    return build_fb(buf, cap, RTCP_PT_PSFB, RTCP_FMT_PLI, sender_ssrc, media_ssrc, 0);
}

/* RFC 5104 4.3.1: media source SSRC is 0; FCI = | SSRC | seq nr | reserved (24) | */
int rtcp_build_fir(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                   uint8_t seq_nr)
{
    int n = build_fb(buf, cap, RTCP_PT_PSFB, RTCP_FMT_FIR, sender_ssrc, 0, 8);
    if (n < 0)
        return n;
    wr32(buf + 12, media_ssrc);
    buf[16] = seq_nr;
    wr24(buf + 17, 0);
    return n;
}

int rtcp_build_nack(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                    const struct rtcp_nack_item *items, size_t n)
{
    if (n > 16000)
        return -EINVAL;
    int len = build_fb(buf, cap, RTCP_PT_RTPFB, RTCP_FMT_NACK, sender_ssrc, media_ssrc, 4 * n);
    if (len < 0)
        return len;
    for (size_t i = 0; i < n; i++) {
        wr16(buf + 12 + 4 * i, items[i].pid);
        wr16(buf + 14 + 4 * i, items[i].blp);
    }
    return len;
}

int rtcp_build_remb(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint64_t bitrate,
                    const uint32_t *ssrcs, unsigned n)
{
    if (n > 255)
        return -EINVAL;
    int len = build_fb(buf, cap, RTCP_PT_PSFB, RTCP_FMT_AFB, sender_ssrc, 0, 8 + 4u * n);
    if (len < 0)
        return len;
    unsigned e = 0;
    while ((bitrate >> e) >= (1u << 18))
        e++;
    uint32_t m = (uint32_t)(bitrate >> e);
    memcpy(buf + 12, "REMB", 4);
    buf[16] = (uint8_t)n;
    buf[17] = (uint8_t)((e << 2) | (m >> 16));
    wr16(buf + 18, (uint16_t)m);
    for (unsigned i = 0; i < n; i++)
        wr32(buf + 20 + 4 * i, ssrcs[i]);
    return len;
}

/* ---- transport-cc builder ----
 * The arrivals arr[0..k) define the statuses: index j (0..status_count) is received iff
 * some arrival has seq base + j. Its delta class (1 = one byte, 2 = two bytes) follows
 * from the quantized arrival times (250 us ticks), so nothing is stored. */
struct twcc_enc {
    const struct rtcp_twcc_arrival *arr;
    size_t k;
    uint16_t base;
    int64_t ref_ticks; /* reference time in 250 us ticks (ref * 256) */
};

static unsigned enc_ofs(const struct twcc_enc *e, size_t i)
{
    return (uint16_t)(e->arr[i].seq - e->base);
}

static int64_t enc_delta(const struct twcc_enc *e, size_t i)
{
    int64_t t = e->arr[i].arrival_us / 250;
    return t - (i ? e->arr[i - 1].arrival_us / 250 : e->ref_ticks);
}

static unsigned enc_class(const struct twcc_enc *e, size_t i)
{
    int64_t d = enc_delta(e, i);
    return (d >= 0 && d <= 255) ? 1 : 2;
}

/* Symbol at status index j, with *a the first arrival whose offset is >= j. */
static unsigned enc_sym(const struct twcc_enc *e, size_t a, unsigned j)
{
    return (a < e->k && enc_ofs(e, a) == j) ? enc_class(e, a) : 0;
}

/* Length of the run of equal symbols starting at j (at most `max`). */
static unsigned enc_run(const struct twcc_enc *e, size_t a, unsigned j, unsigned max)
{
    unsigned s0 = enc_sym(e, a, j), r = 0;
    if (s0 == 0) {
        unsigned next = a < e->k ? enc_ofs(e, a) : j + max;
        r = next - j;
    } else {
        while (a < e->k && enc_ofs(e, a) == j + r && enc_class(e, a) == s0 && r < max) {
            a++;
            r++;
        }
    }
    return r < max ? r : max;
}

/* Encode one chunk at status index *j; advances *j and *a. */
static uint16_t enc_chunk(const struct twcc_enc *e, size_t *a, unsigned *j, unsigned count)
{
    unsigned left = count - *j;
    unsigned max_run = left < 0x1fff ? left : 0x1fff;
    unsigned run = enc_run(e, *a, *j, max_run);
    unsigned n14 = left < 14 ? left : 14, n7 = left < 7 ? left : 7;
    unsigned sym0 = enc_sym(e, *a, *j);
    int one_bit = 1;
    size_t b = *a;
    for (unsigned t = 0; t < n14; t++) {
        unsigned s = enc_sym(e, b, *j + t);
        if (s)
            b++;
        if (s > 1)
            one_bit = 0;
    }
    uint16_t c;
    unsigned n;
    if (run >= n14 || (!one_bit && run >= n7)) {
        c = (uint16_t)((sym0 << 13) | run);
        n = run;
    } else {
        n = one_bit ? n14 : n7;
        c = one_bit ? 0x8000 : 0xC000;
        b = *a;
        for (unsigned t = 0; t < n; t++) {
            unsigned s = enc_sym(e, b, *j + t);
            if (s)
                b++;
            c |= (uint16_t)(one_bit ? s << (13 - t) : s << (12 - 2 * t));
        }
    }
    while (*a < e->k && enc_ofs(e, *a) < *j + n)
        (*a)++;
    *j += n;
    return c;
}

/* Write chunks and deltas for arr[0..k) after the 20-byte fixed part. */
static int twcc_encode(uint8_t *buf, size_t cap, const struct twcc_enc *e)
{
    unsigned count = enc_ofs(e, e->k - 1) + 1;
    size_t pos = 20, a = 0;
    unsigned j = 0;
    while (j < count) {
        if (pos + 2 > cap)
            return -ENOBUFS;
        wr16(buf + pos, enc_chunk(e, &a, &j, count));
        pos += 2;
    }
    for (size_t i = 0; i < e->k; i++) {
        int64_t d = enc_delta(e, i);
        if (enc_class(e, i) == 1) {
            if (pos + 1 > cap)
                return -ENOBUFS;
            buf[pos++] = (uint8_t)d;
        } else {
            if (pos + 2 > cap)
                return -ENOBUFS;
            wr16(buf + pos, (uint16_t)(int16_t)d);
            pos += 2;
        }
    }
    size_t pad = (4 - pos % 4) % 4;
    if (pos + pad > cap)
        return -ENOBUFS;
    if (pad) {
        memset(buf + pos, 0, pad);
        buf[pos + pad - 1] = (uint8_t)pad;
    }
    wr16(buf + 14, (uint16_t)count);
    put_hdr(buf, pad != 0, RTCP_FMT_TWCC, RTCP_PT_RTPFB, pos + pad);
    return (int)(pos + pad);
}

/* How many arrivals can share one feedback: seqs strictly increasing within 65535
 * statuses from the base, deltas within a signed 16-bit count of 250 us ticks. */
static size_t twcc_max_arrivals(const struct twcc_enc *e, size_t n)
{
    uint32_t span = enc_ofs(e, 0);
    for (size_t i = 1; i < n; i++) {
        uint16_t step = (uint16_t)(e->arr[i].seq - e->arr[i - 1].seq);
        int64_t d = enc_delta(e, i);
        if (step == 0 || step >= 0x8000 || span + step > 0xfffe || d < -32768 || d > 32767 ||
            e->arr[i].arrival_us < 0)
            return i;
        span += step;
    }
    return n;
}

int rtcp_build_twcc(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                    uint8_t fb_count, const struct rtcp_twcc_arrival *arr, size_t n,
                    size_t *consumed)
{
    if (consumed)
        *consumed = 0;
    if (!arr || n == 0)
        return -EINVAL;
    return rtcp_build_twcc_from(buf, cap, sender_ssrc, media_ssrc, fb_count, arr[0].seq, arr, n,
                                consumed);
}

int rtcp_build_twcc_from(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                         uint8_t fb_count, uint16_t base_seq, const struct rtcp_twcc_arrival *arr,
                         size_t n, size_t *consumed)
{
    if (consumed)
        *consumed = 0;
    if (!arr || n == 0 || arr[0].arrival_us < 0 || (uint16_t)(arr[0].seq - base_seq) >= 0x8000)
        return -EINVAL;
    if (!buf || cap < 24)
        return -ENOBUFS;
    if (cap > 4u * 65536)
        cap = 4u * 65536;
    int64_t ref = arr[0].arrival_us / 64000;
    struct twcc_enc e = { arr, 0, base_seq, ref * 256 };
    size_t hi = twcc_max_arrivals(&e, n), lo = 1;
    wr32(buf + 4, sender_ssrc);
    wr32(buf + 8, media_ssrc);
    wr16(buf + 12, base_seq);
    wr24(buf + 16, (uint32_t)ref & 0xffffffu);
    buf[19] = fb_count;
    /* Largest k that fits; the encoded size grows with k, verify the final choice. */
    e.k = hi;
    int len = twcc_encode(buf, cap, &e);
    if (len == -ENOBUFS) {
        while (lo < hi) {
            e.k = lo + (hi - lo + 1) / 2;
            if (twcc_encode(buf, cap, &e) >= 0)
                lo = e.k;
            else
                hi = e.k - 1;
        }
        e.k = lo;
        len = twcc_encode(buf, cap, &e);
    }
    if (len >= 0 && consumed)
        *consumed = e.k;
    return len;
}

/* ---- NACK helpers (RFC 4585 6.2.1) ---- */

size_t rtcp_nack_pack(const uint16_t *seqs, size_t n, struct rtcp_nack_item *items,
                      size_t max_items, size_t *consumed)
{
    size_t k = 0, i = 0;
    while (i < n) {
        uint16_t d = (uint16_t)(seqs[i] - (k ? items[k - 1].pid : 0));
        if (k && d == 0) {
            i++; /* duplicate of the item's pid */
            continue;
        }
        if (k && d <= 16) {
            items[k - 1].blp |= (uint16_t)(1u << (d - 1));
            i++;
            continue;
        }
        if (k == max_items)
            break;
        items[k].pid = seqs[i];
        items[k].blp = 0;
        k++;
        i++;
    }
    if (consumed)
        *consumed = i;
    return k;
}

unsigned rtcp_nack_unpack(const struct rtcp_nack_item *item, uint16_t out[17])
{
    unsigned n = 0;
    out[n++] = item->pid;
    for (unsigned b = 0; b < 16; b++)
        if (item->blp & (1u << b))
            out[n++] = (uint16_t)(item->pid + b + 1);
    return n;
}

/* ---- rewriting ---- */

int rtcp_sr_rewrite(uint8_t *pkt, size_t len, uint32_t new_ssrc, uint32_t ts_delta)
{
    if (!pkt || len < 4 || pkt[1] != RTCP_PT_SR || (pkt[0] >> 6) != 2)
        return -EINVAL;
    if (len < 28)
        return -EBADMSG;
    wr32(pkt + 4, new_ssrc);
    wr32(pkt + 16, rd32(pkt + 16) + ts_delta);
    return 0;
}

uint64_t rtcp_ntp_from_unix_us(uint64_t unix_us)
{
    uint64_t secs = unix_us / 1000000u + 2208988800u; /* 1900 -> 1970 */
    uint64_t frac = ((unix_us % 1000000u) << 32) / 1000000u;
    return (secs << 32) | frac;
}

/* ---- receiver statistics (RFC 3550 appendix A.1, A.3, A.8) ---- */

#define RX_MAX_DROPOUT 3000u
#define RX_MAX_MISORDER 100u
#define RX_SEQ_MOD 0x10000u

void rtcp_rx_stats_init(struct rtcp_rx_stats *s, uint32_t ssrc)
{
    memset(s, 0, sizeof(*s));
    s->ssrc = ssrc;
}

static void rx_init_seq(struct rtcp_rx_stats *s, uint16_t seq)
{
    s->base_seq = seq;
    s->max_seq = seq;
    s->bad_seq = RX_SEQ_MOD + 1; /* so seq == bad_seq is false */
    s->cycles = 0;
    s->received = 0;
    s->received_prior = 0;
    s->expected_prior = 0;
}

void rtcp_rx_stats_update(struct rtcp_rx_stats *s, uint16_t seq, uint32_t rtp_ts,
                          uint32_t arrival_rtp)
{
    uint32_t transit = arrival_rtp - rtp_ts;
    if (!s->started) {
        rx_init_seq(s, seq);
        s->started = 1;
        s->received = 1;
        s->transit = transit;
        return;
    }
    uint16_t udelta = (uint16_t)(seq - s->max_seq);
    if (udelta < RX_MAX_DROPOUT) {
        if (seq < s->max_seq)
            s->cycles += RX_SEQ_MOD; /* wrapped */
        s->max_seq = seq;
    } else if (udelta <= RX_SEQ_MOD - RX_MAX_MISORDER) {
        if (seq != s->bad_seq) { /* a jump: wait for the next packet to confirm */
            s->bad_seq = (uint16_t)(seq + 1);
            return;
        }
        rx_init_seq(s, seq); /* two sequential packets: the source restarted */
        s->received = 1;
        s->transit = transit;
        return;
    } /* else: duplicate or reordered, counted below */
    s->received++;
    int64_t d = (int64_t)(int32_t)(transit - s->transit);
    s->transit = transit;
    if (d < 0)
        d = -d;
    int64_t j = (int64_t)s->jitter_q4 + d - ((s->jitter_q4 + 8) >> 4);
    s->jitter_q4 = j > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)j;
}

void rtcp_rx_stats_on_sr(struct rtcp_rx_stats *s, uint64_t sr_ntp, uint64_t now_us)
{
    s->last_sr_mid = rtcp_ntp_mid32(sr_ntp);
    s->last_sr_at_us = now_us;
}

void rtcp_rx_stats_report(struct rtcp_rx_stats *s, uint64_t now_us,
                          struct rtcp_report_block *out)
{
    memset(out, 0, sizeof(*out));
    out->ssrc = s->ssrc;
    if (!s->started)
        return;
    uint32_t ext_max = s->cycles + s->max_seq;
    uint32_t expected = ext_max - s->base_seq + 1;
    int64_t lost = (int64_t)expected - s->received;
    if (lost > 0x7fffff)
        lost = 0x7fffff;
    if (lost < -0x800000)
        lost = -0x800000;
    uint32_t exp_int = expected - s->expected_prior;
    uint32_t rcv_int = s->received - s->received_prior;
    s->expected_prior = expected;
    s->received_prior = s->received;
    int64_t lost_int = (int64_t)exp_int - rcv_int;
    uint32_t frac = 0;
    if (exp_int != 0 && lost_int > 0)
        frac = (uint32_t)((lost_int << 8) / exp_int);
    out->fraction_lost = (uint8_t)(frac > 255 ? 255 : frac);
    out->cum_lost = (int32_t)lost;
    out->ext_high_seq = ext_max;
    out->jitter = s->jitter_q4 >> 4;
    if (s->last_sr_mid) {
        out->lsr = s->last_sr_mid;
        uint64_t dt = now_us > s->last_sr_at_us ? now_us - s->last_sr_at_us : 0;
        out->dlsr = (uint32_t)((dt * 65536u) / 1000000u);
    }
}
