/* floor.c - the kernel floor of a webinar's fan-out (see floor.h). Owns its sockets, its receiving
 * thread and the batch buffers for the duration of bench_floor_run.
 */
#include "bench/floor.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/media.h"
#include "bench/rxstats.h"
#include "sfu/udp_ring.h"
#include "sfu/udp_tx.h"

#define SRTP_TAG 16
#define BATCH_MAX (BENCH_MEDIA_MAX_FRAME_PACKETS * 5 + 8)
#define MMSG_MAX 1024 /* UIO_MAXIOV: the most messages one sendmmsg() takes */

typedef struct {
    uint8_t data[BATCH_MAX][BENCH_MEDIA_MAX_PACKET + SRTP_TAG];
    udp_tx_dgram d[BATCH_MAX];
    size_t n;
} batch;

/* one_socket mode: one message per GSO run, for every subscriber. */
typedef struct {
    struct mmsghdr *msgs;
    struct iovec *iov;        /* BATCH_MAX per message */
    udp_tx_control *control;
    size_t *dgrams;           /* datagrams in each message */
    size_t cap;
} mmsg_plan;

typedef struct {
    int *fds;
    int n;
    int stop_fd;
    bool busy; /* poll without sleeping */
    uint64_t received;
} receiver;

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int udp_socket(struct sockaddr_in *bound)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    if (bound)
        *bound = a;
    return fd;
}

/* The subscribers' side: reads everything, sleeping in epoll_wait when there is nothing (or, busy,
 * never sleeping, so that no send has to wake it). */
static void *receive_main(void *arg)
{
    receiver *rx = arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        return NULL;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = rx->stop_fd};
    epoll_ctl(ep, EPOLL_CTL_ADD, rx->stop_fd, &ev);
    for (int i = 0; i < rx->n; i++) {
        ev.data.fd = rx->fds[i];
        epoll_ctl(ep, EPOLL_CTL_ADD, rx->fds[i], &ev);
    }
    enum { VLEN = 16 };
    static __thread uint8_t bufs[VLEN][1500];
    struct mmsghdr msgs[VLEN];
    struct iovec iov[VLEN];
    for (;;) {
        struct epoll_event ready[64];
        int k = epoll_wait(ep, ready, 64, rx->busy ? 0 : -1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            break;
        bool stop = false;
        for (int i = 0; i < k; i++) {
            if (ready[i].data.fd == rx->stop_fd) {
                stop = true;
                continue;
            }
            for (;;) {
                for (int j = 0; j < VLEN; j++) {
                    iov[j] = (struct iovec){bufs[j], sizeof(bufs[j])};
                    msgs[j].msg_hdr = (struct msghdr){.msg_iov = &iov[j], .msg_iovlen = 1};
                }
                int got = recvmmsg(ready[i].data.fd, msgs, VLEN, MSG_DONTWAIT, NULL);
                if (got <= 0)
                    break;
                rx->received += (uint64_t)got;
            }
        }
        if (stop)
            break;
    }
    close(ep);
    return NULL;
}

static void collect(void *ud, const uint8_t *pkt, size_t len)
{
    batch *b = ud;
    if (b->n >= BATCH_MAX || len > BENCH_MEDIA_MAX_PACKET)
        return;
    memcpy(b->data[b->n], pkt, len);
    memset(b->data[b->n] + len, 0xa5, SRTP_TAG); /* where the SRTP tag would be */
    b->d[b->n] = (udp_tx_dgram){b->data[b->n], len + SRTP_TAG};
    b->n++;
}

/* n datagrams sent now that were due at `due`: their fan-out delay in µs. */
static void add_delay(bench_hist *hist, int64_t due, uint64_t n)
{
    int64_t d = mono_us() - due;
    bench_hist_add_n(hist, d > 0 ? (uint64_t)d : 0, n);
}

/* Sends the batch to every subscriber from one socket: the batch's GSO runs (as udp_tx would cut
 * them) for each destination, as messages of sendmmsg() calls. */
