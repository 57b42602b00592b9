/* netloop.c - child contexts multiplexed by epoll, and batched UDP output (see netloop.h).
 *
 * One netloop per parent context, found through a small registry (parent → netloop) and made on the
 * first child. The netloop is a GSource attached to the parent: its one fd is the epoll set.
 *
 * A child is driven with GLib's steps for external loops. When it goes idle: g_main_context_prepare()
 * and _query() give its fds (registered in epoll, tagged with the child) and its timeout (kept as a
 * deadline). When one of its fds fires, its deadline passes or it was touched: its fds' revents are
 * what epoll said of them in this wake-up (poll(0) on its own few fds only when more of them fired
 * than the child keeps), g_main_context_check() and _dispatch(), then prepare + query again. Children
 * are acquired by the parent's thread for their life and made with G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING,
 * so a source attached to one from any code wakes its GWakeup fd, which is among its fds.
 *
 * Deferred work: netloop_defer() links a caller-owned task; tasks run at the end of every dispatch
 * and in prepare, just before the flush (the room's fan-out uses this to serve each subscriber for all
 * the packets of an iteration in one go).
 *
 * Output: netloop_send() copies the datagram into the netloop's slot arena and appends it to the
 * child's queue (one destination at a time). The queues are flushed at the end of every dispatch of the
 * netloop and in its prepare (so before the parent sleeps, whatever source queued them), when the
 * arena or a queue is full, and when the destination changes. A flushed queue goes into the loop's
 * io_uring batch (sfu/udp_ring.h), which is submitted once at the end of the iteration, or when it or
 * the arena is full: one system call for the sends to every socket; the arena's slots are reused only
 * after that. Without io_uring (unavailable, or netloop_set_io_uring(false)) each flushed queue is
 * sent at once (sfu/udp_tx.h). Hot path: no allocation (the arena, the queues and the batch are sized
 * once), no lock.
 *
 * Ownership: the registry holds no reference; the parent context owns the netloop's GSource, and
 * finalizing it (parent destroyed) removes the registry entry. A child owns its context (released and
 * unreferenced in netloop_child_free) and its fd lists.
 */
#include "sfu/netloop.h"

#include "sfu/log.h"
#include "sfu/stats.h" /* STATS_ADD / STATS_GET: single-writer relaxed counters */
#include "sfu/udp_ring.h"
#include "sfu/udp_tx.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define SLOT_BYTES 1504u   /* a datagram larger than this is sent at once, not queued */
#define ARENA_SLOTS 512u   /* queued or batched datagrams per netloop (750 KiB), across all children;
                               * when full, the batch leaves (a webinar's fan-out of a frame to 200
                               * receivers fills it 1-3 times) */
#define QUEUE_MAX 64u      /* queued datagrams per child */
#define EPOLL_BATCH 256
#define URING_OPS 256u     /* sendmsg operations per io_uring submit (a receiver's runs: 1-3 each) */
#define READY_MAX 4        /* fds of one child that epoll reported in one wake-up, kept for its run */

typedef struct netloop netloop;

struct netloop_child {
    netloop *loop;
    GMainContext *ctx;
    size_t index;               /* in loop->children */
    GPollFD *fds;               /* from the last query (revents filled before check) */
    gint nfds, fds_cap;
    GPollFD *reg;               /* what epoll holds for this child */
    gint nreg, reg_cap;
    gint max_prio;
    gint64 deadline;            /* monotonic µs of the next timeout, G_MAXINT64 for none */
    bool dirty;                 /* run at the next pass */
    uint8_t n_ready;            /* epoll's report of this wake-up: fds and their events */
    bool ready_overflow;        /* more than READY_MAX fired: ask poll(0) */
    int ready_fd[READY_MAX];
    uint32_t ready_ev[READY_MAX];
    bool dispatching, dead;
    int reader_fd;              /* read by reader() before the child's sources, or -1 */
    netloop_reader reader;
    void *reader_ud;
    /* output queue: one destination */
    int q_fd;
    struct sockaddr_storage q_to;
    socklen_t q_tolen;
    unsigned q_n;
    uint16_t q_slot[QUEUE_MAX];
    uint16_t q_len[QUEUE_MAX];
    bool q_listed;              /* in loop->pending */
};

