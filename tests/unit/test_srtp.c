/* test_srtp.c - sfu/srtp_session: protect with one side, unprotect with the peer.
 *
 * Most tests use fixed keys: side A protects with k1/s1 and unprotects with k2/s2, side B the
 * reverse, as two ends of a DTLS-SRTP association would. One test takes the keys from a real
 * in-memory DTLS handshake (sfu/dtls) to check the two modules fit together.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/cert.h"
#include "sfu/dtls.h"
#include "sfu/srtp_session.h"

#include <srtp2/srtp.h>

static const uint8_t k1[16] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                               0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};
static const uint8_t s1[14] = {0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
                               0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e};
static const uint8_t k2[16] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8,
                               0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0};
static const uint8_t s2[14] = {0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
                               0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe};

typedef struct {
    srtp_session_t *a, *b;
} pair_t;

static void make_pair(pair_t *p, uint16_t profile)
{
    p->a = srtp_session_new(profile, k1, s1, k2, s2);
    p->b = srtp_session_new(profile, k2, s2, k1, s1);
    assert_non_null(p->a);
    assert_non_null(p->b);
    assert_int_equal(srtp_session_profile(p->a), profile);
}

static void free_pair(pair_t *p)
{
    srtp_session_free(p->a);
    srtp_session_free(p->b);
}

/* A 12-byte RTP header (V=2, PT 96) followed by payload_len pattern bytes. Returns the length. */
static size_t make_rtp(uint8_t *buf, uint16_t seq, uint32_t ssrc, size_t payload_len)
{
    buf[0] = 0x80;
    buf[1] = 96;
    buf[2] = (uint8_t)(seq >> 8);
    buf[3] = (uint8_t)seq;
    uint32_t ts = (uint32_t)seq * 3000u;
    buf[4] = (uint8_t)(ts >> 24);
    buf[5] = (uint8_t)(ts >> 16);
    buf[6] = (uint8_t)(ts >> 8);
    buf[7] = (uint8_t)ts;
    buf[8] = (uint8_t)(ssrc >> 24);
    buf[9] = (uint8_t)(ssrc >> 16);
    buf[10] = (uint8_t)(ssrc >> 8);
    buf[11] = (uint8_t)ssrc;
    for (size_t i = 0; i < payload_len; i++)
        buf[12 + i] = (uint8_t)(i * 31 + seq);
    return 12 + payload_len;
}

/* An RTCP sender report (PT 200, no report blocks): 28 bytes. */
static size_t make_rtcp_sr(uint8_t *buf, uint32_t ssrc)
{
    memset(buf, 0, 28);
    buf[0] = 0x80;
    buf[1] = 200;
    buf[3] = 6; /* length in 32-bit words minus one */
    buf[4] = (uint8_t)(ssrc >> 24);
    buf[5] = (uint8_t)(ssrc >> 16);
    buf[6] = (uint8_t)(ssrc >> 8);
    buf[7] = (uint8_t)ssrc;
    for (int i = 8; i < 28; i++)
        buf[i] = (uint8_t)(i * 5);
    return 28;
}

static void rtp_round_trip(uint16_t profile, size_t tag_len)
{
    pair_t p;
    make_pair(&p, profile);
    assert_int_equal(srtp_session_rtp_overhead(p.a), tag_len);
    uint8_t plain[1500], buf[1500];
    for (uint16_t seq = 1000; seq < 1010; seq++) {
        size_t len = make_rtp(plain, seq, 0x11223344, 100 + seq % 7);
        memcpy(buf, plain, len);
        int n = srtp_session_protect_rtp(p.a, buf, len, sizeof(buf));
        assert_int_equal(n, (int)(len + tag_len));
        assert_memory_equal(buf, plain, 12);                  /* header stays in clear */
        assert_memory_not_equal(buf + 12, plain + 12, len - 12); /* payload does not */
        int m = srtp_session_unprotect_rtp(p.b, buf, (size_t)n);
        assert_int_equal(m, (int)len);
        assert_memory_equal(buf, plain, len);
    }
    /* and the other direction */
    size_t len = make_rtp(plain, 7, 0x55667788, 60);
    memcpy(buf, plain, len);
    int n = srtp_session_protect_rtp(p.b, buf, len, sizeof(buf));
    assert_int_equal(n, (int)(len + tag_len));
    assert_int_equal(srtp_session_unprotect_rtp(p.a, buf, (size_t)n), (int)len);
    assert_memory_equal(buf, plain, len);
    /* a session cannot read its own output: the directions use different keys */
    len = make_rtp(plain, 8, 0x55667788, 60);
    memcpy(buf, plain, len);
    n = srtp_session_protect_rtp(p.a, buf, len, sizeof(buf));
    assert_int_equal(srtp_session_unprotect_rtp(p.a, buf, (size_t)n), SRTP_SESSION_ERR_AUTH);
    free_pair(&p);
}

