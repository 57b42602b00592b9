/* cluster.c - the Redis side of several nodes: the cluster thread, its connection, registration,
 * ownership of meetings and the node list (see cluster.h for the keys and the threading).
 *
 * Ownership: the vm_cluster owns its thread, its hiredis context (used only on that thread), the
 * queued requests and both copies of the node list. A request is created on the signaling thread,
 * moved to `todo` (cluster thread), then `done` (signaling thread), and freed by cluster_poll(); its
 * `done`/`owner` fields are read and written only on the signaling thread.
 */
#include "signaling/cluster.h"
#include "signaling/server_internal.h"

#include <glib.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "sfu/log.h"
#include "signaling/ids.h"

#define TICK_MS 2000            /* registration and refresh period */
#define NODE_TTL_MS 6000        /* a node that stopped refreshing disappears after this */
#define LIVE_MEETING_TTL_MS 10000 /* ownership of a live meeting, refreshed every tick */
#define CONNECT_RETRY_MS 1000
#define REDIS_TIMEOUT_MS 1000

/* Who owns KEYS[1]; with ARGV[1] (a node id) and no live owner, place it there (or on ARGV[5], this
 * node, when ARGV[1] is gone or draining; nowhere when both are). ARGV: place_on, ttl ms, placement lapses at (ms), meeting id, self.
 * Returns {} (nobody, not placed) or {owner, url, placed 0|1}. One script: atomic in Redis. */
static const char locate_lua[] =
    "local owner = redis.call('GET', KEYS[1])\n"
    "if owner then\n"
    "  local url = redis.call('HGET', 'vm:node:' .. owner, 'url')\n"
    "  if url then return {owner, url, 0} end\n"
    "end\n"
    "if ARGV[1] == '' then return {} end\n"
    "local on = ARGV[1]\n"
    "local t = redis.call('HMGET', 'vm:node:' .. on, 'url', 'draining')\n"
    "if not t[1] or t[2] == '1' then\n"
    "  on = ARGV[5]\n"
    "  t = redis.call('HMGET', 'vm:node:' .. on, 'url', 'draining')\n"
    "  if not t[1] or t[2] == '1' then return {} end\n"
    "end\n"
    "local url = t[1]\n"
    "redis.call('SET', KEYS[1], on, 'PX', ARGV[2])\n"
    "redis.call('ZADD', 'vm:owned:' .. on, ARGV[3], ARGV[4])\n"
    "return {on, url, 1}\n";

/* This node (ARGV[1]) keeps KEYS[1] while its meeting lives, unless another live node owns it
 * (then {owner, its url}: a split, see cluster_take_split). ARGV: self, ttl ms, placement lapses at
 * (ms), meeting id. Returns 1 when kept. */
static const char refresh_lua[] =
    "local owner = redis.call('GET', KEYS[1])\n"
    "if owner and owner ~= ARGV[1] then\n"
    "  local url = redis.call('HGET', 'vm:node:' .. owner, 'url')\n"
    "  if url then return {owner, url} end\n"
    "end\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "redis.call('ZADD', 'vm:owned:' .. ARGV[1], ARGV[3], ARGV[4])\n"
    "return 1\n";

/* Draining (cluster_handoff): hands KEYS[1] from this node (ARGV[1]) to the live, not draining node
 * ARGV[2], unless another live node owns it already (then says which). ARGV: self, target, ttl ms,
 * placement lapses at (ms), meeting id. Returns {} (the target is gone or draining) or
 * {owner, url, 1 when handed over now}. One script: nobody sees the meeting without an owner. */
static const char handoff_lua[] =
    "local owner = redis.call('GET', KEYS[1])\n"
    "if owner and owner ~= ARGV[1] then\n"
    "  local url = redis.call('HGET', 'vm:node:' .. owner, 'url')\n"
    "  if url then return {owner, url, 0} end\n"
    "end\n"
    "local t = redis.call('HMGET', 'vm:node:' .. ARGV[2], 'url', 'draining')\n"
    "if not t[1] or t[2] == '1' then return {} end\n"
    "redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])\n"
    "redis.call('ZREM', 'vm:owned:' .. ARGV[1], ARGV[5])\n"
    "redis.call('ZADD', 'vm:owned:' .. ARGV[2], ARGV[4], ARGV[5])\n"
    "return {ARGV[2], t[1], 1}\n";

