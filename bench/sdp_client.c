/* sdp_client.c - the bench's offers and answers in the browser's role (see sdp_client.h).
 * Everything is built with sfu/sdp.h's builder and read with its parser; nothing here formats SDP
 * text by hand, so what the bench sends is exactly what the SFU's parser round-trips.
 */
#include "bench/sdp_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PROTO "UDP/TLS/RTP/SAVPF"
#define OPUS_FMTP "minptime=10;useinbandfec=1"

/* ---- shared helpers ---- */

static int set_transport(sdp_session *s, sdp_media *m, const sdp_local *l, sdp_setup setup)
{
    int rc = sdp_set_str(s, &m->transport.ice_ufrag, l->ice_ufrag);
    if (rc == 0)
        rc = sdp_set_str(s, &m->transport.ice_pwd, l->ice_pwd);
    if (rc == 0)
        rc = sdp_set_str(s, &m->transport.ice_options, "trickle");
    if (rc == 0)
        rc = sdp_set_conn(s, &m->conn, "IP4", "0.0.0.0");
    snprintf(m->transport.fingerprint.algorithm, sizeof(m->transport.fingerprint.algorithm), "sha-256");
    memcpy(m->transport.fingerprint.bytes, l->fingerprint_sha256, sizeof(l->fingerprint_sha256));
    m->transport.fingerprint.len = sizeof(l->fingerprint_sha256);
    m->transport.setup = setup;
    m->rtcp_mux = true;
    return rc;
}

static int find_rtx(const sdp_media *m, int pt)
{
    for (size_t i = 0; i < m->n_fmts; i++) {
        int p = sdp_media_pt(m, i);
        const sdp_rtpmap *r = p < 0 ? NULL : sdp_media_rtpmap(m, p);
        if (r && !strcasecmp(r->name, "rtx") && sdp_fmtp_get_uint(sdp_media_fmtp(m, p), "apt") == pt)
            return p;
    }
    return -1;
}

static void read_ext(const sdp_media *m, sdp_ext_ids *e)
{
    e->mid = (uint8_t)sdp_media_extmap_id(m, SDP_EXT_URI_MID);
    e->audio_level = (uint8_t)sdp_media_extmap_id(m, SDP_EXT_URI_AUDIO_LEVEL);
    e->abs_send_time = (uint8_t)sdp_media_extmap_id(m, SDP_EXT_URI_ABS_SEND_TIME);
    e->twcc = (uint8_t)sdp_media_extmap_id(m, SDP_EXT_URI_TWCC);
    e->rid = (uint8_t)sdp_media_extmap_id(m, SDP_EXT_URI_RID);
    e->rrid = (uint8_t)sdp_media_extmap_id(m, SDP_EXT_URI_RRID);
}

static int read_transport(const sdp_session *s, sdp_remote_transport *r)
{
    const sdp_media *first = NULL;
    for (size_t i = 0; i < s->n_media && !first; i++)
        if (s->media[i]->port != 0)
            first = s->media[i];
    if (!first)
        return SDP_ERR_MISSING;
    sdp_transport t;
    sdp_media_transport(s, first, &t);
    memset(r, 0, sizeof(*r));
    if (!t.ice_ufrag || !t.ice_pwd || t.fingerprint.len == 0 || strlen(t.ice_ufrag) > SDP_NEG_MAX_ICE ||
        strlen(t.ice_pwd) > SDP_NEG_MAX_ICE)
        return SDP_ERR_MISSING;
    snprintf(r->ice_ufrag, sizeof(r->ice_ufrag), "%s", t.ice_ufrag);
    snprintf(r->ice_pwd, sizeof(r->ice_pwd), "%s", t.ice_pwd);
    r->ice_lite = s->ice_lite;
    r->fingerprint = t.fingerprint;
    r->setup = t.setup;
    for (size_t i = 0; i < first->n_candidates && r->n_candidates < SDP_NEG_MAX_CANDIDATES; i++)
        r->candidates[r->n_candidates++] = first->candidates[i];
    r->end_of_candidates = first->end_of_candidates;
    return 0;
}

/* ---- up: the publisher's offer ---- */

