/* room.c - membership and negotiation of one meeting's media (see room.h, room_internal.h).
 *
 * Upstream: a member's offer is answered by sdp_answer_upstream(); its accepted sendonly m-lines
 * with SSRCs become tracks. Downstream: every member receives every other member's tracks on one
 * connection that the SFU offers; member_update_down() states the wanted tracks and offers again,
 * one offer at a time (a change while an offer is pending is offered after its answer, so there is
 * no glare: only the SFU ever offers on that connection). The packet path is in forward.c.
 *
 * Failures are told, never only logged: whatever stops a member's media from being set up (no memory
 * for the member, a connection, a forwarded track; an offer that cannot be built) undoes what the
 * step half-made (a receiving connection exists only with its negotiation state), marks the member
 * dead and tells signaling (SFU_EV_INTERNAL), which takes it out of the meeting; a join afterwards
 * starts from nothing. The places that fail are also named for tests (sfu/fault.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/room_internal.h"
#include "sfu/fault.h"
#include "sfu/log.h"

/* ---- small array helpers ---- */

static bool ptr_push(void ***arr, size_t *n, size_t *cap, void *p)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        void **grown = realloc(*arr, ncap * sizeof(void *));
        if (!grown)
            return false;
        *arr = grown;
        *cap = ncap;
    }
    (*arr)[(*n)++] = p;
    return true;
}

static void ptr_remove(void **arr, size_t *n, void *p)
{
    for (size_t i = 0; i < *n; i++) {
        if (arr[i] == p) {
            arr[i] = arr[--*n];
            return;
        }
    }
}

static uint32_t random_ssrc(void)
{
    uint32_t v;
    do
        v = g_random_int();
    while (v == 0);
    return v;
}

/* ---- events ---- */

/* An event for user_id ("": the whole meeting). */
static void emit_to(room *r, const char *user_id, sfu_event_kind kind, sfu_pc pc, const char *mid, const char *text)
{
    sfu_event *ev = calloc(1, sizeof(*ev));
    char *copy = strdup(text ? text : "");
    if (!ev || !copy) {
        free(ev);
        free(copy);
        LOG_E("sfu %s: %s: no memory for an event to signaling", r->meeting_id, user_id);
        return;
    }
    ev->kind = kind;
    ev->pc = pc;
    g_strlcpy(ev->meeting_id, r->meeting_id, sizeof(ev->meeting_id));
    g_strlcpy(ev->user_id, user_id, sizeof(ev->user_id));
    g_strlcpy(ev->mid, mid ? mid : "", sizeof(ev->mid));
    ev->text = copy;
    r->env.emit(r->env.emit_ud, ev);
}

void room_emit(room *r, member *m, sfu_event_kind kind, sfu_pc pc, const char *mid, const char *text)
{
    emit_to(r, m ? m->user_id : "", kind, pc, mid, text); /* NULL: the whole meeting */
}

void room_emit_speakers(room *r, member *to)
{
    char csv[SPEAKER_RECENT * SPEAKER_ID_MAX + 1];
    if (speaker_recent_csv(&r->speakers, csv, sizeof(csv)) < 0)
        return;
    if (!to)
        LOG_I("sfu %s: recent speakers %s", r->meeting_id, csv[0] ? csv : "(none)");
    room_emit(r, to, SFU_EV_SPEAKERS, SFU_PC_UP, NULL, csv);
}

/* ---- forwarding entries ---- */

static void fwd_free(fwd *f)
{
    forward_forget_fwd(f);
    ptr_remove((void **)f->track->subs, &f->track->n_subs, f);
    ptr_remove((void **)f->sub->fwds, &f->sub->n_fwds, f);
    free(f);
}

static fwd *fwd_find(member *sub, const track *t)
{
    for (size_t i = 0; i < sub->n_fwds; i++) {
        if (sub->fwds[i]->track == t)
            return sub->fwds[i];
    }
    return NULL;
}

