"""Where the course keeps a learner's work: the folder of saved implementations and
`progress.json` (in the browser, `my_tinytorch/` in JupyterLite's storage; locally
`~/.tinytorch/` or $TINYTORCH_HOME), and which notebook is running."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import sys
from pathlib import Path

from ..platform import is_browser

DRIVE = Path("/drive")  # the Pyodide kernel's view of JupyterLite's browser storage
BROWSER_FOLDER = "my_tinytorch"
MANIFEST_NAME = "course_manifest.json"
STATE_FILE = "progress.json"

current_notebook = None  # set by release.check_release(), the first code cell of every course notebook


@contextlib.contextmanager
def home_at(folder):
    """Inside the block, home() is `folder` (TINYTORCH_HOME set); the previous setting comes back after."""
    previous = os.environ.get("TINYTORCH_HOME")
    os.environ["TINYTORCH_HOME"] = str(folder)
    try:
        yield Path(folder)
    finally:
        if previous is None:
            os.environ.pop("TINYTORCH_HOME", None)
        else:
            os.environ["TINYTORCH_HOME"] = previous


def home() -> Path:
    """The folder holding your saved implementations and progress.json."""
    configured = os.environ.get("TINYTORCH_HOME")
    if configured:
        return Path(configured).expanduser()
    if is_browser() and DRIVE.is_dir():
        return DRIVE / BROWSER_FOLDER
    return Path.home() / ".tinytorch"


def drive_unavailable() -> bool:
    """In a JupyterLite kernel started without the browser's storage at /drive: JupyterLite
    mounts it only once its service worker is registered, which a page load may still be
    redoing when the notebook's kernel starts (seen on a site's second load)."""
    return "pyodide_kernel" in sys.modules and not DRIVE.is_dir()


DRIVE_UNAVAILABLE = ("Note: this kernel started before your browser's storage was ready, so it cannot see "
                     "your saved work (my_tinytorch/, progress.json) and would not save any. Restart the "
                     "kernel (Kernel > Restart Kernel...) and run this cell again.")


def shown(path: Path) -> str:
    """A path as the learner finds it: relative to the file browser's root in the browser."""
    try:
        return path.relative_to(DRIVE).as_posix() if is_browser() else str(path)
    except ValueError:
        return str(path)


def _in_kernel() -> bool:
    ipython = sys.modules.get("IPython")
    return bool(ipython and getattr(ipython, "get_ipython", lambda: None)() is not None)


def persisting() -> bool:
    """Whether check outcomes are written to progress.json: in a notebook (browser or local
    Jupyter) or when TINYTORCH_HOME is set; not in plain scripts or the library's tests."""
    if os.environ.get("TINYTORCH_HOME"):
        return True
    if is_browser():
        return DRIVE.is_dir()
    return _in_kernel()


def now() -> str:
    return datetime.datetime.now().strftime("%Y-%m-%d %H:%M")


def read_state() -> dict:
    path = home() / STATE_FILE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {}
    if not isinstance(state, dict):
        state = {}
    state.setdefault("checks", {})
    state.setdefault("saved", {})
    return state


def write_state(state: dict) -> None:
    folder = home()
    folder.mkdir(parents=True, exist_ok=True)
    path, text = folder / STATE_FILE, json.dumps(state, indent=1, sort_keys=True) + "\n"
    if is_browser():
        # Overwriting a .json file in JupyterLite's drive leaves the kernel busy forever
        # (jupyterlite/xeus#272, Pyodide kernel too); writing a new one works.
        path.unlink(missing_ok=True)
        path.write_text(text, encoding="utf-8")
    else:
        partial = path.with_name(path.name + ".partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)


def notebook() -> str | None:
    """The notebook running this code, when known (course notebooks say it in their first cell)."""
    if current_notebook:
        return current_notebook
    session = os.environ.get("JPY_SESSION_NAME")  # set by Jupyter Server for local kernels
    return Path(session).name if session else None
