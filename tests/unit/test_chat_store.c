/* test_chat_store.c - chat history as several nodes keep it in Redis: the stored form of an entry
 * (signaling/chat_store.c) and a meeting rebuilt from it (registry_restore, meeting_restore_chat in
 * signaling/meeting.c): same ids, authors and times, no duplicates, the next message numbered on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/chat_store.h"
#include "signaling/meeting.h"

static vm_chat entry(uint64_t id, const char *user, const char *name, char *message, int64_t ts)
{
    vm_chat c;
    memset(&c, 0, sizeof(c));
    c.id = id;
    snprintf(c.user_id, sizeof(c.user_id), "%s", user);
    snprintf(c.username, sizeof(c.username), "%s", name);
    c.message = message;
    c.timestamp_ms = ts;
    return c;
}

static int decode(const char *text, vm_chat *out)
{
    return chat_store_decode(text, strlen(text), out);
}

static void test_round_trip(void **state)
{
    (void)state;
    /* quotes, a backslash, a newline, non-ASCII and an emoji survive; the id and time are exact */
    vm_chat in = entry(9007199254740992ull, "uabcdefghjkmn", "Zoë \"Z\"", "line 1\nline \\2 — ☃ 🙂", 1764800000123);
    char *text = chat_store_encode(&in);
    assert_non_null(text);
    vm_chat out;
    assert_int_equal(decode(text, &out), 0);
    assert_true(out.id == in.id);
    assert_string_equal(out.user_id, in.user_id);
    assert_string_equal(out.username, in.username);
    assert_string_equal(out.message, in.message);
    assert_true(out.timestamp_ms == in.timestamp_ms);
    chat_store_clear(&out);
    assert_null(out.message);
    chat_store_clear(NULL);
    free(text);
    /* the longest name and message a live entry can have */
    char *name = malloc(VM_MAX_NAME_BYTES + 1), *msg = malloc(VM_MAX_CHAT_BYTES + 1);
    memset(name, 'n', VM_MAX_NAME_BYTES);
    name[VM_MAX_NAME_BYTES] = '\0';
    memset(msg, 'm', VM_MAX_CHAT_BYTES);
    msg[VM_MAX_CHAT_BYTES] = '\0';
    in = entry(1, "u23456789abcd", "", msg, 0);
    memcpy(in.username, name, VM_MAX_NAME_BYTES + 1);
    text = chat_store_encode(&in);
    assert_int_equal(decode(text, &out), 0);
    assert_int_equal(strlen(out.username), VM_MAX_NAME_BYTES);
    assert_int_equal(strlen(out.message), VM_MAX_CHAT_BYTES);
    chat_store_clear(&out);
    free(text);
    free(name);
    free(msg);
}

static void test_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "{\"id\":1,\"userId\":\"uabcdefghjkmn\",\"username\":\"A\",\"message\":\"m\"}",              /* no time */
        "{\"id\":0,\"userId\":\"uabcdefghjkmn\",\"username\":\"A\",\"message\":\"m\",\"timestamp\":1}", /* id 0 */
        "{\"id\":-3,\"userId\":\"uabcdefghjkmn\",\"username\":\"A\",\"message\":\"m\",\"timestamp\":1}",
        "{\"id\":1.5,\"userId\":\"uabcdefghjkmn\",\"username\":\"A\",\"message\":\"m\",\"timestamp\":1}",
        "{\"id\":\"1\",\"userId\":\"uabcdefghjkmn\",\"username\":\"A\",\"message\":\"m\",\"timestamp\":1}",
        "{\"id\":9007199254740993,\"userId\":\"uabcdefghjkmn\",\"username\":\"A\",\"message\":\"m\",\"timestamp\":1}",
        "{\"id\":1,\"userId\":\"uabcdefghjkmn\",\"username\":\"A\",\"message\":\"m\",\"timestamp\":-1}",
        "{\"id\":1,\"userId\":\"uabc\",\"username\":\"A\",\"message\":\"m\",\"timestamp\":1}",          /* short */
        "{\"id\":1,\"userId\":\"xabcdefghjkmn\",\"username\":\"A\",\"message\":\"m\",\"timestamp\":1}", /* not u... */
        "{\"id\":1,\"userId\":\"uabcdefghjkm0\",\"username\":\"A\",\"message\":\"m\",\"timestamp\":1}", /* 0 */
        "{\"id\":1,\"userId\":\"uabcdefghjkmn\",\"username\":\"\",\"message\":\"m\",\"timestamp\":1}",
        "{\"id\":1,\"userId\":\"uabcdefghjkmn\",\"username\":\"A\",\"message\":\"\",\"timestamp\":1}",
        "{\"id\":1,\"userId\":\"uabcdefghjkmn\",\"username\":\"A\",\"message\":\"a\\u0000b\",\"timestamp\":1}",
        "{\"id\":1,\"userId\":\"uabcdefghjkmn\",\"username\":7,\"message\":\"m\",\"timestamp\":1}",
        "{\"id\":1,\"id\":2,\"userId\":\"uabcdefghjkmn\",\"username\":\"A\",\"message\":\"m\",\"timestamp\":1}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vm_chat out;
        if (decode(bad[i], &out) != CHAT_STORE_E_BAD)
            fail_msg("accepted: %s", bad[i]);
        assert_null(out.message);
    }
    /* one byte too many of a message, of a name */
    vm_chat out;
    char *big = malloc(VM_MAX_CHAT_BYTES + 200);
    int n = snprintf(big, 200, "{\"id\":1,\"userId\":\"uabcdefghjkmn\",\"username\":\"A\",\"timestamp\":1,\"message\":\"");
    memset(big + n, 'm', VM_MAX_CHAT_BYTES + 1);
    strcpy(big + n + VM_MAX_CHAT_BYTES + 1, "\"}");
    assert_int_equal(decode(big, &out), CHAT_STORE_E_BAD);
    n = snprintf(big, 200, "{\"id\":1,\"userId\":\"uabcdefghjkmn\",\"message\":\"m\",\"timestamp\":1,\"username\":\"");
    memset(big + n, 'n', VM_MAX_NAME_BYTES + 1);
    strcpy(big + n + VM_MAX_NAME_BYTES + 1, "\"}");
    assert_int_equal(decode(big, &out), CHAT_STORE_E_BAD);
    free(big);
    /* bytes that are not UTF-8 */
    assert_int_equal(
        decode("{\"id\":1,\"userId\":\"uabcdefghjkmn\",\"username\":\"A\",\"message\":\"\xff\",\"timestamp\":1}", &out),
        CHAT_STORE_E_BAD);
}

