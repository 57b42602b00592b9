/*
 * sfu/sdp_negotiate.c — the SFU's side of JSEP: answering a browser's upstream offer and
 * running the downstream offer/answer across renegotiations. The policy (codecs, feedback,
 * extensions, BUNDLE/transport choices, m-line recycling) is described in sfu/sdp_negotiate.h.
 *
 * Both directions build an sdp_session with the sfu/sdp.h construction API and leave writing
 * the text to sdp_build(). Results handed to the caller (sdp_up_result, sdp_down_slot,
 * sdp_remote_transport) are fixed-size copies, so they outlive the descriptions they came from.
 *
 * The downstream object keeps an array of slots, one per m-line ever offered, in m-line
 * order. sdp_down_offer() snapshots the slots it wrote; sdp_down_apply_answer() checks the
 * answer against that snapshot (so set_tracks() between an offer and its answer is safe: the
 * changes simply wait for the next offer).
 */
#include "sfu/sdp_negotiate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char PROTO_RTP[] = "UDP/TLS/RTP/SAVPF";
/* usedtx=1 (RFC 7587): we prefer to receive Opus with DTX, so a silent or muted microphone sends a
 * packet every 400 ms instead of 50 a second; the active-speaker detector counts a gap as silence. */
static const char OPUS_FMTP[] = "minptime=10;useinbandfec=1;usedtx=1";
static const char H264_FMTP[] = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";

/* ---- small helpers ------------------------------------------------------------------------ */

static bool copy_str(char *dst, size_t cap, const char *src)
{
    if (src == NULL) {
        dst[0] = '\0';
        return true;
    }
    size_t n = strlen(src);
    if (n >= cap) {
        dst[0] = '\0';
        return false;
    }
    memcpy(dst, src, n + 1);
    return true;
}

/* A NUL-terminated, non-empty token without spaces or control bytes inside a fixed array. */
static bool fixed_token(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == 0 || n == cap)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] == 0x7f)
            return false;
    return true;
}

void sdp_codec_default(sdp_codec *c, sdp_codec_id id, int pt, int rtx_pt)
{
    memset(c, 0, sizeof(*c));
    c->id = id;
    c->pt = (uint8_t)pt;
    c->rtx_pt = rtx_pt;
    if (id == SDP_CODEC_OPUS) {
        c->clock_rate = 48000;
        c->channels = 2;
        c->rtx_pt = -1;
        copy_str(c->fmtp, sizeof(c->fmtp), OPUS_FMTP);
        c->fb_twcc = true;
        return;
    }
    c->clock_rate = 90000;
    if (id == SDP_CODEC_H264)
        copy_str(c->fmtp, sizeof(c->fmtp), H264_FMTP);
    c->fb_nack = c->fb_pli = c->fb_fir = c->fb_remb = c->fb_twcc = true;
}

static const char *codec_name(sdp_codec_id id)
{
    return id == SDP_CODEC_OPUS ? "opus" : id == SDP_CODEC_VP8 ? "VP8" : "H264";
}

/* Sets the feedback flags of c to those m offers for c->pt (intersected with our list). */
static void read_feedback(const sdp_media *m, sdp_codec *c)
{
    c->fb_nack = sdp_media_has_rtcp_fb(m, c->pt, "nack", NULL);
    c->fb_pli = sdp_media_has_rtcp_fb(m, c->pt, "nack", "pli");
    c->fb_fir = sdp_media_has_rtcp_fb(m, c->pt, "ccm", "fir");
    c->fb_remb = sdp_media_has_rtcp_fb(m, c->pt, "goog-remb", NULL);
    c->fb_twcc = sdp_media_has_rtcp_fb(m, c->pt, "transport-cc", NULL);
}

/* Writes c (rtpmap, rtcp-fb, fmtp, and its RTX) onto m. fmts are added by the caller. */
static int write_codec(sdp_session *s, sdp_media *m, const sdp_codec *c)
{
    int rc = sdp_media_add_rtpmap(s, m, c->pt, codec_name(c->id), c->clock_rate, c->channels);
    if (rc == 0 && c->fb_remb)
        rc = sdp_media_add_rtcp_fb(s, m, c->pt, "goog-remb", NULL);
    if (rc == 0 && c->fb_twcc)
        rc = sdp_media_add_rtcp_fb(s, m, c->pt, "transport-cc", NULL);
    if (rc == 0 && c->fb_fir)
        rc = sdp_media_add_rtcp_fb(s, m, c->pt, "ccm", "fir");
    if (rc == 0 && c->fb_nack)
        rc = sdp_media_add_rtcp_fb(s, m, c->pt, "nack", NULL);
    if (rc == 0 && c->fb_pli)
        rc = sdp_media_add_rtcp_fb(s, m, c->pt, "nack", "pli");
    if (rc == 0 && c->fmtp[0] != '\0')
        rc = sdp_media_add_fmtp(s, m, c->pt, c->fmtp);
    if (rc == 0 && c->rtx_pt >= 0) {
        char apt[16];
        snprintf(apt, sizeof(apt), "apt=%u", (unsigned)c->pt);
        rc = sdp_media_add_rtpmap(s, m, c->rtx_pt, "rtx", c->clock_rate, 0);
        if (rc == 0)
            rc = sdp_media_add_fmtp(s, m, c->rtx_pt, apt);
    }
    return rc;
}

