/* fake_peer.c - the test double of sfu/peer.h and of netloop's deferred tasks (see fake_peer.h).
 * Owns: the fake peers, what they were asked to send, the queue of deferred tasks, the virtual
 * clock. */
#include "fake_peer.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/srtp_session.h"

#define FAKE_MAX_PEERS 128
#define FAKE_MAX_FORGOTTEN 32
#define FAKE_MAX_DATA 16

struct peer {
    peer_callbacks cbs;
    void *ud;
    bool controlling;
    peer_state state;
    bool gathering;
    bool has_remote;
    sdp_remote_transport remote;
    size_t n_remote_candidates;
    uint32_t forgotten[FAKE_MAX_FORGOTTEN];
    size_t n_forgotten;
    fake_sent *sent; /* owned */
    size_t n_sent, cap_sent;
    unsigned flushes, refused;
    unsigned restarts; /* peer_restart_ice calls: the local ufrag is FAKE_PEER_UFRAG and this number */
    unsigned gathers;  /* peer_gather calls */
    char ufrag[16];
    bool data_enabled; /* peer_enable_data was called */
    uint16_t data_port;
    char *data_sent[FAKE_MAX_DATA]; /* peer_send_data: "label|message", owned */
    size_t n_data_sent;
};

/* netloop_task.loop points at this while a task is queued (netloop.c is not linked). */
struct netloop {
    netloop_task *head, **tail;
};

static struct netloop loop = {NULL, &loop.head};
static peer *peers[FAKE_MAX_PEERS];
static size_t n_peers;
static int64_t clock_us;
static bool gather_fails;

/* ---- virtual clock ---- */

void fake_clock_set(int64_t now_us)
{
    clock_us = now_us;
}

int64_t fake_clock_now(void)
{
    return clock_us;
}

/* ---- peer.h ---- */

peer *peer_new(const peer_env *env, bool ice_controlling, const peer_callbacks *cbs, void *ud)
{
    (void)env;
    if (n_peers == FAKE_MAX_PEERS)
        return NULL;
    peer *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->cbs = *cbs;
    p->ud = ud;
    p->controlling = ice_controlling;
    p->state = PEER_NEW;
    peers[n_peers++] = p;
    return p;
}

void peer_free(peer *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < n_peers; i++) {
        if (peers[i] == p) {
            memmove(&peers[i], &peers[i + 1], (n_peers - i - 1) * sizeof(peers[0]));
            n_peers--;
            break;
        }
    }
    free(p->sent);
    for (size_t i = 0; i < p->n_data_sent; i++)
        g_free(p->data_sent[i]);
    free(p);
}

void peer_local(const peer *p, sdp_local *out)
{
    memset(out, 0, sizeof(*out));
    out->ice_ufrag = p->restarts ? p->ufrag : FAKE_PEER_UFRAG;
    out->ice_pwd = FAKE_PEER_PWD;
    out->ice_options = "trickle";
    memset(out->fingerprint_sha256, FAKE_PEER_FP_BYTE, sizeof(out->fingerprint_sha256));
}

int peer_set_remote(peer *p, const sdp_remote_transport *remote)
{
    p->remote = *remote;
    p->has_remote = true;
    if (p->state == PEER_NEW)
        fake_peer_set_state(p, PEER_CONNECTING, NULL);
    return 0;
}

int peer_gather(peer *p)
{
    if (gather_fails)
        return -1;
    p->gathering = true;
    p->gathers++;
    return 0;
}

bool peer_remote_restarts(const peer *p, const sdp_remote_transport *remote)
{
    return p->has_remote && (strcmp(p->remote.ice_ufrag, remote->ice_ufrag) != 0 ||
                             strcmp(p->remote.ice_pwd, remote->ice_pwd) != 0);
}

int peer_restart_ice(peer *p)
{
    if (p->state == PEER_FAILED || !p->has_remote)
        return -1;
    p->restarts++;
    snprintf(p->ufrag, sizeof(p->ufrag), "%s%u", FAKE_PEER_UFRAG, p->restarts);
    return 0;
}

int peer_add_candidate(peer *p, const char *candidate)
{
    (void)candidate;
    p->n_remote_candidates++;
    return 0;
}

