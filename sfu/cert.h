/* cert.h - the SFU's DTLS identity (key + self-signed certificate) and SDP fingerprints.
 *
 * WebRTC authenticates DTLS peers by the hash of their certificate carried in the SDP
 * (a=fingerprint, RFC 8122 / RFC 8827), not by a CA. So the server makes one ECDSA P-256 key and
 * one self-signed X.509 certificate when it starts (cert_new), publishes its SHA-256 fingerprint
 * in every SDP it sends, and checks each peer's certificate against the fingerprint from the
 * peer's SDP (cert_fingerprint_matches, used by sfu/dtls.c).
 *
 * Threading: a cert_t is immutable after cert_new and may be shared by every worker thread.
 * cert_fingerprint_t is a plain value (no pointers), safe to copy.
 */
#ifndef VM_CERT_H
#define VM_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct x509_st;     /* OpenSSL X509 */
struct evp_pkey_st; /* OpenSSL EVP_PKEY */

#define CERT_FP_MAX_BYTES 64       /* sha-512 */
#define CERT_FP_HASH_MAX 8         /* "sha-512" + NUL */
/* "AB:" per byte; the SDP text of a SHA-256 fingerprint is 95 characters. */
#define CERT_FP_TEXT_MAX (CERT_FP_MAX_BYTES * 3)

/* A certificate fingerprint as in SDP "a=fingerprint:<hash> <hex>". */
typedef struct cert_fingerprint {
    char hash[CERT_FP_HASH_MAX];     /* lower-case RFC 8122 name: sha-1, sha-224, sha-256, sha-384, sha-512 */
    uint8_t bytes[CERT_FP_MAX_BYTES];
    size_t len;                      /* digest length in bytes (32 for sha-256) */
} cert_fingerprint_t;

typedef struct cert cert_t;

/* Makes a fresh ECDSA P-256 key and a self-signed certificate (CN "videomeet", random 64-bit
 * serial, valid from 30 days ago to 365 days ahead, signed with SHA-256). Returns NULL when
 * OpenSSL fails. The caller owns the result (cert_free). */
cert_t *cert_new(void);
void cert_free(cert_t *c);

/* The SHA-256 fingerprint of the certificate. Pointers stay valid until cert_free. */
const cert_fingerprint_t *cert_fingerprint(const cert_t *c);
/* The SDP text form "AB:CD:..." (upper-case hex, colon separated, no hash name). */
const char *cert_fingerprint_text(const cert_t *c);

/* Borrowed OpenSSL objects for building an SSL_CTX (SSL_CTX_use_* takes its own references). */
struct x509_st *cert_x509(const cert_t *c);
struct evp_pkey_st *cert_pkey(const cert_t *c);

/* Parses the value of an SDP fingerprint attribute, "sha-256 AB:CD:...": hash name
 * (case-insensitive) then one space or tab, then hex bytes separated by ':' (either case),
 * optionally followed by trailing white space. The byte count must match the hash. md2/md5 and
 * unknown hashes are refused. Returns 0, or -EINVAL (out is then zeroed). */
int cert_fingerprint_parse(const char *sdp_value, cert_fingerprint_t *out);

/* Writes "AB:CD:..." for fp into buf (cap bytes, NUL-terminated). Returns the text length, or
 * -ENOSPC when buf is too small, -EINVAL for an empty fingerprint. */
int cert_fingerprint_format(const cert_fingerprint_t *fp, char *buf, size_t cap);

/* Computes the fingerprint of an X509 certificate with the named hash (RFC 8122 name) into out.
 * Returns 0, or -EINVAL for an unknown hash, -EIO when OpenSSL fails. */
int cert_fingerprint_of(struct x509_st *x509, const char *hash, cert_fingerprint_t *out);

/* True when x509's digest under expected->hash equals expected->bytes (constant time compare). */
bool cert_fingerprint_matches(const cert_fingerprint_t *expected, struct x509_st *x509);

#endif
