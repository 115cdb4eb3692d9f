#!/usr/bin/env bash
# Builds the node image `blockchat:latest` from this checkout, with no registry: a statically
# linked release binary (glibc, +crt-static) copied into an image FROM scratch. Also writes
# generated course-format inputs to docker/inputs/ for compose.yaml's demo workload when none
# are there.
#   bash docker/build.sh            then: docker compose up  (or docker-compose up)
#   and open http://127.0.0.1:7101/ (password: $BLOCKCHAT_API_PASSWORD, else blockchat-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR=target/static \
    cargo build --release -q -p blockchat-net --target x86_64-unknown-linux-gnu
bin=target/static/x86_64-unknown-linux-gnu/release/blockchat
if ldd "$bin" 2>&1 | grep -q "=>"; then
    echo "docker/build.sh: $bin is not statically linked" >&2
    exit 1
fi
if [ ! -f docker/inputs/trans4.txt ]; then
    "$bin" inputs -n 5 --lines 100 --seed 1 --out docker/inputs
fi
if ! out=$(docker build -q -t blockchat:latest . 2>&1); then
    echo "docker/build.sh: docker build failed: $out" >&2
    exit 1
fi
echo "built blockchat:latest ($(du -h "$bin" | cut -f1) binary, FROM scratch)"
