/* layers.c - which video each receiver gets, and which simulcast layers each publisher sends.
 * Worker thread only; called from the room's tick (forward_tick), never per packet.
 *
 * A receiver's videos: a hidden one (the browser said so) gets nothing; a simulcast one gets, at
 * most, the lowest layer at least as large as the browser shows it (the layers' sizes are read
 * from their keyframes), and within that whatever its bandwidth estimate allows (allocate.h, every
 * ROOM_ALLOC_US; the tile shown largest gets its better layer first), or, when the receiver has no
 * estimate (no transport-cc), the highest layer sent.
 * A video the estimate cannot carry even at its lowest layer is paused, and the browser is told
 * (and told again when it resumes). A single-stream video is forwarded as it comes unless hidden:
 * it has nothing lower to fall back to, so it is a fixed share of the budget, like audio.
 * Shared screens come before cameras: a single-stream one (what the web app sends) is such a fixed
 * share, taken before any camera layer; a simulcast one has ALLOC_PRIORITY_SCREEN, so it gets its
 * lowest layer before the cameras and its layers up to its view before any camera steps up.
 *
 * A publisher's simulcast video: it is told which layers somebody receives (every receiver's size
 * cap; a hidden tile wants none), so its browser stops encoding the others. More layers are
 * asked for at once; fewer only once fewer have been enough for LAYERS_FEWER_US, so a tile being
 * resized or a receiver reconnecting does not make the encoder stop and restart a layer. With
 * nobody receiving at all, the lowest layer stays on, so the next receiver's first frame does not
 * wait for an encoder to start.
 */
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "sfu/log.h"
#include "sfu/room_internal.h"

#define LAYERS_FEWER_US 3000000 /* fewer layers needed for this long before the publisher is told */
#define UP_HOLD_MIN_US 2000000  /* after a step down, no step up for this long ... */
#define UP_HOLD_MAX_US 4000000  /* ... doubled, up to this, when a step up was undone within ... */
#define UP_UNDONE_US 10000000   /* ... this long */
#define LAYER_MIN_BPS 30000     /* a layer's rate as the allocator sees it, at least */
#define VIEW_SLACK_PCT 10       /* a layer this much smaller than the view still does */

void layers_init(fwd *f)
{
    layer_select_init(&f->ls);
    if (!f->track->n_layers) {
        f->ls.current = 0; /* one stream: forwarded as it comes */
        f->ls.target = 0;
    }
}

/* Each stream's received rate over the last interval. */
static void measure_rates(room *r, int64_t now_us)
{
    int64_t dt = now_us - r->last_rate_us;
    if (dt < ROOM_RATE_US)
        return;
    r->last_rate_us = now_us;
    for (size_t i = 0; i < r->n_members; i++) {
        member *m = r->members[i];
        for (size_t k = 0; k < m->n_tracks; k++) {
            track *base = m->tracks[k];
            for (unsigned l = 0; l < track_n_streams(base); l++) {
                track *t = track_stream(base, l);
                t->bps = (uint32_t)((t->bytes_in - t->bytes_mark) * 8 * 1000000 / (uint64_t)dt);
                t->bytes_mark = t->bytes_in;
            }
        }
    }
}

/* The largest layer f's receiver needs of its simulcast track: the lowest one whose last keyframe
 * covers the view in both dimensions (within VIEW_SLACK_PCT); the top one when the view or the
 * layers' sizes are not known; -1 when hidden. */
static int view_cap(const fwd *f)
{
    const track *t = f->track;
    int top = (int)t->n_layers - 1;
    if (f->hidden)
        return -1;
    if (!f->view_w || !f->view_h)
        return top;
    for (int k = 0; k < top; k++) {
        const track *l = t->layers[k];
        if (l->width && l->height && (uint32_t)l->width * (100 + VIEW_SLACK_PCT) >= (uint32_t)f->view_w * 100 &&
            (uint32_t)l->height * (100 + VIEW_SLACK_PCT) >= (uint32_t)f->view_h * 100)
            return k;
    }
    return top;
}

/* Tells sub whether f's video is paused for bandwidth, when that changed. */
static void set_paused(fwd *f, bool paused)
{
    if (f->paused == paused)
        return;
    f->paused = paused;
    room_emit(f->sub->room, f->sub, SFU_EV_PAUSED, SFU_PC_DOWN, f->track->down_mid, paused ? "bandwidth" : "");
}

