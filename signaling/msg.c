/* msg.c - validation of client messages and construction of server messages (see PROTOCOL.md).
 *
 * Validation order for a frame: binary → bad-json; jansson decode (which checks UTF-8 and rejects
 * duplicate keys and NUL escapes) → invalid-utf8 / bad-json; not an object → bad-json; `type` →
 * unknown-type; then the fields of that type → invalid-field / too-long / invalid-meeting-id.
 */
#include "signaling/msg.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const error_codes[VM_ERR_COUNT_] = {
    [VM_ERR_NONE] = "none",
    [VM_ERR_BAD_JSON] = "bad-json",
    [VM_ERR_INVALID_UTF8] = "invalid-utf8",
    [VM_ERR_UNKNOWN_TYPE] = "unknown-type",
    [VM_ERR_INVALID_FIELD] = "invalid-field",
    [VM_ERR_TOO_LONG] = "too-long",
    [VM_ERR_INVALID_MEETING_ID] = "invalid-meeting-id",
    [VM_ERR_NOT_IN_MEETING] = "not-in-meeting",
    [VM_ERR_ALREADY_JOINED] = "already-joined",
    [VM_ERR_MEETING_FULL] = "meeting-full",
    [VM_ERR_RATE_LIMITED] = "rate-limited",
    [VM_ERR_TOO_LARGE] = "too-large",
    [VM_ERR_SERVER_BUSY] = "server-busy",
    [VM_ERR_BAD_SDP] = "bad-sdp",
    [VM_ERR_MEDIA_FAILED] = "media-failed",
    [VM_ERR_INTERNAL] = "internal",
    [VM_ERR_RESUME_REFUSED] = "resume-refused",
};

const char *msg_error_code(vm_err code)
{
    if ((int)code < 0 || code >= VM_ERR_COUNT_)
        return "internal";
    return error_codes[code];
}

/* Length of the well-formed UTF-8 sequence (RFC 3629) at s, or 0 when there is none. */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned c = s[0], n, cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 1, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 2, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 3, cp = c & 0x07;
    else
        return 0;
    for (unsigned i = 1; i <= n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n + 1;
}

int msg_error_set(msg_error *err, vm_err code, const char *ref, const char *fmt, ...)
{
    err->code = code;
    err->ref = ref;
    err->reason = NULL;
    err->retry_after_s = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof(err->text), fmt, ap);
    va_end(ap);
    /* The text goes into a JSON string (msg_build_error), which must be UTF-8: what jansson quotes
     * of a bad frame ("near '...'") is the frame's raw bytes, and the cut at sizeof(text) may split
     * a character. Anything that is not UTF-8 becomes '?'. */
    for (unsigned char *t = (unsigned char *)err->text; *t;) {
        size_t n = utf8_seq(t);
        if (n == 0)
            *t++ = '?';
        else
            t += n;
    }
    return -(int)code;
}

size_t msg_utf8_chars(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p & 0xC0) != 0x80;
    return n;
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Reads a required string field. Returns 0 with *out set, or an error. */
static int get_string(json_t *obj, const char *key, const char *ref, const char **out, msg_error *err)
{
    *out = "";
    json_t *v = json_object_get(obj, key);
    if (!v)
        return msg_error_set(err, VM_ERR_INVALID_FIELD, ref, "missing field '%s'", key);
    if (!json_is_string(v))
        return msg_error_set(err, VM_ERR_INVALID_FIELD, ref, "field '%s' must be a string", key);
    *out = json_string_value(v);
    return 0;
}

