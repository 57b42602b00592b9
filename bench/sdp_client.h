/* sdp_client.h - the SDP a bench participant writes and reads, in the browser's role (the
 * mirror image of sfu/sdp_negotiate.h), built and parsed with the SFU's own sfu/sdp.h.
 *
 *  - up (publishing): the bench offers, like Chromium with a camera and a microphone: BUNDLE of
 *    mid "0" (audio, sendonly, Opus pt 111 minptime=10;useinbandfec=1) and mid "1" (video, sendonly,
 *    VP8 pt 96 + RTX pt 97 apt=96), rtcp-fb nack / nack pli / ccm fir / goog-remb / transport-cc,
 *    extmaps 1 ssrc-audio-level (audio only), 2 abs-send-time, 3 transport-wide-cc, 4 sdes:mid,
 *    a=ssrc cname + msid lines and a=ssrc-group:FID for video, rtcp-mux, rtcp-rsize,
 *    setup:actpass, trickle ICE (no candidates in the SDP). With simulcast rids, the video m-line is
 *    Chromium's simulcast offer instead: extmaps 10 rtp-stream-id and 11 repaired-rtp-stream-id
 *    too, a=rid:<rid> send per layer (lowest first) and a=simulcast:send with the list, and no
 *    a=ssrc lines (the SFU learns each layer's SSRC from mid + rid in its packets, RFC 8852). The
 *    SFU's answer gives its transport and what it accepted (payload types, RTX, extension ids, the
 *    rids it receives: a=rid:<rid> recv).
 *  - down (receiving): the SFU offers; the bench answers every m-line it was offered: an active
 *    one recvonly with the same payload types, feedback and extension ids, port-0 ones rejected
 *    (port 0, same mid), setup:active (the bench is the DTLS client), BUNDLE of the accepted mids;
 *    without transport-cc (a receiver that does not do it) the transport-cc feedback and the
 *    transport-wide-cc extension are left out of the answer.
 *
 * Pure: no I/O, no clock. Text results are malloc'd and freed by the caller with free().
 */
#ifndef BENCH_SDP_CLIENT_H
#define BENCH_SDP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu/sdp_negotiate.h"

#define BENCH_PT_OPUS 111
#define BENCH_PT_VP8 96
#define BENCH_PT_VP8_RTX 97
#define BENCH_MID_AUDIO "0"
#define BENCH_MID_VIDEO "1"
#define BENCH_MID_DATA "2"
/* Extension ids of the publisher's offer (Chromium's usual numbers). */
#define BENCH_EXT_AUDIO_LEVEL 1
#define BENCH_EXT_ABS_SEND_TIME 2
#define BENCH_EXT_TWCC 3
#define BENCH_EXT_MID 4
#define BENCH_EXT_RID 10
#define BENCH_EXT_RRID 11
#define BENCH_MAX_RIDS 3
#define BENCH_RID_LEN 7

typedef struct bench_pub_params {
    uint64_t sess_id;
    uint32_t audio_ssrc, video_ssrc, video_rtx_ssrc;
    const char *cname;     /* a=ssrc cname */
    const char *stream_id; /* msid stream id */
    const char *const *rids; /* simulcast layers, lowest first (n_rids 0: one video stream) */
    size_t n_rids;
    bool data_channel;     /* an m=application (webrtc-datachannel) too, as createDataChannel adds */
    bool audio_dtx;        /* Opus fmtp usedtx=1 (--audio-dtx) */
} bench_pub_params;

/* The publisher's offer. local: ICE credentials and fingerprint (e.g. from peer_local()); its
 * candidates are not used (trickle). Returns the SDP text (free()), or NULL. */
char *bench_sdp_publish_offer(const sdp_local *local, const bench_pub_params *p);

/* What the SFU's answer accepted for one of the publisher's m-lines. */
typedef struct bench_sdp_sent {
    bool accepted;
    uint8_t pt;
    int rtx_pt;      /* -1: no RTX */
    sdp_ext_ids ext; /* 0 = not accepted */
    char rids[BENCH_MAX_RIDS][BENCH_RID_LEN + 1]; /* simulcast layers the SFU receives (a=rid recv) */
    size_t n_rids;
} bench_sdp_sent;

typedef struct bench_sdp_up_answer {
    sdp_remote_transport remote; /* dtls_client: true when the bench is the DTLS client */
    bench_sdp_sent audio, video;
    bool data_channel;           /* the SFU accepted the data channel m-line */
} bench_sdp_up_answer;

/* Reads the SFU's answer to bench_sdp_publish_offer. Returns 0, or a negative SDP_ERR_* (bad SDP,
 * no transport, no accepted m-line). */
int bench_sdp_read_up_answer(const char *text, size_t len, bench_sdp_up_answer *out);

/* One m-line of the SFU's downstream offer, as the bench will receive it. */
typedef struct bench_sdp_rx_track {
    char mid[SDP_MAX_MID + 1];
    sdp_media_kind kind;
    bool active;         /* offered sendonly/sendrecv with an SSRC: media will come */
    uint8_t pt;
    int rtx_pt;          /* -1: none */
    uint32_t ssrc, rtx_ssrc;
    bool fb_nack, fb_pli;  /* the offer asks for generic NACK / PLI on pt */
    uint8_t twcc_ext;    /* transport-wide-cc extension id, when transport-cc runs on it (answered) */
    char stream_id[SDP_NEG_STR + 1]; /* msid stream: the publisher's userId */
} bench_sdp_rx_track;

/* Answers a downstream offer. On success returns 0, *answer is the text (free()), *remote the SFU's
 * transport (dtls_client = true: the answer says setup:active), and tracks[0..*n_tracks) one entry
 * per offered m-line (at most max_tracks; later ones are still answered). transport_cc false:
 * the answer leaves transport-cc out. Errors: negative SDP_ERR_* (malformed offer, no transport). */
int bench_sdp_answer_down(const char *offer, size_t len, const sdp_local *local, bool transport_cc, char **answer,
                          sdp_remote_transport *remote, bench_sdp_rx_track *tracks, size_t max_tracks,
                          size_t *n_tracks);

#endif
