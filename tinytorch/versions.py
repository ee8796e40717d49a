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

counts = {}  # id(base buffer) -> number of in-place changes; empty until the first one


class SavingOp(str):
    """The name of an operation (its grad_fn, e.g. "MulBackward") that also says which of its
    tensors backward reads: inputs by position (`saves`), the output (`saves_output`) and
    tensors that are not inputs of the graph (`extra`: indices, running statistics; see `saving`).
    As in PyTorch, an input may be read only for another input's gradient (x of x * w is read
    for w's): `needed_by` maps its position to those inputs' positions, and it counts as saved
    only when one of them requires grad. Declared once per op (or per call, with `saving`);
    tensors of ops named by a plain str are not checked."""

    extra = ()

    def __new__(cls, name, saves=(), saves_output=False, needed_by=None):
        op = super().__new__(cls, name)
        op.saves, op.saves_output, op.needed_by = saves, saves_output, needed_by or {}
        return op


def saving(name, parents, saved, saves_output=False):
    """A SavingOp for one call of op `name` with inputs `parents` whose backward reads the
    tensors `saved` (entries that are not Tensors, e.g. None or a list of indices, skipped):
    those among `parents` by position, the others (no gradient: indices, running statistics;
    PyTorch checks them too) as `extra`."""
    positions, extra = [], []
    for t in saved:
        if not hasattr(t, "_requires_grad"):  # not a Tensor: nobody else can change it
            continue
        at = next((i for i, p in enumerate(parents) if p is t), None)
        if at is None:
            extra.append(t)
        else:
            positions.append(at)
    op = SavingOp(name, tuple(positions), saves_output)
    op.extra = tuple(extra)
    return op


def _base(array):
    """The array that owns the memory `array` looks at."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def version(array):
    """How many in-place changes the memory of `array` has had."""
    if not counts:
        return 0
    if array.base is None:  # the common case: the array owns its memory
        return counts.get(id(array), 0)
    return counts.get(id(_base(array)), 0)


def bump(array):
    """Record one in-place change of `array`'s memory."""
    base = _base(array)
    key = id(base)
    if key in counts:
        counts[key] += 1
    else:
        counts[key] = 1
        weakref.finalize(base, counts.pop, key, None)  # the id may be reused once base is gone


def reset(array):
    """Count the in-place changes of `array`'s memory from zero again (it holds a new result)."""
    key = id(_base(array))
    if key in counts:
        counts[key] = 0  # kept, not popped: its finalizer is registered already


def saved_tensors(node):
    """The tensors the operation that made `node` saved for backward (its op is a SavingOp)."""
    op = node._op
    parents, needed_by = node._parents, op.needed_by
    if needed_by:  # plain loops: this runs for every recorded op once anything changed in place
        inputs = []
        for i in op.saves:
            users = needed_by.get(i)
            if users is None:
                inputs.append(parents[i])
            else:
                for j in users:
                    if parents[j]._requires_grad:
                        inputs.append(parents[i])
                        break
    else:
        inputs = [parents[i] for i in op.saves]
    if op.extra:
        inputs.extend(op.extra)
    if op.saves_output:
        inputs.append(node)
    return inputs


def snapshot(node):
    """The versions of the tensors `node`'s op saved, now (a node without a snapshot saw them
    all at version 0: it was recorded before any in-place change)."""
    return tuple(version(t.data) for t in saved_tensors(node))


def check_node(node):
    """Raise PyTorch's error if a tensor that `node`'s op saved was changed in place since."""
    check(saved_tensors(node), node._saved_versions, node._op)


def check(tensors, recorded, op):
    """Raise PyTorch's error if any of `tensors` (saved by `op` when `recorded` was taken) has
    been changed in place since."""
    if not counts:
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
