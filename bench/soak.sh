#!/usr/bin/env bash
# soak.sh - churn: many meetings of 4 videomeet-bench participants join, send media and leave, round
# after round, against one server process; after each round (once its meetings have ended) the
# server's resident memory, C heap (in use by live objects / kept free by malloc), file descriptors,
# threads and UDP sockets are measured and compared with the baseline taken before the first round.
# On loopback inside a private network namespace (unshare -n), like run-series.sh.
#
#   bench/soak.sh [--rounds N] [--rooms R] [--seconds S] [--size P] [--bitrate KBPS] [--server BIN]
#                 [--bench BIN] [--no-build] [--env "NAME=VALUE ..."] [--check] [--rss-slack-mb M]
#
# Defaults: 6 rounds of 10 rooms of 4 (--size) participants, 5 s of media each (1000 kbit/s video at
# 30 fps per publisher, the bench's defaults), a release build (build-release/, made unless
# --no-build). --env passes variables to the server (e.g. "MALLOC_ARENA_MAX=2" or "WORKERS=1").
# Output: one line per round, then the last round against the baseline. With --check the exit status
# is 1 unless file descriptors, threads and UDP sockets are back to their baseline exactly (taken after a
# warm-up meeting on every media worker, which keeps its network loop's epoll descriptor) and the
# resident memory is within --rss-slack-mb (default 32) of the start (tests/e2e/soak.test.mjs runs a
# short soak this way).
# Between rounds the meetings end after MEETING_GRACE_SECONDS=1 (set here): what stays resident then
# belongs to no meeting.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
rounds=6
rooms=10
size=4
seconds=5
bitrate=1000
server_bin=""
bench_bin=""
build=1
extra_env=""
check=0
rss_slack_mb=32
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --rooms) rooms="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --bitrate) bitrate="$2"; shift 2 ;;
    --server) server_bin="$(realpath "$2")"; shift 2 ;;
    --bench) bench_bin="$(realpath "$2")"; shift 2 ;;
    --no-build) build=0; shift ;;
    --env) extra_env="$2"; shift 2 ;;
    --check) check=1; shift ;;
    --rss-slack-mb) rss_slack_mb="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "soak.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

if [ "${VM_BENCH_NETNS:-}" != 1 ]; then
  if [ "$build" = 1 ] && [ -z "$server_bin" ]; then
    "$root/scripts/install-deps.sh" bench
    cmake -S "$root" -B "$root/build-release" -DCMAKE_BUILD_TYPE=Release -DVM_TESTS=OFF >/dev/null
    cmake --build "$root/build-release" -j2 --target videomeet videomeet-bench
  fi
  args=(--rounds "$rounds" --rooms "$rooms" --size "$size" --seconds "$seconds" --bitrate "$bitrate"
        --rss-slack-mb "$rss_slack_mb" --no-build)
  [ -n "$server_bin" ] && args+=(--server "$server_bin")
  [ -n "$bench_bin" ] && args+=(--bench "$bench_bin")
  [ -n "$extra_env" ] && args+=(--env "$extra_env")
  [ "$check" = 1 ] && args+=(--check)
  if [ -r /proc/self/ns/net ] && ip -o link show 2>/dev/null | grep -qv ': lo:'; then
    exec env VM_BENCH_NETNS=1 unshare -n bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "${args[@]}"
  fi
  export VM_BENCH_NETNS=1 # only loopback here already (e.g. the test suite's namespace)
fi

server_bin="${server_bin:-$root/build-release/videomeet}"
bench_bin="${bench_bin:-$(dirname "$server_bin")/videomeet-bench}"
for b in "$server_bin" "$bench_bin"; do
  [ -x "$b" ] || { echo "soak.sh: $b is missing (run without --no-build)" >&2; exit 2; }
done
ulimit -n 65536 2>/dev/null || true

port=$(( 3950 + RANDOM % 40 ))
log="$(mktemp)"
read -r -a env_args <<<"$extra_env"
env PORT="$port" BIND_ADDRESS=127.0.0.1 RTC_IPS=127.0.0.1 MEETING_GRACE_SECONDS=1 ADDRESS_MAX_CONNECTIONS=0 ADDRESS_MEETINGS_PER_MINUTE=0 ADDRESS_UNKNOWN_JOINS_PER_MINUTE=0 LOG_LEVEL=warn \
  MAX_PARTICIPANTS=50 "${env_args[@]}" "$server_bin" >"$log" 2>&1 &
server_pid=$!
cleanup() { kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -f "$log"; }
trap cleanup EXIT

url="http://127.0.0.1:$port"
get() { exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'GET %s HTTP/1.0\r\n\r\n' "$1" >&3 && cat <&3; exec 3<&-; }
healthz() { get /healthz; }
metric() { get /metrics | awk -v p="$1" 'index($0, p) == 1 { s += $NF } END { printf "%d", s }'; } # sum of a series
for _ in $(seq 200); do
  if healthz 2>/dev/null | grep -q '"status"'; then break; fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done

# Waits until no meeting, participant or WebRTC connection is left (a meeting's grace is 1 s; on a
# busy machine the bench's sessions may take a while to end), then 1 s more.
wait_empty() {
  for _ in $(seq 300); do
    [ "$(( $(metric 'videomeet_meetings ') + $(metric 'videomeet_participants ') + $(metric 'videomeet_peer_connections{') ))" = 0 ] && break
    sleep 0.2
  done
  sleep 1
}

