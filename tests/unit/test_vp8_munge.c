/* test_vp8_munge.c - sfu/vp8_munge: VP8 descriptors rewritten across simulcast switches and
 * temporal-layer drops, on synthetic packets built here and read back with rtp_vp8_parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "sfu/rtp.h"
#include "sfu/vp8_munge.h"

/* One packet's descriptor fields; bits 15, 7, or 0 (no picture id); tl0 < 0: no TL0PICIDX;
 * tid < 0: no T; keyidx < 0: no K. */
typedef struct {
    int bits;
    int picid;
    int tl0;
    int tid;
    int keyidx;
    int key; /* a keyframe: S=1, PID 0, P bit 0 */
} desc_t;

typedef struct {
    uint8_t b[32];
    size_t len;
    struct rtp_vp8 d;
} pkt_t;

static pkt_t make(desc_t x)
{
    pkt_t p;
    memset(&p, 0, sizeof(p));
    size_t o = 0;
    uint8_t xb = 0;
    if (x.bits)
        xb |= 0x80;
    if (x.tl0 >= 0)
        xb |= 0x40;
    if (x.tid >= 0)
        xb |= 0x20;
    if (x.keyidx >= 0)
        xb |= 0x10;
    p.b[o++] = (uint8_t)((xb ? 0x80 : 0) | 0x10); /* X, S, PID 0 */
    if (xb)
        p.b[o++] = xb;
    if (x.bits == 15) {
        p.b[o++] = (uint8_t)(0x80 | (x.picid >> 8));
        p.b[o++] = (uint8_t)x.picid;
    } else if (x.bits == 7) {
        p.b[o++] = (uint8_t)(x.picid & 0x7f);
    }
    if (x.tl0 >= 0)
        p.b[o++] = (uint8_t)x.tl0;
    if (x.tid >= 0 || x.keyidx >= 0)
        p.b[o++] = (uint8_t)(((x.tid > 0 ? x.tid : 0) << 6) | (x.keyidx > 0 ? x.keyidx : 0));
    p.b[o++] = x.key ? 0x00 : 0x01; /* VP8 payload header: P bit */
    p.b[o++] = 0xaa;
    p.len = o;
    assert_int_equal(rtp_vp8_parse(p.b, p.len, &p.d), 0);
    return p;
}

/* Forwards one packet of src through m; returns what the receiver parses. */
static struct rtp_vp8 fwd(struct vp8_munge *m, uint32_t src, desc_t x)
{
    pkt_t p = make(x);
    uint8_t before[32];
    memcpy(before, p.b, p.len);
    assert_int_equal(vp8_munge_forward(m, src, p.b, p.len, &p.d), 0);
    struct rtp_vp8 out;
    assert_int_equal(rtp_vp8_parse(p.b, p.len, &out), 0);
    /* nothing but the numbers changed */
    assert_int_equal(out.desc_len, p.d.desc_len);
    assert_int_equal(out.keyframe, p.d.keyframe);
    assert_int_equal(out.tid, p.d.tid);
    assert_memory_equal(p.b + p.d.desc_len, before + p.d.desc_len, p.len - p.d.desc_len);
    return out;
}

static void drop(struct vp8_munge *m, uint32_t src, desc_t x)
{
    pkt_t p = make(x);
    vp8_munge_drop(m, src, &p.d);
}

static desc_t pic(int picid, int tl0, int tid, int keyidx, int key)
{
    desc_t x = {15, picid, tl0, tid, keyidx, key};
    return x;
}

/* The first source passes unchanged. */
static void test_first_source_unchanged(void **state)
{
    (void)state;
    struct vp8_munge m;
    vp8_munge_init(&m);
    for (int i = 0; i < 10; i++) {
        struct rtp_vp8 o = fwd(&m, 1, pic(1000 + i, 50 + i, 0, 3, i == 0));
        assert_int_equal(o.picid, 1000 + i);
        assert_int_equal(o.picid_bits, 15);
        assert_int_equal(o.tl0picidx, 50 + i);
        assert_int_equal(o.keyidx, 3);
    }
}

/* A switch to another layer at its keyframe, or back to the same one after a pause: every number
 * continues from the last one sent. */
