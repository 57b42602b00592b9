/* drain_route.c - draining this node (README, "Draining a node"; PROTOCOL.md, "Several nodes"): the
 * SIGUSR1 request and POST /admin/drain start it; from then on this node takes no new meeting, hands
 * each of its live meetings to another live node through Redis (cluster_handoff: the owner changes
 * in one atomic script) and then tells the meeting's people `moved` (reason "draining"), drops its
 * meetings as they empty, and says in /healthz and /metrics when nothing is left. The decisions are
 * in drain.c (pure); this file does the asking and telling. Signaling thread only, except
 * drain_route_request().
 *
 * Without Redis (a single node) nothing can be handed over: new meetings are refused (server-busy,
 * reason "draining"), the live ones finish here.
 */
#include <glib.h>
#include <jansson.h>
#include <string.h>

#include "sfu/log.h"
#include "signaling/cluster.h"
#include "signaling/drain.h"
#include "signaling/msg.h"
#include "signaling/server_internal.h"

void drain_route_request(struct vm_signaling *s)
{
    atomic_store(&s->drain_requested, true);
    pthread_mutex_lock(&s->lock);
    if (s->wake_ctx)
        lws_cancel_service(s->wake_ctx);
    pthread_mutex_unlock(&s->lock);
}

bool drain_route_active(const struct vm_signaling *s)
{
    return s->drain && drain_active(s->drain);
}

static void handed_off(void *ud, const char *meeting_id, const cluster_answer *a)
{
    struct vm_signaling *s = ud;
    bool moved = a->status == 0 && a->found && strcmp(a->owner, cluster_node_id(s->cluster)) != 0;
    if (!drain_answer(s->drain, meeting_id, moved ? a->url : NULL, vm_now_ms()))
        return;
    vm_meeting *m = registry_find(s->reg, meeting_id);
    if (!moved) {
        LOG_W("drain: no other node can take meeting %s now (%s); it goes on here, asked again in %d s", meeting_id,
              a->status < 0 ? "Redis is unreachable" : "no live node with room", DRAIN_RETRY_MS / 1000);
        return;
    }
    LOG_I("drain: meeting %s handed to node %s (%s); telling its %zu participant(s) to move", meeting_id, a->owner,
          a->url, m ? m->count : 0);
    s->drain_moved++;
    if (m)
        session_tell_meeting(m, msg_build_moved_reason(meeting_id, a->url, "draining"));
}

typedef struct {
    struct vm_signaling *s;
    GPtrArray *empty;    /* ids of empty meetings (borrowed from the registry) */
    GPtrArray *to_hand;  /* ids to hand over now */
} pass;

static void visit(vm_meeting *m, void *ud)
{
    pass *p = ud;
    if (m->count == 0)
        g_ptr_array_add(p->empty, m->id);
    else if (p->s->cluster && drain_take(p->s->drain, m->id, vm_now_ms()))
        g_ptr_array_add(p->to_hand, m->id);
}

void drain_route_sweep(struct vm_signaling *s)
{
    if (!drain_route_active(s))
        return;
    pass p = {s, g_ptr_array_new(), g_ptr_array_new()};
    registry_each(s->reg, visit, &p);
    for (guint i = 0; i < p.to_hand->len; i++) {
        const char *id = p.to_hand->pdata[i];
        char to[VM_NODE_ID_MAX];
        if (cluster_choose(s->cluster, to) < 0 || cluster_handoff(s->cluster, id, to, handed_off, s) < 0) {
            cluster_answer none = {.status = 0};
            handed_off(s, id, &none); /* no node with room: it stays, asked again later */
        }
    }
    /* Emptied meetings go at once (not after MEETING_GRACE_SECONDS): what is left tells the operator
     * when the node can be stopped. Drop after the loop: registry_each must not see it change. */
    for (guint i = p.empty->len; i-- > 0;) {
        char id[VM_MEETING_ID_LEN + 1];
        g_strlcpy(id, p.empty->pdata[i], sizeof(id));
        if (registry_drop_empty(s->reg, id)) {
            drain_forget(s->drain, id);
            LOG_I("drain: meeting %s is over here", id);
        }
    }
    g_ptr_array_free(p.empty, TRUE);
    g_ptr_array_free(p.to_hand, TRUE);
    if (!s->drain_done && registry_meeting_count(s->reg) == 0) {
        s->drain_done = true;
        LOG_I("drain: no meetings left; this node can be stopped");
    }
}