/* Records a packet the room sends; -1 when the peer could not send it (not connected). */
static int record(peer *p, bool rtcp, const uint8_t *buf, size_t len, size_t cap, bool roc_given, uint32_t roc)
{
    size_t overhead = rtcp ? SRTP_SESSION_RTCP_MAX_OVERHEAD : SRTP_SESSION_RTP_MAX_OVERHEAD;
    if (len + overhead > cap || len > FAKE_PEER_MAX_PACKET) {
        fprintf(stderr, "fake_peer: %zu bytes sent with %zu bytes of room (SRTP needs %zu more)\n", len, cap,
                overhead);
        abort();
    }
    /* Every RTP packet the tests' publishers send has header extensions and no CSRC, and the SFU
     * keeps them so (it rewrites ids and values, never the header's shape): a first byte other than
     * V=2, X=1, CC=0 is a header overwritten on the way (e.g. an RTCP packet built into the buffer the
     * packet was in). */
    if (!rtcp && (buf[0] & 0xdf) != 0x90) {
        fprintf(stderr, "fake_peer: an RTP packet sent with first byte 0x%02x (not V=2, X=1, CC=0)\n", buf[0]);
        abort();
    }
    if (p->state != PEER_CONNECTED) {
        p->refused++;
        return -1;
    }
    if (p->n_sent == p->cap_sent) {
        size_t ncap = p->cap_sent ? p->cap_sent * 2 : 64;
        fake_sent *grown = realloc(p->sent, ncap * sizeof(*grown));
        if (!grown)
            abort();
        p->sent = grown;
        p->cap_sent = ncap;
    }
    fake_sent *s = &p->sent[p->n_sent++];
    s->rtcp = rtcp;
    memcpy(s->data, buf, len);
    s->len = len;
    s->roc = roc;
    s->roc_given = roc_given;
    s->at_us = clock_us;
    s->flushes = p->flushes;
    return 0;
}

int peer_send_rtp(peer *p, uint8_t *buf, size_t len, size_t cap)
{
    return record(p, false, buf, len, cap, false, 0);
}

int peer_send_rtp_roc(peer *p, uint8_t *buf, size_t len, size_t cap, uint32_t roc)
{
    return record(p, false, buf, len, cap, true, roc);
}

int peer_send_rtcp(peer *p, uint8_t *buf, size_t len, size_t cap)
{
    return record(p, true, buf, len, cap, false, 0);
}

void peer_forget_ssrc(peer *p, uint32_t ssrc)
{
    if (p && ssrc && p->n_forgotten < FAKE_MAX_FORGOTTEN)
        p->forgotten[p->n_forgotten++] = ssrc;
}

void peer_flush(peer *p)
{
    p->flushes++;
}

void peer_defer(peer *p, netloop_task *task)
{
    (void)p;
    if (task->loop)
        return; /* queued already: once */
    task->loop = &loop;
    task->next = NULL;
    *loop.tail = task;
    loop.tail = &task->next;
}

int peer_enable_data(peer *p, uint16_t remote_port)
{
    p->data_enabled = true;
    p->data_port = remote_port;
    return 0;
}

int peer_send_data(peer *p, const char *label, const uint8_t *prefix, size_t plen, const uint8_t *body, size_t len)
{
    if (!p->data_enabled || p->n_data_sent == FAKE_MAX_DATA)
        return -1;
    p->data_sent[p->n_data_sent++] =
        g_strdup_printf("%s|%.*s%.*s", label, (int)plen, (const char *)prefix, (int)len, (const char *)body);
    return 0;
}

void peer_tick(int64_t now_us)
{
    (void)now_us;
}

bool fake_peer_data_enabled(const peer *p, uint16_t *remote_port)
{
    if (remote_port)
        *remote_port = p->data_port;
    return p->data_enabled;
}

size_t fake_peer_data_count(const peer *p)
{
    return p->n_data_sent;
}

const char *fake_peer_data_at(const peer *p, size_t i)
{
    return i < p->n_data_sent ? p->data_sent[i] : NULL;
}

void fake_peer_data_in(peer *p, const char *label, const char *msg)
{
    if (p->cbs.on_data)
        p->cbs.on_data(p->ud, label, (const uint8_t *)msg, strlen(msg));
}

peer_state peer_get_state(const peer *p)
{
    return p->state;
}

void peer_prefetch(const peer *p, int level)
{
    (void)p;
    (void)level;
}

