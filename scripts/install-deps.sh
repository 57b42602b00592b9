#!/usr/bin/env bash
# Installs what VideoMeet needs to build, run and test, only when missing.
# Used by the README commands, .ci/run and the Dockerfile.
#   scripts/install-deps.sh build   -> compiler + libraries (Docker build stage)
#   scripts/install-deps.sh run     -> build + coturn, the embedded TURN server (scripts/run.sh)
#   scripts/install-deps.sh runtime -> shared libraries and coturn (Docker runtime stage)
#   scripts/install-deps.sh test    -> build + test tools (chromium, firefox-esr, cmocka, node, npm packages,
#                                      redis-server for the cluster tests, which start it themselves)
#   scripts/install-deps.sh bench   -> build + what bench/run-series.sh uses (gnuplot, perf)
set -euo pipefail
mode="${1:-build}"
here="$(cd "$(dirname "$0")/.." && pwd)"

build_pkgs="build-essential cmake pkg-config libnice-dev libsrtp2-dev libusrsctp-dev
  libwebsockets-dev libjansson-dev libssl-dev libgcrypt20-dev libglib2.0-dev libhiredis-dev liburing-dev"
runtime_pkgs="libnice10 libsrtp2-1 libusrsctp2 libwebsockets17 libjansson4 libssl3 libgcrypt20 libglib2.0-0 libhiredis0.14 liburing2 ca-certificates coturn"
test_pkgs="$build_pkgs coturn redis-server libcmocka-dev clang libclang-rt-14-dev chromium firefox-esr nodejs npm nftables iproute2
  util-linux fonts-liberation"

case "$mode" in
  build) pkgs="$build_pkgs" ;;
  run) pkgs="$build_pkgs coturn" ;;
  runtime) pkgs="$runtime_pkgs" ;;
  test) pkgs="$test_pkgs" ;;
  bench) pkgs="$build_pkgs gnuplot-nox linux-perf iproute2 util-linux" ;;
  *) echo "usage: $0 build|run|runtime|test|bench" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# node/npm may come from outside Debian's packages (already on PATH): do not fight them.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing="$(echo "$missing" | tr ' ' '\n' | grep -v -x -e nodejs -e npm | tr '\n' ' ')"
fi
if [ -n "$(echo "$missing" | tr -d ' ')" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: installing:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
  # The server runs coturn itself (signaling/turnd.c); Debian's package would also start a system-wide
  # TURN server on port 3478 where systemd runs: it is stopped and disabled when installed here.
  if [[ " $missing " == *" coturn "* ]] && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now coturn >/dev/null 2>&1 || true
  fi
fi

if [ "$mode" = test ]; then
  cd "$here/tests"
  if [ ! -d node_modules/ws ] || [ ! -d node_modules/playwright-core ] \
    || [ ! -d node_modules/puppeteer-core ]; then
    echo "install-deps: npm packages for the tests"
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
