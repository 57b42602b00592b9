/* forward.c - the media path of a room: RTP from publishers to subscribers, and the RTCP around it.
 *
 *   publisher --SRTP--> peer (unprotect in place) --> forward_on_up_rtp
 *       parse (view) → track by SSRC (RTX unwrapped) → receive stats, transport-cc arrival,
 *       loss detection → retransmission cache → for each subscriber of the track:
 *       copy into the room's scratch buffer → rewrite seq/ts/ssrc/pt and extension ids →
 *       protect → send
 *
 * No allocation and no lock per packet: everything here runs on the room's worker thread.
 * RTCP: publishers' SRs are rewritten per subscriber (SSRC, RTP timestamp, counts) so audio and
 * video stay in sync; subscribers' PLI/FIR go upstream as PLIs (throttled per track) and their
 * NACKs are answered from the cache (RTX when negotiated). The SFU NACKs publishers for upstream
 * losses, sends them transport-cc feedback (when negotiated, else REMB) and receiver reports.
 */
#include <string.h>

#include "sfu/log.h"
#include "sfu/room_internal.h"

#define NACK_RETRY_US 30000   /* between two NACKs of one lost packet */
#define NACK_TRIES 3
#define RR_INTERVAL_US 1000000
#define REMB_BPS 2500000      /* the most a publisher is asked to send when transport-cc is off */
#define PROBE_MIN_PACKETS 10  /* a probe cluster's arrival rate needs a few packets */
#define PROBE_PADDING 255      /* bytes of one RTX padding packet */
#define PROBE_MAX_PACKETS 128  /* the most one probe cluster sends */

static sfu_stats *stats_of(member *m)
{
    return m->room->env.peer.stats;
}

/* ---- upstream feedback ---- */

static bool send_to_publisher(member *m, uint8_t *buf, size_t len, size_t cap)
{
    return m->up && peer_send_rtcp(m->up, buf, len, cap) == 0;
}

void forward_request_keyframe(track *t, int64_t now_us)
{
    if (t->kind != SDP_MEDIA_VIDEO || t->ssrc == 0)
        return;
    /* A keyframe asked for less than a second ago and not arrived yet serves this request too. */
    if (t->last_pli_us > t->last_keyframe_us && now_us - t->last_pli_us < 1000000)
        return;
    if (now_us - t->last_pli_us < ROOM_PLI_INTERVAL_US) {
        t->pli_pending = true; /* sent by the tick once the interval has passed */
        return;
    }
    member *m = t->owner;
    /* Its own buffer, not the room's scratch: a layer switch asks for a keyframe while the packet
     * being forwarded sits in the scratch (forward_one → layer_pass), and a PLI built there overwrote
     * that packet's first header bytes (sent with its extension bit cleared and a CSRC count of 1). */
    uint8_t buf[64];
    int n = rtcp_build_pli(buf, sizeof(buf) - SRTP_SESSION_RTCP_MAX_OVERHEAD, m->rtcp_ssrc, t->ssrc);
    /* Not sent (the publisher's connection is not up yet): not asked either, or the check above would
     * hold back the next request for a second. */
    if (n <= 0 || !send_to_publisher(m, buf, (size_t)n, sizeof(buf)))
        return;
    STATS_INC(stats_of(m)->plis_sent);
    t->last_pli_us = now_us;
    t->pli_pending = false;
}

/* Remembers the seqs between the highest seen and seq as lost, and forgets seq if it was. */
static void track_note_seq(track *t, uint16_t seq, int64_t now_us)
{
    if (!t->rx_started) {
        t->rx_started = true;
        t->highest_seq = seq;
        return;
    }
    int16_t diff = (int16_t)(seq - t->highest_seq);
    if (diff <= 0) { /* late or retransmitted: no longer lost */
        for (size_t i = 0; i < t->n_lost; i++) {
            if (t->lost[i].seq == seq) {
                t->lost[i] = t->lost[--t->n_lost];
                break;
            }
        }
        return;
    }
    if (diff > 1 && diff < 200) {
        for (uint16_t s = (uint16_t)(t->highest_seq + 1); s != seq && t->n_lost < ROOM_NACK_MAX; s++)
            t->lost[t->n_lost++] = (lost_seq){s, 0, now_us};
    }
    t->highest_seq = seq;
}

static void send_nacks(track *t, int64_t now_us)
{
    uint16_t seqs[ROOM_NACK_MAX];
    size_t n = 0;
    for (size_t i = 0; i < t->n_lost;) {
        lost_seq *l = &t->lost[i];
        if (l->tries >= NACK_TRIES) {
            *l = t->lost[--t->n_lost];
            continue;
        }
        if (l->next_us <= now_us) {
            seqs[n++] = l->seq;
            l->tries++;
            l->next_us = now_us + NACK_RETRY_US;
        }
        i++;
    }
    if (!n)
        return;
    /* rtcp_nack_pack wants increasing order (wrap-aware). */
    for (size_t i = 1; i < n; i++) {
        for (size_t k = i; k > 0 && (int16_t)(seqs[k] - seqs[k - 1]) < 0; k--) {
            uint16_t tmp = seqs[k];
            seqs[k] = seqs[k - 1];
            seqs[k - 1] = tmp;
        }
    }
    struct rtcp_nack_item items[ROOM_NACK_MAX];
    size_t n_items = rtcp_nack_pack(seqs, n, items, ROOM_NACK_MAX, NULL);
    member *m = t->owner;
    uint8_t *buf = m->room->scratch;
    int len = rtcp_build_nack(buf, ROOM_SCRATCH - SRTP_SESSION_RTCP_MAX_OVERHEAD, m->rtcp_ssrc, t->ssrc, items, n_items);
    if (len > 0) {
        send_to_publisher(m, buf, (size_t)len, ROOM_SCRATCH);
        STATS_ADD(stats_of(m)->nacks_sent, n);
    }
}

/* ---- RTP from a publisher ---- */

/* The SRTP rollover counter of the subscriber's packet with sequence number seq: its extended
 * sequence number (rewrite.c starts them at 0x10000) divided by 2^16. */
static uint32_t roc_of(const fwd *f, uint16_t seq)
{
    return (rtp_seq_unwrap(f->rw.out_max, seq) >> 16) - 1;
}

