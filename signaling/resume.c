/* resume.c - resume tokens and the reconnecting state of a participant (see resume.h). */
#include "signaling/resume.h"

#include <string.h>

static bool is_b64url(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool resume_token_well_formed(const char *s)
{
    if (!s)
        return false;
    size_t i = 0;
    for (; s[i] && i <= VM_RESUME_TOKEN_LEN; i++) {
        if (!is_b64url((unsigned char)s[i]))
            return false;
    }
    return i == VM_RESUME_TOKEN_LEN;
}

bool resume_token_matches(const vm_resume *r, const char *token)
{
    if (!r->token[0] || !resume_token_well_formed(token))
        return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < VM_RESUME_TOKEN_LEN; i++)
        diff |= (unsigned char)(r->token[i] ^ token[i]);
    return diff == 0;
}

void resume_set_token(vm_resume *r, const char *token)
{
    memcpy(r->token, token, VM_RESUME_TOKEN_LEN);
    r->token[VM_RESUME_TOKEN_LEN] = '\0';
}

void resume_ws_lost(vm_resume *r, int64_t now_ms)
{
    if (r->away)
        return;
    r->away = true;
    r->away_since_ms = now_ms;
}

void resume_ws_back(vm_resume *r)
{
    r->away = false;
}

void resume_media(vm_resume *r, unsigned pc, resume_media_state st, int64_t now_ms)
{
    unsigned bit = 1u << (pc & 1u);
    if (st == RESUME_MEDIA_OK) {
        r->media_broken &= ~bit;
        r->media_failed &= ~bit;
        return;
    }
    r->media_broken |= bit;
    if (st == RESUME_MEDIA_FAILED && !(r->media_failed & bit)) {
        if (!r->media_failed)
            r->media_since_ms = now_ms;
        r->media_failed |= bit;
    }
}

bool resume_reconnecting(const vm_resume *r)
{
    return r->away || r->media_broken != 0;
}

int64_t resume_deadline(const vm_resume *r, int64_t grace_ms)
{
    int64_t d = INT64_MAX;
    if (r->away)
        d = r->token[0] ? r->away_since_ms + grace_ms : r->away_since_ms; /* no token: no resume */
    if (r->media_failed && r->media_since_ms + grace_ms < d)
        d = r->media_since_ms + grace_ms;
    return d;
}

bool resume_take_change(vm_resume *r)
{
    bool now = resume_reconnecting(r);
    if (now == r->shown)
        return false;
    r->shown = now;
    return true;
}
