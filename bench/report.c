/* report.c - snapshots, the progress line, and the final results of the bench (see report.h).
 *
 * The JSON is the source of truth: the table is printed from it, so the two always agree. Rates are
 * per second of the window; a value that cannot be measured (no /metrics, no --server-pid) is null
 * in the JSON and "-" in the table.
 */
#include "bench/report.h"

#include "bench/meeting.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/meeting.h"
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

/* Server CPU seconds between two snapshots: the whole process and its children (its TURN server)
 * from /proc, else the media workers from /metrics; -1 when neither is known. */
static double server_cpu(const bench_snapshot *a, const bench_snapshot *b, const char **source)
{
    if (a->p.ok && b->p.ok) {
        *source = "proc";
        return b->p.cpu_s + b->p.children_cpu_s - a->p.cpu_s - a->p.children_cpu_s;
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
    json_t *j = json_pack("{s:s}", "name", c->scenario[0] ? c->scenario : "");
    json_object_update_new(j, json_pack("{s:s, s:i, s:i, s:f, s:i, s:i, s:f, s:i, s:s}", "mode",
                          c->mode == BENCH_MODE_MEETING ? "meeting" : "webinar", "participants", c->participants,
                          "rooms", c->rooms, "duration_s", c->duration_s, "bitrate_kbps", (int)c->bitrate_kbps, "fps",
                          (int)c->fps, "join_rate", c->join_rate, "bench_workers", c->workers, "url", c->url));
    json_object_update_new(j, json_pack("{s:i, s:i, s:i}", "tiles", c->tiles, "audio_turn_ms", (int)c->audio_turn_ms,
                                        "rcvbuf_kb", c->rcvbuf_kb));
    json_object_set_new(j, "audio_dtx", json_boolean(c->audio_dtx));
    json_object_update_new(j, json_pack("{s:b, s:i, s:b, s:i, s:I}", "simulcast", c->simulcast, "temporal_layers",
                                        (int)c->temporal_layers, "transport_cc", c->transport_cc,
                                        "twcc_interval_ms", (int)c->twcc_interval_ms, "seed", (json_int_t)c->seed));
    json_object_set_new(j, "police",
                        c->police_kbps ? json_pack("{s:i, s:i, s:i}", "kbps", (int)c->police_kbps, "burst_ms",
                                                   (int)c->police_burst_ms, "per_room", c->police_count)
                                       : json_null());
    return j;
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
    /* of which its child processes: the TURN server relaying the bench's media with --turn */
    double kids = a->p.ok && b->p.ok ? b->p.children_cpu_s - a->p.children_cpu_s : -1;
    json_object_set_new(j, "cpu_children_percent", num_or_null(kids >= 0 ? 100.0 * kids / dt : -1));
    json_object_set_new(j, "cpu_children_us_per_forwarded_packet",
                        num_or_null(kids >= 0 && out > 0 ? kids * 1e6 / out : -1));
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
    WIN(twcc_sent);
    WIN(police_dropped);
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

/* The name of frames.h's layer index: "single" (no simulcast) or the layer's rid. */
static const char *layer_name(int index)
{
    return index == 0 ? "single" : bench_session_rid((unsigned)index - 1);
}

/* One value per layer that has any, by name. */
static json_t *per_layer_json(const double v[BENCH_FRAMES_LAYERS], double scale)
{
    json_t *o = json_object();
    for (int i = 0; i < BENCH_FRAMES_LAYERS; i++)
        if (v[i] > 0)
            json_object_set_new(o, layer_name(i), json_real(round(v[i] * scale * 1000.0) / 1000.0));
    return o;
}

/* A received video track in the window: what its decoder would have shown. */
static json_t *track_window_json(const bench_rx_track *t, double dt)
{
    const bench_frames_stats *w = &t->frames.win;
    double frames[BENCH_FRAMES_LAYERS], shown[BENCH_FRAMES_LAYERS], decoded = 0;
    for (int i = 0; i < BENCH_FRAMES_LAYERS; i++) {
        frames[i] = (double)w->decoded[i];
        shown[i] = (double)w->shown_us[i] / 1e6;
        decoded += frames[i];
    }
    int layer = bench_frames_layer(&t->frames);
    uint64_t exp = t->win_end.expected - t->win_start.expected, uniq = t->win_end.unique - t->win_start.unique;
    json_t *o = json_pack("{s:o, s:o, s:f, s:I, s:I, s:I, s:f, s:f, s:I}", "frames", per_layer_json(frames, 1),
                          "shown_s", per_layer_json(shown, 1), "fps", decoded / dt, "switches",
                          (json_int_t)w->switches, "skipped", (json_int_t)w->skipped, "freezes",
                          (json_int_t)w->freezes, "freeze_s", (double)w->freeze_us / 1e6, "longest_freeze_ms",
                          (double)w->longest_freeze_us / 1e3, "stuck", (json_int_t)w->stuck);
    json_object_update_new(o, json_pack("{s:s?, s:f, s:f, s:I}", "layer_end",
                                        layer >= -1 ? layer_name(layer + 1) : NULL, "loss_percent",
                                        loss_pct(exp, uniq), "kbit_per_s",
                                        (double)(t->win_end.bytes - t->win_start.bytes) * 8 / dt / 1000,
                                        "plis", (json_int_t)(t->win_end.plis - t->win_start.plis)));
    return o;
}

/* One entry per session: its times (ms from its start) and what arrived on each received track. */
static json_t *detail_json(const bench_run *run, double dt)
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
            if (t->sdp.kind == SDP_MEDIA_VIDEO)
                json_object_set_new(o, "window", track_window_json(t, dt));
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
        json_object_set_new(o, "node", json_string(s->node[0] ? s->node : run->cfg.url)); /* after any moved */
        uint64_t packets = s->audio.packets, keyframes = 0, retransmitted = s->audio.retransmitted;
        for (unsigned k = 0; k < s->n_video; k++) {
            packets += s->video[k].packets;
            keyframes += s->video[k].keyframes;
            retransmitted += s->video[k].retransmitted;
        }
        json_object_set_new(o, "sent", json_pack("{s:I, s:I, s:I}", "packets", (json_int_t)packets, "keyframes",
                                                 (json_int_t)keyframes, "retransmitted", (json_int_t)retransmitted));
        if (s->receives)
            json_object_set_new(o, "policed",
                                s->policed ? json_pack("{s:I, s:I}", "dropped",
                                                       (json_int_t)(s->police_dropped1 - s->police_dropped0), "seen",
                                                       (json_int_t)(s->police_seen1 - s->police_seen0))
                                           : json_false());
        json_object_set_new(o, "tracks", tracks);
        if (s->tiles)
            json_object_set_new(o, "tiles",
                                json_pack("{s:o, s:o, s:i, s:I}", "downlink_kbps",
                                          num_or_null((double)(s->rx_bytes1 - s->rx_bytes0) * 8.0 / dt / 1000.0),
                                          "video_kbps",
                                          num_or_null((double)(s->rx_video_bytes1 - s->rx_video_bytes0) * 8.0 / dt /
                                                      1000.0),
                                          "video_streams_max", (int)s->streams_max, "hidden_late_packets",
                                          (json_int_t)s->hidden_late));
        json_array_append_new(arr, o);
    }
    return arr;
}

