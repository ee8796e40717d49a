# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Module 01: Tensor
#
# Everything in a neural network is a tensor: the inputs, the weights, the activations, the
# gradients. Here you learn what `tinytorch.Tensor` is, and you write four of the pieces every
# tensor library rests on: the broadcasting rule, matrix multiplication, a reduction with
# `dim`/`keepdim`, and the strides that map an index to a place in memory. Then you measure
# why memory layout and a good matmul matter more than the arithmetic itself.
#
# **Learning objectives.** By the end of this module you can:
#
# - state the broadcasting rule and predict the result shape (or the error) of an
#   elementwise operation
# - write a batched matrix product with broadcasting alone, and say what it costs in memory
# - reduce along a `dim` with and without `keepdim`, and explain why `keepdim` matters for
#   broadcasting back
# - compute strides from a shape and explain why a transpose is free but reading it along
#   rows is not

# %%

import numpy as np

import tinytorch as tt
import tinytorch.platform
from tinytorch import Tensor
from tinytorch.checks import (
    check_broadcast_shape, check_matmul, check_strides, check_var,
)
import tinytorch.mine as mine
from tinytorch.profiling.timing import best_time  # fastest of several calls, in seconds

# %% [markdown]
# ## A tensor: data, shape, dtype
#
# A `Tensor` wraps a NumPy array (`.data`) and adds what a framework needs on top: PyTorch's
# names (`dim=`, `keepdim=`), PyTorch's dtype rules (Python floats become **float32**, not
# float64), and, from module 05 on, a record of the operations applied to it so gradients can
# flow back. Its shape is the size of each dimension; its dtype says how many bytes each
# element takes.

# %%
x = tt.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
print(x)
print("shape", x.shape, " ndim", x.ndim, " numel", x.numel(), " dtype", x.dtype)
print("bytes:", x.data.nbytes, "=", x.numel(), "elements x", x.data.itemsize, "bytes")
print("integers stay integers:", tt.tensor([1, 2, 3]).dtype)

# %% [markdown]
# Arithmetic is **elementwise**: `x + y`, `x * y`, `x / y`, `x ** 2` combine elements at the
# same position and return a new tensor. Mixing an integer tensor with a float one gives the
# float's dtype (as in PyTorch; NumPy would give float64).

# %%
y = tt.tensor([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]])
print(x + y)
print(x * y)
print((x ** 2).exp().log())  # any chain of elementwise ops
print((tt.tensor([1, 2, 3]) * tt.tensor([0.5, 0.5, 0.5])).dtype)

# %% [markdown]
# ## Broadcasting
#
# Adding a bias of shape `(3,)` to a batch of shape `(2, 3)` should not need a copy of the
# bias for every row. **Broadcasting** lets operands of different shapes meet: line the shapes
# up on the right, and in each position the sizes must be equal, or one of them 1 (that
# operand is repeated along that dimension, without copying). A missing leading dimension
# counts as 1.
#
# ```
#   x      (8, 1, 6, 1)          a   (2, 3)
#   y         (7, 1, 5)          b      (4,)
#   ---------------------        -----------
#   x + y  (8, 7, 6, 5)          error: 3 vs 4
# ```
#
# A size 1 meets a size 0 too: the result has size 0 (the other one always wins).
#
# **Exercise.** Write `broadcast_shape(a, b)`: the result shape (a tuple) of broadcasting two
# shapes, or `ValueError` with a message that names both shapes when they do not fit. Every
# elementwise op in the library calls this rule (through NumPy).

# %%
def broadcast_shape(a, b):
    """Shape of broadcasting shapes `a` and `b` (tuples), e.g. (4, 1), (3,) -> (4, 3)."""
    ### BEGIN SOLUTION
    # HINT: pad the shorter shape with 1s on the left, then compare position by position
    n = max(len(a), len(b))
    padded_a = (1,) * (n - len(a)) + tuple(a)
    padded_b = (1,) * (n - len(b)) + tuple(b)
    result = []
    for size_a, size_b in zip(padded_a, padded_b):
        if size_a != size_b and size_a != 1 and size_b != 1:
            raise ValueError(f"shapes {a} and {b} cannot be broadcast together: {size_a} vs {size_b}")
        result.append(size_b if size_a == 1 else size_a)
    return tuple(result)
    ### END SOLUTION

