#!/usr/bin/env bash
# One shard of a suite per Slurm array task; `experiments merge` then puts the shards together.
#   sbatch --array=0-7 experiments/slurm/array.sh SUITE OUT_DIR
# Runs from the submit directory (the repository, with target/release/experiments built), or
# set EXPERIMENTS to the binary. Each task writes OUT_DIR/SUITE/shards/I-of-N.csv.
#SBATCH --job-name=blockchat-sweep
#SBATCH --cpus-per-task=1
#SBATCH --output=slurm-%A_%a.out
set -euo pipefail
suite=${1:?usage: sbatch --array=0-N-1 array.sh SUITE OUT_DIR}
out=${2:?usage: sbatch --array=0-N-1 array.sh SUITE OUT_DIR}
bin=${EXPERIMENTS:-${SLURM_SUBMIT_DIR:-.}/target/release/experiments}
exec "$bin" --jobs "${SLURM_CPUS_PER_TASK:-1}" --out "$out" run "$suite" \
    --shard "${SLURM_ARRAY_TASK_ID:?not an array task}/${SLURM_ARRAY_TASK_COUNT:?not an array task}"
