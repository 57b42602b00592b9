/* sfu.h - the media plane as the signaling thread sees it.
 *
 * Every function here is called from the signaling thread only. The work happens on the media
 * worker that hosts the meeting (a meeting lives on one worker, chosen when its first participant
 * joins: the worker with the fewest meetings). Results come back as sfu_event values through the
 * callback given to sfu_new(), which is called on worker threads: it must be thread-safe and takes
 * ownership of the event (sfu_event_free).
 */
#ifndef SFU_SFU_H
#define SFU_SFU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu/netloop.h"
#include "sfu/stats.h"

#define SFU_MAX_IPS 8

/* What the media plane needs to know (signaling/config.c reads it from the environment). */
typedef struct sfu_config {
    char rtc_ips[SFU_MAX_IPS][64]; /* addresses to gather ICE candidates on */
    size_t rtc_ip_count;
    char announced_ip[64];         /* written into candidates instead ("" = none) */
    int rtc_min_port, rtc_max_port; /* UDP port range */
    int workers;                    /* media worker threads */
} sfu_config;

typedef enum {
    SFU_PC_UP = 0,   /* browser → SFU: the browser offers */
    SFU_PC_DOWN = 1, /* SFU → browser: the SFU offers */
} sfu_pc;

typedef enum {
    SFU_EV_OFFER,     /* text: SDP offer for pc DOWN */
    SFU_EV_ANSWER,    /* text: SDP answer for pc UP */
    SFU_EV_CANDIDATE, /* text: "candidate:..." or "" (end of candidates); mid: its sdpMid */
    SFU_EV_FAILED,    /* text: why the transport failed beyond repair by an ICE restart (DTLS failed,
                       * ICE failed before DTLS was up) */
    SFU_EV_ERROR,     /* text: why the browser's SDP was refused */
    SFU_EV_LAYERS,    /* pc UP, mid: a simulcast video of the browser's; text: the rids somebody
                       * receives, comma-separated ("" = none): the others may stop encoding */
    SFU_EV_PAUSED,    /* pc DOWN, mid: a video the browser receives; text: "bandwidth" when the SFU
                       * stopped forwarding it for lack of bandwidth, "" when it resumed */
    SFU_EV_NO_PORTS,  /* text: why. The connection pc got no UDP port of RTC_MIN_PORT..RTC_MAX_PORT
                       * (libnice could bind none: the range is used up, by us or by another program,
                       * or no ICE address is usable). The participant's media is dead: signaling
                       * takes it out of the meeting; meanwhile the room ignores its SDP and candidates. */
    SFU_EV_RECONNECTING, /* pc is being repaired; text: "restart" (the browser restarts its ICE) or
                          * "ice-failed" (ICE failed or consent expired after DTLS was up: an ICE
                          * restart may still repair it) */
    SFU_EV_RECONNECTED,  /* pc works again after an ICE restart */
    SFU_EV_INTERNAL,     /* text: why. The media plane could not do what the participant's last step
                          * needed (no memory for its meeting's media, its member or a connection, an
                          * offer that could not be built, a command that could not be queued). What
                          * was half-made is undone; the member waits in the room, its SDP and
                          * candidates ignored, until signaling takes it out (sfu_leave): a new join
                          * starts from nothing. pc: the connection concerned (UP when none). */
    SFU_EV_SPEAKERS,     /* text: the userIds of the recent speakers, the dominant one first,
                          * comma-separated (sfu/speaker.h); user_id "": for the whole meeting (the
                          * order changed), else for that participant only (it joined) */
} sfu_event_kind;

/* How the browser shows one video it receives: the size of its element in device pixels, or
 * hidden (width = height = 0). */
#define SFU_MAX_VIEWS 64
typedef struct {
    char mid[16];     /* the video's mid on the receiving connection */
    uint16_t width, height;
} sfu_view;

typedef struct {
    sfu_event_kind kind;
    sfu_pc pc;
    char meeting_id[16];
    char user_id[32];
    char mid[32];
    char *text; /* owned */
} sfu_event;

typedef void (*sfu_event_fn)(void *ud, sfu_event *ev);

typedef struct sfu sfu;

/* Starts cfg->workers media workers and makes the DTLS certificate. cfg must outlive the sfu.
 * NULL on failure (logged). Reads VM_FAULT (sfu/fault.h: failures injected by tests). */
sfu *sfu_new(const sfu_config *cfg, sfu_event_fn fn, void *ud); /* cfg is copied */
/* Closes every meeting and stops the workers; logs the WebRTC connections left by state and the
 * ports held afterwards (all 0 unless something was counted wrong). NULL is a no-op. */
void sfu_free(sfu *s);

/* A participant entered / left a meeting. */
void sfu_join(sfu *s, const char *meeting_id, const char *user_id);
void sfu_leave(sfu *s, const char *meeting_id, const char *user_id);
/* The browser's SDP: an offer on pc UP or an answer on pc DOWN (copied). */
void sfu_remote_sdp(sfu *s, const char *meeting_id, const char *user_id, sfu_pc pc, const char *sdp);
/* Which m-lines of the browser's next offer on pc UP carry a shared screen (mids, comma-separated,
 * copied; "" = none): call it just before sfu_remote_sdp() of that offer (the two reach the worker
 * in order). */
void sfu_screen_mids(sfu *s, const char *meeting_id, const char *user_id, const char *mids);
/* A trickled candidate from the browser ("" = end of candidates), copied. */
void sfu_remote_candidate(sfu *s, const char *meeting_id, const char *user_id, sfu_pc pc, const char *cand);

/* The browser asks for an ICE restart of pc (DOWN only: it restarts UP with an offer). */
void sfu_restart_ice(sfu *s, const char *meeting_id, const char *user_id, sfu_pc pc);

/* How the browser shows the videos it receives (views copied; at most SFU_MAX_VIEWS). Videos not
 * listed keep what was said of them before (at first: shown, size unknown). */
void sfu_video_views(sfu *s, const char *meeting_id, const char *user_id, const sfu_view *views, size_t n);
void sfu_event_free(sfu_event *ev);

/* For /metrics: sums of every worker's counters, and per-worker CPU seconds. */
void sfu_stats_total(sfu *s, sfu_stats *out);
int sfu_worker_count(const sfu *s);
double sfu_worker_cpu_seconds(sfu *s, int i);
/* Worker i's network loop counters (sfu/netloop.h): wake-ups, datagrams, send calls, refused sends. */
void sfu_worker_net_counters(sfu *s, int i, netloop_counters *out);

#endif
