/* main.c - videomeet-bench: drives real WebRTC sessions against a running VideoMeet server without a
 * browser (see bench/README.md). This file owns the options, the run's life cycle and its phases:
 *
 *   joining   one session started every 1/--join-rate s (publishers of a webinar first)
 *   waiting   until every session is ready or failed (at most --join-timeout s after the last start)
 *   settling  --settle s, so the joins' keyframes and renegotiations are over
 *   window    --duration s: the figures of the report are deltas over this window
 *   stopping  media stops, WebSockets close (the server sees everyone leave), transports are freed
 *
 * The threads and who touches what are described in bench.h.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench/bench.h"
#include "bench/cluster.h"
#include "bench/floor.h"
#include "bench/report.h"
#include "bench/session.h"
#include "bench/sockbuf.h"
#include "bench/tiles.h"
#include "bench/ws.h"
#include "sfu/log.h"
#include "signaling/ice_servers.h"

int bench_selftest(void);

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* ---- options ---- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: videomeet-bench [--meeting N | --webinar M] [options]\n"
            "  --url URL          server (default http://127.0.0.1:3000); the WebSocket is URL/ws. With several\n"
            "                     nodes (REDIS_URL) a join answered `moved` goes to the node it names, and the\n"
            "                     report adds the load per node (participants, meetings, imbalance)\n"
            "  --meeting N        N participants per room, each publishing audio+video and receiving the others\n"
            "  --webinar M        1 publisher and M receive-only subscribers per room\n"
            "  --rooms R          R such rooms at once (default 1)\n"
            "  --meeting-id ID    join the meeting ID (an existing one, e.g. with browsers in it) instead of a\n"
            "                     random one; only with one room\n"
            "  --publish-only     meeting participants publish and leave the SFU's offers unanswered: they\n"
            "                     receive nothing (others, e.g. browsers, are the receivers)\n"
            "  --audio-turn-ms T  the publishers speak in turn, T ms each in start order, at -20 dBov (the\n"
            "                     others -127 dBov: silence), instead of all at -30 dBov (active speaker)\n"
            "  --duration S       measured window in seconds, after everyone joined (default 20)\n"
            "  --bitrate KBPS     video bitrate per publisher (default 1000)\n"
            "  --fps F            video frames per second (default 30)\n"
            "  --join-rate J      sessions started per second (default 20)\n"
            "  --workers W        bench media threads (default 1)\n"
            "  --ip IP            address of the bench's ICE candidates (default 127.0.0.1)\n"
            "  --json FILE        write the results as JSON\n"
            "  --server-pid PID   read the server's CPU and memory from /proc (same machine)\n"
            "  --settle S         pause between the last join and the window (default 2)\n"
            "  --join-timeout S   longest wait for connections after the last start (default 20)\n"
            "  --quiet            no progress lines\n"
            "  --self-test        run the bench's own unit tests and exit\n"
            "  --kernel-floor     no server: measure what the kernel alone costs a sender forwarding the\n"
            "                     --webinar M traffic on loopback (bench/floor.h), with --duration, --bitrate,\n"
            "                     --fps and --json\n"
            "  --floor-one-socket with --kernel-floor: all from one socket with sendmmsg (a worker-wide socket)\n"
            "  --floor-busy-receiver with --kernel-floor: the receiving thread never sleeps (no wake-ups)\n"
            "  --floor-io-uring    with --kernel-floor: each batch's sends to all subscribers in one io_uring submit\n"
            "                      (as the server sends where the kernel allows it)\n"
            "  --data-channel     each session opens the data channel \"vm\" and sends a message every 500 ms\n"
            "  --dc-abuse         --data-channel, and the first session of room 0 sends malformed SCTP/DCEP,\n"
            "                     too many channels, unrelayed and too-large messages and a flood, once\n"
            "  --simulcast        publishers send video as three layers q/h/f (150/1700, 500/1700 and 1 x --bitrate;\n"
            "                     320x180, 640x360, 1280x720), as Chromium does for a 720p camera\n"
            "  --temporal-layers T  VP8 temporal layers per stream, 1..3 (default 3 with --simulcast, else 1)\n"
            "  --police-kbps K    police the downstream of some receivers to K kbit/s (a token bucket in front of\n"
            "                     everything they receive)\n"
            "  --police-count N   receivers policed per room (default: half of them, at least one)\n"
            "  --police-burst-ms B  the policer's bucket, in ms at its rate (default 100)\n"
            "  --no-transport-cc  receivers leave transport-cc out of their answers and send no feedback\n"
            "  --twcc-interval-ms I  between two transport-cc feedbacks of a receiver (default 61: Chromium)\n"
            "  --seed S           fixes the synthetic media's random parts (frame sizes, audio sizes); 0: random\n"
            "  --turn             every session relayed over TCP through the TURN server /api/config names (force-relay)\n"
            "  --tiles N          meeting receivers show N tiles (1-9) like the web app's speaker view (the active\n"
            "                     speaker large, N-1 in the strip) and say so with video-views; the others hidden\n"
            "  --main-size WxH    the large tile in device pixels (default 1280x720)\n"
            "  --strip-size WxH   a strip tile in device pixels (default 320x180)\n"
            "  --with-floor       after the run, the kernel floor of the same traffic (--kernel-floor in the\n"
            "                     meeting's shape) and the server's ratio to it\n"
            "  --audio-dtx        with --audio-turn-ms: off their turn publishers send Opus DTX (usedtx=1 in the\n"
            "                     offer): one small packet per 400 ms instead of one per 20 ms\n"
            "  --rcvbuf-kb K      raise the receive buffer of the bench's UDP sockets to K KB (each second;\n"
            "                     capped by net.core.rmem_max): one process plays many browsers\n"
            "  --scenario NAME    a named scenario (options given as well override its values):\n"
            "                     meeting50: --meeting 50 --tiles 9 --simulcast --bitrate 1700 --audio-turn-ms 3000\n"
            "                     --join-rate 10 --settle 15 --duration 30 --with-floor --workers 2 --rcvbuf-kb 4096\n"
            "                     meeting50-dtx: the same with --audio-dtx\n");
}

static int parse_url(bench_config *c)
{
    return bench_ws_parse_url(c->url, c->host, sizeof(c->host), &c->port);
}

/* "WxH" in device pixels. */
static int parse_size(const char *text, int *w, int *h)
{
    char end;
    if (sscanf(text, "%dx%d%c", w, h, &end) != 2 || *w < 1 || *h < 1 || *w > 16384 || *h > 16384)
        return -1;
    return 0;
}

