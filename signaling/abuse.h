/* abuse.h - limits per client address: WebSockets open at once, meetings started, joins of meeting ids
 * that have no live meeting; and which address a connection comes from behind trusted reverse proxies.
 *
 * Pure: no I/O, no clock (callers pass `now_us`, any monotonic origin), no lock; used only from the
 * signaling thread.
 *
 * Addresses. An IPv4 address is held as IPv4-mapped IPv6 (::ffff:a.b.c.d). The limits count an IPv4
 * address alone, but an IPv6 address by its /64: one subscriber (one home, one VM) gets a whole /64
 * and can draw 2^64 addresses from it, so counting single IPv6 addresses would count nothing.
 *
 * Memory. The table tracks at most `capacity` addresses, each one a fixed-size entry allocated when the
 * address is first seen. An address that holds an open WebSocket is never forgotten (so its count stays
 * exact; MAX_CONNECTIONS bounds how many do). The others sit on an idle list, least recently used last:
 * abuse_expire() forgets those idle longer than it takes every bucket to refill (they carry no state any
 * more), and when the table is full a new address evicts the least recently used idle one. So an
 * attacker with many addresses cannot grow the table past `capacity`; evicting an address whose buckets
 * were not full yet forgets its debt, which gives an attacker nothing it had not got from having that
 * many addresses in the first place.
 *
 * Buckets. Meetings started and joins of unknown ids are token buckets per address (`burst` tokens,
 * refilled at `per_min` a minute). A refusal says how many seconds until the next token (retry-after).
 */
#ifndef VM_ABUSE_H
#define VM_ABUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t b[16];
} abuse_addr;

#define ABUSE_MAX_PROXIES 16

/* TRUSTED_PROXIES: none, a number of proxy hops, or a list of CIDRs. */
typedef struct {
    unsigned hops;  /* > 0: the peer is a proxy, and so are the hops-1 last X-Forwarded-For entries */
    size_t n;       /* CIDR form: the networks whose X-Forwarded-For is believed */
    struct {
        abuse_addr net;
        unsigned bits; /* prefix length over the 128 bits (IPv4 /n is 96 + n) */
    } cidr[ABUSE_MAX_PROXIES];
} abuse_trust;

typedef enum {
    ABUSE_CONNECTIONS,   /* WebSockets open at once */
    ABUSE_STARTS,        /* meetings started (/api/create-meeting, a join that creates its meeting) */
    ABUSE_UNKNOWN_JOINS, /* join-meeting of an id with no live meeting */
    ABUSE_KINDS
} abuse_kind;

typedef struct {
    unsigned max_conns;                    /* per address; 0 = no limit */
    double starts_per_min, starts_burst;   /* 0 per minute = no limit */
    double unknown_per_min, unknown_burst; /* 0 per minute = no limit */
    size_t capacity;                       /* addresses tracked at most (>= 1) */
} abuse_limits;

typedef struct abuse_table abuse_table;

/* Parses an address: "1.2.3.4", "1.2.3.4:5678", "2001:db8::1", "[2001:db8::1]:443", "::ffff:1.2.3.4".
 * Leading and trailing blanks are skipped. Returns 0, or -1 when it is no address. */
int abuse_addr_parse(const char *s, size_t len, abuse_addr *out);
/* Writes the address as text (IPv4 as a.b.c.d). */
void abuse_addr_format(const abuse_addr *a, char *out, size_t outlen);

/* Parses TRUSTED_PROXIES: "" (trust nobody), a number of hops ("1"), or comma-separated addresses and
 * CIDRs ("10.0.0.0/8, fd00::/8, 127.0.0.1"). Returns 0, or -1 with a message in err. */
int abuse_trust_parse(const char *spec, abuse_trust *out, char *err, size_t errlen);

/* The client's address for a connection from `peer` carrying X-Forwarded-For `xff` (NULL or "" when
 * absent; several headers joined by commas). With no trust, the peer. With hops N, the N-th entry from
 * the right (the one the outermost trusted proxy appended), or the leftmost when there are fewer; with
 * CIDRs, when the peer is trusted, the rightmost entry that is not a trusted address (entries right of
 * an unparsable one are all that is believed). Never reads more than the string. */
void abuse_client_address(const abuse_trust *t, const abuse_addr *peer, const char *xff, abuse_addr *out);

/* A table with these limits, or NULL without memory. */
abuse_table *abuse_new(const abuse_limits *lim);
/* Frees the table. NULL is a no-op. */
void abuse_free(abuse_table *t);

/* A WebSocket from `a` opens. Returns 0 (it is counted until abuse_conn_close) or -1 (refused: the
 * address holds max_conns, or the table is full of addresses with open sockets; not counted). */
int abuse_conn_open(abuse_table *t, const abuse_addr *a, uint64_t now_us);
/* A WebSocket counted by abuse_conn_open closes. */
void abuse_conn_close(abuse_table *t, const abuse_addr *a, uint64_t now_us);

/* Whether `a` has a token of bucket `kind` (ABUSE_STARTS or ABUSE_UNKNOWN_JOINS) now, without taking
 * it. On false, *retry_s (when not NULL) is the whole seconds until it has one, at least 1. */
bool abuse_allowed(abuse_table *t, const abuse_addr *a, abuse_kind kind, uint64_t now_us, unsigned *retry_s);
/* Takes a token of bucket `kind`. Returns true, or false (nothing taken; *retry_s as above). Every false
 * of abuse_take and abuse_conn_open is counted in abuse_refused(). */
bool abuse_take(abuse_table *t, const abuse_addr *a, abuse_kind kind, uint64_t now_us, unsigned *retry_s);
/* Counts a refusal of `kind` decided by the caller from abuse_allowed(). */
void abuse_count_refusal(abuse_table *t, abuse_kind kind);

/* Forgets idle addresses whose buckets are full again. Returns how many. */
size_t abuse_expire(abuse_table *t, uint64_t now_us);

size_t abuse_size(const abuse_table *t);                 /* addresses tracked */
uint64_t abuse_refused(const abuse_table *t, abuse_kind kind);
uint64_t abuse_evicted(const abuse_table *t);           /* idle addresses forgotten for room */
unsigned abuse_conns(abuse_table *t, const abuse_addr *a); /* open WebSockets of a's address */
const char *abuse_kind_name(abuse_kind kind);           /* "connections", "meetings", "unknown-meetings" */

#endif
