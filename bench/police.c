/* police.c - the token bucket of police.h. */
#include "bench/police.h"

#include <string.h>

#define MIN_DEPTH 1500

void bench_police_init(bench_police *p, uint32_t kbps, uint32_t burst_bytes)
{
    memset(p, 0, sizeof(*p));
    p->rate = (int64_t)kbps * 125; /* bytes per second = micro-bytes per microsecond */
    p->depth = (int64_t)(burst_bytes < MIN_DEPTH ? MIN_DEPTH : burst_bytes) * 1000000;
    p->tokens = p->depth;
}

bool bench_police_pass(bench_police *p, size_t wire_bytes, int64_t now_us)
{
    if (p->started && now_us > p->last_us) {
        int64_t dt = now_us - p->last_us;
        /* a long idle time fills it anyway: no overflow from the product */
        p->tokens = dt >= p->depth / (p->rate ? p->rate : 1) ? p->depth : p->tokens + dt * p->rate;
        if (p->tokens > p->depth)
            p->tokens = p->depth;
    }
    if (!p->started || now_us > p->last_us)
        p->last_us = now_us;
    p->started = true;
    int64_t cost = (int64_t)wire_bytes * 1000000;
    if (p->tokens >= cost) {
        p->tokens -= cost;
        p->passed++;
        p->passed_bytes += wire_bytes;
        return true;
    }
    p->dropped++;
    p->dropped_bytes += wire_bytes;
    return false;
}
