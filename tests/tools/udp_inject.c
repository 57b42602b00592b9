/* udp_inject.c - test tool: sends crafted UDP datagrams with a chosen source address and port
 * (a raw IPv4 socket; needs CAP_NET_RAW, i.e. root in the test's private network namespace).
 *
 * The SFU's ICE layer (libnice) only passes on datagrams from a peer it has validated, so garbage
 * meant to reach the SFU's own checks must look as if it came from the browser's address. Used by
 * tests/e2e/media.test.mjs against 127.0.0.1 only.
 *
 *   udp_inject SRC_IP SRC_PORT DST_IP DST_PORT garbage|rtp-bad-tag COUNT
 *
 * garbage: random bytes whose first byte cycles through values outside and inside the RFC 7983
 * ranges; rtp-bad-tag: well-formed RTP headers (version 2, payload type 96) with a random payload
 * and a random 16-byte "authentication tag", which SRTP must refuse.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void fill_payload(uint8_t *p, size_t len, const char *kind, unsigned i)
{
    for (size_t k = 0; k < len; k++)
        p[k] = (uint8_t)rand();
    if (!strcmp(kind, "garbage")) {
        static const uint8_t first[] = {0x05, 0x17, 0x40, 0x7f, 0xc5, 0xff, 0x80, 0x00};
        p[0] = first[i % sizeof(first)];
        return;
    }
    p[0] = 0x80;              /* V=2, no padding, no extension, no CSRC */
    p[1] = 96;                /* payload type 96, no marker */
    p[2] = (uint8_t)(i >> 8); /* sequence number */
    p[3] = (uint8_t)i;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s SRC_IP SRC_PORT DST_IP DST_PORT garbage|rtp-bad-tag COUNT\n", argv[0]);
        return 2;
    }
    struct in_addr src, dst;
    if (!inet_pton(AF_INET, argv[1], &src) || !inet_pton(AF_INET, argv[3], &dst)) {
        fprintf(stderr, "udp_inject: bad address\n");
        return 2;
    }
    uint16_t sport = (uint16_t)atoi(argv[2]), dport = (uint16_t)atoi(argv[4]);
    const char *kind = argv[5];
    int count = atoi(argv[6]);
    if (strcmp(kind, "garbage") && strcmp(kind, "rtp-bad-tag")) {
        fprintf(stderr, "udp_inject: unknown kind %s\n", kind);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW); /* implies IP_HDRINCL */
    if (fd < 0) {
        perror("udp_inject: socket");
        return 1;
    }
    srand(12345);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(dport), .sin_addr = dst};
    for (int i = 0; i < count; i++) {
        uint8_t pkt[1500];
        size_t plen = 40 + (size_t)(rand() % 1000);
        struct iphdr *ip = (struct iphdr *)pkt;
        struct udphdr *udp = (struct udphdr *)(pkt + sizeof(*ip));
        memset(pkt, 0, sizeof(*ip) + sizeof(*udp));
        fill_payload(pkt + sizeof(*ip) + sizeof(*udp), plen, kind, (unsigned)i);
        size_t total = sizeof(*ip) + sizeof(*udp) + plen;
        ip->version = 4;
        ip->ihl = 5;
        ip->ttl = 64;
        ip->protocol = IPPROTO_UDP;
        ip->tot_len = htons((uint16_t)total);
        ip->saddr = src.s_addr;
        ip->daddr = dst.s_addr; /* the kernel fills in the IP checksum and id */
        udp->source = htons(sport);
        udp->dest = htons(dport);
        udp->len = htons((uint16_t)(sizeof(*udp) + plen));
        udp->check = 0; /* optional over IPv4 */
        if (sendto(fd, pkt, total, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
            perror("udp_inject: sendto");
            close(fd);
            return 1;
        }
        usleep(500); /* paced: a burst would overflow the receiver's socket buffer and be lost there */
    }
    close(fd);
    return 0;
}
