"""Global switch for recording operations (`no_grad`, `enable_grad`, `set_grad_enabled`)."""

import contextlib

_enabled = True


def is_grad_enabled():
    """True when new operations are recorded for backward."""
    return _enabled


class _GradMode(contextlib.ContextDecorator):
    """Context manager (and decorator) that sets grad mode and restores it on exit.

    As in PyTorch, `no_grad` / `enable_grad` work as `with no_grad():`, `@no_grad()` and `@no_grad`.
    """

    mode = True

    def __new__(cls, func=None):
        if func is not None:  # used as a bare decorator: `@no_grad`
            return cls()(func)
        return super().__new__(cls)

    def __init__(self, func=None):
        self.previous = []  # a stack, so one instance can be entered again while active

    def __enter__(self):
        global _enabled
        self.previous.append(_enabled)
        _enabled = self.mode

    def __exit__(self, *exc):
        global _enabled
        _enabled = self.previous.pop()
        return False


class no_grad(_GradMode):
    """Stop recording: use for evaluation and for in-place parameter updates."""

    mode = False


class enable_grad(_GradMode):
    """Record operations again, e.g. inside a `no_grad` block."""

    mode = True


class set_grad_enabled(_GradMode):
    """Turn recording on or off: `with set_grad_enabled(False):`, or call it to set it globally."""

    def __new__(cls, mode):
        return object.__new__(cls)

    def __init__(self, mode):
        global _enabled
        super().__init__()
        self.mode = bool(mode)
        self.previous.append(_enabled)  # calling it (without `with`) sets the mode right away
        _enabled = self.mode

    def __enter__(self):
        pass  # already set by __init__; __exit__ restores the saved mode


class inference_mode(_GradMode):
    """`torch.inference_mode`: here the same as `no_grad` (`inference_mode(False)` records again);
    works as `with inference_mode():`, `@inference_mode()` and `@inference_mode`."""

    def __new__(cls, mode=True):
        if callable(mode):  # used as a bare decorator: `@inference_mode`
            return cls()(mode)
        return object.__new__(cls)

    def __init__(self, mode=True):
        super().__init__()
        self.mode = not mode
