/* police.h - a token-bucket policer on a bench receiver's link: what arrives faster than the rate,
 * beyond a burst, is dropped, as a policer on the path would drop it.
 *
 * The bucket holds at most `burst` bytes and fills at `kbps`; a packet passes when the bucket holds
 * its size (which is then taken out), and is dropped otherwise (nothing taken). Sizes are what the
 * link carries: the caller adds the IP, UDP and SRTP overhead to the RTP/RTCP length
 * (BENCH_POLICE_OVERHEAD). The bucket starts full. Integer arithmetic (micro-bytes), so a run is
 * exactly reproducible from its arrival times.
 *
 * Pure: no I/O, no clock (callers pass now_us, any monotonic microsecond clock), no allocation;
 * one per policed receiver, used by one thread.
 */
#ifndef BENCH_POLICE_H
#define BENCH_POLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* IPv4 (20) + UDP (8) + the SRTP tag of AEAD_AES_128_GCM (16): added to a plain packet's length. */
#define BENCH_POLICE_OVERHEAD 44

typedef struct bench_police {
    int64_t rate;     /* micro-bytes per microsecond = bytes per second */
    int64_t depth;    /* micro-bytes */
    int64_t tokens;   /* micro-bytes */
    int64_t last_us;
    bool started;
    uint64_t passed, dropped, passed_bytes, dropped_bytes;
} bench_police;

/* kbps > 0; burst_bytes: the bucket's depth (at least one 1500-byte packet is allowed). */
void bench_police_init(bench_police *p, uint32_t kbps, uint32_t burst_bytes);

/* Whether a packet of wire_bytes arriving at now_us passes (true) or is dropped (false). */
bool bench_police_pass(bench_police *p, size_t wire_bytes, int64_t now_us);

#endif
