#!/usr/bin/env bash
# Runs `cargo bench --bench forward_backward` several times and prints the Markdown table
# of BENCHMARKS.md from the smallest median of each benchmark over the runs.
#
# Usage: scripts/run-benchmarks.sh [RUNS]   (default: 3 runs, about a minute each)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-3}"
target="${CARGO_TARGET_DIR:-target}"
results="$target/bench-runs"
rm -rf "$results"
mkdir -p "$results"

directories=()
for ((run = 1; run <= runs; run++)); do
    echo "benchmark run $run of $runs" >&2
    cargo bench --bench forward_backward >"$results/run-$run.log" 2>&1 || {
        tail -n 30 "$results/run-$run.log" >&2
        echo "error: cargo bench failed; the full output is in $results/run-$run.log" >&2
        exit 1
    }
    cp -r "$target/criterion" "$results/criterion-$run"
    directories+=("$results/criterion-$run")
done

python3 scripts/bench-table.py "${directories[@]}"