static void test_rtp_gcm(void **state)
{
    (void)state;
    rtp_round_trip(SRTP_SESSION_AEAD_AES_128_GCM, 16);
}

static void test_rtp_cm_sha1_80(void **state)
{
    (void)state;
    rtp_round_trip(SRTP_SESSION_AES128_CM_SHA1_80, 10);
}

static void rtcp_round_trip(uint16_t profile, size_t overhead, size_t index_at)
{
    pair_t p;
    make_pair(&p, profile);
    assert_int_equal(srtp_session_rtcp_overhead(p.a), overhead);
    uint8_t plain[64], buf[64];
    for (int i = 0; i < 3; i++) {
        size_t len = make_rtcp_sr(plain, 0xcafe0000u);
        memcpy(buf, plain, len);
        int n = srtp_session_protect_rtcp(p.a, buf, len, sizeof(buf));
        assert_int_equal(n, (int)(len + overhead));
        assert_memory_equal(buf, plain, 8);                 /* first 8 bytes in clear */
        assert_memory_not_equal(buf + 8, plain + 8, len - 8); /* rest encrypted */
        assert_int_equal(buf[len + index_at] & 0x80, 0x80); /* E flag of the SRTCP index */
        assert_int_equal(buf[len + index_at + 3], i + 1);    /* SRTCP index counts from 1 */
        int m = srtp_session_unprotect_rtcp(p.b, buf, (size_t)n);
        assert_int_equal(m, (int)len);
        assert_memory_equal(buf, plain, len);
    }
    free_pair(&p);
}

static void test_rtcp_gcm(void **state)
{
    (void)state;
    rtcp_round_trip(SRTP_SESSION_AEAD_AES_128_GCM, 20, 16); /* RFC 7714: tag, then index */
}

static void test_rtcp_cm_sha1_80(void **state)
{
    (void)state;
    rtcp_round_trip(SRTP_SESSION_AES128_CM_SHA1_80, 14, 0); /* RFC 3711: index, then tag */
}

static void tampering(uint16_t profile)
{
    pair_t p;
    make_pair(&p, profile);
    uint8_t buf[256];
    /* RTP: flipped bit in the tag, then in the payload, then in the header */
    size_t len = make_rtp(buf, 1, 42, 80);
    int n = srtp_session_protect_rtp(p.a, buf, len, sizeof(buf));
    assert_true(n > 0);
    uint8_t good[256];
    memcpy(good, buf, (size_t)n);
    buf[n - 1] ^= 0x01;
    assert_int_equal(srtp_session_unprotect_rtp(p.b, buf, (size_t)n), SRTP_SESSION_ERR_AUTH);
    memcpy(buf, good, (size_t)n);
    buf[20] ^= 0x80;
    assert_int_equal(srtp_session_unprotect_rtp(p.b, buf, (size_t)n), SRTP_SESSION_ERR_AUTH);
    memcpy(buf, good, (size_t)n);
    buf[7] ^= 0x04; /* timestamp */
    assert_int_equal(srtp_session_unprotect_rtp(p.b, buf, (size_t)n), SRTP_SESSION_ERR_AUTH);
    /* the untouched packet still passes: failures did not poison the replay window */
    memcpy(buf, good, (size_t)n);
    assert_int_equal(srtp_session_unprotect_rtp(p.b, buf, (size_t)n), (int)len);

    /* RTCP: flipped bit in the tag */
    len = make_rtcp_sr(buf, 42);
    n = srtp_session_protect_rtcp(p.a, buf, len, sizeof(buf));
    assert_true(n > 0);
    buf[n - 1] ^= 0x10;
    assert_int_equal(srtp_session_unprotect_rtcp(p.b, buf, (size_t)n), SRTP_SESSION_ERR_AUTH);
    free_pair(&p);
}

