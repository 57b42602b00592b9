/* ids.h - meeting and user identifiers.
 *
 * A meeting id is 8 characters from an alphabet without look-alikes (no i, l, o, 0, 1), drawn from the
 * kernel CSPRNG (getrandom). 31^8 ~ 8.5e11 ids. User ids are "u" + 12 characters of the same alphabet.
 */
#ifndef VM_IDS_H
#define VM_IDS_H

#include <stdbool.h>
#include <stddef.h>

#define VM_MEETING_ID_LEN 8
#define VM_USER_ID_LEN 13
#define VM_ID_ALPHABET "abcdefghjkmnpqrstuvwxyz23456789"

/* Fills out[0..len-1] with random alphabet characters and NUL-terminates out[len].
 * Returns 0, or -1 when the CSPRNG fails. */
int ids_random(char *out, size_t len);

/* Fills out[0..42] with a resume token (signaling/resume.h): 32 bytes from the kernel CSPRNG in
 * base64url without padding, and NUL-terminates out[43]. Returns 0, or -1 when the CSPRNG fails. */
int ids_token(char out[44]);

/* Normalises a meeting id candidate (folds upper case to lower case) into out (VM_MEETING_ID_LEN + 1
 * bytes). Returns true when `in` is exactly VM_MEETING_ID_LEN alphabet characters. */
bool ids_meeting_id_normalize(const char *in, char out[VM_MEETING_ID_LEN + 1]);

#endif
