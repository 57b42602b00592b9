/* bwe.c - the bandwidth estimator of bwe.h: packet groups → delay trend → overuse detector →
 * AIMD rate controller, a loss-based bound, REMB as a cap, and probe results.
 *
 * Written from draft-ietf-rmcat-gcc-02 (§5 delay-based control with the trendline form of the
 * arrival-time filter, §6 loss-based control). Floating point is fine here: this runs once per
 * feedback (tens per second per receiver), not per packet.
 */
#include "sfu/bwe.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#define GROUP_SPAN_US 5000          /* packets sent within 5 ms of a group's first form a group */
#define TREND_SMOOTHING 0.9
#define TREND_GAIN 4.0
#define TREND_MAX_DELTAS 60
#define THRESHOLD_START_MS 12.5
#define THRESHOLD_MIN_MS 6.0
#define THRESHOLD_MAX_MS 600.0
#define K_UP 0.0087
#define K_DOWN 0.039
#define MAX_ADAPT_OFFSET_MS 15.0
#define OVERUSE_TIME_MS 10.0
#define BETA 0.85
#define ACKED_WINDOW_US 500000
#define RESPONSE_TIME_S 0.2          /* RTT (~100 ms on a good path) + 100 ms */
#define PACKET_BITS (1200.0 * 8.0)
#define LOSS_MIN_PACKETS 20
#define LOSS_HIGH 0.10
#define LOSS_LOW 0.02
#define LOSS_INCREASE_US 1000000
#define LOSS_WINDOW_US 500000       /* loss fractions are taken over this (or at once when heavy) */
#define LOSS_BACKOFF 0.9           /* a decrease for loss goes to this times the acknowledged rate */
#define LOSS_AFTER_CUT_US 300000     /* the feedback of what was sent after a decrease is in ... */
#define LOSS_LEARN_US 2000000        /* ... and tells the inherent loss until this long after it */
#define REMB_VALID_US 5000000
#define DECREASE_MIN_INTERVAL_US 200000
#define CEILING_HOLD_US 4000000     /* after loss, the estimate stays under what got through ... */
#define CEILING_SHARE 0.95          /* ... this share of it */
#define CEILING_CONFIRM_US 3000000 /* loss this soon after a probe went past a ceiling confirms it */
#define CEILING_CHECK_US 1000000    /* ... unless loss goes on from this long after the decrease */
#define JUMP_WATCH_US 5000000      /* loss this soon after a probe went past a ceiling is acted on at once */
#define PROBE_AFTER_LOSS_US 3000000 /* a probe raises a loss-limited estimate this long after a decrease */
#define PROBE_OUTCOME_US 500000      /* a probe's feedback is in after this */

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void bwe_init(bwe *b, const bwe_config *cfg)
{
    memset(b, 0, sizeof(*b));
    b->min_bps = cfg && cfg->min_bps ? cfg->min_bps : 50000;
    b->max_bps = cfg && cfg->max_bps ? cfg->max_bps : 20000000;
    double start = cfg && cfg->start_bps ? cfg->start_bps : 1000000;
    start = clamp(start, b->min_bps, b->max_bps);
    b->delay_bps = start;
    b->loss_bps = start;
    b->target_bps = start;
    b->threshold_ms = THRESHOLD_START_MS;
    b->avg_max_kbps = -1;
    b->state = BWE_HOLD;
}

/* ---- acknowledged rate ----------------------------------------------------------------------- */

static unsigned acked_tail(const bwe *b)
{
    return (b->acked_pos + BWE_ACKED_MAX - b->acked_in) % BWE_ACKED_MAX;
}

static void acked_add(bwe *b, int64_t recv_us, uint32_t size)
{
    if (b->acked_in == BWE_ACKED_MAX) { /* the oldest one is overwritten: it leaves the window */
        b->acked_bytes -= b->acked_size[b->acked_pos];
        b->acked_in--;
    }
    b->acked_recv[b->acked_pos] = recv_us;
    b->acked_size[b->acked_pos] = size;
    b->acked_pos = (b->acked_pos + 1) % BWE_ACKED_MAX;
    b->acked_in++;
    b->acked_bytes += size;
    if (b->acked_in == 1 || recv_us > b->acked_newest)
        b->acked_newest = recv_us;
}

