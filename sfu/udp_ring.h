/* udp_ring.h - a batch of UDP sends to many sockets that leaves in one system call (Linux io_uring).
 *
 * Why: a fan-out sends to every receiver on its own socket (libnice's socket per ICE agent), so each
 * packet forwarded to 200 receivers was 200 sendmsg()/sendto() calls; a system call's entry and exit
 * alone cost ~1 µs on the virtual machines this runs on, a large share of the whole forwarding cost.
 * Here the runs of all sockets are added to an io_uring submission queue and handed to the kernel
 * together: one io_uring_enter() for a whole loop iteration. Each run is still one IORING_OP_SENDMSG
 * of GSO segments (udp_tx.h). MSG_DONTWAIT makes the kernel complete each send during the submit
 * (a full socket buffer fails that send with EAGAIN instead of parking it), so every completion is in
 * by the time udp_ring_submit() returns and the borrowed buffers are free again.
 *
 * Where io_uring is not available (a kernel before 5.6, kernel.io_uring_disabled, a container's
 * seccomp profile: Docker's default refuses it) udp_ring_new() fails and the caller sends as before.
 *
 * Ownership: the ring owns its kernel ring and the message headers; the datagrams and destination
 * given to udp_ring_add() are borrowed until the next udp_ring_submit(). No allocation after
 * udp_ring_new(). One thread.
 */
#ifndef SFU_UDP_RING_H
#define SFU_UDP_RING_H

#include "sfu/udp_tx.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

typedef struct udp_ring udp_ring;

/* A ring for up to `ops` sends (runs) and `datagrams` datagrams between submits. NULL when io_uring
 * cannot be used here (errno set: ENOSYS, EPERM, ENOMEM...). */
udp_ring *udp_ring_new(unsigned ops, unsigned datagrams);
/* Submits what is pending (as udp_ring_submit, results dropped), then frees. NULL is a no-op. */
void udp_ring_free(udp_ring *r);

/* Adds d[0..n) for fd → to (tolen 0: a connected socket), as GSO runs when gso is true (one by one
 * otherwise). They leave at udp_ring_submit(), in the order added. Returns 0, or -ENOSPC (nothing
 * added) when the ring lacks room for them: submit, then add again; n larger than the ring's
 * datagrams never fits; -EIO when the ring is broken. */
int udp_ring_add(udp_ring *r, int fd, const struct sockaddr *to, socklen_t tolen, const udp_tx_dgram *d, size_t n,
                 bool gso);
/* True once the kernel refused a submit (udp_ring_add then fails with -EIO): send without it. */
bool udp_ring_broken(const udp_ring *r);
/* Sends added and not yet submitted. */
unsigned udp_ring_pending(const udp_ring *r);
/* Hands every pending send to the kernel in one system call and collects the results into *res
 * (calls: the sends; sent/failed: datagrams). A run the kernel refused to segment (EIO, EINVAL,
 * ENOPROTOOPT, EOPNOTSUPP) is sent again at once through udp_tx_send(), which clears *gso when the
 * kernel cannot segment at all. Returns the number of system calls made, those included (0 when
 * nothing was pending). */
unsigned udp_ring_submit(udp_ring *r, bool *gso, udp_tx_result *res);

#endif
