/* test_placement.c - the pure part of several nodes (signaling/placement.c): node records from Redis
 * fields, the choice of a node for a new meeting, REDIS_URL and node ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "signaling/placement.h"

static cluster_node node(const char *id, uint64_t capacity, uint64_t participants, uint64_t meetings)
{
    cluster_node n;
    memset(&n, 0, sizeof(n));
    strcpy(n.id, id);
    strcpy(n.url, "http://x");
    n.capacity = capacity;
    n.participants = participants;
    n.meetings = meetings;
    return n;
}

static void test_fields(void **state)
{
    (void)state;
    cluster_node n;
    memset(&n, 0, sizeof(n));
    strcpy(n.id, "a");
    assert_false(placement_node_valid(&n));
    placement_node_field(&n, "url", "http://10.0.0.2:3000");
    placement_node_field(&n, "capacity", "500");
    placement_node_field(&n, "participants", "12");
    placement_node_field(&n, "meetings", "3");
    placement_node_field(&n, "pps", "4000");
    placement_node_field(&n, "cpu", "0.75");
    placement_node_field(&n, "draining", "1");
    placement_node_field(&n, "future-field", "x");
    assert_true(placement_node_valid(&n));
    assert_string_equal(n.url, "http://10.0.0.2:3000");
    assert_int_equal(n.capacity, 500);
    assert_int_equal(n.participants, 12);
    assert_int_equal(n.meetings, 3);
    assert_int_equal(n.pps, 4000);
    assert_true(n.cpu > 0.74 && n.cpu < 0.76);
    assert_true(n.draining);
    /* bad numbers leave the field as it was */
    placement_node_field(&n, "participants", "-1");
    placement_node_field(&n, "participants", "12x");
    placement_node_field(&n, "participants", "");
    placement_node_field(&n, "cpu", "-2");
    placement_node_field(&n, "capacity", "99999999999999999999999");
    placement_node_field(&n, NULL, "1");
    placement_node_field(&n, "meetings", NULL);
    assert_int_equal(n.participants, 12);
    assert_int_equal(n.capacity, 500);
    assert_true(n.cpu > 0.74);
}

static void test_choose_least_loaded(void **state)
{
    (void)state;
    cluster_node ns[3] = {node("a", 100, 10, 2), node("b", 100, 3, 1), node("c", 100, 5, 5)};
    assert_int_equal(placement_choose(ns, 3, NULL), 1);
    /* capacity weighs: b at 4/100 against a bigger node at 6/200 */
    ns[0] = node("a", 200, 5, 1);
    assert_int_equal(placement_choose(ns, 3, NULL), 0);
    assert_int_equal(placement_choose(ns, 0, NULL), -1);
}

static void test_choose_ties(void **state)
{
    (void)state;
    /* same load: fewer meetings first, then the smaller id, whatever the order of the list */
    cluster_node ns[3] = {node("c", 100, 0, 0), node("a", 100, 0, 0), node("b", 100, 0, 0)};
    assert_int_equal(placement_choose(ns, 3, NULL), 1);
    ns[1].meetings = 1; /* a: 1 meeting */
    assert_int_equal(placement_choose(ns, 3, NULL), 2);
    cluster_node eq[2] = {node("x", 100, 2, 2), node("y", 100, 3, 1)};
    assert_int_equal(placement_choose(eq, 2, NULL), 1);
    /* a tie otherwise: the choosing node itself */
    ns[1].meetings = 0;
    assert_int_equal(placement_choose(ns, 3, "c"), 0);
    assert_int_equal(placement_choose(ns, 3, "b"), 2);
    assert_int_equal(placement_choose(ns, 3, "zz"), 1);
    ns[0].meetings = 1; /* not on a real tie */
    assert_int_equal(placement_choose(ns, 3, "c"), 1);
}

/* Three nodes choosing from the same stale list at once (each sees only its own placements) still
 * spread evenly: each prefers itself on a tie. */
static void test_choose_stale_views(void **state)
{
    (void)state;
    const char *ids[3] = {"n1", "n2", "n3"};
    unsigned total[3] = {0};
    for (int chooser = 0; chooser < 3; chooser++) {
        cluster_node view[3] = {node("n1", 500, 0, 0), node("n2", 500, 0, 0), node("n3", 500, 0, 0)};
        for (int i = 0; i < 10; i++) {
            int k = placement_choose(view, 3, ids[chooser]);
            view[k].meetings++;
            total[k]++;
        }
    }
    assert_int_equal(total[0], 10);
    assert_int_equal(total[1], 10);
    assert_int_equal(total[2], 10);
}

