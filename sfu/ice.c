/* ice.c - libnice wrapper (see ice.h).
 *
 * The agent is created in full ICE mode (RFC 8445) with trickle and consent freshness, UDP only,
 * no UPnP, no STUN/TURN of its own (the SFU has reachable host addresses; ANNOUNCED_IP covers 1:1 NAT;
 * browsers without UDP come through a TURN server). A client (videomeet-bench --turn) may relay
 * everything through a TURN server over TCP: its relayed candidates are then the only ones, and media
 * goes through nice_agent_send (a relayed pair has no socket of its own for the fast path).
 * Local candidates are formatted here rather than by libnice so that ANNOUNCED_IP can replace the
 * address. Remote candidates may arrive before the remote credentials: libnice accepts them in any order.
 *
 * Each agent lives in its own child context of the worker's netloop (sfu/netloop.h), so that a wake-up
 * costs the same with one agent or a thousand; calls that change the agent's sources touch the child.
 * Media goes out through the netloop's queue on the selected pair's socket (the "fast path"), batched
 * per iteration; libnice itself sends STUN and anything before a pair is selected.
 *
 * ICE restart (RFC 8445 §9): nice_agent_restart_stream makes new local credentials and forgets the
 * remote candidates and checks, but keeps the local candidates (the same sockets) and the selected
 * pair, which carries media until a pair of the new generation is selected; that pair (or the
 * component reaching CONNECTED/READY) is reported as SFU_ICE_CONNECTED even when the state had not
 * changed, so the owner learns the repair worked.
 */
#include "sfu/ice.h"

#include "sfu/netloop.h"

#include <errno.h>
#include <gio/gio.h>
#include <netinet/in.h>
#include <nice/agent.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

struct sfu_ice {
    /* what every sent packet reads, together at the start */
    netloop_child *loop;             /* the agent's own context, served by the worker's netloop */
    sfu_ice_state state;
    int fast_fd;
    socklen_t fast_to_len;
    struct sockaddr_storage fast_to; /* the selected pair's remote address */
    GSocket *fast_socket;            /* the selected pair's local socket (a reference), or NULL */
    NiceAgent *agent;
    guint stream;
    sfu_ice_callbacks cbs;
    void *ud;
    char announced_ip[64];
    gulong handlers[4];
    bool restarting; /* sfu_ice_restart ran: the next working pair is news even if the state did not change */
};

static void set_state(sfu_ice *ice, sfu_ice_state st);

static void fast_path_clear(sfu_ice *ice)
{
    if (ice->fast_socket)
        g_object_unref(ice->fast_socket);
    ice->fast_socket = NULL;
    ice->fast_fd = -1;
    netloop_child_set_reader(ice->loop, -1, NULL, NULL);
}

static bool same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    return false;
}

/* The netloop reader of the selected pair's socket (netloop.h): media (DTLS, SRTP, SRTCP) from the
 * pair's remote address is read here and handed on as libnice would, without running the agent's
 * context (a GLib dispatch, libnice's socket source and its agent lock per datagram: most of what a
 * receiver's transport-cc feedback cost). Each datagram is peeked first: STUN (first byte 0-3,
 * RFC 7983) — checks, consent freshness and their answers — and anything from another address or too
 * large is left to libnice, which reads it when its context runs. */
#define FAST_READ_MAX 64     /* datagrams per call: other sockets get their turn */
#define FAST_READ_BYTES 2048 /* larger ones (none a browser sends) go through libnice */
static bool fast_read(void *ud, int fd)
{
    sfu_ice *ice = ud;
    uint8_t buf[FAST_READ_BYTES];
    for (unsigned i = 0; i < FAST_READ_MAX; i++) {
        struct sockaddr_storage from;
        socklen_t fromlen = sizeof(from);
        ssize_t n = recvfrom(fd, buf, 1, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK; /* an error is libnice's to see */
        if (n == 0 || n > (ssize_t)sizeof(buf) || buf[0] < 4 || !same_address(&from, &ice->fast_to))
            return false;
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n <= 0)
            return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
        /* RTCP (RFC 5761 §4: payload type byte 192-223) comes alone: a receiver's transport-cc
         * feedback every 50 ms, reports. Another read would only find the socket empty (a system call
         * per feedback datagram); if something did arrive meanwhile, the level-triggered epoll says so
         * at the next pass. Media (RTP) comes in bursts: keep reading. */
        bool rtcp = n >= 2 && buf[0] >= 128 && buf[0] < 192 && buf[1] >= 192 && buf[1] <= 223;
        if (ice->cbs.on_packet)
            ice->cbs.on_packet(ice->ud, buf, (size_t)n);
        if (ice->fast_fd != fd)
            return true; /* the pair changed: the new socket has its own reader */
        if (rtcp)
            return true;
    }
    return true;
}

