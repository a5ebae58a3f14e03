#!/usr/bin/env bash
# Runs `cargo bench --bench forward_backward` (or `kernel_sweep`) several times and prints
# the Markdown table of BENCHMARKS.md (or of docs/performance.md) from the smallest median
# of each benchmark over the runs.
#
# Usage: scripts/run-benchmarks.sh [RUNS] [BENCH]
#   RUNS   default 3; forward_backward takes about a minute per run on 2 cores
#   BENCH  forward_backward (default) or kernel_sweep (about 4 minutes per run)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-3}"
bench="${2:-forward_backward}"
case "$bench" in
forward_backward) table_options=() ;;
kernel_sweep) table_options=(--sweep) ;;
*)
    echo "error: unknown benchmark '$bench'; expected forward_backward or kernel_sweep" >&2
    exit 2
    ;;
esac
target="${CARGO_TARGET_DIR:-target}"
results="$target/bench-runs"
rm -rf "$results"
mkdir -p "$results"

directories=()
for ((run = 1; run <= runs; run++)); do
    echo "benchmark run $run of $runs" >&2
    cargo bench --bench "$bench" >"$results/run-$run.log" 2>&1 || {
        tail -n 30 "$results/run-$run.log" >&2
        echo "error: cargo bench failed; the full output is in $results/run-$run.log" >&2
        exit 1
    }
    cp -r "$target/criterion" "$results/criterion-$run"
    directories+=("$results/criterion-$run")
done

python3 scripts/bench-table.py "${table_options[@]}" "${directories[@]}"