/* --scenario NAME: its values first, so options given as well override them. -1 for an unknown name. */
static int apply_scenario(int argc, char **argv, bench_config *c)
{
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--scenario") && i + 1 < argc)
            name = argv[i + 1];
        else if (!strncmp(argv[i], "--scenario=", 11))
            name = argv[i] + 11;
    }
    if (!name)
        return 0;
    if (strcmp(name, "meeting50") != 0 && strcmp(name, "meeting50-dtx") != 0) {
        fprintf(stderr, "videomeet-bench: unknown scenario %s (known: meeting50, meeting50-dtx)\n", name);
        return -1;
    }
    c->audio_dtx = !strcmp(name, "meeting50-dtx");
    snprintf(c->scenario, sizeof(c->scenario), "%s", name);
    c->mode = BENCH_MODE_MEETING;
    c->participants = 50;
    c->tiles = 9;
    c->simulcast = true;
    c->bitrate_kbps = 1700;
    c->audio_turn_ms = 3000;
    c->join_rate = 10;
    c->settle_s = 15;
    c->duration_s = 30;
    c->floor_after = true;
    c->workers = 2;
    c->rcvbuf_kb = 4096;
    return 0;
}

static int parse_options(int argc, char **argv, bench_config *c)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},        {"meeting", required_argument, NULL, 'm'},
        {"webinar", required_argument, NULL, 'w'},    {"rooms", required_argument, NULL, 'r'},
        {"duration", required_argument, NULL, 'd'},   {"bitrate", required_argument, NULL, 'b'},
        {"fps", required_argument, NULL, 'f'},        {"join-rate", required_argument, NULL, 'j'},
        {"workers", required_argument, NULL, 'W'},    {"ip", required_argument, NULL, 'i'},
        {"json", required_argument, NULL, 'o'},       {"server-pid", required_argument, NULL, 'p'},
        {"settle", required_argument, NULL, 's'},     {"join-timeout", required_argument, NULL, 't'},
        {"quiet", no_argument, NULL, 'q'},            {"self-test", no_argument, NULL, 'T'},
        {"kernel-floor", no_argument, NULL, 'K'},     {"floor-one-socket", no_argument, NULL, 'O'},
        {"floor-busy-receiver", no_argument, NULL, 'B'}, {"help", no_argument, NULL, 'h'},
        {"floor-io-uring", no_argument, NULL, 'Q'},
        {"data-channel", no_argument, NULL, 'D'},     {"dc-abuse", no_argument, NULL, 'X'},
        {"simulcast", no_argument, NULL, 'S'},        {"temporal-layers", required_argument, NULL, 'L'},
        {"police-kbps", required_argument, NULL, 'P'}, {"police-count", required_argument, NULL, 'C'},
        {"police-burst-ms", required_argument, NULL, 'U'}, {"no-transport-cc", no_argument, NULL, 'N'},
        {"twcc-interval-ms", required_argument, NULL, 'I'}, {"seed", required_argument, NULL, 'E'},
        {"turn", no_argument, NULL, 'R'},             {"meeting-id", required_argument, NULL, 'M'},
        {"audio-turn-ms", required_argument, NULL, 'A'}, {"publish-only", no_argument, NULL, 'Y'},
        {"tiles", required_argument, NULL, 'G'},      {"main-size", required_argument, NULL, 'Z'},
        {"strip-size", required_argument, NULL, 'z'}, {"with-floor", no_argument, NULL, 'F'},
        {"scenario", required_argument, NULL, 'n'},   {"rcvbuf-kb", required_argument, NULL, 'k'},
        {"audio-dtx", no_argument, NULL, 'x'},
        {NULL, 0, NULL, 0},
    };
    *c = (bench_config){.mode = BENCH_MODE_MEETING, .participants = 3, .rooms = 1, .duration_s = 20,
                        .bitrate_kbps = 1000, .fps = 30, .join_rate = 20, .workers = 1, .settle_s = 2,
                        .join_timeout_s = 20, .police_count = -1, .police_burst_ms = 100, .transport_cc = true,
                        .twcc_interval_ms = 61, .main_w = 1280, .main_h = 720, .strip_w = 320, .strip_h = 180};
    int temporal = 0, police_count = -1;
    if (apply_scenario(argc, argv, c) < 0)
        return -1;
    snprintf(c->url, sizeof(c->url), "http://127.0.0.1:3000");
    snprintf(c->ip, sizeof(c->ip), "127.0.0.1");
    int opt;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'u': snprintf(c->url, sizeof(c->url), "%s", optarg); break;
        case 'm': c->mode = BENCH_MODE_MEETING; c->participants = atoi(optarg); break;
        case 'w': c->mode = BENCH_MODE_WEBINAR; c->participants = atoi(optarg); break;
        case 'r': c->rooms = atoi(optarg); break;
        case 'd': c->duration_s = atof(optarg); break;
        case 'b': c->bitrate_kbps = (unsigned)atoi(optarg); break;
        case 'f': c->fps = (unsigned)atoi(optarg); break;
        case 'j': c->join_rate = atof(optarg); break;
        case 'W': c->workers = atoi(optarg); break;
        case 'i': snprintf(c->ip, sizeof(c->ip), "%s", optarg); break;
        case 'o': snprintf(c->json_path, sizeof(c->json_path), "%s", optarg); break;
        case 'p': c->server_pid = atoi(optarg); break;
        case 's': c->settle_s = atof(optarg); break;
        case 't': c->join_timeout_s = atof(optarg); break;
        case 'q': c->quiet = true; break;
        case 'T': c->self_test = true; break;
        case 'K': c->kernel_floor = true; break;
        case 'O': c->floor_one_socket = true; break;
        case 'B': c->floor_busy_receiver = true; break;
        case 'Q': c->floor_io_uring = true; break;
        case 'S': c->simulcast = true; break;
        case 'L': temporal = atoi(optarg); break;
        case 'P': c->police_kbps = (unsigned)atoi(optarg); break;
        case 'C': police_count = atoi(optarg); break;
        case 'U': c->police_burst_ms = (unsigned)atoi(optarg); break;
        case 'N': c->transport_cc = false; break;
        case 'I': c->twcc_interval_ms = (unsigned)atoi(optarg); break;
        case 'E': c->seed = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'R': c->turn = true; break;
        case 'M': snprintf(c->meeting_id, sizeof(c->meeting_id), "%s", optarg); break;
        case 'A': c->audio_turn_ms = (unsigned)atoi(optarg); break;
        case 'Y': c->publish_only = true; break;
        case 'D': c->data_channel = true; break;
        case 'X': c->data_channel = c->dc_abuse = true; break;
        case 'G': c->tiles = atoi(optarg); break;
        case 'Z': if (parse_size(optarg, &c->main_w, &c->main_h) < 0) return -1; break;
        case 'z': if (parse_size(optarg, &c->strip_w, &c->strip_h) < 0) return -1; break;
        case 'F': c->floor_after = true; break;
        case 'k': c->rcvbuf_kb = atoi(optarg); break;
        case 'x': c->audio_dtx = true; break;
        case 'n': break; /* apply_scenario */
        case 'h': usage(stdout); exit(0);
        default: return -1;
        }
    }
    if (optind != argc || parse_url(c) < 0 || c->participants < 1 || c->rooms < 1 || c->duration_s <= 0 ||
        c->bitrate_kbps < 10 || c->fps < 1 || c->fps > 120 || c->join_rate <= 0 || c->workers < 1 ||
        c->workers > 64 || c->settle_s < 0 || c->join_timeout_s <= 0 || temporal < 0 ||
        temporal > BENCH_MEDIA_MAX_TEMPORAL || police_count < -1 || (police_count >= 0 && !c->police_kbps) ||
        c->police_burst_ms < 1 || c->police_burst_ms > 10000 || c->twcc_interval_ms < 5 || c->twcc_interval_ms > 1000 ||
        (c->meeting_id[0] && (c->rooms != 1 || strlen(c->meeting_id) != 8)) || c->tiles < 0 ||
        c->tiles > BENCH_TILES_MAX || (c->tiles && c->mode != BENCH_MODE_MEETING) ||
        (c->floor_after && c->mode != BENCH_MODE_MEETING) || c->rcvbuf_kb < 0 || c->rcvbuf_kb > 1024 * 1024)
        return -1;
    c->temporal_layers = temporal ? (unsigned)temporal : c->simulcast ? 3 : 1;
    c->police_count = police_count;
    return 0;
}

