/* dtls_record.h - which received DTLS 1.2 records an endpoint may hand to its TLS library.
 *
 * Pure code: no I/O, no clock, no OpenSSL. sfu/dtls.c runs every received datagram through
 * dtls_record_next() before OpenSSL sees it, and passes on only the records admitted here.
 *
 * Why: RFC 6347 §4.1.2.7 says invalid records should be silently discarded, and OpenSSL 3.0 does
 * so for most of them, but some it treats as fatal and ends the connection: an encrypted record
 * shorter than the cipher's explicit nonce + tag (an "internal error" in the AEAD set-up), a
 * ChangeCipherSpec whose byte is not 1, an alert that is not two bytes or has an unknown level,
 * application data or an unknown content type in the clear, a handshake fragment whose offset and
 * length do not fit its message. Anybody who can put a datagram on the browser's 5-tuple could end
 * a call with one of those. So the rules below admit only records that could have come from a real
 * peer at this point of the handshake; the rest are dropped and counted by reason.
 *
 * A record (RFC 6347 §4.1): type(1) version(2) epoch(2) sequence_number(6) length(2) fragment.
 * Admitted are:
 *   - version DTLS 1.0 (0xfeff, first flights) or 1.2 (0xfefd); type 20..23;
 *   - epoch 0 (plaintext) only while the handshake runs (policy.plaintext):
 *       change_cipher_spec: exactly the byte 1;
 *       alert: two bytes, a fatal alert with a defined description, or close_notify;
 *       handshake: one or more fragments, each a 12-byte header (RFC 6347 §4.2.2) of a handshake
 *       type sent in the clear, fragment_offset + fragment_length <= length <= 100 KiB, filling the
 *       record exactly, a non-empty message only in non-empty fragments;
 *       no application data;
 *   - epoch 1 (encrypted) only while the endpoint reads it (policy.encrypted_overhead > 0; dtls.c
 *     sets it once the peer's ChangeCipherSpec has been taken, so that no forged record waits in
 *     OpenSSL's queue for the next epoch): alert,
 *     handshake or application data at least as long as the cipher's nonce + tag and at most
 *     2^14 + 256 bytes (RFC 6347 §4.1, TLSCiphertext);
 *   - no other epoch (we never renegotiate).
 * A record that claims more bytes than the datagram holds ends the datagram (TRUNCATED); the
 * records before it stand.
 *
 * Forged records that pass these rules are left to the TLS library: in epoch 1 it drops what does
 * not decrypt or repeats a sequence number (replay window); in epoch 0 a well-formed forged
 * handshake message from an on-path attacker can still end a handshake, as with any DTLS 1.2 stack.
 */
#ifndef VM_DTLS_RECORD_H
#define VM_DTLS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define DTLS_RECORD_HEADER_LEN 13
#define DTLS_RECORD_MAX_PLAINTEXT 16384                   /* 2^14 */
#define DTLS_RECORD_MAX_CIPHERTEXT (16384 + 256)          /* RFC 6347 §4.1: 2^14 + 2048, AEAD: + 256 */
#define DTLS_HANDSHAKE_HEADER_LEN 12
#define DTLS_HANDSHAKE_MAX_MESSAGE (100 * 1024)           /* OpenSSL's max_cert_list default */

/* Content types (RFC 5246 §6.2.1). */
#define DTLS_CT_CHANGE_CIPHER_SPEC 20
#define DTLS_CT_ALERT 21
#define DTLS_CT_HANDSHAKE 22
#define DTLS_CT_APPLICATION_DATA 23

/* Why a record was dropped; also the label of videomeet_dtls_records_dropped_total. */
typedef enum dtls_drop_reason {
    DTLS_DROP_TRUNCATED = 0, /* shorter than a record header, or claims more than the datagram */
    DTLS_DROP_VERSION,       /* not DTLS 1.0 or 1.2 */
    DTLS_DROP_TYPE,          /* not a content type allowed in its epoch */
    DTLS_DROP_EPOCH,         /* an epoch the endpoint cannot read now */
    DTLS_DROP_LENGTH,        /* too short or too long for its epoch */
    DTLS_DROP_MALFORMED,     /* a plaintext body that does not parse */
    DTLS_DROP_AUTH,          /* did not decrypt, or a replay (found by the TLS library) */
    DTLS_DROP_REASONS
} dtls_drop_reason_t;

/* What the endpoint can read at the moment. */
typedef struct dtls_record_policy {
    int plaintext;               /* epoch 0 records are handshake traffic (handshake running) */
    unsigned encrypted_overhead; /* epoch 1: smallest ciphertext (nonce + tag); 0 = cipher unknown */
} dtls_record_policy_t;

/* One record located in a datagram. */
typedef struct dtls_record {
    uint8_t type;
    uint16_t version;
    uint16_t epoch;
    size_t len;  /* the whole record, header included */
    size_t body; /* length of the fragment */
} dtls_record_t;

/* Looks at the record at buf[0..avail): fills *rec and returns 1 if it is admitted under policy,
 * or returns 0 and sets *reason if not. rec->len is how far to skip in either case, except for
 * DTLS_DROP_TRUNCATED, where nothing of the datagram after this point can be read (rec->len =
 * avail). avail == 0 is not a record (returns -1). */
int dtls_record_next(const uint8_t *buf, size_t avail, const dtls_record_policy_t *policy, dtls_record_t *rec,
                     dtls_drop_reason_t *reason);

/* "truncated", "version", ... for the metrics label. */
const char *dtls_drop_reason_name(dtls_drop_reason_t reason);

#endif
