/* test_abuse.c - per-address limits, the client address behind trusted proxies, and the bound on the
 * table's memory (signaling/abuse.c), in virtual time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "signaling/abuse.h"
#include "signaling/ratelimit.h"

#define SEC 1000000ull

static abuse_addr A(const char *s)
{
    abuse_addr a;
    assert_int_equal(abuse_addr_parse(s, strlen(s), &a), 0);
    return a;
}

static const char *fmt(const abuse_addr *a)
{
    static char buf[64];
    abuse_addr_format(a, buf, sizeof(buf));
    return buf;
}

static void test_addr_parse(void **state)
{
    (void)state;
    abuse_addr a;
    a = A("192.0.2.7");
    assert_string_equal(fmt(&a), "192.0.2.7");
    a = A(" 192.0.2.7:4711 ");
    assert_string_equal(fmt(&a), "192.0.2.7");
    a = A("2001:db8::1");
    assert_string_equal(fmt(&a), "2001:db8::1");
    a = A("[2001:db8::1]:443");
    assert_string_equal(fmt(&a), "2001:db8::1");
    a = A("[2001:db8::2]");
    assert_string_equal(fmt(&a), "2001:db8::2");
    a = A("::ffff:198.51.100.3"); /* IPv4-mapped is IPv4 */
    assert_string_equal(fmt(&a), "198.51.100.3");
    const char *bad[] = {"", " ", "unknown", "1.2.3", "1.2.3.4.5", "[::1", "[::1]x", "999.1.1.1", "1.2.3.4:5:6x",
                         "2001:db8::1::2", "_hidden", "a.b.c.d"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(abuse_addr_parse(bad[i], strlen(bad[i]), &a), -1);
    /* only `len` bytes are read */
    assert_int_equal(abuse_addr_parse("10.0.0.1,10.0.0.2", 8, &a), 0);
    assert_string_equal(fmt(&a), "10.0.0.1");
}