/* Placing one meeting after another, bumping the chosen node's count as the signaling thread does,
 * spreads them evenly. */
static void test_choose_spreads(void **state)
{
    (void)state;
    cluster_node ns[3] = {node("n1", 500, 0, 0), node("n2", 500, 0, 0), node("n3", 500, 0, 0)};
    unsigned counts[3] = {0};
    for (int i = 0; i < 30; i++) {
        int k = placement_choose(ns, 3, NULL);
        assert_true(k >= 0);
        ns[k].meetings++;
        counts[k]++;
    }
    assert_int_equal(counts[0], 10);
    assert_int_equal(counts[1], 10);
    assert_int_equal(counts[2], 10);
}

static void test_choose_room(void **state)
{
    (void)state;
    cluster_node ns[3] = {node("a", 10, 10, 0), node("b", 10, 9, 5), node("c", 0, 0, 0)};
    assert_int_equal(placement_choose(ns, 3, NULL), 1); /* a is full, c takes nobody */
    ns[1].participants = 10;
    assert_int_equal(placement_choose(ns, 3, NULL), -1);
    ns[0] = node("a", 10, 0, 0);
    ns[0].draining = true;
    assert_int_equal(placement_choose(ns, 3, NULL), -1);
    ns[0].draining = false;
    ns[0].url[0] = '\0'; /* no URL: nobody could be sent there */
    assert_int_equal(placement_choose(ns, 3, NULL), -1);
}

static void test_redis_url(void **state)
{
    (void)state;
    redis_target t;
    assert_int_equal(placement_parse_redis_url("redis://127.0.0.1:6380/2", &t), 0);
    assert_string_equal(t.host, "127.0.0.1");
    assert_int_equal(t.port, 6380);
    assert_int_equal(t.db, 2);
    assert_string_equal(t.password, "");
    assert_int_equal(placement_parse_redis_url("redis://redis", &t), 0);
    assert_string_equal(t.host, "redis");
    assert_int_equal(t.port, 6379);
    assert_int_equal(t.db, 0);
    assert_int_equal(placement_parse_redis_url("redis://cache.local/", &t), 0);
    assert_int_equal(placement_parse_redis_url("redis://[::1]:7000", &t), 0);
    assert_string_equal(t.host, "::1");
    assert_int_equal(t.port, 7000);
    assert_int_equal(placement_parse_redis_url("redis://:s3cr@t/x@cache:6390", &t), 0);
    assert_string_equal(t.user, "");
    assert_string_equal(t.password, "s3cr@t/x");
    assert_string_equal(t.host, "cache");
    assert_int_equal(t.port, 6390);
    assert_int_equal(placement_parse_redis_url("redis://vm:pw@cache/3", &t), 0);
    assert_string_equal(t.user, "vm");
    assert_string_equal(t.password, "pw");
    assert_int_equal(t.db, 3);
    static const char *const bad[] = {
        "", "http://x", "redis://", "redis://:6379", "redis://h:0", "redis://h:65536", "redis://h:x",
        "redis://h/16", "redis://h/1x", "redis://user@h", "redis://[::1", "redis://h:1:2", "redis://h p",
        "redis://h/1/2", "redis://pw@", "redis://:pw@",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(placement_parse_redis_url(bad[i], &t), -1);
    char longhost[300];
    memset(longhost, 'a', sizeof(longhost));
    memcpy(longhost, "redis://", 8);
    longhost[sizeof(longhost) - 1] = '\0';
    assert_int_equal(placement_parse_redis_url(longhost, &t), -1);
}

static void test_node_id(void **state)
{
    (void)state;
    assert_true(placement_node_id_valid("node-1.eu_west"));
    assert_false(placement_node_id_valid(""));
    assert_false(placement_node_id_valid("a b"));
    assert_false(placement_node_id_valid("a:b"));
    char longid[VM_NODE_ID_MAX + 1];
    memset(longid, 'a', VM_NODE_ID_MAX);
    longid[VM_NODE_ID_MAX] = '\0';
    assert_false(placement_node_id_valid(longid));
    longid[VM_NODE_ID_MAX - 1] = '\0';
    assert_true(placement_node_id_valid(longid));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields),        cmocka_unit_test(test_choose_least_loaded),
        cmocka_unit_test(test_choose_ties),   cmocka_unit_test(test_choose_spreads),
        cmocka_unit_test(test_choose_room),   cmocka_unit_test(test_redis_url),
        cmocka_unit_test(test_node_id),       cmocka_unit_test(test_choose_stale_views),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