static void test_tampered_rejected(void **state)
{
    (void)state;
    tampering(SRTP_SESSION_AEAD_AES_128_GCM);
    tampering(SRTP_SESSION_AES128_CM_SHA1_80);
}

static void replay(uint16_t profile)
{
    pair_t p;
    make_pair(&p, profile);
    uint8_t buf[256], copy[256], old[256];
    size_t len = make_rtp(buf, 5, 7, 40);
    int n = srtp_session_protect_rtp(p.a, buf, len, sizeof(buf));
    memcpy(copy, buf, (size_t)n);
    assert_int_equal(srtp_session_unprotect_rtp(p.b, buf, (size_t)n), (int)len);
    assert_int_equal(srtp_session_unprotect_rtp(p.b, copy, (size_t)n), SRTP_SESSION_ERR_REPLAY);

    /* reordering inside the window is fine: send 6..9, deliver 9 first, then 6..8 */
    uint8_t pk[4][256];
    int pn[4];
    for (int i = 0; i < 4; i++) {
        size_t l = make_rtp(pk[i], (uint16_t)(6 + i), 7, 40);
        pn[i] = srtp_session_protect_rtp(p.a, pk[i], l, sizeof(pk[i]));
        assert_true(pn[i] > 0);
    }
    assert_int_equal(srtp_session_unprotect_rtp(p.b, pk[3], (size_t)pn[3]), 52);
    for (int i = 0; i < 3; i++)
        assert_int_equal(srtp_session_unprotect_rtp(p.b, pk[i], (size_t)pn[i]), 52);

    /* a packet more than the replay window behind the newest is refused */
    len = make_rtp(old, 11, 7, 40); /* protected now, delivered too late */
    int old_n = srtp_session_protect_rtp(p.a, old, len, sizeof(old));
    assert_true(old_n > 0);
    for (uint16_t seq = 10; seq < 10 + SRTP_SESSION_REPLAY_WINDOW + 10; seq += 50) {
        size_t l = make_rtp(buf, seq, 7, 40);
        n = srtp_session_protect_rtp(p.a, buf, l, sizeof(buf));
        assert_int_equal(srtp_session_unprotect_rtp(p.b, buf, (size_t)n), (int)l);
    }
    len = make_rtp(buf, 10 + SRTP_SESSION_REPLAY_WINDOW + 20, 7, 40);
    n = srtp_session_protect_rtp(p.a, buf, len, sizeof(buf));
    assert_int_equal(srtp_session_unprotect_rtp(p.b, buf, (size_t)n), (int)len);
    assert_int_equal(srtp_session_unprotect_rtp(p.b, old, (size_t)old_n), SRTP_SESSION_ERR_REPLAY);
    /* nor can the sender protect a sequence number that far back */
    len = make_rtp(buf, 12, 7, 40);
    assert_int_equal(srtp_session_protect_rtp(p.a, buf, len, sizeof(buf)), SRTP_SESSION_ERR_REPLAY);

    /* RTCP replay */
    len = make_rtcp_sr(buf, 7);
    n = srtp_session_protect_rtcp(p.a, buf, len, sizeof(buf));
    memcpy(copy, buf, (size_t)n);
    assert_int_equal(srtp_session_unprotect_rtcp(p.b, buf, (size_t)n), (int)len);
    assert_int_equal(srtp_session_unprotect_rtcp(p.b, copy, (size_t)n), SRTP_SESSION_ERR_REPLAY);
    free_pair(&p);
}

static void test_replay_rejected(void **state)
{
    (void)state;
    replay(SRTP_SESSION_AEAD_AES_128_GCM);
    replay(SRTP_SESSION_AES128_CM_SHA1_80);
}

/* allow_repeat_tx: the sender may protect the same sequence number again (retransmission). */
static void test_repeat_tx_allowed(void **state)
{
    (void)state;
    pair_t p;
    make_pair(&p, SRTP_SESSION_AEAD_AES_128_GCM);
    uint8_t first[256], again[256];
    size_t len = make_rtp(first, 300, 9, 50);
    memcpy(again, first, len);
    int n1 = srtp_session_protect_rtp(p.a, first, len, sizeof(first));
    int n2 = srtp_session_protect_rtp(p.a, again, len, sizeof(again));
    assert_true(n1 > 0);
    assert_int_equal(n2, n1);
    assert_memory_equal(first, again, (size_t)n1); /* same index, same payload: same bytes */
    /* the receiver takes one of them; if the first was lost the retransmission gets through */
    assert_int_equal(srtp_session_unprotect_rtp(p.b, again, (size_t)n2), (int)len);
    free_pair(&p);
}

