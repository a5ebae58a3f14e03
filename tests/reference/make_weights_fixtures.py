#!/usr/bin/env python3
"""Write the safetensors fixtures that tests/weights.rs loads into static-nn networks.

Two models, each equivalent to a network declared in tests/weights.rs:

- `Mlp`, 4-8-3: `hidden = nn.Linear(4, 8)`, ReLU, `out = nn.Linear(8, 3)`. Its
  `state_dict` keys are `hidden.weight` [8, 4], `hidden.bias` [8], `out.weight` [3, 8]
  and `out.bias` [3]. It is written three times: F32, F16 and BF16.
- `Nested`, 4-6-2: a sub-module `backbone` holding `features = nn.Linear(4, 6)` and Tanh,
  then `head = nn.Linear(6, 2)`, so its keys are `backbone.features.weight` and so on.
  It is written as F32.

Weights and inputs come from numpy's PCG64 generator with a fixed seed, rounded to
float32. Weights smaller than 2^-14 in magnitude (F16 subnormals, which keep fewer
significant bits) are moved away from zero, so every F16 weight carries 11 significant
bits. The F16 copy rounds the float32 weights to nearest-even with numpy. The BF16 copy
rounds the float32 bit patterns to their upper 16 bits, nearest-even, by integer
arithmetic.

When PyTorch is installed the script also builds the two models as `nn.Module`s, loads
the weights, and writes the files with `safetensors.torch.save_file(model.state_dict())`,
so the tensor names are PyTorch's own. It then checks that `torch.bfloat16` rounding
matches the integer rounding and that the PyTorch forward pass matches numpy's. Without
PyTorch (or with `--without-torch`) the files are written with numpy (F32, F16) and by a
small safetensors writer (BF16, which numpy has no dtype for). Both ways give
byte-identical files with safetensors 0.8.0, numpy 2.4.6 and torch 2.15.0.

The reference outputs are the forward pass computed by numpy in float64 from the values
stored in each file (F16 and BF16 values converted exactly), for five inputs. They go to
tests/fixtures/weights/reference.rs as Rust literals, so CI does not run Python.

Requirements: `pip install numpy safetensors` (and optionally `torch`). Run from the
repository root:

    python3 tests/reference/make_weights_fixtures.py
    rustfmt --edition 2024 tests/fixtures/weights/reference.rs
    cargo test --test weights
"""

import argparse
import json
import os
import struct

import numpy as np
import safetensors.numpy

try:
    import torch
    import safetensors.torch
except ImportError:
    torch = None

OUT_DIR = os.path.join("tests", "fixtures", "weights")
SEED = 20260501
INPUT_COUNT = 5
# F16's smallest normal magnitude; smaller weights would be stored as subnormals.
F16_MIN_NORMAL = 2.0 ** -14


def random_f32(rng, shape, scale):
    """Normal values with standard deviation `scale`, rounded to float32."""
    values = rng.normal(0.0, scale, size=shape).astype(np.float32)
    tiny = np.abs(values) < F16_MIN_NORMAL
    values[tiny] = np.float32(0.01)
    return values


def make_weights(rng):
    mlp = {
        "hidden.weight": random_f32(rng, (8, 4), 0.5),
        "hidden.bias": random_f32(rng, (8,), 0.1),
        "out.weight": random_f32(rng, (3, 8), 0.35),
        "out.bias": random_f32(rng, (3,), 0.1),
    }
    nested = {
        "backbone.features.weight": random_f32(rng, (6, 4), 0.5),
        "backbone.features.bias": random_f32(rng, (6,), 0.1),
        "head.weight": random_f32(rng, (2, 6), 0.4),
        "head.bias": random_f32(rng, (2,), 0.1),
    }
    return mlp, nested


def to_bf16_bits(values):
    """Round float32 values to bfloat16 (nearest, ties to even), as uint16 bit patterns."""
    bits = values.astype(np.float32).view(np.uint32).astype(np.uint64)
    rounding = 0x7FFF + ((bits >> 16) & 1)
    return ((bits + rounding) >> 16).astype(np.uint16)


