/* cluster_chat.c - chat history in Redis (see cluster_chat.h for the key and its lifetime).
 *
 * Each operation is one job of the cluster thread (cluster_submit): a struct made here on the signaling
 * thread, filled by its work function on the cluster thread, and freed by its after function back on
 * the signaling thread (which owns it from cluster_submit on). The jobs run in submission order, so
 * the entries reach the list in the order of their ids.
 */
#include "signaling/cluster_chat.h"

#include <glib.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/log.h"
#include "signaling/chat_store.h"
#include "signaling/cluster.h"
#include "signaling/server_internal.h"

#define KEY_MAX (16 + VM_MEETING_ID_LEN)

/* KEYS[1] the list; ARGV: entry, history length, ttl ms, this node. Only the meeting's owner (or anybody
 * while Redis knows none: it came back empty) writes: a node that still has the meeting live after it
 * was placed elsewhere (handed over by a drain, a conflict) would number its messages on its own. */
static const char push_lua[] = "local owner = redis.call('GET', 'vm:meeting:' .. string.sub(KEYS[1], 9))\n"
                               "if owner and owner ~= ARGV[4] then return 0 end\n"
                               "redis.call('RPUSH', KEYS[1], ARGV[1])\n"
                               "redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)\n"
                               "redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
                               "return 1\n";

/* KEYS: lists vm:chat:<mid>; ARGV[1]: this node; ARGV[1 + i]: the ttl ms of KEYS[i]. For each list:
 * -1 when another node owns its meeting (left alone), else the id of its newest entry (0: none, or the
 * list is gone: Redis restarted empty), its TTL refreshed. */
static const char refresh_lua[] =
    "local out = {}\n"
    "for i, k in ipairs(KEYS) do\n"
    "  local owner = redis.call('GET', 'vm:meeting:' .. string.sub(k, 9))\n"
    "  if owner and owner ~= ARGV[1] then\n"
    "    out[i] = -1\n"
    "  else\n"
    "    redis.call('PEXPIRE', k, ARGV[i + 1])\n"
    "    local id = 0\n"
    "    local last = redis.call('LINDEX', k, -1)\n"
    "    if last then\n"
    "      local ok, e = pcall(cjson.decode, last)\n"
    "      if ok and type(e) == 'table' and type(e.id) == 'number' then id = e.id end\n"
    "    end\n"
    "    out[i] = id\n"
    "  end\n"
    "end\n"
    "return out\n";

/* KEYS[1] the list; ARGV[1] ttl ms, ARGV[2..] the entries, oldest first: the list becomes them. */
static const char rewrite_lua[] = "redis.call('DEL', KEYS[1])\n"
                                  "redis.call('RPUSH', KEYS[1], unpack(ARGV, 2))\n"
                                  "redis.call('PEXPIRE', KEYS[1], ARGV[1])\n"
                                  "return 1\n";

static void chat_key(char out[KEY_MAX], const char *meeting_id)
{
    snprintf(out, KEY_MAX, "vm:chat:%s", meeting_id);
}

/* How long the history of m is kept from now (cluster_chat.h). */
static int64_t ttl_ms(const struct vm_signaling *s, const vm_meeting *m, int64_t now_ms)
{
    int64_t grace = s->cfg->meeting_grace_ms;
    if (m->count > 0)
        return grace > CLUSTER_CHAT_MIN_TTL_MS ? grace : CLUSTER_CHAT_MIN_TTL_MS;
    int64_t left = m->empty_since_ms + grace - now_ms;
    return left > 1 ? left : 1;
}

static void run_void(vm_cluster *c, int argc, const char **argv)
{
    redisReply *r = cluster_command(c, argc, argv);
    if (r)
        freeReplyObject(r);
}

/* ---- writing an entry ---- */

typedef struct {
    char key[KEY_MAX];
    char ttl[24];
    char *entry; /* owned */
} push_job;

static void push_work(vm_cluster *c, void *arg)
{
    push_job *j = arg;
    char max[16];
    snprintf(max, sizeof(max), "%d", VM_CHAT_HISTORY);
    const char *argv[] = {"EVAL", push_lua, "1", j->key, j->entry, max, j->ttl, cluster_node_id(c)};
    run_void(c, (int)G_N_ELEMENTS(argv), argv);
}

static void push_after(void *owner, void *arg)
{
    (void)owner;
    push_job *j = arg;
    free(j->entry);
    free(j);
}

