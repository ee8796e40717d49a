# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Module 18: Acceleration
#
# The same arithmetic can run at very different speeds depending on how it is written: as
# Python loops, as one NumPy call, as many small calls over tiles, as one fused pass instead
# of a chain of operations, in 32-bit or 16-bit numbers. Which way is fastest is not a fixed
# fact: it depends on the runtime (this course runs both in the browser, where NumPy has no
# BLAS, and natively, where it has one). In this module you write a tiled matrix product, a
# fused bias + GELU with its own backward, the rule behind dynamic loss scaling for
# float16 training, and an inference compiler that turns a trained MLP into plain NumPy
# steps, and you measure every alternative on the runtime you are using.
#
# **Learning objectives.** By the end of this module you can:
#
# - compare formulations of the same arithmetic (loops, one call, tiles, einsum) on your
#   runtime
# - write a tiled matrix product and a fused bias + GELU with its own backward
# - write the dynamic loss-scaling rule and explain float16's range and precision limits
# - compile an MLP (float or int8) into NumPy steps with the product chosen per layer by
#   measurement, and decide from measurements whether time goes to arithmetic, memory or
#   per-call overhead

# %%
import os
import subprocess
import sys
import time
import tracemalloc

import matplotlib.pyplot as plt
import numpy as np

import tinytorch as tt
from tinytorch import Tensor, nn
from tinytorch.acceleration import (
    CONV2D_FORMULATIONS, MATMUL_FORMULATIONS, bias_gelu as reference_bias_gelu, choose_fastest,
)
import tinytorch.mine
from tinytorch.checks import check_bias_gelu, check_compiled_mlp, check_matmul_tiled, check_update_scale
from tinytorch.datasets import load_digits
from tinytorch.platform import describe, native_handoff
from tinytorch.profiling.timing import best_time  # fastest of several calls, in seconds
# Components of earlier modules: yours where saved, else tinytorch's (one line each says which).
from tinytorch.mine import Linear, Sequential, SGD

print(describe())

# %% [markdown]
# ## One product, five formulations
#
# A matrix product `(M, K) @ (K, N)` is `2 M K N` floating-point operations however it is
# written. `tinytorch.acceleration` has five ways to write it:
#
# | formulation | what runs |
# |---|---|
# | naive loops | three nested Python loops: one multiply-add per Python step |
# | vectorized (`@`) | NumPy's matmul: a BLAS library (OpenBLAS, MKL, Accelerate) when NumPy has one, else NumPy's own loops |
# | einsum | `np.einsum('ik,kj->ij')`: NumPy's own vectorized sum-of-products loops, never BLAS |
# | tensordot | `np.tensordot`: reshapes, then the same call as `@` |
# | blocked | Python loops over 64 x 64 tiles, `@` on each tile |
#
# `choose_fastest` times each candidate on the same inputs (after checking that they all
# agree) and ranks them. First at 32 x 32, where the naive loops can still finish:

# %%
rng = np.random.default_rng(0)
small = rng.standard_normal((32, 32)).astype(np.float32)
fastest_small, table = choose_fastest(MATMUL_FORMULATIONS, small, small, repeats=3)
print(table)

# %% [markdown]
# The Python loops lose by three or four orders of magnitude: each of their 32,768 steps
# runs the interpreter, boxes two numbers into Python floats and unboxes the result. Every
# other formulation runs the same loops in compiled code. Now without them, at 256 x 256:

# %%
size = 256
big = rng.standard_normal((size, size)).astype(np.float32)
candidates = {k: f for k, f in MATMUL_FORMULATIONS.items() if k != "naive loops"}
fastest_matmul, table = choose_fastest(candidates, big, big, repeats=5)
print(table)
print(f"\n{2 * size**3 / (table.rows[0]['median_ms'] / 1e3) / 1e9:.2f} GFLOP/s with {fastest_matmul}")

# %% [markdown]
# Read the platform line above the table. **Natively**, NumPy calls a BLAS, whose matrix
# product is hand-tuned assembly: vector instructions, tiles sized to each cache level,
# several cores. `@`, `tensordot` and `blocked` all end in that BLAS and `einsum` (which does
# not use it by default) is many times slower. **In the browser** there is no BLAS: `@`
# falls back to NumPy's plain loops, and `einsum`'s loops, which use the processor's vector
# instructions, usually win by 2 to 3x. The fastest formulation is a property of the
# runtime, which is why libraries such as PyTorch measure ("autotune") rather than assume.
#
# ## Tiling
#
# A processor computes far faster than memory can feed it. Between them sits a hierarchy
# of caches, each smaller and faster than the next:
#
# ```
#   registers   < 1 KB     ~1 cycle
#   L1 cache    32-64 KB   ~4 cycles
#   L2 cache    0.5-2 MB   ~12 cycles
#   L3 cache    8-64 MB    ~40 cycles
#   main memory GBs        ~200 cycles
# ```
#
# A naive `(n, n) @ (n, n)` reads every element of `b` once for each row of `a`; once `b`
# no longer fits in cache, every pass fetches it from a slower level again. **Tiling**
# splits the product into small blocks that do fit, and finishes all the work on a block
# while it is in cache:
#
# ```
#        b: tiles (p, j)                 out[i, j] = sum over p of  a[i, p] @ b[p, j]
#   a: tiles (i, p)   ->   out (i, j)
#
#   for each output tile (i, j):
#       for each p:  out_tile += a_tile(i, p) @ b_tile(p, j)     three tiles in cache
# ```
#
# BLAS libraries tile at every cache level and for the registers. Here you write the
# outermost level in Python, with `@` for each tile product. Sizes need not be multiples of
# the tile: a slice past the end of an array is simply shorter, so the last tile of each
# row or column is a partial one.

