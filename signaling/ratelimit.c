/* ratelimit.c - token bucket: `rate` tokens per second up to `burst`; each message costs one. */
#include "signaling/ratelimit.h"

void ratelimit_init(ratelimit *rl, double rate_per_s, double burst, uint64_t now_us)
{
    rl->rate = rate_per_s;
    rl->burst = burst;
    rl->tokens = burst;
    rl->last_us = now_us;
}

bool ratelimit_take(ratelimit *rl, uint64_t now_us)
{
    if (now_us > rl->last_us) {
        rl->tokens += (double)(now_us - rl->last_us) * rl->rate / 1e6;
        if (rl->tokens > rl->burst)
            rl->tokens = rl->burst;
        rl->last_us = now_us;
    }
    if (rl->tokens < 1.0)
        return false;
    rl->tokens -= 1.0;
    return true;
}
