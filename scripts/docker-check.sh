#!/usr/bin/env bash
# Builds the Docker image from the Dockerfile and checks that it serves: /healthz, the web app and
# /api/config on the port PORT names, then a meeting of 3 videomeet-bench participants (real ICE,
# DTLS-SRTP and forwarding through the container's SFU) with no loss, then the TCP path: the container's
# TURN server (coturn, started by the server on the port Railway's variables name, as on Railway) carries
# the media of a Chromium whose UDP is dropped (tests/tools/tcp-path-check.mjs: nftables drops all but
# TCP to the HTTP and TURN ports for that browser's user id; relayed pairs over TCP, audio and video
# both ways with a Chromium on UDP). The container runs on the host's network with its HTTP and ICE
# addresses on 127.0.0.1 (BIND_ADDRESS, RTC_IPS), so every packet of the check stays on loopback, as
# the tests' do; only the image build downloads (Debian packages).
#
#   scripts/docker-check.sh [BENCH_BINARY]     (default: build-test/videomeet-bench, else build-release/)
#
# Needs root (it starts dockerd when none runs, and stops it again). Installs docker.io and debootstrap
# from Debian when missing. When Docker Hub cannot be reached, the base image (debian:bookworm-slim) is
# made locally with debootstrap from the same Debian mirror apt uses (a minbase bookworm).
# Exit codes: 0 the image works; 1 the image is broken (build, start, HTTP or media failed);
# 3 Docker itself cannot run on this machine (no daemon, no base image) - nothing was checked.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
bench="${1:-}"
[ -n "$bench" ] || for b in build-test/videomeet-bench build-release/videomeet-bench; do
  [ -x "$b" ] && { bench="$b"; break; }