/* Reads an optional boolean field (def when absent). */
static int get_bool(json_t *obj, const char *key, const char *ref, bool required, bool def, bool *out,
                    msg_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            return msg_error_set(err, VM_ERR_INVALID_FIELD, ref, "missing field '%s'", key);
        *out = def;
        return 0;
    }
    if (!json_is_boolean(v))
        return msg_error_set(err, VM_ERR_INVALID_FIELD, ref, "field '%s' must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

static int parse_join(json_t *root, vm_msg *out, msg_error *err)
{
    static const char ref[] = "join-meeting";
    const char *id = "", *name = "";
    int rc;
    if ((rc = get_string(root, "meetingId", ref, &id, err)) < 0 ||
        (rc = get_string(root, "username", ref, &name, err)) < 0 ||
        (rc = get_bool(root, "audio", ref, false, true, &out->audio, err)) < 0 ||
        (rc = get_bool(root, "video", ref, false, true, &out->video, err)) < 0)
        return rc;
    if (!ids_meeting_id_normalize(id, out->meeting_id))
        return msg_error_set(err, VM_ERR_INVALID_MEETING_ID, ref,
                             "meetingId must be %d characters of %s", VM_MEETING_ID_LEN, VM_ID_ALPHABET);
    /* Trim surrounding white space, then check length and content. */
    while (is_space((unsigned char)*name))
        name++;
    size_t len = strlen(name);
    while (len > 0 && is_space((unsigned char)name[len - 1]))
        len--;
    if (len == 0)
        return msg_error_set(err, VM_ERR_TOO_LONG, ref, "username must not be empty");
    if (len > VM_MAX_NAME_BYTES)
        return msg_error_set(err, VM_ERR_TOO_LONG, ref, "username is longer than %d characters",
                             VM_MAX_NAME_CHARS);
    memcpy(out->username, name, len);
    out->username[len] = '\0';
    if (msg_utf8_chars(out->username) > VM_MAX_NAME_CHARS)
        return msg_error_set(err, VM_ERR_TOO_LONG, ref, "username is longer than %d characters",
                             VM_MAX_NAME_CHARS);
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)out->username[i] < 0x20 || out->username[i] == 0x7f)
            return msg_error_set(err, VM_ERR_INVALID_FIELD, ref, "username contains control characters");
    }
    out->type = MSG_JOIN;
    return 0;
}

/* resume-meeting: meetingId, userId and resumeToken, all strings. The token is checked for its shape
 * here and against the participant in session.c; both failures are the same error. */
static int parse_resume(json_t *root, vm_msg *out, msg_error *err)
{
    static const char ref[] = "resume-meeting";
    const char *id = "", *user = "", *token = "";
    int rc;
    if ((rc = get_string(root, "meetingId", ref, &id, err)) < 0 ||
        (rc = get_string(root, "userId", ref, &user, err)) < 0 ||
        (rc = get_string(root, "resumeToken", ref, &token, err)) < 0)
        return rc;
    if (!ids_meeting_id_normalize(id, out->meeting_id))
        return msg_error_set(err, VM_ERR_INVALID_MEETING_ID, ref,
                             "meetingId must be %d characters of %s", VM_MEETING_ID_LEN, VM_ID_ALPHABET);
    if (strlen(user) != VM_USER_ID_LEN || !resume_token_well_formed(token))
        return msg_error_set(err, VM_ERR_RESUME_REFUSED, ref,
                             "this participant cannot be resumed (unknown, expired or already used token); join again");
    memcpy(out->user_id, user, VM_USER_ID_LEN + 1);
    memcpy(out->token, token, VM_RESUME_TOKEN_LEN + 1);
    out->type = MSG_RESUME;
    return 0;
}

static int parse_chat(json_t *root, vm_msg *out, msg_error *err)
{
    static const char ref[] = "chat-message";
    const char *text = "";
    int rc = get_string(root, "message", ref, &text, err);
    if (rc < 0)
        return rc;
    size_t len = json_string_length(json_object_get(root, "message"));
    if (len > VM_MAX_CHAT_BYTES || msg_utf8_chars(text) > VM_MAX_CHAT_CHARS)
        return msg_error_set(err, VM_ERR_TOO_LONG, ref, "message is longer than %d characters",
                             VM_MAX_CHAT_CHARS);
    bool blank = true;
    for (size_t i = 0; i < len && blank; i++)
        blank = is_space((unsigned char)text[i]);
    if (blank)
        return msg_error_set(err, VM_ERR_TOO_LONG, ref, "message must not be empty");
    memcpy(out->message, text, len + 1);
    out->type = MSG_CHAT;
    return 0;
}

static int parse_media_state(json_t *root, vm_msg *out, msg_error *err)
{
    static const char ref[] = "media-state";
    int rc;
    if ((rc = get_bool(root, "audio", ref, true, true, &out->audio, err)) < 0 ||
        (rc = get_bool(root, "video", ref, true, true, &out->video, err)) < 0)
        return rc;
    out->type = MSG_MEDIA_STATE;
    return 0;
}

