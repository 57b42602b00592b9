/* probe.h - what the bench reads about the server and itself: the server's /metrics (Prometheus
 * text, over a plain blocking HTTP/1.1 request to host:port), the server process's CPU time and
 * resident memory from /proc/PID when it runs on this machine, and the bench's own CPU time.
 *
 * bench_probe_parse_metrics is pure (text in, numbers out) and tested by the self-test; the fetch
 * does blocking I/O with a short timeout and is called from the bench's main thread only.
 */
#ifndef BENCH_PROBE_H
#define BENCH_PROBE_H

#include <stdbool.h>
#include <stddef.h>

/* The /metrics values the bench uses; a metric with labels is the sum over its series.
 * A value the server does not publish stays at -1. */
#define BENCH_METRICS(X)                                                  \
    X(rtp_in, "videomeet_rtp_packets_in_total")                            \
    X(rtp_out, "videomeet_rtp_packets_out_total")                          \
    X(bytes_in, "videomeet_rtp_bytes_in_total")                            \
    X(bytes_out, "videomeet_rtp_bytes_out_total")                          \
    X(rtcp_in, "videomeet_rtcp_packets_in_total")                          \
    X(rtcp_out, "videomeet_rtcp_packets_out_total")                        \
    X(nacks_received, "videomeet_nacks_received_total")                    \
    X(nacks_sent, "videomeet_nacks_sent_total")                            \
    X(retransmissions, "videomeet_retransmissions_total")                  \
    X(plis_received, "videomeet_plis_received_total")                      \
    X(plis_sent, "videomeet_plis_sent_total")                              \
    X(dropped_bad_srtp, "videomeet_dropped_bad_srtp_total")                \
    X(dropped_unknown_ssrc, "videomeet_dropped_unknown_ssrc_total")        \
    X(dropped_malformed, "videomeet_dropped_malformed_total")              \
    X(dropped_not_ready, "videomeet_dropped_not_ready_total")              \
    X(worker_cpu_s, "videomeet_worker_cpu_seconds_total")                  \
    X(udp_datagrams, "videomeet_udp_datagrams_sent_total")                 \
    X(udp_send_calls, "videomeet_udp_send_calls_total")                    \
    X(udp_send_errors, "videomeet_udp_send_errors_total")                  \
    X(loop_wakeups, "videomeet_loop_wakeups_total")                        \
    X(participants, "videomeet_participants")                              \
    X(ws_connections, "videomeet_websocket_connections")                   \
    X(rss_bytes, "process_resident_memory_bytes")                          \
    X(cpu_s, "process_cpu_seconds_total")

#define BENCH_PROM_BUCKETS_MAX 24

typedef struct bench_metrics {
    bool ok; /* fetched and parsed */
    /* videomeet_forward_delay_seconds histogram: cumulative counts per upper bound (s, ascending) */
    int n_fwd_delay;
    double fwd_delay_le[BENCH_PROM_BUCKETS_MAX];
    double fwd_delay_count[BENCH_PROM_BUCKETS_MAX];
#define BENCH_METRIC_FIELD(field, name) double field;
    BENCH_METRICS(BENCH_METRIC_FIELD)
#undef BENCH_METRIC_FIELD
} bench_metrics;

/* Parses Prometheus text into out (every field -1 first). Returns how many known series were read. */
/* The q-quantile (0..1) of the histogram's growth from a to b, in seconds, interpolated linearly inside a
 * bucket as Prometheus' histogram_quantile does; -1 when it did not grow or the buckets differ. */
double bench_probe_hist_quantile(const bench_metrics *a, const bench_metrics *b, double q);
int bench_probe_parse_metrics(const char *text, size_t len, bench_metrics *out);
/* GET http://host:port/metrics with a 2 s timeout. Returns 0 (out->ok) or -1. */
int bench_probe_fetch_metrics(const char *host, int port, bench_metrics *out);
/* GET http://host:port<path> (2 s timeout): the body of a 200 answer (malloc'd, NUL-terminated, its
 * length in *body_len), or NULL. */
char *bench_probe_http_get(const char *host, int port, const char *path, size_t *body_len);

typedef struct bench_proc {
    bool ok;
    double cpu_s;   /* CPU seconds of the whole process: the sum over its live threads of
                       /proc/PID/task/TID/schedstat (ns), else utime + stime of /proc/PID/stat */
    double children_cpu_s; /* CPU seconds of its live child processes (the server's TURN server) */
    double rss_kb;  /* VmRSS */
    double hwm_kb;  /* VmHWM: peak RSS */
    int threads;
} bench_proc;

/* Reads /proc/PID/stat and /proc/PID/status. Returns 0 or -1 (no such process). */
int bench_probe_proc(int pid, bench_proc *out);
/* CPU seconds (user + system) used by this process so far. */
double bench_probe_self_cpu(void);
/* CPU seconds every core of the machine spent busy (not idle or iowait) so far, from /proc/stat;
 * -1 when unreadable. Compared with the server's and the bench's own CPU time it shows how much of
 * the machine other work took during a measurement. */
double bench_probe_machine_busy(void);

#endif