/* ---- workers ---- */

typedef struct on_worker {
    bench_worker *w;
    void (*fn)(bench_worker *w);
} on_worker;

static gboolean run_on_worker(gpointer data)
{
    on_worker *ow = data;
    bench_run *run = ow->w->run;
    ow->fn(ow->w);
    g_mutex_lock(&run->lock);
    run->pending--;
    g_cond_broadcast(&run->cond);
    g_mutex_unlock(&run->lock);
    return G_SOURCE_REMOVE;
}

void bench_run_on_workers(bench_run *run, void (*fn)(bench_worker *w))
{
    on_worker *ows = calloc((size_t)run->n_workers, sizeof(*ows));
    if (!ows)
        abort();
    g_mutex_lock(&run->lock);
    run->pending = run->n_workers;
    g_mutex_unlock(&run->lock);
    for (int i = 0; i < run->n_workers; i++) {
        ows[i] = (on_worker){&run->workers[i], fn};
        worker_invoke(run->workers[i].w, run_on_worker, &ows[i], NULL);
    }
    g_mutex_lock(&run->lock);
    while (run->pending > 0)
        g_cond_wait(&run->cond, &run->lock);
    g_mutex_unlock(&run->lock);
    free(ows);
}

void bench_run_totals(bench_run *run, bench_totals *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < run->n_workers; i++) {
        bench_counters *c = &run->workers[i].c;
#define BENCH_SUM(name, help) out->name += STATS_GET(c->name);
        BENCH_COUNTERS(BENCH_SUM)
#undef BENCH_SUM
    }
}

