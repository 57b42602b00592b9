/* dcep.h - the data channels of one SCTP association, as the SFU sees them: DCEP (RFC 8832)
 * DATA_CHANNEL_OPEN / DATA_CHANNEL_ACK, which stream carries which channel (RFC 8831 §6.5), and
 * the limits on what one participant may send (channels, message size, messages per second).
 *
 * Pure: bytes, the stream id, the payload protocol identifier (PPID) and `now` in; a verdict out.
 * No allocation, no clock, no I/O, no locks. One dc_state per association (per participant),
 * embedded by its owner (sfu/sctp.c), used by one thread; nothing to free.
 *
 *   dc_verdict v = dc_input(&st, sid, ppid, buf, len, now_us);
 *   DC_ACK:     a DATA_CHANNEL_OPEN was accepted: send dcep_ack (PPID 50) on `sid`.
 *   DC_DELIVER: an application message of the open channel v.channel: relay it.
 *   DC_DROP:    nothing to do; v.reason says why (counted by the caller). Never fatal.
 *
 * Channels: the peer opens them (the SFU never does). Its stream ids have the parity of its DTLS
 * role (RFC 8832 §6: the DTLS client uses even ids, the server odd); an OPEN of the other parity,
 * of an id already open, or beyond DC_MAX_CHANNELS open channels is dropped (the caller may
 * reset that stream). A stream reset by the peer closes its channel (dc_close).
 *
 * Messages: only WebRTC String (PPID 51) is relayed; DCEP (50) is parsed here; the rest (binary,
 * empty, the deprecated partial PPIDs) is dropped. A message must fit DC_MAX_MESSAGE bytes and
 * pass the per-association token bucket (DC_RATE_PER_S, bursts of DC_RATE_BURST).
 */
#ifndef VM_SFU_DCEP_H
#define VM_SFU_DCEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DCEP_PPID 50u
#define DC_PPID_STRING 51u
#define DC_PPID_BINARY 53u
#define DC_PPID_STRING_EMPTY 56u
#define DC_PPID_BINARY_EMPTY 57u

#define DCEP_OPEN 0x03
#define DCEP_ACK 0x02
#define DCEP_OPEN_HEADER 12

#define DC_MAX_CHANNELS 4      /* open channels per association */
#define DC_MAX_LABEL 64        /* bytes of a channel label */
#define DC_MAX_MESSAGE 4096    /* bytes of an application message (also the SDP max-message-size) */
#define DC_RATE_PER_S 10       /* application messages per second per association ... */
#define DC_RATE_BURST 20       /* ... in bursts of at most this many */

/* A parsed DATA_CHANNEL_OPEN; label and protocol point into the parsed buffer. */
typedef struct {
    uint8_t channel_type;  /* 0x00 reliable, 0x80 unordered, 0x01/0x81 rexmit, 0x02/0x82 timed */
    uint16_t priority;
    uint32_t reliability;
    const uint8_t *label;
    size_t label_len;
    const uint8_t *protocol;
    size_t protocol_len;
} dcep_open;

typedef enum {
    DC_DROP_MALFORMED,     /* DCEP that does not parse, an unexpected ACK, an OPEN of a used/wrong id */
    DC_DROP_TOO_LARGE,     /* an application message over DC_MAX_MESSAGE */
    DC_DROP_RATE,          /* over the token bucket */
    DC_DROP_CHANNELS,      /* an OPEN beyond DC_MAX_CHANNELS */
    DC_DROP_UNKNOWN_STREAM,/* an application message on a stream with no open channel */
    DC_DROP_PPID,          /* a payload protocol the SFU does not relay */
    DC_DROP_REASONS
} dc_drop_reason;

typedef struct {
    bool used;
    uint16_t sid;
    uint8_t channel_type;
    char label[DC_MAX_LABEL + 1]; /* NUL-terminated; a label with a NUL byte is refused */
} dc_channel;

typedef struct {
    dc_channel ch[DC_MAX_CHANNELS];
    bool peer_even;        /* the peer's stream ids are even (it is the DTLS client) */
    uint32_t tokens_milli; /* token bucket, in thousandths of a message */
    int64_t last_us;
    bool started;
} dc_state;

typedef enum { DC_ACK = 1, DC_DELIVER, DC_DROP } dc_verdict_kind;

typedef struct {
    dc_verdict_kind kind;
    dc_drop_reason reason;     /* DC_DROP */
    const dc_channel *channel; /* DC_ACK, DC_DELIVER: points into the dc_state */
} dc_verdict;

/* Parses a DATA_CHANNEL_OPEN. Returns 0, or -EBADMSG (too short, another type, lengths that do not
 * match the buffer exactly). */
int dcep_parse_open(const uint8_t *buf, size_t len, dcep_open *out);
/* Writes a DATA_CHANNEL_OPEN for label (reliable, ordered, no protocol) into out. Returns its
 * length, or -EMSGSIZE when cap is too small or the label too long. (The SFU does not open
 * channels; tests and the bench's malformed-input mode use it.) */
int dcep_build_open(uint8_t *out, size_t cap, const char *label);
/* The one byte of a DATA_CHANNEL_ACK. */
extern const uint8_t dcep_ack[1];

/* peer_even: the peer is the DTLS client (its channels have even stream ids). */
void dc_init(dc_state *st, bool peer_even);
dc_verdict dc_input(dc_state *st, uint16_t sid, uint32_t ppid, const uint8_t *buf, size_t len, int64_t now_us);
/* A channel we opened ourselves on sid (after sending DATA_CHANNEL_OPEN): messages on it are
 * delivered like those of the peer's channels. (The SFU opens none: tools and tests do.) Returns 0,
 * -EEXIST, -ENOSPC (DC_MAX_CHANNELS), -EINVAL (label too long). */
int dc_add(dc_state *st, uint16_t sid, const char *label);
/* The peer reset stream sid: its channel is closed (no-op when none is open on it). */
void dc_close(dc_state *st, uint16_t sid);
/* The open channel labelled label, or NULL. */
const dc_channel *dc_find(const dc_state *st, const char *label);
/* Open channels. */
size_t dc_count(const dc_state *st);
const char *dc_drop_name(dc_drop_reason r);

#endif
