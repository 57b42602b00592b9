/*
 * det_rand.h - a fixed-seed random source for the fuzz targets that run real DTLS handshakes
 * (fuzz_udp.c, fuzz_dtls.c): OpenSSL's RAND_bytes / RAND_priv_bytes (ECDSA and ECDHE keys, signature
 * nonces, hello randoms, certificate serials) and GLib's g_random (the room's SSRCs) draw from
 * splitmix64 from det_rand_install() on, so every run makes the same keys and the same handshake.
 * (The certificates' validity dates still follow the clock: cert_new() has no `now`.)
 * Header-only: each fuzz target is one source file.
 */
#ifndef FUZZ_DET_RAND_H
#define FUZZ_DET_RAND_H

#define OPENSSL_SUPPRESS_DEPRECATED /* RAND_set_rand_method: the one way to replace OpenSSL 3's DRBG */
#include <glib.h>
#include <openssl/rand.h>
#include <stdint.h>

static uint64_t det_rand_state;

static uint64_t det_rand_next(void)
{
    uint64_t z = (det_rand_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int det_rand_bytes(unsigned char *buf, int num)
{
    for (int i = 0; i < num; i += 8) {
        uint64_t r = det_rand_next();
        for (int k = 0; k < 8 && i + k < num; k++)
            buf[i + k] = (unsigned char)(r >> (8 * k));
    }
    return 1;
}

static int det_rand_status(void)
{
    return 1;
}

static void det_rand_install(uint64_t seed)
{
    static RAND_METHOD method = {NULL, det_rand_bytes, NULL, NULL, det_rand_bytes, det_rand_status};
    det_rand_state = seed;
    RAND_set_rand_method(&method);
    g_random_set_seed((guint32)seed);
}

#endif