struct netloop {
    GSource source;             /* first: the netloop is the GSource */
    GMainContext *parent;
    int epfd;
    gpointer epfd_tag;
    netloop_child **children;   /* NULL slots are freed children, compacted after a pass */
    size_t n_children, cap_children;
    netloop_child **fd_owner;   /* fd → child that registered it in epoll */
    int fd_owner_cap;
    bool in_dispatch, any_dirty, has_holes;
    /* output */
    uint8_t *arena;             /* ARENA_SLOTS * SLOT_BYTES, made on the first send */
    unsigned arena_used;
    netloop_task *tasks, **tasks_tail; /* deferred work, run before the flush */
    netloop_child **pending;    /* children with queued datagrams */
    size_t n_pending, cap_pending;
    bool gso;
    udp_ring *ring;             /* the batch of sends of this iteration; NULL: sent queue by queue */
    _Atomic uint64_t wakeups, child_runs, reader_runs, datagrams, sends, send_errors, send_syscalls;
};

/* ---- registry: parent context → netloop ---- */

static GMutex registry_lock;
static GHashTable *registry;

static netloop *registry_get(GMainContext *parent)
{
    g_mutex_lock(&registry_lock);
    netloop *l = registry ? g_hash_table_lookup(registry, parent) : NULL;
    g_mutex_unlock(&registry_lock);
    return l;
}

static void registry_set(GMainContext *parent, netloop *l)
{
    g_mutex_lock(&registry_lock);
    if (l) {
        if (!registry)
            registry = g_hash_table_new(g_direct_hash, g_direct_equal);
        g_hash_table_insert(registry, parent, l);
    } else if (registry) {
        g_hash_table_remove(registry, parent);
        if (g_hash_table_size(registry) == 0) {
            g_hash_table_destroy(registry);
            registry = NULL;
        }
    }
    g_mutex_unlock(&registry_lock);
}

/* ---- deferred work ---- */

void netloop_defer(netloop_child *c, netloop_task *t)
{
    netloop *l = c->loop;
    if (t->loop || !l)
        return;
    t->loop = l;
    t->next = NULL;
    *l->tasks_tail = t;
    l->tasks_tail = &t->next;
}

void netloop_task_cancel(netloop_task *t)
{
    netloop *l = t->loop;
    if (!l)
        return;
    for (netloop_task **pp = &l->tasks; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            if (l->tasks_tail == &t->next)
                l->tasks_tail = pp;
            break;
        }
    }
    t->loop = NULL;
    t->next = NULL;
}

/* Runs the tasks queued so far; one a task defers meanwhile waits for the next round. */
static void run_tasks(netloop *l)
{
    netloop_task *t = l->tasks;
    l->tasks = NULL;
    l->tasks_tail = &l->tasks;
    while (t) {
        netloop_task *next = t->next;
        t->loop = NULL;
        t->next = NULL;
        t->fn(t);
        t = next;
    }
}

/* ---- output ---- */

/* Adds what sending did to the loop's counters: r's sends (sendmsg operations) and the system calls
 * that made them (one per operation without io_uring). */
static void account(netloop *l, const udp_tx_result *r, unsigned syscalls)
{
    STATS_ADD(l->datagrams, r->sent);
    STATS_ADD(l->sends, r->calls);
    STATS_ADD(l->send_errors, r->failed);
    STATS_ADD(l->send_syscalls, syscalls);
}

/* Hands the batch to the kernel (a no-op when empty or without io_uring). */
static void submit(netloop *l)
{
    if (!l->ring || udp_ring_pending(l->ring) == 0)
        return;
    udp_tx_result r = {0};
    unsigned calls = udp_ring_submit(l->ring, &l->gso, &r);
    account(l, &r, calls);
    if (udp_ring_broken(l->ring)) {
        LOG_W("netloop: io_uring refused a submit; sending one system call per socket from now on");
        udp_ring_free(l->ring);
        l->ring = NULL;
    }
}