static int get_pc(json_t *root, const char *ref, msg_pc *out, msg_error *err)
{
    const char *pc = "";
    int rc = get_string(root, "pc", ref, &pc, err);
    if (rc < 0)
        return rc;
    if (!strcmp(pc, "up"))
        *out = MSG_PC_UP;
    else if (!strcmp(pc, "down"))
        *out = MSG_PC_DOWN;
    else
        return msg_error_set(err, VM_ERR_INVALID_FIELD, ref, "field 'pc' must be \"up\" or \"down\"");
    return 0;
}

/* An offer's optional 'sources': [{"mid": "2", "source": "screen"}, ...], at most VM_MAX_SOURCES,
 * source "camera" or "screen". The mids called "screen" go to out->screen_mids, comma-separated;
 * out->has_sources says whether the field was there. */
static int parse_sources(json_t *root, vm_msg *out, msg_error *err)
{
    static const char ref[] = "offer";
    json_t *list = json_object_get(root, "sources");
    out->screen_mids[0] = '\0';
    out->has_sources = list != NULL;
    if (!list)
        return 0;
    if (!json_is_array(list))
        return msg_error_set(err, VM_ERR_INVALID_FIELD, ref, "field 'sources' must be an array");
    size_t n = json_array_size(list), o = 0;
    if (n > VM_MAX_SOURCES)
        return msg_error_set(err, VM_ERR_TOO_LONG, ref, "'sources' lists at most %d m-lines", VM_MAX_SOURCES);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(list, i);
        json_t *mid = json_object_get(e, "mid"), *src = json_object_get(e, "source");
        if (!json_is_object(e) || !json_is_string(mid) || !json_is_string(src))
            return msg_error_set(err, VM_ERR_INVALID_FIELD, ref,
                                 "each of 'sources' must be an object with string 'mid' and 'source'");
        const char *m = json_string_value(mid), *v = json_string_value(src);
        size_t len = json_string_length(mid);
        if (len == 0 || len > VM_MAX_MID_BYTES)
            return msg_error_set(err, VM_ERR_TOO_LONG, ref, "'mid' must be 1 to %d bytes", VM_MAX_MID_BYTES);
        for (size_t k = 0; k < len; k++) {
            if (m[k] <= 0x20 || m[k] >= 0x7f || m[k] == ',')
                return msg_error_set(err, VM_ERR_INVALID_FIELD, ref, "'mid' must be printable ASCII without ','");
        }
        if (strcmp(v, "screen") != 0 && strcmp(v, "camera") != 0)
            return msg_error_set(err, VM_ERR_INVALID_FIELD, ref, "'source' must be \"camera\" or \"screen\"");
        if (strcmp(v, "screen") == 0) {
            if (o)
                out->screen_mids[o++] = ',';
            memcpy(out->screen_mids + o, m, len + 1);
            o += len;
        }
    }
    return 0;
}

/* offer (pc "up" only) and answer (pc "down" only). */
static int parse_sdp(json_t *root, msg_type type, vm_msg *out, msg_error *err)
{
    const char *ref = type == MSG_OFFER ? "offer" : "answer";
    const char *sdp = "";
    int rc;
    if ((rc = get_pc(root, ref, &out->pc, err)) < 0 || (rc = get_string(root, "sdp", ref, &sdp, err)) < 0)
        return rc;
    if ((type == MSG_OFFER) != (out->pc == MSG_PC_UP))
        return msg_error_set(err, VM_ERR_INVALID_FIELD, ref,
                             "the browser offers on pc \"up\" and answers on pc \"down\"");
    if (!*sdp)
        return msg_error_set(err, VM_ERR_TOO_LONG, ref, "sdp must not be empty");
    if (type == MSG_OFFER && (rc = parse_sources(root, out, err)) < 0)
        return rc;
    out->sdp = strdup(sdp);
    if (!out->sdp)
        return msg_error_set(err, VM_ERR_INTERNAL, ref, "out of memory");
    out->type = type;
    return 0;
}

