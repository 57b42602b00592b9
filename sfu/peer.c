/* peer.c - ICE + DTLS-SRTP + SRTP for one browser connection (see peer.h).
 *
 * Demultiplexing of what ICE hands up (RFC 7983; libnice consumes STUN itself):
 *
 *        first byte
 *   +----------------+
 *   |    0 ..   3    | -> STUN           (never reaches us: libnice answers it)
 *   |   20 ..  63    | -> DTLS           -> dtls_handle_datagram
 *   |  128 .. 191    | -> RTP or RTCP    -> second byte 192..223: RTCP (RFC 5761), else RTP
 *   |   anything else| -> dropped, counted as malformed
 *   +----------------+
 *
 * The DTLS endpoint is made when the browser's SDP is applied (it gives the role and the expected
 * fingerprint) and started once ICE connects. SRTP keys come from the finished handshake.
 *
 * The browser starts DTLS as soon as its own ICE check succeeds, which is often a moment before
 * ours has: its ClientHello arrives while libnice has no pair to answer on. What DTLS sends then
 * waits in `early` (at most PEER_EARLY_MAX datagrams) and leaves the moment ICE connects, instead
 * of being lost until the retransmission timer (400 ms) sends the flight again.
 */
#include "sfu/peer.h"

#include <errno.h>
#include <string.h>

#include "sfu/sctp.h"
#include "sfu/srtp_session.h"
#include "sfu/log.h"

#define PEER_EARLY_MAX 16 /* DTLS datagrams held until ICE connects: a few flights */

struct peer {
    /* what every sent packet reads, together at the start */
    peer_state state;
    sfu_ice *ice;
    srtp_session_t *srtp;
    peer_env env;
    dtls_t *dtls;
    GSource *dtls_timer;
    peer_callbacks cbs;
    void *ud;
    char ufrag[SFU_ICE_UFRAG_MAX];
    char pwd[SFU_ICE_PWD_MAX];
    char remote_ufrag[SFU_ICE_UFRAG_MAX]; /* the browser's, as last applied */
    char remote_pwd[SFU_ICE_PWD_MAX];
    bool ice_connected;
    bool ice_lost;    /* ICE failed after DTLS was up, and on_ice was told (a restart may repair it) */
    bool gathered;    /* peer_gather ran once: later calls announce the candidates again */
    GQueue early; /* of GBytes: DTLS datagrams sent before ICE connected, owned */
    bool freeing; /* peer_free is tearing it down: no callback reaches the owner any more, and no
                   * state change is counted (its gauge was taken back once, by peer_free) */
    bool holds_ports; /* gathered: its sockets hold ports of the range (stats->ports_in_use) */
    sctp_assoc *sctp; /* owned; NULL: no data channel negotiated */
    peer_wire_fn wire; /* peer_set_wire: what is sent goes here instead of ICE (tests, fuzzing) */
    void *wire_ud;
};

/* Sends one datagram on the selected pair (or to the wire that replaces ICE). */
static int transmit(peer *p, const uint8_t *buf, size_t len)
{
    if (p->wire) {
        p->wire(p->wire_ud, buf, len);
        return 0;
    }
    return sfu_ice_send(p->ice, buf, len);
}

static void set_state(peer *p, peer_state st, const char *why)
{
    if (p->freeing || p->state == st || p->state == PEER_FAILED)
        return;
    STATS_ADD(p->env.stats->peers[p->state], (uint64_t)-1);
    STATS_INC(p->env.stats->peers[st]);
    p->state = st;
    if (st == PEER_FAILED)
        LOG_I("transport closed: %s", why ? why : "failed");
    if (p->cbs.on_state)
        p->cbs.on_state(p->ud, st, why);
}

static int64_t now_us(void)
{
    return g_get_monotonic_time();
}

/* ---- DTLS ---- */

static void arm_dtls_timer(peer *p);

static gboolean dtls_timer_fired(gpointer data)
{
    peer *p = data;
    g_source_unref(p->dtls_timer);
    p->dtls_timer = NULL;
    if (p->dtls && dtls_handle_timeout(p->dtls) == 1)
        STATS_INC(p->env.stats->dtls_retransmissions);
    arm_dtls_timer(p);
    return G_SOURCE_REMOVE;
}