typedef struct req {
    char meeting_id[VM_MEETING_ID_LEN + 1];
    char place_on[VM_NODE_ID_MAX];
    cluster_answer ans;             /* written by the cluster thread */
    cluster_done_fn done;           /* signaling thread only; NULL once cancelled */
    void *owner, *ud;
    cluster_handoff_fn handoff;     /* a handoff (cluster_handoff) rather than a locate */
    cluster_work_fn work;           /* a job of cluster_submit() instead of a locate */
    cluster_after_fn after;         /* its answer; called with owner NULL once cancelled */
    void *arg;
} req;

struct vm_cluster {
    const vm_config *cfg;
    char node_id[VM_NODE_ID_MAX];
    redis_target redis;             /* where REDIS_URL points */
    char media[128];
    cluster_wake_fn wake;
    void *wake_ud;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* under lock */
    bool stop;
    GQueue todo, done;              /* req* */
    GQueue splits;                  /* cluster_split*, owned: for cluster_take_split */
    size_t rep_participants;
    uint64_t rep_packets;
    GPtrArray *rep_ids;             /* char*, owned */
    GHashTable *handed;             /* char* (owned) -> NULL: handed to another node by a handoff whose
                                     * answer the report may not show yet (kept out of the refresh) */
    cluster_node *fresh;            /* owned; the node list the cluster thread read last */
    size_t n_fresh;
    bool fresh_set;
    bool tick_now;                  /* register at once (cluster_set_draining) */
    /* read anywhere */
    atomic_bool redis_up;
    atomic_bool draining;
    atomic_uint_fast64_t errors, conflicts, meetings_here;
    /* signaling thread only */
    GList *live;                    /* req* not yet answered by cluster_poll */
    cluster_node *nodes;
    size_t n_nodes;
    uint64_t placed;
    uint64_t list_gen;              /* node lists taken so far (cluster_choice_done) */
    /* cluster thread only */
    redisContext *rc;
    int64_t next_connect_ms;
    double last_cpu_s;
    uint64_t last_packets;
    int64_t last_sample_ms;
};

/* The server's clocks (server.c), in ms. */
static int64_t mono_ms(void)
{
    return (int64_t)(vm_mono_us() / 1000);
}

/* ---- the cluster thread ---- */

static void drop_connection(vm_cluster *c, const char *why)
{
    atomic_fetch_add(&c->errors, 1);
    if (atomic_exchange(&c->redis_up, false))
        LOG_W("cluster: lost Redis at %s:%d (%s); new meetings are refused until it is back", c->redis.host, c->redis.port,
              why);
    if (c->rc)
        redisFree(c->rc);
    c->rc = NULL;
    c->next_connect_ms = mono_ms() + CONNECT_RETRY_MS;
}

/* Frees r; true when it was an answer and not an error. */
static bool reply_ok(void *r)
{
    bool ok = r && ((redisReply *)r)->type != REDIS_REPLY_ERROR;
    if (r)
        freeReplyObject(r);
    return ok;
}

static bool connected(vm_cluster *c)
{
    if (c->rc)
        return true;
    if (mono_ms() < c->next_connect_ms)
        return false;
    struct timeval tv = {0, 500 * 1000};
    c->rc = redisConnectWithTimeout(c->redis.host, c->redis.port, tv);
    if (!c->rc || c->rc->err) {
        if (c->rc)
            redisFree(c->rc);
        c->rc = NULL;
        atomic_fetch_add(&c->errors, 1);
        c->next_connect_ms = mono_ms() + CONNECT_RETRY_MS;
        return false;
    }
    struct timeval to = {REDIS_TIMEOUT_MS / 1000, (REDIS_TIMEOUT_MS % 1000) * 1000};
    redisSetTimeout(c->rc, to);
    const char *failed = NULL;
    if (c->redis.password[0] &&
        !reply_ok(c->redis.user[0] ? redisCommand(c->rc, "AUTH %s %s", c->redis.user, c->redis.password)
                                   : redisCommand(c->rc, "AUTH %s", c->redis.password)))
        failed = "AUTH refused";
    else if (c->redis.db && !reply_ok(redisCommand(c->rc, "SELECT %d", c->redis.db)))
        failed = "SELECT failed";
    if (failed) {
        drop_connection(c, failed);
        return false;
    }
    atomic_store(&c->redis_up, true);
    LOG_I("cluster: node %s connected to Redis at %s:%d", c->node_id, c->redis.host, c->redis.port);
    return true;
}

