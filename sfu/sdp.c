/*
 * sfu/sdp.c — the SDP data model: the per-session arena, construction (sdp_add_*,
 * sdp_media_add_*), look-ups, fmtp parameter reading and fingerprints.
 * The text parser is sfu/sdp_parse.c and the writer sfu/sdp_build.c; sfu/sdp.h explains the
 * design (one arena per session, arrays doubling inside it, every input bounded).
 *
 * Arena: a list of zeroed chunks (8 KiB, or one chunk per request over 4 KiB). Allocation
 * bumps inside the head chunk; nothing is freed before sdp_free() releases the whole list. The
 * total is capped at SDP_ARENA_MAX so hostile input cannot make a session grow without bound.
 *
 * Every string the construction functions take is copied. Values that end up on an SDP line
 * are refused (SDP_ERR_INVALID) when they contain CR, LF or NUL-breaking bytes, and token
 * values (mid, msid ids, cname, ufrag, codec names, ...) also when they contain spaces, so a
 * caller's string can never inject a line into a built description.
 */
#include "sfu/sdp.h"

#include <ctype.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct sdp_arena_chunk {
    struct sdp_arena_chunk *next;
    size_t used;
    size_t cap;
    max_align_t data[];
};

enum { ARENA_CHUNK = 8192 };

/* A new zeroed chunk of `cap` bytes, counted against SDP_ARENA_MAX; NULL when over. */
static struct sdp_arena_chunk *new_chunk(sdp_session *s, size_t cap)
{
    if (s->arena_bytes_ + cap > SDP_ARENA_MAX)
        return NULL;
    struct sdp_arena_chunk *c = calloc(1, sizeof(*c) + cap);
    if (c == NULL)
        return NULL;
    c->cap = cap;
    s->arena_bytes_ += cap;
    return c;
}

static void *arena_alloc(sdp_session *s, size_t size)
{
    const size_t align = alignof(max_align_t);
    if (size == 0)
        size = 1;
    if (size > SDP_ARENA_MAX)
        return NULL;
    size = (size + align - 1) & ~(align - 1);
    struct sdp_arena_chunk *head = s->arena_;
    if (head != NULL && head->cap - head->used >= size) {
        void *p = (char *)head->data + head->used;
        head->used += size;
        return p;
    }
    /* A large block gets a chunk of its own, linked behind the head so that the head's free
     * space keeps serving small allocations. */
    bool own = size > ARENA_CHUNK / 2;
    struct sdp_arena_chunk *c = new_chunk(s, own ? size : ARENA_CHUNK);
    if (c == NULL)
        return NULL;
    if (own && head != NULL) {
        c->next = head->next;
        head->next = c;
    } else {
        c->next = head;
        s->arena_ = c;
    }
    c->used = size;
    return c->data;
}

/* Room for element n of an arena array (see sdp.h): returns the array to use (maybe moved). */
static void *grow(sdp_session *s, void *arr, size_t n, size_t elem, size_t max, int *err)
{
    if (n >= max) {
        *err = SDP_ERR_LIMIT;
        return NULL;
    }
    if (n != 0 && (n < 4 || (n & (n - 1)) != 0))
        return arr;
    size_t cap = n == 0 ? 4 : n * 2;
    void *p = arena_alloc(s, cap * elem);
    if (p == NULL) {
        *err = SDP_ERR_NOMEM;
        return NULL;
    }
    if (n != 0)
        memcpy(p, arr, n * elem);
    return p;
}

/* Grows array field `arr` (with count `n`) or returns the error from the enclosing function. */
#define GROW_OR_RETURN(s, arr, n, max)                                              \
    do {                                                                        \
        int grow_err_ = 0;                                                  \
        void *grow_p_ = grow((s), (arr), (n), sizeof(*(arr)), (max), &grow_err_); \
        if (grow_p_ == NULL)                                                \
            return grow_err_;                                           \
        (arr) = grow_p_;                                                    \
    } while (0)

sdp_session *sdp_session_new(void)
{
    sdp_session *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->origin_user = sdp_strdup(s, "-");
    s->origin_nettype = sdp_strdup(s, "IN");
    s->origin_addrtype = sdp_strdup(s, "IP4");
    s->origin_address = sdp_strdup(s, "127.0.0.1");
    s->name = sdp_strdup(s, "-");
    if (s->origin_address == NULL || s->name == NULL) {
        sdp_free(s);
        return NULL;
    }
    return s;
}

