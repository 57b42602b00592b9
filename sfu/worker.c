/* worker.c - the pool of media worker threads (see worker.h).
 *
 * Each worker: one GMainContext made the thread default, one GMainLoop. worker_invoke() uses
 * g_main_context_invoke_full(), GLib's thread-safe way to queue a call. Room counts, used only to
 * place new meetings, are atomics so any thread may read them.
 */
#include "sfu/worker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct sfu_worker {
    int index;
    GMainContext *ctx;
    GMainLoop *loop;
    GThread *thread;
    clockid_t cpu_clock;
    atomic_int rooms;
    atomic_bool has_clock;
};

struct sfu_worker_pool {
    int n;
    sfu_worker *workers;
};

static gpointer thread_main(gpointer arg)
{
    sfu_worker *w = arg;
    if (pthread_getcpuclockid(pthread_self(), &w->cpu_clock) == 0)
        atomic_store(&w->has_clock, true);
    g_main_context_push_thread_default(w->ctx);
    g_main_loop_run(w->loop);
    /* Run what is still queued (e.g. frees posted during shutdown). */
    while (g_main_context_iteration(w->ctx, FALSE))
        ;
    g_main_context_pop_thread_default(w->ctx);
    return NULL;
}

sfu_worker_pool *worker_pool_start(int n)
{
    if (n < 1)
        return NULL;
    sfu_worker_pool *pool = calloc(1, sizeof(*pool));
    if (!pool)
        return NULL;
    pool->workers = calloc((size_t)n, sizeof(sfu_worker));
    if (!pool->workers) {
        free(pool);
        return NULL;
    }
    pool->n = n;
    for (int i = 0; i < n; i++) {
        sfu_worker *w = &pool->workers[i];
        char name[16];
        g_snprintf(name, sizeof(name), "media-%d", i);
        w->index = i;
        w->ctx = g_main_context_new();
        w->loop = g_main_loop_new(w->ctx, FALSE);
        w->thread = g_thread_new(name, thread_main, w);
    }
    return pool;
}

static gboolean quit_loop(gpointer data)
{
    g_main_loop_quit(data);
    return G_SOURCE_REMOVE;
}

void worker_pool_stop(sfu_worker_pool *pool)
{
    if (!pool)
        return;
    for (int i = 0; i < pool->n; i++) {
        sfu_worker *w = &pool->workers[i];
        g_main_context_invoke(w->ctx, quit_loop, w->loop);
        g_thread_join(w->thread);
        g_main_loop_unref(w->loop);
        g_main_context_unref(w->ctx);
    }
    free(pool->workers);
    free(pool);
}

sfu_worker *worker_pool_get(sfu_worker_pool *pool, int i)
{
    return (i >= 0 && i < pool->n) ? &pool->workers[i] : NULL;
}

sfu_worker *worker_pool_assign(sfu_worker_pool *pool)
{
    sfu_worker *best = &pool->workers[0];
    for (int i = 1; i < pool->n; i++) {
        if (atomic_load(&pool->workers[i].rooms) < atomic_load(&best->rooms))
            best = &pool->workers[i];
    }
    atomic_fetch_add(&best->rooms, 1);
    return best;
}

void worker_pool_release(sfu_worker_pool *pool, sfu_worker *w)
{
    (void)pool;
    atomic_fetch_sub(&w->rooms, 1);
}

void worker_invoke(sfu_worker *w, GSourceFunc fn, gpointer data, GDestroyNotify destroy)
{
    g_main_context_invoke_full(w->ctx, G_PRIORITY_DEFAULT, fn, data, destroy);
}

GMainContext *worker_context(sfu_worker *w)
{
    return w->ctx;
}

int worker_index(const sfu_worker *w)
{
    return w->index;
}

double worker_cpu_seconds(const sfu_worker *w)
{
    struct timespec ts;
    if (!atomic_load(&w->has_clock) || clock_gettime(w->cpu_clock, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
