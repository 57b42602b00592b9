/* udp_ring.c - UDP sends to many sockets in one io_uring submit (see udp_ring.h). */
#include "sfu/udp_ring.h"

#include <errno.h>
#include <liburing.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct udp_ring {
    struct io_uring ring;
    unsigned ops_cap, dg_cap;
    unsigned n_ops, n_iov;
    bool broken;                    /* the kernel refused a submit: no more adds */
    struct msghdr *msg;             /* [ops_cap] one per send */
    udp_tx_control *ctl;            /* [ops_cap] its UDP_SEGMENT */
    struct sockaddr_storage *to;    /* [ops_cap] its destination (a copy) */
    int *fd;                        /* [ops_cap] its socket */
    struct iovec *iov;              /* [dg_cap] the datagrams of all sends */
};

/* Frees the arrays and r (not the kernel ring). */
static void release(udp_ring *r)
{
    free(r->msg);
    free(r->ctl);
    free(r->to);
    free(r->fd);
    free(r->iov);
    free(r);
}

udp_ring *udp_ring_new(unsigned ops, unsigned datagrams)
{
    if (ops == 0 || datagrams == 0) {
        errno = EINVAL;
        return NULL;
    }
    udp_ring *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->ops_cap = ops;
    r->dg_cap = datagrams;
    r->msg = calloc(ops, sizeof(*r->msg));
    r->ctl = calloc(ops, sizeof(*r->ctl));
    r->to = calloc(ops, sizeof(*r->to));
    r->fd = calloc(ops, sizeof(*r->fd));
    r->iov = calloc(datagrams, sizeof(*r->iov));
    int rc = -ENOMEM;
    if (r->msg && r->ctl && r->to && r->fd && r->iov)
        rc = io_uring_queue_init(ops, &r->ring, 0);
    if (rc < 0) {
        release(r);
        errno = -rc;
        return NULL;
    }
    return r;
}

void udp_ring_free(udp_ring *r)
{
    if (!r)
        return;
    bool gso = true;
    udp_tx_result res = {0};
    udp_ring_submit(r, &gso, &res);
    if (!r->broken)
        io_uring_queue_exit(&r->ring);
    release(r);
}

bool udp_ring_broken(const udp_ring *r)
{
    return r->broken;
}

unsigned udp_ring_pending(const udp_ring *r)
{
    return r->n_ops;
}

int udp_ring_add(udp_ring *r, int fd, const struct sockaddr *to, socklen_t tolen, const udp_tx_dgram *d, size_t n,
                 bool gso)
{
    if (r->broken)
        return -EIO;
    if (tolen > sizeof(struct sockaddr_storage))
        return -EINVAL;
    size_t runs = 0;
    for (size_t i = 0; i < n; i += gso ? udp_tx_run_length(d + i, n - i) : 1)
        runs++;
    if (r->n_ops + runs > r->ops_cap || r->n_iov + n > r->dg_cap || io_uring_sq_space_left(&r->ring) < runs)
        return -ENOSPC;
    for (size_t i = 0; i < n;) {
        size_t run = gso ? udp_tx_run_length(d + i, n - i) : 1;
        unsigned k = r->n_ops++;
        if (tolen)
            memcpy(&r->to[k], to, tolen);
        r->fd[k] = fd;
        udp_tx_message(&r->msg[k], &r->iov[r->n_iov], &r->ctl[k], tolen ? (const struct sockaddr *)&r->to[k] : NULL,
                       tolen, d + i, run);
        r->n_iov += (unsigned)run;
        struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring); /* there is space: checked above */
        io_uring_prep_sendmsg(sqe, fd, &r->msg[k], MSG_DONTWAIT);
        io_uring_sqe_set_data64(sqe, k);
        i += run;
    }
    return 0;
}

/* Sends k again through udp_tx (after the kernel refused to segment it, or never took it). Returns
 * the system calls that made. */
static unsigned resend(udp_ring *r, unsigned k, bool *gso, udp_tx_result *res)
{
    udp_tx_dgram d[UDP_TX_MAX_SEGMENTS];
    const struct msghdr *m = &r->msg[k];
    size_t n = m->msg_iovlen;
    for (size_t i = 0; i < n; i++)
        d[i] = (udp_tx_dgram){m->msg_iov[i].iov_base, m->msg_iov[i].iov_len};
    unsigned before = res->calls;
    udp_tx_send(r->fd[k], m->msg_name, m->msg_namelen, d, n, gso, res);
    return res->calls - before;
}

unsigned udp_ring_submit(udp_ring *r, bool *gso, udp_tx_result *res)
{
    if (r->n_ops == 0)
        return 0;
    unsigned syscalls = 0, submitted = 0;
    /* MSG_DONTWAIT: every send completes during the submit, so waiting for all of them costs no
     * second call (a kernel that did park one would make this wait for it, as it must: its buffers
     * are borrowed until this returns). */
    for (int tries = 0; submitted < r->n_ops && tries < 4; tries++) {
        syscalls++;
        int rc = io_uring_submit_and_wait(&r->ring, r->n_ops - submitted);
        if (rc > 0)
            submitted += (unsigned)rc;
        else if (rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
            break;
    }
    unsigned seen = 0;
    while (seen < submitted) {
        struct io_uring_cqe *cqe;
        if (io_uring_wait_cqe(&r->ring, &cqe) < 0)
            break;
        unsigned k = (unsigned)io_uring_cqe_get_data64(cqe);
        int rv = cqe->res;
        io_uring_cqe_seen(&r->ring, cqe);
        seen++;
        if (k >= r->n_ops)
            continue;
        unsigned nd = (unsigned)r->msg[k].msg_iovlen;
        res->calls++;
        if (rv >= 0)
            res->sent += nd;
        else if (nd > 1 && udp_tx_gso_refused(-rv))
            syscalls += resend(r, k, gso, res);
        else
            res->failed += nd; /* EAGAIN, ENOBUFS, ...: lost, as a sendmsg() of it would have been */
    }
    /* Sends the kernel never took (it refused the submit itself): sent one call each now, while their
     * buffers are still valid; they are gone from the queue (nothing submits them later). */
    for (unsigned k = submitted; k < r->n_ops; k++)
        syscalls += resend(r, k, gso, res);
    if (submitted < r->n_ops) {
        /* the SQEs the kernel did not consume must never be submitted (their buffers are the
         * caller's again): the ring goes, and the caller sends without it from now on */
        io_uring_queue_exit(&r->ring);
        r->broken = true;
    }
    r->n_ops = 0;
    r->n_iov = 0;
    return syscalls;
}