/* One command; NULL on failure (the connection is dropped when it broke). The caller frees. */
static redisReply *run(vm_cluster *c, int argc, const char **argv)
{
    if (!connected(c))
        return NULL;
    redisReply *r = redisCommandArgv(c->rc, argc, argv, NULL);
    if (!r) {
        drop_connection(c, c->rc->errstr[0] ? c->rc->errstr : "no answer");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        LOG_W("cluster: Redis refused %s: %s", argv[0], r->str);
        atomic_fetch_add(&c->errors, 1);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

static void run_void(vm_cluster *c, int argc, const char **argv)
{
    redisReply *r = run(c, argc, argv);
    if (r)
        freeReplyObject(r);
}

static int64_t pending_ttl_ms(const vm_cluster *c)
{
    return c->cfg->meeting_grace_ms > LIVE_MEETING_TTL_MS ? c->cfg->meeting_grace_ms : LIVE_MEETING_TTL_MS;
}

static void do_locate(vm_cluster *c, req *q)
{
    char key[32], ttl[24], lapse[24];
    snprintf(key, sizeof(key), "vm:meeting:%s", q->meeting_id);
    int64_t t = pending_ttl_ms(c);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)t);
    snprintf(lapse, sizeof(lapse), "%lld", (long long)(vm_now_ms() + t));
    const char *argv[] = {"EVAL", locate_lua, "1", key, q->place_on, ttl, lapse, q->meeting_id, c->node_id};
    const char *handoff[] = {"EVAL", handoff_lua, "1", key, c->node_id, q->place_on, ttl, lapse, q->meeting_id};
    redisReply *r = run(c, (int)G_N_ELEMENTS(argv), q->handoff ? handoff : argv);
    memset(&q->ans, 0, sizeof(q->ans));
    if (!r) {
        q->ans.status = -1;
        return;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[0]->type == REDIS_REPLY_STRING &&
        r->element[1]->type == REDIS_REPLY_STRING) {
        q->ans.found = true;
        q->ans.placed = r->element[2]->type == REDIS_REPLY_INTEGER && r->element[2]->integer == 1;
        g_strlcpy(q->ans.owner, r->element[0]->str, sizeof(q->ans.owner));
        g_strlcpy(q->ans.url, r->element[1]->str, sizeof(q->ans.url));
    }
    freeReplyObject(r);
    if (q->handoff && q->ans.found && strcmp(q->ans.owner, c->node_id) != 0) {
        /* Until the signaling thread has taken this answer, its report still lists the meeting as
         * live here: the next refresh must not claim it back (nor count a split). */
        pthread_mutex_lock(&c->lock);
        g_hash_table_add(c->handed, g_strdup(q->meeting_id));
        pthread_mutex_unlock(&c->lock);
    }
}

