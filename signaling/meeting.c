/* meeting.c - the registry of live meetings (see meeting.h for the contract).
 *
 * Meetings are kept in a GHashTable keyed by their id (the key points into the meeting itself).
 * Participants form a singly linked list in join order; meetings hold tens of people, so removal by a
 * walk is cheap. Chat history is a fixed ring of VM_CHAT_HISTORY entries per meeting.
 * Invariant: m->count == length of the list; empty_since_ms >= 0 exactly when count == 0.
 */
#include "signaling/meeting.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vm_registry {
    GHashTable *meetings;      /* id -> vm_meeting*, owns the meetings */
    GHashTable *users;         /* user id -> vm_participant*, borrowed from the meetings */
    size_t max_participants;
    size_t max_meetings;
    int64_t grace_ms;
    int64_t unused_grace_ms;   /* of a meeting joined but never used */
    size_t participants;       /* total over all meetings */
};

static void meeting_free(gpointer data)
{
    vm_meeting *m = data;
    if (!m)
        return;
    vm_participant *p = m->first;
    while (p) {
        vm_participant *next = p->next;
        free(p->away_out);
        free(p);
        p = next;
    }
    for (size_t i = 0; i < VM_CHAT_HISTORY; i++)
        free(m->chat[i].message);
    free(m);
}

vm_registry *registry_new(size_t max_participants, size_t max_meetings, int64_t grace_ms)
{
    vm_registry *reg = calloc(1, sizeof(*reg));
    if (!reg)
        return NULL;
    reg->meetings = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, meeting_free);
    reg->users = g_hash_table_new(g_str_hash, g_str_equal);
    reg->max_participants = max_participants;
    reg->max_meetings = max_meetings;
    reg->grace_ms = grace_ms;
    reg->unused_grace_ms = grace_ms;
    return reg;
}

void registry_set_unused_grace(vm_registry *reg, int64_t grace_ms)
{
    reg->unused_grace_ms = grace_ms < reg->grace_ms ? grace_ms : reg->grace_ms;
}

void registry_free(vm_registry *reg)
{
    if (!reg)
        return;
    g_hash_table_destroy(reg->users);
    g_hash_table_destroy(reg->meetings);
    free(reg);
}

static int meeting_insert(vm_registry *reg, const char *id, int64_t now_ms, vm_meeting **out)
{
    if (g_hash_table_size(reg->meetings) >= reg->max_meetings)
        return MEETING_E_TOO_MANY;
    vm_meeting *m = calloc(1, sizeof(*m));
    if (!m)
        return MEETING_E_NOMEM;
    memcpy(m->id, id, VM_MEETING_ID_LEN + 1);
    m->next_chat_id = 1;
    m->created_ms = now_ms;
    m->empty_since_ms = now_ms;
    g_hash_table_insert(reg->meetings, m->id, m);
    *out = m;
    return 0;
}

int registry_create(vm_registry *reg, int64_t now_ms, vm_meeting **out)
{
    char id[VM_MEETING_ID_LEN + 1];
    /* A collision among live meetings is astronomically rare; retry a few times anyway. */
    for (int attempt = 0; attempt < 16; attempt++) {
        if (ids_random(id, VM_MEETING_ID_LEN) < 0)
            return MEETING_E_RANDOM;
        if (!g_hash_table_contains(reg->meetings, id))
            return meeting_insert(reg, id, now_ms, out);
    }
    return MEETING_E_RANDOM;
}

vm_meeting *registry_find(vm_registry *reg, const char *meeting_id)
{
    return g_hash_table_lookup(reg->meetings, meeting_id);
}

vm_participant *registry_find_user(vm_registry *reg, const char *user_id)
{
    return g_hash_table_lookup(reg->users, user_id);
}

int registry_restore(vm_registry *reg, const char *meeting_id, int64_t now_ms, vm_meeting **out)
{
    *out = registry_find(reg, meeting_id);
    return *out ? 1 : meeting_insert(reg, meeting_id, now_ms, out);
}

int registry_join(vm_registry *reg, const char *meeting_id, const char *username, bool audio, bool video,
                  void *conn, int64_t now_ms, vm_participant **out)
{
    vm_meeting *m = registry_find(reg, meeting_id);
    if (m && m->count >= reg->max_participants)
        return MEETING_E_FULL;
    vm_participant *p = calloc(1, sizeof(*p));
    if (!p)
        return MEETING_E_NOMEM;
    if (ids_random(p->user_id + 1, VM_USER_ID_LEN - 1) < 0) {
        free(p);
        return MEETING_E_RANDOM;
    }
    p->user_id[0] = 'u';
    if (!m) {
        int rc = meeting_insert(reg, meeting_id, now_ms, &m);
        if (rc < 0) {
            free(p);
            return rc;
        }
    }
    snprintf(p->username, sizeof(p->username), "%s", username);
    p->audio = audio;
    p->video = video;
    p->joined_at_ms = now_ms;
    p->conn = conn;
    p->meeting = m;
    if (m->last)
        m->last->next = p;
    else
        m->first = p;
    m->last = p;
    m->count++;
    m->joined = true;
    if (m->count >= 2)
        m->used = true;
    m->empty_since_ms = -1;
    reg->participants++;
    g_hash_table_insert(reg->users, p->user_id, p);
    *out = p;
    return 0;
}

