/* test_resume.c - resume tokens and the reconnecting state of a participant (signaling/resume.c),
 * in virtual time; and the tokens ids_token() draws (signaling/ids.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "signaling/ids.h"
#include "signaling/resume.h"

#define GRACE 30000
#define TOKEN_A "abcdefghijklmnopqrstuvwxyz-_ABCDEFGHIJ01234"
#define TOKEN_B "bbcdefghijklmnopqrstuvwxyz-_ABCDEFGHIJ01234"

static void test_tokens(void **state)
{
    (void)state;
    char a[VM_RESUME_TOKEN_LEN + 1], b[VM_RESUME_TOKEN_LEN + 1];
    assert_int_equal(ids_token(a), 0);
    assert_int_equal(ids_token(b), 0);
    assert_int_equal(strlen(a), VM_RESUME_TOKEN_LEN);
    assert_true(resume_token_well_formed(a));
    assert_string_not_equal(a, b);
    assert_true(resume_token_well_formed(TOKEN_A));
    assert_false(resume_token_well_formed(NULL));
    assert_false(resume_token_well_formed(""));
    assert_false(resume_token_well_formed(TOKEN_A "x"));                                 /* 44 */
    assert_false(resume_token_well_formed("bcdefghijklmnopqrstuvwxyz-_ABCDEFGHIJ01234")); /* 42 */
    assert_false(resume_token_well_formed("abcdefghijklmnopqrstuvwxyz+/ABCDEFGHIJ01234")); /* base64, not url */
    assert_false(resume_token_well_formed("abcdefghijklmnopqrstuvwxyz-_ABCDEFGHIJ0123="));

    vm_resume r;
    memset(&r, 0, sizeof(r));
    assert_false(resume_token_matches(&r, TOKEN_A)); /* none given: nothing matches */
    assert_false(resume_token_matches(&r, ""));
    resume_set_token(&r, TOKEN_A);
    assert_true(resume_token_matches(&r, TOKEN_A));
    assert_false(resume_token_matches(&r, TOKEN_B));
    assert_false(resume_token_matches(&r, TOKEN_A "x"));
    assert_false(resume_token_matches(&r, "abcdefghijklmnopqrstuvwxyz-_ABCDEFGHIJ0123")); /* a prefix */
    /* Rotated at a resume: the old one no longer works. */
    resume_set_token(&r, TOKEN_B);
    assert_false(resume_token_matches(&r, TOKEN_A));
    assert_true(resume_token_matches(&r, TOKEN_B));
}

/* A dropped socket: reconnecting at once, gone at the end of the grace period unless it resumes. */
static void test_away(void **state)
{
    (void)state;
    vm_resume r;
    memset(&r, 0, sizeof(r));
    resume_set_token(&r, TOKEN_A);
    assert_false(resume_reconnecting(&r));
    assert_false(resume_take_change(&r));
    assert_int_equal(resume_deadline(&r, GRACE), INT64_MAX);

    resume_ws_lost(&r, 1000);
    assert_true(resume_reconnecting(&r));
    assert_true(resume_take_change(&r));
    assert_false(resume_take_change(&r)); /* told once */
    assert_int_equal(resume_deadline(&r, GRACE), 1000 + GRACE);
    resume_ws_lost(&r, 5000); /* a second loss does not move the deadline */
    assert_int_equal(resume_deadline(&r, GRACE), 1000 + GRACE);

    resume_ws_back(&r);
    assert_false(resume_reconnecting(&r));
    assert_true(resume_take_change(&r));
    assert_int_equal(resume_deadline(&r, GRACE), INT64_MAX);

    /* Lost again later: a new grace period. */
    resume_ws_lost(&r, 100000);
    assert_int_equal(resume_deadline(&r, GRACE), 100000 + GRACE);
    /* Away without a token (its buffer overflowed): it cannot come back, it goes now. */
    r.token[0] = '\0';
    assert_int_equal(resume_deadline(&r, GRACE), 100000);
    /* A grace of 0: the deadline is the loss itself. */
    resume_set_token(&r, TOKEN_A);
    assert_int_equal(resume_deadline(&r, 0), 100000);
}

/* Media: a restart the browser asked for shows as reconnecting without a deadline; a failure the SFU
 * saw has one, from the first failure, until every failed connection works again. */
static void test_media(void **state)
{
    (void)state;
    vm_resume r;
    memset(&r, 0, sizeof(r));
    resume_set_token(&r, TOKEN_A);
    resume_media(&r, 1, RESUME_MEDIA_RESTARTING, 1000);
    assert_true(resume_reconnecting(&r));
    assert_true(resume_take_change(&r));
    assert_int_equal(resume_deadline(&r, GRACE), INT64_MAX);
    resume_media(&r, 1, RESUME_MEDIA_OK, 2000);
    assert_false(resume_reconnecting(&r));
    assert_true(resume_take_change(&r));

    resume_media(&r, 0, RESUME_MEDIA_FAILED, 10000);
    resume_media(&r, 1, RESUME_MEDIA_FAILED, 12000);
    assert_int_equal(resume_deadline(&r, GRACE), 10000 + GRACE);
    resume_media(&r, 0, RESUME_MEDIA_OK, 13000);
    assert_true(resume_reconnecting(&r));               /* pc 1 still broken */
    assert_int_equal(resume_deadline(&r, GRACE), 10000 + GRACE); /* since the first failure */
    resume_media(&r, 1, RESUME_MEDIA_RESTARTING, 14000); /* being repaired: still failed */
    assert_int_equal(resume_deadline(&r, GRACE), 10000 + GRACE);
    resume_media(&r, 1, RESUME_MEDIA_OK, 15000);
    assert_false(resume_reconnecting(&r));
    assert_int_equal(resume_deadline(&r, GRACE), INT64_MAX);

    /* Away and failed: the earlier deadline counts. */
    resume_media(&r, 0, RESUME_MEDIA_FAILED, 20000);
    resume_ws_lost(&r, 25000);
    assert_int_equal(resume_deadline(&r, GRACE), 20000 + GRACE);
    resume_media(&r, 0, RESUME_MEDIA_OK, 26000);
    assert_int_equal(resume_deadline(&r, GRACE), 25000 + GRACE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_away),
        cmocka_unit_test(test_media),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
