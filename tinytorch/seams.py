"""Seams: the named places where tinytorch calls one of its own pieces that a learner may
replace with their own (the backward rules, the autograd engine, layers, losses, ...).

The framework declares each seam once, with tinytorch's implementation:

    @seam("relu_backward")
    def relu_backward(grad, x): ...

and calls it where it is needed through `replaced.get(name)`, falling back to its own. This
module knows nothing of the course: the course layer (`tinytorch.mine.use()`) decides which
learner implementations go in, with `replace(name, fn)`, and takes them out with `restore()`.
`replaced` is a plain dict and empty by default, so a seam costs one dictionary look-up.
"""

import contextlib
import inspect

_tinytorch = {}  # name -> tinytorch's implementation
replaced = {}  # name -> the implementation in use instead of tinytorch's (the learner's)
looked_up = set()  # names asked for through implementation() (e.g. a layer class tinytorch builds)


def seam(name):
    """Decorator: declare `fn` as tinytorch's implementation of the seam `name`."""
    def declare(fn):
        if name in _tinytorch and _tinytorch[name] is not fn:
            raise ValueError(f"seam: {name!r} is declared twice")
        _tinytorch[name] = fn
        return fn
    return declare


def names():
    """Every declared seam, in declaration order."""
    return list(_tinytorch)


def tinytorch(name):
    """tinytorch's own implementation of the seam `name`."""
    try:
        return _tinytorch[name]
    except KeyError:
        raise KeyError(f"seam: no seam named {name!r}; seams are {sorted(_tinytorch)}") from None


def implementation(name):
    """The implementation in use for `name`: the replacement if there is one, else tinytorch's.
    (Hot paths use `replaced.get(name, default)` directly; this one also notes the look-up.)"""
    looked_up.add(name)
    found = replaced.get(name)
    return tinytorch(name) if found is None else found


def learners(name):
    """The replacement in use for `name` when it is not tinytorch's own (else None), noting the
    use. For a call site that has a faster path of its own (fused kernels) than the exercise's
    interface allows: it keeps that path while tinytorch's own implementation is in use, even
    when the course layer wrapped it (e.g. to time it)."""
    found = replaced.get(name)
    if found is None:
        return None
    looked_up.add(name)
    return None if inspect.unwrap(found) is _tinytorch[name] else found


def replace(name, fn):
    """Use `fn` wherever tinytorch calls the seam `name` (until `restore`)."""
    tinytorch(name)  # an unknown name is an error, not a silent no-op
    if not callable(fn):
        raise TypeError(f"seam {name!r}: the replacement must be callable, got {type(fn).__name__}")
    replaced[name] = fn


def restore(*names):
    """tinytorch's own implementation again for `names` (every seam when none is given)."""
    for name in names or list(replaced):
        replaced.pop(name, None)


@contextlib.contextmanager
def tinytorch_only():
    """tinytorch's own implementation at every seam inside the block (a check compares the
    learner's code with tinytorch's, never with itself)."""
    saved = dict(replaced)
    replaced.clear()
    try:
        yield
    finally:
        replaced.clear()
        replaced.update(saved)
