/*
 * fuzz_dtls.c - libFuzzer target for the SFU's DTLS endpoint (sfu/dtls.c over OpenSSL) while it
 * runs: datagrams of the fuzzer's into a handshake under way and into a connection that is up, in
 * between the real datagrams of a real peer (another dtls_t, "the browser"), some of them mutated.
 * fuzz_dtls_record.c covers the record splitter alone; this one what OpenSSL and dtls.c do with what
 * gets through it.
 *
 * The first byte of an input chooses the setting: bit 0 the SFU's role (0 server, as for a browser's
 * offer; 1 client), bits 1-2 the SRTP profiles the browser allows (both, AES-GCM only, AES-CM only),
 * bit 3 the connection: a fresh pair for this input (handshake from the start) or the pair of that
 * setting (role, profiles) made at start-up, connected (post-handshake; made again when an input ends
 * it). There is one kept pair per setting, so the connection that is up is fuzzed in either role and
 * with either SRTP profile too (before: one kept pair, the SFU as server with both profiles).
 * The rest is a script of records [op][n][n bytes], op & 7:
 *   0 the browser's next waiting datagram reaches the SFU      1 the SFU's next one reaches the browser
 *   2 the bytes as a datagram to the SFU                       3 the browser's next datagram, with the
 *   4 the browser sends the bytes as application data            bytes written over it at offset
 *   5 the SFU sends the bytes as application data                bytes[0], reaches the SFU
 *   6 every waiting datagram is delivered, both ways, until the wire is quiet
 *   7 the browser closes (close_notify)
 * Checks (trap): dtls_handle_datagram's results are those dtls.h promises for the state it was in
 * and went to; FAILED and CLOSED are final; every datagram the SFU sends fits its MTU; application
 * data reaches the other side whole; once both are up their SRTP keys mirror each other; no crash,
 * leak or UB. Keys come from a fixed-seed random source (det_rand.h), set back to the same seed before
 * each fresh pair (and to a seed of its own before a kept pair is made again), so that a fresh
 * handshake does not depend on the inputs before it; retransmission timers are set to a minute
 * (OpenSSL's own clock: they never fire during an input).
 *
 * Speed: a fresh pair costs a real handshake (~3 ms on the shared machine, most of it OpenSSL 3's
 * many small allocations through ASan's allocator, libcrypto's own code about a third); an input on
 * a kept pair that stays up is at least 15 times cheaper. So the executions per second follow how
 * many inputs of the corpus ask for a fresh pair or end a kept one (most do: ~600-700 exec/s); this
 * target is the slow one by design (tests/fuzz/README.md, "Speed").
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "det_rand.h"
#include "sfu/cert.h"
#include "sfu/dtls.h"

#define CHECK(x)              \
    do {                      \
        if (!(x))             \
            __builtin_trap(); \
    } while (0)

#define QMAX 16
#define DGRAM_MAX 2048

typedef struct {
    dtls_t *d;
    uint8_t q[QMAX][DGRAM_MAX]; /* what it sent, waiting for the other side */
    size_t qlen[QMAX], qhead, qn;
    bool sfu;
    dtls_state_t last;          /* the state the callback reported last */
    unsigned app_got;
    size_t app_len;             /* length of the last application data received */
} end;

static cert_t *sfu_cert, *br_cert;
static dtls_ctx_t *sfu_ctx, *br_ctx;
#define SETTINGS 8 /* the first byte's bits 0-2: role and SRTP profiles */
#define SEED 20261203u
static end kept_sfu[SETTINGS], kept_br[SETTINGS]; /* the connected pairs, one per setting */
static const unsigned profiles[4] = {0, DTLS_ALLOW_AEAD_AES_128_GCM, DTLS_ALLOW_AES128_CM_SHA1_80, 0};

static void on_send(void *user, const uint8_t *buf, size_t len)
{
    end *e = user;
    CHECK(len > 0 && len <= DGRAM_MAX);
    if (e->sfu)
        CHECK(len <= DTLS_DEFAULT_MTU);
    if (e->qn == QMAX)
        return; /* a lossy wire */
    size_t k = (e->qhead + e->qn) % QMAX;
    memcpy(e->q[k], buf, len);
    e->qlen[k] = len;
    e->qn++;
}

