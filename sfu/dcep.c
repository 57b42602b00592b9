/* dcep.c - DCEP parsing and the data-channel table of one association (see dcep.h). */
#include "sfu/dcep.h"

#include <errno.h>
#include <string.h>

#include "sfu/bytes.h"

const uint8_t dcep_ack[1] = {DCEP_ACK};

int dcep_parse_open(const uint8_t *buf, size_t len, dcep_open *out)
{
    if (len < DCEP_OPEN_HEADER || buf[0] != DCEP_OPEN)
        return -EBADMSG;
    size_t label_len = rd16(buf + 8);
    size_t proto_len = rd16(buf + 10);
    if (DCEP_OPEN_HEADER + label_len + proto_len != len)
        return -EBADMSG;
    out->channel_type = buf[1];
    out->priority = rd16(buf + 2);
    out->reliability = rd32(buf + 4);
    out->label = buf + DCEP_OPEN_HEADER;
    out->label_len = label_len;
    out->protocol = out->label + label_len;
    out->protocol_len = proto_len;
    return 0;
}

int dcep_build_open(uint8_t *out, size_t cap, const char *label)
{
    size_t n = strlen(label);
    if (n > 0xffff || cap < DCEP_OPEN_HEADER + n)
        return -EMSGSIZE;
    memset(out, 0, DCEP_OPEN_HEADER);
    out[0] = DCEP_OPEN;
    wr16(out + 8, (uint16_t)n);
    memcpy(out + DCEP_OPEN_HEADER, label, n);
    return (int)(DCEP_OPEN_HEADER + n);
}

void dc_init(dc_state *st, bool peer_even)
{
    memset(st, 0, sizeof(*st));
    st->peer_even = peer_even;
}

static dc_channel *find_sid(dc_state *st, uint16_t sid)
{
    for (size_t i = 0; i < DC_MAX_CHANNELS; i++)
        if (st->ch[i].used && st->ch[i].sid == sid)
            return &st->ch[i];
    return NULL;
}

static dc_verdict drop(dc_drop_reason r)
{
    return (dc_verdict){.kind = DC_DROP, .reason = r};
}

static dc_channel *free_slot(dc_state *st)
{
    for (size_t i = 0; i < DC_MAX_CHANNELS; i++)
        if (!st->ch[i].used)
            return &st->ch[i];
    return NULL;
}

int dc_add(dc_state *st, uint16_t sid, const char *label)
{
    size_t n = strlen(label);
    if (n > DC_MAX_LABEL)
        return -EINVAL;
    if (find_sid(st, sid))
        return -EEXIST;
    dc_channel *c = free_slot(st);
    if (!c)
        return -ENOSPC;
    c->used = true;
    c->sid = sid;
    c->channel_type = 0;
    memcpy(c->label, label, n + 1);
    return 0;
}

static dc_verdict open_channel(dc_state *st, uint16_t sid, const uint8_t *buf, size_t len)
{
    dcep_open o;
    if (dcep_parse_open(buf, len, &o) < 0 || o.label_len > DC_MAX_LABEL ||
        memchr(o.label, 0, o.label_len) != NULL || ((sid & 1u) == 0) != st->peer_even || sid == 0xffff ||
        find_sid(st, sid) != NULL)
        return drop(DC_DROP_MALFORMED);
    dc_channel *c = free_slot(st);
    if (!c)
        return drop(DC_DROP_CHANNELS);
    c->used = true;
    c->sid = sid;
    c->channel_type = o.channel_type;
    memcpy(c->label, o.label, o.label_len);
    c->label[o.label_len] = '\0';
    return (dc_verdict){.kind = DC_ACK, .channel = c};
}

/* Takes one token from the bucket; false when it is empty. */
static bool take_token(dc_state *st, int64_t now_us)
{
    const uint32_t full = DC_RATE_BURST * 1000u;
    if (!st->started) {
        st->started = true;
        st->tokens_milli = full;
        st->last_us = now_us;
    }
    if (now_us > st->last_us) {
        uint64_t add = (uint64_t)(now_us - st->last_us) * DC_RATE_PER_S / 1000u; /* milli-tokens */
        if (add > 0) {
            uint64_t t = st->tokens_milli + add;
            st->tokens_milli = t > full ? full : (uint32_t)t;
            /* keep the remainder of the division: advance last_us only by the time turned into tokens */
            st->last_us += (int64_t)(add * 1000u / DC_RATE_PER_S);
        }
    }
    if (st->tokens_milli < 1000u)
        return false;
    st->tokens_milli -= 1000u;
    return true;
}

dc_verdict dc_input(dc_state *st, uint16_t sid, uint32_t ppid, const uint8_t *buf, size_t len, int64_t now_us)
{
    if (ppid == DCEP_PPID) {
        if (len >= 1 && buf[0] == DCEP_OPEN)
            return open_channel(st, sid, buf, len);
        return drop(DC_DROP_MALFORMED); /* an ACK (the SFU opens nothing), or an unknown type */
    }
    const dc_channel *c = find_sid(st, sid);
    if (!c)
        return drop(DC_DROP_UNKNOWN_STREAM);
    if (ppid != DC_PPID_STRING)
        return drop(DC_DROP_PPID);
    if (len > DC_MAX_MESSAGE)
        return drop(DC_DROP_TOO_LARGE);
    if (!take_token(st, now_us))
        return drop(DC_DROP_RATE);
    return (dc_verdict){.kind = DC_DELIVER, .channel = c};
}

void dc_close(dc_state *st, uint16_t sid)
{
    dc_channel *c = find_sid(st, sid);
    if (c)
        memset(c, 0, sizeof(*c));
}

const dc_channel *dc_find(const dc_state *st, const char *label)
{
    for (size_t i = 0; i < DC_MAX_CHANNELS; i++)
        if (st->ch[i].used && strcmp(st->ch[i].label, label) == 0)
            return &st->ch[i];
    return NULL;
}

size_t dc_count(const dc_state *st)
{
    size_t n = 0;
    for (size_t i = 0; i < DC_MAX_CHANNELS; i++)
        n += st->ch[i].used;
    return n;
}

const char *dc_drop_name(dc_drop_reason r)
{
    static const char *const names[DC_DROP_REASONS] = {"malformed", "too-large", "rate", "channels",
                                                       "unknown-stream", "ppid"};
    return (unsigned)r < DC_DROP_REASONS ? names[r] : "?";
}
