/* test_dtls.c - sfu/cert and sfu/dtls: two in-memory DTLS endpoints talking to each other.
 *
 * Each peer's `send` callback appends to its outbox; pump() moves datagrams between the two
 * endpoints until both outboxes are empty, optionally dropping chosen datagrams or slipping in
 * garbage. There are no sockets. Retransmission uses OpenSSL's own clock (see sfu/dtls.h), so the
 * loss test configures a short timer (100 ms) and sleeps for the delay dtls_timeout_ms() reports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sfu/cert.h"
#include "sfu/dtls.h"

#define OUTBOX_MAX 64
#define DGRAM_MAX 2048

typedef struct {
    uint8_t data[DGRAM_MAX];
    size_t len;
} dgram_t;

typedef struct {
    dtls_t *d;
    dgram_t out[OUTBOX_MAX];
    size_t out_count;
    unsigned sent;      /* datagrams handed to send (including dropped ones) */
    uint64_t drop_mask; /* bit i set: drop the i-th datagram sent */
    int drop_once[4];   /* drop the first datagram of each of these kinds (see kind_of) */
    unsigned drop_once_done;
    unsigned dropped;
    unsigned sent_connected; /* datagrams sent while already CONNECTED */
    size_t max_dgram;
    dtls_state_t states[8];
    unsigned nstates;
    uint8_t app[4096];
    size_t app_len;
    unsigned app_count;
    unsigned retransmits;
} peer_t;

typedef struct {
    cert_t *cert_a, *cert_b, *cert_other;
    dtls_ctx_t *ctx_a, *ctx_b;
    peer_t client, server;
} fixture_t;

/* What a datagram starts with: the handshake message type for a handshake record in the clear
 * (1 ClientHello, 2 ServerHello, 11 Certificate, ...), else KIND_RECORD + the content type
 * (KIND_RECORD + 20 = ChangeCipherSpec, which starts the final flights). */
#define KIND_RECORD 256
#define KIND_CLIENT_HELLO 1
#define KIND_SERVER_HELLO 2
#define KIND_CERTIFICATE 11
#define KIND_CCS (KIND_RECORD + 20)

static int kind_of(const uint8_t *buf, size_t len)
{
    if (buf[0] == 22 && len > 13 && buf[3] == 0 && buf[4] == 0)
        return buf[13];
    return KIND_RECORD + buf[0];
}

static bool should_drop(peer_t *p, unsigned idx, const uint8_t *buf, size_t len)
{
    if (idx < 64 && (p->drop_mask >> idx) & 1)
        return true;
    int kind = kind_of(buf, len);
    for (unsigned i = 0; i < 4; i++) {
        if (p->drop_once[i] != 0 && p->drop_once[i] == kind && !(p->drop_once_done & (1u << i))) {
            p->drop_once_done |= 1u << i;
            return true;
        }
    }
    return false;
}

static void on_send(void *user, const uint8_t *buf, size_t len)
{
    peer_t *p = user;
    unsigned idx = p->sent++;
    if (dtls_state(p->d) == DTLS_STATE_CONNECTED)
        p->sent_connected++;
    if (len > p->max_dgram)
        p->max_dgram = len;
    if (should_drop(p, idx, buf, len)) {
        p->dropped++;
        return;
    }
    assert_true(len <= DGRAM_MAX);
    assert_true(p->out_count < OUTBOX_MAX);
    memcpy(p->out[p->out_count].data, buf, len);
    p->out[p->out_count].len = len;
    p->out_count++;
}

static void on_state(void *user, dtls_state_t st)
{
    peer_t *p = user;
    if (p->nstates < 8)
        p->states[p->nstates++] = st;
}