static int write_extmaps(sdp_session *s, sdp_media *m, const sdp_ext_ids *e)
{
    int rc = 0;
    if (e->audio_level)
        rc = sdp_media_add_extmap(s, m, e->audio_level, SDP_DIR_NONE, SDP_EXT_URI_AUDIO_LEVEL, NULL);
    if (rc == 0 && e->abs_send_time)
        rc = sdp_media_add_extmap(s, m, e->abs_send_time, SDP_DIR_NONE, SDP_EXT_URI_ABS_SEND_TIME, NULL);
    if (rc == 0 && e->twcc)
        rc = sdp_media_add_extmap(s, m, e->twcc, SDP_DIR_NONE, SDP_EXT_URI_TWCC, NULL);
    if (rc == 0 && e->mid)
        rc = sdp_media_add_extmap(s, m, e->mid, SDP_DIR_NONE, SDP_EXT_URI_MID, NULL);
    if (rc == 0 && e->rid)
        rc = sdp_media_add_extmap(s, m, e->rid, SDP_DIR_NONE, SDP_EXT_URI_RID, NULL);
    if (rc == 0 && e->rrid)
        rc = sdp_media_add_extmap(s, m, e->rrid, SDP_DIR_NONE, SDP_EXT_URI_RRID, NULL);
    return rc;
}

static bool local_ok(const sdp_local *l)
{
    return l != NULL && l->ice_ufrag != NULL && l->ice_pwd != NULL && strlen(l->ice_ufrag) >= 4 &&
           strlen(l->ice_ufrag) <= 256 && strlen(l->ice_pwd) >= 22 && strlen(l->ice_pwd) <= 256 &&
           (l->n_candidates == 0 || l->candidates != NULL);
}

/* The candidate whose address goes on the m= and c= lines: the first UDP component 1 one. */
static const sdp_candidate *default_candidate(const sdp_local *l)
{
    for (size_t i = 0; i < l->n_candidates; i++)
        if (l->candidates[i].component == 1 && strcmp(l->candidates[i].transport, "udp") == 0)
            return &l->candidates[i];
    return NULL;
}

/* Transport attributes, c= and port of one m-line; candidates only when `tag`. */
static int write_transport(sdp_session *s, sdp_media *m, const sdp_local *l, sdp_setup setup, bool tag)
{
    const sdp_candidate *dc = tag ? default_candidate(l) : NULL;
    int rc = sdp_set_conn(s, &m->conn, dc && strchr(dc->address, ':') ? "IP6" : "IP4",
                  dc ? dc->address : "0.0.0.0");
    m->port = dc ? dc->port : 9;
    if (rc == 0)
        rc = sdp_set_str(s, &m->transport.ice_ufrag, l->ice_ufrag);
    if (rc == 0)
        rc = sdp_set_str(s, &m->transport.ice_pwd, l->ice_pwd);
    if (rc == 0 && l->ice_options != NULL)
        rc = sdp_set_str(s, &m->transport.ice_options, l->ice_options);
    sdp_fingerprint *fp = &m->transport.fingerprint;
    copy_str(fp->algorithm, sizeof(fp->algorithm), "sha-256");
    memcpy(fp->bytes, l->fingerprint_sha256, 32);
    fp->len = 32;
    m->transport.setup = setup;
    m->rtcp_mux = true;
    for (size_t i = 0; tag && rc == 0 && i < l->n_candidates; i++)
        rc = sdp_media_add_candidate(s, m, &l->candidates[i]);
    if (tag)
        m->end_of_candidates = l->end_of_candidates;
    return rc;
}

static sdp_session *new_session(uint64_t id, uint64_t version, bool ice_lite)
{
    sdp_session *s = sdp_session_new();
    if (s != NULL) {
        s->sess_id = id;
        s->sess_version = version;
        s->ice_lite = ice_lite;
    }
    return s;
}

/* Copies the peer's transport for m (session-level values fill the gaps). */
static int read_remote(const sdp_session *s, const sdp_media *m, sdp_remote_transport *r)
{
    sdp_transport t;
    sdp_media_transport(s, m, &t);
    memset(r, 0, sizeof(*r));
    if (t.ice_ufrag == NULL || t.ice_pwd == NULL || t.fingerprint.len == 0)
        return SDP_ERR_MISSING;
    if (!copy_str(r->ice_ufrag, sizeof(r->ice_ufrag), t.ice_ufrag) ||
        !copy_str(r->ice_pwd, sizeof(r->ice_pwd), t.ice_pwd))
        return SDP_ERR_MISSING;
    r->ice_lite = s->ice_lite;
    r->fingerprint = t.fingerprint;
    r->setup = t.setup;
    for (size_t i = 0; i < m->n_candidates && r->n_candidates < SDP_NEG_MAX_CANDIDATES; i++)
        r->candidates[r->n_candidates++] = m->candidates[i];
    r->end_of_candidates = m->end_of_candidates;
    return 0;
}

/* ---- upstream: choosing codecs ------------------------------------------------------------ */

/* The RTX payload type of m whose apt is pt, or -1. */
static int find_rtx(const sdp_media *m, int pt)
{
    for (size_t i = 0; i < m->n_fmts; i++) {
        int p = sdp_media_pt(m, i);
        const sdp_rtpmap *r = p < 0 ? NULL : sdp_media_rtpmap(m, p);
        if (r != NULL && strcasecmp(r->name, "rtx") == 0 && sdp_fmtp_get_uint(sdp_media_fmtp(m, p), "apt") == pt)
            return p;
    }
    return -1;
}

