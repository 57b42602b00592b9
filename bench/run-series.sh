#!/usr/bin/env bash
# run-series.sh - the standard load series of videomeet-bench against a release build of the server,
# on loopback inside a private network namespace (unshare -n), so no packet leaves the machine.
#
#   bench/run-series.sh [--duration S] [--join-rate J] [--only "webinar:50 meeting:4"] [--out DIR]
#                       [--idle-wait S] [--no-build] [--perf] [--nic-like] [--server BIN] [--bench-args "ARGS"]
#
# Series: webinars of 50, 100, 200 and 400 subscribers, meetings of 4, 8 and 12 participants (one room
# each, 1000 kbit/s video at 30 fps per publisher). --only also takes named scenarios, e.g.
# "scenario:meeting50" (videomeet-bench --scenario meeting50, with its own window and join rate). A fresh server is started for every scenario (so its
# memory baseline is clean) and stopped after it. Results go to bench/out/ (or --out DIR):
#   <scenario>.json        the bench's results (see bench/README.md for each figure)
#   <scenario>.log         the bench's progress lines and table; <scenario>.server.log the server's log
#   report.md              one markdown table of the series
#   cpu-per-packet.png     server CPU µs per forwarded packet and loss % against forwarded packets/s
#                          (needs gnuplot: apt-get install gnuplot-nox)
#   perf-<scenario>.txt    with --perf: the server's hottest functions (perf record -g over the run)
#   floor-webinar-<M>.json, floor1-webinar-<M>.json, flooru-webinar-<M>.json   the same webinar traffic
#                          with no server (videomeet-bench --kernel-floor, and --floor-one-socket,
#                          --floor-io-uring): the kernel's own cost
# On a shared machine other jobs spoil the figures (the JSON's machine.other_percent shows it; report.md
# flags scenarios where others took over 20 % of a core): --idle-wait S waits up to S seconds before
# each scenario for the machine to be idle (under 20 % of one core busy over 2 s).
# --nic-like: on loopback the sender's system call also runs the receiver's kernel path (softirq) and
# wakes it, so the server pays for the bench's receive side. This pins the server to CPU 0 and the bench
# to CPU 1 and steers loopback receive processing to CPU 1 (RPS, in a private sysfs of the namespace),
# as a real NIC would leave it to the receiving machine. Report both figures.
# --server BIN runs another server binary (e.g. an older commit's release build, for an A/B with the
# same bench); --bench-args adds bench options to every scenario (e.g. "--simulcast", "--no-transport-cc").
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="$here/out"
duration=20
join_rate=50
only=""
build=1
perf=0
idle_wait=0
nic_like=0
server_bin=""
bench_args=""
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --join-rate) join_rate="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --out) mkdir -p "$2"; out="$(cd "$2" && pwd)"; shift 2 ;;
    --no-build) build=0; shift ;;
    --perf) perf=1; shift ;;
    --idle-wait) idle_wait="$2"; shift 2 ;;
    --nic-like) nic_like=1; shift ;;
    --server) server_bin="$(realpath "$2")"; shift 2 ;;
    --bench-args) bench_args="$2"; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "run-series.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

# Re-run inside a private network namespace with loopback up (needs root or user namespaces).
if [ "${VM_BENCH_NETNS:-}" != 1 ]; then
  "$root/scripts/install-deps.sh" bench
  if [ "$build" = 1 ]; then
    cmake -S "$root" -B "$root/build-release" -DCMAKE_BUILD_TYPE=Release -DVM_TESTS=OFF >/dev/null
    cmake --build "$root/build-release" -j"$(nproc)" --target videomeet videomeet-bench
  fi
  args=(--duration "$duration" --join-rate "$join_rate" --out "$out" --idle-wait "$idle_wait" --no-build)
  [ -n "$only" ] && args+=(--only "$only")
  [ "$perf" = 1 ] && args+=(--perf)
  [ -n "$server_bin" ] && args+=(--server "$server_bin")
  [ -n "$bench_args" ] && args+=(--bench-args "$bench_args")
  if [ "$nic_like" = 1 ]; then
    [ "$(nproc)" -ge 2 ] || { echo "run-series.sh: --nic-like needs two CPUs" >&2; exit 2; }
    args+=(--nic-like)
    exec env VM_BENCH_NETNS=1 unshare -n -m bash -c \
      'mount -t sysfs sysfs /sys && ip link set lo up && echo 2 >/sys/class/net/lo/queues/rx-0/rps_cpus && exec "$0" "$@"' \
      "$0" "${args[@]}"
  fi
  exec env VM_BENCH_NETNS=1 unshare -n bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "${args[@]}"
