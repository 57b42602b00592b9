/*
 * test_rtx_cache.c - unit tests for sfu/rtx_cache.[ch]: store/lookup with content checks,
 * never-stored and evicted seqs, the 65535 -> 0 wrap, out-of-order stores, packets
 * older than the window, a restart far behind, the age limit and size limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "sfu/rtp.h"
#include "sfu/rtx_cache.h"

/* An RTP packet whose seq and payload identify it. */
static size_t make_pkt(uint8_t *buf, uint16_t seq, size_t payload_len)
{
    uint8_t payload[RTX_CACHE_SLOT_SIZE];
    for (size_t i = 0; i < payload_len; i++)
        payload[i] = (uint8_t)(seq + i);
    struct rtp_hdr h = { .pt = 96, .seq = seq, .ts = 3000u * seq, .ssrc = 0x1234 };
    int n = rtp_build(buf, RTX_CACHE_SLOT_SIZE, &h, payload, payload_len);
    assert_true(n > 0);
    return (size_t)n;
}

static void put(struct rtx_cache *c, uint16_t seq, uint64_t now)
{
    uint8_t buf[RTX_CACHE_SLOT_SIZE];
    size_t n = make_pkt(buf, seq, 100 + seq % 50);
    assert_int_equal(rtx_cache_put(c, seq, buf, n, now), 0);
}

/* Expect seq to be cached with the bytes make_pkt gives. */
static void expect_hit(const struct rtx_cache *c, uint16_t seq, uint64_t now)
{
    uint8_t want[RTX_CACHE_SLOT_SIZE];
    size_t n = make_pkt(want, seq, 100 + seq % 50);
    const uint8_t *got = NULL;
    size_t len = 0;
    assert_int_equal(rtx_cache_get(c, seq, now, &got, &len), 0);
    assert_int_equal(len, n);
    assert_memory_equal(got, want, n);
    struct rtp_view v;
    assert_int_equal(rtp_parse(&v, got, len), 0);
    assert_int_equal(v.seq, seq);
}

static void expect_miss(const struct rtx_cache *c, uint16_t seq, uint64_t now, int rc)
{
    const uint8_t *got = NULL;
    size_t len = 0;
    assert_int_equal(rtx_cache_get(c, seq, now, &got, &len), rc);
    assert_null(got);
}

static void test_create_args(void **state)
{
    (void)state;
    assert_null(rtx_cache_new(0, 0));
    assert_null(rtx_cache_new(15, 0));
    assert_null(rtx_cache_new(100, 0));    /* not a power of two */
    assert_null(rtx_cache_new(131072, 0)); /* more than 2^16 */
    struct rtx_cache *c = rtx_cache_new(1024, 1000000);
    assert_non_null(c);
    assert_int_equal(rtx_cache_slots(c), 1024);
    expect_miss(c, 0, 0, -ENOENT); /* empty */
    rtx_cache_free(c);
    rtx_cache_free(NULL);
}

static void test_put_get(void **state)
{
    (void)state;
    struct rtx_cache *c = rtx_cache_new(64, 0);
    for (uint16_t s = 1000; s < 1010; s++)
        put(c, s, s);
    for (uint16_t s = 1000; s < 1010; s++)
        expect_hit(c, s, 5000);
    expect_miss(c, 1010, 0, -ENOENT); /* newer than anything stored */
    expect_miss(c, 999, 0, -ENOENT);  /* before the first */
    expect_miss(c, 30000, 0, -ENOENT);

    /* a gap: 1011 never arrived */
    put(c, 1012, 0);
    expect_miss(c, 1011, 0, -ENOENT);
    expect_hit(c, 1012, 0);
    /* out of order: 1011 arrives late */
    put(c, 1011, 0);
    expect_hit(c, 1011, 0);
    expect_hit(c, 1012, 0);
    /* a duplicate store replaces the slot */
    put(c, 1011, 0);
    expect_hit(c, 1011, 0);
    rtx_cache_free(c);
}

