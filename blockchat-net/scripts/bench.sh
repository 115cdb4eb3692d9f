#!/usr/bin/env bash
# The measurements in blockchat-net/README.md: the course grid on the course's files (generated
# ones when ../shared/data/blockchat-inputs is absent) and the synthetic 100,000-transaction run.
# Rows are appended to results/real/*.csv. Takes about 10 minutes on 2 cores.
#   bash blockchat-net/scripts/bench.sh [grid|synthetic|all] [runs]
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:-all}
runs=${2:-3}
cargo build --release -q -p blockchat-net
bin=target/release/blockchat
mkdir -p results/real
inputs() { local d=../shared/data/blockchat-inputs/${1}nodes; [ -f "$d/trans0.txt" ] && echo "--inputs $d"; }

if [ "$what" = grid ] || [ "$what" = all ]; then
    for n in 5 10; do
        for c in 5 10 20; do
            for profile in "" --fairness; do
                # shellcheck disable=SC2046
                $bin cluster -n $n -c $c -s 10 $profile $(inputs $n) --runs "$runs" --subnet 30 \
                    --csv results/real/course_grid.csv
            done
        done
    done
fi
if [ "$what" = synthetic ] || [ "$what" = all ]; then
    $bin cluster -n 5 -c 100 -s 10 --synthetic 100000 --runs "$runs" --subnet 31 --timeout 600 \
        --csv results/real/synthetic.csv
fi
