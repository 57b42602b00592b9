/* cluster_route.c - where the signaling thread asks the cluster (cluster.h) before it answers:
 * /api/create-meeting places the new meeting on the least-loaded node, /m/<id> redirects to the node
 * that owns the meeting, a WebSocket join of a meeting that is not live here is placed or answered
 * with `moved` (PROTOCOL.md, "Several nodes"); plus the node's load report and its /healthz and
 * /metrics lines. Used only when REDIS_URL is set (s->cluster); signaling thread only.
 *
 * A connection waiting for Redis holds one cluster_pending (c->cluster, owned by the connection):
 * freed when the answer is sent, or by cluster_route_gone() when the connection closes first.
 *
 * Redis unreachable: a meeting live on this node goes on, and joins to it are taken here without
 * asking Redis; a new meeting is refused (HTTP 503 / error server-busy, reason "cluster"). Placing
 * it here anyway could split one link over two nodes (each thinking it owns the meeting) without
 * anybody noticing; a clear "try again" is better than a meeting whose people cannot see each other.
 */
#include <glib.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/log.h"
#include "signaling/cluster.h"
#include "signaling/cluster_chat.h"
#include "signaling/drain.h"
#include "signaling/msg.h"
#include "signaling/server_internal.h"

typedef enum { PENDING_CREATE, PENDING_PAGE, PENDING_JOIN } pending_kind;

struct cluster_pending {
    pending_kind kind;
    struct vm_signaling *s;
    char meeting_id[VM_MEETING_ID_LEN + 1];
    char place_on[VM_NODE_ID_MAX];
    bool chosen;                   /* place_on is cluster_choose()'s, from node list `gen` */
    uint64_t gen;
    bool ready;                    /* HTTP: the answer below is ready for HTTP_WRITEABLE */
    cluster_answer ans;
    vm_msg *join;                  /* PENDING_JOIN: the join-meeting to run once placed here (owned) */
};

static void pending_free(struct cluster_pending *p)
{
    if (!p)
        return;
    msg_clear(p->join);
    free(p->join);
    free(p);
}

void cluster_route_gone(struct vm_signaling *s, vm_conn *c)
{
    if (!s->cluster || !c || !c->cluster)
        return;
    cluster_cancel(s->cluster, c);
    pending_free(c->cluster);
    c->cluster = NULL;
}

/* What a choice came to (cluster_choice_done), before the answer is acted on. */
static void choice_done(struct cluster_pending *p, const cluster_answer *a)
{
    if (p->kind == PENDING_PAGE)
        return; /* a page asks where a meeting is, and places nothing */
    cluster_choice_done(p->s->cluster, p->chosen ? p->place_on : NULL, p->gen, a, p->kind == PENDING_JOIN);
}

static void http_answered(void *owner, void *ud, const cluster_answer *a)
{
    vm_conn *c = owner;
    (void)ud;
    choice_done(c->cluster, a);
    c->cluster->ans = *a;
    c->cluster->ready = true;
    lws_callback_on_writable(c->wsi);
}

static int ask(struct vm_signaling *s, vm_conn *c, pending_kind kind, const char *meeting_id, const char *place_on,
               bool chosen, cluster_done_fn done)
{
    struct cluster_pending *p = calloc(1, sizeof(*p));
    if (!p)
        return -1;
    p->kind = kind;
    p->s = s;
    p->chosen = chosen;
    p->gen = cluster_list_gen(s->cluster);
    g_strlcpy(p->meeting_id, meeting_id, sizeof(p->meeting_id));
    g_strlcpy(p->place_on, place_on ? place_on : "", sizeof(p->place_on));
    if (cluster_locate(s->cluster, meeting_id, place_on, done, c, NULL) < 0) {
        free(p);
        return -1;
    }
    c->cluster = p;
    return 0;
}

/* The node for a new meeting: the least-loaded one with room, else this one (its own limits apply),
 * unless this one drains (drain_route.c): then false, nobody can take it. */
static bool choose(struct vm_signaling *s, char out[VM_NODE_ID_MAX], bool *chosen)
{
    *chosen = cluster_choose(s->cluster, out) == 0;
    if (*chosen)
        return true;
    if (drain_route_active(s))
        return false;
    g_strlcpy(out, cluster_node_id(s->cluster), VM_NODE_ID_MAX);
    return true;
}