static fwd *fwd_new(member *sub, track *t)
{
    fwd *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->track = t;
    f->sub = sub;
    f->ssrc = random_ssrc();
    f->rtx_ssrc = t->codec.rtx_pt >= 0 ? random_ssrc() : 0;
    f->rtx_seq = (uint16_t)g_random_int();
    f->rtx_pt = -1;
    rewrite_init(&f->rw, f->ssrc, t->codec.clock_rate);
    layers_init(f);
    vp8_munge_init(&f->vp8);
    if (!ptr_push((void ***)&sub->fwds, &sub->n_fwds, &sub->cap_fwds, f)) {
        free(f);
        return NULL;
    }
    if (!ptr_push((void ***)&t->subs, &t->n_subs, &t->cap_subs, f)) {
        ptr_remove((void **)sub->fwds, &sub->n_fwds, f);
        free(f);
        return NULL;
    }
    return f;
}

/* ---- tracks ---- */

/* Frees a simulcast layer's own track (layers > 0). */
static void layer_free(track *l)
{
    forward_forget_track(l);
    peer_forget_ssrc(l->owner->up, l->ssrc);
    peer_forget_ssrc(l->owner->up, l->rtx_ssrc);
    rtx_cache_free(l->cache);
    free(l);
}

static void track_free(track *t)
{
    forward_forget_track(t);
    for (unsigned k = 1; k < t->n_layers; k++)
        layer_free(t->layers[k]);
    while (t->n_subs)
        fwd_free(t->subs[0]);
    free(t->subs);
    rtx_cache_free(t->cache);
    free(t);
}

static track *track_find(member *m, const char *up_mid)
{
    for (size_t i = 0; i < m->n_tracks; i++) {
        if (!strcmp(m->tracks[i]->up_mid, up_mid))
            return m->tracks[i];
    }
    return NULL;
}

/* Forgets the track's SSRCs in its publisher's SRTP state (layer 0's: the others go with their
 * layers). */
static void track_forget_ssrcs(const track *t)
{
    peer_forget_ssrc(t->owner->up, t->ssrc);
    peer_forget_ssrc(t->owner->up, t->rtx_ssrc);
}

/* Whether the member's last offer said m-line up_mid is a screen. */
static bool is_screen_mid(const member *m, const char *up_mid)
{
    char key[SDP_MAX_MID + 3];
    snprintf(key, sizeof(key), ",%s,", up_mid);
    return m->screen_mids[0] && strstr(m->screen_mids, key) != NULL;
}

/* A stream's fields from the m-line (its own SSRC aside). */
static void stream_set(track *t, const sdp_up_media *um)
{
    t->kind = um->kind;
    t->codec = um->codecs[0];
    t->ext = um->ext;
}

/* A new simulcast layer k > 0 of base (its SSRC comes with its first packet). NULL: no memory. */
static track *layer_new(track *base, const sdp_up_media *um, unsigned k)
{
    track *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->owner = base->owner;
    l->cache = rtx_cache_new(ROOM_RTX_SLOTS, ROOM_RTX_MAX_AGE_US);
    if (!l->cache) {
        free(l);
        return NULL;
    }
    l->base = base;
    l->layer = k;
    g_strlcpy(l->rid, um->rids[k], sizeof(l->rid));
    g_strlcpy(l->up_mid, base->up_mid, sizeof(l->up_mid));
    l->last_pli_us = -ROOM_PLI_INTERVAL_US;
    stream_set(l, um);
    return l;
}

/* The layers as the m-line lists them now. A layer whose rid is unchanged keeps its stream. */
static void layers_set(track *t, const sdp_up_media *um)
{
    bool same = t->n_layers == um->n_rids;
    for (unsigned k = 0; same && k < t->n_layers; k++)
        same = strcmp(t->layers[k]->rid, um->rids[k]) == 0;
    if (same) {
        for (unsigned k = 1; k < t->n_layers; k++)
            stream_set(t->layers[k], um);
        return;
    }
    for (unsigned k = 1; k < t->n_layers; k++)
        layer_free(t->layers[k]);
    t->n_layers = 0;
    if (um->n_rids > 0) {
        t->layers[0] = t;
        g_strlcpy(t->rid, um->rids[0], sizeof(t->rid));
        t->n_layers = 1;
        for (unsigned k = 1; k < um->n_rids; k++) {
            track *l = layer_new(t, um, k);
            if (!l)
                break; /* fewer layers: still works */
            t->layers[t->n_layers++] = l;
        }
    }
    t->told_top = (int)t->n_layers - 1; /* the browser starts with every encoding on */
    t->fewer_since_us = 0;
    for (size_t i = 0; i < t->n_subs; i++)
        layers_init(t->subs[i]);
}

