/*
 * rtcp.h - RTCP parsing and building (RFC 3550 SR/RR/SDES/BYE and receiver statistics,
 * RFC 4585 generic NACK and PLI, RFC 5104 FIR, draft-alvestrand-rmcat-remb REMB,
 * draft-holmer-rmcat-transport-wide-cc-extensions transport-cc feedback).
 *
 * Parsing: rtcp_iter walks a compound packet and yields one struct rtcp_pkt per RTCP
 * packet, with the type-specific fixed fields decoded and the variable-length lists
 * (report blocks, NACK items, FIR entries, SDES chunks, SSRC lists, transport-cc chunks)
 * left in place as pointers into the buffer, read through the accessors below. Each
 * packet is fully validated by rtcp_iter_next before it is returned, so the accessors
 * and sub-iterators cannot run past it. A rtcp_pkt borrows the buffer given to
 * rtcp_iter_init; it never owns memory.
 *
 * Building: every rtcp_build_* writes one RTCP packet into a caller buffer and returns
 * its length (a multiple of 4), or -ENOBUFS when it does not fit. Concatenate the
 * results to make a compound packet.
 *
 * No I/O, no clock, no allocation. Errors are negative errno values: -EBADMSG malformed,
 * -EPROTONOSUPPORT version is not 2, -ENOBUFS buffer too small, -EINVAL bad argument.
 */
#ifndef VM_SFU_RTCP_H
#define VM_SFU_RTCP_H

#include <stddef.h>
#include <stdint.h>

/* RTCP packet types */
enum {
    RTCP_PT_SR = 200,
    RTCP_PT_RR = 201,
    RTCP_PT_SDES = 202,
    RTCP_PT_BYE = 203,
    RTCP_PT_APP = 204,
    RTCP_PT_RTPFB = 205, /* transport-layer feedback (RFC 4585) */
    RTCP_PT_PSFB = 206,  /* payload-specific feedback (RFC 4585) */
    RTCP_PT_XR = 207,
};

/* Feedback message types (FMT) */
enum {
    RTCP_FMT_NACK = 1, /* RTPFB */
    RTCP_FMT_TWCC = 15, /* RTPFB */
    RTCP_FMT_PLI = 1,  /* PSFB */
    RTCP_FMT_FIR = 4,  /* PSFB */
    RTCP_FMT_AFB = 15, /* PSFB application layer feedback (REMB) */
};

enum rtcp_kind {
    RTCP_K_OTHER = 0, /* APP, XR, unknown types or FMTs: raw bytes only */
    RTCP_K_SR,
    RTCP_K_RR,
    RTCP_K_SDES,
    RTCP_K_BYE,
    RTCP_K_NACK,
    RTCP_K_TWCC,
    RTCP_K_PLI,
    RTCP_K_FIR,
    RTCP_K_REMB,
};

struct rtcp_report_block {
    uint32_t ssrc;          /* source this block reports on */
    uint8_t fraction_lost;  /* loss since the last report, in 1/256 */
    int32_t cum_lost;       /* cumulative number of packets lost (24-bit signed) */
    uint32_t ext_high_seq;  /* extended highest sequence number received */
    uint32_t jitter;        /* interarrival jitter, RTP timestamp units */
    uint32_t lsr;           /* middle 32 bits of the last SR's NTP time */
    uint32_t dlsr;          /* delay since the last SR, 1/65536 s */
};

struct rtcp_nack_item {
    uint16_t pid; /* lost packet id */
    uint16_t blp; /* bit i set: pid + i + 1 also lost */
};

struct rtcp_sr_info {
    uint32_t ssrc;
    uint64_t ntp;     /* 32.32 fixed point seconds since 1900 */
    uint32_t rtp_ts;
    uint32_t packets; /* sender's packet count */
    uint32_t octets;  /* sender's payload octet count */
};

/* Transport-cc feedback, fixed part (pointers into the packet). */
struct rtcp_twcc {
    uint16_t base_seq;     /* transport seq of the first packet described */
    uint16_t status_count; /* packets described (>= 1) */
    int32_t ref_time;      /* 24-bit signed, units of 64 ms */
    uint8_t fb_count;      /* feedback packet count */
    const uint8_t *chunks; /* packet status chunks (2 bytes each) */
    size_t n_chunks;
    const uint8_t *deltas; /* receive deltas */
    size_t deltas_len;
};