int cluster_route_create(struct vm_signaling *s, vm_conn *c, struct lws *wsi)
{
    char id[VM_MEETING_ID_LEN + 1], on[VM_NODE_ID_MAX];
    bool chosen;
    c->wsi = wsi;
    if (c->cluster || ids_random(id, VM_MEETING_ID_LEN) < 0)
        return http_send_json(c, wsi, HTTP_STATUS_SERVICE_UNAVAILABLE,
                              json_pack("{s:s}", "error", "server-busy"));
    if (!choose(s, on, &chosen))
        return http_send_json(c, wsi, HTTP_STATUS_SERVICE_UNAVAILABLE,
                              json_pack("{s:s, s:s}", "error", "server-busy", "reason", "draining"));
    if (ask(s, c, PENDING_CREATE, id, on, chosen, http_answered) < 0)
        return http_send_json(c, wsi, HTTP_STATUS_SERVICE_UNAVAILABLE,
                              json_pack("{s:s}", "error", "server-busy"));
    return 0; /* answered from HTTP_WRITEABLE */
}

int cluster_route_page(struct vm_signaling *s, vm_conn *c, struct lws *wsi, const char *id_text)
{
    char id[VM_MEETING_ID_LEN + 1];
    c->wsi = wsi;
    /* A malformed id, or a meeting live here: the page, as on a single node. */
    if (c->cluster || !ids_meeting_id_normalize(id_text, id) || registry_find(s->reg, id) ||
        ask(s, c, PENDING_PAGE, id, NULL, false, http_answered) < 0)
        return http_serve_index(s, wsi);
    return 0;
}

int cluster_route_writeable(vm_conn *c, struct lws *wsi)
{
    struct cluster_pending *p = c->cluster;
    if (!p->ready)
        return 0;
    c->cluster = NULL;
    struct vm_signaling *s = p->s;
    const cluster_answer *a = &p->ans;
    int rc;
    if (p->kind == PENDING_CREATE) {
        if (a->status < 0 || !a->found || !a->placed) {
            /* Redis unreachable (or, astronomically rarely, the drawn id was taken) */
            /* (not found: every node that could take it drains) */
            LOG_W("create-meeting refused: %s", a->status < 0 ? "Redis is unreachable"
                                                : !a->found  ? "every node drains"
                                                             : "the id could not be placed");
            rc = http_send_json(c, wsi, HTTP_STATUS_SERVICE_UNAVAILABLE,
                                json_pack("{s:s, s:s}", "error", "server-busy", "reason",
                                          a->status == 0 && !a->found ? "draining" : "cluster"));
        } else {
            LOG_I("meeting %s created on node %s", p->meeting_id, a->owner);
            rc = http_send_json(c, wsi, HTTP_STATUS_OK,
                                json_pack("{s:s, s:s, s:s}", "meetingId", p->meeting_id, "node", a->owner, "url",
                                          a->url));
        }
    } else if (a->status == 0 && a->found && strcmp(a->owner, cluster_node_id(s->cluster)) != 0) {
        char loc[VM_NODE_URL_MAX + 16];
        unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *pp = start, *end = hdr + sizeof(hdr) - 1;
        int n = snprintf(loc, sizeof(loc), "%s/m/%s", a->url, p->meeting_id);
        s->cluster_moved++;
        if (lws_http_redirect(wsi, HTTP_STATUS_FOUND, (const unsigned char *)loc, n, &pp, end) < 0)
            rc = -1;
        else
            rc = lws_http_transaction_completed(wsi) ? -1 : 0;
    } else {
        rc = http_serve_index(s, wsi); /* owned here, by nobody, or Redis unreachable: the join decides */
    }
    pending_free(p);
    return rc;
}

/* The history of a meeting placed here is in the registry (cluster_chat.c): the join it waited for. */
static void history_loaded(struct vm_signaling *s, vm_conn *c)
{
    struct cluster_pending *p = c->cluster;
    c->cluster = NULL;
    session_join(s, c, p->join, true);
    pending_free(p);
}

static void join_answered(void *owner, void *ud, const cluster_answer *a)
{
    vm_conn *c = owner;
    struct cluster_pending *p = c->cluster;
    struct vm_signaling *s = p->s;
    (void)ud;
    choice_done(p, a);
    c->cluster = NULL;
    if (a->status < 0 || !a->found) {
        msg_error err;
        msg_error_set(&err, VM_ERR_SERVER_BUSY, "join-meeting", "%s",
                      a->status < 0 ? "the cluster's registry (Redis) is unreachable; try again in a moment"
                                    : "no node can take this meeting now (they are being drained)");
        err.reason = a->status < 0 ? "cluster" : "draining";
        session_send(c, msg_build_error(&err));
    } else if (!strcmp(a->owner, cluster_node_id(s->cluster))) {
        /* not live here (maybe live on a node that died): its chat history first */
        if (!registry_find(s->reg, p->meeting_id) && cluster_chat_load(s, c, p->meeting_id, history_loaded) == 0) {
            c->cluster = p;
            return;
        }
        session_join(s, c, p->join, true);
    } else {
        LOG_I("meeting %s lives on node %s: join moved to %s", p->meeting_id, a->owner, a->url);
        s->cluster_moved++;
        session_send(c, msg_build_moved(p->meeting_id, a->url));
    }
    pending_free(p);
}

