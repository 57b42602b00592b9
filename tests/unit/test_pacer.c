/* test_pacer.c - the pacer (sfu/pacer.c) in virtual time: what goes at once, what waits and when
 * it leaves, the rate it keeps over a burst, debts, a full queue, and a queue that grows too long. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "sfu/pacer.h"

typedef struct {
    int id;
} item;

/* Serves p every 1 ms from `from` to `to` (us): every item due is popped and counted as sent with
 * `bytes` each; returns how many left, and the time of the last one in *last. */
static int serve(pacer *p, int64_t from, int64_t to, size_t bytes, int *next_id, int64_t *last)
{
    int n = 0;
    for (int64_t t = from; t <= to; t += 1000) {
        item *it;
        while ((it = pacer_due(p, t)) != NULL) {
            assert_int_equal(it->id, *next_id); /* first in, first out */
            (*next_id)++;
            pacer_pop(p);
            pacer_sent(p, bytes, t);
            n++;
            *last = t;
        }
    }
    return n;
}

static void test_empty_sends_at_once(void **state)
{
    (void)state;
    assert_null(pacer_new(0, 8, 1000000));
    assert_null(pacer_new(8, 0, 1000000));
    pacer_free(NULL);
    pacer *p = pacer_new(16, sizeof(item), 1000000);
    assert_non_null(p);
    assert_int_equal(pacer_rate(p), 1000000);
    assert_true(pacer_may_send(p, 1000));
    assert_null(pacer_due(p, 1000));
    assert_null(pacer_front(p));
    pacer_pop(p); /* empty: nothing happens */
    assert_int_equal(pacer_queued(p), 0);
    pacer_free(p);
}

/* The bucket's depth at a rate, as pacer.h says: PACER_BURST_MIN bytes, or PACER_BURST_US of the rate. */
static double burst_at(double rate_bps)
{
    double b = rate_bps / 8.0 * PACER_BURST_US / 1e6;
    return b > PACER_BURST_MIN ? b : PACER_BURST_MIN;
}

/* A keyframe of 40 packets at 1 Mbit/s: a burst (PACER_BURST_US of the rate) goes at once, the rest at
 * the rate (1200 bytes every 9.6 ms), in order. */
static void test_burst_is_spread(void **state)
{
    (void)state;
    pacer *p = pacer_new(64, sizeof(item), 1000000);
    int64_t now = 1000000;
    int sent_now = 0, id = 0;
    for (int i = 0; i < 40; i++) {
        if (pacer_may_send(p, now)) {
            pacer_sent(p, 1200, now);
            sent_now++;
            continue;
        }
        item *it = pacer_push(p, 1200);
        assert_non_null(it);
        it->id = id++;
    }
    /* packets go while the budget is above zero: the last one takes it below */
    int expect_now = 0;
    for (double b = burst_at(1000000); b > 0; b -= 1200)
        expect_now++;
    assert_int_equal(sent_now, expect_now);
    assert_true(expect_now >= 3 && expect_now < 40);
    assert_int_equal(pacer_queued(p), 40 - expect_now);
    assert_int_equal(pacer_queued_bytes(p), (40 - expect_now) * 1200);
    int next = 0;
    int64_t last = 0;
    /* nothing more in the first ms: the budget is in debt */
    assert_int_equal(serve(p, now, now, 1200, &next, &last), 0);
    int n = serve(p, now + 1000, now + 1000000, 1200, &next, &last);
    assert_int_equal(n, 40 - expect_now);
    assert_int_equal(pacer_queued(p), 0);
    assert_int_equal(pacer_queued_bytes(p), 0);
    /* 40 x 1200 bytes at 1 Mbit/s is 384 ms, less the initial burst (within a packet) */
    int64_t took = last - now;
    int64_t burst_us = (int64_t)(burst_at(1000000) * 8.0);
    assert_true(took >= 384000 - burst_us - 9600 && took <= 384000 - burst_us + 9600);
    pacer_free(p);
}

/* Over a long run the pace is the rate, whatever arrives: 2 Mbit/s offered, 500 kbit/s paced, and
 * the queue grows until it holds PACER_DRAIN_US of the rate, where the drain speeds up. */
static void test_long_run_rate_and_drain(void **state)
{
    (void)state;
    pacer *p = pacer_new(4096, sizeof(item), 500000);
    int id = 0, next = 0;
    int64_t last = 0;
    uint64_t sent = 0;
    for (int64_t t = 0; t < 2000000; t += 1000) {
        /* 2 Mbit/s offered: 250 bytes per ms, as one 1250-byte packet every 5 ms */
        if (t % 5000 == 0) {
            if (pacer_may_send(p, t)) {
                pacer_sent(p, 1250, t);
                sent += 1250;
            } else {
                item *it = pacer_push(p, 1250);
                assert_non_null(it);
                it->id = id++;
            }
        }
        sent += (uint64_t)serve(p, t, t, 1250, &next, &last) * 1250;
    }
    /* the drain keeps what waits at about PACER_DRAIN_US: 500 ms of what is offered */
    double wait_bytes = (double)pacer_queued_bytes(p);
    assert_true(wait_bytes <= 2000000 / 8 * 0.55);
    /* it sent more than the rate (the drain) but not what was offered */
    assert_true(sent > 2 * 500000 / 8 && sent < 2 * 2000000 / 8);
    pacer_free(p);
}

/* Sends around the pacer (audio, retransmissions, probes) are owed: waiting packets wait longer;
 * a huge one is forgiven down to a floor. */
