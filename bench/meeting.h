/* meeting.h - a bench receiver of a large meeting that shows N tiles like the web app (--tiles N), and
 * what it measures about it (the meeting50 scenario, bench/README.md "A 50-person meeting"):
 *
 *  - it follows the meeting (existing-users, user-joined, user-left, active-speakers) and lays out its
 *    tiles with bench/tiles.h (the web app's speaker view: the active speaker large, N - 1 in the
 *    strip); it tells the SFU with `video-views` (PROTOCOL.md "Video sizes and layers"), as the web app
 *    does, at most every 250 ms and only when it changed: every video it receives, shown at
 *    --main-size / --strip-size device pixels or hidden;
 *  - from what arrives: the video streams received per second (at most N, + 1 in the second the
 *    speaker changes), the video packets of a hidden tile that its publisher sent more than
 *    BENCH_MEETING_GRACE_US after the tile was hidden
 *    (must be none), and its downlink (RTP bytes in the window);
 *  - with --audio-turn-ms, the speaker-switch latency: when `active-speakers` names a new dominant
 *    speaker that is another bench participant, the time since that participant's turn began.
 *
 * A publisher also obeys `video-layers` (simulcast layers nobody receives are not sent, as the web app
 * turns its encodings off), so a 50-person meeting does not upload 50 cameras nobody watches.
 *
 * Every function runs on the session's worker thread.
 */
#ifndef BENCH_MEETING_H
#define BENCH_MEETING_H

#include <jansson.h>
#include <stdint.h>

#include "bench/session.h"

#define BENCH_MEETING_VIEWS_US 250000  /* video-views at most this often (web/js/ui.js) */
#define BENCH_MEETING_GRACE_US 500000  /* a hidden tile's packets sent this long after the hide are a violation */
#define BENCH_MEETING_LAST_TURN_US 1500000 /* turns that begin this close to the window's end are not counted */

/* existing-users, user-joined, user-left, active-speakers, video-layers. */
void bench_meeting_on_message(bench_session *s, const char *type, json_t *msg, int64_t now_us);
/* After a downstream offer was answered (new mids to show or hide). */
void bench_meeting_on_tracks(bench_session *s, int64_t now_us);
/* Every tick: sends video-views when due. */
void bench_meeting_tick(bench_session *s, int64_t now_us);
/* A video packet (not a padding probe) of receive track t arrived at now_us; the publisher sent it at
 * sent_us (its stamp; now_us for a retransmission). */
void bench_meeting_on_video(bench_session *s, bench_rx_track *t, int64_t sent_us, int64_t now_us);
/* The window starts (start) or ends. */
void bench_meeting_window(bench_session *s, bool start, int64_t now_us);
/* Publisher: is simulcast layer k switched off by video-layers? */
bool bench_meeting_layer_paused(const bench_session *s, unsigned k);

#endif
