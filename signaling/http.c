/* http.c - the HTTP routes of PROTOCOL.md: the app's static files, /m/<id>, /api/..., /healthz; the
 * HTTP limits (header and body sizes, README "HTTP limits and headers") and the security headers every
 * answer carries; the client address behind trusted proxies.
 *
 * Dynamic answers are small JSON bodies: headers are written at once and the body from
 * HTTP_WRITEABLE, as libwebsockets asks. Static files go through lws_serve_http_file() after
 * http_path_resolve() and a realpath() check that the file lies inside the web root.
 *
 * Security headers are the vhost's canned headers (http_security_headers(), server.c): libwebsockets
 * adds them to every status line it writes, so files, JSON, /metrics and its own error pages all
 * carry them.
 */
#include <glib.h>
#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "signaling/http_path.h"
#include "signaling/ice_servers.h"
#include "signaling/ids.h"
#include "sfu/log.h"
#include "signaling/server_internal.h"

/* Completes the transaction; returns what the lws callback must return. */
static int finish(struct lws *wsi)
{
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int send_status(struct lws *wsi, unsigned status)
{
    if (lws_return_http_status(wsi, status, NULL))
        return -1;
    return finish(wsi);
}

/* Sends body (taking ownership) as the answer, with the given status and type. */
static int send_body(vm_conn *c, struct lws *wsi, unsigned status, const char *type, char *body)
{
    unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
    if (!body)
        return send_status(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR);
    char retry[16];
    snprintf(retry, sizeof(retry), "%u", c->http_retry_after);
    size_t len = strlen(body);
    if (lws_add_http_common_headers(wsi, status, type, len, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end) ||
        (c->http_retry_after &&
         lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:", (const unsigned char *)retry,
                                     (int)strlen(retry), &p, end)) ||
        (c->http_close && lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:",
                                                      (const unsigned char *)"close", 5, &p, end)) ||
        lws_finalize_write_http_header(wsi, start, &p, end)) {
        free(body);
        return -1;
    }
    free(c->http_body);
    c->http_body = body;
    c->http_body_len = len;
    lws_callback_on_writable(wsi);
    return 0;
}

int http_on_writeable(vm_conn *c, struct lws *wsi)
{
    if (c->cluster)
        return cluster_route_writeable(c, wsi); /* an answer that waited for Redis */
    if (!c->http_body || c->http_discard)
        return 0; /* nothing to write, or a refused body is still being read away */
    size_t len = c->http_body_len;
    unsigned char *buf = malloc(LWS_PRE + len);
    if (!buf)
        return -1;
    memcpy(buf + LWS_PRE, c->http_body, len);
    int n = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
    free(buf);
    http_conn_release(c);
    if (n < (int)len)
        return -1;
    if (c->http_close) {
        /* Read away what the client already sent (a chunked or very large body refused with 413,
         * answered before it was read): closing a socket with unread input makes the kernel answer
         * with a reset, which may throw the answer away. */
        lws_sockfd_type fd = lws_get_socket_fd(wsi);
        char sink[4096];
        for (int i = 0; fd >= 0 && i < 64 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
            ;
        return -1;
    }
    return finish(wsi);
}

void http_conn_release(vm_conn *c)
{
    free(c->http_body);
    c->http_body = NULL;
    c->http_body_len = 0;
}

static char *json_text(json_t *o)
{
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

int http_send_json(vm_conn *c, struct lws *wsi, unsigned status, json_t *o)
{
    return send_body(c, wsi, status, "application/json", json_text(o));
}

static int route_create_meeting(struct vm_signaling *s, vm_conn *c, struct lws *wsi)
{
    abuse_addr addr;
    unsigned retry = 0;
    http_client_address(s, wsi, &addr);
    if (!abuse_take(s->abuse, &addr, ABUSE_STARTS, vm_mono_us(), &retry)) {
        c->http_retry_after = retry;
        return send_body(c, wsi, 429 /* Too Many Requests */, "application/json",
                         json_text(json_pack("{s:s, s:s, s:I}", "error", "rate-limited", "reason", "meetings",
                                             "retryAfter", (json_int_t)retry)));
    }
    if (s->cluster)
        return cluster_route_create(s, c, wsi); /* placed on the least-loaded node */
    if (drain_route_active(s))
        return send_body(c, wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, "application/json",
                         json_text(json_pack("{s:s, s:s}", "error", "server-busy", "reason", "draining")));
    vm_meeting *m;
    int rc = registry_create(s->reg, vm_now_ms(), &m);
    if (rc < 0) {
        LOG_W("create-meeting refused: %d", rc);
        return send_body(c, wsi, HTTP_STATUS_SERVICE_UNAVAILABLE, "application/json",
                         json_text(json_pack("{s:s}", "error", "server-busy")));
    }
    LOG_I("meeting %s created", m->id);
    return send_body(c, wsi, HTTP_STATUS_OK, "application/json",
                     json_text(json_pack("{s:s}", "meetingId", m->id)));
}

/* /api/config: iceServers with TURN credentials minted for this browser (ice_servers.h), and limits. */
static int route_config(struct vm_signaling *s, vm_conn *c, struct lws *wsi)
{
    char host[300] = "", tag[13];
    if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) < 0)
        host[0] = '\0';
    if (ids_random(tag, 12) < 0)
        return send_status(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR);
    json_t *ice = ice_servers_build(s->cfg, host[0] ? host : NULL, (int64_t)time(NULL), tag);
    return send_body(c, wsi, HTTP_STATUS_OK, "application/json",
                     json_text(json_pack("{s:o, s:I, s:i, s:i}", "iceServers", ice ? ice : json_array(),
                                         "maxParticipants", (json_int_t)s->cfg->max_participants,
                                         "maxChatLength", VM_MAX_CHAT_CHARS, "maxNameLength",
                                         VM_MAX_NAME_CHARS)));
}

