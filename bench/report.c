/* report.c - snapshots, the progress line, and the final results of the bench (see report.h).
 *
 * The JSON is the source of truth: the table is printed from it, so the two always agree. Rates are
 * per second of the window; a value that cannot be measured (no /metrics, no --server-pid) is null
 * in the JSON and "-" in the table.
 */
#include "bench/report.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/session.h"

void bench_snapshot_take(bench_run *run, bench_snapshot *out)
{
    memset(out, 0, sizeof(*out));
    out->t_s = (double)g_get_monotonic_time() / 1e6;
    /* The bench's counters first: whatever they count was forwarded before /metrics is read, so
     * received <= forwarded holds between the two. */
    bench_run_totals(run, &out->b);
    out->self_cpu_s = bench_probe_self_cpu();
    out->machine_busy_s = bench_probe_machine_busy();
    if (run->cfg.server_pid > 0)
        bench_probe_proc(run->cfg.server_pid, &out->p);
    bench_probe_fetch_metrics(run->cfg.host, run->cfg.port, &out->m);
}

/* Server CPU seconds between two snapshots: the whole process from /proc, else the media workers
 * from /metrics; -1 when neither is known. */
static double server_cpu(const bench_snapshot *a, const bench_snapshot *b, const char **source)
{
    if (a->p.ok && b->p.ok) {
        *source = "proc";
        return b->p.cpu_s - a->p.cpu_s;
    }
    if (a->m.ok && b->m.ok && a->m.cpu_s >= 0 && b->m.cpu_s >= 0) {
        *source = "metrics-process";
        return b->m.cpu_s - a->m.cpu_s;
    }
    if (a->m.ok && b->m.ok && a->m.worker_cpu_s >= 0 && b->m.worker_cpu_s >= 0) {
        *source = "metrics-workers";
        return b->m.worker_cpu_s - a->m.worker_cpu_s;
    }
    *source = "none";
    return -1;
}

static double mdelta(const bench_snapshot *a, const bench_snapshot *b, double bv, double av)
{
    return (a->m.ok && b->m.ok && av >= 0 && bv >= 0) ? bv - av : -1;
}

static double loss_pct(uint64_t expected, uint64_t unique)
{
    return expected ? 100.0 * (double)(expected > unique ? expected - unique : 0) / (double)expected : 0;
}

void bench_report_progress(bench_run *run, const bench_snapshot *prev, const bench_snapshot *now, double elapsed_s)
{
    if (run->cfg.quiet)
        return;
    double dt = now->t_s - prev->t_s;
    if (dt <= 0)
        return;
    const bench_totals *a = &prev->b, *b = &now->b;
    double sin = mdelta(prev, now, now->m.rtp_in, prev->m.rtp_in);
    double sout = mdelta(prev, now, now->m.rtp_out, prev->m.rtp_out);
    const char *src;
    double cpu = server_cpu(prev, now, &src);
    char cpu_s[16] = "-", in_s[24] = "-", out_s[24] = "-";
    if (cpu >= 0)
        snprintf(cpu_s, sizeof(cpu_s), "%.0f%%", 100.0 * cpu / dt);
    if (sin >= 0)
        snprintf(in_s, sizeof(in_s), "%.0f", sin / dt);
    if (sout >= 0)
        snprintf(out_s, sizeof(out_s), "%.0f", sout / dt);
    printf("[%5.1fs] ready %llu/%zu up %llu down %llu failed %llu | server pkt/s in %s out %s | bench pkt/s out %.0f "
           "in %.0f | loss %.2f%% | server cpu %s\n",
           elapsed_s, (unsigned long long)b->sessions_ready, run->n_sessions, (unsigned long long)b->up_connected,
           (unsigned long long)b->down_connected, (unsigned long long)b->failures, in_s, out_s,
           (double)(b->rtp_sent - a->rtp_sent) / dt, (double)(b->rtp_received - a->rtp_received) / dt,
           loss_pct(b->rx_expected - a->rx_expected, b->rx_unique - a->rx_unique), cpu_s);
    fflush(stdout);
}

