/* speaker.c - the dominant speaker detector: speech counted per slot in time bins from RFC 6464
 * levels, a decision every SPEAKER_INTERVAL_US with hysteresis (see speaker.h for the design). */
#include <errno.h>
#include <string.h>

#include "sfu/speaker.h"

void speaker_init(speaker_det *d)
{
    memset(d, 0, sizeof(*d));
}

static bool slot_ok(const speaker_det *d, int slot)
{
    return slot >= 0 && slot < SPEAKER_MAX && d->slots[slot].used;
}

int speaker_add(speaker_det *d, const char *id)
{
    for (int i = 0; i < SPEAKER_MAX; i++) {
        speaker_slot *s = &d->slots[i];
        if (s->used)
            continue;
        memset(s, 0, sizeof(*s));
        s->used = true;
        size_t n = strlen(id);
        if (n > SPEAKER_ID_MAX - 1)
            n = SPEAKER_ID_MAX - 1;
        memcpy(s->id, id, n);
        s->id[n] = '\0';
        return i;
    }
    return -ENOSPC;
}

void speaker_remove(speaker_det *d, int slot)
{
    if (!slot_ok(d, slot))
        return;
    d->slots[slot].used = false;
    size_t w = 0;
    for (size_t i = 0; i < d->n_recent; i++) {
        if (d->recent[i] != slot)
            d->recent[w++] = d->recent[i];
    }
    if (w != d->n_recent)
        d->changed = true;
    d->n_recent = w;
}

/* A packet's activity: 0 at SPEAKER_FLOOR_DBOV and below, 1 at SPEAKER_FULL_DBOV and above. */
static float activity_of(uint8_t level_byte)
{
    int dbov = level_byte & 0x7f; /* -dBov; the V bit (0x80) is not used */
    if (dbov >= SPEAKER_FLOOR_DBOV)
        return 0.0f;
    if (dbov <= SPEAKER_FULL_DBOV)
        return 1.0f;
    return (float)(SPEAKER_FLOOR_DBOV - dbov) / (SPEAKER_FLOOR_DBOV - SPEAKER_FULL_DBOV);
}

static int bin_index(int64_t bin_no)
{
    int64_t b = bin_no % SPEAKER_WINDOW_BINS;
    return (int)(b < 0 ? b + SPEAKER_WINDOW_BINS : b);
}

/* Moves s's current bin forward to bin_no, emptying the bins it passes (a bin number in the past
 * leaves it where it is). */
static void advance(speaker_slot *s, int64_t bin_no)
{
    if (bin_no <= s->bin_no)
        return;
    if (bin_no - s->bin_no >= SPEAKER_WINDOW_BINS) {
        memset(s->bins, 0, sizeof(s->bins));
        s->bin_no = bin_no;
        return;
    }
    while (s->bin_no < bin_no) {
        s->bin_no++;
        s->bins[bin_index(s->bin_no)] = 0.0f;
    }
}

void speaker_level(speaker_det *d, int slot, uint8_t level_byte, uint32_t rtp_ts, uint32_t clock_rate,
                   int64_t now_us)
{
    if (!slot_ok(d, slot))
        return;
    speaker_slot *s = &d->slots[slot];
    /* the time this packet stands for: its RTP timestamp's advance over the slot's previous packet
     * (whatever the arrival jitter: a burst of packets after a stall is still their sound's time);
     * the first packet, one after a pause in sending (DTX, loss) or a reordered one: 20 ms */
    int64_t dt = 20000;
    if (s->last_us && clock_rate) {
        int64_t ticks = (int32_t)(rtp_ts - s->last_ts);
        if (ticks > 0 && ticks * 1000000 / clock_rate <= SPEAKER_PACKET_MAX_US)
            dt = ticks * 1000000 / clock_rate;
    }
    if (!s->last_us || (int32_t)(rtp_ts - s->last_ts) > 0)
        s->last_ts = rtp_ts;
    if (!s->last_us)
        s->bin_no = now_us / SPEAKER_BIN_US;
    if (!s->last_us || now_us > s->last_us)
        s->last_us = now_us;
    advance(s, now_us / SPEAKER_BIN_US);
    s->bins[bin_index(s->bin_no)] += activity_of(level_byte) * (float)dt;
}

