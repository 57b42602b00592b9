/*
 * test_rtcp.c - unit tests for sfu/rtcp.[ch]: compound parsing of hand-built packets laid
 * out as in RFC 3550 / 4585 / 5104, the REMB draft and the transport-cc draft (expected
 * field values checked), builder -> parser round trips, NACK packing across the seq
 * wrap, malformed input, SR rewriting and the RFC 3550 receiver statistics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include "sfu/rtcp.h"

/* RR (one report block) + REMB, as a browser sends them */
static const uint8_t rr_remb[] = {
    0x81, 0xc9, 0x00, 0x07,             /* V=2 RC=1 PT=201 RR, length 7 */
    0x00, 0x00, 0x00, 0x01,             /* sender SSRC 1 */
    0x12, 0x34, 0x56, 0x78,             /* reportee */
    0x05, 0x00, 0x00, 0x0a,             /* fraction lost 5/256, cumulative lost 10 */
    0x00, 0x01, 0xff, 0xfe,             /* extended highest seq 0x1fffe */
    0x00, 0x00, 0x00, 0x20,             /* jitter 32 */
    0x11, 0x22, 0x33, 0x44,             /* LSR */
    0x00, 0x00, 0x80, 0x00,             /* DLSR 0.5 s */
    0x8f, 0xce, 0x00, 0x05,             /* V=2 FMT=15 PT=206 PSFB, length 5 */
    0x00, 0x00, 0x00, 0x01,             /* sender SSRC 1 */
    0x00, 0x00, 0x00, 0x00,             /* media SSRC 0 */
    'R', 'E', 'M', 'B',
    0x01, 0x0b, 0xd0, 0x90,             /* 1 SSRC, exp 2, mantissa 250000: 1 Mbit/s */
    0x12, 0x34, 0x56, 0x78,
};

/* SR (one report block, negative cumulative loss) + SDES CNAME */
static const uint8_t sr_sdes[] = {
    0x81, 0xc8, 0x00, 0x0c,             /* V=2 RC=1 PT=200 SR, length 12 */
    0xde, 0xad, 0xbe, 0xef,             /* sender SSRC */
    0xe8, 0x7f, 0x3b, 0x2a,             /* NTP seconds */
    0x80, 0x00, 0x00, 0x00,             /* NTP fraction: .5 */
    0x00, 0x01, 0xe2, 0x40,             /* RTP ts 123456 */
    0x00, 0x00, 0x01, 0x2c,             /* 300 packets */
    0x00, 0x05, 0x7e, 0x40,             /* 360000 octets */
    0x11, 0x11, 0x11, 0x11,             /* report block: SSRC */
    0x00, 0xff, 0xff, 0xfe,             /* fraction 0, cumulative lost -2 (duplicates) */
    0x00, 0x00, 0x10, 0x00,             /* extended highest seq 4096 */
    0x00, 0x00, 0x00, 0x05,             /* jitter 5 */
    0x00, 0x00, 0x00, 0x00,             /* LSR */
    0x00, 0x00, 0x00, 0x00,             /* DLSR */
    0x81, 0xca, 0x00, 0x04,             /* V=2 SC=1 PT=202 SDES, length 4 */
    0xde, 0xad, 0xbe, 0xef,             /* chunk SSRC */
    0x01, 0x08, 'a', 'b', 'c', 'd',     /* CNAME, 8 bytes */
    '1', '2', '3', '4', 0x00, 0x00,     /* END + padding to 32 bits */
};

/* transport-cc feedback: base 100, 14 statuses, reference 16 * 64 ms, fb count 5;
 * a run-length chunk, a 2-bit status vector and a 1-bit status vector; one large
 * negative delta; RTCP padding (P bit) to 32 bits. */
static const uint8_t twcc_pkt[] = {
    0xaf, 0xcd, 0x00, 0x09,             /* V=2 P=1 FMT=15 PT=205, length 9 */
    0x00, 0x00, 0x00, 0x01,             /* sender SSRC */
    0xde, 0xad, 0xbe, 0xef,             /* media SSRC */
    0x00, 0x64, 0x00, 0x0e,             /* base seq 100, status count 14 */
    0x00, 0x00, 0x10, 0x05,             /* reference time 16, fb pkt count 5 */
    0x20, 0x03,                         /* run length: 3 x "small delta" */
    0xd2, 0x41,                         /* 2-bit vector: 1 0 2 1 0 0 1 */
    0xac, 0x00,                         /* 1-bit vector: 1 0 1 1 (10 unused) */
    0x04, 0x08, 0x02,                   /* deltas of 100..102 */
    0x0a, 0xff, 0x38, 0x04, 0x04,       /* 103, 105 (-200 = -50 ms), 106, 109 */
    0x01, 0x02, 0x03,                   /* 110, 112, 113 */
    0x00, 0x00, 0x03,                   /* padding, count 3 */
};