static int route_health(struct vm_signaling *s, vm_conn *c, struct lws *wsi)
{
    json_t *o = json_pack("{s:s, s:I, s:I, s:I}", "status", "ok", "meetings",
                          (json_int_t)registry_meeting_count(s->reg), "participants",
                          (json_int_t)registry_participant_count(s->reg), "uptimeSeconds",
                          (json_int_t)((vm_now_ms() - s->started_ms) / 1000));
    if (o) {
        cluster_route_health(s, o);
        drain_route_health(s, o);
    }
    return send_body(c, wsi, HTTP_STATUS_OK, "application/json", json_text(o));
}

/* The process's CPU seconds and resident memory, from /proc/self. */
static void process_metrics(GString *out)
{
    long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    unsigned long utime = 0, stime = 0, size = 0, rss = 0;
    FILE *f = fopen("/proc/self/stat", "r");
    if (f) {
        char buf[1024];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        const char *p = strrchr(buf, ')');
        /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
        if (p)
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime);
        fclose(f);
    }
    f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    g_string_append_printf(out,
                           "# HELP process_cpu_seconds_total User and system CPU time of the server.\n"
                           "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.2f\n"
                           "# HELP process_resident_memory_bytes Resident memory of the server.\n"
                           "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %lu\n",
                           ticks > 0 ? (double)(utime + stime) / (double)ticks : 0.0,
                           rss * (unsigned long)(page > 0 ? page : 4096));
#ifdef __GLIBC__
    /* what of the resident memory is the server's objects, and what the allocator keeps free (the soak,
     * bench/soak.sh, tells state that outlives its meetings from memory kept by malloc this way) */
    struct mallinfo2 mi = mallinfo2();
    g_string_append_printf(out,
                           "# HELP videomeet_heap_bytes The C heap (glibc malloc, all arenas): in use by live "
                           "objects, or free but kept by the allocator.\n"
                           "# TYPE videomeet_heap_bytes gauge\nvideomeet_heap_bytes{kind=\"in_use\"} %zu\n"
                           "videomeet_heap_bytes{kind=\"free\"} %zu\n",
                           mi.uordblks + mi.hblkhd, mi.fordblks);
#endif
}

