#!/usr/bin/env python3
"""Print the results of `cargo bench --bench forward_backward` as a Markdown table.

Reads criterion's estimates from one or more criterion output directories (default:
target/criterion), each holding one group per workload and network with the functions
`generated`, `static` and `dynamic`. A time is criterion's median estimate per
iteration. With several directories (copies of target/criterion from repeated runs) it
is the smallest of their medians, because other processes on the machine can only add
time. Ratios above 1 mean the generated network is slower. The target is met where
generated / static is at most 1.10.

Usage: scripts/bench-table.py [CRITERION_DIR...]
"""

import json
import sys
from pathlib import Path

WORKLOADS = [
    ("forward", "forward, 1 sample"),
    ("forward_batch", "forward, batch of 64"),
    ("train", "training step, batch of 32"),
]
NETWORKS = ["2-8-1", "64-32-10", "784-128-10"]
IMPLEMENTATIONS = ["generated", "static", "dynamic"]
TARGET_RATIO = 1.10


def load_one(criterion_dir: Path, group: str, function: str) -> tuple[float, int]:
    """Return the median time in ns and the samples per iteration of one benchmark."""
    directory = criterion_dir / group / function / "new"
    try:
        benchmark = json.loads((directory / "benchmark.json").read_text())
        estimates = json.loads((directory / "estimates.json").read_text())
    except FileNotFoundError as error:
        sys.exit(f"error: missing criterion result {error.filename}; run the benchmark first")
    samples = benchmark.get("throughput", {}).get("Elements", 1)
    return estimates["median"]["point_estimate"], samples


def load(criterion_dirs: list[Path], group: str, function: str) -> tuple[float, int]:
    """Return the smallest median time in ns over all runs, and the samples per iteration."""
    results = [load_one(directory, group, function) for directory in criterion_dirs]
    return min(time for time, _ in results), results[0][1]


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


def main() -> None:
    criterion_dirs = [Path(argument) for argument in sys.argv[1:]] or [Path("target/criterion")]
    print(
        "| workload | network | generated | static | dynamic | generated / static "
        "| generated / dynamic | samples/s (generated) | within 10% of static |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for workload, title in WORKLOADS:
        for network in NETWORKS:
            group = f"{workload}_{network}"
            times = {}
            for implementation in IMPLEMENTATIONS:
                times[implementation], samples = load(criterion_dirs, group, implementation)
            to_static = times["generated"] / times["static"]
            to_dynamic = times["generated"] / times["dynamic"]
            rate = samples / (times["generated"] * 1e-9)
            met = "yes" if to_static <= TARGET_RATIO else "**no**"
            print(
                f"| {title} | {network} | {format_time(times['generated'])} "
                f"| {format_time(times['static'])} | {format_time(times['dynamic'])} "
                f"| {to_static:.2f} | {to_dynamic:.2f} | {format_rate(rate)} | {met} |"
            )


if __name__ == "__main__":
    main()