static int hexbyte(const char *s)
{
    int v = 0;
    for (int i = 0; i < 2; i++) {
        char c = s[i];
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* H.264 we take: packetization-mode=1 and constrained baseline (RFC 6184 profile-level-id:
 * profile_idc 0x42 with constraint_set1_flag). 42e01f always; other such ids only when the
 * offer allows level asymmetry. Writes the fmtp of our answer into out. */
static bool h264_ok(const char *fmtp, char *out, size_t cap)
{
    char plid[16];
    if (sdp_fmtp_get_uint(fmtp, "packetization-mode") != 1)
        return false;
    if (sdp_fmtp_get(fmtp, "profile-level-id", plid, sizeof(plid)) != 6)
        return false;
    int profile = hexbyte(plid), iop = hexbyte(plid + 2), level = hexbyte(plid + 4);
    if (profile != 0x42 || iop < 0 || level < 0 || (iop & 0x40) == 0)
        return false;
    if (strcasecmp(plid, "42e01f") != 0) {
        if (sdp_fmtp_get_uint(fmtp, "level-asymmetry-allowed") != 1)
            return false;
        snprintf(out, cap, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=%02x%02x%02x",
             (unsigned)profile, (unsigned)iop, (unsigned)level);
        return true;
    }
    snprintf(out, cap, "%spacketization-mode=1;profile-level-id=42e01f",
         sdp_fmtp_get_uint(fmtp, "level-asymmetry-allowed") == 1 ? "level-asymmetry-allowed=1;" : "");
    return true;
}

/* Appends codec (id, pt) of offer m-line m to r when it is one we take. */
static void take_codec(const sdp_media *m, sdp_up_media *r, int pt)
{
    const sdp_rtpmap *map = sdp_media_rtpmap(m, pt);
    if (map == NULL || r->n_codecs == SDP_NEG_MAX_CODECS)
        return;
    sdp_codec c;
    bool have_vp8 = false, have_h264 = false, have_opus = false;
    for (size_t i = 0; i < r->n_codecs; i++) {
        have_vp8 |= r->codecs[i].id == SDP_CODEC_VP8;
        have_h264 |= r->codecs[i].id == SDP_CODEC_H264;
        have_opus |= r->codecs[i].id == SDP_CODEC_OPUS;
    }
    if (m->kind == SDP_MEDIA_AUDIO) {
        if (have_opus || strcasecmp(map->name, "opus") != 0 || map->clock_rate != 48000 || map->channels != 2)
            return;
        sdp_codec_default(&c, SDP_CODEC_OPUS, pt, -1);
    } else if (strcasecmp(map->name, "VP8") == 0 && map->clock_rate == 90000 && !have_vp8) {
        sdp_codec_default(&c, SDP_CODEC_VP8, pt, find_rtx(m, pt));
    } else if (strcasecmp(map->name, "H264") == 0 && map->clock_rate == 90000 && !have_h264) {
        sdp_codec_default(&c, SDP_CODEC_H264, pt, find_rtx(m, pt));
        if (!h264_ok(sdp_media_fmtp(m, pt), c.fmtp, sizeof(c.fmtp)))
            return;
    } else {
        return;
    }
    read_feedback(m, &c);
    r->codecs[r->n_codecs++] = c;
}

static void read_ext_ids(const sdp_media *m, sdp_ext_ids *e)
{
    e->mid = (uint8_t)sdp_media_extmap_id(m, SDP_EXT_URI_MID);
    e->audio_level = m->kind == SDP_MEDIA_AUDIO ? (uint8_t)sdp_media_extmap_id(m, SDP_EXT_URI_AUDIO_LEVEL) : 0;
    e->abs_send_time = (uint8_t)sdp_media_extmap_id(m, SDP_EXT_URI_ABS_SEND_TIME);
    e->twcc = (uint8_t)sdp_media_extmap_id(m, SDP_EXT_URI_TWCC);
    if (m->kind == SDP_MEDIA_VIDEO) {
        e->rid = (uint8_t)sdp_media_extmap_id(m, SDP_EXT_URI_RID);
        e->rrid = e->rid ? (uint8_t)sdp_media_extmap_id(m, SDP_EXT_URI_RRID) : 0;
    }
}

/* A rid (RFC 8851: 1*(ALPHA / DIGIT / "-" / "_")) of at most SDP_NEG_RID bytes, from s[0..n). */
static bool rid_ok(const char *s, size_t n)
{
    if (n == 0 || n > SDP_NEG_RID)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '-' || s[i] == '_'))
            return false;
    return true;
}

/* Whether m has "a=rid:<id> send" (with or without restrictions after it). */
static bool rid_sent(const sdp_media *m, const char *id, size_t n)
{
    for (size_t i = 0; i < m->n_attrs; i++) {
        const char *v = m->attrs[i].value;
        if (strcmp(m->attrs[i].name, "rid") != 0 || v == NULL || strncmp(v, id, n) != 0 || v[n] != ' ')
            continue;
        const char *dir = v + n + 1;
        if (strncmp(dir, "send", 4) == 0 && (dir[4] == '\0' || dir[4] == ' '))
            return true;
    }
    return false;
}

/* The send streams of "a=simulcast:send q;h;f" (RFC 8853 §5.1: ';' separates streams, ',' their
 * alternatives, '~' marks a paused one), each declared by a=rid send; at most SDP_NEG_MAX_RIDS. */
static void read_simulcast(const sdp_media *m, sdp_up_media *r)
{
    if (m->kind != SDP_MEDIA_VIDEO || r->ext.rid == 0)
        return;
    const char *v = NULL;
    for (size_t i = 0; i < m->n_attrs; i++)
        if (strcmp(m->attrs[i].name, "simulcast") == 0)
            v = m->attrs[i].value;
    if (v == NULL)
        return;
    /* the "send" direction's list: "send <list>" or "recv <list> send <list>" */
    const char *p = strstr(v, "send ");
    if (p == NULL || (p != v && p[-1] != ' '))
        return;
    p += 5;
    size_t n = 0;
    while (*p != '\0' && *p != ' ' && n < SDP_NEG_MAX_RIDS) {
        size_t len = strcspn(p, ";, ");
        const char *id = p;
        if (*id == '~') {
            id++;
            len--;
        }
        if (rid_ok(id, len) && rid_sent(m, id, len)) {
            bool dup = false;
            for (size_t k = 0; k < n; k++)
                dup |= strlen(r->rids[k]) == len && strncmp(r->rids[k], id, len) == 0;
            if (!dup) {
                memcpy(r->rids[n], id, len);
                r->rids[n][len] = '\0';
                n++;
            }
        }
        p = id + len;
        if (*p == ',') /* alternatives of the same stream: the first one was it */
            p += strcspn(p, "; ");
        if (*p == ';')
            p++;
    }
    r->n_rids = n;
    if (n == 0)
        r->ext.rid = r->ext.rrid = 0;
}

