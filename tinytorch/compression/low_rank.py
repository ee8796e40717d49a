"""Low-rank factorization: replace one Linear by two thinner ones via truncated SVD."""

import numpy as np

from .. import grad_mode
from ..seams import replaced, seam
from ..nn.linear import Linear
from ..nn.module import Sequential


def low_rank_factorize(linear, rank):
    """(Sequential(Linear(in, rank, bias=False), Linear(rank, out)), relative error), by the
    implementation in use (module 16's exercise once tinytorch.mine.use() puts the learner's in)."""
    return replaced.get("low_rank_factorize", _low_rank_factorize)(linear, rank)


@seam("low_rank_factorize")
def _low_rank_factorize(linear, rank):
    """(Sequential(Linear(in, rank, bias=False), Linear(rank, out)), relative error).

    W (out, in) = U S V^T; keeping the `rank` largest singular values gives the best rank-r
    approximation (Eckart-Young). Parameters go from out*in to rank*(in + out). The error is
    ||W - W_r||_F / ||W||_F; it is 0 at full rank.
    """
    op = "low_rank_factorize"
    if not isinstance(linear, Linear):
        raise TypeError(f"{op}: expected an nn.Linear, got {type(linear).__name__}")
    out_features, in_features = linear.weight.shape
    full = min(out_features, in_features)
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 1 <= rank <= full:
        raise ValueError(f"{op}: rank must be an int in [1, {full}] for weight {tuple(linear.weight.shape)}, got {rank!r}")
    weight = linear.weight.data.astype(np.float64)
    u, s, vt = np.linalg.svd(weight, full_matrices=False)  # (out, k), (k,), (k, in)
    root = np.sqrt(s[:rank])
    dtype = linear.weight.dtype
    first = Linear(in_features, rank, bias=False, dtype=dtype)
    second = Linear(rank, out_features, bias=linear.bias is not None, dtype=dtype)
    with grad_mode.no_grad():
        first.weight.data[...] = root[:, None] * vt[:rank]  # (rank, in)
        second.weight.data[...] = u[:, :rank] * root  # (out, rank)
        if linear.bias is not None:
            second.bias.data[...] = linear.bias.data
    total = np.sum(s ** 2)
    error = float(np.sqrt(np.sum(s[rank:] ** 2) / total)) if total > 0 else 0.0
    return Sequential(first, second), error