static gboolean tick(gpointer data)
{
    bench_worker_tick(data, g_get_monotonic_time());
    return G_SOURCE_CONTINUE;
}

static void attach_tick(bench_worker *w)
{
    w->tick = g_timeout_source_new(BENCH_TICK_MS);
    g_source_set_callback(w->tick, tick, w, NULL);
    g_source_attach(w->tick, worker_context(w->w));
}

static void stop_media(bench_worker *w)
{
    w->stopping = true;
}

/* The window starts: delay histograms restart, and each receiver's window statistics. */
static void window_start(bench_worker *w)
{
    bench_hist_reset(&w->delay);
    bench_hist_reset(&w->lag);
    bench_hist_reset(&w->switch_latency);
    int64_t now = g_get_monotonic_time();
    w->window = true;
    w->window_from_us = now;
    w->window_to_us = now + (int64_t)(w->run->cfg.duration_s * 1e6);
    for (guint i = 0; i < w->sessions->len; i++)
        bench_session_window(w->sessions->pdata[i], true, now);
}

static void window_end(bench_worker *w)
{
    int64_t now = g_get_monotonic_time();
    w->window = false;
    for (guint i = 0; i < w->sessions->len; i++)
        bench_session_window(w->sessions->pdata[i], false, now);
}

static void close_sessions(bench_worker *w)
{
    for (guint i = 0; i < w->sessions->len; i++)
        bench_session_close(w->sessions->pdata[i]);
    if (w->tick) {
        g_source_destroy(w->tick);
        g_source_unref(w->tick);
        w->tick = NULL;
    }
}

