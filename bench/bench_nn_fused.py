"""Fused nn ops vs the same maths composed from Tensor ops, and vs PyTorch (prints figures).

  linear         F.linear (one node, hand-written backward) vs `x @ W.T + b` (matmul, permute, add)
  cross_entropy  F.cross_entropy (one node) vs `-log_softmax(x)[arange(N), y].mean()`
Each case times forward + backward, median of --repeat runs, float32.
NumPy's BLAS and PyTorch are limited to --threads threads (default 1, like the browser).

Run: python bench/bench_nn_fused.py [--threads N] [--repeat N]
"""

import argparse
import statistics
import time

import numpy as np

import tinytorch as tt
import tinytorch.nn.functional as F
from blas_threads import limit_threads, print_runtime

try:
    import torch
except ImportError:
    torch = None

def median_ms(fn, repeat, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def linear_cases(repeat):
    rng = np.random.default_rng(0)
    for x_shape, out_features in [((128, 784), 512), ((64, 512), 10), ((16, 64, 128), 512), ((16, 64, 512), 128)]:
        in_features = x_shape[-1]
        x_np = rng.normal(size=x_shape).astype(np.float32)
        w_np = rng.normal(size=(out_features, in_features)).astype(np.float32) * 0.05
        b_np = np.zeros(out_features, np.float32)
        g_np = np.ones(x_shape[:-1] + (out_features,), np.float32)
        x, w, b = (tt.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))

        def fused():
            F.linear(x, w, b).backward(g_np)

        def composed():
            (x @ w.T + b).backward(g_np)

        row = {"fused": median_ms(fused, repeat), "composed": median_ms(composed, repeat)}
        if torch is not None:
            xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
            gt = torch.tensor(g_np)
            row["torch"] = median_ms(lambda: torch.nn.functional.linear(xt, wt, bt).backward(gt), repeat)
        yield f"linear {x_shape} -> {out_features}", row


def cross_entropy_cases(repeat):
    rng = np.random.default_rng(0)
    for n, c in [(128, 10), (4096, 65), (1024, 1000)]:
        logits_np = rng.normal(size=(n, c)).astype(np.float32)
        y_np = rng.integers(0, c, size=n)
        logits, y = tt.tensor(logits_np, requires_grad=True), tt.tensor(y_np)
        rows = tt.arange(n)

        def fused():
            F.cross_entropy(logits, y).backward()

        def composed():
            (-logits.log_softmax(1)[rows, y]).mean().backward()

        row = {"fused": median_ms(fused, repeat), "composed": median_ms(composed, repeat)}
        if torch is not None:
            lt, yt = torch.tensor(logits_np, requires_grad=True), torch.tensor(y_np)
            row["torch"] = median_ms(lambda: torch.nn.functional.cross_entropy(lt, yt).backward(), repeat)
        yield f"cross_entropy ({n}, {c})", row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="threads for NumPy's BLAS and PyTorch (0: defaults)")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with limit_threads(args.threads, torch):
        print_runtime(args.threads, torch)
        print(f"{'case (forward + backward, ms)':40s} {'fused':>8s} {'composed':>9s} {'torch':>8s}")
        for cases in (linear_cases, cross_entropy_cases):
            for name, row in cases(args.repeat):
                torch_ms = f"{row['torch']:8.2f}" if "torch" in row else f"{'-':>8s}"
                print(f"{name:40s} {row['fused']:8.2f} {row['composed']:9.2f} {torch_ms}")


if __name__ == "__main__":
    main()