void cluster_chat_written(struct vm_signaling *s, const vm_meeting *m, const vm_chat *chat)
{
    if (!s->cluster)
        return;
    push_job *j = calloc(1, sizeof(*j));
    if (j)
        j->entry = chat_store_encode(chat);
    if (!j || !j->entry) {
        free(j);
        return; /* no memory: the chat goes on locally */
    }
    chat_key(j->key, m->id);
    snprintf(j->ttl, sizeof(j->ttl), "%lld", (long long)ttl_ms(s, m, vm_now_ms()));
    if (cluster_submit(s->cluster, push_work, push_after, NULL, j) < 0)
        push_after(NULL, j);
}

/* ---- loading a history ---- */

typedef struct {
    struct vm_signaling *s;
    char meeting_id[VM_MEETING_ID_LEN + 1];
    cluster_chat_loaded_fn loaded;
    int status;                       /* 0: read (maybe empty), -1: Redis failed */
    vm_chat entries[VM_CHAT_HISTORY]; /* decoded, oldest first; messages owned */
    size_t n;
    size_t bad;                       /* entries that did not decode */
} load_job;

static void load_work(vm_cluster *c, void *arg)
{
    load_job *j = arg;
    char key[KEY_MAX], from[16];
    chat_key(key, j->meeting_id);
    snprintf(from, sizeof(from), "-%d", VM_CHAT_HISTORY);
    const char *argv[] = {"LRANGE", key, from, "-1"};
    redisReply *r = cluster_command(c, (int)G_N_ELEMENTS(argv), argv);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        j->status = -1;
        if (r)
            freeReplyObject(r);
        return;
    }
    for (size_t i = 0; i < r->elements && j->n < VM_CHAT_HISTORY; i++) {
        redisReply *e = r->element[i];
        if (e->type == REDIS_REPLY_STRING && chat_store_decode(e->str, e->len, &j->entries[j->n]) == 0)
            j->n++;
        else
            j->bad++;
    }
    freeReplyObject(r);
}

static void load_after(void *owner, void *arg)
{
    load_job *j = arg;
    if (owner) {
        struct vm_signaling *s = j->s;
        vm_meeting *m = NULL;
        size_t restored = 0;
        if (j->status < 0)
            LOG_W("meeting %s: its chat history could not be read from Redis; it starts without", j->meeting_id);
        else if (registry_restore(s->reg, j->meeting_id, vm_now_ms(), &m) >= 0)
            for (size_t i = 0; i < j->n; i++)
                restored += meeting_restore_chat(m, &j->entries[i]) == 0;
        if (j->n || j->bad)
            LOG_I("meeting %s: %zu chat message(s) taken over from Redis (%zu unreadable, %zu already here)",
                  j->meeting_id, restored, j->bad, j->n - restored);
        j->loaded(s, owner);
    }
    for (size_t i = 0; i < j->n; i++)
        chat_store_clear(&j->entries[i]);
    free(j);
}

int cluster_chat_load(struct vm_signaling *s, struct vm_conn *c, const char *meeting_id, cluster_chat_loaded_fn loaded)
{
    load_job *j = calloc(1, sizeof(*j));
    if (!j)
        return -1;
    j->s = s;
    j->loaded = loaded;
    g_strlcpy(j->meeting_id, meeting_id, sizeof(j->meeting_id));
    if (cluster_submit(s->cluster, load_work, load_after, c, j) < 0) {
        free(j);
        return -1;
    }
    return 0;
}

/* ---- keeping the histories as long as their meetings, and whole ---- */

/* Rewrites the list of m from its in-memory history: after Redis lost it (restarted empty) or missed
 * messages (written while it was unreachable). Later entries are queued after this job: nothing is lost. */
typedef struct {
    char key[KEY_MAX];
    GPtrArray *argv; /* "EVAL", script, "1", key, ttl, entries...; the ttl and entries owned */
} rewrite_job;

static void rewrite_work(vm_cluster *c, void *arg)
{
    rewrite_job *j = arg;
    run_void(c, (int)j->argv->len, (const char **)j->argv->pdata);
}

static void rewrite_after(void *owner, void *arg)
{
    (void)owner;
    rewrite_job *j = arg;
    for (guint i = 4; i < j->argv->len; i++)
        free(j->argv->pdata[i]);
    g_ptr_array_free(j->argv, TRUE);
    free(j);
}