static void test_rr_remb(void **state)
{
    (void)state;
    struct rtcp_iter it;
    struct rtcp_pkt p;
    struct rtcp_report_block rb;
    rtcp_iter_init(&it, rr_remb, sizeof(rr_remb));

    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.kind, RTCP_K_RR);
    assert_int_equal(p.off, 0);
    assert_int_equal(p.len, 32);
    assert_int_equal(p.count, 1);
    assert_int_equal(p.ssrc, 1);
    assert_int_equal(rtcp_pkt_report_block(&p, 0, &rb), 0);
    assert_int_equal(rb.ssrc, 0x12345678);
    assert_int_equal(rb.fraction_lost, 5);
    assert_int_equal(rb.cum_lost, 10);
    assert_int_equal(rb.ext_high_seq, 0x1fffe);
    assert_int_equal(rb.jitter, 32);
    assert_int_equal(rb.lsr, 0x11223344);
    assert_int_equal(rb.dlsr, 0x8000);
    assert_int_equal(rtcp_pkt_report_block(&p, 1, &rb), -EINVAL);

    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.kind, RTCP_K_REMB);
    assert_int_equal(p.off, 32);
    assert_int_equal(p.len, 24);
    assert_int_equal(p.ssrc, 1);
    assert_int_equal(p.media_ssrc, 0);
    assert_int_equal(p.u.remb.bitrate, 1000000);
    assert_int_equal(p.u.remb.n_ssrcs, 1);
    assert_int_equal(rtcp_pkt_ssrc(&p, 0), 0x12345678);
    assert_int_equal(rtcp_pkt_ssrc(&p, 1), 0);

    assert_int_equal(rtcp_iter_next(&it, &p), 0);
    assert_int_equal(rtcp_iter_next(&it, &p), 0);
}

static void test_sr_sdes(void **state)
{
    (void)state;
    struct rtcp_iter it;
    struct rtcp_pkt p;
    struct rtcp_report_block rb;
    rtcp_iter_init(&it, sr_sdes, sizeof(sr_sdes));

    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.kind, RTCP_K_SR);
    assert_int_equal(p.len, 52);
    assert_int_equal(p.ssrc, 0xdeadbeef);
    assert_int_equal(p.u.sr.info.ssrc, 0xdeadbeef);
    assert_true(p.u.sr.info.ntp == 0xe87f3b2a80000000ull);
    assert_int_equal(p.u.sr.info.rtp_ts, 123456);
    assert_int_equal(p.u.sr.info.packets, 300);
    assert_int_equal(p.u.sr.info.octets, 360000);
    assert_int_equal(rtcp_pkt_report_block(&p, 0, &rb), 0);
    assert_int_equal(rb.ssrc, 0x11111111);
    assert_int_equal(rb.cum_lost, -2);
    assert_int_equal(rb.ext_high_seq, 4096);
    assert_int_equal(rb.jitter, 5);

    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.kind, RTCP_K_SDES);
    assert_int_equal(p.off, 52);
    assert_int_equal(p.ssrc, 0xdeadbeef);
    struct rtcp_sdes_iter si;
    struct rtcp_sdes_item item;
    rtcp_sdes_iter_init(&p, &si);
    assert_int_equal(rtcp_sdes_next(&si, &item), 1);
    assert_int_equal(item.ssrc, 0xdeadbeef);
    assert_int_equal(item.type, 1);
    assert_int_equal(item.len, 8);
    assert_memory_equal(item.text, "abcd1234", 8);
    assert_int_equal(rtcp_sdes_next(&si, &item), 0);

    assert_int_equal(rtcp_iter_next(&it, &p), 0);
}

static void test_twcc_parse(void **state)
{
    (void)state;
    struct rtcp_iter it;
    struct rtcp_pkt p;
    rtcp_iter_init(&it, twcc_pkt, sizeof(twcc_pkt));
    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.kind, RTCP_K_TWCC);
    assert_int_equal(p.len, 40);
    assert_int_equal(p.body_len, 33); /* 36 - 3 bytes of padding */
    assert_int_equal(p.ssrc, 1);
    assert_int_equal(p.media_ssrc, 0xdeadbeef);
    const struct rtcp_twcc *t = &p.u.twcc;
    assert_int_equal(t->base_seq, 100);
    assert_int_equal(t->status_count, 14);
    assert_int_equal(t->ref_time, 16);
    assert_int_equal(t->fb_count, 5);
    assert_int_equal(t->n_chunks, 3);
    assert_int_equal(t->deltas_len, 11);

    static const struct { uint8_t sym; int32_t delta; int64_t at; } want[14] = {
        { 1, 4, 1025000 },   { 1, 8, 1027000 }, { 1, 2, 1027500 }, { 1, 10, 1030000 },
        { 0, 0, 0 },         { 2, -200, 980000 }, { 1, 4, 981000 }, { 0, 0, 0 },
        { 0, 0, 0 },         { 1, 4, 982000 },  { 1, 1, 982250 }, { 0, 0, 0 },
        { 1, 2, 982750 },    { 1, 3, 983500 },
    };
    struct rtcp_twcc_iter ti;
    struct rtcp_twcc_status st;
    rtcp_twcc_iter_init(t, &ti);
    for (unsigned i = 0; i < 14; i++) {
        assert_int_equal(rtcp_twcc_next(&ti, &st), 1);
        assert_int_equal(st.seq, 100 + i);
        assert_int_equal(st.symbol, want[i].sym);
        assert_int_equal(st.delta, want[i].delta);
        if (want[i].sym)
            assert_int_equal(st.arrival_us, want[i].at);
    }
    assert_int_equal(rtcp_twcc_next(&ti, &st), 0);
    assert_int_equal(rtcp_iter_next(&it, &p), 0);
}

