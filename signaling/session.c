/* session.c - one WebSocket connection speaking PROTOCOL.md: reassembly, limits, the outgoing
 * queue, and the meeting actions (join, chat, media state, leave).
 *
 * Outgoing messages are queued per connection (bounded by VM_OUT_QUEUE_MAX) and written one per
 * SERVER_WRITEABLE callback, as libwebsockets requires. A connection marked `closing` is closed
 * with its close_code once its queue has drained; nothing it sends after that is read.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sfu/log.h"
#include "signaling/cluster_chat.h"
#include "signaling/msg.h"
#include "signaling/server_internal.h"

/* Closes c once its queue is written and a short grace has passed: a client that sent a burst
 * (a flood, an oversized message) has its burst in flight, and closing a socket while input keeps
 * arriving makes the kernel reset the connection, which throws away the replies and the close frame
 * still on their way to the client. Input that arrives meanwhile is read and ignored. */
#define CLOSE_GRACE_US 250000
static void request_close(vm_conn *c, enum lws_close_status code)
{
    if (c->closing)
        return;
    c->closing = true;
    c->close_code = code;
    lws_set_timer_usecs(c->wsi, CLOSE_GRACE_US);
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, 5); /* a hard limit for clients that keep sending */
    lws_callback_on_writable(c->wsi);
}

void session_timer(vm_conn *c)
{
    if (!c->closing)
        return;
    c->close_ready = true;
    lws_callback_on_writable(c->wsi);
}

static void free_queue(vm_conn *c)
{
    outmsg *m = c->out_head;
    while (m) {
        outmsg *next = m->next;
        free(m);
        m = next;
    }
    c->out_head = c->out_tail = NULL;
    c->out_bytes = 0;
}

/* Queues json (taking ownership; NULL is ignored) for sending to c. */
static void send_json(vm_conn *c, char *json)
{
    if (!json)
        return;
    if (c->closing && c->close_code == LWS_CLOSE_STATUS_POLICY_VIOLATION) {
        free(json);
        return;
    }
    size_t len = strlen(json);
    if (c->out_bytes + len > VM_OUT_QUEUE_MAX) {
        free(json);
        LOG_W("closing a WebSocket that does not read its messages");
        free_queue(c);
        request_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION);
        return;
    }
    outmsg *m = malloc(sizeof(*m) + LWS_PRE + len);
    if (!m) {
        free(json);
        return;
    }
    m->next = NULL;
    m->len = len;
    memcpy(m->data + LWS_PRE, json, len);
    free(json);
    if (c->out_tail)
        c->out_tail->next = m;
    else
        c->out_head = m;
    c->out_tail = m;
    c->out_bytes += len;
    lws_callback_on_writable(c->wsi);
}

static void send_error(vm_conn *c, vm_err code, const char *ref, const char *text)
{
    msg_error err;
    msg_error_set(&err, code, ref, "%s", text);
    send_json(c, msg_build_error(&err));
}

/* server-busy with the limit that was hit (PROTOCOL.md, Errors): reason is a static string. */
static void send_busy(vm_conn *c, const char *reason, const char *ref, const char *text)
{
    msg_error err;
    msg_error_set(&err, VM_ERR_SERVER_BUSY, ref, "%s", text);
    err.reason = reason;
    send_json(c, msg_build_error(&err));
}

/* rate-limited by a limit of the client's address (abuse.h): reason is a static string. */
static void send_limited(vm_conn *c, const char *reason, const char *ref, unsigned retry_s, const char *text)
{
    msg_error err;
    msg_error_set(&err, VM_ERR_RATE_LIMITED, ref, "%s", text);
    err.reason = reason;
    err.retry_after_s = retry_s;
    send_json(c, msg_build_error(&err));
}

/* Per client address (abuse.h), before a join: an address out of joins of unknown ids is refused every
 * join, of a live meeting too (else the refusals would tell which ids are live), and a join that would
 * start a meeting takes one of its meeting starts. Returns false when refused (the error is sent). */