static void pace_drop_left_layer(fwd *f);

/* Whether this subscriber gets the packet (layer_select.h: its simulcast layer, temporal layers,
 * or a paused video), with its VP8 descriptor renumbered into out (a copy of the packet) for
 * simulcast. False: dropped (and noted, when it is a picture of the layer it gets, so that its
 * numbering stays gapless). */
static bool layer_pass(fwd *f, const fanout_pkt *p, uint8_t *out, int64_t now_us)
{
    int key_layer;
    ls_action a = layer_select_on_packet(&f->ls, &p->lp, now_us, &key_layer);
    track *base = f->track;
    if (key_layer >= 0 && (unsigned)key_layer < track_n_streams(base))
        forward_request_keyframe(track_stream(base, (unsigned)key_layer), now_us);
    if (a == LS_DROP) {
        if (f->ls.current == p->lp.layer && f->rw.started) {
            rewrite_skip(&f->rw, p->v.ssrc, p->v.seq);
            if (p->vp8_ok)
                vp8_munge_drop(&f->vp8, p->v.ssrc, &p->vp8);
        }
        return false;
    }
    if (a == LS_SWITCHED) { /* a new layer, or the same one after a pause: a new segment */
        rewrite_resync(&f->rw);
        vp8_munge_resync(&f->vp8);
        pace_drop_left_layer(f);
    }
    if (p->vp8_ok &&
        vp8_munge_forward(&f->vp8, p->v.ssrc, out + p->v.payload_off, p->v.payload_len, &p->vp8) < 0)
        return false;
    return true;
}

/* Writes this receiver's next transport-wide sequence number into the packet's transport-cc
 * element (the publisher's id, before the ids are remapped), when transport-cc runs downstream. */
static void stamp_twcc(fwd *f, uint8_t *buf, const struct rtp_view *v, size_t wire_len, int64_t send_us, int probe)
{
    member *sub = f->sub;
    uint8_t id = f->track->ext.twcc;
    if (!sub->tx_hist || !id || !f->ext_map[id] || !v->extension)
        return;
    uint16_t seq = twcc_history_on_send(sub->tx_hist, send_us, (uint32_t)wire_len, probe);
    rtp_ext_set_u16(buf, v, id, seq);
}

/* Sends one packet to f's subscriber (when its layer choice lets it pass). Returns the bytes sent
 * (0: none), which its pacer counts. */
static size_t forward_one(fwd *f, const fanout_pkt *p, int64_t now_us, int64_t send_us)
{
    member *sub = f->sub;
    uint8_t *out = sub->room->scratch;
    const uint8_t *pkt = p->v.pkt;
    size_t len = p->v.len;
    const struct rtp_view *v = &p->v;
    memcpy(out, pkt, len);
    /* a single-stream track forwarding as usual (layer 0) skips the choice */
    if ((f->track->n_layers || f->ls.current != 0 || f->ls.target != 0) && !layer_pass(f, p, out, now_us))
        return 0;
    if (rewrite_apply(&f->rw, out, v, (uint64_t)now_us) < 0)
        return 0;
    stamp_twcc(f, out, v, len + SRTP_SESSION_RTP_MAX_OVERHEAD, send_us, 0);
    rtp_set_pt(out, f->pt);
    if (v->extension)
        rtp_ext_remap(out, v, f->ext_map);
    if (peer_send_rtp_roc(sub->down, out, len, ROOM_SCRATCH, roc_of(f, (uint16_t)((out[2] << 8) | out[3]))) == 0) {
        f->packets++;
        f->octets += (uint32_t)v->payload_len;
        STATS_INC(stats_of(sub)->rtp_packets_out);
        STATS_ADD(stats_of(sub)->rtp_bytes_out, len);
        if (sub->pace)
            pacer_sent(sub->pace, len + SRTP_SESSION_RTP_MAX_OVERHEAD, send_us);
        return len;
    }
    return 0;
}

/* ---- pacing (pacer.h): video towards a receiver with a bandwidth estimate ---- */

static gboolean pace_run(gpointer data);

/* Serves the room's pacers every ROOM_PACE_TICK_MS from now on, while packets wait. */
static void pace_arm(room *r)
{
    if (r->pace_src)
        return;
    r->pace_src = g_timeout_source_new(ROOM_PACE_TICK_MS);
    g_source_set_callback(r->pace_src, pace_run, r, NULL);
    g_source_attach(r->pace_src, r->env.peer.ctx);
}

/* Sends the packet at the front of sub's pacer, if it still can be: its fwd and stream are there,
 * and the retransmission cache still holds its bytes. */
static void pace_send_front(member *sub, int64_t now_us)
{
    paced_pkt *e = pacer_front(sub->pace);
    const uint8_t *kept;
    size_t kept_len;
    if (e && e->f && e->p.track &&
        rtx_cache_get(e->p.track->cache, e->p.v.seq, (uint64_t)now_us, &kept, &kept_len) == 0 && kept == e->p.v.pkt)
        forward_one(e->f, &e->p, e->p.arrival_us, now_us);
    pacer_pop(sub->pace);
}

/* Sends what sub's pacer lets go now. */
static void pace_drain(member *sub, int64_t now_us)
{
    bool any = false;
    while (pacer_due(sub->pace, now_us)) {
        pace_send_front(sub, now_us);
        any = true;
    }
    if (any)
        peer_flush(sub->down);
}

/* Whether p waits in sub's pacer (or is not for sub at all) instead of going now. Audio goes at
 * once, ahead of waiting video (and counts); a simulcast layer sub neither gets nor is switching to
 * is not queued. */
static bool pace_hold(fwd *f, const fanout_pkt *p, int64_t now_us)
{
    member *sub = f->sub;
    if (f->track->kind != SDP_MEDIA_VIDEO)
        return false;
    if (f->track->n_layers && p->lp.layer != f->ls.current && p->lp.layer != f->ls.target)
        return true;
    /* The keyframe a layer switch waits for does not wait behind the layer it ends: its first packet
     * goes now (the switch happens there, and what waits of the old layer leaves the queue:
     * pace_drop_left_layer); the rest of it waits its turn. After the estimate fell, a switch down
     * would otherwise come only once the larger layer's backlog had drained, at the lower rate. */
    if (f->track->n_layers && p->lp.keyframe && p->lp.layer == f->ls.target && f->ls.target != f->ls.current)
        return false;
    if (pacer_may_send(sub->pace, now_us))
        return false;
    size_t wire = p->v.len + SRTP_SESSION_RTP_MAX_OVERHEAD;
    paced_pkt *e = pacer_push(sub->pace, wire);
    if (!e) { /* full: the oldest goes now, ahead of its time */
        pace_send_front(sub, now_us);
        e = pacer_push(sub->pace, wire);
    }
    e->f = f;
    e->p = *p;
    pace_arm(sub->room);
    return true;
}

