/*
 * test_rtp.c - unit tests for sfu/rtp.[ch]: RFC 7983 demux, RTP view parsing and its
 * error cases, RFC 8285 extension elements (one- and two-byte), in-place rewriting,
 * builder round trips, RFC 4588 RTX wrap/unwrap, VP8 descriptor and H.264 keyframes.
 * Packets are hand-built byte arrays laid out as in the RFC figures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sfu/rtp.h"

/* A Chrome-shaped VP8 key frame packet: one-byte extensions abs-send-time (id 2, 3
 * bytes) and transport-wide-cc (id 3, 2 bytes), then the VP8 descriptor with a 15-bit
 * picture id and the start of a 640x480 key frame. */
static const uint8_t vp8_key[] = {
    0x90, 0xe0, 0x12, 0x34,             /* V=2 X=1, M=1 PT=96, seq 0x1234 */
    0x00, 0x01, 0xe2, 0x40,             /* ts 123456 */
    0xde, 0xad, 0xbe, 0xef,             /* ssrc */
    0xbe, 0xde, 0x00, 0x02,             /* one-byte profile, 2 words */
    0x22, 0x00, 0x01, 0x02,             /* id 2 L=2: 00 01 02 */
    0x31, 0xab, 0xcd, 0x00,             /* id 3 L=1: ab cd, padding */
    0x90, 0x80, 0x92, 0x34,             /* X S PID0, I, M picid 0x1234 */
    0x50, 0x42, 0x00,                   /* frame tag, P=0 (key frame) */
    0x9d, 0x01, 0x2a,                   /* start code */
    0x80, 0x02, 0xe0, 0x01,             /* 640 x 480 */
    0xaa, 0xbb,                         /* data */
};

static void test_demux_ranges(void **state)
{
    (void)state;
    uint8_t b[2] = { 0, 0 };
    struct { uint8_t first, second; enum rtp_kind want; } cases[] = {
        { 0, 1, RTP_KIND_STUN },      { 1, 1, RTP_KIND_STUN },    { 3, 0, RTP_KIND_STUN },
        { 4, 0, RTP_KIND_UNKNOWN },   { 19, 0, RTP_KIND_UNKNOWN }, { 20, 0, RTP_KIND_DTLS },
        { 22, 0xfe, RTP_KIND_DTLS },  { 63, 0, RTP_KIND_DTLS },   { 64, 0, RTP_KIND_UNKNOWN },
        { 127, 0, RTP_KIND_UNKNOWN }, { 128, 96, RTP_KIND_RTP },  { 0x80, 0xe0, RTP_KIND_RTP },
        { 0x80, 191, RTP_KIND_RTP },  { 0x80, 192, RTP_KIND_RTCP }, { 0x81, 200, RTP_KIND_RTCP },
        { 0x8f, 206, RTP_KIND_RTCP }, { 0xbf, 223, RTP_KIND_RTCP }, { 0x80, 224, RTP_KIND_RTP },
        { 191, 111, RTP_KIND_RTP },   { 192, 200, RTP_KIND_UNKNOWN }, { 255, 0, RTP_KIND_UNKNOWN },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        b[0] = cases[i].first;
        b[1] = cases[i].second;
        assert_int_equal(rtp_demux(b, 2), cases[i].want);
    }
    b[0] = 0x80;
    assert_int_equal(rtp_demux(b, 1), RTP_KIND_UNKNOWN);
    assert_int_equal(rtp_demux(b, 0), RTP_KIND_UNKNOWN);
    b[0] = 0x00;
    assert_int_equal(rtp_demux(b, 1), RTP_KIND_STUN);
}