/* Nothing queued or batched anywhere: the arena's slots are free again (and stay warm). */
static void release_arena_if_idle(netloop *l)
{
    if (l->n_pending == 0 && (!l->ring || udp_ring_pending(l->ring) == 0))
        l->arena_used = 0;
}

static void flush_child(netloop_child *c)
{
    netloop *l = c->loop;
    if (c->q_n == 0)
        return;
    udp_tx_dgram d[QUEUE_MAX];
    for (unsigned i = 0; i < c->q_n; i++) {
        d[i].buf = l->arena + (size_t)c->q_slot[i] * SLOT_BYTES;
        d[i].len = c->q_len[i];
    }
    const struct sockaddr *to = (const struct sockaddr *)&c->q_to;
    int rc = -1;
    if (l->ring) {
        rc = udp_ring_add(l->ring, c->q_fd, to, c->q_tolen, d, c->q_n, l->gso);
        if (rc == -ENOSPC) {
            submit(l);
            if (l->ring)
                rc = udp_ring_add(l->ring, c->q_fd, to, c->q_tolen, d, c->q_n, l->gso);
        }
    }
    if (rc != 0) {
        udp_tx_result r = {0};
        udp_tx_send(c->q_fd, to, c->q_tolen, d, c->q_n, &l->gso, &r);
        account(l, &r, r.calls);
    }
    c->q_n = 0;
}

static void flush_all(netloop *l)
{
    for (size_t i = 0; i < l->n_pending; i++) {
        netloop_child *c = l->pending[i];
        flush_child(c);
        c->q_listed = false;
    }
    l->n_pending = 0;
    submit(l);
    l->arena_used = 0;
}

void netloop_flush(GMainContext *parent)
{
    netloop *l = registry_get(parent);
    if (l)
        flush_all(l);
}

static void unlist_pending(netloop *l, netloop_child *c);

void netloop_child_flush(netloop_child *c)
{
    netloop *l = c->loop;
    if (!l)
        return;
    flush_child(c);
    if (c->q_listed)
        unlist_pending(l, c);
    release_arena_if_idle(l);
}

void netloop_child_send_now(netloop_child *c)
{
    netloop *l = c->loop;
    if (!l)
        return;
    netloop_child_flush(c);
    submit(l);
    release_arena_if_idle(l);
}

int netloop_send(netloop_child *c, int fd, const struct sockaddr *to, socklen_t tolen, const uint8_t *buf, size_t len)
{
    netloop *l = c->loop;
    if (tolen > sizeof(c->q_to))
        return -EINVAL;
    if (c->q_n && (c->q_fd != fd || c->q_tolen != tolen || memcmp(&c->q_to, to, tolen) != 0))
        flush_child(c); /* a new destination: what went before leaves first */
    if (len > SLOT_BYTES) {
        flush_child(c);
        submit(l); /* what went before leaves first */
        udp_tx_result r = {0};
        bool no_gso = false;
        udp_tx_dgram d = {buf, len};
        udp_tx_send(fd, to, tolen, &d, 1, &no_gso, &r);
        account(l, &r, r.calls);
        return r.sent ? 0 : -EIO;
    }
    if (!l->arena) {
        l->arena = malloc((size_t)ARENA_SLOTS * SLOT_BYTES);
        if (!l->arena)
            return -ENOMEM;
    }
    if (l->arena_used == ARENA_SLOTS)
        flush_all(l);
    if (c->q_n == QUEUE_MAX)
        flush_child(c);
    if (c->q_n == 0) {
        c->q_fd = fd;
        memcpy(&c->q_to, to, tolen);
        c->q_tolen = tolen;
    }
    unsigned slot = l->arena_used++;
    memcpy(l->arena + (size_t)slot * SLOT_BYTES, buf, len);
    c->q_slot[c->q_n] = (uint16_t)slot;
    c->q_len[c->q_n] = (uint16_t)len;
    c->q_n++;
    if (!c->q_listed) {
        if (l->n_pending == l->cap_pending) {
            size_t cap = l->cap_pending ? l->cap_pending * 2 : 64;
            netloop_child **p = realloc(l->pending, cap * sizeof(*p));
            if (!p) {
                flush_child(c);
                return 0;
            }
            l->pending = p;
            l->cap_pending = cap;
        }
        l->pending[l->n_pending++] = c;
        c->q_listed = true;
    }
    return 0;
}

