/*
 * sfu/sdp.h — Session Description Protocol: data model, parser and builder.
 *
 * Owns the SDP text format as WebRTC uses it: RFC 8866 (SDP) lines plus the attributes of
 * JSEP (RFC 8829), BUNDLE (RFC 8843), ICE (RFC 8839), DTLS-SRTP (RFC 8122/8842), RTP header
 * extensions (RFC 8285), msid (RFC 8830), RTP/AVPF feedback (RFC 4585) and source-specific
 * attributes (RFC 5576). Pure code: no I/O, no clock, no globals.
 *
 * Design
 *  - One arena per description. sdp_session_new() or sdp_parse() creates a session that owns
 *    an arena; every string and array reachable from it lives in that arena and is released
 *    by one sdp_free() (sdp_free(NULL) is a no-op). Nothing in a session points into the text
 *    that was parsed: the input buffer may be freed right after sdp_parse() returns.
 *  - Arrays grow by doubling inside the arena (the old copy is abandoned, so the arena holds
 *    at most twice what is live). Element pointers into an array (e.g. a const sdp_rtpmap *)
 *    stay valid until the next sdp_*_add_* call on that same array; sdp_media pointers are
 *    stable for the session's life.
 *  - Every input is bounded (SDP_MAX_* below): the text size, the line length, the number of
 *    lines, m-lines, formats, rtpmaps, extmaps, ssrcs, candidates, ... Exceeding one is an
 *    error (SDP_ERR_LIMIT), never a silent truncation. Malformed input returns a negative
 *    error code and the 1-based line number (sdp_error), never crashes.
 *  - Known attributes are parsed into typed fields; the others are kept verbatim, in order, in
 *    the level's `attrs` list (rtcp, rtcp-xr, rid, simulcast, sctp-port, ...) so that
 *    parse -> build -> parse is a fixed point. Attributes of a=ssrc other than cname/msid and
 *    candidate extensions (generation, network-id, ...) are dropped.
 *  - The builder writes lines in JSEP's usual order with CRLF endings.
 *  - A lone candidate attribute (trickle ICE) is parsed/formatted with sdp_candidate_parse()
 *    and sdp_candidate_format(), which need no session (fixed-size fields).
 */
#ifndef VM_SFU_SDP_H
#define VM_SFU_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds. A description over any of them is rejected with SDP_ERR_LIMIT. */
enum {
    SDP_MAX_TEXT = 1 << 20,    /* bytes in one description */
    SDP_MAX_LINE = 4096,       /* bytes in one line, without the line ending */
    SDP_MAX_LINES = 32768,     /* lines in one description */
    SDP_MAX_MEDIA = 256,       /* m-lines */
    SDP_MAX_FORMATS = 64,      /* fmt tokens on one m-line */
    SDP_MAX_RTPMAP = 64,       /* a=rtpmap per m-line */
    SDP_MAX_FMTP = 64,         /* a=fmtp per m-line */
    SDP_MAX_RTCP_FB = 256,     /* a=rtcp-fb per m-line */
    SDP_MAX_EXTMAP = 32,       /* a=extmap per m-line */
    SDP_MAX_SSRC = 64,         /* distinct a=ssrc ids per m-line */
    SDP_MAX_SSRC_GROUP = 16,   /* a=ssrc-group per m-line */
    SDP_MAX_GROUP_SSRCS = 8,   /* ssrcs in one a=ssrc-group */
    SDP_MAX_MSID = 8,          /* a=msid per m-line */
    SDP_MAX_CANDIDATES = 64,   /* a=candidate per m-line */
    SDP_MAX_GROUPS = 8,        /* a=group lines */
    SDP_MAX_ATTRS = 128,       /* other attributes kept verbatim, per level */
    SDP_MAX_BANDWIDTH = 8,     /* b= lines per level */
    SDP_MAX_MID = 32,          /* bytes in a mid */
    SDP_MAX_FINGERPRINT = 64,  /* bytes of a certificate fingerprint (sha-512) */
    SDP_CAND_FOUNDATION_MAX = 32,
    SDP_CAND_ADDR_MAX = 63,    /* IPv4, IPv6 or an mDNS name (uuid.local) */
    SDP_ARENA_MAX = 16 << 20,  /* bytes one session's arena may hold */
};