static int run_init(bench_run *run)
{
    g_mutex_init(&run->lock);
    g_cond_init(&run->cond);
    run->cert = cert_new();
    run->dtls = run->cert ? dtls_ctx_new(run->cert) : NULL;
    run->n_workers = run->cfg.workers;
    run->pool = run->dtls ? worker_pool_start(run->n_workers) : NULL;
    run->workers = calloc((size_t)run->n_workers, sizeof(bench_worker));
    if (!run->pool || !run->workers)
        return -1;
    for (int i = 0; i < run->n_workers; i++) {
        bench_worker *w = &run->workers[i];
        w->run = run;
        w->index = i;
        w->w = worker_pool_get(run->pool, i);
        w->sessions = g_ptr_array_new();
        w->ips[0] = run->cfg.ip;
        w->ice = (sfu_ice_config){.ips = w->ips, .ip_count = 1};
        if (run->cfg.turn) {
            w->ice.turn_ip = run->cfg.turn_ip;
            w->ice.turn_port = run->cfg.turn_port;
            w->ice.turn_user = run->cfg.turn_user;
            w->ice.turn_pass = run->cfg.turn_pass;
        }
        w->env = (peer_env){worker_context(w->w), run->dtls, run->cert, &w->ice, &w->peer_stats};
    }
    bench_run_on_workers(run, attach_tick);
    run->ws = bench_ws_start(run->cfg.host, run->cfg.port, "/ws", &bench_session_ws_callbacks);
    return run->ws ? 0 : -1;
}

/* --turn: the TURN-over-TCP entry of the server's /api/config (its credentials are minted for this
 * request and serve every session of the run). Returns 0, or -1 with the reason printed. */
