/* media.h - synthetic media of a bench publisher: RTP packets that look like a browser's, with the
 * send time inside, and the small send cache that answers NACKs.
 *
 * Pure code: no I/O, no clock (callers pass `now_us`, CLOCK_MONOTONIC microseconds), no locks;
 * allocation only in bench_media_track_init (the send cache). One bench_media_track per sent track,
 * used by one thread.
 *
 * Video (VP8, RFC 7741): frames at `fps`, sizes so that the average matches `bitrate_bps` (a
 * keyframe is 4x an average frame, and the next frames are smaller until that debt is paid, like an
 * encoder's rate control; +-20 % noise otherwise). A frame is split into packets of at most
 * BENCH_MEDIA_MAX_PAYLOAD bytes of equal size; each packet starts with a 4-byte payload descriptor
 * (X=1, S on the first packet, PID 0, I=1 with a 15-bit picture id); the first packet of a frame then
 * has the VP8 frame tag (P=0 on keyframes, plus the start code and 640x480 on keyframes); the
 * marker bit is set on the last packet. A keyframe is sent first and whenever one is requested
 * (PLI/FIR: bench_media_request_keyframe).
 * Audio (Opus): one packet every 20 ms, 80..160 bytes of payload, timestamp + 960.
 *
 * Every payload ends with a 12-byte stamp: the magic BENCH_STAMP_MAGIC (4 bytes) and the send time
 * (8 bytes, big-endian CLOCK_MONOTONIC microseconds), so a receiver on the same machine measures
 * the one-way delay. Header extensions (one-byte form): sdes:mid, abs-send-time, transport-wide-cc
 * (the sequence comes from the caller's per-connection counter) and, for audio, ssrc-audio-level;
 * an id of 0 leaves the extension out.
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
#define BENCH_STAMP_LEN 12
#define BENCH_STAMP_MAGIC 0x564d4254u /* "VMBT" */

/* Writes the stamp into the last BENCH_STAMP_LEN bytes of a payload of len bytes (len >= 12). */
void bench_stamp_write(uint8_t *payload, size_t len, int64_t send_us);
/* Reads it: 0 and *send_us, or -1 when the payload is too short or has no stamp. */
int bench_stamp_read(const uint8_t *payload, size_t len, int64_t *send_us);

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