static void test_parse_vp8_packet(void **state)
{
    (void)state;
    struct rtp_view v;
    assert_int_equal(rtp_parse(&v, vp8_key, sizeof(vp8_key)), 0);
    assert_int_equal(v.padding, 0);
    assert_int_equal(v.extension, 1);
    assert_int_equal(v.cc, 0);
    assert_int_equal(v.marker, 1);
    assert_int_equal(v.pt, 96);
    assert_int_equal(v.seq, 0x1234);
    assert_int_equal(v.ts, 123456);
    assert_int_equal(v.ssrc, 0xdeadbeef);
    assert_int_equal(v.ext_profile, 0xBEDE);
    assert_int_equal(v.ext_off, 16);
    assert_int_equal(v.ext_len, 8);
    assert_int_equal(v.payload_off, 24);
    assert_int_equal(v.payload_len, sizeof(vp8_key) - 24);
    assert_int_equal(v.pad_len, 0);
    assert_ptr_equal(rtp_payload(&v), vp8_key + 24);

    struct rtp_ext_iter it;
    struct rtp_ext e;
    rtp_ext_iter_init(&v, &it);
    assert_int_equal(rtp_ext_next(&v, &it, &e), 1);
    assert_int_equal(e.id, 2);
    assert_int_equal(e.len, 3);
    assert_int_equal(e.off, 17);
    assert_int_equal(rtp_ext_next(&v, &it, &e), 1);
    assert_int_equal(e.id, 3);
    assert_int_equal(e.len, 2);
    assert_int_equal(e.off, 21);
    assert_int_equal(rtp_ext_next(&v, &it, &e), 0);

    uint16_t twcc = 0;
    assert_int_equal(rtp_ext_get_u16(&v, 3, &twcc), 0);
    assert_int_equal(twcc, 0xabcd);
    assert_int_equal(rtp_ext_find(&v, 2, &e), 0);
    assert_memory_equal(vp8_key + e.off, "\x00\x01\x02", 3);
    assert_int_equal(rtp_ext_find(&v, 4, &e), -ENOENT);
    assert_int_equal(rtp_ext_find(&v, 0, &e), -EINVAL);
}

static void test_parse_csrc_padding(void **state)
{
    (void)state;
    static const uint8_t pkt[] = {
        0xa2, 0x6f, 0xff, 0xff,     /* V=2 P=1 CC=2, PT=111, seq 65535 */
        0x00, 0x00, 0x03, 0xc0,     /* ts 960 */
        0x11, 0x22, 0x33, 0x44,     /* ssrc */
        0x00, 0x00, 0x00, 0x0a,     /* csrc 10 */
        0x00, 0x00, 0x00, 0x0b,     /* csrc 11 */
        0xf8, 0xff, 0xfe,           /* opus payload */
        0x00, 0x00, 0x03,           /* 3 bytes padding */
    };
    struct rtp_view v;
    assert_int_equal(rtp_parse(&v, pkt, sizeof(pkt)), 0);
    assert_int_equal(v.cc, 2);
    assert_int_equal(rtp_csrc(&v, 0), 10);
    assert_int_equal(rtp_csrc(&v, 1), 11);
    assert_int_equal(rtp_csrc(&v, 2), 0);
    assert_int_equal(v.padding, 1);
    assert_int_equal(v.pad_len, 3);
    assert_int_equal(v.payload_off, 20);
    assert_int_equal(v.payload_len, 3);
    assert_int_equal(v.seq, 65535);
    assert_int_equal(v.pt, 111);
    assert_int_equal(v.marker, 0);
    assert_int_equal(v.extension, 0);
    assert_int_equal(v.ext_profile, 0);

    struct rtp_ext_iter it;
    struct rtp_ext e;
    rtp_ext_iter_init(&v, &it);
    assert_int_equal(rtp_ext_next(&v, &it, &e), 0);
    assert_int_equal(rtp_ext_find(&v, 1, &e), -ENOENT);
}