void registry_leave(vm_registry *reg, vm_participant *p, int64_t now_ms)
{
    vm_meeting *m = p->meeting;
    vm_participant *prev = NULL;
    for (vm_participant *it = m->first; it; prev = it, it = it->next) {
        if (it != p)
            continue;
        if (prev)
            prev->next = it->next;
        else
            m->first = it->next;
        if (m->last == it)
            m->last = prev;
        m->count--;
        reg->participants--;
        break;
    }
    if (m->count == 0)
        m->empty_since_ms = now_ms;
    g_hash_table_remove(reg->users, p->user_id);
    free(p->away_out);
    free(p);
}

vm_participant *registry_overdue(vm_registry *reg, int64_t now_ms, int64_t grace_ms)
{
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, reg->users);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        vm_participant *p = value;
        if (resume_deadline(&p->resume, grace_ms) <= now_ms)
            return p;
    }
    return NULL;
}

/* The ring's next slot (the oldest one once it is full), with its old message freed; takes `message`. */
static vm_chat *chat_push(vm_meeting *m, char *message)
{
    size_t slot;
    if (m->chat_count < VM_CHAT_HISTORY) {
        slot = (m->chat_start + m->chat_count) % VM_CHAT_HISTORY;
        m->chat_count++;
    } else {
        slot = m->chat_start; /* overwrite the oldest */
        m->chat_start = (m->chat_start + 1) % VM_CHAT_HISTORY;
    }
    vm_chat *c = &m->chat[slot];
    m->used = true;
    free(c->message);
    c->message = message;
    return c;
}

const vm_chat *meeting_add_chat(vm_participant *p, const char *text, int64_t now_ms)
{
    vm_meeting *m = p->meeting;
    char *copy = strdup(text);
    if (!copy)
        return NULL;
    vm_chat *c = chat_push(m, copy);
    c->id = m->next_chat_id++;
    memcpy(c->user_id, p->user_id, sizeof(c->user_id));
    memcpy(c->username, p->username, sizeof(c->username));
    c->timestamp_ms = now_ms;
    return c;
}

int meeting_restore_chat(vm_meeting *m, const vm_chat *entry)
{
    if (entry->id < m->next_chat_id || !entry->message)
        return 1;
    char *copy = strdup(entry->message);
    if (!copy)
        return MEETING_E_NOMEM;
    vm_chat *c = chat_push(m, copy);
    c->id = entry->id;
    memcpy(c->user_id, entry->user_id, sizeof(c->user_id));
    memcpy(c->username, entry->username, sizeof(c->username));
    c->timestamp_ms = entry->timestamp_ms;
    m->next_chat_id = entry->id + 1;
    return 0;
}

const vm_chat *meeting_chat_at(const vm_meeting *m, size_t i)
{
    if (i >= m->chat_count)
        return NULL;
    return &m->chat[(m->chat_start + i) % VM_CHAT_HISTORY];
}

static gboolean expired(gpointer key, gpointer value, gpointer user_data)
{
    (void)key;
    const vm_meeting *m = value;
    const int64_t *deadline = user_data; /* now - grace, now - unused grace */
    return m->count == 0 && m->empty_since_ms >= 0 &&
           m->empty_since_ms <= deadline[m->joined && !m->used ? 1 : 0];
}

bool registry_drop_empty(vm_registry *reg, const char *meeting_id)
{
    const vm_meeting *m = g_hash_table_lookup(reg->meetings, meeting_id);
    return m && m->count == 0 && g_hash_table_remove(reg->meetings, meeting_id);
}

size_t registry_expire(vm_registry *reg, int64_t now_ms)
{
    int64_t deadline[2] = {now_ms - reg->grace_ms, now_ms - reg->unused_grace_ms};
    return g_hash_table_foreach_remove(reg->meetings, expired, deadline);
}

void registry_each(vm_registry *reg, void (*fn)(vm_meeting *m, void *ud), void *ud)
{
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, reg->meetings);
    while (g_hash_table_iter_next(&it, &key, &value))
        fn(value, ud);
}

size_t registry_meeting_count(const vm_registry *reg)
{
    return g_hash_table_size(reg->meetings);
}

size_t registry_participant_count(const vm_registry *reg)
{
    return reg->participants;
}