static void rewrite(struct vm_signaling *s, const vm_meeting *m)
{
    rewrite_job *j = calloc(1, sizeof(*j));
    if (!j)
        return;
    chat_key(j->key, m->id);
    j->argv = g_ptr_array_new();
    g_ptr_array_add(j->argv, "EVAL");
    g_ptr_array_add(j->argv, (char *)rewrite_lua);
    g_ptr_array_add(j->argv, "1");
    g_ptr_array_add(j->argv, j->key);
    g_ptr_array_add(j->argv, g_strdup_printf("%lld", (long long)ttl_ms(s, m, vm_now_ms())));
    bool ok = j->argv->pdata[4] != NULL;
    for (size_t i = 0; ok && i < m->chat_count; i++) {
        char *e = chat_store_encode(meeting_chat_at(m, i));
        ok = e != NULL;
        g_ptr_array_add(j->argv, e);
    }
    if (!ok || cluster_submit(s->cluster, rewrite_work, rewrite_after, NULL, j) < 0)
        rewrite_after(NULL, j);
}

typedef struct {
    struct vm_signaling *s;
    GPtrArray *ids, *keys, *ttls; /* char*, owned */
    GArray *expected;             /* uint64_t: the newest id of each meeting when the job was made */
    GArray *stored;               /* int64_t: what refresh_lua answered (empty: Redis failed) */
    int64_t now;
} refresh_job;

static void add_meeting(vm_meeting *m, void *ud)
{
    refresh_job *j = ud;
    if (!m->chat_count)
        return;
    char key[KEY_MAX];
    chat_key(key, m->id);
    g_ptr_array_add(j->ids, g_strdup(m->id));
    g_ptr_array_add(j->keys, g_strdup(key));
    g_ptr_array_add(j->ttls, g_strdup_printf("%lld", (long long)ttl_ms(j->s, m, j->now)));
    uint64_t last = meeting_chat_at(m, m->chat_count - 1)->id;
    g_array_append_val(j->expected, last);
}

static void refresh_work(vm_cluster *c, void *arg)
{
    refresh_job *j = arg;
    guint n = j->keys->len;
    const char **argv = g_new(const char *, 4 + 2 * (size_t)n);
    char count[16];
    snprintf(count, sizeof(count), "%u", n);
    argv[0] = "EVAL";
    argv[1] = refresh_lua;
    argv[2] = count;
    for (guint i = 0; i < n; i++)
        argv[3 + i] = j->keys->pdata[i];
    argv[3 + n] = cluster_node_id(c);
    for (guint i = 0; i < n; i++)
        argv[4 + n + i] = j->ttls->pdata[i];
    redisReply *r = cluster_command(c, 4 + 2 * (int)n, argv);
    g_free(argv);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == n)
        for (guint i = 0; i < n; i++) {
            int64_t v = r->element[i]->type == REDIS_REPLY_INTEGER ? r->element[i]->integer : -1;
            g_array_append_val(j->stored, v);
        }
    if (r)
        freeReplyObject(r);
}

static void refresh_after(void *owner, void *arg)
{
    refresh_job *j = arg;
    /* owner is s unless the cluster is being freed. Every entry up to `expected` was queued before this
     * job: a list whose newest entry is another one lacks some (or is gone). */
    for (guint i = 0; owner && i < j->stored->len; i++) {
        int64_t stored = g_array_index(j->stored, int64_t, i);
        uint64_t expected = g_array_index(j->expected, uint64_t, i);
        vm_meeting *m = stored < 0 || (uint64_t)stored == expected ? NULL : registry_find(j->s->reg, j->ids->pdata[i]);
        if (m && m->chat_count) {
            LOG_I("meeting %s: Redis has its chat up to message %lld of %llu; writing it again", m->id,
                  (long long)stored, (unsigned long long)expected);
            rewrite(j->s, m);
        }
    }
    g_ptr_array_free(j->ids, TRUE);
    g_ptr_array_free(j->keys, TRUE);
    g_ptr_array_free(j->ttls, TRUE);
    g_array_free(j->expected, TRUE);
    g_array_free(j->stored, TRUE);
    free(j);
}

void cluster_chat_sweep(struct vm_signaling *s)
{
    if (!s->cluster)
        return;
    refresh_job *j = calloc(1, sizeof(*j));
    if (!j)
        return;
    j->s = s;
    j->ids = g_ptr_array_new_with_free_func(g_free);
    j->keys = g_ptr_array_new_with_free_func(g_free);
    j->ttls = g_ptr_array_new_with_free_func(g_free);
    j->expected = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    j->stored = g_array_new(FALSE, FALSE, sizeof(int64_t));
    j->now = vm_now_ms();
    registry_each(s->reg, add_meeting, j);
    if (!j->keys->len || cluster_submit(s->cluster, refresh_work, refresh_after, s, j) < 0)
        refresh_after(NULL, j);
}
