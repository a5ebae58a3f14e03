#!/usr/bin/env python3
"""Print the results of `cargo bench --bench forward_backward` as a Markdown table.

Reads criterion's estimates from one or more criterion output directories (default:
target/criterion), each holding one group per workload and network with the functions
`generated`, `static` and `dynamic`, and the group `peak` (`fma`, and `tile_l1`,
`tile_loop` and `tile_loop_registers` where present). A time is criterion's median
estimate per iteration. With several directories (copies of target/criterion from
repeated runs) it is the smallest of their medians, because other processes on the
machine can only add time.

Columns:
- generated / best: the generated network's time over the faster of the two
  hand-written baselines; the target is at most 1.00.
- GFLOP/s and % of peak: floating-point operations per second of the generated network,
  against the FMA peak measured in the same run (`peak/fma`). One multiply-add counts as
  2 operations, and only the matrix products count (bias, ReLU and loss are left out).
  A forward pass of an I-H-O network takes 2 (I H + H O) operations per sample; a
  training step takes 4 I H + 6 H O (forward pass, both weight gradients and the input
  gradient of the output layer; the first layer's input gradient is not computed).

With `--sweep`, prints instead the results of `cargo bench --bench kernel_sweep`: for
each product, layer shape and batch size, the time of the small and the blocked kernel,
their ratio, and which kernel `uses_blocked` (`uses_blocked_transpose` for the input
gradient) picks there. The thresholds of `nn-core/src/kernel/mod.rs` are repeated here
as BLOCKED_MIN_MULTIPLY_ADDS and BLOCKED_MIN_SIDE.

Usage: scripts/bench-table.py [--sweep] [CRITERION_DIR...]
"""

import json
import re
import sys
from pathlib import Path

WORKLOADS = [
    ("forward", "forward, 1 sample"),
    ("forward_batch", "forward, batch of 64"),
    ("train", "training step, batch of 32"),
    ("train_single", "training step, 1 sample"),
]
NETWORKS = ["2-8-1", "64-32-10", "784-128-10"]
IMPLEMENTATIONS = ["generated", "static", "dynamic"]
TARGET_RATIO = 1.00
SWEEP_PRODUCTS = [
    ("forward", "forward `W x`"),
    ("input_gradient", "input gradient `W^T g`"),
    ("weight_gradient", "weight gradient `g x^T`"),
]
BLOCKED_MIN_MULTIPLY_ADDS = 1024
BLOCKED_MIN_SIDE = 4


def load_one(criterion_dir: Path, group: str, function: str) -> tuple[float, int]:
    """Return the median time in ns and the elements per iteration of one benchmark."""
    directory = criterion_dir / group / function / "new"
    try:
        benchmark = json.loads((directory / "benchmark.json").read_text())
        estimates = json.loads((directory / "estimates.json").read_text())
    except FileNotFoundError as error:
        sys.exit(f"error: missing criterion result {error.filename}; run the benchmark first")
    elements = benchmark.get("throughput", {}).get("Elements", 1)
    return estimates["median"]["point_estimate"], elements


def load(criterion_dirs: list[Path], group: str, function: str) -> tuple[float, int]:
    """Return the smallest median time in ns over all runs, and the elements per iteration."""
    results = [load_one(directory, group, function) for directory in criterion_dirs]
    return min(time for time, _ in results), results[0][1]


def flops_per_sample(workload: str, network: str) -> int:
    """Return the floating-point operations of the matrix products per sample."""
    inputs, hidden, outputs = (int(size) for size in network.split("-"))
    if workload in ("train", "train_single"):
        return 4 * inputs * hidden + 6 * hidden * outputs
    return 2 * (inputs * hidden + hidden * outputs)


def format_time(nanoseconds: float) -> str:
    for unit, scale in (("ms", 1e6), ("µs", 1e3)):
        if nanoseconds >= scale:
            return f"{nanoseconds / scale:.3g} {unit}"
    return f"{nanoseconds:.3g} ns"


def format_rate(per_second: float) -> str:
    for unit, scale in (("M", 1e6), ("k", 1e3)):
        if per_second >= scale:
            return f"{per_second / scale:.3g} {unit}"
    return f"{per_second:.3g}"


