/* pacer.c - the token bucket and queue of pacer.h. */
#include "sfu/pacer.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    size_t bytes;
} slot_hdr;

struct pacer {
    double rate_bps;
    double budget;     /* bytes that may leave now; negative: sent ahead of the rate */
    int64_t last_us;   /* when the budget was last brought up to date (0: not yet) */
    size_t slots, item_size, stride;
    size_t head, n;
    size_t bytes;      /* wire bytes waiting */
    unsigned char *ring; /* owned: slots x (slot_hdr + item) */
};

pacer *pacer_new(size_t slots, size_t item_size, uint32_t rate_bps)
{
    if (slots == 0 || item_size == 0)
        return NULL;
    pacer *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->stride = (sizeof(slot_hdr) + item_size + 15) & ~(size_t)15;
    p->ring = calloc(slots, p->stride);
    if (!p->ring) {
        free(p);
        return NULL;
    }
    p->slots = slots;
    p->item_size = item_size;
    p->rate_bps = rate_bps;
    return p;
}

void pacer_free(pacer *p)
{
    if (!p)
        return;
    free(p->ring);
    free(p);
}

static double burst_bytes(const pacer *p)
{
    double b = p->rate_bps / 8.0 * PACER_BURST_US / 1e6;
    return b > PACER_BURST_MIN ? b : PACER_BURST_MIN;
}

/* The rate the queue drains at: the pacing rate, or faster when more waits than it drains in
 * PACER_DRAIN_US. */
static double drain_bps(const pacer *p)
{
    double need = (double)p->bytes * 8.0 * 1e6 / PACER_DRAIN_US;
    return need > p->rate_bps ? need : p->rate_bps;
}

static void refill(pacer *p, int64_t now_us)
{
    if (p->last_us && now_us > p->last_us) {
        p->budget += drain_bps(p) / 8.0 * (double)(now_us - p->last_us) / 1e6;
        double cap = burst_bytes(p);
        if (p->budget > cap)
            p->budget = cap;
    } else if (!p->last_us) {
        p->budget = burst_bytes(p);
    }
    if (now_us > p->last_us)
        p->last_us = now_us;
}

void pacer_set_rate(pacer *p, uint32_t rate_bps, int64_t now_us)
{
    refill(p, now_us); /* what accrued so far, at the old rate */
    p->rate_bps = rate_bps;
}

uint32_t pacer_rate(const pacer *p)
{
    return (uint32_t)p->rate_bps;
}

bool pacer_may_send(pacer *p, int64_t now_us)
{
    refill(p, now_us);
    return p->n == 0 && p->budget > 0;
}

void pacer_sent(pacer *p, size_t bytes, int64_t now_us)
{
    refill(p, now_us);
    p->budget -= (double)bytes;
    /* a long burst sent around the pacer (probes, retransmissions) is not owed for ever */
    double floor = -4 * burst_bytes(p) - p->rate_bps / 8.0 * 0.2;
    if (p->budget < floor)
        p->budget = floor;
}

static slot_hdr *slot_at(const pacer *p, size_t i)
{
    return (slot_hdr *)(p->ring + ((p->head + i) % p->slots) * p->stride);
}

void *pacer_push(pacer *p, size_t bytes)
{
    if (p->n == p->slots)
        return NULL;
    slot_hdr *h = slot_at(p, p->n);
    h->bytes = bytes;
    p->n++;
    p->bytes += bytes;
    return h + 1;
}

void *pacer_front(pacer *p)
{
    return p->n ? slot_at(p, 0) + 1 : NULL;
}

void *pacer_due(pacer *p, int64_t now_us)
{
    refill(p, now_us);
    return p->n && p->budget > 0 ? slot_at(p, 0) + 1 : NULL;
}

void pacer_pop(pacer *p)
{
    if (!p->n)
        return;
    p->bytes -= slot_at(p, 0)->bytes;
    p->head = (p->head + 1) % p->slots;
    p->n--;
}

size_t pacer_filter(pacer *p, bool (*keep)(const void *item, void *ctx), void *ctx)
{
    size_t w = 0, n = p->n;
    for (size_t i = 0; i < n; i++) {
        slot_hdr *h = slot_at(p, i);
        if (!keep(h + 1, ctx)) {
            p->bytes -= h->bytes;
            continue;
        }
        if (w != i)
            memcpy(slot_at(p, w), h, p->stride);
        w++;
    }
    p->n = w;
    return n - w;
}

size_t pacer_queued(const pacer *p)
{
    return p->n;
}

size_t pacer_queued_bytes(const pacer *p)
{
    return p->bytes;
}

void *pacer_item(pacer *p, size_t i)
{
    return i < p->n ? slot_at(p, i) + 1 : NULL;
}
