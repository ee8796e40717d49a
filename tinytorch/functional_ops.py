"""Function forms of Tensor methods (`tinytorch.exp(x)` as well as `x.exp()`), and sampling."""

import numpy as np

from .random import rng_of
from .ops.matmul import einsum  # noqa: F401  (exported from here)
from .tensor import Tensor


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def matmul(a, b):
    return _tensor(a).matmul(b)


def exp(x):
    return _tensor(x).exp()


def log(x):
    return _tensor(x).log()


def sqrt(x):
    return _tensor(x).sqrt()


def abs(x):
    return _tensor(x).abs()


def sin(x):
    return _tensor(x).sin()


def cos(x):
    return _tensor(x).cos()


def tanh(x):
    return _tensor(x).tanh()


def sigmoid(x):
    return _tensor(x).sigmoid()


def relu(x):
    return _tensor(x).relu()


def clamp(x, min=None, max=None):
    return _tensor(x).clamp(min, max)


def maximum(a, b):
    return _tensor(a).maximum(b)


def minimum(a, b):
    return _tensor(a).minimum(b)


def softmax(x, dim=-1):
    return _tensor(x).softmax(dim)


def log_softmax(x, dim=-1):
    return _tensor(x).log_softmax(dim)


def logsumexp(x, dim, keepdim=False):
    return _tensor(x).logsumexp(dim, keepdim)


def sum(x, dim=None, keepdim=False, dtype=None):
    return _tensor(x).sum(dim, keepdim, dtype=dtype)


def mean(x, dim=None, keepdim=False, dtype=None):
    return _tensor(x).mean(dim, keepdim, dtype=dtype)


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _tensor(x).var(dim, unbiased, keepdim, correction=correction)


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _tensor(x).std(dim, unbiased, keepdim, correction=correction)


def max(x, dim=None, keepdim=False):
    """Largest element; `max(x, dim)` gives (values, indices); `max(a, b)` the elementwise maximum."""
    return _tensor(x).max(dim, keepdim)


def min(x, dim=None, keepdim=False):
    """Smallest element; `min(x, dim)` gives (values, indices); `min(a, b)` the elementwise minimum."""
    return _tensor(x).min(dim, keepdim)


def argmax(x, dim=None, keepdim=False):
    return _tensor(x).argmax(dim, keepdim)


def argmin(x, dim=None, keepdim=False):
    return _tensor(x).argmin(dim, keepdim)


def topk(x, k, dim=-1, largest=True, sorted=True):
    return _tensor(x).topk(k, dim, largest, sorted)


def reshape(x, *shape):
    return _tensor(x).reshape(*shape)


def transpose(x, dim0, dim1):
    return _tensor(x).transpose(dim0, dim1)


def permute(x, *dims):
    return _tensor(x).permute(*dims)


def flatten(x, start_dim=0, end_dim=-1):
    return _tensor(x).flatten(start_dim, end_dim)


def unsqueeze(x, dim):
    return _tensor(x).unsqueeze(dim)


def squeeze(x, dim=None):
    return _tensor(x).squeeze(dim)


def split(x, split_size_or_sections, dim=0):
    return _tensor(x).split(split_size_or_sections, dim)


def chunk(x, chunks, dim=0):
    return _tensor(x).chunk(chunks, dim)


def masked_fill(x, mask, value):
    return _tensor(x).masked_fill(mask, value)


def tril(x, diagonal=0):
    return _tensor(x).tril(diagonal)


def triu(x, diagonal=0):
    return _tensor(x).triu(diagonal)


def clone(x):
    return _tensor(x).clone()


def multinomial(input, num_samples, replacement=False, generator=None):
    """Sample `num_samples` category indices per row from the (unnormalized) weights in the
    last dimension of a 1-D or 2-D `input`, as `torch.multinomial` does (no gradient)."""
    probs = _tensor(input).data
    if probs.ndim not in (1, 2):
        raise ValueError(f"multinomial: input must be 1-D or 2-D, got shape {probs.shape}")
    if np.any(probs < 0) or not np.all(np.isfinite(probs)):
        raise ValueError("multinomial: weights must be finite and non-negative")
    rows = probs.reshape(-1, probs.shape[-1]).astype(np.float64)  # (R, K)
    totals = rows.sum(axis=1, keepdims=True)  # (R, 1)
    if np.any(totals <= 0):
        raise ValueError("multinomial: every row needs a positive total weight")
    n_categories = rows.shape[1]
    if not replacement and num_samples > n_categories:
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement from {n_categories} categories")
    rng = rng_of(generator)
    if replacement:
        # inverse CDF: the first category whose cumulative probability exceeds u
        cdf = np.cumsum(rows / totals, axis=1)  # (R, K)
        u = rng.random((rows.shape[0], num_samples))  # (R, S)
        samples = (u[:, :, None] >= cdf[:, None, :]).sum(axis=2)  # (R, S)
        samples = np.minimum(samples, n_categories - 1)  # guard against cdf[-1] rounding below u
    else:
        # Gumbel top-k: the k largest log(p) + Gumbel noise are a sample without replacement
        with np.errstate(divide="ignore"):
            keys = np.log(rows) + rng.gumbel(size=rows.shape)  # (R, K)
        samples = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    return Tensor(samples.reshape(probs.shape[:-1] + (num_samples,)).astype(np.int64))


