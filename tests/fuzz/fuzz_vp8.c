/*
 * fuzz_vp8.c - libFuzzer target for the VP8 payload descriptor: rtp_vp8_parse (sfu/rtp.c) on
 * every input, and sfu/vp8_munge.c on a sequence of packets cut from the input. Each packet is
 * [control][length][bytes]: the control byte picks the source (low 2 bits) and whether the SFU
 * forwards or drops it (bit 2); a packet forwarded goes again (vp8_munge_again) with the same
 * numbers. Invariants that must hold for any input are checked with __builtin_trap() so a
 * violation is a crash, not a silent pass.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sfu/rtp.h"
#include "sfu/vp8_munge.h"

#define CHECK(x)              \
    do {                      \
        if (!(x))             \
            __builtin_trap(); \
    } while (0)

static void check_parse(const uint8_t *p, size_t len, struct rtp_vp8 *d)
{
    CHECK(d->desc_len >= 1 && d->desc_len < len);
    CHECK(!d->has_picid || (d->picid_off < d->desc_len && (d->picid_bits == 7 || d->picid_bits == 15)));
    CHECK(!d->has_picid || d->picid <= (d->picid_bits == 15 ? 0x7fff : 0x7f));
    CHECK(!d->has_tl0 || (d->tl0_off < d->desc_len && p[d->tl0_off] == d->tl0picidx));
    CHECK(!(d->has_tid || d->has_keyidx) || d->tk_off < d->desc_len);
    CHECK(d->tid <= 3 && d->keyidx <= 31);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rtp_vp8 d;
    if (rtp_vp8_parse(data, size, &d) == 0)
        check_parse(data, size, &d);

    struct vp8_munge m;
    vp8_munge_init(&m);
    size_t off = 0;
    while (off + 2 <= size) {
        uint8_t ctl = data[off], n = data[off + 1];
        off += 2;
        if (n > size - off)
            n = (uint8_t)(size - off);
        uint8_t pkt[256], before[256];
        memcpy(pkt, data + off, n);
        memcpy(before, pkt, n);
        off += n;
        if (rtp_vp8_parse(pkt, n, &d) != 0)
            continue;
        check_parse(pkt, n, &d);
        if (ctl & 4) {
            vp8_munge_drop(&m, ctl & 3, &d);
            continue;
        }
        if (vp8_munge_forward(&m, ctl & 3, pkt, n, &d) != 0)
            continue;
        struct rtp_vp8 o;
        CHECK(rtp_vp8_parse(pkt, n, &o) == 0); /* still a descriptor, of the same shape */
        CHECK(o.desc_len == d.desc_len && o.has_picid == d.has_picid && o.picid_bits == d.picid_bits);
        CHECK(o.has_tl0 == d.has_tl0 && o.tid == d.tid && o.layer_sync == d.layer_sync);
        CHECK(o.start == d.start && o.pid == d.pid && o.non_ref == d.non_ref && o.keyframe == d.keyframe);
        CHECK(memcmp(pkt + d.desc_len, before + d.desc_len, n - d.desc_len) == 0); /* payload untouched */
        CHECK(pkt[0] == before[0]);
        CHECK(m.n_seg <= VP8_MUNGE_HISTORY);
        /* the same packet again (a retransmission) goes with the same numbers, m unchanged */
        uint8_t again[256];
        struct vp8_munge kept;
        memcpy(&kept, &m, sizeof(m));
        memcpy(again, before, n);
        CHECK(vp8_munge_again(&m, ctl & 3, again, n, &d) == 0);
        CHECK(memcmp(again, pkt, n) == 0);
        CHECK(memcmp(&kept, &m, sizeof(m)) == 0);
    }
    return 0;
}
