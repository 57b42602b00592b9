/*
 * rtx_cache.c - fixed-slot retransmission cache. See rtx_cache.h.
 *
 * Layout: one allocation holding the header, n_slots slot descriptors and
 * n_slots * RTX_CACHE_SLOT_SIZE bytes of packet storage. Slot index = extended seq &
 * (n_slots - 1). The window of retrievable seqs is (highest - n_slots, highest]; a slot
 * answers a lookup only if its stored extended seq equals the requested one, which is
 * what makes eviction and "never stored" fail cleanly.
 */
#include "sfu/rtx_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/rtp.h" /* rtp_seq_unwrap */

#define RTX_RESTART_GAP 0x4000u /* this far behind the window = the source restarted */

struct rtx_slot {
    uint32_t ext;     /* extended seq stored here */
    uint16_t len;     /* 0 = empty */
    uint64_t at_us;   /* when stored */
};

struct rtx_cache {
    size_t n;         /* slots, power of two */
    uint64_t max_age_us;
    int started;
    uint32_t highest; /* highest extended seq stored */
    struct rtx_slot *slot;
    uint8_t *data;    /* n * RTX_CACHE_SLOT_SIZE */
};

struct rtx_cache *rtx_cache_new(size_t n_slots, uint64_t max_age_us)
{
    if (n_slots < 16 || n_slots > 65536 || (n_slots & (n_slots - 1)) != 0)
        return NULL;
    size_t meta = sizeof(struct rtx_cache) + n_slots * sizeof(struct rtx_slot);
    meta = (meta + 63) & ~(size_t)63;
    struct rtx_cache *c = malloc(meta + n_slots * RTX_CACHE_SLOT_SIZE);
    if (!c)
        return NULL;
    c->n = n_slots;
    c->max_age_us = max_age_us;
    c->slot = (struct rtx_slot *)(c + 1);
    c->data = (uint8_t *)c + meta;
    rtx_cache_reset(c);
    return c;
}

void rtx_cache_free(struct rtx_cache *c)
{
    free(c);
}

void rtx_cache_reset(struct rtx_cache *c)
{
    c->started = 0;
    c->highest = 0;
    memset(c->slot, 0, c->n * sizeof(struct rtx_slot));
}

size_t rtx_cache_slots(const struct rtx_cache *c)
{
    return c->n;
}

int rtx_cache_put(struct rtx_cache *c, uint16_t seq, const uint8_t *pkt, size_t len,
                  uint64_t now_us)
{
    if (len == 0 || len > RTX_CACHE_SLOT_SIZE || !pkt)
        return -EMSGSIZE;
    uint32_t ext;
    if (!c->started) {
        ext = 0x10000u + seq; /* second cycle: late packets never underflow */
        c->highest = ext;
        c->started = 1;
    } else {
        ext = rtp_seq_unwrap(c->highest, seq);
        uint32_t behind = c->highest - ext;
        if ((int32_t)behind > 0 && behind >= c->n) {
            if (behind < RTX_RESTART_GAP)
                return -ESTALE;
            rtx_cache_reset(c);
            ext = 0x10000u + seq;
            c->started = 1;
            c->highest = ext;
        }
        if ((int32_t)(ext - c->highest) > 0)
            c->highest = ext;
    }
    struct rtx_slot *s = &c->slot[ext & (c->n - 1)];
    s->ext = ext;
    s->len = (uint16_t)len;
    s->at_us = now_us;
    memcpy(c->data + (size_t)(ext & (c->n - 1)) * RTX_CACHE_SLOT_SIZE, pkt, len);
    return 0;
}

int rtx_cache_get(const struct rtx_cache *c, uint16_t seq, uint64_t now_us,
                  const uint8_t **pkt, size_t *len)
{
    if (!c->started)
        return -ENOENT;
    uint32_t ext = rtp_seq_unwrap(c->highest, seq);
    uint32_t behind = c->highest - ext;
    if ((int32_t)behind < 0 || behind >= c->n)
        return -ENOENT;
    const struct rtx_slot *s = &c->slot[ext & (c->n - 1)];
    if (s->len == 0 || s->ext != ext)
        return -ENOENT;
    if (c->max_age_us && now_us > s->at_us && now_us - s->at_us > c->max_age_us)
        return -ESTALE;
    *pkt = c->data + (size_t)(ext & (c->n - 1)) * RTX_CACHE_SLOT_SIZE;
    *len = s->len;
    return 0;
}
