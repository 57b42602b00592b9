/* dtls.c - DTLS 1.2 endpoint for DTLS-SRTP on OpenSSL 3, with no sockets.
 *
 * Design (see dtls.h for the contract):
 *  - One custom BIO per endpoint is both rbio and wbio. Reading returns the one datagram the caller
 *    is feeding right now (then "retry"), so OpenSSL never sees two datagrams glued together.
 *    Writing calls the `send` callback: during the handshake OpenSSL puts a buffering BIO on top and
 *    flushes it once per datagram (it packs records up to d1->mtu; retransmissions go one message
 *    per flush), after the handshake each record is one write. So each write reaching our BIO is
 *    exactly one datagram.
 *  - MTU: SSL_OP_NO_QUERY_MTU + SSL_set_mtu, and the BIO answers MTU queries with the same value,
 *    so OpenSSL never shrinks it on its own.
 *  - Peer authentication: SSL_CTX_set_cert_verify_callback replaces X.509 chain building with a
 *    digest comparison of the leaf against a=fingerprint (cert_fingerprint_matches).
 *  - Timers: DTLS_set_timer_cb chooses the durations; OpenSSL measures them (see dtls.h).
 *  - Every OpenSSL call runs with a cleared error queue; the first failure reason is kept in
 *    d->err (fingerprint mismatch > alert from the peer > OpenSSL's error string).
 */
#include "sfu/dtls.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define DTLS_EXPORT_LABEL "EXTRACTOR-dtls_srtp"
#define DTLS_MAX_RECORD 16384    /* largest plaintext record (SSL3_RT_MAX_PLAIN_LENGTH) */
#define DTLS_MAX_DATAGRAM 65535
#define DTLS_TIMEOUT_CAP_MS 60000 /* largest timer allowed: RFC 6347 §4.2.4.1's ceiling */

/* ECDHE with AEAD only; ECDSA first (browsers and we use P-256 keys), RSA for older peers. */
#define DTLS_CIPHERS                                                                             \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:" \
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384"

struct dtls_ctx {
    SSL_CTX *ssl_ctx;
};

struct dtls {
    SSL *ssl;
    dtls_callbacks_t cb;
    dtls_role_t role;
    dtls_state_t state;
    unsigned mtu;
    unsigned initial_timeout_ms;
    unsigned max_timeout_ms;
    unsigned max_retransmits;
    unsigned timeouts; /* retransmission timeouts so far in this handshake */
    bool have_fp;
    cert_fingerprint_t remote_fp;
    const uint8_t *in_buf; /* record being fed (borrowed for one call) */
    size_t in_len;
    unsigned records_used; /* application-data records delivered + alerts read, ever */
    unsigned datagrams_sent; /* ever */
    bool have_keys;
    dtls_srtp_keys_t keys;
    char err[160];
    uint8_t rbuf[DTLS_MAX_RECORD]; /* SSL_read target for application data */
};

/* ---- the datagram BIO ---------------------------------------------------------------------- */

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static int bio_write(BIO *b, const char *buf, int len)
{
    dtls_t *d = BIO_get_data(b);
    if (d == NULL || len <= 0)
        return 0;
    d->datagrams_sent++;
    d->cb.send(d->cb.user, (const uint8_t *)buf, (size_t)len);
    return len;
}

static int bio_read(BIO *b, char *buf, int len)
{
    dtls_t *d = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (d == NULL || d->in_buf == NULL || len <= 0) {
        BIO_set_retry_read(b);
        return -1;
    }
    size_t n = d->in_len < (size_t)len ? d->in_len : (size_t)len; /* truncation = bad record */
    memcpy(buf, d->in_buf, n);
    d->in_buf = NULL;
    d->in_len = 0;
    return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    dtls_t *d = BIO_get_data(b);
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
        return d != NULL ? (long)d->mtu : DTLS_DEFAULT_MTU;
    case BIO_CTRL_PENDING:
        return d != NULL && d->in_buf != NULL ? (long)d->in_len : 0;
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
    case BIO_CTRL_DGRAM_MTU_EXCEEDED:
    case BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT:
    default:
        return 0;
    }
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    BIO_set_data(b, NULL);
    return 1;
}

static int bio_destroy(BIO *b)
{
    BIO_set_data(b, NULL);
    return 1;
}

