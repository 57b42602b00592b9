/* session.c - one bench participant: signaling and transports (see session.h). The packet paths
 * (media out, feedback, receive statistics) are in session_rtp.c.
 *
 * Signaling, as a browser does it (PROTOCOL.md "Media"):
 *   ws open        -> join-meeting
 *   existing-users -> publisher: up peer (ICE controlling), offer {pc:"up"}, gather (trickle)
 *   answer {up}    -> remote transport (DTLS client: the SFU is passive), negotiated pts/ext ids
 *   offer {down}   -> first time: down peer (ICE controlled); answer {pc:"down"} (setup:active),
 *                     new receive tracks; gather after the first answer
 *   ice-candidate  -> to the peer of its pc; null = end of candidates
 *   error          -> counted; media-failed marks the session failed
 * Every WebSocket event arrives on the ws thread and is handed to the session's worker with
 * worker_invoke(), so the session is only ever touched by its worker.
 */
#include "bench/session.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/meeting.h"
#include "bench/session_rtp.h"

/* ---- helpers ---- */

static uint32_t nonzero_random(void)
{
    uint32_t v;
    do
        v = g_random_int();
    while (v == 0);
    return v;
}

void bench_session_send_json(bench_session *s, json_t *o)
{
    if (!o)
        return;
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (text && s->ws)
        bench_ws_send(s->ws, text);
    else
        free(text);
}

void bench_session_fail(bench_session *s, const char *why)
{
    if (s->failed || s->w->stopping)
        return;
    s->failed = true;
    snprintf(s->why, sizeof(s->why), "%s", why ? why : "failed");
    STATS_INC(s->w->c.failures);
    if (!s->w->run->cfg.quiet)
        fprintf(stderr, "bench: %s: %s\n", s->name, s->why);
}

void bench_session_check_ready(bench_session *s, int64_t now_us)
{
    if (s->t_ready || s->failed)
        return;
    if (s->publishes && !s->up_connected)
        return;
    if (s->receives && !s->t_first_media)
        return;
    s->t_ready = now_us;
    STATS_INC(s->w->c.sessions_ready);
}

/* ---- transports ---- */

static void send_candidate(bench_session *s, const char *pc, const char *mid, const char *cand)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:i}", "type", "ice-candidate", "pc", pc, "sdpMid", mid,
                          "sdpMLineIndex", 0);
    if (o)
        json_object_set_new(o, "candidate", cand && *cand ? json_string(cand) : json_null());
    bench_session_send_json(s, o);
}

static void up_candidate(void *ud, const char *cand)
{
    send_candidate(ud, "up", BENCH_MID_AUDIO, cand);
}

static void down_candidate(void *ud, const char *cand)
{
    bench_session *s = ud;
    send_candidate(s, "down", s->down_first_mid, cand);
}

static void up_state(void *ud, peer_state st, const char *why)
{
    bench_session *s = ud;
    int64_t now = g_get_monotonic_time();
    if (st == PEER_FAILED) {
        bench_session_fail(s, why ? why : "up connection failed");
    } else if (st == PEER_CONNECTED && !s->up_connected) {
        s->up_connected = true;
        s->t_up_connected = now;
        STATS_INC(s->w->c.up_connected);
        bench_session_media_start(s, now);
        bench_session_check_ready(s, now);
    }
}

static void down_state(void *ud, peer_state st, const char *why)
{
    bench_session *s = ud;
    int64_t now = g_get_monotonic_time();
    if (st == PEER_FAILED) {
        bench_session_fail(s, why ? why : "down connection failed");
    } else if (st == PEER_CONNECTED && !s->down_connected) {
        s->down_connected = true;
        s->t_down_connected = now;
        STATS_INC(s->w->c.down_connected);
        for (size_t i = 0; i < s->n_rx; i++) {
            if (s->rx[i].sdp.active && !s->rx[i].sub_us)
                s->rx[i].sub_us = now;
        }
    }
}

static const peer_callbacks up_cbs = {up_candidate, up_state, NULL, bench_session_up_rtcp, NULL, bench_dc_on_data};
static const peer_callbacks down_cbs = {down_candidate, down_state, bench_session_down_rtp, bench_session_down_rtcp, NULL, NULL};

/* ---- signaling ---- */

