"""`tinytorch doctor`: what is installed and what is missing for the course on this machine."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

from .. import __version__, mine, platform
from .course import PACKAGED, REPO, in_checkout

# (distribution, what the course uses it for, required?)
PACKAGES = [
    ("numpy", "the framework", True),
    ("matplotlib", "plots in the notebooks and the milestones", True),
    ("jupyterlab", "opening the notebooks (or `notebook`)", False),
    ("notebook", "opening the notebooks (or `jupyterlab`)", False),
    ("ipykernel", "running notebooks in Jupyter", True),
    ("torch", "optional: comparing with PyTorch", False),
]


def version_of(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def report() -> list[str]:
    """The lines of the doctor's report; the missing packages are marked MISSING."""
    import tinytorch

    lines = [f"tinytorch {__version__} at {Path(tinytorch.__file__).parent}",
             f"Python {sys.version.split()[0]} ({sys.executable})",
             f"runtime: {platform.describe()}"]
    for distribution, use, required in PACKAGES:
        version = version_of(distribution)
        mark = version or ("MISSING" if required else "not installed")
        lines.append(f"  {distribution:<11s} {mark:<14s} {use}")
    if not (version_of("jupyterlab") or version_of("notebook")):
        lines.append("  Jupyter is MISSING: install the course extra, " + platform.local_commands()[0])
    home = mine.home()
    saved = sum(len(row["yours"]) for row in mine.progress_rows())
    files = len(list(home.glob("*.py"))) if home.is_dir() else 0
    lines.append(f"your framework: {home} ({'exists' if home.is_dir() else 'not created yet'}); "
                 f"{saved} course component{'s' * (saved != 1)} saved, {files} file{'s' * (files != 1)}")
    source = PACKAGED if PACKAGED.is_dir() else (REPO if in_checkout() else None)
    lines.append(f"course notebooks: {source or 'MISSING (this install has none: use the wheel of the course site)'}")
    return lines


def add_parser(commands) -> None:
    parser = commands.add_parser("doctor", help="what is installed and missing", description=__doc__)
    parser.set_defaults(run=lambda args: print("\n".join(report())))
