"""The one place that decides how hot NumPy operations are computed on this runtime.

Matrix products: every layer's products (Tensor.matmul, linear, convolution, attention) call
`mm`. Natively, NumPy's `@` calls BLAS and always wins. Pyodide's NumPy has no BLAS: its `@`
is a plain loop that reads `b` down its columns, so it is fast only when `b` is a transposed
view, while `einsum` streams through both operands and was measured 1.4-10x faster on every
single product of more than ~256k multiply-adds (e.g. (64, 1024) @ (1024, 1024): 30 ms vs
300 ms). On a batch of matrices (attention heads, even 256 x 256 ones) einsum was up to 2x
slower, so `@` stays there.

Elementwise: in Pyodide `np.maximum(x, 0)` takes ~4x as long as `np.where(x < 0, 0, x)`
(natively the opposite: 0.3 ms vs 4.5 ms on 800k floats), and multiplying by a bool mask
~4x as long as by the same mask viewed as uint8 (equal natively).

Convolutions: natively im2col and the product run on blocks of images that fit in cache
(`images_per_block`); in the browser on the whole batch, one product that einsum takes.
Natively the backward also takes two layouts that OpenBLAS runs faster (`conv_weight_grad`,
`input_grad_on_padded_images`); the browser keeps the products einsum was measured on.

Result arrays: natively, the large results of products, arithmetic, GELU, normalization,
convolution, ReLU, max pooling and dropout (and their gradients) come from a pool
(`tinytorch.buffers`) that hands a freed one out again in the next step, so that a training
step does not fault its activations in afresh each time (`bench/pytorch_programs.py` prints
the faults per step). Pyodide's memory never goes back to the browser, so there is nothing to
gain and the pool is off. It is off too while `tracemalloc` traces, so that the notebooks'
memory measurements see every result allocated.

bench/matmul_formulations.py prints the measurements for the runtime it runs in.
"""

import math
import tracemalloc

import numpy as np

from . import versions
from .buffers import BufferPool
from .platform import is_browser

BROWSER = is_browser()  # the choices below are made for this; tests flip it to run both
# "auto" picks per runtime and size as above; "matmul" or "einsum" forces one (tests, benchmarks).
FORMULATION = "auto"
EINSUM_MIN_MACS = 1 << 18  # multiply-adds per matrix from which einsum beats `@` without BLAS
CONV_BLOCK_BYTES = 1 << 20  # natively, a convolution's im2col columns are built this much at a time
CONV_KEEP_BYTES = 16 << 20  # natively, up to this much of them are kept for the backward
# natively, results from 128 kB (from where glibc starts to map an allocation of its own) are
# pooled, up to 256 MB in all (a nanoGPT-sized step keeps ~70 MB, the MNIST CNN's ~90 MB)
POOLED_MIN_BYTES = 1 << 17
RESULTS = BufferPool(min_bytes=POOLED_MIN_BYTES, max_bytes=1 << 28, on_reuse=versions.reset)  # a new result: version 0


def result_buffer(shape, dtype):
    """A pooled array for an op's result (garbage until its caller writes every element), or
    None where NumPy should allocate it: pass it as `out=`."""
    if BROWSER or tracemalloc.is_tracing():
        return None
    return RESULTS.take(shape, dtype)


def result_buffer_like(x):
    """`result_buffer(x.shape, x.dtype)`, answering None for a small `x` at once (ops on the
    small arrays of token-by-token generation pay no more than a comparison)."""
    if x.nbytes < POOLED_MIN_BYTES:
        return None
    return result_buffer(x.shape, x.dtype)


def product(a, b):
    """`a * b` for an array `a`; where the product has a's shape and float dtype (`b` of that
    dtype or a mask, broadcasting to `a`) and is large, into a pooled array."""
    out = None
    if (a.nbytes >= POOLED_MIN_BYTES and a.dtype.kind == "f" and isinstance(b, np.ndarray)
            and (b.dtype == a.dtype or b.dtype == np.bool_ or b.dtype == np.uint8)
            and (b.shape == a.shape or np.broadcast_shapes(a.shape, b.shape) == a.shape)):
        out = result_buffer_like(a)
    return np.multiply(a, b, out=out)


def empty(shape, dtype):
    """An uninitialized array for an op's result, pooled where `result_buffer` says so."""
    out = result_buffer(shape, dtype)
    return np.empty(shape, dtype) if out is None else out


def release_buffers():
    """Free the pooled result arrays that nothing refers to (e.g. after training, natively)."""
    RESULTS.clear()