static void on_open(bench_session *s)
{
    s->t_open = g_get_monotonic_time();
    json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:b}", "type", "join-meeting", "meetingId", s->meeting_id,
                          "username", s->name, "audio", s->publishes, "video", s->publishes);
    bench_session_send_json(s, o);
}

/* moved (PROTOCOL.md "Several nodes"): the meeting lives on another node; the same join goes there
 * on a new socket (as the web app does, at most 3 times in a row). A move mid-meeting (a draining
 * node) would need new transports: the bench does not follow it, it counts as a failure. */
static void on_moved(bench_session *s, json_t *msg)
{
    const char *url = json_string_value(json_object_get(msg, "url"));
    char host[128];
    int port;
    if (s->user_id[0] || s->moves >= 3 || !url || bench_ws_parse_url(url, host, sizeof(host), &port) < 0) {
        char why[160];
        snprintf(why, sizeof(why), "moved to %s %s", url ? url : "?",
                 s->user_id[0] ? "mid-meeting" : s->moves >= 3 ? "a fourth time" : "(not an http:// URL)");
        bench_session_fail(s, why);
        return;
    }
    s->moves++;
    snprintf(s->node, sizeof(s->node), "%s", url);
    s->closes_expected++;
    bench_ws_close(s->ws);
    s->ws = bench_ws_connect_to(s->w->run->ws, host, port, s);
    if (!s->ws)
        bench_session_fail(s, "cannot open a WebSocket");
}

static void on_joined(bench_session *s, json_t *msg)
{
    const char *uid = json_string_value(json_object_get(msg, "userId"));
    snprintf(s->user_id, sizeof(s->user_id), "%s", uid ? uid : "");
    s->alone_at_join = json_array_size(json_object_get(msg, "users")) == 0;
    s->t_joined = g_get_monotonic_time();
    STATS_INC(s->w->c.sessions_joined);
    if (!s->publishes)
        return;
    s->up = peer_new(&s->w->env, true, &up_cbs, s);
    if (!s->up || bench_session_media_init(s) < 0) {
        bench_session_fail(s, "cannot make the publishing connection");
        return;
    }
    sdp_local local;
    peer_local(s->up, &local);
    char cname[80];
    snprintf(cname, sizeof(cname), "bench-%s", s->user_id);
    const char *rids[BENCH_MAX_RIDS];
    size_t n_rids = 0;
    for (unsigned k = 0; s->w->run->cfg.simulcast && k < s->n_video; k++)
        rids[n_rids++] = s->video[k].rid;
    bench_pub_params p = {((uint64_t)g_random_int() << 30) ^ g_random_int(), s->audio.ssrc, s->video[0].ssrc,
                          s->video[0].rtx_ssrc, cname, "bench-stream", rids, n_rids, s->w->run->cfg.data_channel,
                          s->w->run->cfg.audio_dtx};
    char *sdp = bench_sdp_publish_offer(&local, &p);
    if (!sdp) {
        bench_session_fail(s, "cannot build the offer");
        return;
    }
    json_t *o = json_pack("{s:s, s:s, s:s}", "type", "offer", "pc", "up", "sdp", sdp);
    free(sdp);
    bench_session_send_json(s, o);
    peer_gather(s->up);
}

static void on_up_answer(bench_session *s, const char *sdp)
{
    bench_sdp_up_answer *a = calloc(1, sizeof(*a));
    if (!a || !s->up || bench_sdp_read_up_answer(sdp, strlen(sdp), a) < 0 || peer_set_remote(s->up, &a->remote) < 0) {
        bench_session_fail(s, "the SFU's answer cannot be used");
        free(a);
        return;
    }
    bench_session_media_apply(s, &a->audio, &a->video);
    if (s->w->run->cfg.data_channel && a->data_channel)
        peer_enable_data(s->up, SDP_NEG_SCTP_PORT);
    free(a);
}

