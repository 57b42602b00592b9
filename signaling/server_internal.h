/* server_internal.h - state shared by server.c (event loop), http.c (routes) and session.c (WebSocket
 * sessions). Not a public API. Everything here is used only on the signaling thread.
 */
#ifndef VM_SERVER_INTERNAL_H
#define VM_SERVER_INTERNAL_H

#include <glib.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "sfu/sfu.h"
#include "signaling/abuse.h"
#include "signaling/config.h"
#include "signaling/meeting.h"
#include "signaling/msg.h"
#include "signaling/ports.h"
#include "signaling/ratelimit.h"

/* One queued outgoing WebSocket message; data has LWS_PRE bytes of headroom before the payload. */
typedef struct outmsg {
    struct outmsg *next;
    size_t len;
    unsigned char data[];
} outmsg;

/* Per-connection state, allocated by libwebsockets (per_session_data) for HTTP and WebSocket alike. */
typedef struct vm_conn {
    struct lws *wsi;
    /* HTTP: a dynamic body waiting for HTTP_WRITEABLE (owned). */
    char *http_body;
    size_t http_body_len;
    bool http_close;              /* close the connection once the body is written (431, 413) */
    bool http_discard;            /* 413: the request body is read away before the answer is written */
    uint64_t http_discard_until;  /* vm_mono_us() after which a body still being read away is cut off */
    unsigned http_retry_after;    /* > 0: a Retry-After header with these seconds (429) */
    /* WebSocket */
    bool is_ws;
    vm_participant *participant;  /* owned by the registry; NULL when not in a meeting */
    char *rx;                     /* reassembly buffer (owned), up to max_message_bytes */
    size_t rx_len, rx_cap;
    bool rx_binary;
    outmsg *out_head, *out_tail;  /* owned queue */
    size_t out_bytes;
    ratelimit rl;                 /* every message but the ones of rl_media */
    ratelimit rl_media;           /* offer, answer, ice-candidate, ice-restart (a join trickles many) */
    unsigned drops;               /* rate-limited messages so far */
    unsigned candidates[2];       /* remote candidates passed on, per pc, in this ICE generation */
    unsigned ufrag_hash[2];       /* per pc: the ICE ufrag of the browser's last SDP (a new one = restart) */
    abuse_addr addr;              /* the client's address (abuse.h): set when the upgrade is filtered */
    bool addr_counted;            /* counted in the abuse table's connections until it closes */
    bool client_left;             /* the client closed with 1000, 1001 or no code: no resume */
    bool closing;                 /* close once the queue is written and close_ready */
    bool close_ready;             /* the close grace period has passed */
    enum lws_close_status close_code;
    struct cluster_pending *cluster; /* owned: an answer waiting for Redis (cluster_route.c), or NULL */
} vm_conn;

struct vm_signaling {
    const vm_config *cfg;
    struct lws_context *ctx;
    vm_registry *reg;
    pthread_t thread;
    atomic_bool stop;
    lws_sorted_usec_list_t sweep;
    size_t ws_count;
    int64_t started_ms;
    sfu *media;                   /* the media plane, not owned; NULL when absent */
    port_budget ports;            /* RTC_MIN_PORT..RTC_MAX_PORT: joins are checked against it */
    abuse_table *abuse;           /* limits per client address (owned) */
    uint64_t msgs_limited[2];     /* messages dropped by the rate limits: [0] general, [1] media */
    uint64_t candidates_dropped;  /* remote candidates over max_candidates */
    bool started;
    /* start-up handshake with signaling_start(), and the event queue from the media workers */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int state;                    /* 0 starting, 1 listening, -1 failed */
    GQueue events;                /* sfu_event*, owned; under lock */
    struct lws_context *wake_ctx; /* ctx while the loop runs, for lws_cancel_service; under lock */
    struct vm_cluster *cluster;   /* several nodes (cluster.h), owned; NULL when REDIS_URL is unset */
    uint64_t cluster_moved;       /* page loads redirected and joins moved to another node */
    uint64_t cluster_split_moves; /* participants told to move to a split meeting's owner (cluster.h) */
    struct vm_drain *drain;       /* draining this node (drain.h), owned */
    atomic_bool drain_requested;  /* SIGUSR1 asked for a drain (any thread); started by drain_route_poll */
    uint64_t drain_moved;         /* live meetings handed to another node while draining */
    bool drain_done;              /* draining and no meeting left (logged once) */
};

#define VM_OUT_QUEUE_MAX (1024 * 1024)
/* HTTP limits (README "HTTP limits and headers"): one request header, all known headers together (both
 * answered 431), the header space libwebsockets holds per request (past it, it closes the connection
 * without an answer), a request body (413; no route reads one). */
