/* media.h - synthetic media of a bench publisher: RTP packets that look like a browser's, with the
 * send time inside, and the small send cache that answers NACKs.
 *
 * Pure code: no I/O, no clock (callers pass `now_us`, CLOCK_MONOTONIC microseconds), no locks;
 * allocation only in bench_media_track_init (the send cache). One bench_media_track per sent
 * stream (a track, or one simulcast layer of it), used by one thread.
 *
 * Video (VP8, RFC 7741): frames at `fps`, sizes so that the average matches `bitrate_bps` (a
 * keyframe is 4x an average frame, and the next frames are smaller until that debt is paid, like an
 * encoder's rate control; +-20 % noise otherwise). A frame is split into packets of at most
 * BENCH_MEDIA_MAX_PAYLOAD bytes of equal size; each packet starts with the payload descriptor
 * (X=1, S on the first packet, PID 0, I=1 with a 15-bit picture id; with temporal layers also
 * L and T: TL0PICIDX, TID, Y, and N on the top layer's frames, which nothing references); the first
 * packet of a frame then has the VP8 frame tag (P=0 on keyframes, plus the start code and the size
 * on keyframes: 640x480, or the simulcast layer's); the marker bit is set on the last packet. A
 * keyframe is sent first and whenever one is requested (PLI/FIR: bench_media_request_keyframe).
 * Temporal layers (bench_media_set_temporal, L1T2 or L1T3 as libwebrtc sends them): the pattern
 * TL0 TL1 (T2) or TL0 TL2 TL1 TL2 (T3) restarts at each keyframe; frame sizes follow libwebrtc's
 * rate split (T3: 40 % TL0, 20 % TL1, 40 % TL2 so a TL0 frame is 1.6x the average and the others
 * 0.8x; T2: 60/40, 1.2x and 0.8x); Y (layer sync) on the frames that reference only the TL0 frame.
 * Audio (Opus): one packet every 20 ms, 80..160 bytes of payload, timestamp + 960.
 *
 * Every payload ends with a 12-byte stamp: the magic "VMB" (3 bytes), a tag (1 byte: 'T' for a
 * single stream, '0' + layer for a simulcast layer) and the send time (8 bytes, big-endian
 * CLOCK_MONOTONIC microseconds), so a receiver on the same machine measures the one-way delay and
 * sees which layer it gets. Header extensions (one-byte form): sdes:mid, abs-send-time,
 * transport-wide-cc (the sequence comes from the caller's per-connection counter), for audio
 * ssrc-audio-level, and for a simulcast layer (bench_media_set_simulcast) rtp-stream-id with its
 * rid; an id of 0 leaves the extension out. A simulcast layer, like libwebrtc, writes mid and rid
 * only until the receiver's reports show it knows the SSRC (bench_media_ids_acked); its RTX packets
 * always carry mid and repaired-rtp-stream-id (RFC 8852), so an RTX SSRC can be learnt from any.
 *
 * Every sent packet (plain RTP, before SRTP) is kept in a ring of `cache_slots` packets; a NACKed
 * seq found there is sent again as RTX (RFC 4588, on rtx_pt/rtx_ssrc when negotiated) or as is.
 */
#ifndef BENCH_MEDIA_H
#define BENCH_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu/sdp_negotiate.h"

#define BENCH_MEDIA_MAX_PAYLOAD 1100 /* video payload bytes per packet (descriptor included) */
#define BENCH_MEDIA_MAX_PACKET 1280  /* largest plain RTP packet built here */
#define BENCH_MEDIA_MAX_FRAME_PACKETS 64
#define BENCH_MEDIA_MAX_TEMPORAL 3
#define BENCH_STAMP_LEN 12
#define BENCH_STAMP_MAGIC 0x564d42u /* "VMB", then the tag */
#define BENCH_STAMP_SINGLE 'T'     /* the tag of a single stream; a simulcast layer's is '0' + layer */

/* Writes the stamp into the last BENCH_STAMP_LEN bytes of a payload of len bytes (len >= 12);
 * layer: the simulcast layer, -1 for a single stream. */
void bench_stamp_write(uint8_t *payload, size_t len, int64_t send_us, int layer);
/* Reads it: 0, *send_us and *layer (may be NULL; -1 for a single stream), or -1 when the payload is
 * too short or has no stamp. */
int bench_stamp_read(const uint8_t *payload, size_t len, int64_t *send_us, int *layer);

/* One packet handed to the caller: plain RTP, valid only during the callback. */
typedef void (*bench_media_emit)(void *ud, const uint8_t *pkt, size_t len);