/* Puts slot first in the recent order (dominant), keeping each slot once. */
static void make_dominant(speaker_det *d, int slot)
{
    size_t pos = d->n_recent < SPEAKER_RECENT ? d->n_recent : SPEAKER_RECENT - 1;
    for (size_t i = 0; i < d->n_recent; i++) {
        if (d->recent[i] == slot) {
            pos = i;
            break;
        }
    }
    if (pos == d->n_recent)
        d->n_recent++;
    memmove(&d->recent[1], &d->recent[0], pos * sizeof(d->recent[0]));
    d->recent[0] = slot;
    d->changed = true;
}

/* Each slot's speech over the window and its recent part, as of now. */
static void measure(speaker_det *d, int64_t now_us)
{
    for (int i = 0; i < SPEAKER_MAX; i++) {
        speaker_slot *s = &d->slots[i];
        if (!s->used)
            continue;
        if (s->last_us)
            advance(s, now_us / SPEAKER_BIN_US);
        s->window_us = s->late_us = 0.0f;
        for (int k = 0; k < SPEAKER_WINDOW_BINS; k++) {
            float v = s->bins[bin_index(s->bin_no - k)];
            s->window_us += v;
            if (k < SPEAKER_LATE_BINS)
                s->late_us += v;
        }
    }
}

/* The decision: the candidate with the most speech, if it spoke enough, and the dominant speaker
 * has stopped or speaks clearly less. */
static void choose(speaker_det *d)
{
    int dom = speaker_dominant(d);
    int best = -1;
    for (int i = 0; i < SPEAKER_MAX; i++) {
        const speaker_slot *s = &d->slots[i];
        if (s->used && i != dom && (best < 0 || s->window_us > d->slots[best].window_us))
            best = i;
    }
    if (best < 0)
        return;
    const speaker_slot *c = &d->slots[best];
    if (c->window_us < SPEAKER_MIN_SPEECH_US || c->late_us < SPEAKER_MIN_LATE_US)
        return;
    /* the dominant speaker keeps the floor while it speaks, unless clearly outspoken */
    const speaker_slot *cur = dom >= 0 ? &d->slots[dom] : NULL;
    if (cur && cur->late_us >= SPEAKER_QUIET_LATE_US && c->window_us < cur->window_us + SPEAKER_MARGIN_US)
        return;
    make_dominant(d, best);
}

bool speaker_decide(speaker_det *d, int64_t now_us)
{
    if (!d->started) {
        d->started = true;
        d->next_us = now_us + SPEAKER_INTERVAL_US;
    }
    if (now_us >= d->next_us) {
        /* the next one an interval from now: after a stalled loop, no burst of decisions */
        d->next_us = now_us + SPEAKER_INTERVAL_US;
        measure(d, now_us);
        choose(d);
    }
    if (!d->changed)
        return false;
    d->changed = false;
    return true;
}

int speaker_dominant(const speaker_det *d)
{
    return d->n_recent ? d->recent[0] : -1;
}

size_t speaker_recent(const speaker_det *d, const char **ids, size_t max)
{
    size_t n = d->n_recent < max ? d->n_recent : max;
    for (size_t i = 0; i < n; i++)
        ids[i] = d->slots[d->recent[i]].id;
    return n;
}

int speaker_recent_csv(const speaker_det *d, char *out, size_t cap)
{
    size_t o = 0;
    if (!cap)
        return -ENOSPC;
    out[0] = '\0';
    for (size_t i = 0; i < d->n_recent; i++) {
        const char *id = d->slots[d->recent[i]].id;
        size_t n = strlen(id);
        if (o + (i ? 1 : 0) + n + 1 > cap) {
            out[0] = '\0';
            return -ENOSPC;
        }
        if (i)
            out[o++] = ',';
        memcpy(out + o, id, n);
        o += n;
        out[o] = '\0';
    }
    return (int)o;
}

double speaker_speech_us(const speaker_det *d, int slot, bool late)
{
    if (!slot_ok(d, slot))
        return 0.0;
    return late ? d->slots[slot].late_us : d->slots[slot].window_us;
}
