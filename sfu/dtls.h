/* dtls.h - one DTLS 1.2 endpoint per peer connection, for DTLS-SRTP (RFC 5764) and data channels.
 *
 * No sockets, no threads: the caller feeds each received datagram in (dtls_handle_datagram) and
 * this module hands every datagram to send to the `send` callback, synchronously, from inside the
 * call that produced it (dtls_start, dtls_handle_datagram, dtls_handle_timeout, dtls_send_app,
 * dtls_close). One callback call is one UDP datagram of at most `mtu` bytes (default 1200): a
 * handshake flight is packed into as few datagrams as fit (one for each flight of a WebRTC
 * handshake with P-256 certificates) and handshake messages larger than the MTU are fragmented by
 * OpenSSL; path-MTU discovery is off. OpenSSL 3.0 resends a flight one message per datagram.
 * There are no internal queues (so nothing to bound): an output datagram exists only for the
 * duration of the send callback.
 *
 * Roles (RFC 8842): a=setup:active -> DTLS_ROLE_CLIENT, a=setup:passive -> DTLS_ROLE_SERVER.
 * The peer's certificate is accepted if and only if its digest equals the a=fingerprint from the
 * peer's SDP (RFC 8827 §6.5); self-signed certificates are the norm and no CA is consulted. A
 * mismatch fails the handshake (fatal bad_certificate alert), the state goes to FAILED and
 * dtls_error() says "peer certificate does not match a=fingerprint".
 *
 * SRTP profiles (use_srtp): SRTP_AEAD_AES_128_GCM preferred, then SRTP_AES128_CM_SHA1_80. After
 * the handshake the keying material is exported with label "EXTRACTOR-dtls_srtp" and split per
 * RFC 5764 §4.2 into local (what we protect with) and remote (what we unprotect with) keys.
 *
 * Retransmission timer and its clock: OpenSSL 3.0 keeps the DTLS timer on its own wall clock
 * (gettimeofday) and has no way to be driven by a virtual `now`. So this module does not take a
 * `now`: it exposes the delay until the next retransmission (dtls_timeout_ms, already rounded up
 * to whole ms) and the event loop arms a one-shot timer for that delay and then calls
 * dtls_handle_timeout. The durations themselves are ours (DTLS_set_timer_cb): initial_timeout_ms,
 * doubling up to max_timeout_ms, failing the handshake after max_retransmits timeouts. The
 * defaults (400 ms, 3.2 s cap, 10 tries) are shorter than RFC 6347's 1 s / 60 s suggestion: the
 * handshake runs right after ICE proved the path, and a dead call should fail in seconds.
 * Note: OpenSSL treats a timer with less than 15 ms left as already expired, and also checks the
 * timer whenever a datagram arrives; both are harmless with the default durations.
 *
 * Received records: every datagram is split into records and each record must pass the rules of
 * sfu/dtls_record.h for the endpoint's current state before OpenSSL sees it, one record at a time;
 * the others are dropped and reported through the `dropped` callback with their reason (RFC 6347
 * §4.1.2.7: invalid records are silently discarded). OpenSSL itself drops records that do not
 * decrypt or that replay a sequence number; after the handshake a record that yields nothing (no
 * application data, no alert, no answer) is reported as DTLS_DROP_AUTH. So garbage, truncated, replayed and forged records never
 * end an association; only a real alert, a failed handshake or close_notify do. Like any DTLS 1.2
 * stack, a well-formed forged handshake message in epoch 0, or a forged plaintext fatal alert,
 * from an on-path attacker can still abort a handshake that is under way. ICE restart with new
 * fingerprints needs a new dtls_t (an old association ignores a fresh ClientHello).
 *
 * States: NEW -> CONNECTING (dtls_start) -> CONNECTED | FAILED | CLOSED; CONNECTED -> CLOSED
 * (dtls_close, or close_notify from the peer) | FAILED. The state callback runs on each change.
 *
 * Threading: a dtls_ctx_t is immutable after dtls_ctx_new and can be shared by threads; a dtls_t
 * belongs to one thread. Callbacks must not call dtls_free on the object that invoked them
 * (defer it); calling dtls_send_app / dtls_close from the app_data or state callback is allowed.
 */
