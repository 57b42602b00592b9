/* test_ports.c - the media port budget (signaling/ports.c): capacity of a range at two ports per
 * participant, admission up to it and refusals counted past it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "signaling/ports.h"

static void test_capacity(void **state)
{
    (void)state;
    static const struct {
        int min, max;
        size_t size, capacity;
    } cases[] = {
        {40000, 40099, 100, 50},   /* the old Docker default */
        {40000, 40199, 200, 100},  /* the Docker default */
        {40000, 49999, 10000, 5000}, /* the server's default */
        {47200, 47203, 4, 2},
        {47200, 47204, 5, 2},      /* an odd port is left over */
        {47200, 47200, 1, 0},      /* one port: nobody fits */
        {47201, 47200, 0, 0},      /* empty */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        port_budget b;
        port_budget_init(&b, cases[i].min, cases[i].max);
        assert_int_equal(b.size, cases[i].size);
        assert_int_equal(port_budget_capacity(&b), cases[i].capacity);
        assert_int_equal(b.refused, 0);
    }
    assert_int_equal(port_budget_reserved(0), 0);
    assert_int_equal(port_budget_reserved(3), 6);
}

static void test_admit(void **state)
{
    (void)state;
    port_budget b;
    port_budget_init(&b, 47200, 47205); /* 6 ports: 3 participants */
    for (size_t n = 0; n < 3; n++)
        assert_true(port_budget_admit(&b, n));
    assert_int_equal(b.refused, 0);
    assert_false(port_budget_admit(&b, 3)); /* the 4th */
    assert_false(port_budget_admit(&b, 4)); /* more than charged (a range made smaller): still no */
    assert_int_equal(b.refused, 2);
    assert_true(port_budget_admit(&b, 2)); /* somebody left: room again */
    assert_int_equal(b.refused, 2);

    port_budget none;
    port_budget_init(&none, 47200, 47200);
    assert_false(port_budget_admit(&none, 0));
    assert_int_equal(none.refused, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_admit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
