#!/usr/bin/env python3
"""Time one MNIST training epoch of scikit-learn's MLPClassifier, for BENCHMARKS.md.

The network matches benches/mnist_epoch.rs: 784-128-10 with ReLU, Adam (learning rate
0.001), batches of 32, one pass over the 60,000 training images scaled to [0, 1].
scikit-learn adds an L2 penalty (alpha); it is set to 0 so both do the same work.
Each run builds a fresh classifier and calls `partial_fit` once, which is one epoch.

The thread count of the BLAS library behind numpy is set with threadpoolctl, and the
script prints which library and kernel it runs. Run from the repository root:

    python3 benches/sklearn_mnist_epoch.py [THREADS...]   (default: 1 2)

Requires scikit-learn and threadpoolctl (`pip install scikit-learn threadpoolctl`).
"""

import gzip
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_info, threadpool_limits

RUNS = 3
DATA = Path("data/mnist")


def read_idx(path: Path) -> np.ndarray:
    """Return the array stored in a gzip-compressed IDX file."""
    with gzip.open(path, "rb") as file:
        data = file.read()
    dimensions = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dimensions)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dimensions).reshape(shape)


def epoch_seconds(images: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Return the wall time and the final loss of one epoch of a fresh classifier."""
    model = MLPClassifier(
        hidden_layer_sizes=(128,),
        activation="relu",
        solver="adam",
        learning_rate_init=1e-3,
        alpha=0.0,
        batch_size=32,
        shuffle=True,
        random_state=1998,
    )
    started = time.perf_counter()
    model.partial_fit(images, labels, classes=np.arange(10))
    return time.perf_counter() - started, model.loss_


def main() -> None:
    threads = [int(argument) for argument in sys.argv[1:]] or [1, 2]
    images = read_idx(DATA / "train-images-idx3-ubyte.gz").reshape(-1, 784)
    images = images.astype(np.float32) / 255.0
    labels = read_idx(DATA / "train-labels-idx1-ubyte.gz").astype(np.int64)
    print(f"MNIST: {len(images)} training images; numpy {np.__version__}")
    for library in threadpool_info():
        print(
            f"BLAS: {library.get('internal_api')} {library.get('version')}, "
            f"kernel {library.get('architecture')}, {library.get('num_threads')} threads available"
        )
    for count in threads:
        with threadpool_limits(limits=count):
            results = [epoch_seconds(images, labels) for _ in range(RUNS)]
        best = min(seconds for seconds, _ in results)
        print(f"scikit-learn, {count} thread(s): {best:.2f} s per epoch, loss {results[-1][1]:.4f}")


if __name__ == "__main__":
    main()
