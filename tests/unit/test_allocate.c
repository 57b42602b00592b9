/* test_allocate.c - sfu/allocate: budgets split over audio and simulcast videos. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sfu/allocate.h"

/* Chrome's 720p ladder (180p / 360p / 720p) with three temporal layers. */
static alloc_track video(unsigned priority, int max_layer)
{
    alloc_track t;
    memset(&t, 0, sizeof(t));
    t.video = 1;
    t.priority = priority;
    t.max_layer = max_layer;
    t.n_layers = 3;
    t.layer_bps[0] = 150000;
    t.layer_bps[1] = 500000;
    t.layer_bps[2] = 2500000;
    t.n_temporal = 3;
    t.cur_layer = -1;
    t.cur_temporal = -1;
    return t;
}

static alloc_track audio(void)
{
    alloc_track t;
    memset(&t, 0, sizeof(t));
    t.audio_bps = 40000;
    t.max_layer = -1;
    return t;
}

static void test_steps(void **state)
{
    (void)state;
    alloc_track v = video(1, 2);
    assert_int_equal(alloc_step_bps(&v, 0, 0), 60000);
    assert_int_equal(alloc_step_bps(&v, 0, 1), 90000);
    assert_int_equal(alloc_step_bps(&v, 0, 2), 150000);
    assert_int_equal(alloc_step_bps(&v, 2, 9), 2500000); /* clamped to all temporal layers */
    assert_int_equal(alloc_step_bps(&v, 3, 0), 0);
    v.n_temporal = 1;
    assert_int_equal(alloc_step_bps(&v, 1, 0), 500000);
    v.n_temporal = 2;
    assert_int_equal(alloc_step_bps(&v, 1, 0), 300000);
}

static void test_plenty_and_limits(void **state)
{
    (void)state;
    alloc_track t[5] = {audio(), video(3, 2), audio(), video(2, 0), video(1, -1)};
    uint32_t total = allocate(t, 5, 10000000);
    assert_int_equal(t[0].bps, 40000);
    assert_int_equal(t[1].layer, 2); /* large tile: top layer, every temporal layer */
    assert_int_equal(t[1].temporal, 2);
    assert_int_equal(t[3].layer, 0); /* small tile: never above what it asked for */
    assert_int_equal(t[3].temporal, 2);
    assert_int_equal(t[4].layer, -1); /* hidden: nothing, and not "paused" */
    assert_false(t[4].paused);
    assert_int_equal(total, 80000 + 2500000 + 150000);
    assert_int_equal(alloc_wanted_bps(t, 5), total);
}

/* The receiver policed at 800 kbit/s with two remote participants: both stay on, at low layers,
 * and the larger tile gets the better one. */
static void test_tight_budget(void **state)
{
    (void)state;
    alloc_track t[4] = {audio(), video(2, 2), audio(), video(1, 2)};
    uint32_t total = allocate(t, 4, 700000);
    assert_true(total <= 700000);
    assert_true(t[1].layer >= 0 && t[3].layer >= 0);
    assert_true(t[1].bps >= t[3].bps);
    assert_true(t[1].layer <= 1 && t[3].layer <= 1);
    assert_false(t[1].paused || t[3].paused);
    /* less than the lowest steps: audio stays, the smaller tile is paused first */
    total = allocate(t, 4, 150000);
    assert_int_equal(t[0].bps + t[2].bps, 80000);
    assert_int_equal(t[1].layer, 0);
    assert_int_equal(t[1].temporal, 0);
    assert_true(t[3].paused);
    assert_int_equal(t[3].layer, -1);
    assert_int_equal(total, 80000 + 60000);
    /* nothing at all fits: both paused, audio still counted */
    total = allocate(t, 4, 50000);
    assert_true(t[1].paused && t[3].paused);
    assert_int_equal(total, 80000);
}

