/* room_internal.h - the objects of a room, shared by room.c (membership, negotiation) and
 * forward.c (the packet path and RTCP). Worker thread only; not a public API.
 *
 * Ownership: room → members (array) → each member owns its peers, its published tracks and the
 * fwd entries it receives. A track keeps borrowed pointers to the fwd entries that forward it
 * (track->subs); removing a fwd removes it from both lists.
 */
#ifndef SFU_ROOM_INTERNAL_H
#define SFU_ROOM_INTERNAL_H

#include "sfu/allocate.h"
#include "sfu/bwe.h"
#include "sfu/layer_select.h"
#include "sfu/pacer.h"
#include "sfu/rewrite.h"
#include "sfu/room.h"
#include "sfu/rtcp.h"
#include "sfu/rtp.h"
#include "sfu/rtx_cache.h"
#include "sfu/sdp_negotiate.h"
#include "sfu/speaker.h"
#include "sfu/srtp_session.h"
#include "sfu/twcc_history.h"
#include "sfu/vp8_munge.h"

#define ROOM_MAX_TRACKS 8          /* published tracks per member */
#define ROOM_SCREEN_MIDS 160       /* bytes of a member's list of screen mids (room_screen_mids) */
#define ROOM_TWCC_MAX 512          /* transport-cc arrivals kept between two feedbacks */
#define ROOM_NACK_MAX 64           /* upstream losses tracked per track */
#define ROOM_PLI_INTERVAL_US 200000 /* at most one PLI per track per interval; and none while a
                                       requested keyframe is still on its way (forward.c) */
#define ROOM_TICK_MS 50
#define ROOM_RTX_SLOTS 1024        /* per video track: > 1 s at 1000 packets/s (1.5 MiB) */
#define ROOM_RTX_SLOTS_AUDIO 128   /* per audio track: 2.5 s of 20 ms packets (190 KiB) */
#define ROOM_RTX_MAX_AGE_US 2000000
#define ROOM_SCRATCH (RTP_MAX_PACKET + SRTP_SESSION_RTP_MAX_OVERHEAD + 64)
#define ROOM_FANOUT_MAX 64         /* packets waiting for the end-of-iteration fan-out (forward.c) */
#define ROOM_RATE_US 500000        /* per-stream received rate: measured over this */
#define ROOM_ALLOC_US 200000       /* each receiver's layers are chosen again this often */
#define ROOM_TWCC_RESULTS 1024     /* packets one transport-cc feedback may describe */
#define ROOM_PACE_SLOTS 512        /* video packets waiting for one receiver's pacer */
#define ROOM_PACE_TICK_MS 5        /* the pacers of a room are served this often while one waits */
#define ROOM_PACE_FACTOR 1.25      /* pacing rate: this times the receiver's estimate */

typedef struct track track;
typedef struct fwd fwd;
typedef struct member member;

/* An upstream loss the SFU asks the publisher to retransmit. */
typedef struct {
    uint16_t seq;
    uint8_t tries;
    int64_t next_us;
} lost_seq;

struct track {
    member *owner;
    char up_mid[SDP_MAX_MID + 1];  /* the publisher's mid */
    char down_mid[16];             /* the mid on every subscriber's downstream connection */
    char track_id[SDP_NEG_STR + 1];
    sdp_media_kind kind;
    bool screen;                   /* video: a shared screen, not a camera (the publisher said so
                                    * with its offer: room_screen_mids) */
    sdp_codec codec;               /* the first accepted codec */
    uint32_t ssrc, rtx_ssrc;
    sdp_ext_ids ext;               /* the publisher's extension ids */
    struct rtx_cache *cache;
    struct rtcp_rx_stats rx;
    bool rx_started;
    uint16_t highest_seq;
    lost_seq lost[ROOM_NACK_MAX];
    size_t n_lost;
    fwd **subs;                    /* borrowed */
    size_t n_subs, cap_subs;
    int64_t last_pli_us;
    int64_t last_keyframe_us;      /* when the start of the last keyframe arrived */
    bool pli_pending;              /* a keyframe is wanted once the interval allows */
    /* Simulcast (RFC 8853): a video m-line sent as several streams, lowest resolution first. The
     * m-line's track is layer 0 and holds what subscribers see (down_mid, subs); layers 1.. are
     * tracks of their own for the upstream side only (SSRC learned from the rid header extension,
     * cache, receive stats, NACK, PLI), owned by it and not in member->tracks. */
    track *base;                   /* a layer > 0: the m-line's track; NULL otherwise */
    unsigned layer;
    char rid[SDP_NEG_RID + 1];
    track *layers[SDP_NEG_MAX_RIDS]; /* the m-line's track: layers[0] is itself */
    unsigned n_layers;             /* 0: not simulcast */
    int64_t last_packet_us;        /* arrival of this stream's last packet (is the layer sent?) */
    uint64_t bytes_in;             /* received, ever */
    uint64_t bytes_mark;           /* bytes_in at the last rate measurement */
    uint32_t bps;                  /* received rate over the last ROOM_RATE_US */
    uint8_t max_tid;               /* highest VP8 temporal layer seen */
    uint16_t width, height;        /* of this stream's last keyframe (VP8); 0: not known */
    /* The m-line's track of a simulcast video: the highest layer its publisher was last told that
     * somebody receives (-1: none), and since when fewer would do (0: not so). */
    int told_top;
    int64_t fewer_since_us;
};