/* Per worker: its network loop's wake-ups and UDP output (datagrams per send call = the GSO batching). */
static void net_metrics(GString *out, sfu *media)
{
    int n = sfu_worker_count(media);
    netloop_counters *k = g_new0(netloop_counters, (gsize)n);
    for (int i = 0; i < n; i++)
        sfu_worker_net_counters(media, i, &k[i]);
    static const struct {
        const char *name, *help;
        size_t off;
    } fields[] = {
        {"videomeet_loop_wakeups_total", "Wake-ups of each media worker's network loop",
         offsetof(netloop_counters, wakeups)},
        {"videomeet_loop_child_runs_total", "ICE agent contexts each media worker's network loop ran (fd ready, timer due or touched)",
         offsetof(netloop_counters, child_runs)},
        {"videomeet_loop_reader_runs_total", "Selected-pair sockets the network loop read itself (media, not STUN) instead of running their ICE agent's context",
         offsetof(netloop_counters, reader_runs)},
        {"videomeet_udp_datagrams_sent_total", "UDP datagrams each media worker handed to the kernel",
         offsetof(netloop_counters, datagrams)},
        {"videomeet_udp_send_calls_total", "sendmsg operations that carried them (several datagrams each with UDP GSO; io_uring requests where the worker batches through io_uring)",
         offsetof(netloop_counters, sends)},
        {"videomeet_udp_send_syscalls_total", "System calls that made those sends (one io_uring submit carries a loop iteration's sends to every socket)",
         offsetof(netloop_counters, send_syscalls)},
        {"videomeet_udp_send_errors_total", "UDP datagrams the kernel refused (dropped)",
         offsetof(netloop_counters, send_errors)},
    };
    for (size_t f = 0; f < G_N_ELEMENTS(fields); f++) {
        g_string_append_printf(out, "# HELP %s %s.\n# TYPE %s counter\n", fields[f].name, fields[f].help,
                               fields[f].name);
        for (int i = 0; i < n; i++)
            g_string_append_printf(out, "%s{worker=\"%d\"} %llu\n", fields[f].name, i,
                                   (unsigned long long)*(const uint64_t *)((const char *)&k[i] + fields[f].off));
    }
    g_free(k);
}

/* The UDP port range: its size, what the participants are charged (2 each), what the SFU's ICE
 * transports hold, and the joins and connections that found it used up (ports.h). */
static void port_metrics(GString *out, struct vm_signaling *s, const sfu_stats *st)
{
    g_string_append_printf(
        out,
        "# HELP videomeet_rtc_ports_available UDP ports in RTC_MIN_PORT..RTC_MAX_PORT (2 per participant).\n"
        "# TYPE videomeet_rtc_ports_available gauge\nvideomeet_rtc_ports_available %zu\n"
        "# HELP videomeet_rtc_ports_reserved Ports charged to the participants in meetings (2 each); a join "
        "that would go over videomeet_rtc_ports_available is refused.\n"
        "# TYPE videomeet_rtc_ports_reserved gauge\nvideomeet_rtc_ports_reserved %zu\n"
        "# HELP videomeet_rtc_ports_in_use Ports of the range held by the SFU's ICE transports now, once per "
        "transport (each holds one on every ICE address).\n"
        "# TYPE videomeet_rtc_ports_in_use gauge\nvideomeet_rtc_ports_in_use %llu\n"
        "# HELP videomeet_port_range_exhausted_total Participants turned away for want of UDP ports: joins "
        "refused (stage join), connections that could bind no port (stage gather).\n"
        "# TYPE videomeet_port_range_exhausted_total counter\n"
        "videomeet_port_range_exhausted_total{stage=\"join\"} %llu\n"
        "videomeet_port_range_exhausted_total{stage=\"gather\"} %llu\n",
        s->ports.size, port_budget_reserved(registry_participant_count(s->reg)),
        (unsigned long long)STATS_GET(st->ports_in_use), (unsigned long long)s->ports.refused,
        (unsigned long long)STATS_GET(st->ports_exhausted));
}

/* The rate limits: per client address (abuse.h) and per connection (session.c). */
static void abuse_metrics(GString *out, struct vm_signaling *s)
{
    g_string_append(out, "# HELP videomeet_rate_limited_total Refused by a rate limit: WebSockets, meeting starts "
                          "and joins of unknown meetings per client address; messages and ICE candidates per "
                          "connection.\n# TYPE videomeet_rate_limited_total counter\n");
    for (int k = 0; k < ABUSE_KINDS; k++)
        g_string_append_printf(out, "videomeet_rate_limited_total{limit=\"%s\"} %llu\n", abuse_kind_name((abuse_kind)k),
                               (unsigned long long)abuse_refused(s->abuse, (abuse_kind)k));
    g_string_append_printf(out,
                           "videomeet_rate_limited_total{limit=\"messages\"} %llu\n"
                           "videomeet_rate_limited_total{limit=\"media-messages\"} %llu\n"
                           "videomeet_rate_limited_total{limit=\"candidates\"} %llu\n"
                           "# HELP videomeet_client_addresses Client addresses the per-address limits track.\n"
                           "# TYPE videomeet_client_addresses gauge\nvideomeet_client_addresses %zu\n"
                           "# HELP videomeet_client_addresses_evicted_total Idle client addresses forgotten to make "
                           "room for new ones.\n# TYPE videomeet_client_addresses_evicted_total counter\n"
                           "videomeet_client_addresses_evicted_total %llu\n",
                           (unsigned long long)s->msgs_limited[0], (unsigned long long)s->msgs_limited[1],
                           (unsigned long long)s->candidates_dropped, abuse_size(s->abuse),
                           (unsigned long long)abuse_evicted(s->abuse));
}

