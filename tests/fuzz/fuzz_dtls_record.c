/*
 * fuzz_dtls_record.c - libFuzzer target for sfu/dtls_record.[ch]: every input is walked as a
 * datagram of DTLS records under each of the policies an endpoint uses (handshake running or not,
 * epoch 1 unreadable, AES-GCM's or ChaCha20's overhead). Invariants that must hold for any input
 * are checked with __builtin_trap() so a violation is a crash, not a silent pass.
 */
#include <stddef.h>
#include <stdint.h>

#include "sfu/dtls_record.h"

#define CHECK(x)              \
    do {                      \
        if (!(x))             \
            __builtin_trap(); \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const dtls_record_policy_t policies[] = {{1, 0}, {1, 24}, {0, 24}, {0, 16}, {0, 0}};
    for (size_t p = 0; p < sizeof(policies) / sizeof(policies[0]); p++) {
        size_t off = 0;
        while (off < size) {
            dtls_record_t r;
            dtls_drop_reason_t why = DTLS_DROP_REASONS;
            int ok = dtls_record_next(data + off, size - off, &policies[p], &r, &why);
            CHECK(ok == 0 || ok == 1);
            CHECK(r.len > 0 && r.len <= size - off); /* always progress, never past the end */
            if (ok == 1) {
                CHECK(r.len >= DTLS_RECORD_HEADER_LEN && r.len == DTLS_RECORD_HEADER_LEN + r.body);
                CHECK(r.type >= 20 && r.type <= 23);
                CHECK(r.epoch == 0 ? policies[p].plaintext : r.epoch == 1 && policies[p].encrypted_overhead);
                CHECK(r.epoch != 0 || r.type != 23);
                CHECK(r.epoch != 1 || r.body >= policies[p].encrypted_overhead);
            } else {
                CHECK(why < DTLS_DROP_REASONS && why != DTLS_DROP_AUTH);
                CHECK(why != DTLS_DROP_TRUNCATED || r.len == size - off);
            }
            off += r.len;
        }
    }
    return 0;
}
