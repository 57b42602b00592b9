/* test_speaker.c - the dominant speaker detector (sfu/speaker.c) in virtual time, fed synthetic
 * RFC 6464 level sequences the way the room feeds it (one 20 ms Opus packet per publisher, a decision
 * call every 50 ms tick): silence, a first speaker, a cough (while someone speaks, and in silence), a
 * real turn, two people speaking at once, the loudest of many, a speaker leaving, muted senders that
 * stop sending (DTX), a stalled loop, capacity, ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/speaker.h"

#define MS 1000LL
#define TS(us) ((uint32_t)((us) / 1000 * 48)) /* Opus: 48 kHz RTP clock */
#define MAX_SEGS 8
#define MAX_WHO 12

/* What one publisher sends over a span of time. */
typedef enum { SILENT, TALK, STEADY } seg_kind;
typedef struct {
    int64_t from_ms, to_ms;
    seg_kind kind;  /* TALK: speech-like bursts and pauses; STEADY: every packet at dbov */
    int dbov;       /* level while sounding (-dBov) */
} seg;

typedef struct {
    seg segs[MAX_SEGS];
    int n;
    int quiet_dbov; /* level outside segments (127: digital silence); -1: sends nothing (DTX) */
} script;

typedef struct {
    speaker_det det;
    int slot[MAX_WHO];
    script sc[MAX_WHO];
    int n_who;
    int64_t now_us;
    /* every change of the dominant speaker: when, and who (index into slot[], -1: none) */
    int64_t change_us[64];
    int change_who[64];
    int n_changes;
    uint32_t rng;
} sim;

static uint32_t rnd(sim *s)
{
    s->rng = s->rng * 1103515245u + 12345u;
    return s->rng >> 8;
}

static void sim_init(sim *s, int n_who)
{
    memset(s, 0, sizeof(*s));
    speaker_init(&s->det);
    s->n_who = n_who;
    s->rng = 42;
    s->now_us = 1000000; /* any monotonic origin */
    for (int i = 0; i < n_who; i++) {
        char id[16];
        snprintf(id, sizeof(id), "user%d", i);
        s->slot[i] = speaker_add(&s->det, id);
        assert_true(s->slot[i] >= 0);
        s->sc[i].quiet_dbov = 127;
    }
}

static void add_seg(sim *s, int who, int64_t from_ms, int64_t to_ms, seg_kind kind, int dbov)
{
    script *sc = &s->sc[who];
    assert_true(sc->n < MAX_SEGS);
    sc->segs[sc->n++] = (seg){from_ms, to_ms, kind, dbov};
}

/* Speech: syllable bursts of 150-450 ms at the segment's level (a little louder or softer), with
 * pauses of 50-250 ms at room-noise level (about 70 % of the time sounding). Per publisher state. */
typedef struct {
    int64_t until_us;
    bool on;
} talk_state;
static talk_state talk[MAX_WHO];

static int level_at(sim *s, int who, int64_t t_us)
{
    int64_t t_ms = (t_us - 1000000) / MS;
    for (int k = 0; k < s->sc[who].n; k++) {
        const seg *g = &s->sc[who].segs[k];
        if (t_ms < g->from_ms || t_ms >= g->to_ms)
            continue;
        if (g->kind == SILENT)
            return 127;
        if (g->kind == STEADY)
            return g->dbov;
        talk_state *ts = &talk[who];
        if (t_us >= ts->until_us) {
            ts->on = !ts->on;
            ts->until_us = t_us + (ts->on ? 150 + rnd(s) % 300 : 50 + rnd(s) % 200) * MS;
        }
        return ts->on ? g->dbov + (int)(rnd(s) % 9) - 4 : 75;
    }
    return s->sc[who].quiet_dbov;
}

/* Runs the meeting up to to_ms (from the start): a packet per publisher every 20 ms, a decision
 * call every 50 ms. */