static void on_app(void *user, const uint8_t *buf, size_t len)
{
    peer_t *p = user;
    assert_true(p->app_len + len <= sizeof(p->app));
    memcpy(p->app + p->app_len, buf, len);
    p->app_len += len;
    p->app_count++;
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->cert_a = cert_new();
    f->cert_b = cert_new();
    f->cert_other = cert_new();
    assert_non_null(f->cert_a);
    assert_non_null(f->cert_b);
    assert_non_null(f->cert_other);
    f->ctx_a = dtls_ctx_new(f->cert_a);
    f->ctx_b = dtls_ctx_new(f->cert_b);
    assert_non_null(f->ctx_a);
    assert_non_null(f->ctx_b);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    dtls_free(f->client.d);
    dtls_free(f->server.d);
    dtls_ctx_free(f->ctx_a);
    dtls_ctx_free(f->ctx_b);
    cert_free(f->cert_a);
    cert_free(f->cert_b);
    cert_free(f->cert_other);
    free(f);
    return 0;
}

/* Client uses cert A and expects B; server uses cert B and expects A (unless overridden). */
static void make_pair(fixture_t *f, const dtls_config_t *ccfg_in, const dtls_config_t *scfg_in)
{
    dtls_config_t ccfg = {0}, scfg = {0};
    if (ccfg_in != NULL)
        ccfg = *ccfg_in;
    if (scfg_in != NULL)
        scfg = *scfg_in;
    ccfg.role = DTLS_ROLE_CLIENT;
    scfg.role = DTLS_ROLE_SERVER;
    if (ccfg.remote_fingerprint == NULL)
        ccfg.remote_fingerprint = cert_fingerprint(f->cert_b);
    if (scfg.remote_fingerprint == NULL)
        scfg.remote_fingerprint = cert_fingerprint(f->cert_a);
    dtls_callbacks_t ccb = {on_send, on_state, on_app, &f->client};
    dtls_callbacks_t scb = {on_send, on_state, on_app, &f->server};
    f->client.d = dtls_new(f->ctx_a, &ccfg, &ccb);
    f->server.d = dtls_new(f->ctx_b, &scfg, &scb);
    assert_non_null(f->client.d);
    assert_non_null(f->server.d);
    assert_int_equal(dtls_state(f->client.d), DTLS_STATE_NEW);
}

typedef void (*garbage_fn)(dtls_t *to, unsigned step);

/* Delivers everything in `from`'s outbox to `to`. Returns the number delivered. */
static unsigned deliver(peer_t *from, peer_t *to, garbage_fn garbage, unsigned *step)
{
    dgram_t batch[OUTBOX_MAX];
    size_t n = from->out_count;
    memcpy(batch, from->out, n * sizeof(dgram_t));
    from->out_count = 0;
    for (size_t i = 0; i < n; i++) {
        if (garbage != NULL)
            garbage(to->d, (*step)++);
        (void)dtls_handle_datagram(to->d, batch[i].data, batch[i].len);
    }
    return (unsigned)n;
}

static void pump(fixture_t *f, garbage_fn garbage)
{
    unsigned step = 0;
    for (int round = 0; round < 100; round++) {
        unsigned moved = deliver(&f->client, &f->server, garbage, &step);
        moved += deliver(&f->server, &f->client, garbage, &step);
        if (moved == 0)
            return;
    }
    fail_msg("datagrams kept flowing after 100 rounds");
}