static bool join_allowed(struct vm_signaling *s, vm_conn *c, const char *meeting_id, const char *ref)
{
    unsigned retry = 0;
    uint64_t now = vm_mono_us();
    if (!abuse_allowed(s->abuse, &c->addr, ABUSE_UNKNOWN_JOINS, now, &retry)) {
        abuse_count_refusal(s->abuse, ABUSE_UNKNOWN_JOINS);
        send_limited(c, "unknown-meetings", ref, retry, "too many joins of meetings that do not exist from your address");
        return false;
    }
    if (registry_find(s->reg, meeting_id))
        return true;
    abuse_take(s->abuse, &c->addr, ABUSE_UNKNOWN_JOINS, now, NULL);
    if (!abuse_take(s->abuse, &c->addr, ABUSE_STARTS, now, &retry)) {
        send_limited(c, "meetings", ref, retry, "too many meetings started from your address");
        return false;
    }
    return true;
}

/* Queues json (taking ownership; NULL is ignored) for participant p: on its socket, or, while it is
 * away (no socket), in its away buffer, sent when it resumes. A participant whose away buffer would
 * pass VM_OUT_QUEUE_MAX loses it and its token: it cannot resume and leaves at the next sweep. */
static void send_to(vm_participant *p, char *json)
{
    if (!json)
        return;
    if (p->conn) {
        send_json(p->conn, json);
        return;
    }
    size_t len = strlen(json) + 1;
    char *grown = p->resume.token[0] && p->away_len + len <= VM_OUT_QUEUE_MAX ? realloc(p->away_out, p->away_len + len)
                                                                               : NULL;
    if (!grown) {
        free(p->away_out);
        p->away_out = NULL;
        p->away_len = 0;
        p->resume.token[0] = '\0';
    } else {
        memcpy(grown + p->away_len, json, len);
        p->away_out = grown;
        p->away_len += len;
    }
    free(json);
}

/* Sends a copy of json to every participant of m except `except`; frees json. */
static void broadcast(vm_meeting *m, const vm_participant *except, char *json)
{
    if (!json)
        return;
    for (vm_participant *p = m->first; p; p = p->next) {
        if (p != except)
            send_to(p, strdup(json));
    }
    free(json);
}

/* Tells the others when p's reconnecting state flipped (resume.h). */
static void tell_reconnecting(vm_participant *p)
{
    if (resume_take_change(&p->resume)) {
        LOG_I("meeting %s: %s (%s) %s", p->meeting->id, p->user_id, p->username,
              p->resume.shown ? "reconnecting" : "reconnected");
        broadcast(p->meeting, p, msg_build_user_reconnecting(p));
    }
}

/* p leaves its meeting (the others are told why); its socket, if any, stays open, out of the meeting. */
static void participant_leave(struct vm_signaling *s, vm_participant *p, const char *reason)
{
    vm_meeting *m = p->meeting;
    LOG_I("meeting %s: %s (%s) %s", m->id, p->user_id, p->username, reason);
    broadcast(m, p, msg_build_user_left(p->user_id, reason));
    if (s->media)
        sfu_leave(s->media, m->id, p->user_id);
    if (p->conn)
        ((vm_conn *)p->conn)->participant = NULL;
    registry_leave(s->reg, p, vm_now_ms());
}

static void leave_meeting(struct vm_signaling *s, vm_conn *c, const char *reason)
{
    if (c->participant)
        participant_leave(s, c->participant, reason);
}

void session_tell_meeting(vm_meeting *m, char *json)
{
    broadcast(m, NULL, json);
}

void session_send(vm_conn *c, char *json)
{
    send_json(c, json);
}

