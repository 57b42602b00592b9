/* sfu.c - the bridge between the signaling thread and the media workers (see sfu.h).
 *
 * The signaling thread keeps a map meeting id -> room_ref {worker, member count}. Every call
 * becomes a command queued to that worker with worker_invoke(); the worker runs commands in order,
 * creates the room on the first one and frees it on the last (ROOM_FREE, posted when the member count
 * drops to zero). ref->room is touched only on the worker; ref->members only on the signaling thread.
 *
 * Failures are told, never swallowed: a command that cannot be queued, or a room that cannot be made
 * on the worker, becomes SFU_EV_INTERNAL for the participant it was for (signaling then takes it out
 * of the meeting with an `internal` error, and a new join starts from nothing). The command that
 * frees a room is made with the room's reference, so it cannot fail.
 */
#include "sfu/sfu.h"

#include <glib.h>
#include <stdlib.h>
/* Free heap is handed back with glibc's malloc_trim, except under AddressSanitizer, whose allocator
 * replaces glibc's (trimming there freed nothing, and stalled a browser test's meeting: see
 * bench/README.md "Soak"). */
#if defined(__SANITIZE_ADDRESS__)
#define VM_TRIM_HEAP 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VM_TRIM_HEAP 0
#endif
#endif
#if !defined(VM_TRIM_HEAP) && defined(__GLIBC__)
#define VM_TRIM_HEAP 1
#include <malloc.h>
#endif
#include <string.h>

#include "sfu/cert.h"
#include "sfu/dtls.h"
#include "sfu/fault.h"
#include "sfu/room.h"
#include "sfu/worker.h"
#include "sfu/log.h"
#include "sfu/sctp.h"

typedef struct {
    sfu_stats stats;
    sfu_ice_config ice;
} worker_slot;

struct sfu {
    sfu_config cfg;
    cert_t *cert;
    dtls_ctx_t *dtls;
    sfu_worker_pool *pool;
    worker_slot *slots;       /* one per worker */
    const char *ips[SFU_MAX_IPS];             /* into cfg.rtc_ips */
    GHashTable *rooms;        /* meeting id -> room_ref*, signaling thread only */
    sfu_event_fn emit;
    void *emit_ud;
};

typedef enum { CMD_JOIN, CMD_LEAVE, CMD_SDP, CMD_CANDIDATE, CMD_VIEWS, CMD_ICE_RESTART, CMD_SCREEN_MIDS, CMD_ROOM_FREE } cmd_op;

typedef struct room_ref room_ref;

typedef struct {
    room_ref *ref;
    cmd_op op;
    sfu_pc pc;
    char user_id[32];
    char *text;
    sfu_view *views; /* CMD_VIEWS */
    size_t n_views;
    bool embedded;   /* the room_ref's own CMD_ROOM_FREE: freed with the ref, not alone */
} cmd;

struct room_ref {
    sfu *s;
    sfu_worker *worker;
    room *room;               /* worker thread only */
    size_t members;           /* signaling thread only */
    char meeting_id[16];
    cmd free_cmd;             /* CMD_ROOM_FREE, ready from the start: freeing a room never fails */
};

static void cmd_free(gpointer data)
{
    cmd *c = data;
    if (!c)
        return;
    if (c->embedded) {
        free(c->ref); /* the ROOM_FREE command ran (or never will): its ref goes with it */
        return;
    }
    free(c->text);
    free(c->views);
    free(c);
}

/* Tells signaling that the media plane failed the participant (SFU_EV_INTERNAL); any thread. */
static void emit_internal(sfu *s, const char *meeting_id, const char *user_id, sfu_pc pc, const char *why)
{
    LOG_E("sfu %s: %s: %s", meeting_id, user_id, why);
    sfu_event *ev = calloc(1, sizeof(*ev));
    char *text = strdup(why);
    if (!ev || !text) {
        free(ev);
        free(text);
        return;
    }
    ev->kind = SFU_EV_INTERNAL;
    ev->pc = pc;
    g_strlcpy(ev->meeting_id, meeting_id, sizeof(ev->meeting_id));
    g_strlcpy(ev->user_id, user_id, sizeof(ev->user_id));
    ev->text = text;
    s->emit(s->emit_ud, ev);
}