static int load_turn(bench_config *c)
{
    size_t len = 0;
    char *body = bench_probe_http_get(c->host, c->port, "/api/config", &len);
    json_t *cfg = body ? json_loads(body, 0, NULL) : NULL;
    free(body);
    json_t *servers = json_object_get(cfg, "iceServers");
    int rc = -1;
    for (size_t i = 0; rc < 0 && i < json_array_size(servers); i++) {
        json_t *e = json_array_get(servers, i);
        const char *user = json_string_value(json_object_get(e, "username"));
        const char *pass = json_string_value(json_object_get(e, "credential"));
        json_t *urls = json_object_get(e, "urls");
        for (size_t k = 0; rc < 0 && user && pass && k < json_array_size(urls); k++) {
            const char *url = json_string_value(json_array_get(urls, k));
            const char *q = url ? strstr(url, "?transport=tcp") : NULL;
            char hostport[256];
            int port = 0;
            if (!q || strncmp(url, "turn:", 5) || (size_t)(q - url - 5) >= sizeof(hostport))
                continue;
            memcpy(hostport, url + 5, (size_t)(q - url - 5));
            hostport[q - url - 5] = '\0';
            if (ice_host_split(hostport, c->turn_ip, sizeof(c->turn_ip), &port) || !port ||
                strlen(user) >= sizeof(c->turn_user) || strlen(pass) >= sizeof(c->turn_pass))
                continue;
            if (c->turn_ip[0] == '[') { /* an IPv6 address without its brackets for libnice */
                size_t n = strlen(c->turn_ip);
                memmove(c->turn_ip, c->turn_ip + 1, n - 2);
                c->turn_ip[n - 2] = '\0';
            }
            c->turn_port = (unsigned)port;
            snprintf(c->turn_user, sizeof(c->turn_user), "%s", user);
            snprintf(c->turn_pass, sizeof(c->turn_pass), "%s", pass);
            rc = 0;
        }
    }
    json_decref(cfg);
    if (rc < 0)
        fprintf(stderr, "videomeet-bench: --turn: %s/api/config names no TURN server over TCP\n", c->url);
    return rc;
}

/* Meeting ids: 8 characters of the server's alphabet, random per room and run. */
static void meeting_id(char out[9])
{
    static const char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
    for (int i = 0; i < 8; i++)
        out[i] = alphabet[g_random_int_range(0, (gint32)sizeof(alphabet) - 1)];
    out[8] = '\0';
}

/* Plans the sessions in start order: a webinar's publishers first, then everyone round-robin over
 * the rooms; sessions are spread over the workers round-robin. */
static int plan_sessions(bench_run *run)
{
    const bench_config *c = &run->cfg;
    int per_room = c->mode == BENCH_MODE_MEETING ? c->participants : c->participants + 1;
    run->n_sessions = (size_t)per_room * (size_t)c->rooms;
    run->sessions = calloc(run->n_sessions, sizeof(bench_session *));
    char (*ids)[9] = calloc((size_t)c->rooms, sizeof(*ids));
    if (!run->sessions || !ids) {
        free(ids);
        return -1;
    }
    for (int r = 0; r < c->rooms; r++)
        meeting_id(ids[r]);
    if (c->meeting_id[0])
        memcpy(ids[0], c->meeting_id, 9);
    size_t k = 0;
    /* the first receivers of each room are policed */
    int receivers = c->mode == BENCH_MODE_MEETING ? (c->participants > 1 ? c->participants : 0) : c->participants;
    int policed = !c->police_kbps ? 0 : c->police_count >= 0 ? c->police_count : (receivers / 2 ? receivers / 2 : 1);
    uint32_t burst = (uint32_t)((uint64_t)c->police_kbps * 125 * c->police_burst_ms / 1000);
    for (int i = 0; i < per_room; i++) {
        for (int r = 0; r < c->rooms; r++, k++) {
            bool pub = c->mode == BENCH_MODE_MEETING || i == 0;
            bool recv = c->mode == BENCH_MODE_MEETING ? c->participants > 1 && !c->publish_only : i > 0;
            bench_session *s = bench_session_new(&run->workers[k % (size_t)run->n_workers], r, i, ids[r], pub, recv);
            run->sessions[k] = s;
            if (!s) {
                free(ids);
                return -1;
            }
            int rank = c->mode == BENCH_MODE_MEETING ? i : i - 1;
            if (recv && rank < policed) {
                s->policed = true;
                bench_police_init(&s->police, c->police_kbps, burst);
            }
        }
    }
    free(ids);
    return 0;
}

