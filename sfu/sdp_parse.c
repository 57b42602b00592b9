/*
 * sfu/sdp_parse.c — SDP text -> sdp_session (see sfu/sdp.h for the model and the bounds).
 *
 * One pass over the lines. Each line is copied into a fixed stack buffer (SDP_MAX_LINE),
 * checked for stray bytes, split in place into NUL-terminated tokens, and handed to the
 * handler of its type letter or attribute name, which stores the values through the
 * sdp_add_* / sdp_media_add_* construction functions (so every string is copied into the
 * session's arena and every bound is enforced in one place).
 *
 * Strictness, chosen to match what browsers accept and produce:
 *  - v=0 must be the first line; o= is required (s= and t= may be missing); unknown type
 *    letters are an error (RFC 8866 §5); i= u= e= p= k= r= z= are read and ignored.
 *  - Lines end in CRLF or LF; empty lines are skipped; NUL, other control bytes and DEL
 *    are an error. Repeated spaces between tokens are tolerated.
 *  - Known attributes must follow their grammar; an attribute at a level where we do not
 *    model it, and every unknown attribute, is kept verbatim in the level's attrs list.
 *  - mids are unique; every mid named by a=group exists; RTP m-lines have numeric payload
 *    types 0..127.
 * Errors carry the 1-based line number and a short reason.
 */
#include "sfu/sdp.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

typedef struct parser {
    sdp_session *s;
    sdp_media *m; /* current m-line, NULL at session level */
    int line;
    bool have_v, have_o;
    const char *reason;
    int group_lines[SDP_MAX_GROUPS];
} parser;

/* Fails the parse with code and reason (evaluated in a handler returning int). */
#define FAIL(p, code, why)             \
    do {                           \
        (p)->reason = (why);   \
        return (code);         \
    } while (0)

/* ---- tokens and numbers ------------------------------------------------------------------- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* The next space-separated token of *cur (NUL-terminated in place), or NULL at the end. */
static char *next_tok(char **cur)
{
    char *p = *cur;
    while (is_space(*p))
        p++;
    if (*p == '\0') {
        *cur = p;
        return NULL;
    }
    char *start = p;
    while (*p != '\0' && !is_space(*p))
        p++;
    if (*p != '\0')
        *p++ = '\0';
    *cur = p;
    return start;
}

/* What is left of *cur with surrounding spaces removed, or NULL when nothing is left. */
static char *rest(char **cur)
{
    char *p = *cur;
    while (is_space(*p))
        p++;
    size_t n = strlen(p);
    while (n > 0 && is_space(p[n - 1]))
        p[--n] = '\0';
    *cur = p + n;
    return n ? p : NULL;
}

static bool parse_u64(const char *tok, uint64_t max, uint64_t *out)
{
    if (tok == NULL || *tok == '\0' || strlen(tok) > 20)
        return false;
    uint64_t v = 0;
    for (const char *c = tok; *c; c++) {
        if (!isdigit((unsigned char)*c))
            return false;
        unsigned d = (unsigned)(*c - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool parse_u32(const char *tok, uint32_t max, uint32_t *out)
{
    uint64_t v;
    if (!parse_u64(tok, max, &v))
        return false;
    *out = (uint32_t)v;
    return true;
}

/* RFC 8839 ice-char: ALPHA / DIGIT / "+" / "/". */
static bool ice_chars(const char *t, size_t min, size_t max)
{
    size_t n = strlen(t);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)t[i]) && t[i] != '+' && t[i] != '/')
            return false;
    return true;
}

/* RFC 8866 token characters. */
static bool token_chars(const char *t)
{
    if (*t == '\0')
        return false;
    for (; *t; t++) {
        unsigned char c = (unsigned char)*t;
        if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c) != NULL)
            return false;
    }
    return true;
}

static sdp_direction direction_from(const char *name)
{
    if (strcmp(name, "sendrecv") == 0)
        return SDP_DIR_SENDRECV;
    if (strcmp(name, "sendonly") == 0)
        return SDP_DIR_SENDONLY;
    if (strcmp(name, "recvonly") == 0)
        return SDP_DIR_RECVONLY;
    if (strcmp(name, "inactive") == 0)
        return SDP_DIR_INACTIVE;
    return SDP_DIR_NONE;
}