static int parse_candidate(json_t *root, vm_msg *out, msg_error *err)
{
    static const char ref[] = "ice-candidate";
    int rc = get_pc(root, ref, &out->pc, err);
    if (rc < 0)
        return rc;
    json_t *c = json_object_get(root, "candidate");
    const char *text = "";
    if (json_is_string(c))
        text = json_string_value(c);
    else if (c && !json_is_null(c))
        return msg_error_set(err, VM_ERR_INVALID_FIELD, ref, "field 'candidate' must be a string or null");
    if (!strncmp(text, "a=", 2))
        text += 2;
    if (strlen(text) > VM_MAX_CANDIDATE_BYTES)
        return msg_error_set(err, VM_ERR_TOO_LONG, ref, "candidate is longer than %d bytes",
                             VM_MAX_CANDIDATE_BYTES);
    if (*text && strncmp(text, "candidate:", 10) != 0)
        return msg_error_set(err, VM_ERR_INVALID_FIELD, ref, "candidate must start with \"candidate:\"");
    memcpy(out->candidate, text, strlen(text) + 1);
    out->type = MSG_CANDIDATE;
    return 0;
}

/* ice-restart: only for pc "down" (the browser restarts "up" itself, with an offer). */
static int parse_ice_restart(json_t *root, vm_msg *out, msg_error *err)
{
    static const char ref[] = "ice-restart";
    int rc = get_pc(root, ref, &out->pc, err);
    if (rc < 0)
        return rc;
    if (out->pc != MSG_PC_DOWN)
        return msg_error_set(err, VM_ERR_INVALID_FIELD, ref,
                             "only pc \"down\" is restarted on request; restart \"up\" with an offer");
    out->type = MSG_ICE_RESTART;
    return 0;
}

/* {"mid": "3", "width": 640, "height": 360} or {"mid": "3", "hidden": true} */
static int parse_view(json_t *v, const char *ref, msg_view *out, msg_error *err)
{
    if (!json_is_object(v))
        return msg_error_set(err, VM_ERR_INVALID_FIELD, ref, "each of 'views' must be an object");
    json_t *mid = json_object_get(v, "mid");
    if (!json_is_string(mid))
        return msg_error_set(err, VM_ERR_INVALID_FIELD, ref, "a view needs a string 'mid'");
    size_t n = json_string_length(mid);
    if (n == 0 || n > VM_MAX_MID_BYTES)
        return msg_error_set(err, VM_ERR_TOO_LONG, ref, "'mid' must be 1 to %d bytes", VM_MAX_MID_BYTES);
    memcpy(out->mid, json_string_value(mid), n + 1);
    bool hidden = false; /* get_bool sets it; initialised for the compiler (-Wmaybe-uninitialized at -O2) */
    int rc = get_bool(v, "hidden", ref, false, false, &hidden, err);
    if (rc < 0)
        return rc;
    out->width = out->height = 0;
    if (hidden)
        return 0;
    const char *keys[2] = {"width", "height"};
    unsigned *dst[2] = {&out->width, &out->height};
    for (int k = 0; k < 2; k++) {
        json_t *x = json_object_get(v, keys[k]);
        if (!json_is_integer(x) || json_integer_value(x) < 1 || json_integer_value(x) > VM_MAX_VIEW_PX)
            return msg_error_set(err, VM_ERR_INVALID_FIELD, ref,
                                 "a shown view needs '%s', an integer from 1 to %d (or \"hidden\": true)", keys[k],
                                 VM_MAX_VIEW_PX);
        *dst[k] = (unsigned)json_integer_value(x);
    }
    return 0;
}

static int parse_views(json_t *root, vm_msg *out, msg_error *err)
{
    static const char ref[] = "video-views";
    json_t *views = json_object_get(root, "views");
    if (!json_is_array(views))
        return msg_error_set(err, VM_ERR_INVALID_FIELD, ref, "field 'views' must be an array");
    size_t n = json_array_size(views);
    if (n == 0 || n > VM_MAX_VIEWS)
        return msg_error_set(err, VM_ERR_TOO_LONG, ref, "'views' must list 1 to %d videos", VM_MAX_VIEWS);
    for (size_t i = 0; i < n; i++) {
        int rc = parse_view(json_array_get(views, i), ref, &out->views[i], err);
        if (rc < 0)
            return rc;
    }
    out->n_views = n;
    out->type = MSG_VIDEO_VIEWS;
    return 0;
}