def bf16_bits_to_f64(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def mlp_forward(weights, x):
    hidden = np.maximum(weights["hidden.weight"] @ x + weights["hidden.bias"], 0.0)
    return weights["out.weight"] @ hidden + weights["out.bias"]


def nested_forward(weights, x):
    features = np.tanh(weights["backbone.features.weight"] @ x + weights["backbone.features.bias"])
    return weights["head.weight"] @ features + weights["head.bias"]


def as_f64(weights):
    return {name: values.astype(np.float64) for name, values in weights.items()}


def write_bf16_file(path, bits_by_name):
    """Write BF16 tensors in the safetensors layout: an 8-byte little-endian header
    length, a JSON header padded with spaces to a multiple of 8, then the raw data."""
    header = {}
    data = b""
    for name in sorted(bits_by_name):
        bits = bits_by_name[name]
        raw = bits.astype("<u2").tobytes()
        header[name] = {
            "dtype": "BF16",
            "shape": list(bits.shape),
            "data_offsets": [len(data), len(data) + len(raw)],
        }
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as file:
        file.write(struct.pack("<Q", len(text)) + text + data)


def save_with_numpy(mlp, nested):
    safetensors.numpy.save_file(mlp, os.path.join(OUT_DIR, "mlp_f32.safetensors"))
    f16 = {name: values.astype(np.float16) for name, values in mlp.items()}
    safetensors.numpy.save_file(f16, os.path.join(OUT_DIR, "mlp_f16.safetensors"))
    bf16 = {name: to_bf16_bits(values) for name, values in mlp.items()}
    write_bf16_file(os.path.join(OUT_DIR, "mlp_bf16.safetensors"), bf16)
    safetensors.numpy.save_file(nested, os.path.join(OUT_DIR, "nested_f32.safetensors"))


def torch_models():
    class Mlp(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = torch.nn.Linear(4, 8)
            self.out = torch.nn.Linear(8, 3)

        def forward(self, x):
            return self.out(torch.relu(self.hidden(x)))

    class Backbone(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = torch.nn.Linear(4, 6)

        def forward(self, x):
            return torch.tanh(self.features(x))

    class Nested(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = Backbone()
            self.head = torch.nn.Linear(6, 2)

        def forward(self, x):
            return self.head(self.backbone(x))

    return Mlp(), Nested()


def save_with_torch(mlp, nested, inputs):
    mlp_model, nested_model = torch_models()
    for model, weights in [(mlp_model, mlp), (nested_model, nested)]:
        state = {name: torch.from_numpy(values) for name, values in weights.items()}
        # `strict=True` fails if PyTorch's state_dict keys differ from the names here.
        model.load_state_dict(state, strict=True)

    mlp_state = mlp_model.state_dict()
    safetensors.torch.save_file(mlp_state, os.path.join(OUT_DIR, "mlp_f32.safetensors"))
    f16_state = {name: value.to(torch.float16) for name, value in mlp_state.items()}
    safetensors.torch.save_file(f16_state, os.path.join(OUT_DIR, "mlp_f16.safetensors"))
    bf16_state = {name: value.to(torch.bfloat16) for name, value in mlp_state.items()}
    safetensors.torch.save_file(bf16_state, os.path.join(OUT_DIR, "mlp_bf16.safetensors"))
    safetensors.torch.save_file(nested_model.state_dict(), os.path.join(OUT_DIR, "nested_f32.safetensors"))

    for name, value in bf16_state.items():
        torch_bits = value.view(torch.int16).numpy().view(np.uint16)
        assert np.array_equal(torch_bits, to_bf16_bits(mlp[name])), f"bf16 rounding of {name}"

    with torch.no_grad():
        x = torch.from_numpy(np.stack(inputs))
        for model, weights, forward in [(mlp_model, mlp, mlp_forward), (nested_model, nested, nested_forward)]:
            expected = np.stack([forward(as_f64(weights), v.astype(np.float64)) for v in inputs])
            gap = np.max(np.abs(model(x).numpy().astype(np.float64) - expected))
            assert gap < 1e-6, f"PyTorch and numpy forward passes differ by {gap}"
            print(f"{type(model).__name__}: PyTorch float32 and numpy float64 agree to {gap:.2e}")


def stored_values(mlp):
    """The weights as each file stores them, converted exactly to float64."""
    return {
        "F32": as_f64(mlp),
        "F16": {name: values.astype(np.float16).astype(np.float64) for name, values in mlp.items()},
        "BF16": {name: bf16_bits_to_f64(to_bf16_bits(values)) for name, values in mlp.items()},
    }


def rust_float(value):
    text = repr(float(value))
    return text if ("." in text or "e" in text or "inf" in text) else text + ".0"


def rust_rows(rows):
    return "[" + ", ".join("[" + ", ".join(rust_float(v) for v in row) + "]" for row in rows) + "]"


def write_reference(inputs, outputs):
    lines = [
        "// Generated by tests/reference/make_weights_fixtures.py; do not edit by hand.",
        "// Forward passes computed by numpy in float64 from the weights stored in the",
        "// .safetensors files beside this file.",
        "",
        "/// The inputs of both networks; every value is exactly representable in f32.",
        f"pub const INPUTS: [[f32; 4]; {len(inputs)}] = "
        + "["
        + ", ".join("[" + ", ".join(np.format_float_positional(v, unique=True, trim="0") for v in x) + "]" for x in inputs)
        + "];",
    ]
    for name, (file_name, rows) in outputs.items():
        width = len(rows[0])
        lines.append("")
        lines.append(f"/// The outputs of the weights in `{file_name}` for [`INPUTS`].")
        lines.append(f"pub const {name}: [[f64; {width}]; {len(rows)}] = {rust_rows(rows)};")
    path = os.path.join(OUT_DIR, "reference.rs")
    with open(path, "w") as file:
        file.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--without-torch", action="store_true", help="write the files with numpy even when PyTorch is installed")
    args = parser.parse_args()
    os.makedirs(OUT_DIR, exist_ok=True)
    rng = np.random.default_rng(SEED)
    mlp, nested = make_weights(rng)
    inputs = [rng.uniform(-2.0, 2.0, size=4).astype(np.float32) for _ in range(INPUT_COUNT)]

    if torch is not None and not args.without_torch:
        save_with_torch(mlp, nested, inputs)
    else:
        print("writing the files with numpy, without PyTorch")
        save_with_numpy(mlp, nested)

    stored = stored_values(mlp)
    outputs = {}
    for dtype in ["F32", "F16", "BF16"]:
        rows = [mlp_forward(stored[dtype], x.astype(np.float64)) for x in inputs]
        outputs[f"MLP_{dtype}_OUTPUTS"] = (f"mlp_{dtype.lower()}.safetensors", rows)
    nested_rows = [nested_forward(as_f64(nested), x.astype(np.float64)) for x in inputs]
    outputs["NESTED_F32_OUTPUTS"] = ("nested_f32.safetensors", nested_rows)
    write_reference(inputs, outputs)

    for name in sorted(os.listdir(OUT_DIR)):
        print(f"{os.path.join(OUT_DIR, name)}: {os.path.getsize(os.path.join(OUT_DIR, name))} bytes")


if __name__ == "__main__":
    main()
