/* cluster.c - the load per node of a run against several nodes (see cluster.h). */
#include "bench/cluster.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/probe.h"
#include "bench/session.h"
#include "bench/ws.h"

/* The value of label `name` in the label set starting at p (after '{'), copied to out. */
static bool label(const char *p, const char *end, const char *name, char *out, size_t len)
{
    char key[32];
    snprintf(key, sizeof(key), "%s=\"", name);
    const char *v = strstr(p, key);
    if (!v || v >= end)
        return false;
    v += strlen(key);
    const char *q = strchr(v, '"');
    if (!q || q > end || (size_t)(q - v) >= len)
        return false;
    memcpy(out, v, (size_t)(q - v));
    out[q - v] = '\0';
    return true;
}

int bench_cluster_parse_nodes(const char *metrics, bench_cluster_node *out, int max)
{
    static const char name[] = "videomeet_cluster_node_info{";
    int n = 0;
    for (const char *line = metrics; line && *line && n < max;) {
        const char *eol = strchr(line, '\n');
        const char *end = eol ? eol : line + strlen(line);
        if (!strncmp(line, name, sizeof(name) - 1)) {
            const char *close = memchr(line, '}', (size_t)(end - line));
            if (close && label(line, close, "node", out[n].id, sizeof(out[n].id)) &&
                label(line, close, "url", out[n].url, sizeof(out[n].url)))
                n++;
        }
        line = eol ? eol + 1 : NULL;
    }
    return n;
}

double bench_cluster_imbalance(const double *v, int n)
{
    if (n <= 0)
        return 0;
    double lo = v[0], hi = v[0], sum = 0;
    for (int i = 0; i < n; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
        sum += v[i];
    }
    return sum > 0 ? (hi - lo) / (sum / n) : 0;
}

/* Whether two base URLs name the same host and port. */
static bool same_node(const char *a, const char *b)
{
    char ha[128], hb[128];
    int pa, pb;
    return bench_ws_parse_url(a, ha, sizeof(ha), &pa) == 0 && bench_ws_parse_url(b, hb, sizeof(hb), &pb) == 0 &&
           pa == pb && !strcmp(ha, hb);
}

json_t *bench_cluster_json(bench_run *run)
{
    const bench_config *c = &run->cfg;
    size_t len = 0;
    char *metrics = bench_probe_http_get(c->host, c->port, "/metrics", &len);
    static bench_cluster_node nodes[BENCH_CLUSTER_MAX_NODES];
    int n = metrics ? bench_cluster_parse_nodes(metrics, nodes, BENCH_CLUSTER_MAX_NODES) : 0;
    free(metrics);
    if (n == 0)
        return NULL;
    json_t *list = json_array();
    double parts[BENCH_CLUSTER_MAX_NODES], meets[BENCH_CLUSTER_MAX_NODES], sess[BENCH_CLUSTER_MAX_NODES];
    bool *room_seen = calloc((size_t)c->rooms, sizeof(bool));
    for (int i = 0; i < n; i++) {
        long sessions = 0, ready = 0, rooms = 0;
        if (room_seen)
            memset(room_seen, 0, (size_t)c->rooms * sizeof(bool));
        for (size_t k = 0; k < run->n_sessions; k++) {
            const bench_session *s = run->sessions[k];
            if (!same_node(s->node[0] ? s->node : c->url, nodes[i].url))
                continue;
            sessions++;
            ready += s->t_ready != 0;
            if (room_seen && s->room >= 0 && s->room < c->rooms && !room_seen[s->room]) {
                room_seen[s->room] = true;
                rooms++;
            }
        }
        char host[128];
        int port;
        json_t *h = NULL;
        if (bench_ws_parse_url(nodes[i].url, host, sizeof(host), &port) == 0) {
            char *body = bench_probe_http_get(host, port, "/healthz", &len);
            h = body ? json_loads(body, 0, NULL) : NULL;
            free(body);
        }
        json_t *p = json_object_get(h, "participants"), *m = json_object_get(h, "meetings");
        parts[i] = json_is_integer(p) ? (double)json_integer_value(p) : 0;
        meets[i] = json_is_integer(m) ? (double)json_integer_value(m) : 0;
        sess[i] = (double)sessions;
        json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:I, s:I, s:o, s:o}", "id", nodes[i].id, "url",
                                              nodes[i].url, "sessions", (json_int_t)sessions, "sessions_ready",
                                              (json_int_t)ready, "rooms", (json_int_t)rooms, "participants",
                                              json_is_integer(p) ? json_incref(p) : json_null(), "meetings",
                                              json_is_integer(m) ? json_incref(m) : json_null()));
        json_decref(h);
    }
    free(room_seen);
    return json_pack("{s:o, s:{s:f, s:f, s:f}}", "nodes", list, "imbalance", "participants",
                     bench_cluster_imbalance(parts, n), "meetings", bench_cluster_imbalance(meets, n), "sessions",
                     bench_cluster_imbalance(sess, n));
}

void bench_cluster_table(const json_t *cluster)
{
    if (!cluster)
        return;
    printf("\nload per node (its /healthz while the sessions were in; bench sessions and rooms that ended there)\n");
    printf("  %-12s %-28s %12s %9s %9s %7s\n", "node", "url", "participants", "meetings", "sessions", "rooms");
    size_t i;
    json_t *nd;
    json_array_foreach(json_object_get(cluster, "nodes"), i, nd)
    {
        printf("  %-12s %-28s %12lld %9lld %9lld %7lld\n", json_string_value(json_object_get(nd, "id")),
               json_string_value(json_object_get(nd, "url")),
               (long long)json_integer_value(json_object_get(nd, "participants")),
               (long long)json_integer_value(json_object_get(nd, "meetings")),
               (long long)json_integer_value(json_object_get(nd, "sessions")),
               (long long)json_integer_value(json_object_get(nd, "rooms")));
    }
    const json_t *im = json_object_get(cluster, "imbalance");
    printf("  imbalance (max - min) / mean: participants %.1f %%, meetings %.1f %%, bench sessions %.1f %%\n",
           100 * json_real_value(json_object_get(im, "participants")),
           100 * json_real_value(json_object_get(im, "meetings")),
           100 * json_real_value(json_object_get(im, "sessions")));
}
