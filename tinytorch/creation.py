"""Functions that create tensors: from data, constant-filled, ranges and random."""

import numpy as np

from .random import rng_of
from .tensor import Tensor, _as_array


def _shape(size):
    """Accept both `zeros(2, 3)` and `zeros((2, 3))`."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for n in size:
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"size must be non-negative integers, got {size}")
    return tuple(int(n) for n in size)


def tensor(data, dtype=None, requires_grad=False):
    """A new tensor holding a copy of `data` (lists, scalars, arrays or tensors)."""
    return Tensor(np.array(_as_array(data, dtype), copy=True), requires_grad=requires_grad)


def from_numpy(array):
    """A tensor sharing memory with a NumPy array."""
    return Tensor(array)


def zeros(*size, dtype=np.float32, requires_grad=False):
    return Tensor(np.zeros(_shape(size), dtype=dtype), requires_grad=requires_grad)


def ones(*size, dtype=np.float32, requires_grad=False):
    return Tensor(np.ones(_shape(size), dtype=dtype), requires_grad=requires_grad)


def empty(*size, dtype=np.float32, requires_grad=False):
    """An uninitialized tensor (here: zeros, so results never depend on stale memory)."""
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def _fill_dtype(fill_value):
    """PyTorch's dtype for a fill value: bool, int64 for integers, float32 for floats."""
    if isinstance(fill_value, (bool, np.bool_)):
        return np.bool_
    if isinstance(fill_value, (int, np.integer)):
        return np.int64
    return np.float32


def full(size, fill_value, dtype=None, requires_grad=False):
    dtype = _fill_dtype(fill_value) if dtype is None else dtype
    return Tensor(np.full(_shape((size,)), fill_value, dtype=dtype), requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    return Tensor(np.full_like(_as_array(t), fill_value, dtype=dtype), requires_grad=requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    return Tensor(np.zeros_like(_as_array(t), dtype=dtype), requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return Tensor(np.ones_like(_as_array(t), dtype=dtype), requires_grad=requires_grad)


def eye(n, m=None, dtype=np.float32, requires_grad=False):
    return Tensor(np.eye(n, m, dtype=dtype), requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    """Like `torch.arange`: integers give int64, any float gives float32."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(f"arange: end {end} cannot be reached from start {start} with step {step} (wrong sign)")
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if integral else np.float32
    return Tensor(np.arange(start, end, step, dtype=dtype), requires_grad=requires_grad)


def linspace(start, end, steps, dtype=np.float32, requires_grad=False):
    return Tensor(np.linspace(start, end, steps, dtype=dtype), requires_grad=requires_grad)


def randn(*size, generator=None, dtype=np.float32, requires_grad=False):
    """Standard normal samples."""
    data = rng_of(generator).standard_normal(_shape(size), dtype=np.float64).astype(dtype)
    return Tensor(data, requires_grad=requires_grad)


def rand(*size, generator=None, dtype=np.float32, requires_grad=False):
    """Uniform samples in [0, 1)."""
    data = rng_of(generator).random(_shape(size), dtype=np.float64).astype(dtype)
    return Tensor(data, requires_grad=requires_grad)


def randn_like(t, generator=None, dtype=None, requires_grad=False):
    t = _as_array(t)
    return randn(*t.shape, generator=generator, dtype=dtype or t.dtype, requires_grad=requires_grad)


def rand_like(t, generator=None, dtype=None, requires_grad=False):
    t = _as_array(t)
    return rand(*t.shape, generator=generator, dtype=dtype or t.dtype, requires_grad=requires_grad)


def randint(low, high=None, size=(), generator=None, dtype=np.int64):
    """Integers in [low, high)."""
    if high is None:
        low, high = 0, low
    return Tensor(rng_of(generator).integers(low, high, size=_shape((size,)), dtype=dtype))


def randperm(n, generator=None):
    return Tensor(rng_of(generator).permutation(n).astype(np.int64))