static void track_set(track *t, const sdp_up_media *um)
{
    uint32_t old = t->ssrc;
    uint32_t ssrc = um->n_rids ? 0 : um->ssrcs[0].ssrc;
    bool rids_changed = t->n_layers != um->n_rids || (um->n_rids && strcmp(t->rid, um->rids[0]) != 0);
    if (um->n_rids && !rids_changed)
        ssrc = old; /* learned from the packets, and still the same stream */
    if (old && old != ssrc)
        track_forget_ssrcs(t);
    stream_set(t, um);
    t->ssrc = ssrc;
    t->rtx_ssrc = um->n_rids ? (rids_changed ? 0 : t->rtx_ssrc) : um->ssrcs[0].rtx_ssrc;
    layers_set(t, um);
    g_strlcpy(t->track_id, um->track_id[0] ? um->track_id : t->down_mid, sizeof(t->track_id));
    t->screen = um->kind == SDP_MEDIA_VIDEO && is_screen_mid(t->owner, um->mid);
    if (old != t->ssrc) {
        rtx_cache_reset(t->cache);
        rtcp_rx_stats_init(&t->rx, t->ssrc);
        t->rx_started = false;
        t->n_lost = 0;
    }
}

static track *track_new(member *m, const sdp_up_media *um)
{
    if (um->n_ssrcs == 0 && um->n_rids == 0)
        return NULL;
    if (m->n_tracks == ROOM_MAX_TRACKS)
        return NULL;
    track *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->owner = m;
    t->cache = rtx_cache_new(um->kind == SDP_MEDIA_AUDIO ? ROOM_RTX_SLOTS_AUDIO : ROOM_RTX_SLOTS,
                             ROOM_RTX_MAX_AGE_US);
    if (!t->cache) {
        free(t);
        return NULL;
    }
    g_strlcpy(t->up_mid, um->mid, sizeof(t->up_mid));
    snprintf(t->down_mid, sizeof(t->down_mid), "%c%u", um->kind == SDP_MEDIA_AUDIO ? 'a' : 'v',
             m->room->next_mid++);
    t->last_pli_us = -ROOM_PLI_INTERVAL_US;
    track_set(t, um);
    m->tracks[m->n_tracks++] = t;
    if (t->kind == SDP_MEDIA_AUDIO && m->speaker_slot < 0)
        m->speaker_slot = speaker_add(&m->room->speakers, m->user_id); /* none left: never a speaker */
    return t;
}

static void track_remove(member *m, track *t)
{
    track_forget_ssrcs(t);
    for (size_t i = 0; i < m->n_tracks; i++) {
        if (m->tracks[i] == t) {
            m->tracks[i] = m->tracks[--m->n_tracks];
            break;
        }
    }
    track_free(t);
}

/* ---- members ---- */

static member *member_find(room *r, const char *user_id)
{
    for (size_t i = 0; i < r->n_members; i++) {
        if (!strcmp(r->members[i]->user_id, user_id))
            return r->members[i];
    }
    return NULL;
}

static void up_candidate(void *ud, const char *cand)
{
    member *m = ud;
    room_emit(m->room, m, SFU_EV_CANDIDATE, SFU_PC_UP, m->up_first_mid, cand);
}

static void down_candidate(void *ud, const char *cand)
{
    member *m = ud;
    const sdp_down_slot *first = sdp_down_slot_count(m->neg) ? sdp_down_slot_at(m->neg, 0) : NULL;
    room_emit(m->room, m, SFU_EV_CANDIDATE, SFU_PC_DOWN, first ? first->track.mid : "", cand);
}

static void up_state(void *ud, peer_state st, const char *why)
{
    member *m = ud;
    if (st == PEER_FAILED)
        room_emit(m->room, m, SFU_EV_FAILED, SFU_PC_UP, NULL, why ? why : "upstream connection failed");
    else if (st == PEER_CONNECTED)
        LOG_I("sfu %s: %s publishing connection up", m->room->meeting_id, m->user_id);
}

static void down_state(void *ud, peer_state st, const char *why)
{
    member *m = ud;
    if (st == PEER_FAILED) {
        room_emit(m->room, m, SFU_EV_FAILED, SFU_PC_DOWN, NULL, why ? why : "downstream connection failed");
    } else if (st == PEER_CONNECTED) {
        LOG_I("sfu %s: %s receiving connection up", m->room->meeting_id, m->user_id);
        room_down_ready(m);
    }
}

