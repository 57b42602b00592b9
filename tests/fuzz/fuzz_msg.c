/*
 * fuzz_msg.c - libFuzzer target for the signaling message parser (signaling/msg.c): every input is
 * one WebSocket text frame handed to msg_parse(), and once more as a binary frame (always refused).
 * Besides "no crash, no leak, no UB" it checks, with __builtin_trap() on a violation:
 *  - a refusal carries a known error code and a NUL-terminated text, and its error message
 *    (msg_build_error) is JSON that parses back with that code;
 *  - an accepted message keeps every promise of msg.h: strings NUL-terminated within their
 *    limits, UTF-8 where they are text, meeting ids normalised, views within range...;
 *  - the message written back as the client would send it (to_json below) parses to the same
 *    message (parse -> write -> parse is a fixed point);
 *  - what the server builds from it for others (chat, SDP, candidate) is JSON that carries the
 *    same text.
 * Seeds: tests/fuzz/corpus/msg/ (one of each message type), dictionary tests/fuzz/msg.dict.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/ids.h"
#include "signaling/msg.h"

#define CHECK(x)              \
    do {                      \
        if (!(x))             \
            __builtin_trap(); \
    } while (0)

/* NUL-terminated within cap bytes. */
static size_t bounded(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    CHECK(n < cap);
    return n;
}