/* ---- phases ---- */

static double now_s(void)
{
    return (double)g_get_monotonic_time() / 1e6;
}

/* Sleeps until `until` (monotonic seconds), printing progress lines on whole seconds. */
static void wait_until(bench_run *run, double until, double t0, bench_snapshot *last, double *next_line)
{
    while (!interrupted) {
        double t = now_s();
        if (t >= *next_line) {
            if (run->cfg.rcvbuf_kb)
                bench_sockbuf_raise(run->cfg.rcvbuf_kb * 1024);
            bench_snapshot s;
            bench_snapshot_take(run, &s);
            bench_report_progress(run, last, &s, s.t_s - t0);
            *last = s;
            *next_line += 1.0;
            if (*next_line < t)
                *next_line = t + 1.0;
            continue;
        }
        if (t >= until)
            return;
        double sleep = (until < *next_line ? until : *next_line) - t;
        g_usleep((gulong)(sleep > 0.05 ? 50000 : sleep * 1e6 + 1));
    }
}

static void run_phases(bench_run *run, bench_results *res)
{
    const bench_config *c = &run->cfg;
    double t0 = now_s(), next_line = t0 + 1.0;
    bench_snapshot last = res->base;
    for (size_t i = 0; i < run->n_sessions && !interrupted; i++) {
        wait_until(run, t0 + (double)i / c->join_rate, t0, &last, &next_line);
        bench_session_start(run->sessions[i]);
    }
    double deadline = now_s() + c->join_timeout_s;
    while (!interrupted && now_s() < deadline) {
        bench_totals t;
        bench_run_totals(run, &t);
        if (t.sessions_ready + t.failures >= run->n_sessions)
            break;
        wait_until(run, now_s() + 0.05, t0, &last, &next_line);
    }
    wait_until(run, now_s() + c->settle_s, t0, &last, &next_line);
    bench_run_on_workers(run, window_start);
    bench_snapshot_take(run, &res->start);
    wait_until(run, res->start.t_s + c->duration_s, t0, &last, &next_line);
    bench_snapshot_take(run, &res->end);
    bench_run_on_workers(run, window_end);
}

static void merge_hists(bench_run *run, bench_results *res)
{
    for (int i = 0; i < run->n_workers; i++) {
        bench_hist_merge(&res->delay, &run->workers[i].delay);
        bench_hist_merge(&res->keyframe, &run->workers[i].keyframe);
        bench_hist_merge(&res->lag, &run->workers[i].lag);
    }
}

