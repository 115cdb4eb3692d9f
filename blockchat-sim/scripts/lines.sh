#!/usr/bin/env bash
# Lines of the course's files committed in the simulator, per configuration: 5 and 10 nodes,
# capacity 5/10/20, uniform stakes, full blocks or partial blocks after 1 s, with and without
# the course's 100-500 ms think time; SEEDS seeds each (default 8). Prints a markdown table of
# the mean and the lowest share of lines committed.
#   bash blockchat-sim/scripts/lines.sh [inputs-dir]     (default ../shared/data/blockchat-inputs)
set -euo pipefail
cd "$(dirname "$0")/../.."
inputs=${1:-../shared/data/blockchat-inputs}
seeds=${SEEDS:-8}
if [ ! -f "$inputs/5nodes/trans0.txt" ]; then
    echo "the course's files are not in $inputs (pass their directory)" >&2
    exit 2
fi
cargo build --release -q -p blockchat-sim
bin=target/release/blockchat-sim
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "| nodes | capacity | blocks | think (ms) | lines | committed, mean of $seeds seeds | lowest |"
echo "|---|---|---|---|---|---|---|"
for n in 5 10; do
    for c in 5 10 20; do
        for blocks in full 1000; do
            for think in 0 100-500; do
                csv=$tmp/$n-$c-$blocks-$think.csv
                extra=()
                if [ "$blocks" != full ]; then extra+=(--max-block-interval-ms "$blocks"); fi
                for seed in $(seq 1 "$seeds"); do
                    $bin run -n $n -c $c -s 10 --seed "$seed" --inputs "$inputs/${n}nodes" \
                        --think-ms "$think" "${extra[@]}" --csv "$csv" --quiet > /dev/null
                done
                awk -F, -v n=$n -v c=$c -v b="$blocks" -v t="$think" '
                    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
                    { p = $col["planned"]; k = $col["committed"]; sum += k; if (min == "" || k < min) min = k; runs++ }
                    END { printf "| %d | %d | %s | %s | %d | %.1f (%.1f%%) | %d (%.1f%%) |\n",
                          n, c, (b == "full" ? "full" : "partial 1 s"), t, p, sum / runs, 100 * sum / runs / p, min, 100 * min / p }' "$csv"
            done
        done
    done
done