# %% tags=["check"]
check_broadcast_shape(broadcast_shape)

# %% [markdown]
# Broadcasting in practice: centre each column of a batch (subtract the column means), and
# scale each row by its own factor. The `(3,)` means and the `(4, 1)` factors are never copied
# to the full `(4, 3)` shape.

# %%
batch = tt.randn(4, 3)
centred = batch - batch.mean(dim=0)  # (4, 3) - (3,)
row_scale = tt.tensor([[1.0], [2.0], [3.0], [4.0]])  # (4, 1)
print("column means after centring:", centred.mean(dim=0))
print("(4, 3) * (4, 1) ->", (batch * row_scale).shape)

# %% [markdown]
# ## Matrix multiplication
#
# A linear layer, attention, and (through im2col) a convolution are all matrix products, so
# `matmul` is where nearly all of a network's time goes. For `a` of shape `(n, k)` and `b` of
# shape `(k, m)`:
#
# ```
#   out[i, j] = sum over p of a[i, p] * b[p, j]         out: (n, m)
#
#        k               m              m
#   n [ a a a ]  @  k [ b b ]  =  n [ o o ]
#     [ a a a ]       [ b b ]       [ o o ]
#                     [ b b ]
# ```
#
# The inner sizes must agree (`k`). Extra leading dimensions are a **batch** of matrices and
# broadcast like any elementwise op: `(2, 1, 3, 4) @ (3, 4, 5)` gives `(2, 3, 3, 5)`.
#
# With broadcasting you can write matmul with no loop: give `a` a new last axis and `b` a new
# axis before its last two, multiply (every `a[i, p] * b[p, j]` at once, shape
# `(..., n, k, m)`), then sum over `p`:
#
# ```
#   a[..., :, :, None]   (..., n, k, 1)
#   b[..., None, :, :]   (...,    1, k, m)     ->  product (..., n, k, m)  ->  sum axis -2
# ```
#
# **Exercise.** Write `matmul(a, b)` for tensors with at least 2 dimensions this way (do not
# use `@`, `np.matmul`, `np.dot` or `np.einsum`: the systems section compares yours with
# them). Check the inner sizes first and raise
# `ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned: {k1} != {k2}")`:
# broadcasting alone would accept `(2, 1) @ (3, 4)` and return garbage.

# %%
def matmul(a, b):
    """Batched matrix product of Tensors (..., n, k) @ (..., k, m) -> (..., n, m)."""
    ### BEGIN SOLUTION
    # HINT: check that the inner sizes agree (ValueError naming both shapes); every output entry is a row of a times a column of b, summed: compute all of them at once with broadcasting
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} are not aligned: {a.shape[-1]} != {b.shape[-2]}"
        )
    products = a.data[..., :, :, None] * b.data[..., None, :, :]  # (..., n, k, m)
    return Tensor(products.sum(axis=-2))
    ### END SOLUTION

# %% tags=["check"]
check_matmul(matmul)

# %% [markdown]
# ## Reductions: `dim` and `keepdim`
#
# A reduction collapses one or more dimensions: `sum`, `mean`, `max`, `var`. `dim` says which;
# `dim=None` reduces everything. `keepdim=True` keeps each reduced dimension with size 1,
# so the result still broadcasts against the input:
#
# ```
#   x            (4, 3)
#   x.mean(dim=1)                 (4,)      x - that   -> error (3 vs 4) or, if square, WRONG
#   x.mean(dim=1, keepdim=True)   (4, 1)    x - that   -> (4, 3), each row minus its own mean
# ```
#
# The silent case is the dangerous one: for a square `(3, 3)` input, `(3,)` broadcasts as a
# row and subtracts the wrong means without any error.

# %%
x = tt.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
print("sum all      ", x.sum())
print("sum dim=0    ", x.sum(dim=0))
print("mean dim=1   ", x.mean(dim=1), "shape", x.mean(dim=1).shape)
print("keepdim=True ", x.mean(dim=1, keepdim=True).shape)
print("max dim=1    ", x.max(dim=1))  # values and indices, as in PyTorch