/* Prometheus text exposition format 0.0.4. */
static int route_metrics(struct vm_signaling *s, vm_conn *c, struct lws *wsi)
{
    GString *out = g_string_sized_new(4096);
    g_string_append_printf(out,
                           "# HELP videomeet_meetings Live meetings.\n# TYPE videomeet_meetings gauge\n"
                           "videomeet_meetings %zu\n"
                           "# HELP videomeet_participants Participants in meetings.\n"
                           "# TYPE videomeet_participants gauge\nvideomeet_participants %zu\n"
                           "# HELP videomeet_websocket_connections Open WebSocket connections.\n"
                           "# TYPE videomeet_websocket_connections gauge\nvideomeet_websocket_connections %zu\n",
                           registry_meeting_count(s->reg), registry_participant_count(s->reg), s->ws_count);
    process_metrics(out);
    cluster_route_metrics(s, out);
    drain_route_metrics(s, out);
    abuse_metrics(out, s);
    if (s->media) {
        sfu_stats st;
        sfu_stats_total(s->media, &st);
#define METRIC(name, help)                                                                                   \
    g_string_append_printf(out, "# HELP videomeet_" #name "_total " help ".\n# TYPE videomeet_" #name          \
                                "_total counter\nvideomeet_" #name "_total %llu\n",                           \
                           (unsigned long long)STATS_GET(st.name));
        SFU_STATS_FIELDS(METRIC)
#undef METRIC
        port_metrics(out, s, &st);
        g_string_append(out, "# HELP videomeet_peer_connections WebRTC connections by state.\n"
                             "# TYPE videomeet_peer_connections gauge\n");
        static const char *const states[4] = {"new", "connecting", "connected", "failed"};
        for (int k = 0; k < 4; k++)
            g_string_append_printf(out, "videomeet_peer_connections{state=\"%s\"} %llu\n", states[k],
                                   (unsigned long long)STATS_GET(st.peers[k]));
        g_string_append(out, "# HELP videomeet_dtls_records_dropped_total Received DTLS records dropped before "
                             "the TLS library used them (garbage, truncated, forged, replayed), by reason.\n"
                             "# TYPE videomeet_dtls_records_dropped_total counter\n");
        for (int k = 0; k < DTLS_DROP_REASONS; k++)
            g_string_append_printf(out, "videomeet_dtls_records_dropped_total{reason=\"%s\"} %llu\n",
                                   dtls_drop_reason_name((dtls_drop_reason_t)k),
                                   (unsigned long long)STATS_GET(st.dtls_dropped[k]));
        g_string_append(out, "# HELP videomeet_forward_delay_seconds From a packet's arrival at the SFU to the send "
                             "that carries it to one subscriber.\n# TYPE videomeet_forward_delay_seconds histogram\n");
        uint64_t cumulative = 0;
        for (int b = 0; b <= SFU_FWD_DELAY_BUCKETS; b++) {
            cumulative += STATS_GET(st.fwd_delay[b]);
            if (b < SFU_FWD_DELAY_BUCKETS)
                g_string_append_printf(out, "videomeet_forward_delay_seconds_bucket{le=\"%g\"} %llu\n",
                                       sfu_fwd_delay_bounds_us[b] / 1e6, (unsigned long long)cumulative);
            else
                g_string_append_printf(out, "videomeet_forward_delay_seconds_bucket{le=\"+Inf\"} %llu\n",
                                       (unsigned long long)cumulative);
        }
        g_string_append_printf(out, "videomeet_forward_delay_seconds_sum %.6f\nvideomeet_forward_delay_seconds_count %llu\n",
                               (double)STATS_GET(st.fwd_delay_sum_us) / 1e6, (unsigned long long)cumulative);
        g_string_append(out, "# HELP videomeet_worker_cpu_seconds_total CPU time of each media worker thread.\n"
                             "# TYPE videomeet_worker_cpu_seconds_total counter\n");
        for (int i = 0; i < sfu_worker_count(s->media); i++)
            g_string_append_printf(out, "videomeet_worker_cpu_seconds_total{worker=\"%d\"} %.6f\n", i,
                                   sfu_worker_cpu_seconds(s->media, i));
        net_metrics(out, s->media);
    }
    return send_body(c, wsi, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8",
                     g_string_free(out, FALSE));
}

