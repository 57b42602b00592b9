/*
 * test_rewrite.c - unit tests for sfu/rewrite.[ch]: pass-through of the first source,
 * the 65535 -> 0 wrap, out-of-order and duplicate input, a source switch (SSRC change)
 * with timestamp continuity from wall time, resync after a pause, on-purpose skips,
 * NACK translation back to the source, restart detection, the bounded history, and
 * rewrite_apply on a real packet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "sfu/rewrite.h"

#define OUT_SSRC 0xAAAA0001u
#define SRC_A 0x11111111u
#define SRC_B 0x22222222u

/* Map and expect to forward with this seq (and ts unless want_ts is ~0). */
static void fwd(struct rewrite *rw, uint32_t ssrc, uint16_t seq, uint32_t ts, uint64_t now,
                uint16_t want_seq, uint32_t want_ts)
{
    struct rewrite_out o;
    assert_int_equal(rewrite_map(rw, ssrc, seq, ts, now, &o), 0);
    assert_int_equal(o.seq, want_seq);
    if (want_ts != 0xffffffffu)
        assert_int_equal(o.ts, want_ts);
    assert_int_equal(o.ssrc, OUT_SSRC);
}

static int map_rc(struct rewrite *rw, uint32_t ssrc, uint16_t seq, uint32_t ts, uint64_t now)
{
    struct rewrite_out o;
    return rewrite_map(rw, ssrc, seq, ts, now, &o);
}

static void test_passthrough_wrap(void **state)
{
    (void)state;
    struct rewrite rw;
    rewrite_init(&rw, OUT_SSRC, 90000);
    uint16_t nack_src;
    assert_int_equal(rewrite_nack_to_source(&rw, 1, &nack_src), -ENOENT);
    static const uint16_t seqs[] = { 65533, 65534, 65535, 0, 1, 2 };
    for (unsigned i = 0; i < 6; i++)
        fwd(&rw, SRC_A, seqs[i], 1000u * i, 1000u * i, seqs[i], 1000u * i);
    /* late and duplicate packets across the wrap map as they did */
    fwd(&rw, SRC_A, 65535, 2000, 9000, 65535, 2000);
    fwd(&rw, SRC_A, 0, 3000, 9000, 0, 3000);
    assert_int_equal(rewrite_nack_to_source(&rw, 65534, &nack_src), 0);
    assert_int_equal(nack_src, 65534);
    assert_int_equal(rewrite_nack_to_source(&rw, 3, &nack_src), -ENOENT); /* not sent yet */
}

static void test_switch_source(void **state)
{
    (void)state;
    struct rewrite rw;
    rewrite_init(&rw, OUT_SSRC, 90000);
    /* publisher A: 30 fps video, one packet per frame */
    fwd(&rw, SRC_A, 1000, 3000, 0, 1000, 3000);
    fwd(&rw, SRC_A, 1001, 6000, 33333, 1001, 6000);
    fwd(&rw, SRC_A, 1002, 9000, 66666, 1002, 9000);
    /* A reconnects as B 100 ms later with unrelated seq and ts: output continues */
    fwd(&rw, SRC_B, 50000, 777777, 166666, 1003, 9000 + 9000);
    fwd(&rw, SRC_B, 50001, 780777, 200000, 1004, 21000);
    fwd(&rw, SRC_B, 50003, 783777, 233333, 1006, 24000);
    fwd(&rw, SRC_B, 50002, 783777, 240000, 1005, 24000); /* out of order */
    fwd(&rw, SRC_B, 50001, 780777, 250000, 1004, 21000); /* duplicate */
    fwd(&rw, SRC_B, 50004, 786777, 266666, 1007, 27000);
    /* B's packets from before the switch point are refused too */
    assert_int_equal(map_rc(&rw, SRC_B, 49999, 774777, 270000), -ESTALE);

    uint16_t src;
    assert_int_equal(rewrite_nack_to_source(&rw, 1005, &src), 0);
    assert_int_equal(src, 50002);
    assert_int_equal(rewrite_nack_to_source(&rw, 1003, &src), 0);
    assert_int_equal(src, 50000);
    assert_int_equal(rewrite_nack_to_source(&rw, 1002, &src), -ENOENT); /* A's */
    assert_int_equal(rewrite_nack_to_source(&rw, 1008, &src), -ENOENT); /* future */

    struct rewrite_out o;
    assert_int_equal(rewrite_lookup(&rw, 50002, 783777, &o), 0);
    assert_int_equal(o.seq, 1005);
    assert_int_equal(o.ts, 24000);
    assert_int_equal(rewrite_lookup(&rw, 50005, 0, &o), -ENOENT);
    assert_int_equal(rewrite_lookup(&rw, 49999, 0, &o), -ENOENT);

    /* switching back to A (e.g. a simulcast layer) is just another switch; the caller
     * passes only packets of the source it currently forwards */
    fwd(&rw, SRC_A, 1003, 12000, 300000, 1008, 27000 + 3000);
    /* an immediate switch still moves the timestamp forward (by one tick) */
    fwd(&rw, SRC_B, 60000, 5, 300000, 1009, 30001);
    assert_int_equal(rewrite_nack_to_source(&rw, 1007, &src), -ENOENT); /* B's */
    assert_int_equal(rewrite_nack_to_source(&rw, 1009, &src), 0);
    assert_int_equal(src, 60000);
}

