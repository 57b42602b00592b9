/* abuse.c - per-address limits and the client address behind trusted proxies (see abuse.h).
 *
 * The table is a GTree (balanced, so addresses an attacker picks cannot make lookups slow the way
 * colliding hash keys would) of entries keyed by the counted address (IPv4, or an IPv6 /64). Entries
 * without open WebSockets are also on `idle`, most recently used first; the tree owns the entries.
 */
#include "signaling/abuse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/ratelimit.h"

typedef struct {
    abuse_addr key;     /* the counted address (IPv6 masked to /64) */
    unsigned conns;     /* open WebSockets */
    ratelimit bucket[ABUSE_KINDS]; /* [ABUSE_STARTS], [ABUSE_UNKNOWN_JOINS]; [ABUSE_CONNECTIONS] unused */
    uint64_t last_us;   /* last use */
    GList idle_link;    /* on t->idle while conns == 0; data points to the entry */
} entry;

struct abuse_table {
    abuse_limits lim;
    GTree *tree;        /* abuse_addr* (inside the entry) -> entry*, owns the entries */
    GQueue idle;        /* entries with no open WebSocket, most recently used at the head */
    uint64_t rest_us;   /* how long an untouched bucket takes from empty to full */
    uint64_t refused[ABUSE_KINDS];
    uint64_t evicted;
};

static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool is_v4(const abuse_addr *a)
{
    return memcmp(a->b, v4_prefix, sizeof(v4_prefix)) == 0;
}

int abuse_addr_parse(const char *s, size_t len, abuse_addr *out)
{
    while (len && isspace((unsigned char)*s))
        s++, len--;
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    if (len && *s == '[') { /* [v6] or [v6]:port */
        const char *close = memchr(s, ']', len);
        if (!close || (close + 1 < s + len && close[1] != ':'))
            return -1;
        len = (size_t)(close - s - 1);
        s++;
    }
    char buf[INET6_ADDRSTRLEN + 8];
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    const char *colon = strchr(buf, ':');
    if (colon && !strchr(colon + 1, ':'))
        buf[colon - buf] = '\0'; /* a.b.c.d:port */
    struct in_addr v4;
    if (inet_pton(AF_INET, buf, &v4) == 1) {
        memcpy(out->b, v4_prefix, sizeof(v4_prefix));
        memcpy(out->b + 12, &v4, 4);
        return 0;
    }
    return inet_pton(AF_INET6, buf, out->b) == 1 ? 0 : -1;
}

void abuse_addr_format(const abuse_addr *a, char *out, size_t outlen)
{
    if (is_v4(a))
        inet_ntop(AF_INET, a->b + 12, out, (socklen_t)outlen);
    else
        inet_ntop(AF_INET6, a->b, out, (socklen_t)outlen);
}