/* ---- final ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct_sorted(const double *v, size_t n, double p)
{
    if (!n)
        return 0;
    size_t i = (size_t)ceil(p * (double)n);
    return v[i ? i - 1 : 0];
}

static json_t *num_or_null(double v)
{
    return v >= 0 && isfinite(v) ? json_real(round(v * 1000.0) / 1000.0) : json_null();
}

static json_t *join_json(bench_run *run, size_t *ready)
{
    double *v = calloc(run->n_sessions ? run->n_sessions : 1, sizeof(double));
    size_t n = 0;
    for (size_t i = 0; v && i < run->n_sessions; i++) {
        const bench_session *s = run->sessions[i];
        if (!s->t_ready)
            continue;
        int64_t from = s->t_start;
        if (s->receives && s->alone_at_join && s->t_first_offer > from)
            from = s->t_first_offer; /* alone at join: nothing to receive before the first offer */
        v[n++] = (double)(s->t_ready - from) / 1000.0;
    }
    qsort(v, n, sizeof(double), cmp_double);
    json_t *j = json_pack("{s:o, s:o, s:o, s:I}", "p50", num_or_null(n ? pct_sorted(v, n, 0.5) : -1), "p99",
                          num_or_null(n ? pct_sorted(v, n, 0.99) : -1), "max", num_or_null(n ? v[n - 1] : -1),
                          "samples", (json_int_t)n);
    free(v);
    *ready = n;
    return j;
}

/* p50/p99 over the sessions of one time (ms from the session's start); sessions without it are skipped. */
static json_t *phase_json(const bench_run *run, size_t field_off)
{
    double *v = calloc(run->n_sessions ? run->n_sessions : 1, sizeof(double));
    size_t n = 0;
    for (size_t i = 0; v && i < run->n_sessions; i++) {
        const bench_session *s = run->sessions[i];
        int64_t t = *(const int64_t *)((const char *)s + field_off);
        if (t && s->t_start)
            v[n++] = (double)(t - s->t_start) / 1000.0;
    }
    qsort(v, n, sizeof(double), cmp_double);
    json_t *j = json_pack("{s:o, s:o, s:I}", "p50", num_or_null(n ? pct_sorted(v, n, 0.5) : -1), "p99",
                          num_or_null(n ? pct_sorted(v, n, 0.99) : -1), "samples", (json_int_t)n);
    free(v);
    return j;
}

/* Where the join time goes: each step's time from the WebSocket connect. */
static json_t *phases_json(const bench_run *run)
{
    json_t *j = json_object();
    json_object_set_new(j, "ws_open", phase_json(run, offsetof(bench_session, t_open)));
    json_object_set_new(j, "existing_users", phase_json(run, offsetof(bench_session, t_joined)));
    json_object_set_new(j, "up_connected", phase_json(run, offsetof(bench_session, t_up_connected)));
    json_object_set_new(j, "first_down_offer", phase_json(run, offsetof(bench_session, t_first_offer)));
    json_object_set_new(j, "down_connected", phase_json(run, offsetof(bench_session, t_down_connected)));
    json_object_set_new(j, "first_media", phase_json(run, offsetof(bench_session, t_first_media)));
    return j;
}

static json_t *hist_json(const bench_hist *h)
{
    if (!h->n)
        return json_pack("{s:n, s:n, s:n, s:n, s:I}", "p50", "p95", "p99", "max", "samples", (json_int_t)0);
    return json_pack("{s:o, s:o, s:o, s:o, s:I}", "p50", num_or_null((double)bench_hist_percentile(h, 0.5) / 1000.0),
                     "p95", num_or_null((double)bench_hist_percentile(h, 0.95) / 1000.0), "p99",
                     num_or_null((double)bench_hist_percentile(h, 0.99) / 1000.0), "max",
                     num_or_null((double)h->max / 1000.0), "samples", (json_int_t)h->n);
}

static json_t *scenario_json(const bench_run *run)
{
    const bench_config *c = &run->cfg;
    return json_pack("{s:s, s:i, s:i, s:f, s:i, s:i, s:f, s:i, s:s}", "mode",
                     c->mode == BENCH_MODE_MEETING ? "meeting" : "webinar", "participants", c->participants,
                     "rooms", c->rooms, "duration_s", c->duration_s, "bitrate_kbps", (int)c->bitrate_kbps, "fps",
                     (int)c->fps, "join_rate", c->join_rate, "bench_workers", c->workers, "url", c->url);
}