#ifndef VM_DTLS_H
#define VM_DTLS_H

#include <stddef.h>
#include <stdint.h>

#include "sfu/cert.h"
#include "sfu/dtls_record.h"

/* RFC 5764 / IANA DTLS-SRTP protection profile ids, as found in dtls_srtp_keys_t.profile. */
#define DTLS_SRTP_AES128_CM_SHA1_80 0x0001
#define DTLS_SRTP_AEAD_AES_128_GCM 0x0007

/* Bits for dtls_config_t.srtp_profiles (0 = both, GCM preferred). */
#define DTLS_ALLOW_AEAD_AES_128_GCM 0x1u
#define DTLS_ALLOW_AES128_CM_SHA1_80 0x2u

#define DTLS_DEFAULT_MTU 1200
#define DTLS_DEFAULT_INITIAL_TIMEOUT_MS 400
#define DTLS_DEFAULT_MAX_TIMEOUT_MS 3200
#define DTLS_DEFAULT_MAX_RETRANSMITS 10 /* 0.4+0.8+1.6+3.2*7 s = 25 s before giving up */

#define DTLS_SRTP_MAX_KEY_LEN 16
#define DTLS_SRTP_MAX_SALT_LEN 14

typedef enum dtls_role { DTLS_ROLE_CLIENT = 1, DTLS_ROLE_SERVER = 2 } dtls_role_t;

typedef enum dtls_state {
    DTLS_STATE_NEW = 0,
    DTLS_STATE_CONNECTING,
    DTLS_STATE_CONNECTED,
    DTLS_STATE_FAILED,
    DTLS_STATE_CLOSED,
} dtls_state_t;

/* SRTP master keys and salts from the handshake. local_* protect what we send, remote_* unprotect
 * what we receive. Lengths follow the profile: key 16, salt 14 (CM_SHA1_80) or 12 (AEAD GCM). */
typedef struct dtls_srtp_keys {
    uint16_t profile; /* DTLS_SRTP_AES128_CM_SHA1_80 or DTLS_SRTP_AEAD_AES_128_GCM */
    size_t key_len;
    size_t salt_len;
    uint8_t local_key[DTLS_SRTP_MAX_KEY_LEN];
    uint8_t local_salt[DTLS_SRTP_MAX_SALT_LEN];
    uint8_t remote_key[DTLS_SRTP_MAX_KEY_LEN];
    uint8_t remote_salt[DTLS_SRTP_MAX_SALT_LEN];
} dtls_srtp_keys_t;

typedef struct dtls_callbacks {
    /* Required. One datagram to send; buf is valid only during the call. */
    void (*send)(void *user, const uint8_t *buf, size_t len);
    /* Optional. Called after each state change; dtls_error() explains FAILED. */
    void (*state)(void *user, dtls_state_t state);
    /* Optional. One decrypted application-data record (e.g. an SCTP packet). */
    void (*app_data)(void *user, const uint8_t *buf, size_t len);
    void *user;
    /* Optional. One received record (or unreadable rest of a datagram) was dropped, and why. */
    void (*dropped)(void *user, dtls_drop_reason_t reason);
} dtls_callbacks_t;

typedef struct dtls_config {
    dtls_role_t role;
    /* Expected peer fingerprint (copied), or NULL to set it later with
     * dtls_set_remote_fingerprint before the peer's certificate arrives. */
    const cert_fingerprint_t *remote_fingerprint;
    unsigned srtp_profiles;      /* DTLS_ALLOW_* bits; 0 = both */
    unsigned mtu;                /* datagram payload limit; 0 = DTLS_DEFAULT_MTU; >= 256 */
    unsigned initial_timeout_ms; /* 0 = DTLS_DEFAULT_INITIAL_TIMEOUT_MS */
    unsigned max_timeout_ms;     /* 0 = DTLS_DEFAULT_MAX_TIMEOUT_MS */
    unsigned max_retransmits;    /* 0 = DTLS_DEFAULT_MAX_RETRANSMITS */
} dtls_config_t;