static bool pace_keep(const void *item, void *ctx)
{
    const paced_pkt *e = item;
    const fwd *f = ctx;
    if (!e->f || !e->p.track)
        return false; /* its fwd or stream went away (pace_forget) */
    return e->f != f || e->p.lp.layer == f->ls.current;
}

/* f switched layers: what still waits in the pacer of the layer it left would only arrive late and
 * be of no use after the switch's keyframe; it leaves the queue now, so that the pacer's rate goes
 * to what is still wanted (the other videos' packets, the new layer's keyframe). */
static void pace_drop_left_layer(fwd *f)
{
    if (f->sub->pace)
        pacer_filter(f->sub->pace, pace_keep, f);
}

static bool probe_step(member *sub, int64_t now_us);

bool forward_pace(room *r, int64_t now)
{
    bool waiting = false;
    for (size_t i = 0; i < r->n_members; i++) {
        member *m = r->members[i];
        if (m->probe_bps)
            waiting = probe_step(m, now) || waiting;
        if (!m->pace || !pacer_queued(m->pace))
            continue;
        if (!m->down || peer_get_state(m->down) != PEER_CONNECTED) {
            while (pacer_queued(m->pace))
                pacer_pop(m->pace);
            continue;
        }
        pace_drain(m, now);
        waiting = waiting || pacer_queued(m->pace) > 0;
    }
    return waiting;
}

static gboolean pace_run(gpointer data)
{
    room *r = data;
    if (forward_pace(r, room_now(r)))
        return G_SOURCE_CONTINUE;
    g_source_unref(r->pace_src);
    r->pace_src = NULL;
    return G_SOURCE_REMOVE;
}

/* Marks what waits in pc for fwd f, or of stream t, as gone (pace_send_front then drops it). */
static void pace_forget(pacer *pc, const fwd *f, const track *t)
{
    for (size_t i = 0; pc && i < pacer_queued(pc); i++) {
        paced_pkt *e = pacer_item(pc, i);
        if (f && e->f == f)
            e->f = NULL;
        if (t && e->p.track == t)
            e->p.track = NULL;
    }
}

void forward_forget_fwd(fwd *f)
{
    pace_forget(f->sub->pace, f, NULL);
}

/* The packets of one track in a fan-out batch: sorted[first .. first + n). */
typedef struct {
    track *t;
    size_t first, n;
} fanout_group;

static fwd *fwd_of_track(const member *sub, const track *t)
{
    for (size_t i = 0; i < sub->n_fwds; i++)
        if (sub->fwds[i]->track == t)
            return sub->fwds[i];
    return NULL;
}

/* The forwarding delay of the packets of the listed groups just sent to one subscriber, into the
 * histogram (sfu_fwd_delay_bounds_us). */
static void record_delays(sfu_stats *st, const fanout_group *groups, const size_t *sent, size_t n_sent,
                          const fanout_pkt *sorted, int64_t now_us)
{
    for (size_t i = 0; i < n_sent; i++) {
        const fanout_group *g = &groups[sent[i]];
        for (size_t k = g->first; k < g->first + g->n; k++) {
            int64_t d = now_us - sorted[k].arrival_us;
            uint64_t us = d > 0 ? (uint64_t)d : 0;
            size_t b = 0;
            while (b < SFU_FWD_DELAY_BUCKETS && us > sfu_fwd_delay_bounds_us[b])
                b++;
            STATS_INC(st->fwd_delay[b]);
            STATS_ADD(st->fwd_delay_sum_us, us);
        }
    }
}

/* The idx-th subscriber of this fan-out, in its direction. */
static member *fanout_member(const room *r, size_t idx)
{
    return r->members[r->fanout_backwards ? r->n_members - 1 - idx : idx];
}

/* Each subscriber's state is cold by the time the fan-out comes round to it (the kernel's send path
 * in between evicts it), and it is a chain of pointers: member -> peer -> SRTP session / ICE ->
 * cipher state / send queue. While the fan-out works on subscriber idx, the loads for the next ones
 * are started one level per step: the member of idx + 4, its peer and forwarding entries at idx + 3,
 * what the peer points to at idx + 2, the level below at idx + 1. */
static void prefetch_ahead(const room *r, size_t idx)
{
    size_t n = r->n_members;
    if (idx + 4 < n)
        __builtin_prefetch(fanout_member(r, idx + 4));
    if (idx + 3 < n) {
        const member *m = fanout_member(r, idx + 3);
        if (m->down)
            __builtin_prefetch(m->down);
        if (m->fwds)
            __builtin_prefetch(m->fwds);
        if (m->pace)
            __builtin_prefetch(m->pace);
        if (m->tx_hist)
            __builtin_prefetch(m->tx_hist);
    }
    if (idx + 2 < n) {
        const member *m = fanout_member(r, idx + 2);
        if (m->down)
            peer_prefetch(m->down, 0);
        for (size_t k = 0; k < m->n_fwds; k++)
            __builtin_prefetch(m->fwds[k]);
        if (m->tx_hist)
            twcc_history_prefetch(m->tx_hist);
    }
    if (idx + 1 < n) {
        const member *m = fanout_member(r, idx + 1);
        if (m->down)
            peer_prefetch(m->down, 1);
    }
}

