/*
 * sfu/sdp_negotiate.h — JSEP (RFC 8829) offer/answer as an SFU, on top of sfu/sdp.h.
 *
 * Each browser has two RTCPeerConnections with the SFU, both BUNDLE + rtcp-mux only:
 *  - upstream: the browser offers its tracks (sendonly, or sendrecv), the SFU answers
 *    recvonly with sdp_answer_upstream(), which also reports what the SFU must route
 *    (codecs and payload types, header extension ids, SSRCs with their RTX pairs, msid).
 *  - downstream: the SFU offers one sendonly m-line per forwarded track of every other
 *    participant. An sdp_down object keeps the m-line list across renegotiations:
 *    sdp_down_set_tracks() states the tracks wanted now, sdp_down_offer() builds the next offer,
 *    sdp_down_apply_answer() reads the browser's answer (what it accepted).
 *
 * Codec policy: audio is Opus/48000/2 ("minptime=10;useinbandfec=1"); video is VP8 and
 * H.264 packetization-mode=1 constrained baseline (profile-level-id 42e01f, or any 42xxxx with
 * the constraint_set1 flag when the offer allows level asymmetry), each with its RTX (apt=)
 * payload type. Payload type numbers and extension ids are the offerer's. RTCP feedback kept:
 * nack, nack pli, ccm fir, goog-remb, transport-cc. Header extensions kept: sdes:mid,
 * ssrc-audio-level, abs-send-time, transport-wide-cc.
 *
 * Transport choices (documented here because they are policy, not grammar):
 *  - The SFU answers setup:passive (it is the DTLS server), or setup:active only when the
 *    offer says passive. In its own offers it says actpass; the browser's answer then decides.
 *  - Every accepted m-line carries the same ICE credentials, fingerprint and setup (as
 *    browsers write them) and a non-zero port: Chromium reads port 0 in an answer as a
 *    rejection, so the zero-port form for bundled sections (RFC 8843 §7.3.1) is not used.
 *    Candidates go on the first bundled m-line only (the BUNDLE tag), whose port and c= are
 *    those of the first UDP component-1 candidate; the other m-lines say 9 / 0.0.0.0.
 *  - An offered m-line is accepted only when it is in the offer's first BUNDLE group (or the
 *    offer has no BUNDLE group and it is the first m-line accepted), has a mid, has a non-zero
 *    port (or a=bundle-only), and is either RTP with a=rtcp-mux and a codec we take, or a
 *    webrtc-datachannel m-line while sdp_local.accept_data_channel is set (answered with
 *    a=sctp-port:5000, a=max-message-size:4096). Otherwise it is rejected with port 0 and
 *    left out of the answer's BUNDLE group, whose mids keep the offer's order.
 *  - The answer copies neither a=extmap-allow-mixed nor msid-semantic: the browser then sends
 *    one-byte header extensions only.
 *  - Simulcast: a video m-line whose a=simulcast lists send streams, each declared by an
 *    a=rid:<id> send line, with the rtp-stream-id extension offered, is answered a=rid:<id> recv
 *    for the first SDP_NEG_MAX_RIDS of them (the first alternative of each; a paused "~id" is
 *    taken unpaused) and a=simulcast:recv with the same list; its rid and repaired-rid extensions
 *    are kept. The list order is the layer order, lowest resolution first (the web app sends its
 *    encodings so). Anything else about simulcast is ignored: the m-line is then one stream.
 *
 * Downstream renegotiation (JSEP §5.2.2): mids and m-line order never change. A track that
 * is gone turns its m-line into "port 0, a=inactive" (outside the BUNDLE group), except the
 * first m-line, the BUNDLE tag, which carries the transport: it stays in the group with its
 * transport attributes and a=inactive, and keeps its place for good. Once the
 * browser has answered an offer that carried the m-line as port 0, the slot may be recycled
 * for a new track of the same kind: the new track takes the slot's place with its own
 * (new) mid. mids are never reused. The o= session version increments with every offer.
 * Within the BUNDLE group one payload type must mean one codec configuration (RFC 8843
 * §9.1; Chromium enforces it): sdp_down_set_tracks() refuses tracks that break this.
 *
 * Pure code: no I/O, no clock, no randomness (session ids come from the caller).
 */
#ifndef VM_SFU_SDP_NEGOTIATE_H
#define VM_SFU_SDP_NEGOTIATE_H

#include "sfu/sdp.h"

#define SDP_EXT_URI_MID "urn:ietf:params:rtp-hdrext:sdes:mid"
#define SDP_EXT_URI_AUDIO_LEVEL "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
#define SDP_EXT_URI_ABS_SEND_TIME "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#define SDP_EXT_URI_TWCC "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define SDP_EXT_URI_RID "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
#define SDP_EXT_URI_RRID "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"