def uses_einsum(a, b):
    """Whether `mm(a, b)` computes with einsum here."""
    if FORMULATION != "auto":
        return FORMULATION == "einsum"
    if not BROWSER or a.dtype.kind != "f" or b.dtype.kind != "f":
        return False
    one_matrix = math.prod(a.shape[:-2]) == 1 and math.prod(b.shape[:-2]) == 1
    return one_matrix and a.shape[-2] * a.shape[-1] * b.shape[-1] >= EINSUM_MIN_MACS


def mm(a, b):
    """a (..., n, k) @ b (..., k, m) -> (..., n, m), batch dims broadcasting as in `np.matmul`.

    Both operands need at least 2 dimensions (the caller adds the axes of 1-D operands).
    """
    if (BROWSER or FORMULATION != "auto") and uses_einsum(a, b):
        return np.einsum("...ij,...jk->...ik", a, b)
    # a large float result (a.size / k * m values) into a pooled array, others as NumPy allocates
    if (BROWSER or a.size * b.shape[-1] * a.itemsize < POOLED_MIN_BYTES * a.shape[-1]
            or a.dtype != b.dtype or a.dtype.kind != "f" or a.shape[:-2] != b.shape[:-2]):
        return np.matmul(a, b)
    return np.matmul(a, b, out=result_buffer(a.shape[:-1] + b.shape[-1:], a.dtype))


def images_per_block(bytes_per_image, batch):
    """How many images a convolution turns into im2col columns and multiplies at a time.

    Natively, blocks of ~1 MB stay in the 2 MB L2 cache from the copy to the product that
    reads them (MNIST's second conv, batch 64: forward 29 ms -> 16 ms); the whole-batch matrix
    goes out to memory and back. In the browser the whole batch: one large product, which
    einsum computes fastest there (see `mm`).
    """
    fitting = batch if BROWSER else CONV_BLOCK_BYTES // max(1, bytes_per_image)
    return max(1, min(batch, fitting))


def keep_conv_columns(nbytes):
    """Whether a convolution keeps the im2col columns of every block for its backward (else
    the backward builds them again, but for the last block's).

    Natively up to CONV_KEEP_BYTES of them (the small CNN's second conv, 7 MB: 0.8 ms of a
    17 ms step saved); in the browser one block holds the whole batch anyway.
    """
    return not BROWSER and nbytes <= CONV_KEEP_BYTES


def conv_weight_grad(g_cols, cols):
    """A convolution's weight gradient g_cols (G, O, P) @ cols (G, K, P)^T -> (G, O, K).

    Natively, when K > O, as (cols @ g_cols^T)^T: OpenBLAS runs the product with the shorter
    side last faster (the small CNN of bench/train_step.py, second conv, K 144, O 32: 1.76 ms
    -> 1.37 ms a step; with K 9, O 32 it is ~10% slower, so not there).
    """
    if BROWSER or cols.shape[1] <= g_cols.shape[1]:
        return mm(g_cols, cols.transpose(0, 2, 1))
    return mm(cols, g_cols.transpose(0, 2, 1)).transpose(0, 2, 1)


def input_grad_on_padded_images():
    """Whether a stride-1 convolution's input gradient is computed on the whole padded images.

    col2im adds kh*kw shifted (C, N, Ho, Wo) blocks; NumPy pays per innermost run, and a run
    here is one output row (Wo values). Computing the product for every pixel of the padded
    images (zeros for those that are no output) turns each add into one run per channel: natively
    2.4 ms -> 0.3 ms for the small CNN's second conv, for a product ~30% larger, a loss where
    the product dominates (the browser, no BLAS).
    """
    return not BROWSER


def relu(x):
    """max(x, 0) elementwise; NaN stays NaN (both formulations)."""
    if BROWSER:
        return np.where(x < 0, 0, x)
    return np.maximum(x, 0, out=result_buffer_like(x) if x.dtype.kind == "f" else None)


def masked(g, mask):
    """`g` where the bool array `mask` (broadcasting to g) is True, exactly 0 elsewhere, even
    under an inf or NaN in `g` (PyTorch's ReLU backward): a multiply, or, only if `g` holds
    one (0 * inf is NaN), a select."""
    if all_finite(g):
        return product(g, mask.view(np.uint8))
    return np.where(mask, g, 0)


def all_finite(g):
    """Whether every value of `g` is finite, in one pass and no array (its sum overflowing to
    inf answers False: the callers' exact path is only slower)."""
    if g.dtype.kind != "f" or g.size == 0:
        return True
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf, or a sum too large
        return bool(np.isfinite(np.add.reduce(g, axis=None)))
