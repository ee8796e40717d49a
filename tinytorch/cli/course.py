"""`tinytorch course [DIR]`: the course notebooks on your machine, with your work merged in.

The notebooks are the site's student edition, made by the site builder's own
`write_notebooks` (tinytorch_site/notebooks.py) from content/ and milestones/, the one source of the course:
at wheel-build time (setup.py puts them into the wheel, under tinytorch/cli/course_notebooks/)
or, in a checkout of the repository (editable install), from the checkout itself.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from pathlib import Path

from ..platform import COURSE_FOLDER
from . import archive

PACKAGED = Path(__file__).resolve().parent / "course_notebooks"  # setup.py writes it (COURSE_NOTEBOOKS there)
REPO = Path(__file__).resolve().parents[2]  # the repository, when running from a checkout


def in_checkout() -> bool:
    """Whether this tinytorch runs from a checkout of the repository (an editable install)."""
    return (REPO / "tinytorch_site" / "notebooks.py").is_file() and (REPO / "content").is_dir()


def site_builder():
    """The checkout's notebook builder (tinytorch_site.notebooks), None outside a checkout."""
    if not in_checkout():
        return None
    if str(REPO) not in sys.path:  # an editable install maps tinytorch only, not the site builder
        sys.path.append(str(REPO))
    return importlib.import_module("tinytorch_site.notebooks")


def course_source(scratch: Path) -> Path:
    """The folder of the student-edition notebooks: the wheel's, or written from the checkout."""
    if PACKAGED.is_dir():
        return PACKAGED
    builder = site_builder()
    if builder is None:
        raise SystemExit("tinytorch course: this installation has no course notebooks (install the wheel "
                         "from the course site's download/ page)")
    builder.write_notebooks(scratch, "student")
    return scratch


def write_course(folder: Path | str = COURSE_FOLDER, work=None, overwrite: bool | None = None) -> list[Path]:
    """Write the course notebooks into `folder`; with `work` (a work archive), restore it first
    (its notebooks, your framework, your progress): the course's notebooks fill in only what the
    archive and the folder do not have. Returns the notebooks the course added."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if work is not None:
        archive.import_work(work, notebooks=folder, overwrite=overwrite)
    added = []
    with tempfile.TemporaryDirectory() as scratch:
        source = course_source(Path(scratch))
        for path in sorted(source.rglob("*.ipynb")):
            target = folder / path.relative_to(source)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.for_this_runtime(path.read_bytes(), browser=False))
                added.append(target)
    print(f"Wrote {len(added)} course notebook{'s' * (len(added) != 1)} into {folder}"
          + (" (the others were there already)" if work is not None or len(added) == 0 else "") + ".\n"
          f"Open them with:  jupyter lab {folder / '00_start_here.ipynb'}")
    return added


def add_parser(commands) -> None:
    parser = commands.add_parser("course", help="write the course notebooks (student edition) into DIR",
                                 description=write_course.__doc__)
    parser.add_argument("dir", nargs="?", default=COURSE_FOLDER, help=f"folder (default: {COURSE_FOLDER})")
    parser.add_argument("--work", metavar="ARCHIVE", help="a work archive downloaded from the course site")
    overwrite_flags(parser)
    parser.set_defaults(run=lambda args: write_course(args.dir, args.work, args.overwrite))


def overwrite_flags(parser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--yes", dest="overwrite", action="store_true", default=None,
                       help="replace local files newer than the archive's without asking")
    group.add_argument("--no", dest="overwrite", action="store_false",
                       help="keep local files newer than the archive's without asking")
