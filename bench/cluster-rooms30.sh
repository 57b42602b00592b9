#!/bin/bash
# Redis + three nodes + videomeet-bench --rooms 30 through node0 (bench/README.md, "Several nodes"):
#   unshare -n bench/cluster-rooms30.sh --meeting 4 --bitrate 500 --fps 15 --duration 20 --quiet
# runs inside a private network namespace (only lo), as root or with user namespaces; BIN is the
# directory with videomeet and videomeet-bench (default: build-release next to this script).
set -u
HERE=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$HERE/build-release}
ip link set lo up
D=$(mktemp -d)
redis-server --port 6390 --bind 127.0.0.1 --save '' --appendonly no --dir $D --daemonize no > $D/redis.log 2>&1 &
RP=$!
sleep 0.5
PIDS=""
for i in 0 1 2; do
  port=$((3101 + i))
  PORT=$port BIND_ADDRESS=127.0.0.1 RTC_IPS=127.0.0.1 REDIS_URL=redis://127.0.0.1:6390 NODE_ID=node$i \
  PUBLIC_URL=http://127.0.0.1:$port RTC_MIN_PORT=$((44000 + i*200)) RTC_MAX_PORT=$((44199 + i*200)) WORKERS=1 \
  ADDRESS_MAX_CONNECTIONS=0 ADDRESS_MEETINGS_PER_MINUTE=0 ADDRESS_UNKNOWN_JOINS_PER_MINUTE=0 WEB_ROOT=$HERE/web LOG_LEVEL=warn $BIN/videomeet > $D/node$i.log 2>&1 &
  PIDS="$PIDS $!"
done
for t in $(seq 1 50); do
  n=$(curl -s http://127.0.0.1:3101/healthz | grep -o '"nodes":3' | wc -l)
  [ "$n" = 1 ] && break; sleep 0.2
done
$BIN/videomeet-bench --url http://127.0.0.1:3101 --rooms 30 "$@"
rc=$?
for p in $PIDS; do kill $p; done
wait $PIDS 2>/dev/null
kill $RP; wait $RP 2>/dev/null
rm -rf $D
exit $rc