enum {
    SDP_NEG_MAX_UP_MEDIA = 16,  /* upstream m-lines reported; later ones are rejected */
    SDP_NEG_MAX_CODECS = 4,     /* codecs accepted per m-line */
    SDP_NEG_MAX_SSRCS = 8,      /* media ssrcs reported per m-line */
    SDP_NEG_MAX_CANDIDATES = 16,/* remote candidates reported */
    SDP_NEG_STR = 64,           /* bytes of a cname, msid stream or track id */
    SDP_NEG_FMTP = 96,          /* bytes of a codec's fmtp parameters */
    SDP_NEG_MAX_ICE = 256,      /* bytes of an ICE ufrag or password */
    SDP_NEG_SCTP_PORT = 5000,   /* the SCTP port we answer for a data channel */
    SDP_NEG_MAX_MESSAGE = 4096, /* = DC_MAX_MESSAGE (sfu/dcep.h): the browser sends nothing larger */
    SDP_NEG_MAX_RIDS = 3,       /* simulcast layers taken per m-line (the first ones listed) */
    SDP_NEG_RID = 15,           /* bytes of a rid we take (RFC 8851 allows more; browsers use 1-2) */
};

typedef enum { SDP_CODEC_OPUS, SDP_CODEC_VP8, SDP_CODEC_H264 } sdp_codec_id;

/* One negotiated codec. fb_* tell which RTCP feedback both sides agreed on. */
typedef struct sdp_codec {
    sdp_codec_id id;
    uint8_t pt;
    int rtx_pt;    /* -1: no RTX */
    uint32_t clock_rate;
    uint8_t channels; /* 2 for Opus, 0 for video */
    char fmtp[SDP_NEG_FMTP]; /* "" when none; in downstream tracks "" means our default */
    bool fb_nack, fb_pli, fb_fir, fb_remb, fb_twcc;
} sdp_codec;

/* RTP header extension ids (1..14); 0 means not negotiated. */
typedef struct sdp_ext_ids {
    uint8_t mid, audio_level, abs_send_time, twcc;
    uint8_t rid, rrid; /* upstream simulcast video: RFC 8852 RtpStreamId and RepairedRtpStreamId */
} sdp_ext_ids;

/* The SFU's side of the transport. Strings are borrowed for the call only. */
typedef struct sdp_local {
    const char *ice_ufrag;           /* 4..256 ice-chars */
    const char *ice_pwd;             /* 22..256 ice-chars */
    const char *ice_options;         /* e.g. "trickle"; NULL: none */
    uint8_t fingerprint_sha256[32];  /* of our DTLS certificate */
    const sdp_candidate *candidates; /* may be NULL when n_candidates is 0 */
    size_t n_candidates;
    bool end_of_candidates; /* gathering is complete: write a=end-of-candidates */
    bool ice_lite;
    bool accept_data_channel; /* upstream: accept an application/webrtc-datachannel m-line */
    uint64_t sess_id;      /* o= session id, chosen by the caller, fixed per connection */
    uint64_t sess_version; /* o= version of an answer (offers count their own) */
} sdp_local;

/* The peer's transport as read from its description (copied, no pointers into it). */
typedef struct sdp_remote_transport {
    char ice_ufrag[SDP_NEG_MAX_ICE + 1];
    char ice_pwd[SDP_NEG_MAX_ICE + 1];
    bool ice_lite;
    sdp_fingerprint fingerprint;
    sdp_setup setup;  /* what the peer wrote */
    bool dtls_client; /* true: the SFU is the DTLS client (sends ClientHello) */
    sdp_candidate candidates[SDP_NEG_MAX_CANDIDATES];
    size_t n_candidates;
    bool end_of_candidates;
} sdp_remote_transport;

typedef struct sdp_ssrc_pair {
    uint32_t ssrc;
    uint32_t rtx_ssrc; /* 0: none */
} sdp_ssrc_pair;

/* What the SFU receives on one upstream m-line. */
typedef struct sdp_up_media {
    char mid[SDP_MAX_MID + 1];
    unsigned index; /* m-line index in the offer */
    sdp_media_kind kind;
    bool accepted;
    bool data_channel; /* an accepted application m-line (no codecs) */
    uint16_t sctp_port, remote_sctp_port;
    uint32_t remote_max_message_size; /* 0: not said */
    sdp_direction direction;          /* in our answer */
    sdp_codec codecs[SDP_NEG_MAX_CODECS]; /* accepted, in the offer's preference order */
    size_t n_codecs;
    sdp_ext_ids ext;
    bool rtcp_rsize;
    sdp_ssrc_pair ssrcs[SDP_NEG_MAX_SSRCS]; /* media ssrcs with their FID (RTX) ssrc */
    size_t n_ssrcs;
    /* Simulcast (RFC 8853): the rids the SFU receives, in the offer's a=simulcast order, which the
     * SFU takes as lowest resolution first. Their SSRCs are learned from the RtpStreamId header
     * extension (ext.rid; RTX from ext.rrid). 0 rids: one stream, as announced by a=ssrc. */
    char rids[SDP_NEG_MAX_RIDS][SDP_NEG_RID + 1];
    size_t n_rids;
    char cname[SDP_NEG_STR + 1];
    char stream_id[SDP_NEG_STR + 1]; /* msid */
    char track_id[SDP_NEG_STR + 1];
} sdp_up_media;

