/* ws.c - WebSocket client connections on one libwebsockets thread (see ws.h).
 *
 * Cross-thread work goes through `dirty`: a caller sets flags or queues a message on a connection
 * under `lock`, puts the connection on the dirty list once, and wakes the lws loop with
 * lws_cancel_service(). The loop's LWS_CALLBACK_EVENT_WAIT_CANCELLED takes the list and, per
 * connection, starts the connect or asks for a WRITEABLE callback; each WRITEABLE writes one queued
 * message (lws allows one lws_write per callback) and asks again while more wait. A close request
 * is honoured once the queue is empty. Received fragments are reassembled (up to WS_RX_MAX) and
 * handed over as one malloc'd message.
 */
#include "bench/ws.h"

#include <glib.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS_RX_MAX (4u << 20)
#define WS_WAKE_US (100 * LWS_US_PER_MS)

typedef struct ws_msg {
    size_t len;
    unsigned char buf[]; /* LWS_PRE bytes of headroom, then the text */
} ws_msg;

struct bench_ws_conn {
    bench_ws *ws;
    void *ud;
    char host[128];   /* where it connects: the client's server, or the node a `moved` named */
    char host_hdr[160];
    int port;
    struct lws *wsi;  /* lws thread only */
    /* under ws->lock */
    GQueue out;
    bool want_close;
    bool on_dirty;
    /* lws thread only */
    bool started, open, done;
    char *rx;
    size_t rx_len, rx_cap;
};

struct bench_ws {
    char host[128];
    char host_hdr[160];
    char path[128];
    int port;
    bench_ws_callbacks cbs;
    struct lws_context *ctx;
    bool ctx_alive;      /* under lock: ctx may be woken */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int state;           /* 0 starting, 1 running, -1 failed; under lock */
    GPtrArray *all;      /* every connection, owned; under lock */
    GPtrArray *dirty;    /* under lock */
    atomic_bool stop;
    gint64 stop_deadline_us;
    bool stop_seen;      /* lws thread */
    size_t live;         /* connecting or open; lws thread */
    atomic_size_t n_open;
    lws_sorted_usec_list_t sul;
};

static void wake(bench_ws *ws)
{
    pthread_mutex_lock(&ws->lock);
    if (ws->ctx_alive)
        lws_cancel_service(ws->ctx);
    pthread_mutex_unlock(&ws->lock);
}

static void mark_dirty_locked(bench_ws_conn *c)
{
    if (!c->on_dirty) {
        c->on_dirty = true;
        g_ptr_array_add(c->ws->dirty, c);
    }
}

/* ---- lws thread ---- */

static void finish(bench_ws_conn *c, const char *why)
{
    if (c->done)
        return;
    c->done = true;
    c->wsi = NULL;
    if (c->open)
        atomic_fetch_sub(&c->ws->n_open, 1);
    c->open = false;
    if (c->started)
        c->ws->live--;
    free(c->rx);
    c->rx = NULL;
    c->rx_len = c->rx_cap = 0;
    if (c->ws->cbs.on_closed)
        c->ws->cbs.on_closed(c->ud, why);
}

static void start_connect(bench_ws_conn *c)
{
    bench_ws *ws = c->ws;
    struct lws_client_connect_info i;
    memset(&i, 0, sizeof(i));
    i.context = ws->ctx;
    i.address = c->host;
    i.port = c->port;
    i.path = ws->path;
    i.host = c->host_hdr;
    i.origin = c->host_hdr;
    i.local_protocol_name = "bench";
    i.userdata = c;
    i.opaque_user_data = c;
    i.pwsi = &c->wsi;
    c->started = true;
    ws->live++;
    if (!lws_client_connect_via_info(&i))
        finish(c, "connect failed");
}

static void on_wait_cancelled(bench_ws *ws)
{
    pthread_mutex_lock(&ws->lock);
    GPtrArray *batch = ws->dirty;
    ws->dirty = g_ptr_array_new();
    for (guint i = 0; i < batch->len; i++)
        ((bench_ws_conn *)batch->pdata[i])->on_dirty = false;
    bool stopping = atomic_load(&ws->stop) && !ws->stop_seen;
    if (stopping) {
        ws->stop_seen = true;
        for (guint i = 0; i < ws->all->len; i++) {
            bench_ws_conn *c = ws->all->pdata[i];
            c->want_close = true;
            g_ptr_array_add(batch, c);
        }
    }
    pthread_mutex_unlock(&ws->lock);
    for (guint i = 0; i < batch->len; i++) {
        bench_ws_conn *c = batch->pdata[i];
        if (c->done)
            continue;
        if (!c->started && !stopping)
            start_connect(c);
        else if (!c->started)
            finish(c, "stopped before connecting");
        else if (c->wsi && c->open)
            lws_callback_on_writable(c->wsi);
    }
    g_ptr_array_free(batch, TRUE);
}