static json_t *server_json(const bench_run *run, const bench_results *r, double dt)
{
    const bench_snapshot *a = &r->start, *b = &r->end;
    const char *src;
    double cpu = server_cpu(a, b, &src);
    double out = mdelta(a, b, b->m.rtp_out, a->m.rtp_out);
    double in = mdelta(a, b, b->m.rtp_in, a->m.rtp_in);
    double bytes = mdelta(a, b, b->m.bytes_out, a->m.bytes_out);
    double rss_kb = b->p.ok ? b->p.rss_kb : (b->m.rss_bytes >= 0 ? b->m.rss_bytes / 1024.0 : -1);
    double base_kb = r->base.p.ok ? r->base.p.rss_kb : (r->base.m.rss_bytes >= 0 ? r->base.m.rss_bytes / 1024.0 : -1);
    size_t n = run->n_sessions ? run->n_sessions : 1;
    json_t *j = json_object();
    json_object_set_new(j, "pid", run->cfg.server_pid > 0 ? json_integer(run->cfg.server_pid) : json_null());
    json_object_set_new(j, "rtp_in_per_s", num_or_null(in >= 0 ? in / dt : -1));
    json_object_set_new(j, "rtp_out_per_s", num_or_null(out >= 0 ? out / dt : -1));
    json_object_set_new(j, "mbit_out_per_s", num_or_null(bytes >= 0 ? bytes * 8 / dt / 1e6 : -1));
    json_object_set_new(j, "cpu_source", json_string(src));
    json_object_set_new(j, "cpu_percent", num_or_null(cpu >= 0 ? 100.0 * cpu / dt : -1));
    json_object_set_new(j, "cpu_us_per_forwarded_packet", num_or_null(cpu >= 0 && out > 0 ? cpu * 1e6 / out : -1));
    json_object_set_new(j, "rss_mb", num_or_null(rss_kb >= 0 ? rss_kb / 1024.0 : -1));
    json_object_set_new(j, "rss_baseline_mb", num_or_null(base_kb >= 0 ? base_kb / 1024.0 : -1));
    json_object_set_new(j, "rss_peak_mb", num_or_null(b->p.ok ? b->p.hwm_kb / 1024.0 : -1));
    json_object_set_new(j, "rss_kb_per_session",
                        num_or_null(rss_kb >= 0 && base_kb >= 0 ? (rss_kb - base_kb) / (double)n : -1));
    json_object_set_new(j, "threads", b->p.ok ? json_integer(b->p.threads) : json_null());
#define WIN(name, field) json_object_set_new(j, name, num_or_null(mdelta(a, b, b->m.field, a->m.field)))
    WIN("nacks_received", nacks_received);
    WIN("nacks_sent", nacks_sent);
    WIN("retransmissions", retransmissions);
    WIN("plis_received", plis_received);
    WIN("plis_sent", plis_sent);
    WIN("dropped_bad_srtp", dropped_bad_srtp);
    WIN("dropped_not_ready", dropped_not_ready);
    WIN("udp_send_errors", udp_send_errors);
#undef WIN
    double dgrams = mdelta(a, b, b->m.udp_datagrams, a->m.udp_datagrams);
    double calls = mdelta(a, b, b->m.udp_send_calls, a->m.udp_send_calls);
    double wakeups = mdelta(a, b, b->m.loop_wakeups, a->m.loop_wakeups);
    /* What the server itself adds: arrival → the send to each subscriber (its histogram, in the window). */
    json_t *fd = json_object();
    double p50 = bench_probe_hist_quantile(&a->m, &b->m, 0.5), p99 = bench_probe_hist_quantile(&a->m, &b->m, 0.99);
    json_object_set_new(fd, "p50", num_or_null(p50 >= 0 ? p50 * 1e3 : -1));
    json_object_set_new(fd, "p99", num_or_null(p99 >= 0 ? p99 * 1e3 : -1));
    json_object_set_new(j, "forward_delay_ms", fd);
    /* How well the output batches: datagrams per sendmsg (UDP GSO), and per loop wake-up. */
    json_object_set_new(j, "udp_datagrams_per_send", num_or_null(dgrams >= 0 && calls > 0 ? dgrams / calls : -1));
    json_object_set_new(j, "loop_wakeups_per_s", num_or_null(wakeups >= 0 ? wakeups / dt : -1));
    json_object_set_new(j, "rtp_packets_out_total", num_or_null(b->m.ok ? b->m.rtp_out : -1));
    return j;
}

