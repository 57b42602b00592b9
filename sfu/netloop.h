/* netloop.h - the network loop of a media worker: many small GMainContexts (one per ICE agent) served
 * by one GSource of the worker's context, and batched UDP output flushed once per loop iteration.
 *
 * Why: libnice attaches each agent's socket, cancellable and timer sources to the context it is given.
 * With hundreds of agents in one worker context, every wake-up walked every source and poll()ed every
 * socket: O(agents) per wake-up. Here each agent gets a child context; the worker context holds one
 * GSource per thread whose fd is an epoll set of every child's fds, so a wake-up touches only the
 * children whose fd fired or whose timer came due. And datagrams sent during one iteration are queued
 * per destination and leave together at its end, runs of equal-sized ones in one sendmsg() with UDP
 * GSO (see udp_tx.h), and the sendmsg()s of all destinations in one io_uring submit where the kernel
 * allows (see udp_ring.h), which is what makes a fan-out cheap.
 *
 * Threading: a child and everything sent through it belong to the thread that runs the parent
 * context (a worker's thread, or a test's). Children must be freed before their parent context.
 */
#ifndef SFU_NETLOOP_H
#define SFU_NETLOOP_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct netloop_child netloop_child;

/* A new child context served by parent's netloop (made on first use). Call on the parent's thread.
 * NULL on failure. */
netloop_child *netloop_child_new(GMainContext *parent);
/* The child's own context, for libnice (borrowed: valid until netloop_child_free). */
GMainContext *netloop_child_context(netloop_child *c);
/* Says that sources of the child changed outside its own dispatch (e.g. a libnice call made from
 * another context's callback): it is prepared again before the loop sleeps. */
void netloop_child_touch(netloop_child *c);
/* Sends what the child still has queued (netloop_child_send_now), then frees it; safe from inside the child's own dispatch
 * (the context is released once that returns). The child's sources must be gone or inert (libnice
 * agent unreferenced). NULL is a no-op. */
void netloop_child_free(netloop_child *c);

/* A reader for one of the child's fds: called when epoll reports the fd readable, before the child's
 * own sources see it. It reads the datagrams it handles itself and returns true when it left none
 * behind (the child is not run for this fd; with more still waiting epoll reports the fd again), or
 * false when the next datagram is for the child's sources (the child runs and reads it). It must not
 * free the child. One reader per child; fd -1 (or fn NULL) removes it. */
typedef bool (*netloop_reader)(void *ud, int fd);
void netloop_child_set_reader(netloop_child *c, int fd, netloop_reader fn, void *ud);

/* Queues one datagram for fd → to; it leaves at the end of this loop iteration (or earlier when the
 * queue fills). Returns 0, or a negative errno-style code when it could not be queued or sent. A
 * datagram for a different fd/destination than the ones queued flushes those first, so order holds. */
int netloop_send(netloop_child *c, int fd, const struct sockaddr *to, socklen_t tolen, const uint8_t *buf, size_t len);
/* Ends c's queue now (e.g. a fan-out done with one receiver): with io_uring its datagrams join the
 * loop's batch, which leaves at the end of the iteration (or once full); without, they are sent. */
void netloop_child_flush(netloop_child *c);
/* Sends what c has queued and the loop's whole batch now: before the caller closes c's sockets. */
void netloop_child_send_now(netloop_child *c);
/* Sends everything queued on this thread's netloop for parent now. */
void netloop_flush(GMainContext *parent);

/* Work deferred to the end of the current loop iteration, before the queued datagrams leave: e.g. a
 * fan-out that serves each receiver for all the packets that arrived in the iteration at once. The
 * task is owned by the caller (embedded in its object); the netloop only links it. */
typedef struct netloop_task netloop_task;
struct netloop_task {
    void (*fn)(netloop_task *t);
    netloop_task *next;         /* private */
    struct netloop *loop;       /* private: the loop it is queued on, NULL when not queued */
};
/* Queues t on c's netloop, once: deferring a queued task again does nothing. */
void netloop_defer(netloop_child *c, netloop_task *t);
/* Takes t off its loop if it is queued (call before freeing its owner). */
void netloop_task_cancel(netloop_task *t);

/* Counters of the loop serving parent (for /metrics and the bench). Zeroes when there is none. */
typedef struct {
    uint64_t wakeups;          /* dispatches of the loop's source */
    uint64_t child_runs;       /* child contexts dispatched */
    uint64_t reader_runs;      /* fds read by their reader (netloop_child_set_reader) instead */
    uint64_t datagrams;        /* datagrams handed to the kernel */
    uint64_t sends;            /* sendmsg operations that carried them (calls, or io_uring requests) */
    uint64_t send_errors;      /* datagrams the kernel refused (dropped) */
    uint64_t send_syscalls;    /* system calls that made the sends (one per io_uring batch) */
} netloop_counters;
void netloop_get_counters(GMainContext *parent, netloop_counters *out);

/* Whether netloops made from now on batch their sends through io_uring (default: yes, where the
 * kernel allows it). Any thread; for the configuration (IO_URING=0) and tests. */
void netloop_set_io_uring(bool on);
/* Whether parent's netloop sends through io_uring (false when there is none). */
bool netloop_uses_io_uring(GMainContext *parent);

#endif