static void on_selected_pair(NiceAgent *agent, guint stream_id, guint component_id, NiceCandidate *local,
                             NiceCandidate *remote, gpointer data)
{
    (void)local;
    sfu_ice *ice = data;
    fast_path_clear(ice);
    GSocket *gs = nice_agent_get_selected_socket(agent, stream_id, component_id);
    if (!gs)
        return;
    memset(&ice->fast_to, 0, sizeof(ice->fast_to));
    nice_address_copy_to_sockaddr(&remote->addr, (struct sockaddr *)&ice->fast_to);
    ice->fast_to_len = ice->fast_to.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    ice->fast_socket = gs;
    ice->fast_fd = g_socket_get_fd(gs);
    netloop_child_set_reader(ice->loop, ice->fast_fd, fast_read, ice);
    if (ice->restarting)
        set_state(ice, SFU_ICE_CONNECTED); /* a pair of the new generation */
}

static void set_state(sfu_ice *ice, sfu_ice_state st)
{
    if (st == SFU_ICE_CHECKING && ice->restarting && ice->state == SFU_ICE_CONNECTED)
        return; /* a restart's checks do not stop the pair that works */
    if (st == SFU_ICE_CONNECTED && ice->restarting) {
        ice->restarting = false; /* working again after a restart: said even when it never stopped */
    } else if (ice->state == st) {
        return;
    }
    ice->state = st;
    if (ice->cbs.on_state)
        ice->cbs.on_state(ice->ud, st);
}

/* Hands one local candidate to on_candidate (host UDP, and relayed UDP when the SFU uses a TURN
 * relay itself; ANNOUNCED_IP written instead of a host address). */
static void announce(sfu_ice *ice, const NiceCandidate *c)
{
    if (c->transport != NICE_CANDIDATE_TRANSPORT_UDP ||
        (c->type != NICE_CANDIDATE_TYPE_HOST && c->type != NICE_CANDIDATE_TYPE_RELAYED))
        return;
    char addr[NICE_ADDRESS_STRING_LEN];
    nice_address_to_string(&c->addr, addr);
    char line[320];
    if (c->type == NICE_CANDIDATE_TYPE_RELAYED) { /* only with a TURN server (turn_ip) */
        char base[NICE_ADDRESS_STRING_LEN];
        nice_address_to_string(&c->base_addr, base);
        snprintf(line, sizeof(line), "candidate:%s %u udp %u %s %u typ relay raddr %s rport %u", c->foundation,
                 c->component_id, c->priority, addr, nice_address_get_port(&c->addr), base,
                 nice_address_get_port(&c->base_addr));
    } else {
        const char *shown = ice->announced_ip[0] ? ice->announced_ip : addr;
        snprintf(line, sizeof(line), "candidate:%s %u udp %u %s %u typ host", c->foundation, c->component_id,
                 c->priority, shown, nice_address_get_port(&c->addr));
    }
    if (ice->cbs.on_candidate)
        ice->cbs.on_candidate(ice->ud, line);
}

static void on_new_candidate(NiceAgent *agent, NiceCandidate *c, gpointer data)
{
    (void)agent;
    announce(data, c);
}

static void on_gathering_done(NiceAgent *agent, guint stream_id, gpointer data)
{
    (void)agent;
    (void)stream_id;
    sfu_ice *ice = data;
    if (ice->cbs.on_gathering_done)
        ice->cbs.on_gathering_done(ice->ud);
}

static void on_component_state(NiceAgent *agent, guint stream_id, guint component_id, guint state, gpointer data)
{
    (void)agent;
    (void)stream_id;
    (void)component_id;
    sfu_ice *ice = data;
    switch (state) {
    case NICE_COMPONENT_STATE_CONNECTING:
        set_state(ice, SFU_ICE_CHECKING);
        break;
    case NICE_COMPONENT_STATE_CONNECTED:
    case NICE_COMPONENT_STATE_READY:
        set_state(ice, SFU_ICE_CONNECTED);
        break;
    case NICE_COMPONENT_STATE_FAILED:
        set_state(ice, SFU_ICE_FAILED);
        break;
    default:
        break;
    }
}