static void test_eviction(void **state)
{
    (void)state;
    struct rtx_cache *c = rtx_cache_new(16, 0);
    for (uint16_t s = 0; s < 40; s++)
        put(c, s, 0);
    for (uint16_t s = 0; s < 24; s++)
        expect_miss(c, s, 0, -ENOENT); /* evicted */
    for (uint16_t s = 24; s < 40; s++)
        expect_hit(c, s, 0);
    /* a store older than the window is refused and changes nothing */
    uint8_t buf[RTX_CACHE_SLOT_SIZE];
    size_t n = make_pkt(buf, 20, 10);
    assert_int_equal(rtx_cache_put(c, 20, buf, n, 0), -ESTALE);
    expect_hit(c, 36, 0);
    expect_miss(c, 20, 0, -ENOENT);

    /* a jump forward by more than the window leaves nothing old retrievable */
    put(c, 1000, 0);
    expect_hit(c, 1000, 0);
    for (uint16_t s = 24; s < 40; s++)
        expect_miss(c, s, 0, -ENOENT);
    expect_miss(c, 999, 0, -ENOENT);
    rtx_cache_free(c);
}

static void test_wrap(void **state)
{
    (void)state;
    struct rtx_cache *c = rtx_cache_new(16, 0);
    for (uint32_t i = 0; i < 16; i++)
        put(c, (uint16_t)(65530 + i), 0); /* 65530..65535, 0..9 */
    for (uint32_t i = 0; i < 16; i++)
        expect_hit(c, (uint16_t)(65530 + i), 0);
    put(c, 10, 0); /* evicts 65530 */
    expect_miss(c, 65530, 0, -ENOENT);
    expect_hit(c, 65531, 0);
    expect_hit(c, 10, 0);
    /* a late store from before the wrap, inside the window */
    struct rtx_cache *d = rtx_cache_new(16, 0);
    put(d, 65535, 0);
    put(d, 1, 0);
    put(d, 0, 0);
    put(d, 65534, 0);
    expect_hit(d, 65534, 0);
    expect_hit(d, 65535, 0);
    expect_hit(d, 0, 0);
    expect_hit(d, 1, 0);
    expect_miss(d, 2, 0, -ENOENT);
    expect_miss(d, 65533, 0, -ENOENT);
    rtx_cache_free(d);
    rtx_cache_free(c);
}

static void test_restart_and_reset(void **state)
{
    (void)state;
    struct rtx_cache *c = rtx_cache_new(16, 0);
    for (uint16_t s = 30000; s < 30010; s++)
        put(c, s, 0);
    /* the source restarted far behind: the cache starts over */
    put(c, 100, 0);
    expect_hit(c, 100, 0);
    expect_miss(c, 30005, 0, -ENOENT);
    put(c, 101, 0);
    expect_hit(c, 101, 0);
    rtx_cache_reset(c);
    expect_miss(c, 101, 0, -ENOENT);
    put(c, 5, 0);
    expect_hit(c, 5, 0);
    rtx_cache_free(c);
}

static void test_age_and_size(void **state)
{
    (void)state;
    struct rtx_cache *c = rtx_cache_new(32, 1000000); /* 1 s */
    put(c, 1, 0);
    put(c, 2, 600000);
    expect_hit(c, 1, 1000000);
    expect_miss(c, 1, 1000001, -ESTALE);
    expect_hit(c, 2, 1500000);
    expect_miss(c, 2, 1700000, -ESTALE);

    uint8_t big[RTX_CACHE_SLOT_SIZE + 1];
    memset(big, 0x80, sizeof(big));
    assert_int_equal(rtx_cache_put(c, 3, big, sizeof(big), 0), -EMSGSIZE);
    assert_int_equal(rtx_cache_put(c, 3, big, 0, 0), -EMSGSIZE);
    assert_int_equal(rtx_cache_put(c, 3, big, RTX_CACHE_SLOT_SIZE, 0), 0);
    const uint8_t *got;
    size_t len;
    assert_int_equal(rtx_cache_get(c, 3, 0, &got, &len), 0);
    assert_int_equal(len, RTX_CACHE_SLOT_SIZE);
    assert_memory_equal(got, big, RTX_CACHE_SLOT_SIZE);
    rtx_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_args),
        cmocka_unit_test(test_put_get),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_wrap),
        cmocka_unit_test(test_restart_and_reset),
        cmocka_unit_test(test_age_and_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