static room_env make_env(room_ref *ref)
{
    sfu *s = ref->s;
    worker_slot *slot = &s->slots[worker_index(ref->worker)];
    room_env env;
    memset(&env, 0, sizeof(env));
    env.peer.ctx = worker_context(ref->worker);
    env.peer.dtls = s->dtls;
    env.peer.cert = s->cert;
    env.peer.ice = &slot->ice;
    env.peer.stats = &slot->stats;
    env.emit = s->emit;
    env.emit_ud = s->emit_ud;
    return env;
}

static gboolean run_cmd(gpointer data)
{
    cmd *c = data;
    room_ref *ref = c->ref;
    if (!ref->room && (c->op == CMD_LEAVE || c->op == CMD_ROOM_FREE))
        return G_SOURCE_REMOVE; /* the room was never made: nothing to undo */
    if (!ref->room) {
        room_env env = make_env(ref);
        ref->room = fault_hit("room-new") ? NULL : room_new(&env, ref->meeting_id);
        if (!ref->room) {
            /* the next command of the meeting tries again */
            if (c->user_id[0])
                emit_internal(ref->s, ref->meeting_id, c->user_id, c->pc, "the server could not set up the meeting's media");
            return G_SOURCE_REMOVE;
        }
    }
    switch (c->op) {
    case CMD_JOIN:
        room_join(ref->room, c->user_id);
        break;
    case CMD_LEAVE:
        room_leave(ref->room, c->user_id);
        break;
    case CMD_SDP:
        room_remote_sdp(ref->room, c->user_id, c->pc, c->text);
        break;
    case CMD_CANDIDATE:
        room_remote_candidate(ref->room, c->user_id, c->pc, c->text);
        break;
    case CMD_VIEWS:
        room_video_views(ref->room, c->user_id, c->views, c->n_views);
        break;
    case CMD_ICE_RESTART:
        room_restart_ice(ref->room, c->user_id, c->pc);
        break;
    case CMD_SCREEN_MIDS:
        room_screen_mids(ref->room, c->user_id, c->text);
        break;
    case CMD_ROOM_FREE:
        room_free(ref->room); /* the ref itself goes with this command (cmd_free) */
        ref->room = NULL;
#if VM_TRIM_HEAP
        /* A meeting's media takes megabytes (retransmission caches, pacers, SRTP and ICE state) from
         * the worker thread's malloc arena, and glibc keeps what is freed: after a few rounds of
         * meetings the process stayed ~100 MB above its start with nobody connected, all of it free
         * heap (bench/soak.sh; bench/README.md "Soak"). Handing the free pages of every arena back
         * when a meeting ends costs a walk of the arenas then, and nothing on the packet path. */
        malloc_trim(0);
#endif
        break;
    }
    return G_SOURCE_REMOVE;
}

static cmd *cmd_new(room_ref *ref, cmd_op op, const char *user_id, sfu_pc pc, const char *text)
{
    cmd *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->ref = ref;
    c->op = op;
    c->pc = pc;
    if (user_id)
        g_strlcpy(c->user_id, user_id, sizeof(c->user_id));
    c->text = text ? strdup(text) : NULL;
    return c;
}

static void post(room_ref *ref, cmd_op op, const char *user_id, sfu_pc pc, const char *text)
{
    cmd *c = op != CMD_LEAVE && fault_hit("sfu-command") ? NULL : cmd_new(ref, op, user_id, pc, text);
    if (c && (!text || c->text)) {
        worker_invoke(ref->worker, run_cmd, c, cmd_free);
        return;
    }
    cmd_free(c);
    if (op == CMD_LEAVE) /* nobody to tell: the member goes with its room at the latest */
        LOG_E("sfu %s: %s: no memory to take it out of the room", ref->meeting_id, user_id);
    else
        emit_internal(ref->s, ref->meeting_id, user_id, pc, "the server could not pass a request to the media plane");
}