static void send_one_socket(int fd, const struct sockaddr_in *to, int m, const batch *b, mmsg_plan *p,
                            bool count, int64_t due, bench_hist *hist, bench_floor_result *r)
{
    size_t k = 0;
    for (int s = 0; s < m; s++) {
        for (size_t i = 0; i < b->n && k < p->cap;) {
            size_t run = udp_tx_run_length(&b->d[i], b->n - i);
            udp_tx_message(&p->msgs[k].msg_hdr, &p->iov[k * BATCH_MAX], &p->control[k],
                           (const struct sockaddr *)&to[s], sizeof(to[s]), &b->d[i], run);
            p->dgrams[k++] = run;
            i += run;
        }
    }
    for (size_t done = 0; done < k;) {
        unsigned chunk = (unsigned)(k - done < MMSG_MAX ? k - done : MMSG_MAX);
        int sent = sendmmsg(fd, p->msgs + done, chunk, MSG_DONTWAIT);
        if (count) {
            r->calls++;
            r->syscalls++;
        }
        size_t upto = sent > 0 ? done + (size_t)sent : done + chunk;
        uint64_t n = 0;
        for (size_t i = done; i < upto; i++)
            n += p->dgrams[i];
        if (count) {
            if (sent > 0)
                r->datagrams += n;
            else
                r->failed += n;
            add_delay(hist, due, n);
        }
        done = upto;
    }
}