static void on_state(void *user, dtls_state_t st)
{
    end *e = user;
    CHECK(e->last != DTLS_STATE_FAILED && e->last != DTLS_STATE_CLOSED); /* final */
    CHECK(st != e->last && st <= DTLS_STATE_CLOSED);
    e->last = st;
}

static void on_app(void *user, const uint8_t *buf, size_t len)
{
    end *e = user;
    (void)buf;
    CHECK(len <= 16384 && dtls_state(e->d) == DTLS_STATE_CONNECTED);
    e->app_got++;
    e->app_len = len;
}

static void on_dropped(void *user, dtls_drop_reason_t reason)
{
    (void)user;
    CHECK(reason < DTLS_DROP_REASONS);
}

static void make(end *e, bool sfu, dtls_role_t role, unsigned allowed)
{
    memset(e, 0, sizeof(*e));
    e->sfu = sfu;
    dtls_config_t c;
    memset(&c, 0, sizeof(c));
    c.role = role;
    c.remote_fingerprint = cert_fingerprint(sfu ? br_cert : sfu_cert);
    c.srtp_profiles = sfu ? 0 : allowed;
    c.initial_timeout_ms = c.max_timeout_ms = 60000;
    dtls_callbacks_t cb = {on_send, on_state, on_app, e, on_dropped};
    e->d = dtls_new(sfu ? sfu_ctx : br_ctx, &c, &cb);
    CHECK(e->d && dtls_state(e->d) == DTLS_STATE_NEW);
}

/* Feeds one datagram to `to` and checks the result against dtls.h. */
static void feed(end *to, uint8_t *buf, size_t len)
{
    dtls_state_t before = dtls_state(to->d);
    int rc = dtls_handle_datagram(to->d, buf, len);
    dtls_state_t after = dtls_state(to->d);
    if (len == 0 || buf[0] < 20 || buf[0] > 63) {
        CHECK(rc == -EINVAL && after == before);
    } else if (before == DTLS_STATE_FAILED || before == DTLS_STATE_CLOSED) {
        CHECK(rc == -ENOTCONN && after == before);
    } else if (rc == -EPROTO) {
        CHECK(after == DTLS_STATE_FAILED);
    } else {
        CHECK(rc == 0 && after != DTLS_STATE_FAILED);
    }
    CHECK(after == to->last);
}

/* Takes from's oldest waiting datagram into out; false when none waits. */
static bool take(end *from, uint8_t *out, size_t *len)
{
    if (!from->qn)
        return false;
    memcpy(out, from->q[from->qhead], from->qlen[from->qhead]);
    *len = from->qlen[from->qhead];
    from->qhead = (from->qhead + 1) % QMAX;
    from->qn--;
    return true;
}

static void pass(end *from, end *to)
{
    static uint8_t buf[DGRAM_MAX];
    size_t len;
    if (take(from, buf, &len))
        feed(to, buf, len);
}

static void pump(end *a, end *b)
{
    for (int rounds = 0; rounds < 32 && (a->qn || b->qn); rounds++) {
        while (a->qn)
            pass(a, b);
        while (b->qn)
            pass(b, a);
    }
}

static void check_keys(end *sfu, end *br)
{
    dtls_srtp_keys_t a, b;
    int ra = dtls_get_srtp_keys(sfu->d, &a), rb = dtls_get_srtp_keys(br->d, &b);
    CHECK(ra == rb);
    if (ra == 0) {
        CHECK(a.profile == b.profile && a.key_len == b.key_len && a.salt_len == b.salt_len);
        CHECK(!memcmp(a.local_key, b.remote_key, a.key_len) && !memcmp(a.remote_key, b.local_key, a.key_len));
        CHECK(!memcmp(a.local_salt, b.remote_salt, a.salt_len) && !memcmp(a.remote_salt, b.local_salt, a.salt_len));
    } else {
        CHECK(ra == -ENOENT);
    }
}

/* A fresh pair for setting k (not started): the SFU's role in bit 0, the browser's profiles in bits 1-2. */
static void make_pair(end *sfu, end *br, unsigned k)
{
    dtls_role_t role = k & 1 ? DTLS_ROLE_CLIENT : DTLS_ROLE_SERVER;
    make(sfu, true, role, profiles[k >> 1 & 3]);
    make(br, false, role == DTLS_ROLE_CLIENT ? DTLS_ROLE_SERVER : DTLS_ROLE_CLIENT, profiles[k >> 1 & 3]);
}

