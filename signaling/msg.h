/* msg.h - the signaling wire protocol (PROTOCOL.md): validating client messages, building server ones.
 *
 * Pure: no I/O, no clock. msg_parse() turns one WebSocket frame into a vm_msg or a typed error;
 * the msg_build_*() functions return a newly allocated NUL-terminated JSON text that the caller frees
 * with free().
 */
#ifndef VM_MSG_H
#define VM_MSG_H

#include <stdbool.h>
#include <stddef.h>

#include "signaling/meeting.h"

/* Every error the protocol can report; msg_error_code() gives its wire name. */
typedef enum {
    VM_ERR_NONE = 0,
    VM_ERR_BAD_JSON,
    VM_ERR_INVALID_UTF8,
    VM_ERR_UNKNOWN_TYPE,
    VM_ERR_INVALID_FIELD,
    VM_ERR_TOO_LONG,
    VM_ERR_INVALID_MEETING_ID,
    VM_ERR_NOT_IN_MEETING,
    VM_ERR_ALREADY_JOINED,
    VM_ERR_MEETING_FULL,
    VM_ERR_RATE_LIMITED,
    VM_ERR_TOO_LARGE,
    VM_ERR_SERVER_BUSY,
    VM_ERR_BAD_SDP,
    VM_ERR_MEDIA_FAILED,
    VM_ERR_INTERNAL,
    VM_ERR_RESUME_REFUSED,
    VM_ERR_COUNT_
} vm_err;

typedef enum {
    MSG_JOIN,
    MSG_CHAT,
    MSG_MEDIA_STATE,
    MSG_LEAVE,
    MSG_PING,
    MSG_OFFER,
    MSG_ANSWER,
    MSG_CANDIDATE,
    MSG_VIDEO_VIEWS,
    MSG_RESUME,
    MSG_ICE_RESTART,
} msg_type;

/* Which of a browser's two peer connections a media message is about. */
typedef enum {
    MSG_PC_UP = 0,   /* the browser publishes: it offers, the SFU answers */
    MSG_PC_DOWN = 1, /* the browser receives: the SFU offers, the browser answers */
} msg_pc;

#define VM_MAX_CANDIDATE_BYTES 512
#define VM_MAX_VIEWS 64        /* videos in one video-views message */
#define VM_MAX_MID_BYTES 15
#define VM_MAX_VIEW_PX 16384   /* largest width or height of a view */
#define VM_MAX_SOURCES 8       /* entries of an offer's 'sources' */

/* How the browser shows one video it receives (video-views): hidden when width = height = 0. */
typedef struct {
    char mid[VM_MAX_MID_BYTES + 1];
    unsigned width, height;
} msg_view;

typedef struct {
    msg_type type;
    char meeting_id[VM_MEETING_ID_LEN + 1];   /* join, resume: normalised */
    char user_id[VM_USER_ID_LEN + 1];          /* resume */
    char token[VM_RESUME_TOKEN_LEN + 1];       /* resume: well formed (resume_token_well_formed) */
    char username[VM_MAX_NAME_BYTES + 1];      /* join: trimmed */
    bool audio, video;                         /* join (default true), media-state */
    char message[VM_MAX_CHAT_BYTES + 1];       /* chat */
    msg_pc pc;                                 /* offer, answer, ice-candidate, ice-restart */
    char *sdp;                                 /* offer, answer: owned, freed by msg_clear() */
    char candidate[VM_MAX_CANDIDATE_BYTES + 1];/* ice-candidate: "candidate:..."; "" = end of candidates */
    char screen_mids[VM_MAX_SOURCES * (VM_MAX_MID_BYTES + 1)]; /* offer: the mids its 'sources' call
                                               * "screen", comma-separated ("" = none) */
    bool has_sources;                          /* offer: 'sources' was given (without it the SFU keeps
                                               * what the publisher's last one said) */
    msg_view views[VM_MAX_VIEWS];              /* video-views */
    size_t n_views;
} vm_msg;

typedef struct {
    vm_err code;
    const char *ref;      /* the message type that caused it, or NULL (static string) */
    const char *reason;   /* server-busy: which limit ("media-ports", ...), or NULL (static string) */
    char text[160];       /* for people */
    unsigned retry_after_s; /* rate-limited: seconds until trying again may work (retryAfter); 0 = unsaid */
} msg_error;

/* Parses and validates one frame. `binary` is true for a binary WebSocket frame.
 * Returns 0 and fills *out (release it with msg_clear), or a negative value and fills *err. */
int msg_parse(const char *buf, size_t len, bool binary, vm_msg *out, msg_error *err);
/* Frees what msg_parse allocated in m (the SDP). NULL is a no-op. */
void msg_clear(vm_msg *m);

/* Fills *err with code, ref and a printf-style text (no reason). Returns -(int)code for convenience. */
int msg_error_set(msg_error *err, vm_err code, const char *ref, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The wire name of an error code ("bad-json", ...). */
const char *msg_error_code(vm_err code);

/* Number of Unicode code points in a valid UTF-8 string. */
size_t msg_utf8_chars(const char *s);

/* Builders. Each returns malloc'd JSON text, or NULL on no memory. */
char *msg_build_error(const msg_error *err);
/* The answer to join-meeting and resume-meeting: with self's resume token and the grace period;
 * `resumed` when it answers a resume. */
char *msg_build_existing_users(const vm_participant *self, int64_t grace_ms, bool resumed);
/* user-reconnecting: p is (or is no longer) reconnecting. */
char *msg_build_user_reconnecting(const vm_participant *p);
char *msg_build_user_joined(const vm_participant *p);
char *msg_build_user_left(const char *user_id, const char *reason);
char *msg_build_chat(const vm_chat *c);
char *msg_build_media_state(const vm_participant *p);
char *msg_build_left(const char *meeting_id);
char *msg_build_pong(void);
/* moved: meeting_id lives on the node whose public base URL is url (PROTOCOL.md, "Several nodes"). */
char *msg_build_moved(const char *meeting_id, const char *url);
/* moved, mid-meeting: meeting_id now lives on the node at url (its people join it there), with a
 * reason: "draining" (this node drains: PROTOCOL.md, "Draining a node") or "split" (Redis says another
 * live node owns it: PROTOCOL.md, "Several nodes"). */
char *msg_build_moved_reason(const char *meeting_id, const char *url, const char *reason);
/* node-info (PROTOCOL.md, "Several nodes"): this node's id and public base URL, the public base URLs of
 * the live nodes (n of them), and the iceServers of this node (a JSON array, a jansson json_t *, taken;
 * NULL: none). */
char *msg_build_node_info(const char *node, const char *url, const char *const *urls, size_t n, void *ice_servers);
/* type is "offer" or "answer"; sdp is copied. */
char *msg_build_sdp(const char *type, msg_pc pc, const char *sdp);
/* candidate "candidate:..." or "" for end of candidates; mid is the first BUNDLE mid. */
char *msg_build_candidate(msg_pc pc, const char *candidate, const char *mid);
/* video-layers: the rids (comma-separated, "" = none) of the browser's simulcast video `mid` that
 * somebody receives. video-paused: reason "" = resumed. */
char *msg_build_video_layers(const char *mid, const char *rids);
char *msg_build_video_paused(const char *mid, const char *reason);
/* active-speakers: the userIds of the recent speakers, comma-separated, the dominant one first
 * ("" = nobody spoke yet). */
char *msg_build_active_speakers(const char *user_ids);

#endif