static void unlist_pending(netloop *l, netloop_child *c)
{
    for (size_t i = 0; i < l->n_pending; i++) {
        if (l->pending[i] == c) {
            l->pending[i] = l->pending[--l->n_pending];
            break;
        }
    }
    c->q_listed = false;
}

/* ---- epoll registration ---- */

static uint32_t epoll_events(gushort ev)
{
    uint32_t e = 0;
    if (ev & G_IO_IN)
        e |= EPOLLIN;
    if (ev & G_IO_OUT)
        e |= EPOLLOUT;
    if (ev & G_IO_PRI)
        e |= EPOLLPRI;
    return e;
}

static bool own_fd(netloop *l, int fd, netloop_child *c)
{
    if (fd < 0)
        return false;
    if (fd >= l->fd_owner_cap) {
        int cap = l->fd_owner_cap ? l->fd_owner_cap : 256;
        while (cap <= fd)
            cap *= 2;
        netloop_child **p = realloc(l->fd_owner, (size_t)cap * sizeof(*p));
        if (!p)
            return false;
        memset(p + l->fd_owner_cap, 0, (size_t)(cap - l->fd_owner_cap) * sizeof(*p));
        l->fd_owner = p;
        l->fd_owner_cap = cap;
    }
    l->fd_owner[fd] = c;
    return true;
}

/* Events wanted on fd across the list (GLib may list one fd more than once). */
static gushort events_of(const GPollFD *fds, gint n, int fd)
{
    gushort ev = 0;
    for (gint i = 0; i < n; i++)
        if (fds[i].fd == fd)
            ev |= fds[i].events;
    return ev;
}

static bool same_fds(const GPollFD *a, gint na, const GPollFD *b, gint nb)
{
    if (na != nb)
        return false;
    for (gint i = 0; i < na; i++)
        if (a[i].fd != b[i].fd || a[i].events != b[i].events)
            return false;
    return true;
}

static void unregister_fd(netloop *l, netloop_child *c, int fd)
{
    if (fd >= 0 && fd < l->fd_owner_cap && l->fd_owner[fd] == c) {
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL); /* fails harmlessly if the fd was closed */
        l->fd_owner[fd] = NULL;
    }
}

static void sync_epoll(netloop_child *c)
{
    netloop *l = c->loop;
    if (same_fds(c->fds, c->nfds, c->reg, c->nreg))
        return;
    for (gint i = 0; i < c->nreg; i++)
        if (events_of(c->fds, c->nfds, c->reg[i].fd) == 0)
            unregister_fd(l, c, c->reg[i].fd);
    for (gint i = 0; i < c->nfds; i++) {
        int fd = c->fds[i].fd;
        if (fd < 0 || events_of(c->fds, i, fd)) /* handled at its first listing */
            continue;
        struct epoll_event ev = {.events = epoll_events(events_of(c->fds, c->nfds, fd)), .data.fd = fd};
        bool mine = fd < l->fd_owner_cap && l->fd_owner[fd] == c;
        /* A number another child registered was closed and reused (epoll dropped it then): take it over. */
        if (epoll_ctl(l->epfd, mine ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0) {
            if (errno == EEXIST)
                epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev);
            else if (errno == ENOENT)
                epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
        }
        own_fd(l, fd, c);
    }
    if (c->reg_cap < c->nfds) {
        GPollFD *p = g_renew(GPollFD, c->reg, c->nfds);
        c->reg = p;
        c->reg_cap = c->nfds;
    }
    memcpy(c->reg, c->fds, (size_t)c->nfds * sizeof(GPollFD));
    c->nreg = c->nfds;
}

