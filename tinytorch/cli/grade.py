"""`tinytorch grade ARCHIVE...`: run every check, headless, on the implementations saved in
learners' work archives, and write one CSV row per learner and check.

A check is graded on the learner's saved implementation (`my_tinytorch/<name>.py`, loaded as
`from tinytorch.mine import <name>` would load it): pass, fail (with the check's first report
line), or missing (nothing saved for it: the notebooks save only the framework's components;
the detail then says what the learner's progress.json recorded, for grading the notebook). Archives are graded in parallel, one process each;
a learner's code runs with your permissions: grade untrusted archives in a container.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import multiprocessing
import os
import tempfile
import time
from pathlib import Path

from .. import mine
from ..checks import CheckFailed
from ..course import registry, storage
from .archive import FRAMEWORK, STATE_FILE, ArchiveError, read_work_archive

POINTS_PER_CHECK = 1  # also the points of each autograded check cell in nbgrader's metadata
FIELDS = ["learner", "module", "check", "implementation", "result", "points", "max_points", "detail"]


def course_checks() -> list[tuple[str, str]]:
    """(module, exercise) for every exercise of the course, in course order; each has one check."""
    return [(module, name) for module, _, names in mine.MODULES for name in names]


def run_check(name: str) -> tuple[str, str]:
    """(result, detail) of exercise `name`'s check on the learner's saved implementation (the
    learner's folder is TINYTORCH_HOME)."""
    exercise = registry.EXERCISES[name]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        try:
            theirs = mine.load(name, quiet=True)
        except Exception as error:  # noqa: BLE001 - anything in the learner's file
            return "fail", f"does not load: {type(error).__name__}: {error}"[:300]
        if exercise.is_component and theirs is exercise.tinytorch():
            return "fail", "the saved file does not load or fails its check (tinytorch's would be used)"
        try:
            exercise.check(theirs)
        except CheckFailed as failure:
            return "fail", str(failure).strip().splitlines()[0][:300]
        except Exception as error:  # noqa: BLE001
            return "fail", f"{type(error).__name__}: {error}"[:300]
    return "pass", ""


def grade_home(learner: str, home: Path) -> list[dict]:
    """One row per course check for the learner whose saved framework is in `home`."""
    try:
        recorded = json.loads((home / STATE_FILE).read_text(encoding="utf-8")).get("checks", {})
    except (OSError, ValueError, AttributeError):
        recorded = {}
    rows = []
    with storage.home_at(home):
        for module, name in course_checks():
            row = {"learner": learner, "module": module, "check": name, "implementation": "",
                   "max_points": POINTS_PER_CHECK}
            if (home / f"{name}.py").is_file():
                result, detail = run_check(name)
                row.update(implementation=f"{FRAMEWORK}/{name}.py", result=result, detail=detail)
            elif name in recorded:  # not saved (only framework components are): what the notebook recorded
                outcome = "passed" if recorded[name].get("passed") else "failed"
                row.update(result="missing", detail=f"no saved implementation; progress.json says its check {outcome} "
                                                    f"({recorded[name].get('time', 'no time')}): grade the notebook")
            else:
                row.update(result="missing", detail="no saved implementation")
            row["points"] = POINTS_PER_CHECK if row["result"] == "pass" else 0
            rows.append(row)
    return rows


def grade_archive(path: str) -> list[dict]:
    """Grade one work archive (its my_tinytorch/ files, in a scratch folder); the learner is
    named by the archive's file name."""
    learner = Path(path).stem
    try:
        contents = read_work_archive(Path(path))
    except ArchiveError as error:
        return [{"learner": learner, "module": "", "check": "", "implementation": "", "result": "fail",
                 "points": 0, "max_points": 0, "detail": str(error)}]
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        for name, (data, _) in contents.items():
            if name.startswith(f"{FRAMEWORK}/"):
                (home / name.split("/", 1)[1]).write_bytes(data)
        return grade_home(learner, home)


def grade(archives: list[str], out: Path | str = "grades.csv", jobs: int | None = None) -> list[dict]:
    """Grade every archive (in `jobs` processes, default one per core), write the CSV to `out`,
    print one line per learner; returns the rows."""
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(archives)))
    start = time.perf_counter()
    if jobs == 1:
        per_archive = [grade_archive(str(path)) for path in archives]
    else:
        with multiprocessing.Pool(jobs) as pool:
            per_archive = pool.map(grade_archive, [str(path) for path in archives], chunksize=1)
    rows = [row for rows in per_archive for row in rows]
    with open(out, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    for learner_rows in per_archive:
        if learner_rows:
            points = sum(row["points"] for row in learner_rows)
            total = sum(row["max_points"] for row in learner_rows)
            print(f"{learner_rows[0]['learner']}: {points}/{total} points")
    print(f"Graded {len(archives)} archive{'s' * (len(archives) != 1)} in {time.perf_counter() - start:.1f} s "
          f"({jobs} process{'es' * (jobs != 1)}); wrote {out}")
    return rows


def add_parser(commands) -> None:
    parser = commands.add_parser("grade", help="run every check on learners' work archives, write CSV",
                                 description=__doc__)
    parser.add_argument("archives", nargs="+", metavar="ARCHIVE", help="work archives (tinytorch-work.zip files)")
    parser.add_argument("--out", default="grades.csv", help="CSV file to write (default: grades.csv)")
    parser.add_argument("--jobs", type=int, default=None, help="processes (default: one per core)")
    parser.set_defaults(run=lambda args: grade(args.archives, args.out, args.jobs))
