/* ws.h - the bench's WebSocket client: many text WebSocket connections to one server, served by
 * one libwebsockets (4.1) client context on its own thread.
 *
 * Any thread may connect, send and close (each call only queues work under one mutex and wakes the
 * lws thread with lws_cancel_service); everything that touches a `struct lws` happens on the lws
 * thread. Callbacks run on the lws thread: they must be quick and thread-safe (the bench hands each
 * event to the session's media worker).
 *
 * Ownership: bench_ws owns every bench_ws_conn; a connection handle stays valid until
 * bench_ws_stop(), even after the connection closed (sending then drops the message).
 */
#ifndef BENCH_WS_H
#define BENCH_WS_H

#include <stddef.h>

typedef struct bench_ws bench_ws;
typedef struct bench_ws_conn bench_ws_conn;

typedef struct bench_ws_callbacks {
    void (*on_open)(void *ud);
    /* One complete text message, NUL-terminated and malloc'd: the callee owns it (free()). */
    void (*on_message)(void *ud, char *text, size_t len);
    /* The connection failed or closed; no callback follows for it. */
    void (*on_closed)(void *ud, const char *why);
} bench_ws_callbacks;

/* Starts the client thread for ws://host:port/path. cbs is copied. NULL on failure. */
bench_ws *bench_ws_start(const char *host, int port, const char *path, const bench_ws_callbacks *cbs);
/* Opens a connection (asynchronously); ud is handed to the callbacks. NULL when out of memory. */
bench_ws_conn *bench_ws_connect(bench_ws *ws, void *ud);
/* The same to another server (a node a `moved` answer named): ws://host:port/path. */
bench_ws_conn *bench_ws_connect_to(bench_ws *ws, const char *host, int port, void *ud);
/* Host and port of http://host[:port][/...] or ws://...; -1 when it is not such a URL (https: is not
 * supported). */
int bench_ws_parse_url(const char *url, char *host, size_t host_len, int *port);
/* Queues one text message; takes ownership of text (malloc'd, NUL-terminated). */
void bench_ws_send(bench_ws_conn *c, char *text);
/* Closes the connection once what was queued is written. */
void bench_ws_close(bench_ws_conn *c);
/* Connections that are open now (thread-safe). */
size_t bench_ws_open_count(bench_ws *ws);
/* Closes every connection (waiting at most timeout_ms for them to close cleanly), stops the
 * thread and frees everything. NULL is a no-op. */
void bench_ws_stop(bench_ws *ws, int timeout_ms);

#endif
