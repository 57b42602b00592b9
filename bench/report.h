/* report.h - what the bench prints and writes: snapshots of the server (/metrics, /proc) and of the
 * bench's own counters, the once-a-second progress line, and the final table + JSON file.
 *
 * Main thread only. Figures over "the window" are deltas between the snapshot taken when every
 * session had joined and settled, and the one at the end of --duration, so joins and their
 * keyframes are left out of the per-packet CPU cost.
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <jansson.h>
#include <stdbool.h>

#include "bench/bench.h"
#include "bench/floor.h"
#include "bench/probe.h"
#include "bench/rxstats.h"

typedef struct bench_snapshot {
    double t_s;        /* monotonic seconds */
    bench_metrics m;   /* m.ok false when /metrics could not be read */
    bench_proc p;      /* p.ok false without --server-pid */
    double self_cpu_s;
    double machine_busy_s; /* every core, from /proc/stat */
    bench_totals b;
} bench_snapshot;

void bench_snapshot_take(bench_run *run, bench_snapshot *out);

/* One progress line (stdout) from the changes between two snapshots. */
void bench_report_progress(bench_run *run, const bench_snapshot *prev, const bench_snapshot *now, double elapsed_s);

typedef struct bench_results {
    bench_snapshot base;   /* before the first session started */
    bench_snapshot start;  /* start of the window */
    bench_snapshot end;    /* end of the window */
    bench_hist delay;      /* one-way delay in the window, µs */
    bench_hist keyframe;   /* subscription -> first keyframe, whole run, µs */
    bench_hist lag;        /* lateness of the bench's media ticks in the window, µs */
} bench_results;

/* Builds the results as JSON (the caller owns it). Sessions must be readable (workers stopped). */
json_t *bench_report_json(bench_run *run, const bench_results *r);
/* Adds the kernel floor of the same traffic (--with-floor) and the server's ratio to it. */
void bench_report_add_floor(json_t *j, const bench_floor_config *c, const bench_floor_result *r);
/* Prints the final table (stdout) from the JSON. */
void bench_report_table(const json_t *j);
/* 0 when something connected and something was forwarded, else 1. */
int bench_report_exit_code(const json_t *j);

#endif