/* Error codes (negative). */
enum {
    SDP_OK = 0,
    SDP_ERR_NOMEM = -1,    /* allocation failed or the arena is full */
    SDP_ERR_SYNTAX = -2,   /* a line or value does not follow the grammar */
    SDP_ERR_LIMIT = -3,    /* one of the SDP_MAX_* bounds was exceeded */
    SDP_ERR_MISSING = -4,  /* a required line (v=, o=) is missing */
    SDP_ERR_INVALID = -5,  /* bad argument from the caller */
    SDP_ERR_SPACE = -6,    /* the output buffer is too small */
    SDP_ERR_NOTFOUND = -7, /* the asked-for key or entry is absent */
};

/* Where parsing failed: code (SDP_ERR_*), 1-based line (0: not tied to a line), a short
 * static English reason. */
typedef struct sdp_error {
    int code;
    int line;
    const char *reason;
} sdp_error;

typedef enum { SDP_MEDIA_AUDIO, SDP_MEDIA_VIDEO, SDP_MEDIA_APPLICATION, SDP_MEDIA_OTHER } sdp_media_kind;

/* SDP_DIR_NONE means "no direction attribute" (the default, sendrecv, applies). */
typedef enum { SDP_DIR_NONE, SDP_DIR_SENDRECV, SDP_DIR_SENDONLY, SDP_DIR_RECVONLY, SDP_DIR_INACTIVE } sdp_direction;

/* a=setup (RFC 4145); SDP_SETUP_NONE means absent. */
typedef enum { SDP_SETUP_NONE, SDP_SETUP_ACTPASS, SDP_SETUP_ACTIVE, SDP_SETUP_PASSIVE, SDP_SETUP_HOLDCONN } sdp_setup;

typedef enum { SDP_CAND_HOST, SDP_CAND_SRFLX, SDP_CAND_PRFLX, SDP_CAND_RELAY } sdp_cand_type;

/* a=fingerprint: algorithm in lower case ("sha-256"); len 0 means absent. */
typedef struct sdp_fingerprint {
    char algorithm[16];
    uint8_t bytes[SDP_MAX_FINGERPRINT];
    size_t len;
} sdp_fingerprint;

/* Transport attributes, present at session level and/or per m-line (NULL/NONE/len 0: absent). */
typedef struct sdp_transport {
    char *ice_ufrag;
    char *ice_pwd;
    char *ice_options; /* raw, e.g. "trickle" */
    sdp_fingerprint fingerprint;
    sdp_setup setup;
} sdp_transport;

/* c= line. */
typedef struct sdp_conn {
    char *nettype;  /* "IN"; NULL when there is no c= line */
    char *addrtype; /* "IP4" / "IP6" */
    char *address;
} sdp_conn;

typedef struct sdp_group {
    char *semantics; /* "BUNDLE", "LS", ... */
    char **mids;
    size_t n_mids;
} sdp_group;

typedef struct sdp_rtpmap {
    uint8_t pt;
    char *name; /* encoding name as written ("opus", "VP8", "rtx") */
    uint32_t clock_rate;
    uint16_t channels; /* 0: not written */
} sdp_rtpmap;

typedef struct sdp_fmtp {
    uint8_t pt;
    char *params; /* raw, e.g. "minptime=10;useinbandfec=1"; read keys with sdp_fmtp_get() */
} sdp_fmtp;

typedef struct sdp_rtcp_fb {
    int pt;      /* -1 for '*' (all formats) */
    char *type;  /* "nack", "ccm", "goog-remb", "transport-cc", ... */
    char *param; /* "pli", "fir", ...; NULL when none */
} sdp_rtcp_fb;

