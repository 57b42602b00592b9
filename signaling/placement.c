/* placement.c - node records, the choice of a node for a new meeting, REDIS_URL (see placement.h). */
#include "signaling/placement.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parse_u64(const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!v || !*v || *v == '-')
        return false;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end)
        return false;
    *out = n;
    return true;
}

void placement_node_field(cluster_node *n, const char *name, const char *value)
{
    if (!name || !value)
        return;
    if (!strcmp(name, "url"))
        snprintf(n->url, sizeof(n->url), "%s", value);
    else if (!strcmp(name, "media"))
        snprintf(n->media, sizeof(n->media), "%s", value);
    else if (!strcmp(name, "capacity"))
        parse_u64(value, &n->capacity);
    else if (!strcmp(name, "participants"))
        parse_u64(value, &n->participants);
    else if (!strcmp(name, "meetings"))
        parse_u64(value, &n->meetings);
    else if (!strcmp(name, "pps"))
        parse_u64(value, &n->pps);
    else if (!strcmp(name, "draining"))
        n->draining = !strcmp(value, "1");
    else if (!strcmp(name, "cpu")) {
        char *end;
        errno = 0;
        double d = strtod(value, &end);
        if (!errno && !*end && d >= 0)
            n->cpu = d;
    }
}

bool placement_node_valid(const cluster_node *n)
{
    return n->id[0] && n->url[0];
}

/* a's load compared with b's: (pa + ma) / ca against (pb + mb) / cb, cross-multiplied. */
static int cmp_load(const cluster_node *a, const cluster_node *b, const char *self)
{
    unsigned __int128 la = (unsigned __int128)(a->participants + a->meetings) * b->capacity;
    unsigned __int128 lb = (unsigned __int128)(b->participants + b->meetings) * a->capacity;
    if (la != lb)
        return la < lb ? -1 : 1;
    if (a->meetings != b->meetings)
        return a->meetings < b->meetings ? -1 : 1;
    bool a_self = self && !strcmp(a->id, self), b_self = self && !strcmp(b->id, self);
    if (a_self != b_self)
        return a_self ? -1 : 1;
    return strcmp(a->id, b->id);
}

int placement_choose(const cluster_node *nodes, size_t n, const char *self)
{
    int best = -1;
    for (size_t i = 0; i < n; i++) {
        const cluster_node *c = &nodes[i];
        if (!placement_node_valid(c) || c->draining || c->participants >= c->capacity)
            continue;
        if (best < 0 || cmp_load(c, &nodes[best], self) < 0)
            best = (int)i;
    }
    return best;
}

int placement_parse_redis_url(const char *url, redis_target *out)
{
    static const char scheme[] = "redis://";
    memset(out, 0, sizeof(*out));
    if (!url || strncmp(url, scheme, sizeof(scheme) - 1) != 0)
        return -1;
    const char *p = url + sizeof(scheme) - 1, *h_end;
    const char *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (!colon)
            return -1; /* a user without a password */
        size_t ul = (size_t)(colon - p), pl = (size_t)(at - colon - 1);
        if (ul >= sizeof(out->user) || pl >= sizeof(out->password))
            return -1;
        memcpy(out->user, p, ul);
        memcpy(out->password, colon + 1, pl);
        p = at + 1;
    }
    const char *h = p;
    if (*p == '[') {
        h = p + 1;
        h_end = strchr(h, ']');
        if (!h_end)
            return -1;
        p = h_end + 1;
    } else {
        h_end = p + strcspn(p, ":/");
        p = h_end;
    }
    size_t hl = (size_t)(h_end - h);
    if (hl == 0 || hl >= sizeof(out->host))
        return -1;
    for (size_t i = 0; i < hl; i++) {
        char ch = h[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '-' || ch == ':' || ch == '_'))
            return -1;
    }
    memcpy(out->host, h, hl);
    out->port = 6379;
    if (*p == ':') {
        char *end;
        errno = 0;
        long v = strtol(p + 1, &end, 10);
        if (errno || end == p + 1 || v < 1 || v > 65535)
            return -1;
        out->port = (int)v;
        p = end;
    }
    if (*p == '/' && p[1]) {
        char *end;
        errno = 0;
        long v = strtol(p + 1, &end, 10);
        if (errno || end == p + 1 || *end || v < 0 || v > 15)
            return -1;
        out->db = (int)v;
        p = end;
    } else if (*p == '/') {
        p++;
    }
    return *p ? -1 : 0;
}

bool placement_node_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= VM_NODE_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-'))
            return false;
    }
    return true;
}