static void test_switch_continues_numbering(void **state)
{
    (void)state;
    struct vp8_munge m;
    vp8_munge_init(&m);
    for (int i = 0; i < 5; i++)
        fwd(&m, 0xa, pic(100 + i, 10 + i, 0, 7, i == 0));
    /* last sent: picid 104, tl0 14, keyidx 7 */
    struct rtp_vp8 o = fwd(&m, 0xb, pic(31000, 200, 0, 30, 1));
    assert_int_equal(o.picid, 105);
    assert_int_equal(o.tl0picidx, 15);
    assert_int_equal(o.keyidx, 8);
    /* the rest of B follows, wrapping its 15-bit ids on the way */
    int picid = 31000;
    for (int i = 1; i < 2000; i++) {
        picid = (picid + 1) & 0x7fff;
        o = fwd(&m, 0xb, pic(picid, (200 + i) & 0xff, 0, 30, 0));
        assert_int_equal(o.picid, (105 + i) & 0x7fff);
        assert_int_equal(o.tl0picidx, (15 + i) & 0xff);
        assert_int_equal(o.keyidx, 8);
    }
    /* and back to A: continues again */
    o = fwd(&m, 0xa, pic(4000, 99, 0, 1, 1));
    assert_int_equal(o.picid, (105 + 2000) & 0x7fff);
    assert_int_equal(o.tl0picidx, (15 + 2000) & 0xff);
    assert_int_equal(o.keyidx, 9);
    /* A resumed after a pause, its ids moved on by more than half their space: held back as older,
     * unless resynchronized, and then it continues too */
    pkt_t resumed = make(pic(4000 + 20000, 99 + 200, 0, 1, 1));
    struct vp8_munge held = m;
    assert_int_equal(vp8_munge_forward(&held, 0xa, resumed.b, resumed.len, &resumed.d), -ESTALE);
    vp8_munge_resync(&m);
    o = fwd(&m, 0xa, pic(4000 + 20000, 99 + 200, 0, 1, 1));
    assert_int_equal(o.picid, (106 + 2000) & 0x7fff);
    assert_int_equal(o.tl0picidx, (16 + 2000) & 0xff);
    assert_int_equal(o.keyidx, 10);
}

/* L1T3 (TIDs 0 2 1 2 0 2 1 2 ...), the top temporal layer dropped: the forwarded pictures are
 * numbered without gaps, TL0PICIDX is untouched. Each picture is three packets. */
static void test_temporal_drop_keeps_ids_consecutive(void **state)
{
    (void)state;
    static const int pattern[4] = {0, 2, 1, 2};
    struct vp8_munge m;
    vp8_munge_init(&m);
    int expect = 500, tl0 = 20;
    for (int i = 0; i < 400; i++) {
        int tid = pattern[i % 4];
        if (tid == 0 && i > 0)
            tl0++;
        desc_t x = pic(500 + i, tl0 & 0xff, tid, 0, i == 0);
        for (int part = 0; part < 3; part++) {
            if (tid == 2) {
                drop(&m, 1, x);
                continue;
            }
            struct rtp_vp8 o = fwd(&m, 1, x);
            assert_int_equal(o.picid, expect & 0x7fff);
            assert_int_equal(o.tl0picidx, tl0 & 0xff);
            x.key = 0;
        }
        if (tid != 2)
            expect++;
    }
    /* only TID 0 now: two of every four pictures dropped, in a row */
    for (int i = 400; i < 800; i++) {
        int tid = pattern[i % 4];
        if (tid == 0)
            tl0++;
        if (tid != 0) {
            drop(&m, 1, pic(500 + i, tl0 & 0xff, tid, 0, 0));
            continue;
        }
        struct rtp_vp8 o = fwd(&m, 1, pic(500 + i, tl0 & 0xff, 0, 0, 0));
        assert_int_equal(o.picid, expect & 0x7fff);
        expect++;
    }
}

/* Packets out of order map as they would in order; a late drop leaves a gap instead of
 * renumbering what was already sent. */