/* Bytes that arrived in the last 500 ms before the newest arrival, over that window (or over the
 * span seen so far, once it is at least 100 ms). Arrivals leave the window in the order they were
 * reported (a reordered one leaves with its neighbours), so each is added and taken away once: no
 * rescan per feedback. */
static void acked_update(bwe *b)
{
    while (b->acked_in > 0) {
        unsigned tail = acked_tail(b);
        if (b->acked_recv[tail] > b->acked_newest - ACKED_WINDOW_US)
            break;
        b->acked_bytes -= b->acked_size[tail];
        b->acked_in--;
    }
    if (b->acked_in == 0)
        return;
    int64_t span = b->acked_newest - b->acked_recv[acked_tail(b)];
    if (span < 100000)
        return;
    b->acked_bps = (double)b->acked_bytes * 8.0 * 1e6 / (double)(span > ACKED_WINDOW_US ? ACKED_WINDOW_US : span);
}

/* ---- delay trend and overuse detector -------------------------------------------------------- */

static double regression_slope(const bwe *b)
{
    double sx = 0, sy = 0;
    for (unsigned i = 0; i < b->n_win; i++) {
        sx += b->win_x[i];
        sy += b->win_y[i];
    }
    double mx = sx / b->n_win, my = sy / b->n_win, num = 0, den = 0;
    for (unsigned i = 0; i < b->n_win; i++) {
        num += (b->win_x[i] - mx) * (b->win_y[i] - my);
        den += (b->win_x[i] - mx) * (b->win_x[i] - mx);
    }
    return den > 0 ? num / den : 0;
}

static void detect(bwe *b, double now_ms)
{
    double dt = b->have_last_update ? now_ms - b->last_update_ms : 0;
    b->have_last_update = 1;
    b->last_update_ms = now_ms;
    double t = b->trend;
    if (b->n_deltas < 2) {
        b->usage = BWE_NORMAL;
    } else if (t > b->threshold_ms) {
        b->time_over_ms += dt;
        b->overuse_count++;
        if (b->time_over_ms > OVERUSE_TIME_MS && b->overuse_count > 1 && t >= b->prev_trend) {
            b->usage = BWE_OVERUSE;
            b->time_over_ms = 0;
            b->overuse_count = 0;
        }
    } else if (t < -b->threshold_ms) {
        b->usage = BWE_UNDERUSE;
        b->time_over_ms = 0;
        b->overuse_count = 0;
    } else {
        b->usage = BWE_NORMAL;
        b->time_over_ms = 0;
        b->overuse_count = 0;
    }
    b->prev_trend = t;
    /* §5.4: the threshold follows the trend, slowly up and faster down */
    double at = fabs(t);
    if (at <= b->threshold_ms + MAX_ADAPT_OFFSET_MS) {
        double k = at < b->threshold_ms ? K_DOWN : K_UP;
        b->threshold_ms += k * (at - b->threshold_ms) * (dt < 100 ? dt : 100);
        b->threshold_ms = clamp(b->threshold_ms, THRESHOLD_MIN_MS, THRESHOLD_MAX_MS);
    }
}

/* One delay variation d (ms) between two groups, the later one arriving at arrival_ms. */
static void trend_update(bwe *b, double d, double arrival_ms)
{
    if (!b->have_first_arrival) {
        b->first_arrival_ms = arrival_ms;
        b->have_first_arrival = 1;
    }
    if (b->n_deltas < TREND_MAX_DELTAS)
        b->n_deltas++;
    b->acc_ms += d;
    b->smoothed_ms = TREND_SMOOTHING * b->smoothed_ms + (1 - TREND_SMOOTHING) * b->acc_ms;
    b->win_x[b->win_pos] = arrival_ms - b->first_arrival_ms;
    b->win_y[b->win_pos] = b->smoothed_ms;
    b->win_pos = (b->win_pos + 1) % BWE_TREND_WINDOW;
    if (b->n_win < BWE_TREND_WINDOW)
        b->n_win++;
    if (b->n_win == BWE_TREND_WINDOW)
        b->trend = regression_slope(b) * b->n_deltas * TREND_GAIN;
    detect(b, arrival_ms);
}

