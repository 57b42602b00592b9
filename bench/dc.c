/* dc.c - the bench's data channel and its malformed-input mode (see dc.h). */
#include "bench/dc.h"

#include <stdio.h>
#include <string.h>

#include "bench/session.h"
#include "sfu/dcep.h"
#include "sfu/sctp.h"

static const char LABEL[] = "vm";

/* Sends what a broken or hostile browser might, once; every item is counted in dc_abuse_sent. */
static void abuse(bench_session *s, sctp_assoc *a)
{
    bench_counters *c = &s->w->c;
    uint8_t buf[DC_MAX_MESSAGE + 1000];
    /* garbage SCTP packets: random bytes and lengths, and too short for a common header */
    for (int i = 0; i < 20; i++) {
        size_t n = 1 + g_random_int_range(0, 1200);
        for (size_t k = 0; k < n; k++)
            buf[k] = (uint8_t)g_random_int();
        sctp_assoc_send_packet(a, buf, n);
        STATS_INC(c->dc_abuse_sent);
    }
    memset(buf, 0, 12);
    sctp_assoc_send_packet(a, buf, 1);
    sctp_assoc_send_packet(a, buf, 11);
    sctp_assoc_send_packet(a, buf, 12);
    STATS_ADD(c->dc_abuse_sent, 3);
    /* malformed DCEP (PPID 50) */
    static const uint8_t short_open[] = {DCEP_OPEN, 0, 0};
    static const uint8_t past_end[] = {DCEP_OPEN, 0, 0, 0, 0, 0, 0, 0, 0, 200, 0, 0, 'v', 'm'};
    static const uint8_t trailing[] = {DCEP_OPEN, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 'v', 'm', 'x'};
    static const uint8_t unknown[] = {0x09, 1, 2, 3};
    static const uint8_t nul_label[] = {DCEP_OPEN, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 'v', 0};
    struct {
        uint16_t sid;
        const uint8_t *b;
        size_t n;
    } dcep[] = {
        {12, short_open, sizeof(short_open)}, {12, past_end, sizeof(past_end)}, {12, trailing, sizeof(trailing)},
        {12, unknown, sizeof(unknown)},       {12, nul_label, sizeof(nul_label)}, {0, dcep_ack, sizeof(dcep_ack)},
    };
    for (size_t i = 0; i < sizeof(dcep) / sizeof(dcep[0]); i++) {
        sctp_assoc_send_raw(a, dcep[i].sid, DCEP_PPID, dcep[i].b, dcep[i].n);
        STATS_INC(c->dc_abuse_sent);
    }
    int n = dcep_build_open(buf, sizeof(buf), "odd");
    sctp_assoc_send_raw(a, 1, DCEP_PPID, buf, (size_t)n); /* the SFU's parity */
    n = dcep_build_open(buf, sizeof(buf), LABEL);
    sctp_assoc_send_raw(a, 0, DCEP_PPID, buf, (size_t)n); /* stream 0 is open already */
    STATS_ADD(c->dc_abuse_sent, 2);
    /* more channels than allowed: 3 fit beside "vm", the others are refused (their streams reset) */
    for (uint16_t sid = 2; sid <= 10; sid += 2) {
        char label[8];
        snprintf(label, sizeof(label), "x%u", (unsigned)sid);
        n = dcep_build_open(buf, sizeof(buf), label);
        sctp_assoc_send_raw(a, sid, DCEP_PPID, buf, (size_t)n);
        STATS_INC(c->dc_abuse_sent);
    }
    /* messages the SFU does not relay: a stream with no channel, binary, empty, too large */
    static const char junk[] = "{\"t\":\"junk\"}";
    sctp_assoc_send_raw(a, 40, DC_PPID_STRING, (const uint8_t *)junk, sizeof(junk) - 1);
    sctp_assoc_send_raw(a, 0, DC_PPID_BINARY, (const uint8_t *)junk, sizeof(junk) - 1);
    sctp_assoc_send_raw(a, 0, DC_PPID_STRING_EMPTY, (const uint8_t *)"", 1);
    memset(buf, 'a', DC_MAX_MESSAGE + 500);
    sctp_assoc_send_raw(a, 0, DC_PPID_STRING, buf, DC_MAX_MESSAGE + 500);
    STATS_ADD(c->dc_abuse_sent, 4);
    /* a flood: the SFU relays a burst of it, then drops what is over the rate */
    static const char flood[] = "{\"t\":\"flood\"}";
    for (int i = 0; i < BENCH_DC_FLOOD; i++)
        sctp_assoc_send_raw(a, 0, DC_PPID_STRING, (const uint8_t *)flood, sizeof(flood) - 1);
    STATS_ADD(c->dc_abuse_sent, BENCH_DC_FLOOD);
}

void bench_dc_tick(bench_session *s, int64_t now_us)
{
    sctp_assoc *a = s->up ? peer_data(s->up) : NULL;
    if (!a || !sctp_assoc_up(a))
        return;
    bench_dc *d = &s->dc;
    if (!d->opened) {
        if (sctp_assoc_open_channel(a, 0, LABEL) == 0) {
            d->opened = true;
            d->opened_us = now_us;
            d->next_us = now_us + BENCH_DC_EVERY_MS * 1000;
            STATS_INC(s->w->c.dc_opened);
        }
        return;
    }
    if (now_us >= d->next_us) {
        char msg[96];
        int n = snprintf(msg, sizeof(msg), "{\"t\":\"bench\",\"m\":\"%s\",\"n\":%u}", s->meeting_id, d->sent);
        if (sctp_assoc_send_raw(a, 0, DC_PPID_STRING, (const uint8_t *)msg, (size_t)n) == 0) {
            d->sent++;
            STATS_INC(s->w->c.dc_sent);
        }
        d->next_us += BENCH_DC_EVERY_MS * 1000;
    }
    if (s->w->run->cfg.dc_abuse && s->room == 0 && s->index == 0 && !d->abused && now_us > d->opened_us + 1500000) {
        d->abused = true;
        abuse(s, a);
    }
}

void bench_dc_on_data(void *ud, const char *label, const uint8_t *buf, size_t len)
{
    bench_session *s = ud;
    const uint8_t *nl = memchr(buf, '\n', len);
    if (!nl || strcmp(label, LABEL) != 0)
        return;
    char body[160];
    size_t n = (size_t)(buf + len - (nl + 1));
    if (n >= sizeof(body))
        return;
    memcpy(body, nl + 1, n);
    body[n] = '\0';
    char mine[48];
    snprintf(mine, sizeof(mine), "\"m\":\"%s\"", s->meeting_id);
    if (strstr(body, "\"t\":\"flood\""))
        STATS_INC(s->w->c.dc_flood_received);
    else if (strstr(body, mine))
        STATS_INC(s->w->c.dc_received);
    else
        STATS_INC(s->w->c.dc_foreign);
}
