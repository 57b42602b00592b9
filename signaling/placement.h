/* placement.h - the pure part of running several nodes (README, "Several nodes"): a node's record as
 * stored in Redis, the choice of the node a new meeting goes to, and REDIS_URL parsing.
 *
 * No I/O, no clock, no allocation: the cluster thread (cluster.c) reads records from Redis and hands
 * them here as strings; the signaling thread chooses a node from the last list it received.
 */
#ifndef VM_PLACEMENT_H
#define VM_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VM_NODE_ID_MAX 64     /* bytes of a node id, NUL included */
#define VM_NODE_URL_MAX 256   /* bytes of a node's public URL, NUL included */

/* One live node, as its hash `vm:node:<id>` says (fields in parentheses). */
typedef struct {
    char id[VM_NODE_ID_MAX];
    char url[VM_NODE_URL_MAX];   /* (url) public HTTP/WS base URL, no trailing slash */
    char media[128];             /* (media) public media address and UDP port range, for operators */
    uint64_t capacity;           /* (capacity) participants it takes across its meetings */
    uint64_t participants;       /* (participants) participants in its meetings now */
    uint64_t meetings;           /* (meetings) meetings placed on it: live ones and created ones
                                    nobody joined yet */
    uint64_t pps;                /* (pps) RTP packets forwarded per second */
    double cpu;                  /* (cpu) CPU in use, in cores */
    bool draining;               /* (draining) "1": draining (drain_route.c), takes no new meetings */
} cluster_node;

/* Sets the field `name` of n from its Redis text `value`; unknown names and bad numbers are ignored
 * (a newer node may write more fields). */
void placement_node_field(cluster_node *n, const char *name, const char *value);

/* A node record is usable when it has an id and a URL. */
bool placement_node_valid(const cluster_node *n);

/* The node a new meeting goes to: among the nodes with room (participants < capacity, not draining),
 * the one with the lowest load (participants + meetings) / capacity, where a meeting nobody joined
 * yet counts as one participant; ties go to fewer meetings, then to the node `self` (the one
 * choosing; NULL: none), then to the smaller id. Preferring itself on a tie keeps nodes that choose
 * at the same time from the same stale list from all piling on one node. Returns its index, or -1
 * when none has room. */
int placement_choose(const cluster_node *nodes, size_t n, const char *self);

/* Where REDIS_URL points. */
typedef struct {
    char host[256];
    int port;                    /* 1-65535, default 6379 */
    int db;                      /* 0-15, default 0 */
    char user[64];               /* "" = none (AUTH password, or no AUTH) */
    char password[256];          /* "" = no AUTH */
} redis_target;

/* Parses redis://[[user]:password@]host[:port][/db] (host a name, an IPv4 literal or an IPv6 literal
 * in brackets; the password runs to the last '@' and is taken as written, no %-decoding). Returns 0,
 * or -1 when malformed. */
int placement_parse_redis_url(const char *url, redis_target *out);

/* A node id is 1-63 characters of [A-Za-z0-9_.-]. */
bool placement_node_id_valid(const char *id);

#endif
