/*
 * sfu/sdp_build.c — sdp_session -> SDP text, and the candidate attribute formatter.
 *
 * The writer appends to a caller buffer and keeps counting past its end (like snprintf), so
 * one function both measures (sdp_build_alloc) and writes. Lines end in CRLF. The order is
 * the one browsers use (JSEP §5.2.1), so a built description reads like Chromium's:
 *   v= o= s= [c=] [b=] t=, session attributes (group, extmap-allow-mixed, ice-lite,
 *   msid-semantic, transport, others);
 *   per m-line: m= c= b=, candidates, ice-ufrag/pwd/options, fingerprint, setup, mid, extmap,
 *   direction, msid, rtcp-mux, rtcp-mux-only, rtcp-rsize, extmap-allow-mixed, bundle-only,
 *   each rtpmap followed by its rtcp-fb and fmtp lines, remaining rtcp-fb/fmtp lines,
 *   ssrc-group, ssrc (cname, msid), other attributes, end-of-candidates.
 * Building what sdp_parse() produced and parsing it again gives the same description (the
 * only changes are that order, and dropped unknown a=ssrc attributes).
 */
#include "sfu/sdp.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct writer {
    char *buf; /* NULL: measure only */
    size_t cap;
    size_t len; /* bytes the full text needs so far */
    bool invalid;
} writer;

static void put(writer *w, const char *s)
{
    size_t n = strlen(s);
    if (w->buf != NULL && w->len + n < w->cap)
        memcpy(w->buf + w->len, s, n);
    w->len += n;
}

__attribute__((format(printf, 2, 3))) static void putf(writer *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = (w->buf != NULL && w->len < w->cap) ? w->cap - w->len : 0;
    int n = vsnprintf(room ? w->buf + w->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        w->invalid = true;
    else
        w->len += (size_t)n;
}

/* "a=name[:value]\r\n" */
static void attr(writer *w, const char *name, const char *value)
{
    if (value != NULL)
        putf(w, "a=%s:%s\r\n", name, value);
    else
        putf(w, "a=%s\r\n", name);
}

static const char *req(writer *w, const char *s)
{
    if (s == NULL) {
        w->invalid = true;
        return "";
    }
    return s;
}

/* ---- candidates --------------------------------------------------------------------------- */

static bool field_ok(const char *f, size_t cap)
{
    size_t n = strnlen(f, cap);
    if (n == 0 || n == cap)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)f[i] <= 0x20 || (unsigned char)f[i] == 0x7f)
            return false;
    return true;
}

int sdp_candidate_format(const sdp_candidate *c, char *buf, size_t cap)
{
    static const char *types[] = { "host", "srflx", "prflx", "relay" };
    if (c == NULL || (unsigned)c->type > SDP_CAND_RELAY || c->component == 0 ||
        !field_ok(c->foundation, sizeof(c->foundation)) || !field_ok(c->transport, sizeof(c->transport)) ||
        !field_ok(c->address, sizeof(c->address)) || (c->raddr[0] && !field_ok(c->raddr, sizeof(c->raddr))) ||
        (c->tcptype[0] && !field_ok(c->tcptype, sizeof(c->tcptype))) || c->rport > 65535)
        return SDP_ERR_INVALID;
    writer w = { .buf = buf, .cap = cap };
    putf(&w, "candidate:%s %u %s %u %s %u typ %s", c->foundation, (unsigned)c->component, c->transport,
         (unsigned)c->priority, c->address, (unsigned)c->port, types[c->type]);
    if (c->raddr[0])
        putf(&w, " raddr %s", c->raddr);
    if (c->rport >= 0)
        putf(&w, " rport %d", (int)c->rport);
    if (c->tcptype[0])
        putf(&w, " tcptype %s", c->tcptype);
    if (w.len + 1 > cap)
        return SDP_ERR_SPACE;
    return (int)w.len;
}

/* ---- shared pieces ------------------------------------------------------------------------ */

static void put_conn(writer *w, const sdp_conn *c)
{
    if (c->nettype != NULL)
        putf(w, "c=%s %s %s\r\n", c->nettype, req(w, c->addrtype), req(w, c->address));
}

static void put_transport(writer *w, const sdp_transport *t)
{
    static const char *setups[] = { NULL, "actpass", "active", "passive", "holdconn" };
    if (t->ice_ufrag != NULL)
        attr(w, "ice-ufrag", t->ice_ufrag);
    if (t->ice_pwd != NULL)
        attr(w, "ice-pwd", t->ice_pwd);
    if (t->ice_options != NULL)
        attr(w, "ice-options", t->ice_options);
    if (t->fingerprint.len != 0) {
        char fp[16 + 3 * SDP_MAX_FINGERPRINT + 1];
        if (sdp_fingerprint_format(&t->fingerprint, fp, sizeof(fp)) < 0)
            w->invalid = true;
        else
            attr(w, "fingerprint", fp);
    }
    if ((unsigned)t->setup > SDP_SETUP_HOLDCONN)
        w->invalid = true;
    else if (t->setup != SDP_SETUP_NONE)
        attr(w, "setup", setups[t->setup]);
}