struct rtcp_pkt {
    enum rtcp_kind kind;
    uint8_t pt;
    uint8_t count;        /* RC / SC / FMT field */
    size_t off;           /* offset of this packet in the compound buffer */
    size_t len;           /* bytes, header and padding included: (length + 1) * 4 */
    const uint8_t *data;  /* = compound buffer + off (borrowed) */
    size_t body_len;      /* bytes after the 4-byte header, padding excluded */
    uint32_t ssrc;        /* sender SSRC (SR, RR, feedback); first SSRC of SDES/BYE; or 0 */
    uint32_t media_ssrc;  /* feedback: SSRC of the media source (0 for FIR, REMB) */
    union {
        struct {
            struct rtcp_sr_info info;
        } sr;             /* report blocks: rtcp_pkt_report_block, count = RC */
        struct {
            unsigned n_items;
        } nack;           /* rtcp_pkt_nack_item */
        struct {
            unsigned n_entries;
        } fir;            /* rtcp_pkt_fir_entry */
        struct {
            uint64_t bitrate; /* bits per second */
            unsigned n_ssrcs; /* rtcp_pkt_ssrc */
        } remb;
        struct {
            unsigned n_ssrcs; /* = count; rtcp_pkt_ssrc */
            const uint8_t *reason;
            uint8_t reason_len;
        } bye;
        struct rtcp_twcc twcc;
    } u;
};

struct rtcp_iter {
    const uint8_t *buf; /* borrowed */
    size_t len;
    size_t off;
};

void rtcp_iter_init(struct rtcp_iter *it, const uint8_t *buf, size_t len);

/* Next packet of the compound: 1 and *out filled, 0 at the end, or a negative error
 * (the iteration should stop: the rest of the compound cannot be trusted). Unknown
 * packet types and feedback formats come back as RTCP_K_OTHER, not as errors. */
int rtcp_iter_next(struct rtcp_iter *it, struct rtcp_pkt *out);

/* Report block i of an SR or RR (i < p->count). -EINVAL if out of range. */
int rtcp_pkt_report_block(const struct rtcp_pkt *p, unsigned i, struct rtcp_report_block *out);
/* NACK FCI item i (i < p->u.nack.n_items). */
int rtcp_pkt_nack_item(const struct rtcp_pkt *p, unsigned i, struct rtcp_nack_item *out);
/* FIR entry i: the SSRC asked for a keyframe and the command sequence number. */
int rtcp_pkt_fir_entry(const struct rtcp_pkt *p, unsigned i, uint32_t *ssrc, uint8_t *seq_nr);
/* SSRC i of a BYE or REMB list; 0 when out of range. */
uint32_t rtcp_pkt_ssrc(const struct rtcp_pkt *p, unsigned i);

/* SDES items, chunk by chunk. END items and chunk padding are skipped. */
struct rtcp_sdes_item {
    uint32_t ssrc;     /* SSRC/CSRC of the chunk */
    uint8_t type;      /* 1 CNAME, 2 NAME, ... */
    uint8_t len;
    const char *text;  /* not NUL-terminated, points into the packet */
};
struct rtcp_sdes_iter {
    const uint8_t *p;  /* packet start */
    size_t pos, end;
    unsigned chunks_left;
    uint32_t ssrc;
    int in_chunk;
};
void rtcp_sdes_iter_init(const struct rtcp_pkt *p, struct rtcp_sdes_iter *it);
/* 1 and *out filled, 0 at the end. The packet was validated, so it never fails. */
int rtcp_sdes_next(struct rtcp_sdes_iter *it, struct rtcp_sdes_item *out);

/* Transport-cc status of each packet described, in order. */
enum { RTCP_TWCC_NOT_RECEIVED = 0, RTCP_TWCC_SMALL_DELTA = 1, RTCP_TWCC_LARGE_DELTA = 2 };
struct rtcp_twcc_status {
    uint16_t seq;        /* transport-wide sequence number */
    uint8_t symbol;      /* RTCP_TWCC_* */
    int32_t delta;       /* receive delta, 250 us units (0 when not received) */
    int64_t arrival_us;  /* ref_time * 64 ms + running sum of deltas (when received) */
};
struct rtcp_twcc_iter {
    const struct rtcp_twcc *fb;
    size_t chunk;       /* index of the current chunk */
    unsigned in_chunk;  /* symbols of the current chunk already used */
    size_t delta_pos;
    unsigned done;      /* packets yielded */
    int64_t time_us;
};
void rtcp_twcc_iter_init(const struct rtcp_twcc *fb, struct rtcp_twcc_iter *it);
/* 1 and *out filled, 0 after status_count packets. Validated up front: never fails. */
int rtcp_twcc_next(struct rtcp_twcc_iter *it, struct rtcp_twcc_status *out);

/* ---- builders ---- */
int rtcp_build_sr(uint8_t *buf, size_t cap, const struct rtcp_sr_info *sr,
                  const struct rtcp_report_block *rb, unsigned n_rb);
int rtcp_build_rr(uint8_t *buf, size_t cap, uint32_t ssrc,
                  const struct rtcp_report_block *rb, unsigned n_rb);
/* One chunk with one CNAME item (len <= 255). */
int rtcp_build_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc, const char *cname, size_t len);
/* n <= 31 SSRCs, optional reason (NULL/0 for none, len <= 255). */
int rtcp_build_bye(uint8_t *buf, size_t cap, const uint32_t *ssrcs, unsigned n,
                   const char *reason, size_t reason_len);
