/* test_http_config.c - request path checks, Content-Types (signaling/http_path.c) and the environment
 * configuration (signaling/config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <string.h>
#include <sys/socket.h>

#include "signaling/config.h"
#include "signaling/http_path.h"
#include "fake_env.h"

static void expect_path(const char *uri, const char *want)
{
    char out[256];
    int rc = http_path_resolve(uri, out, sizeof(out));
    if (rc != 0 || strcmp(out, want) != 0)
        fail_msg("'%s': want '%s', got rc=%d '%s'", uri, want, rc, rc == 0 ? out : "");
}

static void test_paths(void **state)
{
    (void)state;
    expect_path("/", "index.html");
    expect_path("/js/app.js", "js/app.js");
    expect_path("/css/", "css/index.html");
    expect_path("/js/a%20b.js", "js/a b.js");
    static const char *const refused[] = {
        "/../CMakeLists.txt", "/%2e%2e/CMakeLists.txt", "/%2E%2E/x", "/js/..%2f..%2fCMakeLists.txt",
        "/js/%2e%2e%2f%2e%2e%2fetc/passwd", "//etc/passwd", "/..\\x", "/js/%5c..%5cx", "/.git/config",
        "/js/./app.js", "/a%00.html", "/a%zz", "/a%2", "relative", "", "/js//app.js",
    };
    char out[256];
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (http_path_resolve(refused[i], out, sizeof(out)) != HTTP_PATH_E_FORBIDDEN)
            fail_msg("'%s' was not refused", refused[i]);
    }
    assert_int_equal(http_path_resolve(NULL, out, sizeof(out)), HTTP_PATH_E_FORBIDDEN);
    assert_int_equal(http_path_resolve("/abcdefghijkl", out, 8), HTTP_PATH_E_TOO_LONG);
}

static void test_mime(void **state)
{
    (void)state;
    assert_string_equal(http_mime_type("index.html"), "text/html; charset=utf-8");
    assert_string_equal(http_mime_type("js/app.js"), "text/javascript; charset=utf-8");
    assert_string_equal(http_mime_type("css/style.CSS"), "text/css; charset=utf-8");
    assert_string_equal(http_mime_type("img/a.svg"), "image/svg+xml");
    assert_string_equal(http_mime_type("a.b/noext"), "application/octet-stream");
    assert_string_equal(http_mime_type("README"), "application/octet-stream");
}

static void test_config_defaults(void **state)
{
    (void)state;
    static const char *const env[] = {NULL};
    fake_env = env;
    vm_config cfg;
    char err[256];
    assert_int_equal(config_load(&cfg, lookup, "/srv/web", err, sizeof(err)), 0);
    assert_int_equal(cfg.port, 3000);
    assert_string_equal(cfg.web_root, "/srv/web");
    assert_int_equal(cfg.max_participants, 50);
    assert_int_equal(cfg.meeting_grace_ms, 120000);
    assert_int_equal(cfg.max_message_bytes, 65536);
    assert_string_equal(cfg.ice_servers_json, "[]");
    assert_int_equal(cfg.rtc_ip_count, 0);
    assert_string_equal(cfg.bind_address, "");
    assert_int_equal(cfg.bind_family, 0);
    assert_int_equal(cfg.rtc_min_port, 40000);
    assert_int_equal(cfg.rtc_max_port, 49999);
    assert_true(cfg.workers >= 1);
    assert_int_equal(cfg.io_uring, 1);
    config_free(&cfg);
    config_free(NULL);
}

static void test_config_values(void **state)
{
    (void)state;
    static const char *const env[] = {
        "PORT", "8080", "MAX_PARTICIPANTS", "3", "MEETING_GRACE_SECONDS", "1", "RTC_IPS", "127.0.0.1, 10.0.0.5",
        "ANNOUNCED_IP", "203.0.113.7", "STUN_URLS", "stun:stun.example.org:3478", "TURN_URLS",
        "turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349", "TURN_USERNAME", "u",
        "TURN_CREDENTIAL", "p", "WORKERS", "4", "IO_URING", "0", NULL,
    };
    fake_env = env;
    vm_config cfg;
    char err[256];
    assert_int_equal(config_load(&cfg, lookup, "/w", err, sizeof(err)), 0);
    assert_int_equal(cfg.port, 8080);
    assert_int_equal(cfg.max_participants, 3);
    assert_int_equal(cfg.meeting_grace_ms, 1000);
    assert_int_equal(cfg.rtc_ip_count, 2);
    assert_string_equal(cfg.rtc_ips[1], "10.0.0.5");
    assert_string_equal(cfg.announced_ip, "203.0.113.7");
    assert_int_equal(cfg.workers, 4);
    assert_int_equal(cfg.io_uring, 0);
    json_t *ice = json_loads(cfg.ice_servers_json, 0, NULL);
    assert_int_equal(json_array_size(ice), 2);
    json_t *turn = json_array_get(ice, 1);
    assert_int_equal(json_array_size(json_object_get(turn, "urls")), 2);
    assert_string_equal(json_string_value(json_object_get(turn, "username")), "u");
    assert_string_equal(json_string_value(json_object_get(turn, "credential")), "p");
    json_decref(ice);
    config_free(&cfg);
}

static void test_config_bind_address(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        int family;
    } cases[] = {
        {"127.0.0.1", AF_INET}, {"0.0.0.0", AF_INET}, {"::1", AF_INET6}, {"fd99::1", AF_INET6}, {"::", AF_INET6},
        {"", 0}, {"localhost", -1}, {"eth0", -1}, {"127.0.0.1:3000", -1}, {"[::1]", -1}, {"10.0.0.256", -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *env[] = {"BIND_ADDRESS", cases[i].value, NULL};
        fake_env = env;
        vm_config cfg;
        char err[256] = "";
        int rc = config_load(&cfg, lookup, "/w", err, sizeof(err));
        if (cases[i].family < 0) {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err, "BIND_ADDRESS"));
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(cfg.bind_family, cases[i].family);
            assert_string_equal(cfg.bind_address, cases[i].value);
        }
        config_free(&cfg);
    }
}

static void test_config_errors(void **state)
{
    (void)state;
    static const char *const bad_port[] = {"PORT", "80x", NULL};
    static const char *const big_port[] = {"PORT", "70000", NULL};
    static const char *const bad_range[] = {"RTC_MIN_PORT", "50000", "RTC_MAX_PORT", "40000", NULL};
    static const char *const bad_level[] = {"LOG_LEVEL", "loud", NULL};
    static const char *const bad_uring[] = {"IO_URING", "2", NULL};
    const char *const *cases[] = {bad_port, big_port, bad_range, bad_level, bad_uring};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fake_env = cases[i];
        vm_config cfg;
        char err[256] = "";
        assert_int_equal(config_load(&cfg, lookup, "/w", err, sizeof(err)), -1);
        assert_true(strlen(err) > 0);
        config_free(&cfg);
    }
}

/* REDIS_URL, NODE_ID, PUBLIC_URL, NODE_MAX_PARTICIPANTS (README, "Several nodes"); ADMIN_TOKEN. */
static void test_config_cluster(void **state)
{
    (void)state;
    vm_config cfg;
    char err[256] = "";
    static const char *const none[] = {NULL};
    fake_env = none;
    assert_int_equal(config_load(&cfg, lookup, "/w", err, sizeof(err)), 0);
    assert_string_equal(cfg.redis_url, "");
    assert_int_equal(cfg.node_capacity, 500);
    assert_string_equal(cfg.admin_token, ""); /* no admin endpoint */
    config_free(&cfg);
    static const char *const ok[] = {"REDIS_URL", "redis://redis:6379/1", "NODE_ID", "eu-1",
                                     "PUBLIC_URL", "https://n1.example.com/", "NODE_MAX_PARTICIPANTS", "800",
                                     "ADMIN_TOKEN", "0123456789abcdef", NULL};
    fake_env = ok;
    assert_int_equal(config_load(&cfg, lookup, "/w", err, sizeof(err)), 0);
    assert_string_equal(cfg.redis_url, "redis://redis:6379/1");
    assert_string_equal(cfg.node_id, "eu-1");
    assert_string_equal(cfg.public_url, "https://n1.example.com");
    assert_int_equal(cfg.node_capacity, 800);
    assert_string_equal(cfg.admin_token, "0123456789abcdef");
    config_free(&cfg);
    static const char *const no_public[] = {"REDIS_URL", "redis://r", NULL};
    static const char *const bad_public[] = {"REDIS_URL", "redis://r", "PUBLIC_URL", "n1.example.com", NULL};
    static const char *const bad_url[] = {"REDIS_URL", "http://r", "PUBLIC_URL", "http://n1", NULL};
    static const char *const bad_id[] = {"REDIS_URL", "redis://r", "PUBLIC_URL", "http://n1", "NODE_ID", "a b", NULL};
    static const char *const bad_cap[] = {"NODE_MAX_PARTICIPANTS", "0", NULL};
    static char long_token[300];
    memset(long_token, 'a', sizeof(long_token) - 1);
    static const char *const bad_token[] = {"ADMIN_TOKEN", long_token, NULL};
    const char *const *cases[] = {no_public, bad_public, bad_url, bad_id, bad_cap, bad_token};
    for (size_t i = 0; i < 6; i++) {
        fake_env = cases[i];
        err[0] = '\0';
        assert_int_equal(config_load(&cfg, lookup, "/w", err, sizeof(err)), -1);
        assert_true(strlen(err) > 0);
        config_free(&cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_cluster),
        cmocka_unit_test(test_paths),          cmocka_unit_test(test_mime),
        cmocka_unit_test(test_config_defaults), cmocka_unit_test(test_config_values),
        cmocka_unit_test(test_config_bind_address), cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