static bool is_repair_ssrc(const sdp_media *m, uint32_t ssrc)
{
    for (size_t i = 0; i < m->n_ssrc_groups; i++) {
        const sdp_ssrc_group *g = &m->ssrc_groups[i];
        if ((strcmp(g->semantics, "FID") == 0 || strcmp(g->semantics, "FEC-FR") == 0) && g->n_ssrcs >= 2 &&
            g->ssrcs[1] == ssrc)
            return true;
    }
    return false;
}

/* SSRCs (with their RTX pair), cname and msid the offer announces on m. */
static void read_sources(const sdp_media *m, sdp_up_media *r)
{
    for (size_t i = 0; i < m->n_ssrcs; i++) {
        const sdp_ssrc *e = &m->ssrcs[i];
        if (is_repair_ssrc(m, e->ssrc))
            continue;
        if (r->cname[0] == '\0')
            copy_str(r->cname, sizeof(r->cname), e->cname);
        if (r->stream_id[0] == '\0' && e->msid_stream != NULL) {
            copy_str(r->stream_id, sizeof(r->stream_id), e->msid_stream);
            copy_str(r->track_id, sizeof(r->track_id), e->msid_track);
        }
        if (r->n_ssrcs < SDP_NEG_MAX_SSRCS)
            r->ssrcs[r->n_ssrcs++] = (sdp_ssrc_pair){ e->ssrc, sdp_media_fid_rtx(m, e->ssrc) };
    }
    if (m->n_msids > 0) {
        copy_str(r->stream_id, sizeof(r->stream_id), m->msids[0].stream);
        copy_str(r->track_id, sizeof(r->track_id), m->msids[0].track);
    }
}

/* ---- upstream: the answer ------------------------------------------------------------------ */

static bool is_data_channel(const sdp_media *m)
{
    return m->kind == SDP_MEDIA_APPLICATION && strstr(m->proto, "DTLS/SCTP") != NULL && m->n_fmts == 1 &&
           strcmp(m->fmts[0], "webrtc-datachannel") == 0;
}

static uint32_t attr_uint(const sdp_media *m, const char *name)
{
    for (size_t i = 0; i < m->n_attrs; i++)
        if (strcmp(m->attrs[i].name, name) == 0 && m->attrs[i].value != NULL)
            return (uint32_t)strtoul(m->attrs[i].value, NULL, 10);
    return 0;
}

/* Decides whether offer m-line m (index i) is accepted and fills r. */
static void judge_media(const sdp_session *offer, const sdp_media *m, const sdp_local *l, bool *bundle_free,
            sdp_up_media *r)
{
    const sdp_group *bundle = sdp_find_group(offer, "BUNDLE");
    r->kind = m->kind;
    copy_str(r->mid, sizeof(r->mid), m->mid);
    bool bundled = bundle ? sdp_group_has_mid(bundle, m->mid) : *bundle_free;
    if (m->mid == NULL || !bundled || (m->port == 0 && !m->bundle_only))
        return;
    if (is_data_channel(m)) {
        if (!l->accept_data_channel)
            return;
        r->data_channel = true;
        r->sctp_port = SDP_NEG_SCTP_PORT;
        r->remote_sctp_port = (uint16_t)attr_uint(m, "sctp-port");
        r->remote_max_message_size = attr_uint(m, "max-message-size");
    } else {
        if ((m->kind != SDP_MEDIA_AUDIO && m->kind != SDP_MEDIA_VIDEO) || !m->rtcp_mux ||
            strstr(m->proto, "RTP/SAVPF") == NULL)
            return;
        for (size_t i = 0; i < m->n_fmts; i++)
            if (sdp_media_pt(m, i) >= 0)
                take_codec(m, r, sdp_media_pt(m, i));
        if (r->n_codecs == 0)
            return;
        read_ext_ids(m, &r->ext);
        read_sources(m, r);
        read_simulcast(m, r);
        if (r->n_rids == 0)
            r->ext.rid = r->ext.rrid = 0; /* one stream: nothing to tell its layers apart */
        r->rtcp_rsize = m->rtcp_rsize;
        sdp_direction d = m->direction == SDP_DIR_NONE ? SDP_DIR_SENDRECV : m->direction;
        r->direction = (d == SDP_DIR_SENDONLY || d == SDP_DIR_SENDRECV) ? SDP_DIR_RECVONLY : SDP_DIR_INACTIVE;
    }
    r->accepted = true;
    *bundle_free = false;
}

static int answer_rejected(sdp_session *ans, const sdp_media *om)
{
    sdp_media *m = sdp_add_media(ans, om->kind, om->media, om->proto);
    if (m == NULL)
        return SDP_ERR_NOMEM;
    m->port = 0;
    m->direction = SDP_DIR_INACTIVE;
    int rc = sdp_media_add_fmt(ans, m, om->n_fmts ? om->fmts[0] : "0");
    if (rc == 0)
        rc = sdp_set_conn(ans, &m->conn, "IP4", "0.0.0.0");
    if (rc == 0 && om->mid != NULL)
        rc = sdp_set_str(ans, &m->mid, om->mid);
    return rc;
}