static void run_to(sim *s, int64_t to_ms)
{
    int64_t end = 1000000 + to_ms * MS;
    while (s->now_us < end) {
        s->now_us += 10 * MS;
        int64_t t = s->now_us;
        if (t % (20 * MS) == 0) {
            for (int i = 0; i < s->n_who; i++) {
                int lvl = level_at(s, i, t);
                if (lvl >= 0)
                    speaker_level(&s->det, s->slot[i], (uint8_t)lvl, TS(t), 48000, t + i * 1000); /* a little apart */
            }
        }
        if (t % (50 * MS) == 0 && speaker_decide(&s->det, t)) {
            int dom = speaker_dominant(&s->det), who = -1;
            for (int i = 0; i < s->n_who; i++)
                if (s->slot[i] == dom)
                    who = i;
            assert_true(s->n_changes < 64);
            s->change_us[s->n_changes] = t - 1000000;
            s->change_who[s->n_changes++] = who;
        }
    }
}

static int dominant_who(sim *s)
{
    int dom = speaker_dominant(&s->det);
    for (int i = 0; i < s->n_who; i++)
        if (s->slot[i] == dom)
            return i;
    return -1;
}

static void reset_talk(void)
{
    memset(talk, 0, sizeof(talk));
}

static void test_silence_nobody(void **state)
{
    (void)state;
    reset_talk();
    sim s;
    sim_init(&s, 3);
    s.sc[2].quiet_dbov = 65; /* room noise just above the floor, all the time */
    run_to(&s, 10000);
    assert_int_equal(s.n_changes, 0);
    assert_int_equal(speaker_dominant(&s.det), -1);
    char csv[64];
    assert_int_equal(speaker_recent_csv(&s.det, csv, sizeof(csv)), 0);
    assert_string_equal(csv, "");
    assert_true(speaker_speech_us(&s.det, s.slot[2], false) < SPEAKER_MIN_SPEECH_US / 2);
}

/* Someone starts speaking in a silent meeting: dominant within a second, once. */
static void test_first_speaker(void **state)
{
    (void)state;
    reset_talk();
    sim s;
    sim_init(&s, 3);
    add_seg(&s, 1, 2000, 8000, TALK, 28);
    run_to(&s, 8000);
    assert_int_equal(s.n_changes, 1);
    assert_int_equal(s.change_who[0], 1);
    assert_true(s.change_us[0] > 2000 * MS);
    assert_true(s.change_us[0] <= 3200 * MS);
    /* they stop: nobody speaking changes nothing */
    run_to(&s, 15000);
    assert_int_equal(s.n_changes, 1);
    assert_int_equal(dominant_who(&s), 1);
    const char *ids[4];
    assert_int_equal(speaker_recent(&s.det, ids, 4), 1);
    assert_string_equal(ids[0], "user1");
}

/* A cough (a loud burst of 300 ms, or 400 ms, much louder than the speaker) while someone speaks,
 * and one in the silence after: no switch. */
static void test_cough_does_not_switch(void **state)
{
    (void)state;
    reset_talk();
    sim s;
    sim_init(&s, 3);
    add_seg(&s, 0, 0, 10000, TALK, 30);
    add_seg(&s, 1, 4000, 4300, STEADY, 8);   /* a cough */
    add_seg(&s, 2, 6130, 6530, STEADY, 12);  /* a longer one, across a decision */
    add_seg(&s, 1, 12000, 12350, STEADY, 5); /* in the silence after */
    run_to(&s, 16000);
    assert_int_equal(s.n_changes, 1);
    assert_int_equal(s.change_who[0], 0);
    assert_int_equal(dominant_who(&s), 0);

}

/* A real turn: A speaks, stops; B answers. B within about a second of A stopping (at most 1.3 s, the decision
 * interval included), and not before. The order is then [B, A]. */
static void test_real_turn(void **state)
{
    (void)state;
    reset_talk();
    sim s;
    sim_init(&s, 4);
    add_seg(&s, 0, 0, 6000, TALK, 30);
    add_seg(&s, 2, 6000, 12000, TALK, 32);
    run_to(&s, 12000);
    assert_int_equal(s.n_changes, 2);
    assert_int_equal(s.change_who[0], 0);
    assert_int_equal(s.change_who[1], 2);
    assert_true(s.change_us[1] > 6000 * MS);
    assert_true(s.change_us[1] <= 7300 * MS);
    char csv[64];
    assert_int_equal(speaker_recent_csv(&s.det, csv, sizeof(csv)), (int)strlen("user2,user0"));
    assert_string_equal(csv, "user2,user0");
    /* and back: A answers */
    add_seg(&s, 0, 12000, 16000, TALK, 30);
    run_to(&s, 16000);
    assert_int_equal(s.n_changes, 3);
    assert_int_equal(s.change_who[2], 0);
    assert_true(s.change_us[2] <= 13300 * MS);
    assert_int_equal(speaker_recent_csv(&s.det, csv, sizeof(csv)), (int)strlen("user0,user2"));
    assert_string_equal(csv, "user0,user2");
}