void forward_fanout(room *r)
{
    netloop_task_cancel(&r->fanout_task);
    size_t n = r->n_fanout;
    r->n_fanout = 0;
    /* Group by track, keeping each track's arrival order (packets of different tracks may be
     * reordered between them: they are different RTP streams). Video first: a subscriber's queue then
     * reads [video..., audio], and the shorter audio packet can end the video's GSO run instead of
     * needing a send of its own. */
    fanout_pkt sorted[ROOM_FANOUT_MAX];
    fanout_group groups[ROOM_FANOUT_MAX];
    size_t ng = 0, ns = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            track *t = r->fanout[i].track;
            if (!t || (pass == 0) != (t->kind == SDP_MEDIA_VIDEO))
                continue;
            groups[ng].t = t;
            groups[ng].first = ns;
            for (size_t j = i; j < n; j++) {
                if (r->fanout[j].track == t) {
                    sorted[ns++] = r->fanout[j];
                    r->fanout[j].track = NULL;
                }
            }
            groups[ng].n = ns - groups[ng].first;
            ng++;
        }
    }
    if (ng == 0)
        return;
    /* Subscriber by subscriber: all of its packets of this batch, then its queue leaves at once. Its
     * rewrite and SRTP state, the few queue slots and its socket stay in cache, and the first
     * subscriber does not wait for the last one's encryption. The direction alternates from one batch
     * to the next, so that no subscriber is always served last (the last one of 200 waits for the 199
     * others' encryption and sends). */
    r->fanout_backwards = !r->fanout_backwards;
    size_t sent[ROOM_FANOUT_MAX]; /* the groups this subscriber got */
    for (size_t idx = 0; idx < r->n_members; idx++) {
        member *sub = fanout_member(r, idx);
        prefetch_ahead(r, idx);
        if (!sub->down || sub->n_fwds == 0 || peer_get_state(sub->down) != PEER_CONNECTED)
            continue;
        size_t n_sent = 0;
        int64_t send_us = sub->tx_hist ? room_now(r) : 0;
        if (sub->pace && pacer_queued(sub->pace))
            pace_drain(sub, send_us); /* what waited goes first */
        for (size_t g = 0; g < ng; g++) {
            fwd *f = fwd_of_track(sub, track_base(groups[g].t));
            if (!f || !f->negotiated)
                continue;
            for (size_t k = groups[g].first; k < groups[g].first + groups[g].n; k++) {
                if (!sub->pace || !pace_hold(f, &sorted[k], send_us))
                    forward_one(f, &sorted[k], sorted[k].arrival_us, send_us);
            }
            sent[n_sent++] = g;
        }
        if (n_sent) {
            peer_flush(sub->down);
            record_delays(stats_of(sub), groups, sent, n_sent, sorted, room_now(r));
        }
    }
}

static void fanout_task_run(netloop_task *task)
{
    forward_fanout((room *)((char *)task - offsetof(room, fanout_task)));
}

void forward_forget_track(track *t)
{
    room *r = t->owner->room;
    for (size_t i = 0; i < r->n_fanout; i++)
        if (r->fanout[i].track == t)
            r->fanout[i].track = NULL;
    for (size_t k = 0; k < r->n_members; k++)
        pace_forget(r->members[k]->pace, NULL, t);
}

/* The first packet of a keyframe, for the codecs the SFU negotiates. */
static bool is_keyframe_start(const track *t, const struct rtp_view *v)
{
    const uint8_t *payload = v->pkt + v->payload_off;
    if (t->codec.id == SDP_CODEC_VP8) {
        struct rtp_vp8 vp8;
        return rtp_vp8_parse(payload, v->payload_len, &vp8) == 0 && vp8.keyframe;
    }
    return t->codec.id == SDP_CODEC_H264 && rtp_h264_is_keyframe(payload, v->payload_len) > 0;
}

static track *track_by_ssrc(member *m, uint32_t ssrc, bool *rtx)
{
    for (size_t i = 0; i < m->n_tracks; i++) {
        track *base = m->tracks[i];
        for (unsigned k = 0; k < track_n_streams(base); k++) {
            track *t = track_stream(base, k);
            if (t->ssrc && t->ssrc == ssrc) {
                *rtx = false;
                return t;
            }
            if (t->rtx_ssrc && t->rtx_ssrc == ssrc) {
                *rtx = true;
                return t;
            }
        }
    }
    return NULL;
}

/* A header extension's bytes as a string (mid, rid: up to 16 bytes), "" when absent. */
static void ext_string(const struct rtp_view *v, uint8_t id, char *out, size_t cap)
{
    struct rtp_ext e;
    out[0] = '\0';
    if (!id || rtp_ext_find(v, id, &e) < 0 || e.len == 0 || e.len >= cap)
        return;
    memcpy(out, v->pkt + e.off, e.len);
    out[e.len] = '\0';
}

/* The first packet of a simulcast stream: its mid and rid (or repaired rid, for RTX) header
 * extensions say which layer of which m-line it is (RFC 8852); its SSRC is that layer's from now
 * on. NULL when it says nothing we know. */
static track *learn_ssrc(member *m, const struct rtp_view *v, bool *rtx)
{
    for (size_t i = 0; i < m->n_tracks; i++) {
        track *base = m->tracks[i];
        if (!base->n_layers || !base->ext.rid)
            continue;
        char mid[SDP_MAX_MID + 1], rid[SDP_NEG_RID + 1];
        ext_string(v, base->ext.mid, mid, sizeof(mid));
        if (strcmp(mid, base->up_mid) != 0)
            continue;
        ext_string(v, base->ext.rid, rid, sizeof(rid));
        *rtx = false;
        if (!rid[0] && base->ext.rrid) {
            ext_string(v, base->ext.rrid, rid, sizeof(rid));
            *rtx = true;
        }
        for (unsigned k = 0; rid[0] && k < base->n_layers; k++) {
            track *t = base->layers[k];
            if (strcmp(t->rid, rid) != 0)
                continue;
            if (*rtx) {
                if (t->rtx_ssrc)
                    return NULL; /* it has one already */
                t->rtx_ssrc = v->ssrc;
            } else {
                if (t->ssrc)
                    return NULL;
                t->ssrc = v->ssrc;
                rtcp_rx_stats_init(&t->rx, t->ssrc);
                t->rx_started = false;
                t->n_lost = 0;
                rtx_cache_reset(t->cache);
            }
            return t;
        }
    }
    return NULL;
}