static void test_feedback_parse(void **state)
{
    (void)state;
    static const uint8_t fb[] = {
        0x81, 0xcd, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0x04, 0xd2, 0x00, 0x05, /* NACK */
        0x81, 0xce, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2,                         /* PLI */
        0x84, 0xce, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 7, 0, 0, 0, /* FIR */
        0x81, 0xcb, 0x00, 0x03, 0, 0, 0, 2, 4, 'b', 'y', 'e', '!', 0, 0, 0,     /* BYE */
        0x80, 0xcc, 0x00, 0x02, 0, 0, 0, 1, 'n', 'a', 'm', 'e',                 /* APP */
    };
    struct rtcp_iter it;
    struct rtcp_pkt p;
    struct rtcp_nack_item ni;
    uint16_t seqs[17];
    rtcp_iter_init(&it, fb, sizeof(fb));

    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.kind, RTCP_K_NACK);
    assert_int_equal(p.ssrc, 1);
    assert_int_equal(p.media_ssrc, 2);
    assert_int_equal(p.u.nack.n_items, 1);
    assert_int_equal(rtcp_pkt_nack_item(&p, 0, &ni), 0);
    assert_int_equal(ni.pid, 1234);
    assert_int_equal(ni.blp, 5);
    assert_int_equal(rtcp_nack_unpack(&ni, seqs), 3);
    assert_int_equal(seqs[0], 1234);
    assert_int_equal(seqs[1], 1235);
    assert_int_equal(seqs[2], 1237);
    assert_int_equal(rtcp_pkt_nack_item(&p, 1, &ni), -EINVAL);

    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.kind, RTCP_K_PLI);
    assert_int_equal(p.media_ssrc, 2);

    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.kind, RTCP_K_FIR);
    assert_int_equal(p.u.fir.n_entries, 1);
    uint32_t ssrc = 0;
    uint8_t nr = 0;
    assert_int_equal(rtcp_pkt_fir_entry(&p, 0, &ssrc, &nr), 0);
    assert_int_equal(ssrc, 2);
    assert_int_equal(nr, 7);

    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.kind, RTCP_K_BYE);
    assert_int_equal(p.u.bye.n_ssrcs, 1);
    assert_int_equal(rtcp_pkt_ssrc(&p, 0), 2);
    assert_int_equal(p.u.bye.reason_len, 4);
    assert_memory_equal(p.u.bye.reason, "bye!", 4);

    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.kind, RTCP_K_OTHER);
    assert_int_equal(p.pt, RTCP_PT_APP);
    assert_int_equal(rtcp_iter_next(&it, &p), 0);
}

/* Expect the first packet of buf to fail with want, and the iterator to stop. */
static void expect_bad(const uint8_t *buf, size_t len, int want)
{
    struct rtcp_iter it;
    struct rtcp_pkt p;
    rtcp_iter_init(&it, buf, len);
    assert_int_equal(rtcp_iter_next(&it, &p), want);
    assert_int_equal(rtcp_iter_next(&it, &p), 0);
}

static void test_malformed(void **state)
{
    (void)state;
    uint8_t b[64];
    expect_bad(rr_remb, 30, -EBADMSG);  /* length runs past the buffer */
    expect_bad(rr_remb, 3, -EBADMSG);   /* shorter than a header */

    memcpy(b, rr_remb, sizeof(rr_remb));
    b[0] = 0x41;                         /* version 1 */
    expect_bad(b, sizeof(rr_remb), -EPROTONOSUPPORT);

    memcpy(b, rr_remb, sizeof(rr_remb));
    b[0] = 0x82;                         /* RC=2 but one block */
    expect_bad(b, sizeof(rr_remb), -EBADMSG);

    memcpy(b, rr_remb, sizeof(rr_remb));
    b[0] = 0xa1;                         /* P set, last byte 0 is not a padding count */
    expect_bad(b, sizeof(rr_remb), -EBADMSG);
    b[31] = 40;                          /* padding longer than the packet */
    expect_bad(b, sizeof(rr_remb), -EBADMSG);

    /* the second packet is bad: the first is still returned */
    memcpy(b, rr_remb, sizeof(rr_remb));
    b[48] = 2;                           /* REMB claims 2 SSRCs, has 1 */
    struct rtcp_iter it;
    struct rtcp_pkt p;
    rtcp_iter_init(&it, b, sizeof(rr_remb));
    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(rtcp_iter_next(&it, &p), -EBADMSG);
    assert_int_equal(rtcp_iter_next(&it, &p), 0);

    /* transport-cc: deltas cut short (drop the padding and the last 1 byte) */
    memcpy(b, twcc_pkt, sizeof(twcc_pkt));
    b[0] = 0x8f;
    b[3] = 0x08;
    expect_bad(b, 36, -EBADMSG);
    memcpy(b, twcc_pkt, sizeof(twcc_pkt));
    b[14] = 0;
    b[15] = 0;                           /* status count 0 */
    expect_bad(b, sizeof(twcc_pkt), -EBADMSG);
    memcpy(b, twcc_pkt, sizeof(twcc_pkt));
    b[20] = 0x60;                        /* run of reserved symbol 3 */
    expect_bad(b, sizeof(twcc_pkt), -EBADMSG);
    memcpy(b, twcc_pkt, sizeof(twcc_pkt));
    b[14] = 0x10;                        /* 4110 statuses: chunks run past the end */
    expect_bad(b, sizeof(twcc_pkt), -EBADMSG);

    /* SDES item running past the chunk, and a chunk with no END item */
    memcpy(b, sr_sdes + 52, 20);
    b[9] = 20;
    expect_bad(b, 20, -EBADMSG);
    memcpy(b, sr_sdes + 52, 20);
    b[9] = 10;
    expect_bad(b, 20, -EBADMSG);

    /* feedback shorter than its two SSRCs; BYE reason past the end */
    static const uint8_t short_fb[] = { 0x81, 0xce, 0x00, 0x01, 0, 0, 0, 1 };
    expect_bad(short_fb, sizeof(short_fb), -EBADMSG);
    static const uint8_t bad_bye[] = { 0x81, 0xcb, 0x00, 0x02, 0, 0, 0, 2, 9, 'x', 0, 0 };
    expect_bad(bad_bye, sizeof(bad_bye), -EBADMSG);

    expect_bad(NULL, 10, 0);
}