static int add_exts(sdp_session *s, sdp_media *m, bool audio, bool simulcast)
{
    int rc = 0;
    if (audio)
        rc = sdp_media_add_extmap(s, m, BENCH_EXT_AUDIO_LEVEL, SDP_DIR_NONE, SDP_EXT_URI_AUDIO_LEVEL, NULL);
    if (rc == 0)
        rc = sdp_media_add_extmap(s, m, BENCH_EXT_ABS_SEND_TIME, SDP_DIR_NONE, SDP_EXT_URI_ABS_SEND_TIME, NULL);
    if (rc == 0)
        rc = sdp_media_add_extmap(s, m, BENCH_EXT_TWCC, SDP_DIR_NONE, SDP_EXT_URI_TWCC, NULL);
    if (rc == 0)
        rc = sdp_media_add_extmap(s, m, BENCH_EXT_MID, SDP_DIR_NONE, SDP_EXT_URI_MID, NULL);
    if (rc == 0 && simulcast)
        rc = sdp_media_add_extmap(s, m, BENCH_EXT_RID, SDP_DIR_NONE, SDP_EXT_URI_RID, NULL);
    if (rc == 0 && simulcast)
        rc = sdp_media_add_extmap(s, m, BENCH_EXT_RRID, SDP_DIR_NONE, SDP_EXT_URI_RRID, NULL);
    return rc;
}

/* a=rid:<rid> send per layer and a=simulcast:send <rid>;<rid>;... (RFC 8851, 8853) */
static int add_simulcast(sdp_session *s, sdp_media *m, const bench_pub_params *p)
{
    char list[BENCH_MAX_RIDS * (BENCH_RID_LEN + 1) + 8] = "send ";
    size_t len = strlen(list);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < p->n_rids && i < BENCH_MAX_RIDS; i++) {
        char line[BENCH_RID_LEN + 8];
        snprintf(line, sizeof(line), "%.*s send", BENCH_RID_LEN, p->rids[i]);
        rc = sdp_add_attr(s, m, "rid", line);
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%.*s", i ? ";" : "", BENCH_RID_LEN, p->rids[i]);
    }
    return rc == 0 ? sdp_add_attr(s, m, "simulcast", list) : rc;
}

static int add_audio(sdp_session *s, const sdp_local *l, const bench_pub_params *p)
{
    sdp_media *m = sdp_add_media(s, SDP_MEDIA_AUDIO, NULL, PROTO);
    if (!m)
        return SDP_ERR_NOMEM;
    int rc = set_transport(s, m, l, SDP_SETUP_ACTPASS);
    if (rc == 0)
        rc = sdp_set_str(s, &m->mid, BENCH_MID_AUDIO);
    if (rc == 0)
        rc = add_exts(s, m, true, false);
    m->direction = SDP_DIR_SENDONLY;
    m->rtcp_rsize = true;
    if (rc == 0)
        rc = sdp_media_add_msid(s, m, p->stream_id, "bench-audio");
    if (rc == 0)
        rc = sdp_media_add_pt(s, m, BENCH_PT_OPUS);
    if (rc == 0)
        rc = sdp_media_add_rtpmap(s, m, BENCH_PT_OPUS, "opus", 48000, 2);
    if (rc == 0)
        rc = sdp_media_add_rtcp_fb(s, m, BENCH_PT_OPUS, "transport-cc", NULL);
    if (rc == 0)
        rc = sdp_media_add_fmtp(s, m, BENCH_PT_OPUS, p->audio_dtx ? OPUS_FMTP ";usedtx=1" : OPUS_FMTP);
    if (rc == 0)
        rc = sdp_media_add_ssrc(s, m, p->audio_ssrc, p->cname, p->stream_id, "bench-audio");
    return rc;
}

