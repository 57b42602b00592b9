/* ice_servers.c - /api/config's iceServers for one browser (see ice_servers.h). */
#include "signaling/ice_servers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/turn_cred.h"

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

static int v6_char(char c)
{
    return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' || c == '.';
}

int ice_host_split(const char *in, char *host, size_t hostlen, int *port)
{
    if (!in || !host || !port)
        return -1;
    const char *end; /* one past the host */
    if (in[0] == '[') {
        end = strchr(in, ']');
        if (!end || end == in + 1)
            return -1;
        for (const char *p = in + 1; p < end; p++) {
            if (!v6_char(*p))
                return -1;
        }
        end++;
    } else {
        end = in;
        while (name_char(*end))
            end++;
        if (end == in)
            return -1;
    }
    *port = 0;
    if (*end == ':') {
        const char *d = end + 1;
        long n = 0;
        if (!*d)
            return -1;
        for (; *d; d++) {
            if (*d < '0' || *d > '9' || (n = n * 10 + (*d - '0')) > 65535)
                return -1;
        }
        if (n == 0)
            return -1;
        *port = (int)n;
    } else if (*end) {
        return -1;
    }
    size_t len = (size_t)(end - in);
    if (len >= hostlen || len > 253)
        return -1;
    memcpy(host, in, len);
    host[len] = '\0';
    return 0;
}

/* Appends {urls, username, credential} with credentials minted for `urls` (taken). */
static void append_minted(json_t *arr, json_t *urls, const vm_config *cfg, int64_t now_s, const char *tag)
{
    char user[128], cred[TURN_CRED_LEN];
    if (json_array_size(urls) == 0 ||
        turn_cred_mint(cfg->turn_secret, now_s + cfg->turn_ttl_s, tag, user, sizeof(user), cred, sizeof(cred))) {
        json_decref(urls);
        return;
    }
    json_array_append_new(arr, json_pack("{s:o, s:s, s:s}", "urls", urls, "username", user, "credential", cred));
}

/* The embedded TURN server's URLs for this request, or an empty array when its host is unknown. */
static json_t *embedded_urls(const vm_config *cfg, const char *host_header)
{
    json_t *urls = json_array();
    char host[256];
    int port = cfg->turn_public_port;
    if (cfg->turn_public_host[0]) {
        snprintf(host, sizeof(host), "%s", cfg->turn_public_host);
    } else {
        int ignored;
        if (!host_header || ice_host_split(host_header, host, sizeof(host), &ignored))
            return urls;
    }
    char url[300];
    snprintf(url, sizeof(url), "turn:%s:%d?transport=tcp", host, port ? port : cfg->turn_port);
    json_array_append_new(urls, json_string(url));
    if (cfg->turn_tls_cert[0]) {
        snprintf(url, sizeof(url), "turns:%s:%d?transport=tcp", host, cfg->turn_tls_port);
        json_array_append_new(urls, json_string(url));
    }
    return urls;
}

json_t *ice_servers_build(const vm_config *cfg, const char *host_header, int64_t now_s, const char *tag)
{
    json_t *arr = cfg->ice_servers_json ? json_loads(cfg->ice_servers_json, 0, NULL) : NULL;
    if (!json_is_array(arr)) {
        json_decref(arr);
        arr = json_array();
    }
    if (!arr)
        return NULL;
    if (cfg->turn_port)
        append_minted(arr, embedded_urls(cfg, host_header), cfg, now_s, tag);
    if (cfg->turn_rest_urls_json)
        append_minted(arr, json_loads(cfg->turn_rest_urls_json, 0, NULL), cfg, now_s, tag);
    return arr;
}
