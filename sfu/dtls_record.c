/* dtls_record.c - the admission rules of dtls_record.h for received DTLS records.
 *
 * Each function looks at bytes only; the caller says what the endpoint can read (the policy).
 */
#include "sfu/dtls_record.h"

#include <stdbool.h>

#include "sfu/bytes.h"

#define ALERT_LEVEL_WARNING 1
#define ALERT_LEVEL_FATAL 2
#define ALERT_CLOSE_NOTIFY 0

/* Alert descriptions defined for (D)TLS 1.2 and its extensions (IANA TLS Alerts registry). */
static bool alert_defined(uint8_t d)
{
    switch (d) {
    case 0: case 10: case 20: case 21: case 22: case 30: case 40: case 41: case 42: case 43:
    case 44: case 45: case 46: case 47: case 48: case 49: case 50: case 51: case 60: case 70:
    case 71: case 80: case 86: case 90: case 100: case 110: case 111: case 112: case 113:
    case 114: case 115: case 116: case 120:
        return true;
    default:
        return false;
    }
}

/* Handshake messages a DTLS 1.2 peer sends in the clear (Finished is always encrypted). */
static bool plaintext_handshake_type(uint8_t t)
{
    switch (t) {
    case 0:  /* hello_request */
    case 1:  /* client_hello */
    case 2:  /* server_hello */
    case 3:  /* hello_verify_request */
    case 11: /* certificate */
    case 12: /* server_key_exchange */
    case 13: /* certificate_request */
    case 14: /* server_hello_done */
    case 15: /* certificate_verify */
    case 16: /* client_key_exchange */
        return true;
    default:
        return false;
    }
}

/* A plaintext handshake record: whole fragments, each consistent with its message. */
static bool handshake_fragments_ok(const uint8_t *p, size_t n)
{
    if (n == 0)
        return false;
    while (n > 0) {
        if (n < DTLS_HANDSHAKE_HEADER_LEN)
            return false;
        uint32_t msg_len = rd24(p + 1), frag_off = rd24(p + 6), frag_len = rd24(p + 9);
        if (!plaintext_handshake_type(p[0]) || msg_len > DTLS_HANDSHAKE_MAX_MESSAGE
            || frag_off > msg_len || frag_len > msg_len - frag_off || (frag_len == 0 && msg_len != 0)
            || frag_len > n - DTLS_HANDSHAKE_HEADER_LEN)
            return false;
        p += DTLS_HANDSHAKE_HEADER_LEN + frag_len;
        n -= DTLS_HANDSHAKE_HEADER_LEN + frag_len;
    }
    return true;
}

static bool plaintext_ok(uint8_t type, const uint8_t *body, size_t n, dtls_drop_reason_t *reason)
{
    if (n > DTLS_RECORD_MAX_PLAINTEXT) {
        *reason = DTLS_DROP_LENGTH;
        return false;
    }
    bool ok;
    switch (type) {
    case DTLS_CT_CHANGE_CIPHER_SPEC:
        ok = n == 1 && body[0] == 1;
        break;
    case DTLS_CT_ALERT:
        ok = n == 2
             && ((body[0] == ALERT_LEVEL_FATAL && alert_defined(body[1]))
                 || (body[0] == ALERT_LEVEL_WARNING && body[1] == ALERT_CLOSE_NOTIFY));
        break;
    case DTLS_CT_HANDSHAKE:
        ok = handshake_fragments_ok(body, n);
        break;
    default: /* application data is never sent in the clear */
        *reason = DTLS_DROP_TYPE;
        return false;
    }
    if (!ok)
        *reason = DTLS_DROP_MALFORMED;
    return ok;
}

int dtls_record_next(const uint8_t *buf, size_t avail, const dtls_record_policy_t *policy, dtls_record_t *rec,
                     dtls_drop_reason_t *reason)
{
    if (avail == 0)
        return -1;
    rec->len = avail;
    rec->body = 0;
    rec->type = buf[0];
    rec->version = 0;
    rec->epoch = 0;
    if (avail < DTLS_RECORD_HEADER_LEN) {
        *reason = DTLS_DROP_TRUNCATED;
        return 0;
    }
    rec->version = rd16(buf + 1);
    rec->epoch = rd16(buf + 3);
    rec->body = rd16(buf + 11);
    if (rec->body > avail - DTLS_RECORD_HEADER_LEN) {
        rec->body = 0;
        *reason = DTLS_DROP_TRUNCATED;
        return 0;
    }
    rec->len = DTLS_RECORD_HEADER_LEN + rec->body;
    const uint8_t *body = buf + DTLS_RECORD_HEADER_LEN;
    if (rec->version != 0xfeff && rec->version != 0xfefd) {
        *reason = DTLS_DROP_VERSION;
        return 0;
    }
    if (rec->type < DTLS_CT_CHANGE_CIPHER_SPEC || rec->type > DTLS_CT_APPLICATION_DATA) {
        *reason = DTLS_DROP_TYPE;
        return 0;
    }
    if (rec->epoch == 0) {
        if (!policy->plaintext) {
            *reason = DTLS_DROP_EPOCH;
            return 0;
        }
        return plaintext_ok(rec->type, body, rec->body, reason) ? 1 : 0;
    }
    if (rec->epoch != 1 || policy->encrypted_overhead == 0) {
        *reason = DTLS_DROP_EPOCH;
        return 0;
    }
    if (rec->type == DTLS_CT_CHANGE_CIPHER_SPEC) { /* sent in the old epoch, never encrypted */
        *reason = DTLS_DROP_TYPE;
        return 0;
    }
    if (rec->body < policy->encrypted_overhead || rec->body > DTLS_RECORD_MAX_CIPHERTEXT) {
        *reason = DTLS_DROP_LENGTH;
        return 0;
    }
    return 1;
}

const char *dtls_drop_reason_name(dtls_drop_reason_t reason)
{
    switch (reason) {
    case DTLS_DROP_TRUNCATED:
        return "truncated";
    case DTLS_DROP_VERSION:
        return "version";
    case DTLS_DROP_TYPE:
        return "type";
    case DTLS_DROP_EPOCH:
        return "epoch";
    case DTLS_DROP_LENGTH:
        return "length";
    case DTLS_DROP_MALFORMED:
        return "malformed";
    case DTLS_DROP_AUTH:
        return "auth";
    case DTLS_DROP_REASONS:
        break;
    }
    return "unknown";
}