static int serve_file(struct vm_signaling *s, struct lws *wsi, const char *rel)
{
    char full[PATH_MAX], real[PATH_MAX], root[PATH_MAX];
    struct stat st;
    if (snprintf(full, sizeof(full), "%s/%s", s->cfg->web_root, rel) >= (int)sizeof(full))
        return send_status(wsi, HTTP_STATUS_NOT_FOUND);
    size_t rootlen;
    if (!realpath(s->cfg->web_root, root) || !realpath(full, real) || (rootlen = strlen(root)) == 0 ||
        strncmp(real, root, rootlen) != 0 || real[rootlen] != '/' || stat(real, &st) < 0 ||
        !S_ISREG(st.st_mode))
        return send_status(wsi, HTTP_STATUS_NOT_FOUND);
    unsigned char hdr[256], *p = hdr, *end = hdr + sizeof(hdr);
    if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-cache", 8, &p, end))
        return -1;
    int n = lws_serve_http_file(wsi, real, http_mime_type(real), (const char *)hdr, (int)(p - hdr));
    if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
        return -1;
    return 0;
}

int http_serve_index(struct vm_signaling *s, struct lws *wsi)
{
    return serve_file(s, wsi, "index.html");
}

/* Answers status with a short text and closes the connection after it (431, 413). */
static int refuse_and_close(vm_conn *c, struct lws *wsi, unsigned status, const char *text)
{
    c->http_close = true;
    return send_body(c, wsi, status, "text/plain; charset=utf-8", strdup(text));
}

/* What becomes of a request's body: no route reads one, and none is accepted larger than
 * VM_HTTP_MAX_BODY. One over it is refused with 413: read away first when its announced length is at
 * most VM_HTTP_DISCARD_BODY (BODY_DISCARD), answered at once when larger or of unknown length (chunked). */
typedef enum { BODY_OK, BODY_DISCARD, BODY_REFUSE } body_verdict;

static body_verdict body_check(struct lws *wsi)
{
    char v[32];
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0)
        return BODY_REFUSE;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
        return BODY_OK;
    if (lws_hdr_copy(wsi, v, sizeof(v), WSI_TOKEN_HTTP_CONTENT_LENGTH) < 0)
        return BODY_REFUSE;
    char *endp;
    unsigned long long n = strtoull(v, &endp, 10);
    if (*endp || endp == v || n > VM_HTTP_DISCARD_BODY)
        return BODY_REFUSE;
    return n > VM_HTTP_MAX_BODY ? BODY_DISCARD : BODY_OK;
}

int http_on_request(struct vm_signaling *s, vm_conn *c, struct lws *wsi, const char *uri, size_t len)
{
    c->wsi = wsi;
    c->http_close = false;
    c->http_discard = false;
    c->http_retry_after = 0;
    if (!http_headers_ok(wsi))
        return refuse_and_close(c, wsi, 431 /* Request Header Fields Too Large */, "request headers too large\n");
    body_verdict body = body_check(wsi);
    if (body != BODY_OK) {
        c->http_discard = body == BODY_DISCARD; /* the answer waits for HTTP_BODY_COMPLETION */
        c->http_discard_until = vm_mono_us() + VM_HTTP_DISCARD_US;
        return refuse_and_close(c, wsi, HTTP_STATUS_REQ_ENTITY_TOO_LARGE, "request body too large\n");
    }
    if (strlen(uri) != len)
        return send_status(wsi, HTTP_STATUS_FORBIDDEN); /* a decoded NUL cut the path short */
    if (!strcmp(uri, "/admin/drain"))
        return drain_route_admin(s, c, wsi); /* POST, with ADMIN_TOKEN */
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
        return send_status(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED); /* only GET is served */
    if (!strcmp(uri, "/healthz"))
        return route_health(s, c, wsi);
    if (!strcmp(uri, "/api/create-meeting"))
        return route_create_meeting(s, c, wsi);
    if (!strcmp(uri, "/api/config"))
        return route_config(s, c, wsi);
    if (!strcmp(uri, "/metrics"))
        return route_metrics(s, c, wsi);
    if (!strcmp(uri, "/ws"))
        return send_status(wsi, HTTP_STATUS_BAD_REQUEST); /* a WebSocket upgrade is expected */
    if (!strncmp(uri, "/m/", 3) && !strchr(uri + 3, '/'))
        return s->cluster ? cluster_route_page(s, c, wsi, uri + 3) : serve_file(s, wsi, "index.html");
    char rel[512];
    int rc = http_path_resolve(uri, rel, sizeof(rel));
    if (rc == HTTP_PATH_E_FORBIDDEN) {
        LOG_D("refused path %s", uri);
        return send_status(wsi, HTTP_STATUS_FORBIDDEN);
    }
    if (rc < 0)
        return send_status(wsi, HTTP_STATUS_NOT_FOUND);
    return serve_file(s, wsi, rel);
}