void sdp_free(sdp_session *s)
{
    if (s == NULL)
        return;
    struct sdp_arena_chunk *c = s->arena_;
    while (c != NULL) {
        struct sdp_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(s);
}

const char *sdp_strerror(int code)
{
    switch (code) {
    case SDP_OK: return "ok";
    case SDP_ERR_NOMEM: return "out of memory";
    case SDP_ERR_SYNTAX: return "syntax error";
    case SDP_ERR_LIMIT: return "limit exceeded";
    case SDP_ERR_MISSING: return "required line missing";
    case SDP_ERR_INVALID: return "invalid argument";
    case SDP_ERR_SPACE: return "buffer too small";
    case SDP_ERR_NOTFOUND: return "not found";
    default: return "unknown error";
    }
}

/* ---- checked copies ------------------------------------------------------------------------ */

char *sdp_strdup(sdp_session *s, const char *str)
{
    if (str == NULL)
        return NULL;
    size_t n = strlen(str);
    char *p = arena_alloc(s, n + 1);
    if (p != NULL)
        memcpy(p, str, n + 1);
    return p;
}

/* Copies a value that will be written on an SDP line: no control bytes other than TAB;
 * a token (`token` true) additionally has no spaces and is not empty. */
static int dup_checked(sdp_session *s, const char *str, bool token, char **out)
{
    *out = NULL;
    if (str == NULL)
        return 0;
    if (token && str[0] == '\0')
        return SDP_ERR_INVALID;
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return SDP_ERR_INVALID;
        if (token && (*p == ' ' || *p == '\t'))
            return SDP_ERR_INVALID;
    }
    *out = sdp_strdup(s, str);
    return *out == NULL ? SDP_ERR_NOMEM : 0;
}

int sdp_set_str(sdp_session *s, char **field, const char *value)
{
    char *copy;
    int rc = dup_checked(s, value, false, &copy);
    if (rc == 0)
        *field = copy;
    return rc;
}

int sdp_set_conn(sdp_session *s, sdp_conn *c, const char *addrtype, const char *address)
{
    char *nt, *at, *ad;
    int rc = dup_checked(s, "IN", true, &nt);
    if (rc == 0)
        rc = dup_checked(s, addrtype, true, &at);
    if (rc == 0)
        rc = dup_checked(s, address, true, &ad);
    if (rc != 0)
        return rc;
    if (at == NULL || ad == NULL)
        return SDP_ERR_INVALID;
    c->nettype = nt;
    c->addrtype = at;
    c->address = ad;
    return 0;
}

/* ---- construction -------------------------------------------------------------------------- */

static const char *kind_token(sdp_media_kind kind)
{
    switch (kind) {
    case SDP_MEDIA_AUDIO: return "audio";
    case SDP_MEDIA_VIDEO: return "video";
    case SDP_MEDIA_APPLICATION: return "application";
    default: return NULL;
    }
}