static int add_video(sdp_session *s, const sdp_local *l, const bench_pub_params *p)
{
    sdp_media *m = sdp_add_media(s, SDP_MEDIA_VIDEO, NULL, PROTO);
    if (!m)
        return SDP_ERR_NOMEM;
    int rc = set_transport(s, m, l, SDP_SETUP_ACTPASS);
    if (rc == 0)
        rc = sdp_set_str(s, &m->mid, BENCH_MID_VIDEO);
    if (rc == 0)
        rc = add_exts(s, m, false, p->n_rids > 0);
    m->direction = SDP_DIR_SENDONLY;
    m->rtcp_rsize = true;
    static const char *const fb[][2] = {
        {"goog-remb", NULL}, {"transport-cc", NULL}, {"ccm", "fir"}, {"nack", NULL}, {"nack", "pli"},
    };
    if (rc == 0)
        rc = sdp_media_add_msid(s, m, p->stream_id, "bench-video");
    if (rc == 0)
        rc = sdp_media_add_pt(s, m, BENCH_PT_VP8);
    if (rc == 0)
        rc = sdp_media_add_pt(s, m, BENCH_PT_VP8_RTX);
    if (rc == 0)
        rc = sdp_media_add_rtpmap(s, m, BENCH_PT_VP8, "VP8", 90000, 0);
    for (size_t i = 0; rc == 0 && i < sizeof(fb) / sizeof(fb[0]); i++)
        rc = sdp_media_add_rtcp_fb(s, m, BENCH_PT_VP8, fb[i][0], fb[i][1]);
    if (rc == 0)
        rc = sdp_media_add_rtpmap(s, m, BENCH_PT_VP8_RTX, "rtx", 90000, 0);
    if (rc == 0)
        rc = sdp_media_add_fmtp(s, m, BENCH_PT_VP8_RTX, "apt=96");
    if (p->n_rids > 0)
        return rc == 0 ? add_simulcast(s, m, p) : rc;
    if (rc == 0)
        rc = sdp_media_add_ssrc_group(s, m, "FID", (uint32_t[]){p->video_ssrc, p->video_rtx_ssrc}, 2);
    if (rc == 0)
        rc = sdp_media_add_ssrc(s, m, p->video_ssrc, p->cname, p->stream_id, "bench-video");
    if (rc == 0)
        rc = sdp_media_add_ssrc(s, m, p->video_rtx_ssrc, p->cname, p->stream_id, "bench-video");
    return rc;
}

/* The data channel's m-line (RFC 8841), as a browser offers it. */
static int add_data(sdp_session *s, sdp_group *g, const sdp_local *l)
{
    sdp_media *m = sdp_add_media(s, SDP_MEDIA_APPLICATION, "application", "UDP/DTLS/SCTP");
    if (!m)
        return SDP_ERR_NOMEM;
    int rc = set_transport(s, m, l, SDP_SETUP_ACTPASS);
    m->rtcp_mux = false;
    if (rc == 0)
        rc = sdp_group_add_mid(s, g, BENCH_MID_DATA);
    if (rc == 0)
        rc = sdp_set_str(s, &m->mid, BENCH_MID_DATA);
    if (rc == 0)
        rc = sdp_media_add_fmt(s, m, "webrtc-datachannel");
    if (rc == 0)
        rc = sdp_add_attr(s, m, "sctp-port", "5000");
    if (rc == 0)
        rc = sdp_add_attr(s, m, "max-message-size", "262144");
    return rc;
}

char *bench_sdp_publish_offer(const sdp_local *local, const bench_pub_params *p)
{
    sdp_session *s = sdp_session_new();
    if (!s)
        return NULL;
    s->sess_id = p->sess_id;
    s->sess_version = 2;
    sdp_group *g = sdp_add_group(s, "BUNDLE");
    int rc = g ? sdp_group_add_mid(s, g, BENCH_MID_AUDIO) : SDP_ERR_NOMEM;
    if (rc == 0)
        rc = sdp_group_add_mid(s, g, BENCH_MID_VIDEO);
    if (rc == 0)
        rc = sdp_set_str(s, &s->msid_semantic, "WMS *");
    if (rc == 0)
        rc = add_audio(s, local, p);
    if (rc == 0)
        rc = add_video(s, local, p);
    if (rc == 0 && p->data_channel)
        rc = add_data(s, g, local);
    char *text = rc == 0 ? sdp_build_alloc(s, NULL) : NULL;
    sdp_free(s);
    return text;
}

/* ---- up: the SFU's answer ---- */