/* Frees the room with its meeting's worker (the ref's own command: it cannot fail). */
static void post_room_free(room_ref *ref)
{
    ref->free_cmd = (cmd){.ref = ref, .op = CMD_ROOM_FREE, .embedded = true};
    worker_invoke(ref->worker, run_cmd, &ref->free_cmd, cmd_free);
}

sfu *sfu_new(const sfu_config *config, sfu_event_fn fn, void *ud)
{
    sfu *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->cfg = *config;
    const sfu_config *cfg = &s->cfg;
    s->emit = fn;
    s->emit_ud = ud;
    fault_set(getenv("VM_FAULT"));
    s->cert = cert_new();
    s->dtls = s->cert ? dtls_ctx_new(s->cert) : NULL;
    if (!s->dtls) {
        LOG_E("sfu: cannot make the DTLS certificate");
        sfu_free(s);
        return NULL;
    }
    for (size_t i = 0; i < cfg->rtc_ip_count && i < SFU_MAX_IPS; i++)
        s->ips[i] = cfg->rtc_ips[i];
    s->slots = calloc((size_t)cfg->workers, sizeof(worker_slot));
    for (int i = 0; s->slots && i < cfg->workers; i++) {
        sfu_ice_config *ic = &s->slots[i].ice;
        ic->ips = s->ips;
        ic->ip_count = cfg->rtc_ip_count;
        ic->announced_ip = cfg->announced_ip[0] ? cfg->announced_ip : NULL;
        ic->min_port = (unsigned)cfg->rtc_min_port;
        ic->max_port = (unsigned)cfg->rtc_max_port;
    }
    s->pool = s->slots ? worker_pool_start(cfg->workers) : NULL;
    if (!s->pool) {
        sfu_free(s);
        return NULL;
    }
    s->rooms = g_hash_table_new(g_str_hash, g_str_equal);
    LOG_I("sfu: %d media worker(s), UDP ports %d-%d, fingerprint %s", cfg->workers, cfg->rtc_min_port,
          cfg->rtc_max_port, cert_fingerprint_text(s->cert));
    return s;
}

void sfu_free(sfu *s)
{
    if (!s)
        return;
    if (s->rooms) {
        GHashTableIter it;
        gpointer key, value;
        g_hash_table_iter_init(&it, s->rooms);
        while (g_hash_table_iter_next(&it, &key, &value)) {
            post_room_free(value);
        }
        g_hash_table_destroy(s->rooms);
    }
    worker_pool_stop(s->pool); /* runs the queued ROOM_FREE commands first */
    sctp_shutdown();           /* every association went with its room */
    if (s->slots) {
        /* every peer is gone: each gauge is back at 0 unless a connection was counted wrong */
        sfu_stats t;
        sfu_stats_total(s, &t);
        LOG_I("sfu: stopped; WebRTC connections left: new %llu, connecting %llu, connected %llu, failed %llu; "
              "ports in use %llu",
              (unsigned long long)STATS_GET(t.peers[0]), (unsigned long long)STATS_GET(t.peers[1]),
              (unsigned long long)STATS_GET(t.peers[2]), (unsigned long long)STATS_GET(t.peers[3]),
              (unsigned long long)STATS_GET(t.ports_in_use));
    }
    free(s->slots);
    dtls_ctx_free(s->dtls);
    cert_free(s->cert);
    free(s);
}

static room_ref *find(sfu *s, const char *meeting_id)
{
    return g_hash_table_lookup(s->rooms, meeting_id);
}

void sfu_join(sfu *s, const char *meeting_id, const char *user_id)
{
    room_ref *ref = find(s, meeting_id);
    if (!ref) {
        ref = calloc(1, sizeof(*ref));
        if (!ref) {
            emit_internal(s, meeting_id, user_id, SFU_PC_UP, "the server could not set up the meeting's media");
            return;
        }
        ref->s = s;
        ref->worker = worker_pool_assign(s->pool);
        g_strlcpy(ref->meeting_id, meeting_id, sizeof(ref->meeting_id));
        g_hash_table_insert(s->rooms, ref->meeting_id, ref);
        LOG_I("sfu: meeting %s on worker %d", meeting_id, worker_index(ref->worker));
    }
    ref->members++;
    post(ref, CMD_JOIN, user_id, SFU_PC_UP, NULL);
}

