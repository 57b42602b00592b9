/* config.c - environment variables to vm_config (see config.h). */
#include "signaling/config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sfu/log.h"

static int get_long(config_getenv_fn env, const char *name, long def, long min, long max, long *out,
                    char *err, size_t errlen)
{
    const char *v = env(name);
    if (!v || !*v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < min || n > max) {
        snprintf(err, errlen, "%s must be an integer from %ld to %ld (got '%s')", name, min, max, v);
        return -1;
    }
    *out = n;
    return 0;
}

static int copy_str(config_getenv_fn env, const char *name, const char *def, char *out, size_t outlen,
                    char *err, size_t errlen)
{
    const char *v = env(name);
    if (!v || !*v)
        v = def;
    if (strlen(v) >= outlen) {
        snprintf(err, errlen, "%s is too long", name);
        return -1;
    }
    memcpy(out, v, strlen(v) + 1);
    return 0;
}

/* Appends each comma-separated, trimmed, non-empty item of `list` to the JSON array `urls`. */
static void split_urls(const char *list, json_t *urls)
{
    char *copy = strdup(list ? list : "");
    char *save = NULL;
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
        json_array_append_new(urls, json_string(tok));
    free(copy);
}

static char *build_ice_servers(config_getenv_fn env)
{
    json_t *arr = json_array();
    json_t *stun = json_array();
    split_urls(env("STUN_URLS"), stun);
    if (json_array_size(stun))
        json_array_append_new(arr, json_pack("{s:o}", "urls", stun));
    else
        json_decref(stun);
    json_t *turn = json_array();
    split_urls(env("TURN_URLS"), turn);
    if (json_array_size(turn)) {
        const char *user = env("TURN_USERNAME"), *cred = env("TURN_CREDENTIAL");
        json_array_append_new(arr, json_pack("{s:o, s:s, s:s}", "urls", turn, "username", user ? user : "",
                                             "credential", cred ? cred : ""));
    } else {
        json_decref(turn);
    }
    char *s = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return s;
}

static int load_rtc(vm_config *cfg, config_getenv_fn env, char *err, size_t errlen)
{
    const char *ips = env("RTC_IPS");
    char *copy = strdup(ips ? ips : "");
    char *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (cfg->rtc_ip_count == VM_CONFIG_MAX_IPS || strlen(tok) >= sizeof(cfg->rtc_ips[0])) {
            snprintf(err, errlen, "RTC_IPS: at most %d addresses", VM_CONFIG_MAX_IPS);
            rc = -1;
            break;
        }
        memcpy(cfg->rtc_ips[cfg->rtc_ip_count++], tok, strlen(tok) + 1);
    }
    free(copy);
    if (rc < 0 || copy_str(env, "ANNOUNCED_IP", "", cfg->announced_ip, sizeof(cfg->announced_ip), err, errlen))
        return -1;
    long lo, hi, workers;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (get_long(env, "RTC_MIN_PORT", 40000, 1024, 65535, &lo, err, errlen) ||
        get_long(env, "RTC_MAX_PORT", 49999, 1024, 65535, &hi, err, errlen) ||
        get_long(env, "WORKERS", cores > 0 ? cores : 1, 1, 256, &workers, err, errlen))
        return -1;
    if (lo > hi) {
        snprintf(err, errlen, "RTC_MIN_PORT (%ld) is above RTC_MAX_PORT (%ld)", lo, hi);
        return -1;
    }
    cfg->rtc_min_port = (int)lo;
    cfg->rtc_max_port = (int)hi;
    cfg->workers = (int)workers;
    return 0;
}

int config_load(vm_config *cfg, config_getenv_fn env, const char *default_web_root, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    long port, maxp, maxm, maxc, grace, maxmsg;
    if (get_long(env, "PORT", 3000, 0, 65535, &port, err, errlen) ||
        get_long(env, "MAX_PARTICIPANTS", 50, 1, 1000, &maxp, err, errlen) ||
        get_long(env, "MAX_MEETINGS", 10000, 1, 1000000, &maxm, err, errlen) ||
        get_long(env, "MAX_CONNECTIONS", 2000, 1, 1000000, &maxc, err, errlen) ||
        get_long(env, "MEETING_GRACE_SECONDS", 120, 0, 86400 * 7, &grace, err, errlen) ||
        get_long(env, "MAX_MESSAGE_BYTES", 65536, 1024, 16 * 1024 * 1024, &maxmsg, err, errlen))
        return -1;
    cfg->port = (int)port;
    cfg->max_participants = (size_t)maxp;
    cfg->max_meetings = (size_t)maxm;
    cfg->max_connections = (size_t)maxc;
    cfg->meeting_grace_ms = grace * 1000;
    cfg->max_message_bytes = (size_t)maxmsg;
    long reconnect;
    if (get_long(env, "RECONNECT_GRACE_SECONDS", 30, 0, 3600, &reconnect, err, errlen))
        return -1;
    cfg->reconnect_grace_ms = reconnect * 1000;
    cfg->msg_rate = 20;
    cfg->msg_burst = 40;
    cfg->abuse_drops = 100;
    if (copy_str(env, "BIND_ADDRESS", "", cfg->bind_address, sizeof(cfg->bind_address), err, errlen) ||
        copy_str(env, "WEB_ROOT", default_web_root, cfg->web_root, sizeof(cfg->web_root), err, errlen))
        return -1;
    const char *lvl = env("LOG_LEVEL");
    cfg->log_level = lvl && *lvl ? vm_log_parse_level(lvl) : VM_LOG_INFO;
    if (cfg->log_level < 0) {
        snprintf(err, errlen, "LOG_LEVEL must be error, warn, info or debug (got '%s')", lvl);
        return -1;
    }
    if (load_rtc(cfg, env, err, errlen))
        return -1;
    cfg->ice_servers_json = build_ice_servers(env);
    if (!cfg->ice_servers_json) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void config_free(vm_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->ice_servers_json);
    cfg->ice_servers_json = NULL;
}