fi
server_cpu=()
bench_cpu=()
if [ "$nic_like" = 1 ]; then
  server_cpu=(taskset -c 0)
  bench_cpu=(taskset -c 1)
fi

server_bin="${server_bin:-$root/build-release/videomeet}"
bench_bin="$root/build-release/videomeet-bench"
read -r -a extra_args <<<"$bench_args"
for b in "$server_bin" "$bench_bin"; do
  [ -x "$b" ] || { echo "run-series.sh: $b is missing (run without --no-build)" >&2; exit 2; }
done
mkdir -p "$out"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

series=${only:-"webinar:50 webinar:100 webinar:200 webinar:400 meeting:4 meeting:8 meeting:12"}
port=3900

# The server accepts connections once it is ready.
wait_healthy() {
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# Busy jiffies of all cores (everything but idle and iowait).
busy_jiffies() {
  local _ user nice sys idle iow irq sirq steal
  read -r _ user nice sys idle iow irq sirq steal _ </proc/stat
  echo $((user + nice + sys + irq + sirq + steal))
}

# Waits up to $idle_wait seconds until the machine is idle (< 20 % of one core over 2 s).
wait_idle() {
  local deadline=$((SECONDS + idle_wait)) hz a b
  hz=$(getconf CLK_TCK)
  while [ "$idle_wait" -gt 0 ]; do
    a=$(busy_jiffies); sleep 2; b=$(busy_jiffies)
    if [ $(((b - a) * 100 / (2 * hz))) -lt 20 ]; then return 0; fi
    if [ "$SECONDS" -ge "$deadline" ]; then echo "   the machine is still busy; measuring anyway"; return 0; fi
  done
}

run_one() {
  local kind="$1" n="$2" name="$1-$2"
  port=$((port + 1))
  echo "== $name: $duration s window, join rate $join_rate/s"
  wait_idle
  PORT=$port BIND_ADDRESS=127.0.0.1 RTC_IPS=127.0.0.1 MAX_PARTICIPANTS=1000 MAX_CONNECTIONS=5000 LOG_LEVEL=warn \
    ADDRESS_MAX_CONNECTIONS=0 ADDRESS_MEETINGS_PER_MINUTE=0 ADDRESS_UNKNOWN_JOINS_PER_MINUTE=0 \
    "${server_cpu[@]}" "$server_bin" >"$out/$name.server.log" 2>&1 &
  local sp=$!
  if ! wait_healthy "$port"; then
    echo "   server did not start (see $out/$name.server.log)"; kill "$sp" 2>/dev/null || true; return 0
  fi
  local pp=""
  if [ "$perf" = 1 ] && command -v perf >/dev/null; then
    perf record -F 499 -g -p "$sp" -o "$out/perf-$name.data" >/dev/null 2>&1 &
    pp=$!
  fi
  local rc=0
  local what=(--"$kind" "$n" --duration "$duration" --join-rate "$join_rate")
  [ "$kind" = scenario ] && what=(--scenario "$n") # a named scenario keeps its own window and join rate
  "${bench_cpu[@]}" "$bench_bin" --url "http://127.0.0.1:$port" "${what[@]}" \
    --server-pid "$sp" --json "$out/$name.json" "${extra_args[@]}" >"$out/$name.log" 2>&1 || rc=$?
  if [ -n "$pp" ]; then
    kill -INT "$pp" 2>/dev/null || true; wait "$pp" 2>/dev/null || true
    perf report -i "$out/perf-$name.data" --no-children --percent-limit 0.7 --stdio -g none \
      >"$out/perf-$name.txt" 2>/dev/null || true
    rm -f "$out/perf-$name.data"
  fi
  kill -TERM "$sp" 2>/dev/null || true
  wait "$sp" 2>/dev/null || true
  sed -n '/^videomeet-bench:/,$p' "$out/$name.log" | sed 's/^/   /'
  [ "$rc" = 0 ] || echo "   bench exit code $rc"
  if [ "$kind" = webinar ]; then
    # The same traffic with no server: what the kernel alone costs the sender (bench/floor.h).
    "$bench_bin" --kernel-floor --webinar "$n" --duration "$duration" --json "$out/floor-$name.json" \
      | sed 's/^/   /' || true
    "$bench_bin" --kernel-floor --floor-one-socket --webinar "$n" --duration "$duration" \
      --json "$out/floor1-$name.json" | sed 's/^/   /' || true
    "$bench_bin" --kernel-floor --floor-io-uring --webinar "$n" --duration "$duration" \
      --json "$out/flooru-$name.json" | sed 's/^/   /' || true
  fi
}

for s in $series; do
  run_one "${s%%:*}" "${s##*:}"
done

# report.md and the plot data, from the JSON files (node is there for the test suites anyway).
node - "$out" "$nic_like" $series <<'EOF'
const fs = require('fs');
const [out, nicLike, ...series] = process.argv.slice(2);
const f = (v, d = 1) => (typeof v === 'number' ? v.toFixed(d) : '-');
const rows = [];
const data = { webinar: [], meeting: [] };
for (const s of series) {
  const [kind, n] = s.split(':');
  const file = `${out}/${kind}-${n}.json`;
  if (!fs.existsSync(file)) { rows.push(`| ${kind} ${n} | (no result) |`); continue; }
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  const sv = r.server, b = r.bench;
  const floorOf = (p) => (fs.existsSync(p) ? JSON.parse(fs.readFileSync(p, 'utf8')).kernel_floor : {});
  // a named scenario (scenario:meeting50) measures its floor in the same run (--with-floor)
  const fl = r.kernel_floor || floorOf(`${out}/floor-${kind}-${n}.json`), fl1 = floorOf(`${out}/floor1-${kind}-${n}.json`),
    flu = floorOf(`${out}/flooru-${kind}-${n}.json`);
  const busy = (typeof r.machine.other_percent === 'number' && r.machine.other_percent > 20 ? ' ⚠' : '')
    + (r.sessions.ready < r.sessions.planned ? ' ✗' : '');
  rows.push(`| ${kind} ${n}${busy} | ${r.sessions.ready}/${r.sessions.planned}${r.sessions.failed ? ` (${r.sessions.failed} failed)` : ''} | ${f(sv.rtp_in_per_s, 0)} | ${f(sv.rtp_out_per_s, 0)} `
    + `| ${f(sv.mbit_out_per_s)} | ${f(sv.cpu_percent)} | **${f(sv.cpu_us_per_forwarded_packet, 2)}** | ${f(b.loss_percent, 3)} `
    + `| ${f(r.delay_ms.p50, 2)} / ${f(r.delay_ms.p95, 2)} / ${f(r.delay_ms.p99, 2)} | ${f(r.join_ms.p50, 0)} / ${f(r.join_ms.p99, 0)} `
    + `| ${f(r.first_keyframe_ms.p99, 0)} | ${f(sv.rss_mb)} | ${f(sv.rss_kb_per_session, 0)} | ${f(b.cpu_percent)} `
    + `| ${f(r.machine.other_percent, 0)} | ${f(sv.udp_datagrams_per_send, 2)} `
    + `| ${f(sv.forward_delay_ms && sv.forward_delay_ms.p50, 2)} / ${f(sv.forward_delay_ms && sv.forward_delay_ms.p99, 2)} `
    + `| ${f(fl.cpu_us_per_datagram, 2)} / ${f(flu.cpu_us_per_datagram, 2)} / ${f(fl1.cpu_us_per_datagram, 2)} | ${f(fl.fanout_delay_ms && fl.fanout_delay_ms.p99, 2)} |`);
  if (data[kind] && typeof sv.rtp_out_per_s === 'number' && typeof sv.cpu_us_per_forwarded_packet === 'number')
    data[kind].push(`${sv.rtp_out_per_s} ${sv.cpu_us_per_forwarded_packet} ${b.loss_percent} "${kind[0]}${n}" `
      + `${typeof fl.cpu_us_per_datagram === 'number' ? fl.cpu_us_per_datagram : 'NaN'}`);
}
const md = [
  '# videomeet-bench series', '',
  `Generated by bench/run-series.sh on ${new Date().toISOString()} (${require('os').cpus().length} cores). `
  + 'Server: release build, one fresh process per scenario. Window figures exclude the joins; see bench/README.md.'
  + (nicLike === '1' ? ' **--nic-like**: server on CPU 0, bench on CPU 1, loopback receive processing steered to CPU 1 (RPS).' : ''), '',
  '| scenario | ready | server in pkt/s | server out pkt/s | out Mbit/s | server CPU % | CPU µs / fwd pkt | loss % '
  + '| delay p50 / p95 / p99 ms | join p50 / p99 ms | keyframe p99 ms | RSS MB | RSS KB / session | bench CPU % | other load % | datagrams / send | server fwd delay p50 / p99 ms '
  + '| kernel floor µs / datagram (socket per subscriber / the same with io_uring / one socket) | floor fan-out p99 ms |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows, '',
  'CPU % is of one core; "other load" is the machine\'s busy time that was neither the server nor the bench '
  + '(other jobs on a shared machine); ✗ marks scenarios where not every planned session joined: their figures '
  + 'are of a smaller meeting than named, not comparable with the kernel floor of the full one (nor with other runs); '
  + '⚠ marks scenarios where it was over 20 % of a core: their figures are '
  + 'not the server\'s alone. "Kernel floor" (webinars): the same traffic sent with no server by '
  + '`videomeet-bench --kernel-floor` (bench/floor.h), the CPU a sender spends in the kernel alone per datagram '
  + 'on this machine\'s loopback, and the fan-out delay one thread doing only those sends has. '
  + '![CPU per packet](cpu-per-packet.png)', '',
];
fs.writeFileSync(`${out}/report.md`, md.join('\n'));
for (const k of Object.keys(data)) fs.writeFileSync(`${out}/${k}.dat`, data[k].join('\n') + '\n');
EOF
echo "wrote $out/report.md"

if command -v gnuplot >/dev/null; then
  gnuplot <<EOF
set terminal pngcairo size 1000,600 noenhanced font ",11"
set output "$out/cpu-per-packet.png"
set title "VideoMeet SFU: server CPU per forwarded packet and loss vs load (release build, $(nproc) cores)"
set xlabel "forwarded RTP packets per second (server)"
set ylabel "server CPU microseconds per forwarded packet"
set y2label "loss %"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:1<*]
set key top right
set grid
plot "$out/webinar.dat" using 1:2 with linespoints pt 7 lc rgb "#1f77b4" title "webinar: CPU us/packet", \
     "" using 1:2:4 with labels offset 0,1 notitle, \
     "$out/meeting.dat" using 1:2 with linespoints pt 5 lc rgb "#2ca02c" title "meeting: CPU us/packet", \
     "" using 1:2:4 with labels offset 0,1 notitle, \
     "$out/webinar.dat" using 1:5 with linespoints pt 9 dt 3 lc rgb "#7f7f7f" title "webinar: kernel floor us/datagram (no server)", \
     "$out/webinar.dat" using 1:3 axes x1y2 with linespoints pt 6 dt 2 lc rgb "#d62728" title "webinar: loss %", \
     "$out/meeting.dat" using 1:3 axes x1y2 with linespoints pt 4 dt 2 lc rgb "#ff7f0e" title "meeting: loss %"
EOF
  echo "wrote $out/cpu-per-packet.png"
else
  echo "gnuplot is missing (apt-get install gnuplot-nox): no plot"
fi
