/* test_dtls.c - sfu/cert and sfu/dtls: two in-memory DTLS endpoints talking to each other.
 *
 * Each peer's `send` callback appends to its outbox; pump() moves datagrams between the two
 * endpoints until both outboxes are empty, optionally dropping chosen datagrams. The garbage tests
 * step through the handshake one datagram (or record) at a time and feed both endpoints the same
 * deterministic set of garbage, truncated, forged and replayed records at every step. There are no
 * sockets. Retransmission uses OpenSSL's own clock (see sfu/dtls.h), so the
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
    unsigned drops[DTLS_DROP_REASONS];
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

static void on_drop(void *user, dtls_drop_reason_t reason)
{
    peer_t *p = user;
    assert_true(reason < DTLS_DROP_REASONS);
    p->drops[reason]++;
}

static unsigned drops_total(const peer_t *p)
{
    unsigned n = 0;
    for (int i = 0; i < DTLS_DROP_REASONS; i++)
        n += p->drops[i];
    return n;
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
    dtls_callbacks_t ccb = {on_send, on_state, on_app, &f->client, on_drop};
    dtls_callbacks_t scb = {on_send, on_state, on_app, &f->server, on_drop};
    f->client.d = dtls_new(f->ctx_a, &ccfg, &ccb);
    f->server.d = dtls_new(f->ctx_b, &scfg, &scb);
    assert_non_null(f->client.d);
    assert_non_null(f->server.d);
    assert_int_equal(dtls_state(f->client.d), DTLS_STATE_NEW);
}

/* Delivers everything in `from`'s outbox to `to`. Returns the number delivered. */
static unsigned deliver(peer_t *from, peer_t *to)
{
    dgram_t batch[OUTBOX_MAX];
    size_t n = from->out_count;
    memcpy(batch, from->out, n * sizeof(dgram_t));
    from->out_count = 0;
    for (size_t i = 0; i < n; i++)
        (void)dtls_handle_datagram(to->d, batch[i].data, batch[i].len);
    return (unsigned)n;
}

