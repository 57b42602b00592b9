#!/usr/bin/env bash
# bench/steady-cpu.sh SERVER_BIN OUTDIR [videomeet-bench args...]
# The server's CPU per forwarded packet in the steady state of a webinar of 200 (or what the bench
# args say): in a private network namespace, the server under test and build-release's
# videomeet-bench; from 15 s after the start, `perf stat -e task-clock -p SERVER` for 8 s, divided by the
# RTP packets the server forwarded meanwhile (videomeet_rtp_packets_out_total read before and after).
# Unlike the bench's own figure (CPU over its whole window, from /proc) this leaves out the joins'
# tail. Prints one line: packets, µs per forwarded packet. Run alternated rounds of the builds to
# compare, on an otherwise idle machine.
set -euo pipefail
srv="$(realpath "$1")"; out="$2"; shift 2
root="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$out"
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--webinar 200 --duration 14 --settle 2)
unshare -n bash -c '
set -u
ip link set lo up
srv="$1"; out="$2"; bench="$3"; shift 3
PORT=3999 BIND_ADDRESS=127.0.0.1 RTC_IPS=127.0.0.1 MAX_PARTICIPANTS=1000 MAX_CONNECTIONS=5000 \
  ADDRESS_MAX_CONNECTIONS=0 ADDRESS_MEETINGS_PER_MINUTE=0 ADDRESS_UNKNOWN_JOINS_PER_MINUTE=0 LOG_LEVEL=warn \
  "$srv" >"$out/server.log" 2>&1 &
sp=$!
for i in $(seq 100); do curl -sf http://127.0.0.1:3999/healthz >/dev/null && break; sleep 0.1; done
( sleep 15; curl -s http://127.0.0.1:3999/metrics >"$out/metrics0"
  perf stat -x, -e task-clock -p $sp -o "$out/stat" -- sleep 8
  curl -s http://127.0.0.1:3999/metrics >"$out/metrics1" ) &
"$bench" --url http://127.0.0.1:3999 --server-pid $sp --json "$out/bench.json" "$@" >"$out/bench.log" 2>&1 || true
wait %2 2>/dev/null || true
kill -TERM $sp; wait $sp || true
' _ "$srv" "$out" "$root/build-release/videomeet-bench" "${args[@]}"
python3 - "$out" <<'PY'
import sys
o = sys.argv[1]
def total(f, name):
    return sum(float(l.split()[-1]) for l in open(f) if l.split() and l.split()[0] == name)
pk = total(o + '/metrics1', 'videomeet_rtp_packets_out_total') - total(o + '/metrics0', 'videomeet_rtp_packets_out_total')
ms = next(float(l.split(',')[0]) for l in open(o + '/stat') if ',task-clock,' in l)
print(f"forwarded packets {pk:.0f}  server CPU per forwarded packet (us) {ms * 1000 / pk:.2f}")
PY