/* ICE of a connection whose DTLS is up failed (repairable by an ICE restart), or works again. */
static void up_ice(void *ud, bool working)
{
    member *m = ud;
    room_emit(m->room, m, working ? SFU_EV_RECONNECTED : SFU_EV_RECONNECTING, SFU_PC_UP, NULL,
              working ? "" : "ice-failed");
}

static void down_ice(void *ud, bool working)
{
    member *m = ud;
    room_emit(m->room, m, working ? SFU_EV_RECONNECTED : SFU_EV_RECONNECTING, SFU_PC_DOWN, NULL,
              working ? "" : "ice-failed");
    if (working)
        room_down_ready(m); /* keyframes for what it receives */
}

/* A data channel message of m: to every other participant of the meeting (and only of this one),
 * prefixed with m's userId and a newline (PROTOCOL.md "Data channel"). */
static void up_data(void *ud, const char *label, const uint8_t *buf, size_t len)
{
    member *m = ud;
    room *r = m->room;
    char prefix[sizeof(m->user_id) + 1];
    int plen = snprintf(prefix, sizeof(prefix), "%s\n", m->user_id);
    for (size_t i = 0; i < r->n_members; i++) {
        member *o = r->members[i];
        if (o != m && o->up && !o->dead) {
            int rc = peer_send_data(o->up, label, (const uint8_t *)prefix, (size_t)plen, buf, len);
            LOG_D("sfu %s: data channel %s -> %s: %zu bytes (%d)", r->meeting_id, m->user_id, o->user_id, len, rc);
        }
    }
}

static const peer_callbacks up_cbs = {up_candidate, up_state, forward_on_up_rtp, forward_on_up_rtcp, up_ice,
                                      up_data};
static const peer_callbacks down_cbs = {down_candidate, down_state, NULL, forward_on_down_rtcp, down_ice, NULL};

void room_down_ready(member *m)
{
    int64_t now = room_now(m->room);
    if (!m->down || peer_get_state(m->down) != PEER_CONNECTED)
        return;
    for (size_t i = 0; i < m->n_fwds; i++) {
        fwd *f = m->fwds[i];
        /* a simulcast video's layer is asked for as it is chosen (layer_select): f->track is its
         * layer 0, which this receiver may never get */
        if (f->negotiated && f->track->kind == SDP_MEDIA_VIDEO && !f->track->n_layers)
            forward_request_keyframe(f->track, now);
    }
}

/* The member's media could not be set up (why, for the log and the browser): signaling is told, and
 * takes the member out of the meeting (room_leave); until then it is left alone. The caller has
 * undone what its step half-made. */
static void member_internal(member *m, sfu_pc pc, const char *why)
{
    if (m->dead)
        return;
    m->dead = true;
    LOG_E("sfu %s: %s: %s", m->room->meeting_id, m->user_id, why);
    room_emit(m->room, m, SFU_EV_INTERNAL, pc, NULL, why);
}

/* The member's connection pc could bind no UDP port: signaling is told, and takes the member out
 * of the meeting (room_leave); until then it is left alone. */
static void member_no_ports(member *m, sfu_pc pc)
{
    m->dead = true;
    LOG_W("sfu %s: %s: no free UDP port in the RTC port range for its %s connection", m->room->meeting_id,
          m->user_id, pc == SFU_PC_UP ? "publishing" : "receiving");
    room_emit(m->room, m, SFU_EV_NO_PORTS, pc, NULL, "no free UDP port for media on the server");
}

