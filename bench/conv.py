"""Convolution benchmark: tinytorch's im2col conv2d vs a naive loop and vs PyTorch.

    python bench/conv.py [--threads 1] [--repeat 10]

--threads sets both PyTorch's threads and NumPy's BLAS threads (default 1: like for like).

Prints (1) forward+backward time of Conv2d against a nested-Python-loop reference at a small
size, (2) tinytorch vs PyTorch CPU at the benchmark CNN's layer sizes, (3) the two matrix-
product formulations of tinytorch.kernels (`@` vs einsum) so the runtime's choice can be checked, and
(4) a whole training step of the benchmark CNN. Runs in Pyodide too (PyTorch parts skipped).
"""

import argparse
import os
import platform
import sys
import time


def parse_args():
    parser = argparse.ArgumentParser(description="Convolution benchmark: tinytorch vs a naive loop and PyTorch")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch and NumPy-BLAS threads (default 1)")
    parser.add_argument("--repeat", type=int, default=10, help="timed repetitions; the best is reported")
    return parser.parse_args()


ARGS = parse_args()
# Same thread count for NumPy's BLAS as for PyTorch; this must happen before NumPy loads.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, str(ARGS.threads))

import numpy as np  # noqa: E402

from cpu_clock import CLOCK_NAME, cpu_time  # noqa: E402

import tinytorch as tt  # noqa: E402
import tinytorch.nn as nn  # noqa: E402
import tinytorch.nn.functional as F  # noqa: E402
from tinytorch import kernels  # noqa: E402


# Single-threaded runs are timed in CPU time of this process (of Node, under Pyodide), which
# other load on a shared machine barely disturbs; multi-threaded runs in wall time.
CPU_CLOCK = ARGS.threads == 1
clock = cpu_time if CPU_CLOCK else time.perf_counter


