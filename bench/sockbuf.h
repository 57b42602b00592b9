/* sockbuf.h - larger receive buffers for the bench's own UDP sockets (--rcvbuf-kb).
 *
 * One bench process plays many browsers, each of which would have its own machine and its own socket
 * buffer drained by its own threads. When the bench's worker is late (a large SDP to answer, or other
 * jobs on a shared machine), the default buffer (net.core.rmem_default, 208 KB: ~100 ms of a 50-person
 * meeting's audio and video for one receiver) overflows, and the datagrams lost include the STUN consent
 * checks, so connections fail that a browser would keep. The sockets belong to libnice (sfu/ice.c), so
 * the bench raises their SO_RCVBUF from the outside: every UDP socket of the process, at most once each
 * (the kernel caps it at net.core.rmem_max). The server's sockets are left alone.
 */
#ifndef BENCH_SOCKBUF_H
#define BENCH_SOCKBUF_H

/* Raises SO_RCVBUF of every UDP socket of this process below `bytes` to `bytes`. Returns how many it
 * raised, or -errno when /proc/self/fd cannot be read. Any thread. */
int bench_sockbuf_raise(int bytes);

#endif
