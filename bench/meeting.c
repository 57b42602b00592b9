/* meeting.c - a bench receiver that shows N tiles, and what it measures of a large meeting (see
 * meeting.h). The layout rule itself is bench/tiles.c.
 */
#include "bench/meeting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/session_rtp.h"
#include "bench/tiles.h"

#define BIN_US 1000000 /* video streams are counted per second */

static bool is_screen(const char *stream_id)
{
    size_t n = strlen(stream_id);
    return n > 7 && !strcmp(stream_id + n - 7, "-screen");
}

/* ---- following the meeting ---- */

static void add_user(bench_session *s, json_t *u)
{
    bench_tiles_add(s->tiles, json_string_value(json_object_get(u, "userId")),
                    json_string_value(json_object_get(u, "username")));
}

/* The switch latency: a new dominant speaker named while the window runs, another bench participant
 * of this room: the time since its turn began. */
static void on_speakers(bench_session *s, json_t *list, int64_t now_us)
{
    const char *ids[BENCH_TILES_MAX_SPEAKERS];
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(list) && n < BENCH_TILES_MAX_SPEAKERS; i++) {
        const char *id = json_string_value(json_array_get(list, i));
        if (id)
            ids[n++] = id;
    }
    bench_tiles_set_speakers(s->tiles, ids, n);
    const char *first = n ? ids[0] : "";
    if (!strcmp(first, s->dominant))
        return;
    snprintf(s->dominant, sizeof(s->dominant), "%s", first);
    const bench_config *c = &s->w->run->cfg;
    int index = n ? bench_tiles_index_of(s->tiles, first) : -1;
    if (!s->w->window || !c->audio_turn_ms || index < 0 || !strcmp(first, s->user_id))
        return;
    int64_t turn = (int64_t)c->audio_turn_ms * 1000;
    int64_t start = bench_turn_start(now_us, turn, (unsigned)index, (unsigned)c->participants);
    if (start < s->w->window_from_us || start > s->w->window_to_us - BENCH_MEETING_LAST_TURN_US)
        return; /* only turns that began in the window, early enough to be seen in it */
    STATS_INC(s->w->c.speaker_switches);
    s->switches++;
    if (now_us - start < turn) { /* it names the one whose turn runs now */
        STATS_INC(s->w->c.speaker_switches_current);
        s->switches_current++;
    }
    bench_hist_add(&s->w->switch_latency, (uint64_t)(now_us - start));
}

static void on_layers(bench_session *s, json_t *msg)
{
    json_t *rids = json_object_get(msg, "rids");
    const char *mid = json_string_value(json_object_get(msg, "mid"));
    if (!s->publishes || !s->w->run->cfg.simulcast || !mid || strcmp(mid, BENCH_MID_VIDEO) || !json_is_array(rids))
        return;
    int64_t now = g_get_monotonic_time();
    for (unsigned k = 0; k < s->n_video; k++) {
        bool on = false;
        for (size_t i = 0; i < json_array_size(rids) && !on; i++) {
            const char *r = json_string_value(json_array_get(rids, i));
            on = r && !strcmp(r, s->video[k].rid);
        }
        if (on && s->layer_off[k]) {
            /* an encoder that starts again begins with a keyframe, at the current time */
            s->video[k].next_us = now;
            bench_media_request_keyframe(&s->video[k]);
        }
        s->layer_off[k] = !on;
    }
}

