/* test_rtcp_captured.c - sfu/rtcp.c on RTCP packets captured from Chromium 156 through the SFU
 * (decrypted SRTCP, tests/data/rtcp/chromium-*.bin): a publisher's SR + SDES, and a receiver's
 * reduced-size (rtcp-rsize) RR, NACK, NACK + REMB and RR + REMB. The expected values were read
 * from the same bytes with an independent decoder written from RFC 3550/4585 and the REMB draft.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sfu/rtcp.h"

static size_t load(const char *name, uint8_t *buf, size_t cap)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/rtcp/%s", VM_TEST_DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    assert_true(n > 0 && n < cap);
    return n;
}

/* Iterates buf into pkts[]; returns the count and checks the iteration ended cleanly. */
static size_t parse_all(const uint8_t *buf, size_t len, struct rtcp_pkt *pkts, size_t max)
{
    struct rtcp_iter it;
    size_t n = 0;
    int rc;
    rtcp_iter_init(&it, buf, len);
    while (n < max && (rc = rtcp_iter_next(&it, &pkts[n])) > 0)
        n++;
    assert_int_equal(rtcp_iter_next(&it, &pkts[n < max ? n : max - 1]), 0);
    return n;
}

static void test_sr_sdes(void **state)
{
    (void)state;
    uint8_t buf[256];
    struct rtcp_pkt p[4];
    size_t len = load("chromium-sr-sdes.bin", buf, sizeof(buf));
    assert_int_equal(len, 56);
    assert_int_equal(parse_all(buf, len, p, 4), 2);
    assert_int_equal(p[0].kind, RTCP_K_SR);
    assert_int_equal(p[0].count, 0);
    assert_int_equal(p[0].ssrc, 1463701279u);
    assert_true(p[0].u.sr.info.ntp == 17200607674617198230ull);
    assert_int_equal(p[0].u.sr.info.rtp_ts, 1180772727u);
    assert_int_equal(p[0].u.sr.info.packets, 25);
    assert_int_equal(p[0].u.sr.info.octets, 10675);
    assert_int_equal(p[1].kind, RTCP_K_SDES);
    assert_int_equal(p[1].off, 28);
    struct rtcp_sdes_iter it;
    struct rtcp_sdes_item item;
    rtcp_sdes_iter_init(&p[1], &it);
    assert_int_equal(rtcp_sdes_next(&it, &item), 1);
    assert_int_equal(item.ssrc, 1463701279u);
    assert_int_equal(item.type, 1);
    assert_int_equal(item.len, 16);
    assert_memory_equal(item.text, "SlC2n24OhyoClEYk", 16);
    assert_int_equal(rtcp_sdes_next(&it, &item), 0);
}

static void test_rr(void **state)
{
    (void)state;
    uint8_t buf[256];
    struct rtcp_pkt p[4];
    size_t len = load("chromium-rr.bin", buf, sizeof(buf));
    assert_int_equal(parse_all(buf, len, p, 4), 1);
    assert_int_equal(p[0].kind, RTCP_K_RR);
    assert_int_equal(p[0].ssrc, 1);
    assert_int_equal(p[0].count, 1);
    struct rtcp_report_block rb;
    assert_int_equal(rtcp_pkt_report_block(&p[0], 0, &rb), 0);
    assert_int_equal(rb.ssrc, 308801262u);
    assert_int_equal(rb.fraction_lost, 0);
    assert_int_equal(rb.cum_lost, 0);
    assert_int_equal(rb.ext_high_seq, 5943);
    assert_int_equal(rb.jitter, 47);
    assert_int_equal(rb.lsr, 0);
    assert_int_equal(rb.dlsr, 0);
    assert_int_equal(rtcp_pkt_report_block(&p[0], 1, &rb), -EINVAL);
}

static void check_remb(const struct rtcp_pkt *p)
{
    assert_int_equal(p->kind, RTCP_K_REMB);
    assert_int_equal(p->ssrc, 1);
    assert_int_equal(p->u.remb.bitrate, 161678);
    assert_int_equal(p->u.remb.n_ssrcs, 2);
    assert_int_equal(rtcp_pkt_ssrc(p, 0), 308801262u);
    assert_int_equal(rtcp_pkt_ssrc(p, 1), 3308695571u);
}

static void test_nack_and_remb(void **state)
{
    (void)state;
    uint8_t buf[256];
    struct rtcp_pkt p[4];
    struct rtcp_nack_item item;
    uint16_t seqs[17];
    size_t len = load("chromium-nack.bin", buf, sizeof(buf));
    assert_int_equal(parse_all(buf, len, p, 4), 1); /* reduced size: a NACK alone */
    assert_int_equal(p[0].kind, RTCP_K_NACK);
    assert_int_equal(p[0].media_ssrc, 308801262u);
    assert_int_equal(p[0].u.nack.n_items, 1);
    assert_int_equal(rtcp_pkt_nack_item(&p[0], 0, &item), 0);
    assert_int_equal(item.pid, 5945);
    assert_int_equal(item.blp, 0);
    assert_int_equal(rtcp_nack_unpack(&item, seqs), 1);
    assert_int_equal(seqs[0], 5945);

    len = load("chromium-nack-remb.bin", buf, sizeof(buf));
    assert_int_equal(parse_all(buf, len, p, 4), 2);
    assert_int_equal(p[0].kind, RTCP_K_NACK);
    assert_int_equal(rtcp_pkt_nack_item(&p[0], 0, &item), 0);
    assert_int_equal(item.pid, 6064);
    check_remb(&p[1]);
}

static void test_rr_remb(void **state)
{
    (void)state;
    uint8_t buf[256];
    struct rtcp_pkt p[4];
    size_t len = load("chromium-rr-remb.bin", buf, sizeof(buf));
    assert_int_equal(parse_all(buf, len, p, 4), 2);
    assert_int_equal(p[0].kind, RTCP_K_RR);
    assert_int_equal(p[0].count, 2);
    struct rtcp_report_block rb;
    assert_int_equal(rtcp_pkt_report_block(&p[0], 1, &rb), 0);
    assert_int_equal(rb.ssrc, 308801262u);
    assert_int_equal(rb.fraction_lost, 25);
    assert_int_equal(rb.cum_lost, 5);
    assert_int_equal(rb.ext_high_seq, 6065);
    assert_int_equal(rb.jitter, 72);
    assert_int_equal(rb.lsr, 3582945894u);
    assert_int_equal(rb.dlsr, 86641);
    check_remb(&p[1]);
}

/* Every truncation of a captured compound is refused or ends early, never read past. */
static void test_truncations(void **state)
{
    (void)state;
    static const char *const files[] = {"chromium-sr-sdes.bin", "chromium-rr-remb.bin", "chromium-nack-remb.bin"};
    for (size_t f = 0; f < 3; f++) {
        uint8_t buf[256];
        size_t len = load(files[f], buf, sizeof(buf));
        for (size_t cut = 1; cut < len; cut++) {
            struct rtcp_iter it;
            struct rtcp_pkt p;
            rtcp_iter_init(&it, buf, cut);
            int rc;
            size_t seen = 0;
            while ((rc = rtcp_iter_next(&it, &p)) > 0) {
                assert_true(p.off + p.len <= cut);
                seen++;
            }
            if (cut % 4 != 0)
                assert_true(rc < 0 || seen < 2);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sr_sdes),       cmocka_unit_test(test_rr),
        cmocka_unit_test(test_nack_and_remb), cmocka_unit_test(test_rr_remb),
        cmocka_unit_test(test_truncations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
