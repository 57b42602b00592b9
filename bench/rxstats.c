/* rxstats.c - receive-side statistics of the bench: latency histogram and per-track sequence
 * tracking with a browser-like NACK list (see rxstats.h). Pure: no I/O, no clock, no allocation.
 *
 * Extended sequence numbers start at 2^20 + the first seq, so a packet a little older than the
 * first one does not wrap below zero; wrap-around of the 16-bit seq is handled by extending each
 * seq to the value nearest to the highest one seen (rtp_seq_unwrap).
 */
#include "bench/rxstats.h"

#include <string.h>

#include "sfu/rtp.h"

/* ---- histogram ---- */

static size_t hist_index(uint64_t v)
{
    if (v < 64)
        return (size_t)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - 5u;
    uint64_t top = v >> shift; /* 32..63 */
    return 64u + (size_t)(shift - 1u) * BENCH_HIST_SUB + (size_t)(top - 32u);
}

static uint64_t hist_mid(size_t idx)
{
    if (idx < 64)
        return idx;
    size_t k = idx - 64u;
    unsigned shift = (unsigned)(k / BENCH_HIST_SUB) + 1u;
    uint64_t low = (uint64_t)(32u + k % BENCH_HIST_SUB) << shift;
    return low + (UINT64_C(1) << shift) / 2u;
}

void bench_hist_reset(bench_hist *h)
{
    memset(h, 0, sizeof(*h));
}

void bench_hist_add(bench_hist *h, uint64_t v)
{
    bench_hist_add_n(h, v, 1);
}

void bench_hist_add_n(bench_hist *h, uint64_t v, uint64_t n)
{
    if (n == 0)
        return;
    if (v > BENCH_HIST_MAX)
        v = BENCH_HIST_MAX;
    h->counts[hist_index(v)] += n;
    h->n += n;
    h->sum += v * n;
    if (v > h->max)
        h->max = v;
}

void bench_hist_merge(bench_hist *dst, const bench_hist *src)
{
    for (size_t i = 0; i < BENCH_HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    dst->n += src->n;
    dst->sum += src->sum;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t bench_hist_percentile(const bench_hist *h, double p)
{
    if (h->n == 0)
        return 0;
    if (p < 0)
        p = 0;
    if (p > 1)
        p = 1;
    uint64_t rank = (uint64_t)(p * (double)h->n + 0.999999);
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < BENCH_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t mid = hist_mid(i);
            return mid > h->max ? h->max : mid;
        }
    }
    return h->max;
}

/* ---- sequence tracking ---- */

#define EXT_ORIGIN (UINT32_C(1) << 20)

void bench_rxseq_init(bench_rxseq *s)
{
    memset(s, 0, sizeof(*s));
}

static void bit_set(bench_rxseq *s, uint32_t ext)
{
    uint32_t i = ext % BENCH_RX_WINDOW;
    s->bits[i / 64] |= UINT64_C(1) << (i % 64);
}

static void bit_clear(bench_rxseq *s, uint32_t ext)
{
    uint32_t i = ext % BENCH_RX_WINDOW;
    s->bits[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

static bool bit_get(const bench_rxseq *s, uint32_t ext)
{
    uint32_t i = ext % BENCH_RX_WINDOW;
    return (s->bits[i / 64] >> (i % 64)) & 1u;
}

static void missing_remove(bench_rxseq *s, uint32_t ext)
{
    for (size_t i = 0; i < s->n_missing; i++) {
        if (s->missing[i].ext == ext) {
            memmove(&s->missing[i], &s->missing[i + 1], (s->n_missing - i - 1) * sizeof(s->missing[0]));
            s->n_missing--;
            return;
        }
    }
}

/* The seqs between the old highest and ext are missing. */
static void advance(bench_rxseq *s, uint32_t ext, int64_t now_us, const bench_nack_policy *policy)
{
    uint32_t gap = ext - s->max - 1u;
    if (ext - s->max >= BENCH_RX_WINDOW) {
        memset(s->bits, 0, sizeof(s->bits));
    } else {
        for (uint32_t e = s->max + 1u; e != ext + 1u; e++)
            bit_clear(s, e);
    }
    if (gap > BENCH_RX_NACK_SPAN) {
        s->untracked += gap;
    } else {
        for (uint32_t e = s->max + 1u; e != ext; e++) {
            if (s->n_missing == BENCH_RX_MISSING_MAX) {
                s->untracked++;
                continue;
            }
            s->missing[s->n_missing++] =
                (bench_rx_missing){e, 0, now_us + (policy ? policy->first_delay_us : 0), now_us};
        }
    }
    s->max = ext;
}

bench_rx_result bench_rxseq_update(bench_rxseq *s, uint16_t seq, bool retransmission, int64_t now_us,
                                   const bench_nack_policy *policy, uint32_t *delta_expected,
                                   uint32_t *delta_unique)
{
    uint32_t dexp = 0, duniq = 0;
    bench_rx_result res;
    if (!s->started) {
        s->started = true;
        s->base = s->max = EXT_ORIGIN + seq;
        bit_set(s, s->max);
        dexp = duniq = 1;
        res = BENCH_RX_NEW;
    } else {
        uint32_t ext = rtp_seq_unwrap(s->max, seq);
        if (ext > s->max) {
            dexp = ext - s->max;
            advance(s, ext, now_us, policy);
            bit_set(s, ext);
            duniq = 1;
            res = BENCH_RX_NEW;
        } else if (ext < s->base || s->max - ext >= BENCH_RX_WINDOW) {
            s->late++;
            res = BENCH_RX_LATE;
        } else if (bit_get(s, ext)) {
            s->duplicates++;
            res = BENCH_RX_DUPLICATE;
        } else {
            bit_set(s, ext);
            duniq = 1;
            missing_remove(s, ext);
            if (retransmission)
                s->recovered++;
            else
                s->reordered++;
            res = BENCH_RX_FILLED;
        }
    }
    s->expected += dexp;
    s->unique += duniq;
    if (delta_expected)
        *delta_expected = dexp;
    if (delta_unique)
        *delta_unique = duniq;
    return res;
}

size_t bench_rxseq_due_nacks(bench_rxseq *s, int64_t now_us, const bench_nack_policy *policy, uint16_t *out,
                             size_t max)
{
    size_t n = 0, w = 0;
    for (size_t i = 0; i < s->n_missing; i++) {
        bench_rx_missing m = s->missing[i];
        if (m.tries >= policy->max_tries || now_us - m.since_us > policy->max_age_us)
            continue; /* given up: stays lost */
        if (m.next_us <= now_us && n < max) {
            out[n++] = (uint16_t)m.ext;
            m.tries++;
            m.next_us = now_us + policy->retry_us;
        }
        s->missing[w++] = m;
    }
    s->n_missing = w;
    return n;
}