static int answer_accepted(sdp_session *ans, const sdp_media *om, const sdp_local *l, sdp_setup setup,
               bool tag, const sdp_up_media *r)
{
    sdp_media *m = sdp_add_media(ans, om->kind, om->media, om->proto);
    if (m == NULL)
        return SDP_ERR_NOMEM;
    int rc = write_transport(ans, m, l, setup, tag);
    if (rc == 0)
        rc = sdp_set_str(ans, &m->mid, r->mid);
    if (rc == 0 && r->data_channel) {
        char port[16];
        snprintf(port, sizeof(port), "%u", (unsigned)r->sctp_port);
        rc = sdp_media_add_fmt(ans, m, "webrtc-datachannel");
        if (rc == 0)
            rc = sdp_add_attr(ans, m, "sctp-port", port);
        snprintf(port, sizeof(port), "%u", (unsigned)SDP_NEG_MAX_MESSAGE);
        if (rc == 0)
            rc = sdp_add_attr(ans, m, "max-message-size", port);
        return rc;
    }
    if (rc == 0)
        rc = write_extmaps(ans, m, &r->ext);
    m->direction = r->direction;
    m->rtcp_rsize = r->rtcp_rsize;
    /* fmts in the offer's order: each taken codec and its RTX */
    for (size_t i = 0; rc == 0 && i < om->n_fmts; i++) {
        int pt = sdp_media_pt(om, i);
        for (size_t k = 0; rc == 0 && k < r->n_codecs; k++)
            if (pt == r->codecs[k].pt || pt == r->codecs[k].rtx_pt)
                rc = sdp_media_add_pt(ans, m, pt);
    }
    for (size_t k = 0; rc == 0 && k < r->n_codecs; k++)
        rc = write_codec(ans, m, &r->codecs[k]);
    if (rc == 0 && r->n_rids > 0) {
        char list[SDP_NEG_MAX_RIDS * (SDP_NEG_RID + 1) + 8];
        int len = snprintf(list, sizeof(list), "recv ");
        for (size_t k = 0; rc == 0 && k < r->n_rids; k++) {
            char line[SDP_NEG_RID + 8];
            snprintf(line, sizeof(line), "%s recv", r->rids[k]);
            rc = sdp_add_attr(ans, m, "rid", line);
            len += snprintf(list + len, sizeof(list) - (size_t)len, "%s%s", k > 0 ? ";" : "", r->rids[k]);
        }
        if (rc == 0)
            rc = sdp_add_attr(ans, m, "simulcast", list);
    }
    return rc;
}

/* Our DTLS role from the offerer's setup; SDP_SETUP_NONE when none works. */
static sdp_setup answer_setup(sdp_setup offered)
{
    switch (offered) {
    case SDP_SETUP_ACTPASS:
    case SDP_SETUP_ACTIVE:
    case SDP_SETUP_NONE: /* RFC 4145: absent means active */
        return SDP_SETUP_PASSIVE;
    case SDP_SETUP_PASSIVE: return SDP_SETUP_ACTIVE;
    default: return SDP_SETUP_NONE;
    }
}

/* The BUNDLE tag: the first accepted m-line in the order of the offer's BUNDLE group. */
static const sdp_media *find_tag(const sdp_session *offer, const sdp_up_result *res)
{
    const sdp_group *bundle = sdp_find_group(offer, "BUNDLE");
    for (size_t g = 0; bundle != NULL && g < bundle->n_mids; g++)
        for (size_t i = 0; i < res->n_media; i++)
            if (res->media[i].accepted && strcmp(res->media[i].mid, bundle->mids[g]) == 0)
                return offer->media[i];
    for (size_t i = 0; i < res->n_media; i++)
        if (res->media[i].accepted)
            return offer->media[i];
    return NULL;
}