static int parse_fields(json_t *root, vm_msg *out, msg_error *err)
{
    json_t *t = json_object_get(root, "type");
    const char *type = json_is_string(t) ? json_string_value(t) : NULL;
    if (!type)
        return msg_error_set(err, VM_ERR_UNKNOWN_TYPE, NULL, "field 'type' must be a string");
    if (!strcmp(type, "join-meeting"))
        return parse_join(root, out, err);
    if (!strcmp(type, "chat-message"))
        return parse_chat(root, out, err);
    if (!strcmp(type, "media-state"))
        return parse_media_state(root, out, err);
    if (!strcmp(type, "leave-meeting")) {
        out->type = MSG_LEAVE;
        return 0;
    }
    if (!strcmp(type, "ping")) {
        out->type = MSG_PING;
        return 0;
    }
    if (!strcmp(type, "offer"))
        return parse_sdp(root, MSG_OFFER, out, err);
    if (!strcmp(type, "answer"))
        return parse_sdp(root, MSG_ANSWER, out, err);
    if (!strcmp(type, "ice-candidate"))
        return parse_candidate(root, out, err);
    if (!strcmp(type, "video-views"))
        return parse_views(root, out, err);
    if (!strcmp(type, "resume-meeting"))
        return parse_resume(root, out, err);
    if (!strcmp(type, "ice-restart"))
        return parse_ice_restart(root, out, err);
    return msg_error_set(err, VM_ERR_UNKNOWN_TYPE, NULL, "unknown message type");
}

void msg_clear(vm_msg *m)
{
    if (!m)
        return;
    free(m->sdp);
    m->sdp = NULL;
}

int msg_parse(const char *buf, size_t len, bool binary, vm_msg *out, msg_error *err)
{
    memset(err, 0, sizeof(*err));
    out->sdp = NULL;
    if (binary)
        return msg_error_set(err, VM_ERR_BAD_JSON, NULL, "binary frames are not accepted; send JSON text");
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (json_error_code(&jerr) == json_error_invalid_utf8)
            return msg_error_set(err, VM_ERR_INVALID_UTF8, NULL, "the frame is not valid UTF-8");
        return msg_error_set(err, VM_ERR_BAD_JSON, NULL, "not JSON: %s", jerr.text);
    }
    int rc;
    if (!json_is_object(root))
        rc = msg_error_set(err, VM_ERR_BAD_JSON, NULL, "a message must be a JSON object");
    else
        rc = parse_fields(root, out, err);
    json_decref(root);
    if (rc < 0)
        msg_clear(out);
    return rc;
}

/* ---- builders ---- */

static char *dump(json_t *obj)
{
    if (!obj)
        return NULL;
    char *s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return s;
}

static json_t *participant_json(const vm_participant *p)
{
    json_t *o = json_pack("{s:s, s:s, s:b, s:b, s:I}", "userId", p->user_id, "username", p->username,
                          "audio", p->audio, "video", p->video, "joinedAt", (json_int_t)p->joined_at_ms);
    if (o && resume_reconnecting(&p->resume))
        json_object_set_new(o, "reconnecting", json_true());
    return o;
}

static json_t *chat_json(const vm_chat *c)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:I}", "id", (json_int_t)c->id, "userId", c->user_id,
                     "username", c->username, "message", c->message, "timestamp",
                     (json_int_t)c->timestamp_ms);
}

char *msg_build_error(const msg_error *err)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "type", "error", "code", msg_error_code(err->code),
                          "message", err->text);
    if (o && err->ref)
        json_object_set_new(o, "ref", json_string(err->ref));
    if (o && err->reason)
        json_object_set_new(o, "reason", json_string(err->reason));
    if (o && err->retry_after_s)
        json_object_set_new(o, "retryAfter", json_integer(err->retry_after_s));
    return dump(o);
}

char *msg_build_existing_users(const vm_participant *self, int64_t grace_ms, bool resumed)
{
    const vm_meeting *m = self->meeting;
    json_t *users = json_array(), *history = json_array();
    for (const vm_participant *p = m->first; p; p = p->next) {
        if (p != self)
            json_array_append_new(users, participant_json(p));
    }
    for (size_t i = 0; i < m->chat_count; i++)
        json_array_append_new(history, chat_json(meeting_chat_at(m, i)));
    json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:I}", "type", "existing-users", "meetingId", m->id,
                          "userId", self->user_id, "users", users, "chatHistory", history, "resumeToken",
                          self->resume.token, "resumeSeconds", (json_int_t)(grace_ms / 1000));
    if (o && resumed)
        json_object_set_new(o, "resumed", json_true());
    return dump(o);
}

