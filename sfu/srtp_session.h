/* srtp_session.h - SRTP/SRTCP protection for one peer connection (libsrtp2 2.5).
 *
 * A srtp_session_t holds two libsrtp sessions made from the DTLS-SRTP keys (sfu/dtls.h):
 *  - outbound, from the local master key + salt, with an ssrc_any_outbound policy (every SSRC we
 *    send is accepted) and allow_repeat_tx, so a packet may be protected again with the same
 *    sequence number (NACK retransmissions of the same payload);
 *  - inbound, from the remote master key + salt, with an ssrc_any_inbound policy and a replay window
 *    of SRTP_SESSION_REPLAY_WINDOW packets.
 * libsrtp creates one stream per SSRC the first time it sees it (after authentication succeeds on
 * the inbound side); that is per new SSRC, not per packet.
 * Under AEAD_AES_128_GCM, RTP and RTCP go through libgcrypt's AES-GCM instead (RFC 7714, same bytes
 * on the wire as libsrtp): per SSRC, up to 16 inbound RTP streams, 32 outbound and 32 inbound RTCP
 * streams; an SSRC beyond those tables falls back to libsrtp.
 *
 * All four packet functions work in place and never allocate in this module. Protect appends the
 * authentication tag (RTP) or the SRTCP index + tag (RTCP), so the buffer must have `cap` bytes with
 * at least SRTP_SESSION_RTP_MAX_OVERHEAD / SRTP_SESSION_RTCP_MAX_OVERHEAD free after the packet
 * (or the exact srtp_session_rtp_overhead / _rtcp_overhead of the session); otherwise -ENOSPC.
 * They return the new length, or a negative error:
 *   SRTP_SESSION_ERR_AUTH    (-EBADMSG)  authentication tag did not verify
 *   SRTP_SESSION_ERR_REPLAY  (-EALREADY) packet already seen, or older than the replay window
 *   -ENOSPC no room for the trailer; -EINVAL malformed/too short packet or bad argument;
 *   -EIO any other libsrtp failure.
 *
 * Threading: the library is initialised once (pthread_once) on first use. A session belongs to
 * one thread at a time; the packet functions take no lock.
 */
#ifndef VM_SRTP_SESSION_H
#define VM_SRTP_SESSION_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* Profiles by their RFC 5764 / IANA ids (same values as DTLS_SRTP_* in sfu/dtls.h). */
#define SRTP_SESSION_AES128_CM_SHA1_80 0x0001 /* key 16, salt 14, 10-byte tag */
#define SRTP_SESSION_AEAD_AES_128_GCM 0x0007  /* key 16, salt 12, 16-byte tag (RFC 7714) */

#define SRTP_SESSION_REPLAY_WINDOW 1024

/* The most protect can add over all supported profiles. */
#define SRTP_SESSION_RTP_MAX_OVERHEAD 16  /* GCM tag */
#define SRTP_SESSION_RTCP_MAX_OVERHEAD 20 /* E flag + SRTCP index (4) + GCM tag */

#define SRTP_SESSION_ERR_AUTH (-EBADMSG)
#define SRTP_SESSION_ERR_REPLAY (-EALREADY)

typedef struct srtp_session srtp_session_t;

/* Initialises libsrtp once for the process; safe from any thread. Returns 0 or -EIO.
 * srtp_session_new calls it, so calling it directly is only useful to fail early. */
int srtp_session_library_init(void);

/* Creates the session pair. Keys and salts are copied (key 16 bytes; salt 14 bytes for
 * CM_SHA1_80, 12 for AEAD GCM). Returns NULL for an unknown profile, NULL key pointers, or when
 * libsrtp fails. The caller owns the result (srtp_session_free). */
srtp_session_t *srtp_session_new(uint16_t profile, const uint8_t *local_key, const uint8_t *local_salt,
                                 const uint8_t *remote_key, const uint8_t *remote_salt);
void srtp_session_free(srtp_session_t *s);

uint16_t srtp_session_profile(const srtp_session_t *s);
/* Asks the CPU to start loading the outbound cipher state (a hint, for a caller about to protect
 * packets on many sessions in turn; see peer_prefetch). */
void srtp_session_prefetch(const srtp_session_t *s);
/* Exact bytes protect adds for this session's profile. */
size_t srtp_session_rtp_overhead(const srtp_session_t *s);
size_t srtp_session_rtcp_overhead(const srtp_session_t *s);

/* Outbound. buf holds a plain RTP (RTCP) packet of len bytes inside a buffer of cap bytes. */
int srtp_session_protect_rtp(srtp_session_t *s, uint8_t *buf, size_t len, size_t cap);
int srtp_session_protect_rtcp(srtp_session_t *s, uint8_t *buf, size_t len, size_t cap);

/* Outbound RTP for a sender that knows the rollover counter of the packet (the SFU's per-
 * subscriber streams: ROC = extended sequence number >> 16). With AEAD_AES_128_GCM it runs on
 * libgcrypt's AES-GCM directly (RFC 7714), with no per-SSRC state and no allocation; other profiles go through
 * libsrtp (roc unused). Do not mix it with srtp_session_protect_rtp for the same SSRC. Same
 * buffer rules and results as srtp_session_protect_rtp. */
int srtp_session_protect_rtp_roc(srtp_session_t *s, uint8_t *buf, size_t len, size_t cap, uint32_t roc);

/* Inbound. buf holds an SRTP (SRTCP) packet; on success it holds the plain packet. On failure the
 * buffer contents are unspecified. */
int srtp_session_unprotect_rtp(srtp_session_t *s, uint8_t *buf, size_t len);
int srtp_session_unprotect_rtcp(srtp_session_t *s, uint8_t *buf, size_t len);

/* Forgets the inbound (outbound) stream state of one SSRC, e.g. when a track ends, so the memory
 * libsrtp keeps per SSRC does not grow forever. Returns 0, or -ENOENT if libsrtp had no stream. */
int srtp_session_remove_inbound_ssrc(srtp_session_t *s, uint32_t ssrc);
int srtp_session_remove_outbound_ssrc(srtp_session_t *s, uint32_t ssrc);

#endif
