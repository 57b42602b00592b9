/* test_meeting.c - meeting state: joins, leaves, limits, chat ring, expiry (signaling/meeting.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "signaling/ids.h"
#include "signaling/meeting.h"
#include "signaling/ratelimit.h"

static void test_join_leave_order(void **state)
{
    (void)state;
    vm_registry *reg = registry_new(3, 100, 5000);
    vm_participant *a, *b, *c, *d;
    int conn_a, conn_b;
    assert_int_equal(registry_join(reg, "abcd2345", "A", true, true, &conn_a, 10, &a), 0);
    assert_int_equal(registry_join(reg, "abcd2345", "B", true, true, &conn_b, 20, &b), 0);
    assert_int_equal(registry_join(reg, "abcd2345", "C", true, true, NULL, 30, &c), 0);
    assert_ptr_equal(a->conn, &conn_a);
    assert_string_not_equal(a->user_id, b->user_id);
    assert_int_equal(strlen(a->user_id), VM_USER_ID_LEN);
    assert_int_equal(registry_join(reg, "abcd2345", "D", true, true, NULL, 40, &d), MEETING_E_FULL);
    vm_meeting *m = registry_find(reg, "abcd2345");
    assert_ptr_equal(m->first, a);
    assert_ptr_equal(m->last, c);
    assert_int_equal(m->count, 3);
    assert_int_equal(registry_participant_count(reg), 3);
    registry_leave(reg, b, 50);
    assert_ptr_equal(a->next, c);
    registry_leave(reg, c, 60);
    assert_ptr_equal(m->last, a);
    assert_int_equal(m->empty_since_ms, -1);
    /* Another meeting is independent. */
    assert_int_equal(registry_join(reg, "zzzz2345", "Z", true, true, NULL, 60, &d), 0);
    assert_int_equal(registry_meeting_count(reg), 2);
    registry_leave(reg, a, 70);
    assert_int_equal(m->empty_since_ms, 70);
    assert_int_equal(m->count, 0);
    assert_null(m->first);
    registry_free(reg);
}

static void test_expiry(void **state)
{
    (void)state;
    vm_registry *reg = registry_new(3, 100, 5000);
    vm_participant *a;
    assert_int_equal(registry_join(reg, "abcd2345", "A", true, true, NULL, 1000, &a), 0);
    meeting_add_chat(a, "remember me", 1500);
    registry_leave(reg, a, 2000);
    assert_int_equal(registry_expire(reg, 6999), 0); /* 4.999 s empty: kept */
    assert_non_null(registry_find(reg, "abcd2345"));
    assert_int_equal(registry_join(reg, "abcd2345", "A2", true, true, NULL, 6999, &a), 0);
    assert_int_equal(a->meeting->chat_count, 1); /* history survives within the grace period */
    assert_int_equal(registry_expire(reg, 100000), 0); /* occupied: never expires */
    registry_leave(reg, a, 100000);
    assert_int_equal(registry_expire(reg, 105000), 1);
    assert_null(registry_find(reg, "abcd2345"));
    /* A created meeting nobody joins expires too. */
    vm_meeting *m;
    assert_int_equal(registry_create(reg, 200000, &m), 0);
    char id[VM_MEETING_ID_LEN + 1];
    assert_true(ids_meeting_id_normalize(m->id, id));
    assert_int_equal(registry_expire(reg, 204000), 0);
    assert_int_equal(registry_expire(reg, 205000), 1);
    registry_free(reg);
}

/* A draining node drops an emptied meeting at once, never an occupied one. */
static void test_drop_empty(void **state)
{
    (void)state;
    vm_registry *reg = registry_new(3, 100, 5000);
    vm_participant *a;
    assert_int_equal(registry_join(reg, "abcd2345", "A", true, true, NULL, 1000, &a), 0);
    assert_false(registry_drop_empty(reg, "abcd2345"));
    assert_false(registry_drop_empty(reg, "zzzz2345"));
    registry_leave(reg, a, 2000);
    assert_true(registry_drop_empty(reg, "abcd2345"));
    assert_null(registry_find(reg, "abcd2345"));
    assert_int_equal(registry_meeting_count(reg), 0);
    registry_free(reg);
}

static void test_chat_ring(void **state)
{
    (void)state;
    vm_registry *reg = registry_new(3, 100, 5000);
    vm_participant *a;
    assert_int_equal(registry_join(reg, "abcd2345", "A", true, true, NULL, 0, &a), 0);
    char text[32];
    for (int i = 1; i <= VM_CHAT_HISTORY + 7; i++) {
        snprintf(text, sizeof(text), "m%d", i);
        const vm_chat *c = meeting_add_chat(a, text, i);
        assert_int_equal(c->id, (uint64_t)i);
    }
    vm_meeting *m = a->meeting;
    assert_int_equal(m->chat_count, VM_CHAT_HISTORY);
    assert_string_equal(meeting_chat_at(m, 0)->message, "m8");
    snprintf(text, sizeof(text), "m%d", VM_CHAT_HISTORY + 7);
    assert_string_equal(meeting_chat_at(m, VM_CHAT_HISTORY - 1)->message, text);
    assert_null(meeting_chat_at(m, VM_CHAT_HISTORY));
    assert_string_equal(meeting_chat_at(m, 0)->username, "A");
    registry_free(reg);
}

