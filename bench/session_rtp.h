/* session_rtp.h - the packet paths of a bench session, shared by session.c (signaling and
 * transports) and session_rtp.c (media out, feedback in and out, receive statistics).
 * Internal to the session module; worker thread only.
 */
#ifndef BENCH_SESSION_RTP_H
#define BENCH_SESSION_RTP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bench/session.h"

/* session.c */
/* Marks the session failed once (ignored while the run is stopping); logs unless quiet. */
void bench_session_fail(bench_session *s, const char *why);
/* Sends a signaling message (takes o; NULL is a no-op). */
void bench_session_send_json(bench_session *s, json_t *o);
/* Records the join time once the session's join criterion holds. */
void bench_session_check_ready(bench_session *s, int64_t now_us);

/* session_rtp.c */
/* Makes the two sent tracks with the offer's payload types and extension ids. 0 or -ENOMEM. */
int bench_session_media_init(bench_session *s);
/* Applies what the SFU's answer accepted (payload types, RTX, extension ids). */
void bench_session_media_apply(bench_session *s, const bench_sdp_sent *audio, const bench_sdp_sent *video);
/* The up connection is connected: media starts (a keyframe first). */
void bench_session_media_start(bench_session *s, int64_t now_us);
void bench_session_media_free(bench_session *s);

/* peer callbacks */
void bench_session_up_rtcp(void *ud, uint8_t *buf, size_t len, int64_t now_us);
void bench_session_down_rtp(void *ud, uint8_t *buf, size_t len, int64_t now_us);
void bench_session_down_rtcp(void *ud, uint8_t *buf, size_t len, int64_t now_us);

#endif
