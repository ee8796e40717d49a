"""Version counters, as PyTorch keeps them: every in-place change to a tensor's memory bumps a
counter, and backward refuses to use a saved tensor whose counter moved since it was saved
(its gradient would silently be computed from the new values).

The counter belongs to the memory, not to a Tensor object: it is kept per base NumPy buffer, so
views (`x[0]`, `x.reshape(...)`, `x.T`) and `x.detach()` share it with `x`, as in PyTorch.
Counters exist only for buffers that were ever changed in place (a buffer without one is at
version 0), and go away with their buffer.
"""

import weakref

import numpy as np

_counts = {}  # id(base buffer) -> number of in-place changes


def _base(array):
    """The array that owns the memory `array` looks at."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def version(array):
    """How many in-place changes the memory of `array` has had."""
    if not _counts:
        return 0
    return _counts.get(id(_base(array)), 0)


def bump(array):
    """Record one in-place change of `array`'s memory."""
    base = _base(array)
    key = id(base)
    if key in _counts:
        _counts[key] += 1
    else:
        _counts[key] = 1
        weakref.finalize(base, _counts.pop, key, None)  # the id may be reused once base is gone


def snapshot(tensors):
    """The versions of `tensors` now (None when nothing was ever changed in place: all 0)."""
    if not _counts:
        return None
    return tuple(version(t.data) for t in tensors)


def check(tensors, recorded, op):
    """Raise PyTorch's error if any of `tensors` (saved by `op` when `recorded` was taken) has
    been changed in place since."""
    if not _counts:
        return
    for i, t in enumerate(tensors):
        now = version(t.data)
        then = 0 if recorded is None else recorded[i]
        if now != then:
            raise RuntimeError(
                f"backward of {op}: one of the variables needed for gradient computation has been "
                f"modified by an inplace operation: [{t.data.dtype} tensor of shape {tuple(t.shape)}] "
                f"is at version {now}; expected version {then} instead. Hint: compute on a copy "
                "(.clone()) before changing it in place, or change it after backward()."
            )