static void test_limits_and_ids(void **state)
{
    (void)state;
    vm_registry *reg = registry_new(3, 2, 5000);
    vm_meeting *m1, *m2, *m3;
    assert_int_equal(registry_create(reg, 0, &m1), 0);
    assert_int_equal(registry_create(reg, 0, &m2), 0);
    assert_string_not_equal(m1->id, m2->id);
    assert_int_equal(registry_create(reg, 0, &m3), MEETING_E_TOO_MANY);
    vm_participant *p;
    assert_int_equal(registry_join(reg, "abcd2345", "A", true, true, NULL, 0, &p), MEETING_E_TOO_MANY);
    assert_int_equal(registry_join(reg, m1->id, "A", true, true, NULL, 0, &p), 0);
    registry_free(reg);
    registry_free(NULL);

    char id[VM_MEETING_ID_LEN + 1], out[VM_MEETING_ID_LEN + 1];
    int seen[256] = {0};
    for (int i = 0; i < 2000; i++) {
        assert_int_equal(ids_random(id, VM_MEETING_ID_LEN), 0);
        assert_true(ids_meeting_id_normalize(id, out));
        for (int k = 0; k < VM_MEETING_ID_LEN; k++)
            seen[(unsigned char)id[k]]++;
    }
    for (const char *c = VM_ID_ALPHABET; *c; c++)
        assert_true(seen[(unsigned char)*c] > 0); /* every character occurs */
    assert_int_equal(seen['0'] + seen['1'] + seen['i'] + seen['l'] + seen['o'], 0);
    assert_true(ids_meeting_id_normalize("ABCD2345", out));
    assert_string_equal(out, "abcd2345");
    assert_false(ids_meeting_id_normalize("abcd23456", out));
    assert_false(ids_meeting_id_normalize("abc-2345", out));
    assert_false(ids_meeting_id_normalize("", out));
}

/* A meeting joined and left without ever being used (two people at once, or chat) keeps only the short
 * grace; a used one, and a created one nobody joined yet, keep the full one. */
static void test_unused_grace(void **state)
{
    (void)state;
    vm_registry *reg = registry_new(3, 100, 120000);
    registry_set_unused_grace(reg, 10000);
    vm_participant *a, *b;
    /* a guess: join, leave at once */
    assert_int_equal(registry_join(reg, "guess234", "G", true, true, NULL, 1000, &a), 0);
    registry_leave(reg, a, 1500);
    /* two people at once, then both leave */
    assert_int_equal(registry_join(reg, "pair2345", "A", true, true, NULL, 1000, &a), 0);
    assert_int_equal(registry_join(reg, "pair2345", "B", true, true, NULL, 1100, &b), 0);
    registry_leave(reg, a, 1200);
    registry_leave(reg, b, 1500);
    /* alone, but wrote in the chat */
    assert_int_equal(registry_join(reg, "chat2345", "C", true, true, NULL, 1000, &a), 0);
    assert_non_null(meeting_add_chat(a, "notes", 1100));
    registry_leave(reg, a, 1500);
    /* created, nobody joined yet (the creator is on the setup page) */
    vm_meeting *m;
    assert_int_equal(registry_create(reg, 1500, &m), 0);
    assert_int_equal(registry_expire(reg, 11499), 0);
    assert_int_equal(registry_expire(reg, 11500), 1);
    assert_null(registry_find(reg, "guess234"));
    assert_int_equal(registry_meeting_count(reg), 3);
    assert_int_equal(registry_expire(reg, 121499), 0);
    assert_int_equal(registry_expire(reg, 121500), 3);
    /* the short grace is never longer than the full one */
    registry_set_unused_grace(reg, 500000);
    assert_int_equal(registry_join(reg, "guess234", "G", true, true, NULL, 200000, &a), 0);
    registry_leave(reg, a, 200000);
    assert_int_equal(registry_expire(reg, 320000), 1);
    registry_free(reg);
}

static void test_ratelimit(void **state)
{
    (void)state;
    ratelimit rl;
    ratelimit_init(&rl, 20, 40, 1000000);
    int ok = 0;
    for (int i = 0; i < 100; i++)
        ok += ratelimit_take(&rl, 1000000);
    assert_int_equal(ok, 40); /* the burst */
    assert_false(ratelimit_take(&rl, 1000000 + 49000));
    assert_true(ratelimit_take(&rl, 1000000 + 50000)); /* one token per 50 ms */
    ok = 0;
    for (int i = 0; i < 100; i++)
        ok += ratelimit_take(&rl, 1000000 + 50000 + 10000000); /* 10 s later: full burst again */
    assert_int_equal(ok, 40);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_leave_order), cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_chat_ring),        cmocka_unit_test(test_limits_and_ids),
        cmocka_unit_test(test_ratelimit),        cmocka_unit_test(test_unused_grace),
        cmocka_unit_test(test_drop_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