static void test_reordering(void **state)
{
    (void)state;
    struct vp8_munge m;
    vp8_munge_init(&m);
    assert_int_equal(fwd(&m, 1, pic(10, 1, 0, 0, 1)).picid, 10);
    drop(&m, 1, pic(11, 1, 2, 0, 0));
    assert_int_equal(fwd(&m, 1, pic(13, 1, 2, 0, 0)).picid, 12); /* 12 still to come */
    assert_int_equal(fwd(&m, 1, pic(12, 1, 1, 0, 0)).picid, 11);
    assert_int_equal(fwd(&m, 1, pic(13, 1, 2, 0, 0)).picid, 12); /* its second packet */
    assert_int_equal(fwd(&m, 1, pic(10, 1, 0, 0, 0)).picid, 10); /* a late part of the first */
    drop(&m, 1, pic(12, 1, 1, 0, 0)); /* late: nothing changes */
    assert_int_equal(fwd(&m, 1, pic(14, 2, 0, 0, 0)).picid, 13);
    /* a picture that is newer than everything but skips one (lost upstream): the gap stays */
    assert_int_equal(fwd(&m, 1, pic(16, 3, 0, 0, 0)).picid, 15);
    assert_int_equal(fwd(&m, 1, pic(15, 2, 2, 0, 0)).picid, 14);
}

/* What vp8_munge_again gives a packet sent before: the numbers it went with, m untouched. */
static struct rtp_vp8 again(const struct vp8_munge *m, uint32_t src, desc_t x, int expect_rc)
{
    pkt_t p = make(x);
    struct vp8_munge before;
    memcpy(&before, m, sizeof(before));
    assert_int_equal(vp8_munge_again(m, src, p.b, p.len, &p.d), expect_rc);
    assert_memory_equal(&before, m, sizeof(before));
    struct rtp_vp8 out;
    assert_int_equal(rtp_vp8_parse(p.b, p.len, &out), 0);
    return out;
}

/* A retransmission (or a probe repeating a packet) goes with the descriptor it first went with:
 * after a switch and after temporal drops, for every packet sent since the switch; nothing for a
 * source switched away from, a picture never sent, or one older than the history. */
static void test_again_repeats_what_was_sent(void **state)
{
    (void)state;
    static const int pattern[4] = {0, 2, 1, 2};
    struct vp8_munge m;
    vp8_munge_init(&m);
    again(&m, 0xa, pic(100, 10, 0, 7, 1), -ENOENT); /* nothing sent yet */
    for (int i = 0; i < 5; i++)
        fwd(&m, 0xa, pic(100 + i, 10 + i, 0, 7, i == 0));
    assert_int_equal(again(&m, 0xa, pic(102, 12, 0, 7, 0), 0).picid, 102);
    /* switch to B, then its top temporal layer dropped: B's ids are not the receiver's */
    struct {
        desc_t in;
        struct rtp_vp8 out;
    } sent[64];
    size_t n = 0;
    int tl0 = 200;
    for (int i = 0; i < 64; i++) {
        int tid = pattern[i % 4];
        if (tid == 0 && i > 0)
            tl0++;
        desc_t x = pic((32760 + i) & 0x7fff, tl0 & 0xff, tid, 30, i == 0); /* wraps on the way */
        if (tid == 2 && i > 8) {
            drop(&m, 0xb, x);
            continue;
        }
        sent[n].in = x;
        sent[n++].out = fwd(&m, 0xb, x);
    }
    assert_int_equal(sent[0].out.picid, 105);
    /* every packet sent in the history's reach goes again as it went; older ones are refused */
    size_t refused = 0;
    for (size_t k = 0; k < n; k++) {
        pkt_t p = make(sent[k].in);
        int rc = vp8_munge_again(&m, 0xb, p.b, p.len, &p.d);
        if (rc == -ESTALE) {
            refused++;
            assert_int_equal(refused, k + 1); /* only the oldest */
            continue;
        }
        assert_int_equal(rc, 0);
        struct rtp_vp8 o = again(&m, 0xb, sent[k].in, 0);
        assert_int_equal(o.picid, sent[k].out.picid);
        assert_int_equal(o.tl0picidx, sent[k].out.tl0picidx);
        assert_int_equal(o.keyidx, sent[k].out.keyidx);
        assert_int_not_equal(o.picid, sent[k].in.picid);
    }
    assert_true(refused < n);
    /* A's packets are B's numbers no longer; a picture of B never sent is no retransmission */
    again(&m, 0xa, pic(103, 13, 0, 7, 0), -ENOENT);
    again(&m, 0xb, pic((32760 + 64) & 0x7fff, (tl0 + 1) & 0xff, 0, 30, 0), -ENOENT);
    /* 7-bit ids of the same source are another source: not mapped */
    desc_t narrow = {7, 5, tl0 & 0xff, 0, 30, 0};
    again(&m, 0xb, narrow, -ENOENT);
    /* after a resync nothing of the old segment maps until the next packet is forwarded */
    vp8_munge_resync(&m);
    again(&m, 0xb, sent[n - 1].in, -ENOENT);
}

