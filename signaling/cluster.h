/* cluster.h - several nodes sharing meetings through Redis (README, "Several nodes").
 *
 * A vm_cluster exists only when REDIS_URL is set. It owns one Redis connection (hiredis, synchronous
 * API) on its OWN thread, so that neither the signaling thread nor the media workers ever wait for
 * Redis. The signaling thread talks to it through two queues:
 *   - requests (cluster_locate) go to the cluster thread, which runs them and queues the answers;
 *     it then calls the wake function (server.c: lws_cancel_service), and the signaling thread runs
 *     the answers' callbacks from cluster_poll();
 *   - every 2 s the cluster thread registers the node (`vm:node:<id>`, TTL 6 s) and refreshes the
 *     ownership of this node's live meetings (`vm:meeting:<id>`), at whole multiples of 2 s of the
 *     wall clock; 1 s later it reads every live node's record (all written at the same moment),
 *     which the signaling thread picks up in cluster_poll() (cluster_nodes, cluster_choose).
 *
 * Redis keys (all strings are UTF-8; times in ms since the epoch):
 *   vm:nodes               set of node ids that registered (a stale id is dropped when its hash is gone)
 *   vm:node:<id>           hash: url, media, capacity, participants, meetings, pps, cpu, updated,
 *                          draining; expires 6 s after the last refresh, so a dead node disappears
 *   vm:meeting:<mid>       string: the owner's node id; set with SET-if-absent semantics inside one
 *                          Lua script (atomic), or handed from a draining owner to another node by
 *                          another (cluster_handoff), TTL MEETING_GRACE_SECONDS until the meeting is live,
 *                          then 10 s refreshed every 2 s by the owner while it lives
 *   vm:owned:<id>          sorted set: meeting ids placed on that node, score = when the placement
 *                          lapses; its size is the node's `meetings`, created ones nobody joined yet
 *                          included
 *   vm:chat:<mid>          list: the meeting's chat history (cluster_chat.h)
 * A meeting whose owner's `vm:node` hash is gone is free: the next join places it again.
 *
 * Every function here is called on the signaling thread unless it says otherwise.
 */
#ifndef VM_CLUSTER_H
#define VM_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signaling/config.h"
#include "signaling/ids.h"
#include "signaling/placement.h"

typedef struct vm_cluster vm_cluster;

/* Called on the cluster thread when answers or a new node list wait for cluster_poll(). */
typedef void (*cluster_wake_fn)(void *ud);

/* The answer to cluster_locate(). */
typedef struct {
    int status;                    /* 0, or -1: Redis unreachable (or it failed) */
    bool found;                    /* a live node owns the meeting (owner, url are set) */
    bool placed;                   /* this request placed it (on `owner`) */
    char owner[VM_NODE_ID_MAX];
    char url[VM_NODE_URL_MAX];     /* the owner's public URL */
} cluster_answer;

/* owner: what cluster_cancel() names (a connection); ud: passed back. */
typedef void (*cluster_done_fn)(void *owner, void *ud, const cluster_answer *a);

/* What this node reports about itself at the next registration (copied). */
typedef struct {
    size_t participants;
    uint64_t packets_out;          /* RTP packets forwarded so far (a counter: the rate is computed) */
    const char *const *meeting_ids;/* the live meetings of this node */
    size_t n_meetings;
} cluster_load;

/* A cluster for cfg (not owned; must outlive it) with node id cfg->node_id or a drawn one; wake(ud)
 * is called from the cluster thread. NULL when cfg->redis_url is empty or on no memory. Starts its
 * thread; it connects to Redis by itself and reconnects when Redis comes back. */
vm_cluster *cluster_start(const vm_config *cfg, cluster_wake_fn wake, void *ud);
/* Stops the thread (pending requests are dropped without their callbacks) and frees. NULL: no-op. */
void cluster_free(vm_cluster *c);

const char *cluster_node_id(const vm_cluster *c);

/* Who owns meeting_id. With place_on (a node id, normally cluster_choose()'s) and no live owner, the
 * meeting is placed there atomically, or on this node when place_on is gone. done(owner, ud, answer)
 * runs later from cluster_poll(), unless cluster_cancel(owner) ran first. Returns 0, or -1 (no memory). */
int cluster_locate(vm_cluster *c, const char *meeting_id, const char *place_on, cluster_done_fn done, void *owner,
                   void *ud);