/* The receivers of one class (policed or not) in the window. */
typedef struct rx_class {
    unsigned receivers, video_tracks, tracks_at[BENCH_FRAMES_LAYERS], no_frame;
    double frames[BENCH_FRAMES_LAYERS], shown[BENCH_FRAMES_LAYERS];
    uint64_t expected, unique, bytes, switches, skipped, freezes, stuck, plis, police_dropped, police_seen;
    int64_t freeze_us, longest_us;
} rx_class;

static void class_add(rx_class *c, const bench_session *s)
{
    c->receivers++;
    c->police_dropped += s->police_dropped1 - s->police_dropped0;
    c->police_seen += s->police_seen1 - s->police_seen0;
    for (size_t k = 0; k < s->n_rx; k++) {
        const bench_rx_track *t = &s->rx[k];
        if (!t->sdp.active)
            continue;
        c->expected += t->win_end.expected - t->win_start.expected;
        c->unique += t->win_end.unique - t->win_start.unique;
        c->bytes += t->win_end.bytes - t->win_start.bytes;
        c->plis += t->win_end.plis - t->win_start.plis;
        if (t->sdp.kind != SDP_MEDIA_VIDEO)
            continue;
        const bench_frames_stats *w = &t->frames.win;
        c->video_tracks++;
        for (int i = 0; i < BENCH_FRAMES_LAYERS; i++) {
            c->frames[i] += (double)w->decoded[i];
            c->shown[i] += (double)w->shown_us[i] / 1e6;
        }
        int layer = bench_frames_layer(&t->frames);
        if (layer >= -1)
            c->tracks_at[layer + 1]++;
        else
            c->no_frame++;
        c->switches += w->switches;
        c->skipped += w->skipped;
        c->freezes += w->freezes;
        c->stuck += w->stuck;
        c->freeze_us += w->freeze_us;
        if (w->longest_freeze_us > c->longest_us)
            c->longest_us = w->longest_freeze_us;
    }
}

