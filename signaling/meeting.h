/* meeting.h - meetings, their participants and chat history (the seed's "meetings" and "users" maps).
 *
 * Pure state: no I/O, no clock (callers pass `now_ms`, milliseconds since the Unix epoch). Used only from
 * the signaling thread, so it takes no locks.
 *
 * Ownership: the registry owns every meeting; a meeting owns its participants and its chat entries.
 * A participant's `conn` is the transport's handle: stored, never dereferenced or freed here.
 */
#ifndef VM_MEETING_H
#define VM_MEETING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signaling/ids.h"
#include "signaling/resume.h"

#define VM_MAX_NAME_CHARS 50
#define VM_MAX_NAME_BYTES (VM_MAX_NAME_CHARS * 4)
#define VM_MAX_CHAT_CHARS 1000
#define VM_MAX_CHAT_BYTES (VM_MAX_CHAT_CHARS * 4)
#define VM_CHAT_HISTORY 50

enum {
    MEETING_E_FULL = -1,      /* the meeting has max_participants people */
    MEETING_E_NOMEM = -2,     /* allocation failed */
    MEETING_E_TOO_MANY = -3,  /* the registry holds max_meetings meetings */
    MEETING_E_RANDOM = -4,    /* the CSPRNG failed */
};

typedef struct vm_meeting vm_meeting;

typedef struct vm_participant {
    char user_id[VM_USER_ID_LEN + 1];
    char username[VM_MAX_NAME_BYTES + 1];
    bool audio;
    bool video;
    int64_t joined_at_ms;
    void *conn;                   /* transport handle, not owned; NULL while away (resume.h) */
    vm_resume resume;             /* token and reconnecting state */
    char *away_out;               /* owned: messages kept for it while away, each NUL-terminated,
                                   * back to back (away_len bytes) */
    size_t away_len;
    vm_meeting *meeting;          /* the meeting that owns this participant */
    struct vm_participant *next;  /* next in join order */
} vm_participant;

typedef struct {
    uint64_t id;                  /* rises by one per message within a meeting, from 1 */
    char user_id[VM_USER_ID_LEN + 1];
    char username[VM_MAX_NAME_BYTES + 1];
    char *message;                /* owned, NUL-terminated UTF-8 */
    int64_t timestamp_ms;
} vm_chat;

struct vm_meeting {
    char id[VM_MEETING_ID_LEN + 1];
    vm_participant *first, *last; /* join order */
    size_t count;
    vm_chat chat[VM_CHAT_HISTORY];/* ring buffer */
    size_t chat_start;            /* index of the oldest entry */
    size_t chat_count;
    uint64_t next_chat_id;
    int64_t created_ms;
    int64_t empty_since_ms;       /* when the meeting last became empty, or -1 while occupied */
    bool joined;                  /* somebody joined it */
    bool used;                    /* two people were in it at once, or somebody wrote in its chat: once
                                   * empty it keeps the full grace period; a meeting joined but never
                                   * used keeps the short one (registry_set_unused_grace) */
};

typedef struct vm_registry vm_registry;

/* A registry with the given limits; grace_ms is how long an empty meeting lives. NULL on no memory. */
vm_registry *registry_new(size_t max_participants, size_t max_meetings, int64_t grace_ms);
/* How long an empty meeting that was joined but never used (see vm_meeting.used) lives: by default
 * the full grace. A join that leaves at once (a guess at a meeting id, a mistyped code) then does not
 * hold a meeting for the whole grace period; nothing is lost, as it has no chat and nobody to wait for. */
void registry_set_unused_grace(vm_registry *reg, int64_t grace_ms);
/* Frees the registry with all meetings, participants and chat. NULL is a no-op. */
void registry_free(vm_registry *reg);

/* Makes a new empty meeting with a fresh random id unique among live meetings.
 * On success stores it in *out (owned by the registry) and returns 0; else a MEETING_E_* code. */
int registry_create(vm_registry *reg, int64_t now_ms, vm_meeting **out);

/* The live meeting with this (normalised) id, or NULL. */
vm_meeting *registry_find(vm_registry *reg, const char *meeting_id);
/* The participant with this user id (in any meeting), or NULL. */
vm_participant *registry_find_user(vm_registry *reg, const char *user_id);

/* Adds a participant to the meeting `meeting_id` (normalised), creating the meeting when it does not
 * exist. username must be valid UTF-8 within VM_MAX_NAME_BYTES. On success *out is the new participant
 * (owned by its meeting, valid until registry_leave) and 0 is returned; else a MEETING_E_* code. */
int registry_join(vm_registry *reg, const char *meeting_id, const char *username, bool audio, bool video,
                  void *conn, int64_t now_ms, vm_participant **out);

/* Removes and frees the participant. The meeting stays (empty) for the grace period. */
void registry_leave(vm_registry *reg, vm_participant *p, int64_t now_ms);

/* Appends a chat message from p to its meeting's history (dropping the oldest past VM_CHAT_HISTORY).
 * text is copied. Returns the stored entry (valid until it is dropped from the ring), or NULL on no memory. */
const vm_chat *meeting_add_chat(vm_participant *p, const char *text, int64_t now_ms);

/* Several nodes (cluster_chat.c): the meeting meeting_id (normalised) as it was on a node that died, to
 * be filled from the history kept in Redis before anybody joins it. Stores the live meeting of that id
 * in *out and returns 1 when there is one already; else makes it, empty, like a join would, and returns
 * 0; else a MEETING_E_* code. */
int registry_restore(vm_registry *reg, const char *meeting_id, int64_t now_ms, vm_meeting **out);
/* Appends a copy of entry (its id, author and time kept) to m's history, oldest first; the next message
 * of m gets entry->id + 1. An entry whose id is below that (already there, or out of order) is skipped:
 * returns 1. Returns 0 when appended, MEETING_E_NOMEM on no memory. */
int meeting_restore_chat(vm_meeting *m, const vm_chat *entry);

/* The i-th oldest chat entry, 0 <= i < m->chat_count. */
const vm_chat *meeting_chat_at(const vm_meeting *m, size_t i);

/* A participant whose resume deadline (resume_deadline with grace_ms) is at or before now_ms, or NULL. */
vm_participant *registry_overdue(vm_registry *reg, int64_t now_ms, int64_t grace_ms);

/* Drops the meeting meeting_id now if nobody is in it (a draining node keeps no empty meeting).
 * Returns whether it was dropped. */
bool registry_drop_empty(vm_registry *reg, const char *meeting_id);

/* Drops empty meetings whose grace period has passed. Returns how many were dropped. */
size_t registry_expire(vm_registry *reg, int64_t now_ms);

/* Calls fn(meeting, ud) for every live meeting, in no particular order; fn must not add or drop meetings. */
void registry_each(vm_registry *reg, void (*fn)(vm_meeting *m, void *ud), void *ud);

size_t registry_meeting_count(const vm_registry *reg);
size_t registry_participant_count(const vm_registry *reg);

#endif