static void record_twcc(member *m, const track *t, const struct rtp_view *v, int64_t now_us)
{
    uint16_t tseq;
    if (!t->ext.twcc || rtp_ext_get_u16(v, t->ext.twcc, &tseq) < 0)
        return;
    if (m->n_twcc == ROOM_TWCC_MAX)
        return; /* the tick drains it every ROOM_TICK_MS: only a flood gets here */
    m->twcc[m->n_twcc++] = (struct rtcp_twcc_arrival){tseq, now_us};
}

void forward_on_up_rtp(void *ud, uint8_t *buf, size_t len, int64_t now_us)
{
    member *m = ud;
    sfu_stats *st = stats_of(m);
    struct rtp_view v;
    if (rtp_parse(&v, buf, len) < 0) {
        STATS_INC(st->dropped_malformed);
        return;
    }
    bool rtx;
    track *t = track_by_ssrc(m, v.ssrc, &rtx);
    if (!t)
        t = learn_ssrc(m, &v, &rtx);
    if (!t) {
        STATS_INC(st->dropped_unknown_ssrc);
        return;
    }
    record_twcc(m, t, &v, now_us);
    if (rtx) {
        if (v.pt != (uint8_t)t->codec.rtx_pt || v.payload_len < 2)
            return; /* RTX padding probes carry no packet */
        int n = rtp_rtx_unwrap(buf, len, t->codec.pt, t->ssrc);
        if (n <= 0 || rtp_parse(&v, buf, (size_t)n) < 0)
            return;
        len = (size_t)n;
    } else if (v.pt != t->codec.pt) {
        return; /* only the negotiated codec is forwarded */
    }
    STATS_INC(st->rtp_packets_in);
    STATS_ADD(st->rtp_bytes_in, len);
    t->last_packet_us = now_us;
    track_note_seq(t, v.seq, now_us);
    const uint8_t *kept;
    size_t kept_len;
    room *r = m->room;
    if (rtx_cache_get(t->cache, v.seq, (uint64_t)now_us, &kept, &kept_len) == 0) {
        /* Had it already: the publisher's probe padding repeats recent packets as RTX, and a late
         * NACK answer may cross the original. Subscribers got it (or ask us for it). */
        STATS_INC(st->dropped_duplicate);
        return;
    }
    /* The audio level (RFC 6464) of a new audio packet, for the dominant speaker (speaker.h). */
    struct rtp_ext lvl;
    if (t->kind == SDP_MEDIA_AUDIO && t->ext.audio_level && m->speaker_slot >= 0 &&
        rtp_ext_find(&v, t->ext.audio_level, &lvl) == 0 && lvl.len >= 1)
        speaker_level(&r->speakers, m->speaker_slot, v.pkt[lvl.off], v.ts, t->codec.clock_rate, now_us);
    /* Only a new packet counts towards the stream's rate and keyframes. Probe padding repeats recent
     * packets of one stream, Firefox's for as long as its estimate is below what its next simulcast
     * layer needs, at several times that stream's own rate: counted, it made the lowest layer look
     * dearer than any receiver's estimate and allocate paused the video; and a repeated keyframe
     * packet is no answer to a keyframe request. */
    t->bytes_in += len;
    /* the receive statistics of the reports to the publisher too: repeats counted there inflated
     * the jitter and hid real loss */
    uint32_t arrival = (uint32_t)((uint64_t)now_us * t->codec.clock_rate / 1000000u);
    rtcp_rx_stats_update(&t->rx, v.seq, v.ts, arrival);
    bool keyframe = t->kind == SDP_MEDIA_VIDEO && is_keyframe_start(t, &v);
    if (keyframe) {
        t->last_keyframe_us = now_us;
        t->pli_pending = false; /* whoever waited gets this one */
    }
    bool cached = rtx_cache_put(t->cache, v.seq, buf, len, (uint64_t)now_us) == 0 &&
                  rtx_cache_get(t->cache, v.seq, (uint64_t)now_us, &kept, &kept_len) == 0;
    /* Wait for the end of the loop iteration: every packet that arrived in it then goes to each
     * subscriber in turn, whose state (rewrite, SRTP context, socket) is loaded once for all of them. */
    if (r->n_fanout == ROOM_FANOUT_MAX)
        forward_fanout(r);
    if (cached)
        v.pkt = kept;
    fanout_pkt *fp = &r->fanout[r->n_fanout++];
    fp->track = t;
    fp->v = v;
    fp->arrival_us = now_us;
    fp->vp8_ok = false;
    fp->lp = (ls_packet){(int)t->layer, keyframe, 1, -1, 0};
    if (track_base(t)->n_layers) {
        if (t->codec.id == SDP_CODEC_VP8 && rtp_vp8_parse(v.pkt + v.payload_off, v.payload_len, &fp->vp8) == 0) {
            fp->vp8_ok = true;
            fp->lp.picture_start = fp->vp8.start && fp->vp8.pid == 0;
            fp->lp.tid = fp->vp8.has_tid ? fp->vp8.tid : -1;
            if (fp->vp8.has_tid && fp->vp8.tid > t->max_tid)
                t->max_tid = fp->vp8.tid;
            fp->lp.layer_sync = fp->vp8.layer_sync;
            if (fp->vp8.keyframe && fp->vp8.width && fp->vp8.height) {
                t->width = fp->vp8.width;
                t->height = fp->vp8.height;
            }
        }
    }
    if (!cached) {
        /* Not in the cache (too old a seq): buf is libnice's, so the batch goes now, in order. */
        forward_fanout(r);
        return;
    }
    if (r->n_fanout == 1) {
        r->fanout_task.fn = fanout_task_run;
        peer_defer(m->up, &r->fanout_task);
    }
}

/* ---- RTCP from a publisher: sender reports go to each subscriber, rewritten ---- */

