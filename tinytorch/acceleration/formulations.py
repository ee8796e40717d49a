"""One operation, several NumPy formulations: matrix product and 2-D convolution.

All functions take and return NumPy arrays (no autograd): they exist to be compared. The
naive versions loop in Python and are only for tiny sizes; the others should agree with
them to float rounding. Which is fastest depends on the runtime: with a BLAS, `a @ b` wins;
Pyodide's NumPy has none, and `einsum` has been measured faster than `dot` there.
"""

import numpy as np

from ..nn.conv import _pair
from ..nn.im2col import conv_output_size, im2col
from ..seams import replaced, seam


def _check_matmul(a, b, op):
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"{op}: expected 2-D arrays, got shapes {a.shape} and {b.shape}")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} are not aligned: {a.shape[1]} != {b.shape[0]}")


# ---------------------------------------------------------------------- matrix product (M, K) @ (K, N)

def matmul_naive(a, b):
    """Three Python loops: one multiply-add per step (slow: for teaching and tiny inputs)."""
    _check_matmul(a, b, "matmul_naive")
    m, k = a.shape
    n = b.shape[1]
    out = np.zeros((m, n), dtype=np.result_type(a, b))
    for i in range(m):
        for j in range(n):
            total = 0.0
            for p in range(k):
                total += a[i, p] * b[p, j]
            out[i, j] = total
    return out


def matmul_vectorized(a, b):
    """NumPy's matmul (BLAS GEMM when NumPy has a BLAS)."""
    _check_matmul(a, b, "matmul_vectorized")
    return a @ b


def matmul_einsum(a, b):
    """einsum 'ik,kj->ij' (NumPy's own loops; optimize=False keeps it off BLAS)."""
    _check_matmul(a, b, "matmul_einsum")
    return np.einsum("ik,kj->ij", a, b)


def matmul_tensordot(a, b):
    """tensordot over a's last and b's first axis."""
    _check_matmul(a, b, "matmul_tensordot")
    return np.tensordot(a, b, axes=1)


@seam("matmul_tiled")
def matmul_blocked(a, b, block=64):
    """Tiled product: (block x block) tiles so each tile's operands stay in cache.

    Loops over tiles only (M/block * N/block * K/block products), never over elements.
    """
    _check_matmul(a, b, "matmul_blocked")
    if not isinstance(block, (int, np.integer)) or block < 1:
        raise ValueError(f"matmul_blocked: block must be a positive int, got {block!r}")
    m, k = a.shape
    n = b.shape[1]
    out = np.zeros((m, n), dtype=np.result_type(a, b))
    for i in range(0, m, block):
        for j in range(0, n, block):
            tile = out[i:i + block, j:j + block]  # view: accumulates in place
            for p in range(0, k, block):
                tile += a[i:i + block, p:p + block] @ b[p:p + block, j:j + block]
    return out


MATMUL_FORMULATIONS = {
    "naive loops": matmul_naive,
    "vectorized (@)": matmul_vectorized,
    "einsum": matmul_einsum,
    "tensordot": matmul_tensordot,
    "blocked": lambda a, b: replaced.get("matmul_tiled", matmul_blocked)(a, b),  # module 18's, once in use
}


# ---------------------------------------------------------------------- convolution (N, C, H, W) * (F, C, kh, kw)

def _check_conv(x, weight, op):
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"{op}: expected input (N, C, H, W) and weight (F, C, kh, kw), got {x.shape} and {weight.shape}")
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"{op}: input has {x.shape[1]} channels but weight {weight.shape} expects {weight.shape[1]}")


def conv2d_naive(x, weight, stride=1, padding=0):
    """Python loops over batch, filters and output pixels; NumPy only for each window's sum."""
    _check_conv(x, weight, "conv2d_naive")
    n, _, h, w = x.shape
    f, _, kh, kw = weight.shape
    (sh, sw), (ph, pw) = _pair(stride, "stride", "conv2d_naive", 1), _pair(padding, "padding", "conv2d_naive", 0)
    hout, wout = conv_output_size(h, w, (kh, kw), (sh, sw), (ph, pw), "conv2d_naive")
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((n, f, hout, wout), dtype=np.result_type(x, weight))
    for b in range(n):
        for c in range(f):
            for i in range(hout):
                for j in range(wout):
                    window = xp[b, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    out[b, c, i, j] = np.sum(window * weight[c])
    return out


def _im2col_conv(x, weight, stride, padding, product, op):
    _check_conv(x, weight, op)
    n, f = x.shape[0], weight.shape[0]
    cols, (hout, wout) = im2col(x, weight.shape[2:], stride, padding)  # (N*Hout*Wout, C*kh*kw)
    out = product(cols, weight.reshape(f, -1))  # (N*Hout*Wout, F)
    return out.reshape(n, hout, wout, f).transpose(0, 3, 1, 2)  # (N, F, Hout, Wout)


def conv2d_im2col_matmul(x, weight, stride=1, padding=0):
    """im2col, then one (N*Hout*Wout, C*kh*kw) @ (C*kh*kw, F) product."""
    return _im2col_conv(x, weight, stride, padding, lambda cols, w: cols @ w.T, "conv2d_im2col_matmul")


def conv2d_im2col_einsum(x, weight, stride=1, padding=0):
    """im2col, then the same product as einsum."""
    return _im2col_conv(x, weight, stride, padding, lambda cols, w: np.einsum("pk,fk->pf", cols, w),
                        "conv2d_im2col_einsum")


def conv2d_tensordot(x, weight, stride=1, padding=0):
    """No im2col copy: tensordot of the strided window view with the kernel over (C, kh, kw)."""
    _check_conv(x, weight, "conv2d_tensordot")
    (sh, sw), (ph, pw) = _pair(stride, "stride", "conv2d_tensordot", 1), _pair(padding, "padding", "conv2d_tensordot", 0)
    kh, kw = weight.shape[2:]
    hout, wout = conv_output_size(x.shape[2], x.shape[3], (kh, kw), (sh, sw), (ph, pw), "conv2d_tensordot")
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    windows = windows[:, :, :hout, :wout]  # (N, C, Hout, Wout, kh, kw)
    out = np.tensordot(windows, weight, axes=([1, 4, 5], [1, 2, 3]))  # (N, Hout, Wout, F)
    return out.transpose(0, 3, 1, 2)


CONV2D_FORMULATIONS = {
    "naive loops": conv2d_naive,
    "im2col + matmul": conv2d_im2col_matmul,
    "im2col + einsum": conv2d_im2col_einsum,
    "tensordot (no copy)": conv2d_tensordot,
}