static bool settled(const peer_t *p)
{
    dtls_state_t s = dtls_state(p->d);
    return s != DTLS_STATE_NEW && s != DTLS_STATE_CONNECTING;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Pumps, and when nothing is in flight waits for the earliest timer and fires it. */
static void run_handshake(fixture_t *f, garbage_fn garbage)
{
    if (dtls_state(f->server.d) == DTLS_STATE_NEW)
        assert_int_equal(dtls_start(f->server.d), 0);
    if (dtls_state(f->client.d) == DTLS_STATE_NEW)
        assert_int_equal(dtls_start(f->client.d), 0);
    assert_int_equal(dtls_start(f->client.d), -EALREADY);
    for (int i = 0; i < 20; i++) {
        pump(f, garbage);
        if (settled(&f->client) && settled(&f->server))
            return;
        int tc = dtls_timeout_ms(f->client.d), ts = dtls_timeout_ms(f->server.d);
        if (tc < 0 && ts < 0)
            return; /* stuck: the caller's asserts will say how */
        int t = tc < 0 ? ts : ts < 0 ? tc : tc < ts ? tc : ts;
        assert_true(t <= 2000);
        sleep_ms(t);
        if (dtls_handle_timeout(f->client.d) == 1)
            f->client.retransmits++;
        if (dtls_handle_timeout(f->server.d) == 1)
            f->server.retransmits++;
    }
}

static void assert_keys_crosswise(fixture_t *f, uint16_t profile, size_t salt_len)
{
    dtls_srtp_keys_t kc, ks;
    assert_int_equal(dtls_get_srtp_keys(f->client.d, &kc), 0);
    assert_int_equal(dtls_get_srtp_keys(f->server.d, &ks), 0);
    assert_int_equal(kc.profile, profile);
    assert_int_equal(ks.profile, profile);
    assert_int_equal(kc.key_len, 16);
    assert_int_equal(kc.salt_len, salt_len);
    assert_int_equal(ks.salt_len, salt_len);
    assert_memory_equal(kc.local_key, ks.remote_key, 16);
    assert_memory_equal(kc.remote_key, ks.local_key, 16);
    assert_memory_equal(kc.local_salt, ks.remote_salt, salt_len);
    assert_memory_equal(kc.remote_salt, ks.local_salt, salt_len);
    assert_memory_not_equal(kc.local_key, kc.remote_key, 16);
    assert_memory_not_equal(kc.local_salt, kc.remote_salt, salt_len);
}

static void assert_connected(fixture_t *f)
{
    assert_string_equal(dtls_state_name(dtls_state(f->client.d)), "connected");
    assert_string_equal(dtls_state_name(dtls_state(f->server.d)), "connected");
    assert_string_equal(dtls_error(f->client.d), "");
    assert_string_equal(dtls_error(f->server.d), "");
}

/* ---- cert ----------------------------------------------------------------------------------- */

static void test_cert_fingerprint(void **state)
{
    fixture_t *f = *state;
    const cert_fingerprint_t *fp = cert_fingerprint(f->cert_a);
    assert_string_equal(fp->hash, "sha-256");
    assert_int_equal(fp->len, 32);
    const char *text = cert_fingerprint_text(f->cert_a);
    assert_int_equal(strlen(text), 95);
    for (size_t i = 0; i < 95; i++) {
        if (i % 3 == 2)
            assert_int_equal(text[i], ':');
        else
            assert_non_null(strchr("0123456789ABCDEF", text[i]));
    }
    /* round trip through the SDP attribute value */
    char sdp[128];
    snprintf(sdp, sizeof(sdp), "sha-256 %s", text);
    cert_fingerprint_t parsed;
    assert_int_equal(cert_fingerprint_parse(sdp, &parsed), 0);
    assert_string_equal(parsed.hash, "sha-256");
    assert_int_equal(parsed.len, 32);
    assert_memory_equal(parsed.bytes, fp->bytes, 32);
    assert_true(cert_fingerprint_matches(&parsed, cert_x509(f->cert_a)));
    assert_false(cert_fingerprint_matches(&parsed, cert_x509(f->cert_b)));
    /* two certificates differ */
    assert_memory_not_equal(fp->bytes, cert_fingerprint(f->cert_b)->bytes, 32);
    /* a sha-1 fingerprint of the same certificate also matches */
    cert_fingerprint_t sha1;
    assert_int_equal(cert_fingerprint_of(cert_x509(f->cert_a), "SHA-1", &sha1), 0);
    assert_int_equal(sha1.len, 20);
    assert_string_equal(sha1.hash, "sha-1");
    assert_true(cert_fingerprint_matches(&sha1, cert_x509(f->cert_a)));
    cert_free(NULL);
}

/* The certificate itself: ECDSA P-256, self-signed, CN videomeet, valid now, random serial. */
static void test_cert_contents(void **state)
{
    fixture_t *f = *state;
    X509 *x = cert_x509(f->cert_a);
    EVP_PKEY *k = cert_pkey(f->cert_a);
    assert_int_equal(EVP_PKEY_get_base_id(k), EVP_PKEY_EC);
    char group[32] = "";
    size_t glen = 0;
    assert_int_equal(EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof(group), &glen), 1);
    assert_string_equal(group, "prime256v1");
    assert_int_equal(X509_check_issued(x, x), X509_V_OK);
    assert_int_equal(X509_verify(x, k), 1);
    char cn[64] = "";
    assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn)) > 0);
    assert_string_equal(cn, "videomeet");
    assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
    assert_true(X509_cmp_current_time(X509_get0_notAfter(x)) > 0);
    int days = 0, secs = 0;
    assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
    assert_int_equal(days, 395);
    assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(x),
                                          X509_get0_serialNumber(cert_x509(f->cert_b))),
                         0);
}