/* ---- driving a child ---- */

static void child_prepare(netloop_child *c)
{
    gboolean ready = g_main_context_prepare(c->ctx, &c->max_prio);
    gint timeout = -1, n;
    while ((n = g_main_context_query(c->ctx, c->max_prio, &timeout, c->fds, c->fds_cap)) > c->fds_cap) {
        c->fds = g_renew(GPollFD, c->fds, n);
        c->fds_cap = n;
    }
    c->nfds = n;
    gint64 now = g_get_monotonic_time();
    if (ready || timeout == 0)
        c->deadline = now;
    else
        c->deadline = timeout < 0 ? G_MAXINT64 : now + (gint64)timeout * 1000;
    sync_epoll(c);
}

static void child_release(netloop_child *c)
{
    netloop *l = c->loop; /* NULL when the parent context went first */
    for (gint i = 0; l && i < c->nreg; i++)
        unregister_fd(l, c, c->reg[i].fd);
    g_main_context_release(c->ctx);
    g_main_context_unref(c->ctx);
    g_free(c->fds);
    g_free(c->reg);
    free(c);
}

/* GLib's revents for what epoll reported of an fd listed with `events`. */
static gushort revents_of(uint32_t ep, gushort events)
{
    gushort r = 0;
    if (ep & EPOLLIN)
        r |= G_IO_IN;
    if (ep & EPOLLOUT)
        r |= G_IO_OUT;
    if (ep & EPOLLPRI)
        r |= G_IO_PRI;
    r &= events;
    if (ep & EPOLLERR)
        r |= G_IO_ERR;
    if (ep & EPOLLHUP)
        r |= G_IO_HUP;
    return r;
}

/* Fills the revents of the child's fds: from epoll's report of this wake-up (an fd it did not report
 * has nothing now; if it has since, epoll reports it at the next wake-up), or from poll(0) when the
 * report did not fit. */
static void child_revents(netloop_child *c)
{
    for (gint i = 0; i < c->nfds; i++) {
        c->fds[i].revents = 0;
        for (unsigned k = 0; k < c->n_ready && !c->ready_overflow; k++)
            if (c->ready_fd[k] == c->fds[i].fd)
                c->fds[i].revents = revents_of(c->ready_ev[k], c->fds[i].events);
    }
    if (c->ready_overflow && c->nfds > 0 && poll((struct pollfd *)c->fds, (nfds_t)c->nfds, 0) < 0)
        for (gint i = 0; i < c->nfds; i++)
            c->fds[i].revents = 0;
    c->n_ready = 0;
    c->ready_overflow = false;
}

static void child_run(netloop_child *c)
{
    netloop *l = c->loop;
    c->dirty = false;
    child_revents(c);
    STATS_INC(l->child_runs);
    c->dispatching = true;
    if (g_main_context_check(c->ctx, c->max_prio, c->fds, c->nfds))
        g_main_context_dispatch(c->ctx);
    c->dispatching = false;
    if (c->dead) {
        child_release(c);
        return;
    }
    child_prepare(c);
}

static void compact(netloop *l)
{
    size_t j = 0;
    for (size_t i = 0; i < l->n_children; i++) {
        if (l->children[i]) {
            l->children[i]->index = j;
            l->children[j++] = l->children[i];
        }
    }
    l->n_children = j;
    l->has_holes = false;
}

static gint64 earliest_deadline(netloop *l)
{
    gint64 d = G_MAXINT64;
    for (size_t i = 0; i < l->n_children; i++) {
        netloop_child *c = l->children[i];
        if (c && c->deadline < d)
            d = c->deadline;
    }
    return d;
}

/* ---- the GSource ---- */