void bench_meeting_on_message(bench_session *s, const char *type, json_t *msg, int64_t now_us)
{
    if (!strcmp(type, "video-layers")) {
        on_layers(s, msg);
        return;
    }
    if (!s->tiles)
        return;
    if (!strcmp(type, "existing-users")) {
        bench_tiles_set_self(s->tiles, s->user_id);
        json_t *users = json_object_get(msg, "users");
        for (size_t i = 0; i < json_array_size(users); i++)
            add_user(s, json_array_get(users, i));
    } else if (!strcmp(type, "user-joined")) {
        add_user(s, json_object_get(msg, "user"));
    } else if (!strcmp(type, "user-left")) {
        bench_tiles_remove(s->tiles, json_string_value(json_object_get(msg, "userId")));
    } else if (!strcmp(type, "active-speakers")) {
        on_speakers(s, json_object_get(msg, "speakers"), now_us);
    } else {
        return;
    }
    if (bench_tiles_layout(s->tiles))
        s->views_dirty = true;
}

void bench_meeting_on_tracks(bench_session *s, int64_t now_us)
{
    (void)now_us;
    if (s->tiles)
        s->views_dirty = true;
}

/* ---- telling the SFU ---- */

static void send_views(bench_session *s, int64_t now_us)
{
    const bench_config *c = &s->w->run->cfg;
    json_t *views = json_array();
    for (size_t i = 0; i < s->n_rx && json_array_size(views) < 64; i++) {
        bench_rx_track *t = &s->rx[i];
        if (t->sdp.kind != SDP_MEDIA_VIDEO || !t->sdp.active)
            continue;
        /* a shared screen would be the main tile; the bench shares none */
        int place = is_screen(t->sdp.stream_id) ? 0 : bench_tiles_place(s->tiles, t->sdp.stream_id);
        bool hidden = place < 0;
        if (hidden && !t->hidden)
            t->hidden_us = now_us;
        t->hidden = hidden;
        json_t *v = hidden ? json_pack("{s:s, s:b}", "mid", t->sdp.mid, "hidden", 1)
                           : json_pack("{s:s, s:i, s:i}", "mid", t->sdp.mid, "width",
                                       place == 0 ? c->main_w : c->strip_w, "height",
                                       place == 0 ? c->main_h : c->strip_h);
        json_array_append_new(views, v);
    }
    if (!json_array_size(views)) {
        json_decref(views);
        return;
    }
    bench_session_send_json(s, json_pack("{s:s, s:o}", "type", "video-views", "views", views));
    STATS_INC(s->w->c.views_sent);
    s->views_sent_us = now_us;
}

void bench_meeting_tick(bench_session *s, int64_t now_us)
{
    if (!s->tiles || !s->views_dirty || !s->down || now_us - s->views_sent_us < BENCH_MEETING_VIEWS_US)
        return;
    s->views_dirty = false;
    send_views(s, now_us);
}

/* ---- what arrives ---- */

void bench_meeting_on_video(bench_session *s, bench_rx_track *t, int64_t sent_us, int64_t now_us)
{
    if (!s->tiles || !s->w->window)
        return;
    /* by the publisher's send time: what the SFU forwarded before the hide may still be in a queue */
    if (t->hidden && sent_us - t->hidden_us > BENCH_MEETING_GRACE_US)
        s->hidden_late++;
    int64_t bin = now_us / BIN_US;
    if (bin != s->stream_bin) {
        s->stream_bin = bin;
        s->bin_streams = 0;
    }
    if (t->bin != bin) {
        t->bin = bin;
        if (++s->bin_streams > s->streams_max)
            s->streams_max = s->bin_streams;
    }
}

void bench_meeting_window(bench_session *s, bool start, int64_t now_us)
{
    (void)now_us;
    if (start) {
        s->rx_bytes0 = s->rx_bytes;
        s->rx_video_bytes0 = s->rx_video_bytes;
        s->streams_max = 0;
        s->hidden_late = 0;
        s->stream_bin = -1;
        for (size_t k = 0; k < s->n_rx; k++)
            s->rx[k].bin = -1;
    } else {
        s->rx_bytes1 = s->rx_bytes;
        s->rx_video_bytes1 = s->rx_video_bytes;
    }
}

bool bench_meeting_layer_paused(const bench_session *s, unsigned k)
{
    return k < BENCH_MAX_RIDS && s->layer_off[k];
}