static void begin(struct vm_signaling *s, const char *why)
{
    if (!s->drain || !drain_begin(s->drain))
        return;
    LOG_I("drain (%s): no new meetings here; %zu live meeting(s) %s", why, registry_meeting_count(s->reg),
          s->cluster ? "are handed to other nodes" : "finish here (no REDIS_URL: no other node)");
    if (s->cluster)
        cluster_set_draining(s->cluster);
    drain_route_sweep(s);
}

void drain_route_poll(struct vm_signaling *s)
{
    if (atomic_exchange(&s->drain_requested, false))
        begin(s, "SIGUSR1");
}

bool drain_route_join(struct vm_signaling *s, vm_conn *c, const vm_msg *msg)
{
    if (!drain_route_active(s))
        return false;
    const char *url = drain_moved_to(s->drain, msg->meeting_id);
    if (url) {
        session_send(c, msg_build_moved(msg->meeting_id, url)); /* handed over: join it there */
        return true;
    }
    if (registry_find(s->reg, msg->meeting_id) || s->cluster)
        return false; /* live here: joins it; else the cluster places it on another node */
    msg_error err;
    msg_error_set(&err, VM_ERR_SERVER_BUSY, "join-meeting", "%s",
                  "this server is being drained for maintenance and takes no new meetings");
    err.reason = "draining";
    session_send(c, msg_build_error(&err));
    return true;
}

int drain_route_admin(struct vm_signaling *s, vm_conn *c, struct lws *wsi)
{
    char auth[512];
    int n = lws_hdr_copy(wsi, auth, sizeof(auth), WSI_TOKEN_HTTP_AUTHORIZATION);
    drain_admin a = drain_admin_check(s->cfg->admin_token, n > 0 ? auth : NULL);
    if (a == DRAIN_ADMIN_OFF)
        return http_send_json(c, wsi, HTTP_STATUS_NOT_FOUND, json_pack("{s:s}", "error", "not-found"));
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) <= 0)
        return http_send_json(c, wsi, HTTP_STATUS_METHOD_NOT_ALLOWED,
                              json_pack("{s:s}", "error", "method-not-allowed"));
    if (a != DRAIN_ADMIN_OK) {
        LOG_W("admin: POST /admin/drain refused (%s)", n > 0 ? "wrong token" : "no token");
        return http_send_json(c, wsi, HTTP_STATUS_UNAUTHORIZED, json_pack("{s:s}", "error", "unauthorized"));
    }
    begin(s, "POST /admin/drain");
    return http_send_json(c, wsi, HTTP_STATUS_OK,
                          json_pack("{s:b, s:I, s:I}", "draining", 1, "meetings",
                                    (json_int_t)registry_meeting_count(s->reg), "participants",
                                    (json_int_t)registry_participant_count(s->reg)));
}

void drain_route_health(struct vm_signaling *s, json_t *o)
{
    bool on = drain_route_active(s);
    json_object_set_new(o, "draining", json_boolean(on));
    if (on)
        json_object_set_new(o, "drained", json_boolean(registry_meeting_count(s->reg) == 0));
}

void drain_route_metrics(struct vm_signaling *s, GString *out)
{
    bool on = drain_route_active(s);
    g_string_append_printf(
        out,
        "# HELP videomeet_draining 1 once this node drains (SIGUSR1 or POST /admin/drain): it takes no new "
        "meetings.\n# TYPE videomeet_draining gauge\nvideomeet_draining %d\n"
        "# HELP videomeet_drained 1 when this node drains and has no meetings left: it can be stopped.\n"
        "# TYPE videomeet_drained gauge\nvideomeet_drained %d\n"
        "# HELP videomeet_drain_meetings_moved_total Live meetings this node handed to another node while "
        "draining.\n# TYPE videomeet_drain_meetings_moved_total counter\nvideomeet_drain_meetings_moved_total %llu\n"
        "# HELP videomeet_drain_meetings_staying Live meetings that no other node could take: they finish "
        "here.\n# TYPE videomeet_drain_meetings_staying gauge\nvideomeet_drain_meetings_staying %zu\n",
        on ? 1 : 0, on && registry_meeting_count(s->reg) == 0 ? 1 : 0, (unsigned long long)s->drain_moved,
        s->drain ? drain_count(s->drain, DRAIN_STAYS) : 0);
}
