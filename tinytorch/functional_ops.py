"""Function forms of Tensor methods (`tinytorch.exp(x)` as well as `x.exp()`), and sampling."""

import numpy as np

from .random import rng_of
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


def sum(x, dim=None, keepdim=False):
    return _tensor(x).sum(dim, keepdim)


def mean(x, dim=None, keepdim=False):
    return _tensor(x).mean(dim, keepdim)


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _tensor(x).var(dim, unbiased, keepdim, correction=correction)


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _tensor(x).std(dim, unbiased, keepdim, correction=correction)


def max(x, dim=None, keepdim=False):
    return _tensor(x).max(dim, keepdim)


def min(x, dim=None, keepdim=False):
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