static int build_answer(const sdp_session *offer, const sdp_local *l, const sdp_media *tag, sdp_setup setup,
            const sdp_up_result *res, sdp_session *ans)
{
    const sdp_group *bundle = sdp_find_group(offer, "BUNDLE");
    if (tag != NULL) {
        sdp_group *g = sdp_add_group(ans, "BUNDLE");
        if (g == NULL)
            return SDP_ERR_NOMEM;
        for (size_t k = 0; k < (bundle ? bundle->n_mids : 1); k++)
            for (size_t i = 0; i < res->n_media; i++) {
                const char *mid = bundle ? bundle->mids[k] : tag->mid;
                int rc = 0;
                if (res->media[i].accepted && strcmp(res->media[i].mid, mid) == 0)
                    rc = sdp_group_add_mid(ans, g, mid);
                if (rc != 0)
                    return rc;
            }
    }
    for (size_t i = 0; i < offer->n_media; i++) {
        const sdp_media *om = offer->media[i];
        bool ok = i < res->n_media && res->media[i].accepted;
        int rc = ok ? answer_accepted(ans, om, l, setup, om == tag, &res->media[i]) : answer_rejected(ans, om);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int sdp_answer_upstream(const sdp_session *offer, const sdp_local *local, sdp_session **answer,
            sdp_up_result *result)
{
    if (answer == NULL)
        return SDP_ERR_INVALID;
    *answer = NULL;
    if (offer == NULL || result == NULL || !local_ok(local))
        return SDP_ERR_INVALID;
    memset(result, 0, sizeof(*result));
    bool bundle_free = true;
    for (size_t i = 0; i < offer->n_media && i < SDP_NEG_MAX_UP_MEDIA; i++) {
        result->media[i].index = (unsigned)i;
        judge_media(offer, offer->media[i], local, &bundle_free, &result->media[i]);
        result->n_accepted += result->media[i].accepted;
    }
    result->n_media = offer->n_media < SDP_NEG_MAX_UP_MEDIA ? offer->n_media : SDP_NEG_MAX_UP_MEDIA;
    const sdp_media *tag = find_tag(offer, result);
    sdp_setup setup = SDP_SETUP_PASSIVE;
    if (tag != NULL) {
        int rc = read_remote(offer, tag, &result->remote);
        if (rc != 0)
            return rc;
        if ((setup = answer_setup(result->remote.setup)) == SDP_SETUP_NONE)
            return SDP_ERR_MISSING;
        result->remote.dtls_client = setup == SDP_SETUP_ACTIVE;
    }
    sdp_session *ans = new_session(local->sess_id, local->sess_version, local->ice_lite);
    if (ans == NULL)
        return SDP_ERR_NOMEM;
    int rc = build_answer(offer, local, tag, setup, result, ans);
    if (rc != 0) {
        sdp_free(ans);
        return rc == SDP_ERR_LIMIT ? rc : (rc == SDP_ERR_NOMEM ? rc : SDP_ERR_INVALID);
    }
    *answer = ans;
    return 0;
}

/* ---- downstream ------------------------------------------------------------------------- */

struct sdp_down {
    uint64_t sess_id;
    uint64_t version;
    sdp_ext_ids ext;
    sdp_down_slot *slots;
    size_t n_slots;
    sdp_down_slot *offered; /* snapshot of the slots at the last offer */
    size_t n_offered;
    bool offer_pending;
};

sdp_down *sdp_down_new(uint64_t sess_id, const sdp_ext_ids *ext)
{
    sdp_down *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->sess_id = sess_id;
    d->ext = ext ? *ext : (sdp_ext_ids){ .audio_level = 1, .abs_send_time = 2, .twcc = 3, .mid = 4 };
    return d;
}

void sdp_down_free(sdp_down *d)
{
    if (d == NULL)
        return;
    free(d->slots);
    free(d->offered);
    free(d);
}

size_t sdp_down_slot_count(const sdp_down *d)
{
    return d->n_slots;
}

const sdp_down_slot *sdp_down_slot_at(const sdp_down *d, size_t i)
{
    return i < d->n_slots ? &d->slots[i] : NULL;
}

static sdp_down_slot *find_slot(sdp_down_slot *slots, size_t n, const char *mid)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(slots[i].track.mid, mid) == 0)
            return &slots[i];
    return NULL;
}

const sdp_down_slot *sdp_down_find(const sdp_down *d, const char *mid)
{
    return mid ? find_slot(d->slots, d->n_slots, mid) : NULL;
}

uint64_t sdp_down_version(const sdp_down *d)
{
    return d->version;
}

static bool track_ok(const sdp_down_track *t)
{
    const sdp_codec *c = &t->codec;
    bool kind_ok = (t->kind == SDP_MEDIA_AUDIO && c->id == SDP_CODEC_OPUS) ||
               (t->kind == SDP_MEDIA_VIDEO && (c->id == SDP_CODEC_VP8 || c->id == SDP_CODEC_H264));
    if (!kind_ok || c->pt > 127 || c->rtx_pt > 127 || c->rtx_pt < -1 || c->rtx_pt == c->pt)
        return false;
    if (c->rtx_pt >= 0 && t->rtx_ssrc == 0)
        return false;
    if (strnlen(c->fmtp, sizeof(c->fmtp)) == sizeof(c->fmtp) || strpbrk(c->fmtp, "\r\n") != NULL)
        return false;
    return fixed_token(t->mid, sizeof(t->mid)) && strlen(t->mid) <= SDP_MAX_MID &&
           fixed_token(t->cname, sizeof(t->cname)) && fixed_token(t->stream_id, sizeof(t->stream_id)) &&
           fixed_token(t->track_id, sizeof(t->track_id));
}

/* The track with defaults applied (clock rate, channels, fmtp). */
static sdp_down_track normalized(const sdp_down_track *t)
{
    sdp_down_track n = *t;
    sdp_codec_default(&n.codec, t->codec.id, t->codec.pt, t->codec.rtx_pt);
    /* No REMB asked for: the SFU estimates each receiver's link from transport-cc (room.c). */
    n.codec.fb_remb = false;
    if (t->codec.fmtp[0] != '\0')
        memcpy(n.codec.fmtp, t->codec.fmtp, sizeof(n.codec.fmtp));
    if (n.codec.id == SDP_CODEC_OPUS)
        n.codec.rtx_pt = -1;
    return n;
}

/* Whether two payload types conflict inside one BUNDLE group (RFC 8843 §9.1). */
static bool pt_conflict(const sdp_codec *a, const sdp_codec *b)
{
    if (a->pt == b->pt && (a->id != b->id || strcmp(a->fmtp, b->fmtp) != 0))
        return true;
    if (a->rtx_pt >= 0 && a->rtx_pt == b->rtx_pt && a->pt != b->pt)
        return true; /* one RTX pt with two apt values */
    return a->pt == b->rtx_pt || (a->rtx_pt >= 0 && a->rtx_pt == b->pt);
}

static int check_tracks(const sdp_down *d, const sdp_down_track *tracks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!track_ok(&tracks[i]))
            return SDP_ERR_INVALID;
        const sdp_down_slot *old = find_slot(d->slots, d->n_slots, tracks[i].mid);
        if (old != NULL && (!old->active || old->track.kind != tracks[i].kind))
            return SDP_ERR_INVALID; /* a retired mid, or a mid changing kind */
        sdp_down_track ti = normalized(&tracks[i]);
        for (size_t k = 0; k < i; k++) {
            sdp_down_track tk = normalized(&tracks[k]);
            if (strcmp(tracks[i].mid, tracks[k].mid) == 0 || pt_conflict(&ti.codec, &tk.codec))
                return SDP_ERR_INVALID;
        }
    }
    return 0;
}