typedef struct bench_media_track {
    sdp_media_kind kind;     /* SDP_MEDIA_AUDIO or SDP_MEDIA_VIDEO */
    uint8_t pt;
    int rtx_pt;              /* -1: retransmit without RTX */
    uint32_t ssrc, rtx_ssrc;
    uint16_t seq, rtx_seq;
    uint32_t ts_base;
    uint32_t clock_rate;
    char mid[16];
    sdp_ext_ids ext;         /* ids to write; 0 = leave out */
    /* simulcast: this stream is one layer of the track */
    int layer;               /* -1: a single stream */
    char rid[8];
    bool ids_acked;          /* the receiver knows the SSRC: no more mid/rid on media packets */
    uint16_t width, height;  /* on keyframes */
    /* temporal layers */
    unsigned n_temporal;     /* 1: no temporal layer fields */
    unsigned pattern_pos;    /* place in the temporal pattern (0: TL0, at each keyframe) */
    uint8_t tl0picidx;
    /* pacing */
    bool running;
    int64_t start_us;        /* first frame; timestamps count from here */
    int64_t next_us;         /* next frame or audio packet */
    int64_t period_us;
    /* video */
    double avg_frame_bytes;
    double debt;             /* bytes over budget (after a keyframe) */
    uint16_t picid;          /* 15 bits */
    bool key_wanted;
    uint32_t rng;
    /* audio level: loud (-20 dBov) on its turn, silent otherwise, turns of turn_us in a cycle of
     * turn_count (bench_media_set_turns); turn_us 0: always -30 dBov */
    int64_t turn_us;
    unsigned turn_index, turn_count;
    bool dtx;                /* Opus DTX: off its turn, one small packet per 400 ms instead of one per 20 ms */
    /* counters (for sender reports and the results) */
    uint64_t packets, octets, frames, keyframes, retransmitted, rtx_misses;
    uint32_t last_ts;
    /* send cache */
    size_t cache_slots;
    uint8_t *cache;          /* owned: cache_slots * BENCH_MEDIA_MAX_PACKET bytes */
    uint16_t *cache_len;     /* owned: 0 = empty */
    uint16_t *cache_seq;     /* owned */
} bench_media_track;

/* Sets up a track; video uses bitrate_bps and fps, audio ignores them. rtx_pt < 0: no RTX.
 * Returns 0 or -ENOMEM. seed varies the random parts (frame noise, audio sizes). */
int bench_media_track_init(bench_media_track *t, sdp_media_kind kind, uint8_t pt, int rtx_pt, uint32_t ssrc,
                           uint32_t rtx_ssrc, const char *mid, const sdp_ext_ids *ext, unsigned bitrate_bps,
                           unsigned fps, size_t cache_slots, uint32_t seed);
/* Makes t simulcast layer `layer` (0 = lowest) with this rid (at most 7 bytes) and keyframe size. */
void bench_media_set_simulcast(bench_media_track *t, int layer, const char *rid, uint16_t width, uint16_t height);
/* Temporal layers: 1 (none), 2 or 3. */
void bench_media_set_temporal(bench_media_track *t, unsigned n);
/* An audio track's level follows turns (--audio-turn-ms): loud during [k T, (k+1) T) of the monotonic
 * clock whenever k % count == index (every session of one bench shares the clock), silent otherwise. */
void bench_media_set_turns(bench_media_track *t, int64_t turn_us, unsigned index, unsigned count);
/* The receiver reported on this SSRC: a simulcast layer stops writing mid and rid. */
void bench_media_ids_acked(bench_media_track *t);
/* Frees the cache; the struct may be reused after init. NULL is a no-op. */
void bench_media_track_free(bench_media_track *t);

/* Starts sending at now_us (the first video frame is a keyframe). */
void bench_media_start(bench_media_track *t, int64_t now_us);
void bench_media_request_keyframe(bench_media_track *t);

/* Sends what is due at now_us (one or more frames/packets if the caller fell behind, at most 5)
 * through emit, with transport-wide sequence numbers taken from *twcc_seq. Returns the number of
 * packets emitted. */
size_t bench_media_poll(bench_media_track *t, int64_t now_us, uint16_t *twcc_seq, bench_media_emit emit, void *ud);

/* Builds into out (cap bytes) the retransmission of seq: RTX when rtx_pt >= 0, else the original
 * packet, with a new transport-wide sequence number. Returns its length, or -ENOENT when seq is
 * not in the cache, -ENOBUFS when out is too small. */
int bench_media_retransmit(bench_media_track *t, uint16_t seq, uint16_t *twcc_seq, uint8_t *out, size_t cap);

/* The RTP timestamp of this track at now_us (for sender reports). */
uint32_t bench_media_rtp_ts(const bench_media_track *t, int64_t now_us);

#endif
