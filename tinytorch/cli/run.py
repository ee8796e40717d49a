"""`tinytorch progress` and `tinytorch milestone NN`: your progress table, and a milestone run
as a script on your own framework (the components you saved, through tinytorch.mine)."""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

from .. import mine
from .course import REPO, course_source, in_checkout


def show_progress() -> None:
    """Print the progress table of tinytorch.mine (what the course's progress notebook shows)."""
    mine.progress()


def milestone_code(number: str, scratch: Path) -> tuple[str, str]:
    """(name, Python source) of milestone `number` (01-06, or its year): the checkout's script,
    else the code cells of the wheel's milestone notebook (the same source, cell by cell)."""
    key = number.zfill(2)
    scripts = sorted((REPO / "milestones").glob("*.py")) if in_checkout() else []
    if scripts:
        found = {path.stem: path.read_text(encoding="utf-8") for path in scripts}
    else:
        import json

        found = {}
        for path in sorted((course_source(scratch) / "milestones").glob("*.ipynb")):
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            found[path.stem] = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code") + "\n"
    matches = [name for name in found if re.match(rf"{re.escape(key)}_|\d+_{re.escape(number)}_", name)]
    if len(matches) != 1:
        raise SystemExit(f"tinytorch milestone: no milestone {number!r}; the milestones are: {', '.join(found)}")
    return matches[0], found[matches[0]]


def run_milestone(number: str) -> None:
    """Run a milestone as a script (its plots open in windows when there is a display)."""
    with tempfile.TemporaryDirectory() as scratch:
        name, code = milestone_code(number, Path(scratch))
    print(f"Milestone {name}, on your framework (saved in {mine.home()}):", flush=True)
    start = time.perf_counter()
    namespace = {"__name__": "__main__", "__file__": f"milestones/{name}.py"}
    exec(compile(code, f"milestones/{name}.py", "exec"), namespace)
    print(f"Milestone {name} finished in {time.perf_counter() - start:.1f} s.", file=sys.stderr)


def add_parsers(commands) -> None:
    parser = commands.add_parser("progress", help="print your progress table",
                                 description=show_progress.__doc__)
    parser.set_defaults(run=lambda args: show_progress())
    parser = commands.add_parser("milestone", help="run milestone NN on your framework",
                                 description=run_milestone.__doc__)
    parser.add_argument("number", metavar="NN", help="01-06 (or the year, e.g. 1998)")
    parser.set_defaults(run=lambda args: run_milestone(args.number))