void session_join(struct vm_signaling *s, vm_conn *c, const vm_msg *msg, bool placed)
{
    static const char ref[] = "join-meeting";
    if (c->participant) {
        send_error(c, VM_ERR_ALREADY_JOINED, ref, "this connection is already in a meeting");
        return;
    }
    if (!placed && !join_allowed(s, c, msg->meeting_id, ref))
        return; /* the allowance was taken when the join came, before it was placed */
    if (!placed && drain_route_join(s, c, msg))
        return; /* this node drains: a handed-over meeting is moved, a new one refused or placed elsewhere */
    if (s->cluster && !placed && cluster_route_join(s, c, msg))
        return; /* not live here: placed through Redis first, or moved to its node */
    /* Two UDP ports per participant, across all meetings (ports.h): one more must fit before it is
     * let in, so that nobody already in loses a connection to a newcomer. */
    if (s->media && !port_budget_admit(&s->ports, registry_participant_count(s->reg))) {
        LOG_W("join refused: the %zu participant(s) in meetings hold the UDP port range %d-%d",
              registry_participant_count(s->reg), s->cfg->rtc_min_port, s->cfg->rtc_max_port);
        send_busy(c, "media-ports", ref, "the server has no free media ports for another participant");
        return;
    }
    vm_participant *p;
    int rc = registry_join(s->reg, msg->meeting_id, msg->username, msg->audio, msg->video, c, vm_now_ms(), &p);
    if (rc == MEETING_E_FULL) {
        send_error(c, VM_ERR_MEETING_FULL, ref, "the meeting is full");
        return;
    }
    if (rc < 0) {
        send_busy(c, rc == MEETING_E_TOO_MANY ? "meetings" : NULL, ref, "the server cannot take this meeting now");
        return;
    }
    char token[VM_RESUME_TOKEN_LEN + 1];
    if (ids_token(token) < 0) {
        registry_leave(s->reg, p, vm_now_ms());
        send_error(c, VM_ERR_SERVER_BUSY, ref, "the server cannot take this meeting now");
        return;
    }
    resume_set_token(&p->resume, token);
    c->participant = p;
    if (s->media)
        sfu_join(s->media, p->meeting->id, p->user_id);
    LOG_I("meeting %s: %s (%s) joined, %zu present", p->meeting->id, p->user_id, p->username,
          p->meeting->count);
    cluster_info_send(s, c);
    send_json(c, msg_build_existing_users(p, s->cfg->reconnect_grace_ms, false));
    broadcast(p->meeting, p, msg_build_user_joined(p));
}

/* resume-meeting: the participant the token names takes this socket, with the same userId, media
 * connections and state. A socket it still had (the server had not seen it die) is closed, and what
 * was waiting there to be sent moves to this one, after the answer. */
static void on_resume(struct vm_signaling *s, vm_conn *c, const vm_msg *msg)
{
    static const char ref[] = "resume-meeting";
    if (c->participant) {
        send_error(c, VM_ERR_ALREADY_JOINED, ref, "this connection is already in a meeting");
        return;
    }
    vm_participant *p = registry_find_user(s->reg, msg->user_id);
    if (!p || strcmp(p->meeting->id, msg->meeting_id) != 0 || !resume_token_matches(&p->resume, msg->token)) {
        LOG_I("meeting %s: a resume of %s was refused", msg->meeting_id, msg->user_id);
        send_error(c, VM_ERR_RESUME_REFUSED, ref,
                   "this participant cannot be resumed (unknown, expired or already used token); join again");
        return;
    }
    char token[VM_RESUME_TOKEN_LEN + 1];
    if (ids_token(token) < 0) {
        send_error(c, VM_ERR_SERVER_BUSY, ref, "the server cannot resume now");
        return;
    }
    resume_set_token(&p->resume, token);
    resume_ws_back(&p->resume);
    vm_conn *old = p->conn;
    p->conn = c;
    c->participant = p;
    cluster_info_send(s, c);
    send_json(c, msg_build_existing_users(p, s->cfg->reconnect_grace_ms, true));
    if (old) {
        old->participant = NULL;
        if (old->out_head && !c->closing) {
            if (c->out_tail)
                c->out_tail->next = old->out_head;
            else
                c->out_head = old->out_head;
            c->out_tail = old->out_tail;
            c->out_bytes += old->out_bytes;
            old->out_head = old->out_tail = NULL;
            old->out_bytes = 0;
        }
        request_close(old, (enum lws_close_status)4001 /* replaced by a resumed connection */);
    }
    for (size_t off = 0; off < p->away_len; off += strlen(p->away_out + off) + 1)
        send_json(c, strdup(p->away_out + off));
    free(p->away_out);
    p->away_out = NULL;
    p->away_len = 0;
    LOG_I("meeting %s: %s (%s) resumed%s", p->meeting->id, p->user_id, p->username,
          old ? ", replacing its old connection" : "");
    tell_reconnecting(p);
}

