"""Autograd engine overhead and training-step time vs PyTorch (prints figures; not a test).

Measures
  1. per-op overhead: a chain of 1,000 small elementwise ops, forward and backward;
  2. an MLP 784 -> 512 -> 512 -> 10 (batch 128) training step (forward, backward, SGD);
  3. a small GPT training step (4 layers, 4 heads, n_embd 128, block 64, batch 16),
both built from plain Tensor ops (no tinytorch.nn), and the same in PyTorch when installed.

Run: python bench/bench_autograd.py [--threads N] [--repeat R]

Both libraries get the same number of threads: torch.set_num_threads(N) and NumPy's BLAS via
OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS (set here before NumPy is imported,
unless already set). Times are the best of R runs, measured both as wall-clock time and as
process CPU time; on a busy machine the CPU time is the steadier figure (with 1 thread).
"""

import argparse
import io
import math
import os
import time
from contextlib import redirect_stdout

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--threads", type=int, default=1, help="threads for torch and for NumPy's BLAS (default 1)")
parser.add_argument("--repeat", type=int, default=7, help="timed runs per measurement (best is reported)")
ARGS = parser.parse_args()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, str(ARGS.threads))

import numpy as np  # noqa: E402  (after the thread settings)

import tinytorch as tt  # noqa: E402