/* Keeps this node's live meetings owned (pipelined: one round trip). */
static void refresh_meetings(vm_cluster *c, GPtrArray *ids)
{
    if (!ids->len || !connected(c))
        return;
    char self_ttl[24], lapse[24];
    snprintf(self_ttl, sizeof(self_ttl), "%d", LIVE_MEETING_TTL_MS);
    snprintf(lapse, sizeof(lapse), "%lld", (long long)(vm_now_ms() + LIVE_MEETING_TTL_MS));
    for (guint i = 0; i < ids->len; i++) {
        char key[32];
        snprintf(key, sizeof(key), "vm:meeting:%s", (const char *)ids->pdata[i]);
        const char *argv[] = {"EVAL", refresh_lua, "1", key, c->node_id, self_ttl, lapse, ids->pdata[i]};
        redisAppendCommandArgv(c->rc, (int)G_N_ELEMENTS(argv), argv, NULL);
    }
    for (guint i = 0; i < ids->len; i++) {
        void *v = NULL;
        if (redisGetReply(c->rc, &v) != REDIS_OK) {
            drop_connection(c, c->rc->errstr[0] ? c->rc->errstr : "no answer");
            return;
        }
        redisReply *r = v;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_STRING &&
            r->element[1]->type == REDIS_REPLY_STRING) {
            atomic_fetch_add(&c->conflicts, 1);
            cluster_split *sp = calloc(1, sizeof(*sp));
            if (sp) {
                g_strlcpy(sp->meeting_id, ids->pdata[i], sizeof(sp->meeting_id));
                g_strlcpy(sp->owner, r->element[0]->str, sizeof(sp->owner));
                g_strlcpy(sp->url, r->element[1]->str, sizeof(sp->url));
                pthread_mutex_lock(&c->lock);
                g_queue_push_tail(&c->splits, sp);
                pthread_mutex_unlock(&c->lock); /* taken by the signaling thread's next sweep */
            }
        } else if (r->type == REDIS_REPLY_ERROR) {
            atomic_fetch_add(&c->errors, 1);
        }
        freeReplyObject(r);
    }
}

/* Reads every registered node's record; drops ids whose record expired. */
static cluster_node *read_nodes(vm_cluster *c, size_t *n_out)
{
    *n_out = 0;
    const char *smembers[] = {"SMEMBERS", "vm:nodes"};
    redisReply *ids = run(c, 2, smembers);
    if (!ids)
        return NULL;
    cluster_node *nodes = ids->type == REDIS_REPLY_ARRAY && ids->elements ? calloc(ids->elements, sizeof(*nodes))
                                                                            : NULL;
    size_t n = 0;
    for (size_t i = 0; nodes && i < ids->elements && c->rc; i++) {
        const char *id = ids->element[i]->str;
        if (ids->element[i]->type != REDIS_REPLY_STRING || !placement_node_id_valid(id))
            continue;
        char key[VM_NODE_ID_MAX + 16];
        snprintf(key, sizeof(key), "vm:node:%s", id);
        const char *hgetall[] = {"HGETALL", key};
        redisReply *h = run(c, 2, hgetall);
        if (!h)
            continue;
        if (h->type == REDIS_REPLY_ARRAY && h->elements == 0) {
            const char *srem[] = {"SREM", "vm:nodes", id};
            run_void(c, 3, srem);
        } else if (h->type == REDIS_REPLY_ARRAY) {
            cluster_node *nd = &nodes[n];
            g_strlcpy(nd->id, id, sizeof(nd->id));
            for (size_t k = 0; k + 1 < h->elements; k += 2)
                if (h->element[k]->type == REDIS_REPLY_STRING && h->element[k + 1]->type == REDIS_REPLY_STRING)
                    placement_node_field(nd, h->element[k]->str, h->element[k + 1]->str);
            /* what Redis places on it now, whoever placed it (its record says it only at its tick) */
            char owned[VM_NODE_ID_MAX + 16], now_s[24];
            snprintf(owned, sizeof(owned), "vm:owned:%s", id);
            snprintf(now_s, sizeof(now_s), "%lld", (long long)vm_now_ms());
            const char *zcount[] = {"ZCOUNT", owned, now_s, "+inf"};
            redisReply *z = run(c, 4, zcount);
            if (z && z->type == REDIS_REPLY_INTEGER && (uint64_t)z->integer > nd->meetings)
                nd->meetings = (uint64_t)z->integer;
            if (z)
                freeReplyObject(z);
            if (placement_node_valid(nd))
                n++;
            else
                memset(nd, 0, sizeof(*nd));
        }
        freeReplyObject(h);
    }
    freeReplyObject(ids);
    *n_out = n;
    return nodes;
}