/* The headers of every answer (README "HTTP limits and headers"). The page runs only its own scripts
 * and styles (no inline ones: web/ has none), talks only to its own origin (its fetches and the
 * WebSocket: CSP 3 lets 'self' match ws: and wss: of the same host), shows images of its own and data:
 * (the empty favicon), and may not be framed. Camera, microphone and screen capture are for our own
 * origin only; nothing else powerful is. The meeting id is in the URL: no Referer carries it away. */
#define CSP_BEFORE_CONNECT                                                                                \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
#define CSP_AFTER_CONNECT                                                                                 \
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
#define SECURITY_HEADERS(name, csp)                                                                       \
    static const struct lws_protocol_vhost_options name[] = {                                             \
        {&name[1], NULL, "content-security-policy:", csp},                                                \
        {&name[2], NULL, "x-content-type-options:", "nosniff"},                                           \
        {&name[3], NULL, "referrer-policy:", "no-referrer"},                                              \
        {&name[4], NULL, "permissions-policy:",                                                           \
         "camera=(self), microphone=(self), display-capture=(self), geolocation=(), usb=(), payment=(), "  \
         "interest-cohort=()"},                                                                           \
        {NULL, NULL, "x-frame-options:", "DENY"},                                                         \
    }
SECURITY_HEADERS(security_headers, CSP_BEFORE_CONNECT "connect-src 'self'; " CSP_AFTER_CONNECT);
/* Several nodes (REDIS_URL): a join answered `moved` opens the WebSocket of another node, another
 * origin whose address this node learns only from Redis, so WebSockets may go anywhere; fetches and
 * everything else stay on our own origin. */
SECURITY_HEADERS(security_headers_cluster, CSP_BEFORE_CONNECT "connect-src 'self' ws: wss:; " CSP_AFTER_CONNECT);

const struct lws_protocol_vhost_options *http_security_headers(bool cluster)
{
    return cluster ? security_headers_cluster : security_headers;
}

/* Each known header is cut by libwebsockets at VM_HTTP_MAX_HEADER bytes (server.c token limits): one
 * that reached it was longer. The known headers together may not pass VM_HTTP_MAX_HEADERS. */
bool http_headers_ok(struct lws *wsi)
{
    int total = 0;
    for (int t = 0; t < (int)WSI_TOKEN_COUNT; t++) {
        int n = lws_hdr_total_length(wsi, (enum lws_token_indexes)t);
        if (n >= VM_HTTP_MAX_HEADER - 1)
            return false;
        total += n > 0 ? n : 0;
    }
    return total <= VM_HTTP_MAX_HEADERS;
}

void http_client_address(struct vm_signaling *s, struct lws *wsi, abuse_addr *out)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    abuse_addr peer;
    memset(&peer, 0, sizeof(peer));
    lws_sockfd_type fd = lws_get_socket_fd(lws_get_network_wsi(wsi));
    if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            peer.b[10] = peer.b[11] = 0xff;
            memcpy(peer.b + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
        } else if (ss.ss_family == AF_INET6) {
            memcpy(peer.b, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
        }
    }
    *out = peer;
    const abuse_trust *t = &s->cfg->trusted_proxies;
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);
    if ((!t->hops && !t->n) || n <= 0)
        return;
    char *xff = malloc((size_t)n + 1);
    if (xff && lws_hdr_copy(wsi, xff, n + 1, WSI_TOKEN_X_FORWARDED_FOR) >= 0)
        abuse_client_address(t, &peer, xff, out);
    free(xff);
}