static void arm_dtls_timer(peer *p)
{
    if (p->dtls_timer) {
        g_source_destroy(p->dtls_timer);
        g_source_unref(p->dtls_timer);
        p->dtls_timer = NULL;
    }
    int ms = p->dtls ? dtls_timeout_ms(p->dtls) : -1;
    if (ms < 0 || !p->dtls || dtls_state(p->dtls) != DTLS_STATE_CONNECTING)
        return;
    p->dtls_timer = g_timeout_source_new((guint)ms + 1);
    g_source_set_callback(p->dtls_timer, dtls_timer_fired, p, NULL);
    g_source_attach(p->dtls_timer, p->env.ctx);
}

static void dtls_send(void *user, const uint8_t *buf, size_t len)
{
    peer *p = user;
    if (p->ice_connected) {
        transmit(p, buf, len);
    } else if (g_queue_get_length(&p->early) < PEER_EARLY_MAX) {
        g_queue_push_tail(&p->early, g_bytes_new(buf, len));
    }
}

static void early_clear(peer *p)
{
    GBytes *b;
    while ((b = g_queue_pop_head(&p->early)) != NULL)
        g_bytes_unref(b);
}

/* ICE just connected: what DTLS answered before goes out now, in order. */
static void early_flush(peer *p)
{
    GBytes *b;
    while ((b = g_queue_pop_head(&p->early)) != NULL) {
        gsize n;
        const uint8_t *d = g_bytes_get_data(b, &n);
        transmit(p, d, n);
        g_bytes_unref(b);
    }
}

static void dtls_state_changed(void *user, dtls_state_t st)
{
    peer *p = user;
    if (p->freeing)
        return;
    if (st == DTLS_STATE_CONNECTED) {
        dtls_srtp_keys_t k;
        if (dtls_get_srtp_keys(p->dtls, &k) < 0) {
            set_state(p, PEER_FAILED, "the browser did not negotiate DTLS-SRTP");
            return;
        }
        p->srtp = srtp_session_new(k.profile, k.local_key, k.local_salt, k.remote_key, k.remote_salt);
        if (!p->srtp) {
            set_state(p, PEER_FAILED, "SRTP session could not be made");
            return;
        }
        LOG_D("transport up: SRTP profile %s", k.profile == DTLS_SRTP_AEAD_AES_128_GCM ? "AEAD_AES_128_GCM"
                                                                                     : "AES_CM_128_HMAC_SHA1_80");
        set_state(p, PEER_CONNECTED, NULL);
        if (p->sctp)
            sctp_assoc_start(p->sctp);
    } else if (st == DTLS_STATE_FAILED) {
        STATS_INC(p->env.stats->dtls_failures);
        set_state(p, PEER_FAILED, dtls_error(p->dtls));
    } else if (st == DTLS_STATE_CLOSED) {
        set_state(p, PEER_FAILED, "DTLS closed by the browser");
    }
}

/* DTLS application data is SCTP (RFC 8261). */
static void dtls_app_data(void *user, const uint8_t *buf, size_t len)
{
    peer *p = user;
    if (p->sctp)
        sctp_assoc_input(p->sctp, buf, len);
}

static void sctp_send(void *ud, const uint8_t *buf, size_t len)
{
    peer *p = ud;
    if (p->dtls && dtls_state(p->dtls) == DTLS_STATE_CONNECTED)
        dtls_send_app(p->dtls, buf, len);
}

static void sctp_message(void *ud, const char *label, const uint8_t *buf, size_t len)
{
    peer *p = ud;
    if (p->freeing)
        return;
    STATS_INC(p->env.stats->dc_messages_in);
    if (p->cbs.on_data)
        p->cbs.on_data(p->ud, label, buf, len);
}

static void sctp_dropped(void *ud, dc_drop_reason reason)
{
    peer *p = ud;
    STATS_INC(p->env.stats->dc_dropped);
    LOG_D("data channel: dropped (%s)", dc_drop_name(reason));
}

