/* twcc_history.c - sent packets by transport-wide sequence number, matched with the receiver's
 * feedback (see twcc_history.h). A ring indexed by the unwrapped number modulo its size. */
#include "sfu/twcc_history.h"

#include <string.h>

void twcc_history_init(twcc_history *h)
{
    memset(h, 0, sizeof(*h));
    h->last_fb_max = -1;
}

uint16_t twcc_history_on_send(twcc_history *h, int64_t now_us, uint32_t size, int probe)
{
    int64_t seq = h->next_seq++;
    twcc_sent *s = &h->slots[seq % TWCC_HISTORY_SIZE];
    s->seq_lo = (uint32_t)seq;
    s->send_lo = (uint32_t)now_us;
    s->size = size > UINT16_MAX ? UINT16_MAX : (uint16_t)size;
    s->flags = TWCC_SENT_USED | (probe ? TWCC_SENT_PROBE : 0);
    h->last_send_us = now_us;
    return (uint16_t)seq;
}

/* The most recent packet sent with this 16-bit number, or NULL when it is not remembered; *seq is
 * its unwrapped number. */
static twcc_sent *find(twcc_history *h, uint16_t seq16, int64_t *seq)
{
    if (h->next_seq == 0)
        return NULL;
    int64_t latest = h->next_seq - 1;
    int64_t back = (uint16_t)((uint16_t)latest - seq16);
    if (back >= TWCC_HISTORY_SIZE || back > latest)
        return NULL;
    *seq = latest - back;
    twcc_sent *s = &h->slots[*seq % TWCC_HISTORY_SIZE];
    return (s->flags & TWCC_SENT_USED) && s->seq_lo == (uint32_t)*seq ? s : NULL;
}

size_t twcc_history_on_feedback(twcc_history *h, const struct rtcp_twcc *fb, twcc_result *out, size_t cap)
{
    struct rtcp_twcc_iter it;
    struct rtcp_twcc_status st;
    size_t n = 0;
    rtcp_twcc_iter_init(fb, &it);
    while (n < cap && rtcp_twcc_next(&it, &st) == 1) {
        int64_t seq;
        twcc_sent *s = find(h, st.seq, &seq);
        if (s == NULL || (s->flags & TWCC_SENT_REPORTED))
            continue;
        s->flags |= TWCC_SENT_REPORTED;
        twcc_result *r = &out[n++];
        r->seq = seq;
        r->send_us = h->last_send_us - (int64_t)(uint32_t)((uint32_t)h->last_send_us - s->send_lo);
        r->recv_us = st.symbol == RTCP_TWCC_NOT_RECEIVED ? -1 : st.arrival_us;
        r->size = s->size;
        r->probe = (s->flags & TWCC_SENT_PROBE) != 0;
        if (seq > h->last_fb_max)
            h->last_fb_max = seq;
    }
    return n;
}