static void test_build_roundtrip(void **state)
{
    (void)state;
    uint8_t buf[1024];
    size_t off = 0;
    int n;
    struct rtcp_report_block rbs[2] = {
        { 0xaaaa, 12, 100, 0x2ffff, 44, 0x01020304, 65536 },
        { 0xbbbb, 0, -5, 7, 0, 0, 0 },
    };
    struct rtcp_sr_info sr = { 0x5555, 0x0102030405060708ull, 90000, 10, 12345 };
    struct rtcp_nack_item nacks[2] = { { 65535, 0x8001 }, { 100, 0 } };
    uint32_t remb_ssrcs[2] = { 0x1111, 0x2222 };
    uint32_t bye_ssrcs[2] = { 0x5555, 0x6666 };

    n = rtcp_build_sr(buf + off, sizeof(buf) - off, &sr, rbs, 2);
    assert_int_equal(n, 76);
    off += (size_t)n;
    n = rtcp_build_rr(buf + off, sizeof(buf) - off, 0x7777, rbs + 1, 1);
    assert_int_equal(n, 32);
    off += (size_t)n;
    n = rtcp_build_sdes_cname(buf + off, sizeof(buf) - off, 0x5555, "user@host", 9);
    assert_int_equal(n, 20); /* 8 + (2 + 9 + 1 -> 12) */
    off += (size_t)n;
    n = rtcp_build_pli(buf + off, sizeof(buf) - off, 1, 0x5555);
    assert_int_equal(n, 12);
    off += (size_t)n;
    n = rtcp_build_fir(buf + off, sizeof(buf) - off, 1, 0x5555, 9);
    assert_int_equal(n, 20);
    off += (size_t)n;
    n = rtcp_build_nack(buf + off, sizeof(buf) - off, 1, 0x5555, nacks, 2);
    assert_int_equal(n, 20);
    off += (size_t)n;
    n = rtcp_build_remb(buf + off, sizeof(buf) - off, 1, 2500000, remb_ssrcs, 2);
    assert_int_equal(n, 28);
    off += (size_t)n;
    n = rtcp_build_bye(buf + off, sizeof(buf) - off, bye_ssrcs, 2, "left", 4);
    assert_int_equal(n, 20);
    off += (size_t)n;

    struct rtcp_iter it;
    struct rtcp_pkt p;
    struct rtcp_report_block rb;
    rtcp_iter_init(&it, buf, off);
    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.kind, RTCP_K_SR);
    assert_int_equal(p.count, 2);
    assert_true(p.u.sr.info.ntp == sr.ntp);
    assert_int_equal(p.u.sr.info.rtp_ts, 90000);
    assert_int_equal(p.u.sr.info.packets, 10);
    assert_int_equal(p.u.sr.info.octets, 12345);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(rtcp_pkt_report_block(&p, i, &rb), 0);
        assert_int_equal(rb.ssrc, rbs[i].ssrc);
        assert_int_equal(rb.fraction_lost, rbs[i].fraction_lost);
        assert_int_equal(rb.cum_lost, rbs[i].cum_lost);
        assert_int_equal(rb.ext_high_seq, rbs[i].ext_high_seq);
        assert_int_equal(rb.jitter, rbs[i].jitter);
        assert_int_equal(rb.lsr, rbs[i].lsr);
        assert_int_equal(rb.dlsr, rbs[i].dlsr);
    }
    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.kind, RTCP_K_RR);
    assert_int_equal(p.ssrc, 0x7777);
    assert_int_equal(rtcp_pkt_report_block(&p, 0, &rb), 0);
    assert_int_equal(rb.cum_lost, -5);
    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.kind, RTCP_K_SDES);
    struct rtcp_sdes_iter si;
    struct rtcp_sdes_item item;
    rtcp_sdes_iter_init(&p, &si);
    assert_int_equal(rtcp_sdes_next(&si, &item), 1);
    assert_int_equal(item.len, 9);
    assert_memory_equal(item.text, "user@host", 9);
    assert_int_equal(rtcp_sdes_next(&si, &item), 0);
    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.kind, RTCP_K_PLI);
    assert_int_equal(p.media_ssrc, 0x5555);
    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.kind, RTCP_K_FIR);
    uint32_t ssrc;
    uint8_t nr;
    assert_int_equal(rtcp_pkt_fir_entry(&p, 0, &ssrc, &nr), 0);
    assert_int_equal(ssrc, 0x5555);
    assert_int_equal(nr, 9);
    assert_int_equal(p.media_ssrc, 0);
    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.kind, RTCP_K_NACK);
    assert_int_equal(p.u.nack.n_items, 2);
    struct rtcp_nack_item ni;
    assert_int_equal(rtcp_pkt_nack_item(&p, 0, &ni), 0);
    assert_int_equal(ni.pid, 65535);
    assert_int_equal(ni.blp, 0x8001);
    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.kind, RTCP_K_REMB);
    assert_int_equal(p.u.remb.bitrate, 2500000); /* 2500000 = 156250 << 4: exact */
    assert_int_equal(rtcp_pkt_ssrc(&p, 1), 0x2222);
    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.kind, RTCP_K_BYE);
    assert_int_equal(rtcp_pkt_ssrc(&p, 1), 0x6666);
    assert_int_equal(p.u.bye.reason_len, 4);
    assert_memory_equal(p.u.bye.reason, "left", 4);
    assert_int_equal(rtcp_iter_next(&it, &p), 0);

    /* REMB mantissa rounding: 18 bits kept */
    n = rtcp_build_remb(buf, sizeof(buf), 1, 1000003, NULL, 0);
    rtcp_iter_init(&it, buf, (size_t)n);
    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.u.remb.bitrate, 1000000); /* (1000003 >> 2) << 2 */

    /* too small buffers */
    assert_int_equal(rtcp_build_pli(buf, 11, 1, 2), -ENOBUFS);
    assert_int_equal(rtcp_build_sr(buf, 75, &sr, rbs, 2), -ENOBUFS);
    assert_int_equal(rtcp_build_rr(buf, 7, 1, NULL, 0), -ENOBUFS);
    assert_int_equal(rtcp_build_sdes_cname(buf, 19, 1, "user@host", 9), -ENOBUFS);
    assert_int_equal(rtcp_build_nack(buf, 19, 1, 2, nacks, 2), -ENOBUFS);
    assert_int_equal(rtcp_build_remb(buf, 27, 1, 5, remb_ssrcs, 2), -ENOBUFS);
    assert_int_equal(rtcp_build_bye(buf, 19, bye_ssrcs, 2, "left", 4), -ENOBUFS);
    assert_int_equal(rtcp_build_fir(buf, 19, 1, 2, 3), -ENOBUFS);
}