/* Offers the member's downstream connection again if its tracks changed. */
static void member_update_down(member *m)
{
    room *r = m->room;
    if (m->dead)
        return;
    if (m->down_pending) {
        m->down_dirty = true;
        return;
    }
    /* Forward every track of every other member. */
    size_t n = 0;
    for (size_t i = 0; i < r->n_members; i++) {
        member *o = r->members[i];
        if (o == m)
            continue;
        for (size_t k = 0; k < o->n_tracks; k++, n++) {
            if (!fwd_find(m, o->tracks[k]) && !fwd_new(m, o->tracks[k])) {
                member_internal(m, SFU_PC_DOWN, "no memory to forward a track");
                return;
            }
        }
    }
    if (!m->down && n == 0)
        return; /* nothing to receive yet */
    sdp_down_track *tracks = calloc(m->n_fwds ? m->n_fwds : 1, sizeof(*tracks));
    if (!tracks) {
        member_internal(m, SFU_PC_DOWN, "no memory for the receiving connection's tracks");
        return;
    }
    for (size_t i = 0; i < m->n_fwds; i++) {
        fwd *f = m->fwds[i];
        track *t = f->track;
        sdp_down_track *dt = &tracks[i];
        g_strlcpy(dt->mid, t->down_mid, sizeof(dt->mid));
        dt->kind = t->kind;
        dt->codec = t->codec;
        dt->ssrc = f->ssrc;
        dt->rtx_ssrc = f->rtx_ssrc;
        g_strlcpy(dt->cname, t->owner->user_id, sizeof(dt->cname));
        /* a screen is a stream of its own: the camera's stream (a tile) stays as it was */
        snprintf(dt->stream_id, sizeof(dt->stream_id), "%s%s", t->owner->user_id, t->screen ? "-screen" : "");
        dt->screen = t->screen;
        g_strlcpy(dt->track_id, t->down_mid, sizeof(dt->track_id));
    }
    bool first = false;
    if (!m->down) {
        /* the connection and its negotiation state are made together, or neither */
        peer *down = fault_hit("down-peer") ? NULL : peer_new(&r->env.peer, true, &down_cbs, m);
        /* No abs-send-time downstream: forwarded as is it carries the publisher's send time, not the
         * SFU's, and Chromium's receive-side estimator, fed with it, sent REMBs far below what its
         * link carried (the SFU's pacing looked like congestion to it). The SFU estimates each
         * receiver's link from transport-cc. */
        static const sdp_ext_ids down_ext = {.audio_level = 1, .twcc = 3};
        sdp_down *neg = down ? sdp_down_new(((uint64_t)g_random_int() << 31) | g_random_int(), &down_ext) : NULL;
        if (!neg) {
            peer_free(down);
            free(tracks);
            member_internal(m, SFU_PC_DOWN, "the server could not make the receiving connection");
            return;
        }
        m->down = down;
        m->neg = neg;
        first = true;
    }
    int rc = sdp_down_set_tracks(m->neg, tracks, m->n_fwds);
    free(tracks);
    sdp_session *offer = NULL;
    char *text = NULL;
    if (rc == 0 && !fault_hit("down-offer")) {
        sdp_local local;
        peer_local(m->down, &local);
        if (sdp_down_offer(m->neg, &local, &offer) == 0)
            text = sdp_build_alloc(offer, NULL);
    }
    if (!text) {
        sdp_free(offer);
        if (first) { /* undone: no receiving connection without an offer made for it */
            peer_free(m->down);
            sdp_down_free(m->neg);
            m->down = NULL;
            m->neg = NULL;
        }
        char why[160];
        snprintf(why, sizeof(why), "the server could not build the offer for the receiving connection (%s)",
                 rc < 0 ? sdp_strerror(rc) : "SDP");
        member_internal(m, SFU_PC_DOWN, why);
        return;
    }
    m->down_pending = true;
    m->down_dirty = false;
    room_emit(r, m, SFU_EV_OFFER, SFU_PC_DOWN, NULL, text);
    free(text);
    sdp_free(offer);
    bool gather = first || m->down_restart; /* after a restart: our (same) candidates again */
    m->down_restart = false;
    if (gather && peer_gather(m->down) < 0)
        member_no_ports(m, SFU_PC_DOWN);
}

static void update_others(room *r, member *except)
{
    for (size_t i = 0; i < r->n_members; i++) {
        if (r->members[i] != except)
            member_update_down(r->members[i]);
    }
}

/* Applies the tracks of an upstream answer. Returns true when the set of tracks changed. */
static bool apply_up_tracks(member *m, const sdp_up_result *res)
{
    bool changed = false;
    bool keep[ROOM_MAX_TRACKS] = {false};
    for (size_t i = 0; i < res->n_media; i++) {
        const sdp_up_media *um = &res->media[i];
        bool publishing = um->accepted && !um->data_channel && um->n_codecs > 0 && (um->n_ssrcs > 0 || um->n_rids > 0) &&
                          um->direction == SDP_DIR_RECVONLY &&
                          (um->kind == SDP_MEDIA_AUDIO || um->kind == SDP_MEDIA_VIDEO);
        if (!publishing)
            continue;
        track *t = track_find(m, um->mid);
        if (t) {
            bool was_screen = t->screen;
            track_set(t, um);
            changed = changed || t->screen != was_screen;
        } else {
            t = track_new(m, um);
            changed = true;
        }
        for (size_t k = 0; t && k < m->n_tracks; k++)
            keep[k] = keep[k] || m->tracks[k] == t;
    }
    for (size_t k = m->n_tracks; k-- > 0;) {
        if (!keep[k]) {
            track_remove(m, m->tracks[k]);
            changed = true;
        }
    }
    return changed;
}

