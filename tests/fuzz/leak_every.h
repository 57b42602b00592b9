/*
 * leak_every.h - a leak check every N inputs, for the fuzz targets whose world lives from input to
 * input (fuzz_sctp.c, fuzz_udp.c, fuzz_dtls.c). In those nearly every input ends with more blocks
 * allocated than freed (a queue grew, a cache filled), and libFuzzer's per-input leak detection
 * (-detect_leaks=1) then runs the input a second time and scans the whole heap: most of the time
 * went there. Their tests/fuzz/<name>.options turn it off (-detect_leaks=0) and the target calls
 * leak_every() at the start of each input: every `n` inputs LeakSanitizer looks for unreachable
 * blocks, and a leak traps (the report gives the allocation's stack; the input saved with it is not
 * necessarily the one that leaked: replay the recent corpus with -detect_leaks=1 to find that one).
 * ASan's own check at exit still runs. Header-only: each fuzz target is one source file.
 */
#ifndef FUZZ_LEAK_EVERY_H
#define FUZZ_LEAK_EVERY_H

#include <sanitizer/lsan_interface.h>

static void leak_every(unsigned n)
{
    static unsigned inputs;
    if (++inputs % n == 0 && __lsan_do_recoverable_leak_check() != 0)
        __builtin_trap();
}

#endif