int peer_enable_data(peer *p, uint16_t remote_port)
{
    if (p->sctp)
        return 0;
    static const sctp_callbacks cbs = {sctp_send, sctp_message, sctp_dropped};
    /* The browser offers "up" with a=setup:actpass and the SFU answers passive: the browser is
     * the DTLS client, and its channels have even stream ids. */
    bool browser_client = !p->dtls || dtls_role(p->dtls) == DTLS_ROLE_SERVER;
    p->sctp = sctp_assoc_new(p->env.ctx, &cbs, p, remote_port, browser_client);
    if (!p->sctp)
        return -1;
    if (p->state == PEER_CONNECTED)
        sctp_assoc_start(p->sctp);
    return 0;
}

int peer_send_data(peer *p, const char *label, const uint8_t *prefix, size_t plen, const uint8_t *body, size_t len)
{
    if (!p->sctp)
        return -ENOENT;
    int rc = sctp_assoc_send(p->sctp, label, prefix, plen, body, len);
    if (rc == 0)
        STATS_INC(p->env.stats->dc_messages_out);
    return rc;
}

sctp_assoc *peer_data(peer *p)
{
    return p->sctp;
}

void peer_tick(int64_t now_us)
{
    sctp_poll_timers(now_us);
}

static void dtls_dropped(void *user, dtls_drop_reason_t reason)
{
    peer *p = user;
    STATS_INC(p->env.stats->dtls_dropped[reason]);
}

/* ---- ICE ---- */

static void ice_candidate(void *ud, const char *cand)
{
    peer *p = ud;
    if (!p->freeing && p->cbs.on_candidate)
        p->cbs.on_candidate(p->ud, cand);
}

static void ice_gathered(void *ud)
{
    peer *p = ud;
    if (!p->freeing && p->cbs.on_candidate)
        p->cbs.on_candidate(p->ud, "");
}

static void ice_state(void *ud, sfu_ice_state st)
{
    peer *p = ud;
    if (p->freeing)
        return;
    if (st == SFU_ICE_FAILED) {
        STATS_INC(p->env.stats->ice_failures);
        if (p->cbs.on_ice && p->state == PEER_CONNECTED) {
            if (!p->ice_lost) {
                p->ice_lost = true;
                LOG_I("transport: ICE failed or consent lost; waiting for an ICE restart");
                p->cbs.on_ice(p->ud, false);
            }
            return;
        }
        set_state(p, PEER_FAILED, "ICE failed or consent lost");
        return;
    }
    if (st == SFU_ICE_CONNECTED && p->ice_connected && p->cbs.on_ice && p->state == PEER_CONNECTED) {
        p->ice_lost = false;
        p->cbs.on_ice(p->ud, true); /* working again, after an ICE restart */
        return;
    }
    if (st == SFU_ICE_CHECKING && p->state != PEER_CONNECTED)
        set_state(p, PEER_CONNECTING, NULL); /* (an ICE restart leaves DTLS and SRTP as they are) */
    if (st == SFU_ICE_CONNECTED && !p->ice_connected) {
        p->ice_connected = true;
        early_flush(p);
        if (p->dtls && dtls_state(p->dtls) == DTLS_STATE_NEW)
            dtls_start(p->dtls);
        arm_dtls_timer(p);
    }
}

void peer_receive(peer *p, uint8_t *buf, size_t len, int64_t now)
{
    if (len == 0 || p->freeing)
        return;
    uint8_t b = buf[0];
    if (b >= 20 && b <= 63) {
        if (p->dtls) {
            dtls_handle_datagram(p->dtls, buf, len);
            arm_dtls_timer(p);
        }
        return;
    }
    if (b < 128 || b > 191 || len < 12) {
        STATS_INC(p->env.stats->dropped_malformed);
        return;
    }
    if (!p->srtp) {
        STATS_INC(p->env.stats->dropped_not_ready);
        return;
    }
    bool rtcp = buf[1] >= 192 && buf[1] <= 223;
    int n = rtcp ? srtp_session_unprotect_rtcp(p->srtp, buf, len) : srtp_session_unprotect_rtp(p->srtp, buf, len);
    if (n < 0) {
        if (n == SRTP_SESSION_ERR_AUTH || n == SRTP_SESSION_ERR_REPLAY)
            STATS_INC(p->env.stats->dropped_bad_srtp);
        else
            STATS_INC(p->env.stats->dropped_malformed);
        return;
    }
    if (rtcp) {
        STATS_INC(p->env.stats->rtcp_packets_in);
        if (p->cbs.on_rtcp)
            p->cbs.on_rtcp(p->ud, buf, (size_t)n, now);
    } else if (p->cbs.on_rtp) {
        p->cbs.on_rtp(p->ud, buf, (size_t)n, now);
    }
}