static void handle_up_offer(member *m, const char *text)
{
    room *r = m->room;
    sdp_session *offer = NULL, *answer = NULL;
    sdp_error err = {0};
    char why[160];
    if (sdp_parse(text, strlen(text), &offer, &err) < 0) {
        snprintf(why, sizeof(why), "offer: %s at line %d", err.reason ? err.reason : "bad SDP", err.line);
        room_emit(r, m, SFU_EV_ERROR, SFU_PC_UP, NULL, why);
        return;
    }
    if (!m->up) {
        m->up = fault_hit("up-peer") ? NULL : peer_new(&r->env.peer, false, &up_cbs, m);
        m->up_sess_id = ((uint64_t)g_random_int() << 31) | g_random_int();
        m->rtcp_ssrc = random_ssrc();
    }
    sdp_up_result *res = m->up ? calloc(1, sizeof(*res)) : NULL;
    if (!res) {
        sdp_free(offer);
        member_internal(m, SFU_PC_UP, "the server could not make the publishing connection");
        return;
    }
    /* The offer that sets the transport up is the first one answered: one refused before left the
     * peer new (its transport never applied, nor gathered). */
    bool first = peer_get_state(m->up) == PEER_NEW;
    sdp_local local;
    peer_local(m->up, &local);
    local.sess_id = m->up_sess_id;
    local.sess_version = ++m->up_version;
    local.accept_data_channel = true;
    int rc = sdp_answer_upstream(offer, &local, &answer, res);
    /* New ICE credentials in a later offer: the browser restarts ICE (RFC 8445 §9), and so do we,
     * before answering with our new ones. */
    bool restart = !first && rc == 0 && peer_remote_restarts(m->up, &res->remote);
    if (restart) {
        sdp_free(answer);
        answer = NULL;
        if (peer_restart_ice(m->up) < 0) {
            rc = SDP_ERR_INVALID;
        } else {
            peer_local(m->up, &local);
            local.sess_id = m->up_sess_id;
            local.sess_version = m->up_version;
            local.accept_data_channel = true;
            memset(res, 0, sizeof(*res));
            rc = sdp_answer_upstream(offer, &local, &answer, res);
        }
    }
    sdp_free(offer);
    char *out = rc == 0 ? sdp_build_alloc(answer, NULL) : NULL;
    sdp_free(answer);
    if (!out || ((first || restart) && peer_set_remote(m->up, &res->remote) < 0)) {
        snprintf(why, sizeof(why), "offer: cannot be answered (%s)", rc < 0 ? sdp_strerror(rc) : "transport");
        room_emit(r, m, SFU_EV_ERROR, SFU_PC_UP, NULL, why);
        free(out);
        free(res);
        return;
    }
    for (size_t i = 0; first && i < res->n_media; i++) {
        if (res->media[i].accepted) {
            g_strlcpy(m->up_first_mid, res->media[i].mid, sizeof(m->up_first_mid));
            break;
        }
    }
    if (restart) {
        LOG_I("sfu %s: %s restarts ICE on its publishing connection", r->meeting_id, m->user_id);
        room_emit(r, m, SFU_EV_RECONNECTING, SFU_PC_UP, NULL, "restart");
    }
    room_emit(r, m, SFU_EV_ANSWER, SFU_PC_UP, NULL, out);
    free(out);
    /* after a restart: our (same) candidates again, for the new generation */
    if ((first || restart) && peer_gather(m->up) < 0) {
        free(res);
        member_no_ports(m, SFU_PC_UP); /* its tracks are not offered to anybody */
        return;
    }
    for (size_t i = 0; i < res->n_media; i++) {
        if (res->media[i].accepted && res->media[i].data_channel)
            peer_enable_data(m->up, res->media[i].remote_sctp_port);
    }
    bool changed = apply_up_tracks(m, res);
    free(res);
    LOG_I("sfu %s: %s publishes %zu track(s)", r->meeting_id, m->user_id, m->n_tracks);
    if (changed)
        update_others(r, m);
}