void sfu_leave(sfu *s, const char *meeting_id, const char *user_id)
{
    room_ref *ref = find(s, meeting_id);
    if (!ref)
        return;
    post(ref, CMD_LEAVE, user_id, SFU_PC_UP, NULL);
    if (--ref->members == 0) {
        g_hash_table_remove(s->rooms, meeting_id);
        worker_pool_release(s->pool, ref->worker);
        post_room_free(ref);
    }
}

void sfu_remote_sdp(sfu *s, const char *meeting_id, const char *user_id, sfu_pc pc, const char *sdp)
{
    room_ref *ref = find(s, meeting_id);
    if (ref)
        post(ref, CMD_SDP, user_id, pc, sdp);
}

void sfu_screen_mids(sfu *s, const char *meeting_id, const char *user_id, const char *mids)
{
    room_ref *ref = find(s, meeting_id);
    if (ref)
        post(ref, CMD_SCREEN_MIDS, user_id, SFU_PC_UP, mids ? mids : "");
}

void sfu_remote_candidate(sfu *s, const char *meeting_id, const char *user_id, sfu_pc pc, const char *cand)
{
    room_ref *ref = find(s, meeting_id);
    if (ref)
        post(ref, CMD_CANDIDATE, user_id, pc, cand);
}

void sfu_restart_ice(sfu *s, const char *meeting_id, const char *user_id, sfu_pc pc)
{
    room_ref *ref = find(s, meeting_id);
    if (ref)
        post(ref, CMD_ICE_RESTART, user_id, pc, NULL);
}

void sfu_video_views(sfu *s, const char *meeting_id, const char *user_id, const sfu_view *views, size_t n)
{
    room_ref *ref = find(s, meeting_id);
    if (!ref || n == 0 || n > SFU_MAX_VIEWS)
        return;
    cmd *c = cmd_new(ref, CMD_VIEWS, user_id, SFU_PC_DOWN, NULL);
    if (!c)
        return;
    c->views = malloc(n * sizeof(*views));
    if (!c->views) {
        cmd_free(c);
        return;
    }
    memcpy(c->views, views, n * sizeof(*views));
    c->n_views = n;
    worker_invoke(ref->worker, run_cmd, c, cmd_free);
}

void sfu_event_free(sfu_event *ev)
{
    if (!ev)
        return;
    free(ev->text);
    free(ev);
}

void sfu_stats_total(sfu *s, sfu_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < s->cfg.workers; i++) {
        sfu_stats *w = &s->slots[i].stats;
#define SFU_STATS_SUM(name, help) STATS_ADD(out->name, STATS_GET(w->name));
        SFU_STATS_FIELDS(SFU_STATS_SUM)
#undef SFU_STATS_SUM
        for (int k = 0; k < 4; k++)
            STATS_ADD(out->peers[k], STATS_GET(w->peers[k]));
        for (int k = 0; k < DTLS_DROP_REASONS; k++)
            STATS_ADD(out->dtls_dropped[k], STATS_GET(w->dtls_dropped[k]));
        for (int k = 0; k <= SFU_FWD_DELAY_BUCKETS; k++)
            STATS_ADD(out->fwd_delay[k], STATS_GET(w->fwd_delay[k]));
        STATS_ADD(out->fwd_delay_sum_us, STATS_GET(w->fwd_delay_sum_us));
        STATS_ADD(out->ports_in_use, STATS_GET(w->ports_in_use));
        STATS_ADD(out->ports_exhausted, STATS_GET(w->ports_exhausted));
    }
}

int sfu_worker_count(const sfu *s)
{
    return s->cfg.workers;
}

double sfu_worker_cpu_seconds(sfu *s, int i)
{
    sfu_worker *w = worker_pool_get(s->pool, i);
    return w ? worker_cpu_seconds(w) : 0;
}

void sfu_worker_net_counters(sfu *s, int i, netloop_counters *out)
{
    sfu_worker *w = worker_pool_get(s->pool, i);
    if (w)
        netloop_get_counters(worker_context(w), out);
    else
        memset(out, 0, sizeof(*out));
}