/* Well-formed UTF-8 (RFC 3629), as jansson judges it (json_string refuses anything else). */
static bool utf8_ok(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

static const char *pc_name(msg_pc pc)
{
    return pc == MSG_PC_UP ? "up" : "down";
}

/* The message as a client writes it. */
static json_t *to_json(const vm_msg *m)
{
    json_t *o = json_object();
    switch (m->type) {
    case MSG_JOIN:
        json_object_set_new(o, "type", json_string("join-meeting"));
        json_object_set_new(o, "meetingId", json_string(m->meeting_id));
        json_object_set_new(o, "username", json_string(m->username));
        json_object_set_new(o, "audio", json_boolean(m->audio));
        json_object_set_new(o, "video", json_boolean(m->video));
        break;
    case MSG_CHAT:
        json_object_set_new(o, "type", json_string("chat-message"));
        json_object_set_new(o, "message", json_string(m->message));
        break;
    case MSG_MEDIA_STATE:
        json_object_set_new(o, "type", json_string("media-state"));
        json_object_set_new(o, "audio", json_boolean(m->audio));
        json_object_set_new(o, "video", json_boolean(m->video));
        break;
    case MSG_LEAVE:
        json_object_set_new(o, "type", json_string("leave-meeting"));
        break;
    case MSG_PING:
        json_object_set_new(o, "type", json_string("ping"));
        break;
    case MSG_OFFER:
    case MSG_ANSWER: {
        json_object_set_new(o, "type", json_string(m->type == MSG_OFFER ? "offer" : "answer"));
        json_object_set_new(o, "pc", json_string(pc_name(m->pc)));
        json_object_set_new(o, "sdp", json_string(m->sdp));
        if (m->type == MSG_OFFER && m->screen_mids[0]) {
            json_t *list = json_array();
            char mids[sizeof(m->screen_mids)];
            memcpy(mids, m->screen_mids, sizeof(mids));
            for (char *save = NULL, *mid = strtok_r(mids, ",", &save); mid; mid = strtok_r(NULL, ",", &save))
                json_array_append_new(list, json_pack("{s:s, s:s}", "mid", mid, "source", "screen"));
            json_object_set_new(o, "sources", list);
        }
        break;
    }
    case MSG_CANDIDATE:
        json_object_set_new(o, "type", json_string("ice-candidate"));
        json_object_set_new(o, "pc", json_string(pc_name(m->pc)));
        json_object_set_new(o, "candidate", m->candidate[0] ? json_string(m->candidate) : json_null());
        break;
    case MSG_VIDEO_VIEWS: {
        json_object_set_new(o, "type", json_string("video-views"));
        json_t *list = json_array();
        for (size_t i = 0; i < m->n_views; i++) {
            const msg_view *v = &m->views[i];
            json_array_append_new(list, v->width ? json_pack("{s:s, s:i, s:i}", "mid", v->mid, "width", (int)v->width,
                                                             "height", (int)v->height)
                                                 : json_pack("{s:s, s:b}", "mid", v->mid, "hidden", 1));
        }
        json_object_set_new(o, "views", list);
        break;
    }
    case MSG_RESUME:
        json_object_set_new(o, "type", json_string("resume-meeting"));
        json_object_set_new(o, "meetingId", json_string(m->meeting_id));
        json_object_set_new(o, "userId", json_string(m->user_id));
        json_object_set_new(o, "resumeToken", json_string(m->token));
        break;
    case MSG_ICE_RESTART:
        json_object_set_new(o, "type", json_string("ice-restart"));
        json_object_set_new(o, "pc", json_string(pc_name(m->pc)));
        break;
    default:
        CHECK(0);
    }
    return o;
}

/* The promises of msg.h for an accepted message. */
static void check_accepted(const vm_msg *m)
{
    switch (m->type) {
    case MSG_JOIN: {
        CHECK(bounded(m->meeting_id, sizeof(m->meeting_id)) == VM_MEETING_ID_LEN);
        char again[VM_MEETING_ID_LEN + 1];
        CHECK(ids_meeting_id_normalize(m->meeting_id, again) && !strcmp(again, m->meeting_id));
        size_t n = bounded(m->username, sizeof(m->username));
        CHECK(n > 0 && utf8_ok(m->username) && msg_utf8_chars(m->username) <= VM_MAX_NAME_CHARS);
        CHECK(m->username[0] != ' ' && m->username[n - 1] != ' ');
        for (size_t i = 0; i < n; i++)
            CHECK((unsigned char)m->username[i] >= 0x20 && m->username[i] != 0x7f);
        break;
    }
    case MSG_CHAT:
        CHECK(bounded(m->message, sizeof(m->message)) > 0);
        CHECK(utf8_ok(m->message) && msg_utf8_chars(m->message) <= VM_MAX_CHAT_CHARS);
        break;
    case MSG_OFFER:
    case MSG_ANSWER:
        CHECK(m->sdp && m->sdp[0] && utf8_ok(m->sdp));
        CHECK((m->type == MSG_OFFER) == (m->pc == MSG_PC_UP));
        if (m->type == MSG_OFFER)
            bounded(m->screen_mids, sizeof(m->screen_mids));
        break;
    case MSG_CANDIDATE: {
        size_t n = bounded(m->candidate, sizeof(m->candidate));
        CHECK(n == 0 || !strncmp(m->candidate, "candidate:", 10));
        CHECK(m->pc == MSG_PC_UP || m->pc == MSG_PC_DOWN);
        break;
    }
    case MSG_VIDEO_VIEWS:
        CHECK(m->n_views >= 1 && m->n_views <= VM_MAX_VIEWS);
        for (size_t i = 0; i < m->n_views; i++) {
            const msg_view *v = &m->views[i];
            CHECK(bounded(v->mid, sizeof(v->mid)) > 0);
            CHECK((v->width == 0) == (v->height == 0));
            CHECK(v->width <= VM_MAX_VIEW_PX && v->height <= VM_MAX_VIEW_PX);
        }
        break;
    case MSG_RESUME:
        CHECK(bounded(m->meeting_id, sizeof(m->meeting_id)) == VM_MEETING_ID_LEN);
        CHECK(bounded(m->user_id, sizeof(m->user_id)) == VM_USER_ID_LEN);
        bounded(m->token, sizeof(m->token));
        break;
    case MSG_ICE_RESTART:
        CHECK(m->pc == MSG_PC_DOWN);
        break;
    case MSG_MEDIA_STATE:
    case MSG_LEAVE:
    case MSG_PING:
        break;
    default:
        CHECK(0);
    }
}

static bool same(const vm_msg *a, const vm_msg *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case MSG_JOIN:
        return !strcmp(a->meeting_id, b->meeting_id) && !strcmp(a->username, b->username) && a->audio == b->audio &&
               a->video == b->video;
    case MSG_CHAT:
        return !strcmp(a->message, b->message);
    case MSG_MEDIA_STATE:
        return a->audio == b->audio && a->video == b->video;
    case MSG_OFFER:
    case MSG_ANSWER:
        return a->pc == b->pc && !strcmp(a->sdp, b->sdp) &&
               (a->type == MSG_ANSWER || !strcmp(a->screen_mids, b->screen_mids));
    case MSG_CANDIDATE:
        return a->pc == b->pc && !strcmp(a->candidate, b->candidate);
    case MSG_VIDEO_VIEWS:
        if (a->n_views != b->n_views)
            return false;
        for (size_t i = 0; i < a->n_views; i++)
            if (strcmp(a->views[i].mid, b->views[i].mid) || a->views[i].width != b->views[i].width ||
                a->views[i].height != b->views[i].height)
                return false;
        return true;
    case MSG_RESUME:
        return !strcmp(a->meeting_id, b->meeting_id) && !strcmp(a->user_id, b->user_id) && !strcmp(a->token, b->token);
    case MSG_ICE_RESTART:
        return a->pc == b->pc;
    default:
        return true;
    }
}