static gboolean loop_prepare(GSource *s, gint *timeout)
{
    netloop *l = (netloop *)s;
    run_tasks(l); /* whatever was deferred or queued since the last dispatch, before the parent sleeps */
    flush_all(l);
    if (l->any_dirty) {
        *timeout = 0;
        return TRUE;
    }
    gint64 d = earliest_deadline(l), now = g_source_get_time(s);
    if (d <= now) {
        *timeout = 0;
        return TRUE;
    }
    *timeout = d == G_MAXINT64 ? -1 : (gint)MIN((d - now + 999) / 1000, G_MAXINT);
    return FALSE;
}

static gboolean loop_check(GSource *s)
{
    netloop *l = (netloop *)s;
    if (l->any_dirty || (g_source_query_unix_fd(s, l->epfd_tag) & G_IO_IN))
        return TRUE;
    return earliest_deadline(l) <= g_source_get_time(s);
}

static gboolean loop_dispatch(GSource *s, GSourceFunc cb, gpointer data)
{
    (void)cb;
    (void)data;
    netloop *l = (netloop *)s;
    STATS_INC(l->wakeups);
    struct epoll_event ev[EPOLL_BATCH];
    int n = epoll_wait(l->epfd, ev, EPOLL_BATCH, 0);
    for (int i = 0; i < n; i++) {
        int fd = ev[i].data.fd;
        netloop_child *c = fd >= 0 && fd < l->fd_owner_cap ? l->fd_owner[fd] : NULL;
        if (!c) { /* registered but not owned (own_fd could not grow its table): it would fire forever */
            epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
            continue;
        }
        if (c->reader && fd == c->reader_fd && ev[i].events == EPOLLIN) {
            STATS_INC(l->reader_runs);
            c->dispatching = true;
            bool drained = c->reader(c->reader_ud, fd);
            c->dispatching = false;
            if (c->dead) { /* not allowed, but not a use after free either */
                child_release(c);
                continue;
            }
            if (drained)
                continue;
        }
        c->dirty = true;
        if (c->n_ready < READY_MAX) {
            c->ready_fd[c->n_ready] = fd;
            c->ready_ev[c->n_ready++] = ev[i].events;
        } else {
            c->ready_overflow = true;
        }
    }
    l->any_dirty = false;
    l->in_dispatch = true;
    gint64 now = g_get_monotonic_time();
    /* Children made while this runs are appended and prepared already; they wait for the next pass. */
    size_t count_at_start = l->n_children;
    for (size_t i = 0; i < count_at_start; i++) {
        netloop_child *c = l->children[i];
        if (c && !c->dead && (c->dirty || c->deadline <= now))
            child_run(c);
    }
    l->in_dispatch = false;
    if (l->has_holes)
        compact(l);
    run_tasks(l);
    flush_all(l);
    return G_SOURCE_CONTINUE;
}

static void loop_finalize(GSource *s)
{
    netloop *l = (netloop *)s;
    registry_set(l->parent, NULL);
    for (netloop_task *t = l->tasks; t; t = t->next)
        t->loop = NULL;
    for (size_t i = 0; i < l->n_children; i++)
        if (l->children[i])
            l->children[i]->loop = NULL; /* a leak by the caller; at least no dangling use */
    if (l->epfd >= 0)
        close(l->epfd);
    udp_ring_free(l->ring); /* sends what it still holds */
    free(l->children);
    free(l->fd_owner);
    free(l->arena);
    free(l->pending);
}

static GSourceFuncs loop_funcs = {loop_prepare, loop_check, loop_dispatch, loop_finalize, NULL, NULL};

static atomic_bool use_io_uring = true;

void netloop_set_io_uring(bool on)
{
    atomic_store(&use_io_uring, on);
}

bool netloop_uses_io_uring(GMainContext *parent)
{
    g_mutex_lock(&registry_lock);
    netloop *l = registry ? g_hash_table_lookup(registry, parent) : NULL;
    bool on = l && l->ring;
    g_mutex_unlock(&registry_lock);
    return on;
}

