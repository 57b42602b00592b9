/* sctp.h - one SCTP association over a DTLS transport (RFC 8261, RFC 8831), for WebRTC data
 * channels, on usrsctp with its AF_CONN address family: usrsctp sees no socket of ours; what it
 * sends comes out of the `send` callback (to be carried as DTLS application data), and what DTLS
 * decrypted goes in with sctp_assoc_input.
 *
 * Threads: usrsctp is started with usrsctp_init_nothreads (once per process): it runs no thread
 * of its own; its timers (retransmissions, heartbeats) run when sctp_poll_timers is called, from
 * the media workers' ticks (whichever worker comes first each 10 ms drives the process-wide timer
 * wheel; an atomic compare-and-swap elects it, no lock). An association belongs to the worker
 * that made it: sctp_assoc_input, _send and _free are called there, and every callback runs
 * there. What usrsctp produces for it on that thread (answers, SACKs: delayed SACKs are off, so
 * they leave with the input that caused them) goes straight to `send`. Only what a timer produces
 * on another worker (a retransmission, a heartbeat, an abort after too many) is copied and handed
 * to the owner's main context (one GLib queue hop, not on the message path).
 *
 * Data channels: the DCEP and limits of sfu/dcep.h. The peer opens channels (it is the DTLS
 * client of the connection, so its stream ids are even, RFC 8832 §6); each OPEN is acknowledged,
 * an OPEN over the limits gets its stream reset; accepted string messages come out of `message`.
 * Nothing the peer sends can end the association from here but an SCTP ABORT/SHUTDOWN (then it
 * is simply gone: sends fail).
 *
 * Ownership: the caller owns the sctp_assoc (sctp_assoc_free); usrsctp owns its socket. Memory
 * per message: none of ours (usrsctp allocates its mbufs).
 */
#ifndef SFU_SCTP_H
#define SFU_SCTP_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu/dcep.h"

#define SCTP_LOCAL_PORT 5000 /* a=sctp-port of the SFU's answer (SDP_NEG_SCTP_PORT) */

typedef struct sctp_assoc sctp_assoc;

typedef struct {
    /* Required. One SCTP packet for the peer: send it as one DTLS record. Valid during the call. */
    void (*send)(void *ud, const uint8_t *buf, size_t len);
    /* Required. One application message of the open channel `label`. Valid during the call. */
    void (*message)(void *ud, const char *label, const uint8_t *buf, size_t len);
    /* Optional. Something the peer sent was dropped (dcep.h reasons; DC_DROP_REASONS: SCTP-level:
     * an unreadable notification or a message cut short). */
    void (*dropped)(void *ud, dc_drop_reason reason);
} sctp_callbacks;

/* A new association on the calling thread's worker (ctx: its GMainContext). remote_port: the
 * peer's a=sctp-port (0: 5000). peer_even: the peer is the DTLS client. It waits for
 * sctp_assoc_start. NULL on failure. cbs copied. */
sctp_assoc *sctp_assoc_new(GMainContext *ctx, const sctp_callbacks *cbs, void *ud, uint16_t remote_port,
                           bool peer_even);
/* DTLS is up: the association is set up (both sides send INIT; RFC 8841 §10). Returns 0 or -1. */
int sctp_assoc_start(sctp_assoc *a);
/* One decrypted DTLS record: an SCTP packet. Malformed ones are dropped by usrsctp. */
void sctp_assoc_input(sctp_assoc *a, const uint8_t *buf, size_t len);
/* Sends prefix + body (plen + len <= DC_MAX_MESSAGE + SCTP_PREFIX_MAX) as one string message on
 * the open channel labelled `label`. Returns 0; -ENOENT: no such channel; -EMSGSIZE; -ENOTCONN;
 * -EAGAIN: usrsctp's send buffer is full (the message is dropped). */
#define SCTP_PREFIX_MAX 64
int sctp_assoc_send(sctp_assoc *a, const char *label, const uint8_t *prefix, size_t plen, const uint8_t *body,
                    size_t len);
/* For tools and tests that play a browser, well-behaved or not (the bench's --dc-abuse, the fuzz
 * target): opens a channel of ours on sid (sends DATA_CHANNEL_OPEN; messages on it are delivered);
 * sends any message on any stream with any PPID; sends any bytes as an SCTP packet. 0 or -errno. */
int sctp_assoc_open_channel(sctp_assoc *a, uint16_t sid, const char *label);
int sctp_assoc_send_raw(sctp_assoc *a, uint16_t sid, uint32_t ppid, const uint8_t *buf, size_t len);
void sctp_assoc_send_packet(sctp_assoc *a, const uint8_t *buf, size_t len);
/* The association is established (both sides' INIT/COOKIE exchange done). */
bool sctp_assoc_up(const sctp_assoc *a);

/* Aborts the association (an ABORT goes out through `send` first) and frees it; no callback runs
 * afterwards. NULL: no-op. Not from inside one of its callbacks. */
void sctp_assoc_free(sctp_assoc *a);

/* Drives usrsctp's timers: call it often (every few ms to 50 ms) from any media worker. */
void sctp_poll_timers(int64_t now_us);
/* At process exit, after every association is freed: usrsctp_finish. */
void sctp_shutdown(void);

#endif