static void read_sent(const sdp_media *m, bench_sdp_sent *out)
{
    memset(out, 0, sizeof(*out));
    out->rtx_pt = -1;
    if (!m || m->port == 0 || m->n_fmts == 0)
        return;
    int pt = sdp_media_pt(m, 0);
    if (pt < 0)
        return;
    out->accepted = true;
    out->pt = (uint8_t)pt;
    out->rtx_pt = find_rtx(m, pt);
    read_ext(m, &out->ext);
    for (size_t i = 0; i < m->n_attrs && out->n_rids < BENCH_MAX_RIDS; i++) {
        const char *v = m->attrs[i].value, *sp = v ? strchr(v, ' ') : NULL;
        size_t n = sp ? (size_t)(sp - v) : 0;
        if (strcmp(m->attrs[i].name, "rid") == 0 && n > 0 && n <= BENCH_RID_LEN && strncmp(sp + 1, "recv", 4) == 0 &&
            (sp[5] == '\0' || sp[5] == ' ')) {
            memcpy(out->rids[out->n_rids], v, n);
            out->rids[out->n_rids++][n] = '\0';
        }
    }
}

int bench_sdp_read_up_answer(const char *text, size_t len, bench_sdp_up_answer *out)
{
    sdp_session *s = NULL;
    memset(out, 0, sizeof(*out));
    int rc = sdp_parse(text, len, &s, NULL);
    if (rc < 0)
        return rc;
    rc = read_transport(s, &out->remote);
    if (rc == 0) {
        /* the SFU is passive (we connect) unless it says active */
        out->remote.dtls_client = out->remote.setup != SDP_SETUP_ACTIVE;
        read_sent(sdp_find_mid(s, BENCH_MID_AUDIO), &out->audio);
        read_sent(sdp_find_mid(s, BENCH_MID_VIDEO), &out->video);
        const sdp_media *dm = sdp_find_mid(s, BENCH_MID_DATA);
        out->data_channel = dm && dm->port != 0 && dm->kind == SDP_MEDIA_APPLICATION;
        if (!out->audio.accepted && !out->video.accepted)
            rc = SDP_ERR_MISSING;
    }
    sdp_free(s);
    return rc;
}

/* ---- down: answering the SFU's offer ---- */

static int copy_codecs(sdp_session *a, sdp_media *am, const sdp_media *om, bool transport_cc)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < om->n_fmts; i++)
        rc = sdp_media_add_fmt(a, am, om->fmts[i]);
    for (size_t i = 0; rc == 0 && i < om->n_rtpmaps; i++) {
        const sdp_rtpmap *r = &om->rtpmaps[i];
        rc = sdp_media_add_rtpmap(a, am, r->pt, r->name, r->clock_rate, r->channels);
    }
    for (size_t i = 0; rc == 0 && i < om->n_fmtps; i++)
        rc = sdp_media_add_fmtp(a, am, om->fmtps[i].pt, om->fmtps[i].params);
    for (size_t i = 0; rc == 0 && i < om->n_rtcp_fbs; i++) {
        if (transport_cc || strcmp(om->rtcp_fbs[i].type, "transport-cc") != 0)
            rc = sdp_media_add_rtcp_fb(a, am, om->rtcp_fbs[i].pt, om->rtcp_fbs[i].type, om->rtcp_fbs[i].param);
    }
    for (size_t i = 0; rc == 0 && i < om->n_extmaps; i++) {
        if (transport_cc || strcmp(om->extmaps[i].uri, SDP_EXT_URI_TWCC) != 0)
            rc = sdp_media_add_extmap(a, am, om->extmaps[i].id, SDP_DIR_NONE, om->extmaps[i].uri, NULL);
    }
    return rc;
}

static sdp_direction answer_direction(sdp_direction offered)
{
    return (offered == SDP_DIR_SENDONLY || offered == SDP_DIR_SENDRECV || offered == SDP_DIR_NONE)
               ? SDP_DIR_RECVONLY
               : SDP_DIR_INACTIVE;
}