/* A received packet in send order: closes the current group when it starts a new one. */
static void group_add(bwe *b, int64_t send_us, int64_t recv_us)
{
    if (b->in_group && send_us - b->group_first_send <= GROUP_SPAN_US) {
        if (send_us > b->group_last_send)
            b->group_last_send = send_us;
        if (recv_us > b->group_last_recv)
            b->group_last_recv = recv_us;
        return;
    }
    if (b->in_group) {
        if (b->have_prev) {
            int64_t send_gap = b->group_last_send - b->prev_last_send;
            int64_t recv_gap = b->group_last_recv - b->prev_last_recv;
            if (recv_gap >= 0 && send_gap >= 0) /* reordered groups tell nothing */
                trend_update(b, (double)(recv_gap - send_gap) / 1000.0, (double)b->group_last_recv / 1000.0);
        }
        b->prev_last_send = b->group_last_send;
        b->prev_last_recv = b->group_last_recv;
        b->have_prev = 1;
    }
    b->in_group = 1;
    b->group_first_send = b->group_last_send = send_us;
    b->group_last_recv = recv_us;
}

/* ---- rate control ---------------------------------------------------------------------------- */

static void rate_update(bwe *b, int64_t now_us)
{
    switch (b->usage) {
    case BWE_OVERUSE:
        b->state = BWE_DECREASE;
        break;
    case BWE_UNDERUSE:
        b->state = BWE_HOLD;
        break;
    case BWE_NORMAL:
        if (b->state == BWE_HOLD || b->state == BWE_DECREASE) {
            b->state = BWE_INCREASE;
            b->last_change_us = now_us;
        }
        break;
    }
    double dt = b->last_change_us ? (double)(now_us - b->last_change_us) / 1e6 : 0;
    dt = clamp(dt, 0, 1);
    double acked_kbps = b->acked_bps / 1000.0;
    if (b->state == BWE_DECREASE) {
        if (now_us - b->last_decrease_us >= DECREASE_MIN_INTERVAL_US) {
            double base = b->acked_bps > 0 ? b->acked_bps : b->delay_bps;
            double next = BETA * base;
            if (next < b->delay_bps)
                b->delay_bps = next;
            if (b->acked_bps > 0) {
                if (b->avg_max_kbps < 0) {
                    b->avg_max_kbps = acked_kbps;
                } else {
                    b->avg_max_kbps = 0.95 * b->avg_max_kbps + 0.05 * acked_kbps;
                    double e = b->avg_max_kbps - acked_kbps;
                    b->var_max_kbps = 0.95 * b->var_max_kbps + 0.05 * e * e / (b->avg_max_kbps > 1 ? b->avg_max_kbps : 1);
                }
            }
            b->last_decrease_us = now_us;
        }
        b->state = BWE_HOLD;
    } else if (b->state == BWE_INCREASE) {
        if (b->avg_max_kbps >= 0) {
            double std = sqrt(b->var_max_kbps * (b->avg_max_kbps > 1 ? b->avg_max_kbps : 1));
            if (acked_kbps > b->avg_max_kbps + 3 * std)
                b->avg_max_kbps = -1; /* well above the last congestion: far from it again */
        }
        double before = b->delay_bps;
        double kbps = b->delay_bps / 1000.0;
        bool near = b->avg_max_kbps >= 0 && fabs(kbps - b->avg_max_kbps) <= 3 * sqrt(b->var_max_kbps * (b->avg_max_kbps > 1 ? b->avg_max_kbps : 1)) + 50;
        if (near)
            b->delay_bps += PACKET_BITS / RESPONSE_TIME_S * dt;
        else
            b->delay_bps += b->delay_bps * (pow(1.08, dt) - 1) + 1000 * dt;
        /* no increase far above what actually arrives (the estimate itself is not lowered) */
        double cap = 1.5 * b->acked_bps + 10000;
        if (b->acked_bps > 0 && b->delay_bps > cap)
            b->delay_bps = before > cap ? before : cap;
    }
    b->last_change_us = now_us;
    b->delay_bps = clamp(b->delay_bps, b->min_bps, b->max_bps);
}

/* The loss-based estimate (§6), with two changes for loss that is not caused by the sender:
 *  - the loss a link shows whatever the rate (radio, a bad cable) is learned as its inherent loss,
 *    from the intervals right after a decrease (had the loss been congestion, sending less would
 *    have ended it); the thresholds apply to the loss above it;
 *  - between the thresholds GCC holds, which leaves a sender just above a policer losing up to 10 %
 *    for good; here it comes down to the acknowledged rate (what did get through), at most once a
 *    second (LOSS_BACKOFF x it: a policer lets a burst through above its rate). */
