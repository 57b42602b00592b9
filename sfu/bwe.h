/* bwe.h - send-side bandwidth estimation towards one receiver, after Google Congestion Control
 * (draft-ietf-rmcat-gcc-02), from transport-wide feedback (sfu/twcc_history.h) and REMB.
 *
 * Two estimates, the lower one wins, and a receiver's REMB caps both:
 *
 *  - delay-based (§5): packets are grouped into bursts (sent within 5 ms of the group's first);
 *    for consecutive groups the one-way delay variation d = (arrival gap) - (send gap) is summed
 *    and smoothed, and the slope of its trend over the last BWE_TREND_WINDOW groups says whether
 *    a queue is building. An overuse detector compares the trend with an adaptive threshold
 *    (§5.4: 12.5 ms to start, k_up 0.0087, k_down 0.039, between 6 and 600 ms); sustained for
 *    10 ms and still rising it is overuse. The rate controller (§5.5) then sets the estimate to
 *    0.85 x the rate the receiver acknowledged (measured over the last 500 ms of arrivals) and
 *    holds; underuse holds; normal increases: 8 % per second while far from the rate of the
 *    last decrease, by about one packet per response time near it. It does not increase beyond
 *    1.5 x the acknowledged rate + 10 kbit/s (nor is it lowered for that), so an
 *    application-limited sender does not let it run away: to find more room the sender must send
 *    more (probe).
 *  - loss-based (§6), over windows of 500 ms (at least 20 packets; heavy loss, over 20 %, at
 *    once): more than 10 % lost multiplies it by (1 - loss/2); less than 2 % lets it grow by 8 % at
 *    most once a second, up to the delay-based estimate. In between GCC holds, which leaves a
 *    sender just above a policer (no queue, no delay signal: only loss tells) losing up to 10 %
 *    for good; here it comes down to 0.9 x the acknowledged rate, at most once a second, and the
 *    10 % rule goes no higher than that either. The loss a link has whatever the rate (radio) is
 *    not congestion: what is still lost in the 2 s after a decrease (had it been congestion, the
 *    decrease would have ended it) is learned as the link's inherent loss (quickly; it fades
 *    slowly when windows show less), and the thresholds apply to the loss above it. After a
 *    decrease for loss, the acknowledged rate then (what a policer or a full link let through) is
 *    a ceiling: the estimate stays under 95 % of it for 4 s whatever probes say (a policer's bucket
 *    lets a probe through, and a rate above it for seconds before it drops anything), and a probe
 *    goes out as soon as the hold ends. Loss still there 1 s after the decrease lifts it. Loss
 *    within 3 s of a probe that took the estimate above the ceiling confirms it: the ceiling stays
 *    as it was (what got through meanwhile was the bucket emptying) and the estimate goes back
 *    under it at once. Within 5 s of such a probe, loss over 10 % is acted on as soon as feedback
 *    shows it over 20 packets, without waiting for the window's end: it is most likely that
 *    policer's bucket running empty, and each 100 ms it goes on is more of the pictures lost behind
 *    a policer that drops their retransmissions too. Growth is no more than 1.5 x the acknowledged
 *    rate + 10 kbit/s, as for the delay-based estimate, nor above a ceiling while it holds.
 *
 * Probing: an estimate can only grow as fast as 8 %/s from what is actually sent. When the caller
 * wants more than the estimate (e.g. a higher simulcast layer), bwe_probe_rate says when to send a
 * short cluster (BWE_PROBE_MS) of padding or repeated packets at 1.1 x what it wants (at most twice
 * the estimate), marked as probes in twcc_history; when their feedback shows the link carried them
 * without overuse or loss, the estimate jumps to 95 % of the rate at which they arrived (the
 * loss-based one too, 3 s after its last decrease). A cluster's packets are counted across the
 * feedback packets that report them (at low rates one feedback interval holds only part of one).
 * The sender spreads a cluster over its length: the arrivals of a burst say nothing on a path
 * without a queue. A probe that neither brings the estimate (under a ceiling or not) to what was
 * wanted nor raises it by a fifth doubles the time to the next one (BWE_PROBE_INTERVAL_MS up to
 * BWE_PROBE_BACKOFF_MAX_MS): a link that is simply full is not probed every second.
 *
 * Rates in bit/s, times in microseconds on the caller's monotonic clock (`now`); arrival times
 * are on the receiver's clock and only their differences are used. Pure: no allocation, no
 * clock, no I/O; one struct per receiving connection, used by one thread.
 */
#ifndef VM_SFU_BWE_H
#define VM_SFU_BWE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu/twcc_history.h"

#define BWE_TREND_WINDOW 20   /* packet groups in the trend's regression */
#define BWE_ACKED_MAX 1024    /* arrivals kept to measure the acknowledged rate */
#define BWE_PROBE_MS 100      /* length of a probe cluster */
#define BWE_PROBE_INTERVAL_MS 1000 /* at most one probe cluster per interval ... */
#define BWE_PROBE_BACKOFF_MAX_MS 4000 /* ... doubled after each probe that did not reach what was
                                        wanted, up to this; back to the start when one does */