typedef struct sdp_extmap {
    uint16_t id;
    sdp_direction direction; /* SDP_DIR_NONE when not written */
    char *uri;
    char *attrs; /* extension attributes after the uri; NULL when none */
} sdp_extmap;

/* The a=ssrc lines of one ssrc, merged. Fields not written are NULL. */
typedef struct sdp_ssrc {
    uint32_t ssrc;
    char *cname;
    char *msid_stream;
    char *msid_track;
} sdp_ssrc;

typedef struct sdp_ssrc_group {
    char *semantics; /* "FID", "SIM", "FEC-FR", ... */
    uint32_t ssrcs[SDP_MAX_GROUP_SSRCS];
    size_t n_ssrcs;
} sdp_ssrc_group;

typedef struct sdp_msid {
    char *stream;
    char *track; /* NULL when only the stream id is written */
} sdp_msid;

/* An attribute kept verbatim: a=name or a=name:value (value NULL for a flag). */
typedef struct sdp_attr {
    char *name;
    char *value;
} sdp_attr;

/* One ICE candidate (RFC 8839 §5.1). Fixed-size so it can be parsed without a session.
 * Extension attributes other than tcptype are not kept. */
typedef struct sdp_candidate {
    char foundation[SDP_CAND_FOUNDATION_MAX + 1];
    uint16_t component;
    char transport[8]; /* lower case: "udp", "tcp" */
    uint32_t priority;
    char address[SDP_CAND_ADDR_MAX + 1];
    uint16_t port;
    sdp_cand_type type;
    char raddr[SDP_CAND_ADDR_MAX + 1]; /* "" when absent */
    int32_t rport;                     /* -1 when absent */
    char tcptype[8];                   /* "" when absent; read but not interpreted */
} sdp_candidate;

typedef struct sdp_media {
    sdp_media_kind kind;
    char *media; /* the m= token as written ("audio", "video", "application", ...) */
    uint16_t port;
    uint16_t num_ports; /* 0: not written */
    char *proto;        /* "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP", ... */
    char **fmts;        /* fmt tokens (payload type numbers for RTP) */
    size_t n_fmts;
    sdp_conn conn;
    char **bandwidth; /* raw b= values */
    size_t n_bandwidth;

    char *mid;
    sdp_direction direction;
    sdp_transport transport;
    bool rtcp_mux, rtcp_mux_only, rtcp_rsize;
    bool end_of_candidates, bundle_only, extmap_allow_mixed;

    sdp_rtpmap *rtpmaps;
    size_t n_rtpmaps;
    sdp_fmtp *fmtps;
    size_t n_fmtps;
    sdp_rtcp_fb *rtcp_fbs;
    size_t n_rtcp_fbs;
    sdp_extmap *extmaps;
    size_t n_extmaps;
    sdp_ssrc *ssrcs;
    size_t n_ssrcs;
    sdp_ssrc_group *ssrc_groups;
    size_t n_ssrc_groups;
    sdp_msid *msids;
    size_t n_msids;
    sdp_candidate *candidates;
    size_t n_candidates;
    sdp_attr *attrs;
    size_t n_attrs;
} sdp_media;

typedef struct sdp_session {
    /* o= */
    char *origin_user;
    uint64_t sess_id;
    uint64_t sess_version;
    char *origin_nettype, *origin_addrtype, *origin_address;
    char *name; /* s= */
    uint64_t t_start, t_stop;
    sdp_conn conn;
    char **bandwidth;
    size_t n_bandwidth;

    sdp_group *groups;
    size_t n_groups;
    sdp_transport transport;
    bool ice_lite;
    bool extmap_allow_mixed;
    char *msid_semantic; /* raw value, e.g. "WMS *" (NULL when absent) */
    sdp_attr *attrs;
    size_t n_attrs;

    sdp_media **media;
    size_t n_media;

    struct sdp_arena_chunk *arena_; /* private: the arena */
    size_t arena_bytes_;            /* private: bytes allocated in it */
} sdp_session;