# %% [markdown]
# **Exercise.** Write `var(x, dim=None, keepdim=False, correction=1)` like `torch.var`: the
# sum of squared deviations from the mean over `dim`, divided by `count - correction` (1 is
# Bessel's correction for a sample; 0 gives the population variance). `dim` may be an int, a
# tuple or None. Use Tensor operations (`x.mean(...)`, `-`, `**`, `.sum(...)`), so that once
# module 05 is done your `var` has gradients too. Subtract the mean first, then square:
# `E[x^2] - E[x]^2` is shorter but loses every digit when the values sit far from zero (the
# check has a case).

# %%
def var(x, dim=None, keepdim=False, correction=1):
    """Variance of Tensor `x` over `dim` (int, tuple or None for all)."""
    ### BEGIN SOLUTION
    # HINT: the mean with keepdim=True, squared deviations summed over dim, divided by (elements per group - correction)
    mean = x.mean(dim, keepdim=True)
    count = x.numel() // mean.numel()  # elements per reduced group
    return ((x - mean) ** 2).sum(dim, keepdim=keepdim) / (count - correction)
    ### END SOLUTION

# %% tags=["check"]
check_var(var)

# %% [markdown]
# ## Reshape, transpose and memory layout
#
# Memory is one long line of bytes. A `(3, 4)` float32 array stores its rows one after
# another (**row-major** or C order); the **strides** say how many bytes to step to move by
# one in each dimension:
#
# ```
#   shape (3, 4), float32         memory: a00 a01 a02 a03 a10 a11 ... a23
#   strides (16, 4)               next column: +4 bytes; next row: +4*4 = 16 bytes
#   address of [i, j] = start + 16*i + 4*j
# ```
#
# `reshape` of a contiguous array and `transpose` only change shape and strides: no data
# moves. A transposed `(4, 3)` view of that array has strides `(4, 16)`: walking along a row
# of it jumps 16 bytes at a time.
#
# **Exercise.** Write `strides(shape, itemsize)`: the byte strides of a C-order array.

# %%
def strides(shape, itemsize):
    """Bytes to step along each dimension of a row-major array, e.g. (3, 4), 4 -> (16, 4)."""
    ### BEGIN SOLUTION
    # HINT: walk the shape from the right: the last dim steps by itemsize, each earlier one by the next stride times the next size
    result = []
    step = itemsize
    for size in reversed(shape):
        result.append(step)
        step *= size
    return tuple(reversed(result))
    ### END SOLUTION

# %% tags=["check"]
check_strides(strides)

# %% [markdown]
# Views share memory with the tensor they come from. Transposing swaps the strides; reshaping
# a transposed view cannot be expressed with strides any more, so NumPy copies.

# %%
a = tt.arange(12, dtype=tt.float32).reshape(3, 4)
t = a.T
print("a  ", a.shape, "strides", a.data.strides, "contiguous", a.data.flags["C_CONTIGUOUS"])
print("a.T", t.shape, "strides", t.data.strides, "contiguous", t.data.flags["C_CONTIGUOUS"])
print("a.T shares a's memory:", np.shares_memory(a.data, t.data))
print("a.reshape(4, 3) shares memory:", np.shares_memory(a.data, a.reshape(4, 3).data))
print("a.T.reshape(12) shares memory:", np.shares_memory(a.data, t.reshape(12).data), "(a copy)")
print("a.reshape(4, 3) is NOT a.T:\n", a.reshape(4, 3), "\n", a.T)

# %% [markdown]
# ## Use it: a digit classifier from tensor operations only
#
# The 8x8 handwritten digits ship with tinytorch. A **nearest-centroid** classifier takes the
# mean image of each class, then labels a new image with the class whose mean is closest.
# Both steps are the operations above:
#
# - class means: `one_hot.T @ images / counts`, a `(10, N) @ (N, 64)` matmul;
# - all squared distances at once: `|x - c|^2 = |x|^2 - 2 x.c + |c|^2`, a matmul plus two
#   broadcast terms `(N, 1)` and `(1, 10)`.

# %%
import matplotlib.pyplot as plt

