/* worker.h - media worker threads. Each worker runs its own GMainContext/GMainLoop on its own
 * thread; every object of a meeting (ICE agents, DTLS, SRTP, routing) lives on one worker and is only
 * touched from that thread, so the forwarding path takes no lock. Other threads reach a worker only
 * through worker_invoke().
 */
#ifndef SFU_WORKER_H
#define SFU_WORKER_H

#include <glib.h>
#include <stddef.h>

typedef struct sfu_worker sfu_worker;
typedef struct sfu_worker_pool sfu_worker_pool;

/* Starts n worker threads. NULL on failure. */
sfu_worker_pool *worker_pool_start(int n);
/* Stops every loop after the work already queued ran, joins the threads and frees the pool. NULL is a no-op. */
void worker_pool_stop(sfu_worker_pool *pool);
sfu_worker *worker_pool_get(sfu_worker_pool *pool, int i);
/* The worker with the fewest rooms (ties: the lowest index); adds one to its room count. */
sfu_worker *worker_pool_assign(sfu_worker_pool *pool);
/* Gives back a room assignment of worker_pool_assign(). */
void worker_pool_release(sfu_worker_pool *pool, sfu_worker *w);

/* Runs fn(data) once on the worker's thread, then destroy(data) if destroy is not NULL. Thread-safe. */
void worker_invoke(sfu_worker *w, GSourceFunc fn, gpointer data, GDestroyNotify destroy);
GMainContext *worker_context(sfu_worker *w);
int worker_index(const sfu_worker *w);
/* CPU time used by the worker thread so far, in seconds (for /metrics). */
double worker_cpu_seconds(const sfu_worker *w);

#endif