/* ---- life cycle -------------------------------------------------------------------------- */

/* A new empty session owning a fresh arena: "v=0", "o=- 0 0 IN IP4 127.0.0.1", "s=-",
 * "t=0 0", nothing else. NULL when out of memory. Free with sdp_free(). */
sdp_session *sdp_session_new(void);

/* Frees the session and everything in its arena. NULL is a no-op. */
void sdp_free(sdp_session *s);

/* Parses `len` bytes of SDP text (need not be NUL-terminated; CRLF or LF line endings).
 * On success returns 0 and *out owns a new session (free with sdp_free). On failure returns
 * a negative SDP_ERR_*, sets *out = NULL and, when err is non-NULL, fills it. */
int sdp_parse(const char *text, size_t len, sdp_session **out, sdp_error *err);

/* Writes the session as SDP text with CRLF line endings into buf (NUL-terminated).
 * Returns the length without the NUL, SDP_ERR_SPACE when cap is too small, or
 * SDP_ERR_INVALID when the session cannot be written (e.g. a NULL required field). */
int sdp_build(const sdp_session *s, char *buf, size_t cap);

/* Like sdp_build into a new malloc'd string the caller frees with free(); NULL on error.
 * *len (optional) receives the length. */
char *sdp_build_alloc(const sdp_session *s, size_t *len);

const char *sdp_strerror(int code);

/* ---- construction (all strings are copied into the session's arena) ---------------------- */

/* Copies str into s's arena; NULL when out of memory (or str is NULL). */
char *sdp_strdup(sdp_session *s, const char *str);

/* Sets *field (a char * inside s) to a copy of value (NULL clears it). 0 or SDP_ERR_NOMEM. */
int sdp_set_str(sdp_session *s, char **field, const char *value);

/* Appends an m-line (port 9, no fmts) and returns it; NULL when out of memory or at
 * SDP_MAX_MEDIA. `media` is the token (NULL: from kind). */
sdp_media *sdp_add_media(sdp_session *s, sdp_media_kind kind, const char *media, const char *proto);

/* Appends a group (e.g. "BUNDLE") and returns it, or NULL. */
sdp_group *sdp_add_group(sdp_session *s, const char *semantics);
int sdp_group_add_mid(sdp_session *s, sdp_group *g, const char *mid);

/* Session or media level (m NULL: session) extras. */
int sdp_add_attr(sdp_session *s, sdp_media *m, const char *name, const char *value);
int sdp_add_bandwidth(sdp_session *s, sdp_media *m, const char *value);

int sdp_media_add_fmt(sdp_session *s, sdp_media *m, const char *fmt);
int sdp_media_add_pt(sdp_session *s, sdp_media *m, int pt); /* 0..127 */
int sdp_media_add_rtpmap(sdp_session *s, sdp_media *m, int pt, const char *name, uint32_t clock,
             unsigned channels);
int sdp_media_add_fmtp(sdp_session *s, sdp_media *m, int pt, const char *params);
int sdp_media_add_rtcp_fb(sdp_session *s, sdp_media *m, int pt, const char *type, const char *param);
int sdp_media_add_extmap(sdp_session *s, sdp_media *m, unsigned id, sdp_direction dir, const char *uri,
             const char *attrs);
/* Adds or completes the entry of `ssrc` (NULL arguments leave a field as it is). */
int sdp_media_add_ssrc(sdp_session *s, sdp_media *m, uint32_t ssrc, const char *cname, const char *stream,
               const char *track);
int sdp_media_add_ssrc_group(sdp_session *s, sdp_media *m, const char *semantics, const uint32_t *ssrcs,
                 size_t n);
