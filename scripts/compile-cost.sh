#!/usr/bin/env bash
# Measures what a network declared with `network!` costs the compiler.
#
# Creates a throwaway binary crate in a temporary directory that depends on static-nn by
# path and builds its dependencies once. Then, for each case below, it rebuilds only the
# crate itself, `repeats` times. It reports the median wall time of that build, the size
# of the binary, and the peak resident memory of the compiler. That memory is GNU time's
# "Maximum resident set size", which is the largest of the processes cargo waited for.
#
# Cases: a baseline without a network, then a 784-128-10 and a 784-512-256-10 network
# (ReLU hidden layers, f32), each calling only `forward`, and each calling `forward`
# plus a training step (`forward_train` and `backward_into` on a batch of 32).
#
# Usage: scripts/compile-cost.sh [PROFILE...]   (default: release; `dev` also works)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
profiles=("$@")
if ((${#profiles[@]} == 0)); then
    profiles=(release)
fi

# The number of builds per case. The table shows the median time and the largest peak
# memory of these builds.
repeats=3

if [[ ! -x /usr/bin/time ]]; then
    echo "GNU time is missing; installing the Debian package 'time'" >&2
    apt-get update -qq
    apt-get install -y -qq time >/dev/null
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
crate="$work/compile-cost"
mkdir -p "$crate/src"
export CARGO_TARGET_DIR="$work/target"

cat >"$crate/Cargo.toml" <<EOF
[package]
name = "compile-cost"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
static-nn = { path = "$root" }
EOF
# The same dependency versions as the repository's own builds.
cp "$root/Cargo.lock" "$crate/Cargo.lock"

# Writes a src/main.rs that uses static-nn without `network!`, the baseline.
write_baseline_main() {
    cat >"$crate/src/main.rs" <<'EOF'
fn main() {
    let x = static_nn::nalgebra::SVector::<f32, 784>::from_fn(|row, _| row as f32);
    println!("{}", std::hint::black_box(x).sum());
}
EOF
}

# Writes src/main.rs declaring a network with the given layer list. With `train`, main
# also runs one training step, which instantiates the backward pass.
write_main() {
    local layers="$1" mode="$2"
    local training=""
    if [[ "$mode" == train ]]; then
        training='
    let batch = SMatrix::<f32, { Net::INPUT }, 32>::from_fn(|row, column| ((row + column) % 5) as f32 * 0.2);
    let mut grads = Net::zero_grads_boxed();
    let mut rng = Rng::seed_from_u64(2);
    let (output, trace) = net.forward_train(black_box(&batch), &mut rng);
    net.backward_into(&trace, &output, &mut grads);
    println!("{}", output.sum());'
    fi
    cat >"$crate/src/main.rs" <<EOF
use std::hint::black_box;

use static_nn::prelude::*;

network! {
    struct Net<f32> {
        input: [784],
        $layers
    }
}

fn main() {
    let net = Net::new_boxed(1);
    let x = SVector::<f32, { Net::INPUT }>::from_fn(|row, _| (row % 7) as f32 * 0.1);
    println!("{}", net.forward(black_box(&x)).sum());$training
}
EOF
}

# Prints the value of the line of `/usr/bin/time -v` output starting with "$2:" in file $1.
time_field() {
    grep -F "$2:" "$1" | sed 's/.*: //'
}

# Converts GNU time's elapsed time (m:ss.ss or h:mm:ss) to seconds.
to_seconds() {
    awk -F: '{ seconds = 0; for (i = 1; i <= NF; i++) seconds = seconds * 60 + $i; printf "%.2f", seconds }' <<<"$1"
}

declare -A networks=(
    ["784-128-10"]="hidden: Dense(128), Relu, out: Dense(10),"
    ["784-512-256-10"]="a: Dense(512), Relu, b: Dense(256), Relu, out: Dense(10),"
)

echo "static-nn at $root; rustc $(rustc --version | cut -d' ' -f2); $(nproc) cores" >&2
echo
echo "| profile | network | code | build time (s) | peak compiler RSS (MiB) | binary (KiB) |"
echo "| --- | --- | --- | ---: | ---: | ---: |"
for profile in "${profiles[@]}"; do
    output_dir="$profile"
    [[ "$profile" == dev ]] && output_dir=debug

    echo "building dependencies ($profile)" >&2
    write_main "hidden: Dense(2)," forward
    cargo build --quiet --profile "$profile" --manifest-path "$crate/Cargo.toml"

    for network in none 784-128-10 784-512-256-10; do
        for mode in forward train; do
            if [[ "$network" == none ]]; then
                [[ "$mode" == train ]] && continue
                write_baseline_main
            else
                write_main "${networks[$network]}" "$mode"
            fi
            echo "building $network ($mode, $profile)" >&2
            times=()
            rss_kib=0
            for ((run = 1; run <= repeats; run++)); do
                touch "$crate/src/main.rs"
                report="$work/time.txt"
                /usr/bin/time -v -o "$report" \
                    cargo build --quiet --profile "$profile" --manifest-path "$crate/Cargo.toml"
                times+=("$(to_seconds "$(time_field "$report" "Elapsed (wall clock) time (h:mm:ss or m:ss)")")")
                run_rss="$(time_field "$report" "Maximum resident set size (kbytes)")"
                ((run_rss > rss_kib)) && rss_kib="$run_rss"
            done
            "$CARGO_TARGET_DIR/$output_dir/compile-cost" >/dev/null

            seconds="$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((repeats + 1) / 2))p")"
            binary_bytes="$(stat -c %s "$CARGO_TARGET_DIR/$output_dir/compile-cost")"
            code="forward"
            [[ "$mode" == train ]] && code="forward + training step"
            [[ "$network" == none ]] && code="baseline: no network, one nalgebra sum"
            echo "| $profile | $network | $code | $seconds | $((rss_kib / 1024)) | $((binary_bytes / 1024)) |"
        done
    done
done
