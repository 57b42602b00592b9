/* turnd.h - the embedded TURN server: coturn's turnserver, run and watched by this process.
 *
 * Browsers whose UDP is blocked (Railway, corporate and hotel networks) reach the SFU through TURN
 * over one TCP port (and TLS with a certificate): the browser allocates a relayed UDP address on
 * coturn over TCP, and coturn relays to the SFU's UDP candidates inside the same machine. UDP stays the
 * fast path: ICE prefers host and server-reflexive pairs, and the relay is only chosen when they fail.
 *
 * Why a child process rather than a script next to the server: the server already knows everything
 * coturn must be told (the shared secret of the credentials it mints, its own media addresses, which
 * are the only peers coturn may relay to, the ports), every launcher (scripts/run.sh, the Docker image,
 * Railway, the tests) gets the same behaviour from the same variables, and the relay lives and dies
 * with the server: a coturn that exits is started again (backoff 1 s doubling to 30 s), and coturn is
 * stopped with the server (SIGTERM, SIGKILL after 5 s; PR_SET_PDEATHSIG if the server is killed).
 *
 * coturn's configuration (turnd_conf_text, pure and unit-tested):
 *   - one TCP listener (TURN_PORT), a TLS one with TURN_TLS_CERT/TURN_TLS_KEY; no UDP/DTLS listener
 *     (a browser with working UDP needs no relay), no TCP relay (RFC 6062), no CLI;
 *   - relays only to the SFU: relay-ip and allowed-peer-ip are the SFU's addresses (RTC_IPS, else the
 *     machine's non-loopback addresses) and ANNOUNCED_IP, every other IPv4/IPv6 address is denied;
 *     loopback peers only when the SFU itself is on loopback (the tests);
 *   - credentials of the TURN REST API scheme (use-auth-secret with the server's TURN_SECRET).
 * The file (it holds the secret) lives in a private directory (0700) under $TMPDIR, removed at stop.
 *
 * Threads: turnd_start/turnd_free on the main thread; one supervisor thread of its own forks
 * coturn, logs its output through sfu/log.h (errors as warnings, the rest at debug level), and waits.
 */
#ifndef VM_TURND_H
#define VM_TURND_H

#include <stdbool.h>
#include <stddef.h>

#include "signaling/config.h"

#define TURND_MAX_IPS 16

typedef struct {
    const char *listen_ip;             /* "" = every address */
    int port;                          /* TCP listener */
    int tls_port;                      /* TLS listener, when cert is not "" */
    const char *cert, *key;            /* PEM files */
    const char *secret;                /* use-auth-secret */
    char ips[TURND_MAX_IPS][64];       /* the SFU's local addresses: relay addresses and allowed peers */
    size_t ip_count;
    const char *announced_ip;          /* "" or the SFU's announced address: also an allowed peer */
    const char *dir;                   /* private directory for coturn's pid file and database */
} turnd_settings;

/* coturn's configuration file for s (malloc'd text), or NULL when out of memory. */
char *turnd_conf_text(const turnd_settings *s);

typedef struct turnd turnd;

/* Writes the configuration and starts coturn (cfg->turn_port != 0, cfg->turn_secret set). Returns NULL,
 * with the reason logged, when turnserver is not installed or the directory cannot be made. */
turnd *turnd_start(const vm_config *cfg);
/* Stops coturn and removes its directory. NULL is a no-op. */
void turnd_free(turnd *t);

#endif