/* An SDP of the browser's for pc: a new ICE ufrag is a restart, after which the SFU holds none of the
 * candidates before it, so the count of candidates starts again. */
static void new_ice_generation(vm_conn *c, msg_pc pc, const char *sdp)
{
    const char *u = sdp ? strstr(sdp, "a=ice-ufrag:") : NULL;
    if (!u)
        return;
    u += strlen("a=ice-ufrag:");
    unsigned h = 5381;
    for (; *u && *u != '\r' && *u != '\n'; u++)
        h = h * 33 + (unsigned char)*u;
    if (h != c->ufrag_hash[pc]) {
        c->ufrag_hash[pc] = h;
        c->candidates[pc] = 0;
    }
}

/* At most max_candidates remote candidates per connection and ICE generation reach the SFU: each is
 * kept by the ICE agent until the next restart. The first one over is answered with rate-limited. */
static bool candidate_allowed(struct vm_signaling *s, vm_conn *c, msg_pc pc)
{
    if (c->candidates[pc] < s->cfg->max_candidates) {
        c->candidates[pc]++;
        return true;
    }
    s->candidates_dropped++;
    if (c->candidates[pc]++ == s->cfg->max_candidates)
        send_limited(c, "candidates", "ice-candidate", 0, "too many ICE candidates; the rest are ignored");
    return false;
}

static void dispatch(struct vm_signaling *s, vm_conn *c, const vm_msg *msg)
{
    vm_participant *p = c->participant;
    if (msg->type == MSG_PING) {
        send_json(c, msg_build_pong());
        return;
    }
    if (msg->type == MSG_JOIN) {
        session_join(s, c, msg, false);
        return;
    }
    if (msg->type == MSG_RESUME) {
        on_resume(s, c, msg);
        return;
    }
    if (!p) {
        static const char *const refs[] = {
            [MSG_CHAT] = "chat-message", [MSG_MEDIA_STATE] = "media-state", [MSG_LEAVE] = "leave-meeting",
            [MSG_OFFER] = "offer",       [MSG_ANSWER] = "answer",            [MSG_CANDIDATE] = "ice-candidate",
            [MSG_VIDEO_VIEWS] = "video-views", [MSG_ICE_RESTART] = "ice-restart",
        };
        send_error(c, VM_ERR_NOT_IN_MEETING, refs[msg->type], "join a meeting first");
        return;
    }
    if ((msg->type == MSG_OFFER || msg->type == MSG_ANSWER || msg->type == MSG_CANDIDATE ||
         msg->type == MSG_ICE_RESTART) &&
        !s->media) {
        send_error(c, VM_ERR_MEDIA_FAILED, NULL, "the media plane is not running");
        return;
    }
    switch (msg->type) {
    case MSG_CHAT: {
        const vm_chat *chat = meeting_add_chat(p, msg->message, vm_now_ms());
        if (chat) {
            broadcast(p->meeting, NULL, msg_build_chat(chat));
            cluster_chat_written(s, p->meeting, chat); /* several nodes: kept in Redis too */
        }
        break;
    }
    case MSG_MEDIA_STATE:
        p->audio = msg->audio;
        p->video = msg->video;
        broadcast(p->meeting, p, msg_build_media_state(p));
        break;
    case MSG_LEAVE: {
        char id[VM_MEETING_ID_LEN + 1];
        memcpy(id, p->meeting->id, sizeof(id));
        leave_meeting(s, c, "left");
        send_json(c, msg_build_left(id));
        break;
    }
    case MSG_OFFER:
    case MSG_ANSWER:
        new_ice_generation(c, msg->pc, msg->sdp);
        if (msg->type == MSG_OFFER && msg->has_sources) /* without: the last announced ones stay */
            sfu_screen_mids(s->media, p->meeting->id, p->user_id, msg->screen_mids); /* before its offer */
        sfu_remote_sdp(s->media, p->meeting->id, p->user_id, (sfu_pc)msg->pc, msg->sdp);
        break;
    case MSG_CANDIDATE:
        if (msg->candidate[0] && !candidate_allowed(s, c, msg->pc))
            break;
        sfu_remote_candidate(s->media, p->meeting->id, p->user_id, (sfu_pc)msg->pc, msg->candidate);
        break;
    case MSG_ICE_RESTART:
        sfu_restart_ice(s->media, p->meeting->id, p->user_id, (sfu_pc)msg->pc);
        break;
    case MSG_VIDEO_VIEWS: {
        if (!s->media)
            break; /* nothing is forwarded: nothing to size */
        sfu_view views[SFU_MAX_VIEWS];
        size_t n = msg->n_views < SFU_MAX_VIEWS ? msg->n_views : SFU_MAX_VIEWS;
        for (size_t i = 0; i < n; i++) {
            snprintf(views[i].mid, sizeof(views[i].mid), "%s", msg->views[i].mid);
            views[i].width = (uint16_t)msg->views[i].width;
            views[i].height = (uint16_t)msg->views[i].height;
        }
        sfu_video_views(s->media, p->meeting->id, p->user_id, views, n);
        break;
    }
    default:
        break;
    }
}

