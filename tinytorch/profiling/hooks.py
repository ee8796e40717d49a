"""Temporarily intercept the forward calls of a model's submodules.

`Module` has no hook mechanism, so for the duration of a `with` block each module gets an
instance attribute `forward` that wraps its own bound `forward` (instance attributes shadow
the class's method, and `Module.__call__` calls `self.forward`). On exit the attribute is
removed, so the class and every other instance are never touched.
"""

from contextlib import contextmanager


@contextmanager
def intercept_forwards(named_modules, around):
    """Within the block, calling module `m` (named `name`) runs `around(name, m, forward, args, kwargs)`.

    `around` must call `forward(*args, **kwargs)` itself and return the output; it can time
    the call or look at the inputs and output. `named_modules` is an iterable of
    (name, module) pairs, e.g. `model.named_modules()`.
    """
    patched = []  # (module, had_own_forward, previous instance attribute)
    try:
        for name, module in named_modules:
            had_own = "forward" in module.__dict__
            own = module.__dict__.get("forward")
            object.__setattr__(module, "forward", _wrap(around, name, module, module.forward))
            patched.append((module, had_own, own))
    except BaseException:
        _restore(patched)
        raise
    try:
        yield
    finally:
        _restore(patched)


def _wrap(around, name, module, forward):
    def wrapped(*args, **kwargs):
        return around(name, module, forward, args, kwargs)

    return wrapped


def _restore(patched):
    for module, had_own, own in reversed(patched):
        if had_own:
            object.__setattr__(module, "forward", own)
        else:
            module.__dict__.pop("forward", None)