static void on_receive(bench_ws_conn *c, struct lws *wsi, const void *in, size_t len)
{
    if (lws_is_first_fragment(wsi))
        c->rx_len = 0;
    if (c->rx_len + len + 1 > WS_RX_MAX)
        return; /* oversized: dropped (the server never sends this much) */
    if (c->rx_len + len + 1 > c->rx_cap) {
        size_t cap = c->rx_cap ? c->rx_cap : 8192;
        while (cap < c->rx_len + len + 1)
            cap *= 2;
        char *grown = realloc(c->rx, cap);
        if (!grown)
            return;
        c->rx = grown;
        c->rx_cap = cap;
    }
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) != 0)
        return;
    char *msg = malloc(c->rx_len + 1);
    if (!msg)
        return;
    memcpy(msg, c->rx, c->rx_len);
    msg[c->rx_len] = '\0';
    size_t n = c->rx_len;
    c->rx_len = 0;
    if (c->ws->cbs.on_message)
        c->ws->cbs.on_message(c->ud, msg, n);
    else
        free(msg);
}

static int on_writeable(bench_ws_conn *c, struct lws *wsi)
{
    bench_ws *ws = c->ws;
    pthread_mutex_lock(&ws->lock);
    ws_msg *m = g_queue_pop_head(&c->out);
    bool more = !g_queue_is_empty(&c->out);
    bool close = c->want_close;
    pthread_mutex_unlock(&ws->lock);
    if (m) {
        int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
        free(m);
        if (n < 0)
            return -1;
        if (more || close)
            lws_callback_on_writable(wsi);
        return 0;
    }
    if (close) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
        return -1;
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    bench_ws *ws = lws_context_user(lws_get_context(wsi));
    bench_ws_conn *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    if (!c)
        c = user;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        on_wait_cancelled(ws);
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (!c)
            return -1;
        c->open = true;
        atomic_fetch_add(&ws->n_open, 1);
        if (ws->cbs.on_open)
            ws->cbs.on_open(c->ud);
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (c)
            on_receive(c, wsi, in, len);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return c ? on_writeable(c, wsi) : 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c)
            finish(c, in ? (const char *)in : "connection error");
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c)
            finish(c, "closed");
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"bench", callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* Keeps the loop turning so a stop deadline is noticed even when nothing happens. */
static void tick(lws_sorted_usec_list_t *sul)
{
    bench_ws *ws = lws_container_of(sul, bench_ws, sul);
    lws_sul_schedule(ws->ctx, 0, &ws->sul, tick, WS_WAKE_US);
}

static void set_state(bench_ws *ws, int st)
{
    pthread_mutex_lock(&ws->lock);
    ws->state = st;
    pthread_cond_signal(&ws->cond);
    pthread_mutex_unlock(&ws->lock);
}

static void *thread_main(void *arg)
{
    bench_ws *ws = arg;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.user = ws;
    info.gid = -1;
    info.uid = -1;
    info.timeout_secs = 10;
    ws->ctx = lws_create_context(&info);
    if (!ws->ctx) {
        set_state(ws, -1);
        return NULL;
    }
    lws_sul_schedule(ws->ctx, 0, &ws->sul, tick, WS_WAKE_US);
    pthread_mutex_lock(&ws->lock);
    ws->ctx_alive = true;
    pthread_mutex_unlock(&ws->lock);
    set_state(ws, 1);
    for (;;) {
        if (lws_service(ws->ctx, 0) < 0)
            break;
        if (ws->stop_seen && (ws->live == 0 || g_get_monotonic_time() > ws->stop_deadline_us))
            break;
    }
    lws_sul_cancel(&ws->sul);
    pthread_mutex_lock(&ws->lock);
    ws->ctx_alive = false;
    pthread_mutex_unlock(&ws->lock);
    lws_context_destroy(ws->ctx);
    return NULL;
}

/* ---- API ---- */

static void lws_log(int level, const char *line)
{
    if (level & (LLL_ERR | LLL_WARN))
        fprintf(stderr, "bench: lws: %s", line);
}

