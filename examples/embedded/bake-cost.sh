#!/usr/bin/env bash
# Measures what baking the weights of a 784-128-10 network with `#[weights]` costs the
# compiler and the binary.
#
# Creates a throwaway crate in a temporary directory that depends on static-nn by path,
# writes the weights of a 784-128-10 network (f32, 101,770 parameters, 407,080 bytes of
# values) with `weights::save`, and builds these cases, rebuilding only the crate itself
# `repeats` times each:
#
# - seeded: the network created with `new_boxed` from a seed, with no weights file, the
#   baseline for binary size;
# - runtime: the same, with its weights loaded with `weights::load` at run time;
# - baked: `static NET: Net = Net::BAKED;` with `#[weights]`, one byte-string literal per
#   tensor (what the macro emits);
# - literals: the same static built from one float literal per weight in nested arrays,
#   the alternative the macro does not use, written out by the generator program.
#
# It prints the median wall time of the build, the peak resident memory of the largest
# process (GNU time's "Maximum resident set size", which covers rustc), the size of the
# stripped binary and of its `.rodata` section, in a Markdown table.
#
# Usage: examples/embedded/bake-cost.sh [PROFILE]   (default: release)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
profile="${1:-release}"
output_dir="$profile"
[[ "$profile" == dev ]] && output_dir=debug
repeats=3

if [[ ! -x /usr/bin/time ]]; then
    echo "GNU time is missing; installing the Debian package 'time'" >&2
    apt-get update -qq
    apt-get install -y -qq time >/dev/null
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
crate="$work/bake-cost"
mkdir -p "$crate/src"
export CARGO_TARGET_DIR="$work/target"

cat >"$crate/Cargo.toml" <<EOF
[package]
name = "bake-cost"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
static-nn = { path = "$root" }
EOF
cp "$root/Cargo.lock" "$crate/Cargo.lock"

# The network declaration shared by every case; `$1` is an attribute line or nothing.
declaration() {
    cat <<EOF
use std::hint::black_box;

use static_nn::prelude::*;

network! {
    $1
    struct Net<f32> {
        input: [784],
        hidden: Dense(128), Relu,
        out: Dense(10),
    }
}
EOF
}

# The generator: saves the weights of a seeded network, and writes the same values as
# nested float-literal arrays in nalgebra's column-major order.
write_generator() {
    declaration "" >"$crate/src/main.rs"
    cat >>"$crate/src/main.rs" <<'EOF'

fn literal_matrix(name: &str, values: &[f32], rows: usize, cols: usize) -> String {
    let mut text = format!("const {name}: [[f32; {rows}]; {cols}] = [\n");
    for column in values.chunks(rows) {
        let items: Vec<String> = column.iter().map(|v| format!("{v:?}f32")).collect();
        text.push_str(&format!("[{}],\n", items.join(", ")));
    }
    text + "];\n"
}

fn main() {
    let net = black_box(Net::new_boxed(1));
    weights::save(&*net, "weights.safetensors").expect("save the weights");
    let mut text = String::new();
    text += &literal_matrix("HIDDEN_WEIGHT", net.hidden.weight.as_slice(), 128, 784);
    text += &literal_matrix("HIDDEN_BIAS", net.hidden.bias.as_slice(), 128, 1);
    text += &literal_matrix("OUT_WEIGHT", net.out.weight.as_slice(), 10, 128);
    text += &literal_matrix("OUT_BIAS", net.out.bias.as_slice(), 10, 1);
    std::fs::write("src/literals.rs", text).expect("write the literals");
}
EOF
}

# The inference program of each case: one forward pass over an input from the command
# line's length, so the compiler cannot fold it.
main_body() {
    cat <<'EOF'

fn main() {
    let seed = std::env::args().count() as f32;
    let x = SVector::<f32, 784>::from_fn(|row, _| (row % 7) as f32 * 0.1 * seed);
    println!("{}", NET_REF().forward(black_box(&x)).sum());
}
EOF
}

write_case() {
    case "$1" in
    seeded)
        declaration "" >"$crate/src/main.rs"
        cat >>"$crate/src/main.rs" <<'EOF'

#[allow(non_snake_case)]
fn NET_REF() -> Box<Net> {
    Net::new_boxed(1)
}
EOF
        ;;
    runtime)
        declaration "" >"$crate/src/main.rs"
        cat >>"$crate/src/main.rs" <<'EOF'

#[allow(non_snake_case)]
fn NET_REF() -> Box<Net> {
    let mut net = Net::new_boxed(0);
    weights::load(&mut *net, "weights.safetensors").expect("load the weights");
    net
}
EOF
        ;;
    baked)
        declaration '#[weights("weights.safetensors")]' >"$crate/src/main.rs"
        cat >>"$crate/src/main.rs" <<'EOF'

static NET: Net = Net::BAKED;

#[allow(non_snake_case)]
fn NET_REF() -> &'static Net {
    &NET
}
EOF
        ;;
    literals)
        declaration "" >"$crate/src/main.rs"
        cat >>"$crate/src/main.rs" <<'EOF'

include!("literals.rs");

use static_nn::nalgebra::ArrayStorage;

static NET: Net = Net {
    hidden: Dense {
        weight: SMatrix::from_array_storage(ArrayStorage(HIDDEN_WEIGHT)),
        bias: SMatrix::from_array_storage(ArrayStorage(HIDDEN_BIAS)),
    },
    out: Dense {
        weight: SMatrix::from_array_storage(ArrayStorage(OUT_WEIGHT)),
        bias: SMatrix::from_array_storage(ArrayStorage(OUT_BIAS)),
    },
};

#[allow(non_snake_case)]
fn NET_REF() -> &'static Net {
    &NET
}
EOF
        ;;
    esac
    main_body >>"$crate/src/main.rs"
}

time_field() {
    grep -F "$2:" "$1" | sed 's/.*: //'
}

to_seconds() {
    awk -F: '{ seconds = 0; for (i = 1; i <= NF; i++) seconds = seconds * 60 + $i; printf "%.2f", seconds }' <<<"$1"
}

echo "static-nn at $root; rustc $(rustc --version | cut -d' ' -f2); $(nproc) cores; profile $profile" >&2
echo "writing the weights with the generator program" >&2
write_generator
(cd "$crate" && cargo run --quiet --profile "$profile")
echo "weights file: $(stat -c %s "$crate/weights.safetensors") bytes" >&2

echo
echo "| case | build time (s) | peak compiler RSS (MiB) | stripped binary (bytes) | .rodata (bytes) |"
echo "| --- | ---: | ---: | ---: | ---: |"
for case in seeded runtime baked literals; do
    write_case "$case"
    echo "building $case" >&2
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
    binary="$CARGO_TARGET_DIR/$output_dir/bake-cost"
    result="$(cd "$crate" && "$binary")"
    echo "$case prints $result" >&2
    strip -o "$work/stripped" "$binary"
    seconds="$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((repeats + 1) / 2))p")"
    rodata="$(size -A "$binary" | awk '$1 == ".rodata" { print $2 }')"
    echo "| $case | $seconds | $((rss_kib / 1024)) | $(stat -c %s "$work/stripped") | $rodata |"
done