/* Shares in percent of the total, per layer. */
static json_t *shares_json(const double v[BENCH_FRAMES_LAYERS])
{
    double sum = 0;
    for (int i = 0; i < BENCH_FRAMES_LAYERS; i++)
        sum += v[i];
    return per_layer_json(v, sum > 0 ? 100.0 / sum : 0);
}

static json_t *class_json(const rx_class *c, double dt)
{
    double frames = 0, at[BENCH_FRAMES_LAYERS];
    for (int i = 0; i < BENCH_FRAMES_LAYERS; i++) {
        frames += c->frames[i];
        at[i] = c->tracks_at[i];
    }
    double tracks = c->video_tracks ? c->video_tracks : 1;
    json_t *o = json_pack("{s:I, s:I, s:o, s:o, s:o, s:I}", "receivers", (json_int_t)c->receivers, "video_tracks",
                          (json_int_t)c->video_tracks, "frames_percent", shares_json(c->frames), "shown_percent",
                          shares_json(c->shown), "tracks_at_end", per_layer_json(at, 1), "tracks_without_frames",
                          (json_int_t)c->no_frame);
    json_object_update_new(o, json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}", "fps_per_track", frames / dt / tracks,
                                        "switches_per_track", (double)c->switches / tracks, "skipped_percent",
                                        frames + (double)c->skipped > 0 ? 100.0 * (double)c->skipped / (frames + (double)c->skipped) : 0,
                                        "loss_percent", loss_pct(c->expected, c->unique), "police_drop_percent",
                                        c->police_seen ? 100.0 * (double)c->police_dropped / (double)c->police_seen : 0,
                                        "kbit_per_s_per_receiver",
                                        c->receivers ? (double)c->bytes * 8 / dt / 1000 / c->receivers : 0));
    json_object_set_new(o, "freezes", json_pack("{s:I, s:f, s:f, s:f, s:I}", "count", (json_int_t)c->freezes,
                                                 "total_s", (double)c->freeze_us / 1e6, "per_track_s",
                                                 (double)c->freeze_us / 1e6 / tracks, "longest_ms",
                                                 (double)c->longest_us / 1e3, "stuck", (json_int_t)c->stuck));
    json_object_set_new(o, "plis", json_integer((json_int_t)c->plis));
    return o;
}

/* The receivers by class: "policed" (with --police-kbps) and "unpoliced", each over the window. */
static json_t *receivers_json(const bench_run *run, double dt)
{
    rx_class cls[2];
    memset(cls, 0, sizeof(cls));
    for (size_t i = 0; i < run->n_sessions; i++) {
        const bench_session *s = run->sessions[i];
        if (s->receives)
            class_add(&cls[s->policed], s);
    }
    json_t *o = json_object();
    json_object_set_new(o, "unpoliced", class_json(&cls[0], dt));
    json_object_set_new(o, "policed", cls[1].receivers ? class_json(&cls[1], dt) : json_null());
    return o;
}


/* ---- --tiles: the large meeting (bench/meeting.h) ---- */