static void test_nack_pack(void **state)
{
    (void)state;
    static const uint16_t lost[] = { 65534, 65535, 0, 0, 5, 17, 18, 40 };
    struct rtcp_nack_item items[4];
    size_t used = 0;
    size_t n = rtcp_nack_pack(lost, 8, items, 4, &used);
    assert_int_equal(n, 3);
    assert_int_equal(used, 8);
    assert_int_equal(items[0].pid, 65534);
    assert_int_equal(items[0].blp, (1u << 0) | (1u << 1) | (1u << 6)); /* 65535, 0, 5 */
    assert_int_equal(items[1].pid, 17);
    assert_int_equal(items[1].blp, 1);
    assert_int_equal(items[2].pid, 40);
    assert_int_equal(items[2].blp, 0);

    uint16_t back[17];
    assert_int_equal(rtcp_nack_unpack(&items[0], back), 4);
    assert_int_equal(back[0], 65534);
    assert_int_equal(back[1], 65535);
    assert_int_equal(back[2], 0);
    assert_int_equal(back[3], 5);

    /* not enough items: the rest is left for the next packet */
    n = rtcp_nack_pack(lost, 8, items, 1, &used);
    assert_int_equal(n, 1);
    assert_int_equal(used, 5);

    /* all 17 covered by one item */
    uint16_t run[17];
    for (unsigned i = 0; i < 17; i++)
        run[i] = (uint16_t)(65530 + i);
    n = rtcp_nack_pack(run, 17, items, 4, &used);
    assert_int_equal(n, 1);
    assert_int_equal(items[0].blp, 0xffff);
    assert_int_equal(rtcp_nack_unpack(&items[0], back), 17);
    assert_int_equal(back[16], 10);
}

/* Parse a feedback built by rtcp_build_twcc and compare with the arrivals. */
static void check_twcc(const uint8_t *buf, int len, const struct rtcp_twcc_arrival *arr,
                       size_t n, unsigned *rle, unsigned *vec)
{
    struct rtcp_iter it;
    struct rtcp_pkt p;
    assert_true(len > 0 && len % 4 == 0);
    rtcp_iter_init(&it, buf, (size_t)len);
    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.kind, RTCP_K_TWCC);
    assert_int_equal(p.u.twcc.base_seq, arr[0].seq);
    for (size_t c = 0; c < p.u.twcc.n_chunks; c++) {
        if (p.u.twcc.chunks[2 * c] & 0x80)
            (*vec)++;
        else
            (*rle)++;
    }
    struct rtcp_twcc_iter ti;
    struct rtcp_twcc_status st;
    size_t a = 0;
    rtcp_twcc_iter_init(&p.u.twcc, &ti);
    while (rtcp_twcc_next(&ti, &st) == 1) {
        if (a < n && st.seq == arr[a].seq) {
            assert_int_not_equal(st.symbol, RTCP_TWCC_NOT_RECEIVED);
            assert_int_equal(st.arrival_us, arr[a].arrival_us / 250 * 250);
            a++;
        } else {
            assert_int_equal(st.symbol, RTCP_TWCC_NOT_RECEIVED);
        }
    }
    assert_int_equal(a, n);
    assert_int_equal(st.seq, arr[n - 1].seq); /* the last status is the last arrival */
    assert_int_equal(rtcp_iter_next(&it, &p), 0);
}

