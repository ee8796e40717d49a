"""A pool of large result arrays that a training step hands out again in the next step.

Why: a training step allocates its activations in the forward pass (tens of MB for a
nanoGPT-sized model) and frees them in the backward. glibc gives that memory back to the
operating system at the end of every step, and the next step faults it in again, one 4 kB
page at a time: 13,000 page faults, ~20 ms of a 100 ms step on the machine of
bench/pytorch_programs.py, where PyTorch's step takes ~2,000. Keeping the freed arrays of the
sizes a step uses and handing them out again (as PyTorch's caching allocator does for GPU
memory) keeps that memory mapped.

Each array is a view into a block of its own (a uint8 array), which only the pool refers to
directly; every array and view made from it refers to the block (NumPy points a view's
`.base` at the memory's owner). A block is handed out again only when its reference count
says nothing but the pool holds it, so a result can never be overwritten while something can
still read it. Arrays start at staggered offsets within a 4 kB page: large blocks come
page-aligned from the OS, and an elementwise op whose input and output start at the same page
offset runs up to ~20 % slower (4k aliasing). Like `np.empty`, a handed-out array holds
garbage: callers write every element. Without the GIL (free-threaded CPython) reference
counts are not exact, and the pool hands out nothing.
"""

import math
import sys
from collections import OrderedDict

import numpy as np

_PAGE = 4096
_STAGGER = 11 * 64  # bytes between the starts of successive blocks' arrays, modulo a page


def _flat(block, offset, size, dtype):
    """The 1-D array of `dtype` that starts `offset` bytes into `block` (its base is `block`)."""
    return block[offset:offset + size].view(dtype)


def _unused_count():
    """What `sys.getrefcount` says of a block that only a pool's entry refers to, called as
    `take` calls it. Measured rather than assumed: the interpreter decides how many
    references a call and a local variable add (newer CPythons borrow some)."""
    references = sys.getrefcount
    block = np.empty(16, dtype=np.uint8)
    entries = [(block, _flat(block, 0, 8, np.float32))]
    del block
    entry = entries[0]
    block = entry[0]
    return references(block)


class BufferPool:
    """Arrays of at least `min_bytes`, at most `max_bytes` of them in all, by (shape, dtype);
    the shapes used longest ago are forgotten first when a new one does not fit.
    `on_reuse(array)` is called with each array handed out a second time or later."""

    def __init__(self, min_bytes, max_bytes, on_reuse=None):
        self.min_bytes = min_bytes
        self.max_bytes = max_bytes
        self.on_reuse = on_reuse
        self.nbytes = 0  # of the arrays the pool holds, in use or not
        self._entries = OrderedDict()  # (shape, dtype) -> [(block, flat array)], least recently used first
        self._made = 0
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
        entries = self._entries.get(key)
        if entries is not None:
            self._entries.move_to_end(key)
            references, unused = sys.getrefcount, self._unused
            for i in range(len(entries) - 1, -1, -1):  # the most recently handed out first: warm in cache
                entry = entries[i]
                block = entry[0]
                if references(block) == unused:
                    if i != len(entries) - 1:
                        entries.append(entries.pop(i))
                    array = entry[1].reshape(shape)
                    if self.on_reuse is not None:
                        self.on_reuse(array)
                    return array
        while self.nbytes + size > self.max_bytes and self._entries:  # forget the least recently used
            self._forget(next(iter(self._entries)))
        offset = self._made * _STAGGER % _PAGE
        self._made += 1
        block = np.empty(size + _PAGE, dtype=np.uint8)
        flat = _flat(block, offset, size, dtype)
        self._entries.setdefault(key, []).append((block, flat))
        self.nbytes += size
        return flat.reshape(shape)

    def _forget(self, key):
        """Drop a shape's blocks: the unused ones are freed, the others live on unpooled."""
        for _, flat in self._entries.pop(key):
            self.nbytes -= flat.nbytes

    def clear(self):
        """Forget every block (the unused ones are freed)."""
        self._entries.clear()
        self.nbytes = 0