static void on_recv(NiceAgent *agent, guint stream_id, guint component_id, guint len, gchar *buf, gpointer data)
{
    (void)agent;
    (void)stream_id;
    (void)component_id;
    sfu_ice *ice = data;
    /* This runs in the dispatch of libnice's socket source, in the agent's own context, which only
     * sfu/netloop.c iterates, never from inside a dispatch. GLib takes a source's fds out of the poll
     * set and puts them back around each dispatch unless it may recurse, and each time signals the
     * context's wake-up fd: two system calls per packet and a wake-up. Let it recurse. */
    GSource *src = g_main_current_source();
    if (src && !g_source_get_can_recurse(src))
        g_source_set_can_recurse(src, TRUE);
    if (ice->cbs.on_packet && len > 0)
        ice->cbs.on_packet(ice->ud, (uint8_t *)buf, len);
}

static int add_addresses(sfu_ice *ice, const sfu_ice_config *cfg)
{
    for (size_t i = 0; i < cfg->ip_count; i++) {
        NiceAddress a;
        nice_address_init(&a);
        if (!nice_address_set_from_string(&a, cfg->ips[i]) || !nice_agent_add_local_address(ice->agent, &a))
            return -1;
    }
    return 0;
}

sfu_ice *sfu_ice_new(GMainContext *ctx, const sfu_ice_config *cfg, const sfu_ice_callbacks *cbs, void *ud)
{
    sfu_ice *ice = g_new0(sfu_ice, 1);
    ice->fast_fd = -1;
    ice->cbs = *cbs;
    ice->ud = ud;
    if (cfg->announced_ip)
        g_strlcpy(ice->announced_ip, cfg->announced_ip, sizeof(ice->announced_ip));
    ice->loop = netloop_child_new(ctx);
    if (!ice->loop) {
        g_free(ice);
        return NULL;
    }
    GMainContext *own = netloop_child_context(ice->loop);
    ice->agent = nice_agent_new_full(own, NICE_COMPATIBILITY_RFC5245,
                                     NICE_AGENT_OPTION_ICE_TRICKLE | NICE_AGENT_OPTION_CONSENT_FRESHNESS);
    if (!ice->agent) {
        netloop_child_free(ice->loop);
        g_free(ice);
        return NULL;
    }
    g_object_set(ice->agent, "upnp", FALSE, "ice-tcp", FALSE, "ice-udp", TRUE, "controlling-mode",
                 cfg->controlling, NULL);
    if (add_addresses(ice, cfg) < 0) {
        g_object_unref(ice->agent);
        netloop_child_free(ice->loop);
        g_free(ice);
        return NULL;
    }
    ice->stream = nice_agent_add_stream(ice->agent, 1);
    if (cfg->min_port && cfg->max_port)
        nice_agent_set_port_range(ice->agent, ice->stream, 1, cfg->min_port, cfg->max_port);
    if (cfg->turn_ip) {
        g_object_set(ice->agent, "force-relay", TRUE, NULL);
        nice_agent_set_relay_info(ice->agent, ice->stream, 1, cfg->turn_ip, cfg->turn_port, cfg->turn_user,
                                  cfg->turn_pass, NICE_RELAY_TYPE_TURN_TCP);
    }
    ice->handlers[0] = g_signal_connect(ice->agent, "new-candidate-full", G_CALLBACK(on_new_candidate), ice);
    ice->handlers[1] = g_signal_connect(ice->agent, "candidate-gathering-done", G_CALLBACK(on_gathering_done), ice);
    ice->handlers[2] = g_signal_connect(ice->agent, "component-state-changed", G_CALLBACK(on_component_state), ice);
    ice->handlers[3] = g_signal_connect(ice->agent, "new-selected-pair-full", G_CALLBACK(on_selected_pair), ice);
    nice_agent_attach_recv(ice->agent, ice->stream, 1, own, on_recv, ice);
    netloop_child_touch(ice->loop);
    return ice;
}

