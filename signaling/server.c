/* server.c - the signaling thread: libwebsockets context, the protocol callback that dispatches to
 * http.c and session.c, the once-a-second sweep that expires empty meetings and ends the participants
 * whose reconnect grace period is over, and start/stop.
 *
 * Threading: signaling_start() spawns one thread that creates the lws context, services it until
 * `stop` is set, and destroys it (closing every connection, which leaves their meetings) before the
 * registry is freed. signaling_stop() sets `stop` and wakes the loop with lws_cancel_service().
 */
#include "signaling/server.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "sfu/log.h"
#include "signaling/cluster.h"
#include "signaling/drain.h"
#include "signaling/server_internal.h"

int64_t vm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t vm_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Runs the media plane's queued events on the signaling thread. */
static void drain_events(struct vm_signaling *s)
{
    GQueue batch = G_QUEUE_INIT;
    pthread_mutex_lock(&s->lock);
    batch = s->events;
    g_queue_init(&s->events);
    pthread_mutex_unlock(&s->lock);
    sfu_event *ev;
    while ((ev = g_queue_pop_head(&batch)))
        session_media_event(s, ev);
    if (s->cluster)
        cluster_poll(s->cluster);
    drain_route_poll(s);
}

/* The cluster thread's cluster_wake_fn: answers wait for cluster_poll() in drain_events(). */
static void cluster_wake(void *ud)
{
    struct vm_signaling *s = ud;
    pthread_mutex_lock(&s->lock);
    if (s->wake_ctx)
        lws_cancel_service(s->wake_ctx);
    pthread_mutex_unlock(&s->lock);
}