def best_of(fn, repeat=None, warmup=2):
    """(best wall-clock seconds, best CPU seconds) over `repeat` runs."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeat or ARGS.repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return min(wall), min(cpu)


# ---------------------------------------------------------------------- 1. op chain

def chain_forward(lib, x, n_ops=1000):
    y = x
    for i in range(n_ops // 2):
        y = y * 1.0001
        y = y + 0.001
    return y


def chain_step(lib, x, n_ops=1000):
    chain_forward(lib, x, n_ops).sum().backward()


# ---------------------------------------------------------------------- 2. MLP

def mlp_params(lib, rng):
    sizes = [784, 512, 512, 10]
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        w = rng.standard_normal((n_out, n_in)).astype(np.float32) / math.sqrt(n_in)
        params += [lib.tensor(w, requires_grad=True), lib.tensor(np.zeros(n_out, np.float32), requires_grad=True)]
    return params


def mlp_step(lib, params, x, y, lr=0.01):
    h = x
    for i in range(0, len(params), 2):
        h = h @ params[i].T + params[i + 1]  # (B, n_out)
        if i + 2 < len(params):
            h = h.relu()
    logp = h.log_softmax(dim=-1)  # (B, 10)
    loss = -logp[lib.arange(len(y)), y].mean()
    for p in params:
        p.grad = None
    loss.backward()
    with lib.no_grad():
        for p in params:
            p -= lr * p.grad
    return loss


# ---------------------------------------------------------------------- 3. GPT

GPT = dict(vocab=65, block=64, n_embd=128, n_head=4, n_layer=4, batch=16)


def gpt_params(lib, rng):
    c, v, t = GPT["n_embd"], GPT["vocab"], GPT["block"]
    p = lambda *shape, std=0.02: lib.tensor((rng.standard_normal(shape) * std).astype(np.float32), requires_grad=True)
    ones = lambda n: lib.tensor(np.ones(n, np.float32), requires_grad=True)
    zeros = lambda n: lib.tensor(np.zeros(n, np.float32), requires_grad=True)
    params = {"wte": p(v, c), "wpe": p(t, c), "lnf_w": ones(c), "lnf_b": zeros(c)}
    for l in range(GPT["n_layer"]):
        params.update({
            f"{l}.ln1_w": ones(c), f"{l}.ln1_b": zeros(c),
            f"{l}.attn_w": p(3 * c, c), f"{l}.attn_b": zeros(3 * c),
            f"{l}.proj_w": p(c, c), f"{l}.proj_b": zeros(c),
            f"{l}.ln2_w": ones(c), f"{l}.ln2_b": zeros(c),
            f"{l}.fc_w": p(4 * c, c), f"{l}.fc_b": zeros(4 * c),
            f"{l}.fc2_w": p(c, 4 * c), f"{l}.fc2_b": zeros(c),
        })
    return params


def layer_norm(x, w, b, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / (var + eps).sqrt() * w + b


def gelu(lib, x):
    if lib is tt:
        return x.gelu(approximate="tanh")
    return lib.nn.functional.gelu(x, approximate="tanh")  # torch.Tensor has no .gelu method


def gpt_loss(lib, P, idx, targets):
    B, T = idx.shape
    C, H = GPT["n_embd"], GPT["n_head"]
    mask = lib.tensor(np.triu(np.ones((T, T), dtype=bool), k=1))
    x = P["wte"][idx] + P["wpe"][lib.arange(T)]  # (B, T, C)
    for l in range(GPT["n_layer"]):
        h = layer_norm(x, P[f"{l}.ln1_w"], P[f"{l}.ln1_b"])
        qkv = h @ P[f"{l}.attn_w"].T + P[f"{l}.attn_b"]  # (B, T, 3C)
        q, k, v = qkv.split(C, dim=2)
        q = q.view(B, T, H, C // H).transpose(1, 2)  # (B, H, T, hs)
        k = k.view(B, T, H, C // H).transpose(1, 2)
        v = v.view(B, T, H, C // H).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // H))  # (B, H, T, T)
        att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + (y @ P[f"{l}.proj_w"].T + P[f"{l}.proj_b"])
        h = layer_norm(x, P[f"{l}.ln2_w"], P[f"{l}.ln2_b"])
        h = gelu(lib, h @ P[f"{l}.fc_w"].T + P[f"{l}.fc_b"])
        x = x + (h @ P[f"{l}.fc2_w"].T + P[f"{l}.fc2_b"])
    x = layer_norm(x, P["lnf_w"], P["lnf_b"])
    logits = x @ P["wte"].T  # (B, T, vocab)
    logp = logits.reshape(B * T, -1).log_softmax(dim=-1)
    return -logp[lib.arange(B * T), targets.reshape(-1)].mean()


def gpt_step(lib, P, idx, targets, lr=1e-3):
    loss = gpt_loss(lib, P, idx, targets)
    for p in P.values():
        p.grad = None
    loss.backward()
    with lib.no_grad():
        for p in P.values():
            p -= lr * p.grad
    return loss


# ---------------------------------------------------------------------- driver

def run(lib, name):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((4,)).astype(np.float32), requires_grad=True)
    chain = best_of(lambda: chain_step(lib, x))
    chain_fwd = best_of(lambda: chain_forward(lib, x))

    params = mlp_params(lib, np.random.default_rng(0))
    xb = lib.tensor(rng.standard_normal((128, 784)).astype(np.float32))
    yb = lib.tensor(rng.integers(0, 10, 128))
    mlp = best_of(lambda: mlp_step(lib, params, xb, yb))

    P = gpt_params(lib, np.random.default_rng(0))
    idx = lib.tensor(rng.integers(0, GPT["vocab"], (GPT["batch"], GPT["block"])))
    tgt = lib.tensor(rng.integers(0, GPT["vocab"], (GPT["batch"], GPT["block"])))
    gpt = best_of(lambda: gpt_step(lib, P, idx, tgt))
    ms = lambda t: f"{t[0] * 1e3:7.2f} ms wall {t[1] * 1e3:7.2f} ms cpu"
    print(f"{name:10s} chain of 1000 ops fwd+bwd: {ms(chain)} ({chain[1] * 1e3:.1f} us/op cpu: "
          f"{chain_fwd[1] * 1e3:.1f} forward, {(chain[1] - chain_fwd[1]) * 1e3:.1f} backward)")
    print(f"{'':10s} MLP 784-512-512-10 step:   {ms(mlp)}")
    print(f"{'':10s} GPT step:                  {ms(gpt)}")
    return chain, mlp, gpt


def blas_summary():
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        np.show_config()
    text = buffer.getvalue()
    section = text[text.find("blas:"):text.find("lapack:")] if "blas:" in text else text
    lines = [l.strip() for l in section.splitlines() if l.strip().startswith(("name:", "openblas configuration", "version:"))]
    return "; ".join(dict.fromkeys(lines)) or "unknown"


def main():
    print(f"numpy {np.__version__}, BLAS: {blas_summary()}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    print(f"GPT config: {GPT}")
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(ARGS.threads)
        print(f"torch {torch.__version__}, torch.set_num_threads({ARGS.threads})")
    ours = run(tt, "tinytorch")
    if torch is None:
        print("torch not installed: no comparison")
        return
    theirs = run(torch, "torch")
    for label, a, b in zip(["chain", "MLP", "GPT"], ours, theirs):
        print(f"  {label:5s} tinytorch / torch = {a[0] / b[0]:5.2f}x wall, {a[1] / b[1]:5.2f}x cpu")


if __name__ == "__main__":
    main()