static void ice_packet(void *ud, uint8_t *buf, size_t len)
{
    peer_receive(ud, buf, len, now_us());
}

void peer_set_wire(peer *p, peer_wire_fn send, void *ud)
{
    p->wire = send;
    p->wire_ud = ud;
    ice_state(p, SFU_ICE_CONNECTED); /* as if ICE had connected: what DTLS said meanwhile leaves, it starts */
}

/* ---- API ---- */

peer *peer_new(const peer_env *env, bool ice_controlling, const peer_callbacks *cbs, void *ud)
{
    peer *p = g_new0(peer, 1);
    p->env = *env;
    p->cbs = *cbs;
    p->ud = ud;
    sfu_ice_config ic = *env->ice;
    ic.controlling = ice_controlling;
    static const sfu_ice_callbacks ice_cbs = {ice_candidate, ice_gathered, ice_state, ice_packet};
    p->ice = sfu_ice_new(env->ctx, &ic, &ice_cbs, p);
    if (!p->ice) {
        g_free(p);
        return NULL;
    }
    sfu_ice_local_credentials(p->ice, p->ufrag, p->pwd);
    STATS_INC(p->env.stats->peers[PEER_NEW]);
    return p;
}

/* A peer being freed fires no callback and counts nothing more: `freeing` is set, and the owner's
 * callbacks forgotten, before anything is torn down (closing DTLS reports its own close, SCTP's
 * ABORT and libnice may still call in). Its state leaves the gauge exactly once, here. */
void peer_free(peer *p)
{
    if (!p)
        return;
    p->freeing = true;
    memset(&p->cbs, 0, sizeof(p->cbs));
    STATS_ADD(p->env.stats->peers[p->state], (uint64_t)-1);
    if (p->holds_ports)
        STATS_ADD(p->env.stats->ports_in_use, (uint64_t)-1);
    if (p->dtls_timer) {
        g_source_destroy(p->dtls_timer);
        g_source_unref(p->dtls_timer);
    }
    sctp_assoc_free(p->sctp); /* its ABORT leaves over DTLS before close_notify */
    if (p->dtls && dtls_state(p->dtls) == DTLS_STATE_CONNECTED)
        dtls_close(p->dtls); /* close_notify to the browser */
    sfu_ice_free(p->ice);
    early_clear(p);
    dtls_free(p->dtls);
    srtp_session_free(p->srtp);
    g_free(p);
}

void peer_local(const peer *p, sdp_local *out)
{
    memset(out, 0, sizeof(*out));
    out->ice_ufrag = p->ufrag;
    out->ice_pwd = p->pwd;
    out->ice_options = "trickle";
    const cert_fingerprint_t *fp = cert_fingerprint(p->env.cert);
    memcpy(out->fingerprint_sha256, fp->bytes, sizeof(out->fingerprint_sha256));
}

int peer_set_remote(peer *p, const sdp_remote_transport *remote)
{
    if (sfu_ice_set_remote_credentials(p->ice, remote->ice_ufrag, remote->ice_pwd) < 0)
        return -1;
    for (size_t i = 0; i < remote->n_candidates; i++) {
        char line[256];
        if (sdp_candidate_format(&remote->candidates[i], line, sizeof(line)) > 0)
            sfu_ice_add_remote_candidate(p->ice, line);
    }
    g_strlcpy(p->remote_ufrag, remote->ice_ufrag, sizeof(p->remote_ufrag));
    g_strlcpy(p->remote_pwd, remote->ice_pwd, sizeof(p->remote_pwd));
    cert_fingerprint_t fp;
    memset(&fp, 0, sizeof(fp));
    g_strlcpy(fp.hash, remote->fingerprint.algorithm, sizeof(fp.hash));
    if (remote->fingerprint.len > sizeof(fp.bytes))
        return -1;
    memcpy(fp.bytes, remote->fingerprint.bytes, remote->fingerprint.len);
    fp.len = remote->fingerprint.len;
    if (!p->dtls) {
        dtls_config_t dc;
        memset(&dc, 0, sizeof(dc));
        dc.role = remote->dtls_client ? DTLS_ROLE_CLIENT : DTLS_ROLE_SERVER;
        dc.remote_fingerprint = &fp;
        dtls_callbacks_t cb = {dtls_send, dtls_state_changed, dtls_app_data, p, dtls_dropped};
        p->dtls = dtls_new(p->env.dtls, &dc, &cb);
        if (!p->dtls)
            return -1;
        if (p->ice_connected) {
            dtls_start(p->dtls);
            arm_dtls_timer(p);
        }
    } else {
        dtls_set_remote_fingerprint(p->dtls, &fp);
    }
    if (p->state == PEER_NEW)
        set_state(p, PEER_CONNECTING, NULL);
    return 0;
}