# %%
def matmul_tiled(a, b, tile=64):
    """a (M, K) @ b (K, N) as a NumPy array of the inputs' dtype, computed tile by tile:
    every product is between slices of at most tile x tile."""
    ### BEGIN SOLUTION
    # HINT: an (M, N) output in the inputs' common dtype, accumulated block by block: every output block adds the products of the matching row block of a and column block of b
    m, k = a.shape
    n = b.shape[1]
    out = np.zeros((m, n), dtype=np.result_type(a, b))
    for i in range(0, m, tile):
        for j in range(0, n, tile):
            block = out[i:i + tile, j:j + tile]  # a view: += writes into out
            for p in range(0, k, tile):
                block += a[i:i + tile, p:p + tile] @ b[p:p + tile, j:j + tile]
    return out
    ### END SOLUTION


# %% tags=["check"]
check_matmul_tiled(matmul_tiled)

# %% [markdown]
# How does the tile size matter here? Each tile product is one NumPy call with a fixed
# overhead (microseconds), so tiny tiles drown in overhead; large tiles are a single call.

# %%
# Yours where saved (tinytorch's where the check did not pass); MATMUL_FORMULATIONS["blocked"]
# runs it too once it is in use.
tinytorch.mine.use("matmul_tiled")
tiled = tinytorch.mine.load("matmul_tiled")


tiles = [16, 32, 64, 128, 256]
tile_ms = [best_time(tiled, big, big, t, repeats=2) * 1e3 for t in tiles]
whole_ms = best_time(np.matmul, big, big, repeats=3) * 1e3
einsum_ms = best_time(np.einsum, "ik,kj->ij", big, big, repeats=3) * 1e3
for t, ms in zip(tiles, tile_ms):
    print(f"tile {t:3d}: {ms:8.2f} ms  ({(size // t) ** 3:5d} tile products)")
print(f"one @:    {whole_ms:8.2f} ms;  one einsum: {einsum_ms:8.2f} ms")

plt.figure(figsize=(6, 3.5))
plt.plot(tiles, tile_ms, "o-", label="your tiled product")
plt.axhline(whole_ms, color="C1", ls="--", label="a @ b")
plt.axhline(einsum_ms, color="C2", ls=":", label="einsum")
plt.xscale("log", base=2)
plt.yscale("log")
plt.xlabel("tile size")
plt.ylabel("ms (256 x 256 @ 256 x 256)")
plt.title(describe().split(";")[0])
plt.legend()
plt.show()

# %% [markdown]
# Natively, `a @ b` already tiles inside BLAS, so Python-level tiling can only add overhead;
# at 16 x 16 that overhead is most of the time. Without BLAS, in the browser, NumPy's plain
# loops do not tile, and at larger sizes (where `b` outgrows the cache) moderate tiles can
# beat a single `@`. Cache effects are measured directly in the systems analysis below.
#
# ## Convolution formulations
#
# Module 09 built convolution as im2col + one matrix product. There are other ways to write
# it, and again the fastest depends on the runtime. A batch of 64 feature maps shaped like
# the digits CNN's second layer (8 channels, 8 x 8, 16 filters of 3 x 3, padding 1):

# %%
x = rng.standard_normal((64, 8, 8, 8)).astype(np.float32)
w = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
naive_ms = best_time(CONV2D_FORMULATIONS["naive loops"], x[:2], w, 1, 1, repeats=1) * 1e3 / 2 * 64
fast_conv = {k: f for k, f in CONV2D_FORMULATIONS.items() if k != "naive loops"}
fastest_conv, table = choose_fastest(fast_conv, x, w, padding=1, repeats=5)
print(table)
print(f"naive loops over output pixels (estimated from 2 images): {naive_ms:.0f} ms")

# %% [markdown]
# `tensordot` contracts the strided window view directly (no copied im2col matrix); `im2col
# + matmul` copies the windows into one matrix and hands it to `@` (BLAS, where there is
# one). Which wins depends on the same question as before: is there a BLAS, and how large is
# the product compared with the copy?
#
# ## Fusion
#
# Every Tensor operation reads its inputs from memory, writes a new array, and (when
# gradients are recorded) adds a graph node that backward visits. GELU with a bias, written
# as separate operations, is about ten of them (the measurement below counts them):
#
# ```
#   z = x + b;  z3 = z * z * z;  inner = (z + 0.044715 * z3) * sqrt(2/pi);  t = tanh(inner)
#   out = 0.5 * z * (1 + t)            one node, one full-size temporary, one backward step each
# ```
#
# **Fused**, the whole expression is one operation: one forward pass over the data in NumPy
# and one hand-written backward, using the derivative
#
# ```
#   gelu(z)  = 0.5 z (1 + t),                      t = tanh(c (z + a z^3)),  c = sqrt(2/pi), a = 0.044715
#   gelu'(z) = 0.5 (1 + t) + 0.5 z (1 - t^2) c (1 + 3 a z^2)
# ```
#
# Record it with `Tensor._result(out, (input, bias), backward, "BiasGeluBackward")` (module
# 05): `backward(g)` returns one gradient per parent. The bias was broadcast over every
# leading dimension of the input, so its gradient is summed over them. Keep constants as
# Python floats (`math.sqrt`): a NumPy float64 scalar would turn float32 arrays into float64.