static void test_parse_errors(void **state)
{
    (void)state;
    struct rtp_view v;
    uint8_t b[64];

    memcpy(b, vp8_key, sizeof(vp8_key));
    assert_int_equal(rtp_parse(&v, b, 11), -EBADMSG); /* shorter than the fixed header */
    assert_int_equal(rtp_parse(&v, b, 0), -EBADMSG);
    assert_int_equal(rtp_parse(&v, NULL, 20), -EBADMSG);
    assert_int_equal(rtp_parse(&v, b, 12), -EBADMSG); /* X set but no extension header */
    assert_int_equal(rtp_parse(&v, b, 20), -EBADMSG); /* extension runs past the end */
    assert_int_equal(rtp_parse(&v, b, 24), 0);        /* exactly the header: empty payload */
    assert_int_equal(v.payload_len, 0);

    b[0] = 0x50; /* version 1 */
    assert_int_equal(rtp_parse(&v, b, sizeof(vp8_key)), -EPROTONOSUPPORT);
    b[0] = 0x10; /* version 0 */
    assert_int_equal(rtp_parse(&v, b, sizeof(vp8_key)), -EPROTONOSUPPORT);

    /* 15 CSRCs need 72 bytes */
    memcpy(b, vp8_key, sizeof(vp8_key));
    b[0] = 0x8f;
    assert_int_equal(rtp_parse(&v, b, sizeof(vp8_key)), -EBADMSG);

    /* extension length field larger than the packet */
    memcpy(b, vp8_key, sizeof(vp8_key));
    b[15] = 0x20;
    assert_int_equal(rtp_parse(&v, b, sizeof(vp8_key)), -EBADMSG);

    /* padding: count 0 is invalid, count larger than the payload is invalid */
    memset(b, 0, sizeof(b));
    b[0] = 0xa0;
    b[1] = 96;
    assert_int_equal(rtp_parse(&v, b, 16), -EBADMSG); /* pad count 0 */
    b[15] = 5;
    assert_int_equal(rtp_parse(&v, b, 16), -EBADMSG); /* 5 > 4 bytes after header */
    b[15] = 4;
    assert_int_equal(rtp_parse(&v, b, 16), 0);        /* all padding: allowed */
    assert_int_equal(v.payload_len, 0);
    assert_int_equal(v.pad_len, 4);
}

static void test_ext_bad_element(void **state)
{
    (void)state;
    uint8_t b[sizeof(vp8_key)];
    memcpy(b, vp8_key, sizeof(b));
    b[20] = 0x3f; /* id 3 claims 16 bytes: past the 8-byte block */
    struct rtp_view v;
    struct rtp_ext e;
    assert_int_equal(rtp_parse(&v, b, sizeof(b)), 0); /* elements are checked lazily */
    assert_int_equal(rtp_ext_find(&v, 2, &e), 0);
    assert_int_equal(rtp_ext_find(&v, 3, &e), -EBADMSG);
    assert_int_equal(rtp_ext_find(&v, 9, &e), -EBADMSG);

    /* ID 15 stops processing: nothing after it is found */
    memcpy(b, vp8_key, sizeof(b));
    b[16] = 0xf2;
    assert_int_equal(rtp_parse(&v, b, sizeof(b)), 0);
    assert_int_equal(rtp_ext_find(&v, 3, &e), -ENOENT);
}

static void test_two_byte_extensions(void **state)
{
    (void)state;
    static const uint8_t pkt[] = {
        0x90, 0x6f, 0x00, 0x07, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x01,
        0x10, 0x00, 0x00, 0x03,       /* two-byte profile (appbits 0), 3 words */
        0x01, 0x00,                   /* id 1, len 0 */
        0x00,                         /* padding */
        0x14, 0x03, 0x61, 0x62, 0x63, /* id 20, len 3 "abc" */
        0x03, 0x02, 0x12, 0x34,       /* id 3, len 2 */
        0xfc,                         /* payload */
    };
    struct rtp_view v;
    assert_int_equal(rtp_parse(&v, pkt, sizeof(pkt)), 0);
    assert_int_equal(v.ext_profile, 0x1000);
    assert_int_equal(v.payload_off, 28);
    assert_int_equal(v.payload_len, 1);

    struct rtp_ext e;
    assert_int_equal(rtp_ext_find(&v, 1, &e), 0);
    assert_int_equal(e.len, 0);
    assert_int_equal(rtp_ext_find(&v, 20, &e), 0);
    assert_int_equal(e.len, 3);
    assert_int_equal(e.off, 21);
    assert_memory_equal(pkt + e.off, "abc", 3);
    uint16_t val;
    assert_int_equal(rtp_ext_get_u16(&v, 3, &val), 0);
    assert_int_equal(val, 0x1234);
    assert_int_equal(rtp_ext_get_u16(&v, 1, &val), -EINVAL); /* too short for a u16 */

    /* unknown profile: the block is skipped, no elements */
    uint8_t b[sizeof(pkt)];
    memcpy(b, pkt, sizeof(b));
    b[12] = 0x12;
    assert_int_equal(rtp_parse(&v, b, sizeof(b)), 0);
    assert_int_equal(rtp_ext_find(&v, 20, &e), -ENOENT);

    /* two-byte ids may be > 14 */
    memcpy(b, pkt, sizeof(b));
    assert_int_equal(rtp_parse(&v, b, sizeof(b)), 0);
    assert_int_equal(rtp_ext_set_id(b, &v, 20, 200), 0);
    assert_int_equal(rtp_ext_find(&v, 200, &e), 0);
    assert_int_equal(e.off, 21);
    assert_int_equal(rtp_ext_set_id(b, &v, 200, 0), -EINVAL);
}

