#!/usr/bin/env bash
# Builds the no_std static library, links it into main.c with gcc, runs the program and
# compares its output with the same computation built with std (reference/).
#
# Fails when static-nn needs std or alloc without its default features (the library
# does not build), when the C program does not link or run, when its output is not
# deterministic, when training with SGD does not lower the loss, or when it disagrees
# with the std build.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target="$here/target"
program="$target/nostd-check"

echo "building the no_std static library"
cargo build --release --manifest-path "$here/Cargo.toml"
library="$target/release/libnostd_check.a"

# The library uses no std, so it needs only what gcc links by default: libc, for memcpy,
# memset and abort. No -lm, -lpthread or -ldl. --gc-sections is required, because the
# precompiled `core` has unwinding tables that refer to `rust_eh_personality`, which
# only std defines. Nothing calls that code, so the linker can drop it; without the flag
# the link fails with an undefined reference to `rust_eh_personality`.
echo "linking main.c against $library"
gcc -std=c11 -Wall -Wextra -Werror -O2 -ffunction-sections -fdata-sections \
    "$here/main.c" "$library" -Wl,--gc-sections -o "$program"

echo "running the C program"
first="$("$program")"
second="$("$program")"
printf '%s\n' "$first"
if [[ "$first" != "$second" ]]; then
    echo "error: two runs of $program printed different output" >&2
    diff <(printf '%s\n' "$first") <(printf '%s\n' "$second") >&2 || true
    exit 1
fi

# Prints the value after the label `$2` in the output `$1`, or fails naming the label.
value_of() {
    local line
    line="$(printf '%s\n' "$1" | grep -m1 "^$2 ")" || {
        echo "error: the C program printed no line starting with '$2'" >&2
        exit 1
    }
    printf '%s\n' "${line#"$2 "}"
}

classes=3
for sample in 0 1 2; do
    prediction="$(value_of "$first" "sample $sample prediction")"
    if ! [[ "$prediction" =~ ^[0-9]+$ ]] || ((prediction >= classes)); then
        echo "error: sample $sample: prediction '$prediction' is not a class in 0..$classes" >&2
        exit 1
    fi
    logits="$(value_of "$first" "sample $sample logit_values")"
    argmax="$(awk '{ best = 1; for (i = 2; i <= NF; i++) if ($i > $best) best = i; print best - 1 }' <<<"$logits")"
    if ((prediction != argmax)); then
        echo "error: sample $sample: prediction $prediction is not the index of the" \
            "largest logit in '$logits' ($argmax)" >&2
        exit 1
    fi
done
if [[ "$(value_of "$first" "null predict")" != "-1" ]]; then
    echo "error: nn_predict(NULL) must return -1" >&2
    exit 1
fi
if [[ "$(value_of "$first" "bad label gradient_norm")" != "-1" ]]; then
    echo "error: nn_gradient_norm with label $classes must return -1" >&2
    exit 1
fi

if [[ "$(value_of "$first" "bad label train")" != "-1" ]]; then
    echo "error: nn_train_sgd with label $classes must return -1" >&2
    exit 1
fi

# Training without std or alloc: the SGD steps must lower the batch's loss.
loss_before="$(value_of "$first" "train loss_before")"
loss_after="$(value_of "$first" "train loss_after")"
if ! awk -v before="$loss_before" -v after="$loss_after" 'BEGIN { exit !(after > 0 && after < before) }'; then
    echo "error: training did not lower the loss: $loss_before before, $loss_after after" >&2
    exit 1
fi
echo "training on the device lowered the loss from $loss_before to $loss_after"

echo "running the std reference"
reference="$(cargo run --quiet --release --manifest-path "$here/reference/Cargo.toml")"
printf '%s\n' "$reference"

# Predictions and logits use only addition, multiplication and comparisons, so both
# builds must agree bit for bit. The gradient norm goes through `exp`, which std takes
# from the C library and no_std from libm; they may differ in the last bits.
for sample in 0 1 2; do
    for field in prediction logits; do
        label="sample $sample $field"
        c_value="$(value_of "$first" "$label")"
        std_value="$(value_of "$reference" "$label")"
        if [[ "$c_value" != "$std_value" ]]; then
            echo "error: $label: the no_std build gives '$c_value', the std build '$std_value'" >&2
            exit 1
        fi
    done
    label="sample $sample gradient_norm"
    c_value="$(value_of "$first" "$label")"
    std_value="$(value_of "$reference" "$label")"
    if ! awk -v a="$c_value" -v b="$std_value" 'BEGIN {
        scale = (b < 0 ? -b : b); if (scale < 1) scale = 1
        difference = a - b; if (difference < 0) difference = -difference
        exit !(a > 0 && difference <= 1e-5 * scale)
    }'; then
        echo "error: $label: the no_std build gives $c_value, the std build $std_value" \
            "(expected a positive norm, equal within a relative 1e-5)" >&2
        exit 1
    fi
done

# The losses go through `exp` and `ln` (libm without std, the C library with std), so
# the two builds may differ in the last bits, and the differences grow over the steps.
for label in "train loss_before" "train loss_after"; do
    c_value="$(value_of "$first" "$label")"
    std_value="$(value_of "$reference" "$label")"
    if ! awk -v a="$c_value" -v b="$std_value" 'BEGIN {
        scale = (b < 0 ? -b : b); if (scale < 1) scale = 1
        difference = a - b; if (difference < 0) difference = -difference
        exit !(difference <= 1e-4 * scale)
    }'; then
        echo "error: $label: the no_std build gives $c_value, the std build $std_value" \
            "(expected equal within a relative 1e-4)" >&2
        exit 1
    fi
done

echo "no_std check passed: the C program agrees with the std build"
