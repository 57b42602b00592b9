/* ratelimit.c - token bucket: `rate` tokens per second up to `burst`; each message costs one. */
#include "signaling/ratelimit.h"

void ratelimit_init(ratelimit *rl, double rate_per_s, double burst, uint64_t now_us)
{
    rl->rate = rate_per_s;
    rl->burst = burst;
    rl->tokens = burst;
    rl->last_us = now_us;
}

static void refill(ratelimit *rl, uint64_t now_us)
{
    if (now_us > rl->last_us) {
        rl->tokens += (double)(now_us - rl->last_us) * rl->rate / 1e6;
        if (rl->tokens > rl->burst)
            rl->tokens = rl->burst;
        rl->last_us = now_us;
    }
}

bool ratelimit_take(ratelimit *rl, uint64_t now_us)
{
    refill(rl, now_us);
    if (rl->tokens < 1.0)
        return false;
    rl->tokens -= 1.0;
    return true;
}

/* Microseconds until the bucket holds `level` tokens. */
static uint64_t wait_for(ratelimit *rl, uint64_t now_us, double level)
{
    refill(rl, now_us);
    if (rl->tokens >= level)
        return 0;
    if (rl->rate <= 0)
        return UINT64_MAX;
    double us = (level - rl->tokens) * 1e6 / rl->rate;
    return us >= 1.8e19 ? UINT64_MAX : (uint64_t)us + 1;
}

uint64_t ratelimit_wait_us(ratelimit *rl, uint64_t now_us)
{
    return wait_for(rl, now_us, 1.0);
}

uint64_t ratelimit_full_us(ratelimit *rl, uint64_t now_us)
{
    return wait_for(rl, now_us, rl->burst);
}