static void test_rewrite_in_place(void **state)
{
    (void)state;
    uint8_t b[sizeof(vp8_key)];
    struct rtp_view v, w;
    assert_int_equal(rtp_parse(&v, vp8_key, sizeof(vp8_key)), 0);
    memcpy(b, vp8_key, sizeof(b)); /* the subscriber's scratch copy */

    rtp_set_seq(b, 0xfffe);
    rtp_set_ts(b, 0x80000001u);
    rtp_set_ssrc(b, 0x01020304);
    rtp_set_pt(b, 100);
    assert_int_equal(rtp_ext_set_u16(b, &v, 3, 0x0102), 0);
    static const uint8_t ast[3] = { 9, 8, 7 };
    assert_int_equal(rtp_ext_write(b, &v, 2, ast, 3), 0);
    assert_int_equal(rtp_ext_write(b, &v, 2, ast, 2), -EINVAL); /* length must match */
    assert_int_equal(rtp_ext_write(b, &v, 7, ast, 3), -ENOENT);
    assert_int_equal(rtp_ext_set_id(b, &v, 3, 5), 0);
    assert_int_equal(rtp_ext_set_id(b, &v, 2, 15), -EINVAL); /* not in the one-byte form */
    assert_int_equal(rtp_ext_set_id(b, &v, 9, 4), -ENOENT);

    assert_int_equal(rtp_parse(&w, b, sizeof(b)), 0);
    assert_int_equal(w.seq, 0xfffe);
    assert_int_equal(w.ts, 0x80000001u);
    assert_int_equal(w.ssrc, 0x01020304);
    assert_int_equal(w.pt, 100);
    assert_int_equal(w.marker, 1); /* kept */
    uint16_t val;
    assert_int_equal(rtp_ext_get_u16(&w, 5, &val), 0);
    assert_int_equal(val, 0x0102);
    assert_int_equal(rtp_ext_get_u16(&w, 3, &val), -ENOENT);
    struct rtp_ext e;
    assert_int_equal(rtp_ext_find(&w, 2, &e), 0);
    assert_memory_equal(b + e.off, ast, 3);
    assert_memory_equal(b + 24, vp8_key + 24, sizeof(vp8_key) - 24); /* payload untouched */
    rtp_set_marker(b, 0);
    assert_int_equal(rtp_parse(&w, b, sizeof(b)), 0);
    assert_int_equal(w.marker, 0);
    assert_int_equal(w.pt, 100);
}

static void test_ext_remap(void **state)
{
    (void)state;
    uint8_t b[sizeof(vp8_key)];
    uint8_t map[256] = { 0 };
    struct rtp_view v;
    struct rtp_ext e;
    memcpy(b, vp8_key, sizeof(b));
    assert_int_equal(rtp_parse(&v, b, sizeof(b)), 0);
    map[3] = 7;                  /* transport-cc: publisher id 3 -> subscriber id 7 */
    /* map[2] = 0: the subscriber did not negotiate abs-send-time: blank it */
    assert_int_equal(rtp_ext_remap(b, &v, map), 1);
    assert_int_equal(rtp_ext_find(&v, 2, &e), -ENOENT);
    assert_int_equal(rtp_ext_find(&v, 7, &e), 0);
    assert_int_equal(e.off, 21);
    assert_memory_equal(b + 16, "\x00\x00\x00\x00", 4); /* became padding */
    map[7] = 15;
    assert_int_equal(rtp_ext_remap(b, &v, map), -EINVAL);
}