int bench_floor_run(const bench_floor_config *c, bench_floor_result *r)
{
    memset(r, 0, sizeof(*r));
    if (c->subscribers < 1 || c->fps < 1 || c->seconds <= 0)
        return -EINVAL;
    int m = c->subscribers, rc = 0;
    int *rx_fds = calloc((size_t)m, sizeof(int)), *tx_fds = calloc((size_t)m, sizeof(int));
    struct sockaddr_in *to = calloc((size_t)m, sizeof(*to));
    bool *gso = calloc((size_t)m, sizeof(bool));
    bench_hist *hist = calloc(1, sizeof(*hist));
    batch *b = malloc(sizeof(*b));
    mmsg_plan plan = {0};
    udp_ring *ring = NULL;
    if (c->one_socket) {
        plan.cap = (size_t)m * BATCH_MAX;
        plan.msgs = calloc(plan.cap, sizeof(*plan.msgs));
        plan.iov = calloc(plan.cap * BATCH_MAX, sizeof(*plan.iov));
        plan.control = calloc(plan.cap, sizeof(*plan.control));
        plan.dgrams = calloc(plan.cap, sizeof(*plan.dgrams));
    }
    receiver rx = {.fds = rx_fds, .n = 0, .stop_fd = eventfd(0, EFD_CLOEXEC), .busy = c->busy_receiver};
    int n_tx = 0;
    int n_audio = c->n_audio > 0 ? c->n_audio : 1, n_video = c->n_video > 0 ? c->n_video : 1;
    /* freeing a zeroed track is a no-op */
    bench_media_track *tracks = calloc((size_t)(n_audio + n_video), sizeof(*tracks));
    pthread_t thread;
    bool thread_started = false;
    if (n_audio > BENCH_FLOOR_MAX_AUDIO || n_video > BENCH_FLOOR_MAX_VIDEO) {
        rc = -EINVAL;
        goto out;
    }
    if (!rx_fds || !tx_fds || !to || !gso || !hist || !b || !tracks || rx.stop_fd < 0 ||
        (c->one_socket && (!plan.msgs || !plan.iov || !plan.control || !plan.dgrams))) {
        rc = -ENOMEM;
        goto out;
    }
    if (c->io_uring && !c->one_socket && !(ring = udp_ring_new(1024, 4096))) {
        rc = -errno;
        fprintf(stderr, "kernel floor: io_uring unavailable: %s\n", strerror(errno));
        goto out;
    }
    for (; rx.n < m; rx.n++) {
        if ((rx_fds[rx.n] = udp_socket(&to[rx.n])) < 0) {
            rc = rx_fds[rx.n];
            goto out;
        }
    }
    for (int want = c->one_socket ? 1 : m; n_tx < want; n_tx++) {
        if ((tx_fds[n_tx] = udp_socket(NULL)) < 0) {
            rc = tx_fds[n_tx];
            goto out;
        }
        gso[n_tx] = true;
    }
    sdp_ext_ids ext = {.mid = 4, .audio_level = 1, .abs_send_time = 2, .twcc = 3};
    /* video first, as the SFU's fan-out puts them */
    for (int i = 0; i < n_video + n_audio; i++) {
        bool video = i < n_video;
        unsigned kbps = !video ? 0 : c->n_video > 0 ? c->video_kbps[i] : c->bitrate_kbps;
        if (bench_media_track_init(&tracks[i], video ? SDP_MEDIA_VIDEO : SDP_MEDIA_AUDIO, video ? 96 : 111,
                                   video ? 97 : -1, 1111 + (uint32_t)i, video ? 5555 + (uint32_t)i : 0,
                                   video ? "1" : "0", &ext, kbps * 1000, video ? c->fps : 0, 16,
                                   (uint32_t)i + 1) < 0) {
            rc = -ENOMEM;
            goto out;
        }
        if (!video && c->audio_turn_us > 0) {
            bench_media_set_turns(&tracks[i], c->audio_turn_us, (unsigned)(i - n_video), (unsigned)n_audio + 1);
            tracks[i].dtx = c->audio_dtx;
        }
    }
    if (pthread_create(&thread, NULL, receive_main, &rx) != 0) {
        rc = -EAGAIN;
        goto out;
    }
    thread_started = true;

    int64_t start = mono_us(), window_from = start + 1000000, window_to = window_from + (int64_t)(c->seconds * 1e6);
    for (int i = 0; i < n_video + n_audio; i++) {
        bool video = i < n_video;
        int64_t period = video ? 1000000 / c->fps : 20000;
        int k = video ? i : i - n_video, n = video ? n_video : n_audio;
        bench_media_start(&tracks[i], start + period * k / n);
    }
    uint16_t twcc = 0;
    double cpu_from = 0;
    bool in_window = false;
    for (;;) {
        int64_t due = tracks[0].next_us;
        for (int i = 1; i < n_video + n_audio; i++)
            if (tracks[i].next_us < due)
                due = tracks[i].next_us;
        int64_t now = mono_us();
        if (due > now) {
            struct timespec ts = {(time_t)((due - now) / 1000000), (long)((due - now) % 1000000) * 1000};
            nanosleep(&ts, NULL);
            now = mono_us();
        }
        if (!in_window && now >= window_from) {
            in_window = true;
            cpu_from = thread_cpu_s();
            window_from = now;
        }
        if (now >= window_to)
            break;
        /* One batch, as one loop iteration of the SFU: video first, then audio. */
        b->n = 0;
        for (int i = 0; i < n_video + n_audio; i++)
            bench_media_poll(&tracks[i], now, &twcc, collect, b);
        if (b->n == 0)
            continue;
        if (in_window)
            r->batches++;
        if (c->one_socket) {
            send_one_socket(tx_fds[0], to, m, b, &plan, in_window, due, hist, r);
            continue;
        }
        if (ring) {
            /* every subscriber's runs, then one submit (more when the ring fills up) */
            udp_tx_result res = {0};
            unsigned syscalls = 0;
            bool ring_gso = gso[0];
            for (int s = 0; s < m; s++) {
                const struct sockaddr *dst = (const struct sockaddr *)&to[s];
                if (udp_ring_add(ring, tx_fds[s], dst, sizeof(to[s]), b->d, b->n, ring_gso) == -ENOSPC) {
                    syscalls += udp_ring_submit(ring, &ring_gso, &res);
                    udp_ring_add(ring, tx_fds[s], dst, sizeof(to[s]), b->d, b->n, ring_gso);
                }
            }
            syscalls += udp_ring_submit(ring, &ring_gso, &res);
            gso[0] = ring_gso;
            if (in_window) {
                r->datagrams += res.sent;
                r->failed += res.failed;
                r->calls += res.calls;
                r->syscalls += syscalls;
                add_delay(hist, due, (uint64_t)b->n * (uint64_t)m);
            }
            continue;
        }
        for (int s = 0; s < m; s++) {
            udp_tx_result res = {0};
            udp_tx_send(tx_fds[s], (const struct sockaddr *)&to[s], sizeof(to[s]), b->d, b->n, &gso[s], &res);
            if (!in_window)
                continue;
            r->datagrams += res.sent;
            r->failed += res.failed;
            r->calls += res.calls;
            r->syscalls += res.calls;
            add_delay(hist, due, b->n);
        }
    }
    r->sender_cpu_s = thread_cpu_s() - cpu_from;
    r->window_s = (double)(mono_us() - window_from) / 1e6;
    r->us_per_datagram = r->datagrams ? r->sender_cpu_s * 1e6 / (double)r->datagrams : 0;
    r->delay_p50_ms = (double)bench_hist_percentile(hist, 0.50) / 1000.0;
    r->delay_p99_ms = (double)bench_hist_percentile(hist, 0.99) / 1000.0;
    usleep(200000); /* let the receiver drain */

out:
    if (thread_started) {
        uint64_t one = 1;
        if (write(rx.stop_fd, &one, sizeof(one)) != sizeof(one))
            rc = rc ? rc : -EIO;
        pthread_join(thread, NULL);
        r->received = rx.received;
    }
    for (int i = 0; tracks && i < n_video + n_audio; i++)
        bench_media_track_free(&tracks[i]);
    free(tracks);
    for (int i = 0; i < rx.n; i++)
        close(rx_fds[i]);
    for (int i = 0; i < n_tx; i++)
        close(tx_fds[i]);
    if (rx.stop_fd >= 0)
        close(rx.stop_fd);
    free(rx_fds);
    free(tx_fds);
    free(to);
    free(gso);
    free(hist);
    free(b);
    udp_ring_free(ring);
    free(plan.msgs);
    free(plan.iov);
    free(plan.control);
    free(plan.dgrams);
    return rc;
}

