"""Limit NumPy's BLAS (and PyTorch) to N threads, and say which BLAS with how many threads.

Shared by the benchmark scripts: the browser is single-threaded, so like-for-like figures need
both libraries pinned to the same thread count, and a reported figure needs the BLAS beside it.
threadpoolctl is optional: without it the BLAS thread count stays at its default (said so).
"""

from contextlib import nullcontext

import numpy as np

from tinytorch.platform import is_browser

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:
    threadpool_info = threadpool_limits = None


def limit_threads(threads, torch=None):
    """A context in which NumPy's BLAS uses `threads` threads (0: leave the defaults); also sets
    torch.set_num_threads(threads) when `torch` (the module) is given."""
    if torch is not None and threads:
        torch.set_num_threads(threads)
    if threadpool_limits is None or not threads:
        return nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


def blas_info():
    """'openblas 0.3.27; runtime: openblas 0.3.27 (1 threads)', or 'none (Pyodide)'."""
    if is_browser():
        return "none (Pyodide)"
    config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    text = f"{config.get('name')} {config.get('version')}"
    if threadpool_info is not None:
        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        text += "; runtime: " + ", ".join(
            f"{p['internal_api']} {p.get('version')} ({p['num_threads']} threads)" for p in pools)
    return text


def print_runtime(threads, torch=None):
    """One line each: NumPy and its BLAS, PyTorch and its threads, a missing threadpoolctl."""
    print(f"NumPy {np.__version__}, BLAS: {blas_info()}")
    if torch is not None:
        print(f"PyTorch {torch.__version__}, torch.get_num_threads() = {torch.get_num_threads()}")
    if threads and threadpool_limits is None and not is_browser():
        print("threadpoolctl is not installed: NumPy's BLAS thread count was left at its default")
