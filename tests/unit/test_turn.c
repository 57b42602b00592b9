/* test_turn.c - media over TCP: TURN REST API credentials (signaling/turn_cred.c), the iceServers of
 * /api/config (signaling/ice_servers.c), the TURN_* and RAILWAY_TCP_* variables (signaling/config.c)
 * and the embedded coturn's configuration (signaling/turnd.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/config.h"
#include "signaling/ice_servers.h"
#include "signaling/turn_cred.h"
#include "signaling/turnd.h"
#include "fake_env.h"

/* Known answers computed outside this code base, with OpenSSL's command line:
 *   printf '%s' '1700000000:alice' | openssl dgst -sha1 -hmac 'north-wind' -binary | base64
 *   printf '%s' '1700086400:u7k3m9' | openssl dgst -sha1 -hmac \
 *     'a-secret-of-32-bytes-and-more-than-that-0123456789' -binary | base64 */
static void test_cred_known_answers(void **state)
{
    (void)state;
    char user[64], cred[TURN_CRED_LEN];
    assert_int_equal(turn_cred_mint("north-wind", 1700000000, "alice", user, sizeof(user), cred, sizeof(cred)), 0);
    assert_string_equal(user, "1700000000:alice");
    assert_string_equal(cred, "Oko4dt8u/EbTRjRUJWQDFm/zTCc=");
    assert_int_equal(turn_cred_mint("a-secret-of-32-bytes-and-more-than-that-0123456789", 1700086400, "u7k3m9", user,
                                    sizeof(user), cred, sizeof(cred)),
                     0);
    assert_string_equal(user, "1700086400:u7k3m9");
    assert_string_equal(cred, "SRFXXgwlPFhwEGNxJeFBtXDdaBo=");
}

static void test_cred_refusals(void **state)
{
    (void)state;
    char user[64], cred[TURN_CRED_LEN];
    assert_int_equal(turn_cred_mint("", 1, "a", user, sizeof(user), cred, sizeof(cred)), TURN_CRED_E_ARG);
    assert_int_equal(turn_cred_mint(NULL, 1, "a", user, sizeof(user), cred, sizeof(cred)), TURN_CRED_E_ARG);
    assert_int_equal(turn_cred_mint("s", -1, "a", user, sizeof(user), cred, sizeof(cred)), TURN_CRED_E_ARG);
    assert_int_equal(turn_cred_mint("s", 1, "", user, sizeof(user), cred, sizeof(cred)), TURN_CRED_E_ARG);
    assert_int_equal(turn_cred_mint("s", 1, "a:b", user, sizeof(user), cred, sizeof(cred)), TURN_CRED_E_ARG);
    assert_int_equal(turn_cred_mint("s", 1, "a b", user, sizeof(user), cred, sizeof(cred)), TURN_CRED_E_ARG);
    assert_int_equal(turn_cred_mint("s", 1700000000, "alice", user, 16, cred, sizeof(cred)), TURN_CRED_E_SPACE);
    assert_int_equal(turn_cred_mint("s", 1700000000, "alice", user, 17, cred, sizeof(cred)), 0);
    assert_int_equal(turn_cred_mint("s", 1, "a", user, sizeof(user), cred, TURN_CRED_LEN - 1), TURN_CRED_E_SPACE);
}

static void expect_split(const char *in, int rc, const char *host, int port)
{
    char h[64] = "";
    int p = -1;
    int got = ice_host_split(in, h, sizeof(h), &p);
    if (got != rc || (rc == 0 && (strcmp(h, host) != 0 || p != port)))
        fail_msg("'%s': want %d '%s' %d, got %d '%s' %d", in, rc, host ? host : "", port, got, h, p);
}

