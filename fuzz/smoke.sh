#!/usr/bin/env bash
# A short fuzz run of every target (FUZZ_SECONDS each, default 20), starting from the seed
# corpus in fuzz/corpus; new inputs go to a temporary directory, so the repository is not
# touched. A crash fails the script and leaves its input under fuzz/artifacts/TARGET/.
# Installs cargo-fuzz if it is missing; runs on stable without a sanitizer (-s none).
set -euo pipefail
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-20}
if ! cargo fuzz --version > /dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
cargo fuzz build -s none
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for target in $(cargo fuzz list); do
    mkdir -p "$tmp/$target"
    out=$(cargo fuzz run "$target" -s none "$tmp/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 2>&1) || {
        echo "$out" | tail -40
        echo "fuzz target $target FAILED"
        exit 1
    }
    runs=$(echo "$out" | sed -n 's/^stat::number_of_executed_units: *//p' | tail -1)
    echo "fuzz $target: ${runs:-?} inputs in ${seconds} s, no crash"
done