int rtcp_build_pli(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc);
int rtcp_build_fir(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                   uint8_t seq_nr);
int rtcp_build_nack(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                    const struct rtcp_nack_item *items, size_t n);
/* REMB: bitrate as 6-bit exponent + 18-bit mantissa (rounded down); n <= 255 SSRCs. */
int rtcp_build_remb(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint64_t bitrate,
                    const uint32_t *ssrcs, unsigned n);

/* Received packets for a transport-cc feedback, in increasing (wrap-aware) seq order. */
struct rtcp_twcc_arrival {
    uint16_t seq;
    int64_t arrival_us; /* any monotonic microsecond clock, >= 0 */
};
/* Build one transport-cc feedback describing arr[0..n): packets between received ones
 * are reported lost. Writes as many arrivals as fit in cap and in one packet (a gap
 * larger than 8.19 s between arrivals, or a seq range over 65535, also ends it) and
 * sets *consumed to how many were used; the caller sends the rest in the next
 * feedback. Uses the RTCP padding bit when the length is not a multiple of 4, so send
 * it alone or last in a compound. Returns the length, -ENOBUFS if not even one arrival
 * fits, -EINVAL for n == 0 or an arrival time before the previous one. */
int rtcp_build_twcc(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                    uint8_t fb_count, const struct rtcp_twcc_arrival *arr, size_t n,
                    size_t *consumed);
/* The same with the first status at base_seq (a receiver's feedback, section 3.1: base_seq is
 * the first packet not described by its previous feedback), so that packets lost before the
 * first arrival are reported too. arr[0].seq must be base_seq or after it (less than 32768
 * on); -EINVAL otherwise. */
int rtcp_build_twcc_from(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                         uint8_t fb_count, uint16_t base_seq, const struct rtcp_twcc_arrival *arr,
                         size_t n, size_t *consumed);

/* ---- NACK helpers ---- */
/* Pack lost sequence numbers (increasing, wrap-aware; duplicates allowed) into FCI
 * items. Returns the number of items written (<= max_items); *consumed (may be NULL) is
 * set to how many seqs they cover, so a caller with few items can send the rest later. */
size_t rtcp_nack_pack(const uint16_t *seqs, size_t n, struct rtcp_nack_item *items,
                      size_t max_items, size_t *consumed);
/* The seqs of one item, in order, into out[0..17). Returns how many (1..17). */
unsigned rtcp_nack_unpack(const struct rtcp_nack_item *item, uint16_t out[17]);

/* ---- rewriting ---- */
/* Rewrite an SR in place for a subscriber: sender SSRC := new_ssrc and RTP timestamp +=
 * ts_delta (the rewrite offset of the forwarded track). pkt/len are one SR packet (e.g.
 * scratch + p.off, p.len). Report blocks are left alone. 0, -EINVAL (not an SR) or
 * -EBADMSG (too short). */
int rtcp_sr_rewrite(uint8_t *pkt, size_t len, uint32_t new_ssrc, uint32_t ts_delta);

/* ---- time ---- */
/* NTP 32.32 timestamp for a Unix time in microseconds. */
uint64_t rtcp_ntp_from_unix_us(uint64_t unix_us);
/* Middle 32 bits of an NTP timestamp (the LSR field). */
static inline uint32_t rtcp_ntp_mid32(uint64_t ntp)
{
    return (uint32_t)(ntp >> 16);
}

/* ---- receiver statistics (RFC 3550 A.1, A.3, A.8) ----
 * One per received source. Feed every packet (after SRTP unprotect) with its arrival
 * time converted to the source's RTP clock; call rtcp_rx_stats_report when building an
 * RR/SR to get the report block (this also starts the next loss interval). */
struct rtcp_rx_stats {
    uint32_t ssrc;
    int started;
    uint16_t max_seq;      /* highest seq seen */
    uint32_t cycles;       /* seq wrap count, shifted left 16 */
    uint32_t base_seq;     /* first seq */
    uint32_t bad_seq;      /* candidate seq after a large jump (RFC 3550 A.1) */
    uint32_t received;
    uint32_t expected_prior;
    uint32_t received_prior;
    uint32_t transit;      /* previous arrival - rtp_ts */
    uint32_t jitter_q4;    /* jitter * 16 */
    uint32_t last_sr_mid;  /* LSR */
    uint64_t last_sr_at_us;/* when the last SR arrived (caller's clock) */
};

void rtcp_rx_stats_init(struct rtcp_rx_stats *s, uint32_t ssrc);
void rtcp_rx_stats_update(struct rtcp_rx_stats *s, uint16_t seq, uint32_t rtp_ts,
                          uint32_t arrival_rtp);
/* An SR from this source arrived at now_us (caller's monotonic clock). */
void rtcp_rx_stats_on_sr(struct rtcp_rx_stats *s, uint64_t sr_ntp, uint64_t now_us);
/* Fill a report block at now_us (same clock as on_sr) and start a new interval. */
void rtcp_rx_stats_report(struct rtcp_rx_stats *s, uint64_t now_us,
                          struct rtcp_report_block *out);

#endif /* VM_SFU_RTCP_H */
