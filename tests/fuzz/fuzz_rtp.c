/*
 * fuzz_rtp.c - libFuzzer target for sfu/rtp.[ch] (and the per-packet users of a parsed
 * view: rewrite, RTX wrap/unwrap, the retransmit cache). Every parse result is walked
 * in full, every writer is run on a copy, and invariants that must hold for any input
 * are checked with __builtin_trap() so a violation is a crash, not a silent pass.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sfu/rewrite.h"
#include "sfu/rtp.h"
#include "sfu/rtx_cache.h"

#define CHECK(x)                  \
    do {                          \
        if (!(x))                 \
            __builtin_trap();     \
    } while (0)

static void walk_extensions(const struct rtp_view *v, uint8_t *copy)
{
    struct rtp_ext_iter it;
    struct rtp_ext e;
    int rc, n = 0;
    rtp_ext_iter_init(v, &it);
    while ((rc = rtp_ext_next(v, &it, &e)) == 1) {
        CHECK(e.off >= v->ext_off && e.off + e.len <= v->ext_off + v->ext_len);
        struct rtp_ext f;
        CHECK(rtp_ext_find(v, e.id, &f) == 0 && f.id == e.id);
        if (e.len >= 2)
            CHECK(rtp_ext_set_u16(copy, v, e.id, 0x1234) == 0 || f.off != e.off);
        n++;
    }
    CHECK(rc <= 0 && (size_t)n <= v->ext_len);
    uint8_t map[256];
    for (int i = 0; i < 256; i++)
        map[i] = (uint8_t)((i * 7) % 15);
    (void)rtp_ext_remap(copy, v, map);
    (void)rtp_ext_set_id(copy, v, 3, 5);
}

static void codecs(const struct rtp_view *v)
{
    struct rtp_vp8 d;
    const uint8_t *pl = rtp_payload(v);
    if (rtp_vp8_parse(pl, v->payload_len, &d) == 0) {
        CHECK(d.desc_len >= 1 && d.desc_len < v->payload_len);
        if (d.has_picid)
            CHECK(d.picid_off < d.desc_len);
        if (d.has_tl0)
            CHECK(d.tl0_off < d.desc_len && pl[d.tl0_off] == d.tl0picidx);
    }
    int k = rtp_h264_is_keyframe(pl, v->payload_len);
    CHECK(k == 0 || k == 1 || k < 0);
}

static void rtx_roundtrip(const struct rtp_view *v)
{
    static uint8_t out[RTP_MAX_PACKET + 2 + 65536];
    int n = rtp_rtx_wrap(out, sizeof(out), v, 97, 1, 2);
    if (n < 0)
        return;
    CHECK((size_t)n == v->payload_off + 2 + v->payload_len);
    n = rtp_rtx_unwrap(out, (size_t)n, v->pt, v->ssrc);
    if (n < 0)
        return;
    struct rtp_view w;
    CHECK(rtp_parse(&w, out, (size_t)n) == 0);
    CHECK(w.seq == v->seq && w.ssrc == v->ssrc && w.pt == v->pt && w.ts == v->ts);
    CHECK(w.payload_len == v->payload_len);
    CHECK(memcmp(rtp_payload(&w), rtp_payload(v), v->payload_len) == 0);
}

static void forward(const struct rtp_view *v, uint8_t *copy)
{
    static struct rewrite rw;
    static struct rtx_cache *cache;
    static uint64_t now;
    if (!cache) {
        cache = rtx_cache_new(64, 0);
        rewrite_init(&rw, 0xabcdef, 90000);
    }
    now += 1000;
    const uint8_t *got;
    size_t len;
    if (rtx_cache_put(cache, v->seq, v->pkt, v->len, now) == 0) {
        CHECK(rtx_cache_get(cache, v->seq, now, &got, &len) == 0);
        CHECK(len == v->len && memcmp(got, v->pkt, len) == 0);
    }
    if (v->marker)
        (void)rewrite_skip(&rw, v->ssrc, v->seq);
    else if (rewrite_apply(&rw, copy, v, now) == 0) {
        struct rtp_view w;
        CHECK(rtp_parse(&w, copy, v->len) == 0 && w.ssrc == 0xabcdef);
        uint16_t src;
        if (rewrite_nack_to_source(&rw, w.seq, &src) == 0)
            CHECK(src == v->seq);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t copy[65536];
    if (size > sizeof(copy))
        return 0;
    (void)rtp_demux(data, size);
    struct rtp_view v;
    if (rtp_parse(&v, data, size) != 0)
        return 0;
    CHECK(v.payload_off + v.payload_len + v.pad_len == size);
    for (unsigned i = 0; i < v.cc; i++)
        (void)rtp_csrc(&v, i);
    memcpy(copy, data, size);
    walk_extensions(&v, copy);
    codecs(&v);
    rtx_roundtrip(&v);
    memcpy(copy, data, size);
    forward(&v, copy);
    return 0;
}