done
work="$(mktemp -d)"
name="videomeet-check-$$"
started_daemon=""
cant() { echo "docker-check: cannot run Docker here: $*" >&2; exit 3; }
broken() { echo "docker-check: FAILED: $*" >&2; docker logs "$name" 2>&1 | tail -n 20 >&2 || true; exit 1; }
cleanup() {
  docker rm -f "$name" >/dev/null 2>&1 || true
  if [ -n "$started_daemon" ]; then kill "$started_daemon" 2>/dev/null || true; wait "$started_daemon" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_kb="$(df -Pk /var/lib | awk 'NR == 2 {print $4}')"
[ "${free_kb:-0}" -gt 3000000 ] || cant "less than 3 GB free in /var/lib for images"
missing=""
command -v dockerd >/dev/null || missing="$missing docker.io"
command -v debootstrap >/dev/null || missing="$missing debootstrap"
if [ -n "$missing" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing iptables \
    >/dev/null || cant "apt-get install$missing failed"
fi
# Debian's docker client, not another one earlier on PATH that may not match the daemon.
docker() { /usr/bin/docker "$@"; }

if ! docker info >/dev/null 2>&1; then
  dockerd >"$work/dockerd.log" 2>&1 &
  started_daemon=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || cant "dockerd did not start ($(tail -n 1 "$work/dockerd.log"))"
fi

if ! docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
  if ! timeout 60 docker pull -q debian:bookworm-slim >/dev/null 2>&1; then
    echo "docker-check: Docker Hub unreachable: making debian:bookworm-slim with debootstrap"
    mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)"
    debootstrap --variant=minbase bookworm "$work/rootfs" "${mirror:-http://deb.debian.org/debian}" \
      >"$work/debootstrap.log" 2>&1 || cant "debootstrap failed ($(tail -n 1 "$work/debootstrap.log"))"
    [ -f /etc/apt/sources.list.d/debian.sources ] &&
      cp /etc/apt/sources.list.d/debian.sources "$work/rootfs/etc/apt/sources.list.d/" &&
      rm -f "$work/rootfs/etc/apt/sources.list"
    rm -f "$work"/rootfs/var/cache/apt/archives/*.deb
    tar -C "$work/rootfs" -c . | docker import - debian:bookworm-slim >/dev/null || cant "docker import failed"
  fi
fi

echo "docker-check: docker build"
docker build -q -t videomeet:check . >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log" >&2; broken "docker build"; }

# The image's media range: the UDP ports it exposes are exactly RTC_MIN_PORT..RTC_MAX_PORT of its
# environment (a participant whose port is outside the published range would get no media).
img_env="$(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' videomeet:check)"
img_min="$(sed -n 's/^RTC_MIN_PORT=//p' <<<"$img_env")"; img_max="$(sed -n 's/^RTC_MAX_PORT=//p' <<<"$img_env")"
exposed="$(docker inspect -f '{{range $p, $_ := .Config.ExposedPorts}}{{println $p}}{{end}}' videomeet:check | sed -n 's,/udp$,,p' | sort -n)"
[ -n "$img_min" ] && [ -n "$img_max" ] && [ "$(head -n 1 <<<"$exposed")" = "$img_min" ] &&
  [ "$(tail -n 1 <<<"$exposed")" = "$img_max" ] && [ "$(wc -l <<<"$exposed")" = $((img_max - img_min + 1)) ] ||
  broken "EXPOSE'd UDP ports ($(head -n 1 <<<"$exposed")-$(tail -n 1 <<<"$exposed")) are not RTC_MIN_PORT-RTC_MAX_PORT ($img_min-$img_max)"
echo "docker-check: media ports $img_min-$img_max exposed: $(( (img_max - img_min + 1) / 2 )) participants"

port=$((20000 + RANDOM % 20000))
turn=$((port + 1))
rtc_min=$((41000 + RANDOM % 2000 * 10))
# Railway's TCP proxy variables, with the "proxy" at the TURN port itself (no TURN_SECRET: one is drawn).
docker run -d --name "$name" --network host -e PORT="$port" -e BIND_ADDRESS=127.0.0.1 -e RTC_IPS=127.0.0.1 \
  -e RTC_MIN_PORT="$rtc_min" -e RTC_MAX_PORT=$((rtc_min + 9)) -e RAILWAY_TCP_APPLICATION_PORT="$turn" \
  -e RAILWAY_TCP_PROXY_DOMAIN=127.0.0.1 -e RAILWAY_TCP_PROXY_PORT="$turn" videomeet:check >/dev/null || broken "docker run"
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
health="$(curl -fsS "http://127.0.0.1:$port/healthz")" || broken "no /healthz on PORT=$port"
grep -q '"status":"ok"' <<<"$health" || broken "/healthz said $health"
# (whole bodies first: grep -q stops reading early, and pipefail would count curl's broken pipe)
page="$(curl -fsS "http://127.0.0.1:$port/")" || broken "GET / failed"
grep -qi "<!doctype html" <<<"$page" || broken "no web app at /"
config="$(curl -fsS "http://127.0.0.1:$port/api/config")" || broken "GET /api/config failed"
grep -q '"iceServers"' <<<"$config" || broken "no /api/config"
grep -q "\"turn:127.0.0.1:$turn?transport=tcp\"" <<<"$config" || broken "/api/config names no TURN server on $turn: $config"
[ "$(docker inspect -f '{{.Config.User}}' "$name")" = videomeet ] || broken "the server does not run as the videomeet user"
metrics="$(curl -fsS "http://127.0.0.1:$port/metrics")" || broken "GET /metrics failed"
grep -q '^videomeet_rtc_ports_available 10$' <<<"$metrics" || broken "/metrics does not show the 10 ports of RTC_MIN_PORT..RTC_MAX_PORT"
echo "docker-check: HTTP ok on PORT=$port ($health)"

if [ -n "$bench" ]; then
  out="$work/bench.json"
  ASAN_OPTIONS="detect_leaks=0" "$bench" --url "http://127.0.0.1:$port" --ip 127.0.0.1 --meeting 3 --duration 3 \
    --bitrate 300 --fps 15 --quiet --json "$out" >"$work/bench.log" 2>&1 ||
    { cat "$work/bench.log" >&2; broken "videomeet-bench against the container"; }
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const ok = r.sessions.ready === 3 && r.server.rtp_out_per_s > 0 && r.bench.loss_percent < 1;
    console.log(`docker-check: media ok: ${r.sessions.ready}/3 sessions, ${Math.round(r.server.rtp_out_per_s)} packets/s forwarded, loss ${r.bench.loss_percent} %`);
    process.exit(ok ? 0 : 1);' "$out" || { cat "$work/bench.log" >&2; broken "media through the container"; }
  # how the container's worker sends (io_uring, or a system call per socket where seccomp refuses it)
  echo "docker-check: $(docker logs "$name" 2>&1 | grep -o 'netloop: .*' | head -n 1)"
else
  echo "docker-check: no videomeet-bench built: media not checked"
fi

if command -v node >/dev/null && [ -x "${VM_CHROMIUM:-/usr/bin/chromium}" ] && [ -d tests/node_modules/playwright-core ]; then
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$turn") 2>/dev/null && break; sleep 0.2; done
  node tests/tools/tcp-path-check.mjs "http://127.0.0.1:$port" "$turn" >"$work/tcp.log" 2>&1 ||
    { cat "$work/tcp.log" >&2; broken "media over TURN/TCP through the container"; }
  echo "docker-check: TCP path ok: $(tail -n 1 "$work/tcp.log")"
else
  echo "docker-check: no node, Chromium or tests/node_modules (scripts/install-deps.sh test): TCP path not checked"
fi
echo "docker-check: the image works"