/* Loss came with what got through measured at acked_bps: a policer (or a full link) passes that
 * much and no more, whatever probes say (a policer's bucket lets a probe's burst through, and a
 * rate above it for seconds before it drops anything). So for CEILING_HOLD_US the estimate stays
 * under it; when the hold ends a probe goes out at once (bwe_probe_rate), so that a link freed
 * during the hold is found within about a second of its end. (Holding longer each time the loss
 * came back soon, up to 8 s, left a receiver whose policer had just gone on lower layers for
 * 9-10 s: the test_policer_removed_at_any_moment figures are in bench/README.md.) */
static void set_ceiling(bwe *b, int64_t now_us)
{
    if (b->acked_bps <= 0)
        return;
    /* Loss soon after a probe took the estimate above the last ceiling: the probe went through a
     * policer's bucket, and what got through since (the bucket emptying) says nothing of its
     * rate; the last ceiling still holds. */
    bool confirmed = b->jump_us && now_us - b->jump_us < CEILING_CONFIRM_US && b->ceiling_bps > 0 &&
                     b->ceiling_bps < b->acked_bps;
    if (confirmed) {
        if (b->loss_bps > CEILING_SHARE * b->ceiling_bps)
            b->loss_bps = CEILING_SHARE * b->ceiling_bps;
    } else {
        b->ceiling_bps = b->acked_bps;
    }
    b->jump_us = 0;
    b->ceiling_until_us = now_us + CEILING_HOLD_US;
}

static void loss_update(bwe *b, int64_t now_us)
{
    if (b->loss_total < LOSS_MIN_PACKETS)
        return;
    if (!b->loss_from_us)
        b->loss_from_us = now_us;
    double p = (double)b->loss_lost / b->loss_total;
    /* a window of LOSS_WINDOW_US (a fraction over a few dozen packets says little), unless the
     * loss is heavy, or over LOSS_HIGH soon after a probe took the estimate past the last ceiling
     * (most likely that policer again, its bucket run empty): that is acted on at once */
    bool past_ceiling = b->jump_us && now_us - b->jump_us < JUMP_WATCH_US;
    if (now_us - b->loss_from_us < LOSS_WINDOW_US && p <= 2 * LOSS_HIGH && !(past_ceiling && p > LOSS_HIGH))
        return;
    b->last_loss = p;
    b->loss_lost = b->loss_total = 0;
    b->loss_from_us = now_us;
    int64_t since_cut = now_us - b->loss_cut_us;
    if (b->loss_cut_us && since_cut >= LOSS_AFTER_CUT_US && since_cut < LOSS_LEARN_US)
        b->inherent_loss += 0.5 * (p - b->inherent_loss); /* what sending less did not end */
    if (b->loss_cut_us && since_cut >= CEILING_CHECK_US && since_cut < CEILING_CHECK_US + LOSS_LEARN_US &&
        p > LOSS_LOW) {
        b->ceiling_until_us = 0; /* sending less did not end the loss: it does not mark a limit */
        b->ceiling_bps = 0;
    } else if (p < b->inherent_loss) {
        b->inherent_loss += 0.01 * (p - b->inherent_loss);
    }
    double excess = p - b->inherent_loss;
    /* below what got through: that rate was measured while the link dropped the rest, and a
     * policer lets a burst through above its rate */
    double acked = LOSS_BACKOFF * (b->acked_bps > 0 ? b->acked_bps : b->loss_bps);
    if (excess > LOSS_HIGH) {
        double next = b->loss_bps * (1 - 0.5 * excess);
        b->loss_bps = next < acked ? next : acked;
        b->loss_cut_us = now_us;
        set_ceiling(b, now_us);
    } else if (excess > LOSS_LOW) {
        if (since_cut >= LOSS_INCREASE_US && acked < b->loss_bps) {
            b->loss_bps = acked;
            b->loss_cut_us = now_us;
            set_ceiling(b, now_us);
        }
    } else if (b->loss_bps < b->delay_bps && now_us - b->last_loss_increase_us >= LOSS_INCREASE_US) {
        double before = b->loss_bps;
        b->loss_bps = b->loss_bps * 1.08 + 1000;
        if (b->loss_bps > b->delay_bps)
            b->loss_bps = b->delay_bps;
        /* no growth far above what is sent (as for the delay-based estimate): a sender held below
         * a policer by its layers' sizes would otherwise grow it untested until a layer switch up
         * sends far more at once; probes find more room */
        double cap = 1.5 * b->acked_bps + 10000;
        if (b->acked_bps > 0 && b->loss_bps > cap)
            b->loss_bps = before > cap ? before : cap;
        /* nor above a ceiling while it holds: grown under it, the estimate would be far above what
         * got through the moment the hold ends */
        cap = CEILING_SHARE * b->ceiling_bps;
        if (b->ceiling_until_us && now_us < b->ceiling_until_us && b->loss_bps > cap)
            b->loss_bps = before > cap ? before : cap;
        b->last_loss_increase_us = now_us;
    }
    b->loss_bps = clamp(b->loss_bps, b->min_bps, b->max_bps);
}