static void test_switch_across_wrap(void **state)
{
    (void)state;
    struct rewrite rw;
    rewrite_init(&rw, OUT_SSRC, 48000);
    fwd(&rw, SRC_A, 65534, 960, 0, 65534, 960);
    fwd(&rw, SRC_A, 65535, 1920, 20000, 65535, 1920);
    /* new source; output wraps to 0; audio 48 kHz: 20 ms = 960 ticks */
    fwd(&rw, SRC_B, 65534, 5, 40000, 0, 2880);
    fwd(&rw, SRC_B, 0, 965 + 960, 80000, 2, 2880 + 1920);
    fwd(&rw, SRC_B, 65535, 965, 60000, 1, 3840);
    uint16_t src;
    assert_int_equal(rewrite_nack_to_source(&rw, 1, &src), 0);
    assert_int_equal(src, 65535);
    assert_int_equal(rewrite_nack_to_source(&rw, 65535, &src), -ENOENT); /* A's */
}

static void test_resync_after_pause(void **state)
{
    (void)state;
    struct rewrite rw;
    rewrite_init(&rw, OUT_SSRC, 48000);
    for (uint16_t s = 1; s <= 5; s++)
        fwd(&rw, SRC_A, s, 960u * s, 20000u * s, s, 960u * s);
    /* paused: packets 6..100 are not forwarded; resumed 2 s after the last one */
    rewrite_resync(&rw);
    fwd(&rw, SRC_A, 101, 960u * 101, 100000 + 2000000, 6, 960u * 5 + 96000);
    fwd(&rw, SRC_A, 102, 960u * 102, 100000 + 2020000, 7, 960u * 5 + 96000 + 960);
    /* packets before the resume point are from the paused stretch */
    assert_int_equal(map_rc(&rw, SRC_A, 100, 960u * 100, 2200000), -ESTALE);

    /* without a resync the gap would show: 103 -> 8, then 150 -> 55 */
    fwd(&rw, SRC_A, 103, 0, 2200000, 8, 0xffffffffu);
    fwd(&rw, SRC_A, 150, 0, 2300000, 55, 0xffffffffu);
}