static void test_cert_fingerprint_parse(void **state)
{
    (void)state;
    cert_fingerprint_t fp;
    assert_int_equal(cert_fingerprint_parse("SHA-1 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:"
                                            "00:11:22:33\r\n",
                                            &fp),
                     0);
    assert_string_equal(fp.hash, "sha-1");
    assert_int_equal(fp.len, 20);
    assert_int_equal(fp.bytes[10], 0xaa);
    assert_int_equal(fp.bytes[19], 0x33);
    char buf[64];
    assert_int_equal(cert_fingerprint_format(&fp, buf, sizeof(buf)), 59);
    assert_string_equal(buf, "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33");
    assert_int_equal(cert_fingerprint_format(&fp, buf, 59), -ENOSPC);

    static const char *bad[] = {
        "",
        "sha-256",
        "sha-256 ",
        "md5 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
        "sha-999 00:11",
        "sha-1 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22",       /* 19 bytes */
        "sha-1 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44", /* 21 bytes */
        "sha-1 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:3g",
        "sha-1 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:",
        "sha-1 0011:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33",
        "sha-1 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33 x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fp.len = 99;
        assert_int_equal(cert_fingerprint_parse(bad[i], &fp), -EINVAL);
        assert_int_equal(fp.len, 0);
    }
    assert_int_equal(cert_fingerprint_parse(NULL, &fp), -EINVAL);
}

/* ---- handshake ------------------------------------------------------------------------------ */

static void test_handshake_gcm(void **state)
{
    fixture_t *f = *state;
    make_pair(f, NULL, NULL);
    assert_int_equal(dtls_timeout_ms(f->client.d), -1);
    run_handshake(f, NULL);
    assert_connected(f);
    assert_keys_crosswise(f, DTLS_SRTP_AEAD_AES_128_GCM, 12);
    /* state callbacks: connecting then connected, nothing else */
    assert_int_equal(f->client.nstates, 2);
    assert_int_equal(f->client.states[0], DTLS_STATE_CONNECTING);
    assert_int_equal(f->client.states[1], DTLS_STATE_CONNECTED);
    assert_int_equal(f->server.nstates, 2);
    assert_int_equal(f->server.states[1], DTLS_STATE_CONNECTED);
    /* every datagram respected the 1200-byte MTU; no loss means no retransmission */
    assert_true(f->client.max_dgram <= DTLS_DEFAULT_MTU);
    assert_true(f->server.max_dgram <= DTLS_DEFAULT_MTU);
    assert_int_equal(f->client.retransmits + f->server.retransmits, 0);
    assert_int_equal(dtls_timeout_ms(f->client.d), -1);
    assert_int_equal(dtls_role(f->server.d), DTLS_ROLE_SERVER);
}

static void test_handshake_cm_sha1_80(void **state)
{
    fixture_t *f = *state;
    dtls_config_t scfg = {.srtp_profiles = DTLS_ALLOW_AES128_CM_SHA1_80};
    make_pair(f, NULL, &scfg);
    run_handshake(f, NULL);
    assert_connected(f);
    assert_keys_crosswise(f, DTLS_SRTP_AES128_CM_SHA1_80, 14);
}