# %%
C = 0.7978845608028654  # math.sqrt(2 / math.pi)
A = 0.044715  # the cubic coefficient of GELU's tanh approximation


def bias_gelu(input, bias):
    """gelu_tanh(input + bias) for input (*, F) and bias (F,), as one graph node."""
    ### BEGIN SOLUTION
    # HINT: one recorded operation: the forward pass on the raw arrays, and a backward that returns the gradient for the input (upstream times gelu' of the biased input) and for the bias (that, summed over the leading axes)
    z = input.data + bias.data
    t = z * z  # in place from here: every temporary is a full pass over memory
    t *= A
    t += 1.0
    t *= z
    t *= C
    np.tanh(t, out=t)  # t = tanh(c (z + a z^3))
    out = t + 1.0
    out *= z
    out *= 0.5

    def backward(g):
        slope = z * z
        slope *= 3.0 * A
        slope += 1.0
        slope *= z * C * 0.5
        slope *= 1.0 - t * t
        slope += 0.5 * (1.0 + t)  # gelu'(z)
        slope *= g
        return slope, slope.reshape(-1, slope.shape[-1]).sum(axis=0)

    return Tensor._result(out, (input, bias), backward, "BiasGeluBackward")
    ### END SOLUTION


# %% tags=["check"]
check_bias_gelu(bias_gelu)

# %% [markdown]
# What fusion buys, for an MLP-sized activation (512 x 512) forward and backward: graph
# nodes, peak temporary memory, and time. tinytorch's `Tensor.gelu` is in between: one node
# for the GELU, one for the bias add.

# %%
fused = tinytorch.mine.load("bias_gelu")  # yours where saved (tinytorch's where the check did not pass)


def graph_nodes(t):
    seen, stack = set(), [t]
    while stack:
        node = stack.pop()
        if id(node) not in seen and node.grad_fn is not None:
            seen.add(id(node))
            stack.extend(node._parents)
    return len(seen)


def forward_backward(fn):
    def run(x, b):
        x.grad = b.grad = None
        fn(x, b).sum().backward()
        return x.grad.data, b.grad.data
    return run


