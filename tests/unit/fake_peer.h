/* fake_peer.h - a link-time test double of sfu/peer.h, so that the room's packet path (sfu/room.c,
 * sfu/forward.c, sfu/layers.c) runs in a unit test without sockets, ICE, DTLS or SRTP, in virtual
 * time. tests/unit/fake_peer.c is linked instead of sfu/peer.c (and of sfu/netloop.c, whose
 * deferred tasks it also stands in for: peer_defer is the only way the room queues one).
 *
 * What it does instead of the transport:
 *  - peer_new / peer_free: a record of the peer (callbacks, user data, ICE role); the live peers are
 *    listed in creation order (fake_peer_count, fake_peer_at).
 *  - peer_local: fixed ICE credentials and certificate fingerprint (FAKE_PEER_UFRAG, ...).
 *  - peer_set_remote, peer_gather, peer_add_candidate, peer_forget_ssrc: recorded; set_remote moves a
 *    new peer to PEER_CONNECTING, as the real one does. peer_gather fails (-1, no port could be
 *    bound) while fake_peer_fail_gather(true) holds.
 *  - peer_send_rtp, peer_send_rtp_roc, peer_send_rtcp: the plaintext packet (what SRTP would protect)
 *    is recorded with the rollover counter given, the virtual time and how many flushes came before
 *    it. Refused (-1, not recorded, counted) unless the peer is connected: the real one has no SRTP
 *    keys before. A caller giving less room than SRTP needs to protect in place fails the test.
 *  - peer_flush is counted; peer_defer queues the task until fake_loop_end_iteration() (the end of the
 *    worker's loop iteration); netloop_task_cancel takes it off again.
 *  - peer_prefetch does nothing (a cache hint).
 *
 * The test drives: fake_peer_set_state (on_state, as ICE/DTLS would), fake_peer_deliver (a received
 * datagram, already "SRTP-unprotected", to on_rtp or on_rtcp by its second byte as peer.c
 * demultiplexes, with fake_clock_now() as now_us), fake_peer_candidate (on_candidate). Its virtual
 * clock (fake_clock_*) is also what it gives the room as room_env.clock_us.
 *
 * One thread; state is global (one test at a time); fake_peer_reset() between tests.
 */
#ifndef TEST_FAKE_PEER_H
#define TEST_FAKE_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu/peer.h"

#define FAKE_PEER_UFRAG "sfuF"
#define FAKE_PEER_PWD "fakeSfuPassword0123456789"
#define FAKE_PEER_FP_BYTE 0xA5 /* every byte of the fixed sha-256 fingerprint */
#define FAKE_PEER_MAX_PACKET 1600

/* One packet the room sent through a peer. */
typedef struct {
    bool rtcp;
    uint8_t data[FAKE_PEER_MAX_PACKET];
    size_t len;
    uint32_t roc;      /* peer_send_rtp_roc's rollover counter (0 for the others) */
    bool roc_given;    /* sent with peer_send_rtp_roc */
    int64_t at_us;     /* virtual time of the send */
    unsigned flushes;  /* peer_flush calls on this peer before this send */
} fake_sent;

/* ---- virtual clock ---- */
void fake_clock_set(int64_t now_us);
int64_t fake_clock_now(void); /* for room_env.clock_us */

/* ---- peers ---- */
size_t fake_peer_count(void);
peer *fake_peer_at(size_t i);
void *fake_peer_ud(const peer *p);
bool fake_peer_controlling(const peer *p);
bool fake_peer_gathering(const peer *p);
/* The transport peer_set_remote was given last; NULL before. */
const sdp_remote_transport *fake_peer_remote(const peer *p);
/* Candidates from peer_add_candidate ("" included), the last one. */
size_t fake_peer_n_remote_candidates(const peer *p);
/* Whether peer_forget_ssrc was called with ssrc. */
bool fake_peer_forgot(const peer *p, uint32_t ssrc);

/* ---- driving it ---- */
/* Changes the state and calls on_state (why: NULL unless failing). */
void fake_peer_set_state(peer *p, peer_state st, const char *why);
/* A received datagram (copied first: the callee may write into it). */
void fake_peer_deliver(peer *p, const uint8_t *buf, size_t len);
/* A gathered candidate ("" = end of candidates) through on_candidate. */
void fake_peer_candidate(peer *p, const char *cand);
/* From now on peer_gather fails (true) or succeeds (false, the default; fake_peer_reset restores it). */
void fake_peer_fail_gather(bool fail);
/* ICE restarts asked of p (its local ufrag is then FAKE_PEER_UFRAG followed by their number), and
 * peer_gather calls. */
unsigned fake_peer_restarts(const peer *p);
unsigned fake_peer_gathers(const peer *p);
/* on_ice, as peer.c calls it: ICE failed after DTLS was up (false), or works again (true). */
void fake_peer_ice(peer *p, bool working);

/* ---- what was sent ---- */
size_t fake_peer_n_sent(const peer *p);
const fake_sent *fake_peer_sent(const peer *p, size_t i);
void fake_peer_clear_sent(peer *p);
unsigned fake_peer_flushes(const peer *p);
unsigned fake_peer_refused(const peer *p); /* sends refused while not connected */

/* ---- the loop ---- */
/* Runs the tasks peer_defer queued (what netloop does at the end of an iteration); a task queued
 * meanwhile waits for the next call. Returns how many ran. */
size_t fake_loop_end_iteration(void);
size_t fake_loop_pending(void);

/* Forgets everything; returns how many peers were still alive (a leak of the code under test). */
size_t fake_peer_reset(void);

/* Data channels: whether peer_enable_data was called (and the port it was given), the messages
 * peer_send_data sent ("label|prefix+body"), and a message from the browser (on_data). */
bool fake_peer_data_enabled(const peer *p, uint16_t *remote_port);
size_t fake_peer_data_count(const peer *p);
const char *fake_peer_data_at(const peer *p, size_t i);
void fake_peer_data_in(peer *p, const char *label, const char *msg);

#endif