/* More drops than the history holds: packets older than the oldest offset are refused. */
static void test_history_limit(void **state)
{
    (void)state;
    struct vp8_munge m;
    vp8_munge_init(&m);
    fwd(&m, 1, pic(0, 0, 0, 0, 1));
    int picid = 1;
    for (int i = 0; i < 3 * VP8_MUNGE_HISTORY; i++) {
        fwd(&m, 1, pic(picid++, 0, 0, 0, 0));
        drop(&m, 1, pic(picid++, 0, 2, 0, 0));
    }
    assert_true(m.n_seg <= VP8_MUNGE_HISTORY);
    pkt_t p = make(pic(1, 0, 0, 0, 0));
    assert_int_equal(vp8_munge_forward(&m, 1, p.b, p.len, &p.d), -ESTALE);
    /* the newest still map: picid 2k-1 forwarded as k */
    assert_int_equal(fwd(&m, 1, pic(picid - 2, 0, 0, 0, 0)).picid, (picid - 2 + 1) / 2);
}

/* 7-bit picture ids wrap at 128; a source with 7-bit ids after one with 15-bit ids continues
 * modulo 128; fields a packet does not carry are left alone. */
static void test_widths_and_missing_fields(void **state)
{
    (void)state;
    struct vp8_munge m;
    vp8_munge_init(&m);
    desc_t x = {7, 120, -1, -1, -1, 1};
    for (int i = 0; i < 20; i++) {
        x.picid = (120 + i) & 0x7f;
        struct rtp_vp8 o = fwd(&m, 5, x);
        assert_int_equal(o.picid_bits, 7);
        assert_int_equal(o.picid, (120 + i) & 0x7f);
        assert_false(o.has_tl0);
        x.key = 0;
    }
    /* last out: 139 & 127 = 11. A 15-bit source continues at 12. */
    assert_int_equal(fwd(&m, 6, pic(9000, 4, 0, 2, 1)).picid, 12);
    /* back to 7 bits on the same source id counts as a new source too */
    x.picid = 3;
    assert_int_equal(fwd(&m, 6, x).picid, 13);
    /* no picture id at all: passes, and TL0PICIDX still continues */
    desc_t none = {0, 0, 77, 0, -1, 1};
    struct rtp_vp8 o = fwd(&m, 7, none);
    assert_false(o.has_picid);
    assert_int_equal(o.tl0picidx, 5);
    /* no extension byte at all */
    desc_t bare = {0, 0, -1, -1, -1, 0};
    o = fwd(&m, 7, bare);
    assert_false(o.has_picid);
    /* drops of a source that is not current, or without ids, change nothing */
    struct vp8_munge before = m;
    drop(&m, 99, pic(1, 1, 2, 0, 0));
    drop(&m, 7, bare);
    assert_memory_equal(&before, &m, sizeof(m));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_source_unchanged),
        cmocka_unit_test(test_switch_continues_numbering),
        cmocka_unit_test(test_temporal_drop_keeps_ids_consecutive),
        cmocka_unit_test(test_reordering),
        cmocka_unit_test(test_again_repeats_what_was_sent),
        cmocka_unit_test(test_history_limit),
        cmocka_unit_test(test_widths_and_missing_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
