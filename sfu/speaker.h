/*
 * speaker.h - who is the dominant speaker of a meeting, from the audio levels its publishers send
 * (RFC 6464 client-to-mixer audio level header extension), and the order of the recent speakers.
 *
 * The caller (the room, on its worker) gives each audio publisher a slot (speaker_add), feeds the
 * level of every new audio packet of it (speaker_level: O(1), no allocation), and calls
 * speaker_decide often (every tick); every SPEAKER_INTERVAL_US the detector decides, and
 * speaker_decide says whether the order of recent speakers changed (then read it with
 * speaker_recent).
 *
 * The measure. RFC 6464 carries the level of each packet as 0..127 -dBov (0 the loudest, 127
 * digital silence) and an optional voice-activity bit, which not every sender sets (it is ignored
 * here: the level alone decides, so every sender is judged alike). A packet's activity is 0 at
 * SPEAKER_FLOOR_DBOV and quieter (room noise, a muted microphone), 1 at SPEAKER_FULL_DBOV and
 * louder (a voice near its microphone), linear between; it counts for the time its RTP timestamp
 * advanced over the slot's previous packet (at most SPEAKER_PACKET_MAX_US; arrival times would
 * undercount a burst of packets that arrives late together), so a sender that stops sending while
 * silent (DTX) counts as silent, and a 20 ms or 60 ms packetization count alike. The result, seconds of
 * speech, goes into bins of SPEAKER_BIN_US per slot; the last SPEAKER_WINDOW_BINS of them (1.2 s)
 * are its speech over the window ("has it been speaking for a while?"), the last SPEAKER_LATE_BINS
 * (0.6 s) its recent speech ("is it still speaking?"). A sliding window rather than an exponential
 * average: what happened more than a window ago weighs nothing, so a turn is seen at a bounded time.
 *
 * The decision, with hysteresis. A candidate (the slot other than the dominant one with the
 * most speech over the window) becomes the dominant speaker when
 *   - it spoke at least SPEAKER_MIN_SPEECH_US of the window: a cough, a laugh or a door (one loud
 *     burst of up to 0.4 s) does not; and SPEAKER_MIN_LATE_US of the recent bins (it is still
 *     speaking, not a turn that ended meanwhile), and
 *   - the dominant speaker has stopped (less than SPEAKER_QUIET_LATE_US of speech in the recent
 *     bins), or the candidate spoke SPEAKER_MARGIN_US more than it over the window (it is clearly
 *     outspoken). Two people speaking at once therefore do not make it flap, while a real turn
 *     (the dominant speaker stops, another goes on) switches within about a second: 0.5-0.6 s for
 *     the old one to count as stopped and the new one to reach the minimum, plus up to one
 *     decision interval.
 * With no dominant speaker (at the start, or after it left), the first candidate over the minimum
 * becomes it. Nobody speaking changes nothing: the last dominant speaker stays until someone else
 * speaks (what meeting apps show).
 *
 * The order of recent speakers: the dominant speaker first, then the ones before it, most recent
 * first, each once, at most SPEAKER_RECENT. It changes only when the dominant speaker changes or a
 * slot in it is removed (then the next one in it is the dominant speaker).
 *
 * Pure: no clock (now_us is any monotonic microsecond clock of the caller's), no I/O, no allocation
 * (the detector is one struct of fixed size; the caller embeds or allocates it). One thread.
 * Capacity: SPEAKER_MAX slots; a publisher that finds none is simply never a speaker.
 */