static void put_attrs(writer *w, const sdp_attr *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        attr(w, req(w, a[i].name), a[i].value);
}

static void put_bandwidth(writer *w, char *const *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        putf(w, "b=%s\r\n", req(w, b[i]));
}

/* ---- session level ------------------------------------------------------------------------ */

static void put_session(writer *w, const sdp_session *s)
{
    put(w, "v=0\r\n");
    putf(w, "o=%s %llu %llu %s %s %s\r\n", req(w, s->origin_user), (unsigned long long)s->sess_id,
         (unsigned long long)s->sess_version, req(w, s->origin_nettype), req(w, s->origin_addrtype),
         req(w, s->origin_address));
    putf(w, "s=%s\r\n", s->name != NULL && s->name[0] != '\0' ? s->name : "-");
    put_conn(w, &s->conn);
    put_bandwidth(w, s->bandwidth, s->n_bandwidth);
    putf(w, "t=%llu %llu\r\n", (unsigned long long)s->t_start, (unsigned long long)s->t_stop);
    for (size_t i = 0; i < s->n_groups; i++) {
        const sdp_group *g = &s->groups[i];
        putf(w, "a=group:%s", req(w, g->semantics));
        for (size_t k = 0; k < g->n_mids; k++)
            putf(w, " %s", req(w, g->mids[k]));
        put(w, "\r\n");
    }
    if (s->extmap_allow_mixed)
        attr(w, "extmap-allow-mixed", NULL);
    if (s->ice_lite)
        attr(w, "ice-lite", NULL);
    if (s->msid_semantic != NULL)
        attr(w, "msid-semantic", s->msid_semantic);
    put_transport(w, &s->transport);
    put_attrs(w, s->attrs, s->n_attrs);
}

/* ---- media level -------------------------------------------------------------------------- */

static void put_mline(writer *w, const sdp_media *m)
{
    putf(w, "m=%s %u", req(w, m->media), (unsigned)m->port);
    if (m->num_ports != 0)
        putf(w, "/%u", (unsigned)m->num_ports);
    putf(w, " %s", req(w, m->proto));
    if (m->n_fmts == 0)
        w->invalid = true;
    for (size_t i = 0; i < m->n_fmts; i++)
        putf(w, " %s", req(w, m->fmts[i]));
    put(w, "\r\n");
    put_conn(w, &m->conn);
    put_bandwidth(w, m->bandwidth, m->n_bandwidth);
}

static void put_candidates(writer *w, const sdp_media *m)
{
    for (size_t i = 0; i < m->n_candidates; i++) {
        char line[256];
        if (sdp_candidate_format(&m->candidates[i], line, sizeof(line)) < 0)
            w->invalid = true;
        else
            putf(w, "a=%s\r\n", line);
    }
}

static void put_extmaps(writer *w, const sdp_media *m)
{
    for (size_t i = 0; i < m->n_extmaps; i++) {
        const sdp_extmap *e = &m->extmaps[i];
        putf(w, "a=extmap:%u", (unsigned)e->id);
        if (e->direction != SDP_DIR_NONE)
            putf(w, "/%s", req(w, sdp_direction_name(e->direction)));
        putf(w, " %s", req(w, e->uri));
        if (e->attrs != NULL)
            putf(w, " %s", e->attrs);
        put(w, "\r\n");
    }
}

static void put_fb(writer *w, const sdp_rtcp_fb *fb)
{
    if (fb->pt < 0)
        putf(w, "a=rtcp-fb:* %s", req(w, fb->type));
    else
        putf(w, "a=rtcp-fb:%d %s", fb->pt, req(w, fb->type));
    if (fb->param != NULL)
        putf(w, " %s", fb->param);
    put(w, "\r\n");
}