/* A message over its rate: dropped and answered; after abuse_drops of them the socket is closed. */
static void message_limited(struct vm_signaling *s, vm_conn *c, bool media, uint64_t now)
{
    s->msgs_limited[media]++;
    c->drops++;
    if (c->drops >= s->cfg->abuse_drops) {
        LOG_W("closing a WebSocket that floods (%u messages dropped)", c->drops);
        send_limited(c, "messages", NULL, 0, "too many messages; closing");
        request_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION);
        return;
    }
    uint64_t wait = ratelimit_wait_us(media ? &c->rl_media : &c->rl, now);
    send_limited(c, "messages", NULL, wait < 1000000 ? 1 : (unsigned)(wait / 1000000 + 1),
                 "too many messages; this one was dropped");
}

/* The rate is checked once the message is parsed: offer, answer, ice-candidate and ice-restart take
 * from their own bucket (a join on a machine with many interfaces trickles dozens of candidates), the
 * rest (chat, media-state, ..., and what does not parse) from the general one; a leave from a meeting
 * from neither. */
static void handle_message(struct vm_signaling *s, vm_conn *c)
{
    vm_msg *msg = malloc(sizeof(*msg));
    if (!msg)
        return;
    msg_error err;
    bool ok = msg_parse(c->rx, c->rx_len, c->rx_binary, msg, &err) == 0;
    bool media = ok && (msg->type == MSG_OFFER || msg->type == MSG_ANSWER || msg->type == MSG_CANDIDATE ||
                        msg->type == MSG_ICE_RESTART);
    /* a leave from a meeting is never dropped: it ends state, and a sender that spent its allowance
     * would otherwise stay in (keeping a meeting alive) until its socket closes */
    bool leaving = ok && msg->type == MSG_LEAVE && c->participant;
    uint64_t now = vm_mono_us();
    if (!leaving && !ratelimit_take(media ? &c->rl_media : &c->rl, now))
        message_limited(s, c, media, now);
    else if (!ok)
        send_json(c, msg_build_error(&err));
    else
        dispatch(s, c, msg);
    msg_clear(msg);
    free(msg);
}

void session_open(struct vm_signaling *s, vm_conn *c, struct lws *wsi)
{
    abuse_addr addr = c->addr; /* the filter found it */
    memset(c, 0, sizeof(*c));
    c->addr = addr;
    c->wsi = wsi;
    c->is_ws = true;
    s->ws_count++;
    uint64_t now = vm_mono_us();
    ratelimit_init(&c->rl, s->cfg->msg_rate, s->cfg->msg_burst, now);
    ratelimit_init(&c->rl_media, s->cfg->media_msg_rate, s->cfg->media_msg_burst, now);
    if (atomic_load(&s->stop)) {
        send_busy(c, "shutting-down", NULL, "the server is shutting down");
        request_close(c, (enum lws_close_status)1013 /* try again later */);
    } else if (s->ws_count > s->cfg->max_connections) {
        send_busy(c, "connections", NULL, "the server is at its connection limit");
        request_close(c, (enum lws_close_status)1013 /* try again later */);
    } else if (abuse_conn_open(s->abuse, &c->addr, now) < 0) {
        char a[64];
        abuse_addr_format(&c->addr, a, sizeof(a));
        LOG_W("refused a WebSocket from %s: it has %u open", a, abuse_conns(s->abuse, &c->addr));
        send_limited(c, "connections", NULL, 10, "too many connections from your address");
        request_close(c, (enum lws_close_status)1013 /* try again later */);
    } else {
        c->addr_counted = true;
    }
}

