/* cert.c - the SFU's ECDSA P-256 key, its self-signed certificate, and SDP fingerprints.
 *
 * Design: the key and certificate are made once at start with OpenSSL 3 (EVP_EC_gen, X509_sign)
 * and never change; the SHA-256 fingerprint is computed once and kept both as bytes and as SDP
 * text. Fingerprint parsing is pure string code (no OpenSSL) so it can be tested and fuzzed alone.
 * Hash names follow the IANA "Hash Function Textual Names" registry used by RFC 8122.
 */
#include "sfu/cert.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#define CERT_CN "videomeet"
#define CERT_DAYS_BACK 30
#define CERT_DAYS_AHEAD 365

struct cert {
    EVP_PKEY *pkey;
    X509 *x509;
    cert_fingerprint_t fp;
    char fp_text[CERT_FP_TEXT_MAX];
};

/* RFC 8122 hash names we accept, with their OpenSSL digest and length. */
static const struct {
    const char *name;
    const char *ossl; /* OpenSSL digest name */
    size_t len;
} hashes[] = {
    {"sha-1", "SHA1", 20},     {"sha-224", "SHA224", 28}, {"sha-256", "SHA256", 32},
    {"sha-384", "SHA384", 48}, {"sha-512", "SHA512", 64},
};

static int hash_index(const char *name, size_t name_len)
{
    for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++) {
        if (strlen(hashes[i].name) == name_len && strncasecmp(hashes[i].name, name, name_len) == 0)
            return (int)i;
    }
    return -1;
}

/* A random positive, non-zero 64-bit serial number (RFC 5280 §4.1.2.2: at most 20 octets). */
static int set_random_serial(X509 *x)
{
    unsigned char raw[8];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -1;
    raw[0] &= 0x7f;
    raw[0] |= 0x01; /* never zero, never negative */
    BIGNUM *bn = BN_bin2bn(raw, sizeof(raw), NULL);
    if (bn == NULL)
        return -1;
    ASN1_INTEGER *serial = BN_to_ASN1_INTEGER(bn, NULL);
    BN_free(bn);
    if (serial == NULL)
        return -1;
    int ok = X509_set_serialNumber(x, serial);
    ASN1_INTEGER_free(serial);
    return ok == 1 ? 0 : -1;
}

static X509 *make_self_signed(EVP_PKEY *pkey)
{
    X509 *x = X509_new();
    if (x == NULL)
        return NULL;
    X509_NAME *name = X509_get_subject_name(x);
    int ok = X509_set_version(x, 2) == 1 /* v3 */
             && set_random_serial(x) == 0
             && X509_gmtime_adj(X509_getm_notBefore(x), -(long)CERT_DAYS_BACK * 24 * 3600) != NULL
             && X509_gmtime_adj(X509_getm_notAfter(x), (long)CERT_DAYS_AHEAD * 24 * 3600) != NULL
             && X509_set_pubkey(x, pkey) == 1
             && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)CERT_CN,
                                           -1, -1, 0) == 1
             && X509_set_issuer_name(x, name) == 1
             && X509_sign(x, pkey, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

cert_t *cert_new(void)
{
    cert_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->pkey = EVP_EC_gen("P-256");
    if (c->pkey == NULL)
        goto fail;
    c->x509 = make_self_signed(c->pkey);
    if (c->x509 == NULL)
        goto fail;
    if (cert_fingerprint_of(c->x509, "sha-256", &c->fp) != 0)
        goto fail;
    if (cert_fingerprint_format(&c->fp, c->fp_text, sizeof(c->fp_text)) < 0)
        goto fail;
    return c;
fail:
    cert_free(c);
    return NULL;
}

void cert_free(cert_t *c)
{
    if (c == NULL)
        return;
    X509_free(c->x509);
    EVP_PKEY_free(c->pkey);
    OPENSSL_cleanse(c, sizeof(*c));
    free(c);
}

const cert_fingerprint_t *cert_fingerprint(const cert_t *c)
{
    return &c->fp;
}

const char *cert_fingerprint_text(const cert_t *c)
{
    return c->fp_text;
}

struct x509_st *cert_x509(const cert_t *c)
{
    return c->x509;
}

struct evp_pkey_st *cert_pkey(const cert_t *c)
{
    return c->pkey;
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Parses "AB:CD:..." up to the end of the string or trailing white space. */
static int parse_hex_bytes(const char *p, cert_fingerprint_t *out)
{
    size_t n = 0;
    for (;;) {
        int hi = hex_value(p[0]);
        int lo = hi < 0 ? -1 : hex_value(p[1]);
        if (lo < 0 || n == CERT_FP_MAX_BYTES)
            return -EINVAL;
        out->bytes[n++] = (uint8_t)(hi << 4 | lo);
        p += 2;
        if (*p != ':')
            break;
        p++;
    }
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    if (*p != '\0')
        return -EINVAL;
    out->len = n;
    return 0;
}

int cert_fingerprint_parse(const char *sdp_value, cert_fingerprint_t *out)
{
    if (out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (sdp_value == NULL)
        return -EINVAL;
    const char *sp = sdp_value;
    while (*sp != '\0' && *sp != ' ' && *sp != '\t')
        sp++;
    int h = hash_index(sdp_value, (size_t)(sp - sdp_value));
    if (h < 0 || *sp == '\0')
        goto invalid;
    if (parse_hex_bytes(sp + 1, out) != 0 || out->len != hashes[h].len)
        goto invalid;
    memcpy(out->hash, hashes[h].name, strlen(hashes[h].name) + 1);
    return 0;
invalid:
    memset(out, 0, sizeof(*out));
    return -EINVAL;
}

int cert_fingerprint_format(const cert_fingerprint_t *fp, char *buf, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    if (fp == NULL || buf == NULL || fp->len == 0 || fp->len > CERT_FP_MAX_BYTES)
        return -EINVAL;
    if (cap < fp->len * 3)
        return -ENOSPC;
    size_t o = 0;
    for (size_t i = 0; i < fp->len; i++) {
        if (i > 0)
            buf[o++] = ':';
        buf[o++] = hex[fp->bytes[i] >> 4];
        buf[o++] = hex[fp->bytes[i] & 0x0f];
    }
    buf[o] = '\0';
    return (int)o;
}

int cert_fingerprint_of(struct x509_st *x509, const char *hash, cert_fingerprint_t *out)
{
    if (x509 == NULL || hash == NULL || out == NULL)
        return -EINVAL;
    int h = hash_index(hash, strlen(hash));
    if (h < 0)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    EVP_MD *md = EVP_MD_fetch(NULL, hashes[h].ossl, NULL);
    if (md == NULL)
        return -EIO;
    unsigned int len = 0;
    int ok = X509_digest(x509, md, out->bytes, &len);
    EVP_MD_free(md);
    if (ok != 1 || len != hashes[h].len)
        return -EIO;
    out->len = len;
    memcpy(out->hash, hashes[h].name, strlen(hashes[h].name) + 1);
    return 0;
}

bool cert_fingerprint_matches(const cert_fingerprint_t *expected, struct x509_st *x509)
{
    if (expected == NULL || expected->len == 0)
        return false;
    cert_fingerprint_t got;
    if (cert_fingerprint_of(x509, expected->hash, &got) != 0 || got.len != expected->len)
        return false;
    return CRYPTO_memcmp(got.bytes, expected->bytes, got.len) == 0;
}