/* A single-stream video: forwarded unless hidden. */
static void single_target(fwd *f)
{
    int want = f->hidden ? -1 : 0;
    if (want != f->ls.target)
        layer_select_set_target(&f->ls, want, LAYER_SELECT_ALL_TEMPORAL);
}

/* f's spatial layer goes from its target to `layer`: a step down starts a hold on steps up, twice
 * as long as the last one when it undoes a recent step up (a link that cannot keep the higher layer
 * is not made to switch back and forth, each switch a keyframe). */
static void note_step(fwd *f, int layer, int64_t now_us)
{
    if (layer == f->ls.target)
        return;
    if (layer > f->ls.target) {
        f->up_us = now_us;
        return;
    }
    if (layer >= view_cap(f))
        return; /* down to what the view asks for (or hidden): not for bandwidth */
    bool undone = f->up_us && now_us - f->up_us < UP_UNDONE_US;
    f->hold_us = !f->hold_us || !undone ? UP_HOLD_MIN_US : f->hold_us * 2 > UP_HOLD_MAX_US ? UP_HOLD_MAX_US : f->hold_us * 2;
    f->down_us = now_us;
}

/* The videos sub receives, from its bandwidth estimate (allocate.h): its audio and single-stream
 * videos first (a fixed share), then the simulcast ones by the budget left, each up to its view. */
static void allocate_layers(member *sub, int64_t now_us)
{
    if (sub->n_fwds > sub->alloc_cap) { /* every forward, however large the meeting (50: 98 of them) */
        size_t cap = sub->cap_fwds > sub->n_fwds ? sub->cap_fwds : sub->n_fwds;
        alloc_track *grown_at = realloc(sub->alloc_at, cap * sizeof(*grown_at));
        if (grown_at)
            sub->alloc_at = grown_at;
        fwd **grown_af = realloc(sub->alloc_af, cap * sizeof(*grown_af));
        if (grown_af)
            sub->alloc_af = grown_af;
        if (grown_at && grown_af)
            sub->alloc_cap = cap;
    }
    alloc_track *at = sub->alloc_at;
    fwd **af = sub->alloc_af;
    size_t n = 0;
    for (size_t i = 0; i < sub->n_fwds && n < sub->alloc_cap; i++) {
        fwd *f = sub->fwds[i];
        if (!f->negotiated)
            continue;
        track *t = f->track;
        alloc_track *a = &at[n];
        memset(a, 0, sizeof(*a));
        a->max_layer = -1;
        if (!t->n_layers) {
            if (t->kind == SDP_MEDIA_VIDEO)
                single_target(f);
            a->audio_bps = f->ls.target < 0 ? 0 : t->bps; /* forwarded as it comes: a fixed share */
        } else {
            a->video = 1;
            /* a shared screen first, then the tile shown largest (equal tiles take turns): its area
             * in units of 4096 px */
            a->priority = (t->screen ? ALLOC_PRIORITY_SCREEN : 0) + 1 + ((uint32_t)f->view_w * f->view_h >> 12);
            a->max_layer = view_cap(f);
            if (f->down_us && now_us - f->down_us < f->hold_us && f->ls.target >= 0 && f->ls.target < a->max_layer)
                a->max_layer = f->ls.target; /* held after a step down */
            a->n_layers = t->n_layers;
            a->n_temporal = 1;
            for (unsigned k = 0; k < t->n_layers; k++) {
                const track *l = t->layers[k];
                a->layer_bps[k] = stream_active(l, now_us) ? (l->bps > LAYER_MIN_BPS ? l->bps : LAYER_MIN_BPS) : 0;
                if (l->max_tid + 1u > a->n_temporal)
                    a->n_temporal = l->max_tid + 1u;
            }
            a->cur_layer = f->ls.target;
            a->cur_temporal = f->ls.target_tid >= (int)a->n_temporal ? (int)a->n_temporal - 1 : f->ls.target_tid;
        }
        af[n++] = f;
    }
    uint32_t budget = bwe_target(&sub->est, now_us);
    allocate(at, n, budget);
    /* Paced a little above the estimate, so that what the allocation chose (a rate a bit above the
     * estimate's share, a keyframe) leaves without building a queue here; at the estimate itself
     * while loss limits it: a policer drops whatever goes over its rate once its bucket is empty,
     * and right after a decrease for loss it is. */
    if (sub->pace)
        pacer_set_rate(sub->pace, (uint32_t)(budget * (bwe_loss_limited(&sub->est, now_us) ? 1.0 : ROOM_PACE_FACTOR)),
                       now_us);
    for (size_t i = 0; i < n; i++) {
        if (!at[i].video)
            continue;
        fwd *f = af[i];
        note_step(f, at[i].layer, now_us);
        int temporal = at[i].temporal >= (int)at[i].n_temporal - 1 ? LAYER_SELECT_ALL_TEMPORAL : at[i].temporal;
        if (at[i].layer != f->ls.target || (at[i].layer >= 0 && temporal != f->ls.target_tid))
            layer_select_set_target(&f->ls, at[i].layer, temporal);
        set_paused(f, at[i].paused != 0);
    }
    if (vm_log_enabled(VM_LOG_DEBUG)) {
        char line[512];
        size_t o = 0;
        for (size_t i = 0; i < n && o < sizeof(line); i++)
            if (at[i].video)
                o += (size_t)snprintf(line + o, sizeof(line) - o, " %s:%d/%d%s", af[i]->track->down_mid, at[i].layer,
                                      at[i].temporal, at[i].paused ? "(paused)" : "");
        LOG_D("layers %s: budget %u acked %u loss %.3f queued %zu:%s", sub->user_id, budget, bwe_acked(&sub->est),
              bwe_loss(&sub->est), sub->pace ? pacer_queued_bytes(sub->pace) : 0, o ? line : " -");
    }
    uint32_t probe = bwe_probe_rate(&sub->est, now_us, alloc_wanted_bps(at, n));
    if (probe)
        forward_send_probe(sub, probe, now_us);
}

