/* pacer.h - the pace at which the SFU sends media to one receiver, so that a burst (a keyframe, the
 * frames of many videos arriving together, a layer switch) leaves spread out at the rate the
 * receiver's link is estimated to take instead of all at once: a policer that drops what exceeds
 * its rate by more than a few packets, or a short router queue, then does not lose it.
 *
 * A token bucket of bytes, filled at the pacing rate up to a small burst (PACER_BURST_MIN bytes, or
 * PACER_BURST_US of the rate when that is more), and a FIFO of fixed-size items the caller defines
 * (what it needs to send a packet later). A packet may go at once when nothing waits and the bucket
 * is not empty; otherwise it waits its turn. Everything sent counts (pacer_sent), also what does not
 * wait (audio, retransmissions, probes): the bucket can go into debt, and what waits then waits
 * longer. When more waits than the rate drains in PACER_DRAIN_US, the queue drains at the rate that
 * empties it in that time: the pacer delays, it never drops, and the caller's rate choice (the
 * allocation) is what keeps the queue short.
 *
 * Pure: no clock (times are the caller's `now`, in microseconds), no I/O; allocation only in
 * pacer_new. One per receiving connection, used by one thread.
 */
#ifndef VM_SFU_PACER_H
#define VM_SFU_PACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PACER_BURST_MIN 2500   /* bytes the bucket holds at least: two full packets */
#define PACER_BURST_US 40000   /* ... or this much of the rate: a video frame at the rate the estimate
                                * allows leaves at once (a packet that waits is sent on its own later,
                                * a send call more), a keyframe or a burst of many videos is spread */
#define PACER_DRAIN_US 500000  /* what waits leaves within about this */

typedef struct pacer pacer;

/* A pacer whose queue holds up to `slots` items of item_size bytes each, at rate_bps. NULL: no
 * memory or a zero size. */
pacer *pacer_new(size_t slots, size_t item_size, uint32_t rate_bps);
void pacer_free(pacer *p); /* NULL: no-op */

void pacer_set_rate(pacer *p, uint32_t rate_bps, int64_t now_us);
uint32_t pacer_rate(const pacer *p);

/* Whether a packet may be sent now without waiting: nothing waits and the bucket is not empty. */
bool pacer_may_send(pacer *p, int64_t now_us);
/* bytes were sent now (from the queue or not). */
void pacer_sent(pacer *p, size_t bytes, int64_t now_us);

/* The slot at the back of the queue for an item of `bytes` wire bytes, to be filled by the caller;
 * NULL when the queue is full. */
void *pacer_push(pacer *p, size_t bytes);
/* The item at the front if it may be sent now (its turn, and the bucket allows), else NULL. The
 * caller sends it (or drops it) and calls pacer_pop, then pacer_sent for what it sent. */
void *pacer_due(pacer *p, int64_t now_us);
/* The item at the front whatever the bucket says (NULL: empty), e.g. to make room. */
void *pacer_front(pacer *p);
void pacer_pop(pacer *p);

size_t pacer_queued(const pacer *p);        /* items waiting */
size_t pacer_queued_bytes(const pacer *p);  /* their wire bytes */
/* Item i of the queue, 0 = front (i < pacer_queued), e.g. to forget what refers to something gone. */
void *pacer_item(pacer *p, size_t i);
/* Keeps, in their order, only the waiting items keep(item, ctx) says to keep (the others leave the
 * queue and its byte count at once, e.g. packets a layer switch made useless); the front item is
 * not moved when it is kept. Returns how many left. */
size_t pacer_filter(pacer *p, bool (*keep)(const void *item, void *ctx), void *ctx);

#endif
