/* ratelimit.h - token bucket for message and action rates. Pure: time is passed in. */
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

/* A full bucket: `burst` tokens, refilled at rate_per_s. */
void ratelimit_init(ratelimit *rl, double rate_per_s, double burst, uint64_t now_us);

/* Takes one token. Returns true when the message is allowed, false when it must be dropped. */
bool ratelimit_take(ratelimit *rl, uint64_t now_us);

/* Microseconds until a token is there (0: one is there now); takes nothing. With rate 0 and no token,
 * UINT64_MAX. */
uint64_t ratelimit_wait_us(ratelimit *rl, uint64_t now_us);

/* Microseconds until the bucket is full again (0: it is). With rate 0 and a bucket not full, UINT64_MAX. */
uint64_t ratelimit_full_us(ratelimit *rl, uint64_t now_us);

#endif
