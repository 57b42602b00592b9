/* fault.h - named failures of the media plane's control path, injected on purpose by tests.
 *
 * The control plane (sfu.c, room.c) has failure paths that a healthy machine never takes (no
 * memory for a room, a member or a connection; an offer that cannot be built). Each such place asks
 * fault_hit("<site>") first and takes its failure path when it answers true, so the tests can prove
 * that every such failure reaches the browser as a typed error and leaves nothing half-made:
 * tests/unit/test_room.c calls fault_set(); the protocol tests start the server with VM_FAULT set
 * (read once by sfu_new()). Without either, fault_hit() is false and costs one load.
 *
 * The spec: sites separated by commas; "site" fails every time, "site@N" only its Nth hit (1 = the
 * first), e.g. "room-new@1,down-offer". Sites: sfu-command, room-new, member-new, up-peer,
 * down-peer, down-offer (see where they are asked). At most FAULT_MAX sites.
 *
 * Thread-safe (hits are counted atomically); fault_set() must not run while workers use it.
 */
#ifndef SFU_FAULT_H
#define SFU_FAULT_H

#include <stdbool.h>

#define FAULT_MAX 8

/* Replaces the injected failures by spec (copied; NULL or "" = none) and resets the counts. */
void fault_set(const char *spec);
/* Whether the failure of `site` is injected now (counts the hit). */
bool fault_hit(const char *site);

#endif