/* Reads what the subscriber's answer accepted into its fwd entries. */
static void apply_down_answer(member *m)
{
    bool connected = m->down && peer_get_state(m->down) == PEER_CONNECTED;
    int64_t now = room_now(m->room);
    for (size_t i = 0; i < m->n_fwds; i++) {
        fwd *f = m->fwds[i];
        const sdp_down_slot *s = sdp_down_find(m->neg, f->track->down_mid);
        bool was = f->negotiated;
        f->negotiated = s && s->active && s->accepted && s->codec_accepted;
        if (!f->negotiated)
            continue;
        f->pt = s->answer_codec.pt;
        f->rtx_pt = (s->rtx_accepted && f->rtx_ssrc) ? s->answer_codec.rtx_pt : -1;
        memset(f->ext_map, 0, sizeof(f->ext_map));
        const sdp_ext_ids *in = &f->track->ext;
        if (in->audio_level && s->ext.audio_level)
            f->ext_map[in->audio_level] = s->ext.audio_level;
        if (in->twcc && s->ext.twcc && s->answer_codec.fb_twcc) {
            /* forward.c writes this receiver's own transport-wide numbers into it */
            f->ext_map[in->twcc] = s->ext.twcc;
            if (!m->tx_hist && (m->tx_hist = malloc(sizeof(*m->tx_hist))) != NULL) {
                twcc_history_init(m->tx_hist);
                bwe_init(&m->est, NULL);
                m->pace = pacer_new(ROOM_PACE_SLOTS, sizeof(paced_pkt),
                                    (uint32_t)(bwe_target(&m->est, now) * ROOM_PACE_FACTOR));
            }
        }
        if (!was && connected && f->track->kind == SDP_MEDIA_VIDEO && !f->track->n_layers)
            forward_request_keyframe(f->track, now); /* a simulcast layer is asked for as it is chosen */
    }
}

static void handle_down_answer(member *m, const char *text)
{
    room *r = m->room;
    if (!m->down || !m->down_pending) {
        room_emit(r, m, SFU_EV_ERROR, SFU_PC_DOWN, NULL, "answer: no offer is pending");
        return;
    }
    sdp_session *answer = NULL;
    sdp_error err = {0};
    sdp_remote_transport *remote = calloc(1, sizeof(*remote));
    char why[160];
    if (!remote) {
        member_internal(m, SFU_PC_DOWN, "no memory to read the answer");
        return;
    }
    int rc = sdp_parse(text, strlen(text), &answer, &err);
    if (rc == 0)
        rc = sdp_down_apply_answer(m->neg, answer, remote);
    sdp_free(answer);
    if (rc < 0) {
        snprintf(why, sizeof(why), "answer: %s (line %d)", err.reason ? err.reason : sdp_strerror(rc), err.line);
        room_emit(r, m, SFU_EV_ERROR, SFU_PC_DOWN, NULL, why);
        free(remote);
        return; /* the offer stays pending: the browser may answer again */
    }
    if (peer_get_state(m->down) == PEER_NEW || peer_remote_restarts(m->down, remote))
        peer_set_remote(m->down, remote); /* the first answer, or the browser's new ICE credentials */
    free(remote);
    m->down_pending = false;
    apply_down_answer(m);
    if (m->down_dirty)
        member_update_down(m);
}

/* ---- room API ---- */

static gboolean tick(gpointer data)
{
    peer_tick(g_get_monotonic_time()); /* SCTP's timers: real time, whatever the room's clock */
    forward_tick(data, room_now(data));
    return G_SOURCE_CONTINUE;
}

room *room_new(const room_env *env, const char *meeting_id)
{
    room *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->env = *env;
    g_strlcpy(r->meeting_id, meeting_id, sizeof(r->meeting_id));
    r->tick = g_timeout_source_new(ROOM_TICK_MS);
    g_source_set_callback(r->tick, tick, r, NULL);
    g_source_attach(r->tick, env->peer.ctx);
    speaker_init(&r->speakers);
    return r;
}