/* Keeps the statistics of tracks that stay (same mid and SSRC) across renegotiations. */
static void update_rx_tracks(bench_session *s, const bench_sdp_rx_track *t, size_t n, int64_t now)
{
    bench_rx_track *nt = calloc(n ? n : 1, sizeof(*nt));
    if (!nt)
        return;
    for (size_t i = 0; i < n; i++) {
        bench_rx_track *old = NULL;
        for (size_t k = 0; k < s->n_rx && !old; k++) {
            if (!strcmp(s->rx[k].sdp.mid, t[i].mid) && s->rx[k].sdp.ssrc == t[i].ssrc)
                old = &s->rx[k];
        }
        if (old) {
            nt[i] = *old;
        } else {
            bench_rxseq_init(&nt[i].seq);
            bench_frames_init(&nt[i].frames);
            if (s->w->window)
                bench_frames_window_start(&nt[i].frames, now);
            nt[i].sub_us = t[i].active && s->down_connected ? now : 0;
        }
        nt[i].sdp = t[i];
    }
    free(s->rx);
    s->rx = nt;
    s->n_rx = n;
}

static void on_down_offer(bench_session *s, const char *sdp)
{
    int64_t now = g_get_monotonic_time();
    bool first = !s->down;
    if (first && !(s->down = peer_new(&s->w->env, false, &down_cbs, s))) {
        bench_session_fail(s, "cannot make the receiving connection");
        return;
    }
    sdp_local local;
    peer_local(s->down, &local);
    bench_sdp_rx_track *tracks = calloc(BENCH_MAX_RX_TRACKS, sizeof(*tracks));
    sdp_remote_transport *remote = calloc(1, sizeof(*remote));
    char *answer = NULL;
    size_t n = 0;
    int rc = (tracks && remote) ? bench_sdp_answer_down(sdp, strlen(sdp), &local, s->w->run->cfg.transport_cc,
                                                        &answer, remote, tracks, BENCH_MAX_RX_TRACKS, &n)
                                : -1;
    if (rc == 0 && first && peer_set_remote(s->down, remote) < 0)
        rc = -1;
    if (rc < 0) {
        bench_session_fail(s, "cannot answer the SFU's offer");
    } else {
        if (first) {
            s->t_first_offer = now;
            snprintf(s->down_first_mid, sizeof(s->down_first_mid), "%s", n ? tracks[0].mid : "");
        }
        update_rx_tracks(s, tracks, n, now);
        for (size_t i = 0; i < n && !s->twcc_ext; i++)
            if (tracks[i].active)
                s->twcc_ext = tracks[i].twcc_ext; /* one id for the whole BUNDLE */
        bench_session_send_json(s, json_pack("{s:s, s:s, s:s}", "type", "answer", "pc", "down", "sdp", answer));
        s->offers_answered++;
        bench_meeting_on_tracks(s, now);
        if (first)
            peer_gather(s->down);
    }
    free(answer);
    free(remote);
    free(tracks);
}

static void on_candidate(bench_session *s, json_t *msg)
{
    const char *pc = json_string_value(json_object_get(msg, "pc"));
    const char *cand = json_string_value(json_object_get(msg, "candidate"));
    peer *p = !pc ? NULL : !strcmp(pc, "up") ? s->up : !strcmp(pc, "down") ? s->down : NULL;
    if (p)
        peer_add_candidate(p, cand ? cand : "");
}

static void on_error(bench_session *s, json_t *msg)
{
    const char *code = json_string_value(json_object_get(msg, "code"));
    const char *text = json_string_value(json_object_get(msg, "message"));
    char why[160];
    snprintf(why, sizeof(why), "server error %s: %s", code ? code : "?", text ? text : "");
    STATS_INC(s->w->c.server_errors);
    if (code && (!strcmp(code, "media-failed") || !strcmp(code, "meeting-full") || !strcmp(code, "server-busy") ||
                 !strcmp(code, "bad-sdp")))
        bench_session_fail(s, why);
    else if (!s->w->run->cfg.quiet)
        fprintf(stderr, "bench: %s: %s\n", s->name, why);
}

static void on_message(bench_session *s, const char *text, size_t len)
{
    json_t *msg = json_loadb(text, len, 0, NULL);
    const char *type = msg ? json_string_value(json_object_get(msg, "type")) : NULL;
    const char *pc = msg ? json_string_value(json_object_get(msg, "pc")) : NULL;
    const char *sdp = msg ? json_string_value(json_object_get(msg, "sdp")) : NULL;
    if (!type) {
        /* not a protocol message: ignored */
    } else if (!strcmp(type, "existing-users")) {
        on_joined(s, msg);
        bench_meeting_on_message(s, type, msg, g_get_monotonic_time());
    } else if (!strcmp(type, "answer") && pc && !strcmp(pc, "up") && sdp) {
        on_up_answer(s, sdp);
    } else if (!strcmp(type, "offer") && pc && !strcmp(pc, "down") && sdp && s->receives) {
        on_down_offer(s, sdp);
    } else if (!strcmp(type, "ice-candidate")) {
        on_candidate(s, msg);
    } else if (!strcmp(type, "error")) {
        on_error(s, msg);
    } else if (!strcmp(type, "moved")) {
        on_moved(s, msg);
    } else if (!strcmp(type, "user-joined") || !strcmp(type, "user-left") || !strcmp(type, "active-speakers") ||
               !strcmp(type, "video-layers")) {
        bench_meeting_on_message(s, type, msg, g_get_monotonic_time());
    }
    json_decref(msg);
}