static void test_twcc_build(void **state)
{
    (void)state;
    struct rtcp_twcc_arrival arr[40];
    size_t n = 0;
    arr[n++] = (struct rtcp_twcc_arrival){ 65530, 1000000 };
    arr[n++] = (struct rtcp_twcc_arrival){ 65531, 1000250 };
    arr[n++] = (struct rtcp_twcc_arrival){ 65533, 1001000 };
    arr[n++] = (struct rtcp_twcc_arrival){ 65534, 1000000 }; /* negative delta */
    arr[n++] = (struct rtcp_twcc_arrival){ 0, 1100000 };     /* +100 ms: large delta */
    for (uint16_t s = 1; s <= 20; s++)                        /* 20 small deltas in a row */
        arr[n++] = (struct rtcp_twcc_arrival){ s, 1100000 + 1000 * (int64_t)s };
    arr[n++] = (struct rtcp_twcc_arrival){ 200, 1130000 };   /* 179 lost before it */
    arr[n++] = (struct rtcp_twcc_arrival){ 201, 1130100 };

    uint8_t buf[512];
    size_t used = 0;
    unsigned rle = 0, vec = 0;
    int len = rtcp_build_twcc(buf, sizeof(buf), 1, 2, 7, arr, n, &used);
    assert_true(len > 0);
    assert_int_equal(used, n);
    assert_int_equal(buf[0] & 0x1f, 15);
    assert_int_equal(buf[1], 205);
    assert_int_equal(buf[19], 7); /* fb count */
    check_twcc(buf, len, arr, n, &rle, &vec);
    assert_true(rle >= 2); /* the 20 small deltas and the 179 losses */
    assert_true(vec >= 1); /* the mixed start */

    /* a small buffer: split over several feedback packets */
    size_t done = 0;
    unsigned packets = 0;
    while (done < n) {
        len = rtcp_build_twcc(buf, 36, 1, 2, (uint8_t)packets, arr + done, n - done, &used);
        assert_true(len > 0 && len <= 36);
        assert_true(used >= 1);
        check_twcc(buf, len, arr + done, used, &rle, &vec);
        done += used;
        packets++;
    }
    assert_true(packets > 1);

    /* a gap larger than a 16-bit delta (8.19 s) ends the feedback */
    struct rtcp_twcc_arrival gap[3] = { { 1, 0 }, { 2, 1000 }, { 3, 20000000 } };
    len = rtcp_build_twcc(buf, sizeof(buf), 1, 2, 0, gap, 3, &used);
    assert_true(len > 0);
    assert_int_equal(used, 2);
    /* a repeated seq ends it too */
    struct rtcp_twcc_arrival dup[3] = { { 1, 0 }, { 1, 1000 }, { 3, 2000 } };
    len = rtcp_build_twcc(buf, sizeof(buf), 1, 2, 0, dup, 3, &used);
    assert_true(len > 0);
    assert_int_equal(used, 1);

    assert_int_equal(rtcp_build_twcc(buf, 23, 1, 2, 0, arr, n, &used), -ENOBUFS);
    assert_int_equal(rtcp_build_twcc(buf, sizeof(buf), 1, 2, 0, arr, 0, &used), -EINVAL);
}

/* A receiver's feedback starts where its previous one ended: packets lost before the first
 * arrival are reported as not received, across the seq wrap, and the split over several
 * packets goes on from the base each time. */
static void test_twcc_build_from(void **state)
{
    (void)state;
    static const struct rtcp_twcc_arrival arr[] = {
        { 2, 5000000 }, { 3, 5000500 }, { 9, 5020000 }, { 10, 5020250 },
    };
    uint8_t buf[256];
    size_t used = 0;
    /* base 65530: 65530..65535 and 0, 1 lost, then 2 3 received, 4..8 lost, 9 10 received */
    int len = rtcp_build_twcc_from(buf, sizeof(buf), 1, 2, 3, 65530, arr, 4, &used);
    assert_true(len > 0 && len % 4 == 0);
    assert_int_equal(used, 4);
    struct rtcp_iter it;
    struct rtcp_pkt p;
    rtcp_iter_init(&it, buf, (size_t)len);
    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.kind, RTCP_K_TWCC);
    assert_int_equal(p.u.twcc.base_seq, 65530);
    assert_int_equal(p.u.twcc.status_count, 17);
    assert_int_equal(p.u.twcc.fb_count, 3);
    struct rtcp_twcc_iter ti;
    struct rtcp_twcc_status st;
    rtcp_twcc_iter_init(&p.u.twcc, &ti);
    size_t a = 0;
    unsigned lost = 0, n = 0;
    while (rtcp_twcc_next(&ti, &st) == 1) {
        assert_int_equal(st.seq, (uint16_t)(65530 + n));
        n++;
        if (a < 4 && st.seq == arr[a].seq) {
            assert_int_not_equal(st.symbol, RTCP_TWCC_NOT_RECEIVED);
            assert_int_equal(st.arrival_us, arr[a].arrival_us / 250 * 250);
            a++;
        } else {
            assert_int_equal(st.symbol, RTCP_TWCC_NOT_RECEIVED);
            lost++;
        }
    }
    assert_int_equal(n, 17);
    assert_int_equal(a, 4);
    assert_int_equal(lost, 13);
    /* the same arrivals from their own first seq give rtcp_build_twcc's bytes */
    uint8_t same[256];
    size_t used2;
    int len2 = rtcp_build_twcc(same, sizeof(same), 1, 2, 3, arr, 4, &used2);
    assert_int_equal(rtcp_build_twcc_from(buf, sizeof(buf), 1, 2, 3, 2, arr, 4, &used), len2);
    assert_memory_equal(buf, same, (size_t)len2);
    /* a small buffer: the first packet keeps the base, the caller goes on from the next arrival */
    len = rtcp_build_twcc_from(buf, 24, 1, 2, 0, 65530, arr, 4, &used);
    assert_true(len > 0 && len <= 24);
    assert_int_equal(used, 2); /* one chunk for the 10 statuses up to seq 3, two deltas */
    assert_int_equal(buf[12] << 8 | buf[13], 65530);
    /* a base after the first arrival, or 32768 or more before it, is refused */
    assert_int_equal(rtcp_build_twcc_from(buf, sizeof(buf), 1, 2, 0, 3, arr, 4, &used), -EINVAL);
    assert_int_equal(rtcp_build_twcc_from(buf, sizeof(buf), 1, 2, 0, (uint16_t)(2 - 0x8000), arr, 4, &used),
                     -EINVAL);
    /* just under: 32767 statuses lost, then the arrivals */
    len = rtcp_build_twcc_from(buf, sizeof(buf), 1, 2, 0, (uint16_t)(2 - 0x7fff), arr, 4, &used);
    assert_true(len > 0);
    assert_int_equal(used, 4);
    rtcp_iter_init(&it, buf, (size_t)len);
    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.u.twcc.status_count, 0x7fff + 9);
}