static void test_host_split(void **state)
{
    (void)state;
    expect_split("meet.example.org", 0, "meet.example.org", 0);
    expect_split("meet.example.org:443", 0, "meet.example.org", 443);
    expect_split("127.0.0.1:3000", 0, "127.0.0.1", 3000);
    expect_split("[::1]:3000", 0, "[::1]", 3000);
    expect_split("[2001:db8::7]", 0, "[2001:db8::7]", 0);
    expect_split("roundhouse.proxy.rlwy.net:12345", 0, "roundhouse.proxy.rlwy.net", 12345);
    static const char *const bad[] = {"", ":80", "a:", "a:0", "a:65536", "a:8x", "a b", "a/b", "a\"b", "[]",
                                      "[::1", "[::g]", "[::1]x", "a:1:2", "ünï.example"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_split(bad[i], -1, NULL, 0);
    char h[8];
    int p;
    assert_int_equal(ice_host_split("abcdefgh", h, sizeof(h), &p), -1); /* too long for the buffer */
    assert_int_equal(ice_host_split("abcdefg", h, sizeof(h), &p), 0);
    char big[300];
    memset(big, 'a', 254);
    big[254] = '\0';
    char out[300];
    assert_int_equal(ice_host_split(big, out, sizeof(out), &p), -1); /* longer than a DNS name */
}

static void load(vm_config *cfg, const char *const *env)
{
    fake_env = env;
    char err[256] = "";
    if (config_load(cfg, lookup, "/w", err, sizeof(err)) != 0)
        fail_msg("config_load: %s", err);
}

static void expect_error(const char *const *env, const char *want)
{
    fake_env = env;
    vm_config cfg;
    char err[256] = "";
    assert_int_equal(config_load(&cfg, lookup, "/w", err, sizeof(err)), -1);
    if (!strstr(err, want))
        fail_msg("error '%s' does not say '%s'", err, want);
    config_free(&cfg);
}

/* The minted entry of `ice` whose first URL starts with `prefix`; checks its credential too. */
static json_t *minted(json_t *ice, const char *prefix, const char *secret, int64_t expiry, const char *tag)
{
    for (size_t i = 0; i < json_array_size(ice); i++) {
        json_t *e = json_array_get(ice, i);
        const char *url = json_string_value(json_array_get(json_object_get(e, "urls"), 0));
        if (!url || strncmp(url, prefix, strlen(prefix)))
            continue;
        char user[64], cred[TURN_CRED_LEN];
        assert_int_equal(turn_cred_mint(secret, expiry, tag, user, sizeof(user), cred, sizeof(cred)), 0);
        assert_string_equal(json_string_value(json_object_get(e, "username")), user);
        assert_string_equal(json_string_value(json_object_get(e, "credential")), cred);
        return json_object_get(e, "urls");
    }
    fail_msg("no entry for %s", prefix);
    return NULL;
}

static void test_config_off(void **state)
{
    (void)state;
    static const char *const env[] = {"TURN_URLS", "turn:t.example:3478", "TURN_USERNAME", "u", "TURN_CREDENTIAL",
                                      "p", NULL};
    vm_config cfg;
    load(&cfg, env);
    assert_int_equal(cfg.turn_port, 0);
    assert_null(cfg.turn_rest_urls_json);
    json_t *ice = ice_servers_build(&cfg, "meet.example", 1000, "tag");
    char *text = json_dumps(ice, JSON_COMPACT);
    /* only the static entry: nothing minted without TURN_PORT or TURN_SECRET */
    assert_string_equal(text, "[{\"urls\":[\"turn:t.example:3478\"],\"username\":\"u\",\"credential\":\"p\"}]");
    free(text);
    json_decref(ice);
    config_free(&cfg);
}

static void test_config_embedded(void **state)
{
    (void)state;
    static const char *const env[] = {"TURN_PORT", "3478", "TURN_SECRET", "s3cret", "STUN_URLS", "stun:s.example",
                                      "TURN_TTL_SECONDS", "600", NULL};
    vm_config cfg;
    load(&cfg, env);
    assert_int_equal(cfg.turn_port, 3478);
    assert_int_equal(cfg.turn_ttl_s, 600);
    assert_string_equal(cfg.turn_public_host, "");
    /* the host the browser reached the HTTP port by, with the TURN port */
    json_t *ice = ice_servers_build(&cfg, "meet.example:8443", 1000, "t1");
    assert_int_equal(json_array_size(ice), 2); /* STUN, then the minted TURN entry */
    json_t *urls = minted(ice, "turn:", "s3cret", 1600, "t1");
    assert_int_equal(json_array_size(urls), 1);
    assert_string_equal(json_string_value(json_array_get(urls, 0)), "turn:meet.example:3478?transport=tcp");
    json_decref(ice);
    ice = ice_servers_build(&cfg, "[::1]:3000", 1000, "t1");
    assert_string_equal(json_string_value(json_array_get(minted(ice, "turn:", "s3cret", 1600, "t1"), 0)),
                        "turn:[::1]:3478?transport=tcp");
    json_decref(ice);
    /* no usable Host: no TURN entry (but the rest) */
    static const char *const bad_hosts[] = {NULL, "", "a b", "x\"y"};
    for (size_t i = 0; i < 4; i++) {
        ice = ice_servers_build(&cfg, bad_hosts[i], 1000, "t1");
        assert_int_equal(json_array_size(ice), 1);
        json_decref(ice);
    }
    config_free(&cfg);
}

static void test_config_public_address(void **state)
{
    (void)state;
    static const char *const explicit_env[] = {"TURN_PORT", "3478", "TURN_SECRET", "k", "TURN_PUBLIC_ADDRESS",
                                               "turn.example:443", "ANNOUNCED_IP", "203.0.113.9", NULL};
    vm_config cfg;
    load(&cfg, explicit_env);
    json_t *ice = ice_servers_build(&cfg, "meet.example", 5, "t");
    assert_string_equal(json_string_value(json_array_get(minted(ice, "turn:", "k", 5 + 86400, "t"), 0)),
                        "turn:turn.example:443?transport=tcp");
    json_decref(ice);
    config_free(&cfg);

    static const char *const announced_env[] = {"TURN_PORT", "3478", "TURN_SECRET", "k", "ANNOUNCED_IP",
                                                "2001:db8::9", NULL};
    load(&cfg, announced_env);
    ice = ice_servers_build(&cfg, "meet.example", 5, "t");
    assert_string_equal(json_string_value(json_array_get(minted(ice, "turn:", "k", 5 + 86400, "t"), 0)),
                        "turn:[2001:db8::9]:3478?transport=tcp");
    json_decref(ice);
    config_free(&cfg);

    static const char *const tls_env[] = {"TURN_PORT", "3478", "TURN_SECRET", "k", "TURN_TLS_CERT", "/c.pem",
                                          "TURN_TLS_KEY", "/k.pem", "TURN_TLS_PORT", "5350", NULL};
    load(&cfg, tls_env);
    ice = ice_servers_build(&cfg, "meet.example", 5, "t");
    json_t *urls = minted(ice, "turn:", "k", 5 + 86400, "t");
    assert_int_equal(json_array_size(urls), 2);
    assert_string_equal(json_string_value(json_array_get(urls, 1)), "turns:meet.example:5350?transport=tcp");
    json_decref(ice);
    config_free(&cfg);
}

/* Railway sets these for a service with a TCP proxy: nothing else needs setting. */
static void test_config_railway(void **state)
{
    (void)state;
    static const char *const env[] = {"PORT", "8080", "RAILWAY_TCP_PROXY_DOMAIN", "roundhouse.proxy.rlwy.net",
                                      "RAILWAY_TCP_PROXY_PORT", "41234", "RAILWAY_TCP_APPLICATION_PORT", "3478", NULL};
    vm_config cfg;
    load(&cfg, env);
    assert_int_equal(cfg.turn_port, 3478);
    assert_string_equal(cfg.turn_public_host, "roundhouse.proxy.rlwy.net");
    assert_int_equal(cfg.turn_public_port, 41234);
    assert_string_equal(cfg.turn_secret, ""); /* main.c draws one */
    memcpy(cfg.turn_secret, "drawn", 6);
    json_t *ice = ice_servers_build(&cfg, "videomeet.up.railway.app", 100, "r");
    assert_int_equal(json_array_size(ice), 1);
    assert_string_equal(json_string_value(json_array_get(minted(ice, "turn:", "drawn", 100 + 86400, "r"), 0)),
                        "turn:roundhouse.proxy.rlwy.net:41234?transport=tcp");
    json_decref(ice);
    config_free(&cfg);

    /* the port the proxy forwards to wins over TURN_PORT (the Docker image's 3478) */
    static const char *const image_env[] = {"RAILWAY_TCP_PROXY_DOMAIN", "x.proxy.rlwy.net", "RAILWAY_TCP_PROXY_PORT",
                                            "1", "RAILWAY_TCP_APPLICATION_PORT", "5000", "TURN_PORT", "3478", NULL};
    load(&cfg, image_env);
    assert_int_equal(cfg.turn_port, 5000);
    assert_int_equal(cfg.turn_public_port, 1);
    config_free(&cfg);
    /* a proxy without its port number: the browser's Host is used */
    static const char *const half_env[] = {"RAILWAY_TCP_PROXY_DOMAIN", "x.proxy.rlwy.net",
                                           "RAILWAY_TCP_APPLICATION_PORT", "3478", NULL};
    load(&cfg, half_env);
    assert_string_equal(cfg.turn_public_host, "");
    config_free(&cfg);
}

/* TURN_URLS with TURN_SECRET and no TURN_USERNAME: an external TURN server of the REST API scheme. */
static void test_config_external_rest(void **state)
{
    (void)state;
    static const char *const env[] = {"TURN_URLS", "turn:a.example:3478?transport=udp, turns:a.example:5349",
                                      "TURN_SECRET", "ext", NULL};
    vm_config cfg;
    load(&cfg, env);
    assert_int_equal(cfg.turn_port, 0);
    assert_string_equal(cfg.ice_servers_json, "[]");
    json_t *ice = ice_servers_build(&cfg, NULL, 7, "e");
    assert_int_equal(json_array_size(ice), 1);
    json_t *urls = minted(ice, "turn:a.example", "ext", 7 + 86400, "e");
    assert_int_equal(json_array_size(urls), 2);
    json_decref(ice);
    config_free(&cfg);
}

static void test_config_errors(void **state)
{
    (void)state;
    static const char *const same_port[] = {"PORT", "3000", "TURN_PORT", "3000", NULL};
    expect_error(same_port, "TURN_PORT (3000) is PORT");
    static const char *const rail_same[] = {"PORT", "8080", "RAILWAY_TCP_APPLICATION_PORT", "8080", NULL};
    expect_error(rail_same, "RAILWAY_TCP_APPLICATION_PORT (8080) is PORT");
    static const char *const half_tls[] = {"TURN_PORT", "3478", "TURN_TLS_CERT", "/c.pem", NULL};
    expect_error(half_tls, "TURN_TLS_CERT and TURN_TLS_KEY go together");
    static const char *const tls_no_port[] = {"TURN_TLS_CERT", "/c.pem", "TURN_TLS_KEY", "/k.pem", NULL};
    expect_error(tls_no_port, "TURN_TLS_CERT needs TURN_PORT");
    static const char *const tls_same[] = {"TURN_PORT", "3478", "TURN_TLS_PORT", "3478", "TURN_TLS_CERT", "/c",
                                           "TURN_TLS_KEY", "/k", NULL};
    expect_error(tls_same, "TURN_TLS_PORT (3478)");
    static const char *const bad_public[] = {"TURN_PORT", "3478", "TURN_PUBLIC_ADDRESS", "http://x", NULL};
    expect_error(bad_public, "TURN_PUBLIC_ADDRESS");
    static const char *const bad_rail[] = {"RAILWAY_TCP_APPLICATION_PORT", "3478", "RAILWAY_TCP_PROXY_DOMAIN", "a b",
                                           "RAILWAY_TCP_PROXY_PORT", "1", NULL};
    expect_error(bad_rail, "RAILWAY_TCP_PROXY_DOMAIN");
    static const char *const bad_ttl[] = {"TURN_TTL_SECONDS", "5", NULL};
    expect_error(bad_ttl, "TURN_TTL_SECONDS");
    static const char *const bad_turn_port[] = {"TURN_PORT", "70000", NULL};
    expect_error(bad_turn_port, "TURN_PORT");
}

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p += n) {
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    }
    return 0;
}