def uses_blocked(product: str, rows: int, inner: int, cols: int) -> bool:
    """Mirror `nn_core::kernel::uses_blocked` and `uses_blocked_transpose`."""
    sides = rows >= BLOCKED_MIN_SIDE and inner >= BLOCKED_MIN_SIDE
    if product == "input_gradient":
        return sides
    return sides and rows * inner * cols >= BLOCKED_MIN_MULTIPLY_ADDS


def sweep_table(criterion_dirs: list[Path]) -> None:
    """Print the kernel sweep: one row per product, shape and batch size."""
    print(
        "| product | OUT x IN | batch | multiply-adds | small | blocked | blocked / small "
        "| kernel chosen |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for product, title in SWEEP_PRODUCTS:
        pattern = re.compile(rf"{product}_\d+x\d+x\d+")
        names = {path.name for directory in criterion_dirs for path in directory.iterdir()}
        shapes = sorted(
            (name for name in names if pattern.fullmatch(name)),
            key=lambda name: [int(size) for size in name.split("_")[-1].split("x")],
        )
        for name in shapes:
            out, inputs, batch = (int(size) for size in name.split("_")[-1].split("x"))
            small, _ = load(criterion_dirs, name, "small")
            blocked, _ = load(criterion_dirs, name, "blocked")
            # The same (rows, inner, cols) as `affine`, `transpose_mul`, `accumulate_outer`.
            sides = {
                "forward": (out, inputs, batch),
                "input_gradient": (inputs, out, batch),
                "weight_gradient": (out, batch, inputs),
            }[product]
            chosen = "blocked" if uses_blocked(product, *sides) else "small"
            print(
                f"| {title} | {out} x {inputs} | {batch} | {out * inputs * batch} "
                f"| {format_time(small)} | {format_time(blocked)} | {blocked / small:.2f} "
                f"| {chosen} |"
            )


def main() -> None:
    arguments = sys.argv[1:]
    sweep = "--sweep" in arguments
    arguments = [argument for argument in arguments if argument != "--sweep"]
    criterion_dirs = [Path(argument) for argument in arguments] or [Path("target/criterion")]
    if sweep:
        sweep_table(criterion_dirs)
        return

    peak_time, peak_flops = load(criterion_dirs, "peak", "fma")
    peak = peak_flops / (peak_time * 1e-9)
    print(f"FMA peak measured in the same run: {peak / 1e9:.1f} GFLOP/s (`peak/fma`).")
    extra_lines = [
        ("tile_l1", "Blocked kernel on operands in L1"),
        ("tile_loop", "Inner loop of the AVX-512 2 x 12 tile on operands in L1"),
        ("tile_loop_registers", "The same loop without its vector loads"),
    ]
    for name, description in extra_lines:
        present = [
            (directory / "peak" / name / "new" / "estimates.json").is_file()
            for directory in criterion_dirs
        ]
        if all(present):
            time, flops = load(criterion_dirs, "peak", name)
            rate = flops / (time * 1e-9)
            print(
                f"{description}: {rate / 1e9:.1f} GFLOP/s, "
                f"{100 * rate / peak:.0f}% of the peak (`peak/{name}`)."
            )
        elif any(present):
            print(
                f"`peak/{name}` is missing in {present.count(False)} of "
                f"{len(present)} runs, so its line is left out."
            )
    print()

    print(
        "| workload | network | generated | static | dynamic | generated / best "
        "| samples/s (generated) | GFLOP/s | % of peak | at least as fast as both |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for workload, title in WORKLOADS:
        for network in NETWORKS:
            group = f"{workload}_{network}"
            times = {}
            for implementation in IMPLEMENTATIONS:
                times[implementation], samples = load(criterion_dirs, group, implementation)
            best = min(times["static"], times["dynamic"])
            ratio = times["generated"] / best
            seconds = times["generated"] * 1e-9
            flops = flops_per_sample(workload, network) * samples / seconds
            met = "yes" if ratio <= TARGET_RATIO else "**no**"
            print(
                f"| {title} | {network} | {format_time(times['generated'])} "
                f"| {format_time(times['static'])} | {format_time(times['dynamic'])} "
                f"| {ratio:.2f} | {format_rate(samples / seconds)} | {flops / 1e9:.1f} "
                f"| {100 * flops / peak:.0f}% | {met} |"
            )


if __name__ == "__main__":
    main()
