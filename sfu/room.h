/* room.h - one meeting's media on its worker: who publishes which tracks, who receives them, and
 * the forwarding between them. Worker thread only.
 *
 * Ownership: the room owns its members; a member owns its two peers (up, down), its published
 * tracks and its forwarding entries.
 */
#ifndef SFU_ROOM_H
#define SFU_ROOM_H

#include "sfu/peer.h"
#include "sfu/sfu.h"

typedef struct room room;

typedef struct {
    peer_env peer;       /* transport settings of the worker */
    sfu_event_fn emit;   /* to signaling (thread-safe) */
    void *emit_ud;
    /* The packet path's monotonic clock in microseconds (every `now` of room.c, forward.c and
     * layers.c that does not come with a packet); NULL: g_get_monotonic_time(). Not NULL only in
     * tests/unit/test_room.c, whose virtual clock is also the `now` its peer.h double passes up. */
    int64_t (*clock_us)(void);
} room_env;

/* env is copied. NULL on no memory. */
room *room_new(const room_env *env, const char *meeting_id);
void room_free(room *r); /* NULL: no-op */

void room_join(room *r, const char *user_id);
void room_leave(room *r, const char *user_id);
void room_remote_sdp(room *r, const char *user_id, sfu_pc pc, const char *sdp);
/* Which m-lines (mids, comma-separated; "" = none) of the member's next offer on UP carry a shared
 * screen rather than a camera: applied with that offer (call it just before room_remote_sdp).
 * Receivers see a=content:slides on those m-lines, in a stream of their own (msid
 * "<userId>-screen"), and the allocator forwards them before camera video. */
void room_screen_mids(room *r, const char *user_id, const char *mids);
void room_remote_candidate(room *r, const char *user_id, sfu_pc pc, const char *cand);
/* The browser asks for an ICE restart of its receiving connection (pc DOWN): new credentials
 * in a new offer. */
void room_restart_ice(room *r, const char *user_id, sfu_pc pc);
void room_video_views(room *r, const char *user_id, const sfu_view *views, size_t n);

#endif