static void forward_sr(member *m, const struct rtcp_pkt *p, int64_t now_us)
{
    bool rtx;
    track *t = track_by_ssrc(m, p->ssrc, &rtx);
    if (!t || rtx)
        return;
    rtcp_rx_stats_on_sr(&t->rx, p->u.sr.info.ntp, (uint64_t)now_us);
    track *base = track_base(t);
    for (size_t i = 0; i < base->n_subs; i++) {
        fwd *f = base->subs[i];
        if (!f->negotiated || !f->rw.started || peer_get_state(f->sub->down) != PEER_CONNECTED)
            continue;
        if (base->n_layers && f->rw.src_ssrc != t->ssrc)
            continue; /* the subscriber gets another layer: its timestamps are not these */
        struct rtcp_sr_info sr = p->u.sr.info;
        sr.ssrc = f->ssrc;
        sr.rtp_ts = p->u.sr.info.rtp_ts + f->rw.ts_off;
        sr.packets = f->packets;
        sr.octets = f->octets;
        uint8_t *buf = m->room->scratch;
        int n = rtcp_build_sr(buf, ROOM_SCRATCH - SRTP_SESSION_RTCP_MAX_OVERHEAD, &sr, NULL, 0);
        if (n > 0)
            peer_send_rtcp(f->sub->down, buf, (size_t)n, ROOM_SCRATCH);
    }
}

void forward_on_up_rtcp(void *ud, uint8_t *buf, size_t len, int64_t now_us)
{
    member *m = ud;
    struct rtcp_iter it;
    struct rtcp_pkt p;
    int rc;
    rtcp_iter_init(&it, buf, len);
    while ((rc = rtcp_iter_next(&it, &p)) > 0) {
        if (p.kind == RTCP_K_SR)
            forward_sr(m, &p, now_us);
    }
    if (rc < 0)
        STATS_INC(stats_of(m)->dropped_malformed);
}

/* ---- RTCP from a subscriber ---- */

/* A subscriber asks for a keyframe: of the layer it gets (or is about to get). */
static void subscriber_wants_keyframe(fwd *f, int64_t now_us)
{
    track *t = f->track;
    if (!t->n_layers) {
        forward_request_keyframe(t, now_us);
        return;
    }
    int layer = f->ls.current >= 0 ? f->ls.current : f->ls.target;
    if (layer >= 0 && (unsigned)layer < t->n_layers)
        forward_request_keyframe(t->layers[layer], now_us);
}

static fwd *fwd_by_ssrc(member *sub, uint32_t ssrc)
{
    for (size_t i = 0; i < sub->n_fwds; i++) {
        if (sub->fwds[i]->ssrc == ssrc)
            return sub->fwds[i];
    }
    return NULL;
}

/* Sends the subscriber's packet out_seq again (RTX when negotiated). probe: sent to probe the link
 * (counted as such, not as an answer to a NACK). Returns the bytes sent, 0 when it could not. */
static size_t retransmit(fwd *f, uint16_t out_seq, int64_t now_us, int probe)
{
    uint16_t src_seq;
    const uint8_t *pkt;
    size_t len;
    track *t = f->track;
    if (t->n_layers) { /* the layer this subscriber gets now: NACKs from before a switch fail below */
        track *l = NULL;
        for (unsigned k = 0; k < t->n_layers; k++)
            if (t->layers[k]->ssrc && t->layers[k]->ssrc == f->rw.src_ssrc)
                l = t->layers[k];
        if (!l)
            return 0;
        t = l;
    }
    if (rewrite_nack_to_source(&f->rw, out_seq, &src_seq) < 0 ||
        rtx_cache_get(t->cache, src_seq, (uint64_t)now_us, &pkt, &len) < 0)
        return 0;
    struct rtp_view v;
    struct rewrite_out o;
    if (rtp_parse(&v, pkt, len) < 0 || rewrite_lookup(&f->rw, v.seq, v.ts, &o) < 0)
        return 0;
    /* Simulcast VP8: the descriptor goes again as it went (vp8_munge.h): after a switch or a dropped
     * temporal layer the source's picture ids are not the receiver's, and a frame completed by a
     * packet with other numbers than its own stalls the receiver's decoder until a keyframe. */
    struct rtp_vp8 vp8;
    bool is_vp8 = f->track->n_layers && t->codec.id == SDP_CODEC_VP8 &&
                  rtp_vp8_parse(v.pkt + v.payload_off, v.payload_len, &vp8) == 0;
    uint8_t *out = f->sub->room->scratch;
    size_t n = len;
    uint32_t roc = roc_of(f, o.seq);
    if (f->rtx_pt >= 0) {
        /* RTX (RFC 4588): build from a rewritten copy of the original. */
        uint8_t *orig = f->sub->room->scratch2;
        memcpy(orig, pkt, len);
        rtp_set_seq(orig, o.seq);
        rtp_set_ts(orig, o.ts);
        rtp_set_ssrc(orig, o.ssrc);
        rtp_set_pt(orig, f->pt);
        if (is_vp8 && vp8_munge_again(&f->vp8, v.ssrc, orig + v.payload_off, v.payload_len, &vp8) < 0)
            return 0;
        struct rtp_view ov;
        if (rtp_parse(&ov, orig, len) < 0)
            return 0;
        stamp_twcc(f, orig, &ov, len + 2 + SRTP_SESSION_RTP_MAX_OVERHEAD, room_now(f->sub->room), probe);
        if (ov.extension)
            rtp_ext_remap(orig, &ov, f->ext_map);
        int w = rtp_rtx_wrap(out, ROOM_SCRATCH - SRTP_SESSION_RTP_MAX_OVERHEAD, &ov, (uint8_t)f->rtx_pt,
                             f->rtx_seq, f->rtx_ssrc);
        if (w <= 0)
            return 0;
        n = (size_t)w;
        roc = f->rtx_roc;
        if (++f->rtx_seq == 0)
            f->rtx_roc++;
    } else {
        memcpy(out, pkt, len);
        rtp_set_seq(out, o.seq);
        rtp_set_ts(out, o.ts);
        rtp_set_ssrc(out, o.ssrc);
        rtp_set_pt(out, f->pt);
        if (is_vp8 && vp8_munge_again(&f->vp8, v.ssrc, out + v.payload_off, v.payload_len, &vp8) < 0)
            return 0;
        stamp_twcc(f, out, &v, len + SRTP_SESSION_RTP_MAX_OVERHEAD, room_now(f->sub->room), probe);
        if (v.extension)
            rtp_ext_remap(out, &v, f->ext_map);
    }
    if (peer_send_rtp_roc(f->sub->down, out, n, ROOM_SCRATCH, roc) != 0)
        return 0;
    if (f->sub->pace && !probe)
        pacer_sent(f->sub->pace, n + SRTP_SESSION_RTP_MAX_OVERHEAD, now_us);
    if (probe)
        STATS_INC(stats_of(f->sub)->probe_packets);
    else
        STATS_INC(stats_of(f->sub)->retransmissions);
    return n;
}