digits = tt.datasets.load_digits()
x_train = Tensor(digits.x_train.reshape(len(digits.x_train), -1))  # (1437, 64)
x_test = Tensor(digits.x_test.reshape(len(digits.x_test), -1))  # (360, 64)
mine.use("matmul")  # from here on tinytorch's `@` runs your matmul (tinytorch's, if yours is not saved)

one_hot = Tensor(np.eye(10, dtype=np.float32)[digits.y_train])  # (1437, 10)
centroids = (one_hot.T @ x_train) / one_hot.sum(dim=0).reshape(10, 1)  # (10, 64)
sq_distances = (
    (x_test ** 2).sum(dim=1, keepdim=True)  # (360, 1)
    - 2 * (x_test @ centroids.T)  # (360, 10)
    + (centroids ** 2).sum(dim=1).reshape(1, 10)  # (1, 10)
)
predicted = sq_distances.argmin(dim=1)
baseline = float((predicted.data == digits.y_test).mean())
print(f"nearest-centroid test accuracy: {baseline:.1%}")
assert baseline > 0.8, "the nearest-centroid baseline should get most test digits right"

fig, axes = plt.subplots(1, 10, figsize=(10, 1.3))
for digit, ax in enumerate(axes):
    ax.imshow(centroids.data[digit].reshape(8, 8), cmap="gray_r")
    ax.set_title(str(digit))
    ax.axis("off")
plt.suptitle("class means (the centroids)", y=1.1)
plt.show()

# %% [markdown]
# No learning, and already most test digits right (the accuracy printed above): a baseline
# the trained networks of later modules must beat.
#
# ## Systems analysis
#
# ### Bytes per tensor
#
# Memory is `numel x itemsize`. The dtype is the lever: float16 and int8 (modules on
# quantization) halve and quarter what float32 needs.

# %%
shape = (1024, 1024)
for dtype in (np.float64, np.float32, np.float16, np.int8):
    t = tt.zeros(*shape, dtype=dtype)
    print(f"{shape} {np.dtype(dtype).name:8s} {t.data.itemsize} B/element  {t.data.nbytes / 2**20:5.2f} MiB")

# %% [markdown]
# ### Row-order versus column-order access
#
# The same numbers, summed row by row or column by column. A row is contiguous: the CPU
# loads it in cache lines of 64 bytes and uses all 16 floats of each. A column of a row-major
# array strides by a whole row, so every element costs a fresh cache line.

# %%
n = 2048
grid = np.random.default_rng(0).random((n, n), dtype=np.float32)


by_rows = best_time(lambda: [grid[i, :].sum() for i in range(n)], repeats=3)
by_cols = best_time(lambda: [grid[:, j].sum() for j in range(n)], repeats=3)
copy_time = best_time(lambda: np.ascontiguousarray(grid.T), repeats=3)
grid_t = np.ascontiguousarray(grid.T)  # the columns of grid, now stored as rows
by_copied_rows = best_time(lambda: [grid_t[j, :].sum() for j in range(n)], repeats=3)
print(f"{n}x{n} float32 ({grid.nbytes / 2**20:.0f} MiB), strides {grid.strides}")
print(f"sum each row    (stride {grid.strides[1]:5d} B): {by_rows * 1e3:7.1f} ms")
print(f"sum each column (stride {grid.strides[0]:5d} B): {by_cols * 1e3:7.1f} ms  ({by_cols / by_rows:.1f}x slower)")
print(f"copy into transposed layout once:    {copy_time * 1e3:7.1f} ms (it reads along columns too)")
print(f"then sum its rows (= grid's columns): {by_copied_rows * 1e3:7.1f} ms")

# %% [markdown]
# Same arithmetic, same result, several times the time: the cost is memory traffic. When a
# computation walks along a dimension again and again, lay that dimension out contiguously
# once (a copy is one strided pass) and walk it contiguously from then on.

# %% [markdown]
# ### Your matmul versus NumPy's
#
# Both do `2 n^3` floating-point operations (a multiply and an add per `(i, p, j)`). Yours
# also writes the whole `(n, n, n)` product to memory before summing it; NumPy's matmul keeps
# blocks of the operands in cache and, natively, calls an optimised BLAS on several cores.

# %%
import matplotlib.pyplot as plt