bench_ws *bench_ws_start(const char *host, int port, const char *path, const bench_ws_callbacks *cbs)
{
    bench_ws *ws = calloc(1, sizeof(*ws));
    if (!ws)
        return NULL;
    snprintf(ws->host, sizeof(ws->host), "%s", host);
    snprintf(ws->host_hdr, sizeof(ws->host_hdr), "%s:%d", host, port);
    snprintf(ws->path, sizeof(ws->path), "%s", path);
    ws->port = port;
    ws->cbs = *cbs;
    ws->all = g_ptr_array_new();
    ws->dirty = g_ptr_array_new();
    pthread_mutex_init(&ws->lock, NULL);
    pthread_cond_init(&ws->cond, NULL);
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
    if (pthread_create(&ws->thread, NULL, thread_main, ws) != 0) {
        ws->state = -2;
    } else {
        pthread_mutex_lock(&ws->lock);
        while (ws->state == 0)
            pthread_cond_wait(&ws->cond, &ws->lock);
        pthread_mutex_unlock(&ws->lock);
    }
    if (ws->state < 0) {
        if (ws->state == -1)
            pthread_join(ws->thread, NULL);
        g_ptr_array_free(ws->all, TRUE);
        g_ptr_array_free(ws->dirty, TRUE);
        free(ws);
        return NULL;
    }
    return ws;
}

bench_ws_conn *bench_ws_connect(bench_ws *ws, void *ud)
{
    return bench_ws_connect_to(ws, NULL, 0, ud);
}

bench_ws_conn *bench_ws_connect_to(bench_ws *ws, const char *host, int port, void *ud)
{
    bench_ws_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->ws = ws;
    c->ud = ud;
    snprintf(c->host, sizeof(c->host), "%s", host ? host : ws->host);
    c->port = host ? port : ws->port;
    snprintf(c->host_hdr, sizeof(c->host_hdr), "%s:%d", c->host, c->port);
    g_queue_init(&c->out);
    pthread_mutex_lock(&ws->lock);
    g_ptr_array_add(ws->all, c);
    mark_dirty_locked(c);
    pthread_mutex_unlock(&ws->lock);
    wake(ws);
    return c;
}

void bench_ws_send(bench_ws_conn *c, char *text)
{
    if (!text)
        return;
    size_t len = strlen(text);
    ws_msg *m = malloc(sizeof(*m) + LWS_PRE + len);
    if (!m) {
        free(text);
        return;
    }
    m->len = len;
    memcpy(m->buf + LWS_PRE, text, len);
    free(text);
    bench_ws *ws = c->ws;
    pthread_mutex_lock(&ws->lock);
    g_queue_push_tail(&c->out, m);
    mark_dirty_locked(c);
    pthread_mutex_unlock(&ws->lock);
    wake(ws);
}

void bench_ws_close(bench_ws_conn *c)
{
    bench_ws *ws = c->ws;
    pthread_mutex_lock(&ws->lock);
    c->want_close = true;
    mark_dirty_locked(c);
    pthread_mutex_unlock(&ws->lock);
    wake(ws);
}

int bench_ws_parse_url(const char *url, char *host, size_t host_len, int *port)
{
    const char *p = url;
    if (!strncmp(p, "http://", 7))
        p += 7;
    else if (!strncmp(p, "ws://", 5))
        p += 5;
    else if (strstr(p, "://"))
        return -1; /* no TLS: the bench measures the SFU on local servers */
    const char *colon = strchr(p, ':');
    const char *slash = strchr(p, '/');
    if (colon && slash && slash < colon)
        colon = NULL;
    size_t hl = colon ? (size_t)(colon - p) : slash ? (size_t)(slash - p) : strlen(p);
    if (hl == 0 || hl >= host_len)
        return -1;
    memcpy(host, p, hl);
    host[hl] = '\0';
    *port = colon ? atoi(colon + 1) : 80;
    return *port > 0 && *port < 65536 ? 0 : -1;
}

size_t bench_ws_open_count(bench_ws *ws)
{
    return atomic_load(&ws->n_open);
}

void bench_ws_stop(bench_ws *ws, int timeout_ms)
{
    if (!ws)
        return;
    ws->stop_deadline_us = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    atomic_store(&ws->stop, true);
    wake(ws);
    pthread_join(ws->thread, NULL);
    for (guint i = 0; i < ws->all->len; i++) {
        bench_ws_conn *c = ws->all->pdata[i];
        ws_msg *m;
        while ((m = g_queue_pop_head(&c->out)))
            free(m);
        free(c->rx);
        free(c);
    }
    g_ptr_array_free(ws->all, TRUE);
    g_ptr_array_free(ws->dirty, TRUE);
    pthread_mutex_destroy(&ws->lock);
    pthread_cond_destroy(&ws->cond);
    free(ws);
}