/* ---- candidates --------------------------------------------------------------------------- */

/* Copies src into a fixed field, zero-filling the rest (a repeated extension such as a second
 * raddr leaves no stale bytes, so equal candidates compare equal byte for byte). */
static bool copy_field(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n == 0 || n >= cap)
        return false;
    memset(dst, 0, cap);
    memcpy(dst, src, n);
    return true;
}

static int cand_type(const char *t, sdp_cand_type *out)
{
    static const char *names[] = { "host", "srflx", "prflx", "relay" };
    for (int i = 0; i < 4; i++)
        if (strcmp(t, names[i]) == 0) {
            *out = (sdp_cand_type)i;
            return 0;
        }
    return SDP_ERR_SYNTAX;
}

/* Extension pairs after "typ <type>": raddr, rport, tcptype are kept, the rest skipped. */
static int cand_extensions(char *cur, sdp_candidate *c)
{
    char *name;
    while ((name = next_tok(&cur)) != NULL) {
        char *value = next_tok(&cur);
        if (value == NULL)
            return SDP_ERR_SYNTAX;
        uint32_t v;
        if (strcmp(name, "raddr") == 0) {
            if (!copy_field(c->raddr, sizeof(c->raddr), value))
                return SDP_ERR_LIMIT;
        } else if (strcmp(name, "rport") == 0) {
            if (!parse_u32(value, 65535, &v))
                return SDP_ERR_SYNTAX;
            c->rport = (int32_t)v;
        } else if (strcmp(name, "tcptype") == 0) {
            if (!copy_field(c->tcptype, sizeof(c->tcptype), value))
                return SDP_ERR_SYNTAX;
        }
    }
    return 0;
}

/* Parses the part after "candidate:" (NUL-terminated, modified in place). */
static int cand_fields(char *cur, sdp_candidate *c)
{
    memset(c, 0, sizeof(*c));
    c->rport = -1;
    char *f[8];
    for (int i = 0; i < 8; i++)
        if ((f[i] = next_tok(&cur)) == NULL)
            return SDP_ERR_SYNTAX;
    uint32_t comp, prio, port;
    if (!ice_chars(f[0], 1, SDP_CAND_FOUNDATION_MAX))
        return strlen(f[0]) > SDP_CAND_FOUNDATION_MAX ? SDP_ERR_LIMIT : SDP_ERR_SYNTAX;
    strcpy(c->foundation, f[0]);
    if (!parse_u32(f[1], 256, &comp) || comp == 0 || !parse_u32(f[3], UINT32_MAX, &prio) ||
        !parse_u32(f[5], 65535, &port) || strcmp(f[6], "typ") != 0)
        return SDP_ERR_SYNTAX;
    c->component = (uint16_t)comp;
    c->priority = prio;
    c->port = (uint16_t)port;
    if (!copy_field(c->transport, sizeof(c->transport), f[2]))
        return SDP_ERR_SYNTAX;
    for (char *t = c->transport; *t; t++)
        *t = (char)tolower((unsigned char)*t);
    if (!token_chars(c->transport))
        return SDP_ERR_SYNTAX;
    if (!copy_field(c->address, sizeof(c->address), f[4]))
        return SDP_ERR_LIMIT;
    if (cand_type(f[7], &c->type) != 0)
        return SDP_ERR_SYNTAX;
    return cand_extensions(cur, c);
}

int sdp_candidate_parse(const char *text, size_t len, sdp_candidate *out)
{
    char buf[512];
    if (text == NULL || out == NULL)
        return SDP_ERR_INVALID;
    while (len > 0 && (text[len - 1] == '\r' || text[len - 1] == '\n'))
        len--;
    if (len >= sizeof(buf))
        return SDP_ERR_LIMIT;
    memcpy(buf, text, len);
    buf[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)buf[i] < 0x20 && buf[i] != '\t') || (unsigned char)buf[i] == 0x7f)
            return SDP_ERR_SYNTAX;
    char *p = buf;
    if (strncmp(p, "a=", 2) == 0)
        p += 2;
    if (strncmp(p, "candidate:", 10) != 0)
        return SDP_ERR_SYNTAX;
    return cand_fields(p + 10, out);
}