static void test_build_roundtrip(void **state)
{
    (void)state;
    uint8_t buf[200];
    static const uint8_t tw[2] = { 0x00, 0x2a };
    static const uint8_t lvl[1] = { 0x85 };
    static const uint8_t payload[5] = { 1, 2, 3, 4, 5 };
    struct rtp_ext_elem ext[2] = { { 3, 2, tw }, { 1, 1, lvl } };
    struct rtp_hdr h = { .pt = 111, .marker = 1, .seq = 65535, .ts = 0xfffffff0u,
                         .ssrc = 42, .ext = ext, .n_ext = 2 };
    int n = rtp_build(buf, sizeof(buf), &h, payload, sizeof(payload));
    assert_int_equal(n, 12 + 4 + 8 + 5); /* 3 + 2 bytes of elements padded to 8 */
    struct rtp_view v;
    assert_int_equal(rtp_parse(&v, buf, (size_t)n), 0);
    assert_int_equal(v.ext_profile, 0xBEDE);
    assert_int_equal(v.seq, 65535);
    assert_int_equal(v.ts, 0xfffffff0u);
    assert_int_equal(v.ssrc, 42);
    assert_int_equal(v.pt, 111);
    assert_int_equal(v.marker, 1);
    assert_int_equal(v.payload_len, 5);
    assert_memory_equal(rtp_payload(&v), payload, 5);
    uint16_t val;
    assert_int_equal(rtp_ext_get_u16(&v, 3, &val), 0);
    assert_int_equal(val, 42);
    struct rtp_ext e;
    assert_int_equal(rtp_ext_find(&v, 1, &e), 0);
    assert_int_equal(buf[e.off], 0x85);

    /* an id above 14 forces the two-byte form */
    ext[1].id = 100;
    n = rtp_build(buf, sizeof(buf), &h, payload, sizeof(payload));
    assert_int_equal(n, 12 + 4 + 8 + 5); /* (2+2) + (2+1) padded to 8 */
    assert_int_equal(rtp_parse(&v, buf, (size_t)n), 0);
    assert_int_equal(v.ext_profile, 0x1000);
    assert_int_equal(rtp_ext_find(&v, 100, &e), 0);
    assert_int_equal(buf[e.off], 0x85);
    assert_int_equal(rtp_ext_get_u16(&v, 3, &val), 0);
    assert_int_equal(val, 42);

    /* no extension */
    h.ext = NULL;
    h.n_ext = 0;
    n = rtp_build(buf, sizeof(buf), &h, payload, sizeof(payload));
    assert_int_equal(n, 17);
    assert_int_equal(buf[0], 0x80);
    assert_int_equal(buf[1], 0x80 | 111);

    /* errors */
    assert_int_equal(rtp_build(buf, 16, &h, payload, sizeof(payload)), -ENOBUFS);
    assert_int_equal(rtp_write_header(buf, 11, &h), -ENOBUFS);
    ext[0].id = 0;
    h.ext = ext;
    h.n_ext = 2;
    assert_int_equal(rtp_write_header(buf, sizeof(buf), &h), -EINVAL);
}

static void test_rtx_wrap_unwrap(void **state)
{
    (void)state;
    struct rtp_view v, r;
    uint8_t rtx[64], pad[sizeof(vp8_key) + 4];
    /* the original with 4 bytes of padding: the RTX packet carries no padding */
    memcpy(pad, vp8_key, sizeof(vp8_key));
    pad[0] |= 0x20;
    memset(pad + sizeof(vp8_key), 0, 3);
    pad[sizeof(pad) - 1] = 4;
    assert_int_equal(rtp_parse(&v, pad, sizeof(pad)), 0);
    assert_int_equal(v.pad_len, 4);

    int n = rtp_rtx_wrap(rtx, sizeof(rtx), &v, 97, 7, 0xcafe);
    assert_int_equal(n, (int)(sizeof(vp8_key) + 2));
    assert_int_equal(rtp_parse(&r, rtx, (size_t)n), 0);
    assert_int_equal(r.pt, 97);
    assert_int_equal(r.seq, 7);
    assert_int_equal(r.ssrc, 0xcafe);
    assert_int_equal(r.ts, 123456);
    assert_int_equal(r.marker, 1);
    assert_int_equal(r.padding, 0);
    assert_int_equal(r.payload_len, v.payload_len + 2);
    assert_int_equal(rtp_payload(&r)[0], 0x12); /* OSN = 0x1234 */
    assert_int_equal(rtp_payload(&r)[1], 0x34);
    uint16_t val;
    assert_int_equal(rtp_ext_get_u16(&r, 3, &val), 0); /* extensions kept */
    assert_int_equal(val, 0xabcd);
    assert_int_equal(rtp_rtx_wrap(rtx, (size_t)n - 1, &v, 97, 7, 0xcafe), -ENOBUFS);

    /* unwrap restores the original bytes */
    n = rtp_rtx_unwrap(rtx, (size_t)n, 96, 0xdeadbeef);
    assert_int_equal(n, (int)sizeof(vp8_key));
    assert_memory_equal(rtx, vp8_key, sizeof(vp8_key));

    /* a padding-only RTX packet (bandwidth probe) carries nothing */
    uint8_t probe[16] = { 0xa0, 97, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 4 };
    assert_int_equal(rtp_rtx_unwrap(probe, sizeof(probe), 96, 1), -ENODATA);
    uint8_t one[13] = { 0x80, 97, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0x55 };
    assert_int_equal(rtp_rtx_unwrap(one, sizeof(one), 96, 1), -EBADMSG);
}