static void bio_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "videomeet-dtls");
    if (m == NULL)
        return;
    if (BIO_meth_set_write(m, bio_write) != 1 || BIO_meth_set_read(m, bio_read) != 1
        || BIO_meth_set_ctrl(m, bio_ctrl) != 1 || BIO_meth_set_create(m, bio_create) != 1
        || BIO_meth_set_destroy(m, bio_destroy) != 1) {
        BIO_meth_free(m);
        return;
    }
    bio_method = m;
}

/* ---- state and errors ------------------------------------------------------------------------ */

static void set_state(dtls_t *d, dtls_state_t st)
{
    if (d->state == st)
        return;
    d->state = st;
    if (d->cb.state != NULL)
        d->cb.state(d->cb.user, st);
}

static void set_error(dtls_t *d, const char *msg)
{
    if (d->err[0] == '\0')
        snprintf(d->err, sizeof(d->err), "%s", msg);
}

/* Records OpenSSL's reason (after more specific ones) and moves to FAILED. */
static void fail(dtls_t *d, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    if (e != 0) {
        char buf[120];
        ERR_error_string_n(e, buf, sizeof(buf));
        char msg[sizeof(d->err)];
        snprintf(msg, sizeof(msg), "%s: %s", what, buf);
        set_error(d, msg);
    } else {
        set_error(d, what);
    }
    ERR_clear_error();
    set_state(d, DTLS_STATE_FAILED);
}

static void info_cb(const SSL *ssl, int where, int ret)
{
    dtls_t *d = SSL_get_app_data(ssl);
    if (d == NULL || !(where & SSL_CB_READ_ALERT))
        return;
    d->records_used++;
    if ((ret >> 8) == SSL3_AL_FATAL) {
        char msg[96];
        snprintf(msg, sizeof(msg), "peer sent fatal alert: %s", SSL_alert_desc_string_long(ret));
        set_error(d, msg);
    }
}