sdp_media *sdp_add_media(sdp_session *s, sdp_media_kind kind, const char *media, const char *proto)
{
    if (media == NULL)
        media = kind_token(kind);
    if (media == NULL || proto == NULL)
        return NULL;
    int err = 0;
    void *arr = grow(s, s->media, s->n_media, sizeof(*s->media), SDP_MAX_MEDIA, &err);
    if (arr == NULL)
        return NULL;
    s->media = arr;
    sdp_media *m = arena_alloc(s, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->kind = kind;
    m->port = 9;
    if (dup_checked(s, media, true, &m->media) != 0 || dup_checked(s, proto, true, &m->proto) != 0)
        return NULL;
    s->media[s->n_media++] = m;
    return m;
}

sdp_group *sdp_add_group(sdp_session *s, const char *semantics)
{
    int err = 0;
    void *arr = grow(s, s->groups, s->n_groups, sizeof(*s->groups), SDP_MAX_GROUPS, &err);
    if (arr == NULL)
        return NULL;
    s->groups = arr;
    sdp_group *g = &s->groups[s->n_groups];
    memset(g, 0, sizeof(*g));
    if (dup_checked(s, semantics, true, &g->semantics) != 0 || g->semantics == NULL)
        return NULL;
    s->n_groups++;
    return g;
}

int sdp_group_add_mid(sdp_session *s, sdp_group *g, const char *mid)
{
    char *copy;
    int rc = dup_checked(s, mid, true, &copy);
    if (rc != 0)
        return rc;
    if (copy == NULL || strlen(copy) > SDP_MAX_MID)
        return SDP_ERR_INVALID;
    GROW_OR_RETURN(s, g->mids, g->n_mids, SDP_MAX_MEDIA);
    g->mids[g->n_mids++] = copy;
    return 0;
}

int sdp_add_attr(sdp_session *s, sdp_media *m, const char *name, const char *value)
{
    char *n, *v;
    int rc = dup_checked(s, name, true, &n);
    if (rc == 0)
        rc = dup_checked(s, value, false, &v);
    if (rc != 0)
        return rc;
    if (n == NULL)
        return SDP_ERR_INVALID;
    sdp_attr **arr = m ? &m->attrs : &s->attrs;
    size_t *cnt = m ? &m->n_attrs : &s->n_attrs;
    GROW_OR_RETURN(s, *arr, *cnt, SDP_MAX_ATTRS);
    (*arr)[*cnt] = (sdp_attr){ .name = n, .value = v };
    (*cnt)++;
    return 0;
}

int sdp_add_bandwidth(sdp_session *s, sdp_media *m, const char *value)
{
    char *v;
    int rc = dup_checked(s, value, false, &v);
    if (rc != 0)
        return rc;
    if (v == NULL)
        return SDP_ERR_INVALID;
    char ***arr = m ? &m->bandwidth : &s->bandwidth;
    size_t *cnt = m ? &m->n_bandwidth : &s->n_bandwidth;
    GROW_OR_RETURN(s, *arr, *cnt, SDP_MAX_BANDWIDTH);
    (*arr)[(*cnt)++] = v;
    return 0;
}

int sdp_media_add_fmt(sdp_session *s, sdp_media *m, const char *fmt)
{
    char *v;
    int rc = dup_checked(s, fmt, true, &v);
    if (rc != 0)
        return rc;
    if (v == NULL)
        return SDP_ERR_INVALID;
    GROW_OR_RETURN(s, m->fmts, m->n_fmts, SDP_MAX_FORMATS);
    m->fmts[m->n_fmts++] = v;
    return 0;
}

int sdp_media_add_pt(sdp_session *s, sdp_media *m, int pt)
{
    if (pt < 0 || pt > 127)
        return SDP_ERR_INVALID;
    char buf[4];
    snprintf(buf, sizeof(buf), "%d", pt);
    return sdp_media_add_fmt(s, m, buf);
}

int sdp_media_add_rtpmap(sdp_session *s, sdp_media *m, int pt, const char *name, uint32_t clock,
             unsigned channels)
{
    if (pt < 0 || pt > 127 || clock == 0 || channels > 255)
        return SDP_ERR_INVALID;
    if (sdp_media_rtpmap(m, pt) != NULL)
        return SDP_ERR_SYNTAX; /* one rtpmap per payload type */
    char *n;
    int rc = dup_checked(s, name, true, &n);
    if (rc != 0)
        return rc;
    if (n == NULL || strchr(n, '/') != NULL)
        return SDP_ERR_INVALID;
    GROW_OR_RETURN(s, m->rtpmaps, m->n_rtpmaps, SDP_MAX_RTPMAP);
    m->rtpmaps[m->n_rtpmaps++] =
        (sdp_rtpmap){ .pt = (uint8_t)pt, .name = n, .clock_rate = clock, .channels = (uint16_t)channels };
    return 0;
}

int sdp_media_add_fmtp(sdp_session *s, sdp_media *m, int pt, const char *params)
{
    if (pt < 0 || pt > 127)
        return SDP_ERR_INVALID;
    if (sdp_media_fmtp(m, pt) != NULL)
        return SDP_ERR_SYNTAX; /* one fmtp per payload type */
    char *p;
    int rc = dup_checked(s, params, false, &p);
    if (rc != 0)
        return rc;
    if (p == NULL || p[0] == '\0')
        return SDP_ERR_INVALID;
    GROW_OR_RETURN(s, m->fmtps, m->n_fmtps, SDP_MAX_FMTP);
    m->fmtps[m->n_fmtps++] = (sdp_fmtp){ .pt = (uint8_t)pt, .params = p };
    return 0;
}

int sdp_media_add_rtcp_fb(sdp_session *s, sdp_media *m, int pt, const char *type, const char *param)
{
    if (pt < -1 || pt > 127)
        return SDP_ERR_INVALID;
    char *t, *p;
    int rc = dup_checked(s, type, true, &t);
    if (rc == 0)
        rc = dup_checked(s, param, false, &p);
    if (rc != 0)
        return rc;
    if (t == NULL || (p != NULL && p[0] == '\0'))
        return SDP_ERR_INVALID;
    GROW_OR_RETURN(s, m->rtcp_fbs, m->n_rtcp_fbs, SDP_MAX_RTCP_FB);
    m->rtcp_fbs[m->n_rtcp_fbs++] = (sdp_rtcp_fb){ .pt = pt, .type = t, .param = p };
    return 0;
}

int sdp_media_add_extmap(sdp_session *s, sdp_media *m, unsigned id, sdp_direction dir, const char *uri,
             const char *attrs)
{
    if (id < 1 || id > 255)
        return SDP_ERR_INVALID;
    for (size_t i = 0; i < m->n_extmaps; i++)
        if (m->extmaps[i].id == id)
            return SDP_ERR_SYNTAX; /* an id maps one extension */
    char *u, *a;
    int rc = dup_checked(s, uri, true, &u);
    if (rc == 0)
        rc = dup_checked(s, attrs, false, &a);
    if (rc != 0)
        return rc;
    if (u == NULL || (a != NULL && a[0] == '\0'))
        return SDP_ERR_INVALID;
    GROW_OR_RETURN(s, m->extmaps, m->n_extmaps, SDP_MAX_EXTMAP);
    m->extmaps[m->n_extmaps++] = (sdp_extmap){ .id = (uint16_t)id, .direction = dir, .uri = u, .attrs = a };
    return 0;
}

int sdp_media_add_ssrc(sdp_session *s, sdp_media *m, uint32_t ssrc, const char *cname, const char *stream,
               const char *track)
{
    char *c, *st, *tr;
    int rc = dup_checked(s, cname, true, &c);
    if (rc == 0)
        rc = dup_checked(s, stream, true, &st);
    if (rc == 0)
        rc = dup_checked(s, track, true, &tr);
    if (rc != 0)
        return rc;
    sdp_ssrc *e = (sdp_ssrc *)sdp_media_ssrc(m, ssrc);
    if (e == NULL) {
        GROW_OR_RETURN(s, m->ssrcs, m->n_ssrcs, SDP_MAX_SSRC);
        e = &m->ssrcs[m->n_ssrcs++];
        *e = (sdp_ssrc){ .ssrc = ssrc };
    }
    if (c != NULL)
        e->cname = c;
    if (st != NULL) {
        e->msid_stream = st;
        e->msid_track = tr;
    }
    return 0;
}

int sdp_media_add_ssrc_group(sdp_session *s, sdp_media *m, const char *semantics, const uint32_t *ssrcs,
                 size_t n)
{
    if (n == 0 || n > SDP_MAX_GROUP_SSRCS)
        return n == 0 ? SDP_ERR_INVALID : SDP_ERR_LIMIT;
    char *sem;
    int rc = dup_checked(s, semantics, true, &sem);
    if (rc != 0)
        return rc;
    if (sem == NULL)
        return SDP_ERR_INVALID;
    GROW_OR_RETURN(s, m->ssrc_groups, m->n_ssrc_groups, SDP_MAX_SSRC_GROUP);
    sdp_ssrc_group *g = &m->ssrc_groups[m->n_ssrc_groups++];
    *g = (sdp_ssrc_group){ .semantics = sem, .n_ssrcs = n };
    memcpy(g->ssrcs, ssrcs, n * sizeof(*ssrcs));
    return 0;
}

int sdp_media_add_msid(sdp_session *s, sdp_media *m, const char *stream, const char *track)
{
    char *st, *tr;
    int rc = dup_checked(s, stream, true, &st);
    if (rc == 0)
        rc = dup_checked(s, track, true, &tr);
    if (rc != 0)
        return rc;
    if (st == NULL)
        return SDP_ERR_INVALID;
    GROW_OR_RETURN(s, m->msids, m->n_msids, SDP_MAX_MSID);
    m->msids[m->n_msids++] = (sdp_msid){ .stream = st, .track = tr };
    return 0;
}

int sdp_media_add_candidate(sdp_session *s, sdp_media *m, const sdp_candidate *c)
{
    char check[256];
    int rc = sdp_candidate_format(c, check, sizeof(check)); /* validates every field */
    if (rc < 0)
        return rc;
    GROW_OR_RETURN(s, m->candidates, m->n_candidates, SDP_MAX_CANDIDATES);
    m->candidates[m->n_candidates++] = *c;
    return 0;
}

/* ---- look-ups ---------------------------------------------------------------------------- */

sdp_media *sdp_find_mid(const sdp_session *s, const char *mid)
{
    for (size_t i = 0; mid != NULL && i < s->n_media; i++)
        if (s->media[i]->mid != NULL && strcmp(s->media[i]->mid, mid) == 0)
            return s->media[i];
    return NULL;
}

const sdp_group *sdp_find_group(const sdp_session *s, const char *semantics)
{
    for (size_t i = 0; i < s->n_groups; i++)
        if (strcmp(s->groups[i].semantics, semantics) == 0)
            return &s->groups[i];
    return NULL;
}

bool sdp_group_has_mid(const sdp_group *g, const char *mid)
{
    for (size_t i = 0; g != NULL && mid != NULL && i < g->n_mids; i++)
        if (strcmp(g->mids[i], mid) == 0)
            return true;
    return false;
}

int sdp_media_pt(const sdp_media *m, size_t i)
{
    if (i >= m->n_fmts)
        return -1;
    const char *f = m->fmts[i];
    size_t n = strlen(f);
    if (n == 0 || n > 3)
        return -1;
    int v = 0;
    for (size_t k = 0; k < n; k++) {
        if (!isdigit((unsigned char)f[k]))
            return -1;
        v = v * 10 + (f[k] - '0');
    }
    return v <= 127 ? v : -1;
}

bool sdp_media_has_pt(const sdp_media *m, int pt)
{
    for (size_t i = 0; i < m->n_fmts; i++)
        if (sdp_media_pt(m, i) == pt)
            return true;
    return false;
}

const sdp_rtpmap *sdp_media_rtpmap(const sdp_media *m, int pt)
{
    for (size_t i = 0; i < m->n_rtpmaps; i++)
        if (m->rtpmaps[i].pt == pt)
            return &m->rtpmaps[i];
    return NULL;
}

const char *sdp_media_fmtp(const sdp_media *m, int pt)
{
    for (size_t i = 0; i < m->n_fmtps; i++)
        if (m->fmtps[i].pt == pt)
            return m->fmtps[i].params;
    return NULL;
}

bool sdp_media_has_rtcp_fb(const sdp_media *m, int pt, const char *type, const char *param)
{
    for (size_t i = 0; i < m->n_rtcp_fbs; i++) {
        const sdp_rtcp_fb *fb = &m->rtcp_fbs[i];
        if (fb->pt != pt && fb->pt != -1)
            continue;
        if (strcasecmp(fb->type, type) != 0)
            continue;
        if (param == NULL ? fb->param == NULL : (fb->param != NULL && strcasecmp(fb->param, param) == 0))
            return true;
    }
    return false;
}

unsigned sdp_media_extmap_id(const sdp_media *m, const char *uri)
{
    for (size_t i = 0; i < m->n_extmaps; i++)
        if (strcmp(m->extmaps[i].uri, uri) == 0)
            return m->extmaps[i].id;
    return 0;
}

const sdp_ssrc *sdp_media_ssrc(const sdp_media *m, uint32_t ssrc)
{
    for (size_t i = 0; i < m->n_ssrcs; i++)
        if (m->ssrcs[i].ssrc == ssrc)
            return &m->ssrcs[i];
    return NULL;
}

uint32_t sdp_media_fid_rtx(const sdp_media *m, uint32_t ssrc)
{
    for (size_t i = 0; i < m->n_ssrc_groups; i++) {
        const sdp_ssrc_group *g = &m->ssrc_groups[i];
        if (strcmp(g->semantics, "FID") == 0 && g->n_ssrcs == 2 && g->ssrcs[0] == ssrc)
            return g->ssrcs[1];
    }
    return 0;
}

void sdp_media_transport(const sdp_session *s, const sdp_media *m, sdp_transport *out)
{
    *out = m->transport;
    if (out->ice_ufrag == NULL)
        out->ice_ufrag = s->transport.ice_ufrag;
    if (out->ice_pwd == NULL)
        out->ice_pwd = s->transport.ice_pwd;
    if (out->ice_options == NULL)
        out->ice_options = s->transport.ice_options;
    if (out->fingerprint.len == 0)
        out->fingerprint = s->transport.fingerprint;
    if (out->setup == SDP_SETUP_NONE)
        out->setup = s->transport.setup;
}

/* ---- fmtp parameters ---------------------------------------------------------------------- */

int sdp_fmtp_get(const char *params, const char *key, char *out, size_t cap)
{
    if (params == NULL || key == NULL)
        return SDP_ERR_NOTFOUND;
    size_t klen = strlen(key);
    const char *p = params;
    while (*p != '\0') {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        if (end == NULL)
            end = p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq != NULL) {
            const char *kend = eq;
            while (kend > p && kend[-1] == ' ')
                kend--;
            if ((size_t)(kend - p) == klen && strncasecmp(p, key, klen) == 0) {
                const char *v = eq + 1;
                while (v < end && *v == ' ')
                    v++;
                const char *vend = end;
                while (vend > v && vend[-1] == ' ')
                    vend--;
                size_t n = (size_t)(vend - v);
                if (n + 1 > cap)
                    return SDP_ERR_SPACE;
                memcpy(out, v, n);
                out[n] = '\0';
                return (int)n;
            }
        }
        p = end;
    }
    return SDP_ERR_NOTFOUND;
}