/* The videos of a receiver without a bandwidth estimate (no transport-cc downstream): a simulcast
 * one gets the highest layer being sent within its view (or, when none within it is, the lowest
 * one sent); a single-stream one is forwarded unless hidden. */
static void fixed_layers(member *sub, int64_t now_us)
{
    for (size_t i = 0; i < sub->n_fwds; i++) {
        fwd *f = sub->fwds[i];
        track *t = f->track;
        if (t->kind != SDP_MEDIA_VIDEO)
            continue;
        if (!t->n_layers) {
            single_target(f);
            continue;
        }
        int cap = view_cap(f), want = -1;
        for (int k = 0; k < (int)t->n_layers; k++) {
            if (!stream_active(t->layers[k], now_us))
                continue;
            if (k <= cap || want < 0)
                want = k;
            if (k >= cap)
                break;
        }
        if (cap < 0)
            want = -1;
        if (want != f->ls.target && (want >= 0 || cap < 0))
            layer_select_set_target(&f->ls, want, LAYER_SELECT_ALL_TEMPORAL);
    }
}

/* Tells the publisher of the simulcast track base which of its layers somebody receives. */
static void publisher_layers(track *base, int64_t now_us)
{
    int need = base->n_subs ? -1 : 0;
    for (size_t i = 0; i < base->n_subs; i++) {
        int cap = view_cap(base->subs[i]);
        if (cap > need)
            need = cap;
    }
    if (need >= base->told_top) {
        base->fewer_since_us = 0;
        if (need == base->told_top)
            return;
    } else if (!base->fewer_since_us) {
        base->fewer_since_us = now_us;
        return;
    } else if (now_us - base->fewer_since_us < LAYERS_FEWER_US) {
        return;
    }
    base->told_top = need;
    base->fewer_since_us = 0;
    char rids[SDP_NEG_MAX_RIDS * (SDP_NEG_RID + 1) + 1] = "";
    size_t o = 0;
    for (int k = 0; k <= need && k < (int)base->n_layers; k++)
        o += (size_t)snprintf(rids + o, sizeof(rids) - o, "%s%s", k ? "," : "", base->layers[k]->rid);
    room_emit(base->owner->room, base->owner, SFU_EV_LAYERS, SFU_PC_UP, base->up_mid, rids);
}

void layers_tick(room *r, int64_t now_us)
{
    measure_rates(r, now_us);
    for (size_t i = 0; i < r->n_members; i++) {
        member *m = r->members[i];
        if (!m->tx_hist) {
            fixed_layers(m, now_us);
        } else if (m->down && peer_get_state(m->down) == PEER_CONNECTED &&
                   now_us - m->last_alloc_us >= ROOM_ALLOC_US) {
            m->last_alloc_us = now_us;
            allocate_layers(m, now_us);
        }
        for (size_t k = 0; k < m->n_tracks; k++) {
            if (m->tracks[k]->n_layers && m->up && peer_get_state(m->up) == PEER_CONNECTED)
                publisher_layers(m->tracks[k], now_us);
        }
    }
}