/* text is a JSON object whose string `key` equals want. */
static void check_field(char *text, const char *key, const char *want)
{
    CHECK(text != NULL);
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    CHECK(o && json_is_string(json_object_get(o, key)));
    CHECK(!strcmp(json_string_value(json_object_get(o, key)), want));
    json_decref(o);
    free(text);
}

/* What the server sends others from an accepted message. */
static void check_built(const vm_msg *m)
{
    if (m->type == MSG_CHAT) {
        vm_chat c = {.id = 1, .user_id = "abcdefghjkmnp", .username = "x", .timestamp_ms = 1};
        c.message = (char *)m->message;
        check_field(msg_build_chat(&c), "message", m->message);
    } else if (m->type == MSG_OFFER || m->type == MSG_ANSWER) {
        check_field(msg_build_sdp(m->type == MSG_OFFER ? "answer" : "offer", m->pc, m->sdp), "sdp", m->sdp);
    } else if (m->type == MSG_CANDIDATE && m->candidate[0]) {
        check_field(msg_build_candidate(m->pc, m->candidate, "0"), "candidate", m->candidate);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vm_msg m, again;
    msg_error err, err2;
    memset(&m, 0, sizeof(m));
    CHECK(msg_parse((const char *)data, size, true, &m, &err) < 0 && err.code == VM_ERR_BAD_JSON && m.sdp == NULL);
    memset(&m, 0xa5, sizeof(m)); /* nothing may depend on what was there before */
    int rc = msg_parse((const char *)data, size, false, &m, &err);
    if (rc < 0) {
        CHECK(rc == -(int)err.code && err.code > VM_ERR_NONE && err.code < VM_ERR_COUNT_ && m.sdp == NULL);
        bounded(err.text, sizeof(err.text));
        check_field(msg_build_error(&err), "code", msg_error_code(err.code));
        return 0;
    }
    CHECK(rc == 0);
    check_accepted(&m);
    check_built(&m);
    json_t *o = to_json(&m);
    char *text = json_dumps(o, JSON_COMPACT);
    CHECK(text != NULL);
    json_decref(o);
    memset(&again, 0, sizeof(again));
    CHECK(msg_parse(text, strlen(text), false, &again, &err2) == 0);
    CHECK(same(&m, &again));
    free(text);
    msg_clear(&again);
    msg_clear(&m);
    msg_clear(NULL);
    return 0;
}