static json_t *bench_json(const bench_results *r, double dt)
{
    const bench_totals *a = &r->start.b, *b = &r->end.b;
    uint64_t exp = b->rx_expected - a->rx_expected, uniq = b->rx_unique - a->rx_unique;
    json_t *j = json_object();
    json_object_set_new(j, "rtp_sent_per_s", json_real((double)(b->rtp_sent - a->rtp_sent) / dt));
    json_object_set_new(j, "rtp_received_per_s", json_real((double)(b->rtp_received - a->rtp_received) / dt));
    json_object_set_new(j, "mbit_received_per_s",
                        json_real((double)(b->rtp_bytes_received - a->rtp_bytes_received) * 8 / dt / 1e6));
    json_object_set_new(j, "expected", json_integer((json_int_t)exp));
    json_object_set_new(j, "received_unique", json_integer((json_int_t)uniq));
    json_object_set_new(j, "loss_percent", json_real(loss_pct(exp, uniq)));
    json_object_set_new(j, "cpu_percent", json_real(100.0 * (r->end.self_cpu_s - r->start.self_cpu_s) / dt));
#define WIN(name) json_object_set_new(j, #name, json_integer((json_int_t)(b->name - a->name)))
    WIN(rx_duplicates);
    WIN(rx_reordered);
    WIN(rx_recovered);
    WIN(nacks_sent);
    WIN(plis_sent);
    WIN(nacks_received);
    WIN(retransmissions_sent);
    WIN(plis_received);
    WIN(keyframes_sent);
#undef WIN
    return j;
}

/* How busy the machine was in the window, and how much of that was neither the server nor the bench
 * (other jobs on a shared machine make every figure worse). Percent of one core. */
static json_t *machine_json(const bench_results *r, double dt)
{
    const bench_snapshot *a = &r->start, *b = &r->end;
    double busy = a->machine_busy_s >= 0 && b->machine_busy_s >= 0 ? b->machine_busy_s - a->machine_busy_s : -1;
    const char *src;
    double server = server_cpu(a, b, &src);
    double self = b->self_cpu_s - a->self_cpu_s;
    bool known = busy >= 0 && server >= 0;
    double other = known ? fmax(0, busy - server - self) : -1;
    double load[3] = {-1, -1, -1};
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
            load[0] = -1;
        fclose(f);
    }
    return json_pack("{s:I, s:o, s:o, s:o}", "cpus", (json_int_t)g_get_num_processors(), "busy_percent",
                     num_or_null(busy >= 0 ? 100.0 * busy / dt : -1), "other_percent",
                     num_or_null(known ? 100.0 * other / dt : -1), "loadavg_1m",
                     num_or_null(load[0]));
}

static json_t *totals_json(const bench_totals *t)
{
    json_t *j = json_object();
#define TOTAL(name, help) json_object_set_new(j, #name, json_integer((json_int_t)t->name));
    BENCH_COUNTERS(TOTAL)
#undef TOTAL
    json_object_set_new(j, "loss_percent", json_real(loss_pct(t->rx_expected, t->rx_unique)));
    return j;
}

static json_t *ms_or_null(int64_t t, int64_t from)
{
    return t && from ? json_real((double)(t - from) / 1000.0) : json_null();
}