static void test_trust_parse(void **state)
{
    (void)state;
    abuse_trust t;
    char err[160];
    assert_int_equal(abuse_trust_parse("", &t, err, sizeof(err)), 0);
    assert_int_equal(t.hops, 0);
    assert_int_equal(t.n, 0);
    assert_int_equal(abuse_trust_parse(NULL, &t, err, sizeof(err)), 0);
    assert_int_equal(abuse_trust_parse("2", &t, err, sizeof(err)), 0);
    assert_int_equal(t.hops, 2);
    assert_int_equal(abuse_trust_parse("10.0.0.0/8, fd00::/8,127.0.0.1 ,::1", &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.cidr[0].bits, 96 + 8);
    assert_int_equal(t.cidr[1].bits, 8);
    assert_int_equal(t.cidr[2].bits, 128);
    assert_int_equal(t.cidr[3].bits, 128);
    const char *bad[] = {"0", "17", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/8x", "proxy.example", "10.0.0.0/8,,"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(abuse_trust_parse(bad[i], &t, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "TRUSTED_PROXIES"));
    }
}

static const char *client(const char *spec, const char *peer, const char *xff)
{
    abuse_trust t;
    char err[160];
    assert_int_equal(abuse_trust_parse(spec, &t, err, sizeof(err)), 0);
    abuse_addr p = A(peer), out;
    abuse_client_address(&t, &p, xff, &out);
    return fmt(&out);
}

static void test_client_address(void **state)
{
    (void)state;
    /* nobody trusted: the header is ignored */
    assert_string_equal(client("", "192.0.2.1", "203.0.113.9"), "192.0.2.1");
    /* hops: the entry the outermost proxy appended; forged entries further left are ignored */
    assert_string_equal(client("1", "10.1.1.1", "6.6.6.6, 203.0.113.9"), "203.0.113.9");
    assert_string_equal(client("2", "10.1.1.1", "6.6.6.6, 203.0.113.9, 10.2.2.2"), "203.0.113.9");
    assert_string_equal(client("3", "10.1.1.1", "203.0.113.9"), "203.0.113.9"); /* fewer: the leftmost */
    assert_string_equal(client("1", "10.1.1.1", NULL), "10.1.1.1");
    assert_string_equal(client("1", "10.1.1.1", ""), "10.1.1.1");
    assert_string_equal(client("1", "10.1.1.1", "garbage"), "10.1.1.1");
    assert_string_equal(client("1", "10.1.1.1", "[2001:db8::5]:1234"), "2001:db8::5");
    /* CIDRs: only a trusted peer's header counts; the rightmost untrusted entry is the client */
    assert_string_equal(client("10.0.0.0/8", "192.0.2.1", "203.0.113.9"), "192.0.2.1");
    assert_string_equal(client("10.0.0.0/8", "10.0.0.5", "203.0.113.9"), "203.0.113.9");
    assert_string_equal(client("10.0.0.0/8", "10.0.0.5", "6.6.6.6,203.0.113.9, 10.9.9.9"), "203.0.113.9");
    assert_string_equal(client("10.0.0.0/8", "10.0.0.5", "10.3.3.3, 10.9.9.9"), "10.3.3.3");
    assert_string_equal(client("10.0.0.0/8", "10.0.0.5", "203.0.113.9, junk, 10.9.9.9"), "10.9.9.9");
    assert_string_equal(client("10.0.0.0/8", "10.0.0.5", "203.0.113.9,"), "10.0.0.5");
    assert_string_equal(client("10.0.0.0/8", "::ffff:10.0.0.5", "2001:db8::7"), "2001:db8::7");
    assert_string_equal(client("fd00::/8", "fd12::1", "198.51.100.1"), "198.51.100.1");
    assert_string_equal(client("fd00::/8", "fe80::1", "198.51.100.1"), "fe80::1");
    assert_string_equal(client("127.0.0.1", "127.0.0.1", "198.51.100.1"), "198.51.100.1");
    assert_string_equal(client("127.0.0.1", "127.0.0.2", "198.51.100.1"), "127.0.0.2");
}

static abuse_limits limits(size_t capacity)
{
    return (abuse_limits){.max_conns = 3, .starts_per_min = 10, .starts_burst = 10, .unknown_per_min = 30,
                          .unknown_burst = 30, .capacity = capacity};
}

static void test_connections_per_address(void **state)
{
    (void)state;
    abuse_limits lim = limits(100);
    abuse_table *t = abuse_new(&lim);
    abuse_addr a = A("192.0.2.1"), b = A("192.0.2.2");
    for (int i = 0; i < 3; i++)
        assert_int_equal(abuse_conn_open(t, &a, 1), 0);
    assert_int_equal(abuse_conn_open(t, &a, 2), -1);
    assert_int_equal(abuse_conn_open(t, &b, 2), 0); /* another address is not affected */
    assert_int_equal(abuse_conns(t, &a), 3);
    abuse_conn_close(t, &a, 3);
    assert_int_equal(abuse_conn_open(t, &a, 4), 0);
    assert_int_equal(abuse_refused(t, ABUSE_CONNECTIONS), 1);
    /* an IPv6 /64 is one address */
    abuse_addr v1 = A("2001:db8:0:1::1"), v2 = A("2001:db8:0:1:ffff::2"), v3 = A("2001:db8:0:2::1");
    for (int i = 0; i < 3; i++)
        assert_int_equal(abuse_conn_open(t, i % 2 ? &v1 : &v2, 5), 0);
    assert_int_equal(abuse_conn_open(t, &v1, 5), -1);
    assert_int_equal(abuse_conn_open(t, &v3, 5), 0);
    /* a close of an address that holds none changes nothing */
    abuse_addr c = A("192.0.2.3");
    abuse_conn_close(t, &c, 6);
    assert_int_equal(abuse_conns(t, &c), 0);
    abuse_free(t);
    abuse_free(NULL);
}

static void test_buckets(void **state)
{
    (void)state;
    abuse_limits lim = limits(100);
    abuse_table *t = abuse_new(&lim);
    abuse_addr a = A("192.0.2.1"), b = A("192.0.2.2");
    unsigned retry = 0;
    uint64_t now = 1000 * SEC;
    for (int i = 0; i < 10; i++) {
        assert_true(abuse_allowed(t, &a, ABUSE_STARTS, now, NULL)); /* asking takes nothing */
        assert_true(abuse_take(t, &a, ABUSE_STARTS, now, &retry));
    }
    assert_false(abuse_allowed(t, &a, ABUSE_STARTS, now, &retry));
    assert_int_equal(retry, 6); /* 10 a minute: one every 6 s */
    assert_false(abuse_take(t, &a, ABUSE_STARTS, now + 3 * SEC, &retry));
    assert_int_equal(retry, 3);
    assert_true(abuse_take(t, &b, ABUSE_STARTS, now, NULL)); /* b has its own */
    assert_true(abuse_take(t, &a, ABUSE_STARTS, now + 6 * SEC, &retry));
    assert_false(abuse_take(t, &a, ABUSE_STARTS, now + 6 * SEC, &retry));
    assert_int_equal(abuse_refused(t, ABUSE_STARTS), 2);
    /* the other bucket is separate */
    assert_true(abuse_take(t, &a, ABUSE_UNKNOWN_JOINS, now, NULL));
    abuse_count_refusal(t, ABUSE_UNKNOWN_JOINS);
    assert_int_equal(abuse_refused(t, ABUSE_UNKNOWN_JOINS), 1);
    assert_string_equal(abuse_kind_name(ABUSE_UNKNOWN_JOINS), "unknown-meetings");
    abuse_free(t);
    /* a rate of 0 is no limit */
    abuse_limits none = {.capacity = 4};
    t = abuse_new(&none);
    for (int i = 0; i < 1000; i++)
        assert_true(abuse_take(t, &a, ABUSE_STARTS, now, NULL));
    assert_int_equal(abuse_conn_open(t, &a, now), 0);
    abuse_free(t);
}

/* An attacker with many addresses cannot grow the table past its capacity, and addresses with open
 * sockets are never forgotten (their counts stay exact). */
static void test_bounded_memory(void **state)
{
    (void)state;
    abuse_limits lim = limits(100);
    abuse_table *t = abuse_new(&lim);
    abuse_addr held[50];
    for (int i = 0; i < 50; i++) {
        char s[64];
        snprintf(s, sizeof(s), "198.51.100.%d", i);
        held[i] = A(s);
        assert_int_equal(abuse_conn_open(t, &held[i], 1), 0);
    }
    for (uint32_t i = 0; i < 100000; i++) {
        char s[64];
        snprintf(s, sizeof(s), "2001:db8:%x:%x::1", i >> 16, i & 0xffff);
        abuse_addr a = A(s);
        assert_true(abuse_take(t, &a, ABUSE_STARTS, 2 + i, NULL)); /* each one new: a full bucket */
        assert_true(abuse_size(t) <= 100);
    }
    assert_int_equal(abuse_size(t), 100);
    assert_int_equal(abuse_evicted(t), 100000 - 50);
    for (int i = 0; i < 50; i++)
        assert_int_equal(abuse_conns(t, &held[i]), 1);
    /* a table full of addresses with open sockets refuses a new one rather than grow */
    for (int i = 0; i < 50; i++) {
        char s[64];
        snprintf(s, sizeof(s), "203.0.113.%d", i);
        abuse_addr a = A(s);
        assert_int_equal(abuse_conn_open(t, &a, 200000), 0);
    }
    abuse_addr extra = A("192.0.2.99");
    assert_int_equal(abuse_conn_open(t, &extra, 200001), -1);
    assert_false(abuse_allowed(t, &extra, ABUSE_STARTS, 200001, NULL));
    assert_int_equal(abuse_size(t), 100);
    abuse_free(t);
}

static void test_expire(void **state)
{
    (void)state;
    abuse_limits lim = limits(100);
    abuse_table *t = abuse_new(&lim);
    abuse_addr a = A("192.0.2.1"), b = A("192.0.2.2"), c = A("192.0.2.3");
    uint64_t now = 1000 * SEC;
    for (int i = 0; i < 10; i++)
        assert_true(abuse_take(t, &a, ABUSE_STARTS, now, NULL));
    assert_int_equal(abuse_conn_open(t, &b, now), 0);
    assert_true(abuse_take(t, &c, ABUSE_UNKNOWN_JOINS, now + 30 * SEC, NULL));
    assert_int_equal(abuse_expire(t, now + 59 * SEC), 0); /* a's bucket is not full yet */
    assert_int_equal(abuse_size(t), 3);
    assert_int_equal(abuse_expire(t, now + 61 * SEC), 1); /* a: full again, forgotten */
    assert_int_equal(abuse_size(t), 2);
    assert_true(abuse_take(t, &a, ABUSE_STARTS, now + 61 * SEC, NULL));
    assert_int_equal(abuse_expire(t, now + 1000 * SEC), 2); /* a and c; b holds a socket */
    assert_int_equal(abuse_conns(t, &b), 1);
    abuse_conn_close(t, &b, now + 1000 * SEC);
    assert_int_equal(abuse_expire(t, now + 1061 * SEC), 1);
    assert_int_equal(abuse_size(t), 0);
    abuse_free(t);
}

static void test_ratelimit_wait(void **state)
{
    (void)state;
    ratelimit rl;
    ratelimit_init(&rl, 2, 4, 0);
    assert_int_equal(ratelimit_wait_us(&rl, 0), 0);
    assert_int_equal(ratelimit_full_us(&rl, 0), 0);
    for (int i = 0; i < 4; i++)
        assert_true(ratelimit_take(&rl, 0));
    assert_false(ratelimit_take(&rl, 0));
    assert_in_range(ratelimit_wait_us(&rl, 0), 500000, 500001);
    assert_in_range(ratelimit_full_us(&rl, 0), 2000000, 2000001);
    assert_int_equal(ratelimit_wait_us(&rl, 500001), 0);
    ratelimit_init(&rl, 0, 1, 0);
    assert_true(ratelimit_take(&rl, 0));
    assert_int_equal(ratelimit_wait_us(&rl, 10), UINT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_parse),      cmocka_unit_test(test_trust_parse),
        cmocka_unit_test(test_client_address),  cmocka_unit_test(test_connections_per_address),
        cmocka_unit_test(test_buckets),         cmocka_unit_test(test_bounded_memory),
        cmocka_unit_test(test_expire),          cmocka_unit_test(test_ratelimit_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