typedef struct dtls_ctx dtls_ctx_t;
typedef struct dtls dtls_t;

/* Builds the shared OpenSSL context (DTLS 1.2 only, ECDHE + AEAD suites, no tickets, no
 * renegotiation, fingerprint-only peer verification) for our identity `cert`. The context takes
 * its own references to the key and certificate; cert may be freed afterwards. NULL on failure. */
dtls_ctx_t *dtls_ctx_new(const cert_t *cert);
void dtls_ctx_free(dtls_ctx_t *ctx);

/* Creates an endpoint in state NEW. ctx must outlive it (OpenSSL keeps a reference, so freeing
 * ctx early is safe but pointless). cfg and cb are copied. NULL on bad arguments or failure. */
dtls_t *dtls_new(dtls_ctx_t *ctx, const dtls_config_t *cfg, const dtls_callbacks_t *cb);
void dtls_free(dtls_t *d);

/* Sets or replaces the expected peer fingerprint (copied). Valid until the peer's certificate
 * has been checked. Returns 0 or -EINVAL. */
int dtls_set_remote_fingerprint(dtls_t *d, const cert_fingerprint_t *fp);

/* NEW -> CONNECTING. A client sends its ClientHello (through `send`); a server waits. Call it
 * once ICE can carry datagrams. Returns 0, -EALREADY if already started, -EPROTO on failure. */
int dtls_start(dtls_t *d);

/* Feeds one received datagram (first byte 20..63 per RFC 7983). The first admitted record in
 * state NEW starts the endpoint. Records that cannot be used are dropped (see above).
 * Returns 0; -EINVAL if it is not a DTLS datagram (empty, or a first byte outside 20..63);
 * -ENOTCONN in FAILED/CLOSED (dropped); -EPROTO if this datagram made the handshake or connection
 * fail (state is now FAILED: a fatal alert from the peer, or the handshake itself failed). */
int dtls_handle_datagram(dtls_t *d, const uint8_t *buf, size_t len);

/* Milliseconds until dtls_handle_timeout should run (0 = now), or -1 when no timer is running. */
int dtls_timeout_ms(dtls_t *d);

/* Retransmits the last flight if its timer has expired (on OpenSSL's clock; early calls are
 * no-ops). Returns 1 if it retransmitted, 0 if nothing was due, -ETIMEDOUT when the handshake
 * gave up (state FAILED). */
int dtls_handle_timeout(dtls_t *d);

/* Sends one application-data record (one datagram). Keep len <= dtls_app_mtu() to avoid IP
 * fragmentation. Returns len, -ENOTCONN if not CONNECTED, -EMSGSIZE if len > 16384, -EIO. */
int dtls_send_app(dtls_t *d, const uint8_t *buf, size_t len);

/* Largest application payload that fits one datagram under the MTU (0 before CONNECTED). */
size_t dtls_app_mtu(dtls_t *d);

/* Sends close_notify if CONNECTED, then goes to CLOSED (from any state but FAILED/CLOSED).
 * Returns 0, or -ENOTCONN if already FAILED/CLOSED. */
int dtls_close(dtls_t *d);

dtls_state_t dtls_state(const dtls_t *d);
const char *dtls_state_name(dtls_state_t state);
dtls_role_t dtls_role(const dtls_t *d);
/* Why the endpoint FAILED (or "" if it did not). Valid until the next call on d. */
const char *dtls_error(const dtls_t *d);

/* Copies the SRTP keys into out. Returns 0; -ENOTCONN before CONNECTED; -ENOENT if the peer did
 * not negotiate use_srtp (a data-channel-only connection). */
int dtls_get_srtp_keys(const dtls_t *d, dtls_srtp_keys_t *out);

#endif