/* Exact encoder output for three small feedbacks, worked out by hand from the draft:
 * which chunk kind is chosen, the 1- vs 2-byte delta choice, and the padding. */
static void test_twcc_build_exact(void **state)
{
    (void)state;
    uint8_t buf[128];
    size_t used;
    /* 2-bit vector [1 1 0 2]: deltas 4, 128 (still one byte), -4 (two bytes) */
    static const struct rtcp_twcc_arrival a1[] = { { 10, 641000 }, { 11, 673000 }, { 13, 672000 } };
    static const uint8_t e1[] = {
        0xaf, 0xcd, 0x00, 0x06, 0, 0, 0, 1, 0, 0, 0, 2,
        0x00, 0x0a, 0x00, 0x04, 0x00, 0x00, 0x0a, 0x09,   /* base 10, 4 statuses, ref 10 */
        0xd4, 0x80,                                        /* 11 01 01 00 10 ... */
        0x04, 0x80, 0xff, 0xfc, 0x00, 0x02,
    };
    int len = rtcp_build_twcc(buf, sizeof(buf), 1, 2, 9, a1, 3, &used);
    assert_int_equal(len, sizeof(e1));
    assert_int_equal(used, 3);
    assert_memory_equal(buf, e1, sizeof(e1));

    /* run length of 20 received, then a 1-bit vector [0 1 0 1] */
    struct rtcp_twcc_arrival a2[22];
    for (unsigned i = 0; i < 20; i++)
        a2[i] = (struct rtcp_twcc_arrival){ (uint16_t)i, 1000 * (int64_t)i };
    a2[20] = (struct rtcp_twcc_arrival){ 21, 21000 };
    a2[21] = (struct rtcp_twcc_arrival){ 23, 23000 };
    uint8_t e2[48] = {
        0xaf, 0xcd, 0x00, 0x0b, 0, 0, 0, 1, 0, 0, 0, 2,
        0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00,   /* base 0, 24 statuses, ref 0 */
        0x20, 0x14, 0x94, 0x00,                            /* RLE 20 x 1; 1-bit 0101 */
    };
    memset(e2 + 24, 4, 20);
    e2[24] = 0;
    e2[44] = 8;
    e2[45] = 8;
    e2[46] = 0;
    e2[47] = 2;
    len = rtcp_build_twcc(buf, sizeof(buf), 1, 2, 0, a2, 22, &used);
    assert_int_equal(len, sizeof(e2));
    assert_memory_equal(buf, e2, sizeof(e2));

    /* 8 received in a run, then [2 1] as a 2-bit vector; one byte of padding */
    struct rtcp_twcc_arrival a3[10];
    for (unsigned i = 0; i < 8; i++)
        a3[i] = (struct rtcp_twcc_arrival){ (uint16_t)(100 + i), 64000 + 1000 * (int64_t)i };
    a3[8] = (struct rtcp_twcc_arrival){ 108, 171000 };
    a3[9] = (struct rtcp_twcc_arrival){ 109, 172000 };
    static const uint8_t e3[] = {
        0xaf, 0xcd, 0x00, 0x08, 0, 0, 0, 1, 0, 0, 0, 2,
        0x00, 0x64, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x00,   /* base 100, 10 statuses, ref 1 */
        0x20, 0x08, 0xe4, 0x00,                            /* RLE 8 x 1; 2-bit [2 1] */
        0x00, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x01, 0x90, 0x04,
        0x01,                                              /* padding count 1 */
    };
    len = rtcp_build_twcc(buf, sizeof(buf), 1, 2, 0, a3, 10, &used);
    assert_int_equal(len, sizeof(e3));
    assert_memory_equal(buf, e3, sizeof(e3));
}

