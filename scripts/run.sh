#!/usr/bin/env bash
# The README's run command: installs what is missing, builds the server and starts it on
# http://localhost:${PORT:-3000}, with its TURN server (coturn, for browsers without UDP) on TCP port
# ${TURN_PORT:-3478} (TURN_PORT=0: none). Every setting comes from the environment (README.md, Configuration).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh run
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVM_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"
TURN_PORT="${TURN_PORT:-3478}" exec build/videomeet
