/* server.h - the signaling server: HTTP routes, static files and the WebSocket protocol on one port.
 *
 * It runs on its own thread with its own libwebsockets event loop, so media workers are never blocked
 * by it. All meeting state (meeting.h) is touched only from that thread.
 */
#ifndef VM_SERVER_H
#define VM_SERVER_H

#include "signaling/config.h"

typedef struct vm_signaling vm_signaling;

/* Starts the server thread and waits until it listens. cfg must outlive the server (not owned).
 * Returns the server, or NULL when it could not start (the reason is logged). */
vm_signaling *signaling_start(const vm_config *cfg);

/* Asks the server thread to stop, waits for it, and frees everything. NULL is a no-op. */
void signaling_stop(vm_signaling *s);

#endif