static void test_conf_text(void **state)
{
    (void)state;
    turnd_settings s;
    memset(&s, 0, sizeof(s));
    s.listen_ip = "";
    s.port = 3478;
    s.secret = "sec";
    s.dir = "/tmp/d";
    s.announced_ip = "203.0.113.9";
    strcpy(s.ips[s.ip_count++], "10.0.0.5");
    strcpy(s.ips[s.ip_count++], "fd12::5");
    char *t = turnd_conf_text(&s);
    static const char *const want[] = {
        "listening-port=3478", "no-tls", "no-udp", "no-dtls", "no-tcp-relay", "relay-ip=10.0.0.5", "relay-ip=fd12::5",
        "allowed-peer-ip=10.0.0.5", "allowed-peer-ip=fd12::5", "allowed-peer-ip=203.0.113.9",
        "denied-peer-ip=0.0.0.0-255.255.255.255", "denied-peer-ip=::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "no-multicast-peers", "use-auth-secret", "static-auth-secret=sec", "no-cli", "pidfile=/tmp/d/turnserver.pid",
        "userdb=/tmp/d/turndb",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (!has_line(t, want[i]))
            fail_msg("no line '%s' in:\n%s", want[i], t);
    }
    assert_false(has_line(t, "allow-loopback-peers")); /* the SFU is not on loopback */
    assert_null(strstr(t, "listening-ip"));             /* every address */
    assert_null(strstr(t, "relay-ip=203.0.113.9"));      /* not a local address */
    free(t);

    /* the tests' and the Docker check's set-up: everything on 127.0.0.1, TLS with a certificate */
    memset(&s, 0, sizeof(s));
    s.listen_ip = "127.0.0.1";
    s.port = 47478;
    s.tls_port = 47479;
    s.cert = "/c.pem";
    s.key = "/k.pem";
    s.secret = "x";
    s.dir = "/d";
    s.announced_ip = "";
    strcpy(s.ips[s.ip_count++], "127.0.0.1");
    t = turnd_conf_text(&s);
    static const char *const want_lo[] = {"listening-ip=127.0.0.1", "tls-listening-port=47479", "cert=/c.pem",
                                          "pkey=/k.pem", "relay-ip=127.0.0.1", "allowed-peer-ip=127.0.0.1",
                                          "allow-loopback-peers"};
    for (size_t i = 0; i < sizeof(want_lo) / sizeof(want_lo[0]); i++) {
        if (!has_line(t, want_lo[i]))
            fail_msg("no line '%s' in:\n%s", want_lo[i], t);
    }
    assert_false(has_line(t, "no-tls"));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cred_known_answers),  cmocka_unit_test(test_cred_refusals),
        cmocka_unit_test(test_host_split),          cmocka_unit_test(test_config_off),
        cmocka_unit_test(test_config_embedded),     cmocka_unit_test(test_config_public_address),
        cmocka_unit_test(test_config_railway),      cmocka_unit_test(test_config_external_rest),
        cmocka_unit_test(test_config_errors),       cmocka_unit_test(test_conf_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