static void test_vp8_descriptor(void **state)
{
    (void)state;
    struct rtp_vp8 d;
    assert_int_equal(rtp_vp8_parse(vp8_key + 24, sizeof(vp8_key) - 24, &d), 0);
    assert_int_equal(d.start, 1);
    assert_int_equal(d.pid, 0);
    assert_int_equal(d.keyframe, 1);
    assert_int_equal(d.has_picid, 1);
    assert_int_equal(d.picid_bits, 15);
    assert_int_equal(d.picid, 0x1234);
    assert_int_equal(d.picid_off, 2);
    assert_int_equal(d.has_tl0, 0);
    assert_int_equal(d.desc_len, 4);
    assert_int_equal(d.width, 640);
    assert_int_equal(d.height, 480);

    /* delta frame: 7-bit picture id, TL0PICIDX, TID/Y/KEYIDX */
    static const uint8_t delta[] = { 0x90, 0xf0, 0x45, 0x9a, 0x68, 0x31, 0x00, 0x00 };
    assert_int_equal(rtp_vp8_parse(delta, sizeof(delta), &d), 0);
    assert_int_equal(d.keyframe, 0); /* P bit set */
    assert_int_equal(d.picid_bits, 7);
    assert_int_equal(d.picid, 0x45);
    assert_int_equal(d.has_tl0, 1);
    assert_int_equal(d.tl0picidx, 0x9a);
    assert_int_equal(d.tl0_off, 3);
    assert_int_equal(d.has_tid, 1);
    assert_int_equal(d.tid, 1);
    assert_int_equal(d.layer_sync, 1);
    assert_int_equal(d.has_keyidx, 1);
    assert_int_equal(d.keyidx, 8);
    assert_int_equal(d.desc_len, 5);

    /* continuation packet of a key frame: S=0, not a keyframe start */
    static const uint8_t cont[] = { 0x80, 0x80, 0x92, 0x34, 0x10 };
    assert_int_equal(rtp_vp8_parse(cont, sizeof(cont), &d), 0);
    assert_int_equal(d.start, 0);
    assert_int_equal(d.keyframe, 0);
    /* S=1 but partition 1 */
    static const uint8_t part1[] = { 0x11, 0x10 };
    assert_int_equal(rtp_vp8_parse(part1, sizeof(part1), &d), 0);
    assert_int_equal(d.keyframe, 0);
    assert_int_equal(d.pid, 1);
    /* minimal descriptor, key frame */
    static const uint8_t min[] = { 0x10, 0x00 };
    assert_int_equal(rtp_vp8_parse(min, sizeof(min), &d), 0);
    assert_int_equal(d.keyframe, 1);
    assert_int_equal(d.has_picid, 0);
    assert_int_equal(d.width, 0);

    /* truncated */
    assert_int_equal(rtp_vp8_parse(vp8_key + 24, 3, &d), -EBADMSG); /* 15-bit picid, no payload */
    assert_int_equal(rtp_vp8_parse(vp8_key + 24, 2, &d), -EBADMSG);
    assert_int_equal(rtp_vp8_parse(delta, 4, &d), -EBADMSG);
    assert_int_equal(rtp_vp8_parse(min, 1, &d), -EBADMSG);
    assert_int_equal(rtp_vp8_parse(min, 0, &d), -EBADMSG);
}

