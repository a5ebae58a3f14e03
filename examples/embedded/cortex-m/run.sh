#!/usr/bin/env bash
# Builds the sine firmware for a Cortex-M4F (thumbv7em-none-eabihf) with and without the
# network, and prints what the network adds: the sections of both images, the size of
# the weights and of the inference code, and the stack frame of one inference read from
# the machine code (a static estimate; Arm has no red zone below the stack pointer).
#
# Nothing runs: the images are for an nRF52840 (memory.x). When the Rust target is not
# installed and `rustup target add` cannot fetch it, the script says so and exits 0.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target=thumbv7em-none-eabihf
image="$here/target/$target/release/sine-cortex-m"
cd "$here"

if ! rustup target list --installed | grep -qx "$target"; then
    echo "the Rust target $target is not installed; trying rustup target add"
    if ! rustup target add "$target"; then
        echo "skipped: rustup could not install $target, so the firmware is not built"
        exit 0
    fi
fi

# Prints the size of section $2 of image $1, or 0.
section() {
    size -A "$1" | awk -v name="$2" '$1 == name { print $2; found = 1 } END { if (!found) print 0 }'
}

# Prints the size in bytes of the symbol whose name contains $2 in image $1, or 0.
symbol_size() {
    local hex
    hex="$(nm -S "$1" | awk -v name="$2" 'index($4, name) { print $2; exit }')"
    echo "$((16#${hex:-0}))"
}

cargo clippy --release -- -D warnings
cargo build --release --features baseline
cp "$image" "$here/target/baseline.elf"
cargo build --release
cp "$image" "$here/target/network.elf"

echo
echo "| image | .vector_table | .text | .rodata | flash total | .data | .bss |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for name in baseline network; do
    elf="$here/target/$name.elf"
    vectors="$(section "$elf" .vector_table)"
    text="$(section "$elf" .text)"
    rodata="$(section "$elf" .rodata)"
    data="$(section "$elf" .data)"
    bss="$(section "$elf" .bss)"
    echo "| $name | $vectors | $text | $rodata | $((vectors + text + rodata + data)) | $data | $bss |"
done

elf="$here/target/network.elf"
weights="$(symbol_size "$elf" 4sine3NET)"
code="$(symbol_size "$elf" 4sine7predict)"
kind="$(nm "$elf" | awk 'index($3, "4sine3NET") { print $2; exit }')"
echo
echo "weights: $weights bytes (nm kind '$kind': read-only data, in flash)"
echo "inference code (sine::predict, with forward inlined): $code bytes"
if [[ "$kind" != [rR] || "$weights" -ne 1284 ]]; then
    echo "error: expected the 1284 bytes of weights in a read-only section" >&2
    exit 1
fi

# The host's objdump cannot disassemble Thumb code; Debian's binutils-arm-none-eabi can.
if command -v arm-none-eabi-objdump >/dev/null; then
    echo "prologue of sine::predict (its stack frame):"
    arm-none-eabi-objdump -d "$elf" | awk '/4sine7predict.*>:$/ { show = 1; next } show && NF == 0 { exit } show' |
        grep -E 'push|stmdb|vpush|sub(\.w)?\s+sp' || true
else
    echo "install binutils-arm-none-eabi to print the stack frame of sine::predict"
fi