def best_time(fn, repeat):
    """Best time of `repeat` calls after one warm-up, in seconds."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best


def blas_name():
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version', '')}".strip() if blas.get("found") else "none"
    except Exception:  # older NumPy or a build without the dict form
        return "unknown"


# ---------------------------------------------------------------------- naive reference


def naive_conv2d_forward_backward(x, w, b, grad_out, padding):
    """Textbook convolution: a Python loop over every (image, out channel, output pixel)."""
    N, C, H, W = x.shape
    O, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    Ho, Wo = xp.shape[2] - kh + 1, xp.shape[3] - kw + 1
    out = np.zeros((N, O, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for o in range(O):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, o, i, j] = np.sum(xp[n, :, i:i + kh, j:j + kw] * w[o]) + b[o]
    grad_xp, grad_w = np.zeros_like(xp), np.zeros_like(w)
    grad_b = grad_out.sum(axis=(0, 2, 3))
    for n in range(N):
        for o in range(O):
            for i in range(Ho):
                for j in range(Wo):
                    g = grad_out[n, o, i, j]
                    grad_xp[n, :, i:i + kh, j:j + kw] += g * w[o]
                    grad_w[o] += g * xp[n, :, i:i + kh, j:j + kw]
    return out, grad_xp[:, :, padding:padding + H, padding:padding + W], grad_w, grad_b


def tinytorch_forward_backward(x, w, b, grad_out, padding):
    xt, wt, bt = (tt.tensor(a, requires_grad=True) for a in (x, w, b))
    out = F.conv2d(xt, wt, bt, padding=padding)
    out.backward(grad_out)
    return out.numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


def compare_with_naive(repeat):
    rng = np.random.default_rng(0)
    N, C, O, H, k, pad = 8, 3, 16, 16, 3, 1
    x = rng.standard_normal((N, C, H, H), dtype=np.float32)
    w = rng.standard_normal((O, C, k, k), dtype=np.float32)
    b = rng.standard_normal(O, dtype=np.float32)
    g = rng.standard_normal((N, O, H, H), dtype=np.float32)
    start = clock()
    expected = naive_conv2d_forward_backward(x, w, b, g, pad)
    naive = clock() - start
    ours = best_time(lambda: tinytorch_forward_backward(x, w, b, g, pad), repeat)
    for a, e in zip(tinytorch_forward_backward(x, w, b, g, pad), expected):
        np.testing.assert_allclose(a, e, rtol=1e-3, atol=1e-3)
    print(f"\n1) Conv2d {C}->{O}, {k}x{k} pad {pad}, batch {N}, {H}x{H}, forward+backward (float32)")
    print(f"   naive Python loops : {naive * 1e3:9.1f} ms")
    print(f"   tinytorch im2col   : {ours * 1e3:9.2f} ms   speed-up {naive / ours:,.0f}x")


# ---------------------------------------------------------------------- vs PyTorch

# The benchmark CNN: Conv 1->16 3x3 pad 1, ReLU, MaxPool 2, Conv 16->32 3x3 pad 1, ReLU, MaxPool 2, Linear -> 10.
LAYERS = [("conv1 1->16, 28x28", (64, 1, 28, 28), 16), ("conv2 16->32, 14x14", (64, 16, 14, 14), 32)]


def layer_inputs(shape, out_channels, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape, dtype=np.float32)
    w = rng.standard_normal((out_channels, shape[1], 3, 3), dtype=np.float32) * 0.1
    b = rng.standard_normal(out_channels, dtype=np.float32)
    g = rng.standard_normal((shape[0], out_channels) + shape[2:], dtype=np.float32)
    return x, w, b, g


def torch_forward_backward(torch, x, w, b, g):
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    out = torch.nn.functional.conv2d(xt, wt, bt, padding=1)
    out.backward(torch.tensor(g))


def compare_with_pytorch(repeat, threads):
    try:
        import torch
    except ImportError:
        print("\n2) PyTorch not importable here: skipped")
        return
    torch.set_num_threads(threads)
    print(f"\n2) Forward+backward at the benchmark CNN's layer sizes (batch 64, float32); "
          f"PyTorch {torch.__version__} CPU, torch.set_num_threads({threads})")
    for name, shape, out_channels in LAYERS:
        x, w, b, g = layer_inputs(shape, out_channels)
        ours = best_time(lambda: tinytorch_forward_backward(x, w, b, g, 1), repeat)
        theirs = best_time(lambda: torch_forward_backward(torch, x, w, b, g), repeat)
        print(f"   {name:22s} tinytorch {ours * 1e3:7.2f} ms   PyTorch {theirs * 1e3:7.2f} ms   ratio {ours / theirs:5.1f}x")


def compare_formulations(repeat):
    print("\n3) Matrix-product formulation of the convolution (tinytorch.kernels), forward+backward (batch 64)")
    chosen = kernels.FORMULATION
    try:
        for name, shape, out_channels in LAYERS:
            x, w, b, g = layer_inputs(shape, out_channels)
            times = {}
            for formulation in ("matmul", "einsum"):
                kernels.FORMULATION = formulation
                times[formulation] = best_time(lambda: tinytorch_forward_backward(x, w, b, g, 1), repeat)
            print(f"   {name:22s} matmul (@) {times['matmul'] * 1e3:7.2f} ms   einsum {times['einsum'] * 1e3:7.2f} ms")
    finally:
        kernels.FORMULATION = chosen
    x = layer_inputs(*LAYERS[1][1:])[0]
    cols = np.ones((1, x.shape[1] * 9, x.shape[0] * x.shape[2] * x.shape[3]), dtype=np.float32)
    used = "einsum" if kernels.uses_einsum(np.ones((1, 32, cols.shape[1]), dtype=np.float32), cols) else "matmul (@)"
    print(f"   this runtime uses: {used}")


def cnn_step(repeat, threads):
    print("\n4) Benchmark CNN training step (forward, cross-entropy, backward), batch 64, 28x28")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    tt.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    )

    def ours():
        model.zero_grad()
        F.cross_entropy(model(tt.tensor(x)), tt.tensor(y)).backward()

    t_ours = best_time(ours, repeat)
    line = f"   tinytorch {t_ours * 1e3:7.2f} ms"
    try:
        import torch
    except ImportError:
        print(line)
        return
    torch.set_num_threads(threads)
    ref = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 7 * 7, 10),
    )
    xt, yt = torch.tensor(x), torch.tensor(y)

    def theirs():
        ref.zero_grad()
        torch.nn.functional.cross_entropy(ref(xt), yt).backward()

    t_theirs = best_time(theirs, repeat)
    print(f"{line}   PyTorch {t_theirs * 1e3:7.2f} ms   ratio {t_ours / t_theirs:5.1f}x")


def main():
    args = ARGS
    print(f"Python {platform.python_version()} ({sys.platform}), NumPy {np.__version__}, BLAS: {blas_name()} "
          f"(OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')})")
    print(f"Timing: best of {args.repeat}, {CLOCK_NAME if CPU_CLOCK else 'wall time'}")
    compare_with_naive(args.repeat)
    compare_with_pytorch(args.repeat, args.threads)
    compare_formulations(args.repeat)
    cnn_step(args.repeat, args.threads)


if __name__ == "__main__":
    main()