bool cluster_route_join(struct vm_signaling *s, vm_conn *c, const vm_msg *msg)
{
    if (registry_find(s->reg, msg->meeting_id))
        return false; /* live here: joined at once, Redis or not */
    if (c->cluster) {
        msg_error err;
        msg_error_set(&err, VM_ERR_ALREADY_JOINED, "join-meeting", "a join of this connection is under way");
        session_send(c, msg_build_error(&err));
        return true;
    }
    char on[VM_NODE_ID_MAX];
    bool chosen;
    if (!choose(s, on, &chosen)) {
        msg_error err;
        msg_error_set(&err, VM_ERR_SERVER_BUSY, "join-meeting", "%s",
                      "this server is being drained and no other node can take a new meeting now");
        err.reason = "draining";
        session_send(c, msg_build_error(&err));
        return true;
    }
    vm_msg *copy = calloc(1, sizeof(*copy));
    if (!copy || ask(s, c, PENDING_JOIN, msg->meeting_id, on, chosen, join_answered) < 0) {
        free(copy);
        msg_error err;
        msg_error_set(&err, VM_ERR_SERVER_BUSY, "join-meeting", "the server cannot take this meeting now");
        session_send(c, msg_build_error(&err));
        return true;
    }
    copy->type = MSG_JOIN;
    memcpy(copy->meeting_id, msg->meeting_id, sizeof(copy->meeting_id));
    memcpy(copy->username, msg->username, sizeof(copy->username));
    copy->audio = msg->audio;
    copy->video = msg->video;
    c->cluster->join = copy;
    return true;
}

typedef struct {
    struct vm_signaling *s;
    GPtrArray *ids;
} live_ids;

/* A meeting handed to another node while draining is no longer this node's to keep owned. */
static void add_id(vm_meeting *m, void *ud)
{
    live_ids *l = ud;
    if (!l->s->drain || drain_state_of(l->s->drain, m->id) != DRAIN_MOVED)
        g_ptr_array_add(l->ids, m->id);
}

/* Splits (cluster.h): the owner in Redis wins. The people of this node's copy are told to move
 * there (`moved`, reason "split") and leave; the copy, once empty, goes at once, so that a join
 * reaching this node is placed (moved) by Redis again rather than joined here. */
static void resolve_splits(struct vm_signaling *s)
{
    cluster_split sp;
    while (cluster_take_split(s->cluster, &sp)) {
        vm_meeting *m = registry_find(s->reg, sp.meeting_id);
        if (!m)
            continue;
        if (m->count == 0) {
            if (registry_drop_empty(s->reg, sp.meeting_id))
                LOG_I("cluster: meeting %s lives on node %s; the empty copy here is dropped", sp.meeting_id,
                      sp.owner);
            continue;
        }
        LOG_W("cluster: meeting %s is live here and on node %s, which Redis names its owner; telling its %zu "
              "participant(s) here to move there (%s)",
              sp.meeting_id, sp.owner, m->count, sp.url);
        s->cluster_split_moves += m->count;
        session_tell_meeting(m, msg_build_moved_reason(sp.meeting_id, sp.url, "split"));
    }
}

void cluster_route_sweep(struct vm_signaling *s)
{
    if (!s->cluster)
        return;
    resolve_splits(s);
    GPtrArray *ids = g_ptr_array_new();
    live_ids l = {s, ids};
    registry_each(s->reg, add_id, &l);
    cluster_load load = {.participants = registry_participant_count(s->reg),
                         .meeting_ids = (const char *const *)ids->pdata,
                         .n_meetings = ids->len};
    if (s->media) {
        sfu_stats st;
        sfu_stats_total(s->media, &st);
        load.packets_out = STATS_GET(st.rtp_packets_out);
    }
    cluster_report(s->cluster, &load);
    g_ptr_array_free(ids, TRUE);
    cluster_chat_sweep(s);
}

