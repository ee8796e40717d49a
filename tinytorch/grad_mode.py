"""Global switch for recording operations (`no_grad`, `enable_grad`)."""

import contextlib

_enabled = True


def is_grad_enabled():
    """True when new operations are recorded for backward."""
    return _enabled


class _GradMode(contextlib.ContextDecorator):
    """Context manager (and decorator) that sets grad mode and restores it on exit."""

    def __init__(self, mode):
        self.mode = mode

    def __enter__(self):
        global _enabled
        self.previous, _enabled = _enabled, self.mode

    def __exit__(self, *exc):
        global _enabled
        _enabled = self.previous
        return False


def no_grad():
    """Stop recording: use for evaluation and for in-place parameter updates."""
    return _GradMode(False)


def enable_grad():
    """Record operations again, e.g. inside a `no_grad` block."""
    return _GradMode(True)
