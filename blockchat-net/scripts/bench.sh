#!/usr/bin/env bash
# The real-cluster measurements of blockchat-net/README.md and results/real/. Rows are appended
# to results/real/*.csv (or $OUT/*.csv); each run prints its summary.
#   bash blockchat-net/scripts/bench.sh grid [runs]        course grid, full blocks, no think time
#   bash blockchat-net/scripts/bench.sh grid-think [runs]  the same with the course's 100-500 ms think time
#   bash blockchat-net/scripts/bench.sh grid-partial [runs] the grid with the deployed default (partial blocks after 1 s)
#   bash blockchat-net/scripts/bench.sh grid-think-partial [runs] the same with think time
#   bash blockchat-net/scripts/bench.sh synthetic [runs]   5 nodes, capacity 100, 100,000 transfers
#   bash blockchat-net/scripts/bench.sh stalls [runs]      -n 5 and -n 10, -c 10 -s 10 on the course files, consecutive runs
#   bash blockchat-net/scripts/bench.sh calibrate          the cost model (results/real/io-cost.toml)
#   bash blockchat-net/scripts/bench.sh sitting [runs]     one sitting for `experiments compare-real`:
#       calibrate, the grid and the synthetic benchmark into fresh CSVs, then the comparison
# The course's files are used when ../shared/data/blockchat-inputs is present, generated ones otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:-grid}
runs=${2:-3}
out=${OUT:-results/real}
cargo build --release -q -p blockchat-net
bin=target/release/blockchat
mkdir -p "$out"
inputs() { local d=../shared/data/blockchat-inputs/${1}nodes; if [ -f "$d/trans0.txt" ]; then echo "--inputs $d"; fi; }

grid() { # $1: csv file, rest: extra flags; PROFILES=uniform runs only the uniform stakes
    local csv=$1; shift
    local profiles=("" --fairness)
    if [ "${PROFILES:-all}" = uniform ]; then profiles=(""); fi
    for n in 5 10; do
        for c in 5 10 20; do
            for profile in "${profiles[@]}"; do
                # shellcheck disable=SC2046
                $bin cluster -n $n -c $c -s 10 $profile $(inputs $n) --runs "$runs" --subnet 30 \
                    --csv "$out/$csv" "$@"
            done
        done
    done
}

case "$what" in
    grid) grid course_grid.csv --full-blocks ;;
    grid-think) grid course_grid_think.csv --full-blocks --think-ms 100-500 --timeout 600 ;;
    grid-think-partial) grid course_grid_think_partial.csv --think-ms 100-500 --timeout 600 ;;
    grid-partial) grid course_grid_partial.csv ;;
    synthetic)
        $bin cluster -n 5 -c 100 -s 10 --synthetic 100000 --runs "$runs" --subnet 31 --timeout 600 \
            --csv "$out/synthetic.csv" ;;
    stalls)
        for n in 5 10; do
            # shellcheck disable=SC2046
            $bin cluster -n $n -c 10 -s 10 $(inputs $n) --runs "$runs" --subnet 32 --csv "$out/stalls.csv"
        done ;;
    calibrate) $bin calibrate --data-dir "$out/.calibrate" --out "$out/io-cost.toml"; rm -rf "$out/.calibrate" ;;
    sitting)
        rm -f "$out/course_grid.csv" "$out/synthetic.csv"
        $bin calibrate --data-dir "$out/.calibrate" --out "$out/io-cost.toml"; rm -rf "$out/.calibrate"
        grid course_grid.csv --full-blocks
        $bin cluster -n 5 -c 100 -s 10 --synthetic 100000 --runs "$runs" --subnet 31 --timeout 600 \
            --csv "$out/synthetic.csv"
        cargo run --release -q -p experiments -- compare-real --out "$(dirname "$out")" ;;
    *) echo "unknown measurement '$what' (grid, grid-think, grid-partial, grid-think-partial, synthetic, stalls, calibrate, sitting)" >&2; exit 2 ;;
esac