/* Each rtpmap with its rtcp-fb and fmtp lines, then the lines for other payload types. */
static void put_codecs(writer *w, const sdp_media *m)
{
    for (size_t i = 0; i < m->n_rtpmaps; i++) {
        const sdp_rtpmap *r = &m->rtpmaps[i];
        putf(w, "a=rtpmap:%u %s/%lu", (unsigned)r->pt, req(w, r->name), (unsigned long)r->clock_rate);
        if (r->channels != 0)
            putf(w, "/%u", (unsigned)r->channels);
        put(w, "\r\n");
        for (size_t k = 0; k < m->n_rtcp_fbs; k++)
            if (m->rtcp_fbs[k].pt == r->pt)
                put_fb(w, &m->rtcp_fbs[k]);
        const char *fmtp = sdp_media_fmtp(m, r->pt);
        if (fmtp != NULL)
            putf(w, "a=fmtp:%u %s\r\n", (unsigned)r->pt, fmtp);
    }
    for (size_t k = 0; k < m->n_rtcp_fbs; k++)
        if (m->rtcp_fbs[k].pt < 0 || sdp_media_rtpmap(m, m->rtcp_fbs[k].pt) == NULL)
            put_fb(w, &m->rtcp_fbs[k]);
    for (size_t k = 0; k < m->n_fmtps; k++)
        if (sdp_media_rtpmap(m, m->fmtps[k].pt) == NULL)
            putf(w, "a=fmtp:%u %s\r\n", (unsigned)m->fmtps[k].pt, req(w, m->fmtps[k].params));
}

static void put_ssrcs(writer *w, const sdp_media *m)
{
    for (size_t i = 0; i < m->n_ssrc_groups; i++) {
        const sdp_ssrc_group *g = &m->ssrc_groups[i];
        putf(w, "a=ssrc-group:%s", req(w, g->semantics));
        for (size_t k = 0; k < g->n_ssrcs && k < SDP_MAX_GROUP_SSRCS; k++)
            putf(w, " %lu", (unsigned long)g->ssrcs[k]);
        put(w, "\r\n");
    }
    for (size_t i = 0; i < m->n_ssrcs; i++) {
        const sdp_ssrc *e = &m->ssrcs[i];
        if (e->cname != NULL)
            putf(w, "a=ssrc:%lu cname:%s\r\n", (unsigned long)e->ssrc, e->cname);
        if (e->msid_stream != NULL) {
            putf(w, "a=ssrc:%lu msid:%s", (unsigned long)e->ssrc, e->msid_stream);
            if (e->msid_track != NULL)
                putf(w, " %s", e->msid_track);
            put(w, "\r\n");
        }
    }
}

static void put_media(writer *w, const sdp_media *m)
{
    put_mline(w, m);
    put_candidates(w, m);
    put_transport(w, &m->transport);
    if (m->mid != NULL)
        attr(w, "mid", m->mid);
    put_extmaps(w, m);
    if (m->direction != SDP_DIR_NONE)
        attr(w, req(w, sdp_direction_name(m->direction)), NULL);
    for (size_t i = 0; i < m->n_msids; i++) {
        putf(w, "a=msid:%s", req(w, m->msids[i].stream));
        if (m->msids[i].track != NULL)
            putf(w, " %s", m->msids[i].track);
        put(w, "\r\n");
    }
    if (m->rtcp_mux)
        attr(w, "rtcp-mux", NULL);
    if (m->rtcp_mux_only)
        attr(w, "rtcp-mux-only", NULL);
    if (m->rtcp_rsize)
        attr(w, "rtcp-rsize", NULL);
    if (m->extmap_allow_mixed)
        attr(w, "extmap-allow-mixed", NULL);
    if (m->bundle_only)
        attr(w, "bundle-only", NULL);
    put_codecs(w, m);
    put_ssrcs(w, m);
    put_attrs(w, m->attrs, m->n_attrs);
    if (m->end_of_candidates)
        attr(w, "end-of-candidates", NULL);
}

static int build(const sdp_session *s, writer *w)
{
    if (s == NULL)
        return SDP_ERR_INVALID;
    put_session(w, s);
    for (size_t i = 0; i < s->n_media; i++)
        put_media(w, s->media[i]);
    if (w->invalid || w->len > INT_MAX)
        return SDP_ERR_INVALID;
    return 0;
}

int sdp_build(const sdp_session *s, char *buf, size_t cap)
{
    writer w = { .buf = buf, .cap = buf ? cap : 0 };
    int rc = build(s, &w);
    if (rc != 0)
        return rc;
    if (w.len + 1 > w.cap)
        return SDP_ERR_SPACE;
    buf[w.len] = '\0';
    return (int)w.len;
}

char *sdp_build_alloc(const sdp_session *s, size_t *len)
{
    writer w = { 0 };
    if (build(s, &w) != 0)
        return NULL;
    char *buf = malloc(w.len + 1);
    if (buf == NULL)
        return NULL;
    int n = sdp_build(s, buf, w.len + 1);
    if (n < 0) {
        free(buf);
        return NULL;
    }
    if (len != NULL)
        *len = (size_t)n;
    return buf;
}