/* One entry per session: its times (ms from its start) and what arrived on each received track. */
static json_t *detail_json(const bench_run *run)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < run->n_sessions; i++) {
        const bench_session *s = run->sessions[i];
        json_t *tracks = json_array();
        for (size_t k = 0; k < s->n_rx; k++) {
            const bench_rx_track *t = &s->rx[k];
            if (!t->sdp.active)
                continue;
            json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "mid", t->sdp.mid, "kind",
                                  t->sdp.kind == SDP_MEDIA_AUDIO ? "audio" : "video", "from", t->sdp.stream_id,
                                  "packets", (json_int_t)t->packets, "bytes", (json_int_t)t->bytes, "expected",
                                  (json_int_t)t->seq.expected, "unique", (json_int_t)t->seq.unique);
            json_object_update_new(o, json_pack("{s:I, s:I, s:I, s:I, s:b, s:I}", "duplicates",
                                                (json_int_t)t->seq.duplicates, "reordered", (json_int_t)t->seq.reordered,
                                                "recovered", (json_int_t)t->seq.recovered, "nacked",
                                                (json_int_t)t->nacked, "keyframe", t->got_key, "plis",
                                                (json_int_t)t->plis));
            json_array_append_new(tracks, o);
        }
        json_t *o = json_pack("{s:s, s:i, s:s, s:b, s:b, s:b, s:b, s:s}", "name", s->name, "room", s->room,
                              "userId", s->user_id, "publishes", s->publishes, "receives", s->receives, "ready",
                              s->t_ready != 0, "failed", s->failed, "why", s->why);
        json_object_set_new(o, "ms", json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "ws_open",
                                               ms_or_null(s->t_open, s->t_start), "joined",
                                               ms_or_null(s->t_joined, s->t_start), "up_connected",
                                               ms_or_null(s->t_up_connected, s->t_start), "first_offer",
                                               ms_or_null(s->t_first_offer, s->t_start), "down_connected",
                                               ms_or_null(s->t_down_connected, s->t_start), "first_media",
                                               ms_or_null(s->t_first_media, s->t_start), "ready",
                                               ms_or_null(s->t_ready, s->t_start)));
        json_object_set_new(o, "offers_answered", json_integer(s->offers_answered));
        json_object_set_new(o, "sent", json_pack("{s:I, s:I, s:I}", "packets",
                                                 (json_int_t)(s->audio.packets + s->video.packets), "keyframes",
                                                 (json_int_t)s->video.keyframes, "retransmitted",
                                                 (json_int_t)(s->audio.retransmitted + s->video.retransmitted)));
        json_object_set_new(o, "tracks", tracks);
        json_array_append_new(arr, o);
    }
    return arr;
}

json_t *bench_report_json(bench_run *run, const bench_results *r)
{
    double dt = r->end.t_s - r->start.t_s;
    if (dt <= 0)
        dt = 1e-9;
    size_t ready = 0;
    json_t *join = join_json(run, &ready);
    size_t publishers = 0, failed = 0;
    for (size_t i = 0; i < run->n_sessions; i++) {
        publishers += run->sessions[i]->publishes;
        failed += run->sessions[i]->failed;
    }
    json_t *j = json_object();
    json_object_set_new(j, "scenario", scenario_json(run));
    json_object_set_new(j, "sessions", json_pack("{s:I, s:I, s:I, s:I, s:I}", "planned", (json_int_t)run->n_sessions,
                                                 "publishers", (json_int_t)publishers, "subscribers",
                                                 (json_int_t)(run->n_sessions - publishers), "ready",
                                                 (json_int_t)ready, "failed", (json_int_t)failed));
    json_object_set_new(j, "window_s", json_real(dt));
    json_object_set_new(j, "join_ms", join);
    json_object_set_new(j, "join_phases_ms", phases_json(run));
    json_object_set_new(j, "first_keyframe_ms", hist_json(&r->keyframe));
    json_object_set_new(j, "delay_ms", hist_json(&r->delay));
    json_object_set_new(j, "bench_tick_lag_ms", hist_json(&r->lag));
    json_object_set_new(j, "server", server_json(run, r, dt));
    json_object_set_new(j, "bench", bench_json(r, dt));
    json_object_set_new(j, "machine", machine_json(r, dt));
    json_object_set_new(j, "totals", totals_json(&r->end.b));
    json_object_set_new(j, "per_session", detail_json(run));
    return j;
}

/* ---- table ---- */

static void cell(char *out, size_t cap, const json_t *v, int decimals)
{
    if (json_is_number(v))
        snprintf(out, cap, "%.*f", decimals, json_number_value(v));
    else
        snprintf(out, cap, "-");
}

static void row(const char *label, const json_t *a, const json_t *b, const json_t *c, int fmt)
{
    char x[32], y[32], z[32];
    cell(x, sizeof(x), a, fmt);
    printf("  %-42s %s", label, x);
    if (b) {
        cell(y, sizeof(y), b, fmt);
        printf(" / %s", y);
    }
    if (c) {
        cell(z, sizeof(z), c, fmt);
        printf(" / %s", z);
    }
    printf("\n");
}

#define G(obj, key) json_object_get(json_object_get(j, obj), key)