#ifndef VM_SFU_SPEAKER_H
#define VM_SFU_SPEAKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPEAKER_MAX 64                /* slots (audio publishers) per detector */
#define SPEAKER_RECENT 8              /* length of the recent-speakers order */
#define SPEAKER_ID_MAX 32             /* bytes of an id, NUL included */
#define SPEAKER_INTERVAL_US 300000    /* between two decisions */
#define SPEAKER_FLOOR_DBOV 70         /* -70 dBov and quieter: no activity */
#define SPEAKER_FULL_DBOV 30          /* -30 dBov and louder: full activity */
#define SPEAKER_PACKET_MAX_US 120000  /* the most time one packet counts for (Opus: 120 ms) */
#define SPEAKER_BIN_US 100000         /* speech is counted in bins of this */
#define SPEAKER_WINDOW_BINS 12        /* the window: 1.2 s */
#define SPEAKER_LATE_BINS 6           /* its recent part: 0.6 s */
#define SPEAKER_MIN_SPEECH_US 500000  /* speech over the window a new dominant speaker needs ... */
#define SPEAKER_MIN_LATE_US 200000    /* ... and over the recent part */
#define SPEAKER_QUIET_LATE_US 100000  /* ... and the dominant one spoke less than this recently, */
#define SPEAKER_MARGIN_US 400000      /* or this much less than the candidate over the window */

typedef struct {
    bool used;
    char id[SPEAKER_ID_MAX];
    int64_t last_us;      /* arrival of the last packet (0: none yet) */
    uint32_t last_ts;     /* the highest RTP timestamp seen */
    int64_t bin_no;       /* the bin now being filled: now / SPEAKER_BIN_US */
    float bins[SPEAKER_WINDOW_BINS]; /* microseconds of speech, bin k at k % SPEAKER_WINDOW_BINS */
    float window_us, late_us;        /* speech over the window and its recent part, at the last decision */
} speaker_slot;

typedef struct {
    speaker_slot slots[SPEAKER_MAX];
    int recent[SPEAKER_RECENT]; /* slot indices, the dominant speaker first */
    size_t n_recent;
    int64_t next_us;            /* the next decision (valid once started) */
    bool started;
    bool changed;               /* the recent order changed since speaker_decide last said so */
} speaker_det;

/* An empty detector (no slot, no speaker). */
void speaker_init(speaker_det *d);

/* A slot for the publisher `id` (copied, truncated to SPEAKER_ID_MAX - 1 bytes): its index, or
 * -ENOSPC when every slot is taken. The slot starts silent. */
int speaker_add(speaker_det *d, const char *id);
/* Frees a slot (an index out of range or unused: no-op). If it was in the recent order it leaves
 * it (and the next one becomes the dominant speaker): the next speaker_decide reports a change. */
void speaker_remove(speaker_det *d, int slot);

/* The audio level byte of an RFC 6464 element (V bit and level; the V bit is ignored) of a packet
 * of `slot` with RTP timestamp rtp_ts (clock_rate Hz) that arrived at now_us. An index out of range
 * or unused: ignored. */
void speaker_level(speaker_det *d, int slot, uint8_t level_byte, uint32_t rtp_ts, uint32_t clock_rate,
                   int64_t now_us);

/* Decides when an interval has passed since the last decision (the first call starts the first
 * interval). Returns true when the recent order changed since the last call that returned true (a
 * new dominant speaker, or one removed). */
bool speaker_decide(speaker_det *d, int64_t now_us);

/* The dominant speaker's slot, or -1. */
int speaker_dominant(const speaker_det *d);
/* The recent order as ids, the dominant speaker first: fills ids[0..n) (borrowed: valid until the
 * slot is removed or reused), returns n (at most max and SPEAKER_RECENT). */
size_t speaker_recent(const speaker_det *d, const char **ids, size_t max);
/* The recent order as one string, ids separated by commas ("" when nobody spoke yet), into out
 * (cap bytes, NUL included). Returns its length, or -ENOSPC when it does not fit (out is "" then). */
int speaker_recent_csv(const speaker_det *d, char *out, size_t cap);
/* A slot's speech in microseconds at the last decision: over the window, or (late) over its recent
 * part; for logs and tests; 0 for a bad slot. */
double speaker_speech_us(const speaker_det *d, int slot, bool late);

#endif