/* A budget wobbling just above a higher step does not flip a track up and down. */
static void test_hysteresis(void **state)
{
    (void)state;
    alloc_track t[1] = {video(1, 2)};
    /* layer 1 (all temporal layers: above the lowest layer, fewer frames is no step) costs 500
     * kbit/s: 510 is not enough room to go up to it */
    allocate(t, 1, 510000);
    assert_int_equal(t[0].layer, 0);
    assert_int_equal(t[0].temporal, 2);
    allocate(t, 1, 580000);
    assert_int_equal(t[0].layer, 1);
    assert_int_equal(t[0].temporal, 2);
    /* once there, it stays while it fits */
    t[0].cur_layer = 1;
    t[0].cur_temporal = 2;
    allocate(t, 1, 510000);
    assert_int_equal(t[0].layer, 1);
    assert_int_equal(t[0].temporal, 2);
    allocate(t, 1, 490000); /* no longer fits: down, to the smaller picture at the full rate */
    assert_int_equal(t[0].layer, 0);
    assert_int_equal(t[0].temporal, 2);
}

/* Two tiles of the same size, room for one of them on layer 1: the one that has it keeps it, even
 * when the other comes first and its layer 1 is cheaper right now (the publishers' rates move):
 * handing it over would switch both, for the same picture sizes. */
static void test_equals_keep_their_steps(void **state)
{
    (void)state;
    alloc_track t[2] = {video(1, 2), video(1, 2)};
    t[0].layer_bps[1] = 400000;
    t[0].cur_layer = 0;
    t[0].cur_temporal = 2;
    t[1].cur_layer = 1;
    t[1].cur_temporal = 2;
    /* 150 + 500 = 650 kbit/s: t[1] stays on layer 1; t[0] would have needed 150 + 400 + 15 % */
    assert_int_equal(allocate(t, 2, 650000), 650000);
    assert_int_equal(t[0].layer, 0);
    assert_int_equal(t[0].temporal, 2);
    assert_int_equal(t[1].layer, 1);
    /* less than that: t[1] cannot keep it; t[0] takes it where it fits (150 + 400 + 15 % of it) */
    allocate(t, 2, 640000);
    assert_int_equal(t[0].layer, 1);
    assert_int_equal(t[1].layer, 0);
    assert_int_equal(t[1].temporal, 2);
    allocate(t, 2, 600000);
    assert_int_equal(t[0].layer, 0);
    assert_int_equal(t[0].temporal, 2);
    assert_int_equal(t[1].layer, 0);
    assert_int_equal(t[1].temporal, 2);
    /* nobody on layer 1 yet: the first in order takes turns first, as before */
    t[1].cur_layer = 0;
    allocate(t, 2, 650000);
    assert_int_equal(t[0].layer, 1);
    assert_int_equal(t[1].layer, 0);
    /* both have layer 1 and both still fit: both keep it */
    t[0].cur_layer = 1;
    t[1].cur_layer = 1;
    assert_int_equal(allocate(t, 2, 900000), 900000);
    assert_int_equal(t[0].layer, 1);
    assert_int_equal(t[1].layer, 1);
    /* a larger tile still comes first, whatever the smaller one has */
    t[0].priority = 2;
    t[0].cur_layer = 0;
    allocate(t, 2, 650000);
    assert_int_equal(t[0].layer, 1);
    assert_int_equal(t[1].layer, 0);
}