static netloop *loop_for(GMainContext *parent)
{
    netloop *l = registry_get(parent);
    if (l)
        return l;
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        return NULL;
    l = (netloop *)g_source_new(&loop_funcs, sizeof(netloop));
    l->parent = parent;
    l->epfd = epfd;
    l->gso = true;
    if (atomic_load(&use_io_uring)) {
        l->ring = udp_ring_new(URING_OPS, ARENA_SLOTS);
        if (l->ring)
            LOG_I("netloop: the sends of each loop iteration leave in one io_uring submit");
        else
            LOG_I("netloop: io_uring unavailable (%s): one system call per socket for each batch of sends",
                  g_strerror(errno));
    }
    l->tasks_tail = &l->tasks;
    l->epfd_tag = g_source_add_unix_fd(&l->source, epfd, G_IO_IN);
    g_source_set_name(&l->source, "netloop");
    /* Not blocked around its dispatch (nothing iterates the parent from inside it): GLib would take
     * the epoll fd out of the parent's poll set and put it back, signalling the parent's wake-up fd
     * twice per wake-up. */
    g_source_set_can_recurse(&l->source, TRUE);
    g_source_attach(&l->source, parent);
    g_source_unref(&l->source); /* the parent context holds it */
    registry_set(parent, l);
    return l;
}

/* ---- children ---- */

netloop_child *netloop_child_new(GMainContext *parent)
{
    netloop *l = loop_for(parent);
    if (!l)
        return NULL;
    if (l->n_children == l->cap_children) {
        size_t cap = l->cap_children ? l->cap_children * 2 : 64;
        netloop_child **p = realloc(l->children, cap * sizeof(*p));
        if (!p)
            return NULL;
        l->children = p;
        l->cap_children = cap;
    }
    netloop_child *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->loop = l;
    c->q_fd = -1;
    c->reader_fd = -1;
    c->ctx = g_main_context_new_with_flags(G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING);
    if (!g_main_context_acquire(c->ctx)) {
        g_main_context_unref(c->ctx);
        free(c);
        return NULL;
    }
    c->index = l->n_children;
    l->children[l->n_children++] = c;
    child_prepare(c);
    return c;
}

GMainContext *netloop_child_context(netloop_child *c)
{
    return c->ctx;
}

void netloop_child_set_reader(netloop_child *c, int fd, netloop_reader fn, void *ud)
{
    c->reader_fd = fn ? fd : -1;
    c->reader = fd >= 0 ? fn : NULL;
    c->reader_ud = c->reader ? ud : NULL;
}

void netloop_child_touch(netloop_child *c)
{
    c->dirty = true;
    if (c->loop)
        c->loop->any_dirty = true;
}

void netloop_child_free(netloop_child *c)
{
    if (!c)
        return;
    netloop *l = c->loop;
    if (!l) {
        child_release(c);
        return;
    }
    netloop_child_send_now(c); /* the caller may close the fd next */
    l->children[c->index] = NULL;
    if (l->in_dispatch)
        l->has_holes = true;
    else
        compact(l);
    if (c->dispatching) {
        c->dead = true; /* child_run() releases it when its dispatch returns */
        return;
    }
    child_release(c);
}

void netloop_get_counters(GMainContext *parent, netloop_counters *out)
{
    memset(out, 0, sizeof(*out));
    g_mutex_lock(&registry_lock);
    netloop *l = registry ? g_hash_table_lookup(registry, parent) : NULL;
    if (l) {
        out->wakeups = STATS_GET(l->wakeups);
        out->child_runs = STATS_GET(l->child_runs);
        out->reader_runs = STATS_GET(l->reader_runs);
        out->datagrams = STATS_GET(l->datagrams);
        out->sends = STATS_GET(l->sends);
        out->send_errors = STATS_GET(l->send_errors);
        out->send_syscalls = STATS_GET(l->send_syscalls);
    }
    g_mutex_unlock(&registry_lock);
}