static void test_handshake_client_only_cm(void **state)
{
    fixture_t *f = *state;
    dtls_config_t ccfg = {.srtp_profiles = DTLS_ALLOW_AES128_CM_SHA1_80};
    make_pair(f, &ccfg, NULL);
    run_handshake(f, NULL);
    assert_connected(f);
    assert_keys_crosswise(f, DTLS_SRTP_AES128_CM_SHA1_80, 14);
}

/* A small MTU forces OpenSSL to fragment the certificate messages. */
static void test_handshake_small_mtu(void **state)
{
    fixture_t *f = *state;
    dtls_config_t cfg = {.mtu = 300};
    make_pair(f, &cfg, &cfg);
    run_handshake(f, NULL);
    assert_connected(f);
    assert_true(f->client.max_dgram <= 300);
    assert_true(f->server.max_dgram <= 300);
    assert_true(f->server.sent >= 3);
    assert_keys_crosswise(f, DTLS_SRTP_AEAD_AES_128_GCM, 12);
}

static void test_wrong_fingerprint_client_checks(void **state)
{
    fixture_t *f = *state;
    dtls_config_t ccfg = {.remote_fingerprint = cert_fingerprint(f->cert_other)};
    make_pair(f, &ccfg, NULL);
    run_handshake(f, NULL);
    assert_int_equal(dtls_state(f->client.d), DTLS_STATE_FAILED);
    assert_string_equal(dtls_state_name(dtls_state(f->client.d)), "failed");
    assert_non_null(strstr(dtls_error(f->client.d), "does not match a=fingerprint"));
    assert_int_equal(f->client.states[f->client.nstates - 1], DTLS_STATE_FAILED);
    /* the server got a fatal alert and never connected */
    assert_int_equal(dtls_state(f->server.d), DTLS_STATE_FAILED);
    assert_non_null(strstr(dtls_error(f->server.d), "alert"));
    dtls_srtp_keys_t k;
    assert_int_equal(dtls_get_srtp_keys(f->client.d, &k), -ENOTCONN);
    assert_int_equal(dtls_get_srtp_keys(f->server.d, &k), -ENOTCONN);
    uint8_t junk[20] = {23, 0xfe, 0xfd};
    assert_int_equal(dtls_handle_datagram(f->client.d, junk, sizeof(junk)), -ENOTCONN);
}

static void test_wrong_fingerprint_server_checks(void **state)
{
    fixture_t *f = *state;
    dtls_config_t scfg = {.remote_fingerprint = cert_fingerprint(f->cert_other)};
    make_pair(f, NULL, &scfg);
    run_handshake(f, NULL);
    assert_int_equal(dtls_state(f->server.d), DTLS_STATE_FAILED);
    assert_non_null(strstr(dtls_error(f->server.d), "does not match a=fingerprint"));
    assert_int_not_equal(dtls_state(f->client.d), DTLS_STATE_CONNECTED);
    assert_int_equal(dtls_state(f->client.d), DTLS_STATE_FAILED);
}

/* The fingerprint may arrive after dtls_new (answer SDP), but it must be there in time. */
static void test_fingerprint_set_late(void **state)
{
    fixture_t *f = *state;
    dtls_config_t cfg = {0};
    cfg.role = DTLS_ROLE_CLIENT;
    dtls_callbacks_t ccb = {on_send, on_state, on_app, &f->client};
    dtls_callbacks_t scb = {on_send, on_state, on_app, &f->server};
    f->client.d = dtls_new(f->ctx_a, &cfg, &ccb);
    cfg.role = DTLS_ROLE_SERVER;
    f->server.d = dtls_new(f->ctx_b, &cfg, &scb);
    assert_non_null(f->client.d);
    assert_non_null(f->server.d);
    assert_int_equal(dtls_set_remote_fingerprint(f->client.d, cert_fingerprint(f->cert_b)), 0);
    assert_int_equal(dtls_set_remote_fingerprint(f->client.d, NULL), -EINVAL);
    /* the server never learns the client's fingerprint: it must refuse the client */
    run_handshake(f, NULL);
    assert_int_equal(dtls_state(f->server.d), DTLS_STATE_FAILED);
    assert_non_null(strstr(dtls_error(f->server.d), "no a=fingerprint"));
    assert_int_not_equal(dtls_state(f->client.d), DTLS_STATE_CONNECTED);
}

