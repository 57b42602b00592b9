/* resume.h - what lets a participant come back without leaving the meeting (PROTOCOL.md "Reconnecting"):
 * its resume token, and its "reconnecting" state while its WebSocket is gone (within the grace
 * period) or one of its media connections is being repaired.
 *
 * Pure: no I/O, no clock (callers pass `now_ms`), no allocation. Tokens are drawn by ids_token()
 * (signaling/ids.h) and handed in. Used only on the signaling thread.
 *
 * The token: 32 bytes from the kernel CSPRNG, base64url without padding (43 characters). It is
 * given at join, checked in constant time against the one participant the resume names (by userId
 * and meetingId), and replaced by a new one at every successful resume, so each token works once.
 *
 * The state, per participant:
 *   away           its WebSocket ended without a leave (dropped, reset, timed out): the participant
 *                  stays for `grace_ms` after `away_since_ms` waiting for a resume, then leaves.
 *   media_broken   bit per connection (1 << pc): the browser asked for an ICE restart of it, or the
 *                  SFU saw its ICE fail; cleared when it works again.
 *   media_failed   bit per connection: the SFU saw its ICE fail or consent expire (RFC 7675): unless it
 *                  is repaired within `grace_ms` of `media_since_ms`, the participant leaves.
 * The others are told "reconnecting" while any of these holds (resume_take_change says when that
 * flips).
 */
#ifndef VM_RESUME_H
#define VM_RESUME_H

#include <stdbool.h>
#include <stdint.h>

#define VM_RESUME_TOKEN_LEN 43 /* base64url of 32 bytes, no padding */

typedef enum {
    RESUME_MEDIA_OK,         /* the connection works */
    RESUME_MEDIA_RESTARTING, /* the browser is repairing it (ICE restart) */
    RESUME_MEDIA_FAILED,     /* the SFU saw it fail: repaired within the grace period or the end */
} resume_media_state;

typedef struct {
    char token[VM_RESUME_TOKEN_LEN + 1]; /* the current token; "" = none (no resume possible) */
    bool away;
    int64_t away_since_ms;
    unsigned media_broken;
    unsigned media_failed;
    int64_t media_since_ms;
    bool shown; /* what the others were last told */
} vm_resume;

/* True when s has the shape of a token (VM_RESUME_TOKEN_LEN base64url characters). */
bool resume_token_well_formed(const char *s);
/* True when `token` is r's current token. Constant time in the token's bytes; false when r has none
 * or token is not well formed. */
bool resume_token_matches(const vm_resume *r, const char *token);
/* Replaces r's token (token must be well formed; copied). */
void resume_set_token(vm_resume *r, const char *token);

/* The WebSocket ended without a leave / a resume took the participant back. */
void resume_ws_lost(vm_resume *r, int64_t now_ms);
void resume_ws_back(vm_resume *r);
/* Connection `pc` (0 or 1) is now in state st. */
void resume_media(vm_resume *r, unsigned pc, resume_media_state st, int64_t now_ms);

/* Whether the others should see this participant as reconnecting. */
bool resume_reconnecting(const vm_resume *r);
/* When the participant must leave unless something changes: INT64_MAX when it need not. One away
 * without a token (it was dropped, see session.c) cannot resume: its deadline is when it left. */
int64_t resume_deadline(const vm_resume *r, int64_t grace_ms);
/* True (once) when resume_reconnecting() changed since the others were last told; records it. */
bool resume_take_change(vm_resume *r);

#endif