static void read_rx_track(const sdp_media *om, bool transport_cc, bench_sdp_rx_track *t)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->mid, sizeof(t->mid), "%s", om->mid ? om->mid : "");
    t->kind = om->kind;
    t->rtx_pt = -1;
    int pt = om->n_fmts ? sdp_media_pt(om, 0) : -1;
    if (om->port == 0 || pt < 0 || om->n_ssrcs == 0 || answer_direction(om->direction) != SDP_DIR_RECVONLY)
        return;
    t->pt = (uint8_t)pt;
    t->rtx_pt = find_rtx(om, pt);
    t->fb_nack = sdp_media_has_rtcp_fb(om, pt, "nack", NULL);
    t->fb_pli = sdp_media_has_rtcp_fb(om, pt, "nack", "pli");
    if (transport_cc && sdp_media_has_rtcp_fb(om, pt, "transport-cc", NULL))
        t->twcc_ext = (uint8_t)sdp_media_extmap_id(om, SDP_EXT_URI_TWCC);
    t->ssrc = om->ssrcs[0].ssrc;
    for (size_t i = 0; i < om->n_ssrc_groups; i++) {
        const sdp_ssrc_group *g = &om->ssrc_groups[i];
        if (!strcmp(g->semantics, "FID") && g->n_ssrcs == 2) {
            t->ssrc = g->ssrcs[0];
            t->rtx_ssrc = g->ssrcs[1];
        }
    }
    const char *stream = om->n_msids ? om->msids[0].stream : om->ssrcs[0].msid_stream;
    snprintf(t->stream_id, sizeof(t->stream_id), "%s", stream ? stream : "");
    t->active = true;
}

static int answer_mline(sdp_session *a, sdp_group *g, const sdp_media *om, const sdp_local *l, bool transport_cc)
{
    sdp_media *am = sdp_add_media(a, om->kind, om->media, om->proto);
    if (!am)
        return SDP_ERR_NOMEM;
    int rc = om->mid ? sdp_set_str(a, &am->mid, om->mid) : 0;
    if (om->port == 0) { /* rejected by the offerer: rejected in the answer too */
        am->port = 0;
        am->direction = SDP_DIR_INACTIVE;
        if (rc == 0)
            rc = sdp_set_conn(a, &am->conn, "IP4", "0.0.0.0");
        for (size_t i = 0; rc == 0 && i < om->n_fmts; i++)
            rc = sdp_media_add_fmt(a, am, om->fmts[i]);
        return rc;
    }
    if (rc == 0)
        rc = set_transport(a, am, l, SDP_SETUP_ACTIVE);
    if (rc == 0 && om->mid)
        rc = sdp_group_add_mid(a, g, om->mid);
    am->direction = answer_direction(om->direction);
    am->rtcp_rsize = om->rtcp_rsize;
    return rc == 0 ? copy_codecs(a, am, om, transport_cc) : rc;
}

int bench_sdp_answer_down(const char *offer, size_t len, const sdp_local *local, bool transport_cc, char **answer,
                          sdp_remote_transport *remote, bench_sdp_rx_track *tracks, size_t max_tracks,
                          size_t *n_tracks)
{
    *answer = NULL;
    *n_tracks = 0;
    sdp_session *o = NULL;
    int rc = sdp_parse(offer, len, &o, NULL);
    if (rc < 0)
        return rc;
    rc = read_transport(o, remote);
    remote->dtls_client = true; /* we answer setup:active */
    sdp_session *a = rc == 0 ? sdp_session_new() : NULL;
    sdp_group *g = a ? sdp_add_group(a, "BUNDLE") : NULL;
    if (rc == 0 && !g)
        rc = SDP_ERR_NOMEM;
    if (rc == 0) {
        a->sess_id = o->sess_id ^ 0x5a5a5a5au;
        a->sess_version = o->sess_version;
    }
    for (size_t i = 0; rc == 0 && i < o->n_media; i++) {
        rc = answer_mline(a, g, o->media[i], local, transport_cc);
        if (i < max_tracks)
            read_rx_track(o->media[i], transport_cc, &tracks[(*n_tracks)++]);
    }
    if (rc == 0 && !(*answer = sdp_build_alloc(a, NULL)))
        rc = SDP_ERR_NOMEM;
    sdp_free(a);
    sdp_free(o);
    return rc;
}