void signaling_sfu_event(void *ud, sfu_event *ev)
{
    struct vm_signaling *s = ud;
    pthread_mutex_lock(&s->lock);
    g_queue_push_tail(&s->events, ev);
    if (s->wake_ctx)
        lws_cancel_service(s->wake_ctx);
    pthread_mutex_unlock(&s->lock);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct vm_signaling *s = lws_context_user(lws_get_context(wsi));
    vm_conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return http_on_request(s, c, wsi, in, len);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return http_on_writeable(c, wsi);
    case LWS_CALLBACK_HTTP_BODY:
        /* No route reads a body: a refused one (http_discard) is read away here, for at most
         * VM_HTTP_DISCARD_US (libwebsockets restarts its own timeout with every piece of it). */
        if (c && c->http_discard && vm_mono_us() > c->http_discard_until)
            return -1;
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        /* a POST (/admin/drain) answered before its (empty) body was read, or a 413 whose body has now
         * been read away: the answer goes out now */
        if (c)
            c->http_discard = false;
        if (c && c->http_body)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (c) {
            cluster_route_gone(s, c);
            http_conn_release(c);
        }
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        char uri[16];
        if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, "/ws") != 0)
            return 1; /* WebSockets only at /ws */
        if (!http_headers_ok(wsi))
            return 1;
        http_client_address(s, wsi, &c->addr); /* kept by session_open */
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED:
        session_open(s, c, wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        session_receive(s, c, in, len);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return session_writeable(c);
    case LWS_CALLBACK_TIMER:
        session_timer(c);
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        session_peer_close(c, in, len);
        return 0;
    case LWS_CALLBACK_CLOSED:
        cluster_route_gone(s, c);
        session_close(s, c);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        drain_events(s);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    {"videomeet", callback, sizeof(vm_conn), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* WebSocket liveness: ping after 20 s without traffic, hang up after 45 s without an answer. */
static const lws_retry_bo_t ws_retry = {
    .secs_since_valid_ping = 20,
    .secs_since_valid_hangup = 45,
};

static void sweep(lws_sorted_usec_list_t *sul)
{
    struct vm_signaling *s = lws_container_of(sul, struct vm_signaling, sweep);
    size_t n = registry_expire(s->reg, vm_now_ms());
    if (n)
        LOG_I("%zu empty meeting(s) expired", n);
    abuse_expire(s->abuse, vm_mono_us());
    session_sweep(s);
    drain_route_sweep(s);
    cluster_route_sweep(s);
    lws_sul_schedule(s->ctx, 0, &s->sweep, sweep, LWS_US_PER_SEC);
}

static void lws_log_emit(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    vm_log(level == LLL_ERR ? VM_LOG_ERROR : VM_LOG_WARN, "lws: %.*s", (int)n, line);
}

static void set_state(struct vm_signaling *s, int state, struct lws_context *ctx)
{
    pthread_mutex_lock(&s->lock);
    s->state = state;
    s->wake_ctx = ctx;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* Where the listener binds. libwebsockets 4.1 opens an IPv6 socket unless told not to, and then
 * reads an IPv4 literal in `iface` into the wrong bytes of the IPv6 address: the socket ends up on
 * `::`, every address. So an IPv4 literal gets an IPv4-only socket, an IPv6 literal an IPv6-only
 * one, and an address the machine does not have fails the start instead of leaving no listener.
 * Empty: one dual-stack socket on `::`, every IPv4 and IPv6 address. */
static void listen_options(const vm_config *cfg, struct lws_context_creation_info *info)
{
    if (!cfg->bind_family)
        return;
    info->iface = cfg->bind_address;
    info->options |= LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
    if (cfg->bind_family == AF_INET)
        info->options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    else
        info->options |= LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY | LWS_SERVER_OPTION_IPV6_V6ONLY_VALUE;
}

static void *thread_main(void *arg)
{
    struct vm_signaling *s = arg;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = s->cfg->port;
    listen_options(s->cfg, &info);
    info.protocols = protocols;
    info.user = s;
    info.retry_and_idle_policy = &ws_retry;
    info.timeout_secs = 10;
    /* HTTP limits (README "HTTP limits and headers"): a request's headers must be complete within
     * timeout_secs_ah_idle of the connection (libwebsockets does not restart it per byte, so a client
     * trickling a header byte now and then is cut off); an idle keep-alive connection is closed after
     * keepalive_timeout; a peer that vanished is found by TCP keepalive. */
    info.timeout_secs_ah_idle = 10;
    info.keepalive_timeout = 5;
    info.ka_time = 60;
    info.ka_probes = 3;
    info.ka_interval = 10;
    static struct lws_token_limits limits;
    for (int t = 0; t < (int)WSI_TOKEN_COUNT; t++)
        limits.token_limit[t] = VM_HTTP_MAX_HEADER;
    info.token_limits = &limits;
    info.max_http_header_data = VM_HTTP_HEADER_SPACE;
    info.headers = http_security_headers(s->cfg->redis_url[0] != '\0');
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        LOG_E("cannot listen on %s port %d", s->cfg->bind_family ? s->cfg->bind_address : "every address",
              s->cfg->port);
        set_state(s, -1, NULL);
        return NULL;
    }
    if (s->cfg->redis_url[0] && !(s->cluster = cluster_start(s->cfg, cluster_wake, s))) {
        LOG_E("cluster: cannot start the Redis thread");
        lws_context_destroy(s->ctx);
        s->ctx = NULL;
        set_state(s, -1, NULL);
        return NULL;
    }
    lws_sul_schedule(s->ctx, 0, &s->sweep, sweep, LWS_US_PER_SEC);
    set_state(s, 1, s->ctx);
    while (!atomic_load(&s->stop)) {
        if (lws_service(s->ctx, 0) < 0)
            break;
    }
    pthread_mutex_lock(&s->lock);
    s->wake_ctx = NULL;
    pthread_mutex_unlock(&s->lock);
    lws_context_destroy(s->ctx);
    cluster_free(s->cluster); /* after the connections that could wait for it */
    s->cluster = NULL;
    s->ctx = NULL;
    return NULL;
}

vm_signaling *signaling_new(const vm_config *cfg)
{
    struct vm_signaling *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->cfg = cfg;
    s->reg = registry_new(cfg->max_participants, cfg->max_meetings, cfg->meeting_grace_ms);
    if (!s->reg) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    g_queue_init(&s->events);
    port_budget_init(&s->ports, cfg->rtc_min_port, cfg->rtc_max_port);
    registry_set_unused_grace(s->reg, cfg->meeting_unused_grace_ms);
    /* Room for every address with an open socket, and as many idle ones again (abuse.h). */
    abuse_limits lim = {.max_conns = cfg->addr_max_connections,
                        .starts_per_min = cfg->addr_meetings_per_min,
                        .starts_burst = cfg->addr_meetings_per_min,
                        .unknown_per_min = cfg->addr_unknown_per_min,
                        .unknown_burst = cfg->addr_unknown_per_min,
                        .capacity = 2 * cfg->max_connections + 1024};
    s->abuse = abuse_new(&lim);
    s->drain = drain_new();
    if (!s->abuse || !s->drain) {
        abuse_free(s->abuse);
        drain_free(s->drain);
        registry_free(s->reg);
        free(s);
        return NULL;
    }
    atomic_init(&s->stop, false);
    atomic_init(&s->drain_requested, false);
    return s;
}

void signaling_drain(vm_signaling *s)
{
    drain_route_request(s);
}

int signaling_start(vm_signaling *s, sfu *media)
{
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
    s->media = media;
    s->started_ms = vm_now_ms();
    if (pthread_create(&s->thread, NULL, thread_main, s) != 0)
        return -1;
    pthread_mutex_lock(&s->lock);
    while (s->state == 0)
        pthread_cond_wait(&s->cond, &s->lock);
    int state = s->state;
    pthread_mutex_unlock(&s->lock);
    if (state < 0) {
        pthread_join(s->thread, NULL);
        return -1;
    }
    s->started = true;
    const char *addr = s->cfg->bind_family ? s->cfg->bind_address : "*";
    bool v6 = s->cfg->bind_family == AF_INET6;
    LOG_I("signaling listening on %s%s%s:%d, web root %s", v6 ? "[" : "", addr, v6 ? "]" : "", s->cfg->port,
          s->cfg->web_root);
    if (media)
        LOG_I("media: UDP ports %d-%d carry %zu participant(s) across all meetings (%d ports each)",
              s->cfg->rtc_min_port, s->cfg->rtc_max_port, port_budget_capacity(&s->ports), PORTS_PER_PARTICIPANT);
    return 0;
}

void signaling_stop(vm_signaling *s)
{
    if (!s || !s->started)
        return;
    atomic_store(&s->stop, true);
    pthread_mutex_lock(&s->lock);
    if (s->wake_ctx)
        lws_cancel_service(s->wake_ctx);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    s->started = false;
}

void signaling_free(vm_signaling *s)
{
    if (!s)
        return;
    signaling_stop(s);
    sfu_event *ev;
    while ((ev = g_queue_pop_head(&s->events)))
        sfu_event_free(ev);
    registry_free(s->reg);
    abuse_free(s->abuse);
    drain_free(s->drain);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
}
