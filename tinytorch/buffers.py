"""A pool of large result arrays that a training step hands out again in the next step.

Why: a training step allocates its activations in the forward pass (tens of MB for a
nanoGPT-sized model) and frees them in the backward. glibc gives that memory back to the
operating system at the end of every step, and the next step faults it in again, one 4 kB
page at a time: 13,000 page faults, ~20 ms of a 100 ms step on the machine of
bench/pytorch_programs.py, where PyTorch's step takes ~2,000. Keeping the freed arrays of the
sizes a step uses and handing them out again (as PyTorch's caching allocator does for GPU
memory) keeps that memory mapped.

An array is handed out again only when the pool is the only holder left: its reference count
says so, and any tensor, view (through its `.base`) or variable that holds it keeps it out
of reach, so a result can never be overwritten while something can still read it. Like
`np.empty`, a handed-out array holds garbage: callers write every element. Without the GIL
(free-threaded CPython) reference counts are not exact, and the pool hands out nothing.
"""

import math
import sys
from collections import OrderedDict

import numpy as np


def _unused_count():
    """What `sys.getrefcount` says of an array only a pool's list refers to, called as `take`
    calls it. Measured rather than assumed: the interpreter decides how many references a
    call and a local variable add (newer CPythons borrow some)."""
    references = sys.getrefcount
    arrays = [np.empty(0)]
    array = arrays[0]
    return references(array)


class BufferPool:
    """Arrays of at least `min_bytes`, at most `max_bytes` of them in all, by (shape, dtype);
    the shapes used longest ago are forgotten first when a new one does not fit."""

    def __init__(self, min_bytes, max_bytes):
        self.min_bytes = min_bytes
        self.max_bytes = max_bytes
        self.nbytes = 0  # of the arrays the pool holds, in use or not
        self._arrays = OrderedDict()  # (shape, dtype) -> [arrays], least recently used first
        self._unused = _unused_count()
        self.enabled = getattr(sys, "_is_gil_enabled", lambda: True)()

    def take(self, shape, dtype):
        """An array of `shape` and `dtype` that nothing else refers to (contents undefined), or
        None if arrays of that size are not pooled."""
        dtype = np.dtype(dtype)
        size = math.prod(shape) * dtype.itemsize
        if size < self.min_bytes or size > self.max_bytes or not self.enabled:
            return None
        key = (tuple(shape), dtype)
        arrays = self._arrays.get(key)
        if arrays is not None:
            self._arrays.move_to_end(key)
            references, unused = sys.getrefcount, self._unused
            for i in range(len(arrays) - 1, -1, -1):  # the most recently handed out first: warm in cache
                array = arrays[i]
                if references(array) == unused:
                    if i != len(arrays) - 1:
                        arrays.append(arrays.pop(i))
                    return array
        while self.nbytes + size > self.max_bytes:  # forget the least recently used shapes
            self._forget(next(iter(self._arrays)))
        array = np.empty(shape, dtype)
        self._arrays.setdefault(key, []).append(array)
        self.nbytes += size
        return array

    def _forget(self, key):
        """Drop a shape's arrays: the unused ones are freed, the others live on unpooled."""
        for array in self._arrays.pop(key):
            self.nbytes -= array.nbytes

    def clear(self):
        """Forget every array (the unused ones are freed)."""
        self._arrays.clear()
        self.nbytes = 0
