/* turn_cred.h - short-lived TURN credentials of the "TURN REST API" scheme
 * (draft-uberti-behave-turn-rest-00), the scheme coturn checks with use-auth-secret:
 *
 *   username   = "<expiry, unix seconds>:<tag>"
 *   credential = base64(HMAC-SHA1(shared secret, username))
 *
 * The TURN server recomputes the credential from the username with the same secret and refuses a
 * username whose expiry has passed, so the server hands each browser its own password that stops
 * working at the expiry, and no password lives in the TURN server's configuration.
 *
 * Pure: the secret, the expiry and the tag come in, text goes out; no clock, no randomness, no I/O.
 */
#ifndef VM_TURN_CRED_H
#define VM_TURN_CRED_H

#include <stddef.h>
#include <stdint.h>

#define TURN_CRED_E_ARG (-1)   /* empty secret, negative expiry, or a tag that is empty or not [A-Za-z0-9_-] */
#define TURN_CRED_E_SPACE (-2) /* an output buffer is too small */

/* Base64 of a 20-byte HMAC-SHA1 is 28 characters. */
#define TURN_CRED_LEN 29

/* Writes the username ("<expiry>:<tag>", NUL-terminated) into user[ulen] and its credential into
 * cred[clen] (clen >= TURN_CRED_LEN). Returns 0 or a negative TURN_CRED_E_* code. */
int turn_cred_mint(const char *secret, int64_t expiry, const char *tag, char *user, size_t ulen, char *cred,
                   size_t clen);

#endif
