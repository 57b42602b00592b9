/*
 * fuzz_rtcp.c - libFuzzer target for sfu/rtcp.[ch]: iterate a compound packet, read
 * every typed view, sub-list and sub-iterator, rebuild what can be rebuilt (NACK items,
 * transport-cc arrivals from the packet's own base, SR, REMB) and parse the rebuilt packet again, checking that
 * the round trip preserves the values. Violations trap.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sfu/rtcp.h"

#define CHECK(x)                  \
    do {                          \
        if (!(x))                 \
            __builtin_trap();     \
    } while (0)

static uint8_t out[300000];

static void twcc(const struct rtcp_pkt *p)
{
    static struct rtcp_twcc_arrival arr[65536];
    struct rtcp_twcc_iter it;
    struct rtcp_twcc_status st;
    size_t n = 0;
    unsigned count = 0;
    rtcp_twcc_iter_init(&p->u.twcc, &it);
    while (rtcp_twcc_next(&it, &st) == 1) {
        CHECK(st.seq == (uint16_t)(p->u.twcc.base_seq + count));
        count++;
        if (st.symbol != RTCP_TWCC_NOT_RECEIVED && st.arrival_us >= 0)
            arr[n++] = (struct rtcp_twcc_arrival){ st.seq, st.arrival_us };
    }
    CHECK(count == p->u.twcc.status_count);
    if (n == 0)
        return;
    /* from the packet's own base when it is close enough (leading losses kept), else the first arrival */
    uint16_t base = p->u.twcc.base_seq;
    if ((uint16_t)(arr[0].seq - base) >= 0x8000)
        base = arr[0].seq;
    size_t used = 0;
    int len = rtcp_build_twcc_from(out, sizeof(out), 1, 2, 3, base, arr, n, &used);
    CHECK(len > 0 && used >= 1 && used <= n);
    struct rtcp_iter ri;
    struct rtcp_pkt q;
    rtcp_iter_init(&ri, out, (size_t)len);
    CHECK(rtcp_iter_next(&ri, &q) == 1 && q.kind == RTCP_K_TWCC && q.u.twcc.base_seq == base);
    size_t a = 0;
    rtcp_twcc_iter_init(&q.u.twcc, &it);
    while (rtcp_twcc_next(&it, &st) == 1) {
        if (st.symbol == RTCP_TWCC_NOT_RECEIVED)
            continue;
        CHECK(a < used && st.seq == arr[a].seq);
        CHECK(st.arrival_us == arr[a].arrival_us / 250 * 250);
        a++;
    }
    CHECK(a == used);
}

static void nack(const struct rtcp_pkt *p)
{
    static uint16_t seqs[17 * 16384];
    static struct rtcp_nack_item items[17 * 16384];
    size_t n = 0;
    struct rtcp_nack_item it;
    if (p->u.nack.n_items > 16384)
        return;
    for (unsigned i = 0; i < p->u.nack.n_items; i++) {
        CHECK(rtcp_pkt_nack_item(p, i, &it) == 0);
        n += rtcp_nack_unpack(&it, seqs + n);
    }
    size_t used = 0;
    size_t k = rtcp_nack_pack(seqs, n, items, sizeof(items) / sizeof(items[0]), &used);
    CHECK(used == n && k <= n);
    int len = rtcp_build_nack(out, sizeof(out), p->ssrc, p->media_ssrc, items, k);
    CHECK(k > 16000 || len == (int)(12 + 4 * k));
}

static void one(const struct rtcp_pkt *p)
{
    struct rtcp_report_block rb;
    CHECK(p->len % 4 == 0 && p->body_len + 4 <= p->len);
    switch (p->kind) {
    case RTCP_K_SR:
    case RTCP_K_RR:
        for (unsigned i = 0; i < p->count; i++)
            CHECK(rtcp_pkt_report_block(p, i, &rb) == 0);
        if (p->kind == RTCP_K_SR) {
            int len = rtcp_build_sr(out, sizeof(out), &p->u.sr.info, NULL, 0);
            CHECK(len == 28);
            memcpy(out + 1000, p->data, 28);
            CHECK(rtcp_sr_rewrite(out + 1000, 28, 5, 7) == 0);
        }
        break;
    case RTCP_K_SDES: {
        struct rtcp_sdes_iter si;
        struct rtcp_sdes_item item;
        rtcp_sdes_iter_init(p, &si);
        while (rtcp_sdes_next(&si, &item) == 1)
            CHECK((const uint8_t *)item.text + item.len <= p->data + 4 + p->body_len);
        break;
    }
    case RTCP_K_BYE:
        for (unsigned i = 0; i < p->u.bye.n_ssrcs; i++)
            (void)rtcp_pkt_ssrc(p, i);
        break;
    case RTCP_K_REMB: {
        for (unsigned i = 0; i < p->u.remb.n_ssrcs; i++)
            (void)rtcp_pkt_ssrc(p, i);
        int len = rtcp_build_remb(out, sizeof(out), 1, p->u.remb.bitrate, NULL, 0);
        struct rtcp_iter ri;
        struct rtcp_pkt q;
        rtcp_iter_init(&ri, out, (size_t)len);
        CHECK(rtcp_iter_next(&ri, &q) == 1 && q.kind == RTCP_K_REMB);
        CHECK(q.u.remb.bitrate <= p->u.remb.bitrate);
        break;
    }
    case RTCP_K_FIR:
        for (unsigned i = 0; i < p->u.fir.n_entries; i++) {
            uint32_t ssrc;
            uint8_t nr;
            CHECK(rtcp_pkt_fir_entry(p, i, &ssrc, &nr) == 0);
        }
        break;
    case RTCP_K_NACK:
        nack(p);
        break;
    case RTCP_K_TWCC:
        twcc(p);
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rtcp_iter it;
    struct rtcp_pkt p;
    int rc;
    size_t seen = 0;
    rtcp_iter_init(&it, data, size);
    while ((rc = rtcp_iter_next(&it, &p)) == 1) {
        CHECK(p.off == seen && p.off + p.len <= size);
        seen += p.len;
        one(&p);
    }
    CHECK(rc <= 0);
    CHECK(rtcp_iter_next(&it, &p) == 0);
    return 0;
}
