/* floor.h - the kernel floor of a webinar's fan-out on this machine: what forwarding 1 -> M costs a
 * sender that does nothing but the system calls the SFU makes.
 *
 * One thread plays the SFU's media worker without the SFU: it generates the bench publisher's own
 * packets (bench/media.c: VP8 frames at the bitrate and frame rate, 20 ms Opus packets, the same
 * header extensions), adds the 16-byte SRTP tag to their size, and sends every batch to M
 * destinations subscriber by subscriber through sfu/udp_tx.c (the server's own send function: GSO
 * runs for the packets of a frame, one call for a lone audio packet), from M sockets of its own, as
 * the server sends from one libnice socket per subscriber. Another thread receives on M sockets, like
 * the bench's subscribers (epoll, sleeping when there is nothing to read). No encryption, no RTP
 * rewriting, no GLib, no ICE.
 *
 * Its CPU time per datagram is the part of the server's figure that belongs to the kernel (send path
 * and, on loopback, the receivers' side of it), and its fan-out delay (batch due -> the call that sent
 * the datagram returned) the part of the forwarding delay that one thread cannot avoid. Everything is
 * on loopback (127.0.0.1).
 *
 * With one_socket, the same runs leave from a single socket through sendmmsg(): the bound for a
 * design with one UDP socket per worker. With io_uring, the runs of every subscriber's socket leave in
 * one io_uring submit per batch (sfu/udp_ring.c), as the server sends where the kernel allows it.
 */
#ifndef BENCH_FLOOR_H
#define BENCH_FLOOR_H

#include <stdbool.h>
#include <stdint.h>

#define BENCH_FLOOR_MAX_AUDIO 128
#define BENCH_FLOOR_MAX_VIDEO 16

typedef struct {
    int subscribers;       /* M */
    unsigned bitrate_kbps; /* video (one stream, unless n_video) */
    /* A meeting's shape (the meeting50 scenario): every subscriber receives n_audio audio streams
     * and n_video video streams of video_kbps[i] each, instead of one of each; the streams' packets
     * are the same for every subscriber, their starts spread over a frame / a 20 ms interval (the
     * publishers' clocks are independent). 0: one audio and one video at bitrate_kbps. */
    int n_audio, n_video;
    unsigned video_kbps[BENCH_FLOOR_MAX_VIDEO];
    /* with n_audio: the audio streams speak in turns of audio_turn_us among n_audio + 1 (the receiver
     * is the one left out) and, with audio_dtx, send their silence as Opus DTX (bench/media.h) */
    int64_t audio_turn_us;
    bool audio_dtx;
    unsigned fps;
    double seconds;        /* measured window (after 1 s of warm-up) */
    bool one_socket;       /* send from one socket with sendmmsg (one call per 1024 GSO runs) instead of
                            * one udp_tx_send per subscriber socket: what a worker-wide socket would cost
                            * (the SFU cannot have one: libnice owns a socket per ICE agent) */
    bool io_uring;         /* a socket per subscriber, all of a batch's sends in one io_uring submit
                            * (sfu/udp_ring.h) instead of a system call per subscriber */
    bool busy_receiver;    /* the receiving thread polls without ever sleeping: no send has to wake it,
                            * so the sender's figure has no wake-up in it (it takes a core) */
} bench_floor_config;

typedef struct {
    uint64_t batches;       /* fan-outs (a frame or an audio packet) */
    uint64_t datagrams;     /* sent in the window */
    uint64_t calls;         /* sendmsg operations (calls, or io_uring requests) */
    uint64_t syscalls;      /* system calls that made them */
    uint64_t failed;        /* datagrams the kernel refused */
    uint64_t received;      /* datagrams the receiving thread read (window and drain) */
    double window_s;
    double sender_cpu_s;    /* CLOCK_THREAD_CPUTIME_ID of the sending thread over the window */
    double us_per_datagram; /* sender_cpu_s / datagrams */
    double delay_p50_ms, delay_p99_ms; /* per datagram: due time -> its send call returned */
} bench_floor_result;

/* Runs the measurement (about seconds + 1.5 s). Returns 0, or a negative errno when sockets or
 * threads cannot be had. */
int bench_floor_run(const bench_floor_config *c, bench_floor_result *r);

/* Prints the result as one line of text and, when json_path is not NULL, writes it as JSON.
 * Returns 0 or -errno (JSON file). */
int bench_floor_report(const bench_floor_config *c, const bench_floor_result *r, const char *json_path);

#endif
