/* udp_tx.h - sends a queue of datagrams for one destination with as few system calls as possible.
 *
 * A run is a sequence of consecutive datagrams of one size, the last of which may be shorter, at most
 * UDP_TX_MAX_SEGMENTS of them and 64 KiB in all: it leaves in one sendmsg() with UDP_SEGMENT (Linux UDP
 * GSO): the kernel walks its stack once and cuts the datagrams apart at the end (or the NIC does). Where
 * the kernel refuses GSO (a device without checksum offload, a path MTU below the size), the run is
 * sent one datagram per call; where the kernel or device cannot segment at all (EIO, EOPNOTSUPP, or
 * EINVAL for segments small enough to fit any path: a kernel without UDP_SEGMENT), GSO is also switched
 * off for the caller's state.
 *
 * No allocation; the datagrams are borrowed for the call.
 */
#ifndef SFU_UDP_TX_H
#define SFU_UDP_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define UDP_TX_MAX_SEGMENTS 64

typedef struct {
    const uint8_t *buf;
    size_t len;
} udp_tx_dgram;

typedef struct {
    unsigned calls;  /* sendmsg()/sendto() calls made */
    unsigned sent;   /* datagrams the kernel took */
    unsigned failed; /* datagrams it refused */
} udp_tx_result;

/* Room for the control message of one GSO run (aligned for a struct cmsghdr). */
typedef union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
} udp_tx_control;

/* Fills msg to send d[0..n) to `to` as one run: iov[0..n) point at the datagrams and, when n > 1,
 * control holds the UDP_SEGMENT size (d[0].len). No I/O; for callers that batch runs themselves
 * (sendmmsg). The datagrams, `to`, iov and control are borrowed by msg. */
void udp_tx_message(struct msghdr *msg, struct iovec *iov, udp_tx_control *control, const struct sockaddr *to,
                    socklen_t tolen, const udp_tx_dgram *d, size_t n);

/* Whether a GSO run failed with -err because the kernel would not segment it (EIO, EINVAL,
 * ENOPROTOOPT, EOPNOTSUPP), so that it can go again one datagram at a time; other errors (EAGAIN,
 * ENOBUFS...) lose it. Pure. */
bool udp_tx_gso_refused(int err);

/* The number of datagrams, from d[0], that can leave as one GSO run (1..n; 0 when n is 0). Pure. */
size_t udp_tx_run_length(const udp_tx_dgram *d, size_t n);

/* Sends d[0..n) to `to` on the non-blocking socket fd, in order. *gso says whether to try GSO and is
 * cleared when the kernel cannot do it. A run the kernel refuses for lack of buffer space (EAGAIN,
 * ENOBUFS) is counted as failed, like a single datagram would be. Adds to *r. */
void udp_tx_send(int fd, const struct sockaddr *to, socklen_t tolen, const udp_tx_dgram *d, size_t n, bool *gso,
                 udp_tx_result *r);

#endif
