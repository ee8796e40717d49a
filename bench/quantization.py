"""Post-training int8 quantization of a digits MLP: size, accuracy and latency, float32 vs int8.

Trains Linear 64->128, ReLU, Linear 128->64, ReLU, Linear 64->10 on the 8x8 digits (seeded),
calibrates on 4 training batches (min/max and 99.9th-percentile observers, per-channel
weight scales) and prints, for each variant: bytes of parameters and buffers (int8 weights +
float32 biases, scales and zero points), test accuracy, and batch-1 / batch-360 inference
latency with a 95% bootstrap interval. Targets: about 4x smaller, at most 1 point accuracy lost.

NumPy's integer matmul has no BLAS kernel, so natively int8 inference is *slower* than
float32 here: the gain this demonstrates is memory, not speed (integer hardware paths in
real runtimes are what turn it into speed).

Run: python bench/quantization.py [--epochs N] [--repeats N] [--json]
"""

import argparse
import os

import numpy as np

import tinytorch as tt
from tinytorch import nn, optim
from tinytorch.benchmarking import run_report
from tinytorch.datasets import load_digits
from tinytorch.platform import blas_name, describe
from tinytorch.quantization import model_size_bytes, quantize_model


def train_digits_mlp(epochs, seed=0):
    data = load_digits()
    x_train = data.x_train.reshape(len(data.x_train), -1)
    tt.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    order = np.random.default_rng(seed)
    for _ in range(epochs):
        perm = order.permutation(len(x_train))
        for i in range(0, len(perm), 64):
            batch = perm[i:i + 64]
            loss = loss_fn(model(tt.tensor(x_train[batch])), tt.tensor(data.y_train[batch]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model, x_train, data


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="also print the report as JSON")
    args = parser.parse_args()

    print(describe())
    threads = {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS") if k in os.environ}
    print(f"NumPy BLAS: {blas_name()}; thread settings: {threads or 'library defaults'} "
          "(run with OPENBLAS_NUM_THREADS=1 to match the single-threaded browser)")
    model, x_train, data = train_digits_mlp(args.epochs)
    x_test = tt.tensor(data.x_test.reshape(len(data.x_test), -1))
    calibration = [x_train[i:i + 64] for i in range(0, 256, 64)]
    variants = {
        "float32": model,
        "int8 minmax": quantize_model(model, calibration, observer="minmax"),
        "int8 p99.9": quantize_model(model, calibration, observer="percentile", percentile=99.9),
        "int8 per-tensor": quantize_model(model, calibration, per_channel=False),
    }

    def accuracy(m):
        with tt.no_grad():
            return float((m(x_test).data.argmax(axis=1) == data.y_test).mean())

    report = run_report({name: (m, accuracy) for name, m in variants.items()}, x_test,
                        repeats=args.repeats, title="digits MLP: float32 vs int8 (post-training quantization)")
    print(report)
    base_size, base_accuracy = model_size_bytes(model), accuracy(model)
    print()
    print(f"{'variant':16}  {'bytes':>7}  {'x smaller':>9}  {'accuracy':>8}  {'change':>7}")
    for name, m in variants.items():
        size, acc = model_size_bytes(m), accuracy(m)
        print(f"{name:16}  {size:7,}  {base_size / size:9.2f}  {acc:8.2%}  {(acc - base_accuracy) * 100:+6.2f}pt")
    weights = sum(p.data.nbytes for n, p in model.named_parameters() if n.endswith("weight"))
    q_weights = sum(b.data.nbytes for n, b in variants["int8 minmax"].named_buffers() if n.endswith(".weight"))
    print(f"weight matrices alone: {weights:,} -> {q_weights:,} bytes ({weights / q_weights:.2f}x)")
    if args.json:
        print(report.to_json())


if __name__ == "__main__":
    main()
