/* server.h - the signaling server: HTTP routes, static files and the WebSocket protocol on one port.
 *
 * It runs on its own thread with its own libwebsockets event loop, so media workers are never blocked
 * by it. All meeting state (meeting.h) is touched only from that thread. The media plane (sfu/sfu.h)
 * reports back through signaling_sfu_event(), which may be called from any thread.
 *
 * Life cycle: signaling_new → (sfu_new with signaling_sfu_event) → signaling_start → ... →
 * signaling_stop → sfu_free → signaling_free.
 */
#ifndef VM_SERVER_H
#define VM_SERVER_H

#include "sfu/sfu.h"
#include "signaling/config.h"

typedef struct vm_signaling vm_signaling;

/* cfg must outlive the server (not owned). NULL on no memory. */
vm_signaling *signaling_new(const vm_config *cfg);
/* Starts the server thread and waits until it listens. media may be NULL (no media plane); it is
 * not owned and must stay alive until signaling_stop returned. Returns 0, or -1 (logged). */
int signaling_start(vm_signaling *s, sfu *media);
/* Asks the server thread to stop and waits for it: every connection is closed and leaves its
 * meeting (telling the media plane). No-op when not started. */
void signaling_stop(vm_signaling *s);
/* Frees the server and events still queued. NULL is a no-op. */
void signaling_free(vm_signaling *s);

/* Starts draining this node (README, "Draining a node"): what SIGUSR1 does. Thread-safe. */
void signaling_drain(vm_signaling *s);

/* The sfu_event_fn for sfu_new(): queues ev (taking ownership) for the signaling thread.
 * Thread-safe. ud is the vm_signaling. */
void signaling_sfu_event(void *ud, sfu_event *ev);

#endif
