/* ratelimit.h - token bucket for per-connection message rates. Pure: time is passed in. */
#ifndef VM_RATELIMIT_H
#define VM_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    double tokens;      /* current tokens, <= burst */
    double rate;        /* tokens added per second */
    double burst;       /* bucket size */
    uint64_t last_us;   /* time of the last refill, microseconds (any monotonic origin) */
} ratelimit;

void ratelimit_init(ratelimit *rl, double rate_per_s, double burst, uint64_t now_us);

/* Takes one token. Returns true when the message is allowed, false when it must be dropped. */
bool ratelimit_take(ratelimit *rl, uint64_t now_us);

#endif
