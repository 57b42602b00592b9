/* frames.h - what a bench receiver would show of one received VP8 track: frames put together
 * from their packets, a decoder's view of which of them can be decoded, and the gaps between
 * decoded frames (freezes), per simulcast layer.
 *
 * Packets are grouped into frames by their VP8 picture id (the SFU keeps a subscriber's picture
 * ids consecutive across layer switches and temporal-layer drops, sfu/vp8_munge.h). A frame is
 * complete when its first packet (S=1, partition 0), its last (the marker) and every sequence
 * number between them arrived. A complete frame is decoded when it is newer than the last decoded
 * one and what it references was decoded, which the VP8 payload descriptor tells (RFC 7741) for
 * the temporal patterns the bench and browsers send:
 *   - a keyframe references nothing;
 *   - without temporal layer fields, a frame references the previous picture;
 *   - a TL0 frame references the previous TL0 frame (TL0PICIDX - 1), a TL1 frame the TL0 frame
 *     of its TL0PICIDX, a TL2 frame that one and, unless it is marked layer sync (Y), the TL1
 *     frame of its TL0PICIDX.
 * So a lost TL2 frame costs one picture, a lost TL0 frame every picture until the next keyframe,
 * and a complete frame that arrives after a newer one was decoded is dropped, as a decoder that
 * never goes back does. Decoding a frame decodes the later complete frames it unblocks.
 *
 * When complete frames wait for a reference that does not come for BENCH_FRAMES_STUCK_US, the
 * decoder is stuck: bench_frames_stuck says so, and the caller asks for a keyframe (PLI), as a
 * browser does when it cannot go on.
 *
 * Over a window (bench_frames_window_start/end) it counts decoded frames and the time shown per
 * layer (from each decoded frame to the next, or to the end of the window), layer switches,
 * pictures lost (picture ids passed over before a decoded frame that is not a keyframe: the
 * non-reference frames that did not make it; a gap before a keyframe may be a pause or a switch,
 * so it is not counted), and freezes: gaps without a decoded frame (from the previous decoded
 * frame, or the start of the window, to the next one, or the end of the window) of at least
 * BENCH_FRAMES_GAP_US and at least the W3C webrtc-stats freeze threshold (3x the average of the
 * last BENCH_FRAMES_AVG intervals between decoded frames, or that average + 150 ms), so that the
 * lower frame rate of a lower temporal layer is not a freeze; their count, total and longest.
 *
 * Pure: no I/O, no clock (callers pass now_us), no allocation; one per received video track,
 * used by one thread.
 */
#ifndef BENCH_FRAMES_H
#define BENCH_FRAMES_H

#include <stdbool.h>
#include <stdint.h>

#define BENCH_FRAMES_RING 128          /* frames in flight, by picture id (4 s at 30 fps) */
#define BENCH_FRAMES_GAP_US 200000     /* a gap this long between decoded frames may be a freeze */
#define BENCH_FRAMES_AVG 30            /* intervals averaged for the W3C freeze threshold */
#define BENCH_FRAMES_STUCK_US 200000   /* complete frames waiting this long for a reference: stuck */
#define BENCH_FRAMES_LAYERS 4          /* index 0: a single stream; 1..3: simulcast layers 0..2 */

/* What one received packet (first time) says about its frame. */
typedef struct bench_frame_pkt {
    uint16_t seq;
    bool marker;
    bool start;      /* S=1 and partition 0 */
    bool keyframe;   /* a start packet of a keyframe */
    int picid;       /* 15-bit picture id (7-bit ones are taken as they are); -1: none (ignored) */
    int tid;         /* temporal layer; -1: no temporal layer fields */
    uint8_t tl0;     /* TL0PICIDX (with tid >= 0) */
    bool layer_sync; /* Y */
    int layer;       /* simulcast layer 0..2, -1: a single stream */
} bench_frame_pkt;

typedef struct bench_frame_slot {
    int32_t picid;   /* -1: empty */
    uint32_t first, last; /* extended seqs of the first and last packets */
    uint16_t n;      /* packets received */
    bool have_first, have_last, key, sync, done;
    int8_t tid, layer;
    uint8_t tl0;
} bench_frame_slot;

typedef struct bench_frames_stats {
    uint64_t decoded[BENCH_FRAMES_LAYERS];   /* frames decoded, per layer */
    int64_t shown_us[BENCH_FRAMES_LAYERS];   /* time each layer was on screen */
    uint64_t switches;                       /* decoded frames of another layer than the previous */
    uint64_t skipped;                        /* pictures lost: passed over before a decoded delta frame */
    uint64_t freezes;                        /* gaps >= BENCH_FRAMES_GAP_US */
    int64_t freeze_us, longest_freeze_us;
    uint64_t stuck;                          /* times the decoder got stuck (bench_frames_stuck) */
} bench_frames_stats;

typedef struct bench_frames {
    bench_frame_slot ring[BENCH_FRAMES_RING];
    bool seq_started;
    uint32_t seq_max;          /* highest extended seq */
    int32_t newest;            /* newest picture id seen (-1: none) */
    bool have_decoded;
    uint16_t last_picid;
    int64_t last_decode_us;
    int last_layer;
    bool have_key;             /* a keyframe was decoded: the TL0 chain below means something */
    uint8_t last_tl0;          /* TL0PICIDX of the last decoded TL0 frame (or keyframe) */
    bool have_tl1;
    uint8_t tl1_tl0;           /* TL0PICIDX of the last decoded TL1 frame */
    int64_t intervals[BENCH_FRAMES_AVG]; /* the last intervals between decoded frames */
    int64_t interval_sum;
    unsigned n_intervals, interval_pos;
    int64_t stuck_since;       /* 0: not stuck */
    bool stuck_counted;
    /* window */
    bool in_window;
    int64_t win_start_us;
    bench_frames_stats win;
    uint64_t decoded_total;    /* whole run */
} bench_frames;

void bench_frames_init(bench_frames *f);

/* A packet arrived for the first time (duplicates are the caller's to filter). */
void bench_frames_on_packet(bench_frames *f, const bench_frame_pkt *p, int64_t now_us);

/* Complete frames have waited for a missing reference for BENCH_FRAMES_STUCK_US or more (each such
 * episode is counted once in the window's `stuck`). */
bool bench_frames_stuck(bench_frames *f, int64_t now_us);

/* The layer of the last decoded frame (-1: a single stream), or -2 when none was decoded. */
int bench_frames_layer(const bench_frames *f);

/* The window: statistics restart at start and stop at end (an open freeze is closed there). */
void bench_frames_window_start(bench_frames *f, int64_t now_us);
void bench_frames_window_end(bench_frames *f, int64_t now_us);

#endif