typedef struct bwe_config {
    uint32_t min_bps;   /* 0: 50 kbit/s */
    uint32_t max_bps;   /* 0: 20 Mbit/s */
    uint32_t start_bps; /* 0: 1 Mbit/s */
} bwe_config;

typedef enum { BWE_NORMAL = 0, BWE_OVERUSE, BWE_UNDERUSE } bwe_usage;
typedef enum { BWE_HOLD = 0, BWE_INCREASE, BWE_DECREASE } bwe_rate_state;

typedef struct bwe {
    double min_bps, max_bps;
    /* packet groups */
    int in_group, have_prev;
    int64_t group_first_send, group_last_send, group_last_recv;
    int64_t prev_last_send, prev_last_recv;
    /* trend */
    double acc_ms, smoothed_ms, first_arrival_ms;
    int have_first_arrival;
    unsigned n_deltas;
    double win_x[BWE_TREND_WINDOW], win_y[BWE_TREND_WINDOW];
    unsigned n_win, win_pos;
    double trend;      /* modified trend (ms), compared with the threshold */
    double prev_trend;
    /* overuse detector */
    double threshold_ms;
    double last_update_ms;
    int have_last_update;
    double time_over_ms;
    unsigned overuse_count;
    bwe_usage usage;
    /* rate controller */
    bwe_rate_state state;
    double delay_bps;
    int64_t last_change_us;
    double avg_max_kbps, var_max_kbps; /* of the acknowledged rate at decreases (-1: none) */
    /* acknowledged rate: arrivals in the order reported, the window's sum kept as they come and go */
    int64_t acked_recv[BWE_ACKED_MAX];
    uint32_t acked_size[BWE_ACKED_MAX];
    unsigned acked_pos;   /* where the next arrival goes */
    unsigned acked_in;    /* arrivals in the window: the acked_in before acked_pos */
    uint64_t acked_bytes; /* their bytes */
    int64_t acked_newest; /* latest arrival time seen */
    double acked_bps; /* 0: not measured yet */
    /* loss-based */
    double loss_bps;
    uint32_t loss_lost, loss_total;
    int64_t loss_from_us; /* start of the current loss window */
    int64_t last_loss_increase_us;
    double last_loss;  /* fraction of the last loss interval */
    double inherent_loss; /* loss that sending less did not end (0..1) */
    int64_t loss_cut_us;  /* last decrease for loss (0: none) */
    double ceiling_bps;   /* what got through when loss came (bwe.c set_ceiling) */
    int64_t ceiling_until_us;
    int64_t jump_us;      /* when a probe last took the estimate above that ceiling (0: never) */
    /* receiver's cap */
    double remb_bps; /* 0: none */
    int64_t remb_us;
    double target_bps;
    int64_t last_probe_us; /* start of the last probe cluster asked for (0: none) */
    uint32_t probe_wanted; /* what the last probe was for (0: its outcome is known) */
    double probe_from;     /* the estimate when it was sent */
    int64_t probe_interval_us;
    int64_t last_decrease_us;
    /* the probe cluster being reported (its packets often come in two feedback packets or more):
     * what was sent from its first probe packet to its last one so far, and what was sent after
     * that last one (counted in when another probe packet follows) */
    struct bwe_span {
        uint64_t bytes;
        unsigned sent, lost;
        int64_t first_recv, last_recv;
        uint32_t last_size; /* of the packet that arrived last */
    } pc, pc_after;
    int64_t pc_first_send, pc_last_send;
    unsigned pc_probes;
} bwe;

void bwe_init(bwe *b, const bwe_config *cfg);

/* The results of one feedback (in sequence order, as twcc_history_on_feedback gives them). */
void bwe_on_feedback(bwe *b, const twcc_result *r, size_t n, int64_t now_us);

/* A REMB from the receiver: caps the estimate for the next 5 s (RFC draft-alvestrand-rmcat-remb). */
void bwe_on_remb(bwe *b, uint64_t bps, int64_t now_us);

/* The estimate now: what the sender may send towards this receiver. */
uint32_t bwe_target(const bwe *b, int64_t now_us);

/* The acknowledged rate over the last 500 ms of arrivals (0 before enough were seen). */
uint32_t bwe_acked(const bwe *b);

/* Whether loss limited the estimate lately: a decrease for loss in the last BWE_LOSS_LIMITED_MS.
 * Then the link is likely to drop (a policer, a full queue) rather than delay what goes beyond the
 * estimate, and the sender should not burst above it. */
#define BWE_LOSS_LIMITED_MS 10000
bool bwe_loss_limited(const bwe *b, int64_t now_us);

/* Last loss fraction (0..1) seen by the loss-based part. */
double bwe_loss(const bwe *b);

bwe_usage bwe_get_usage(const bwe *b);

/* The rate (bit/s) at which to send a probe cluster of BWE_PROBE_MS now, or 0: probe when the
 * caller wants more than the estimate, the link shows neither overuse nor loss, and no probe was
 * asked for in the last BWE_PROBE_INTERVAL_MS. Asking counts as starting one. */
uint32_t bwe_probe_rate(bwe *b, int64_t now_us, uint32_t wanted_bps);

#endif