long sdp_fmtp_get_uint(const char *params, const char *key)
{
    char buf[16];
    int n = sdp_fmtp_get(params, key, buf, sizeof(buf));
    if (n == SDP_ERR_SPACE)
        return SDP_ERR_SYNTAX;
    if (n < 0)
        return n;
    if (n == 0 || n > 9)
        return SDP_ERR_SYNTAX;
    long v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)buf[i]))
            return SDP_ERR_SYNTAX;
        v = v * 10 + (buf[i] - '0');
    }
    return v;
}

const char *sdp_direction_name(sdp_direction d)
{
    switch (d) {
    case SDP_DIR_SENDRECV: return "sendrecv";
    case SDP_DIR_SENDONLY: return "sendonly";
    case SDP_DIR_RECVONLY: return "recvonly";
    case SDP_DIR_INACTIVE: return "inactive";
    default: return NULL;
    }
}

sdp_direction sdp_direction_reverse(sdp_direction d)
{
    if (d == SDP_DIR_SENDONLY)
        return SDP_DIR_RECVONLY;
    if (d == SDP_DIR_RECVONLY)
        return SDP_DIR_SENDONLY;
    return d;
}

/* ---- fingerprints ------------------------------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int sdp_fingerprint_parse(const char *value, sdp_fingerprint *out)
{
    memset(out, 0, sizeof(*out));
    const char *p = value;
    size_t n = 0;
    while (p[n] != '\0' && p[n] != ' ')
        n++;
    if (n == 0 || p[n] != ' ')
        return SDP_ERR_SYNTAX;
    if (n >= sizeof(out->algorithm))
        return SDP_ERR_LIMIT;
    for (size_t i = 0; i < n; i++)
        out->algorithm[i] = (char)tolower((unsigned char)p[i]);
    p += n;
    while (*p == ' ')
        p++;
    for (;;) {
        int hi = hexval((unsigned char)p[0]);
        int lo = hi < 0 ? -1 : hexval((unsigned char)p[1]);
        if (lo < 0)
            return SDP_ERR_SYNTAX;
        if (out->len == SDP_MAX_FINGERPRINT)
            return SDP_ERR_LIMIT;
        out->bytes[out->len++] = (uint8_t)(hi << 4 | lo);
        p += 2;
        if (*p != ':')
            break;
        p++;
    }
    while (*p == ' ')
        p++;
    return *p == '\0' ? 0 : SDP_ERR_SYNTAX;
}

int sdp_fingerprint_format(const sdp_fingerprint *fp, char *buf, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t alen = strnlen(fp->algorithm, sizeof(fp->algorithm));
    if (alen == 0 || alen == sizeof(fp->algorithm) || fp->len == 0 || fp->len > SDP_MAX_FINGERPRINT)
        return SDP_ERR_INVALID;
    size_t need = alen + 1 + fp->len * 3 - 1;
    if (need + 1 > cap)
        return SDP_ERR_SPACE;
    memcpy(buf, fp->algorithm, alen);
    char *w = buf + alen;
    *w++ = ' ';
    for (size_t i = 0; i < fp->len; i++) {
        if (i != 0)
            *w++ = ':';
        *w++ = hex[fp->bytes[i] >> 4];
        *w++ = hex[fp->bytes[i] & 15];
    }
    *w = '\0';
    return (int)need;
}