static void on_sub_nack(member *sub, const struct rtcp_pkt *p, int64_t now_us)
{
    fwd *f = fwd_by_ssrc(sub, p->media_ssrc);
    if (!f)
        return;
    for (unsigned i = 0; i < p->u.nack.n_items; i++) {
        struct rtcp_nack_item item;
        uint16_t seqs[17];
        if (rtcp_pkt_nack_item(p, i, &item) < 0)
            break;
        unsigned n = rtcp_nack_unpack(&item, seqs);
        STATS_ADD(stats_of(sub)->nacks_received, n);
        for (unsigned k = 0; k < n; k++)
            retransmit(f, seqs[k], now_us, 0);
    }
}

void forward_on_down_rtcp(void *ud, uint8_t *buf, size_t len, int64_t now_us)
{
    member *sub = ud;
    struct rtcp_iter it;
    struct rtcp_pkt p;
    int rc;
    rtcp_iter_init(&it, buf, len);
    while ((rc = rtcp_iter_next(&it, &p)) > 0) {
        if (p.kind == RTCP_K_NACK) {
            on_sub_nack(sub, &p, now_us);
        } else if (p.kind == RTCP_K_TWCC) {
            STATS_INC(stats_of(sub)->twcc_feedbacks_in);
            if (sub->tx_hist) {
                room *r = sub->room;
                size_t n = twcc_history_on_feedback(sub->tx_hist, &p.u.twcc, r->twcc_results, ROOM_TWCC_RESULTS);
                bwe_on_feedback(&sub->est, r->twcc_results, n, now_us);
            }
        } else if (p.kind == RTCP_K_REMB) {
            /* Not a cap: Chromium sends REMBs even when not asked to (the SFU's offer has no
             * goog-remb), from a receive-side estimator that sees only some streams; they were
             * measured at 15-120 kbit/s on links carrying 400 kbit/s and more. The estimate comes
             * from transport-cc (bwe.h). */
            LOG_D("remb %s: %llu bit/s (ignored)", sub->user_id, (unsigned long long)p.u.remb.bitrate);
        } else if (p.kind == RTCP_K_PLI) {
            fwd *f = fwd_by_ssrc(sub, p.media_ssrc);
            STATS_INC(stats_of(sub)->plis_received);
            if (f)
                subscriber_wants_keyframe(f, now_us);
        } else if (p.kind == RTCP_K_FIR) {
            for (unsigned i = 0; i < p.u.fir.n_entries; i++) {
                uint32_t ssrc;
                uint8_t seq_nr;
                if (rtcp_pkt_fir_entry(&p, i, &ssrc, &seq_nr) < 0)
                    break;
                fwd *f = fwd_by_ssrc(sub, ssrc);
                STATS_INC(stats_of(sub)->plis_received);
                if (f)
                    subscriber_wants_keyframe(f, now_us);
            }
        }
    }
    if (rc < 0)
        STATS_INC(stats_of(sub)->dropped_malformed);
}

/* ---- periodic ---- */

static void send_twcc(member *m)
{
    size_t done = 0;
    uint32_t media_ssrc = m->n_tracks ? m->tracks[0]->ssrc : 0;
    while (done < m->n_twcc) {
        /* Arrivals come in arrival order; transport-cc wants increasing seq (rare reorders are
         * sorted here, on at most ROOM_TWCC_MAX entries). */
        size_t consumed = 0;
        uint8_t *buf = m->room->scratch;
        int n = rtcp_build_twcc(buf, ROOM_SCRATCH - SRTP_SESSION_RTCP_MAX_OVERHEAD, m->rtcp_ssrc, media_ssrc,
                                m->twcc_count++, m->twcc + done, m->n_twcc - done, &consumed);
        if (n <= 0 || consumed == 0)
            break;
        send_to_publisher(m, buf, (size_t)n, ROOM_SCRATCH);
        done += consumed;
    }
    m->n_twcc = 0;
}

static void sort_twcc(member *m)
{
    for (size_t i = 1; i < m->n_twcc; i++) {
        for (size_t k = i; k > 0 && (int16_t)(m->twcc[k].seq - m->twcc[k - 1].seq) < 0; k--) {
            struct rtcp_twcc_arrival tmp = m->twcc[k];
            m->twcc[k] = m->twcc[k - 1];
            m->twcc[k - 1] = tmp;
        }
    }
    /* drop duplicates (a retransmission keeps its transport seq) and keep arrival times monotonic */
    size_t w = 0;
    for (size_t i = 0; i < m->n_twcc; i++) {
        if (w && m->twcc[i].seq == m->twcc[w - 1].seq)
            continue;
        if (w && m->twcc[i].arrival_us < m->twcc[w - 1].arrival_us)
            m->twcc[i].arrival_us = m->twcc[w - 1].arrival_us;
        m->twcc[w++] = m->twcc[i];
    }
    m->n_twcc = w;
}

static void send_reports(member *m, int64_t now_us)
{
    struct rtcp_report_block rb[ROOM_MAX_TRACKS * SDP_NEG_MAX_RIDS] = {{0}};
    unsigned n = 0, n_ssrcs = 0;
    bool twcc = false;
    uint32_t ssrcs[ROOM_MAX_TRACKS * SDP_NEG_MAX_RIDS];
    for (size_t i = 0; i < m->n_tracks; i++) {
        track *base = m->tracks[i];
        for (unsigned k = 0; k < track_n_streams(base); k++) {
            track *t = track_stream(base, k);
            twcc = twcc || t->ext.twcc;
            if (t->ssrc)
                ssrcs[n_ssrcs++] = t->ssrc;
            if (t->rx_started)
                rtcp_rx_stats_report(&t->rx, (uint64_t)now_us, &rb[n++]);
        }
    }
    uint8_t *buf = m->room->scratch;
    size_t cap = ROOM_SCRATCH - SRTP_SESSION_RTCP_MAX_OVERHEAD;
    int len = rtcp_build_rr(buf, cap, m->rtcp_ssrc, rb, n > 31 ? 31 : n);
    if (len > 0 && !twcc && n_ssrcs) {
        int r = rtcp_build_remb(buf + len, cap - (size_t)len, m->rtcp_ssrc, REMB_BPS, ssrcs, n_ssrcs);
        if (r > 0)
            len += r;
    }
    if (len > 0)
        send_to_publisher(m, buf, (size_t)len, ROOM_SCRATCH);
}