static void span_add(struct bwe_span *sp, const twcc_result *x)
{
    sp->sent++;
    if (x->recv_us < 0) {
        sp->lost++;
        return;
    }
    bool first = sp->bytes == 0;
    sp->bytes += x->size;
    if (first || x->recv_us < sp->first_recv)
        sp->first_recv = x->recv_us;
    if (first || x->recv_us >= sp->last_recv) {
        sp->last_recv = x->recv_us;
        sp->last_size = x->size;
    }
}

static void span_merge(struct bwe_span *into, const struct bwe_span *from)
{
    if (from->bytes) {
        if (!into->bytes || from->first_recv < into->first_recv)
            into->first_recv = from->first_recv;
        if (!into->bytes || from->last_recv >= into->last_recv) {
            into->last_recv = from->last_recv;
            into->last_size = from->last_size;
        }
    }
    into->bytes += from->bytes;
    into->sent += from->sent;
    into->lost += from->lost;
}

#define PROBE_GAP_US 200000 /* a probe packet this long after the last one starts another cluster */

/* The probe cluster in this feedback, added to what earlier feedback said of it: the rate at which
 * what was sent during the cluster (probe packets and media between them) arrived. */
static void probe_update(bwe *b, const twcc_result *r, size_t n, int64_t now_us)
{
    bool touched = false;
    for (size_t i = 0; i < n; i++) {
        const twcc_result *x = &r[i];
        if (x->probe) {
            if (!b->pc_probes || x->send_us - b->pc_last_send > PROBE_GAP_US || x->send_us < b->pc_first_send) {
                memset(&b->pc, 0, sizeof(b->pc));
                b->pc_probes = 0;
                b->pc_first_send = x->send_us;
            } else {
                span_merge(&b->pc, &b->pc_after);
            }
            memset(&b->pc_after, 0, sizeof(b->pc_after));
            span_add(&b->pc, x);
            b->pc_last_send = x->send_us;
            b->pc_probes++;
            touched = true;
        } else if (b->pc_probes && x->send_us >= b->pc_first_send && x->send_us - b->pc_last_send <= PROBE_GAP_US) {
            span_add(&b->pc_after, x);
        }
    }
    const struct bwe_span *sp = &b->pc;
    if (!touched || b->pc_probes < 5 || b->usage == BWE_OVERUSE)
        return;
    if (sp->sent == 0 || (double)sp->lost / sp->sent > LOSS_LOW || sp->last_recv - sp->first_recv < 10000)
        return;
    /* the last packet's bytes arrived at last_recv: the span carried the others */
    double rate = (double)(sp->bytes - sp->last_size) * 8.0 * 1e6 / (double)(sp->last_recv - sp->first_recv);
    int64_t send_span = b->pc_last_send - b->pc_first_send;
    double send_rate = (double)(sp->bytes - sp->last_size) * 8.0 * 1e6 / (double)(send_span > 0 ? send_span : 1);
    if (rate > send_rate)
        rate = send_rate; /* it cannot have arrived faster than it was sent */
    double next = clamp(0.95 * rate, b->min_bps, b->max_bps);
    if (next > b->delay_bps)
        b->delay_bps = next;
    /* also when only loss held it, once no loss has been seen for a while: the link carried the
     * probe (a policer lets a probe's burst through its bucket, so right after losses a probe
     * says little) */
    if (next > b->loss_bps && (!b->loss_cut_us || now_us - b->loss_cut_us >= PROBE_AFTER_LOSS_US)) {
        if (b->ceiling_bps > 0 && next > b->ceiling_bps && b->loss_bps <= b->ceiling_bps)
            b->jump_us = now_us;
        b->loss_bps = next;
    }
}