/* The OpenSSL GCM path (srtp_session_protect_rtp_roc) makes exactly the bytes libsrtp makes, and
 * libsrtp unprotects them across the sequence number wrap (ROC 0 -> 1), with a header extension. */
static void test_gcm_roc_path_matches_libsrtp(void **state)
{
    (void)state;
    pair_t p;
    make_pair(&p, SRTP_SESSION_AEAD_AES_128_GCM);
    /* a second sender with the same keys, protecting through libsrtp, as the reference */
    srtp_session_t *ref = srtp_session_new(SRTP_SESSION_AEAD_AES_128_GCM, k1, s1, k2, s2);
    assert_non_null(ref);
    uint16_t seq = 65530;
    uint32_t roc = 0;
    for (int i = 0; i < 12; i++, seq++) {
        uint8_t plain[300], ours[300], theirs[300];
        size_t len = make_rtp(plain, seq, 0x5eed0001u, 100 + (size_t)i);
        if (i % 2) { /* a one-byte header extension (0xBEDE) with one element */
            memmove(plain + 16, plain + 12, len - 12);
            plain[0] |= 0x10;
            plain[12] = 0xbe, plain[13] = 0xde, plain[14] = 0x00, plain[15] = 0x01;
            memmove(plain + 20, plain + 16, len - 12);
            plain[16] = 0x22, plain[17] = 0xab, plain[18] = 0xcd, plain[19] = 0xef;
            len += 8;
        }
        memcpy(ours, plain, len);
        memcpy(theirs, plain, len);
        int n = srtp_session_protect_rtp_roc(p.a, ours, len, sizeof(ours), roc);
        int m = srtp_session_protect_rtp(ref, theirs, len, sizeof(theirs));
        assert_int_equal(n, (int)len + 16);
        assert_int_equal(m, n);
        assert_memory_equal(ours, theirs, (size_t)n);
        assert_int_equal(srtp_session_unprotect_rtp(p.b, ours, (size_t)n), (int)len);
        assert_memory_equal(ours, plain, len);
        if (seq == 65535)
            roc++;
    }
    /* a wrong ROC gives bytes the receiver rejects */
    uint8_t buf[300];
    size_t len = make_rtp(buf, 20, 0x5eed0001u, 80);
    int n = srtp_session_protect_rtp_roc(p.a, buf, len, sizeof(buf), 7);
    assert_int_equal(srtp_session_unprotect_rtp(p.b, buf, (size_t)n), SRTP_SESSION_ERR_AUTH);
    assert_int_equal(srtp_session_protect_rtp_roc(p.a, buf, len, len + 15, 0), -ENOSPC);
    srtp_session_free(ref);
    free_pair(&p);
}

/* A libsrtp session of its own (not through srtp_session), AEAD_AES_128_GCM, keyed with k1/s1: the
 * reference the SRTCP path on libgcrypt must match. */
static srtp_t libsrtp_gcm(int inbound)
{
    srtp_policy_t pol;
    memset(&pol, 0, sizeof(pol));
    assert_int_equal(srtp_crypto_policy_set_from_profile_for_rtp(&pol.rtp, srtp_profile_aead_aes_128_gcm), 0);
    assert_int_equal(srtp_crypto_policy_set_from_profile_for_rtcp(&pol.rtcp, srtp_profile_aead_aes_128_gcm), 0);
    unsigned char ks[16 + 12];
    memcpy(ks, k1, 16);
    memcpy(ks + 16, s1, 12);
    pol.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    pol.key = ks;
    pol.window_size = SRTP_SESSION_REPLAY_WINDOW;
    srtp_t s = NULL;
    assert_int_equal(srtp_create(&s, &pol), 0);
    return s;
}

/* SRTCP under AEAD_AES_128_GCM (RFC 7714 section 9) on libgcrypt: byte-identical to libsrtp's for
 * the same SSRC and index, decrypted by libsrtp, and it decrypts libsrtp's. More sending SSRCs than
 * its table holds go through libsrtp and still arrive. A compound packet (SR + SDES) of odd size too. */