static double process_cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) < 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void tick(vm_cluster *c)
{
    pthread_mutex_lock(&c->lock);
    size_t participants = c->rep_participants;
    uint64_t packets = c->rep_packets;
    GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < c->rep_ids->len; i++)
        if (!g_hash_table_contains(c->handed, c->rep_ids->pdata[i]))
            g_ptr_array_add(ids, g_strdup(c->rep_ids->pdata[i]));
    pthread_mutex_unlock(&c->lock);

    int64_t now = mono_ms();
    double cpu_s = process_cpu_seconds(), cpu = 0;
    uint64_t pps = 0;
    if (c->last_sample_ms && now > c->last_sample_ms) {
        double dt = (double)(now - c->last_sample_ms) / 1000.0;
        cpu = (cpu_s - c->last_cpu_s) / dt;
        pps = packets >= c->last_packets ? (uint64_t)((double)(packets - c->last_packets) / dt) : 0;
    }
    c->last_sample_ms = now;
    c->last_cpu_s = cpu_s;
    c->last_packets = packets;

    if (connected(c)) {
        refresh_meetings(c, ids);
        char owned[VM_NODE_ID_MAX + 16], node_key[VM_NODE_ID_MAX + 16], now_s[24];
        snprintf(owned, sizeof(owned), "vm:owned:%s", c->node_id);
        snprintf(node_key, sizeof(node_key), "vm:node:%s", c->node_id);
        snprintf(now_s, sizeof(now_s), "%lld", (long long)vm_now_ms());
        const char *zrem[] = {"ZREMRANGEBYSCORE", owned, "-inf", now_s};
        run_void(c, 4, zrem);
        const char *zcard[] = {"ZCARD", owned};
        redisReply *r = run(c, 2, zcard);
        uint64_t meetings = r && r->type == REDIS_REPLY_INTEGER ? (uint64_t)r->integer : 0;
        if (r)
            freeReplyObject(r);
        if (meetings < ids->len)
            meetings = ids->len;
        atomic_store(&c->meetings_here, meetings);
        char cap[24], part[24], meet[24], pps_s[24], cpu_str[32], ttl[24], owned_ttl[24];
        snprintf(cap, sizeof(cap), "%zu", c->cfg->node_capacity);
        snprintf(part, sizeof(part), "%zu", participants);
        snprintf(meet, sizeof(meet), "%llu", (unsigned long long)meetings);
        snprintf(pps_s, sizeof(pps_s), "%llu", (unsigned long long)pps);
        snprintf(cpu_str, sizeof(cpu_str), "%.3f", cpu < 0 ? 0 : cpu);
        snprintf(ttl, sizeof(ttl), "%d", NODE_TTL_MS);
        snprintf(owned_ttl, sizeof(owned_ttl), "%lld", (long long)(pending_ttl_ms(c) + NODE_TTL_MS));
        const char *hset[] = {"HSET", node_key, "url", c->cfg->public_url, "media", c->media, "capacity", cap,
                              "participants", part, "meetings", meet, "pps", pps_s, "cpu", cpu_str, "updated", now_s,
                              "draining", atomic_load(&c->draining) ? "1" : "0"};
        run_void(c, (int)G_N_ELEMENTS(hset), hset);
        const char *pexpire[] = {"PEXPIRE", node_key, ttl};
        run_void(c, 3, pexpire);
        const char *pexpire_owned[] = {"PEXPIRE", owned, owned_ttl};
        run_void(c, 3, pexpire_owned);
        const char *sadd[] = {"SADD", "vm:nodes", c->node_id};
        run_void(c, 3, sadd);
    }
    g_ptr_array_free(ids, TRUE);
}

/* Reads every live node's record and hands the list to the signaling thread. */
static void read_list(vm_cluster *c)
{
    cluster_node *nodes = NULL;
    size_t n = 0;
    if (connected(c))
        nodes = read_nodes(c, &n);
    pthread_mutex_lock(&c->lock);
    free(c->fresh);
    c->fresh = nodes;
    c->n_fresh = n;
    c->fresh_set = true;
    pthread_mutex_unlock(&c->lock);
    c->wake(c->wake_ud);
}

