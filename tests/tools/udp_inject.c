/* udp_inject.c - test tool: sends crafted UDP datagrams with a chosen source address and port
 * (a raw IPv4 socket; needs CAP_NET_RAW, i.e. root in the test's private network namespace).
 *
 * The SFU's ICE layer (libnice) only passes on datagrams from a peer it has validated, so garbage
 * meant to reach the SFU's own checks must look as if it came from the browser's address. Used by
 * tests/e2e/media.test.mjs against 127.0.0.1 only.
 *
 *   udp_inject SRC_IP SRC_PORT DST_IP DST_PORT KIND COUNT
 *
 * KIND:
 *   garbage      random bytes whose first byte cycles through values outside and inside the
 *                RFC 7983 ranges;
 *   rtp-bad-tag  well-formed RTP headers (version 2, payload type 96) with a random payload and a
 *                random 16-byte "authentication tag", which SRTP must refuse;
 *   dtls-short   DTLS 1.2 application-data records in epoch 1 with random bodies of 0..100 bytes
 *                (the i-th has i % 101), shorter than any cipher's nonce + tag for i % 101 < 24:
 *                one such 31-byte datagram used to end a connection;
 *   dtls-garbage cycles through plaintext records of every DTLS content type (20..63) with random
 *                bodies, far epochs, records whose length field claims more than the datagram
 *                holds, non-DTLS versions, and forged epoch-1 alert, handshake and application
 *                records long enough to be decrypted (which fails).
 * Every datagram holds one record (or one unreadable piece of one).
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

static void random_bytes(uint8_t *p, size_t len)
{
    for (size_t k = 0; k < len; k++)
        p[k] = (uint8_t)rand();
}

/* A DTLS 1.2 record header: type, version, epoch, random sequence number, length. */
static void dtls_header(uint8_t *p, uint8_t type, uint16_t version, uint16_t epoch, uint16_t length)
{
    p[0] = type;
    p[1] = (uint8_t)(version >> 8);
    p[2] = (uint8_t)version;
    p[3] = (uint8_t)(epoch >> 8);
    p[4] = (uint8_t)epoch;
    random_bytes(p + 5, 6);
    p[11] = (uint8_t)(length >> 8);
    p[12] = (uint8_t)length;
}

/* The i-th datagram of `kind` into p; returns its length, 0 for an unknown kind. */
static size_t make_payload(uint8_t *p, const char *kind, unsigned i)
{
    if (!strcmp(kind, "garbage")) {
        static const uint8_t first[] = {0x05, 0x17, 0x40, 0x7f, 0xc5, 0xff, 0x80, 0x00};
        size_t len = 40 + (size_t)(rand() % 1000);
        random_bytes(p, len);
        p[0] = first[i % sizeof(first)];
        return len;
    }
    if (!strcmp(kind, "rtp-bad-tag")) {
        size_t len = 40 + (size_t)(rand() % 1000);
        random_bytes(p, len);
        p[0] = 0x80;              /* V=2, no padding, no extension, no CSRC */
        p[1] = 96;                /* payload type 96, no marker */
        p[2] = (uint8_t)(i >> 8); /* sequence number */
        p[3] = (uint8_t)i;
        return len;
    }
    if (!strcmp(kind, "dtls-short")) {
        uint16_t body = (uint16_t)(i % 101);
        dtls_header(p, 23, 0xfefd, 1, body);
        random_bytes(p + 13, body);
        return 13u + body;
    }
    if (!strcmp(kind, "dtls-garbage")) {
        uint16_t body = (uint16_t)(rand() % 101);
        switch (i % 5) {
        case 0: /* plaintext, every content type in turn */
            dtls_header(p, (uint8_t)(20 + (i / 5) % 44), 0xfefd, 0, body);
            break;
        case 1: /* an epoch nobody uses */
            dtls_header(p, (uint8_t)(21 + i % 3), 0xfefd, i & 8 ? 0xffff : 2, body);
            break;
        case 2: /* the length field claims more than the datagram holds */
            dtls_header(p, 23, 0xfefd, 1, (uint16_t)(body + 1 + rand() % 1000));
            random_bytes(p + 13, body);
            return 13u + body;
        case 3: /* not DTLS 1.0 or 1.2 */
            dtls_header(p, 23, 0x0303, 1, body);
            break;
        default: /* forged, and long enough to be decrypted */
            body = (uint16_t)(24 + rand() % 1000);
            dtls_header(p, (uint8_t)(21 + i % 3), 0xfefd, 1, body);
            break;
        }
        random_bytes(p + 13, body);
        return 13u + body;
    }
    return 0;
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
    uint8_t probe[1500];
    if (make_payload(probe, kind, 0) == 0) {
        fprintf(stderr, "udp_inject: unknown kind %s\n", kind);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW); /* implies IP_HDRINCL */
    if (fd < 0) {
        perror("udp_inject: socket");
        return 1;
    }
    srand(12345); /* after the probe above: the same datagrams on every run */
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(dport), .sin_addr = dst};
    for (int i = 0; i < count; i++) {
        uint8_t pkt[1500];
        struct iphdr *ip = (struct iphdr *)pkt;
        struct udphdr *udp = (struct udphdr *)(pkt + sizeof(*ip));
        memset(pkt, 0, sizeof(*ip) + sizeof(*udp));
        size_t plen = make_payload(pkt + sizeof(*ip) + sizeof(*udp), kind, (unsigned)i);
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
