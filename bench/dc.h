/* dc.h - the bench's data channel (--data-channel, --dc-abuse): each session opens the channel
 * "vm" on its publishing connection as a browser does (PROTOCOL.md "Data channel") and sends a
 * message every BENCH_DC_EVERY_MS naming its meeting; receivers count what the SFU relays: from
 * their own meeting, from another one (must stay 0), and flood messages. With --dc-abuse the
 * first session of the first room also sends, once, what a broken or hostile browser might:
 * garbage SCTP packets, malformed DCEP, too many channels, messages on streams with no channel,
 * binary and too-large messages, a flood over the rate limit. Worker thread only. */
#ifndef BENCH_DC_H
#define BENCH_DC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_DC_EVERY_MS 500
#define BENCH_DC_FLOOD 100

typedef struct bench_session bench_session;

typedef struct bench_dc {
    bool opened;
    bool abused;
    int64_t opened_us, next_us;
    unsigned sent;
} bench_dc;

/* Every worker tick, for each session (after its up connection negotiated a data channel). */
void bench_dc_tick(bench_session *s, int64_t now_us);
/* A message the SFU relayed to s (peer on_data). */
void bench_dc_on_data(void *ud, const char *label, const uint8_t *buf, size_t len);

#endif
