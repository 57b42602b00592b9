/* test_layer_select.c - sfu/layer_select on a synthetic simulcast stream in virtual time: three
 * spatial layers, each a picture every 33 ms of two packets, temporal layers in the L1T3 pattern
 * (0 2 1 2), keyframes only when asked for (or at chosen times). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sfu/layer_select.h"

#define FRAME_US 33000

typedef struct {
    layer_select s;
    int64_t now;
    unsigned frame;
    int key_asked[3];     /* keyframe requests per layer */
    int key_due[3];       /* the publisher answers a request with a keyframe on its next picture */
    int key_next[3];      /* asked during this frame interval: due from the next one */
    int64_t asked_at[3][64];
    /* what the receiver got, per picture of the forwarded stream */
    int fwd_layer[4096];
    int fwd_tid[4096];
    unsigned n_fwd;
    int partial;          /* a picture forwarded in part */
    int switches;
} sim_t;

static const int L1T3[4] = {0, 2, 1, 2};

/* One frame interval: every layer sends one picture of two packets. */
static void tick(sim_t *t)
{
    for (int layer = 0; layer < 3; layer++) {
        if (t->key_next[layer])
            t->key_due[layer] = 1;
        t->key_next[layer] = 0;
    }
    for (int layer = 0; layer < 3; layer++) {
        int key = t->key_due[layer];
        t->key_due[layer] = 0;
        int tid = key ? 0 : L1T3[t->frame % 4];
        int forwarded = 0;
        for (int part = 0; part < 2; part++) {
            ls_packet p = {layer, key && part == 0, part == 0, tid, tid == 1};
            int kl;
            ls_action a = layer_select_on_packet(&t->s, &p, t->now, &kl);
            if (kl >= 0) {
                assert_true(t->key_asked[kl] < 64);
                t->asked_at[kl][t->key_asked[kl]++] = t->now;
                t->key_next[kl] = 1;
            }
            if (a == LS_SWITCHED) {
                t->switches++;
                assert_true(key && part == 0);
            }
            if (a != LS_DROP) {
                if (part == 0) {
                    t->fwd_layer[t->n_fwd] = layer;
                    t->fwd_tid[t->n_fwd] = tid;
                    t->n_fwd++;
                    forwarded = 1;
                } else if (!forwarded) {
                    t->partial = 1;
                }
            } else if (part == 1 && forwarded) {
                t->partial = 1;
            }
        }
    }
    t->frame++;
    t->now += FRAME_US;
}

static void run_frames(sim_t *t, int n)
{
    for (int i = 0; i < n; i++)
        tick(t);
}

static sim_t *sim_new(void)
{
    static sim_t t;
    memset(&t, 0, sizeof(t));
    layer_select_init(&t.s);
    t.now = 1000000;
    return &t;
}

static void test_paused_then_start(void **state)
{
    (void)state;
    sim_t *t = sim_new();
    run_frames(t, 10);
    assert_int_equal(t->n_fwd, 0);
    assert_int_equal(t->key_asked[0] + t->key_asked[1] + t->key_asked[2], 0);
    layer_select_set_target(&t->s, 0, LAYER_SELECT_ALL_TEMPORAL);
    run_frames(t, 10);
    assert_int_equal(t->key_asked[0], 1); /* asked once, answered on the next picture */
    assert_int_equal(t->switches, 1);
    assert_true(t->n_fwd >= 8);
    for (unsigned i = 0; i < t->n_fwd; i++)
        assert_int_equal(t->fwd_layer[i], 0);
    assert_false(t->partial);
}

static void test_switch_up_waits_for_keyframe(void **state)
{
    (void)state;
    sim_t *t = sim_new();
    layer_select_set_target(&t->s, 0, LAYER_SELECT_ALL_TEMPORAL);
    run_frames(t, 5);
    unsigned before = t->n_fwd;
    /* the top layer's publisher does not answer at first: layer 0 keeps flowing, requests are
     * repeated at most every 0.5 s */
    layer_select_set_target(&t->s, 2, LAYER_SELECT_ALL_TEMPORAL);
    for (int i = 0; i < 60; i++) {
        t->key_next[2] = 0;
        tick(t);
    }
    assert_int_equal(t->n_fwd, before + 60); /* one picture of layer 0 per frame, no gap */
    assert_true(t->key_asked[2] >= 3 && t->key_asked[2] <= 5);
    for (int k = 1; k < t->key_asked[2]; k++)
        assert_true(t->asked_at[2][k] - t->asked_at[2][k - 1] >= LAYER_SELECT_KEYREQ_US);
    /* now it answers: the next keyframe switches, and only layer 2 follows */
    run_frames(t, 20);
    assert_int_equal(t->switches, 2);
    assert_int_equal(t->fwd_layer[t->n_fwd - 1], 2);
    int seen2 = 0;
    for (unsigned i = before; i < t->n_fwd; i++) {
        if (t->fwd_layer[i] == 2)
            seen2 = 1;
        else
            assert_false(seen2); /* never back to 0 after the switch */
    }
    assert_false(t->partial);
    /* and down again, at layer 1's keyframe */
    layer_select_set_target(&t->s, 1, LAYER_SELECT_ALL_TEMPORAL);
    run_frames(t, 5);
    assert_int_equal(t->fwd_layer[t->n_fwd - 1], 1);
    assert_int_equal(t->switches, 3);
}

