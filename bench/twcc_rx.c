/* twcc_rx.c - the receiver's transport-cc record and its feedback packets (see twcc_rx.h). A ring
 * of arrival times indexed by the unwrapped sequence number; the packet format is sfu/rtcp.c's. */
#include "bench/twcc_rx.h"

#include <string.h>

#include "sfu/rtcp.h"
#include "sfu/rtp.h"

void bench_twcc_rx_init(bench_twcc_rx *r)
{
    memset(r, 0, sizeof(*r));
    for (size_t i = 0; i < BENCH_TWCC_RX_WINDOW; i++)
        r->arrival[i] = -1;
}

static int64_t *slot(bench_twcc_rx *r, int64_t ext)
{
    return &r->arrival[(uint64_t)ext % BENCH_TWCC_RX_WINDOW];
}

void bench_twcc_rx_on_packet(bench_twcc_rx *r, uint16_t seq, int64_t now_us)
{
    r->packets++;
    if (!r->started) {
        r->started = true;
        r->t0 = now_us;
        r->next = r->max = 0x10000 + (int64_t)seq; /* room below for reordered ones */
        *slot(r, r->max) = now_us;
        return;
    }
    int64_t ext = (int64_t)rtp_seq_unwrap((uint32_t)r->max, seq);
    if (ext < r->next) {
        r->late++;
        return;
    }
    if (ext > r->max) {
        /* the numbers in between have not arrived (yet) */
        int64_t from = r->max + 1;
        if (ext - from > BENCH_TWCC_RX_WINDOW)
            from = ext - BENCH_TWCC_RX_WINDOW;
        for (int64_t e = from; e < ext; e++)
            *slot(r, e) = -1;
        r->max = ext;
        if (ext - r->next >= BENCH_TWCC_RX_WINDOW) {
            int64_t first = ext - BENCH_TWCC_RX_WINDOW + 1;
            r->skipped += (uint64_t)(first - r->next);
            r->next = first;
        }
        *slot(r, ext) = now_us; /* the slot held a number a window older */
        return;
    }
    int64_t *a = slot(r, ext);
    if (*a < 0)
        *a = now_us; /* a duplicate keeps the first arrival */
}

int bench_twcc_rx_feedback(bench_twcc_rx *r, uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc)
{
    if (!r->started || r->next > r->max)
        return 0;
    struct rtcp_twcc_arrival arr[BENCH_TWCC_RX_WINDOW];
    int64_t ext_of[BENCH_TWCC_RX_WINDOW];
    size_t n = 0;
    for (int64_t e = r->next; e <= r->max; e++) {
        int64_t a = *slot(r, e);
        if (a < 0)
            continue;
        arr[n] = (struct rtcp_twcc_arrival){(uint16_t)e, a - r->t0 < 0 ? 0 : a - r->t0};
        ext_of[n++] = e;
    }
    if (n == 0) /* cannot happen: max was received */
        return 0;
    size_t used = 0;
    int len = rtcp_build_twcc_from(buf, cap, sender_ssrc, media_ssrc, r->fb_count, (uint16_t)r->next, arr, n, &used);
    if (len <= 0 || used == 0)
        return len < 0 ? len : 0;
    r->fb_count++;
    r->feedbacks++;
    r->next = ext_of[used - 1] + 1;
    return len;
}