static void test_gcm_srtcp_matches_libsrtp(void **state)
{
    (void)state;
    assert_int_equal(srtp_session_library_init(), 0);
    srtp_session_t *ours = srtp_session_new(SRTP_SESSION_AEAD_AES_128_GCM, k1, s1, k2, s2);
    srtp_session_t *ours_rx = srtp_session_new(SRTP_SESSION_AEAD_AES_128_GCM, k2, s2, k1, s1);
    srtp_t ref_tx = libsrtp_gcm(0), ref_rx = libsrtp_gcm(1);
    assert_non_null(ours);
    assert_non_null(ours_rx);
    for (uint32_t k = 0; k < 40; k++) { /* 40 sending SSRCs, 3 packets each */
        uint32_t ssrc = 0x51c00000u + k;
        for (int i = 0; i < 3; i++) {
            uint8_t plain[80], a[128], b[128];
            size_t len = make_rtcp_sr(plain, ssrc);
            if (k % 2) { /* append an SDES chunk: SR + SDES(CNAME "vm") = 28 + 16 bytes */
                const uint8_t sdes[16] = {0x81, 202, 0, 3, plain[4], plain[5], plain[6], plain[7], 1, 2, 'v', 'm', 0, 0, 0, 0};
                memcpy(plain + len, sdes, sizeof(sdes));
                len += sizeof(sdes);
            }
            memcpy(a, plain, len);
            memcpy(b, plain, len);
            int n = srtp_session_protect_rtcp(ours, a, len, sizeof(a));
            int m = (int)len;
            assert_int_equal(srtp_protect_rtcp(ref_tx, b, &m), 0);
            assert_int_equal(n, (int)len + 20);
            assert_int_equal(m, n);
            assert_memory_equal(a, b, (size_t)n); /* same index (from 1) and same bytes */
            int r = n;
            assert_int_equal(srtp_unprotect_rtcp(ref_rx, a, &r), 0); /* libsrtp reads ours */
            assert_int_equal(r, (int)len);
            assert_memory_equal(a, plain, len);
            assert_int_equal(srtp_session_unprotect_rtcp(ours_rx, b, (size_t)m), (int)len); /* we read libsrtp's */
            assert_memory_equal(b, plain, len);
        }
    }
    /* what we decrypted once is refused the second time, whoever protected it */
    uint8_t plain[64], buf[64], copy[64];
    size_t len = make_rtcp_sr(plain, 0x51c00001u);
    memcpy(buf, plain, len);
    int m = (int)len;
    assert_int_equal(srtp_protect_rtcp(ref_tx, buf, &m), 0);
    memcpy(copy, buf, (size_t)m);
    assert_int_equal(srtp_session_unprotect_rtcp(ours_rx, buf, (size_t)m), (int)len);
    assert_int_equal(srtp_session_unprotect_rtcp(ours_rx, copy, (size_t)m), SRTP_SESSION_ERR_REPLAY);
    /* a flipped bit in the header, which is only authenticated, is refused */
    memcpy(buf, plain, len);
    m = (int)len;
    assert_int_equal(srtp_protect_rtcp(ref_tx, buf, &m), 0);
    buf[2] ^= 0x01;
    assert_int_equal(srtp_session_unprotect_rtcp(ours_rx, buf, (size_t)m), SRTP_SESSION_ERR_AUTH);
    /* so is one in the trailer's index (part of the associated data; an index not seen yet, so it is
     * the tag, not the replay window, that refuses it) */
    buf[2] ^= 0x01;
    buf[m - 2] ^= 0x10;
    assert_int_equal(srtp_session_unprotect_rtcp(ours_rx, buf, (size_t)m), SRTP_SESSION_ERR_AUTH);
    srtp_dealloc(ref_tx);
    srtp_dealloc(ref_rx);
    srtp_session_free(ours);
    srtp_session_free(ours_rx);
}

/* Full-size packets on the libgcrypt GCM paths: a 1100-byte packet from srtp_session_protect_rtp_roc
 * is byte-identical to libsrtp's; a flipped bit in any of the 16 tag bytes, or a tag cut short, is
 * refused by the libgcrypt unprotect, and no refusal spoils the context (the untouched packet, and the
 * next ones, still pass). */
