/*
 * fuzz_sctp.c - libFuzzer target for the data channel input path of the SFU: SCTP packets as DTLS
 * hands them to sfu/sctp.c (usrsctp, AF_CONN), and the DCEP and messages that come out of
 * usrsctp into sfu/dcep.c. Two associations run in this process, "sfu" (its peer uses even stream
 * ids, as the SFU's does) and "browser", wired to each other through a queue; the input is a
 * script of operations: the browser sends any message (any stream, any PPID, any bytes: DCEP OPENs
 * well-formed or not, ACKs, strings, binary, too large), opens channels, or the sfu receives a raw
 * packet (made to carry the association's verification tag and a valid CRC32c when the script
 * says so, so that it reaches usrsctp's chunk parsing), or the sfu relays a message. Checks: what
 * the sfu delivers is a string within DC_MAX_MESSAGE on a channel it acknowledged, never more
 * channels than DC_MAX_CHANNELS; no crash, no leak. A dead association is made again.
 *
 * Leaks: the associations live from input to input, so nearly every input ends with more blocks
 * allocated than freed, and libFuzzer's per-input leak detection then ran the input again and
 * scanned the whole heap after almost every input (three quarters of the time: ~500 exec/s).
 * sctp.options turns it off; leak_every.h checks every 4096 inputs and ASan at exit (a leak is still
 * found, with its allocation's stack, but not tied to the input that leaked). ~4x the exec/s.
 */
#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "leak_every.h"
#include "sfu/dcep.h"
#include "sfu/log.h"
#include "sfu/sctp.h"

#define CHECK(x)              \
    do {                      \
        if (!(x))             \
            __builtin_trap(); \
    } while (0)

#define QMAX 256

typedef struct {
    uint8_t data[2048];
    size_t len;
    int to; /* 0: sfu, 1: browser */
} qpkt;

static qpkt q[QMAX];
static size_t qn;
static sctp_assoc *sfu, *browser;
static GMainContext *ctx;
static uint32_t sfu_vtag; /* the tag the browser's packets carry to the sfu */
static unsigned delivered;

static void enqueue(int to, const uint8_t *buf, size_t len)
{
    if (qn == QMAX || len > sizeof(q[0].data))
        return; /* a lossy wire */
    memcpy(q[qn].data, buf, len);
    q[qn].len = len;
    q[qn].to = to;
    qn++;
}

static void sfu_send(void *ud, const uint8_t *buf, size_t len)
{
    (void)ud;
    enqueue(1, buf, len);
}

static void browser_send(void *ud, const uint8_t *buf, size_t len)
{
    (void)ud;
    if (len >= 8)
        sfu_vtag = ((uint32_t)buf[4] << 24) | ((uint32_t)buf[5] << 16) | ((uint32_t)buf[6] << 8) | buf[7];
    enqueue(0, buf, len);
}

static void sfu_message(void *ud, const char *label, const uint8_t *buf, size_t len)
{
    (void)ud;
    (void)buf;
    CHECK(len <= DC_MAX_MESSAGE);
    CHECK(strlen(label) <= DC_MAX_LABEL);
    delivered++;
}

static void browser_message(void *ud, const char *label, const uint8_t *buf, size_t len)
{
    (void)ud;
    (void)label;
    (void)buf;
    (void)len;
}

/* Delivers what is queued, in order, until the wire is quiet. */
static void pump(void)
{
    for (int rounds = 0; rounds < 64 && qn; rounds++) {
        qpkt *batch = g_memdup2(q, sizeof(qpkt) * qn);
        size_t n = qn;
        qn = 0;
        for (size_t i = 0; i < n; i++)
            sctp_assoc_input(batch[i].to == 0 ? sfu : browser, batch[i].data, batch[i].len);
        g_free(batch);
        while (g_main_context_iteration(ctx, FALSE))
            ;
    }
    qn = 0;
}

