/* srtp_session.c - SRTP/SRTCP session pair on libsrtp2 (see srtp_session.h for the contract).
 *
 * Design: two srtp_t per peer connection, one per direction, because libsrtp's wildcard policies
 * (ssrc_any_inbound / ssrc_any_outbound) each cover one direction and each direction has its own
 * master key. The policies are built once from the RFC 5764 profile id with libsrtp's
 * srtp_crypto_policy_set_from_profile_* helpers. The packet functions only check lengths, convert
 * size_t <-> int for libsrtp and map its status codes to negative errno values.
 */
#include "sfu/srtp_session.h"

#include <arpa/inet.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <srtp2/srtp.h>

#define RTP_MIN_HEADER 12
#define RTCP_MIN_HEADER 8

struct srtp_session {
    srtp_t in;
    srtp_t out;
    uint16_t profile;
    size_t rtp_overhead;
    size_t rtcp_overhead;
    /* AEAD_AES_128_GCM outbound RTP on OpenSSL (srtp_session_protect_rtp_roc): the cipher context
     * holds the session key; gcm_salt is the 12-byte session salt. */
    EVP_CIPHER_CTX *gcm;
    uint8_t gcm_salt[12];
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t lib_status = srtp_err_status_init_fail;

static void lib_init(void)
{
    lib_status = srtp_init();
}

int srtp_session_library_init(void)
{
    pthread_once(&lib_once, lib_init);
    return lib_status == srtp_err_status_ok ? 0 : -EIO;
}

static int map_status(srtp_err_status_t st)
{
    switch (st) {
    case srtp_err_status_ok:
        return 0;
    case srtp_err_status_auth_fail:
        return SRTP_SESSION_ERR_AUTH;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
        return SRTP_SESSION_ERR_REPLAY;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err:
        return -EINVAL;
    default:
        return -EIO;
    }
}

/* One direction: key_salt is master key || master salt, as libsrtp wants it. */
static srtp_t make_session(srtp_profile_t prof, int inbound, unsigned char *key_salt)
{
    srtp_policy_t p;
    memset(&p, 0, sizeof(p));
    if (srtp_crypto_policy_set_from_profile_for_rtp(&p.rtp, prof) != srtp_err_status_ok
        || srtp_crypto_policy_set_from_profile_for_rtcp(&p.rtcp, prof) != srtp_err_status_ok)
        return NULL;
    p.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    p.key = key_salt;
    p.window_size = SRTP_SESSION_REPLAY_WINDOW;
    p.allow_repeat_tx = inbound ? 0 : 1;
    p.next = NULL;
    srtp_t s = NULL;
    if (srtp_create(&s, &p) != srtp_err_status_ok)
        return NULL;
    return s;
}

/* RFC 3711 4.3.1 key derivation with the AES-CM PRF (also used by AEAD GCM, RFC 7714 §11), for
 * key derivation rate 0: out = first out_len bytes of the AES-CTR keystream under the master key,
 * starting at IV = (key_id XOR master_salt) * 2^16, key_id = label || 48 zero bits. A 12-byte GCM
 * salt is zero-padded on the right to 14 bytes first, as libsrtp (and so every browser) does.
 * Returns 0 or -EIO. */
static int srtp_kdf(const uint8_t key[16], const uint8_t *salt, size_t salt_len, uint8_t label, uint8_t *out,
                    size_t out_len)
{
    uint8_t iv[16] = {0};
    memcpy(iv, salt, salt_len);
    iv[7] ^= label; /* the label is the 7th byte from the right of the 14-byte x */
    memset(out, 0, out_len);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, ok = c && EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, key, iv) &&
                    EVP_EncryptUpdate(c, out, &n, out, (int)out_len);
    EVP_CIPHER_CTX_free(c);
    return ok && n == (int)out_len ? 0 : -EIO;
}