void sfu_ice_free(sfu_ice *ice)
{
    if (!ice)
        return;
    nice_agent_attach_recv(ice->agent, ice->stream, 1, NULL, NULL, NULL);
    for (size_t i = 0; i < 4; i++)
        g_signal_handler_disconnect(ice->agent, ice->handlers[i]);
    netloop_child_send_now(ice->loop); /* what is queued or batched for its sockets, before they close */
    fast_path_clear(ice);
    nice_agent_remove_stream(ice->agent, ice->stream);
    g_object_unref(ice->agent);
    netloop_child_free(ice->loop);
    g_free(ice);
}

void sfu_ice_local_credentials(const sfu_ice *ice, char ufrag[SFU_ICE_UFRAG_MAX], char pwd[SFU_ICE_PWD_MAX])
{
    gchar *u = NULL, *p = NULL;
    ufrag[0] = pwd[0] = '\0';
    if (nice_agent_get_local_credentials(ice->agent, ice->stream, &u, &p)) {
        g_strlcpy(ufrag, u, SFU_ICE_UFRAG_MAX);
        g_strlcpy(pwd, p, SFU_ICE_PWD_MAX);
    }
    g_free(u);
    g_free(p);
}

int sfu_ice_set_remote_credentials(sfu_ice *ice, const char *ufrag, const char *pwd)
{
    netloop_child_touch(ice->loop);
    return nice_agent_set_remote_credentials(ice->agent, ice->stream, ufrag, pwd) ? 0 : -1;
}

int sfu_ice_gather(sfu_ice *ice)
{
    netloop_child_touch(ice->loop);
    return nice_agent_gather_candidates(ice->agent, ice->stream) ? 0 : -1;
}

int sfu_ice_add_remote_candidate(sfu_ice *ice, const char *candidate)
{
    /* libnice parses the attribute form "a=candidate:..." only. */
    char line[512];
    if (!strncmp(candidate, "a=", 2))
        candidate += 2;
    if (snprintf(line, sizeof(line), "a=%s", candidate) >= (int)sizeof(line))
        return -1;
    NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(ice->agent, ice->stream, line);
    if (!c)
        return -1;
    int rc = -1;
    netloop_child_touch(ice->loop);
    if (c->transport == NICE_CANDIDATE_TRANSPORT_UDP) {
        GSList *list = g_slist_append(NULL, c);
        rc = nice_agent_set_remote_candidates(ice->agent, ice->stream, 1, list) >= 0 ? 0 : -1;
        g_slist_free(list);
    }
    nice_candidate_free(c);
    return rc;
}

int sfu_ice_restart(sfu_ice *ice)
{
    netloop_child_touch(ice->loop);
    if (!nice_agent_restart_stream(ice->agent, ice->stream))
        return -1;
    ice->restarting = true;
    return 0;
}

void sfu_ice_announce(sfu_ice *ice)
{
    GSList *list = nice_agent_get_local_candidates(ice->agent, ice->stream, 1);
    for (GSList *l = list; l; l = l->next)
        announce(ice, l->data);
    g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
    if (ice->cbs.on_gathering_done)
        ice->cbs.on_gathering_done(ice->ud);
}

int sfu_ice_send(sfu_ice *ice, const uint8_t *buf, size_t len)
{
    if (ice->state != SFU_ICE_CONNECTED)
        return -1;
    if (ice->fast_fd >= 0)
        return netloop_send(ice->loop, ice->fast_fd, (const struct sockaddr *)&ice->fast_to, ice->fast_to_len, buf, len) < 0
                   ? -1
                   : 0;
    return nice_agent_send(ice->agent, ice->stream, 1, (guint)len, (const gchar *)buf) == (gint)len ? 0 : -1;
}

void sfu_ice_prefetch(const sfu_ice *ice)
{
    __builtin_prefetch(ice->loop);
}

void sfu_ice_flush(sfu_ice *ice)
{
    netloop_child_flush(ice->loop);
}

void sfu_ice_defer(sfu_ice *ice, netloop_task *task)
{
    netloop_defer(ice->loop, task);
}

void sfu_ice_selected_remote(sfu_ice *ice, char *out, size_t outlen)
{
    NiceCandidate *local = NULL, *remote = NULL;
    out[0] = '\0';
    if (nice_agent_get_selected_pair(ice->agent, ice->stream, 1, &local, &remote) && remote) {
        char addr[NICE_ADDRESS_STRING_LEN];
        nice_address_to_string(&remote->addr, addr);
        snprintf(out, outlen, "%s:%u", addr, nice_address_get_port(&remote->addr));
    }
}