int sdp_media_add_msid(sdp_session *s, sdp_media *m, const char *stream, const char *track);
int sdp_media_add_candidate(sdp_session *s, sdp_media *m, const sdp_candidate *c);
int sdp_set_conn(sdp_session *s, sdp_conn *c, const char *addrtype, const char *address);

/* ---- look-ups ---------------------------------------------------------------------------- */

/* The m-line with this mid, or NULL. */
sdp_media *sdp_find_mid(const sdp_session *s, const char *mid);
/* The first group with these semantics ("BUNDLE"), or NULL. */
const sdp_group *sdp_find_group(const sdp_session *s, const char *semantics);
bool sdp_group_has_mid(const sdp_group *g, const char *mid);

/* Payload type of fmt i, or -1 when it is not a number 0..127. */
int sdp_media_pt(const sdp_media *m, size_t i);
bool sdp_media_has_pt(const sdp_media *m, int pt);
const sdp_rtpmap *sdp_media_rtpmap(const sdp_media *m, int pt);
/* The raw fmtp parameters of pt, or NULL. */
const char *sdp_media_fmtp(const sdp_media *m, int pt);
/* Whether m has a=rtcp-fb of this type/param for pt (or for '*'). param NULL: no param. */
bool sdp_media_has_rtcp_fb(const sdp_media *m, int pt, const char *type, const char *param);
/* Extension id mapped to uri on m, or 0. */
unsigned sdp_media_extmap_id(const sdp_media *m, const char *uri);
const sdp_ssrc *sdp_media_ssrc(const sdp_media *m, uint32_t ssrc);
/* The RTX ssrc paired with `ssrc` by an a=ssrc-group:FID, or 0 when none. */
uint32_t sdp_media_fid_rtx(const sdp_media *m, uint32_t ssrc);

/* The transport attributes in force for m: the m-line's own, each missing one taken from
 * the session level. Pointers in *out refer into s. */
void sdp_media_transport(const sdp_session *s, const sdp_media *m, sdp_transport *out);

/* Reads `key` from fmtp parameters "k1=v1;k2=v2" (keys case-insensitive, spaces around ';'
 * tolerated). Copies the value into out (NUL-terminated). Returns its length,
 * SDP_ERR_NOTFOUND, or SDP_ERR_SPACE. */
int sdp_fmtp_get(const char *params, const char *key, char *out, size_t cap);
/* Same for a decimal value: returns it (>= 0) or SDP_ERR_NOTFOUND / SDP_ERR_SYNTAX. */
long sdp_fmtp_get_uint(const char *params, const char *key);

const char *sdp_direction_name(sdp_direction d); /* "sendrecv", ...; NULL for NONE */
sdp_direction sdp_direction_reverse(sdp_direction d); /* sendonly <-> recvonly */

/* ---- fingerprints and candidates ----------------------------------------------------------- */

/* Parses "sha-256 AB:CD:..." (the a=fingerprint value). 0 or SDP_ERR_SYNTAX/LIMIT. */
int sdp_fingerprint_parse(const char *value, sdp_fingerprint *out);
/* Formats "sha-256 AB:CD:..." (upper-case hex). Returns the length or SDP_ERR_SPACE. */
int sdp_fingerprint_format(const sdp_fingerprint *fp, char *buf, size_t cap);

/* Parses one candidate attribute: "candidate:..." with or without a leading "a=" and trailing
 * CR/LF. Returns 0, SDP_ERR_SYNTAX or SDP_ERR_LIMIT (a field too long). */
int sdp_candidate_parse(const char *text, size_t len, sdp_candidate *out);
/* Writes "candidate:<foundation> <component> ... typ <type> [raddr .. rport ..] [tcptype ..]"
 * (no "a=", no line ending), NUL-terminated. Returns the length or SDP_ERR_SPACE/INVALID. */
int sdp_candidate_format(const sdp_candidate *c, char *buf, size_t cap);

#endif