int peer_gather(peer *p)
{
    if (p->gathered) {
        sfu_ice_announce(p->ice);
        return 0;
    }
    /* counted before gathering: the candidates it emits can reach the browser (and the browser
     * /metrics) before this thread gets back here */
    bool counted = !p->holds_ports;
    if (counted)
        STATS_INC(p->env.stats->ports_in_use);
    p->holds_ports = true;
    if (sfu_ice_gather(p->ice) < 0) {
        /* libnice binds the host candidates' sockets here, and fails only when it could bind
         * none: every port of the range taken on every ICE address (or no usable address) */
        STATS_INC(p->env.stats->ports_exhausted);
        if (counted) {
            STATS_ADD(p->env.stats->ports_in_use, (uint64_t)-1);
            p->holds_ports = false;
        }
        return -1;
    }
    p->gathered = true;
    return 0;
}

bool peer_remote_restarts(const peer *p, const sdp_remote_transport *remote)
{
    return p->remote_ufrag[0] &&
           (strcmp(p->remote_ufrag, remote->ice_ufrag) != 0 || strcmp(p->remote_pwd, remote->ice_pwd) != 0);
}

int peer_restart_ice(peer *p)
{
    if (!p->dtls || p->state == PEER_FAILED || sfu_ice_restart(p->ice) < 0)
        return -1;
    sfu_ice_local_credentials(p->ice, p->ufrag, p->pwd);
    return 0;
}

int peer_add_candidate(peer *p, const char *candidate)
{
    if (!*candidate)
        return 0; /* end of candidates: nothing to do for libnice */
    return sfu_ice_add_remote_candidate(p->ice, candidate);
}

/* Sends the n bytes that protection left in buf, or passes its error on. */
static int send_protected(peer *p, const uint8_t *buf, int n)
{
    return n < 0 ? n : transmit(p, buf, (size_t)n);
}

int peer_send_rtp(peer *p, uint8_t *buf, size_t len, size_t cap)
{
    return p->srtp ? send_protected(p, buf, srtp_session_protect_rtp(p->srtp, buf, len, cap)) : -1;
}

int peer_send_rtp_roc(peer *p, uint8_t *buf, size_t len, size_t cap, uint32_t roc)
{
    return p->srtp ? send_protected(p, buf, srtp_session_protect_rtp_roc(p->srtp, buf, len, cap, roc)) : -1;
}

int peer_send_rtcp(peer *p, uint8_t *buf, size_t len, size_t cap)
{
    if (!p->srtp)
        return -1;
    STATS_INC(p->env.stats->rtcp_packets_out);
    return send_protected(p, buf, srtp_session_protect_rtcp(p->srtp, buf, len, cap));
}

void peer_forget_ssrc(peer *p, uint32_t ssrc)
{
    if (p && p->srtp && ssrc)
        srtp_session_remove_inbound_ssrc(p->srtp, ssrc);
}

peer_state peer_get_state(const peer *p)
{
    return p->state;
}

void peer_prefetch(const peer *p, int level)
{
    if (level == 0) {
        __builtin_prefetch(p->ice);
        if (p->srtp)
            __builtin_prefetch(p->srtp);
    } else {
        if (p->ice)
            sfu_ice_prefetch(p->ice);
        if (p->srtp)
            srtp_session_prefetch(p->srtp);
    }
}

void peer_defer(peer *p, netloop_task *task)
{
    sfu_ice_defer(p->ice, task);
}

void peer_flush(peer *p)
{
    sfu_ice_flush(p->ice);
}