void bench_report_table(const json_t *j)
{
    const json_t *sc = json_object_get(j, "scenario");
    printf("\nvideomeet-bench: %s of %lld x %lld room(s), %lld kbit/s %lld fps, window %.1f s\n",
           json_string_value(json_object_get(sc, "mode")), json_integer_value(json_object_get(sc, "participants")),
           json_integer_value(json_object_get(sc, "rooms")), json_integer_value(json_object_get(sc, "bitrate_kbps")),
           json_integer_value(json_object_get(sc, "fps")), json_number_value(json_object_get(j, "window_s")));
    row("sessions ready / planned / failed", G("sessions", "ready"), G("sessions", "planned"),
        G("sessions", "failed"), 0);
    row("join time p50 / p99 / max (ms)", G("join_ms", "p50"), G("join_ms", "p99"), G("join_ms", "max"), 1);
    static const char *const steps[] = {"ws_open", "existing_users", "up_connected", "first_down_offer",
                                        "down_connected", "first_media"};
    for (int q = 0; q < 2; q++) {
        printf("  %-42s", q ? "  p99" : "join steps (ms from connect), p50");
        for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
            char c[32];
            cell(c, sizeof(c), json_object_get(G("join_phases_ms", steps[i]), q ? "p99" : "p50"), 0);
            printf(" %s%s", i ? "/ " : "", c);
        }
        printf("\n");
    }
    printf("  %-42s ws open / joined / up connected / down offer / down connected / first media\n", "");
    row("first keyframe p50 / p99 (ms)", G("first_keyframe_ms", "p50"), G("first_keyframe_ms", "p99"), NULL,
        1);
    row("server RTP in / out (packets/s)", G("server", "rtp_in_per_s"), G("server", "rtp_out_per_s"), NULL, 0);
    row("server forwarded (Mbit/s)", G("server", "mbit_out_per_s"), NULL, NULL, 1);
    row("bench sent / received (packets/s)", G("bench", "rtp_sent_per_s"), G("bench", "rtp_received_per_s"), NULL,
        0);
    row("loss (%)", G("bench", "loss_percent"), NULL, NULL, 3);
    row("one-way delay p50 / p95 / p99 (ms)", G("delay_ms", "p50"), G("delay_ms", "p95"), G("delay_ms", "p99"),
        2);
    row("server CPU (% of one core)", G("server", "cpu_percent"), NULL, NULL, 1);
    row("server CPU per forwarded packet (us)", G("server", "cpu_us_per_forwarded_packet"), NULL, NULL, 2);
    const json_t *fwd_delay = G("server", "forward_delay_ms");
    row("server forwarding delay p50 / p99 (ms)", json_object_get(fwd_delay, "p50"), json_object_get(fwd_delay, "p99"),
        NULL, 2);
    row("server UDP datagrams per send / wake-ups/s", G("server", "udp_datagrams_per_send"),
        G("server", "loop_wakeups_per_s"), NULL, 2);
    row("server RSS / baseline (MB)", G("server", "rss_mb"), G("server", "rss_baseline_mb"), NULL, 1);
    row("server RSS per session (KB)", G("server", "rss_kb_per_session"), NULL, NULL, 0);
    row("bench CPU (% of one core)", G("bench", "cpu_percent"), NULL, NULL, 1);
    row("machine busy / other work (% of one core)", G("machine", "busy_percent"), G("machine", "other_percent"),
        NULL, 0);
    row("bench tick lateness p99 / max (ms)", G("bench_tick_lag_ms", "p99"), G("bench_tick_lag_ms", "max"), NULL, 2);
    row("NACKed seqs sent / retransmissions got", G("bench", "nacks_sent"), G("bench", "rx_recovered"), NULL, 0);
    row("PLIs sent by receivers / keyframes sent", G("bench", "plis_sent"), G("bench", "keyframes_sent"), NULL,
        0);
    fflush(stdout);
}

int bench_report_exit_code(const json_t *j)
{
    double ready = json_number_value(G("sessions", "ready"));
    const json_t *out = G("server", "rtp_out_per_s");
    double received = json_number_value(G("totals", "rx_unique"));
    bool forwarded = json_is_number(out) ? json_number_value(out) > 0 && received > 0 : received > 0;
    return ready > 0 && forwarded ? 0 : 1;
}