static void test_debt(void **state)
{
    (void)state;
    pacer *p = pacer_new(8, sizeof(item), 800000); /* 100 bytes per ms */
    int64_t now = 1000;
    assert_true(pacer_may_send(p, now));
    pacer_sent(p, (size_t)burst_at(800000) + 1000, now); /* 1000 bytes of debt: 10 ms */
    item *it = pacer_push(p, 1000);
    it->id = 0;
    assert_null(pacer_due(p, now + 9000));
    assert_non_null(pacer_due(p, now + 11000));
    pacer_pop(p);
    pacer_sent(p, 1000, now + 11000);
    /* a 1 MB burst: the debt stops at 4 bursts + 200 ms of the rate (100 bytes per ms) */
    pacer_sent(p, 1000000, now + 11000);
    it = pacer_push(p, 1000);
    it->id = 1;
    int64_t floor_us = (int64_t)((4 * burst_at(800000) + 20000) / 100 * 1000);
    assert_true(floor_us < 1000000); /* far less than the 1 MB */
    assert_null(pacer_due(p, now + 11000 + floor_us - 1000));
    assert_non_null(pacer_due(p, now + 11000 + floor_us + 2000));
    pacer_free(p);
}

static void test_full_queue(void **state)
{
    (void)state;
    pacer *p = pacer_new(4, sizeof(item), 100000);
    pacer_sent(p, 100000, 1000); /* deep debt */
    for (int i = 0; i < 4; i++) {
        item *it = pacer_push(p, 100);
        assert_non_null(it);
        it->id = i;
    }
    assert_null(pacer_push(p, 100));
    assert_int_equal(pacer_queued(p), 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(((item *)pacer_item(p, i))->id, (int)i);
    assert_null(pacer_item(p, 4));
    /* the front, whatever the budget, makes room; the ring wraps */
    assert_int_equal(((item *)pacer_front(p))->id, 0);
    pacer_pop(p);
    item *it = pacer_push(p, 100);
    assert_non_null(it);
    it->id = 4;
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(((item *)pacer_item(p, i))->id, (int)i + 1);
    assert_int_equal(pacer_queued_bytes(p), 400);
    pacer_free(p);
}

static bool keep_mask(const void *it, void *ctx)
{
    return (*(unsigned *)ctx >> ((const item *)it)->id) & 1;
}

/* pacer_filter, for every queue length up to the ring's size, with the ring's start at every slot
 * (wrapping), and every choice of what to keep: the kept items in their order, their bytes, room
 * again for what left, the front not moved when kept. */
static void test_filter(void **state)
{
    (void)state;
    enum { SLOTS = 5 };
    for (size_t n = 0; n <= SLOTS; n++) {
        for (size_t start = 0; start < SLOTS; start++) {
            for (unsigned mask = 0; mask < (1u << n); mask++) {
                pacer *p = pacer_new(SLOTS, sizeof(item), 100000);
                for (size_t i = 0; i < start; i++) { /* move the ring's head */
                    assert_non_null(pacer_push(p, 1));
                    pacer_pop(p);
                }
                for (size_t i = 0; i < n; i++) {
                    item *it = pacer_push(p, 100 + i);
                    it->id = (int)i;
                }
                void *front = pacer_front(p);
                unsigned m = mask;
                size_t left = pacer_filter(p, keep_mask, &m);
                size_t kept = 0, bytes = 0;
                for (size_t i = 0; i < n; i++) {
                    if (!((mask >> i) & 1))
                        continue;
                    assert_int_equal(((item *)pacer_item(p, kept))->id, (int)i);
                    bytes += 100 + i;
                    kept++;
                }
                assert_int_equal(left, n - kept);
                assert_int_equal(pacer_queued(p), kept);
                assert_int_equal(pacer_queued_bytes(p), bytes);
                if (n && (mask & 1))
                    assert_ptr_equal(pacer_front(p), front);
                for (size_t i = kept; i < SLOTS; i++) /* room for what left */
                    assert_non_null(pacer_push(p, 1));
                assert_null(pacer_push(p, 1));
                pacer_free(p);
            }
        }
    }
}

/* A rate change applies from the change on: what accrued before is kept at the old rate. */
static void test_rate_change(void **state)
{
    (void)state;
    pacer *p = pacer_new(8, sizeof(item), 8000000); /* 1000 bytes per ms */
    int64_t now = 1000;
    assert_true(pacer_may_send(p, now));
    pacer_sent(p, (size_t)burst_at(8000000) + 5000, now); /* the burst and 5 ms of debt at the old rate */
    pacer_set_rate(p, 800000, now + 2000); /* after 2 ms: 3000 bytes owed, now at 100 bytes per ms */
    item *it = pacer_push(p, 1000);
    it->id = 0;
    assert_null(pacer_due(p, now + 2000 + 29000));
    assert_non_null(pacer_due(p, now + 2000 + 31000));
    assert_int_equal(pacer_rate(p), 800000);
    /* a clock that goes backwards takes nothing back, and adds nothing */
    assert_non_null(pacer_due(p, now));
    pacer_pop(p);
    pacer_sent(p, 1000000, now);
    it = pacer_push(p, 1000);
    it->id = 1;
    assert_null(pacer_due(p, now + 2000 + 31000));
    pacer_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_sends_at_once), cmocka_unit_test(test_burst_is_spread),
        cmocka_unit_test(test_long_run_rate_and_drain), cmocka_unit_test(test_debt),
        cmocka_unit_test(test_full_queue), cmocka_unit_test(test_rate_change), cmocka_unit_test(test_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