/* Lose the ClientHello and the first copy of the server's first flight. */
static void test_retransmission_lost_first_flights(void **state)
{
    fixture_t *f = *state;
    dtls_config_t cfg = {.initial_timeout_ms = 100, .max_timeout_ms = 400};
    make_pair(f, &cfg, &cfg);
    f->client.drop_once[0] = KIND_CLIENT_HELLO;
    f->server.drop_once[0] = KIND_SERVER_HELLO;
    assert_int_equal(dtls_start(f->client.d), 0);
    assert_int_equal(f->client.dropped, 1);
    int t = dtls_timeout_ms(f->client.d);
    assert_true(t > 0 && t <= 100);
    assert_int_equal(dtls_handle_timeout(f->client.d), 0); /* not due yet */
    assert_int_equal(f->client.sent, 1);
    run_handshake(f, NULL);
    assert_connected(f);
    assert_int_equal(f->client.dropped, 1);
    assert_int_equal(f->server.dropped, 1);
    assert_true(f->client.retransmits >= 1);
    assert_true(f->server.retransmits + f->client.retransmits >= 2);
    assert_keys_crosswise(f, DTLS_SRTP_AEAD_AES_128_GCM, 12);
}

/* Lose the client's second flight once, then the server's final flight once: the server is
 * already connected then, and must resend its final flight when the client's comes again. */
static void test_retransmission_lost_last_flights(void **state)
{
    fixture_t *f = *state;
    dtls_config_t cfg = {.initial_timeout_ms = 100, .max_timeout_ms = 400};
    make_pair(f, &cfg, &cfg);
    f->client.drop_once[0] = KIND_CERTIFICATE;
    f->server.drop_once[0] = KIND_CCS;
    run_handshake(f, NULL);
    assert_connected(f);
    assert_int_equal(f->client.dropped, 1);
    assert_int_equal(f->server.dropped, 1);
    assert_true(f->client.retransmits >= 2); /* flight 5 twice: once for each loss */
    assert_true(f->server.sent_connected >= 1); /* the final flight, resent after connecting */
    assert_keys_crosswise(f, DTLS_SRTP_AEAD_AES_128_GCM, 12);
}

/* Nothing ever arrives: the client gives up after max_retransmits timeouts. */
static void test_handshake_gives_up(void **state)
{
    fixture_t *f = *state;
    dtls_config_t cfg = {.initial_timeout_ms = 20, .max_timeout_ms = 20, .max_retransmits = 3};
    make_pair(f, &cfg, NULL);
    f->client.drop_mask = ~(uint64_t)0;
    assert_int_equal(dtls_start(f->client.d), 0);
    int r = 0, fired = 0;
    for (int i = 0; i < 20 && r >= 0; i++) {
        int t = dtls_timeout_ms(f->client.d);
        assert_true(t >= 0 && t <= 20);
        sleep_ms(t);
        r = dtls_handle_timeout(f->client.d);
        fired += r == 1;
    }
    assert_int_equal(r, -ETIMEDOUT);
    assert_int_equal(fired, 3);
    assert_int_equal(dtls_state(f->client.d), DTLS_STATE_FAILED);
    assert_non_null(strstr(dtls_error(f->client.d), "timed out"));
    assert_int_equal(f->client.sent, 4); /* the ClientHello and three retransmissions */
    assert_int_equal(dtls_timeout_ms(f->client.d), -1);
}

/* ---- application data and close ----------------------------------------------------------- */

