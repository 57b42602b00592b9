#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz: clang, ASan + UBSan) and runs each for SECONDS, one after
# another, from its kept corpus:
#   scripts/fuzz.sh SECONDS [TARGET...]        e.g. scripts/fuzz.sh 600, scripts/fuzz.sh 60 udp msg
# TARGET is a tests/fuzz/fuzz_<TARGET>.c (default: all). Each run starts from tests/fuzz/corpus/<TARGET>
# (seeds) and writes what it finds to a scratch directory; at the end the inputs that add coverage
# are merged back into tests/fuzz/corpus/<TARGET> (libFuzzer -merge=1: the kept corpus only grows by
# what covers something new; FUZZ_MINIMIZE=1 instead rewrites it as the smallest set covering
# everything, under hash names). tests/fuzz/<TARGET>.dict is used as a dictionary when it exists, and
# tests/fuzz/<TARGET>.options holds the target's own libFuzzer flags, one a line (# comments), e.g.
# -max_len=N or -detect_leaks=0 (see tests/fuzz/README.md for why each one is there).
# A crash, leak, timeout or failed check is saved to the crash directory (build-fuzz/crashes,
# <target>-crash-<sha1>), the other targets still run, and the script exits 1 at the end.
# One line per target: executions, executions per second, wall seconds, coverage (cov: edges, ft:
# features).
# Environment:
#   FUZZ_RUNS=N          also stop a target after N executions (e.g. 10000000)
#   FUZZ_MERGE=0         leave the kept corpus alone (scripts/test.sh's short run)
#   FUZZ_MINIMIZE=1      minimise the kept corpus instead of adding to it
#   FUZZ_NICE=N          niceness of the fuzzers (default 10: the machine is shared)
#   FUZZ_CRASH_DIR=DIR   where crashes go (default build-fuzz/crashes)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ] || ! [[ "$1" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh SECONDS [TARGET...]" >&2
  exit 2
fi
seconds="$1"
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for src in tests/fuzz/fuzz_*.c; do
    name="$(basename "$src" .c)"
    targets+=("${name#fuzz_}")
  done
fi

echo "== build (build-fuzz: clang, libFuzzer, ASan + UBSan)"
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DVM_FUZZ=ON -DVM_TESTS=OFF -DVM_WERROR=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)"

crash_dir="${FUZZ_CRASH_DIR:-build-fuzz/crashes}"
mkdir -p "$crash_dir"
work_root="$(mktemp -d)"
trap 'rm -rf "$work_root"' EXIT
failed=()

printf '%-12s %12s %10s %8s %8s %8s  %s\n' target executions exec/s seconds cov ft result
for t in "${targets[@]}"; do
  bin="build-fuzz/fuzz_$t"
  [ -x "$bin" ] || { echo "no fuzz target $t" >&2; exit 2; }
  corpus="tests/fuzz/corpus/$t"
  mkdir -p "$corpus"
  work="$work_root/$t"
  log="$work_root/$t.log"
  mkdir -p "$work"
  args=(-max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$crash_dir/$t-")
  [ -n "${FUZZ_RUNS:-}" ] && args+=(-runs="$FUZZ_RUNS")
  [ -f "tests/fuzz/$t.dict" ] && args+=(-dict="tests/fuzz/$t.dict")
  if [ -f "tests/fuzz/$t.options" ]; then
    while read -r opt; do
      [[ "$opt" =~ ^[[:space:]]*(#|$) ]] || args+=("$opt")
    done <"tests/fuzz/$t.options"
  fi
  rc=0
  start=$SECONDS
  nice -n "${FUZZ_NICE:-10}" "$bin" "${args[@]}" "$work" "$corpus" >"$log" 2>&1 || rc=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  wall=$((SECONDS - start))
  speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
  cov="$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1 || true)"
  result=ok
  if [ "$rc" != 0 ]; then
    result="FAILED (exit $rc): $(grep -o "Test unit written to .*" "$log" | tail -n 1 || true)"
    failed+=("$t")
    grep -E "ERROR|SUMMARY|^    #[0-9] " "$log" | head -n 20 >&2 || true
  fi
  set -- $cov
  printf '%-12s %12s %10s %8s %8s %8s  %s\n' "$t" "${runs:-?}" "${speed:-?}" "$wall" "${2:-?}" "${4:-?}" "$result"
  if [ "$rc" = 0 ] && [ "${FUZZ_MERGE:-1}" != 0 ]; then
    if [ "${FUZZ_MINIMIZE:-0}" = 1 ]; then
      min="$work_root/$t.min"
      mkdir -p "$min"
      "$bin" -merge=1 "$min" "$corpus" "$work" >>"$log" 2>&1
      rm -rf "$corpus" && mv "$min" "$corpus"
    else
      "$bin" -merge=1 "$corpus" "$work" >>"$log" 2>&1
    fi
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]} (inputs in $crash_dir)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, no crash"