char *msg_build_user_reconnecting(const vm_participant *p)
{
    return dump(json_pack("{s:s, s:s, s:b}", "type", "user-reconnecting", "userId", p->user_id, "reconnecting",
                          resume_reconnecting(&p->resume)));
}

char *msg_build_user_joined(const vm_participant *p)
{
    return dump(json_pack("{s:s, s:o}", "type", "user-joined", "user", participant_json(p)));
}

char *msg_build_user_left(const char *user_id, const char *reason)
{
    return dump(json_pack("{s:s, s:s, s:s}", "type", "user-left", "userId", user_id, "reason", reason));
}

char *msg_build_chat(const vm_chat *c)
{
    json_t *o = chat_json(c);
    if (o)
        json_object_set_new(o, "type", json_string("receive-message"));
    return dump(o);
}

char *msg_build_media_state(const vm_participant *p)
{
    return dump(json_pack("{s:s, s:s, s:b, s:b}", "type", "media-state", "userId", p->user_id, "audio",
                          p->audio, "video", p->video));
}

char *msg_build_left(const char *meeting_id)
{
    return dump(json_pack("{s:s, s:s}", "type", "left", "meetingId", meeting_id));
}

char *msg_build_pong(void)
{
    return dump(json_pack("{s:s}", "type", "pong"));
}

char *msg_build_moved(const char *meeting_id, const char *url)
{
    return dump(json_pack("{s:s, s:s, s:s}", "type", "moved", "meetingId", meeting_id, "url", url));
}

char *msg_build_moved_reason(const char *meeting_id, const char *url, const char *reason)
{
    return dump(json_pack("{s:s, s:s, s:s, s:s}", "type", "moved", "meetingId", meeting_id, "url", url, "reason",
                          reason));
}

char *msg_build_node_info(const char *node, const char *url, const char *const *urls, size_t n, void *ice_servers)
{
    json_t *ice = ice_servers ? ice_servers : json_array(), *nodes = json_array();
    for (size_t i = 0; nodes && i < n; i++)
        json_array_append_new(nodes, json_string(urls[i]));
    return dump(json_pack("{s:s, s:s, s:s, s:o*, s:o*}", "type", "node-info", "node", node, "url", url, "nodes",
                          nodes, "iceServers", ice));
}

static const char *pc_name(msg_pc pc)
{
    return pc == MSG_PC_UP ? "up" : "down";
}

char *msg_build_sdp(const char *type, msg_pc pc, const char *sdp)
{
    return dump(json_pack("{s:s, s:s, s:s}", "type", type, "pc", pc_name(pc), "sdp", sdp));
}

/* A JSON array of the strings of a comma-separated list ("" = empty), or NULL on no memory. */
static json_t *csv_array(const char *csv)
{
    json_t *list = json_array();
    if (!list)
        return NULL;
    for (const char *p = csv; *p;) {
        size_t n = strcspn(p, ",");
        json_array_append_new(list, json_stringn(p, n));
        p += n;
        if (*p == ',')
            p++;
    }
    return list;
}

char *msg_build_video_layers(const char *mid, const char *rids)
{
    json_t *list = csv_array(rids);
    if (!list)
        return NULL;
    return dump(json_pack("{s:s, s:s, s:o}", "type", "video-layers", "mid", mid, "rids", list));
}

char *msg_build_active_speakers(const char *user_ids)
{
    json_t *list = csv_array(user_ids);
    if (!list)
        return NULL;
    return dump(json_pack("{s:s, s:o}", "type", "active-speakers", "speakers", list));
}

char *msg_build_video_paused(const char *mid, const char *reason)
{
    json_t *o = json_pack("{s:s, s:s, s:b}", "type", "video-paused", "mid", mid, "paused", *reason != 0);
    if (o && *reason)
        json_object_set_new(o, "reason", json_string(reason));
    return dump(o);
}

char *msg_build_candidate(msg_pc pc, const char *candidate, const char *mid)
{
    json_t *o = json_pack("{s:s, s:s, s:i}", "type", "ice-candidate", "pc", pc_name(pc), "sdpMLineIndex", 0);
    if (!o)
        return NULL;
    json_object_set_new(o, "candidate", *candidate ? json_string(candidate) : json_null());
    json_object_set_new(o, "sdpMid", json_string(mid));
    return dump(o);
}