/* The next moment, on the monotonic clock, that is offset_ms past a multiple of TICK_MS of the wall
 * clock. Every node registers at such moments (offset 0) and reads the node list half a period later
 * (READ_OFFSET_MS), so each one sees every record, its own included, as of the same instant: with
 * its own record fresher than the others' a node would look busier than it is and place too few
 * meetings on itself (videomeet-bench --rooms 30 over three nodes: 7/11/12 rooms). */
#define READ_OFFSET_MS (TICK_MS / 2)
static int64_t aligned(int64_t offset_ms)
{
    int64_t wall = vm_now_ms();
    int64_t next = (wall - offset_ms) / TICK_MS * TICK_MS + TICK_MS + offset_ms;
    return mono_ms() + (next - wall);
}

static void *thread_main(void *arg)
{
    vm_cluster *c = arg;
    int64_t next_tick = 0, next_read = 0;
    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        if (c->todo.length && !c->rc && mono_ms() >= c->next_connect_ms) {
            /* (Re)connecting: register and claim this node's live meetings before placing anything,
             * so that a Redis that came back empty does not hand them to another node meanwhile. */
            pthread_mutex_unlock(&c->lock);
            tick(c);
            read_list(c);
            next_tick = aligned(0);
            next_read = aligned(READ_OFFSET_MS);
            pthread_mutex_lock(&c->lock);
        }
        /* requests first, unless the registration is due: a steady stream of jobs (chat, cluster_chat.c)
         * must not keep the node from refreshing its record */
        if (c->todo.length && mono_ms() < next_tick) {
            GQueue batch = c->todo;
            g_queue_init(&c->todo);
            pthread_mutex_unlock(&c->lock);
            req *q;
            GQueue answered = G_QUEUE_INIT;
            while ((q = g_queue_pop_head(&batch))) {
                if (q->work)
                    q->work(c, q->arg);
                else
                    do_locate(c, q);
                g_queue_push_tail(&answered, q);
            }
            pthread_mutex_lock(&c->lock);
            while ((q = g_queue_pop_head(&answered)))
                g_queue_push_tail(&c->done, q);
            pthread_mutex_unlock(&c->lock);
            c->wake(c->wake_ud);
            pthread_mutex_lock(&c->lock);
            continue;
        }
        int64_t now = mono_ms();
        if (now >= next_tick || c->tick_now) {
            bool read_too = c->tick_now || !next_read; /* at once: a drain, or the first registration */
            c->tick_now = false;
            pthread_mutex_unlock(&c->lock);
            tick(c);
            if (read_too)
                read_list(c);
            next_tick = aligned(0);
            if (read_too)
                next_read = aligned(READ_OFFSET_MS);
            pthread_mutex_lock(&c->lock);
            continue;
        }
        if (now >= next_read) {
            pthread_mutex_unlock(&c->lock);
            read_list(c);
            next_read = aligned(READ_OFFSET_MS);
            pthread_mutex_lock(&c->lock);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        int64_t wait = (next_tick < next_read ? next_tick : next_read) - now;
        until.tv_sec += wait / 1000;
        until.tv_nsec += (wait % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&c->cond, &c->lock, &until);
    }
    pthread_mutex_unlock(&c->lock);
    if (c->rc) {
        /* A node that stops leaves at once rather than 6 s later: nothing new is placed on it. */
        char node_key[VM_NODE_ID_MAX + 16];
        snprintf(node_key, sizeof(node_key), "vm:node:%s", c->node_id);
        const char *del[] = {"DEL", node_key};
        run_void(c, 2, del);
        const char *srem[] = {"SREM", "vm:nodes", c->node_id};
        run_void(c, 3, srem);
    }
    if (c->rc)
        redisFree(c->rc);
    c->rc = NULL;
    return NULL;
}

/* ---- the signaling thread ---- */

