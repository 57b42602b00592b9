/* udp_tx.c - GSO runs of datagrams to one destination (see udp_tx.h). */
#include "sfu/udp_tx.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h, Linux 4.18 */
#endif

/* Largest UDP payload of one GSO send (IPv4: 65535 minus the IP and UDP headers; IPv6 allows a little more). */
#define RUN_MAX_BYTES 65507u
/* A UDP payload that fits any IPv6 path (1280-byte minimum MTU minus IPv6 and UDP headers). */
#define GSO_ALWAYS_FITS 1232u

size_t udp_tx_run_length(const udp_tx_dgram *d, size_t n)
{
    if (n == 0)
        return 0;
    size_t seg = d[0].len, total = seg, i = 1;
    if (seg == 0)
        return 1;
    while (i < n && i < UDP_TX_MAX_SEGMENTS && d[i].len <= seg && total + d[i].len <= RUN_MAX_BYTES) {
        total += d[i].len;
        i++;
        if (d[i - 1].len < seg) /* a shorter one ends the run */
            break;
    }
    return i;
}

bool udp_tx_gso_refused(int err)
{
    return err == EIO || err == EINVAL || err == ENOPROTOOPT || err == EOPNOTSUPP;
}

static int send_one(int fd, const struct sockaddr *to, socklen_t tolen, const uint8_t *buf, size_t len)
{
    ssize_t n;
    do
        n = sendto(fd, buf, len, MSG_DONTWAIT, to, tolen);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)len ? 0 : -1;
}

void udp_tx_message(struct msghdr *msg, struct iovec *iov, udp_tx_control *control, const struct sockaddr *to,
                    socklen_t tolen, const udp_tx_dgram *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        iov[i].iov_base = (void *)d[i].buf;
        iov[i].iov_len = d[i].len;
    }
    *msg = (struct msghdr){.msg_name = (void *)to, .msg_namelen = tolen, .msg_iov = iov, .msg_iovlen = n};
    if (n < 2)
        return;
    memset(control, 0, sizeof(*control));
    msg->msg_control = control->buf;
    msg->msg_controllen = sizeof(control->buf);
    struct cmsghdr *cm = CMSG_FIRSTHDR(msg);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t seg = (uint16_t)d[0].len;
    memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
}

/* One sendmsg() of d[0..n) (n > 1) as GSO segments of d[0].len. Returns 0, or -errno. */
static int send_run(int fd, const struct sockaddr *to, socklen_t tolen, const udp_tx_dgram *d, size_t n)
{
    struct iovec iov[UDP_TX_MAX_SEGMENTS];
    udp_tx_control control;
    struct msghdr msg;
    udp_tx_message(&msg, iov, &control, to, tolen, d, n);
    ssize_t r;
    do
        r = sendmsg(fd, &msg, MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

void udp_tx_send(int fd, const struct sockaddr *to, socklen_t tolen, const udp_tx_dgram *d, size_t n, bool *gso,
                 udp_tx_result *r)
{
    size_t i = 0;
    while (i < n) {
        size_t run = *gso ? udp_tx_run_length(d + i, n - i) : 1;
        if (run > 1) {
            r->calls++;
            int rc = send_run(fd, to, tolen, d + i, run);
            if (rc == 0) {
                r->sent += (unsigned)run;
                i += run;
                continue;
            }
            if (!udp_tx_gso_refused(-rc)) {
                r->failed += (unsigned)run; /* EAGAIN, ENOBUFS, ...: the whole run is lost, as it would be */
                i += run;
                continue;
            }
            /* Refused: this run one by one. EIO, ENOPROTOOPT, EOPNOTSUPP: the kernel or the device
             * cannot segment, so GSO goes off. EINVAL: a segment larger than the path MTU allows;
             * but a kernel without UDP_SEGMENT (before 4.18) says EINVAL too, whatever the size:
             * small segments that fit any path (IPv6's minimum MTU) mean that, so GSO goes off. */
            if (rc != -EINVAL || d[i].len <= GSO_ALWAYS_FITS)
                *gso = false;
        }
        r->calls++;
        if (send_one(fd, to, tolen, d[i].buf, d[i].len) == 0)
            r->sent++;
        else
            r->failed++;
        i++;
    }
}
