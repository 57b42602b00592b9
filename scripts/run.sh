#!/usr/bin/env bash
# The README's run command: installs what is missing, builds the server and starts it on
# http://localhost:${PORT:-3000}. Every setting comes from the environment (README.md, Configuration).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVM_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"
exec build/videomeet
