/* probe.c - /metrics scraping and /proc reading for the bench (see probe.h).
 *
 * The HTTP client is deliberately tiny: one blocking TCP connection per scrape, "Connection: close",
 * read until the server closes, skip to the blank line, parse. It runs once a second on the main
 * thread, so its cost does not matter; the timeout keeps a stuck server from stalling the bench.
 */
#include "bench/probe.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define METRICS_MAX (1u << 20)

static double *field_of(bench_metrics *m, const char *name, size_t len)
{
#define BENCH_METRIC_MATCH(field, mname)                                 \
    if (len == sizeof(mname) - 1 && !memcmp(name, mname, len))           \
        return &m->field;
    BENCH_METRICS(BENCH_METRIC_MATCH)
#undef BENCH_METRIC_MATCH
    return NULL;
}

/* The number in [from, to) (strtod: also "+Inf"). False when there is none. */
static bool parse_number(const char *from, const char *to, double *out)
{
    char num[64];
    size_t n = (size_t)(to - from) < sizeof(num) - 1 ? (size_t)(to - from) : sizeof(num) - 1;
    memcpy(num, from, n);
    num[n] = '\0';
    char *e;
    *out = strtod(num, &e);
    return e != num;
}

int bench_probe_parse_metrics(const char *text, size_t len, bench_metrics *out)
{
#define BENCH_METRIC_INIT(field, mname) out->field = -1;
    BENCH_METRICS(BENCH_METRIC_INIT)
#undef BENCH_METRIC_INIT
    out->ok = false;
    out->n_fwd_delay = 0;
    int found = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        if (*p != '#' && eol > p) {
            const char *name_end = p;
            while (name_end < eol && *name_end != '{' && *name_end != ' ')
                name_end++;
            const char *val = name_end;
            if (val < eol && *val == '{') {
                val = memchr(val, '}', (size_t)(eol - val));
                val = val ? val + 1 : eol;
            }
            static const char bucket[] = "videomeet_forward_delay_seconds_bucket";
            if ((size_t)(name_end - p) == sizeof(bucket) - 1 && !memcmp(p, bucket, sizeof(bucket) - 1) &&
                out->n_fwd_delay < BENCH_PROM_BUCKETS_MAX) {
                const char *le = memchr(p, '"', (size_t)(eol - p));
                const char *close = le ? memchr(le + 1, '"', (size_t)(eol - le - 1)) : NULL;
                double bound, n;
                if (le && close && val < eol && parse_number(le + 1, close, &bound) && parse_number(val, eol, &n)) {
                    out->fwd_delay_le[out->n_fwd_delay] = bound;
                    out->fwd_delay_count[out->n_fwd_delay++] = n;
                }
            }
            double *f = field_of(out, p, (size_t)(name_end - p));
            double v;
            if (f && val < eol && parse_number(val, eol, &v)) {
                *f = *f < 0 ? v : *f + v;
                found++;
            }
        }
        p = eol + 1;
    }
    out->ok = found > 0;
    return found;
}

double bench_probe_hist_quantile(const bench_metrics *a, const bench_metrics *b, double q)
{
    int n = b->n_fwd_delay;
    if (n == 0 || a->n_fwd_delay != n)
        return -1;
    double total = b->fwd_delay_count[n - 1] - a->fwd_delay_count[n - 1];
    if (total <= 0)
        return -1;
    double rank = q * total, prev_le = 0, prev_c = 0;
    for (int i = 0; i < n; i++) {
        double c = b->fwd_delay_count[i] - a->fwd_delay_count[i];
        if (c >= rank) {
            if (isinf(b->fwd_delay_le[i]))
                return prev_le; /* above the last bound: report the bound */
            double in_bucket = c - prev_c;
            return prev_le + (b->fwd_delay_le[i] - prev_le) * (in_bucket > 0 ? (rank - prev_c) / in_bucket : 1);
        }
        prev_le = b->fwd_delay_le[i];
        prev_c = c;
    }
    return prev_le;
}

static int connect_to(const char *host, int port)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    if (getaddrinfo(host, ps, &hints, &res) != 0 || !res)
        return -1;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {2, 0};
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

