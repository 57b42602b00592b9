/* twcc_history.h - the sender's side of transport-wide congestion control
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01) towards one receiver.
 *
 * Every packet sent on the connection gets the next transport-wide sequence number
 * (twcc_history_on_send: written into its header extension by the caller) and is remembered
 * with its send time and size. When the receiver's feedback arrives (RTCP transport-cc, parsed
 * by sfu/rtcp.c), twcc_history_on_feedback turns it into one result per packet it describes:
 * when it was sent, how large it was, and when it arrived (on the receiver's clock) or that it
 * was lost. The results feed sfu/bwe.c.
 *
 * Sequence numbers are 16 bits on the wire and unwrapped here (64 bits); a packet is remembered
 * until TWCC_HISTORY_SIZE newer ones have been sent. A feedback describing a packet we do not
 * remember (too old, never sent, or reported twice) skips it. An entry is 12 bytes (written for every
 * packet sent, so the ring is kept small): send times are kept to the microsecond modulo 2^32 and
 * taken back relative to the latest send, so a packet is described right until ~71 minutes later. Pure: no allocation, no clock, no
 * I/O; one struct per receiving connection, used by one thread.
 */
#ifndef VM_SFU_TWCC_HISTORY_H
#define VM_SFU_TWCC_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "sfu/rtcp.h"

#define TWCC_HISTORY_SIZE 4096 /* packets remembered: > 1 s at 3000 packets/s */

/* One packet as the receiver's feedback describes it. */
typedef struct twcc_result {
    int64_t seq;      /* unwrapped transport-wide sequence number */
    int64_t send_us;  /* our clock */
    int64_t recv_us;  /* the receiver's clock (only differences mean something); -1: lost */
    uint32_t size;    /* bytes on the wire (RTP header and payload, SRTP included) */
    uint8_t probe;    /* sent to probe the link (padding or a repeat) */
} twcc_result;

enum { TWCC_SENT_USED = 1, TWCC_SENT_PROBE = 2, TWCC_SENT_REPORTED = 4 };

typedef struct twcc_sent {
    uint32_t seq_lo;  /* low 32 bits of the unwrapped number (with TWCC_SENT_USED) */
    uint32_t send_lo; /* send time, µs modulo 2^32 */
    uint16_t size;    /* bytes, at most 65535 */
    uint8_t flags;    /* TWCC_SENT_* */
} twcc_sent;

typedef struct twcc_history {
    int64_t next_seq;             /* unwrapped number of the next packet sent */
    int64_t last_send_us;         /* when the latest one was sent */
    int64_t last_fb_max;          /* highest unwrapped seq a feedback described (-1: none) */
    twcc_sent slots[TWCC_HISTORY_SIZE];
} twcc_history;

void twcc_history_init(twcc_history *h);

/* Records one packet being sent now; returns the 16-bit sequence number to write into it. */
uint16_t twcc_history_on_send(twcc_history *h, int64_t now_us, uint32_t size, int probe);

/* Brings the entry the next send writes into the cache ahead of time (the fan-out calls it for the
 * receivers it serves next: one ring per receiver, each written once per batch). */
static inline void twcc_history_prefetch(const twcc_history *h)
{
    __builtin_prefetch(&h->slots[h->next_seq % TWCC_HISTORY_SIZE], 1);
}

/* Results for the packets one feedback describes, in sequence order, into out[0..cap); returns
 * how many were written. Packets not remembered are skipped. */
size_t twcc_history_on_feedback(twcc_history *h, const struct rtcp_twcc *fb, twcc_result *out, size_t cap);

#endif