variants = {
    "op chain": lambda x, b: tt.acceleration.gelu_op_chain(x + b),
    "add + Tensor.gelu": lambda x, b: (x + b).gelu(approximate="tanh"),
    "your fused bias_gelu": fused,
    "tinytorch's bias_gelu": reference_bias_gelu,
}
xs = Tensor(rng.standard_normal((512, 512)).astype(np.float32), requires_grad=True)
bs = Tensor(rng.standard_normal(512).astype(np.float32), requires_grad=True)
_, table = choose_fastest({k: forward_backward(f) for k, f in variants.items()}, xs, bs, repeats=5, rtol=1e-3)
print(table)
nodes = {}
for label, fn in variants.items():
    tracemalloc.start()
    forward_backward(fn)(xs, bs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    nodes[label] = graph_nodes(fn(xs, bs))
    print(f"{label:22s} {nodes[label]:3d} graph nodes; peak temporaries {peak / 2**20:6.1f} MiB "
          f"({peak / xs.data.nbytes:4.1f} x the input)")
assert nodes["your fused bias_gelu"] == 1 < nodes["add + Tensor.gelu"] < nodes["op chain"], \
    "fusion should leave one graph node where the op chain has many"

# %% [markdown]
# The arithmetic is the same; what fusion removes is graph nodes (and the tensors each one
# saves for backward), allocations, and passes over memory: each unfused operation streams a
# full array out to memory and back. Whether that saves much *time* depends on what else
# costs time. Natively, NumPy's `tanh` uses vector instructions and the passes over memory
# dominate, so fusion pays; in WebAssembly `tanh` is computed one number at a time and
# dominates the op chain's cost, so all variants come out close. Within the fused versions,
# how the kernel is written matters too: every NumPy expression like `0.5 * z * (1 + t)` still
# makes a pass and a temporary per operator, which in-place updates (`t *= z`,
# `np.tanh(t, out=t)`) avoid. On a GPU, one kernel instead of ten is the main job of
# compilers such as `torch.compile` and XLA: for elementwise operations, memory traffic, not
# arithmetic, usually sets the time.
#
# ## Half precision
#
# float16 stores a number in 2 bytes instead of 4. It halves memory and memory traffic, but
# it has only 10 bits of mantissa and 5 of exponent:

# %%
for dtype in (np.float32, np.float16):
    info = np.finfo(dtype)
    print(f"{info.dtype}: {info.bits} bits, relative precision {float(info.eps):.1e}, largest {float(info.max):.3g}, "
          f"smallest normal {float(info.smallest_normal):.2e}, smallest subnormal {float(info.smallest_subnormal):.1e}")

# %% [markdown]
# What does float16 buy in NumPy? Measure a memory-bound operation (a copy) and a
# compute-bound one (a matrix product) in both precisions.

# %%
data32 = rng.standard_normal(2_000_000).astype(np.float32)
data16 = data32.astype(np.float16)
m32 = big[:128, :128].copy()
m16 = m32.astype(np.float16)
copy32, copy16 = best_time(data32.copy) * 1e3, best_time(data16.copy) * 1e3
mm32, mm16 = best_time(np.matmul, m32, m32) * 1e3, best_time(np.matmul, m16, m16, repeats=3) * 1e3
print(f"copy 2M numbers:    float32 {copy32:7.3f} ms ({data32.nbytes / 2**20:.0f} MiB), "
      f"float16 {copy16:7.3f} ms ({data16.nbytes / 2**20:.0f} MiB): {copy32 / copy16:.1f}x faster")
print(f"128 x 128 matmul:   float32 {mm32:7.3f} ms, float16 {mm16:7.3f} ms: {mm16 / mm32:.0f}x SLOWER")

# %% [markdown]
# Moving half the bytes is faster; computing in float16 in NumPy is much slower, because
# CPUs (and WebAssembly) have no float16 arithmetic that NumPy uses: it converts every
# number to float32 and back. GPUs and recent CPUs do have it (tensor cores multiply float16
# and accumulate in float32). So in NumPy, float16 is a **storage** format: keep weights,
# activations or gradients in it to save memory, compute in float32.
#
# ### Gradients underflow
#
# The danger of float16 for training is its range: a gradient smaller than `6e-8` becomes
# exactly zero, and below `6e-5` it keeps only a few bits. Gradients shrink as a model
# learns. Train the digits MLP of module 07 in float32 and look at its gradients:

# %%
digits = load_digits()
x_train = digits.x_train.reshape(len(digits.x_train), -1)
x_test = tt.tensor(digits.x_test.reshape(len(digits.x_test), -1))


def mlp():
    tt.manual_seed(0)
    return Sequential(Linear(64, 128), nn.ReLU(), Linear(128, 64), nn.ReLU(), Linear(64, 10))


def accuracy(model):
    with tt.no_grad():
        return float((model(x_test).data.argmax(axis=1) == digits.y_test).mean())


def batches(epochs, seed=0):
    order = np.random.default_rng(seed)
    for _ in range(epochs):
        for index in np.array_split(order.permutation(len(x_train)), len(x_train) // 64):
            yield tt.tensor(x_train[index]), tt.tensor(digits.y_train[index])


model = mlp()
optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
recent = []
for step, (inputs, targets) in enumerate(batches(6)):
    loss = nn.functional.cross_entropy(model(inputs), targets)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step >= 6 * (len(x_train) // 64) - 20:  # the last 20 steps
        recent.append(np.concatenate([p.grad.data.ravel() for p in model.parameters()]))
grads = np.concatenate(recent)
grads = np.abs(grads[grads != 0])
tiny = np.finfo(np.float16)
print(f"last 20 steps of 6 epochs (test accuracy {accuracy(model):.1%}): of {grads.size:,} non-zero gradient values")
print(f"  {np.mean(grads < float(tiny.smallest_subnormal) / 2):6.2%} become 0 in float16")
print(f"  {np.mean(grads < tiny.smallest_normal):6.2%} are subnormal in float16 (fewer than 10 bits kept)")
print(f"  {np.mean(grads * 2**16 > tiny.max):6.2%} would overflow if multiplied by 2^16")

plt.figure(figsize=(6, 3))
plt.hist(np.log10(grads), bins=60)
plt.axvline(np.log10(float(tiny.smallest_subnormal)), color="r", label="float16: 0 below")
plt.axvline(np.log10(float(tiny.smallest_normal)), color="orange", label="float16: subnormal below")
plt.xlabel("log10 |gradient|")
plt.ylabel("count")
plt.legend(fontsize=8)
plt.show()

# %% [markdown]
# ### Loss scaling
#
# Multiply the loss by a large factor `S` before backward: by the chain rule every gradient
# is multiplied by `S` too, which shifts the whole histogram to the right, out of the
# underflow zone. Divide by `S` (in float32) before the update. If `S` is too large some
# gradient overflows to `inf`; then that step is skipped and `S` is reduced. **Dynamic**
# loss scaling (PyTorch's `GradScaler`, tinytorch's `LossScaler`) adjusts `S` by itself:
#
# ```
#   overflow (inf or NaN in a gradient):   S = S * backoff_factor (0.5);  skip the step;  restart the count
#   clean step:                            count += 1;  after growth_interval clean steps in a row:
#                                          S = S * growth_factor (2);  restart the count
# ```
#
# It keeps `S` just below the largest value that overflows, probing upwards from time to
# time. Write the rule.

# %%
def update_scale(scale, good_steps, found_inf, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000):
    """(new scale, new good_steps) after one step; found_inf says whether that step's
    gradients had an inf or NaN; good_steps counts the clean steps in a row since the scale
    last changed."""
    ### BEGIN SOLUTION
    # HINT: an overflow backs off and restarts the count; a clean step counts, and growth happens when the count reaches growth_interval (then it restarts)
    if found_inf:
        return scale * backoff_factor, 0
    good_steps += 1
    if good_steps == growth_interval:
        return scale * growth_factor, 0
    return scale, good_steps
    ### END SOLUTION


# %% tags=["check"]
check_update_scale(update_scale)

# %% [markdown]
# ### Use it: training with float16 gradients
#
# Four runs of the same MLP, same data order. NumPy computes in float32 (float16 arithmetic
# would be far slower, as measured above), but each gradient is **stored in float16**, which
# is where underflow and overflow happen; weights are stored in float16 too, with a float32
# master copy that accumulates the updates (an update smaller than the float16 spacing
# around a weight would otherwise be lost: `float16(0.1) + 1e-5 == float16(0.1)`).
#
# - float32 throughout (the reference)
# - float16 gradients, no loss scaling
# - float16 gradients with your dynamic loss scaling (growth every 20 clean steps, so the
#   short run shows it adjusting)
# - the same, but the float16 weights updated directly, without a float32 master copy

# %%
# Yours where saved; tinytorch's LossScaler.update steps the scale with it too once in use.
tinytorch.mine.use("matmul_tiled", "update_scale")
rule = tinytorch.mine.load("update_scale")


def train_half(store=np.float16, scaling=False, master=True, epochs=6, lr=0.1):
    model = mlp()
    params = list(model.parameters())
    masters = [p.data.copy() for p in params]  # float32 master weights
    velocity = [np.zeros_like(m) for m in masters]
    scale, good = (2.0 ** 16, 0) if scaling else (1.0, 0)
    log = {"scale": [], "skipped": 0, "zeros": [], "lost": 0, "updates": 0}
    for inputs, targets in batches(epochs):
        for p, m in zip(params, masters):
            p.data = m.astype(store).astype(np.float32)  # the weights as stored
        loss = nn.functional.cross_entropy(model(inputs), targets)
        model.zero_grad()
        (loss * scale).backward()
        with np.errstate(over="ignore"):
            stored = [p.grad.data.astype(store) for p in params]  # the gradients as stored
        found_inf = not all(np.isfinite(g).all() for g in stored)
        log["zeros"].append(np.mean([(g == 0).mean() for g in stored]))
        used = scale
        if scaling:
            scale, good = rule(scale, good, found_inf, growth_interval=20)
        log["scale"].append(used)
        if found_inf:
            log["skipped"] += 1
            continue
        for m, v, g in zip(masters, velocity, stored):
            v *= 0.9
            v += g.astype(np.float32) / np.float32(used)
            if master:
                m -= lr * v
            else:  # the update is added to the float16 weight and rounded there
                new = (m.astype(store) - (lr * v).astype(store)).astype(np.float32)
                log["lost"] += int(((new == m) & (v != 0)).sum())  # rounded away entirely
                log["updates"] += int((v != 0).sum())
                m[...] = new
    for p, m in zip(params, masters):
        p.data = m.astype(store).astype(np.float32)
    return accuracy(model), log


runs = {
    "float32": dict(store=np.float32),
    "float16 grads, no scaling": dict(),
    "float16 grads, loss scaling": dict(scaling=True),
    "float16, scaling, no master": dict(scaling=True, master=False),
}
logs = {}
for label, options in runs.items():
    start = time.perf_counter()
    acc, logs[label] = train_half(**options)
    zeros = np.mean(logs[label]["zeros"][-50:])
    print(f"{label:28s} test accuracy {acc:6.2%}; zero gradient values (last 50 steps) {zeros:6.2%}; "
          f"skipped steps {logs[label]['skipped']:2d}; {time.perf_counter() - start:.1f} s")
no_master = logs["float16, scaling, no master"]
print(f"without the master copy, {no_master['lost'] / no_master['updates']:.2%} of the weight updates "
      "were rounded away entirely")
assert no_master["lost"] > 0, "without a master copy, some updates should vanish in float16 rounding"

scales = logs["float16 grads, loss scaling"]["scale"]
plt.figure(figsize=(6, 3))
plt.plot(np.log2(scales))
plt.xlabel("step")
plt.ylabel("log2(loss scale)")
plt.title("Dynamic loss scale")
plt.show()

# %% [markdown]
# The number of gradient values that are exactly zero tells the story: without scaling,
# float16 flushes the smallest gradients to zero, more and more as the model improves. With
# scaling they survive; the scale climbs until a gradient overflows, then halves (the skipped
# steps). On a task this easy, the lost gradients cost little accuracy; on large models,
# where most gradients are tiny, training without loss scaling stalls. Without the master
# copy, every update smaller than half the float16 spacing around its weight vanishes in
# rounding: the fraction printed above. On this short run with a large learning rate, that
# costs little or no accuracy (compare the runs); the fraction grows as the updates shrink
# (a smaller learning rate, later in a long run), which is when training without a master
# copy slows or stops.

# %% [markdown]
# ## An inference compiler
#
# Fusion is one job of a compiler such as `torch.compile`; the other is removing the
# framework from the path. To *run* a trained MLP nothing of the Tensor machinery is needed:
# no graph, no gradient bookkeeping, no module call per layer. An **inference compiler**
# makes every per-layer decision once, ahead of time, and keeps only plain arrays and the
# steps over them:
#
# ```
#   model (Sequential)                    CompiledMLP.steps                 forward on h (N, in)
#   Linear(in, out)            ->   ("linear", product, w, b)          h = product(h, w) + b
#   ReLU()                     ->   ("relu",)                          h = max(h, 0), in place
#   QuantizedLinear (int8)     ->   ("int8", product, w, b, scale,     q = quantized h, in int32
#                                     input_scale, zero_point)         h = product(q, w) * scale + b
# ```
#
# - **Layout.** `weight.T` is a view: its strides make a product walk the weight column by
#   column. A contiguous `(in, out)` copy, made once, is the layout `(N, in) @ (in, out)`
#   reads row by row. An int8 weight gets the same layout and stays int8: NumPy widens it to
#   the int32 of the quantized input inside the product, so no wider copy is ever stored.
# - **The product, per layer.** `tt.acceleration.LAYER_PRODUCTS` holds three candidates
#   (`@`, `einsum`, `tensordot`, each `product(h, w)`). For every matrix layer, time them
#   with `choose_fastest` on a batch of that layer's input (`batch` rows of zeros: float32,
#   or int32 for an int8 layer) and keep the winner: fastest on this runtime, for this
#   shape. `self.choices` lists the names, one per matrix layer.
# - **int8 layers** (module 15): `q = clip(round(h / input_scale) + zero_point, -128, 127)`
#   minus `zero_point` again, in int32; the integer product; times `input_scale *
#   weight_scale` (one factor per output, combined once when compiling); plus the bias.
#   tinytorch's `QuantizedLinear` keeps `input_scale` and `input_zero_point` as 0-d Tensors,
#   yours as numbers: `float()` and `int()` read both. Recognize the layer by its
#   `weight_scale`.
# - **Owning its arrays.** The compiled model keeps its own copies of weights, biases and
#   scales, registered as buffers (`self.register_buffer(name, Tensor(array))`) in their own
#   dtype, so `model_size_bytes` counts them; the source model may change or go away
#   afterwards. Anything else than Linear (tinytorch's or yours: a layer with `in_features`
#   and a `weight`), int8 Linear and ReLU is a `TypeError` naming the layer: never a silently
#   different function.
#
# **Exercise.** Write `CompiledMLP(model, batch=32)`: `__init__` builds `self.steps` and
# `self.choices`; `forward(input)` runs the steps on `input.data` (N, in), never changing
# it, and returns a float32 Tensor (N, out).

# %%
class CompiledMLP(nn.Module):
    """Inference-only copy of an MLP of Linear, int8 Linear and ReLU layers, as NumPy steps
    with the fastest matrix product per layer on this runtime."""

    def __init__(self, model, batch=32):
        super().__init__()
        self.steps = []  # ("linear", product, w, b), ("int8", product, w, b, scale, input_scale, zero_point), ("relu",)
        self.choices = []  # the product chosen for each matrix layer, by name
        products = tt.acceleration.LAYER_PRODUCTS  # name -> product(h, w)
        ### BEGIN SOLUTION
        # HINT: one step per layer, prepared now so that forward only computes: its own laid-out copies of the arrays (registered as buffers, int8 stays int8) and the product that measured fastest for a batch of its input
        for i, layer in enumerate(model):
            if isinstance(layer, nn.ReLU):
                self.steps.append(("relu",))
                continue
            int8 = hasattr(layer, "weight_scale")  # module 15's QuantizedLinear, yours or tinytorch's
            if not int8 and not (hasattr(layer, "in_features") and hasattr(layer, "weight")):
                raise TypeError(f"CompiledMLP: cannot compile layer {i}, a {type(layer).__name__}")
            w = layer.weight.data.T.copy()  # (in, out), contiguous, in the weight's own dtype
            b = layer.bias.data.copy()
            example = np.zeros((batch, w.shape[0]), dtype=np.int32 if int8 else np.float32)
            name, _ = choose_fastest(products, example, w, repeats=5)
            self.choices.append(name)
            self.register_buffer(f"weight{i}", Tensor(w))
            self.register_buffer(f"bias{i}", Tensor(b))
            if int8:
                input_scale = float(layer.input_scale)
                scale = input_scale * layer.weight_scale.data  # (out,): one rescale per output
                self.register_buffer(f"scale{i}", Tensor(scale))
                self.steps.append(("int8", products[name], w, b, scale, input_scale, int(layer.input_zero_point)))
            else:
                self.steps.append(("linear", products[name], w, b))
        ### END SOLUTION

    def forward(self, input):
        ### BEGIN SOLUTION
        # HINT: the steps in order, on new arrays: a float layer is its product plus the bias; an int8 layer quantizes h, multiplies in integers, rescales per output and adds the bias; a ReLU step clips at zero
        h = input.data  # (N, in); never written to
        for step in self.steps:
            if step[0] == "linear":
                _, product, w, b = step
                h = product(h, w)  # a new (N, out) array
                h += b
            elif step[0] == "int8":
                _, product, w, b, scale, input_scale, zero_point = step
                q = np.clip(np.round(h / input_scale) + zero_point, -128, 127).astype(np.int32) - zero_point
                h = product(q, w).astype(np.float32)  # int32 sums (N, out), then float32
                h *= scale
                h += b
            else:
                np.maximum(h, 0, out=h)  # h is this call's own array: a ReLU follows a matrix layer
        return Tensor(h)
        ### END SOLUTION


# %% tags=["check"]
check_compiled_mlp(CompiledMLP)

# %% [markdown]
# ### Use it: the trained MLP, compiled
#
# The digits MLP trained above in float32, compiled: first the proof that it computes the
# same function, then the time of one image (an app) and of the whole test set (a server),
# module against compiled.

# %%
# Yours where saved (tinytorch's where the check did not pass); the capstone deploys with it.
tinytorch.mine.use("matmul_tiled", "update_scale", "CompiledMLP")
Compiler = tinytorch.mine.load("CompiledMLP")


def inference(m):
    def run(x):
        with tt.no_grad():
            return m(x)
    return run


compiled = Compiler(model)
with tt.no_grad():
    logits, compiled_logits = model(x_test).data, compiled(x_test).data
agree = np.mean(compiled_logits.argmax(axis=1) == logits.argmax(axis=1))
print(f"products chosen per layer: {', '.join(compiled.choices)}")
print(f"same prediction on {agree:.1%} of the test set; largest logit difference "
      f"{np.abs(compiled_logits - logits).max():.1e}")
speedups = {}
for label, x in (("one image", x_test[:1]), (f"{len(x_test)} images", x_test)):
    module_us, compiled_us = (best_time(inference(m), x, repeats=20) * 1e6 for m in (model, compiled))
    speedups[label] = module_us / compiled_us
    print(f"{label:11s}: module {module_us:9.1f} us, compiled {compiled_us:9.1f} us: {speedups[label]:.1f}x")
assert agree >= 0.99, "a compiled model must compute the same function as its source"
assert speedups["one image"] > 1, "for one image, skipping the per-layer overhead should make the compiled model faster"

# %% [markdown]
# The predictions agree (a flip could only be a near-tie); logits differ in the last bits, from a different order of
# summation in the chosen products. For one image the arithmetic is tiny and the module's
# time is mostly per-layer overhead (module calls, Tensor objects, the checks each layer
# makes), which the compiled steps skip; for the whole test set the products dominate both,
# and the ratio moves towards the gain (or loss) of the chosen formulations alone. Read the
# ratios above: they are this runtime's.
#
# ## Systems analysis
#
# ### Threads
#
# A native BLAS splits a large matrix product across cores. Does it help, and for which
# sizes? Each measurement runs in a fresh Python process with the BLAS thread count set in
# its environment (the count is fixed when NumPy loads).

# %%
THREADS_SCRIPT = """
import time, numpy as np
rates = []
for n in (64, 256, 1024):
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    a @ a
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter(); a @ a; best = min(best, time.perf_counter() - start)
    rates.append(2 * n**3 / best / 1e9)
print(*rates)
"""

if native_handoff("the BLAS thread-scaling measurement", "modules/18_acceleration.ipynb",
                  differs="NumPy in the browser has no BLAS and exactly one thread"):
    counts = sorted({1, 2, 4, os.cpu_count() or 1})
    measured = {}
    for threads in counts:
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads), VECLIB_MAXIMUM_THREADS=str(threads))
        result = subprocess.run([sys.executable, "-c", THREADS_SCRIPT], env=env, capture_output=True, text=True)
        measured[threads] = [float(v) for v in result.stdout.split()]
        print(f"{threads:2d} thread(s): " + ", ".join(f"{n} x {n}: {r:7.1f} GFLOP/s"
                                                    for n, r in zip((64, 256, 1024), measured[threads])))
    plt.figure(figsize=(6, 3.5))
    for i, n in enumerate((64, 256, 1024)):
        plt.plot(counts, [measured[t][i] / measured[1][i] for t in counts], "o-", label=f"{n} x {n}")
    plt.plot(counts, counts, "k:", lw=1, label="ideal")
    plt.xlabel("BLAS threads")
    plt.ylabel("speedup over 1 thread")
    plt.legend()
    plt.show()

# %% [markdown]
# A 1024 x 1024 product (2 GFLOP) splits well across cores; a 64 x 64 one is over before
# the threads have started, and can get slower. If the machine is busy with other programs,
# extra threads compete with them for cores and the scaling breaks down: numbers from a
# loaded machine are not the hardware's.
#
# ### Cache sizes
#
# Copy arrays of growing size and compute the bandwidth (bytes read plus written per
# second). While the arrays fit in a cache level, the copy runs at that level's speed; each
# time they outgrow one, the bandwidth drops to the next.

# %%
largest_kib = 64 * 1024
if not native_handoff("the cache-size sweep (arrays up to 64 MiB)",
                      "modules/18_acceleration.ipynb",
                      differs="WebAssembly memory is limited and the browser adds its own overheads"):
    largest_kib = 8 * 1024
sizes_kib = [2 ** p for p in range(2, int(np.log2(largest_kib)) + 1)]
bandwidth = []
for kib in sizes_kib:
    source = np.ones(kib * 256, dtype=np.float32)  # kib KiB
    target = np.empty_like(source)
    calls = max(1, (1 << 24) // source.nbytes)  # ~16 MiB per timing, so small copies are timed in bulk
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(calls):
            np.copyto(target, source)
        best = min(best, (time.perf_counter() - start) / calls)
    bandwidth.append(2 * source.nbytes / best / 1e9)
print("  ".join(f"{k if k < 1024 else k // 1024}{'K' if k < 1024 else 'M'}: {b:.0f}" for k, b in zip(sizes_kib, bandwidth)),
      "GB/s")

plt.figure(figsize=(6, 3.5))
plt.plot(np.array(sizes_kib) * 1024, bandwidth, "o-")
plt.xscale("log", base=2)
plt.xlabel("array size (bytes)")
plt.ylabel("copy bandwidth (GB/s)")
plt.title(describe().split(";")[0])
plt.show()

# %% [markdown]
# The steps in the curve are your machine's cache sizes (tiny arrays are slower again: the
# fixed cost of each call dominates). A 256 x 256 float32 matrix is 256 KiB, a 1024 x 1024
# one 4 MiB: where each lands on this curve decides whether tiling pays.
#
# ### What to use where
#
# The winners measured in this notebook, on this runtime:

# %%
print(describe())
print(f"  matrix product 256 x 256:   {fastest_matmul}")
print(f"  convolution (64, 8, 8, 8):  {fastest_conv}")
print("  bias + GELU:                fused, one node")
print(f"  MLP inference:              compiled, products per layer: {', '.join(compiled.choices)}")
print(f"  float16:                    storage only (copy {copy32 / copy16:.1f}x faster, matmul {mm16 / mm32:.0f}x slower)")

# %% [markdown]
# ## Reflection
#
# 1. Run this notebook in the browser and natively (or compare with a classmate). Which
#    matrix-product and convolution formulations win in each, and why does `einsum` behave so
#    differently in the two?
# 2. Your tiled product does the same FLOPs as `a @ b`. Using the tile-size plot, estimate
#    the fixed cost of one NumPy call on your runtime. Below which tile size does that cost
#    dominate?
# 3. The fused `bias_gelu` keeps `z` and `t` alive for backward. How much memory does that
#    hold per element, compared with the op chain's saved tensors? When would you rather
#    recompute `t` in backward than store it?
# 4. In the float16 runs, what fraction of gradient values were zero without loss scaling,
#    and how did the dynamic scale behave? Why does the rule grow the scale slowly but shrink
#    it at once?
# 5. Your compiled MLP was faster than the module by one ratio for one image and by another
#    for the whole test set. Where does each version spend its time in the two cases? The
#    products were chosen on a batch of 32 rows: why might another formulation be faster
#    for one image, and how would a compiler handle that?

# %% [markdown] tags=["solution"]
# ## Answers (solution edition only)
#
# 1. Read your tables: natively, with BLAS, one `np.matmul` call (and im2col + matmul for
#    convolution) wins by far; in the browser, without BLAS and with one thread, the
#    products are plain loops and formulations with fewer passes can win. `einsum` can hand
#    a contraction to BLAS natively (with `optimize`), while in the browser it runs its own
#    loops, so its rank changes between the two.
# 2. Time is about `(n / t)^3` calls times the fixed cost per call, plus the arithmetic at
#    the large-product rate. At the smallest tiles the calls dominate: time divided by the
#    number of calls estimates the fixed cost; below the tile size where calls times that
#    cost equals the arithmetic time, overhead dominates.
# 3. Two floats per element (`z` and `t`): 8 bytes in float32, against roughly one saved
#    tensor per node of the op chain, about ten, so 40 bytes per element. Recompute `t` in
#    backward when memory is the limit (long sequences, large batches: activation
#    checkpointing) and `tanh` is cheap compared with storing and re-reading it.
# 4. Read the fractions from your run: without scaling a noticeable share of gradient values
#    underflow to exactly zero, more as the model improves. The scale climbs every 20 clean
#    steps and halves at an overflow, a saw-tooth. An overflow wastes a step and must stop
#    at once; growing is only probing for headroom, and probing too eagerly would overflow
#    again, so growth is slow.
# 5. For one image the arithmetic is a few thousand multiply-adds: the module's time is
#    per-layer overhead (module calls, Tensor objects, checks), which the compiled steps
#    skip, so the ratio is usually largest there. For the test set the products dominate both, and
#    the ratio shrinks towards what the chosen formulations gain over `@`. A formulation's
#    speed depends on the shape (per-call cost against per-element speed), so a one-row
#    product can rank differently from a 32-row one; compilers specialize on the shapes
#    they see (PyTorch's `torch.compile` recompiles for new shapes, or marks them dynamic),
#    e.g. by choosing per batch size, or measuring on the batch size the deployment uses.
