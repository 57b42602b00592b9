/* ids.c - random identifiers from the kernel CSPRNG, and meeting id validation.
 *
 * Characters are drawn by rejection sampling (bytes >= 248 = 31*8 are thrown away) so that every
 * alphabet character is equally likely. Resume tokens are 32 raw bytes in base64url.
 */
#include "signaling/ids.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

static int fill_random(unsigned char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

int ids_random(char *out, size_t len)
{
    static const char alphabet[] = VM_ID_ALPHABET;
    const unsigned n = sizeof(alphabet) - 1; /* 31 */
    const unsigned limit = 256 - (256 % n); /* 248 */
    size_t i = 0;
    while (i < len) {
        unsigned char buf[32];
        if (fill_random(buf, sizeof(buf)) < 0)
            return -1;
        for (size_t k = 0; k < sizeof(buf) && i < len; k++) {
            if (buf[k] < limit)
                out[i++] = alphabet[buf[k] % n];
        }
    }
    out[len] = '\0';
    return 0;
}

int ids_token(char out[44])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[33] = {0}; /* 32 random bytes and a zero: 11 groups of 3 */
    if (fill_random(raw, 32) < 0)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < 33; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        for (int k = 3; k >= 0 && o < 43; k--)
            out[o++] = b64[(v >> (6 * k)) & 63];
    }
    out[43] = '\0';
    return 0;
}

bool ids_meeting_id_normalize(const char *in, char out[VM_MEETING_ID_LEN + 1])
{
    if (!in || strlen(in) != VM_MEETING_ID_LEN)
        return false;
    for (size_t i = 0; i < VM_MEETING_ID_LEN; i++) {
        char c = (char)tolower((unsigned char)in[i]);
        if (c == '\0' || !strchr(VM_ID_ALPHABET, c))
            return false;
        out[i] = c;
    }
    out[VM_MEETING_ID_LEN] = '\0';
    return true;
}