static void make_kept(unsigned k)
{
    dtls_free(kept_sfu[k].d);
    dtls_free(kept_br[k].d);
    det_rand_state = SEED + 1 + k;
    make_pair(&kept_sfu[k], &kept_br[k], k);
    CHECK(dtls_start(kept_sfu[k].d) == 0 && dtls_start(kept_br[k].d) == 0);
    pump(&kept_sfu[k], &kept_br[k]);
    CHECK(dtls_state(kept_sfu[k].d) == DTLS_STATE_CONNECTED && dtls_state(kept_br[k].d) == DTLS_STATE_CONNECTED);
    check_keys(&kept_sfu[k], &kept_br[k]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    det_rand_install(SEED);
    sfu_cert = cert_new();
    br_cert = cert_new();
    CHECK(sfu_cert && br_cert);
    sfu_ctx = dtls_ctx_new(sfu_cert);
    br_ctx = dtls_ctx_new(br_cert);
    CHECK(sfu_ctx && br_ctx);
    for (unsigned k = 0; k < SETTINGS; k++)
        make_kept(k);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t cfg = data[0];
    unsigned k = cfg % SETTINGS;
    static end fresh_sfu, fresh_br;
    end *sfu, *br;
    bool kept = cfg & 8;
    if (kept) {
        sfu = &kept_sfu[k], br = &kept_br[k];
    } else {
        det_rand_state = SEED; /* the same keys and randoms whatever ran before */
        make_pair(&fresh_sfu, &fresh_br, k);
        sfu = &fresh_sfu, br = &fresh_br;
        CHECK(dtls_start(sfu->d) == 0 && dtls_start(br->d) == 0);
        CHECK(dtls_start(sfu->d) == -EALREADY);
    }
    static uint8_t buf[DGRAM_MAX];
    size_t i = 1;
    while (i + 2 <= size) {
        uint8_t op = data[i] & 7;
        size_t n = data[i + 1];
        i += 2;
        if (op >= 2 && op <= 5) { /* these take bytes: n of them, or 4 times n for application data */
            if (op >= 4)
                n *= 4;
            if (n > size - i)
                n = size - i;
        } else {
            n = 0;
        }
        const uint8_t *body = data + i;
        i += n;
        size_t len;
        switch (op) {
        case 0:
            pass(br, sfu);
            break;
        case 1:
            pass(sfu, br);
            break;
        case 2:
            memcpy(buf, body, n);
            feed(sfu, buf, n);
            break;
        case 3:
            if (take(br, buf, &len)) {
                size_t at = n ? body[0] % len : 0;
                for (size_t j = 1; j < n && at < len; j++)
                    buf[at++] = body[j];
                feed(sfu, buf, len);
            }
            break;
        case 4:
        case 5: {
            end *from = op == 4 ? br : sfu, *to = op == 4 ? sfu : br;
            unsigned got = to->app_got;
            int rc = dtls_send_app(from->d, body, n);
            CHECK(rc == (dtls_state(from->d) == DTLS_STATE_CONNECTED ? (int)n : -ENOTCONN) || (n == 0 && rc <= 0));
            if (rc > 0 && from->qn == 1 && dtls_state(to->d) == DTLS_STATE_CONNECTED) {
                pass(from, to); /* the record alone on the wire: it arrives whole */
                CHECK(to->app_got == got + 1 && to->app_len == n);
            }
            break;
        }
        case 6:
            pump(sfu, br);
            break;
        default:
            dtls_close(br->d);
            break;
        }
    }
    if (dtls_state(sfu->d) == DTLS_STATE_CONNECTED && dtls_state(br->d) == DTLS_STATE_CONNECTED)
        check_keys(sfu, br);
    if (kept) {
        sfu->qn = br->qn = 0; /* what is still on the wire is lost */
        if (dtls_state(sfu->d) != DTLS_STATE_CONNECTED || dtls_state(br->d) != DTLS_STATE_CONNECTED)
            make_kept(k);
    } else {
        dtls_free(fresh_sfu.d);
        dtls_free(fresh_br.d);
    }
    return 0;
}
