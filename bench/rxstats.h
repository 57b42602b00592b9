/* rxstats.h - what a bench receiver measures per received track, and a latency histogram.
 *
 * Pure code: no I/O, no clock (every function takes `now_us`, any monotonic microsecond clock),
 * no allocation, no locks. One bench_rxseq per received track and one bench_hist per worker thread,
 * each used by one thread.
 *
 * bench_rxseq follows the sequence numbers of one forwarded track. The SFU rewrites every
 * forwarded track to continuous sequence numbers (sfu/rewrite.h), so every gap is a loss as far as
 * the receiver can tell: it counts what was expected (highest extended seq - first + 1), what
 * arrived once (unique), duplicates, packets that arrived after a later one without being a
 * retransmission (reordered), and keeps a list of missing seqs to NACK, like a browser does:
 * first NACK after a short delay (reordering tolerance), then retries until the packet arrives,
 * the retries run out, or it is too old. Loss = expected - unique.
 *
 * bench_hist is a log-linear histogram (HDR-like): exact below 64, then 32 sub-buckets per power
 * of two, so a percentile is within ~3 % of the true value. Values are clamped to 2^40 - 1.
 */
#ifndef BENCH_RXSTATS_H
#define BENCH_RXSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- histogram ---- */
#define BENCH_HIST_SUB 32
#define BENCH_HIST_BUCKETS (64 + 35 * BENCH_HIST_SUB)
#define BENCH_HIST_MAX ((UINT64_C(1) << 40) - 1)

typedef struct bench_hist {
    uint64_t counts[BENCH_HIST_BUCKETS];
    uint64_t n;
    uint64_t max;
    uint64_t sum;
} bench_hist;

void bench_hist_reset(bench_hist *h);
void bench_hist_add(bench_hist *h, uint64_t v);
/* n samples of the same value v. */
void bench_hist_add_n(bench_hist *h, uint64_t v, uint64_t n);
/* dst += src. */
void bench_hist_merge(bench_hist *dst, const bench_hist *src);
/* The value at fraction p (0..1) of the samples: the middle of its bucket (exact below 64, and
 * never above the largest sample). 0 when empty. */
uint64_t bench_hist_percentile(const bench_hist *h, double p);

/* ---- sequence tracking of one received track ---- */
#define BENCH_RX_WINDOW 2048      /* seqs remembered for duplicate detection (bits) */
#define BENCH_RX_MISSING_MAX 256  /* missing seqs tracked for NACK */
#define BENCH_RX_NACK_SPAN 1000   /* gaps larger than this are counted lost but not NACKed */

typedef enum {
    BENCH_RX_NEW,       /* in order (the highest so far) */
    BENCH_RX_FILLED,    /* fills a gap: reordered, or a retransmission when `retransmission` was set */
    BENCH_RX_DUPLICATE, /* already received */
    BENCH_RX_LATE,      /* older than the window: cannot tell; not counted as received */
} bench_rx_result;

typedef struct bench_rx_missing {
    uint32_t ext;      /* extended seq */
    uint8_t tries;     /* NACKs sent for it */
    int64_t next_us;   /* when to NACK it (again) */
    int64_t since_us;  /* when the gap was seen */
} bench_rx_missing;

typedef struct bench_rxseq {
    bool started;
    uint32_t base, max;                  /* first and highest extended seq */
    uint64_t bits[BENCH_RX_WINDOW / 64]; /* received flags, indexed by ext % BENCH_RX_WINDOW */
    uint64_t expected, unique, duplicates, reordered, recovered, late;
    bench_rx_missing missing[BENCH_RX_MISSING_MAX];
    size_t n_missing;
    uint64_t untracked;                  /* missing seqs not tracked for NACK (list full or huge gap) */
} bench_rxseq;

typedef struct bench_nack_policy {
    int64_t first_delay_us;  /* gap seen -> first NACK */
    int64_t retry_us;        /* between NACKs of one seq */
    unsigned max_tries;
    int64_t max_age_us;      /* give up on a seq this long after the gap was seen */
} bench_nack_policy;

void bench_rxseq_init(bench_rxseq *s);
/* Accounts one packet. `retransmission` says it came as RTX (or is known to be resent), which only
 * changes whether a gap fill counts as reordered or recovered. `policy` sets the first NACK time of
 * new gaps. *delta_expected and *delta_unique (may be NULL) receive how much the two totals grew. */
bench_rx_result bench_rxseq_update(bench_rxseq *s, uint16_t seq, bool retransmission, int64_t now_us,
                                   const bench_nack_policy *policy, uint32_t *delta_expected,
                                   uint32_t *delta_unique);
/* Seqs to NACK now, in increasing order, at most max: each is marked as NACKed once more and gets its
 * next time; seqs out of tries or too old are dropped from the list. Returns how many were written. */
size_t bench_rxseq_due_nacks(bench_rxseq *s, int64_t now_us, const bench_nack_policy *policy, uint16_t *out,
                             size_t max);
/* Packets never received so far (expected - unique). */
static inline uint64_t bench_rxseq_lost(const bench_rxseq *s)
{
    return s->expected > s->unique ? s->expected - s->unique : 0;
}

#endif
