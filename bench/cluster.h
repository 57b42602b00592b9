/* cluster.h - the load per node of a run against several nodes sharing meetings through Redis
 * (README, "Several nodes"): which nodes there are (the entry node's cluster view in /metrics,
 * videomeet_cluster_node_info), how many bench sessions and rooms ended on each (sessions follow
 * `moved` answers: bench/session.c), what each node's /healthz says about its participants and
 * meetings, and the imbalance (max - min) / mean.
 *
 * bench_cluster_parse_nodes and bench_cluster_imbalance are pure and tested by the self-test; the rest
 * does blocking HTTP on the main thread, after the window and before the sessions leave.
 */
#ifndef BENCH_CLUSTER_H
#define BENCH_CLUSTER_H

#include <jansson.h>

#include "bench/bench.h"

#define BENCH_CLUSTER_MAX_NODES 32

typedef struct {
    char id[64];
    char url[256];
} bench_cluster_node;

/* The nodes that the videomeet_cluster_node_info lines of a /metrics text name (at most max, in
 * order). Returns how many. */
int bench_cluster_parse_nodes(const char *metrics, bench_cluster_node *out, int max);
/* (max - min) / mean of v[0..n); 0 when n is 0 or the mean is 0. */
double bench_cluster_imbalance(const double *v, int n);

/* {"nodes": [{id, url, sessions, sessions_ready, rooms, participants, meetings}], "imbalance":
 * {"participants", "meetings", "sessions"}}, or NULL when the server at --url shows no cluster view
 * (a single node). Main thread; the sessions must not change meanwhile (after stop_media). */
json_t *bench_cluster_json(bench_run *run);
/* Prints it (NULL: nothing). */
void bench_cluster_table(const json_t *cluster);

#endif
