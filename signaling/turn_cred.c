/* turn_cred.c - TURN REST API credentials (see turn_cred.h). */
#include "signaling/turn_cred.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

static int tag_ok(const char *tag)
{
    if (!tag || !*tag)
        return 0;
    for (const char *p = tag; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int turn_cred_mint(const char *secret, int64_t expiry, const char *tag, char *user, size_t ulen, char *cred,
                   size_t clen)
{
    if (!secret || !*secret || expiry < 0 || !tag_ok(tag) || !user || !cred)
        return TURN_CRED_E_ARG;
    int n = snprintf(user, ulen, "%" PRId64 ":%s", expiry, tag);
    if (n < 0 || (size_t)n >= ulen || clen < TURN_CRED_LEN)
        return TURN_CRED_E_SPACE;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    if (!HMAC(EVP_sha1(), secret, (int)strlen(secret), (const unsigned char *)user, (size_t)n, mac, &maclen))
        return TURN_CRED_E_ARG;
    EVP_EncodeBlock((unsigned char *)cred, mac, (int)maclen); /* 20 bytes -> 28 characters + NUL */
    return 0;
}
