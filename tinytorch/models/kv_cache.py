"""KVCache: the keys and values of already-processed positions, kept for fast generation.

Without a cache, generating token t recomputes attention keys and values for all t positions
of the context; with one, each step computes them for the one new position only and reads
the rest from here, turning O(T^2) work per sequence into O(T).
"""

import numpy as np

from ..seams import seam


def kv_cache_bytes(n_layer, batch_size, n_head, seq_len, head_dim, dtype=np.float32):
    """Bytes of the keys and values of every layer for `seq_len` positions, without allocating:
    n_layer caches of two (batch_size, n_head, seq_len, head_dim) arrays of `dtype`."""
    return 2 * n_layer * batch_size * n_head * seq_len * head_dim * np.dtype(dtype).itemsize


@seam("KVCache")
class KVCache:
    """Preallocated keys and values of one attention layer: (B, H, max_len, D) each.

    `append(k, v)` writes the new positions' keys and values after the `length` stored ones
    and returns views of everything stored so far; nothing is reallocated while generating.
    """

    def __init__(self, batch_size, num_heads, max_len, head_dim, dtype=np.float32):
        self.keys = np.zeros((batch_size, num_heads, max_len, head_dim), dtype=dtype)
        self.values = np.zeros_like(self.keys)
        self.length = 0

    @property
    def max_len(self):
        return self.keys.shape[2]

    @property
    def nbytes(self):
        """Memory held by the preallocated keys and values, in bytes."""
        return self.keys.nbytes + self.values.nbytes

    def append(self, k, v):
        """Store k, v of shape (B, H, T, D) at positions length..length+T-1.

        Returns (keys, values) of shape (B, H, length + T, D): every position stored so far.
        """
        k = getattr(k, "data", k)
        v = getattr(v, "data", v)
        batch, heads, _, size = self.keys.shape
        expected = (batch, heads, k.shape[2] if k.ndim == 4 else -1, size)
        if k.shape != expected or v.shape != k.shape:
            raise ValueError(
                f"KVCache: expected keys and values of shape (B={batch}, H={heads}, T, D={size}), "
                f"got {tuple(k.shape)} and {tuple(v.shape)}"
            )
        start, stop = self.length, self.length + k.shape[2]
        if stop > self.max_len:
            raise ValueError(
                f"KVCache: cannot append {k.shape[2]} positions to a cache holding {start} of "
                f"max_len {self.max_len}; reset() it or crop the context"
            )
        self.keys[:, :, start:stop] = k
        self.values[:, :, start:stop] = v
        self.length = stop
        return self.keys[:, :, :stop], self.values[:, :, :stop]

    def reset(self):
        """Forget every stored position (the memory stays allocated)."""
        self.length = 0

    def __repr__(self):
        batch, heads, max_len, size = self.keys.shape
        return (
            f"KVCache(batch_size={batch}, num_heads={heads}, max_len={max_len}, head_dim={size}, "
            f"length={self.length}, nbytes={self.nbytes})"
        )
