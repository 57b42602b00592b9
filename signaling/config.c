/* config.c - environment variables to vm_config (see config.h). */
#include "signaling/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signaling/ice_servers.h"
#include "signaling/placement.h"
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

/* TURN_URLS are an external TURN server of the REST API scheme: a secret and no static username. */
static int rest_scheme(config_getenv_fn env)
{
    const char *secret = env("TURN_SECRET"), *user = env("TURN_USERNAME");
    return secret && *secret && !(user && *user);
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
    if (json_array_size(turn) && rest_scheme(env)) {
        json_decref(turn); /* load_turn() keeps them: their credentials are minted per browser */
    } else if (json_array_size(turn)) {
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

/* The address family of BIND_ADDRESS: 0 when empty (every address), AF_INET or AF_INET6 for a
 * literal, -1 for anything else (a host or interface name would be resolved or matched by the HTTP
 * library in ways the log line could not promise). */
static int bind_family(const char *addr)
{
    unsigned char buf[sizeof(struct in6_addr)];
    if (!addr[0])
        return 0;
    if (inet_pton(AF_INET, addr, buf) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, addr, buf) == 1)
        return AF_INET6;
    return -1;
}

/* Where browsers reach the embedded TURN server, when the environment says: TURN_PUBLIC_ADDRESS
 * (host[:port]), else Railway's TCP proxy, else ANNOUNCED_IP with TURN_PORT. */
static int load_turn_public(vm_config *cfg, config_getenv_fn env, char *err, size_t errlen)
{
    const char *addr = env("TURN_PUBLIC_ADDRESS");
    const char *rail = env("RAILWAY_TCP_PROXY_DOMAIN");
    long rail_port;
    if (get_long(env, "RAILWAY_TCP_PROXY_PORT", 0, 0, 65535, &rail_port, err, errlen))
        return -1;
    if (addr && *addr) {
        if (ice_host_split(addr, cfg->turn_public_host, sizeof(cfg->turn_public_host), &cfg->turn_public_port)) {
            snprintf(err, errlen, "TURN_PUBLIC_ADDRESS must be host or host:port (got '%s')", addr);
            return -1;
        }
    } else if (rail && *rail && rail_port > 0) {
        int ignored;
        if (ice_host_split(rail, cfg->turn_public_host, sizeof(cfg->turn_public_host), &ignored)) {
            snprintf(err, errlen, "RAILWAY_TCP_PROXY_DOMAIN is no host name (got '%s')", rail);
            return -1;
        }
        cfg->turn_public_port = (int)rail_port;
    } else if (cfg->announced_ip[0]) {
        bool v6 = strchr(cfg->announced_ip, ':') != NULL; /* in brackets in a URL */
        snprintf(cfg->turn_public_host, sizeof(cfg->turn_public_host), "%s%s%s", v6 ? "[" : "",
                 cfg->announced_ip, v6 ? "]" : "");
    }
    return 0;
}

/* TURN_*: the embedded TURN server and the credentials /api/config mints (ice_servers.h). Its port is
 * the one Railway's TCP proxy forwards to when there is one (the only TCP port reachable from outside
 * there; it wins over TURN_PORT, which the Docker image sets), else TURN_PORT. */
static int load_turn(vm_config *cfg, config_getenv_fn env, char *err, size_t errlen)
{
    long rail_app, port, tls_port, ttl;
    if (get_long(env, "RAILWAY_TCP_APPLICATION_PORT", 0, 0, 65535, &rail_app, err, errlen) ||
        get_long(env, "TURN_PORT", 0, 0, 65535, &port, err, errlen) ||
        get_long(env, "TURN_TLS_PORT", 5349, 1, 65535, &tls_port, err, errlen) ||
        get_long(env, "TURN_TTL_SECONDS", 86400, 60, 30 * 86400, &ttl, err, errlen) ||
        copy_str(env, "TURN_SECRET", "", cfg->turn_secret, sizeof(cfg->turn_secret), err, errlen) ||
        copy_str(env, "TURN_TLS_CERT", "", cfg->turn_tls_cert, sizeof(cfg->turn_tls_cert), err, errlen) ||
        copy_str(env, "TURN_TLS_KEY", "", cfg->turn_tls_key, sizeof(cfg->turn_tls_key), err, errlen))
        return -1;
    if (rail_app)
        port = rail_app;
    cfg->turn_port = (int)port;
    cfg->turn_tls_port = (int)tls_port;
    cfg->turn_ttl_s = (int)ttl;
    if (!cfg->turn_tls_cert[0] != !cfg->turn_tls_key[0]) {
        snprintf(err, errlen, "TURN_TLS_CERT and TURN_TLS_KEY go together");
        return -1;
    }
    const char *which = rail_app ? "RAILWAY_TCP_APPLICATION_PORT" : "TURN_PORT";
    if (port && port == cfg->port) {
        snprintf(err, errlen, "%s (%ld) is PORT: the TURN server needs a port of its own", which, port);
        return -1;
    }
    if (cfg->turn_tls_cert[0] && (!port || tls_port == port || tls_port == cfg->port)) {
        snprintf(err, errlen, "TURN_TLS_CERT needs TURN_PORT, and TURN_TLS_PORT (%ld) a port of its own", tls_port);
        return -1;
    }
    if (rest_scheme(env)) {
        json_t *urls = json_array();
        split_urls(env("TURN_URLS"), urls);
        cfg->turn_rest_urls_json = json_array_size(urls) ? json_dumps(urls, JSON_COMPACT) : NULL;
        json_decref(urls);
    }
    return port ? load_turn_public(cfg, env, err, errlen) : 0;
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

/* REDIS_URL, NODE_ID, PUBLIC_URL, NODE_MAX_PARTICIPANTS (README, "Several nodes"). */
static int load_cluster(vm_config *cfg, config_getenv_fn env, char *err, size_t errlen)
{
    long cap;
    redis_target target;
    if (copy_str(env, "REDIS_URL", "", cfg->redis_url, sizeof(cfg->redis_url), err, errlen) ||
        copy_str(env, "NODE_ID", "", cfg->node_id, sizeof(cfg->node_id), err, errlen) ||
        copy_str(env, "PUBLIC_URL", "", cfg->public_url, sizeof(cfg->public_url), err, errlen) ||
        get_long(env, "NODE_MAX_PARTICIPANTS", 500, 1, 1000000, &cap, err, errlen))
        return -1;
    cfg->node_capacity = (size_t)cap;
    if (!cfg->redis_url[0])
        return 0;
    if (placement_parse_redis_url(cfg->redis_url, &target) < 0) {
        /* not echoed: it may hold a password */
        snprintf(err, errlen, "REDIS_URL must be redis://[[user]:password@]host[:port][/db]");
        return -1;
    }
    if (cfg->node_id[0] && !placement_node_id_valid(cfg->node_id)) {
        snprintf(err, errlen, "NODE_ID must be 1-63 characters of A-Z a-z 0-9 _ . - (got '%s')", cfg->node_id);
        return -1;
    }
    size_t n = strlen(cfg->public_url);
    while (n && cfg->public_url[n - 1] == '/')
        cfg->public_url[--n] = '\0';
    if ((strncmp(cfg->public_url, "http://", 7) != 0 && strncmp(cfg->public_url, "https://", 8) != 0) ||
        strpbrk(cfg->public_url, " \"<>\r\n")) {
        snprintf(err, errlen, "PUBLIC_URL (http[s]://host[:port], how browsers reach this node) is required "
                              "with REDIS_URL (got '%s')", cfg->public_url);
        return -1;
    }
    return 0;
}

/* The limits per client address and whose X-Forwarded-For to believe (abuse.h). */
static int load_abuse(vm_config *cfg, config_getenv_fn env, char *err, size_t errlen)
{
    long conns, starts, unknown, unused;
    if (get_long(env, "ADDRESS_MAX_CONNECTIONS", 50, 0, 1000000, &conns, err, errlen) ||
        get_long(env, "ADDRESS_MEETINGS_PER_MINUTE", 10, 0, 1000000, &starts, err, errlen) ||
        get_long(env, "ADDRESS_UNKNOWN_JOINS_PER_MINUTE", 30, 0, 1000000, &unknown, err, errlen) ||
        get_long(env, "MEETING_UNUSED_GRACE_SECONDS", 10, 0, 86400 * 7, &unused, err, errlen))
        return -1;
    cfg->addr_max_connections = (unsigned)conns;
    cfg->addr_meetings_per_min = (unsigned)starts;
    cfg->addr_unknown_per_min = (unsigned)unknown;
    cfg->meeting_unused_grace_ms = unused * 1000 < cfg->meeting_grace_ms ? unused * 1000 : cfg->meeting_grace_ms;
    return abuse_trust_parse(env("TRUSTED_PROXIES"), &cfg->trusted_proxies, err, errlen);
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
    long reconnect, uring;
    if (get_long(env, "RECONNECT_GRACE_SECONDS", 30, 0, 3600, &reconnect, err, errlen) ||
        get_long(env, "IO_URING", 1, 0, 1, &uring, err, errlen))
        return -1;
    cfg->io_uring = (int)uring;
    cfg->reconnect_grace_ms = reconnect * 1000;
    cfg->msg_rate = 20;
    cfg->msg_burst = 40;
    cfg->abuse_drops = 100;
    cfg->media_msg_rate = 40;
    cfg->media_msg_burst = 300;
    cfg->max_candidates = 200;
    if (load_abuse(cfg, env, err, errlen))
        return -1;
    if (copy_str(env, "BIND_ADDRESS", "", cfg->bind_address, sizeof(cfg->bind_address), err, errlen) ||
        copy_str(env, "WEB_ROOT", default_web_root, cfg->web_root, sizeof(cfg->web_root), err, errlen))
        return -1;
    cfg->bind_family = bind_family(cfg->bind_address);
    if (cfg->bind_family < 0) {
        snprintf(err, errlen, "BIND_ADDRESS must be an IPv4 or IPv6 address, or empty for all (got '%s')",
                 cfg->bind_address);
        return -1;
    }
    const char *lvl = env("LOG_LEVEL");
    cfg->log_level = lvl && *lvl ? vm_log_parse_level(lvl) : VM_LOG_INFO;
    if (cfg->log_level < 0) {
        snprintf(err, errlen, "LOG_LEVEL must be error, warn, info or debug (got '%s')", lvl);
        return -1;
    }
    if (load_rtc(cfg, env, err, errlen) || load_turn(cfg, env, err, errlen) || load_cluster(cfg, env, err, errlen) ||
        copy_str(env, "ADMIN_TOKEN", "", cfg->admin_token, sizeof(cfg->admin_token), err, errlen))
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
    free(cfg->turn_rest_urls_json);
    cfg->turn_rest_urls_json = NULL;
}