static bool in_net(const abuse_addr *a, const abuse_addr *net, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(a->b, net->b, full) != 0)
        return false;
    return rest == 0 || ((a->b[full] ^ net->b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static bool trusted(const abuse_trust *t, const abuse_addr *a)
{
    for (size_t i = 0; i < t->n; i++)
        if (in_net(a, &t->cidr[i].net, t->cidr[i].bits))
            return true;
    return false;
}

int abuse_trust_parse(const char *spec, abuse_trust *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!spec)
        return 0;
    while (isspace((unsigned char)*spec))
        spec++;
    if (!*spec)
        return 0;
    if (isdigit((unsigned char)*spec) && strspn(spec, "0123456789 ") == strlen(spec)) {
        long hops = strtol(spec, NULL, 10);
        if (hops < 1 || hops > 16) {
            snprintf(err, errlen, "TRUSTED_PROXIES: a number of hops is 1 to 16 (got '%s')", spec);
            return -1;
        }
        out->hops = (unsigned)hops;
        return 0;
    }
    for (const char *p = spec; *p;) {
        size_t len = strcspn(p, ",");
        const char *slash = memchr(p, '/', len);
        size_t alen = slash ? (size_t)(slash - p) : len;
        abuse_addr net;
        if (out->n == ABUSE_MAX_PROXIES) {
            snprintf(err, errlen, "TRUSTED_PROXIES: at most %d networks", ABUSE_MAX_PROXIES);
            return -1;
        }
        if (abuse_addr_parse(p, alen, &net) < 0) {
            snprintf(err, errlen, "TRUSTED_PROXIES: '%.*s' is no address or CIDR", (int)len, p);
            return -1;
        }
        unsigned max = is_v4(&net) ? 32 : 128, bits = max;
        if (slash) {
            char *end;
            long b = strtol(slash + 1, &end, 10);
            while (end < p + len && isspace((unsigned char)*end))
                end++;
            if (end != p + len || slash + 1 == end || b < 0 || b > (long)max) {
                snprintf(err, errlen, "TRUSTED_PROXIES: bad prefix length in '%.*s'", (int)len, p);
                return -1;
            }
            bits = (unsigned)b;
        }
        out->cidr[out->n].net = net;
        out->cidr[out->n].bits = max == 32 ? 96 + bits : bits;
        out->n++;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

void abuse_client_address(const abuse_trust *t, const abuse_addr *peer, const char *xff, abuse_addr *out)
{
    *out = *peer;
    if (!xff || !*xff || (!t->hops && !(t->n && trusted(t, peer))))
        return;
    /* Walk the entries from the right. */
    unsigned seen = 0;
    const char *end = xff + strlen(xff);
    while (end > xff) {
        const char *start = end;
        while (start > xff && start[-1] != ',')
            start--;
        abuse_addr a;
        if (abuse_addr_parse(start, (size_t)(end - start), &a) < 0)
            return; /* what lies left of garbage is not believed */
        seen++;
        *out = a;
        if (t->hops ? seen >= t->hops : !trusted(t, &a))
            return;
        end = start > xff ? start - 1 : start;
    }
}

/* The address the limits count: IPv4 alone, IPv6 by its /64. */
static abuse_addr key_of(const abuse_addr *a)
{
    abuse_addr k = *a;
    if (!is_v4(a))
        memset(k.b + 8, 0, 8);
    return k;
}

static gint key_cmp(gconstpointer a, gconstpointer b, gpointer ud)
{
    (void)ud;
    return memcmp(a, b, sizeof(abuse_addr));
}

abuse_table *abuse_new(const abuse_limits *lim)
{
    abuse_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->lim = *lim;
    if (t->lim.capacity < 1)
        t->lim.capacity = 1;
    t->tree = g_tree_new_full(key_cmp, NULL, NULL, free);
    g_queue_init(&t->idle);
    double rest_s = 0;
    if (lim->starts_per_min > 0)
        rest_s = lim->starts_burst * 60 / lim->starts_per_min;
    if (lim->unknown_per_min > 0 && lim->unknown_burst * 60 / lim->unknown_per_min > rest_s)
        rest_s = lim->unknown_burst * 60 / lim->unknown_per_min;
    t->rest_us = (uint64_t)(rest_s * 1e6) + 1;
    return t;
}

void abuse_free(abuse_table *t)
{
    if (!t)
        return;
    g_tree_destroy(t->tree);
    free(t);
}

static void forget(abuse_table *t, entry *e)
{
    g_queue_unlink(&t->idle, &e->idle_link);
    g_tree_remove(t->tree, &e->key);
}

/* The entry of a's address, made (evicting the least recently used idle one when full) if needed;
 * NULL when the table is full of addresses with open sockets, or without memory. */
static entry *lookup(abuse_table *t, const abuse_addr *a, uint64_t now_us)
{
    abuse_addr k = key_of(a);
    entry *e = g_tree_lookup(t->tree, &k);
    if (e) {
        if (e->conns == 0) { /* to the head of the idle list */
            g_queue_unlink(&t->idle, &e->idle_link);
            g_queue_push_head_link(&t->idle, &e->idle_link);
        }
        e->last_us = now_us;
        return e;
    }
    if ((size_t)g_tree_nnodes(t->tree) >= t->lim.capacity) {
        GList *oldest = g_queue_peek_tail_link(&t->idle);
        if (!oldest)
            return NULL;
        forget(t, oldest->data);
        t->evicted++;
    }
    e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->key = k;
    e->last_us = now_us;
    ratelimit_init(&e->bucket[ABUSE_STARTS], t->lim.starts_per_min / 60, t->lim.starts_burst, now_us);
    ratelimit_init(&e->bucket[ABUSE_UNKNOWN_JOINS], t->lim.unknown_per_min / 60, t->lim.unknown_burst, now_us);
    e->idle_link.data = e;
    g_queue_push_head_link(&t->idle, &e->idle_link);
    g_tree_insert(t->tree, &e->key, e);
    return e;
}

int abuse_conn_open(abuse_table *t, const abuse_addr *a, uint64_t now_us)
{
    entry *e = lookup(t, a, now_us);
    if (!e || (t->lim.max_conns && e->conns >= t->lim.max_conns)) {
        t->refused[ABUSE_CONNECTIONS]++;
        return -1;
    }
    if (e->conns++ == 0)
        g_queue_unlink(&t->idle, &e->idle_link);
    return 0;
}

void abuse_conn_close(abuse_table *t, const abuse_addr *a, uint64_t now_us)
{
    abuse_addr k = key_of(a);
    entry *e = g_tree_lookup(t->tree, &k);
    if (!e || e->conns == 0)
        return;
    e->last_us = now_us;
    if (--e->conns == 0)
        g_queue_push_head_link(&t->idle, &e->idle_link);
}

static double per_min(const abuse_table *t, abuse_kind kind)
{
    return kind == ABUSE_STARTS ? t->lim.starts_per_min : kind == ABUSE_UNKNOWN_JOINS ? t->lim.unknown_per_min : 0;
}

static unsigned retry_of(uint64_t wait_us)
{
    if (wait_us >= (uint64_t)86400 * 1000000)
        return 86400;
    unsigned s = (unsigned)((wait_us + 999000) / 1000000); /* whole seconds, up; a millisecond of rounding is not one more */
    return s ? s : 1;
}

bool abuse_allowed(abuse_table *t, const abuse_addr *a, abuse_kind kind, uint64_t now_us, unsigned *retry_s)
{
    if (kind == ABUSE_CONNECTIONS || per_min(t, kind) <= 0)
        return true;
    entry *e = lookup(t, a, now_us);
    if (!e) { /* full of addresses with open sockets: cannot happen with capacity > MAX_CONNECTIONS */
        if (retry_s)
            *retry_s = 60;
        return false;
    }
    uint64_t wait = ratelimit_wait_us(&e->bucket[kind], now_us);
    if (wait && retry_s)
        *retry_s = retry_of(wait);
    return wait == 0;
}

bool abuse_take(abuse_table *t, const abuse_addr *a, abuse_kind kind, uint64_t now_us, unsigned *retry_s)
{
    if (!abuse_allowed(t, a, kind, now_us, retry_s)) {
        t->refused[kind]++;
        return false;
    }
    if (kind != ABUSE_CONNECTIONS && per_min(t, kind) > 0) {
        abuse_addr k = key_of(a);
        entry *e = g_tree_lookup(t->tree, &k);
        ratelimit_take(&e->bucket[kind], now_us);
    }
    return true;
}

void abuse_count_refusal(abuse_table *t, abuse_kind kind)
{
    if (kind < ABUSE_KINDS)
        t->refused[kind]++;
}

size_t abuse_expire(abuse_table *t, uint64_t now_us)
{
    size_t n = 0;
    GList *l;
    while ((l = g_queue_peek_tail_link(&t->idle)) && now_us >= ((entry *)l->data)->last_us &&
           now_us - ((entry *)l->data)->last_us >= t->rest_us) {
        forget(t, l->data);
        n++;
    }
    return n;
}

size_t abuse_size(const abuse_table *t)
{
    return (size_t)g_tree_nnodes(t->tree);
}

uint64_t abuse_refused(const abuse_table *t, abuse_kind kind)
{
    return kind < ABUSE_KINDS ? t->refused[kind] : 0;
}

uint64_t abuse_evicted(const abuse_table *t)
{
    return t->evicted;
}

unsigned abuse_conns(abuse_table *t, const abuse_addr *a)
{
    abuse_addr k = key_of(a);
    entry *e = g_tree_lookup(t->tree, &k);
    return e ? e->conns : 0;
}

const char *abuse_kind_name(abuse_kind kind)
{
    static const char *const names[ABUSE_KINDS] = {"connections", "meetings", "unknown-meetings"};
    return kind < ABUSE_KINDS ? names[kind] : "?";
}