static void test_skip(void **state)
{
    (void)state;
    struct rewrite rw;
    rewrite_init(&rw, OUT_SSRC, 90000);
    assert_int_equal(rewrite_skip(&rw, SRC_A, 1), -ESTALE); /* nothing started */
    fwd(&rw, SRC_A, 1, 0, 0, 1, 0);
    fwd(&rw, SRC_A, 2, 0, 0, 2, 0);
    assert_int_equal(rewrite_skip(&rw, SRC_A, 3), 0);
    fwd(&rw, SRC_A, 4, 0, 0, 3, 0);
    assert_int_equal(map_rc(&rw, SRC_A, 3, 0, 0), -EALREADY);
    fwd(&rw, SRC_A, 5, 0, 0, 4, 0);
    fwd(&rw, SRC_A, 7, 0, 0, 6, 0);   /* 6 is late */
    assert_int_equal(rewrite_skip(&rw, SRC_A, 8), 0);
    fwd(&rw, SRC_A, 9, 0, 0, 7, 0);
    fwd(&rw, SRC_A, 6, 0, 0, 5, 0);   /* late packet keeps its place */
    assert_int_equal(rewrite_skip(&rw, SRC_A, 6), -ESTALE); /* too late to skip */
    assert_int_equal(rewrite_skip(&rw, SRC_B, 10), -ESTALE); /* other source */

    /* consecutive skips */
    assert_int_equal(rewrite_skip(&rw, SRC_A, 10), 0);
    assert_int_equal(rewrite_skip(&rw, SRC_A, 11), 0);
    fwd(&rw, SRC_A, 12, 0, 0, 8, 0);
    assert_int_equal(rw.n_seg, 4); /* the two skips share one history entry */
    assert_int_equal(map_rc(&rw, SRC_A, 10, 0, 0), -EALREADY);
    assert_int_equal(map_rc(&rw, SRC_A, 11, 0, 0), -EALREADY);
    assert_int_equal(map_rc(&rw, SRC_A, 8, 0, 0), -EALREADY);

    static const struct { uint16_t out, src; } nack[] = {
        { 1, 1 }, { 2, 2 }, { 3, 4 }, { 4, 5 }, { 5, 6 }, { 6, 7 }, { 7, 9 }, { 8, 12 },
    };
    for (unsigned i = 0; i < sizeof(nack) / sizeof(nack[0]); i++) {
        uint16_t src = 0;
        assert_int_equal(rewrite_nack_to_source(&rw, nack[i].out, &src), 0);
        assert_int_equal(src, nack[i].src);
        struct rewrite_out o;
        assert_int_equal(rewrite_lookup(&rw, nack[i].src, 0, &o), 0);
        assert_int_equal(o.seq, nack[i].out);
    }
    uint16_t src;
    assert_int_equal(rewrite_nack_to_source(&rw, 9, &src), -ENOENT);
    struct rewrite_out o;
    assert_int_equal(rewrite_lookup(&rw, 11, 0, &o), -ENOENT); /* skipped */
}

static void test_skip_across_wrap(void **state)
{
    (void)state;
    struct rewrite rw;
    rewrite_init(&rw, OUT_SSRC, 90000);
    fwd(&rw, SRC_A, 65534, 0, 0, 65534, 0);
    assert_int_equal(rewrite_skip(&rw, SRC_A, 65535), 0);
    fwd(&rw, SRC_A, 0, 0, 0, 65535, 0);
    fwd(&rw, SRC_A, 1, 0, 0, 0, 0);
    uint16_t src;
    assert_int_equal(rewrite_nack_to_source(&rw, 65535, &src), 0);
    assert_int_equal(src, 0);
    assert_int_equal(rewrite_nack_to_source(&rw, 0, &src), 0);
    assert_int_equal(src, 1);
}

static void test_restart_same_ssrc(void **state)
{
    (void)state;
    struct rewrite rw;
    rewrite_init(&rw, OUT_SSRC, 90000);
    fwd(&rw, SRC_A, 100, 5000, 0, 100, 5000);
    fwd(&rw, SRC_A, 101, 8000, 33333, 101, 8000);
    /* same SSRC, seq jumps by far more than REWRITE_MAX_JUMP: re-anchored */
    fwd(&rw, SRC_A, 40000, 123, 133333, 102, 8000 + 9000);
    fwd(&rw, SRC_A, 40001, 3123, 166666, 103, 20000);
    /* a jump within the limit is loss, not a restart */
    fwd(&rw, SRC_A, 41001, 3123, 200000, 1103, 20000);
}