struct fwd {
    track *track;
    member *sub;
    uint32_t ssrc, rtx_ssrc;       /* what the subscriber sees */
    uint16_t rtx_seq;
    uint32_t rtx_roc;              /* SRTP rollover counter of the RTX stream */
    struct rewrite rw;
    uint8_t pt;
    int rtx_pt;                    /* -1: no RTX towards this subscriber */
    bool negotiated;               /* the subscriber's answer accepted it */
    uint32_t packets, octets;      /* sent, for sender reports */
    uint8_t ext_map[256];          /* publisher extension id → subscriber's (0 = drop); last: the fields
                                    * above, read for every packet, share the first cache lines */
    layer_select ls;               /* video: which layer this subscriber gets (a single-stream
                                    * video: layer 0, or paused) */
    uint16_t view_w, view_h;       /* video: the size the subscriber shows it at (0: not known) */
    bool hidden;                   /* video: the subscriber does not show it */
    bool paused;                   /* video: the subscriber was told it is paused for bandwidth */
    /* simulcast: after a step down for bandwidth, no step above the layer it has before hold_us
     * (layers.c: a switch up costs a keyframe, and one undone seconds later two) */
    int64_t down_us, up_us;        /* last step down / up (0: none) */
    int64_t hold_us;
    struct vp8_munge vp8;          /* simulcast VP8: its descriptor numbering across switches */
};

struct member {
    /* what the fan-out reads for every subscriber, in the first cache line (the member is large: the
     * transport-cc arrivals below) */
    room *room;
    peer *down;                    /* downstream: the member receives */
    fwd **fwds;                    /* owned */
    size_t n_fwds, cap_fwds;
    char user_id[32];
    uint32_t rtcp_ssrc;            /* sender SSRC of the SFU's RTCP towards this member */
    /* upstream: the member publishes */
    peer *up;
    char up_first_mid[SDP_MAX_MID + 1];
    char screen_mids[ROOM_SCREEN_MIDS]; /* the up mids its last announced sources said are screens:
                                         * comma-separated, with a comma before and after each */
    uint64_t up_sess_id, up_version;
    /* layers.c's allocation scratch, one entry per forward (grown with the forwards, never per
     * packet): owned */
    alloc_track *alloc_at;
    fwd **alloc_af;
    size_t alloc_cap;
    track *tracks[ROOM_MAX_TRACKS];
    size_t n_tracks;
    struct rtcp_twcc_arrival twcc[ROOM_TWCC_MAX];
    size_t n_twcc;
    uint8_t twcc_count;
    int64_t last_rr_us;
    /* downstream (with down and fwds above) */
    sdp_down *neg;
    bool down_pending;             /* an offer waits for its answer */
    bool down_dirty;               /* tracks changed meanwhile: offer again after the answer */
    bool down_gathering;
    bool dead;                     /* its media failed beyond use and signaling was told (SFU_EV_NO_PORTS:
                                    * a connection got no UDP port; SFU_EV_INTERNAL): the member waits
                                    * to be taken out; its SDP and candidates are ignored, nothing is
                                    * offered to it */
    bool down_restart;             /* ICE restarted: the next offer carries new credentials, and our
                                    * candidates go out again after it */
    /* downstream bandwidth (transport-cc on the receiving connection, when the browser took it) */
    twcc_history *tx_hist;         /* owned; NULL until transport-cc is negotiated downstream */
    bwe est;
    int64_t last_alloc_us;
    pacer *pace;                   /* owned, with tx_hist: what waits to be sent to this receiver
                                    * (paced_pkt items) */
    uint32_t probe_bps;            /* a probe cluster being sent (forward.c); 0: none */
    int64_t probe_start_us;
    size_t probe_sent, probe_packets;
    int speaker_slot;              /* its slot in room->speakers (from its first audio track), or < 0 */
};

