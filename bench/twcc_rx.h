/* twcc_rx.h - a bench receiver's side of transport-wide congestion control
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01): the arrival time of every packet that
 * carries the transport-wide sequence number, and the feedback packets that report them.
 *
 * Like a browser's receiver, each feedback describes every sequence number from the first one its
 * previous feedback did not describe up to the highest received: packets that did not arrive are
 * reported lost (also those before the first arrival, through rtcp_build_twcc_from), so a sender
 * whose packets are dropped on the way (a policer) sees the loss. A packet that arrives after
 * its number was reported is late and left out (the sender was told it was lost).
 *
 * Arrival times are sent relative to the first arrival (the sender only uses their differences).
 * Pure: no I/O, no clock (callers pass now_us, any monotonic microsecond clock), no allocation;
 * one struct per receiving connection, used by one thread.
 */
#ifndef BENCH_TWCC_RX_H
#define BENCH_TWCC_RX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_TWCC_RX_WINDOW 1024 /* sequence numbers kept between two feedbacks */

typedef struct bench_twcc_rx {
    bool started;
    int64_t next;     /* unwrapped: the first number not described by a feedback yet */
    int64_t max;      /* unwrapped: the highest number received */
    int64_t t0;       /* the first arrival */
    int64_t arrival[BENCH_TWCC_RX_WINDOW]; /* by unwrapped number modulo the window; -1: missing */
    uint8_t fb_count; /* feedback packet count (8 bits, wraps) */
    uint64_t packets, late, feedbacks, skipped; /* skipped: numbers never described (gap > window) */
} bench_twcc_rx;

void bench_twcc_rx_init(bench_twcc_rx *r);

/* A packet with transport-wide number seq arrived at now_us. */
void bench_twcc_rx_on_packet(bench_twcc_rx *r, uint16_t seq, int64_t now_us);

/* Builds into buf the next feedback (sender_ssrc: the receiver's RTCP SSRC; media_ssrc: one of the
 * SSRCs it receives) describing what no feedback described yet, as much as fits in cap bytes.
 * Returns its length, 0 when there is nothing to report, or a negative error from
 * rtcp_build_twcc_from. Call again while it returns > 0 to send the rest. */
int bench_twcc_rx_feedback(bench_twcc_rx *r, uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc);

#endif