static void test_h264_keyframe(void **state)
{
    (void)state;
    static const uint8_t idr[] = { 0x65, 0x88, 0x84 };
    static const uint8_t sps[] = { 0x67, 0x42, 0xc0, 0x1f };
    static const uint8_t non_idr[] = { 0x41, 0x9a };
    static const uint8_t stap_key[] = { 0x78, 0x00, 0x04, 0x67, 0x42, 0xc0, 0x1f,
                                        0x00, 0x02, 0x68, 0xce };
    static const uint8_t stap_pps[] = { 0x78, 0x00, 0x02, 0x68, 0xce, 0x00, 0x01, 0x06 };
    static const uint8_t stap_trunc[] = { 0x78, 0x00, 0x04, 0x67, 0x42 };
    static const uint8_t fu_start[] = { 0x7c, 0x85, 0xb8 };
    static const uint8_t fu_mid[] = { 0x7c, 0x05, 0xb8 };
    static const uint8_t fu_non_idr[] = { 0x5c, 0x81, 0x9a };
    assert_int_equal(rtp_h264_is_keyframe(idr, sizeof(idr)), 1);
    assert_int_equal(rtp_h264_is_keyframe(sps, sizeof(sps)), 1);
    assert_int_equal(rtp_h264_is_keyframe(non_idr, sizeof(non_idr)), 0);
    assert_int_equal(rtp_h264_is_keyframe(stap_key, sizeof(stap_key)), 1);
    assert_int_equal(rtp_h264_is_keyframe(stap_pps, sizeof(stap_pps)), 0);
    assert_int_equal(rtp_h264_is_keyframe(stap_trunc, sizeof(stap_trunc)), -EBADMSG);
    assert_int_equal(rtp_h264_is_keyframe(fu_start, sizeof(fu_start)), 1);
    assert_int_equal(rtp_h264_is_keyframe(fu_mid, sizeof(fu_mid)), 0);
    assert_int_equal(rtp_h264_is_keyframe(fu_non_idr, sizeof(fu_non_idr)), 0);
    assert_int_equal(rtp_h264_is_keyframe(fu_start, 1), -EBADMSG);
    assert_int_equal(rtp_h264_is_keyframe(idr, 0), -EBADMSG);
}

static void test_seq_unwrap(void **state)
{
    (void)state;
    assert_int_equal(rtp_seq_unwrap(0x1fffe, 0xffff), 0x1ffff);
    assert_int_equal(rtp_seq_unwrap(0x1ffff, 0x0000), 0x20000);
    assert_int_equal(rtp_seq_unwrap(0x20000, 0xffff), 0x1ffff); /* late packet before the wrap */
    assert_int_equal(rtp_seq_unwrap(0x20001, 0x0005), 0x20005);
    assert_int_equal(rtp_seq_unwrap(0x10000, 0x8000), 0x8000);   /* half way: backwards */
    assert_int_equal(rtp_seq_unwrap(0x10000, 0x7fff), 0x17fff);
}

/* A fixture file under tests/data/rtp: the same key frame packet as bytes on disk. */
static void test_fixture_file(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof(path), "%s/rtp/vp8_keyframe.bin", VM_TEST_DATA_DIR);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t buf[256];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    assert_int_equal(n, sizeof(vp8_key));
    struct rtp_view v;
    struct rtp_vp8 d;
    assert_int_equal(rtp_parse(&v, buf, n), 0);
    assert_int_equal(rtp_vp8_parse(rtp_payload(&v), v.payload_len, &d), 0);
    assert_int_equal(d.keyframe, 1);
    assert_int_equal(d.picid, 0x1234);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demux_ranges),
        cmocka_unit_test(test_parse_vp8_packet),
        cmocka_unit_test(test_parse_csrc_padding),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_ext_bad_element),
        cmocka_unit_test(test_two_byte_extensions),
        cmocka_unit_test(test_rewrite_in_place),
        cmocka_unit_test(test_ext_remap),
        cmocka_unit_test(test_build_roundtrip),
        cmocka_unit_test(test_rtx_wrap_unwrap),
        cmocka_unit_test(test_vp8_descriptor),
        cmocka_unit_test(test_h264_keyframe),
        cmocka_unit_test(test_seq_unwrap),
        cmocka_unit_test(test_fixture_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
