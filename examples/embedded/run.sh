#!/usr/bin/env bash
# Builds the sine network's no_std static library with its weights baked in, links it
# into main.c with gcc, runs the program and checks its predictions against the std
# build (`cargo run --example sine -- --check`, which loads the same weights file at run
# time) and against the predictions examples/sine.rs wrote when it trained the network.
#
# Then it prints the footprint: `size` of the linked program and of minimal.c (the same
# output loop without the network), where the weights landed, and the stack of one
# inference, measured by painting the stack (see main.c).
#
# Fails when the library does not build or link, when a prediction differs from the std
# build by more than 1e-6, or when the weights are not in a read-only section.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="$here/target"
program="$target/sine"
minimal="$target/minimal"

echo "building the no_std static library (release: opt-level s, LTO)"
cargo build --release --manifest-path "$here/Cargo.toml"
library="$target/release/libsine_firmware.a"

# --gc-sections drops the unused parts of the library, including unwinding code in the
# precompiled `core` that refers to `rust_eh_personality`, which only std defines.
cflags=(-std=c11 -Wall -Wextra -Werror -O2 -ffunction-sections -fdata-sections)
echo "linking main.c against $library"
gcc "${cflags[@]}" "$here/main.c" "$library" -Wl,--gc-sections -o "$program"
gcc "${cflags[@]}" "$here/minimal.c" -Wl,--gc-sections -o "$minimal"

echo "running the C program"
output="$("$program")"
printf '%s\n' "$output"

echo "running the std build: cargo run --example sine -- --check"
reference="$(cd "$root" && cargo run --quiet --example sine -- --check)"

# Prints the lines of $1 that start with "x ", keeping the first eight fields: the input,
# its bits, the prediction and its bits.
predictions() {
    printf '%s\n' "$1" | awk '$1 == "x" { print $1, $2, $3, $4, $5, $6, $7, $8 }'
}

# Compares two prediction tables line by line: identical bits pass, predictions within
# 1e-6 pass with a note, anything else fails.
compare() {
    local name="$1" expected="$2" actual="$3"
    if [[ "$(predictions "$expected" | wc -l)" -ne 16 ]]; then
        echo "error: $name has $(predictions "$expected" | wc -l) predictions, expected 16" >&2
        exit 1
    fi
    if [[ "$(predictions "$expected")" == "$(predictions "$actual")" ]]; then
        echo "all 16 predictions are bit-identical to $name"
        return
    fi
    if ! paste -d ' ' <(predictions "$expected") <(predictions "$actual") | awk -v name="$name" '{
        if ($2 != $10) { printf "error: line %d: x is %s in %s but %s in the C program\n", NR, $2, name, $10; bad = 1; next }
        difference = $6 - $14; if (difference < 0) difference = -difference
        if (difference > 1e-6) { printf "error: at x = %s %s predicts %s, the C program %s\n", $2, name, $6, $14; bad = 1 }
        else if ($8 != $16) printf "note: at x = %s the predictions differ by %g (%s, %s)\n", $2, difference, $6, $14
    } END { exit bad }' >&2; then
        exit 1
    fi
    echo "all 16 predictions are within 1e-6 of $name"
}

compare "the std build" "$reference" "$output"
compare "examples/embedded/predictions.txt" "$(cat "$here/predictions.txt")" "$output"

# The weights are a 1344-byte object here: 1284 bytes of values, and 60 bytes of padding
# because each `Dense` layer starts on a 64-byte line on x86-64. It must be in a
# read-only data section (`r`/`R`).
weights_line="$(nm -S --size-sort "$program" | awk '$4 ~ /sine_firmware3NET/')"
if [[ -z "$weights_line" ]]; then
    echo "error: no symbol for the static NET in $program" >&2
    exit 1
fi
read -r _ weights_size weights_kind _ <<<"$weights_line"
if [[ "$weights_kind" != [rR] ]]; then
    echo "error: the static NET is in a section of kind '$weights_kind', not read-only data" >&2
    exit 1
fi
echo "the weights are a $((16#$weights_size))-byte read-only object (nm kind '$weights_kind')"

echo
echo "footprint (x86-64, gcc -O2, --gc-sections):"
size "$program" "$minimal"
code_size="$(nm -S --size-sort "$program" | awk '$4 == "sine_predict" { print $2 }')"
echo "sine_predict: $((16#${code_size:-0})) bytes of code"
printf '%s\n' "$output" | grep -E '^(param_bytes|forward_bytes|stack_)'
echo "embedded example passed"