static void make_pair(void)
{
    static const sctp_callbacks sc = {sfu_send, sfu_message, NULL};
    static const sctp_callbacks bc = {browser_send, browser_message, NULL};
    sctp_assoc_free(sfu);
    sctp_assoc_free(browser);
    qn = 0;
    sfu = sctp_assoc_new(ctx, &sc, NULL, 5000, true);
    browser = sctp_assoc_new(ctx, &bc, NULL, 5000, false);
    CHECK(sfu && browser);
    sctp_assoc_start(browser);
    sctp_assoc_start(sfu);
    pump();
}

/* CRC32c (RFC 9260 appendix A), reflected, for the packets the script wants accepted. */
static uint32_t crc32c(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
    }
    return ~c;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    vm_log_set_level(VM_LOG_ERROR);
    ctx = g_main_context_new();
    g_main_context_push_thread_default(ctx);
    make_pair();
    /* the harness reaches the messages: a channel opened and a string delivered */
    CHECK(sctp_assoc_up(sfu) && sctp_assoc_up(browser));
    CHECK(sctp_assoc_open_channel(browser, 0, "vm") == 0);
    pump();
    CHECK(sctp_assoc_send_raw(browser, 0, DC_PPID_STRING, (const uint8_t *)"{}", 2) == 0);
    pump();
    CHECK(delivered == 1);
    make_pair();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    leak_every(4096);
    if (!sctp_assoc_up(sfu) || !sctp_assoc_up(browser))
        make_pair();
    CHECK(sctp_assoc_up(sfu));
    static uint8_t pkt[2048];
    size_t i = 0;
    while (i + 4 <= size) {
        uint8_t op = data[i] & 3, flags = data[i] >> 2;
        uint16_t sid = data[i + 1];
        size_t len = ((size_t)data[i + 2] << 8 | data[i + 3]) % 1600;
        i += 4;
        if (len > size - i)
            len = size - i;
        const uint8_t *body = data + i;
        i += len;
        if (op == 0) { /* any message from the browser */
            static const uint32_t ppids[8] = {DCEP_PPID, DC_PPID_STRING, DC_PPID_BINARY, DC_PPID_STRING_EMPTY,
                                              DC_PPID_BINARY_EMPTY, 52, 54, 0};
            uint32_t ppid = ppids[flags & 7];
            if (flags & 8) { /* larger than the limit */
                static uint8_t big[DC_MAX_MESSAGE + 128];
                memset(big, len ? body[0] : 'x', sizeof(big));
                sctp_assoc_send_raw(browser, sid, ppid, big, DC_MAX_MESSAGE + 1 + len % 100);
            } else {
                sctp_assoc_send_raw(browser, sid, ppid, body, len);
            }
        } else if (op == 1) { /* a raw packet to the sfu */
            if (len < 12 || len > sizeof(pkt))
                continue;
            memcpy(pkt, body, len);
            if (flags & 1) { /* the right ports and tag, a valid checksum */
                pkt[0] = 5000 >> 8, pkt[1] = 5000 & 0xff, pkt[2] = 5000 >> 8, pkt[3] = 5000 & 0xff;
                pkt[4] = (uint8_t)(sfu_vtag >> 24), pkt[5] = (uint8_t)(sfu_vtag >> 16);
                pkt[6] = (uint8_t)(sfu_vtag >> 8), pkt[7] = (uint8_t)sfu_vtag;
                memset(pkt + 8, 0, 4);
                uint32_t c = crc32c(pkt, len);
                memcpy(pkt + 8, &c, 4); /* little-endian on the wire: the reflected CRC's byte order */
            }
            sctp_assoc_input(sfu, pkt, len);
        } else if (op == 2) { /* the browser opens a channel (DCEP, and its own table) */
            char label[DC_MAX_LABEL + 8];
            size_t n = len < sizeof(label) - 1 ? len : sizeof(label) - 1;
            memcpy(label, body, n);
            label[n] = '\0';
            sctp_assoc_open_channel(browser, sid, label);
        } else { /* the sfu relays something to the browser's channel "vm" */
            sctp_assoc_send(sfu, "vm", (const uint8_t *)"u\n", 2, body, len > DC_MAX_MESSAGE ? DC_MAX_MESSAGE : len);
        }
        pump();
    }
    return 0;
}