static void member_free(member *m)
{
    speaker_remove(&m->room->speakers, m->speaker_slot);
    while (m->n_tracks)
        track_remove(m, m->tracks[m->n_tracks - 1]);
    while (m->n_fwds)
        fwd_free(m->fwds[0]);
    free(m->fwds);
    free(m->alloc_at);
    free(m->alloc_af);
    peer_free(m->up);
    peer_free(m->down);
    sdp_down_free(m->neg);
    free(m->tx_hist);
    pacer_free(m->pace);
    free(m);
}

void room_free(room *r)
{
    if (!r)
        return;
    netloop_task_cancel(&r->fanout_task);
    r->n_fanout = 0;
    while (r->n_members)
        member_free(r->members[--r->n_members]);
    free(r->members);
    g_source_destroy(r->tick);
    g_source_unref(r->tick);
    if (r->pace_src) {
        g_source_destroy(r->pace_src);
        g_source_unref(r->pace_src);
    }
    free(r);
}

void room_join(room *r, const char *user_id)
{
    if (member_find(r, user_id))
        return;
    member *m = fault_hit("member-new") ? NULL : calloc(1, sizeof(*m));
    if (!m || !ptr_push((void ***)&r->members, &r->n_members, &r->cap_members, m)) {
        free(m); /* nothing else was made: the join is as if it never happened */
        LOG_E("sfu %s: %s: no memory for a member", r->meeting_id, user_id);
        emit_to(r, user_id, SFU_EV_INTERNAL, SFU_PC_UP, NULL, "the server could not add you to the meeting's media");
        return;
    }
    m->room = r;
    g_strlcpy(m->user_id, user_id, sizeof(m->user_id));
    m->rtcp_ssrc = random_ssrc();
    m->speaker_slot = -1;
    if (speaker_dominant(&r->speakers) >= 0)
        room_emit_speakers(r, m); /* who spoke so far, for the newcomer */
    member_update_down(m); /* receive what the others already publish */
}

void room_leave(room *r, const char *user_id)
{
    member *m = member_find(r, user_id);
    if (!m)
        return;
    ptr_remove((void **)r->members, &r->n_members, m);
    bool published = m->n_tracks > 0;
    member_free(m);
    if (published)
        update_others(r, NULL);
}

void room_remote_sdp(room *r, const char *user_id, sfu_pc pc, const char *sdp)
{
    member *m = member_find(r, user_id);
    if (!m || m->dead)
        return;
    if (pc == SFU_PC_UP)
        handle_up_offer(m, sdp);
    else
        handle_down_answer(m, sdp);
}

void room_screen_mids(room *r, const char *user_id, const char *mids)
{
    member *m = member_find(r, user_id);
    if (!m)
        return;
    m->screen_mids[0] = '\0';
    if (mids && *mids && strlen(mids) + 3 <= sizeof(m->screen_mids))
        snprintf(m->screen_mids, sizeof(m->screen_mids), ",%s,", mids);
}

void room_video_views(room *r, const char *user_id, const sfu_view *views, size_t n)
{
    member *m = member_find(r, user_id);
    if (!m)
        return;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < m->n_fwds; k++) {
            fwd *f = m->fwds[k];
            if (f->track->kind != SDP_MEDIA_VIDEO || strcmp(f->track->down_mid, views[i].mid) != 0)
                continue;
            f->hidden = views[i].width == 0 && views[i].height == 0;
            f->view_w = views[i].width;
            f->view_h = views[i].height;
        }
    }
    m->last_alloc_us = 0; /* choose again at the next tick */
}

void room_restart_ice(room *r, const char *user_id, sfu_pc pc)
{
    member *m = member_find(r, user_id);
    if (!m || m->dead || pc != SFU_PC_DOWN || !m->down || peer_restart_ice(m->down) < 0)
        return;
    LOG_I("sfu %s: %s restarts ICE on its receiving connection", r->meeting_id, m->user_id);
    room_emit(r, m, SFU_EV_RECONNECTING, SFU_PC_DOWN, NULL, "restart");
    m->down_restart = true;
    member_update_down(m); /* an offer with our new credentials (after the pending answer, if any) */
}

void room_remote_candidate(room *r, const char *user_id, sfu_pc pc, const char *cand)
{
    member *m = member_find(r, user_id);
    peer *p = !m || m->dead ? NULL : pc == SFU_PC_UP ? m->up : m->down;
    if (p)
        peer_add_candidate(p, cand);
}