static void test_temporal_limit(void **state)
{
    (void)state;
    sim_t *t = sim_new();
    layer_select_set_target(&t->s, 1, 0);
    run_frames(t, 40);
    for (unsigned i = 0; i < t->n_fwd; i++)
        assert_int_equal(t->fwd_tid[i], 0);
    assert_true(t->n_fwd >= 9 && t->n_fwd <= 11); /* one picture in four */
    /* up to all: from the next temporal-layer-0 picture on, every picture */
    layer_select_set_target(&t->s, 1, LAYER_SELECT_ALL_TEMPORAL);
    unsigned n0 = t->n_fwd;
    run_frames(t, 40);
    assert_true(t->n_fwd - n0 >= 37);
    /* down to 1: pictures of layer 2 stop at once, at picture starts */
    layer_select_set_target(&t->s, 1, 1);
    n0 = t->n_fwd;
    run_frames(t, 40);
    for (unsigned i = n0; i < t->n_fwd; i++)
        assert_true(t->fwd_tid[i] <= 1);
    assert_int_equal(t->n_fwd - n0, 20);
    assert_false(t->partial);
    /* a layer-sync picture of temporal layer 1 lets 1 back in before the next TL0 */
    layer_select_set_target(&t->s, 1, 0);
    tick(t);
    layer_select_set_target(&t->s, 1, 2);
    ls_packet p = {1, 0, 1, 1, 1};
    int kl;
    assert_int_equal(layer_select_on_packet(&t->s, &p, t->now, &kl), LS_FORWARD);
    assert_int_equal(t->s.tid_limit, 1);
}

static void test_pause_stops_at_once(void **state)
{
    (void)state;
    sim_t *t = sim_new();
    layer_select_set_target(&t->s, 2, LAYER_SELECT_ALL_TEMPORAL);
    run_frames(t, 10);
    assert_true(t->n_fwd > 0);
    layer_select_set_target(&t->s, -1, LAYER_SELECT_ALL_TEMPORAL);
    unsigned n = t->n_fwd;
    int asked = t->key_asked[0] + t->key_asked[1] + t->key_asked[2];
    run_frames(t, 30);
    assert_int_equal(t->n_fwd, n);
    assert_int_equal(t->key_asked[0] + t->key_asked[1] + t->key_asked[2], asked);
    assert_int_equal(t->s.current, -1);
    /* resuming needs a keyframe again */
    layer_select_set_target(&t->s, 2, LAYER_SELECT_ALL_TEMPORAL);
    run_frames(t, 3);
    assert_int_equal(t->key_asked[2], 2);
    assert_true(t->n_fwd > n);
    /* setting the layer already forwarded asks for nothing */
    layer_select_set_target(&t->s, 2, LAYER_SELECT_ALL_TEMPORAL);
    run_frames(t, 30);
    assert_int_equal(t->key_asked[2], 2);
}

/* A step down waits for the lower layer's keyframe; meanwhile the layer it leaves goes on without
 * its top temporal layer (half its pictures), whole again after the switch, or when the step down
 * is taken back before it. */
static void test_step_down_thins_the_layer_it_leaves(void **state)
{
    (void)state;
    sim_t *t = sim_new();
    layer_select_set_target(&t->s, 2, LAYER_SELECT_ALL_TEMPORAL);
    run_frames(t, 8);
    /* down to 1, and its publisher does not answer for 20 frames */
    layer_select_set_target(&t->s, 1, LAYER_SELECT_ALL_TEMPORAL);
    unsigned n0 = t->n_fwd;
    for (int i = 0; i < 20; i++) {
        t->key_next[1] = 0;
        tick(t);
    }
    assert_int_equal(t->n_fwd - n0, 10);
    for (unsigned i = n0; i < t->n_fwd; i++) {
        assert_int_equal(t->fwd_layer[i], 2);
        assert_true(t->fwd_tid[i] <= LAYER_SELECT_DOWN_TID);
    }
    assert_false(t->partial);
    /* it answers its next request: layer 1 from that keyframe on, every picture */
    for (int i = 0; i < 40 && t->switches < 2; i++)
        tick(t);
    assert_int_equal(t->switches, 2);
    n0 = t->n_fwd;
    run_frames(t, 20);
    assert_int_equal(t->n_fwd - n0, 20);
    for (unsigned i = n0; i < t->n_fwd; i++)
        assert_int_equal(t->fwd_layer[i], 1);
    /* down to 0 with a temporal limit of its own: the limit after the switch is that one */
    layer_select_set_target(&t->s, 0, 0);
    run_frames(t, 20);
    assert_int_equal(t->switches, 3);
    assert_int_equal(t->fwd_layer[t->n_fwd - 1], 0);
    assert_int_equal(t->s.tid_limit, 0);
    /* up to 1, then a step down taken back before its keyframe: whole again from a TL0 picture */
    layer_select_set_target(&t->s, 1, LAYER_SELECT_ALL_TEMPORAL);
    run_frames(t, 20);
    assert_int_equal(t->switches, 4);
    layer_select_set_target(&t->s, 0, LAYER_SELECT_ALL_TEMPORAL);
    t->key_next[0] = 0;
    tick(t);
    t->key_next[0] = 0;
    tick(t);
    assert_int_equal(t->s.tid_limit, LAYER_SELECT_DOWN_TID);
    layer_select_set_target(&t->s, 1, LAYER_SELECT_ALL_TEMPORAL);
    run_frames(t, 4);
    n0 = t->n_fwd;
    run_frames(t, 20);
    assert_int_equal(t->n_fwd - n0, 20);
    assert_int_equal(t->switches, 4);
    assert_false(t->partial);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paused_then_start),
        cmocka_unit_test(test_switch_up_waits_for_keyframe),
        cmocka_unit_test(test_temporal_limit),
        cmocka_unit_test(test_pause_stops_at_once),
        cmocka_unit_test(test_step_down_thins_the_layer_it_leaves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
