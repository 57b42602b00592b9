/* bench.h - videomeet-bench's shared types: the options, the per-worker state and counters, and the
 * run that owns them. See bench/README.md for what the bench does and what its figures mean.
 *
 * Threads (every session lives on exactly one of them):
 *   main      parses options, starts sessions at the join rate, prints one progress line per second
 *             (reading the workers' atomic counters, the server's /metrics and /proc), writes the report;
 *   workers   the SFU's own worker pool (sfu/worker.h): one GMainContext each, running the ICE agents,
 *             DTLS, SRTP, the synthetic media and the receive statistics of their sessions, plus one
 *             tick timer (BENCH_TICK_MS) that paces media and sends NACKs/PLIs;
 *   ws        the libwebsockets client thread (bench/ws.h); each received message is handed to its
 *             session's worker with worker_invoke().
 * Counters that main reads while the run goes on are single-writer relaxed atomics (STATS_ADD from
 * sfu/stats.h); everything else of a worker is touched by that worker only, and main reads it after
 * bench_run_on_workers() (which waits for the workers) or after the pool has stopped.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <glib.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bench/rxstats.h"
#include "sfu/cert.h"
#include "sfu/dtls.h"
#include "sfu/ice.h"
#include "sfu/peer.h"
#include "sfu/srtp_session.h"
#include "sfu/stats.h"
#include "sfu/worker.h"

#define BENCH_TICK_MS 5
#define BENCH_SCRATCH 2048

typedef enum { BENCH_MODE_MEETING, BENCH_MODE_WEBINAR } bench_mode;

typedef struct bench_config {
    char url[256];
    char host[128];
    int port;
    char ip[64];            /* host candidate address of the bench's ICE agents */
    bench_mode mode;
    int participants;       /* meeting: N publishing participants; webinar: M subscribers */
    int rooms;
    double duration_s;      /* the steady window */
    unsigned bitrate_kbps;
    unsigned fps;
    double join_rate;       /* sessions started per second */
    int workers;
    char json_path[512];
    int server_pid;         /* 0: not local, use /metrics only */
    bool quiet;
    double settle_s;        /* after everyone connected, before the window */
    double join_timeout_s;  /* after the last start, wait at most this long for connections */
    bool self_test;
    bool kernel_floor; /* --kernel-floor: measure bench/floor.h instead of a server */
    bool floor_one_socket; /* --floor-one-socket */
    bool floor_busy_receiver; /* --floor-busy-receiver */
    bool floor_io_uring;      /* --floor-io-uring */
    bool simulcast;         /* --simulcast: publishers send three layers q/h/f */
    unsigned temporal_layers; /* --temporal-layers: 1..3 (default 3 with --simulcast, else 1) */
    unsigned police_kbps;   /* --police-kbps: policed receivers' downstream rate (0: none) */
    int police_count;       /* --police-count: policed receivers per room (-1: half of them) */
    unsigned police_burst_ms; /* --police-burst-ms: the policer's bucket, in ms at its rate */
    bool transport_cc;      /* receivers answer transport-cc and send its feedback (--no-transport-cc) */
    unsigned twcc_interval_ms; /* --twcc-interval-ms: between two feedbacks of a receiver */
    uint32_t seed;          /* --seed: the synthetic media's random parts (0: random) */
    bool turn;              /* --turn: every session relayed through the server's TURN server over TCP */
    char meeting_id[16];    /* --meeting-id: the room's meeting (one room); "": random */
    bool publish_only;      /* --publish-only: meeting participants publish and receive nothing */
    unsigned audio_turn_ms; /* --audio-turn-ms: participants speak in turn, this long each (0: all at -30 dBov) */
    int tiles;              /* --tiles N: receivers show N tiles (speaker view), 0: every video */
    int main_w, main_h, strip_w, strip_h; /* --main-size, --strip-size: the tiles' device pixels */
    bool floor_after;       /* --scenario meeting50 / --with-floor: the kernel floor of the same traffic after the run */
    char scenario[32];      /* --scenario NAME, "" without */
    bool audio_dtx;         /* --audio-dtx: publishers' silence (off their --audio-turn-ms turn) as Opus DTX */
    int rcvbuf_kb;          /* --rcvbuf-kb: the bench's UDP receive buffers (bench/sockbuf.h), 0: as they are */
    bool data_channel;      /* --data-channel: each session opens the data channel (bench/dc.h) */
    bool dc_abuse;          /* --dc-abuse: ... and the first of room 0 sends malformed SCTP/DCEP */
    char turn_ip[64];       /* ... as /api/config names it (an IP address), with its credentials */
    unsigned turn_port;
    char turn_user[128], turn_pass[64];
} bench_config;