static void test_history_limit(void **state)
{
    (void)state;
    struct rewrite rw;
    rewrite_init(&rw, OUT_SSRC, 90000);
    fwd(&rw, SRC_A, 1, 0, 0, 1, 0);
    for (uint16_t k = 1; k <= 9; k++) {
        assert_int_equal(rewrite_skip(&rw, SRC_A, (uint16_t)(2 * k)), 0);
        fwd(&rw, SRC_A, (uint16_t)(2 * k + 1), 0, 0, (uint16_t)(k + 1), 0);
    }
    assert_int_equal(rw.n_seg, REWRITE_HISTORY);
    /* the oldest offsets were forgotten: too old to map consistently */
    assert_int_equal(map_rc(&rw, SRC_A, 1, 0, 0), -ESTALE);
    assert_int_equal(map_rc(&rw, SRC_A, 3, 0, 0), -ESTALE);
    assert_int_equal(map_rc(&rw, SRC_A, 4, 0, 0), -EALREADY);
    fwd(&rw, SRC_A, 5, 0, 0, 3, 0);
    fwd(&rw, SRC_A, 19, 0, 0, 10, 0);
    uint16_t src;
    assert_int_equal(rewrite_nack_to_source(&rw, 2, &src), -ENOENT);
    assert_int_equal(rewrite_nack_to_source(&rw, 3, &src), 0);
    assert_int_equal(src, 5);
}

static void test_apply_packet(void **state)
{
    (void)state;
    static const uint8_t tw[2] = { 0, 9 };
    static const uint8_t payload[4] = { 0x90, 0x80, 0x05, 0x00 };
    struct rtp_ext_elem ext = { 3, 2, tw };
    struct rtp_hdr h = { .pt = 96, .marker = 1, .seq = 500, .ts = 90000, .ssrc = SRC_A,
                         .ext = &ext, .n_ext = 1 };
    uint8_t pkt[64], scratch[64];
    int n = rtp_build(pkt, sizeof(pkt), &h, payload, sizeof(payload));
    assert_true(n > 0);
    struct rtp_view v, w;
    assert_int_equal(rtp_parse(&v, pkt, (size_t)n), 0);

    struct rewrite rw;
    rewrite_init(&rw, OUT_SSRC, 90000);
    fwd(&rw, SRC_B, 7, 100, 0, 7, 100);
    memcpy(scratch, pkt, (size_t)n);
    assert_int_equal(rewrite_apply(&rw, scratch, &v, 1000000), 0);
    assert_int_equal(rtp_parse(&w, scratch, (size_t)n), 0);
    assert_int_equal(w.ssrc, OUT_SSRC);
    assert_int_equal(w.seq, 8);
    assert_int_equal(w.ts, 100 + 90000); /* 1 s later at 90 kHz */
    assert_int_equal(w.pt, 96);
    assert_int_equal(w.marker, 1);
    assert_memory_equal(scratch + 12, pkt + 12, (size_t)n - 12); /* ext + payload intact */
    assert_int_equal(v.seq, 500); /* the source packet is untouched */

    /* refused packets leave the scratch buffer alone */
    memcpy(scratch, pkt, (size_t)n);
    rewrite_resync(&rw);
    assert_int_equal(map_rc(&rw, SRC_A, 600, 0, 1100000), 0);
    assert_int_equal(rewrite_apply(&rw, scratch, &v, 1200000), -ESTALE); /* seq 500 < 600 */
    assert_memory_equal(scratch, pkt, (size_t)n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_passthrough_wrap),
        cmocka_unit_test(test_switch_source),
        cmocka_unit_test(test_switch_across_wrap),
        cmocka_unit_test(test_resync_after_pause),
        cmocka_unit_test(test_skip),
        cmocka_unit_test(test_skip_across_wrap),
        cmocka_unit_test(test_restart_same_ssrc),
        cmocka_unit_test(test_history_limit),
        cmocka_unit_test(test_apply_packet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
