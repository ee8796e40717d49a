"""Where is this running? Browser (Pyodide/WebAssembly) or native, and the hand-off to a
local install for the measurements that only mean something on native hardware."""

import os
import platform as _platform
import sys

import numpy as np

from . import __version__

# The course site ships this wheel (see its file browser and the offline archive).
WHEEL = f"tinytorch-{__version__}-py3-none-any.whl"
PIP_INSTALL = f"pip install {WHEEL}"


def is_browser():
    """True inside Pyodide (WebAssembly in a browser or Node), where NumPy has no BLAS."""
    return sys.platform == "emscripten" or "pyodide" in sys.modules


def blas_name():
    """The BLAS NumPy was built with, or 'none' (Pyodide)."""
    if is_browser():  # Pyodide's NumPy reports a build option ("auto"), but links no BLAS
        return "none"
    try:
        config = np.show_config(mode="dicts")
    except Exception:  # old or minimal builds have no dict mode
        return "unknown"
    blas = (config or {}).get("Build Dependencies", {}).get("blas", {})
    return blas.get("name", "none") if blas.get("found", True) else "none"


def describe():
    """One line about the runtime: where, Python, NumPy, BLAS, cores."""
    where = "browser (Pyodide/WebAssembly)" if is_browser() else f"native ({_platform.machine()})"
    cores = 1 if is_browser() else os.cpu_count()
    return (
        f"{where}; Python {_platform.python_version()}, NumPy {np.__version__}, "
        f"BLAS {blas_name()}, {cores} core(s) used by NumPy"
    )


def native_handoff(what, command, differs="NumPy here has no BLAS and runs on one thread"):
    """Say, in one short message, why `what` needs a native run and exactly how to do it.

    Returns True when running natively (so the caller runs the full version), False in the
    browser (the caller runs its scaled-down version, if it has one).
    """
    if not is_browser():
        return True
    print(
        f"In the browser: {what} is scaled down here, because {differs}.\n"
        f"For the full measurement on your machine:  {PIP_INSTALL} && {command}"
    )
    return False