static void test_app_data_both_ways(void **state)
{
    fixture_t *f = *state;
    make_pair(f, NULL, NULL);
    static const uint8_t early[] = "too early";
    assert_int_equal(dtls_send_app(f->client.d, early, sizeof(early)), -ENOTCONN);
    assert_int_equal(dtls_app_mtu(f->client.d), 0);
    run_handshake(f, NULL);
    assert_connected(f);

    size_t mtu = dtls_app_mtu(f->client.d);
    assert_true(mtu >= 1100 && mtu < DTLS_DEFAULT_MTU);
    static const uint8_t hello[] = "hello from the client";
    assert_int_equal(dtls_send_app(f->client.d, hello, sizeof(hello)), (int)sizeof(hello));
    uint8_t big[DTLS_DEFAULT_MTU];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7 + 3);
    assert_int_equal(dtls_send_app(f->server.d, big, 1000), 1000);
    assert_int_equal(dtls_send_app(f->server.d, big, mtu), (int)mtu);
    pump(f, NULL);
    assert_int_equal(f->server.app_count, 1);
    assert_int_equal(f->server.app_len, sizeof(hello));
    assert_memory_equal(f->server.app, hello, sizeof(hello));
    assert_int_equal(f->client.app_count, 2);
    assert_int_equal(f->client.app_len, 1000 + mtu);
    assert_memory_equal(f->client.app, big, 1000);
    assert_memory_equal(f->client.app + 1000, big, mtu);
    assert_true(f->server.max_dgram <= DTLS_DEFAULT_MTU);
    /* oversize is refused before OpenSSL sees it */
    static uint8_t huge[16385];
    assert_int_equal(dtls_send_app(f->client.d, huge, sizeof(huge)), -EMSGSIZE);
}

static void test_close_notify(void **state)
{
    fixture_t *f = *state;
    make_pair(f, NULL, NULL);
    run_handshake(f, NULL);
    assert_connected(f);
    assert_int_equal(dtls_close(f->client.d), 0);
    assert_int_equal(dtls_state(f->client.d), DTLS_STATE_CLOSED);
    assert_int_equal(f->client.out_count, 1); /* the close_notify alert */
    pump(f, NULL);
    assert_int_equal(dtls_state(f->server.d), DTLS_STATE_CLOSED);
    assert_int_equal(f->server.states[f->server.nstates - 1], DTLS_STATE_CLOSED);
    assert_string_equal(dtls_error(f->server.d), "");
    assert_int_equal(dtls_close(f->client.d), -ENOTCONN);
    uint8_t x[] = "after close";
    assert_int_equal(dtls_send_app(f->server.d, x, sizeof(x)), -ENOTCONN);
    /* keys from the finished session stay readable */
    dtls_srtp_keys_t k;
    assert_int_equal(dtls_get_srtp_keys(f->server.d, &k), 0);
}

/* ---- garbage ---------------------------------------------------------------------------------- */