static void pump(fixture_t *f)
{
    for (int round = 0; round < 100; round++) {
        unsigned moved = deliver(&f->client, &f->server);
        moved += deliver(&f->server, &f->client);
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
static void run_handshake(fixture_t *f)
{
    if (dtls_state(f->server.d) == DTLS_STATE_NEW)
        assert_int_equal(dtls_start(f->server.d), 0);
    if (dtls_state(f->client.d) == DTLS_STATE_NEW)
        assert_int_equal(dtls_start(f->client.d), 0);
    assert_int_equal(dtls_start(f->client.d), -EALREADY);
    for (int i = 0; i < 20; i++) {
        pump(f);
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
    run_handshake(f);
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
    run_handshake(f);
    assert_connected(f);
    assert_keys_crosswise(f, DTLS_SRTP_AES128_CM_SHA1_80, 14);
}

static void test_handshake_client_only_cm(void **state)
{
    fixture_t *f = *state;
    dtls_config_t ccfg = {.srtp_profiles = DTLS_ALLOW_AES128_CM_SHA1_80};
    make_pair(f, &ccfg, NULL);
    run_handshake(f);
    assert_connected(f);
    assert_keys_crosswise(f, DTLS_SRTP_AES128_CM_SHA1_80, 14);
}

/* A small MTU forces OpenSSL to fragment the certificate messages. */
static void test_handshake_small_mtu(void **state)
{
    fixture_t *f = *state;
    dtls_config_t cfg = {.mtu = 300};
    make_pair(f, &cfg, &cfg);
    run_handshake(f);
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
    run_handshake(f);
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
    run_handshake(f);
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
    dtls_callbacks_t ccb = {on_send, on_state, on_app, &f->client, on_drop};
    dtls_callbacks_t scb = {on_send, on_state, on_app, &f->server, on_drop};
    f->client.d = dtls_new(f->ctx_a, &cfg, &ccb);
    cfg.role = DTLS_ROLE_SERVER;
    f->server.d = dtls_new(f->ctx_b, &cfg, &scb);
    assert_non_null(f->client.d);
    assert_non_null(f->server.d);
    assert_int_equal(dtls_set_remote_fingerprint(f->client.d, cert_fingerprint(f->cert_b)), 0);
    assert_int_equal(dtls_set_remote_fingerprint(f->client.d, NULL), -EINVAL);
    /* the server never learns the client's fingerprint: it must refuse the client */
    run_handshake(f);
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
    run_handshake(f);
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
    run_handshake(f);
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
    run_handshake(f);
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
    pump(f);
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
    run_handshake(f);
    assert_connected(f);
    assert_int_equal(dtls_close(f->client.d), 0);
    assert_int_equal(dtls_state(f->client.d), DTLS_STATE_CLOSED);
    assert_int_equal(f->client.out_count, 1); /* the close_notify alert */
    pump(f);
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

/* ---- the record rules (sfu/dtls_record.c) alone ------------------------------------------- */

static size_t rec(uint8_t *out, uint8_t type, uint16_t version, uint16_t epoch, const uint8_t *body, size_t n)
{
    out[0] = type;
    out[1] = (uint8_t)(version >> 8);
    out[2] = (uint8_t)version;
    out[3] = (uint8_t)(epoch >> 8);
    out[4] = (uint8_t)epoch;
    memset(out + 5, 0, 6);
    out[10] = 7; /* sequence number */
    out[11] = (uint8_t)(n >> 8);
    out[12] = (uint8_t)n;
    if (body != NULL)
        memcpy(out + 13, body, n);
    else
        memset(out + 13, 0xab, n);
    return 13 + n;
}

/* A handshake fragment header (RFC 6347 §4.2.2) followed by frag_len bytes. */
static size_t hs_frag(uint8_t *out, uint8_t type, uint32_t msg_len, uint32_t off, uint32_t frag_len)
{
    out[0] = type;
    out[1] = (uint8_t)(msg_len >> 16), out[2] = (uint8_t)(msg_len >> 8), out[3] = (uint8_t)msg_len;
    out[4] = 0, out[5] = 1; /* message_seq */
    out[6] = (uint8_t)(off >> 16), out[7] = (uint8_t)(off >> 8), out[8] = (uint8_t)off;
    out[9] = (uint8_t)(frag_len >> 16), out[10] = (uint8_t)(frag_len >> 8), out[11] = (uint8_t)frag_len;
    memset(out + 12, 0x5a, frag_len);
    return 12 + frag_len;
}

/* Expects dtls_record_next to admit (want < 0) or drop with reason `want`. */
static void check_rule(const uint8_t *buf, size_t n, int plaintext, unsigned overhead, int want, size_t want_len)
{
    dtls_record_policy_t pol = {plaintext, overhead};
    dtls_record_t r;
    dtls_drop_reason_t why = DTLS_DROP_REASONS;
    int ok = dtls_record_next(buf, n, &pol, &r, &why);
    if (want < 0) {
        assert_int_equal(ok, 1);
    } else {
        assert_int_equal(ok, 0);
        assert_int_equal(why, want);
    }
    assert_int_equal(r.len, want_len);
}

static void test_record_rules(void **state)
{
    (void)state;
    static uint8_t b[13 + 16384 + 300], body[16384 + 300];
    const int OK = -1;
    dtls_record_policy_t pol = {1, 24};
    dtls_record_t r;
    dtls_drop_reason_t why;
    assert_int_equal(dtls_record_next(b, 0, &pol, &r, &why), -1);

    /* header and length */
    size_t n = rec(b, 22, 0xfefd, 0, NULL, 0);
    for (size_t cut = 1; cut < 13; cut++)
        check_rule(b, cut, 1, 24, DTLS_DROP_TRUNCATED, cut);
    n = rec(b, 23, 0xfefd, 1, NULL, 40);
    check_rule(b, n - 1, 1, 24, DTLS_DROP_TRUNCATED, n - 1);
    check_rule(b, n, 1, 24, OK, n);
    b[n] = 0x55; /* whatever follows is the next record's business */
    check_rule(b, n + 1, 1, 24, OK, n);
    rec(b, 23, 0x0303, 1, NULL, 40);
    check_rule(b, n, 1, 24, DTLS_DROP_VERSION, n);
    rec(b, 23, 0xfeff, 1, NULL, 40); /* DTLS 1.0 header: first flights */
    check_rule(b, n, 1, 24, OK, n);
    for (unsigned t = 0; t < 256; t++) {
        rec(b, (uint8_t)t, 0xfefd, 1, NULL, 40);
        check_rule(b, n, 0, 24, t == 21 || t == 22 || t == 23 ? OK : DTLS_DROP_TYPE, n);
    }

    /* epoch 1: only when readable, between nonce + tag and 2^14 + 256 bytes */
    n = rec(b, 23, 0xfefd, 1, NULL, 40);
    check_rule(b, n, 1, 0, DTLS_DROP_EPOCH, n);
    for (size_t len = 0; len <= 40; len++) {
        n = rec(b, 23, 0xfefd, 1, NULL, len);
        check_rule(b, n, 0, 24, len < 24 ? DTLS_DROP_LENGTH : OK, n);
        check_rule(b, n, 0, 16, len < 16 ? DTLS_DROP_LENGTH : OK, n);
    }
    n = rec(b, 23, 0xfefd, 1, NULL, 16384 + 256);
    check_rule(b, n, 0, 24, OK, n);
    n = rec(b, 23, 0xfefd, 1, NULL, 16384 + 257);
    check_rule(b, n, 0, 24, DTLS_DROP_LENGTH, n);
    for (unsigned e = 2; e < 70000; e += e < 10 ? 1 : 997) {
        n = rec(b, 23, 0xfefd, (uint16_t)e, NULL, 40);
        check_rule(b, n, 1, 24, DTLS_DROP_EPOCH, n);
    }

    /* epoch 0: only during the handshake, and only bodies a peer sends */
    uint8_t one = 1, two = 2;
    n = rec(b, 20, 0xfefd, 0, &one, 1);
    check_rule(b, n, 1, 24, OK, n);
    check_rule(b, n, 0, 24, DTLS_DROP_EPOCH, n);
    n = rec(b, 20, 0xfefd, 0, &two, 1);
    check_rule(b, n, 1, 0, DTLS_DROP_MALFORMED, n);
    n = rec(b, 20, 0xfefd, 0, (const uint8_t *)"\x01\x01", 2);
    check_rule(b, n, 1, 0, DTLS_DROP_MALFORMED, n);
    n = rec(b, 20, 0xfefd, 0, NULL, 0);
    check_rule(b, n, 1, 0, DTLS_DROP_MALFORMED, n);
    n = rec(b, 23, 0xfefd, 0, NULL, 30);
    check_rule(b, n, 1, 0, DTLS_DROP_TYPE, n);
    for (unsigned level = 0; level < 256; level++) {
        for (unsigned desc = 0; desc < 256; desc++) {
            uint8_t a[2] = {(uint8_t)level, (uint8_t)desc};
            n = rec(b, 21, 0xfefd, 0, a, 2);
            bool defined = desc == 0 || desc == 10 || (desc >= 20 && desc <= 22) || desc == 30
                           || (desc >= 40 && desc <= 51) || desc == 60 || desc == 70 || desc == 71 || desc == 80
                           || desc == 86 || desc == 90 || desc == 100 || (desc >= 110 && desc <= 116) || desc == 120;
            bool ok = (level == 2 && defined) || (level == 1 && desc == 0);
            check_rule(b, n, 1, 0, ok ? OK : DTLS_DROP_MALFORMED, n);
        }
    }
    for (size_t len = 0; len < 8; len++) {
        if (len == 2)
            continue;
        memset(body, 2, len);
        n = rec(b, 21, 0xfefd, 0, body, len);
        check_rule(b, n, 1, 0, DTLS_DROP_MALFORMED, n);
    }
    /* handshake fragments */
    size_t m = hs_frag(body, 1, 100, 0, 100);
    n = rec(b, 22, 0xfefd, 0, body, m);
    check_rule(b, n, 1, 0, OK, n);
    m = hs_frag(body, 1, 100, 40, 60);
    n = rec(b, 22, 0xfefd, 0, body, m);
    check_rule(b, n, 1, 0, OK, n);
    m = hs_frag(body, 1, 100, 41, 60);
    n = rec(b, 22, 0xfefd, 0, body, m);
    check_rule(b, n, 1, 0, DTLS_DROP_MALFORMED, n);
    m = hs_frag(body, 1, 100, 101, 0);
    n = rec(b, 22, 0xfefd, 0, body, m);
    check_rule(b, n, 1, 0, DTLS_DROP_MALFORMED, n);
    m = hs_frag(body, 1, 100, 10, 0); /* an empty piece of a non-empty message */
    n = rec(b, 22, 0xfefd, 0, body, m);
    check_rule(b, n, 1, 0, DTLS_DROP_MALFORMED, n);
    m = hs_frag(body, 14, 0, 0, 0); /* server_hello_done: empty, and fine */
    n = rec(b, 22, 0xfefd, 0, body, m);
    check_rule(b, n, 1, 0, OK, n);
    m = hs_frag(body, 11, 100, 0, 50);
    m += hs_frag(body + m, 11, 100, 50, 50); /* two fragments in one record */
    n = rec(b, 22, 0xfefd, 0, body, m);
    check_rule(b, n, 1, 0, OK, n);
    n = rec(b, 22, 0xfefd, 0, body, m - 1); /* the second one cut */
    check_rule(b, n, 1, 0, DTLS_DROP_MALFORMED, n);
    n = rec(b, 22, 0xfefd, 0, body, m + 1); /* a stray byte after them */
    body[m] = 0;
    check_rule(b, n, 1, 0, DTLS_DROP_MALFORMED, n);
    for (unsigned t = 0; t < 256; t++) {
        m = hs_frag(body, (uint8_t)t, 20, 0, 20);
        n = rec(b, 22, 0xfefd, 0, body, m);
        bool sent_in_clear = t <= 3 || (t >= 11 && t <= 16);
        check_rule(b, n, 1, 0, sent_in_clear ? OK : DTLS_DROP_MALFORMED, n);
    }
    m = hs_frag(body, 11, DTLS_HANDSHAKE_MAX_MESSAGE + 1, 0, 100);
    n = rec(b, 22, 0xfefd, 0, body, m);
    check_rule(b, n, 1, 0, DTLS_DROP_MALFORMED, n);
    for (size_t len = 0; len < 12; len++) {
        n = rec(b, 22, 0xfefd, 0, NULL, len);
        check_rule(b, n, 1, 0, DTLS_DROP_MALFORMED, n);
    }
    n = rec(b, 22, 0xfefd, 0, NULL, 16385);
    check_rule(b, n, 1, 0, DTLS_DROP_LENGTH, n);

    /* every reason has its own name */
    for (int i = 0; i < DTLS_DROP_REASONS; i++) {
        assert_string_not_equal(dtls_drop_reason_name((dtls_drop_reason_t)i), "unknown");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(dtls_drop_reason_name((dtls_drop_reason_t)i),
                                    dtls_drop_reason_name((dtls_drop_reason_t)j));
    }
    assert_string_equal(dtls_drop_reason_name(DTLS_DROP_REASONS), "unknown");
}

/* ---- garbage, replays and forgeries against live endpoints ------------------------------- */

/* The bytes of each garbage case come from the case's coordinates alone (a hash, not a running
 * generator): every injection point gets exactly the same set, however many flights, datagrams or
 * retransmissions came before it. */
static uint32_t mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

static uint32_t case_seed(uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    return mix32(a ^ mix32(b ^ mix32(c ^ mix32(d + 0x9e3779b9u))));
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)mix32(seed + (uint32_t)i * 0x9e3779b9u);
}

#define GARBAGE_RANDOM_LENS 6 /* besides every length from 0 to 100 */
#define GARBAGE_MAX_BODY 1400
static const uint16_t garbage_epochs[] = {0, 1, 2, 0xffff};

static size_t garbage_len(unsigned i)
{
    return i <= 100 ? i : 101 + case_seed(i, 0, 0, 7) % (GARBAGE_MAX_BODY - 100);
}

/* A DTLS 1.2 record of `type` in `epoch` with a random sequence number and a random body of
 * body_len bytes, its length field right. A plaintext alert never is a valid one (level 3 or 4):
 * a real alert may end a handshake, and test_plaintext_fatal_alert_ends_handshake shows it does. */
static size_t garbage_record(uint8_t *out, uint8_t type, uint16_t epoch, size_t body_len, uint32_t seed)
{
    fill(out, 13 + body_len, seed);
    out[0] = type;
    out[1] = 0xfe;
    out[2] = 0xfd;
    out[3] = (uint8_t)(epoch >> 8);
    out[4] = (uint8_t)epoch;
    out[11] = (uint8_t)(body_len >> 8);
    out[12] = (uint8_t)body_len;
    if (type == DTLS_CT_ALERT && epoch == 0 && body_len == 2 && (out[13] == 1 || out[13] == 2))
        out[13] += 2;
    return 13 + body_len;
}

static bool alive(dtls_state_t st)
{
    return st == DTLS_STATE_NEW || st == DTLS_STATE_CONNECTING || st == DTLS_STATE_CONNECTED;
}

/* Feeds one garbage datagram: a DTLS first byte is taken (0), anything else refused (-EINVAL);
 * never an error, never the end of the endpoint. Returns 1 if it was a DTLS datagram. */
static unsigned feed_one(peer_t *p, const uint8_t *g, size_t n)
{
    bool dtls = g[0] >= 20 && g[0] <= 63;
    int r = dtls_handle_datagram(p->d, g, n);
    if (r != (dtls ? 0 : -EINVAL) || !alive(dtls_state(p->d)))
        fail_msg("garbage type %u, %zu bytes, epoch %u: returned %d, state %s, error '%s'", g[0], n,
                 n >= 5 ? (unsigned)(g[3] << 8 | g[4]) : 0, r, dtls_state_name(dtls_state(p->d)), dtls_error(p->d));
    return dtls ? 1 : 0;
}

/* Every content type 0..255 (20..63 are DTLS by RFC 7983), every epoch class (0, 1, 2, 65535) and
 * every body length from 0 to 100 plus some longer ones: the record as it is, cut by one byte (its
 * length field then claims more than the datagram holds), and under a non-DTLS version; and
 * datagrams too short for a record header. Returns the number of DTLS datagrams fed (each holds
 * one record, or one unreadable piece). */
static unsigned feed_garbage(peer_t *p)
{
    static uint8_t g[13 + GARBAGE_MAX_BODY];
    unsigned fed = 0;
    for (unsigned type = 0; type < 256; type++) {
        for (size_t n = 1; n < 13; n++) {
            fill(g, n, case_seed(type, 0x10000, (uint32_t)n, 1));
            g[0] = (uint8_t)type;
            fed += feed_one(p, g, n);
        }
        if (type < 20 || type > 63) {
            size_t n = garbage_record(g, (uint8_t)type, 0, 100, case_seed(type, 0, 100, 2));
            fed += feed_one(p, g, n);
            continue;
        }
        for (size_t e = 0; e < sizeof(garbage_epochs) / sizeof(garbage_epochs[0]); e++) {
            for (unsigned li = 0; li <= 100 + GARBAGE_RANDOM_LENS; li++) {
                size_t len = garbage_len(li);
                size_t n = garbage_record(g, (uint8_t)type, garbage_epochs[e], len,
                                          case_seed(type, garbage_epochs[e], (uint32_t)len, 2));
                fed += feed_one(p, g, n);
                if (len > 0)
                    fed += feed_one(p, g, n - 1);
                g[1] = 0x03, g[2] = 0x03;
                fed += feed_one(p, g, n);
            }
        }
    }
    return fed;
}

#define HISTORY_MAX 64

typedef struct {
    dgram_t dg[HISTORY_MAX];
    size_t n;
} history_t;

static unsigned records_in(const uint8_t *buf, size_t len)
{
    unsigned n = 0;
    for (size_t off = 0; off + 13 <= len; off += 13 + (size_t)(buf[off + 11] << 8 | buf[off + 12]))
        n++;
    return n;
}

/* Feeds p every datagram the other side has had delivered so far, again. */
static unsigned replay(peer_t *p, const history_t *h)
{
    unsigned records = 0;
    for (size_t i = 0; i < h->n; i++) {
        assert_int_equal(dtls_handle_datagram(p->d, h->dg[i].data, h->dg[i].len), 0);
        assert_true(alive(dtls_state(p->d)));
        records += records_in(h->dg[i].data, h->dg[i].len);
    }
    return records;
}

typedef struct {
    fixture_t *f;
    history_t from_client, from_server;
    unsigned points;
    unsigned connected_points; /* injections into an endpoint that was CONNECTED */
} storm_t;

/* Garbage and replays into one endpoint. Once it is CONNECTED every one of them must be dropped and
 * reported: the counts must match exactly. */
static void storm_one(peer_t *p, const history_t *replays, storm_t *s)
{
    bool connected = dtls_state(p->d) == DTLS_STATE_CONNECTED;
    unsigned drops0 = drops_total(p), app0 = p->app_count;
    size_t out0 = p->out_count;
    unsigned fed = feed_garbage(p);
    fed += replay(p, replays);
    if (connected) {
        assert_int_equal(dtls_state(p->d), DTLS_STATE_CONNECTED);
        assert_int_equal(drops_total(p) - drops0, fed);
        assert_int_equal(p->app_count, app0);
        assert_int_equal(p->out_count, out0);
        s->connected_points++;
    }
}

static void storm(storm_t *s)
{
    storm_one(&s->f->server, &s->from_client, s);
    storm_one(&s->f->client, &s->from_server, s);
    s->points++;
}

static void pop_front(peer_t *p, dgram_t *out)
{
    assert_true(p->out_count > 0);
    *out = p->out[0];
    memmove(p->out, p->out + 1, (p->out_count - 1) * sizeof(dgram_t));
    p->out_count--;
}

/* The handshake one step at a time: each datagram (by_record: each record of it, on its own) is
 * delivered, then both endpoints get the whole garbage set and every earlier datagram again.
 * That happens before the endpoints start, after they start and after every step, so each state
 * the handshake passes through sees it. Timers are long and never fired: whatever was injected,
 * the handshake must finish on its first transmissions. */
static void handshake_under_storm(fixture_t *f, bool by_record)
{
    storm_t *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->f = f;
    storm(s); /* both NEW: garbage may start them, never fail them */
    if (dtls_state(f->server.d) == DTLS_STATE_NEW)
        assert_int_equal(dtls_start(f->server.d), 0);
    if (dtls_state(f->client.d) == DTLS_STATE_NEW)
        assert_int_equal(dtls_start(f->client.d), 0);
    storm(s);
    for (int step = 0; step < 200; step++) {
        peer_t *from = f->client.out_count > 0 ? &f->client : f->server.out_count > 0 ? &f->server : NULL;
        if (from == NULL)
            break;
        peer_t *to = from == &f->client ? &f->server : &f->client;
        history_t *h = from == &f->client ? &s->from_client : &s->from_server;
        dgram_t dg;
        pop_front(from, &dg);
        if (by_record) {
            for (size_t off = 0; off + 13 <= dg.len;) {
                size_t n = 13 + (size_t)(dg.data[off + 11] << 8 | dg.data[off + 12]);
                assert_int_equal(dtls_handle_datagram(to->d, dg.data + off, n), 0);
                off += n;
                storm(s);
            }
        } else {
            assert_int_equal(dtls_handle_datagram(to->d, dg.data, dg.len), 0);
            storm(s);
        }
        assert_true(h->n < HISTORY_MAX);
        h->dg[h->n++] = dg;
    }
    assert_connected(f);
    assert_keys_crosswise(f, DTLS_SRTP_AEAD_AES_128_GCM, 12);
    assert_int_equal(f->client.retransmits + f->server.retransmits, 0);
    assert_true(s->connected_points >= 2);
    print_message("    %u injection points (%u into a connected endpoint); drops client %u server %u "
                  "(auth %u/%u, epoch %u/%u, malformed %u/%u)\n",
                  s->points, s->connected_points, drops_total(&f->client), drops_total(&f->server),
                  f->client.drops[DTLS_DROP_AUTH], f->server.drops[DTLS_DROP_AUTH],
                  f->client.drops[DTLS_DROP_EPOCH], f->server.drops[DTLS_DROP_EPOCH],
                  f->client.drops[DTLS_DROP_MALFORMED], f->server.drops[DTLS_DROP_MALFORMED]);
    /* data still flows both ways, once each */
    static const uint8_t msg[] = "still alive";
    assert_int_equal(dtls_send_app(f->client.d, msg, sizeof(msg)), (int)sizeof(msg));
    assert_int_equal(dtls_send_app(f->server.d, msg, sizeof(msg)), (int)sizeof(msg));
    pump(f);
    assert_int_equal(f->server.app_count, 1);
    assert_int_equal(f->client.app_count, 1);
    assert_memory_equal(f->server.app, msg, sizeof(msg));
    /* and the application data itself, replayed, is dropped as a replay */
    unsigned auth0 = f->server.drops[DTLS_DROP_AUTH];
    assert_int_equal(dtls_send_app(f->client.d, msg, sizeof(msg)), (int)sizeof(msg));
    dgram_t copy = f->client.out[0];
    pump(f);
    assert_int_equal(dtls_handle_datagram(f->server.d, copy.data, copy.len), 0);
    assert_int_equal(f->server.app_count, 2);
    assert_int_equal(f->server.drops[DTLS_DROP_AUTH], auth0 + 1);
    free(s);
}

static const dtls_config_t long_timers = {.initial_timeout_ms = 30000, .max_timeout_ms = 60000};

static void test_garbage_in_every_state(void **state)
{
    fixture_t *f = *state;
    make_pair(f, &long_timers, &long_timers);
    handshake_under_storm(f, false);
}

/* Small datagrams, every record delivered on its own: states that exist only between two records
 * of one flight (e.g. after the peer's ChangeCipherSpec, before its Finished) get the storm too. */
static void test_garbage_in_every_state_small_mtu(void **state)
{
    fixture_t *f = *state;
    dtls_config_t cfg = long_timers;
    cfg.mtu = 300;
    make_pair(f, &cfg, &cfg);
    handshake_under_storm(f, true);
}

/* A well-formed fatal alert in the clear is the peer refusing the handshake (e.g. our certificate
 * does not match its fingerprint): it ends the handshake at once. A warning other than
 * close_notify is not something a peer sends here, and is dropped. */
static void test_plaintext_fatal_alert_ends_handshake(void **state)
{
    fixture_t *f = *state;
    make_pair(f, NULL, NULL);
    assert_int_equal(dtls_start(f->server.d), 0);
    assert_int_equal(dtls_start(f->client.d), 0);
    deliver(&f->client, &f->server); /* the ClientHello: the server now waits for flight 5 */
    uint8_t b[32];
    size_t n = rec(b, 21, 0xfefd, 0, (const uint8_t *)"\x01\x5a", 2); /* warning user_canceled */
    assert_int_equal(dtls_handle_datagram(f->server.d, b, n), 0);
    assert_int_equal(dtls_state(f->server.d), DTLS_STATE_CONNECTING);
    assert_int_equal(f->server.drops[DTLS_DROP_MALFORMED], 1);
    n = rec(b, 21, 0xfefd, 0, (const uint8_t *)"\x02\x28", 2); /* fatal handshake_failure */
    assert_int_equal(dtls_handle_datagram(f->server.d, b, n), -EPROTO);
    assert_int_equal(dtls_state(f->server.d), DTLS_STATE_FAILED);
    assert_non_null(strstr(dtls_error(f->server.d), "peer sent fatal alert"));
    assert_int_equal(dtls_handle_datagram(f->server.d, b, n), -ENOTCONN);
}

/* ---- a first flight in several datagrams ------------------------------------------------------ */

/* Adds `shift` to the sequence number of every epoch-0 record in buf (room for the extra records
 * a split ClientHello used). */
static void shift_epoch0_seq(uint8_t *buf, size_t len, unsigned shift)
{
    for (size_t off = 0; off + 13 <= len; off += 13 + (size_t)(buf[off + 11] << 8 | buf[off + 12])) {
        if (buf[off + 3] != 0 || buf[off + 4] != 0)
            continue;
        uint64_t seq = 0;
        for (int i = 5; i < 11; i++)
            seq = seq << 8 | buf[off + i];
        seq += shift;
        for (int i = 10; i >= 5; i--, seq >>= 8)
            buf[off + i] = (uint8_t)seq;
    }
}

/* Splits the one-record ClientHello in `ch` into `parts` handshake fragments (RFC 6347 §4.2.3),
 * one record each with consecutive sequence numbers, as a browser whose ClientHello is larger
 * than its MTU sends it. */
static void split_client_hello(const dgram_t *ch, unsigned parts, dgram_t *out)
{
    const uint8_t *hs = ch->data + 13;
    assert_int_equal(hs[0], KIND_CLIENT_HELLO);
    size_t msg_len = (size_t)(hs[1] << 16 | hs[2] << 8 | hs[3]);
    assert_int_equal(ch->len, 13 + 12 + msg_len);
    assert_int_equal(ch->data[10], 0); /* the first record of the association */
    for (unsigned i = 0; i < parts; i++) {
        size_t off = msg_len * i / parts, end = msg_len * (i + 1) / parts, n = end - off;
        uint8_t *o = out[i].data;
        memcpy(o, ch->data, 13 + 12);
        o[10] = (uint8_t)i;
        o[11] = (uint8_t)((12 + n) >> 8);
        o[12] = (uint8_t)(12 + n);
        o[13 + 6] = (uint8_t)(off >> 16), o[13 + 7] = (uint8_t)(off >> 8), o[13 + 8] = (uint8_t)off;
        o[13 + 9] = (uint8_t)(n >> 16), o[13 + 10] = (uint8_t)(n >> 8), o[13 + 11] = (uint8_t)n;
        memcpy(o + 25, hs + 12 + off, n);
        out[i].len = 25 + n;
    }
}

/* The server answers a ClientHello that came in pieces as soon as the last piece is in, whatever
 * their order and however they were packed into datagrams; no timer is needed anywhere. */
static void test_fragmented_client_hello(void **state)
{
    fixture_t *f = *state;
    static const struct {
        unsigned parts;
        unsigned order[3];
        bool one_datagram;
    } cases[] = {
        {2, {0, 1}, false}, {2, {1, 0}, false}, {3, {0, 1, 2}, false}, {3, {2, 0, 1}, false},
        {3, {1, 2, 0}, false}, {2, {0, 1}, true}, {3, {2, 1, 0}, true},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        make_pair(f, &long_timers, &long_timers);
        assert_int_equal(dtls_start(f->server.d), 0);
        assert_int_equal(dtls_start(f->client.d), 0);
        assert_int_equal(f->client.out_count, 1);
        dgram_t frags[3], one = {.len = 0};
        split_client_hello(&f->client.out[0], cases[c].parts, frags);
        f->client.out_count = 0;
        for (unsigned i = 0; i < cases[c].parts; i++) {
            const dgram_t *fr = &frags[cases[c].order[i]];
            if (cases[c].one_datagram) {
                memcpy(one.data + one.len, fr->data, fr->len);
                one.len += fr->len;
                continue;
            }
            assert_int_equal(f->server.out_count, 0); /* nothing before the last piece */
            assert_int_equal(dtls_handle_datagram(f->server.d, fr->data, fr->len), 0);
        }
        if (cases[c].one_datagram)
            assert_int_equal(dtls_handle_datagram(f->server.d, one.data, one.len), 0);
        /* the last piece made the server send its whole first flight, then and there */
        assert_true(f->server.out_count >= 1);
        assert_int_equal(kind_of(f->server.out[0].data, f->server.out[0].len), KIND_SERVER_HELLO);
        /* the client's next records continue after the pieces' sequence numbers */
        for (;;) {
            for (size_t i = 0; i < f->client.out_count; i++)
                shift_epoch0_seq(f->client.out[i].data, f->client.out[i].len, cases[c].parts - 1);
            if (deliver(&f->client, &f->server) + deliver(&f->server, &f->client) == 0)
                break;
        }
        assert_connected(f);
        assert_int_equal(f->client.retransmits + f->server.retransmits, 0);
        assert_int_equal(drops_total(&f->server), 0);
        assert_keys_crosswise(f, DTLS_SRTP_AEAD_AES_128_GCM, 12);
        dtls_free(f->client.d);
        dtls_free(f->server.d);
        memset(&f->client, 0, sizeof(f->client));
        memset(&f->server, 0, sizeof(f->server));
    }
}

static void test_bad_arguments(void **state)
{
    fixture_t *f = *state;
    dtls_config_t cfg = {.role = DTLS_ROLE_CLIENT};
    dtls_callbacks_t cb = {on_send, NULL, NULL, &f->client, NULL};
    dtls_callbacks_t nosend = {NULL, NULL, NULL, NULL, NULL};
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
        cmocka_unit_test(test_record_rules),
        cmocka_unit_test_setup_teardown(test_garbage_in_every_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_in_every_state_small_mtu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plaintext_fatal_alert_ends_handshake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fragmented_client_hello, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
