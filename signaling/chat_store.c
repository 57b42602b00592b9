/* chat_store.c - the stored form of a chat entry (see chat_store.h): JSON through jansson, with every
 * field checked on the way back in. */
#include "signaling/chat_store.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Ids and timestamps stay within what a JSON number carries exactly (and JavaScript reads exactly). */
#define MAX_EXACT ((json_int_t)1 << 53)

char *chat_store_encode(const vm_chat *c)
{
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I}", "id", (json_int_t)c->id, "userId", c->user_id, "username",
                          c->username, "message", c->message ? c->message : "", "timestamp",
                          (json_int_t)c->timestamp_ms);
    if (!o)
        return NULL;
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

/* The string field `key` of o, with 1..max bytes (jansson checked it is UTF-8 without NUL), or NULL. */
static const char *text_field(json_t *o, const char *key, size_t max)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return NULL;
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    return n >= 1 && n <= max && strlen(s) == n ? s : NULL;
}

static bool user_id_ok(const char *id)
{
    if (!id || strlen(id) != VM_USER_ID_LEN || id[0] != 'u')
        return false;
    for (const char *p = id + 1; *p; p++)
        if (!strchr(VM_ID_ALPHABET, *p))
            return false;
    return true;
}

int chat_store_decode(const char *text, size_t len, vm_chat *out)
{
    memset(out, 0, sizeof(*out));
    json_error_t jerr;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(o)) {
        json_decref(o);
        return CHAT_STORE_E_BAD;
    }
    json_t *id = json_object_get(o, "id"), *ts = json_object_get(o, "timestamp");
    const char *user = text_field(o, "userId", VM_USER_ID_LEN);
    const char *name = text_field(o, "username", VM_MAX_NAME_BYTES);
    const char *message = text_field(o, "message", VM_MAX_CHAT_BYTES);
    int rc = CHAT_STORE_E_BAD;
    if (json_is_integer(id) && json_integer_value(id) >= 1 && json_integer_value(id) <= MAX_EXACT &&
        json_is_integer(ts) && json_integer_value(ts) >= 0 && json_integer_value(ts) <= MAX_EXACT &&
        user_id_ok(user) && name && message) {
        out->message = strdup(message);
        if (!out->message) {
            rc = CHAT_STORE_E_NOMEM;
        } else {
            out->id = (uint64_t)json_integer_value(id);
            out->timestamp_ms = (int64_t)json_integer_value(ts);
            memcpy(out->user_id, user, VM_USER_ID_LEN + 1);
            memcpy(out->username, name, strlen(name) + 1);
            rc = 0;
        }
    }
    json_decref(o);
    return rc;
}

void chat_store_clear(vm_chat *c)
{
    if (!c)
        return;
    free(c->message);
    c->message = NULL;
}