static void test_gcm_full_size_every_tag_byte(void **state)
{
    (void)state;
    pair_t p;
    make_pair(&p, SRTP_SESSION_AEAD_AES_128_GCM);
    srtp_session_t *ref = srtp_session_new(SRTP_SESSION_AEAD_AES_128_GCM, k1, s1, k2, s2);
    assert_non_null(ref);
    uint8_t plain[1200], ours[1200], theirs[1200], good[1200];
    for (uint16_t seq = 500; seq < 503; seq++) {
        size_t len = make_rtp(plain, seq, 0x0badcafeu, 1088);
        memcpy(ours, plain, len);
        memcpy(theirs, plain, len);
        int n = srtp_session_protect_rtp_roc(p.a, ours, len, sizeof(ours), 0);
        assert_int_equal(n, (int)len + 16);
        assert_int_equal(srtp_session_protect_rtp(ref, theirs, len, sizeof(theirs)), n);
        assert_memory_equal(ours, theirs, (size_t)n);
        memcpy(good, ours, (size_t)n);
        for (size_t i = 0; i < 16; i++) {
            memcpy(ours, good, (size_t)n);
            ours[len + i] ^= (uint8_t)(1u << (i % 8));
            assert_int_equal(srtp_session_unprotect_rtp(p.b, ours, (size_t)n), SRTP_SESSION_ERR_AUTH);
        }
        memcpy(ours, good, (size_t)n);
        assert_int_equal(srtp_session_unprotect_rtp(p.b, ours, (size_t)n - 1), SRTP_SESSION_ERR_AUTH);
        memcpy(ours, good, (size_t)n);
        assert_int_equal(srtp_session_unprotect_rtp(p.b, ours, (size_t)n), (int)len);
        assert_memory_equal(ours, plain, len);
    }
    srtp_session_free(ref);
    free_pair(&p);
}

/* Inbound: reordering across the sequence wrap is accepted once, with the right ROC guessed for
 * each packet; a late duplicate is refused; a packet far behind the window is refused. */
static void test_reorder_across_wrap(void **state)
{
    (void)state;
    pair_t p;
    make_pair(&p, SRTP_SESSION_AEAD_AES_128_GCM);
    static const uint16_t sent[] = {65533, 65534, 65535, 0, 1, 2};
    uint8_t pkt[6][200];
    int n[6];
    size_t plain_len[6];
    for (int i = 0; i < 6; i++) {
        plain_len[i] = make_rtp(pkt[i], sent[i], 0xab0000cdu, 60);
        n[i] = srtp_session_protect_rtp(p.a, pkt[i], plain_len[i], sizeof(pkt[i]));
        assert_true(n[i] > 0);
    }
    static const int order[] = {0, 2, 3, 1, 5, 4}; /* 65533, 65535, 0, 65534 (late), 2, 1 (late) */
    for (int k = 0; k < 6; k++) {
        uint8_t copy[200];
        int i = order[k];
        memcpy(copy, pkt[i], (size_t)n[i]);
        assert_int_equal(srtp_session_unprotect_rtp(p.b, copy, (size_t)n[i]), (int)plain_len[i]);
        assert_int_equal((copy[2] << 8) | copy[3], sent[i]);
    }
    uint8_t copy[200];
    memcpy(copy, pkt[3], (size_t)n[3]);
    assert_int_equal(srtp_session_unprotect_rtp(p.b, copy, (size_t)n[3]), SRTP_SESSION_ERR_REPLAY);
    /* 2000 packets later, seq 2 is far outside the 1024-packet window */
    for (uint16_t seq = 3; seq < 2003; seq++) {
        uint8_t b[200];
        size_t len = make_rtp(b, seq, 0xab0000cdu, 20);
        int m = srtp_session_protect_rtp(p.a, b, len, sizeof(b));
        assert_int_equal(srtp_session_unprotect_rtp(p.b, b, (size_t)m), (int)len);
    }
    memcpy(copy, pkt[5], (size_t)n[5]);
    assert_int_equal(srtp_session_unprotect_rtp(p.b, copy, (size_t)n[5]), SRTP_SESSION_ERR_REPLAY);
    free_pair(&p);
}