vm_cluster *cluster_start(const vm_config *cfg, cluster_wake_fn wake, void *ud)
{
    if (!cfg->redis_url[0])
        return NULL;
    vm_cluster *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->cfg = cfg;
    c->wake = wake;
    c->wake_ud = ud;
    if (placement_parse_redis_url(cfg->redis_url, &c->redis) < 0) {
        free(c);
        return NULL;
    }
    if (cfg->node_id[0]) {
        g_strlcpy(c->node_id, cfg->node_id, sizeof(c->node_id));
    } else {
        c->node_id[0] = 'n';
        if (ids_random(c->node_id + 1, 10) < 0) {
            free(c);
            return NULL;
        }
    }
    const char *ip = cfg->announced_ip[0] ? cfg->announced_ip : cfg->rtc_ip_count ? cfg->rtc_ips[0] : "";
    snprintf(c->media, sizeof(c->media), "%s udp %d-%d", ip[0] ? ip : "auto", cfg->rtc_min_port, cfg->rtc_max_port);
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    g_queue_init(&c->todo);
    g_queue_init(&c->done);
    g_queue_init(&c->splits);
    c->rep_ids = g_ptr_array_new_with_free_func(g_free);
    c->handed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    atomic_init(&c->redis_up, false);
    if (pthread_create(&c->thread, NULL, thread_main, c) != 0) {
        g_ptr_array_free(c->rep_ids, TRUE);
        g_hash_table_destroy(c->handed);
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->cond);
        free(c);
        return NULL;
    }
    LOG_I("cluster: node %s (%s) uses Redis at %s:%d db %d", c->node_id, cfg->public_url, c->redis.host, c->redis.port, c->redis.db);
    return c;
}

void cluster_free(vm_cluster *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    for (GList *l = c->live; l; l = l->next) { /* jobs free their argument */
        req *q = l->data;
        if (q->after)
            q->after(NULL, q->arg);
    }
    g_list_free_full(c->live, free); /* every request not yet freed by cluster_poll */
    g_queue_clear(&c->todo);
    g_queue_clear(&c->done);
    g_queue_clear_full(&c->splits, free);
    g_ptr_array_free(c->rep_ids, TRUE);
    g_hash_table_destroy(c->handed);
    free(c->fresh);
    free(c->nodes);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c);
}

const char *cluster_node_id(const vm_cluster *c)
{
    return c->node_id;
}

/* Hands q (signaling thread) to the cluster thread; cluster_poll() frees it once answered. */
static void enqueue(vm_cluster *c, req *q)
{
    c->live = g_list_prepend(c->live, q);
    pthread_mutex_lock(&c->lock);
    g_queue_push_tail(&c->todo, q);
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

static int queue_req(vm_cluster *c, const char *meeting_id, const char *place_on, cluster_done_fn done, void *owner,
                     void *ud, cluster_handoff_fn handoff)
{
    req *q = calloc(1, sizeof(*q));
    if (!q)
        return -1;
    g_strlcpy(q->meeting_id, meeting_id, sizeof(q->meeting_id));
    g_strlcpy(q->place_on, place_on ? place_on : "", sizeof(q->place_on));
    q->done = done;
    q->owner = owner;
    q->ud = ud;
    q->handoff = handoff;
    enqueue(c, q);
    return 0;
}

int cluster_locate(vm_cluster *c, const char *meeting_id, const char *place_on, cluster_done_fn done, void *owner,
                   void *ud)
{
    return queue_req(c, meeting_id, place_on, done, owner, ud, NULL);
}

int cluster_handoff(vm_cluster *c, const char *meeting_id, const char *to, cluster_handoff_fn done, void *ud)
{
    return queue_req(c, meeting_id, to, NULL, NULL, ud, done);
}

void cluster_set_draining(vm_cluster *c)
{
    atomic_store(&c->draining, true);
    pthread_mutex_lock(&c->lock);
    c->tick_now = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

bool cluster_take_split(vm_cluster *c, cluster_split *out)
{
    pthread_mutex_lock(&c->lock);
    cluster_split *sp = g_queue_pop_head(&c->splits);
    pthread_mutex_unlock(&c->lock);
    if (!sp)
        return false;
    *out = *sp;
    free(sp);
    return true;
}

void cluster_cancel(vm_cluster *c, void *owner)
{
    for (GList *l = c->live; l; l = l->next) {
        req *q = l->data;
        if (q->owner == owner) {
            q->done = NULL;
            q->owner = NULL;
        }
    }
}

void cluster_poll(vm_cluster *c)
{
    pthread_mutex_lock(&c->lock);
    GQueue batch = c->done;
    g_queue_init(&c->done);
    if (c->fresh_set) {
        free(c->nodes);
        c->nodes = c->fresh;
        c->n_nodes = c->n_fresh;
        c->fresh = NULL;
        c->n_fresh = 0;
        c->fresh_set = false;
        c->list_gen++;
    }
    pthread_mutex_unlock(&c->lock);
    req *q;
    while ((q = g_queue_pop_head(&batch))) {
        c->live = g_list_remove(c->live, q);
        if (q->after)
            q->after(q->owner, q->arg);
        else if (q->handoff)
            q->handoff(q->ud, q->meeting_id, &q->ans);
        else if (q->done)
            q->done(q->owner, q->ud, &q->ans);
        free(q);
    }
}

int cluster_submit(vm_cluster *c, cluster_work_fn work, cluster_after_fn after, void *owner, void *arg)
{
    req *q = calloc(1, sizeof(*q));
    if (!q)
        return -1;
    q->work = work;
    q->after = after;
    q->owner = owner;
    q->arg = arg;
    enqueue(c, q);
    return 0;
}

void *cluster_command(vm_cluster *c, int argc, const char **argv)
{
    return run(c, argc, argv);
}

void cluster_report(vm_cluster *c, const cluster_load *load)
{
    pthread_mutex_lock(&c->lock);
    c->rep_participants = load->participants;
    c->rep_packets = load->packets_out;
    g_ptr_array_set_size(c->rep_ids, 0);
    for (size_t i = 0; i < load->n_meetings; i++)
        g_ptr_array_add(c->rep_ids, g_strdup(load->meeting_ids[i]));
    /* A handed meeting the report no longer lists is known to the signaling thread (or gone): forget it. */
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, c->handed);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        bool listed = false;
        for (size_t i = 0; i < load->n_meetings && !listed; i++)
            listed = strcmp(load->meeting_ids[i], key) == 0;
        if (!listed)
            g_hash_table_iter_remove(&it);
    }
    pthread_mutex_unlock(&c->lock);
}

