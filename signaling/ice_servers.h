/* ice_servers.h - the iceServers that /api/config hands one browser.
 *
 * The static entries of the configuration (STUN_URLS; TURN_URLS with TURN_USERNAME/TURN_CREDENTIAL,
 * cfg->ice_servers_json) followed by TURN entries whose credentials are minted for this request
 * (turn_cred.h, valid cfg->turn_ttl_s seconds from now):
 *   - the embedded TURN server (cfg->turn_port != 0): "turn:<host>:<port>?transport=tcp", plus
 *     "turns:<host>:<tls port>?transport=tcp" when it has a certificate. <host>:<port> is
 *     cfg->turn_public_host/cfg->turn_public_port when configured (TURN_PUBLIC_ADDRESS, Railway's TCP
 *     proxy, ANNOUNCED_IP), else the host of the request's Host header - the name the browser reached
 *     the HTTP port by - with cfg->turn_port. Without either the entry is left out.
 *   - an external TURN server sharing TURN_SECRET (cfg->turn_rest_urls_json).
 *
 * Pure: the Host header, the time and a random tag (the username's second half) come in.
 */
#ifndef VM_ICE_SERVERS_H
#define VM_ICE_SERVERS_H

#include <jansson.h>
#include <stdint.h>

#include "signaling/config.h"

/* Splits "host", "host:port", "[v6]" or "[v6]:port" into host (brackets kept) and port (0 when
 * absent). A host is a DNS name or IPv4 address of [A-Za-z0-9.-] or a bracketed IPv6 address.
 * Returns 0, or -1 for anything else (empty, bad characters, a bad port, too long). */
int ice_host_split(const char *in, char *host, size_t hostlen, int *port);

/* The iceServers array for one request (a new reference), or NULL when out of memory.
 * host_header may be NULL. */
json_t *ice_servers_build(const vm_config *cfg, const char *host_header, int64_t now_s, const char *tag);

#endif
