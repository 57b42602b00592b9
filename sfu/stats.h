/* stats.h - counters of the media plane, one block per worker.
 *
 * Each block is written by its worker thread only and read by the metrics endpoint on another
 * thread. The counters are relaxed atomics updated with a plain load + store (no locked
 * instruction: there is a single writer), so reading is race-free and the hot path stays cheap.
 */
#ifndef SFU_STATS_H
#define SFU_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "sfu/dtls_record.h"

#define SFU_STATS_FIELDS(X)                                                                              \
    X(rtp_packets_in, "RTP packets received from publishers")                                           \
    X(rtp_bytes_in, "RTP bytes received from publishers (after SRTP)")                                  \
    X(rtp_packets_out, "RTP packets forwarded to subscribers")                                          \
    X(rtp_bytes_out, "RTP bytes forwarded to subscribers (before SRTP)")                                \
    X(rtcp_packets_in, "RTCP compound packets received")                                                \
    X(rtcp_packets_out, "RTCP compound packets sent")                                                   \
    X(nacks_received, "NACKed sequence numbers received from subscribers")                              \
    X(nacks_sent, "NACKed sequence numbers sent to publishers")                                         \
    X(retransmissions, "packets retransmitted from the SFU's cache")                                    \
    X(probe_packets, "packets repeated to probe a receiver's bandwidth")                                \
    X(twcc_feedbacks_in, "transport-cc feedback packets received from subscribers")                     \
    X(plis_received, "PLI/FIR received from subscribers")                                               \
    X(plis_sent, "PLI sent to publishers")                                                              \
    X(dropped_bad_srtp, "packets dropped: SRTP/SRTCP authentication or replay check failed")            \
    X(dropped_unknown_ssrc, "RTP packets dropped: SSRC of no published track")                          \
    X(dropped_duplicate, "RTP packets not forwarded: a repeat of one already received")                  \
    X(dropped_malformed, "packets dropped: not STUN/DTLS/RTP/RTCP, or unparsable")                      \
    X(dropped_not_ready, "packets dropped: arrived before SRTP keys")                                   \
    X(dtls_failures, "DTLS handshakes that failed (including fingerprint mismatches)")                  \
    X(dtls_retransmissions, "DTLS flights the SFU sent again because its retransmission timer expired")  \
    X(ice_failures, "ICE transports that failed or lost consent")                                       \
    X(dc_messages_in, "data channel messages received from participants and accepted")                 \
    X(dc_messages_out, "data channel messages relayed to participants")                                 \
    X(dc_dropped, "data channel messages or DCEP dropped: malformed, too large, over the rate, too many channels")

/* Forwarding delay histogram: from a packet's arrival at the SFU to the send call that carries it to one
 * subscriber, one observation per forwarded packet. Upper bounds in µs; one more bucket for the rest. */
#define SFU_FWD_DELAY_BUCKETS 11
static const uint32_t sfu_fwd_delay_bounds_us[SFU_FWD_DELAY_BUCKETS] = {50,   100,  250,   500,   1000, 2500,
                                                                       5000, 10000, 25000, 50000, 100000};

typedef struct {
#define SFU_STATS_DECLARE(name, help) _Atomic uint64_t name;
    SFU_STATS_FIELDS(SFU_STATS_DECLARE)
#undef SFU_STATS_DECLARE
    _Atomic uint64_t peers[4]; /* gauges: peer connections by peer_state (peer.c keeps them) */
    _Atomic uint64_t dtls_dropped[DTLS_DROP_REASONS]; /* received DTLS records dropped, by reason */
    _Atomic uint64_t fwd_delay[SFU_FWD_DELAY_BUCKETS + 1]; /* per bucket (not cumulative); last: above all */
    _Atomic uint64_t fwd_delay_sum_us;
    _Atomic uint64_t ports_in_use;   /* gauge: ICE transports holding ports of the RTC range (one on each
                                      * ICE address); peer.c keeps it */
    _Atomic uint64_t ports_exhausted; /* transports that could bind no port of the range (peer_gather) */
} sfu_stats;

/* Single-writer increment: no locked instruction. */
#define STATS_ADD(counter, n)                                                                           \
    atomic_store_explicit(&(counter), atomic_load_explicit(&(counter), memory_order_relaxed) + (n),     \
                          memory_order_relaxed)
#define STATS_INC(counter) STATS_ADD(counter, 1)
#define STATS_GET(counter) atomic_load_explicit(&(counter), memory_order_relaxed)

#endif
