/* drain.c - the state of a node's drain: one entry per live meeting it asked about (see drain.h). */
#include "signaling/drain.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    drain_state state;
    int64_t retry_ms;   /* DRAIN_STAYS: asked again from then on */
    char *url;          /* DRAIN_MOVED: owned */
} entry;

struct vm_drain {
    bool active;
    GHashTable *meetings; /* id (owned) -> entry* (owned) */
};

static void entry_free(gpointer p)
{
    entry *e = p;
    if (e)
        free(e->url);
    free(e);
}

vm_drain *drain_new(void)
{
    vm_drain *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->meetings = g_hash_table_new_full(g_str_hash, g_str_equal, free, entry_free);
    return d;
}

void drain_free(vm_drain *d)
{
    if (!d)
        return;
    g_hash_table_destroy(d->meetings);
    free(d);
}

bool drain_begin(vm_drain *d)
{
    bool was = d->active;
    d->active = true;
    return !was;
}

bool drain_active(const vm_drain *d)
{
    return d->active;
}

bool drain_take(vm_drain *d, const char *meeting_id, int64_t now_ms)
{
    if (!d->active)
        return false;
    entry *e = g_hash_table_lookup(d->meetings, meeting_id);
    if (e) {
        if (e->state != DRAIN_STAYS || now_ms < e->retry_ms)
            return false;
        e->state = DRAIN_ASKING;
        return true;
    }
    char *key = strdup(meeting_id);
    e = calloc(1, sizeof(*e));
    if (!key || !e) {
        free(key);
        free(e);
        return false; /* asked again at the next pass */
    }
    e->state = DRAIN_ASKING;
    g_hash_table_insert(d->meetings, key, e);
    return true;
}

bool drain_answer(vm_drain *d, const char *meeting_id, const char *url, int64_t now_ms)
{
    entry *e = g_hash_table_lookup(d->meetings, meeting_id);
    if (!e || e->state != DRAIN_ASKING)
        return false;
    char *copy = url ? strdup(url) : NULL;
    if (url && copy) {
        e->state = DRAIN_MOVED;
        e->url = copy;
    } else {
        e->state = DRAIN_STAYS; /* (or out of memory: asked again later) */
        e->retry_ms = now_ms + DRAIN_RETRY_MS;
    }
    return true;
}

drain_state drain_state_of(const vm_drain *d, const char *meeting_id)
{
    const entry *e = g_hash_table_lookup(d->meetings, meeting_id);
    return e ? e->state : 0;
}

const char *drain_moved_to(const vm_drain *d, const char *meeting_id)
{
    const entry *e = g_hash_table_lookup(d->meetings, meeting_id);
    return e && e->state == DRAIN_MOVED ? e->url : NULL;
}

void drain_forget(vm_drain *d, const char *meeting_id)
{
    g_hash_table_remove(d->meetings, meeting_id);
}

size_t drain_count(const vm_drain *d, drain_state st)
{
    GHashTableIter it;
    gpointer k, v;
    size_t n = 0;
    g_hash_table_iter_init(&it, d->meetings);
    while (g_hash_table_iter_next(&it, &k, &v))
        n += ((const entry *)v)->state == st;
    return n;
}

drain_admin drain_admin_check(const char *token, const char *authorization)
{
    static const char scheme[] = "Bearer ";
    if (!token || !token[0])
        return DRAIN_ADMIN_OFF;
    if (!authorization || g_ascii_strncasecmp(authorization, scheme, sizeof(scheme) - 1) != 0)
        return DRAIN_ADMIN_DENIED;
    const char *given = authorization + sizeof(scheme) - 1;
    size_t n = strlen(token), m = strlen(given);
    /* every byte the client sent is compared (against the token, repeated): no early exit */
    unsigned char diff = n != m;
    for (size_t i = 0; i < m; i++)
        diff |= (unsigned char)((unsigned char)given[i] ^ (unsigned char)token[i % n]);
    return diff ? DRAIN_ADMIN_DENIED : DRAIN_ADMIN_OK;
}