/* Two people speaking at once, alike: the one who had the floor keeps it (no flapping) until it
 * stops; then the other takes it within about a second. */
static void test_two_talking_no_flap(void **state)
{
    (void)state;
    reset_talk();
    sim s;
    sim_init(&s, 2);
    add_seg(&s, 0, 0, 15000, TALK, 30);
    add_seg(&s, 1, 3000, 20000, TALK, 30);
    run_to(&s, 15000);
    assert_int_equal(s.n_changes, 1);
    assert_int_equal(s.change_who[0], 0);
    run_to(&s, 20000);
    assert_int_equal(s.n_changes, 2);
    assert_int_equal(s.change_who[1], 1);
    assert_true(s.change_us[1] <= 16300 * MS);
}

/* Many steady senders (room noise at -50 dBov: half activity) and one loud voice that moves from
 * one to another: the dominant speaker follows the loud one within about a second each time (the
 * bench's synthetic audio). */
static void test_loudest_of_many(void **state)
{
    (void)state;
    reset_talk();
    sim s;
    sim_init(&s, MAX_WHO);
    for (int i = 0; i < MAX_WHO; i++)
        s.sc[i].quiet_dbov = 50;
    add_seg(&s, 3, 1000, 6000, STEADY, 20);
    add_seg(&s, 7, 6000, 11000, STEADY, 20);
    add_seg(&s, 11, 11000, 16000, STEADY, 22);
    run_to(&s, 16000);
    assert_int_equal(s.n_changes, 3);
    int want[] = {3, 7, 11};
    int64_t at[] = {1000, 6000, 11000};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(s.change_who[k], want[k]);
        assert_true(s.change_us[k] > at[k] * MS);
        assert_true(s.change_us[k] <= (at[k] + 1300) * MS);
    }
}

/* The dominant speaker leaves: the change is reported at the next call, and the one before it
 * is the dominant speaker; a slot not in the order leaving changes nothing. A freed slot is reused
 * silent, under its new id. */
static void test_speaker_leaves(void **state)
{
    (void)state;
    reset_talk();
    sim s;
    sim_init(&s, 3);
    add_seg(&s, 0, 0, 4000, TALK, 30);
    add_seg(&s, 1, 4000, 20000, TALK, 30);
    run_to(&s, 8000);
    assert_int_equal(dominant_who(&s), 1);
    speaker_remove(&s.det, s.slot[2]); /* never spoke */
    assert_false(speaker_decide(&s.det, s.now_us));
    speaker_remove(&s.det, s.slot[1]);
    speaker_remove(&s.det, s.slot[1]); /* twice: no-op */
    assert_true(speaker_decide(&s.det, s.now_us));
    assert_false(speaker_decide(&s.det, s.now_us));
    assert_int_equal(speaker_dominant(&s.det), s.slot[0]);
    char csv[64];
    speaker_recent_csv(&s.det, csv, sizeof(csv));
    assert_string_equal(csv, "user0");
    /* its levels are ignored now */
    speaker_level(&s.det, s.slot[1], 10, TS(s.now_us), 48000, s.now_us);
    assert_true(speaker_speech_us(&s.det, s.slot[1], false) == 0.0);
    int again = speaker_add(&s.det, "newcomer");
    assert_true(again == s.slot[1] || again == s.slot[2]);
    assert_true(speaker_speech_us(&s.det, again, false) == 0.0);
    assert_true(speaker_speech_us(&s.det, again, true) == 0.0);
    /* the last one leaves: nobody */
    speaker_remove(&s.det, s.slot[0]);
    assert_true(speaker_decide(&s.det, s.now_us));
    assert_int_equal(speaker_dominant(&s.det), -1);
    assert_int_equal(speaker_recent_csv(&s.det, csv, sizeof(csv)), 0);
}

/* Muted publishers that send nothing while silent (DTX) count as silent; a speaker who mutes (stops
 * sending) hands over to the next one like one who stops speaking. */
