/* test_drain.c - the pure part of draining a node (signaling/drain.c): which meetings are handed over
 * and when, what became of each, and the admin endpoint's token check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "signaling/drain.h"

static void test_not_draining(void **state)
{
    (void)state;
    vm_drain *d = drain_new();
    assert_false(drain_active(d));
    assert_false(drain_take(d, "abcd2345", 1000)); /* nothing is handed over before the drain */
    assert_int_equal(drain_state_of(d, "abcd2345"), 0);
    assert_true(drain_begin(d));
    assert_false(drain_begin(d)); /* once */
    assert_true(drain_active(d));
    drain_free(d);
    drain_free(NULL);
}

static void test_handed_over(void **state)
{
    (void)state;
    vm_drain *d = drain_new();
    drain_begin(d);
    assert_true(drain_take(d, "abcd2345", 1000));
    assert_int_equal(drain_state_of(d, "abcd2345"), DRAIN_ASKING);
    assert_false(drain_take(d, "abcd2345", 1001)); /* asked once while the answer is due */
    assert_null(drain_moved_to(d, "abcd2345"));
    assert_true(drain_answer(d, "abcd2345", "http://10.0.0.2:3002", 1100));
    assert_int_equal(drain_state_of(d, "abcd2345"), DRAIN_MOVED);
    assert_string_equal(drain_moved_to(d, "abcd2345"), "http://10.0.0.2:3002");
    assert_false(drain_take(d, "abcd2345", 999999)); /* never asked again */
    assert_false(drain_answer(d, "abcd2345", "http://other", 1200)); /* a late answer changes nothing */
    assert_string_equal(drain_moved_to(d, "abcd2345"), "http://10.0.0.2:3002");
    assert_int_equal(drain_count(d, DRAIN_MOVED), 1);
    drain_forget(d, "abcd2345");
    assert_int_equal(drain_state_of(d, "abcd2345"), 0);
    assert_null(drain_moved_to(d, "abcd2345"));
    assert_false(drain_answer(d, "zzzz2345", "http://x", 1)); /* never asked */
    drain_free(d);
}

static void test_stays_then_retried(void **state)
{
    (void)state;
    vm_drain *d = drain_new();
    drain_begin(d);
    assert_true(drain_take(d, "abcd2345", 1000));
    assert_true(drain_take(d, "efgh2345", 1000));
    assert_true(drain_answer(d, "abcd2345", NULL, 1200)); /* no node could take it */
    assert_int_equal(drain_state_of(d, "abcd2345"), DRAIN_STAYS);
    assert_int_equal(drain_count(d, DRAIN_STAYS), 1);
    assert_int_equal(drain_count(d, DRAIN_ASKING), 1);
    assert_false(drain_take(d, "abcd2345", 1200 + DRAIN_RETRY_MS - 1));
    assert_true(drain_take(d, "abcd2345", 1200 + DRAIN_RETRY_MS));
    assert_int_equal(drain_state_of(d, "abcd2345"), DRAIN_ASKING);
    assert_true(drain_answer(d, "abcd2345", "http://n3", 7000));
    assert_int_equal(drain_count(d, DRAIN_STAYS), 0);
    assert_int_equal(drain_count(d, DRAIN_MOVED), 1);
    /* forgotten while asking: the answer that comes later is ignored */
    drain_forget(d, "efgh2345");
    assert_false(drain_answer(d, "efgh2345", "http://n2", 7000));
    assert_int_equal(drain_state_of(d, "efgh2345"), 0);
    drain_free(d);
}

static void test_admin_token(void **state)
{
    (void)state;
    assert_int_equal(drain_admin_check("", "Bearer x"), DRAIN_ADMIN_OFF);
    assert_int_equal(drain_admin_check(NULL, NULL), DRAIN_ADMIN_OFF);
    assert_int_equal(drain_admin_check("s3cret-token", NULL), DRAIN_ADMIN_DENIED);
    assert_int_equal(drain_admin_check("s3cret-token", ""), DRAIN_ADMIN_DENIED);
    assert_int_equal(drain_admin_check("s3cret-token", "Bearer s3cret-token"), DRAIN_ADMIN_OK);
    assert_int_equal(drain_admin_check("s3cret-token", "bearer s3cret-token"), DRAIN_ADMIN_OK); /* scheme: any case */
    assert_int_equal(drain_admin_check("s3cret-token", "Basic s3cret-token"), DRAIN_ADMIN_DENIED);
    assert_int_equal(drain_admin_check("s3cret-token", "s3cret-token"), DRAIN_ADMIN_DENIED);
    assert_int_equal(drain_admin_check("s3cret-token", "Bearer s3cret-toke"), DRAIN_ADMIN_DENIED);   /* prefix */
    assert_int_equal(drain_admin_check("s3cret-token", "Bearer s3cret-tokenn"), DRAIN_ADMIN_DENIED); /* longer */
    assert_int_equal(drain_admin_check("s3cret-token", "Bearer s3cret-tokem"), DRAIN_ADMIN_DENIED);  /* last byte */
    assert_int_equal(drain_admin_check("s3cret-token", "Bearer S3cret-token"), DRAIN_ADMIN_DENIED);  /* case */
    assert_int_equal(drain_admin_check("s3cret-token", "Bearer "), DRAIN_ADMIN_DENIED);
    /* a token repeated: the same bytes at i % n, but not the same length */
    assert_int_equal(drain_admin_check("ab", "Bearer abab"), DRAIN_ADMIN_DENIED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_draining),
        cmocka_unit_test(test_handed_over),
        cmocka_unit_test(test_stays_then_retried),
        cmocka_unit_test(test_admin_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
