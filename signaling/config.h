/* config.h - the server's settings, read from environment variables (see the README's table).
 *
 * config_load() is pure apart from reading the environment through the given lookup function, so
 * it can be tested with a fake environment.
 */
#ifndef VM_CONFIG_H
#define VM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signaling/abuse.h"

#define VM_CONFIG_MAX_IPS 8

typedef struct {
    int port;                       /* PORT: HTTP + WebSocket, default 3000 */
    char bind_address[64];          /* BIND_ADDRESS: an IPv4 or IPv6 literal; default "" = all
                                       addresses, IPv4 and IPv6 */
    int bind_family;                /* AF_INET or AF_INET6 for a literal, 0 for "" */
    char web_root[512];             /* WEB_ROOT: static files of the web app */
    size_t max_participants;        /* MAX_PARTICIPANTS: per meeting, default 50 */
    size_t max_meetings;            /* MAX_MEETINGS: default 10000 */
    size_t max_connections;         /* MAX_CONNECTIONS: WebSockets at once, default 2000 */
    int64_t meeting_grace_ms;       /* MEETING_GRACE_SECONDS: empty meeting lifetime, default 120 */
    int64_t reconnect_grace_ms;     /* RECONNECT_GRACE_SECONDS: how long a participant whose socket
                                       dropped (or whose media failed) may come back, default 30 */
    size_t max_message_bytes;       /* MAX_MESSAGE_BYTES: WebSocket message limit, default 65536 */
    double msg_rate;                /* messages per second per connection, default 20 */
    double msg_burst;               /* burst, default 40 */
    unsigned abuse_drops;           /* rate-limited messages before the socket is closed, default 100 */
    double media_msg_rate;          /* offer, answer, ice-candidate, ice-restart: their own bucket per */
    double media_msg_burst;         /* connection, default 40/s, burst 300 (a join on many interfaces) */
    unsigned max_candidates;        /* remote candidates per connection (pc) and ICE generation, 200 */
    /* Per client address (abuse.h; README "Abuse limits"). */
    abuse_trust trusted_proxies;    /* TRUSTED_PROXIES: whose X-Forwarded-For is believed; default nobody */
    unsigned addr_max_connections;  /* ADDRESS_MAX_CONNECTIONS: WebSockets at once, default 50; 0 = off */
    unsigned addr_meetings_per_min; /* ADDRESS_MEETINGS_PER_MINUTE: meetings started, default 10; 0 = off */
    unsigned addr_unknown_per_min;  /* ADDRESS_UNKNOWN_JOINS_PER_MINUTE: joins of ids with no live meeting,
                                       default 30; 0 = off */
    int64_t meeting_unused_grace_ms;/* MEETING_UNUSED_GRACE_SECONDS: grace of an emptied meeting that never
                                       had two people at once nor a chat message, default 10 */
    char *ice_servers_json;         /* JSON array built from STUN_URLS / TURN_URLS / TURN_USERNAME /
                                       TURN_CREDENTIAL (the static part of /api/config's iceServers;
                                       ice_servers.c adds minted TURN credentials); owned */
    /* Media plane (used by sfu/). */
    char rtc_ips[VM_CONFIG_MAX_IPS][64]; /* RTC_IPS: comma separated; empty = detect */
    size_t rtc_ip_count;
    char announced_ip[64];          /* ANNOUNCED_IP */
    int rtc_min_port, rtc_max_port; /* RTC_MIN_PORT / RTC_MAX_PORT, default 40000-49999 */
    int workers;                    /* WORKERS: media worker threads, default = cores */
    int io_uring;                   /* IO_URING: 1 (default) = each worker's sends leave in one io_uring
                                       submit per loop iteration where the kernel allows; 0 = a system
                                       call per socket (sfu/netloop.h) */
    int log_level;                  /* LOG_LEVEL: error|warn|info|debug */
    /* TURN (README, "Media over TCP"): the embedded coturn and the credentials /api/config mints. */
    int turn_port;                  /* RAILWAY_TCP_APPLICATION_PORT, else TURN_PORT: the embedded coturn's
                                       TCP port; 0 = no embedded TURN server */
    int turn_tls_port;              /* TURN_TLS_PORT, default 5349: its TLS port, with a certificate */
    char turn_tls_cert[512];        /* TURN_TLS_CERT, TURN_TLS_KEY: PEM files; both or neither */
    char turn_tls_key[512];
    char turn_secret[128];          /* TURN_SECRET: the REST API shared secret; main.c draws a random one
                                       when the TURN server is embedded and none is given */
    int turn_ttl_s;                 /* TURN_TTL_SECONDS: lifetime of minted credentials, default 86400 */
    char turn_public_host[256];     /* where browsers reach the embedded TURN server: TURN_PUBLIC_ADDRESS,
                                       else RAILWAY_TCP_PROXY_DOMAIN, else ANNOUNCED_IP; "" = the host
                                       name the browser reached the HTTP port by */
    int turn_public_port;           /* its port (TURN_PUBLIC_ADDRESS, RAILWAY_TCP_PROXY_PORT); 0 = turn_port */
    char *turn_rest_urls_json;      /* TURN_URLS given with TURN_SECRET and without TURN_USERNAME (an
                                       external TURN server with use-auth-secret): JSON array of the URLs
                                       that get minted credentials; owned; NULL = none */
    /* Several nodes (README, "Several nodes"; signaling/cluster.h): all empty/0 when REDIS_URL is unset. */
    char redis_url[256];            /* REDIS_URL: redis://host[:port][/db]; "" = a single node, no Redis */
    char node_id[64];               /* NODE_ID: this node's name in Redis; "" = cluster.c draws one */
    char public_url[256];           /* PUBLIC_URL: how browsers reach this node's HTTP/WS port (no
                                       trailing slash); required with REDIS_URL */
    size_t node_capacity;           /* NODE_MAX_PARTICIPANTS: participants across all meetings this node
                                       takes before new meetings go elsewhere, default 500 */
    char admin_token[256];          /* ADMIN_TOKEN: bearer token of POST /admin/drain; "" = no admin
                                       endpoint (README, "Draining a node") */
} vm_config;

typedef const char *(*config_getenv_fn)(const char *name);

/* Fills cfg from the environment. On an invalid value returns -1 and writes a message to err. */
int config_load(vm_config *cfg, config_getenv_fn getenv_fn, const char *default_web_root, char *err,
                size_t errlen);
/* Frees what config_load allocated. NULL is a no-op. */
void config_free(vm_config *cfg);

#endif
