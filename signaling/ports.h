/* ports.h - the media port budget: how many participants the UDP range RTC_MIN_PORT..RTC_MAX_PORT
 * can carry across all meetings, and whether one more fits.
 *
 * Every participant holds up to two ports of the range, one per WebRTC connection (up and down):
 * libnice binds each ICE agent's socket to a port of the range on each ICE address. The range is
 * per address, so more addresses add no room: a range of N ports carries floor(N / 2) participants.
 *
 * The signaling thread charges a participant its two ports from the moment it joins (its
 * connections are opened a round trip later), so a join that would not fit is refused before any
 * socket is tried, and nobody already in a meeting loses a port to a newcomer. Ports taken by
 * something else (another process on the machine) are not seen here: the SFU reports those when
 * libnice cannot bind (sfu.h, SFU_EV_NO_PORTS).
 *
 * Pure: no I/O, no clock, no allocation. Signaling thread only.
 */
#ifndef VM_PORTS_H
#define VM_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PORTS_PER_PARTICIPANT 2

typedef struct {
    size_t size;       /* ports in the range */
    uint64_t refused;  /* joins refused so far for want of ports */
} port_budget;

/* A budget for the range min_port..max_port (inclusive; an empty range when max < min). */
void port_budget_init(port_budget *b, int min_port, int max_port);
/* How many participants the range carries. */
size_t port_budget_capacity(const port_budget *b);
/* The ports charged to `participants` participants. */
size_t port_budget_reserved(size_t participants);
/* Whether one more participant fits next to the `participants` already charged; a refusal is
 * counted in b->refused. */
bool port_budget_admit(port_budget *b, size_t participants);

#endif