static const char *ring_label(const bench_floor_config *c)
{
    return c->io_uring ? "a socket per subscriber, one io_uring submit per batch" : "a socket per subscriber, udp_tx";
}

int bench_floor_report(const bench_floor_config *c, const bench_floor_result *r, const char *json_path)
{
    unsigned video_kbps = 0;
    for (int i = 0; i < c->n_video; i++)
        video_kbps += c->video_kbps[i];
    printf("kernel floor (%s%s), %d audio + %d video -> %d on loopback, %u kbit/s of video at %u fps, %.1f s: "
           "%.0f datagrams/s, %.2f datagrams per send, %.2f per system call, sender CPU %.2f us per datagram (%.1f %% of a core), "
           "fan-out delay p50 %.2f ms p99 %.2f ms, refused %llu, received %llu\n",
           c->one_socket ? "one socket, sendmmsg" : ring_label(c),
           c->busy_receiver ? ", busy receiver" : "", c->n_audio > 0 ? c->n_audio : 1, c->n_video > 0 ? c->n_video : 1,
           c->subscribers, c->n_video > 0 ? video_kbps : c->bitrate_kbps, c->fps, r->window_s, r->window_s > 0 ? r->datagrams / r->window_s : 0,
           r->calls ? (double)r->datagrams / (double)r->calls : 0,
           r->syscalls ? (double)r->datagrams / (double)r->syscalls : 0, r->us_per_datagram,
           r->window_s > 0 ? 100.0 * r->sender_cpu_s / r->window_s : 0, r->delay_p50_ms, r->delay_p99_ms,
           (unsigned long long)r->failed, (unsigned long long)r->received);
    if (json_path == NULL || json_path[0] == '\0')
        return 0;
    FILE *f = fopen(json_path, "w");
    if (f == NULL)
        return -errno;
    fprintf(f,
            "{\"kernel_floor\": {\"one_socket\": %s, \"io_uring\": %s, \"busy_receiver\": %s, \"subscribers\": %d, \"bitrate_kbps\": %u, "
            "\"audio_streams\": %d, \"video_streams\": %d, \"video_kbps\": %u, \"fps\": %u, \"window_s\": %.3f, "
            "\"batches\": %llu, \"datagrams\": %llu, \"send_calls\": %llu, \"send_syscalls\": %llu, \"refused\": %llu, \"received\": %llu, "
            "\"sender_cpu_s\": %.4f, \"cpu_us_per_datagram\": %.3f, \"fanout_delay_ms\": {\"p50\": %.3f, "
            "\"p99\": %.3f}}}\n",
            c->one_socket ? "true" : "false", c->io_uring ? "true" : "false", c->busy_receiver ? "true" : "false",
            c->subscribers,
            c->bitrate_kbps, c->n_audio > 0 ? c->n_audio : 1, c->n_video > 0 ? c->n_video : 1,
            c->n_video > 0 ? video_kbps : c->bitrate_kbps, c->fps, r->window_s,
            (unsigned long long)r->batches,
            (unsigned long long)r->datagrams, (unsigned long long)r->calls, (unsigned long long)r->syscalls,
            (unsigned long long)r->failed,
            (unsigned long long)r->received, r->sender_cpu_s, r->us_per_datagram, r->delay_p50_ms,
            r->delay_p99_ms);
    return fclose(f) == 0 ? 0 : -EIO;
}