/* Replaces chain verification: the leaf must match the SDP fingerprint, nothing else counts. */
static int verify_cb(X509_STORE_CTX *xs, void *arg)
{
    (void)arg;
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    dtls_t *d = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
    X509 *peer = X509_STORE_CTX_get0_cert(xs);
    if (d == NULL || peer == NULL) {
        X509_STORE_CTX_set_error(xs, X509_V_ERR_UNSPECIFIED);
        return 0;
    }
    if (!d->have_fp) {
        set_error(d, "no a=fingerprint known for the peer");
        X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    if (!cert_fingerprint_matches(&d->remote_fp, peer)) {
        set_error(d, "peer certificate does not match a=fingerprint");
        X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    X509_STORE_CTX_set_error(xs, X509_V_OK);
    return 1;
}

static unsigned int timer_cb(SSL *ssl, unsigned int prev_us)
{
    dtls_t *d = SSL_get_app_data(ssl);
    if (d == NULL)
        return 1000000;
    if (prev_us == 0)
        return d->initial_timeout_ms * 1000u;
    d->timeouts++;
    unsigned long long next = (unsigned long long)prev_us * 2;
    unsigned long long cap = (unsigned long long)d->max_timeout_ms * 1000u;
    return (unsigned int)(next > cap ? cap : next);
}

/* ---- context ------------------------------------------------------------------------------- */

dtls_ctx_t *dtls_ctx_new(const cert_t *cert)
{
    if (cert == NULL)
        return NULL;
    dtls_ctx_t *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return NULL;
    SSL_CTX *s = SSL_CTX_new(DTLS_method());
    ctx->ssl_ctx = s;
    int ok = s != NULL && SSL_CTX_set_min_proto_version(s, DTLS1_2_VERSION) == 1
             && SSL_CTX_set_max_proto_version(s, DTLS1_2_VERSION) == 1
             && SSL_CTX_use_certificate(s, cert_x509(cert)) == 1
             && SSL_CTX_use_PrivateKey(s, cert_pkey(cert)) == 1
             && SSL_CTX_check_private_key(s) == 1 && SSL_CTX_set_cipher_list(s, DTLS_CIPHERS) == 1
             && SSL_CTX_set1_groups_list(s, "X25519:P-256:P-384") == 1;
    if (!ok) {
        ERR_clear_error();
        dtls_ctx_free(ctx);
        return NULL;
    }
    SSL_CTX_set_options(s, SSL_OP_NO_TICKET | SSL_OP_NO_QUERY_MTU | SSL_OP_NO_RENEGOTIATION
                               | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_read_ahead(s, 1);
    SSL_CTX_set_verify(s, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_cert_verify_callback(s, verify_cb, NULL);
    return ctx;
}

void dtls_ctx_free(dtls_ctx_t *ctx)
{
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

/* ---- endpoint ------------------------------------------------------------------------------ */

static int set_srtp_profiles(SSL *ssl, unsigned allow)
{
    const unsigned gcm = DTLS_ALLOW_AEAD_AES_128_GCM, cm = DTLS_ALLOW_AES128_CM_SHA1_80;
    const char *list;
    if ((allow & (gcm | cm)) == 0 || (allow & (gcm | cm)) == (gcm | cm))
        list = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"; /* our preference order */
    else if (allow & gcm)
        list = "SRTP_AEAD_AES_128_GCM";
    else
        list = "SRTP_AES128_CM_SHA1_80";
    return SSL_set_tlsext_use_srtp(ssl, list) == 0 ? 0 : -1; /* 0 means success here */
}

static int setup_ssl(dtls_t *d, dtls_ctx_t *ctx, unsigned profiles)
{
    pthread_once(&bio_once, bio_method_init);
    if (bio_method == NULL)
        return -1;
    d->ssl = SSL_new(ctx->ssl_ctx);
    if (d->ssl == NULL)
        return -1;
    BIO *bio = BIO_new(bio_method);
    if (bio == NULL)
        return -1;
    BIO_set_data(bio, d);
    SSL_set_bio(d->ssl, bio, bio); /* the SSL owns the one reference */
    SSL_set_app_data(d->ssl, d);
    SSL_set_options(d->ssl, SSL_OP_NO_QUERY_MTU);
    if (SSL_set_mtu(d->ssl, (long)d->mtu) <= 0) /* returns the MTU set, 0 if refused */
        return -1;
    DTLS_set_timer_cb(d->ssl, timer_cb);
    SSL_set_info_callback(d->ssl, info_cb);
    if (set_srtp_profiles(d->ssl, profiles) != 0)
        return -1;
    if (d->role == DTLS_ROLE_CLIENT)
        SSL_set_connect_state(d->ssl);
    else
        SSL_set_accept_state(d->ssl);
    return 0;
}

dtls_t *dtls_new(dtls_ctx_t *ctx, const dtls_config_t *cfg, const dtls_callbacks_t *cb)
{
    if (ctx == NULL || cfg == NULL || cb == NULL || cb->send == NULL)
        return NULL;
    if (cfg->role != DTLS_ROLE_CLIENT && cfg->role != DTLS_ROLE_SERVER)
        return NULL;
    if (cfg->mtu != 0 && (cfg->mtu < 256 || cfg->mtu > DTLS_MAX_DATAGRAM))
        return NULL;
    dtls_t *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->cb = *cb;
    d->role = cfg->role;
    d->state = DTLS_STATE_NEW;
    d->mtu = cfg->mtu ? cfg->mtu : DTLS_DEFAULT_MTU;
    d->initial_timeout_ms = cfg->initial_timeout_ms ? cfg->initial_timeout_ms
                                                    : DTLS_DEFAULT_INITIAL_TIMEOUT_MS;
    d->max_timeout_ms = cfg->max_timeout_ms ? cfg->max_timeout_ms : DTLS_DEFAULT_MAX_TIMEOUT_MS;
    if (d->initial_timeout_ms > DTLS_TIMEOUT_CAP_MS)
        d->initial_timeout_ms = DTLS_TIMEOUT_CAP_MS;
    if (d->max_timeout_ms < d->initial_timeout_ms)
        d->max_timeout_ms = d->initial_timeout_ms;
    if (d->max_timeout_ms > DTLS_TIMEOUT_CAP_MS)
        d->max_timeout_ms = DTLS_TIMEOUT_CAP_MS;
    d->max_retransmits = cfg->max_retransmits ? cfg->max_retransmits : DTLS_DEFAULT_MAX_RETRANSMITS;
    if (cfg->remote_fingerprint != NULL && dtls_set_remote_fingerprint(d, cfg->remote_fingerprint) != 0)
        goto fail;
    if (setup_ssl(d, ctx, cfg->srtp_profiles) != 0)
        goto fail;
    return d;
fail:
    ERR_clear_error();
    dtls_free(d);
    return NULL;
}

void dtls_free(dtls_t *d)
{
    if (d == NULL)
        return;
    if (d->ssl != NULL) {
        BIO *b = SSL_get_rbio(d->ssl);
        if (b != NULL)
            BIO_set_data(b, NULL); /* SSL_free must not reach our callbacks */
        SSL_free(d->ssl);
    }
    OPENSSL_cleanse(&d->keys, sizeof(d->keys));
    free(d);
}

int dtls_set_remote_fingerprint(dtls_t *d, const cert_fingerprint_t *fp)
{
    if (d == NULL || fp == NULL || fp->len == 0 || fp->len > CERT_FP_MAX_BYTES)
        return -EINVAL;
    d->remote_fp = *fp;
    d->have_fp = true;
    return 0;
}

/* RFC 5764 §4.2: client key | server key | client salt | server salt. */
static void export_keys(dtls_t *d)
{
    const SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(d->ssl);
    if (p == NULL)
        return;
    size_t klen = 16, slen;
    if (p->id == DTLS_SRTP_AES128_CM_SHA1_80)
        slen = 14;
    else if (p->id == DTLS_SRTP_AEAD_AES_128_GCM)
        slen = 12;
    else
        return;
    uint8_t m[2 * (DTLS_SRTP_MAX_KEY_LEN + DTLS_SRTP_MAX_SALT_LEN)];
    size_t total = 2 * (klen + slen);
    if (SSL_export_keying_material(d->ssl, m, total, DTLS_EXPORT_LABEL, strlen(DTLS_EXPORT_LABEL),
                                   NULL, 0, 0) != 1)
        return;
    const uint8_t *ck = m, *sk = m + klen, *cs = m + 2 * klen, *ss = m + 2 * klen + slen;
    bool client = d->role == DTLS_ROLE_CLIENT;
    d->keys.profile = (uint16_t)p->id;
    d->keys.key_len = klen;
    d->keys.salt_len = slen;
    memcpy(d->keys.local_key, client ? ck : sk, klen);
    memcpy(d->keys.local_salt, client ? cs : ss, slen);
    memcpy(d->keys.remote_key, client ? sk : ck, klen);
    memcpy(d->keys.remote_salt, client ? ss : cs, slen);
    d->have_keys = true;
    OPENSSL_cleanse(m, sizeof(m));
}

/* Reads decrypted records until OpenSSL wants more input. Returns 0 or -EPROTO. */
static int read_app_data(dtls_t *d)
{
    while (d->state == DTLS_STATE_CONNECTED) {
        ERR_clear_error();
        int n = SSL_read(d->ssl, d->rbuf, (int)sizeof(d->rbuf));
        if (n > 0) {
            d->records_used++;
            if (d->cb.app_data != NULL)
                d->cb.app_data(d->cb.user, d->rbuf, (size_t)n);
            continue;
        }
        int e = SSL_get_error(d->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            return 0;
        if (e == SSL_ERROR_ZERO_RETURN) { /* close_notify: answer it, then report */
            ERR_clear_error();
            (void)SSL_shutdown(d->ssl);
            ERR_clear_error();
            set_state(d, DTLS_STATE_CLOSED);
            return 0;
        }
        fail(d, "DTLS connection error");
        return -EPROTO;
    }
    return 0;
}

/* Advances the handshake; on completion exports keys and reads any early application data. */
static int drive(dtls_t *d)
{
    if (d->state == DTLS_STATE_CONNECTING) {
        ERR_clear_error();
        int r = SSL_do_handshake(d->ssl);
        if (r != 1) {
            int e = SSL_get_error(d->ssl, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                if (d->timeouts > d->max_retransmits) {
                    set_error(d, "DTLS handshake timed out");
                    fail(d, "DTLS handshake timed out");
                    return -ETIMEDOUT;
                }
                return 0;
            }
            fail(d, "DTLS handshake failed");
            return -EPROTO;
        }
        export_keys(d);
        d->timeouts = 0;
        set_state(d, DTLS_STATE_CONNECTED);
    }
    return read_app_data(d);
}

int dtls_start(dtls_t *d)
{
    if (d == NULL)
        return -EINVAL;
    if (d->state != DTLS_STATE_NEW)
        return -EALREADY;
    set_state(d, DTLS_STATE_CONNECTING);
    if (d->state != DTLS_STATE_CONNECTING) /* the state callback closed us */
        return 0;
    return drive(d) == 0 ? 0 : -EPROTO;
}

/* Whether OpenSSL reads epoch 1 now: after the handshake, or once it has taken the peer's
 * ChangeCipherSpec and waits for its Finished. Before that it would buffer epoch-1 records (up to
 * 100, one per sequence number) for later, so forged ones could crowd out or shadow the real
 * Finished; they are dropped here instead (a real Finished that overtook its CCS comes again with
 * the peer's retransmission). */
static bool reads_epoch1(const dtls_t *d)
{
    if (d->state == DTLS_STATE_CONNECTED)
        return true;
    if (d->state != DTLS_STATE_CONNECTING)
        return false;
    OSSL_HANDSHAKE_STATE hs = SSL_get_state(d->ssl);
    return hs == TLS_ST_CR_CHANGE || hs == TLS_ST_SR_CHANGE;
}

/* Smallest epoch-1 record under the negotiated (or, during the handshake, pending) cipher:
 * explicit nonce + tag. Only AEAD suites are offered (DTLS_CIPHERS); 0 = not known yet. */
static unsigned cipher_overhead(const dtls_t *d)
{
    const SSL_CIPHER *c = SSL_get_pending_cipher(d->ssl);
    if (c == NULL)
        c = SSL_get_current_cipher(d->ssl);
    if (c == NULL)
        return 0;
    switch (SSL_CIPHER_get_cipher_nid(c)) {
    case NID_aes_128_gcm:
    case NID_aes_256_gcm:
        return 8 + 16; /* RFC 5288: explicit nonce + tag */
    case NID_chacha20_poly1305:
        return 16; /* RFC 7905: tag only */
    default:
        return 0;
    }
}

static void dropped(dtls_t *d, dtls_drop_reason_t reason)
{
    if (d->cb.dropped != NULL)
        d->cb.dropped(d->cb.user, reason);
}

/* NEW, CONNECTING or CONNECTED: not ended. */
static bool takes_records(const dtls_t *d)
{
    return d->state == DTLS_STATE_NEW || d->state == DTLS_STATE_CONNECTING || d->state == DTLS_STATE_CONNECTED;
}

/* Hands one admitted record to OpenSSL. Returns 0 or a negative errno (state FAILED). */
static int feed_record(dtls_t *d, const uint8_t *rec, size_t len)
{
    if (d->state == DTLS_STATE_NEW) {
        int e = dtls_start(d);
        if (e < 0)
            return e;
    }
    if (d->state != DTLS_STATE_CONNECTING && d->state != DTLS_STATE_CONNECTED)
        return 0; /* the state callback closed it */
    /* After the handshake every record OpenSSL uses shows: application data (SSL_read), an alert
     * (the info callback) or an answer (a handshake record makes it resend its last flight or
     * refuse renegotiation). One that shows nothing did not decrypt or was a replay. */
    bool watch = d->state == DTLS_STATE_CONNECTED;
    unsigned used = d->records_used, sent = d->datagrams_sent;
    d->in_buf = rec;
    d->in_len = len;
    int e = drive(d);
    d->in_buf = NULL;
    d->in_len = 0;
    if (e < 0)
        return -EPROTO;
    if (watch && d->records_used == used && d->datagrams_sent == sent)
        dropped(d, DTLS_DROP_AUTH);
    return 0;
}

int dtls_handle_datagram(dtls_t *d, const uint8_t *buf, size_t len)
{
    if (d == NULL || buf == NULL || len == 0 || len > DTLS_MAX_DATAGRAM)
        return -EINVAL;
    if (buf[0] < 20 || buf[0] > 63) /* RFC 7983: DTLS content types */
        return -EINVAL;
    if (!takes_records(d))
        return -ENOTCONN;
    size_t off = 0;
    /* Record by record, each judged in the state the ones before it left (e.g. CCS + Finished). */
    while (off < len && takes_records(d)) {
        dtls_record_policy_t policy = {
            .plaintext = d->state != DTLS_STATE_CONNECTED,
            .encrypted_overhead = reads_epoch1(d) ? cipher_overhead(d) : 0,
        };
        dtls_record_t r;
        dtls_drop_reason_t why;
        int ok = dtls_record_next(buf + off, len - off, &policy, &r, &why);
        if (ok < 0)
            break;
        if (ok == 0) {
            dropped(d, why);
        } else {
            int e = feed_record(d, buf + off, r.len);
            if (e < 0)
                return e;
        }
        off += r.len;
    }
    return 0;
}

int dtls_timeout_ms(dtls_t *d)
{
    if (d == NULL || d->state != DTLS_STATE_CONNECTING)
        return -1;
    struct timeval tv;
    if (DTLSv1_get_timeout(d->ssl, &tv) != 1)
        return -1;
    long long ms = (long long)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

int dtls_handle_timeout(dtls_t *d)
{
    if (d == NULL || d->state != DTLS_STATE_CONNECTING)
        return 0;
    struct timeval tv;
    if (DTLSv1_get_timeout(d->ssl, &tv) != 1 || tv.tv_sec != 0 || tv.tv_usec != 0)
        return 0; /* no timer, or not due yet */
    int r = 0;
    if (d->timeouts < d->max_retransmits) {
        ERR_clear_error();
        r = DTLSv1_handle_timeout(d->ssl); /* timer_cb counts it in d->timeouts */
    }
    if (r < 0 || d->timeouts >= d->max_retransmits) {
        if (r > 0)
            return 1; /* that was the last retransmission; give up at the next expiry */
        set_error(d, "DTLS handshake timed out");
        fail(d, "DTLS handshake timed out");
        return -ETIMEDOUT;
    }
    return r > 0 ? 1 : 0;
}

int dtls_send_app(dtls_t *d, const uint8_t *buf, size_t len)
{
    if (d == NULL || (buf == NULL && len > 0))
        return -EINVAL;
    if (d->state != DTLS_STATE_CONNECTED)
        return -ENOTCONN;
    if (len > DTLS_MAX_RECORD)
        return -EMSGSIZE;
    if (len == 0)
        return 0;
    ERR_clear_error();
    int n = SSL_write(d->ssl, buf, (int)len);
    if (n != (int)len) {
        fail(d, "DTLS write failed");
        return -EIO;
    }
    return n;
}

size_t dtls_app_mtu(dtls_t *d)
{
    if (d == NULL || d->state != DTLS_STATE_CONNECTED)
        return 0;
    return DTLS_get_data_mtu(d->ssl);
}

int dtls_close(dtls_t *d)
{
    if (d == NULL)
        return -EINVAL;
    if (d->state == DTLS_STATE_FAILED || d->state == DTLS_STATE_CLOSED)
        return -ENOTCONN;
    if (d->state == DTLS_STATE_CONNECTED) {
        ERR_clear_error();
        (void)SSL_shutdown(d->ssl); /* writes close_notify through `send` */
        ERR_clear_error();
    }
    set_state(d, DTLS_STATE_CLOSED);
    return 0;
}

dtls_state_t dtls_state(const dtls_t *d)
{
    return d != NULL ? d->state : DTLS_STATE_FAILED;
}

const char *dtls_state_name(dtls_state_t state)
{
    switch (state) {
    case DTLS_STATE_NEW:
        return "new";
    case DTLS_STATE_CONNECTING:
        return "connecting";
    case DTLS_STATE_CONNECTED:
        return "connected";
    case DTLS_STATE_FAILED:
        return "failed";
    case DTLS_STATE_CLOSED:
        return "closed";
    }
    return "unknown";
}

dtls_role_t dtls_role(const dtls_t *d)
{
    return d != NULL ? d->role : DTLS_ROLE_CLIENT;
}

const char *dtls_error(const dtls_t *d)
{
    return d != NULL ? d->err : "";
}

int dtls_get_srtp_keys(const dtls_t *d, dtls_srtp_keys_t *out)
{
    if (d == NULL || out == NULL)
        return -EINVAL;
    if (d->state != DTLS_STATE_CONNECTED && !(d->state == DTLS_STATE_CLOSED && d->have_keys))
        return -ENOTCONN;
    if (!d->have_keys)
        return -ENOENT;
    *out = d->keys;
    return 0;
}
