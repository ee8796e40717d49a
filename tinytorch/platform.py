"""Where is this running? Browser (Pyodide/WebAssembly) or native, and the hand-off to a
local install for the measurements that only mean something on native hardware."""

import os
import platform as _platform
import sys

import numpy as np

from . import __version__

# The course site ships this wheel in its Pyodide folder; its download/ page links it there.
WHEEL = f"tinytorch-{__version__}-py3-none-any.whl"
WHEEL_PATH = f"static/pyodide/{WHEEL}"  # relative to the site's root URL (and the offline folder)
COURSE_FOLDER = "tinytorch-notebooks"   # where `tinytorch course` writes the notebooks by default
WORK_ARCHIVE = "tinytorch-work.zip"     # the learner's work, downloaded from the browser
# Folders of a JupyterLite site under its root: the kernel's worker runs from extensions/...,
# pages from lab/, notebooks/, ... (the site works under any sub-path, so the root is found
# by cutting the URL there).
_SITE_FOLDERS = ("extensions", "lab", "notebooks", "tree", "repl", "edit", "consoles", "static", "files", "download")


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


def site_root(href: str) -> str:
    """The course site's root URL, from the URL of any page or worker script of the site."""
    base = href.split("#", 1)[0].split("?", 1)[0]
    for folder in _SITE_FOLDERS:
        marker = f"/{folder}/"
        if marker in base:
            return base.split(marker, 1)[0] + "/"
    return base.rsplit("/", 1)[0] + "/"


def site_url() -> str | None:
    """In the browser, the root URL of the course site this kernel was started from; else None."""
    if not is_browser():
        return None
    try:
        import js  # Pyodide's view of the JavaScript global scope (the kernel's web worker)

        return site_root(str(js.location.href))
    except Exception:  # noqa: BLE001 - Pyodide under Node has no location
        return None


def local_commands(notebook: str | None = None, site: str | None = None, work: bool | None = None) -> list[str]:
    """The exact commands that move this course to a local Python (one per line, in order):
    install the wheel of the course site in use (never a package index: `tinytorch` there is
    another project), write the notebooks with your work merged in, open `notebook`.

    `site` is the site's root URL (default: the one this kernel runs from); without one, the
    wheel is the file downloaded from the site's download/ page. `work` (default: in the
    browser) merges the work archive downloaded from the site."""
    site = site or site_url()
    # a URL takes the extra as a PEP 508 direct reference; a file path after its name
    commands = [f'pip install "tinytorch[course] @ {site}{WHEEL_PATH}"' if site else f'pip install "./{WHEEL}[course]"']
    work = is_browser() if work is None else work
    commands.append(f"tinytorch course {COURSE_FOLDER}" + (f" --work {WORK_ARCHIVE}" if work else ""))
    if notebook:
        commands.append(f"jupyter lab {COURSE_FOLDER}/{notebook}")
    return commands


def handoff_message(notebook: str | None = None) -> str:
    """How to continue on your own machine, as numbered steps (the browser first saves your
    work); on a local run, says so (nothing to do)."""
    if not is_browser():
        return (f"  This already runs on your machine ({describe()}): `tinytorch export` makes a work "
                f"archive for the course site.")
    wheel = "" if site_url() else f" and {WHEEL} (the site's download/ page)"
    steps = [f"download your work: run `tinytorch.cli.download_work()` (or see progress.ipynb){wheel}, then, "
             f"in the folder where you saved {WORK_ARCHIVE}:", *local_commands(notebook)]
    return "\n".join(f"  {number}. {step}" for number, step in enumerate(steps, start=1))


def native_handoff(what, notebook=None, differs="NumPy here has no BLAS and runs on one thread"):
    """Say, in one short message, why `what` needs a native run and exactly how to do it
    (`notebook`: this notebook's path in the course, e.g. "modules/18_acceleration.ipynb").

    Returns True when running natively (so the caller runs the full version), False in the
    browser (the caller runs its scaled-down version, if it has one).
    """
    if not is_browser():
        return True
    print(f"In the browser: {what} is scaled down here, because {differs}.\n"
          f"For the full measurement on your machine:\n{handoff_message(notebook)}")
    return False