static void test_dtx_senders(void **state)
{
    (void)state;
    reset_talk();
    sim s;
    sim_init(&s, 3);
    for (int i = 0; i < 3; i++)
        s.sc[i].quiet_dbov = -1;
    add_seg(&s, 0, 0, 5000, TALK, 30);
    add_seg(&s, 1, 5000, 10000, TALK, 30);
    add_seg(&s, 2, 7000, 7300, STEADY, 10); /* a cough between nothing */
    run_to(&s, 10000);
    assert_int_equal(s.n_changes, 2);
    assert_int_equal(s.change_who[0], 0);
    assert_int_equal(s.change_who[1], 1);
    assert_true(s.change_us[1] <= 6300 * MS);
}

/* Packets that arrive in bursts (a stalled sender or network: ten 20 ms packets at once every
 * 200 ms) count for the sound they carry (their RTP timestamps), not for their arrival gaps: the
 * speaker is found as fast as with even arrivals. */
static void test_bursty_arrival(void **state)
{
    (void)state;
    speaker_det d;
    speaker_init(&d);
    int a = speaker_add(&d, "a");
    int b = speaker_add(&d, "b");
    int64_t t = 1000 * MS;
    uint32_t ts = 0;
    speaker_decide(&d, t);
    int64_t found = 0;
    for (int burst = 0; burst < 20 && !found; burst++) {
        for (int k = 0; k < 10; k++, ts += 960) {
            speaker_level(&d, a, 25, ts, 48000, t + k * 100);
            speaker_level(&d, b, 127, ts, 48000, t + k * 100);
        }
        for (int k = 0; k < 4 && !found; k++) {
            t += 50 * MS;
            if (speaker_decide(&d, t))
                found = t;
        }
    }
    assert_int_equal(speaker_dominant(&d), a);
    assert_true(found - 1000 * MS <= 1300 * MS);
    /* a reordered packet and a jump (DTX) count as one packet, not as minutes of speech */
    speaker_level(&d, b, 25, ts - 48000, 48000, t);
    speaker_level(&d, b, 25, ts + 48000 * 60, 48000, t);
    t += 400 * MS;
    speaker_decide(&d, t);
    assert_true(speaker_speech_us(&d, b, false) <= 40000.0 + 1);
}

/* The V bit is not used: the level decides. */
static void test_voice_bit_ignored(void **state)
{
    (void)state;
    speaker_det d;
    speaker_init(&d);
    int a = speaker_add(&d, "a"), b = speaker_add(&d, "b");
    int64_t t = 0;
    speaker_decide(&d, t);
    for (int i = 0; i < 100; i++) {
        t += 20 * MS;
        speaker_level(&d, a, 0x80 | 127, TS(t), 48000, t); /* "voice", but digital silence */
        speaker_level(&d, b, 25, TS(t), 48000, t);         /* no V bit, loud */
        speaker_decide(&d, t);
    }
    assert_int_equal(speaker_dominant(&d), b);
    assert_true(speaker_speech_us(&d, a, false) == 0.0);
    assert_true(speaker_speech_us(&d, b, false) > 1.1e6); /* all of the window */
}

/* A stalled loop (no decision call for seconds) and a clock that goes back do not break it: the
 * window holds only its own time, and one late call makes one decision. */
static void test_late_calls(void **state)
{
    (void)state;
    speaker_det d;
    speaker_init(&d);
    int a = speaker_add(&d, "a");
    int b = speaker_add(&d, "b");
    int64_t t = 5000 * MS;
    speaker_decide(&d, t);
    for (int i = 0; i < 50; i++) {
        t += 20 * MS;
        speaker_level(&d, a, 20, TS(t), 48000, t);
        speaker_decide(&d, t);
    }
    assert_int_equal(speaker_dominant(&d), a);
    assert_true(speaker_speech_us(&d, a, false) > 0.8e6);
    /* 3 s without a call and without packets: silence over the window */
    t += 3000 * MS;
    assert_false(speaker_decide(&d, t));
    assert_true(speaker_speech_us(&d, a, false) == 0.0);
    /* b spoke during a stall and the loop comes back an hour later: its packets are older than the
     * window, nothing changes */
    for (int i = 0; i < 50; i++)
        speaker_level(&d, b, 20, TS(t + i * 20 * MS), 48000, t + i * 20 * MS);
    t += 3600LL * 1000 * MS;
    assert_false(speaker_decide(&d, t));
    assert_int_equal(speaker_dominant(&d), a);
    /* a packet from the past, a decision from the past */
    speaker_level(&d, a, 20, TS(t - 1000 * MS), 48000, t - 1000 * MS);
    speaker_decide(&d, t - 2000 * MS);
    assert_true(speaker_speech_us(&d, a, false) >= 0.0 && speaker_speech_us(&d, a, false) <= 1.2e6);
    assert_int_equal(speaker_dominant(&d), a); /* the last speaker stays */
}