/* One RTX padding packet (RFC 4588 §8: an RTX packet with only padding) of PROBE_PADDING bytes,
 * carrying this receiver's transport-wide number: probe traffic when no recent packet is at hand. */
static size_t send_padding(fwd *f, int64_t now_us)
{
    member *sub = f->sub;
    uint8_t id = f->track->ext.twcc ? f->ext_map[f->track->ext.twcc] : 0;
    if (f->rtx_pt < 0 || !id || !sub->tx_hist)
        return 0;
    uint8_t seq_be[2];
    struct rtp_ext_elem e = {id, 2, seq_be};
    struct rtp_hdr h = {(uint8_t)f->rtx_pt, 0, f->rtx_seq, f->rw.last_ts, f->rtx_ssrc, &e, 1};
    uint8_t *out = sub->room->scratch;
    uint16_t tseq = twcc_history_on_send(sub->tx_hist, now_us, PROBE_PADDING + 40, 1);
    seq_be[0] = (uint8_t)(tseq >> 8);
    seq_be[1] = (uint8_t)tseq;
    int hl = rtp_write_header(out, ROOM_SCRATCH, &h);
    if (hl < 0)
        return 0;
    out[0] |= 0x20; /* P: the payload is all padding; its last byte says how much */
    memset(out + hl, 0, PROBE_PADDING);
    out[hl + PROBE_PADDING - 1] = PROBE_PADDING;
    size_t n = (size_t)hl + PROBE_PADDING;
    if (peer_send_rtp_roc(sub->down, out, n, ROOM_SCRATCH, f->rtx_roc) != 0)
        return 0;
    if (++f->rtx_seq == 0)
        f->rtx_roc++;
    STATS_INC(stats_of(sub)->probe_packets);
    return n;
}

/* The video of sub's whose packets make its probes: the one at the highest layer. */
static fwd *probe_fwd(member *sub)
{
    fwd *best = NULL;
    for (size_t i = 0; i < sub->n_fwds; i++) {
        fwd *f = sub->fwds[i];
        if (f->negotiated && f->rw.started && f->track->kind == SDP_MEDIA_VIDEO &&
            (!best || f->ls.current > best->ls.current))
            best = f;
    }
    return best;
}

/* Sends what is due of sub's probe cluster by now: its rate times the time since it started (and
 * one packet ahead), repeats of the newest packets of the video at the highest layer (RTX when
 * negotiated), or RTX padding when none is at hand; marked as probes. Returns whether the cluster
 * goes on. */
static bool probe_step(member *sub, int64_t now_us)
{
    fwd *best = probe_fwd(sub);
    int64_t elapsed = now_us - sub->probe_start_us;
    if (!best || !sub->down || peer_get_state(sub->down) != PEER_CONNECTED) {
        sub->probe_bps = 0;
        return false;
    }
    size_t due = (size_t)((double)sub->probe_bps / 8 * (double)(elapsed > 0 ? elapsed : 0) / 1e6) + PROBE_PADDING;
    bool sent_any = false;
    while ((sub->probe_sent < due || (elapsed >= BWE_PROBE_MS * 1000 && sub->probe_packets < PROBE_MIN_PACKETS)) &&
           sub->probe_packets < PROBE_MAX_PACKETS) {
        uint16_t newest = (uint16_t)best->rw.out_max;
        size_t n = best->ls.current >= 0 || !best->track->n_layers
                       ? retransmit(best, (uint16_t)(newest - sub->probe_packets % 16), now_us, 1)
                       : 0;
        if (n == 0)
            n = send_padding(best, now_us);
        if (n == 0)
            break;
        sub->probe_sent += n;
        sub->probe_packets++;
        sent_any = true;
    }
    if (sent_any)
        peer_flush(sub->down);
    if ((elapsed >= BWE_PROBE_MS * 1000 && sub->probe_packets >= PROBE_MIN_PACKETS) ||
        sub->probe_packets >= PROBE_MAX_PACKETS)
        sub->probe_bps = 0;
    return sub->probe_bps != 0;
}

/* A probe cluster towards sub at rate_bps for BWE_PROBE_MS (at least PROBE_MIN_PACKETS, so that
 * its arrival rate can be measured), sent a slice every ROOM_PACE_TICK_MS: spread over the
 * cluster, its arrivals tell the rate the path carried (a burst at once says nothing on a path
 * without a queue, and overruns a policer). Not counted by the pacer: it is on top of the media. */
void forward_send_probe(member *sub, uint32_t rate_bps, int64_t now_us)
{
    if (sub->probe_bps)
        return; /* one at a time */
    sub->probe_bps = rate_bps;
    sub->probe_start_us = now_us;
    sub->probe_sent = 0;
    sub->probe_packets = 0;
    if (probe_step(sub, now_us))
        pace_arm(sub->room);
}

void forward_tick(room *r, int64_t now_us)
{
    layers_tick(r, now_us);
    if (speaker_decide(&r->speakers, now_us))
        room_emit_speakers(r, NULL); /* the order of recent speakers changed: the whole meeting */
    for (size_t i = 0; i < r->n_members; i++) {
        member *m = r->members[i];
        if (!m->up || peer_get_state(m->up) != PEER_CONNECTED)
            continue;
        for (size_t k = 0; k < m->n_tracks; k++) {
            track *base = m->tracks[k];
            for (unsigned l = 0; l < track_n_streams(base); l++) {
                track *t = track_stream(base, l);
                if (t->pli_pending && now_us - t->last_pli_us >= ROOM_PLI_INTERVAL_US)
                    forward_request_keyframe(t, now_us);
                send_nacks(t, now_us);
            }
        }
        if (m->n_twcc) {
            sort_twcc(m);
            send_twcc(m);
        }
        if (now_us - m->last_rr_us >= RR_INTERVAL_US) {
            m->last_rr_us = now_us;
            send_reports(m, now_us);
        }
    }
}