typedef struct sdp_up_result {
    sdp_up_media media[SDP_NEG_MAX_UP_MEDIA];
    size_t n_media;
    size_t n_accepted;
    sdp_remote_transport remote;
} sdp_up_result;

/* Builds the SFU's answer to a browser's upstream offer. On success returns 0, *answer owns a
 * new session (sdp_free) and *result is filled. Errors: SDP_ERR_INVALID (bad local params),
 * SDP_ERR_MISSING (an accepted m-line lacks ICE credentials or a fingerprint, or the offer
 * lacks a setup it could use), SDP_ERR_NOMEM. Copies what it needs: the offer may be freed
 * afterwards. */
int sdp_answer_upstream(const sdp_session *offer, const sdp_local *local, sdp_session **answer,
            sdp_up_result *result);

/* ---- downstream -------------------------------------------------------------------------- */

/* One forwarded track the SFU offers to a subscriber. */
typedef struct sdp_down_track {
    char mid[SDP_MAX_MID + 1];
    sdp_media_kind kind;   /* audio or video */
    sdp_codec codec;       /* id, pt, rtx_pt, fmtp ("" = default); fb_* ignored */
    uint32_t ssrc;
    uint32_t rtx_ssrc;     /* 0: none (must be set when codec.rtx_pt >= 0) */
    char cname[SDP_NEG_STR + 1];
    char stream_id[SDP_NEG_STR + 1]; /* msid stream id: the publishing participant's id */
    char track_id[SDP_NEG_STR + 1];
    bool screen;           /* a shared screen: the m-line says a=content:slides (RFC 4796) */
} sdp_down_track;

/* One m-line of the downstream connection and what the browser's answer said about it. */
typedef struct sdp_down_slot {
    sdp_down_track track;
    bool active;          /* carries a track now */
    bool recyclable;      /* inactive, and the browser answered an offer saying so */
    bool bundle_tag;      /* the first m-line: it carries the BUNDLE transport, so it is never
                             rejected (port 0 would make the browser tear the transport down);
                             without a track it stays bundled as a=inactive and is not recycled */
    /* From the last applied answer: */
    bool accepted;        /* the answer kept the m-line (port != 0) */
    bool codec_accepted;  /* codec.pt is in the answer */
    bool rtx_accepted;    /* codec.rtx_pt is in the answer */
    sdp_direction answer_direction;
    sdp_ext_ids ext;      /* extension ids the answer kept */
    sdp_codec answer_codec; /* pt, rtx_pt and fb_* as accepted */
} sdp_down_slot;

typedef struct sdp_down sdp_down;

/* A new downstream negotiation. ext: the header extension ids to offer (NULL: 1 audio-level,
 * 2 abs-send-time, 3 transport-wide-cc, 4 mid). NULL when out of memory. */
sdp_down *sdp_down_new(uint64_t sess_id, const sdp_ext_ids *ext);
void sdp_down_free(sdp_down *d); /* NULL: no-op */

/* States the tracks to forward from now on (copied). Tracks whose mid has a slot keep it
 * (their fields are updated); slots whose mid is not listed become inactive; new tracks take
 * a recyclable slot of their kind or a new m-line at the end.
 * Errors (nothing changed): SDP_ERR_INVALID (duplicate or empty mid, a mid of a retired slot,
 * a kind other than audio/video, a bad token, rtx_pt without rtx_ssrc, or a payload type that
 * would mean two codec configurations in the BUNDLE group), SDP_ERR_LIMIT (over
 * SDP_MAX_MEDIA m-lines), SDP_ERR_NOMEM. */
int sdp_down_set_tracks(sdp_down *d, const sdp_down_track *tracks, size_t n);

/* Builds the next offer (session version + 1). local->sess_id/sess_version are ignored (the
 * object keeps its own). On success *offer owns a new session (sdp_free). */
int sdp_down_offer(sdp_down *d, const sdp_local *local, sdp_session **offer);

/* Reads the browser's answer to the last offer: fills every slot's answer fields and
 * *remote. Errors: SDP_ERR_INVALID (no offer pending, or the answer's m-lines or mids do not
 * match the offer), SDP_ERR_MISSING (no ICE credentials/fingerprint/usable setup). */
int sdp_down_apply_answer(sdp_down *d, const sdp_session *answer, sdp_remote_transport *remote);

size_t sdp_down_slot_count(const sdp_down *d);
const sdp_down_slot *sdp_down_slot_at(const sdp_down *d, size_t i);
const sdp_down_slot *sdp_down_find(const sdp_down *d, const char *mid);
uint64_t sdp_down_version(const sdp_down *d); /* o= version of the last offer (0: none yet) */

/* Fills a codec with our defaults for id (pt/rtx_pt given) — convenience for callers. */
void sdp_codec_default(sdp_codec *c, sdp_codec_id id, int pt, int rtx_pt);

#endif
