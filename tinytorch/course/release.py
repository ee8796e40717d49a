"""Course releases: is the site's version of a notebook newer than the learner's saved copy?"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..platform import is_browser
from . import storage


def _manifest_path() -> Path | None:
    configured = os.environ.get("TINYTORCH_COURSE_MANIFEST")
    if configured:
        return Path(configured)
    if is_browser() and storage.DRIVE.is_dir():
        return storage.DRIVE / storage.MANIFEST_NAME
    return None


def check_release(notebook: str, digest: str) -> None:
    """The first code cell of every course notebook (inserted by the site's build): remembers
    which notebook this is, and says so when the course site has a different (newer) version
    of it than this copy, which the browser keeps from an earlier release, or when this kernel
    cannot reach the browser's storage. Does nothing else, and nothing outside the browser."""
    storage.current_notebook = notebook
    if storage.drive_unavailable():
        print(storage.DRIVE_UNAVAILABLE)
        return
    path = _manifest_path()
    if path is None:
        return
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        current = manifest.get("notebooks", {}).get(notebook)
    except (OSError, ValueError, AttributeError):
        return
    if not current or current == digest:
        return
    stem = Path(notebook).stem
    print(f"Note: the course has a newer version of this notebook. This is the copy your browser saved "
          f"from an earlier release.\n"
          f"To get the new version and keep yours: right-click {Path(notebook).name} in the file browser, "
          f"Rename it (e.g. to {stem}_mine.ipynb), then open {notebook} again.\n"
          f"Or keep working in this copy: nothing changes unless you do that.")
