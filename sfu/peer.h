/* peer.h - one WebRTC transport between the SFU and a browser: ICE (sfu/ice.h), DTLS-SRTP
 * (sfu/dtls.h) and SRTP (sfu/srtp_session.h), with the RFC 7983 demultiplexing between them.
 *
 * A browser has two: "up" (it publishes; it offers, we answer) and "down" (it receives; we offer).
 * Lives on one media worker's GMainContext; every call and callback happens on that thread.
 * Received RTP/RTCP is decrypted in place in libnice's buffer and handed up; sending protects into
 * the caller's buffer (which needs SRTP_SESSION_*_MAX_OVERHEAD bytes of room) and sends it.
 */
#ifndef SFU_PEER_H
#define SFU_PEER_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu/cert.h"
#include "sfu/dtls.h"
#include "sfu/ice.h"
#include "sfu/sdp_negotiate.h"
#include "sfu/stats.h"

typedef struct peer peer;

typedef enum {
    PEER_NEW,
    PEER_CONNECTING, /* ICE checking or DTLS handshaking */
    PEER_CONNECTED,  /* SRTP keys ready: media flows */
    PEER_FAILED,     /* ICE failed, consent lost, DTLS failed (e.g. wrong fingerprint) */
} peer_state;

typedef struct {
    void (*on_candidate)(void *ud, const char *candidate); /* "" = end of candidates */
    void (*on_state)(void *ud, peer_state state, const char *why);
    /* Decrypted packets; buf may be modified in place, not kept. now_us: monotonic clock. */
    void (*on_rtp)(void *ud, uint8_t *buf, size_t len, int64_t now_us);
    void (*on_rtcp)(void *ud, uint8_t *buf, size_t len, int64_t now_us);
    /* Optional. ICE stopped working (failed, or consent lost) on a connection whose DTLS is up, which
     * an ICE restart can repair (working = false), or works again after one (true). Without it such
     * a failure is PEER_FAILED, as any other. With it the peer stays PEER_CONNECTED meanwhile (its
     * sends fail until ICE works again). */
    void (*on_ice)(void *ud, bool working);
    /* Optional. One data channel message (sfu/sctp.h) on the channel `label`; buf valid during the call. */
    void (*on_data)(void *ud, const char *label, const uint8_t *buf, size_t len);
} peer_callbacks;

/* What every peer of a worker shares (not owned by the peer). */
typedef struct {
    GMainContext *ctx;
    dtls_ctx_t *dtls;
    const cert_t *cert;
    const sfu_ice_config *ice;  /* addresses, ports; `controlling` is set per peer */
    sfu_stats *stats;           /* counters of this worker */
} peer_env;

/* A new transport (not gathering yet). NULL on failure. */
peer *peer_new(const peer_env *env, bool ice_controlling, const peer_callbacks *cbs, void *ud);
/* Closes it; no callback runs afterwards. NULL is a no-op. Not from inside one of its callbacks. */
void peer_free(peer *p);

/* Fills the transport part of an SDP we send (ICE credentials, fingerprint); the strings point
 * into p and stay valid while p lives. Candidates are trickled, so none are listed. */
void peer_local(const peer *p, sdp_local *out);
/* Applies the browser's transport from its SDP: ICE credentials and candidates, DTLS role and the
 * expected certificate fingerprint. Returns 0, or -1 when it cannot be used. */
int peer_set_remote(peer *p, const sdp_remote_transport *remote);
/* Starts gathering: candidates come through on_candidate, "" last. Call it after the SDP that
 * carries peer_local() was handed to the browser. After peer_restart_ice, it hands the (same) local
 * candidates out again. Returns 0, or -1 when no socket could be bound (no free port in the range on
 * any ICE address): the transport is of no use then. */
int peer_gather(peer *p);
/* True when remote (from a later SDP of the browser) carries other ICE credentials than those
 * applied: the browser restarted ICE. */
bool peer_remote_restarts(const peer *p, const sdp_remote_transport *remote);
/* Restarts ICE on our side (RFC 8445 §9): new local credentials for the next SDP (peer_local), then
 * peer_set_remote with the browser's new ones and peer_gather once that SDP is out. DTLS and SRTP
 * go on. Returns 0, or -1 when an ICE restart cannot repair p (its DTLS failed or never started). */
int peer_restart_ice(peer *p);
/* A trickled candidate from the browser ("" = end of candidates). Returns 0 or -1. */
int peer_add_candidate(peer *p, const char *candidate);

/* Protects the plain packet in buf (len bytes, cap bytes of room) in place and sends it.
 * Returns 0, or a negative value when the peer is not connected or protection/sending failed. */
int peer_send_rtp(peer *p, uint8_t *buf, size_t len, size_t cap);
/* The same for a stream whose rollover counter the caller knows (see srtp_session_protect_rtp_roc):
 * the forwarding path, which keeps extended sequence numbers per subscriber. */
int peer_send_rtp_roc(peer *p, uint8_t *buf, size_t len, size_t cap, uint32_t roc);
int peer_send_rtcp(peer *p, uint8_t *buf, size_t len, size_t cap);

/* The SDP accepted a data channel (the browser's a=sctp-port: remote_port): an SCTP association
 * runs over this transport's DTLS once it is up (sfu/sctp.h). Returns 0, or -1. A second call: no-op. */
int peer_enable_data(peer *p, uint16_t remote_port);
/* Sends prefix + body as one string message on the browser's data channel `label`. Returns 0 or a
 * negative errno (no such channel, not connected, buffer full: the message is dropped). */
int peer_send_data(peer *p, const char *label, const uint8_t *prefix, size_t plen, const uint8_t *body, size_t len);

/* The data channel's association (NULL: none), for tools that play a browser (the bench). */
struct sctp_assoc *peer_data(peer *p);
/* Drives the timers every transport of the process shares (SCTP's: sctp_poll_timers). Call it
 * from each worker's periodic work. */
void peer_tick(int64_t now_us);

/* Forgets the SRTP state kept for a received SSRC that ended (a track went away or changed SSRC). */
void peer_forget_ssrc(peer *p, uint32_t ssrc);
/* Sends what is queued for p now instead of at the end of the loop iteration. */
void peer_flush(peer *p);
/* Runs task at the end of the current loop iteration of p's worker, before queued datagrams leave. */
void peer_defer(peer *p, netloop_task *task);

peer_state peer_get_state(const peer *p);

/* One datagram received for p, as ICE hands it up (the RFC 7983 demultiplexing of peer.c: DTLS,
 * SRTP, SRTCP; what else arrives is counted and dropped); buf is modified in place (decrypted) and
 * not kept. now_us: the monotonic clock, passed on with the decrypted packet. */
void peer_receive(peer *p, uint8_t *buf, size_t len, int64_t now_us);
/* For tests and fuzzing (tests/fuzz/fuzz_udp.c), which run a peer without sockets: from now on
 * every datagram p sends goes to send(ud, buf, len) instead of ICE (buf valid during the call), and
 * p acts as if ICE had connected (its DTLS starts). */
typedef void (*peer_wire_fn)(void *ud, const uint8_t *buf, size_t len);
void peer_set_wire(peer *p, peer_wire_fn send, void *ud);

/* Cache hints for a fan-out that sends to many peers in turn: level 0 starts loading what p points to
 * for sending (its SRTP session and ICE transport), level 1, issued a step later, what those point to
 * (the cipher state, the send queue). p itself should have been loaded (or prefetched) before. */
void peer_prefetch(const peer *p, int level);

#endif