void cluster_route_health(struct vm_signaling *s, json_t *o)
{
    if (!s->cluster)
        return;
    cluster_status st;
    cluster_get_status(s->cluster, &st);
    json_object_set_new(o, "node", json_string(cluster_node_id(s->cluster)));
    json_object_set_new(o, "redis", json_string(st.redis_up ? "up" : "down"));
    json_object_set_new(o, "nodes", json_integer((json_int_t)st.nodes_alive));
}

void cluster_route_metrics(struct vm_signaling *s, GString *out)
{
    if (!s->cluster)
        return;
    cluster_status st;
    cluster_get_status(s->cluster, &st);
    g_string_append_printf(
        out,
        "# HELP videomeet_cluster_redis_up 1 when this node reaches Redis (REDIS_URL).\n"
        "# TYPE videomeet_cluster_redis_up gauge\nvideomeet_cluster_redis_up %d\n"
        "# HELP videomeet_cluster_nodes_alive Nodes registered in Redis, as this node saw them last.\n"
        "# TYPE videomeet_cluster_nodes_alive gauge\nvideomeet_cluster_nodes_alive %zu\n"
        "# HELP videomeet_cluster_meetings_placed_here Meetings Redis places on this node (live ones and created "
        "ones nobody joined yet).\n"
        "# TYPE videomeet_cluster_meetings_placed_here gauge\nvideomeet_cluster_meetings_placed_here %llu\n"
        "# HELP videomeet_cluster_placements_total New meetings this node placed (on any node).\n"
        "# TYPE videomeet_cluster_placements_total counter\nvideomeet_cluster_placements_total %llu\n"
        "# HELP videomeet_cluster_moved_total Page loads redirected and joins answered with moved: the meeting "
        "lives on another node.\n"
        "# TYPE videomeet_cluster_moved_total counter\nvideomeet_cluster_moved_total %llu\n"
        "# HELP videomeet_cluster_redis_errors_total Redis connections and commands that failed.\n"
        "# TYPE videomeet_cluster_redis_errors_total counter\nvideomeet_cluster_redis_errors_total %llu\n"
        "# HELP videomeet_cluster_owner_conflicts_total Refreshes of a meeting live here that Redis says another "
        "live node owns.\n"
        "# TYPE videomeet_cluster_owner_conflicts_total counter\nvideomeet_cluster_owner_conflicts_total %llu\n"
        "# HELP videomeet_cluster_split_moves_total Participants told to move to the node that owns their "
        "meeting, which was live on this node too (a split).\n"
        "# TYPE videomeet_cluster_split_moves_total counter\nvideomeet_cluster_split_moves_total %llu\n",
        st.redis_up ? 1 : 0, st.nodes_alive, (unsigned long long)st.meetings_here, (unsigned long long)st.placed,
        (unsigned long long)s->cluster_moved, (unsigned long long)st.redis_errors, (unsigned long long)st.conflicts,
        (unsigned long long)s->cluster_split_moves);
    const cluster_node *nodes;
    size_t n = cluster_nodes(s->cluster, &nodes);
    g_string_append(out, "# HELP videomeet_cluster_node_participants Participants of each live node (its record).\n"
                         "# TYPE videomeet_cluster_node_participants gauge\n");
    for (size_t i = 0; i < n; i++)
        g_string_append_printf(out, "videomeet_cluster_node_participants{node=\"%s\"} %llu\n", nodes[i].id,
                               (unsigned long long)nodes[i].participants);
    g_string_append(out, "# HELP videomeet_cluster_node_info Each live node's public URL and whether it drains "
                         "(its record), e.g. for videomeet-bench's load per node.\n"
                         "# TYPE videomeet_cluster_node_info gauge\n");
    for (size_t i = 0; i < n; i++)
        if (!strpbrk(nodes[i].url, "\"\\\n")) /* a label value needs no escaping */
            g_string_append_printf(out, "videomeet_cluster_node_info{node=\"%s\",url=\"%s\",draining=\"%d\"} 1\n",
                                   nodes[i].id, nodes[i].url, nodes[i].draining ? 1 : 0);
    g_string_append(out, "# HELP videomeet_cluster_node_meetings Meetings placed on each live node (its record).\n"
                         "# TYPE videomeet_cluster_node_meetings gauge\n");
    for (size_t i = 0; i < n; i++)
        g_string_append_printf(out, "videomeet_cluster_node_meetings{node=\"%s\"} %llu\n", nodes[i].id,
                               (unsigned long long)nodes[i].meetings);
}