/* Draining (drain_route.c): hands meeting_id, owned by this node, to the node `to` in one atomic
 * script, unless `to` is gone or draining, or another live node owns it already. done(ud, meeting_id,
 * answer) runs later from cluster_poll(): found with `owner` (and `url`) another node's when the
 * meeting lives there now (`placed`: handed over by this call); not found: nobody took it. Returns 0,
 * or -1 (no memory). */
typedef void (*cluster_handoff_fn)(void *ud, const char *meeting_id, const cluster_answer *a);
int cluster_handoff(vm_cluster *c, const char *meeting_id, const char *to, cluster_handoff_fn done, void *ud);
/* From now on the node's record says draining=1 (registered at once, not at the next tick), and
 * cluster_choose() never picks this node. */
void cluster_set_draining(vm_cluster *c);

/* A split: a meeting live on this node that Redis says another live node owns (Redis came back
 * empty and another node placed the meeting before this one claimed it again, or two nodes raced
 * some other way). Found by the registration every 2 s; the owner in Redis wins: this node tells its
 * participants `moved` to the owner's URL (cluster_route.c), so the meeting comes together there. */
typedef struct {
    char meeting_id[VM_MEETING_ID_LEN + 1];
    char owner[VM_NODE_ID_MAX];
    char url[VM_NODE_URL_MAX];
} cluster_split;
/* The next split found, copied to out; false when there is none. Signaling thread. */
bool cluster_take_split(vm_cluster *c, cluster_split *out);

/* Drops the callbacks of every request made for owner. */
void cluster_cancel(vm_cluster *c, void *owner);
/* Runs the callbacks of finished requests and takes the latest node list. */
void cluster_poll(vm_cluster *c);
/* A job of another part of the cluster (cluster_chat.c): work(c, arg) runs on the cluster thread, in
 * the order of submission among all requests (it may call cluster_command); then after(owner, arg) runs
 * from cluster_poll(), with owner NULL when cluster_cancel(owner) ran meanwhile or the cluster is being
 * freed (after must then only free arg). after owns arg. Returns 0, or -1 (no memory: nothing runs). */
typedef void (*cluster_work_fn)(vm_cluster *c, void *arg);
typedef void (*cluster_after_fn)(void *owner, void *arg);
int cluster_submit(vm_cluster *c, cluster_work_fn work, cluster_after_fn after, void *owner, void *arg);
/* On the cluster thread only (inside a work function): one Redis command; its redisReply (the caller
 * frees it with freeReplyObject), or NULL when Redis is unreachable or refused it (counted, logged). */
void *cluster_command(vm_cluster *c, int argc, const char **argv);
/* Reports this node's load; the next registration carries it. */
void cluster_report(vm_cluster *c, const cluster_load *load);

/* The node a new meeting goes to (placement_choose over the last node list, counting the meetings
 * this node placed since): copies its id to out and returns 0; -1 when no node is known to have room
 * (Redis down, or not registered yet). */
int cluster_choose(vm_cluster *c, char out[VM_NODE_ID_MAX]);
/* The node list cluster_choose() counted in (it changes with every new list). */
uint64_t cluster_list_gen(const vm_cluster *c);
/* The answer to a locate that `chosen` (cluster_choose() with list `gen`; NULL: none was) went with:
 * a choice the meeting did not take (it lived elsewhere already) no longer counts on that node, and
 * with `joining` the joiner counts on the node that has the meeting, until the next node list (a
 * node's record says its people only at its next registration: without this, a burst of joins all
 * went to the node that looked emptiest). */
void cluster_choice_done(vm_cluster *c, const char *chosen, uint64_t gen, const cluster_answer *a, bool joining);

/* The node's view for /healthz and /metrics. */
typedef struct {
    bool redis_up;
    size_t nodes_alive;            /* in the last node list */
    uint64_t meetings_here;        /* this node's `meetings` at its last registration */
    uint64_t redis_errors;         /* commands or connections that failed */
    uint64_t conflicts;            /* live meetings here that Redis says another live node owns */
    uint64_t placed;               /* meetings this node placed (on any node) */
} cluster_status;
void cluster_get_status(vm_cluster *c, cluster_status *out);
/* The last node list (valid until the next cluster_poll); returns its length. */
size_t cluster_nodes(vm_cluster *c, const cluster_node **out);

#endif
