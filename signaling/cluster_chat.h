/* cluster_chat.h - a meeting's chat history kept in Redis while the meeting lives, so that the node that
 * takes a meeting over after its node died shows the same history (README and PROTOCOL.md, "Several
 * nodes"). Used only when REDIS_URL is set (s->cluster); signaling thread only.
 *
 * Redis key (cluster.h has the others): vm:chat:<meetingId>, a list of chat_store.h entries, oldest
 * first, at most VM_CHAT_HISTORY (the in-memory history) long. It expires with the meeting: while
 * people are in it, MEETING_GRACE_SECONDS (at least CLUSTER_CHAT_MIN_TTL_MS) after the last refresh;
 * once it is empty, when its node would drop it (the grace left). The owner refreshes it every second.
 *
 * Every Redis command goes through the cluster thread's queue (cluster_submit): neither the signaling
 * thread nor the media workers wait for Redis. Redis unreachable: the chat works as on a single node
 * (in memory). The refresh also compares the newest entry of each list with the meeting's: a list
 * that lacks messages (written while Redis was unreachable, or Redis restarted empty) is written again
 * from memory by its owner.
 */
#ifndef VM_CLUSTER_CHAT_H
#define VM_CLUSTER_CHAT_H

#include "signaling/meeting.h"

struct vm_signaling;
struct vm_conn;

#define CLUSTER_CHAT_MIN_TTL_MS 30000

/* chat was just added to m: appends it to vm:chat:<m->id> (capped, TTL refreshed). */
void cluster_chat_written(struct vm_signaling *s, const vm_meeting *m, const vm_chat *chat);

/* The meeting meeting_id was placed on this node and is not live here: reads its history from Redis,
 * makes the meeting with it (registry_restore, meeting_restore_chat), then calls loaded(s, c). c is the
 * cluster request's owner: after cluster_cancel(c) nothing is made and loaded is not called. Returns 0,
 * or -1 (no memory: nothing happens). */
typedef void (*cluster_chat_loaded_fn)(struct vm_signaling *s, struct vm_conn *c);
int cluster_chat_load(struct vm_signaling *s, struct vm_conn *c, const char *meeting_id, cluster_chat_loaded_fn loaded);

/* Once a second: refreshes the TTL of the history of every meeting live here that has chat, and writes
 * again the ones that Redis does not have whole. */
void cluster_chat_sweep(struct vm_signaling *s);

#endif