void bwe_on_feedback(bwe *b, const twcc_result *r, size_t n, int64_t now_us)
{
    for (size_t i = 0; i < n; i++) {
        b->loss_total++;
        if (r[i].recv_us < 0) {
            b->loss_lost++;
            continue;
        }
        acked_add(b, r[i].recv_us, r[i].size);
        group_add(b, r[i].send_us, r[i].recv_us);
    }
    acked_update(b);
    rate_update(b, now_us);
    loss_update(b, now_us);
    probe_update(b, r, n, now_us);
    double t = b->delay_bps < b->loss_bps ? b->delay_bps : b->loss_bps;
    b->target_bps = clamp(t, b->min_bps, b->max_bps);
}

void bwe_on_remb(bwe *b, uint64_t bps, int64_t now_us)
{
    b->remb_bps = (double)bps;
    b->remb_us = now_us;
}

uint32_t bwe_target(const bwe *b, int64_t now_us)
{
    double t = b->target_bps;
    if (b->ceiling_until_us && now_us < b->ceiling_until_us && t > CEILING_SHARE * b->ceiling_bps)
        t = CEILING_SHARE * b->ceiling_bps > b->min_bps ? CEILING_SHARE * b->ceiling_bps : b->min_bps;
    if (b->remb_bps > 0 && now_us - b->remb_us < REMB_VALID_US && b->remb_bps < t)
        t = b->remb_bps > b->min_bps ? b->remb_bps : b->min_bps;
    return (uint32_t)t;
}

bool bwe_loss_limited(const bwe *b, int64_t now_us)
{
    return b->loss_cut_us && now_us - b->loss_cut_us < (int64_t)BWE_LOSS_LIMITED_MS * 1000;
}

uint32_t bwe_acked(const bwe *b)
{
    return (uint32_t)b->acked_bps;
}

double bwe_loss(const bwe *b)
{
    return b->last_loss;
}

bwe_usage bwe_get_usage(const bwe *b)
{
    return b->usage;
}

uint32_t bwe_probe_rate(bwe *b, int64_t now_us, uint32_t wanted_bps)
{
    double target = bwe_target(b, now_us);
    if (wanted_bps <= target || b->usage == BWE_OVERUSE || b->last_loss >= LOSS_LOW)
        return 0;
    if (b->remb_bps > 0 && now_us - b->remb_us < REMB_VALID_US && b->remb_bps <= target)
        return 0; /* the receiver itself says no more */
    if (b->last_probe_us) {
        /* the last probe's outcome, once its feedback is in, sets the wait: it reached what it
         * was for, or it did not */
        if (b->probe_wanted && now_us - b->last_probe_us >= PROBE_OUTCOME_US) {
            /* judged on the estimate itself: while a ceiling holds the target, a probe that raised
             * the estimate under it did make progress (it is there when the hold ends) */
            if (b->target_bps < b->probe_wanted && b->target_bps < 1.2 * b->probe_from) { /* no progress */
                if (b->probe_interval_us < (int64_t)BWE_PROBE_BACKOFF_MAX_MS * 1000)
                    b->probe_interval_us *= 2;
            } else {
                b->probe_interval_us = (int64_t)BWE_PROBE_INTERVAL_MS * 1000;
            }
            b->probe_wanted = 0;
        }
        /* a hold of the estimate under a ceiling just ended: probe now, whatever the wait (the
         * link may have been freed while it held) */
        bool hold_ended = b->ceiling_until_us && now_us >= b->ceiling_until_us && b->last_probe_us < b->ceiling_until_us;
        if (hold_ended)
            b->probe_interval_us = (int64_t)BWE_PROBE_INTERVAL_MS * 1000;
        if (b->probe_wanted || (now_us - b->last_probe_us < b->probe_interval_us && !hold_ended))
            return 0;
    }
    b->last_probe_us = now_us;
    b->probe_wanted = wanted_bps;
    b->probe_from = b->target_bps;
    if (!b->probe_interval_us)
        b->probe_interval_us = (int64_t)BWE_PROBE_INTERVAL_MS * 1000;
    double rate = 1.1 * wanted_bps;
    if (rate > 2 * target)
        rate = 2 * target;
    return (uint32_t)clamp(rate, b->min_bps, b->max_bps);
}