/* ---- attribute handlers ------------------------------------------------------------------- */

typedef int (*attr_fn)(parser *p, char *value);

/* Stores an int result from a construction function, mapping misuse codes to syntax. */
static int stored(parser *p, int rc, const char *why)
{
    if (rc == 0)
        return 0;
    if (rc == SDP_ERR_LIMIT)
        FAIL(p, rc, "too many entries of this kind");
    if (rc == SDP_ERR_NOMEM)
        FAIL(p, rc, "out of memory");
    FAIL(p, SDP_ERR_SYNTAX, why);
}

static sdp_transport *transport_of(parser *p)
{
    return p->m ? &p->m->transport : &p->s->transport;
}

static int a_ice_ufrag(parser *p, char *v)
{
    if (!ice_chars(v, 4, 256))
        FAIL(p, SDP_ERR_SYNTAX, "bad ice-ufrag");
    return stored(p, sdp_set_str(p->s, &transport_of(p)->ice_ufrag, v), "bad ice-ufrag");
}

static int a_ice_pwd(parser *p, char *v)
{
    if (!ice_chars(v, 22, 256))
        FAIL(p, SDP_ERR_SYNTAX, "bad ice-pwd");
    return stored(p, sdp_set_str(p->s, &transport_of(p)->ice_pwd, v), "bad ice-pwd");
}

static int a_ice_options(parser *p, char *v)
{
    char *cur = v;
    char *r = rest(&cur);
    if (r == NULL)
        FAIL(p, SDP_ERR_SYNTAX, "empty ice-options");
    return stored(p, sdp_set_str(p->s, &transport_of(p)->ice_options, r), "bad ice-options");
}

static int a_fingerprint(parser *p, char *v)
{
    int rc = sdp_fingerprint_parse(v, &transport_of(p)->fingerprint);
    if (rc != 0)
        FAIL(p, rc, "bad fingerprint");
    return 0;
}

static int a_setup(parser *p, char *v)
{
    static const char *names[] = { "actpass", "active", "passive", "holdconn" };
    for (int i = 0; i < 4; i++)
        if (strcmp(v, names[i]) == 0) {
            transport_of(p)->setup = (sdp_setup)(i + 1);
            return 0;
        }
    FAIL(p, SDP_ERR_SYNTAX, "bad setup role");
}