/* ---- netloop.h (the part the room uses) ---- */

void netloop_task_cancel(netloop_task *t)
{
    if (t->loop != &loop)
        return;
    for (netloop_task **pp = &loop.head; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            if (loop.tail == &t->next)
                loop.tail = pp;
            break;
        }
    }
    t->loop = NULL;
    t->next = NULL;
}

size_t fake_loop_end_iteration(void)
{
    struct netloop batch = loop; /* what is queued now; a task queued meanwhile waits */
    loop.head = NULL;
    loop.tail = &loop.head;
    size_t n = 0;
    for (netloop_task *t; (t = batch.head) != NULL; n++) {
        batch.head = t->next;
        t->loop = NULL;
        t->next = NULL;
        t->fn(t);
    }
    return n;
}

size_t fake_loop_pending(void)
{
    size_t n = 0;
    for (netloop_task *t = loop.head; t; t = t->next)
        n++;
    return n;
}

/* ---- inspection and driving ---- */

size_t fake_peer_count(void)
{
    return n_peers;
}

peer *fake_peer_at(size_t i)
{
    return i < n_peers ? peers[i] : NULL;
}

void *fake_peer_ud(const peer *p)
{
    return p->ud;
}

bool fake_peer_controlling(const peer *p)
{
    return p->controlling;
}

bool fake_peer_gathering(const peer *p)
{
    return p->gathering;
}

const sdp_remote_transport *fake_peer_remote(const peer *p)
{
    return p->has_remote ? &p->remote : NULL;
}

size_t fake_peer_n_remote_candidates(const peer *p)
{
    return p->n_remote_candidates;
}

bool fake_peer_forgot(const peer *p, uint32_t ssrc)
{
    for (size_t i = 0; i < p->n_forgotten; i++)
        if (p->forgotten[i] == ssrc)
            return true;
    return false;
}

void fake_peer_set_state(peer *p, peer_state st, const char *why)
{
    if (p->state == st || p->state == PEER_FAILED)
        return; /* as peer.c: no news, and failed is final */
    p->state = st;
    if (p->cbs.on_state)
        p->cbs.on_state(p->ud, st, why);
}

void fake_peer_deliver(peer *p, const uint8_t *buf, size_t len)
{
    uint8_t copy[FAKE_PEER_MAX_PACKET];
    if (len < 12 || len > sizeof(copy) || p->state != PEER_CONNECTED) {
        fprintf(stderr, "fake_peer: cannot deliver %zu bytes (state %d)\n", len, (int)p->state);
        abort();
    }
    memcpy(copy, buf, len);
    bool rtcp = buf[1] >= 192 && buf[1] <= 223; /* RFC 5761, as peer.c */
    if (rtcp) {
        if (p->cbs.on_rtcp)
            p->cbs.on_rtcp(p->ud, copy, len, clock_us);
    } else if (p->cbs.on_rtp) {
        p->cbs.on_rtp(p->ud, copy, len, clock_us);
    }
}

unsigned fake_peer_restarts(const peer *p)
{
    return p->restarts;
}

unsigned fake_peer_gathers(const peer *p)
{
    return p->gathers;
}

void fake_peer_ice(peer *p, bool working)
{
    if (p->cbs.on_ice)
        p->cbs.on_ice(p->ud, working);
}

void fake_peer_candidate(peer *p, const char *cand)
{
    if (p->cbs.on_candidate)
        p->cbs.on_candidate(p->ud, cand);
}

size_t fake_peer_n_sent(const peer *p)
{
    return p->n_sent;
}

const fake_sent *fake_peer_sent(const peer *p, size_t i)
{
    return i < p->n_sent ? &p->sent[i] : NULL;
}

void fake_peer_clear_sent(peer *p)
{
    p->n_sent = 0;
}

unsigned fake_peer_flushes(const peer *p)
{
    return p->flushes;
}

unsigned fake_peer_refused(const peer *p)
{
    return p->refused;
}

void fake_peer_fail_gather(bool fail)
{
    gather_fails = fail;
}

size_t fake_peer_reset(void)
{
    size_t leaked = n_peers;
    gather_fails = false;
    while (n_peers)
        peer_free(peers[n_peers - 1]);
    loop.head = NULL;
    loop.tail = &loop.head;
    clock_us = 0;
    return leaked;
}