int cluster_choose(vm_cluster *c, char out[VM_NODE_ID_MAX])
{
    if (atomic_load(&c->draining)) /* our record may say otherwise until the next node list */
        for (size_t i = 0; i < c->n_nodes; i++)
            if (!strcmp(c->nodes[i].id, c->node_id))
                c->nodes[i].draining = true;
    int k = atomic_load(&c->redis_up) ? placement_choose(c->nodes, c->n_nodes, c->node_id) : -1;
    if (k < 0)
        return -1;
    c->nodes[k].meetings++; /* until the node's next registration says it */
    g_strlcpy(out, c->nodes[k].id, VM_NODE_ID_MAX);
    return 0;
}

uint64_t cluster_list_gen(const vm_cluster *c)
{
    return c->list_gen;
}

static cluster_node *node_named(vm_cluster *c, const char *id)
{
    for (size_t i = 0; id && i < c->n_nodes; i++)
        if (!strcmp(c->nodes[i].id, id))
            return &c->nodes[i];
    return NULL;
}

void cluster_choice_done(vm_cluster *c, const char *chosen, uint64_t gen, const cluster_answer *a, bool joining)
{
    bool found = a->status == 0 && a->found;
    if (found && a->placed)
        c->placed++;
    cluster_node *n = chosen && gen == c->list_gen ? node_named(c, chosen) : NULL;
    if (n && !(found && a->placed && !strcmp(a->owner, chosen)) && n->meetings > 0)
        n->meetings--;
    n = joining && found ? node_named(c, a->owner) : NULL;
    if (n)
        n->participants++;
}

void cluster_get_status(vm_cluster *c, cluster_status *out)
{
    out->redis_up = atomic_load(&c->redis_up);
    out->nodes_alive = c->n_nodes;
    out->meetings_here = atomic_load(&c->meetings_here);
    out->redis_errors = atomic_load(&c->errors);
    out->conflicts = atomic_load(&c->conflicts);
    out->placed = c->placed;
}

size_t cluster_nodes(vm_cluster *c, const cluster_node **out)
{
    *out = c->nodes;
    return c->n_nodes;
}
