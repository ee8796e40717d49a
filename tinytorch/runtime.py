"""Process-wide settings PyTorch programs make (threads, determinism, matmul precision).

tinytorch runs NumPy in one thread (the browser has one) and its kernels are deterministic,
so these are accepted, checked and remembered, and change nothing.
"""

_settings = {"deterministic": False, "matmul_precision": "highest", "threads": 1}


def get_num_threads():
    """1: tinytorch's kernels use one thread."""
    return 1


def set_num_threads(n):
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive integer, got {n!r}")
    _settings["threads"] = n


get_num_interop_threads = get_num_threads
set_num_interop_threads = set_num_threads


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Accepted: every tinytorch kernel is deterministic already."""
    _settings["deterministic"] = bool(mode)


def are_deterministic_algorithms_enabled():
    return _settings["deterministic"]


def set_float32_matmul_precision(precision):
    if precision not in ("highest", "high", "medium"):
        raise ValueError(f"set_float32_matmul_precision: expected 'highest', 'high' or 'medium', got {precision!r}")
    _settings["matmul_precision"] = precision


def get_float32_matmul_precision():
    return _settings["matmul_precision"]