rng = np.random.default_rng(0)
sizes = [32, 64, 96, 128, 160]
yours_ms, numpy_ms = [], []
for n in sizes:
    a = Tensor(rng.standard_normal((n, n)).astype(np.float32))
    b = Tensor(rng.standard_normal((n, n)).astype(np.float32))
    yours_ms.append(best_time(lambda: a @ b) * 1e3)  # yours, through tinytorch's `@`
    numpy_ms.append(best_time(lambda: a.data @ b.data, repeats=5) * 1e3)
    flops = 2 * n**3
    print(f"n={n:4d}  {flops / 1e6:6.1f} MFLOP  broadcast-sum {yours_ms[-1]:7.2f} ms "
          f"({flops / yours_ms[-1] / 1e6:5.2f} GFLOP/s, product array {n**3 * 4 / 2**20:5.1f} MiB)  "
          f"numpy @ {numpy_ms[-1]:6.3f} ms ({flops / numpy_ms[-1] / 1e6:6.2f} GFLOP/s)")

plt.figure(figsize=(5, 3.5))
plt.loglog(sizes, yours_ms, "o-", label="broadcast and sum")
plt.loglog(sizes, numpy_ms, "s-", label="numpy @")
plt.xlabel("n (n x n @ n x n)")
plt.ylabel("time (ms)")
plt.title(tt.platform.describe().split(";")[0])
plt.legend()
plt.show()
print(tt.platform.describe())

# %% [markdown]
# Both lines grow like `n^3` (slope 3 on the log-log plot) once the sizes are large enough;
# the gap between them is memory traffic and the tuned kernel. Look for a jump in the
# broadcast-and-sum line when its product array outgrows the CPU's caches (a few MiB). That is why tinytorch's `Linear`, attention and convolution
# are all arranged to end in one large `@`.
#
# ## Reflection
#
# 1. `(5, 1, 4)` and `(3, 1)` broadcast to `(5, 3, 4)`. How many bytes does the `(3, 1)`
#    operand occupy, and how many elements of it does the addition read?
# 2. Your `var` for a `(3, 3)` input with `dim=1` but without `keepdim=True` in the mean gives
#    no error. Which means does it subtract from which elements?
# 3. A `(64, 128)` float32 tensor is transposed. What are its strides before and after, and
#    why can `.T.reshape(-1)` not return a view?
# 4. Your matmul materialises a `(n, k, m)` product. For a batch of 256 vectors of size 784
#    through a `784 x 512` weight, how many MiB is that, and how would you cut it while
#    keeping the code vectorised?
# 5. Summing columns was slower than summing rows. For a matmul `a @ b`, which operand is
#    read along columns, and how could a library arrange its memory to avoid it?

# %% [markdown] tags=["solution"]
# ## Answers (solution edition only)
#
# 1. Three elements (12 bytes in float32). The addition reads them 60 times, once per output
#    element of `(5, 3, 4)` (each element 20 times); broadcasting never copies them.
# 2. The mean without `keepdim` has shape `(3,)`, which broadcasting lines up with the
#    *last* axis: element `[i, j]` gets the mean of row `j` subtracted, not of its own row
#    `i`. A square input hides the bug because the shapes still fit.
# 3. Before: `(512, 4)` (128 floats per row). After `.T`: shape `(128, 64)`, strides `(4,
#    512)`. `reshape(-1)` must list the elements row by row of the transposed shape;
#    consecutive elements are then 512 bytes apart and a row's end jumps back, so no single
#    stride describes the result: NumPy has to copy.
# 4. `256 * 784 * 512` float32 values: about 392 MiB. Cut it by summing over `k` in chunks
#    (accumulate a `(256, 512)` result over blocks of, say, 64 of the 784) or over blocks of
#    rows: still vectorised, memory divided by the number of chunks. Or call a contraction
#    that never materialises the product (`np.matmul`, `np.tensordot`).
# 5. `b` is read along its columns (row `i` of `a` meets column `j` of `b`). Libraries pack
#    `b` once into a contiguous, transposed (blocked) copy before the product; `Linear`
#    stores its weight as `(out, in)` and computes `x @ W.T`, so each output reads a
#    contiguous row of `W`.
