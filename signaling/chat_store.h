/* chat_store.h - one chat entry as it is stored in Redis (the list vm:chat:<meetingId>, cluster_chat.c),
 * so that a node that takes a meeting over after its node died shows the same history.
 *
 * An entry is a JSON object with the fields of the wire's chat entries (PROTOCOL.md, `receive-message`):
 *   {"id":7,"userId":"u...","username":"Ada","message":"hi","timestamp":1764800000000}
 * Decoding checks every field against the limits a live entry has (meeting.h), so that whatever is in
 * Redis (another version's, or written by hand) never becomes history it could not have been.
 *
 * Pure: no I/O, no clock. Ownership: chat_store_encode's string and a decoded entry's `message` belong
 * to the caller (free / chat_store_clear).
 */
#ifndef VM_CHAT_STORE_H
#define VM_CHAT_STORE_H

#include <stddef.h>

#include "signaling/meeting.h"

enum {
    CHAT_STORE_E_BAD = -1,   /* not an entry: not JSON, a field missing, of the wrong type or out of range */
    CHAT_STORE_E_NOMEM = -2,
};

/* The stored form of c (a NUL-terminated string the caller frees), or NULL on no memory. */
char *chat_store_encode(const vm_chat *c);

/* Parses len bytes of text into *out (whose message the caller frees with chat_store_clear, also on an
 * error: it is then NULL). Returns 0, or a CHAT_STORE_E_* code. */
int chat_store_decode(const char *text, size_t len, vm_chat *out);

/* Frees c->message and sets it to NULL. NULL c is a no-op. */
void chat_store_clear(vm_chat *c);

#endif