static int a_group(parser *p, char *v)
{
    char *cur = v;
    char *sem = next_tok(&cur);
    if (sem == NULL || !token_chars(sem))
        FAIL(p, SDP_ERR_SYNTAX, "bad group");
    size_t idx = p->s->n_groups;
    sdp_group *g = sdp_add_group(p->s, sem);
    if (g == NULL)
        FAIL(p, idx >= SDP_MAX_GROUPS ? SDP_ERR_LIMIT : SDP_ERR_NOMEM, "too many groups");
    p->group_lines[idx] = p->line;
    char *mid;
    while ((mid = next_tok(&cur)) != NULL) {
        if (strlen(mid) > SDP_MAX_MID || !token_chars(mid))
            FAIL(p, SDP_ERR_SYNTAX, "bad mid in group");
        if (sdp_group_has_mid(g, mid))
            FAIL(p, SDP_ERR_SYNTAX, "mid twice in a group");
        int rc = stored(p, sdp_group_add_mid(p->s, g, mid), "bad mid in group");
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int a_msid_semantic(parser *p, char *v)
{
    char *cur = v;
    char *r = rest(&cur);
    if (r == NULL)
        FAIL(p, SDP_ERR_SYNTAX, "empty msid-semantic");
    return stored(p, sdp_set_str(p->s, &p->s->msid_semantic, r), "bad msid-semantic");
}

static int a_mid(parser *p, char *v)
{
    if (p->m->mid != NULL)
        FAIL(p, SDP_ERR_SYNTAX, "second mid on an m-line");
    if (strlen(v) > SDP_MAX_MID || !token_chars(v))
        FAIL(p, SDP_ERR_SYNTAX, "bad mid");
    if (sdp_find_mid(p->s, v) != NULL)
        FAIL(p, SDP_ERR_SYNTAX, "duplicate mid");
    return stored(p, sdp_set_str(p->s, &p->m->mid, v), "bad mid");
}

/* "<pt> <name>/<clock>[/<channels>]" */
static int a_rtpmap(parser *p, char *v)
{
    char *cur = v;
    char *pt_s = next_tok(&cur), *enc = next_tok(&cur);
    uint32_t pt, clock, ch = 0;
    if (enc == NULL || next_tok(&cur) != NULL || !parse_u32(pt_s, 127, &pt))
        FAIL(p, SDP_ERR_SYNTAX, "bad rtpmap");
    char *slash = strchr(enc, '/');
    if (slash == NULL)
        FAIL(p, SDP_ERR_SYNTAX, "rtpmap without clock rate");
    *slash++ = '\0';
    char *slash2 = strchr(slash, '/');
    if (slash2 != NULL) {
        *slash2++ = '\0';
        if (!parse_u32(slash2, 255, &ch) || ch == 0)
            FAIL(p, SDP_ERR_SYNTAX, "bad rtpmap channels");
    }
    if (!parse_u32(slash, UINT32_MAX, &clock) || clock == 0 || !token_chars(enc))
        FAIL(p, SDP_ERR_SYNTAX, "bad rtpmap");
    return stored(p, sdp_media_add_rtpmap(p->s, p->m, (int)pt, enc, clock, ch), "duplicate rtpmap");
}

static int keep_attr(parser *p, const char *name, const char *value);

/* "<fmt> <params>"; a non-numeric fmt (not RTP) is kept verbatim. */
static int a_fmtp(parser *p, char *v)
{
    size_t flen = strcspn(v, " \t");
    if (flen == 0 || v[flen] == '\0')
        FAIL(p, SDP_ERR_SYNTAX, "bad fmtp");
    char save = v[flen];
    v[flen] = '\0';
    uint32_t pt;
    bool numeric = parse_u32(v, 127, &pt);
    v[flen] = save;
    if (!numeric)
        return keep_attr(p, "fmtp", v);
    char *cur = v + flen;
    char *params = rest(&cur);
    if (params == NULL)
        FAIL(p, SDP_ERR_SYNTAX, "bad fmtp");
    return stored(p, sdp_media_add_fmtp(p->s, p->m, (int)pt, params), "duplicate fmtp");
}

/* "<pt>|* <type> [<param>]" */
static int a_rtcp_fb(parser *p, char *v)
{
    char *cur = v;
    char *pt_s = next_tok(&cur), *type = next_tok(&cur);
    char *param = rest(&cur);
    uint32_t pt = 0;
    if (type == NULL || !token_chars(type))
        FAIL(p, SDP_ERR_SYNTAX, "bad rtcp-fb");
    bool all = strcmp(pt_s, "*") == 0;
    if (!all && !parse_u32(pt_s, 127, &pt))
        FAIL(p, SDP_ERR_SYNTAX, "bad rtcp-fb payload type");
    return stored(p, sdp_media_add_rtcp_fb(p->s, p->m, all ? -1 : (int)pt, type, param), "bad rtcp-fb");
}

/* "<id>[/<direction>] <uri> [<attrs>]" */
static int a_extmap(parser *p, char *v)
{
    char *cur = v;
    char *id_s = next_tok(&cur), *uri = next_tok(&cur);
    char *attrs = rest(&cur);
    if (uri == NULL)
        FAIL(p, SDP_ERR_SYNTAX, "bad extmap");
    sdp_direction dir = SDP_DIR_NONE;
    char *slash = strchr(id_s, '/');
    if (slash != NULL) {
        *slash++ = '\0';
        if ((dir = direction_from(slash)) == SDP_DIR_NONE)
            FAIL(p, SDP_ERR_SYNTAX, "bad extmap direction");
    }
    uint32_t id;
    if (!parse_u32(id_s, 255, &id) || id == 0)
        FAIL(p, SDP_ERR_SYNTAX, "bad extmap id");
    return stored(p, sdp_media_add_extmap(p->s, p->m, id, dir, uri, attrs), "duplicate extmap id");
}

/* "<ssrc> <attribute>[:<value>]"; only cname and msid are kept. */
static int a_ssrc(parser *p, char *v)
{
    char *cur = v;
    char *id_s = next_tok(&cur);
    char *attr = rest(&cur);
    uint32_t ssrc;
    if (attr == NULL || !parse_u32(id_s, UINT32_MAX, &ssrc))
        FAIL(p, SDP_ERR_SYNTAX, "bad ssrc");
    char *colon = strchr(attr, ':');
    char *val = NULL;
    if (colon != NULL) {
        *colon = '\0';
        val = colon + 1;
    }
    if (strcmp(attr, "cname") == 0) {
        if (val == NULL || *val == '\0' || strchr(val, ' ') != NULL)
            FAIL(p, SDP_ERR_SYNTAX, "bad ssrc cname");
        return stored(p, sdp_media_add_ssrc(p->s, p->m, ssrc, val, NULL, NULL), "bad ssrc cname");
    }
    if (strcmp(attr, "msid") == 0) {
        char empty[1] = "";
        char *mc = val ? val : empty;
        char *stream = next_tok(&mc), *track = next_tok(&mc);
        if (stream == NULL || next_tok(&mc) != NULL)
            FAIL(p, SDP_ERR_SYNTAX, "bad ssrc msid");
        return stored(p, sdp_media_add_ssrc(p->s, p->m, ssrc, NULL, stream, track), "bad ssrc msid");
    }
    return stored(p, sdp_media_add_ssrc(p->s, p->m, ssrc, NULL, NULL, NULL), "bad ssrc");
}

static int a_ssrc_group(parser *p, char *v)
{
    char *cur = v;
    char *sem = next_tok(&cur);
    uint32_t ssrcs[SDP_MAX_GROUP_SSRCS];
    size_t n = 0;
    char *t;
    if (sem == NULL || !token_chars(sem))
        FAIL(p, SDP_ERR_SYNTAX, "bad ssrc-group");
    while ((t = next_tok(&cur)) != NULL) {
        if (n == SDP_MAX_GROUP_SSRCS)
            FAIL(p, SDP_ERR_LIMIT, "too many ssrcs in ssrc-group");
        if (!parse_u32(t, UINT32_MAX, &ssrcs[n++]))
            FAIL(p, SDP_ERR_SYNTAX, "bad ssrc in ssrc-group");
    }
    if (n == 0)
        FAIL(p, SDP_ERR_SYNTAX, "empty ssrc-group");
    return stored(p, sdp_media_add_ssrc_group(p->s, p->m, sem, ssrcs, n), "bad ssrc-group");
}

static int a_msid(parser *p, char *v)
{
    char *cur = v;
    char *stream = next_tok(&cur), *track = next_tok(&cur);
    if (stream == NULL || next_tok(&cur) != NULL)
        FAIL(p, SDP_ERR_SYNTAX, "bad msid");
    return stored(p, sdp_media_add_msid(p->s, p->m, stream, track), "bad msid");
}

static int a_candidate(parser *p, char *v)
{
    sdp_candidate c;
    int rc = cand_fields(v, &c);
    if (rc != 0)
        FAIL(p, rc, "bad candidate");
    return stored(p, sdp_media_add_candidate(p->s, p->m, &c), "bad candidate");
}

/* ---- attribute dispatch ------------------------------------------------------------------- */

enum { LVL_SESSION = 1, LVL_MEDIA = 2, LVL_BOTH = 3, FLAG = 4 };

/* Flags set a bool; offset into sdp_media / sdp_session chosen by level. */
static bool *flag_field(parser *p, const char *name)
{
    sdp_media *m = p->m;
    if (strcmp(name, "extmap-allow-mixed") == 0)
        return m ? &m->extmap_allow_mixed : &p->s->extmap_allow_mixed;
    if (strcmp(name, "ice-lite") == 0)
        return &p->s->ice_lite;
    if (strcmp(name, "rtcp-mux") == 0)
        return &m->rtcp_mux;
    if (strcmp(name, "rtcp-mux-only") == 0)
        return &m->rtcp_mux_only;
    if (strcmp(name, "rtcp-rsize") == 0)
        return &m->rtcp_rsize;
    if (strcmp(name, "end-of-candidates") == 0)
        return &m->end_of_candidates;
    return &m->bundle_only; /* "bundle-only" */
}

static const struct {
    const char *name;
    int how;
    attr_fn fn;
} ATTRS[] = {
    { "ice-ufrag", LVL_BOTH, a_ice_ufrag },
    { "ice-pwd", LVL_BOTH, a_ice_pwd },
    { "ice-options", LVL_BOTH, a_ice_options },
    { "fingerprint", LVL_BOTH, a_fingerprint },
    { "setup", LVL_BOTH, a_setup },
    { "extmap-allow-mixed", LVL_BOTH | FLAG, NULL },
    { "group", LVL_SESSION, a_group },
    { "msid-semantic", LVL_SESSION, a_msid_semantic },
    { "ice-lite", LVL_SESSION | FLAG, NULL },
    { "mid", LVL_MEDIA, a_mid },
    { "rtpmap", LVL_MEDIA, a_rtpmap },
    { "fmtp", LVL_MEDIA, a_fmtp },
    { "rtcp-fb", LVL_MEDIA, a_rtcp_fb },
    { "extmap", LVL_MEDIA, a_extmap },
    { "ssrc", LVL_MEDIA, a_ssrc },
    { "ssrc-group", LVL_MEDIA, a_ssrc_group },
    { "msid", LVL_MEDIA, a_msid },
    { "candidate", LVL_MEDIA, a_candidate },
    { "rtcp-mux", LVL_MEDIA | FLAG, NULL },
    { "rtcp-mux-only", LVL_MEDIA | FLAG, NULL },
    { "rtcp-rsize", LVL_MEDIA | FLAG, NULL },
    { "end-of-candidates", LVL_MEDIA | FLAG, NULL },
    { "bundle-only", LVL_MEDIA | FLAG, NULL },
};

static int keep_attr(parser *p, const char *name, const char *value)
{
    return stored(p, sdp_add_attr(p->s, p->m, name, value), "bad attribute");
}

static int parse_attr(parser *p, char *text)
{
    char *value = strchr(text, ':');
    if (value != NULL)
        *value++ = '\0';
    if (!token_chars(text))
        FAIL(p, SDP_ERR_SYNTAX, "bad attribute name");
    sdp_direction dir = direction_from(text);
    if (dir != SDP_DIR_NONE && p->m != NULL) {
        if (value != NULL)
            FAIL(p, SDP_ERR_SYNTAX, "direction attribute with a value");
        p->m->direction = dir;
        return 0;
    }
    int level = p->m ? LVL_MEDIA : LVL_SESSION;
    for (size_t i = 0; i < sizeof(ATTRS) / sizeof(ATTRS[0]); i++) {
        if (strcmp(ATTRS[i].name, text) != 0)
            continue;
        if ((ATTRS[i].how & level) == 0)
            break; /* at a level we do not model: keep verbatim */
        if (ATTRS[i].how & FLAG) {
            if (value != NULL)
                FAIL(p, SDP_ERR_SYNTAX, "flag attribute with a value");
            *flag_field(p, text) = true;
            return 0;
        }
        if (value == NULL || *value == '\0')
            FAIL(p, SDP_ERR_SYNTAX, "attribute value missing");
        return ATTRS[i].fn(p, value);
    }
    return keep_attr(p, text, value);
}

/* ---- line handlers ------------------------------------------------------------------------ */

/* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> */
static int parse_origin(parser *p, char *v)
{
    char *cur = v;
    char *f[6];
    for (int i = 0; i < 6; i++)
        if ((f[i] = next_tok(&cur)) == NULL)
            FAIL(p, SDP_ERR_SYNTAX, "o= needs six fields");
    if (next_tok(&cur) != NULL || !parse_u64(f[1], UINT64_MAX, &p->s->sess_id) ||
        !parse_u64(f[2], UINT64_MAX, &p->s->sess_version))
        FAIL(p, SDP_ERR_SYNTAX, "bad o= line");
    sdp_session *s = p->s;
    int rc = sdp_set_str(s, &s->origin_user, f[0]);
    if (rc == 0)
        rc = sdp_set_str(s, &s->origin_nettype, f[3]);
    if (rc == 0)
        rc = sdp_set_str(s, &s->origin_addrtype, f[4]);
    if (rc == 0)
        rc = sdp_set_str(s, &s->origin_address, f[5]);
    return stored(p, rc, "bad o= line");
}

static int parse_conn(parser *p, char *v)
{
    char *cur = v;
    char *nt = next_tok(&cur), *at = next_tok(&cur), *addr = next_tok(&cur);
    if (addr == NULL || next_tok(&cur) != NULL || strcmp(nt, "IN") != 0)
        FAIL(p, SDP_ERR_SYNTAX, "bad c= line");
    sdp_conn *c = p->m ? &p->m->conn : &p->s->conn;
    return stored(p, sdp_set_conn(p->s, c, at, addr), "bad c= line");
}

static int parse_timing(parser *p, char *v)
{
    char *cur = v;
    char *a = next_tok(&cur), *b = next_tok(&cur);
    if (b == NULL || next_tok(&cur) != NULL || !parse_u64(a, UINT64_MAX, &p->s->t_start) ||
        !parse_u64(b, UINT64_MAX, &p->s->t_stop))
        FAIL(p, SDP_ERR_SYNTAX, "bad t= line");
    return 0;
}

static sdp_media_kind kind_from(const char *media)
{
    if (strcmp(media, "audio") == 0)
        return SDP_MEDIA_AUDIO;
    if (strcmp(media, "video") == 0)
        return SDP_MEDIA_VIDEO;
    if (strcmp(media, "application") == 0)
        return SDP_MEDIA_APPLICATION;
    return SDP_MEDIA_OTHER;
}

/* m=<media> <port>[/<number of ports>] <proto> <fmt> ... */
static int parse_media(parser *p, char *v)
{
    char *cur = v;
    char *media = next_tok(&cur), *port_s = next_tok(&cur), *proto = next_tok(&cur);
    if (proto == NULL || !token_chars(media))
        FAIL(p, SDP_ERR_SYNTAX, "bad m= line");
    uint32_t port, nports = 0;
    char *slash = strchr(port_s, '/');
    if (slash != NULL) {
        *slash++ = '\0';
        if (!parse_u32(slash, 65535, &nports) || nports == 0)
            FAIL(p, SDP_ERR_SYNTAX, "bad m= port count");
    }
    if (!parse_u32(port_s, 65535, &port))
        FAIL(p, SDP_ERR_SYNTAX, "bad m= port");
    if (p->s->n_media == SDP_MAX_MEDIA)
        FAIL(p, SDP_ERR_LIMIT, "too many m-lines");
    sdp_media *m = sdp_add_media(p->s, kind_from(media), media, proto);
    if (m == NULL)
        FAIL(p, SDP_ERR_SYNTAX, "bad m= line");
    m->port = (uint16_t)port;
    m->num_ports = (uint16_t)nports;
    p->m = m;
    bool rtp = strstr(proto, "RTP/") != NULL;
    char *fmt;
    while ((fmt = next_tok(&cur)) != NULL) {
        int rc = stored(p, sdp_media_add_fmt(p->s, m, fmt), "bad m= format");
        if (rc != 0)
            return rc;
        if (rtp && sdp_media_pt(m, m->n_fmts - 1) < 0)
            FAIL(p, SDP_ERR_SYNTAX, "RTP m= line with a format that is not a payload type");
    }
    if (m->n_fmts == 0)
        FAIL(p, SDP_ERR_SYNTAX, "m= line without formats");
    return 0;
}

static int parse_line(parser *p, char type, char *v)
{
    if (!p->have_v) {
        if (type != 'v')
            FAIL(p, SDP_ERR_MISSING, "v= must be the first line");
        if (strcmp(v, "0") != 0)
            FAIL(p, SDP_ERR_SYNTAX, "unsupported SDP version");
        p->have_v = true;
        return 0;
    }
    if (p->m != NULL && strchr("vostrzuep", type) != NULL)
        FAIL(p, SDP_ERR_SYNTAX, "session-level line after m=");
    switch (type) {
    case 'v': FAIL(p, SDP_ERR_SYNTAX, "second v= line");
    case 'o':
        if (p->have_o)
            FAIL(p, SDP_ERR_SYNTAX, "second o= line");
        p->have_o = true;
        return parse_origin(p, v);
    case 's': return stored(p, sdp_set_str(p->s, &p->s->name, v), "bad s= line");
    case 't': return parse_timing(p, v);
    case 'c': return parse_conn(p, v);
    case 'b':
        if (strchr(v, ':') == NULL)
            FAIL(p, SDP_ERR_SYNTAX, "bad b= line");
        return stored(p, sdp_add_bandwidth(p->s, p->m, v), "bad b= line");
    case 'm':
        if (!p->have_o)
            FAIL(p, SDP_ERR_MISSING, "o= missing before m=");
        return parse_media(p, v);
    case 'a':
        if (*v == '\0')
            FAIL(p, SDP_ERR_SYNTAX, "empty a= line");
        return parse_attr(p, v);
    case 'i': case 'u': case 'e': case 'p': case 'k': case 'r': case 'z': return 0;
    default: FAIL(p, SDP_ERR_SYNTAX, "unknown line type");
    }
}

/* ---- driver ------------------------------------------------------------------------------- */

/* Copies line [start, start+n) into buf as a C string after checking its bytes. */
static int take_line(parser *p, const char *start, size_t n, char *buf)
{
    if (n > SDP_MAX_LINE)
        FAIL(p, SDP_ERR_LIMIT, "line too long");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)start[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            FAIL(p, SDP_ERR_SYNTAX, "control byte in line");
    }
    memcpy(buf, start, n);
    buf[n] = '\0';
    return 0;
}

static int check_groups(parser *p)
{
    for (size_t i = 0; i < p->s->n_groups; i++) {
        const sdp_group *g = &p->s->groups[i];
        for (size_t k = 0; k < g->n_mids; k++)
            if (sdp_find_mid(p->s, g->mids[k]) == NULL) {
                p->line = p->group_lines[i];
                FAIL(p, SDP_ERR_SYNTAX, "group names a mid that no m-line has");
            }
    }
    return 0;
}

static int parse_all(parser *p, const char *text, size_t len)
{
    char buf[SDP_MAX_LINE + 1];
    size_t pos = 0;
    while (pos < len) {
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - start) : len - pos;
        pos += n + (nl != NULL);
        if (++p->line > SDP_MAX_LINES)
            FAIL(p, SDP_ERR_LIMIT, "too many lines");
        if (n > 0 && start[n - 1] == '\r')
            n--;
        int rc = take_line(p, start, n, buf);
        if (rc != 0)
            return rc;
        if (n == 0)
            continue;
        if (n < 2 || buf[1] != '=' || !islower((unsigned char)buf[0]))
            FAIL(p, SDP_ERR_SYNTAX, "line is not <type>=<value>");
        if ((rc = parse_line(p, buf[0], buf + 2)) != 0)
            return rc;
    }
    p->line = 0;
    if (!p->have_v)
        FAIL(p, SDP_ERR_MISSING, "v= missing");
    if (!p->have_o)
        FAIL(p, SDP_ERR_MISSING, "o= missing");
    return check_groups(p);
}

int sdp_parse(const char *text, size_t len, sdp_session **out, sdp_error *err)
{
    sdp_error dummy;
    if (err == NULL)
        err = &dummy;
    *err = (sdp_error){ 0, 0, "ok" };
    if (out == NULL || (text == NULL && len != 0)) {
        *err = (sdp_error){ SDP_ERR_INVALID, 0, "bad arguments" };
        return SDP_ERR_INVALID;
    }
    *out = NULL;
    if (len > SDP_MAX_TEXT) {
        *err = (sdp_error){ SDP_ERR_LIMIT, 0, "description too large" };
        return SDP_ERR_LIMIT;
    }
    parser p = { .s = sdp_session_new() };
    if (p.s == NULL) {
        *err = (sdp_error){ SDP_ERR_NOMEM, 0, "out of memory" };
        return SDP_ERR_NOMEM;
    }
    int rc = parse_all(&p, text, len);
    if (rc != 0) {
        *err = (sdp_error){ rc, p.line, p.reason ? p.reason : sdp_strerror(rc) };
        sdp_free(p.s);
        return rc;
    }
    *out = p.s;
    return 0;
}