static void reset_answer(sdp_down_slot *s)
{
    s->accepted = s->codec_accepted = s->rtx_accepted = false;
    s->answer_direction = SDP_DIR_NONE;
    memset(&s->ext, 0, sizeof(s->ext));
    memset(&s->answer_codec, 0, sizeof(s->answer_codec));
}

static sdp_down_slot *find_recyclable(sdp_down_slot *slots, size_t n, sdp_media_kind kind)
{
    for (size_t i = 0; i < n; i++)
        if (!slots[i].active && slots[i].recyclable && slots[i].track.kind == kind)
            return &slots[i];
    return NULL;
}

/* Places track t into slots (n used, room for one more): its own slot, a recycled one, or a
 * new one at the end. */
static void place_track(sdp_down_slot *slots, size_t *n, const sdp_down_track *t)
{
    sdp_down_slot *s = find_slot(slots, *n, t->mid);
    if (s == NULL) {
        s = find_recyclable(slots, *n, t->kind);
        bool first = false;
        if (s == NULL) {
            first = *n == 0;
            s = &slots[(*n)++];
        }
        memset(s, 0, sizeof(*s));
        reset_answer(s);
        s->bundle_tag = first;
    }
    s->track = normalized(t);
    s->active = true;
    s->recyclable = false;
}

int sdp_down_set_tracks(sdp_down *d, const sdp_down_track *tracks, size_t n)
{
    if (d == NULL || (n > 0 && tracks == NULL))
        return SDP_ERR_INVALID;
    int rc = check_tracks(d, tracks, n);
    if (rc != 0)
        return rc;
    size_t cap = d->n_slots + n;
    if (cap > SDP_MAX_MEDIA)
        cap = SDP_MAX_MEDIA;
    sdp_down_slot *slots = calloc(cap ? cap : 1, sizeof(*slots));
    if (slots == NULL)
        return SDP_ERR_NOMEM;
    if (d->n_slots)
        memcpy(slots, d->slots, d->n_slots * sizeof(*slots));
    size_t used = d->n_slots;
    for (size_t i = 0; i < used; i++) {
        bool listed = false;
        for (size_t k = 0; k < n && !listed; k++)
            listed = strcmp(tracks[k].mid, slots[i].track.mid) == 0;
        if (!listed)
            slots[i].active = false;
    }
    for (size_t k = 0; k < n; k++) {
        bool appends = find_slot(slots, used, tracks[k].mid) == NULL &&
                   find_recyclable(slots, used, tracks[k].kind) == NULL;
        if (appends && used == cap) {
            free(slots);
            return SDP_ERR_LIMIT;
        }
        place_track(slots, &used, &tracks[k]);
    }
    free(d->slots);
    d->slots = slots;
    d->n_slots = used;
    return 0;
}

static sdp_ext_ids slot_exts(const sdp_down *d, sdp_media_kind kind)
{
    sdp_ext_ids e = d->ext;
    if (kind != SDP_MEDIA_AUDIO)
        e.audio_level = 0;
    return e;
}

static int offer_inactive(sdp_session *s, const sdp_down_slot *slot)
{
    sdp_media *m = sdp_add_media(s, slot->track.kind, NULL, PROTO_RTP);
    if (m == NULL)
        return SDP_ERR_NOMEM;
    m->port = 0;
    m->direction = SDP_DIR_INACTIVE;
    int rc = sdp_media_add_pt(s, m, slot->track.codec.pt);
    if (rc == 0)
        rc = sdp_set_conn(s, &m->conn, "IP4", "0.0.0.0");
    if (rc == 0)
        rc = sdp_set_str(s, &m->mid, slot->track.mid);
    if (rc == 0)
        rc = sdp_media_add_rtpmap(s, m, slot->track.codec.pt, codec_name(slot->track.codec.id),
                      slot->track.codec.clock_rate, slot->track.codec.channels);
    return rc;
}

static int offer_active(sdp_session *s, const sdp_down *d, const sdp_down_slot *slot, const sdp_local *l,
            bool tag)
{
    const sdp_down_track *t = &slot->track;
    sdp_media *m = sdp_add_media(s, t->kind, NULL, PROTO_RTP);
    if (m == NULL)
        return SDP_ERR_NOMEM;
    sdp_ext_ids ext = slot_exts(d, t->kind);
    int rc = write_transport(s, m, l, SDP_SETUP_ACTPASS, tag);
    if (rc == 0)
        rc = sdp_set_str(s, &m->mid, t->mid);
    if (rc == 0)
        rc = write_extmaps(s, m, &ext);
    m->direction = slot->active ? SDP_DIR_SENDONLY : SDP_DIR_INACTIVE;
    m->rtcp_rsize = true;
    if (!slot->active) { /* the BUNDLE tag without a track: transport and codec only */
        if (rc == 0)
            rc = sdp_media_add_pt(s, m, t->codec.pt);
        return rc == 0 ? write_codec(s, m, &t->codec) : rc;
    }
    if (rc == 0)
        rc = sdp_media_add_msid(s, m, t->stream_id, t->track_id);
    if (rc == 0 && t->screen)
        rc = sdp_add_attr(s, m, "content", "slides"); /* RFC 4796: presentation, not a camera */
    if (rc == 0)
        rc = sdp_media_add_pt(s, m, t->codec.pt);
    if (rc == 0 && t->codec.rtx_pt >= 0)
        rc = sdp_media_add_pt(s, m, t->codec.rtx_pt);
    if (rc == 0)
        rc = write_codec(s, m, &t->codec);
    if (rc == 0 && t->codec.rtx_pt >= 0)
        rc = sdp_media_add_ssrc_group(s, m, "FID", (uint32_t[]){ t->ssrc, t->rtx_ssrc }, 2);
    if (rc == 0)
        rc = sdp_media_add_ssrc(s, m, t->ssrc, t->cname, t->stream_id, t->track_id);
    if (rc == 0 && t->codec.rtx_pt >= 0)
        rc = sdp_media_add_ssrc(s, m, t->rtx_ssrc, t->cname, t->stream_id, t->track_id);
    return rc;
}

