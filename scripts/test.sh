#!/usr/bin/env bash
# The README's test command: installs what is missing, builds with AddressSanitizer + UBSan
# (warnings are errors), then runs every test:
#   1. C unit tests (cmocka, through ctest)
#   2. libFuzzer targets, a short run each (clang; scripts/fuzz.sh)
#   3. protocol, web-module and browser end-to-end tests (node:test) inside a private network namespace,
#      against the sanitizer build of the server; only loopback exists there;
#   4. the Docker image (scripts/docker-check.sh: build, HTTP on PORT, a bench meeting through it),
#      skipped with a message where Docker cannot run (no daemon, no base image, no disk space).
# FUZZ_SECONDS (default 20) sets the time per fuzz target; 0 skips fuzzing. DOCKER_CHECK=0 skips step 4.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
jobs="$(nproc)"

scripts/install-deps.sh test

echo "== build (ASan + UBSan)"
cmake -S . -B build-test -DVM_SANITIZE=ON -DVM_WERROR=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-test -j"$jobs"

echo "== unit tests"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --test-dir build-test --output-on-failure -j"$jobs"

fuzz_seconds="${FUZZ_SECONDS:-20}"
if [ "$fuzz_seconds" != 0 ] && compgen -G "tests/fuzz/fuzz_*.c" >/dev/null; then
  echo "== fuzz (${fuzz_seconds}s per target)"
  FUZZ_MERGE=0 scripts/fuzz.sh "$fuzz_seconds" # the kept corpus is left as it is
fi

echo "== protocol and browser tests (private network namespace)"
# One node:test run per file, one after another (media tests are CPU-hungry); the totals are
# printed at the end as "N passed, N failed".
unshare -n bash -c '
  set -uo pipefail
  ip link set lo up
  cd "'"$root"'/tests"
  export VM_SERVER_BIN="'"$root"'/build-test/videomeet"
  pass=0; fail=0; status=0
  for f in protocol/*.test.mjs web/*.test.mjs e2e/*.test.mjs; do
    log="$(mktemp)"
    # --test-force-exit: the file ends when its tests do, even if one left a handle open;
    # timeout: a file that hangs all the same costs 20 minutes, not the whole CI run
    timeout -k 30 1200 node --test --test-force-exit "$f" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    p=$(sed -n "s/^# pass \([0-9]*\)$/\1/p" "$log" | tail -n 1)
    n=$(sed -n "s/^# fail \([0-9]*\)$/\1/p" "$log" | tail -n 1)
    pass=$((pass + ${p:-0})); fail=$((fail + ${n:-0}))
    [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || echo "$f: timed out after 1200 s"
    if [ "$rc" -ne 0 ]; then status=1; [ "${n:-0}" -gt 0 ] || fail=$((fail + 1)); fi
    rm -f "$log"
  done
  echo "node: $pass passed, $fail failed"
  exit $status
'

if [ "${DOCKER_CHECK:-1}" != 0 ]; then
  echo "== Docker image"
  rc=0
  scripts/docker-check.sh build-test/videomeet-bench || rc=$?
  if [ "$rc" = 3 ]; then
    echo "Docker check skipped: Docker cannot run on this machine (see above)"
  elif [ "$rc" != 0 ]; then
    exit "$rc"
  fi
fi