/* Prepares the OpenSSL GCM context for outbound RTP from the local master key and salt. */
static int gcm_init(srtp_session_t *s, const uint8_t *key, const uint8_t *salt)
{
    uint8_t session_key[16];
    if (srtp_kdf(key, salt, 12, 0x00, session_key, sizeof(session_key)) < 0 ||
        srtp_kdf(key, salt, 12, 0x02, s->gcm_salt, sizeof(s->gcm_salt)) < 0)
        return -EIO;
    s->gcm = EVP_CIPHER_CTX_new();
    int ok = s->gcm && EVP_EncryptInit_ex(s->gcm, EVP_aes_128_gcm(), NULL, NULL, NULL) &&
             EVP_CIPHER_CTX_ctrl(s->gcm, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) &&
             EVP_EncryptInit_ex(s->gcm, NULL, NULL, session_key, NULL);
    explicit_bzero(session_key, sizeof(session_key));
    return ok ? 0 : -EIO;
}

srtp_session_t *srtp_session_new(uint16_t profile, const uint8_t *local_key, const uint8_t *local_salt,
                                 const uint8_t *remote_key, const uint8_t *remote_salt)
{
    if (local_key == NULL || local_salt == NULL || remote_key == NULL || remote_salt == NULL)
        return NULL;
    srtp_profile_t prof;
    size_t salt_len, tag_len;
    if (profile == SRTP_SESSION_AES128_CM_SHA1_80) {
        prof = srtp_profile_aes128_cm_sha1_80;
        salt_len = 14;
        tag_len = 10;
    } else if (profile == SRTP_SESSION_AEAD_AES_128_GCM) {
        prof = srtp_profile_aead_aes_128_gcm;
        salt_len = 12;
        tag_len = 16;
    } else {
        return NULL;
    }
    if (srtp_session_library_init() != 0)
        return NULL;
    srtp_session_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->profile = profile;
    s->rtp_overhead = tag_len;
    s->rtcp_overhead = 4 + tag_len;
    unsigned char ks[16 + 14];
    memcpy(ks, local_key, 16);
    memcpy(ks + 16, local_salt, salt_len);
    s->out = make_session(prof, 0, ks);
    memcpy(ks, remote_key, 16);
    memcpy(ks + 16, remote_salt, salt_len);
    s->in = make_session(prof, 1, ks);
    explicit_bzero(ks, sizeof(ks));
    if (profile == SRTP_SESSION_AEAD_AES_128_GCM && gcm_init(s, local_key, local_salt) < 0) {
        srtp_session_free(s);
        return NULL;
    }
    if (s->out == NULL || s->in == NULL) {
        srtp_session_free(s);
        return NULL;
    }
    return s;
}

void srtp_session_free(srtp_session_t *s)
{
    if (s == NULL)
        return;
    if (s->in != NULL)
        srtp_dealloc(s->in);
    if (s->out != NULL)
        srtp_dealloc(s->out);
    EVP_CIPHER_CTX_free(s->gcm);
    free(s);
}

uint16_t srtp_session_profile(const srtp_session_t *s)
{
    return s->profile;
}

size_t srtp_session_rtp_overhead(const srtp_session_t *s)
{
    return s->rtp_overhead;
}

size_t srtp_session_rtcp_overhead(const srtp_session_t *s)
{
    return s->rtcp_overhead;
}

/* ---- per packet: no allocation, no lock ------------------------------------------------------ */

int srtp_session_protect_rtp(srtp_session_t *s, uint8_t *buf, size_t len, size_t cap)
{
    if (s == NULL || buf == NULL || len < RTP_MIN_HEADER || len > INT_MAX / 2)
        return -EINVAL;
    if (cap < len || cap - len < s->rtp_overhead)
        return -ENOSPC;
    int n = (int)len;
    int r = map_status(srtp_protect(s->out, buf, &n));
    return r < 0 ? r : n;
}

/* RFC 7714 AEAD_AES_128_GCM on OpenSSL: IV = (0x0000 || SSRC || ROC || SEQ) XOR salt, the RTP header
 * (with CSRCs and extensions) is the associated data, the payload is encrypted in place and the
 * 16-byte tag appended. */