#define VM_HTTP_MAX_HEADER 4096
#define VM_HTTP_MAX_HEADERS 8192
#define VM_HTTP_HEADER_SPACE 16384
#define VM_HTTP_MAX_BODY 16384
/* A refused body up to this size is read away before the 413 goes out, so that the connection ends with
 * a FIN, not a reset that may throw the answer away; a larger or chunked one is answered at once. */
#define VM_HTTP_DISCARD_BODY (8 * 1024 * 1024)
#define VM_HTTP_DISCARD_US (10 * 1000000ull) /* ... within this time, or the connection is closed */

int64_t vm_now_ms(void);  /* wall clock, ms since the epoch */
uint64_t vm_mono_us(void); /* monotonic clock, us */

/* http.c: handles LWS_CALLBACK_HTTP and LWS_CALLBACK_HTTP_WRITEABLE. Returns the callback's result. */
int http_on_request(struct vm_signaling *s, vm_conn *c, struct lws *wsi, const char *uri, size_t len);
int http_on_writeable(vm_conn *c, struct lws *wsi);
void http_conn_release(vm_conn *c);
/* The client's address of a connection: its peer, or what X-Forwarded-For says when the peer is a
 * trusted proxy (TRUSTED_PROXIES, abuse_client_address). Needs the request's headers. */
void http_client_address(struct vm_signaling *s, struct lws *wsi, abuse_addr *out);
/* Whether the request's headers are within the limits (each header below VM_HTTP_MAX_HEADER bytes). */
bool http_headers_ok(struct lws *wsi);
/* The security headers of every answer, for the vhost (lws_context_creation_info.headers). */
const struct lws_protocol_vhost_options *http_security_headers(bool cluster);

/* session.c: the WebSocket side. */
void session_open(struct vm_signaling *s, vm_conn *c, struct lws *wsi);
void session_receive(struct vm_signaling *s, vm_conn *c, const void *in, size_t len);
int session_writeable(vm_conn *c);
void session_timer(vm_conn *c);
void session_close(struct vm_signaling *s, vm_conn *c);
/* The client sent a close frame (in, len: its payload). */
void session_peer_close(vm_conn *c, const void *in, size_t len);
/* Once a second: participants whose grace period ended without a resume or a repair leave. */
void session_sweep(struct vm_signaling *s);
/* An event of the media plane for one participant (takes ownership). */
void session_media_event(struct vm_signaling *s, sfu_event *ev);

/* http.c, for cluster_route.c: a JSON answer (takes o), and the app's page. */
int http_send_json(vm_conn *c, struct lws *wsi, unsigned status, json_t *o);
int http_serve_index(struct vm_signaling *s, struct lws *wsi);
/* session.c, for cluster_route.c: queues json (taken) on c; runs a join-meeting (`placed`: the
 * cluster placed the meeting here, do not ask again). */
void session_send(vm_conn *c, char *json);
void session_join(struct vm_signaling *s, vm_conn *c, const vm_msg *msg, bool placed);

/* cluster_route.c (README, "Several nodes"): each is a no-op or returns false when s->cluster is NULL,
 * unless it says otherwise. */
int cluster_route_create(struct vm_signaling *s, vm_conn *c, struct lws *wsi);      /* needs s->cluster */
int cluster_route_page(struct vm_signaling *s, vm_conn *c, struct lws *wsi, const char *id); /* needs it */
int cluster_route_writeable(vm_conn *c, struct lws *wsi);                           /* needs c->cluster */
bool cluster_route_join(struct vm_signaling *s, vm_conn *c, const vm_msg *msg);     /* needs it; true: taken */
void cluster_route_gone(struct vm_signaling *s, vm_conn *c);
void cluster_route_sweep(struct vm_signaling *s);
void cluster_route_health(struct vm_signaling *s, json_t *o);
void cluster_route_metrics(struct vm_signaling *s, GString *out);
/* cluster_info.c: queues `node-info` on c (this node, the live nodes, this node's iceServers) before an
 * existing-users; no-op when s->cluster is NULL. */
void cluster_info_send(struct vm_signaling *s, vm_conn *c);

/* drain_route.c (README, "Draining a node"). drain_route_request is thread-safe; the rest run on the
 * signaling thread. */
void drain_route_request(struct vm_signaling *s);
void drain_route_poll(struct vm_signaling *s);                                   /* starts a requested drain */
bool drain_route_active(const struct vm_signaling *s);
void drain_route_sweep(struct vm_signaling *s);                                  /* once a second */
bool drain_route_join(struct vm_signaling *s, vm_conn *c, const vm_msg *msg);    /* true: answered */
int drain_route_admin(struct vm_signaling *s, vm_conn *c, struct lws *wsi);      /* POST /admin/drain */
void drain_route_health(struct vm_signaling *s, json_t *o);
void drain_route_metrics(struct vm_signaling *s, GString *out);
/* session.c, for drain_route.c: sends json (taken) to every participant of m (kept for those away). */
void session_tell_meeting(vm_meeting *m, char *json);

#endif
