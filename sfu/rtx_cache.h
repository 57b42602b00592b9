/*
 * rtx_cache.h - retransmission cache of one published track: the last N (decrypted) RTP
 * packets by sequence number, to answer subscribers' NACKs (RFC 4585) with RTX
 * (RFC 4588) without asking the publisher.
 *
 * Memory is allocated once by rtx_cache_new: n_slots fixed-size slots of
 * RTX_CACHE_SLOT_SIZE bytes (n_slots a power of two; 1024 slots = 1.5 MiB holds over one
 * second of a 5 Mbit/s stream). put and get allocate nothing and take no lock: the
 * cache belongs to the worker thread of the track's meeting.
 *
 * Sequence numbers are extended to 32 bits relative to the highest stored one, so the
 * 65535 -> 0 wrap is seamless. A slot holds the packet whose extended seq maps to it;
 * storing a newer packet evicts the older one, so get() of an evicted, too old, or never
 * stored seq fails cleanly with -ENOENT. A seq far behind the window (more than 16384
 * older: the source restarted) resets the cache.
 */
#ifndef VM_SFU_RTX_CACHE_H
#define VM_SFU_RTX_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define RTX_CACHE_SLOT_SIZE 1500u

struct rtx_cache;

/* n_slots: power of two, 16..65536. max_age_us: packets older than this are not returned
 * (0 = no age limit). Returns NULL on bad arguments or out of memory. The caller owns
 * the cache and frees it with rtx_cache_free. */
struct rtx_cache *rtx_cache_new(size_t n_slots, uint64_t max_age_us);
void rtx_cache_free(struct rtx_cache *c); /* NULL is a no-op */

/* Forget everything (e.g. the publisher's SSRC changed). */
void rtx_cache_reset(struct rtx_cache *c);

/* Copy the len-byte packet with sequence number seq into its slot, stamped with now_us.
 * 0, -EMSGSIZE (len > RTX_CACHE_SLOT_SIZE or 0), or -ESTALE (older than the window). */
int rtx_cache_put(struct rtx_cache *c, uint16_t seq, const uint8_t *pkt, size_t len,
                  uint64_t now_us);

/* Find seq. 0 and *pkt, *len (pointing into the cache: valid until the next put or
 * reset; copy before writing), -ENOENT (never stored, evicted, out of the window) or
 * -ESTALE (stored more than max_age_us before now_us). */
int rtx_cache_get(const struct rtx_cache *c, uint16_t seq, uint64_t now_us,
                  const uint8_t **pkt, size_t *len);

size_t rtx_cache_slots(const struct rtx_cache *c);

#endif /* VM_SFU_RTX_CACHE_H */
