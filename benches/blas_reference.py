#!/usr/bin/env python3
"""Time the matrix products of the MNIST-sized benchmark cells on numpy's BLAS library.

This is a reference for the "% of peak" column of BENCHMARKS.md: how close a BLAS
library with hand-written assembly kernels (OpenBLAS, in numpy's wheels) gets to the
FMA peak on this machine, on one thread. It times, with `numpy.matmul` on
column-major (Fortran-ordered) matrices as static-nn stores them:

- the products of the batched 784-128-10 forward pass (`forward_batch`, 64 samples);
- the products of the 784-128-10 training step (`train`, 32 samples): both layers'
  forward products and weight gradients, and the output layer's input gradient;
- square products of 256, 1024 and 2048, where a BLAS library is at its best.

numpy overwrites the result; static-nn's training cell adds the weight gradients to
the old ones, which costs it a read of each gradient. The BLAS figures therefore
leave out the bias, the ReLU and its derivative, the bias gradients and that read, all
of which the static-nn cells include. They do include numpy's own work in each call of
`numpy.matmul`, which weighs on the small products. The script prints a lower bound of
that cost: the time of a 1 x 1 product.

The peak is read from the `peak/fma` result of `cargo bench --bench forward_backward`
in the criterion folder (default `target/criterion`), so run that first. The benchmark
skips `peak/fma` on CPUs without AVX2 and FMA. Run from the repository root:

    python3 benches/blas_reference.py [CRITERION_DIR]

Requires numpy and threadpoolctl (`pip install numpy threadpoolctl`).
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

# Timed rounds per product. The script reports the fastest.
ROUNDS = 7
# Floating-point operations per round. A round makes at least 3 calls and at most
# MAX_REPEATS.
WORK_PER_ROUND = 2e9
# Maximum calls of `numpy.matmul` per round.
MAX_REPEATS = 100_000

# (rows, inner, cols, layout) of each product C = A B, with C rows x cols and A rows x
# inner. The matrices are column-major. With "A^T" in the layout, A is the transpose of
# a column-major matrix, as the output layer's weights are in its input gradient. With
# "B^T", B is the transpose of a column-major matrix, as the batch of inputs or hidden
# values is in a weight gradient.
CELLS = {
    "forward_batch/784-128-10 (64 samples)": [
        (128, 784, 64, "A B"),
        (10, 128, 64, "A B"),
    ],
    "train/784-128-10 (32 samples)": [
        (128, 784, 32, "A B"),
        (10, 128, 32, "A B"),
        (10, 32, 128, "A B^T"),
        (128, 10, 32, "A^T B"),
        (128, 32, 784, "A B^T"),
    ],
}
SQUARES = [256, 1024, 2048]


def read_peak(criterion_dir: Path) -> float:
    """Return the `peak/fma` result of the criterion folder in FLOP/s."""
    directory = criterion_dir / "peak" / "fma" / "new"
    try:
        benchmark = json.loads((directory / "benchmark.json").read_text())
        estimates = json.loads((directory / "estimates.json").read_text())
    except FileNotFoundError as error:
        sys.exit(
            f"error: missing criterion result {error.filename}; run "
            "`cargo bench --bench forward_backward -- peak/fma` first"
        )
    flops = benchmark["throughput"]["Elements"]
    return flops / (estimates["median"]["point_estimate"] * 1e-9)


def matrix(rows: int, cols: int, transposed: bool) -> np.ndarray:
    """Return a random float32 rows x cols matrix in column-major order, or with
    `transposed` the transpose of a column-major cols x rows one."""
    rng = np.random.default_rng(7)
    if transposed:
        return np.asfortranarray(rng.random((cols, rows), dtype=np.float32)).T
    return np.asfortranarray(rng.random((rows, cols), dtype=np.float32))


def product_seconds(rows: int, inner: int, cols: int, layout: str) -> float:
    """Return the fastest time of one product of this shape and layout, in seconds."""
    a = matrix(rows, inner, layout.startswith("A^T"))
    b = matrix(inner, cols, layout.endswith("B^T"))
    c = np.asfortranarray(np.zeros((rows, cols), dtype=np.float32))
    repeats = min(MAX_REPEATS, max(3, int(WORK_PER_ROUND / (2 * rows * inner * cols))))
    for _ in range(repeats):
        np.matmul(a, b, out=c)
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(repeats):
            np.matmul(a, b, out=c)
        best = min(best, (time.perf_counter() - started) / repeats)
    return best


def main() -> None:
    criterion_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("target/criterion")
    peak = read_peak(criterion_dir)
    print(f"numpy {np.__version__}")
    for library in threadpool_info():
        print(
            f"BLAS: {library.get('internal_api')} {library.get('version')}, "
            f"kernel {library.get('architecture')}"
        )
    print(f"FMA peak from {criterion_dir}/peak/fma: {peak / 1e9:.1f} GFLOP/s")
    print("BLAS limited to 1 thread; A^T and B^T mark transposed operands")
    with threadpool_limits(limits=1):
        call = product_seconds(1, 1, 1, "A B")
        print(f"numpy.matmul on 1 x 1 matrices (its own work, at least): {call * 1e6:.2f} us")
        for cell, products in CELLS.items():
            total_seconds = 0.0
            total_flops = 0
            for rows, inner, cols, layout in products:
                seconds = product_seconds(rows, inner, cols, layout)
                flops = 2 * rows * inner * cols
                total_seconds += seconds
                total_flops += flops
                print(
                    f"  {layout}, {rows} x {inner} x {cols}: {seconds * 1e6:.1f} us, "
                    f"{flops / seconds / 1e9:.1f} GFLOP/s"
                )
            rate = total_flops / total_seconds
            print(
                f"{cell}: products alone {total_seconds * 1e6:.1f} us, "
                f"{rate / 1e9:.1f} GFLOP/s, {100 * rate / peak:.0f}% of the peak"
            )
        for size in SQUARES:
            seconds = product_seconds(size, size, size, "A B")
            rate = 2 * size**3 / seconds
            print(
                f"square {size}: {seconds * 1e3:.2f} ms, {rate / 1e9:.1f} GFLOP/s, "
                f"{100 * rate / peak:.0f}% of the peak"
            )


if __name__ == "__main__":
    main()