char *bench_probe_http_get(const char *host, int port, const char *path, size_t *body_len)
{
    int fd = connect_to(host, port);
    if (fd < 0)
        return NULL;
    char req[256];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n", path, host,
                     port);
    if (n < 0 || (size_t)n >= sizeof(req) || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return NULL;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    ssize_t r = 0;
    while (buf && (r = recv(fd, buf + len, cap - len - 1, 0)) > 0) {
        len += (size_t)r;
        if (len + 1 == cap) {
            char *grown = cap < METRICS_MAX ? realloc(buf, cap * 2) : NULL;
            if (!grown)
                break;
            buf = grown;
            cap *= 2;
        }
    }
    close(fd);
    if (!buf)
        return NULL;
    buf[len] = '\0';
    char *body = strstr(buf, "\r\n\r\n");
    if (!body || strncmp(buf, "HTTP/1.1 200", 12)) {
        free(buf);
        return NULL;
    }
    body += 4;
    *body_len = len - (size_t)(body - buf);
    memmove(buf, body, *body_len + 1);
    return buf;
}

int bench_probe_fetch_metrics(const char *host, int port, bench_metrics *out)
{
    bench_probe_parse_metrics("", 0, out);
    size_t len = 0;
    char *body = bench_probe_http_get(host, port, "/metrics", &len);
    if (!body)
        return -1;
    bench_probe_parse_metrics(body, len, out);
    free(body);
    return out->ok ? 0 : -1;
}

/* CPU time of every live thread of pid from /proc/PID/task/TID/schedstat (nanoseconds on the CPU),
 * which is far finer than the clock ticks of /proc/PID/stat; -1 when unavailable. */
static double schedstat_cpu(int pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    double total = 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char file[300];
        snprintf(file, sizeof(file), "/proc/%d/task/%s/schedstat", pid, e->d_name);
        FILE *f = fopen(file, "r");
        unsigned long long ns;
        if (f && fscanf(f, "%llu", &ns) == 1) {
            total += (double)ns / 1e9;
            n++;
        }
        if (f)
            fclose(f);
    }
    closedir(d);
    return n ? total : -1;
}

/* CPU seconds of pid's child processes (e.g. the server's TURN server), from the children file of each
 * of its threads (/proc/PID/task/TID/children); 0 when none. */
static double children_cpu(int pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    double total = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char file[300];
        snprintf(file, sizeof(file), "/proc/%d/task/%s/children", pid, e->d_name);
        FILE *f = fopen(file, "r");
        int child;
        while (f && fscanf(f, "%d", &child) == 1) {
            double cpu = schedstat_cpu(child);
            total += cpu > 0 ? cpu : 0;
        }
        if (f)
            fclose(f);
    }
    closedir(d);
    return total;
}

static double status_kb(const char *status, const char *key)
{
    const char *p = strstr(status, key);
    return p ? strtod(p + strlen(key), NULL) : -1;
}

int bench_probe_proc(int pid, bench_proc *out)
{
    memset(out, 0, sizeof(*out));
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* fields after the ")" that ends the command name: state is field 3, utime 14, stime 15 */
    char *p = strrchr(buf, ')');
    unsigned long long utime = 0, stime = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -1;
    double tick = (double)sysconf(_SC_CLK_TCK);
    out->cpu_s = (double)(utime + stime) / (tick > 0 ? tick : 100.0);
    double fine = schedstat_cpu(pid);
    if (fine >= 0)
        out->cpu_s = fine;
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    f = fopen(path, "r");
    if (f) {
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        out->rss_kb = status_kb(buf, "VmRSS:");
        out->hwm_kb = status_kb(buf, "VmHWM:");
        out->threads = (int)status_kb(buf, "Threads:");
    }
    out->children_cpu_s = children_cpu(pid);
    out->ok = true;
    return 0;
}

double bench_probe_self_cpu(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

double bench_probe_machine_busy(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                   &v[6], &v[7]);
    fclose(f);
    if (n < 5)
        return -1;
    double tick = (double)sysconf(_SC_CLK_TCK);
    unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]; /* all but idle and iowait */
    return (double)busy / (tick > 0 ? tick : 100.0);
}