void session_receive(struct vm_signaling *s, vm_conn *c, const void *in, size_t len)
{
    struct lws *wsi = c->wsi;
    if (c->closing)
        return;
    if (lws_is_first_fragment(wsi)) {
        c->rx_len = 0;
        c->rx_binary = lws_frame_is_binary(wsi);
    }
    size_t max = s->cfg->max_message_bytes;
    if (c->rx_len + len > max) {
        send_error(c, VM_ERR_TOO_LARGE, NULL, "message larger than the server accepts");
        request_close(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE);
        return;
    }
    if (c->rx_len + len > c->rx_cap || !c->rx) {
        size_t cap = c->rx_cap ? c->rx_cap : 4096;
        while (cap < c->rx_len + len)
            cap *= 2;
        if (cap > max)
            cap = max;
        char *grown = realloc(c->rx, cap);
        if (!grown) {
            request_close(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
            return;
        }
        c->rx = grown;
        c->rx_cap = cap;
    }
    if (len > 0) {
        memcpy(c->rx + c->rx_len, in, len);
        c->rx_len += len;
    }
    if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0)
        handle_message(s, c);
}

int session_writeable(vm_conn *c)
{
    outmsg *m = c->out_head;
    if (m) {
        c->out_head = m->next;
        if (!c->out_head)
            c->out_tail = NULL;
        c->out_bytes -= m->len;
        int n = lws_write(c->wsi, m->data + LWS_PRE, m->len, LWS_WRITE_TEXT);
        free(m);
        if (n < 0)
            return -1;
        if (c->out_head || c->closing)
            lws_callback_on_writable(c->wsi);
        return 0;
    }
    if (c->closing && c->close_ready) {
        /* Read away what the client already sent: closing a socket with unread input makes the
         * kernel answer with a reset, which throws away the replies still on their way to it. */
        lws_sockfd_type fd = lws_get_socket_fd(c->wsi);
        char sink[4096];
        for (int i = 0; fd >= 0 && i < 256 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
            ;
        lws_close_reason(c->wsi, c->close_code, NULL, 0);
        return -1;
    }
    return 0;
}

void session_peer_close(vm_conn *c, const void *in, size_t len)
{
    /* A close frame with no code, 1000 (normal) or 1001 (going away, e.g. the tab closed): the
     * client meant to go. Any other end of the socket leaves room for a resume. */
    unsigned code = len >= 2 ? (unsigned)((const uint8_t *)in)[0] << 8 | ((const uint8_t *)in)[1] : 1005;
    c->client_left = code == 1000 || code == 1001 || code == 1005;
}

void session_close(struct vm_signaling *s, vm_conn *c)
{
    if (!c->is_ws)
        return;
    vm_participant *p = c->participant;
    /* Not when the server closed it (flood, too large, ...) or is stopping. */
    if (p && !c->client_left && !c->closing && s->cfg->reconnect_grace_ms > 0 && p->resume.token[0] &&
        !atomic_load(&s->stop)) {
        /* Away: the others see "reconnecting" until it resumes or session_sweep ends it. */
        p->conn = NULL;
        c->participant = NULL;
        resume_ws_lost(&p->resume, vm_now_ms());
        LOG_I("meeting %s: %s (%s) lost its connection; it may resume within %lld s", p->meeting->id, p->user_id,
              p->username, (long long)(s->cfg->reconnect_grace_ms / 1000));
        tell_reconnecting(p);
    }
    leave_meeting(s, c, "disconnected");
    free_queue(c);
    free(c->rx);
    c->rx = NULL;
    c->is_ws = false;
    s->ws_count--;
    if (c->addr_counted)
        abuse_conn_close(s->abuse, &c->addr, vm_mono_us());
    c->addr_counted = false;
}

void session_media_event(struct vm_signaling *s, sfu_event *ev)
{
    if (ev->kind == SFU_EV_SPEAKERS && !ev->user_id[0]) {
        /* the order of recent speakers changed: to everyone in the meeting (if it still lives) */
        vm_meeting *m = registry_find(s->reg, ev->meeting_id);
        if (m)
            broadcast(m, NULL, msg_build_active_speakers(ev->text));
        sfu_event_free(ev);
        return;
    }
    vm_participant *p = registry_find_user(s->reg, ev->user_id);
    if (!p || strcmp(p->meeting->id, ev->meeting_id) != 0) {
        sfu_event_free(ev); /* the participant left meanwhile */
        return;
    }
    vm_conn *c = p->conn;
    msg_pc pc = ev->pc == SFU_PC_UP ? MSG_PC_UP : MSG_PC_DOWN;
    msg_error err;
    switch (ev->kind) {
    case SFU_EV_OFFER:
        send_to(p, msg_build_sdp("offer", pc, ev->text));
        break;
    case SFU_EV_ANSWER:
        send_to(p, msg_build_sdp("answer", pc, ev->text));
        break;
    case SFU_EV_CANDIDATE:
        send_to(p, msg_build_candidate(pc, ev->text, ev->mid));
        break;
    case SFU_EV_ERROR:
        msg_error_set(&err, VM_ERR_BAD_SDP, pc == MSG_PC_UP ? "offer" : "answer", "%s", ev->text);
        send_to(p, msg_build_error(&err));
        break;
    case SFU_EV_LAYERS:
        send_to(p, msg_build_video_layers(ev->mid, ev->text));
        break;
    case SFU_EV_PAUSED:
        send_to(p, msg_build_video_paused(ev->mid, ev->text));
        break;
    case SFU_EV_SPEAKERS: /* for a participant that joined */
        send_to(p, msg_build_active_speakers(ev->text));
        break;
    case SFU_EV_RECONNECTING:
        /* The browser restarts ICE on it, or the SFU saw its ICE fail (then it has the grace period). */
        resume_media(&p->resume, (unsigned)pc,
                     strcmp(ev->text, "restart") == 0 ? RESUME_MEDIA_RESTARTING : RESUME_MEDIA_FAILED, vm_now_ms());
        tell_reconnecting(p);
        break;
    case SFU_EV_RECONNECTED:
        resume_media(&p->resume, (unsigned)pc, RESUME_MEDIA_OK, vm_now_ms());
        tell_reconnecting(p);
        break;
    case SFU_EV_FAILED:
        /* A transport that an ICE restart cannot repair (DTLS failed, e.g. a fingerprint mismatch):
         * the participant leaves the meeting. */
        if (c)
            send_error(c, VM_ERR_MEDIA_FAILED, NULL, ev->text);
        participant_leave(s, p, "disconnected");
        if (c)
            request_close(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
        break;
    case SFU_EV_INTERNAL:
        /* The media plane could not set the participant's media up (and undid what it had made):
         * out of the meeting, told why; the socket stays open and a join starts from nothing. */
        if (c) {
            send_error(c, VM_ERR_INTERNAL, NULL, ev->text);
            leave_meeting(s, c, "disconnected");
        } else {
            participant_leave(s, p, "disconnected");
        }
        break;
    case SFU_EV_NO_PORTS:
        /* Its media cannot work: out of the meeting, told why; the socket stays open (joining again
         * is checked like any join), and rejoining at once would not help. Away (no socket): it
         * leaves, and a resume finds it gone. */
        if (c) {
            send_busy(c, "media-ports", NULL, ev->text);
            leave_meeting(s, c, "disconnected");
        } else {
            participant_leave(s, p, "disconnected");
        }
        break;
    }
    sfu_event_free(ev);
}

void session_sweep(struct vm_signaling *s)
{
    vm_participant *p;
    int64_t grace = s->cfg->reconnect_grace_ms;
    while ((p = registry_overdue(s->reg, vm_now_ms(), grace))) {
        vm_conn *c = p->conn;
        if (c && !p->resume.away) {
            /* Its socket is fine but a media connection stayed failed for the whole grace period. */
            send_error(c, VM_ERR_MEDIA_FAILED, NULL, "a media connection failed and was not repaired");
            request_close(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
        }
        participant_leave(s, p, "disconnected");
    }
}