static void run_free(bench_run *run)
{
    for (size_t i = 0; i < run->n_sessions; i++)
        bench_session_free(run->sessions[i]);
    free(run->sessions);
    for (int i = 0; run->workers && i < run->n_workers; i++) {
        if (run->workers[i].sessions)
            g_ptr_array_free(run->workers[i].sessions, TRUE);
    }
    free(run->workers);
    dtls_ctx_free(run->dtls);
    cert_free(run->cert);
    g_mutex_clear(&run->lock);
    g_cond_clear(&run->cond);
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int write_json(const json_t *j, const char *path)
{
    if (!path[0])
        return 0;
    if (json_dump_file(j, path, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(10)) < 0) {
        fprintf(stderr, "videomeet-bench: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

/* --with-floor: the kernel floor of the meeting's traffic, now that the sessions are gone: every
 * receiver gets the others' audio and, with --tiles, the videos of its tiles (the main tile at the top
 * layer, the strip at the lowest with --simulcast), without a tiles limit every other video. */
static void run_floor_after(const bench_config *c, json_t *j)
{
    int others = c->participants - 1;
    if (others < 1)
        return;
    bench_floor_config fc = {.subscribers = c->participants, .bitrate_kbps = c->bitrate_kbps, .fps = c->fps,
                             .seconds = c->duration_s < 10 ? c->duration_s : 10, .n_audio = others,
                             .audio_turn_us = (int64_t)c->audio_turn_ms * 1000, .audio_dtx = c->audio_dtx};
    int videos = c->tiles ? (c->tiles - 1 < others ? c->tiles - 1 : others) : others;
    fc.n_video = videos < BENCH_FLOOR_MAX_VIDEO ? videos : BENCH_FLOOR_MAX_VIDEO;
    for (int i = 0; i < fc.n_video; i++)
        fc.video_kbps[i] = i == 0 || !c->simulcast ? c->bitrate_kbps : c->bitrate_kbps * 150 / 1700;
    if (fc.n_audio > BENCH_FLOOR_MAX_AUDIO)
        fc.n_audio = BENCH_FLOOR_MAX_AUDIO;
    if (!c->quiet)
        printf("kernel floor of the same traffic (%d s, no server work)...\n", (int)fc.seconds);
    bench_floor_result fr;
    int rc = bench_floor_run(&fc, &fr);
    if (rc < 0) {
        fprintf(stderr, "videomeet-bench: kernel floor: %s\n", strerror(-rc));
        return;
    }
    bench_report_add_floor(j, &fc, &fr);
}

int main(int argc, char **argv)
{
    static bench_run run;
    if (parse_options(argc, argv, &run.cfg) < 0) {
        usage(stderr);
        return 2;
    }
    if (run.cfg.self_test)
        return bench_selftest();
    if (run.cfg.kernel_floor) {
        bench_floor_config fc = {.subscribers = run.cfg.participants, .bitrate_kbps = run.cfg.bitrate_kbps,
                                 .fps = run.cfg.fps, .seconds = run.cfg.duration_s,
                                 .one_socket = run.cfg.floor_one_socket,
                                 .busy_receiver = run.cfg.floor_busy_receiver,
                                 .io_uring = run.cfg.floor_io_uring};
        bench_floor_result fr;
        int rc = bench_floor_run(&fc, &fr);
        if (rc < 0) {
            fprintf(stderr, "videomeet-bench: kernel floor: %s\n", strerror(-rc));
            return 2;
        }
        return bench_floor_report(&fc, &fr, run.cfg.json_path) < 0 ? 2 : 0;
    }
    vm_log_set_level(run.cfg.quiet ? VM_LOG_ERROR : VM_LOG_WARN);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    raise_fd_limit();
    if (run.cfg.turn && load_turn(&run.cfg) < 0)
        return 2;
    if (run_init(&run) < 0 || plan_sessions(&run) < 0) {
        fprintf(stderr, "videomeet-bench: cannot start (certificate, workers or WebSocket client)\n");
        return 2;
    }
    static bench_results res;
    bench_snapshot_take(&run, &res.base);
    if (!res.base.m.ok)
        fprintf(stderr, "videomeet-bench: %s/metrics is not readable; server figures will be missing\n",
                run.cfg.url);
    run_phases(&run, &res);
    bench_run_on_workers(&run, stop_media);
    json_t *cluster = bench_cluster_json(&run); /* several nodes: the load per node, before anyone leaves */
    bench_ws_stop(run.ws, 3000);
    bench_run_on_workers(&run, close_sessions);
    worker_pool_stop(run.pool);
    merge_hists(&run, &res);
    json_t *j = bench_report_json(&run, &res);
    if (cluster)
        json_object_set_new(j, "cluster", cluster);
    if (run.cfg.floor_after)
        run_floor_after(&run.cfg, j);
    bench_report_table(j);
    bench_cluster_table(json_object_get(j, "cluster"));
    int rc = write_json(j, run.cfg.json_path) < 0 ? 2 : bench_report_exit_code(j);
    json_decref(j);
    run_free(&run);
    return rc;
}