static int build_offer(sdp_down *d, const sdp_local *l, sdp_session *s)
{
    sdp_group *g = NULL;
    const sdp_down_slot *tag = NULL;
    for (size_t i = 0; i < d->n_slots; i++) {
        if (!d->slots[i].active && !d->slots[i].bundle_tag)
            continue;
        if (g == NULL && (g = sdp_add_group(s, "BUNDLE")) == NULL)
            return SDP_ERR_NOMEM;
        if (tag == NULL)
            tag = &d->slots[i];
        int rc = sdp_group_add_mid(s, g, d->slots[i].track.mid);
        if (rc != 0)
            return rc;
    }
    for (size_t i = 0; i < d->n_slots; i++) {
        const sdp_down_slot *slot = &d->slots[i];
        int rc = (slot->active || slot->bundle_tag) ? offer_active(s, d, slot, l, slot == tag)
                                                    : offer_inactive(s, slot);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int sdp_down_offer(sdp_down *d, const sdp_local *local, sdp_session **offer)
{
    if (offer == NULL)
        return SDP_ERR_INVALID;
    *offer = NULL;
    if (d == NULL || !local_ok(local))
        return SDP_ERR_INVALID;
    sdp_down_slot *snap = calloc(d->n_slots ? d->n_slots : 1, sizeof(*snap));
    sdp_session *s = new_session(d->sess_id, d->version + 1, local->ice_lite);
    int rc = (snap == NULL || s == NULL) ? SDP_ERR_NOMEM : build_offer(d, local, s);
    if (rc != 0) {
        free(snap);
        sdp_free(s);
        return rc;
    }
    d->version++;
    if (d->n_slots)
        memcpy(snap, d->slots, d->n_slots * sizeof(*snap));
    free(d->offered);
    d->offered = snap;
    d->n_offered = d->n_slots;
    d->offer_pending = true;
    *offer = s;
    return 0;
}

/* Reads what the answer m-line am says about offered slot `was` into the current slot. */
static void read_slot_answer(const sdp_down *d, const sdp_down_slot *was, const sdp_media *am, sdp_down_slot *now)
{
    reset_answer(now);
    if (!was->active) {
        if (!now->active && !now->bundle_tag)
            now->recyclable = true;
        return;
    }
    const sdp_codec *c = &was->track.codec;
    now->accepted = am->port != 0;
    now->answer_direction = am->direction;
    const sdp_rtpmap *map = sdp_media_rtpmap(am, c->pt);
    now->codec_accepted = now->accepted && sdp_media_has_pt(am, c->pt) &&
                  (map == NULL || strcasecmp(map->name, codec_name(c->id)) == 0);
    now->rtx_accepted = now->codec_accepted && c->rtx_pt >= 0 && sdp_media_has_pt(am, c->rtx_pt);
    now->answer_codec = *c;
    now->answer_codec.rtx_pt = now->rtx_accepted ? c->rtx_pt : -1;
    read_feedback(am, &now->answer_codec);
    sdp_ext_ids offered = slot_exts(d, was->track.kind), got;
    read_ext_ids(am, &got);
    /* an id counts only when the answer kept it as offered */
    now->ext.mid = got.mid == offered.mid ? got.mid : 0;
    now->ext.audio_level = got.audio_level == offered.audio_level ? got.audio_level : 0;
    now->ext.abs_send_time = got.abs_send_time == offered.abs_send_time ? got.abs_send_time : 0;
    now->ext.twcc = got.twcc == offered.twcc ? got.twcc : 0;
}

static int check_answer_shape(const sdp_down *d, const sdp_session *answer)
{
    if (answer->n_media != d->n_offered)
        return SDP_ERR_INVALID;
    for (size_t i = 0; i < d->n_offered; i++) {
        const sdp_media *am = answer->media[i];
        if (am->mid == NULL ? am->port != 0 : strcmp(am->mid, d->offered[i].track.mid) != 0)
            return SDP_ERR_INVALID;
        if (am->port != 0 && !d->offered[i].active && !d->offered[i].bundle_tag)
            return SDP_ERR_INVALID; /* cannot accept what was offered as rejected */
    }
    return 0;
}

int sdp_down_apply_answer(sdp_down *d, const sdp_session *answer, sdp_remote_transport *remote)
{
    if (d == NULL || answer == NULL || remote == NULL || !d->offer_pending)
        return SDP_ERR_INVALID;
    int rc = check_answer_shape(d, answer);
    if (rc != 0)
        return rc;
    const sdp_media *first = NULL;
    for (size_t i = 0; i < d->n_offered && first == NULL; i++)
        if (answer->media[i]->port != 0)
            first = answer->media[i];
    memset(remote, 0, sizeof(*remote));
    if (first != NULL) {
        if ((rc = read_remote(answer, first, remote)) != 0)
            return rc;
        if (remote->setup != SDP_SETUP_ACTIVE && remote->setup != SDP_SETUP_PASSIVE)
            return SDP_ERR_MISSING;
        remote->dtls_client = remote->setup == SDP_SETUP_PASSIVE;
    }
    for (size_t i = 0; i < d->n_offered; i++) {
        sdp_down_slot *now = find_slot(d->slots, d->n_slots, d->offered[i].track.mid);
        if (now != NULL)
            read_slot_answer(d, &d->offered[i], answer->media[i], now);
    }
    d->offer_pending = false;
    return 0;
}