/* ---- events from the ws thread, run on the session's worker ---- */

typedef struct ws_event {
    bench_session *s;
    int kind; /* 0 open, 1 message, 2 closed */
    char *text;
    size_t len;
} ws_event;

static gboolean run_event(gpointer data)
{
    ws_event *ev = data;
    bench_session *s = ev->s;
    if (s->w->stopping || s->closed)
        return G_SOURCE_REMOVE;
    if (ev->kind == 0) {
        on_open(s);
    } else if (ev->kind == 1) {
        on_message(s, ev->text, ev->len);
    } else if (s->closes_expected) {
        s->closes_expected--; /* the socket left behind by a `moved` */
    } else {
        s->ws_closed = true;
        bench_session_fail(s, ev->text ? ev->text : "WebSocket closed");
    }
    return G_SOURCE_REMOVE;
}

static void free_event(gpointer data)
{
    ws_event *ev = data;
    free(ev->text);
    free(ev);
}

static void post(void *ud, int kind, char *text, size_t len)
{
    bench_session *s = ud;
    ws_event *ev = calloc(1, sizeof(*ev));
    if (!ev) {
        free(text);
        return;
    }
    *ev = (ws_event){s, kind, text, len};
    worker_invoke(s->w->w, run_event, ev, free_event);
}

static void ws_open(void *ud)
{
    post(ud, 0, NULL, 0);
}

static void ws_message(void *ud, char *text, size_t len)
{
    post(ud, 1, text, len);
}

static void ws_closed(void *ud, const char *why)
{
    char buf[160];
    snprintf(buf, sizeof(buf), "WebSocket: %s", why ? why : "closed");
    post(ud, 2, strdup(buf), 0);
}

const bench_ws_callbacks bench_session_ws_callbacks = {ws_open, ws_message, ws_closed};

/* ---- life cycle ---- */

bench_session *bench_session_new(bench_worker *w, int room, int index, const char *meeting_id, bool publishes,
                                 bool receives)
{
    bench_session *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->w = w;
    s->room = room;
    s->index = index;
    snprintf(s->meeting_id, sizeof(s->meeting_id), "%s", meeting_id);
    snprintf(s->name, sizeof(s->name), "bench r%d %s%d", room, publishes ? "p" : "s", index);
    s->publishes = publishes;
    s->receives = receives;
    s->rtcp_ssrc = nonzero_random();
    bench_twcc_rx_init(&s->twcc);
    if (w->run->cfg.tiles > 0 && receives) {
        if (!(s->tiles = malloc(sizeof(*s->tiles)))) {
            free(s);
            return NULL;
        }
        bench_tiles_init(s->tiles, w->run->cfg.tiles);
    }
    return s;
}

static gboolean start_on_worker(gpointer data)
{
    bench_session *s = data;
    if (s->w->stopping)
        return G_SOURCE_REMOVE;
    g_ptr_array_add(s->w->sessions, s);
    s->t_start = g_get_monotonic_time();
    s->ws = bench_ws_connect(s->w->run->ws, s);
    if (!s->ws)
        bench_session_fail(s, "cannot open a WebSocket");
    return G_SOURCE_REMOVE;
}

void bench_session_start(bench_session *s)
{
    worker_invoke(s->w->w, start_on_worker, s, NULL);
}

void bench_session_close(bench_session *s)
{
    if (s->closed)
        return;
    s->closed = true;
    peer_free(s->up);
    peer_free(s->down);
    s->up = s->down = NULL;
}

void bench_session_free(bench_session *s)
{
    if (!s)
        return;
    bench_session_media_free(s);
    free(s->rx);
    free(s->tiles);
    free(s);
}