static int gcm_protect(srtp_session_t *s, uint8_t *buf, size_t len, uint32_t roc)
{
    size_t hdr = RTP_MIN_HEADER + 4u * (buf[0] & 0x0f);
    if ((buf[0] & 0x10) && hdr + 4 <= len)
        hdr += 4 + 4u * (((size_t)buf[hdr + 2] << 8) | buf[hdr + 3]);
    if (hdr > len)
        return -EINVAL;
    uint8_t iv[12] = {0};
    memcpy(iv + 2, buf + 8, 4); /* SSRC */
    iv[6] = (uint8_t)(roc >> 24);
    iv[7] = (uint8_t)(roc >> 16);
    iv[8] = (uint8_t)(roc >> 8);
    iv[9] = (uint8_t)roc;
    memcpy(iv + 10, buf + 2, 2); /* sequence number */
    for (int i = 0; i < 12; i++)
        iv[i] ^= s->gcm_salt[i];
    int n;
    if (!EVP_EncryptInit_ex(s->gcm, NULL, NULL, NULL, iv) || !EVP_EncryptUpdate(s->gcm, NULL, &n, buf, (int)hdr) ||
        !EVP_EncryptUpdate(s->gcm, buf + hdr, &n, buf + hdr, (int)(len - hdr)) ||
        !EVP_EncryptFinal_ex(s->gcm, buf + len, &n) ||
        !EVP_CIPHER_CTX_ctrl(s->gcm, EVP_CTRL_GCM_GET_TAG, 16, buf + len))
        return -EIO;
    return (int)len + 16;
}

int srtp_session_protect_rtp_roc(srtp_session_t *s, uint8_t *buf, size_t len, size_t cap, uint32_t roc)
{
    if (s == NULL || s->gcm == NULL)
        return srtp_session_protect_rtp(s, buf, len, cap);
    if (buf == NULL || len < RTP_MIN_HEADER || len > INT_MAX / 2)
        return -EINVAL;
    if (cap < len || cap - len < s->rtp_overhead)
        return -ENOSPC;
    return gcm_protect(s, buf, len, roc);
}

int srtp_session_protect_rtcp(srtp_session_t *s, uint8_t *buf, size_t len, size_t cap)
{
    if (s == NULL || buf == NULL || len < RTCP_MIN_HEADER || len > INT_MAX / 2)
        return -EINVAL;
    if (cap < len || cap - len < s->rtcp_overhead)
        return -ENOSPC;
    int n = (int)len;
    int r = map_status(srtp_protect_rtcp(s->out, buf, &n));
    return r < 0 ? r : n;
}

int srtp_session_unprotect_rtp(srtp_session_t *s, uint8_t *buf, size_t len)
{
    if (s == NULL || buf == NULL || len < RTP_MIN_HEADER + s->rtp_overhead || len > INT_MAX / 2)
        return -EINVAL;
    int n = (int)len;
    int r = map_status(srtp_unprotect(s->in, buf, &n));
    return r < 0 ? r : n;
}

int srtp_session_unprotect_rtcp(srtp_session_t *s, uint8_t *buf, size_t len)
{
    if (s == NULL || buf == NULL || len < RTCP_MIN_HEADER + s->rtcp_overhead || len > INT_MAX / 2)
        return -EINVAL;
    int n = (int)len;
    int r = map_status(srtp_unprotect_rtcp(s->in, buf, &n));
    return r < 0 ? r : n;
}

int srtp_session_remove_inbound_ssrc(srtp_session_t *s, uint32_t ssrc)
{
    if (s == NULL)
        return -EINVAL;
    return srtp_remove_stream(s->in, htonl(ssrc)) == srtp_err_status_ok ? 0 : -ENOENT;
}

int srtp_session_remove_outbound_ssrc(srtp_session_t *s, uint32_t ssrc)
{
    if (s == NULL)
        return -EINVAL;
    return srtp_remove_stream(s->out, htonl(ssrc)) == srtp_err_status_ok ? 0 : -ENOENT;
}