static uint32_t rng_state = 12345;
static uint32_t rng(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

/* Feeds several kinds of junk: random bytes, non-DTLS first bytes, truncated and forged records. */
static void inject_garbage(dtls_t *to, unsigned step)
{
    uint8_t g[1500];
    size_t len = 13 + rng() % 600;
    for (size_t i = 0; i < len; i++)
        g[i] = (uint8_t)rng();
    switch (step % 7) {
    case 0: /* random content type 20..63, version not DTLS */
        g[0] = (uint8_t)(20 + rng() % 44);
        g[1] = 0x12;
        assert_int_equal(dtls_handle_datagram(to, g, len), 0);
        break;
    case 1: /* RTP / STUN look-alikes are not ours */
        g[0] = step & 8 ? 0x80 : 0x00;
        assert_int_equal(dtls_handle_datagram(to, g, len), -EINVAL);
        break;
    case 2: /* too short for a record header */
        g[0] = 22;
        assert_int_equal(dtls_handle_datagram(to, g, 1 + rng() % 12), -EINVAL);
        break;
    case 3: /* DTLS 1.2 header, epoch 1, random body: fails decryption, dropped */
        g[0] = 23;
        g[1] = 0xfe;
        g[2] = 0xfd;
        g[3] = 0;
        g[4] = 1;
        g[11] = (uint8_t)((len - 13) >> 8);
        g[12] = (uint8_t)(len - 13);
        assert_int_equal(dtls_handle_datagram(to, g, len), 0);
        break;
    case 4: /* DTLS 1.2 header, a far epoch */
        g[0] = 22;
        g[1] = 0xfe;
        g[2] = 0xfd;
        g[3] = 0x12;
        g[4] = 0x34;
        assert_int_equal(dtls_handle_datagram(to, g, len), 0);
        break;
    case 5: /* a well-formed epoch-0 handshake record with a random body */
        g[0] = 22;
        g[1] = 0xfe;
        g[2] = 0xfd;
        g[3] = 0;
        g[4] = 0;
        g[11] = (uint8_t)((len - 13) >> 8);
        g[12] = (uint8_t)(len - 13);
        assert_int_equal(dtls_handle_datagram(to, g, len), 0);
        break;
    default: /* record length field larger than the datagram */
        g[0] = 22;
        g[1] = 0xfe;
        g[2] = 0xfd;
        g[11] = 0xff;
        g[12] = 0xff;
        assert_int_equal(dtls_handle_datagram(to, g, len), 0);
        break;
    }
}

static void test_garbage_does_not_break_handshake(void **state)
{
    fixture_t *f = *state;
    make_pair(f, NULL, NULL);
    /* junk before anything else starts the server but must not fail it */
    inject_garbage(f->server.d, 0);
    assert_int_equal(dtls_state(f->server.d), DTLS_STATE_CONNECTING);
    run_handshake(f, inject_garbage);
    assert_connected(f);
    assert_keys_crosswise(f, DTLS_SRTP_AEAD_AES_128_GCM, 12);
    /* and after the handshake: junk is dropped, data still flows */
    for (unsigned i = 0; i < 70; i++) {
        inject_garbage(f->client.d, i);
        inject_garbage(f->server.d, i);
    }
    assert_connected(f);
    static const uint8_t msg[] = "still alive";
    assert_int_equal(dtls_send_app(f->client.d, msg, sizeof(msg)), (int)sizeof(msg));
    pump(f, NULL);
    assert_int_equal(f->server.app_count, 1);
    assert_memory_equal(f->server.app, msg, sizeof(msg));
    assert_int_equal(f->client.app_count, 0);
}

static void test_bad_arguments(void **state)
{
    fixture_t *f = *state;
    dtls_config_t cfg = {.role = DTLS_ROLE_CLIENT};
    dtls_callbacks_t cb = {on_send, NULL, NULL, &f->client};
    dtls_callbacks_t nosend = {NULL, NULL, NULL, NULL};
    assert_null(dtls_new(NULL, &cfg, &cb));
    assert_null(dtls_new(f->ctx_a, &cfg, &nosend));
    cfg.mtu = 100;
    assert_null(dtls_new(f->ctx_a, &cfg, &cb));
    cfg.mtu = 0;
    cfg.role = 0;
    assert_null(dtls_new(f->ctx_a, &cfg, &cb));
    assert_null(dtls_ctx_new(NULL));
    dtls_free(NULL);
    dtls_ctx_free(NULL);
    assert_int_equal(dtls_handle_datagram(NULL, (const uint8_t *)"x", 1), -EINVAL);
    assert_int_equal(dtls_timeout_ms(NULL), -1);
    assert_int_equal(dtls_start(NULL), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cert_fingerprint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_contents, setup, teardown),
        cmocka_unit_test(test_cert_fingerprint_parse),
        cmocka_unit_test_setup_teardown(test_handshake_gcm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake_cm_sha1_80, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake_client_only_cm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake_small_mtu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_fingerprint_client_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_fingerprint_server_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fingerprint_set_late, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retransmission_lost_first_flights, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retransmission_lost_last_flights, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake_gives_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_app_data_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_notify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_does_not_break_handshake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