/* Counters of one worker: written by that worker only, read by main at any time. */
#define BENCH_COUNTERS(X)                                                                 \
    X(sessions_joined, "join-meeting answered by existing-users")                        \
    X(up_connected, "publishing connections connected (DTLS-SRTP up)")                    \
    X(down_connected, "receiving connections connected")                                  \
    X(sessions_ready, "sessions that reached their join criterion")                       \
    X(failures, "transports failed, or the server sent media-failed")                     \
    X(server_errors, "error messages from the server")                                    \
    X(rtp_sent, "RTP packets sent by publishers (retransmissions excluded)")              \
    X(rtp_bytes_sent, "RTP bytes sent (plain)")                                            \
    X(retransmissions_sent, "packets resent for a NACK")                                  \
    X(rtcp_sent, "RTCP packets sent")                                                      \
    X(rtp_received, "RTP packets received (RTX included, duplicates included)")           \
    X(rtp_bytes_received, "RTP bytes received (plain)")                                   \
    X(rx_expected, "packets expected from the sequence numbers")                          \
    X(rx_unique, "distinct packets received")                                              \
    X(rx_duplicates, "duplicate packets")                                                  \
    X(rx_reordered, "packets that filled a gap without being retransmissions")            \
    X(rx_recovered, "gaps filled by RTX")                                                  \
    X(rx_unknown, "RTP packets of no negotiated track")                                   \
    X(nacks_sent, "sequence numbers NACKed by receivers")                                 \
    X(plis_sent, "PLIs sent by receivers")                                                 \
    X(nacks_received, "sequence numbers NACKed to publishers")                            \
    X(plis_received, "PLI/FIR received by publishers")                                    \
    X(remb_received, "REMB received by publishers")                                       \
    X(twcc_received, "transport-cc feedback received by publishers")                      \
    X(rr_received, "receiver reports received by publishers")                             \
    X(sr_received, "sender reports received by receivers")                                \
    X(keyframes_sent, "keyframes sent")                                                   \
    X(twcc_sent, "transport-cc feedback packets sent by receivers")                       \
    X(police_dropped, "packets dropped by the receivers' policers")                       \
    X(dc_opened, "data channels opened (--data-channel)")                                 \
    X(dc_sent, "data channel messages sent, one every 500 ms per session")                \
    X(dc_received, "data channel messages relayed from a participant of the same meeting")  \
    X(dc_foreign, "data channel messages relayed from another meeting (must be 0)")       \
    X(dc_flood_received, "flood messages relayed (--dc-abuse: at most a burst gets through)") \
    X(dc_abuse_sent, "malformed or unwanted SCTP packets and messages sent (--dc-abuse)")   \
    X(views_sent, "video-views messages sent (--tiles)")                                  \
    X(speaker_switches, "window: new dominant speakers named, another bench participant (--tiles, --audio-turn-ms)") \
    X(speaker_switches_current, "... naming the participant whose turn runs")

typedef struct bench_counters {
#define BENCH_COUNTER_DECLARE(name, help) _Atomic uint64_t name;
    BENCH_COUNTERS(BENCH_COUNTER_DECLARE)
#undef BENCH_COUNTER_DECLARE
} bench_counters;

typedef struct bench_run bench_run;
typedef struct bench_session bench_session;

typedef struct bench_worker {
    bench_run *run;
    sfu_worker *w;
    int index;
    GPtrArray *sessions;     /* borrowed bench_session*, worker thread only */
    GSource *tick;
    sfu_ice_config ice;
    const char *ips[1];
    peer_env env;
    sfu_stats peer_stats;    /* counters of the SFU's peer module, for the bench's transports */
    bench_counters c;
    bench_hist delay;        /* one-way delay of first-time packets, µs; worker thread only */
    bench_hist keyframe;     /* subscription -> first keyframe, µs; worker thread only */
    bench_hist switch_latency; /* window: turn start -> active-speakers names it, µs; worker thread only */
    bench_hist lag;          /* how late each tick ran, µs (the bench's own health); worker thread only */
    int64_t last_tick_us;
    bool stopping;           /* no more media or feedback; worker thread only */
    bool window;             /* the measured window is running; worker thread only */
    int64_t window_from_us, window_to_us; /* its planned start and end (monotonic µs); worker thread only */
    uint8_t scratch[BENCH_SCRATCH];
} bench_worker;

struct bench_run {
    bench_config cfg;
    cert_t *cert;
    dtls_ctx_t *dtls;
    sfu_worker_pool *pool;
    bench_worker *workers;
    int n_workers;
    struct bench_ws *ws;
    bench_session **sessions;
    size_t n_sessions;
    GMutex lock;
    GCond cond;
    int pending;             /* bench_run_on_workers: workers not done yet */
};

/* Runs fn(worker) on every worker's thread and returns when all of them ran it. */
void bench_run_on_workers(bench_run *run, void (*fn)(bench_worker *w));

/* Sums every worker's counters into out (plain numbers). */
typedef struct bench_totals {
#define BENCH_TOTAL_DECLARE(name, help) uint64_t name;
    BENCH_COUNTERS(BENCH_TOTAL_DECLARE)
#undef BENCH_TOTAL_DECLARE
} bench_totals;
void bench_run_totals(bench_run *run, bench_totals *out);

#endif
