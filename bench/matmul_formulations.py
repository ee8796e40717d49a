"""Which NumPy formulation of a matrix product is fastest here, for the library's own shapes.

    python bench/matmul_formulations.py [--repeat 5]          (natively, BLAS pinned to 1 thread)
    node tinytorch_site/programs/pyodide_run.mjs PYODIDE_DIR --mount .:/repo --cwd /repo /repo/bench/matmul_formulations.py   (Pyodide: no BLAS)

For each product the library computes (Linear forward/backward, convolution, attention) it
times every candidate formulation and marks the one `tinytorch.kernels` picks on this runtime.
Timing: the best of --repeat calls in process CPU time (natively with one BLAS thread; in
Pyodide under Node, the Node process's CPU time), so a loaded machine barely disturbs it.
"""

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads

import numpy as np  # noqa: E402

from cpu_clock import cpu_time  # noqa: E402
from tinytorch import kernels  # noqa: E402
from tinytorch.platform import describe  # noqa: E402


def best_ms(fn, repeat):
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = cpu_time()
        fn()
        best = min(best, cpu_time() - start)
    return best * 1e3


def swap(a):
    return np.swapaxes(a, -1, -2)


CANDIDATES = {
    "matmul": lambda a, b: np.matmul(a, b),
    "einsum": lambda a, b: np.einsum("...ij,...jk->...ik", a, b),
    # the no-BLAS loop reads b down its columns: give it b with contiguous columns
    "matmul(b cols)": lambda a, b: np.matmul(a, swap(np.ascontiguousarray(swap(b)))),
    "kernels.mm": lambda a, b: kernels.mm(a, b),
}


def cases():
    """(name, a, b): operands with the layouts the library really passes."""
    rng = np.random.default_rng(0)

    def r(*shape):
        return rng.standard_normal(shape, dtype=np.float32)

    x, W, g = r(64, 1024), r(1024, 1024), r(64, 1024)
    xs, Ws, gs = r(512, 128), r(512, 128), r(512, 512)  # GPT MLP-ish: (B*T, C) and (4C, C)
    cols1, cols2 = r(1, 9, 64 * 28 * 28), r(1, 144, 64 * 14 * 14)  # conv im2col columns
    w1, w2, gc2 = r(1, 16, 9), r(1, 32, 144), r(1, 32, 64 * 14 * 14)
    q, k, v, p = r(8, 4, 64, 32), r(8, 4, 64, 32), r(8, 4, 64, 32), r(8, 4, 64, 64)
    ql, pl = r(1, 4, 256, 32), r(1, 4, 256, 256)  # one long sequence (block_size 256)
    return [
        ("linear fwd     x @ W.T", x, W.T),
        ("linear grad_x  g @ W", g, W),
        ("linear grad_W  g.T @ x", g.T, x),
        ("gpt fc fwd     x @ W.T", xs, Ws.T),
        ("gpt fc grad_x  g @ W", gs, Ws),
        ("gpt fc grad_W  g.T @ x", gs.T, xs),
        ("conv1 fwd      w @ cols", w1, cols1),
        ("conv2 fwd      w @ cols", w2, cols2),
        ("conv2 grad_col w.T @ g", swap(w2), gc2),
        ("conv2 grad_w   g @ cols.T", gc2, swap(cols2)),
        ("attn scores    q @ k.T", q, swap(k)),
        ("attn out       p @ v", p, v),
        ("attn grad_q    dS @ k", p, k),
        ("attn grad_k    dS.T @ q", swap(p), q),
        ("attn T=256     q @ k.T", ql, swap(ql)),
        ("attn T=256     p @ v", pl, ql),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(describe())
    print(f"best of {args.repeat}, CPU ms; '*' = fastest, kernels.mm = tinytorch's choice here\n")
    names = list(CANDIDATES)
    print(f"{'product':26s} {'a':>15s} {'b':>15s} " + " ".join(f"{n:>14s}" for n in names))
    for name, a, b in cases():
        expected = np.matmul(a, b)
        times = {}
        for cand in names:
            result = CANDIDATES[cand](a, b)
            scale = float(np.abs(expected).max())
            assert np.abs(result - expected).max() <= 1e-4 * scale, (name, cand)
            times[cand] = best_ms(lambda: CANDIDATES[cand](a, b), args.repeat)
        best = min(times[c] for c in names[:-1])
        cells = " ".join(f"{times[c]:13.2f}{'*' if times[c] == best else ' '}" for c in names)
        print(f"{name:26s} {str(a.shape):>15s} {str(b.shape):>15s} {cells}")


if __name__ == "__main__":
    main()