static void test_room_and_lengths(void **state)
{
    (void)state;
    pair_t p;
    make_pair(&p, SRTP_SESSION_AEAD_AES_128_GCM);
    size_t len = 12 + 50;
    /* exactly the room needed, on the heap so ASan sees any overrun */
    uint8_t *buf = malloc(len + 16);
    assert_non_null(buf);
    make_rtp(buf, 1, 1, 50);
    assert_int_equal(srtp_session_protect_rtp(p.a, buf, len, len + 15), -ENOSPC);
    assert_int_equal(srtp_session_protect_rtp(p.a, buf, len, len + 16), (int)(len + 16));
    assert_int_equal(srtp_session_unprotect_rtp(p.b, buf, len + 16), (int)len);
    free(buf);
    uint8_t *rbuf = malloc(28 + 20);
    assert_non_null(rbuf);
    make_rtcp_sr(rbuf, 1);
    assert_int_equal(srtp_session_protect_rtcp(p.a, rbuf, 28, 28 + 19), -ENOSPC);
    assert_int_equal(srtp_session_protect_rtcp(p.a, rbuf, 28, 28 + 20), 48);
    assert_int_equal(srtp_session_unprotect_rtcp(p.b, rbuf, 48), 28);
    free(rbuf);

    uint8_t small[64] = {0x80, 96};
    assert_int_equal(srtp_session_protect_rtp(p.a, small, 11, sizeof(small)), -EINVAL);
    assert_int_equal(srtp_session_unprotect_rtp(p.b, small, 20), -EINVAL);
    assert_int_equal(srtp_session_protect_rtcp(p.a, small, 7, sizeof(small)), -EINVAL);
    assert_int_equal(srtp_session_unprotect_rtcp(p.b, small, 20), -EINVAL);
    assert_int_equal(srtp_session_protect_rtp(NULL, small, 20, sizeof(small)), -EINVAL);
    free_pair(&p);
}

static void test_many_ssrcs_and_remove(void **state)
{
    (void)state;
    pair_t p;
    make_pair(&p, SRTP_SESSION_AES128_CM_SHA1_80);
    uint8_t plain[200], buf[200];
    for (uint32_t ssrc = 100; ssrc < 140; ssrc++) {
        for (uint16_t seq = 0; seq < 3; seq++) {
            size_t len = make_rtp(plain, (uint16_t)(seq + ssrc), ssrc, 30);
            memcpy(buf, plain, len);
            int n = srtp_session_protect_rtp(p.a, buf, len, sizeof(buf));
            assert_int_equal(srtp_session_unprotect_rtp(p.b, buf, (size_t)n), (int)len);
            assert_memory_equal(buf, plain, len);
        }
    }
    assert_int_equal(srtp_session_remove_inbound_ssrc(p.b, 120), 0);
    assert_int_equal(srtp_session_remove_inbound_ssrc(p.b, 120), -ENOENT);
    assert_int_equal(srtp_session_remove_outbound_ssrc(p.a, 120), 0);
    assert_int_equal(srtp_session_remove_outbound_ssrc(p.a, 99999), -ENOENT);
    /* a removed SSRC starts over cleanly on both sides */
    size_t len = make_rtp(plain, 5, 120, 30);
    memcpy(buf, plain, len);
    int n = srtp_session_protect_rtp(p.a, buf, len, sizeof(buf));
    assert_int_equal(srtp_session_unprotect_rtp(p.b, buf, (size_t)n), (int)len);
    free_pair(&p);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    assert_int_equal(srtp_session_library_init(), 0);
    assert_null(srtp_session_new(0x0002, k1, s1, k2, s2)); /* CM_SHA1_32: not offered */
    assert_null(srtp_session_new(SRTP_SESSION_AEAD_AES_128_GCM, NULL, s1, k2, s2));
    srtp_session_free(NULL);
    /* wrong keys: authentication fails */
    srtp_session_t *a = srtp_session_new(SRTP_SESSION_AEAD_AES_128_GCM, k1, s1, k2, s2);
    srtp_session_t *c = srtp_session_new(SRTP_SESSION_AEAD_AES_128_GCM, k2, s2, k2, s2);
    assert_non_null(a);
    assert_non_null(c);
    uint8_t buf[200];
    size_t len = make_rtp(buf, 1, 1, 30);
    int n = srtp_session_protect_rtp(a, buf, len, sizeof(buf));
    assert_int_equal(srtp_session_unprotect_rtp(c, buf, (size_t)n), SRTP_SESSION_ERR_AUTH);
    srtp_session_free(a);
    srtp_session_free(c);
}