/* min / median / max / mean of n values (sorted in place). */
static json_t *spread_json(double *v, size_t n)
{
    if (!n)
        return json_pack("{s:n, s:n, s:n, s:n}", "min", "median", "max", "mean");
    qsort(v, n, sizeof(*v), cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    return json_pack("{s:o, s:o, s:o, s:o}", "min", num_or_null(v[0]), "median", num_or_null(pct_sorted(v, n, 0.5)),
                     "max", num_or_null(v[n - 1]), "mean", num_or_null(sum / (double)n));
}

/* Turns that began in the window early enough (1.5 s before its end) for their switch to be seen. */
static int64_t turns_in_window(const bench_run *run)
{
    const bench_config *c = &run->cfg;
    if (!c->audio_turn_ms || !run->n_workers)
        return 0;
    int64_t turn = (int64_t)c->audio_turn_ms * 1000, from = run->workers[0].window_from_us,
            to = run->workers[0].window_to_us - BENCH_MEETING_LAST_TURN_US;
    int64_t first = (from + turn - 1) / turn, last = to / turn;
    return last >= first ? last - first + 1 : 0;
}

static json_t *meeting_json(bench_run *run, const bench_results *r, double dt)
{
    const bench_config *c = &run->cfg;
    double *down = calloc(run->n_sessions + 1, sizeof(double)), *video = calloc(run->n_sessions + 1, sizeof(double)),
           *streams = calloc(run->n_sessions + 1, sizeof(double));
    size_t n = 0;
    uint64_t hidden_late = 0, switches = 0, switches_current = 0;
    unsigned streams_max = 0;
    for (size_t i = 0; down && video && streams && i < run->n_sessions; i++) {
        const bench_session *s = run->sessions[i];
        if (!s->tiles || s->failed)
            continue;
        down[n] = (double)(s->rx_bytes1 - s->rx_bytes0) * 8.0 / dt / 1000.0;
        video[n] = (double)(s->rx_video_bytes1 - s->rx_video_bytes0) * 8.0 / dt / 1000.0;
        streams[n] = s->streams_max;
        if (s->streams_max > streams_max)
            streams_max = s->streams_max;
        hidden_late += s->hidden_late;
        switches += s->switches;
        switches_current += s->switches_current;
        n++;
    }
    bench_hist lat;
    bench_hist_reset(&lat);
    for (int i = 0; i < run->n_workers; i++)
        bench_hist_merge(&lat, &run->workers[i].switch_latency);
    const bench_totals *t = &r->end.b;
    int64_t turns = turns_in_window(run); /* switches: seen by the receivers that did not fail */
    json_t *speaker = json_pack("{s:i, s:I, s:I, s:I, s:I, s:o}", "turn_ms", (int)c->audio_turn_ms, "turns_in_window",
                                (json_int_t)turns, "switches_expected",
                                (json_int_t)(turns * (int64_t)(n ? n - 1 : 0)), "switches",
                                (json_int_t)switches, "to_current_turn", (json_int_t)switches_current,
                                "latency_ms", hist_json(&lat));
    char main_size[32], strip_size[32];
    snprintf(main_size, sizeof(main_size), "%dx%d", c->main_w, c->main_h);
    snprintf(strip_size, sizeof(strip_size), "%dx%d", c->strip_w, c->strip_h);
    json_t *j = json_pack("{s:i, s:s, s:s, s:I, s:o, s:o, s:o, s:i, s:i, s:I, s:I, s:o}", "tiles", c->tiles,
                          "main_size", main_size, "strip_size", strip_size, "receivers", (json_int_t)n,
                          "downlink_kbps", spread_json(down, n), "video_kbps", spread_json(video, n),
                          "video_streams_per_s", spread_json(streams, n), "video_streams_max", (int)streams_max,
                          "video_streams_limit", c->tiles + 1, "hidden_late_packets", (json_int_t)hidden_late,
                          "views_sent", (json_int_t)t->views_sent, "speaker", speaker);
    free(down);
    free(video);
    free(streams);
    return j;
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
    /* what the bench's own transports dropped over the run (SRTP/SRTCP failures, before keys, unparsable) */
    uint64_t srtp = 0, not_ready = 0, malformed = 0;
    for (int i = 0; i < run->n_workers; i++) {
        srtp += STATS_GET(run->workers[i].peer_stats.dropped_bad_srtp);
        not_ready += STATS_GET(run->workers[i].peer_stats.dropped_not_ready);
        malformed += STATS_GET(run->workers[i].peer_stats.dropped_malformed);
    }
    json_object_set_new(json_object_get(j, "totals"), "transport_dropped",
                        json_pack("{s:I, s:I, s:I}", "bad_srtp", (json_int_t)srtp, "not_ready", (json_int_t)not_ready,
                                  "malformed", (json_int_t)malformed));
    json_object_set_new(j, "receivers", receivers_json(run, dt));
    if (run->cfg.tiles > 0)
        json_object_set_new(j, "meeting", meeting_json(run, r, dt));
    json_object_set_new(j, "per_session", detail_json(run, dt));
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

/* "q 12 / h 88" from an object of numbers by layer name; "-" when empty. */
static void layers_cell(char *out, size_t cap, const json_t *o, int decimals)
{
    const char *name;
    json_t *v;
    size_t len = 0;
    out[0] = '\0';
    json_object_foreach((json_t *)o, name, v) {
        int n = snprintf(out + len, cap - len, "%s%s %.*f", len ? " / " : "", name, decimals, json_number_value(v));
        if (n < 0 || (size_t)n >= cap - len)
            break;
        len += (size_t)n;
    }
    if (!len)
        snprintf(out, cap, "-");
}

/* One line of the receivers' table: the two classes side by side. key: a number, or an object of
 * numbers by layer; with sub, the numbers sub[0..] of the object at key, separated by " / ". */
static void class_row(const char *label, const json_t *cls[2], const char *key, const char *const *sub, int decimals)
{
    printf("    %-40s", label);
    for (int i = 0; i < 2; i++) {
        if (!cls[i])
            continue;
        char c[96] = "";
        const json_t *v = cls[i] ? json_object_get(cls[i], key) : NULL;
        if (sub) {
            size_t len = 0;
            for (int k = 0; sub[k] && len < sizeof(c); k++) {
                char x[32];
                cell(x, sizeof(x), json_object_get(v, sub[k]), decimals);
                len += (size_t)snprintf(c + len, sizeof(c) - len, "%s%s", k ? " / " : "", x);
            }
        } else if (json_is_object(v)) {
            layers_cell(c, sizeof(c), v, decimals);
        } else {
            cell(c, sizeof(c), v, decimals);
        }
        printf(i ? " %s" : " %-30s", c);
    }
    printf("\n");
}

/* What the receivers got in the window, policed and not. */
static void receivers_table(const json_t *j)
{
    const json_t *rx = json_object_get(j, "receivers");
    const json_t *cls[2] = {json_object_get(rx, "policed"), json_object_get(rx, "unpoliced")};
    if (json_is_null(cls[0]))
        cls[0] = NULL;
    const json_t *police = G("scenario", "police");
    char head[2][64];
    for (int i = 0; i < 2; i++)
        snprintf(head[i], sizeof(head[i]), "%s (%lld)", !cls[0] ? "all" : i ? "not policed" : "policed",
                 (long long)json_integer_value(json_object_get(cls[i], "receivers")));
    printf("  receivers in the window%-18s", "");
    for (int i = 0; i < 2; i++)
        if (cls[i])
            printf(i ? " %s" : " %-30s", head[i]);
    printf("\n");
    if (cls[0] && json_is_object(police))
        printf("    %-40s %lld kbit/s, %lld ms burst\n", "policer",
               (long long)json_integer_value(json_object_get(police, "kbps")),
               (long long)json_integer_value(json_object_get(police, "burst_ms")));
    class_row("received (kbit/s per receiver)", cls, "kbit_per_s_per_receiver", NULL, 0);
    class_row("video shown per layer (% of time)", cls, "shown_percent", NULL, 1);
    class_row("frames decoded per layer (%)", cls, "frames_percent", NULL, 1);
    class_row("layer at the end (video tracks)", cls, "tracks_at_end", NULL, 0);
    class_row("decoded fps per video track", cls, "fps_per_track", NULL, 1);
    class_row("layer switches per video track", cls, "switches_per_track", NULL, 1);
    class_row("loss after repair (%)", cls, "loss_percent", NULL, 2);
    class_row("dropped by the policer (%)", cls, "police_drop_percent", NULL, 2);
    class_row("delta frames lost (%)", cls, "skipped_percent", NULL, 2);
    static const char *const count[] = {"count", "stuck", NULL}, *const secs[] = {"total_s", "per_track_s", NULL},
                             *const longest[] = {"longest_ms", NULL};
    class_row("freezes / times the decoder was stuck", cls, "freezes", count, 0);
    class_row("freezes: total / per video track (s)", cls, "freezes", secs, 2);
    class_row("longest freeze (ms)", cls, "freezes", longest, 0);
    class_row("PLIs sent", cls, "plis", NULL, 0);
}


/* The large meeting's rows (--tiles) and the kernel floor of the same traffic (--with-floor). */
static void meeting_table(const json_t *j)
{
    const json_t *m = json_object_get(j, "meeting");
    if (!m)
        return;
    const json_t *sp = json_object_get(m, "speaker");
    printf("  %-42s %lld tiles (main %s, strip %s), %lld receivers\n", "large meeting",
           json_integer_value(json_object_get(m, "tiles")), json_string_value(json_object_get(m, "main_size")),
           json_string_value(json_object_get(m, "strip_size")), json_integer_value(json_object_get(m, "receivers")));
    const json_t *d = json_object_get(m, "downlink_kbps"), *v = json_object_get(m, "video_kbps"),
                 *st = json_object_get(m, "video_streams_per_s");
    row("  downlink per receiver min/median/max (kbit/s)", json_object_get(d, "min"), json_object_get(d, "median"),
        json_object_get(d, "max"), 0);
    row("  of it video min/median/max (kbit/s)", json_object_get(v, "min"), json_object_get(v, "median"),
        json_object_get(v, "max"), 0);
    row("  video streams in a second min/median/max", json_object_get(st, "min"), json_object_get(st, "median"),
        json_object_get(st, "max"), 0);
    row("  limit (tiles + the speaker's switch)", json_object_get(m, "video_streams_limit"), NULL, NULL, 0);
    row("  packets of tiles hidden > 0.5 s / views sent", json_object_get(m, "hidden_late_packets"),
        json_object_get(m, "views_sent"), NULL, 0);
    row("  turns / switches seen / expected", json_object_get(sp, "turns_in_window"), json_object_get(sp, "switches"),
        json_object_get(sp, "switches_expected"), 0);
    row("  switches naming the current turn", json_object_get(sp, "to_current_turn"), NULL, NULL, 0);
    const json_t *lat = json_object_get(sp, "latency_ms");
    row("  speaker switch p50 / p95 / max (ms)", json_object_get(lat, "p50"), json_object_get(lat, "p95"),
        json_object_get(lat, "max"), 0);
    const json_t *f = json_object_get(j, "kernel_floor");
    if (f) {
        row("kernel floor of this traffic (us/datagram)", json_object_get(f, "cpu_us_per_datagram"), NULL, NULL, 2);
        row("  floor datagrams/s / server forwarded/s", json_object_get(f, "datagrams_per_s"),
            G("server", "rtp_out_per_s"), NULL, 0);
        row("server CPU per forwarded packet / floor", json_object_get(f, "server_ratio"), NULL, NULL, 2);
    }
}

void bench_report_add_floor(json_t *j, const bench_floor_config *c, const bench_floor_result *r)
{
    double server = json_number_value(G("server", "cpu_us_per_forwarded_packet"));
    json_t *f = json_pack("{s:i, s:i, s:i, s:i, s:o, s:o, s:o, s:o, s:o}", "subscribers", c->subscribers,
                          "audio_streams", c->n_audio, "video_streams", c->n_video, "fps", (int)c->fps,
                          "window_s", num_or_null(r->window_s), "datagrams_per_s",
                          num_or_null(r->window_s > 0 ? (double)r->datagrams / r->window_s : -1),
                          "cpu_us_per_datagram", num_or_null(r->us_per_datagram), "fanout_delay_p99_ms",
                          num_or_null(r->delay_p99_ms), "server_ratio",
                          num_or_null(server > 0 && r->us_per_datagram > 0 ? server / r->us_per_datagram : -1));
    json_t *kbps = json_array();
    for (int i = 0; i < c->n_video; i++)
        json_array_append_new(kbps, json_integer(c->video_kbps[i]));
    json_object_set_new(f, "video_kbps", kbps);
    json_object_set_new(f, "audio_dtx", json_boolean(c->audio_dtx));
    json_object_set_new(j, "kernel_floor", f);
}

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
    row("transport-cc feedback sent / policer drops", G("bench", "twcc_sent"), G("bench", "police_dropped"), NULL, 0);
    if (json_integer_value(G("sessions", "subscribers")) > 0 || json_integer_value(G("sessions", "planned")) > 1)
        receivers_table(j);
    meeting_table(j);
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