# One line of figures: rss_kb heap_in_use_kb heap_free_kb fds threads udp_sockets
measure() {
  local rss threads fds udp inodes
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status")
  threads=$(awk '/^Threads:/ { print $2 }' "/proc/$server_pid/status")
  fds=$(find "/proc/$server_pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
  # the server's sockets that are UDP (IPv4 or IPv6): its inodes against /proc/net/udp*
  inodes=$(find "/proc/$server_pid/fd" -mindepth 1 -maxdepth 1 -lname 'socket:*' -printf '%l\n' | tr -dc '0-9\n' | sort -u)
  udp=$( (awk 'NR > 1 { print $10 }' /proc/net/udp /proc/net/udp6 2>/dev/null | sort -u; echo "$inodes") | sort | uniq -d | grep -c . || true)
  echo "$rss $(( $(metric 'videomeet_heap_bytes{kind="in_use"}') / 1024 )) $(( $(metric 'videomeet_heap_bytes{kind="free"}') / 1024 )) $fds $threads $udp"
}

sleep 1
printf '%-9s %10s %12s %12s %5s %8s %5s\n' round rss_kb heap_used_kb heap_free_kb fds threads udp
read -r s_rss s_heap s_free s_fds s_threads s_udp <<<"$(measure)"
printf '%-9s %10s %12s %12s %5s %8s %5s\n' start "$s_rss" "$s_heap" "$s_free" "$s_fds" "$s_threads" "$s_udp"
# Warm-up: one meeting of 2 on every media worker for 1 s. A worker makes its network loop (an epoll
# descriptor, sfu/netloop.c) with its first meeting and keeps it for its life: the baseline of the
# counts is taken after it; memory is compared with the start.
workers=$(get /metrics | grep -c '^videomeet_worker_cpu_seconds_total{')
"$bench_bin" --url "$url" --meeting 2 --rooms "$workers" --duration 1 --settle 0 --bitrate 200 --quiet \
  >"$log.bench" 2>&1 || { echo "soak.sh: the warm-up failed:"; tail -20 "$log.bench"; exit 1; }
wait_empty
read -r b_rss b_heap b_free b_fds b_threads b_udp <<<"$(measure)"
printf '%-9s %10s %12s %12s %5s %8s %5s\n' warm-up "$b_rss" "$b_heap" "$b_free" "$b_fds" "$b_threads" "$b_udp"
peak=0
for r in $(seq "$rounds"); do
  "$bench_bin" --url "$url" --meeting "$size" --rooms "$rooms" --duration "$seconds" --settle 1 \
    --bitrate "$bitrate" --join-rate 40 --quiet --server-pid "$server_pid" >"$log.bench" 2>&1 ||
    { echo "soak.sh: the bench failed in round $r:"; tail -20 "$log.bench"; exit 1; }
  wait_empty
  read -r rss heap free fds threads udp <<<"$(measure)"
  printf '%-9s %10s %12s %12s %5s %8s %5s\n' "$r" "$rss" "$heap" "$free" "$fds" "$threads" "$udp"
  [ "$rss" -gt "$peak" ] && peak=$rss
done
rm -f "$log.bench"
left=$(( $(metric 'videomeet_peer_connections{') + $(metric 'videomeet_meetings ') + $(metric 'videomeet_participants ') ))
echo "live objects counted by the server after the last round (WebRTC connections + meetings + participants): $left"
echo "after $rounds round(s) of $rooms meeting(s) of $size: rss ${s_rss} (start) / ${b_rss} (warm-up) -> ${rss} kB" \
  "(highest between rounds ${peak} kB), heap in use ${s_heap} / ${b_heap} -> ${heap} kB, heap kept free" \
  "${s_free} / ${b_free} -> ${free} kB, fds ${b_fds} -> ${fds}, threads ${b_threads} -> ${threads}," \
  "UDP sockets ${b_udp} -> ${udp} (after the warm-up -> after the last round)"
# The server stops (SIGTERM): a sanitizer build reports here what was never freed (LeakSanitizer).
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
trap 'rm -f "$log"' EXIT
leaks=$(grep -c 'LeakSanitizer\|AddressSanitizer' "$log" || true)
echo "server exit status $status; sanitizer reports: $leaks"
if [ "$check" = 1 ]; then
  ok=1
  [ "$status" = 0 ] && [ "$leaks" = 0 ] || { grep -A30 'Sanitizer' "$log" | head -60; ok=0; }
  [ "$left" = 0 ] || { echo "soak.sh: $left connections, meetings or participants still counted"; ok=0; }
  [ "$fds" = "$b_fds" ] || { echo "soak.sh: file descriptors $b_fds -> $fds"; ok=0; }
  [ "$threads" = "$b_threads" ] || { echo "soak.sh: threads $b_threads -> $threads"; ok=0; }
  [ "$udp" = "$b_udp" ] || { echo "soak.sh: UDP sockets $b_udp -> $udp"; ok=0; }
  [ "$rss" -le $(( s_rss + rss_slack_mb * 1024 )) ] || { echo "soak.sh: resident memory $s_rss -> $rss kB"; ok=0; }
  [ "$ok" = 1 ] || exit 1
  echo "soak.sh: back to the baseline"
fi