static void test_sr_rewrite_and_ntp(void **state)
{
    (void)state;
    uint8_t b[sizeof(sr_sdes)];
    memcpy(b, sr_sdes, sizeof(b));
    assert_int_equal(rtcp_sr_rewrite(b, 52, 0x55, 0xffffffffu), 0);
    struct rtcp_iter it;
    struct rtcp_pkt p;
    rtcp_iter_init(&it, b, sizeof(b));
    assert_int_equal(rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.ssrc, 0x55);
    assert_int_equal(p.u.sr.info.rtp_ts, 123455);
    assert_memory_equal(b + 8, sr_sdes + 8, 8);     /* NTP untouched */
    assert_memory_equal(b + 20, sr_sdes + 20, 32);  /* counts and report block untouched */
    assert_int_equal(rtcp_sr_rewrite(b + 52, 20, 1, 0), -EINVAL); /* SDES */
    assert_int_equal(rtcp_sr_rewrite(b, 27, 1, 0), -EBADMSG);

    assert_true(rtcp_ntp_from_unix_us(0) == (2208988800ull << 32));
    assert_true(rtcp_ntp_from_unix_us(1500000) == ((2208988801ull << 32) | 0x80000000u));
    assert_int_equal(rtcp_ntp_mid32(0x0001234567890000ull), 0x23456789);
}

static void test_rx_stats_loss(void **state)
{
    (void)state;
    struct rtcp_rx_stats s;
    struct rtcp_report_block rb;
    rtcp_rx_stats_init(&s, 77);
    rtcp_rx_stats_report(&s, 0, &rb);
    assert_int_equal(rb.ssrc, 77);
    assert_int_equal(rb.ext_high_seq, 0);

    static const uint16_t first[] = { 65533, 65534, 65535, 0, 2, 3 }; /* 1 lost */
    for (size_t i = 0; i < 6; i++)
        rtcp_rx_stats_update(&s, first[i], 3000u * (uint32_t)i, 3000u * (uint32_t)i + 500);
    rtcp_rx_stats_report(&s, 0, &rb);
    assert_int_equal(rb.ssrc, 77);
    assert_int_equal(rb.ext_high_seq, 0x10003);
    assert_int_equal(rb.cum_lost, 1);
    assert_int_equal(rb.fraction_lost, 256 / 7);
    assert_int_equal(rb.jitter, 0); /* constant transit */
    assert_int_equal(rb.lsr, 0);
    assert_int_equal(rb.dlsr, 0);

    static const uint16_t second[] = { 4, 5, 7, 8, 8 }; /* 6 lost, 8 duplicated */
    for (size_t i = 0; i < 5; i++)
        rtcp_rx_stats_update(&s, second[i], 0, 500);
    rtcp_rx_stats_on_sr(&s, 0xe87f3b2a80000000ull, 1000000);
    rtcp_rx_stats_report(&s, 1500000, &rb);
    assert_int_equal(rb.ext_high_seq, 0x10008);
    assert_int_equal(rb.cum_lost, 1);     /* 12 expected, 11 received (one duplicate) */
    assert_int_equal(rb.fraction_lost, 0); /* 5 expected, 5 received this interval */
    assert_int_equal(rb.lsr, 0x3b2a8000);
    assert_int_equal(rb.dlsr, 32768);     /* 0.5 s in 1/65536 s */

    /* a jump is ignored until a second sequential packet confirms a restart */
    rtcp_rx_stats_update(&s, 30000, 0, 500);
    rtcp_rx_stats_report(&s, 1500000, &rb);
    assert_int_equal(rb.ext_high_seq, 0x10008);
    rtcp_rx_stats_update(&s, 30001, 0, 500);
    rtcp_rx_stats_update(&s, 30002, 0, 500);
    rtcp_rx_stats_report(&s, 1500000, &rb);
    assert_int_equal(rb.ext_high_seq, 30002);
    assert_int_equal(rb.cum_lost, 0);
}

static void test_rx_stats_jitter(void **state)
{
    (void)state;
    struct rtcp_rx_stats s;
    struct rtcp_report_block rb;
    double j = 0;
    uint32_t prev_transit = 0;
    rtcp_rx_stats_init(&s, 1);
    for (uint32_t i = 0; i < 200; i++) {
        uint32_t ts = 960 * i;
        uint32_t arrival = ts + 10000 + (i % 3 == 0 ? 0 : 240) + (i % 7) * 30;
        rtcp_rx_stats_update(&s, (uint16_t)(100 + i), ts, arrival);
        uint32_t transit = arrival - ts;
        if (i > 0)
            j += (fabs((double)(int32_t)(transit - prev_transit)) - j) / 16.0;
        prev_transit = transit;
    }
    rtcp_rx_stats_report(&s, 0, &rb);
    assert_true(j > 50.0);
    assert_true(fabs((double)rb.jitter - j) <= 1.0);
    assert_int_equal(rb.cum_lost, 0);
    assert_int_equal(rb.ext_high_seq, 299);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rr_remb),
        cmocka_unit_test(test_sr_sdes),
        cmocka_unit_test(test_twcc_parse),
        cmocka_unit_test(test_feedback_parse),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_build_roundtrip),
        cmocka_unit_test(test_nack_pack),
        cmocka_unit_test(test_twcc_build),
        cmocka_unit_test(test_twcc_build_exact),
        cmocka_unit_test(test_twcc_build_from),
        cmocka_unit_test(test_sr_rewrite_and_ntp),
        cmocka_unit_test(test_rx_stats_loss),
        cmocka_unit_test(test_rx_stats_jitter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
