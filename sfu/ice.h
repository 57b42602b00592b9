/* ice.h - one ICE transport (RFC 8445) per peer connection, on libnice: one stream, one component
 * (BUNDLE + rtcp-mux), host UDP candidates from configured addresses, trickle both ways, consent
 * freshness (RFC 7675).
 *
 * Runs on the thread of the GMainContext given at creation (a media worker's): the agent gets a child
 * context of that context's netloop (sfu/netloop.h); every call and callback happens on that thread.
 * Received datagrams are handed to on_packet in a buffer (libnice's, or the netloop reader's once a
 * pair is selected: media from its remote address skips libnice) which the callee may modify in place
 * (SRTP unprotect) but must not keep; on_packet must not free the transport.
 */
#ifndef SFU_ICE_H
#define SFU_ICE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu/netloop.h"

typedef enum {
    SFU_ICE_NEW,
    SFU_ICE_CHECKING,
    SFU_ICE_CONNECTED,
    SFU_ICE_FAILED,   /* no pair worked, or consent was lost */
} sfu_ice_state;

typedef struct {
    const char *const *ips;   /* host candidate addresses; none = libnice's own choice (non-loopback) */
    size_t ip_count;
    const char *announced_ip; /* written into candidates instead of the real address, or NULL/"" */
    unsigned min_port, max_port; /* 0, 0 = any */
    bool controlling;
    /* A TURN server over TCP through which every candidate is relayed (force-relay): a client's
     * option, for videomeet-bench --turn; the SFU has none. turn_ip NULL = none. */
    const char *turn_ip;
    unsigned turn_port;
    const char *turn_user, *turn_pass;
} sfu_ice_config;

typedef struct {
    void (*on_candidate)(void *ud, const char *candidate); /* "candidate:..." without "a=" */
    void (*on_gathering_done)(void *ud);
    void (*on_state)(void *ud, sfu_ice_state state);
    void (*on_packet)(void *ud, uint8_t *buf, size_t len);
} sfu_ice_callbacks;

typedef struct sfu_ice sfu_ice;

#define SFU_ICE_UFRAG_MAX 64
#define SFU_ICE_PWD_MAX 128

/* A new agent; cfg and cbs are copied. NULL on failure. */
sfu_ice *sfu_ice_new(GMainContext *ctx, const sfu_ice_config *cfg, const sfu_ice_callbacks *cbs, void *ud);
/* Closes the agent; no callback runs after this. NULL is a no-op. */
void sfu_ice_free(sfu_ice *ice);

void sfu_ice_local_credentials(const sfu_ice *ice, char ufrag[SFU_ICE_UFRAG_MAX], char pwd[SFU_ICE_PWD_MAX]);
/* Sets the peer's ICE credentials (from its SDP). Returns 0 or -1. */
int sfu_ice_set_remote_credentials(sfu_ice *ice, const char *ufrag, const char *pwd);
/* Starts gathering; candidates arrive through on_candidate. Returns 0 or -1. */
int sfu_ice_gather(sfu_ice *ice);
/* Adds a remote candidate ("candidate:..." or "a=candidate:..."). Returns 0, or -1 when it cannot be
 * parsed or is not UDP (ignored). */
int sfu_ice_add_remote_candidate(sfu_ice *ice, const char *candidate);
/* Restarts ICE (RFC 8445 §9): new local credentials (sfu_ice_local_credentials), the remote's
 * candidates and checks forgotten; the selected pair keeps carrying media until one of the new
 * generation is chosen, which on_state reports as SFU_ICE_CONNECTED (even if the state was that
 * already). The remote's new credentials and candidates follow as for a new agent; the local
 * candidates stay the same and sfu_ice_announce() hands them out again. Returns 0 or -1. */
int sfu_ice_restart(sfu_ice *ice);
/* Hands every local candidate to on_candidate again, then on_gathering_done (after a restart). */
void sfu_ice_announce(sfu_ice *ice);
/* Sends one datagram on the selected pair: queued, it leaves at the end of the current loop iteration
 * together with the others for the same peer (UDP GSO). Returns 0, or -1 when not connected or it could
 * not be queued (a refused send is counted by the netloop, not returned). */
int sfu_ice_send(sfu_ice *ice, const uint8_t *buf, size_t len);
/* Sends what is queued for this peer now (netloop_child_flush). */
void sfu_ice_flush(sfu_ice *ice);
/* Asks the CPU to start loading what sfu_ice_send will read next beyond ice itself (a hint; see
 * peer_prefetch). */
void sfu_ice_prefetch(const sfu_ice *ice);
/* Runs task at the end of the current loop iteration, before queued datagrams leave (netloop_defer). */
void sfu_ice_defer(sfu_ice *ice, netloop_task *task);
/* The selected pair's remote address ("ip:port") for logs and tests; "" when none. */
void sfu_ice_selected_remote(sfu_ice *ice, char *out, size_t outlen);

#endif