/* ---- keys from a DTLS handshake ------------------------------------------------------------- */

typedef struct {
    uint8_t q[16][1500];
    size_t len[16];
    size_t n;
} box_t;

static void box_send(void *user, const uint8_t *buf, size_t len)
{
    box_t *b = user;
    assert_true(b->n < 16 && len <= 1500);
    memcpy(b->q[b->n], buf, len);
    b->len[b->n++] = len;
}

static void drain(box_t *from, dtls_t *to)
{
    box_t copy = *from;
    from->n = 0;
    for (size_t i = 0; i < copy.n; i++)
        assert_int_equal(dtls_handle_datagram(to, copy.q[i], copy.len[i]), 0);
}

static void test_keys_from_dtls(void **state)
{
    (void)state;
    cert_t *ca = cert_new(), *cb = cert_new();
    dtls_ctx_t *xa = dtls_ctx_new(ca), *xb = dtls_ctx_new(cb);
    static box_t ba, bb;
    dtls_config_t cc = {.role = DTLS_ROLE_CLIENT, .remote_fingerprint = cert_fingerprint(cb)};
    dtls_config_t sc = {.role = DTLS_ROLE_SERVER, .remote_fingerprint = cert_fingerprint(ca)};
    dtls_callbacks_t cbc = {.send = box_send, .user = &ba}, cbs = {.send = box_send, .user = &bb};
    dtls_t *client = dtls_new(xa, &cc, &cbc), *server = dtls_new(xb, &sc, &cbs);
    assert_non_null(client);
    assert_non_null(server);
    assert_int_equal(dtls_start(client), 0);
    for (int i = 0; i < 10 && (ba.n > 0 || bb.n > 0); i++) {
        drain(&ba, server);
        drain(&bb, client);
    }
    assert_int_equal(dtls_state(client), DTLS_STATE_CONNECTED);
    assert_int_equal(dtls_state(server), DTLS_STATE_CONNECTED);
    dtls_srtp_keys_t kc, ks;
    assert_int_equal(dtls_get_srtp_keys(client, &kc), 0);
    assert_int_equal(dtls_get_srtp_keys(server, &ks), 0);
    srtp_session_t *sa = srtp_session_new(kc.profile, kc.local_key, kc.local_salt, kc.remote_key,
                                          kc.remote_salt);
    srtp_session_t *sb = srtp_session_new(ks.profile, ks.local_key, ks.local_salt, ks.remote_key,
                                          ks.remote_salt);
    assert_non_null(sa);
    assert_non_null(sb);
    uint8_t plain[300], buf[300];
    size_t len = make_rtp(plain, 42, 0xdeadbeef, 200);
    memcpy(buf, plain, len);
    int n = srtp_session_protect_rtp(sa, buf, len, sizeof(buf));
    assert_int_equal(srtp_session_unprotect_rtp(sb, buf, (size_t)n), (int)len);
    assert_memory_equal(buf, plain, len);
    len = make_rtcp_sr(plain, 0xfeedface);
    memcpy(buf, plain, len);
    n = srtp_session_protect_rtcp(sb, buf, len, sizeof(buf));
    assert_int_equal(srtp_session_unprotect_rtcp(sa, buf, (size_t)n), (int)len);
    assert_memory_equal(buf, plain, len);
    srtp_session_free(sa);
    srtp_session_free(sb);
    dtls_free(client);
    dtls_free(server);
    dtls_ctx_free(xa);
    dtls_ctx_free(xb);
    cert_free(ca);
    cert_free(cb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rtp_gcm),
        cmocka_unit_test(test_rtp_cm_sha1_80),
        cmocka_unit_test(test_rtcp_gcm),
        cmocka_unit_test(test_rtcp_cm_sha1_80),
        cmocka_unit_test(test_tampered_rejected),
        cmocka_unit_test(test_replay_rejected),
        cmocka_unit_test(test_repeat_tx_allowed),
        cmocka_unit_test(test_gcm_roc_path_matches_libsrtp),
        cmocka_unit_test(test_gcm_full_size_every_tag_byte),
        cmocka_unit_test(test_gcm_srtcp_matches_libsrtp),
        cmocka_unit_test(test_reorder_across_wrap),
        cmocka_unit_test(test_room_and_lengths),
        cmocka_unit_test(test_many_ssrcs_and_remove),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_keys_from_dtls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