# ---------------------------------------------------------------------- more of PyTorch's functions


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(x):
    return _tensor(x).numel()


def is_floating_point(x):
    return _tensor(x).is_floating_point()


def pow(x, exponent):
    return _tensor(x) ** exponent if isinstance(x, Tensor) else _tensor(exponent).__rpow__(x)


def floor_divide(x, other):
    return _tensor(x).floor_divide(other)


def remainder(x, other):
    return _tensor(x).remainder(other)


def fmod(x, other):
    return _tensor(x).fmod(other)


def eq(x, other):
    return _tensor(x).eq(other)


def ne(x, other):
    return _tensor(x).ne(other)


def lt(x, other):
    return _tensor(x).lt(other)


def le(x, other):
    return _tensor(x).le(other)


def gt(x, other):
    return _tensor(x).gt(other)


def ge(x, other):
    return _tensor(x).ge(other)


def equal(x, other):
    return _tensor(x).equal(other)


def isclose(x, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return _tensor(x).isclose(other, rtol, atol, equal_nan)


def allclose(x, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return _tensor(x).allclose(other, rtol, atol, equal_nan)


def logical_not(x):
    return _tensor(x).logical_not()


def logical_and(x, other):
    return _tensor(x).logical_and(other)


def logical_or(x, other):
    return _tensor(x).logical_or(other)


def all(x, dim=None, keepdim=False):
    return _tensor(x).all(dim, keepdim)


def any(x, dim=None, keepdim=False):
    return _tensor(x).any(dim, keepdim)


def isnan(x):
    return _tensor(x).isnan()


def isinf(x):
    return _tensor(x).isinf()


def isfinite(x):
    return _tensor(x).isfinite()


clip = clamp


def log1p(x):
    return _tensor(x).log1p()


def rsqrt(x):
    return _tensor(x).rsqrt()


def square(x):
    return _tensor(x).square()


def sign(x):
    return _tensor(x).sign()


def floor(x):
    return _tensor(x).floor()


def ceil(x):
    return _tensor(x).ceil()


def trunc(x):
    return _tensor(x).trunc()


def round(x, decimals=0):
    return _tensor(x).round(decimals=decimals)


def amax(x, dim=(), keepdim=False):
    return _tensor(x).amax(dim, keepdim)


def amin(x, dim=(), keepdim=False):
    return _tensor(x).amin(dim, keepdim)


def prod(x, dim=None, keepdim=False, dtype=None):
    return _tensor(x).prod(dim, keepdim, dtype=dtype)


def cumsum(x, dim, dtype=None):
    return _tensor(x).cumsum(dim, dtype=dtype)


def norm(x, p="fro", dim=None, keepdim=False, dtype=None):
    return _tensor(x).norm(p, dim, keepdim, dtype=dtype)


def mm(x, other):
    return _tensor(x).mm(other)


def bmm(x, other):
    return _tensor(x).bmm(other)


def outer(x, other):
    return _tensor(x).outer(other)


def t(x):
    return _tensor(x).t()


def flip(x, dims):
    return _tensor(x).flip(dims)


def roll(x, shifts, dims=None):
    return _tensor(x).roll(shifts, dims)


def broadcast_to(x, size):
    return _tensor(x).broadcast_to(size)


def unbind(x, dim=0):
    return _tensor(x).unbind(dim)


def gather(x, dim, index):
    return _tensor(x).gather(dim, index)


def index_select(x, dim, index):
    return _tensor(x).index_select(dim, index)


def sort(x, dim=-1, descending=False, *, stable=False):
    return _tensor(x).sort(dim, descending, stable=stable)


def argsort(x, dim=-1, descending=False, *, stable=False):
    return _tensor(x).argsort(dim, descending, stable=stable)


def nonzero(x, as_tuple=False):
    return _tensor(x).nonzero(as_tuple=as_tuple)


def scatter(x, dim, index, src=None, value=None):
    return _tensor(x).scatter(dim, index, src, value=value)


def scatter_add(x, dim, index, src):
    return _tensor(x).scatter_add(dim, index, src)


def repeat_interleave(x, repeats, dim=None):
    return _tensor(x).repeat_interleave(repeats, dim)
