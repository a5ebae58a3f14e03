#!/usr/bin/env bash
# Runs the kernel, layer and numeric tests for 64-bit Arm (aarch64-unknown-linux-gnu)
# under qemu's user-mode emulator. On AArch64 every product takes the small kernel, and
# the kernel tests run the blocked kernel's portable tiles. An x86-64 run with AVX2 takes
# other code paths, so only this step tests these ones end to end.
#
# It installs what it needs when it is missing: the Rust target with rustup, and the
# cross linker, the Arm C library and qemu-user-static from the Debian packages. When
# one of them cannot be installed, it says so and exits 0 without testing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
target=aarch64-unknown-linux-gnu

if ! rustup target list --installed | grep -qx "$target"; then
    echo "the Rust target $target is not installed; trying rustup target add"
    if ! rustup target add "$target"; then
        echo "skipped: rustup could not install $target, so nothing was tested for AArch64"
        exit 0
    fi
fi
if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64-static >/dev/null; then
    echo "installing the AArch64 cross linker and qemu-user-static from the Debian packages"
    if ! { apt-get update -qq &&
        apt-get install -y -qq gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static >/dev/null; }; then
        echo "skipped: the cross linker or qemu could not be installed, so nothing was tested for AArch64"
        exit 0
    fi
fi

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64-static -L /usr/aarch64-linux-gnu"

# The training accuracy tests are left out because they take minutes under emulation.
cargo test --target "$target" -p nn-core --lib
cargo test --target "$target" -p static-nn \
    --test gradients --test reference_values --test large_network \
    --test loss_reference --test optim_reference --test weights --test baked \
    --test finetune --test augment --test metrics
