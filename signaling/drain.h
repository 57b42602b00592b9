/* drain.h - the pure part of draining a node (README, "Draining a node"; PROTOCOL.md, "Several nodes"):
 * which of the node's live meetings to hand to another node now, where each one went, and the check of
 * the admin endpoint's bearer token.
 *
 * No I/O, no clock (callers pass now_ms), no locks: used on the signaling thread only. The glue that
 * asks Redis and tells the browsers is drain_route.c.
 *
 * Ownership: a vm_drain owns its table of meeting ids (copied in); drain_moved_to() returns a string
 * owned by the table, valid until drain_forget() of that meeting or drain_free().
 */
#ifndef VM_DRAIN_H
#define VM_DRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A meeting no node could take is asked about again after this long (a node may have come up). */
#define DRAIN_RETRY_MS 5000

typedef enum {
    DRAIN_ASKING = 1, /* a handoff to another node is under way (Redis) */
    DRAIN_MOVED,      /* handed to another node; its people were told to move there */
    DRAIN_STAYS,      /* no other node could take it: it goes on here until a retry succeeds */
} drain_state;

typedef struct vm_drain vm_drain;

/* A drain that has not begun. NULL on no memory. */
vm_drain *drain_new(void);
/* NULL: no-op. */
void drain_free(vm_drain *d);

/* Starts draining (once for good: a node that drains is stopped afterwards). Returns true when it was
 * not draining before. */
bool drain_begin(vm_drain *d);
bool drain_active(const vm_drain *d);

/* Whether the live meeting meeting_id is to be handed to another node now: draining, and never asked
 * about, or no node could take it and its retry time has come. Marks it DRAIN_ASKING when true. */
bool drain_take(vm_drain *d, const char *meeting_id, int64_t now_ms);
/* The answer to a handoff drain_take() started: url (the new node's public base URL) when it was
 * handed over, NULL when no node could take it (asked again DRAIN_RETRY_MS later). Returns false when
 * the meeting was not being asked about (forgotten meanwhile): nothing changes then. */
bool drain_answer(vm_drain *d, const char *meeting_id, const char *url, int64_t now_ms);
/* The state of meeting_id (0: unknown). */
drain_state drain_state_of(const vm_drain *d, const char *meeting_id);
/* Where meeting_id was handed to, or NULL. */
const char *drain_moved_to(const vm_drain *d, const char *meeting_id);
/* The meeting ended on this node: forget it. */
void drain_forget(vm_drain *d, const char *meeting_id);
/* How many meetings are in state st. */
size_t drain_count(const vm_drain *d, drain_state st);

/* The admin endpoint's check (POST /admin/drain). token: ADMIN_TOKEN ("" = the endpoint is off);
 * authorization: the request's Authorization header, or NULL. The comparison takes a time that
 * depends only on the length of what the client sent, never on where it differs from the token. */
typedef enum { DRAIN_ADMIN_OFF, DRAIN_ADMIN_DENIED, DRAIN_ADMIN_OK } drain_admin;
drain_admin drain_admin_check(const char *token, const char *authorization);

#endif