static void test_restore(void **state)
{
    (void)state;
    vm_registry *reg = registry_new(10, 10, 5000);
    vm_meeting *m;
    assert_int_equal(registry_restore(reg, "abcd2345", 100, &m), 0);
    assert_non_null(m);
    assert_int_equal(m->count, 0);
    assert_int_equal(m->empty_since_ms, 100);
    /* ids 3..5 of a meeting whose first messages had left the history; 4 is stored twice; 2 is out of order */
    vm_chat in[] = {entry(3, "uabcdefghjkmn", "A", "three", 30), entry(4, "u23456789abcd", "B", "four", 40),
                    entry(4, "u23456789abcd", "B", "four", 40), entry(2, "uabcdefghjkmn", "A", "two", 20),
                    entry(5, "uabcdefghjkmn", "A", "five", 50)};
    int want[] = {0, 0, 1, 1, 0};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(meeting_restore_chat(m, &in[i]), want[i]);
    assert_int_equal(m->chat_count, 3);
    assert_true(m->used);
    const char *texts[] = {"three", "four", "five"};
    for (size_t i = 0; i < 3; i++) {
        const vm_chat *c = meeting_chat_at(m, i);
        assert_true(c->id == i + 3);
        assert_true(c->timestamp_ms == (int64_t)(i + 3) * 10);
        assert_string_equal(c->message, texts[i]);
    }
    assert_string_equal(meeting_chat_at(m, 1)->username, "B");
    /* the same history loaded again (a second join that raced the first): nothing added */
    vm_meeting *again;
    assert_int_equal(registry_restore(reg, "abcd2345", 200, &again), 1);
    assert_ptr_equal(again, m);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(meeting_restore_chat(again, &in[i]), 1);
    assert_int_equal(m->chat_count, 3);
    /* who joins sees it, and the next message is number 6 */
    vm_participant *p;
    assert_int_equal(registry_join(reg, "abcd2345", "C", true, true, NULL, 300, &p), 0);
    assert_ptr_equal(p->meeting, m);
    const vm_chat *c = meeting_add_chat(p, "six", 310);
    assert_true(c->id == 6);
    assert_int_equal(m->chat_count, 4);
    /* a full history: the ring keeps the newest VM_CHAT_HISTORY */
    vm_meeting *full;
    assert_int_equal(registry_restore(reg, "zzzz2345", 100, &full), 0);
    for (uint64_t id = 1; id <= VM_CHAT_HISTORY + 7; id++) {
        vm_chat e = entry(id, "uabcdefghjkmn", "A", "x", (int64_t)id);
        assert_int_equal(meeting_restore_chat(full, &e), 0);
    }
    assert_int_equal(full->chat_count, VM_CHAT_HISTORY);
    assert_true(meeting_chat_at(full, 0)->id == 8);
    assert_true(meeting_chat_at(full, VM_CHAT_HISTORY - 1)->id == VM_CHAT_HISTORY + 7);
    /* the limit on meetings holds */
    vm_registry *small = registry_new(10, 1, 5000);
    assert_int_equal(registry_restore(small, "abcd2345", 1, &m), 0);
    assert_int_equal(registry_restore(small, "zzzz2345", 1, &m), MEETING_E_TOO_MANY);
    registry_free(small);
    registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_restore),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