/* A packet that arrived in this loop iteration, to be sent to the track's subscribers at its end. */
typedef struct {
    track *track;                  /* NULL: the track went away meanwhile; a simulcast layer's own */
    struct rtp_view v;             /* parsed; v.pkt points into the track's retransmission cache */
    int64_t arrival_us;
    ls_packet lp;                  /* simulcast: what the layer choice needs to know */
    struct rtp_vp8 vp8;            /* simulcast VP8: the descriptor (vp8_ok) */
    bool vp8_ok;
} fanout_pkt;

/* A video packet waiting in a receiver's pacer: sent through forward_one when its turn comes. */
typedef struct {
    fwd *f;                        /* NULL: the fwd went away meanwhile */
    fanout_pkt p;                  /* p.track NULL: the stream went away meanwhile */
} paced_pkt;

struct room {
    room_env env;
    char meeting_id[16];
    member **members;              /* owned */
    size_t n_members, cap_members;
    unsigned next_mid;
    GSource *tick;
    uint8_t scratch[ROOM_SCRATCH];  /* one outgoing packet at a time */
    uint8_t scratch2[ROOM_SCRATCH]; /* the rewritten original of an RTX packet */
    netloop_task fanout_task;       /* queued while fanout[] is not empty */
    fanout_pkt fanout[ROOM_FANOUT_MAX];
    size_t n_fanout;
    bool fanout_backwards;          /* direction of the last fan-out over the members */
    int64_t last_rate_us;           /* last per-stream rate measurement */
    twcc_result twcc_results[ROOM_TWCC_RESULTS];
    GSource *pace_src;              /* while a pacer of the room has packets waiting */
    speaker_det speakers;           /* the dominant speaker, from its publishers' audio levels */
};

/* The room's clock (room_env.clock_us). */
static inline int64_t room_now(const room *r)
{
    return r->env.clock_us ? r->env.clock_us() : g_get_monotonic_time();
}

/* room.c */
void room_emit(room *r, member *m, sfu_event_kind kind, sfu_pc pc, const char *mid, const char *text);
/* Tells signaling the order of recent speakers (speaker.h), to the whole meeting (to NULL) or to m. */
void room_emit_speakers(room *r, member *to);
/* The subscriber's downstream connection became usable (connected, answer applied). */
void room_down_ready(member *m);

/* forward.c */
void forward_on_up_rtp(void *ud, uint8_t *buf, size_t len, int64_t now_us);
void forward_on_up_rtcp(void *ud, uint8_t *buf, size_t len, int64_t now_us);
void forward_on_down_rtcp(void *ud, uint8_t *buf, size_t len, int64_t now_us);
/* The m-line track of t (t itself unless t is a simulcast layer above 0). */
static inline track *track_base(track *t)
{
    return t->base ? t->base : t;
}
/* The streams of an m-line's track: its simulcast layers, or the track itself. */
static inline unsigned track_n_streams(const track *t)
{
    return t->n_layers ? t->n_layers : 1;
}
static inline track *track_stream(track *t, unsigned k)
{
    return t->n_layers ? t->layers[k] : t;
}
/* Asks the publisher of t (a stream: a simulcast layer's own track) for a keyframe, at most once
 * per ROOM_PLI_INTERVAL_US. */
void forward_request_keyframe(track *t, int64_t now_us);
/* Sends the packets waiting in r->fanout now (the end-of-iteration task; also before r changes). */
void forward_fanout(room *r);
/* Forgets t's waiting packets (t, a stream, is going away). */
void forward_forget_track(track *t);
/* Forgets f's packets waiting in its receiver's pacer (f is going away). */
void forward_forget_fwd(fwd *f);
/* Periodic work of one room: PLIs due, NACK retries, transport-cc feedback, receiver reports,
 * layer choice. */
void forward_tick(room *r, int64_t now_us);
/* Serves the room's pacers: what the pacing timer does every ROOM_PACE_TICK_MS while packets wait
 * (called directly by tests/unit/test_room.c, in virtual time). Returns whether packets still wait. */
bool forward_pace(room *r, int64_t now_us);
/* Sends a probe cluster towards sub at rate_bps (bwe.h): repeats of recent packets, or padding. */
void forward_send_probe(member *sub, uint32_t rate_bps, int64_t now_us);

/* layers.c */
#define SIMULCAST_ACTIVE_US 500000 /* a stream with no packet for this long is not being sent */
static inline bool stream_active(const track *t, int64_t now_us)
{
    return t->ssrc && t->last_packet_us && now_us - t->last_packet_us < SIMULCAST_ACTIVE_US;
}
/* A fwd's layer choice as it starts: a single-stream track forwards from its first packet (layer
 * 0); a simulcast one waits for its first target. */
void layers_init(fwd *f);
/* Every tick: stream rates, each receiver's layers (from its bandwidth estimate, or the highest
 * sent), what each receiver is told is paused, which layers each publisher is told to send. */
void layers_tick(room *r, int64_t now_us);

#endif