/* SPEAKER_MAX slots, then -ENOSPC; bad slots are ignored; long ids are cut; the order keeps the
 * SPEAKER_RECENT most recent, each once; the CSV says when it does not fit. */
static void test_capacity_and_ids(void **state)
{
    (void)state;
    speaker_det d;
    speaker_init(&d);
    int slots[SPEAKER_MAX];
    for (int i = 0; i < SPEAKER_MAX; i++) {
        char id[16];
        snprintf(id, sizeof(id), "p%d", i);
        slots[i] = speaker_add(&d, id);
        assert_int_equal(slots[i], i);
    }
    assert_int_equal(speaker_add(&d, "one-too-many"), -ENOSPC);
    speaker_level(&d, -1, 20, TS(0), 48000, 0);
    speaker_level(&d, SPEAKER_MAX, 20, TS(0), 48000, 0);
    speaker_remove(&d, -5);
    speaker_remove(&d, SPEAKER_MAX + 3);
    assert_true(speaker_speech_us(&d, -1, false) == 0.0);
    speaker_remove(&d, 5);
    char long_id[80];
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    assert_int_equal(speaker_add(&d, long_id), 5);
    /* ten people speak in turn, 2 s each */
    int64_t t = 0;
    speaker_decide(&d, t);
    for (int who = 0; who < 10; who++) {
        for (int i = 0; i < 100; i++) {
            t += 20 * MS;
            speaker_level(&d, slots[who], 25, TS(t), 48000, t);
            speaker_decide(&d, t);
        }
        assert_int_equal(speaker_dominant(&d), slots[who]);
    }
    const char *ids[SPEAKER_MAX];
    size_t n = speaker_recent(&d, ids, SPEAKER_MAX);
    assert_int_equal(n, SPEAKER_RECENT);
    assert_string_equal(ids[0], "p9");
    assert_string_equal(ids[SPEAKER_RECENT - 1], "p2");
    assert_int_equal(strlen(ids[4]), SPEAKER_ID_MAX - 1); /* slot 5: the long id, cut */
    /* p3 speaks again: it moves to the front, not twice in the order */
    for (int i = 0; i < 100; i++) {
        t += 20 * MS;
        speaker_level(&d, slots[3], 25, TS(t), 48000, t);
        speaker_decide(&d, t);
    }
    n = speaker_recent(&d, ids, SPEAKER_MAX);
    assert_int_equal(n, SPEAKER_RECENT);
    assert_string_equal(ids[0], "p3");
    assert_string_equal(ids[1], "p9");
    for (size_t i = 1; i < n; i++)
        assert_string_not_equal(ids[i], "p3");
    assert_int_equal(speaker_recent(&d, ids, 2), 2);
    char small[8];
    assert_int_equal(speaker_recent_csv(&d, small, sizeof(small)), -ENOSPC);
    assert_string_equal(small, "");
    assert_int_equal(speaker_recent_csv(&d, small, 0), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_silence_nobody),
        cmocka_unit_test(test_first_speaker),
        cmocka_unit_test(test_cough_does_not_switch),
        cmocka_unit_test(test_real_turn),
        cmocka_unit_test(test_two_talking_no_flap),
        cmocka_unit_test(test_loudest_of_many),
        cmocka_unit_test(test_speaker_leaves),
        cmocka_unit_test(test_dtx_senders),
        cmocka_unit_test(test_bursty_arrival),
        cmocka_unit_test(test_voice_bit_ignored),
        cmocka_unit_test(test_late_calls),
        cmocka_unit_test(test_capacity_and_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