/* Steps: the lowest layer sent at 1, 2 and 3 temporal layers, the others only whole. */
static void test_frame_rate_first(void **state)
{
    (void)state;
    alloc_track t[1] = {video(1, 2)};
    static const struct {
        uint32_t budget;
        int layer, temporal;
    } cases[] = {
        /* from nothing, each step with ALLOC_UP_MARGIN (15 %) more room than it costs */
        {68999, -1, 0}, {69000, 0, 0}, {103499, 0, 0}, {103500, 0, 1}, {172499, 0, 1}, {172500, 0, 2},
        {574999, 0, 2}, {575000, 1, 2}, {2874999, 1, 2}, {2875000, 2, 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        t[0].cur_layer = -1;
        t[0].cur_temporal = -1;
        allocate(t, 1, cases[i].budget);
        if (t[0].layer != cases[i].layer || (cases[i].layer >= 0 && t[0].temporal != cases[i].temporal))
            fail_msg("budget %u: layer %d/%d, expected %d/%d", cases[i].budget, t[0].layer, t[0].temporal,
                     cases[i].layer, cases[i].temporal);
    }
    /* the lowest layer not sent: the next one up is the lowest, with its temporal steps */
    t[0].layer_bps[0] = 0;
    allocate(t, 1, 230000);
    assert_int_equal(t[0].layer, 1);
    assert_int_equal(t[0].temporal, 0);
    /* a video on its lowest step keeps it while it fits, without the margin; paused, it comes
     * back only with it */
    t[0].layer_bps[0] = 150000;
    t[0].cur_layer = 0;
    t[0].cur_temporal = 0;
    allocate(t, 1, 60000);
    assert_int_equal(t[0].layer, 0);
    assert_false(t[0].paused);
    t[0].cur_layer = -1;
    allocate(t, 1, 60000);
    assert_int_equal(t[0].layer, -1);
    assert_true(t[0].paused);
}

/* Layers the publisher does not send now are skipped; a video with none sent is not "paused". */
static void test_inactive_layers(void **state)
{
    (void)state;
    alloc_track t[1] = {video(1, 2)};
    t[0].layer_bps[2] = 0;
    allocate(t, 1, 10000000);
    assert_int_equal(t[0].layer, 1);
    t[0].layer_bps[0] = 0;
    t[0].layer_bps[1] = 0;
    allocate(t, 1, 10000000);
    assert_int_equal(t[0].layer, -1);
    assert_false(t[0].paused); /* nothing is sent: nothing to pause (a camera turned off) */
    assert_int_equal(alloc_wanted_bps(t, 1), 0);
}

/* Rates measured while a publisher ramps up need not grow with the layer: a higher layer that costs
 * less than the current step is a free step up. */
static void test_rates_out_of_order(void **state)
{
    (void)state;
    alloc_track t[1] = {video(1, 2)};
    t[0].layer_bps[0] = 211000;
    t[0].layer_bps[1] = 60000;
    t[0].layer_bps[2] = 79000;
    t[0].cur_layer = 0;
    t[0].cur_temporal = 2;
    uint32_t total = allocate(t, 1, 1000000);
    assert_int_equal(t[0].layer, 2);
    assert_int_equal(t[0].temporal, 2);
    assert_int_equal(total, 79000);
}

/* Twenty tiles of a larger meeting on 3 Mbit/s: everyone is on, the big tile first. */
static void test_many(void **state)
{
    (void)state;
    alloc_track t[40];
    for (int i = 0; i < 20; i++) {
        t[2 * i] = audio();
        t[2 * i + 1] = video(i == 7 ? 100 : 1, i == 7 ? 2 : 0);
    }
    uint32_t total = allocate(t, 40, 3000000);
    assert_true(total <= 3000000);
    for (int i = 0; i < 20; i++)
        assert_true(t[2 * i + 1].layer >= 0);
    assert_true(t[15].bps >= t[1].bps);
    assert_true(t[15].layer >= 1);
}

/* A shared screen (ALLOC_PRIORITY_SCREEN) before cameras: with a camera tile far larger than the
 * screen's, the screen still gets its lowest step first and then every layer up to its view before
 * the camera steps up; with too little for both lowest steps, the camera is paused, not the screen.
 * The same tracks without the screen's priority: the larger camera tile goes first. */
static void test_screen_first(void **state)
{
    (void)state;
    const unsigned cam_area = 1 + (1920u * 1080 >> 12), screen_area = 1 + (320u * 180 >> 12);
    alloc_track t[3] = {audio(), video(cam_area, 2), video(ALLOC_PRIORITY_SCREEN + screen_area, 2)};
    uint32_t total = allocate(t, 3, 3000000);
    assert_true(total <= 3000000);
    assert_int_equal(t[2].layer, 2);
    assert_int_equal(t[2].temporal, 2);
    assert_int_equal(t[1].layer, 0);
    assert_false(t[1].paused);
    /* one lowest step fits: the screen's */
    total = allocate(t, 3, 40000 + 60000 + 20000);
    assert_int_equal(t[2].layer, 0);
    assert_false(t[2].paused);
    assert_true(t[1].paused);
    assert_int_equal(t[1].layer, -1);
    /* without its priority the screen is a small tile like any other: the camera first */
    t[2].priority = screen_area;
    allocate(t, 3, 3000000);
    assert_int_equal(t[1].layer, 2);
    assert_int_equal(t[2].layer, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steps),
        cmocka_unit_test(test_plenty_and_limits),
        cmocka_unit_test(test_tight_budget),
        cmocka_unit_test(test_hysteresis), cmocka_unit_test(test_frame_rate_first),
        cmocka_unit_test(test_equals_keep_their_steps),
        cmocka_unit_test(test_inactive_layers),
        cmocka_unit_test(test_rates_out_of_order),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_screen_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
