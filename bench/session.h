/* session.h - one bench participant: its WebSocket signaling (PROTOCOL.md), its two WebRTC
 * transports (sfu/peer.h in the client role: "up" where it offers and publishes, "down" where it
 * answers the SFU and receives), its synthetic media (bench/media.h) and receive statistics
 * (bench/rxstats.h).
 *
 * A session lives on one bench worker (bench.h): every function below except bench_session_new and
 * bench_session_free runs on that worker's thread. Main creates sessions, starts them with
 * bench_session_start (which hops to the worker), and reads their fields only after the workers
 * have stopped (or from inside bench_run_on_workers).
 *
 * Join criterion ("ready"): a publisher's up connection is connected (DTLS-SRTP done), and a
 * receiver got its first RTP packet on its down connection. The join time runs from the WebSocket
 * connect, or, for a receiver that was alone in its meeting when it joined, from the first downstream
 * offer (before it there was nothing to receive).
 */
#ifndef BENCH_SESSION_H
#define BENCH_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "bench/bench.h"
#include "bench/dc.h"
#include "bench/frames.h"
#include "bench/media.h"
#include "bench/police.h"
#include "bench/rxstats.h"
#include "bench/sdp_client.h"
#include "bench/tiles.h"
#include "bench/twcc_rx.h"
#include "bench/ws.h"

#define BENCH_MAX_RX_TRACKS 256

/* Totals of a received track at the start and the end of the window. */
typedef struct bench_rx_mark {
    uint64_t expected, unique, bytes, plis;
} bench_rx_mark;

/* One m-line of the down connection and what arrived on it. */
typedef struct bench_rx_track {
    bench_sdp_rx_track sdp;
    int64_t sub_us;        /* subscription: answered and down connected (0 = not yet) */
    bench_rxseq seq;
    bool got_key;
    int64_t last_pli_us;
    uint64_t packets, bytes, nacked, plis; /* RTP packets and bytes (RTX included), seqs NACKed, PLIs */
    bench_frames frames;   /* video: what a decoder would show */
    bench_rx_mark win_start, win_end;
    /* --tiles (bench/meeting.h) */
    bool hidden;           /* the last video-views hid it */
    int64_t hidden_us;     /* since when */
    int64_t bin;           /* the last second (window) it got a packet in */
} bench_rx_track;

struct bench_session {
    bench_worker *w;
    int room, index;
    char meeting_id[16];
    char name[48];
    bool publishes, receives;
    bench_ws_conn *ws;
    char node[256];         /* the base URL of the node its signaling ended on ("" = --url) */
    unsigned moves;         /* `moved` answers followed (several nodes) */
    unsigned closes_expected; /* sockets it closed to follow a `moved`: their close is no failure */
    char user_id[64];
    bool failed, ws_closed, closed;
    bool alone_at_join;     /* existing-users listed nobody: nothing to receive until someone joins */
    char why[160];          /* first failure */
    peer *up, *down;
    bool up_connected, down_connected;
    /* times, g_get_monotonic_time() µs; 0 = not yet */
    int64_t t_start, t_open, t_joined, t_up_connected, t_down_connected, t_first_offer, t_first_media, t_ready;
    /* publishing: audio, and video as one stream or as simulcast layers (lowest first) */
    bench_media_track audio, video[BENCH_MAX_RIDS];
    unsigned n_video;
    bool video_taken[BENCH_MAX_RIDS]; /* the SFU's answer receives this layer */
    bool media_init;
    bool audio_on, video_on;  /* the SFU's answer accepted the track */
    uint16_t twcc_seq;
    uint32_t rtcp_ssrc;
    int64_t next_sr_us;
    /* receiving */
    bench_rx_track *rx;     /* owned, n_rx entries */
    size_t n_rx;
    char down_first_mid[SDP_MAX_MID + 1];
    unsigned offers_answered;
    uint8_t twcc_ext;       /* transport-wide-cc id on the down connection (0: no transport-cc) */
    bench_twcc_rx twcc;     /* arrivals, for the transport-cc feedback */
    int64_t next_twcc_us;
    bool policed;
    bench_police police;    /* when policed: in front of everything received on down */
    uint64_t police_dropped0, police_dropped1, police_seen0, police_seen1; /* at the window's start, end */
    bench_dc dc;            /* --data-channel */
    /* receiving, whole run: RTP bytes after the policer, all and video only */
    uint64_t rx_bytes, rx_video_bytes, rx_bytes0, rx_bytes1, rx_video_bytes0, rx_video_bytes1; /* + window marks */
    /* --tiles (bench/meeting.h) */
    bench_tiles *tiles;     /* owned; NULL without --tiles or when not receiving */
    bool views_dirty;       /* the layout or the tracks changed since the last video-views */
    int64_t views_sent_us;
    char dominant[BENCH_TILES_ID]; /* the dominant speaker the server named last */
    int64_t stream_bin;     /* the current second of the window */
    unsigned bin_streams, streams_max; /* video streams with packets in it; the most in one second */
    uint64_t hidden_late;   /* window: video packets of a tile hidden for over BENCH_MEETING_GRACE_US */
    uint64_t switches, switches_current; /* window: speaker switches seen, naming the current turn */
    bool layer_off[BENCH_MAX_RIDS]; /* publisher: video-layers turned this simulcast layer off */
};

/* A session that has not started (no I/O yet). NULL when out of memory. */
bench_session *bench_session_new(bench_worker *w, int room, int index, const char *meeting_id, bool publishes,
                                 bool receives);
/* Frees it (peers must be closed: bench_session_close). NULL is a no-op. Main thread, after the
 * workers stopped. */
void bench_session_free(bench_session *s);

/* Any thread: the session's worker records the start time and opens its WebSocket. */
void bench_session_start(bench_session *s);
/* Worker thread: frees the transports (the run is over). */
void bench_session_close(bench_session *s);

/* Worker thread: media, NACKs and PLIs due at now_us for every session of w. */
void bench_worker_tick(bench_worker *w, int64_t now_us);

/* The rid of simulcast layer `layer` ("q", "h", "f"). */
const char *bench_session_rid(unsigned layer);

/* Worker thread: the window starts (start true) or ends at now_us for s's receive statistics. */
void bench_session_window(bench_session *s, bool start, int64_t now_us);

/* The callbacks to give bench_ws_start: each event is handed to the session's worker. */
extern const bench_ws_callbacks bench_session_ws_callbacks;

#endif
