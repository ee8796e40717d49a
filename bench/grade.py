"""How long `tinytorch grade` takes on a class: runs the solution edition of some modules
(saving the components, as a learner's notebooks do), makes N work archives from it (some
with a component deleted or broken, so failures are graded too), and grades them all.

    python bench/grade.py [--archives 100] [--modules 01-13] [--jobs N]
"""

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import build  # noqa: E402  the repo's build.py: the solution edition
from tinytorch.cli import archive, grade  # noqa: E402


def module_sources(spec: str) -> list[Path]:
    first, _, last = spec.partition("-")
    numbers = range(int(first), int(last or first) + 1)
    return [p for n in numbers for p in sorted((REPO / "content").glob(f"{n:02d}_*.py"))]


def run_solutions(sources: list[Path], folder: Path) -> Path:
    """Execute the solution editions in Jupyter kernels, with the learner's home in folder/home."""
    import nbclient
    import nbformat

    env = {"TINYTORCH_HOME": str(folder / "home"), "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    os.environ.update(env)
    folder.mkdir(parents=True, exist_ok=True)
    for source in sources:
        notebook = build.make_notebook(source, "solution")
        start = time.perf_counter()
        nbclient.NotebookClient(notebook, timeout=900, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(folder)}}).execute()
        target = folder / "notebooks" / "modules" / f"{source.stem}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
        print(f"  ran {source.stem} (solution edition) in {time.perf_counter() - start:.1f} s", flush=True)
    return folder / "home"


def make_class(template: bytes, count: int, folder: Path) -> list[Path]:
    """`count` archives: copies of `template`, every 4th missing one component, every 7th with
    one component that no longer loads."""
    contents = archive.read_work_archive(template)
    saved = sorted(name for name in contents if name.endswith(".py"))
    paths = []
    for index in range(count):
        rng = random.Random(index)
        files = {name: data for name, (data, _) in contents.items()}
        if saved and index % 4 == 3:
            del files[rng.choice(saved)]
        if saved and index % 7 == 6:
            victim = rng.choice([name for name in saved if name in files])
            files[victim] = files[victim] + b"\nthis is not python\n"
        learner = folder / "work" / "learner"
        for name, data in files.items():
            (learner / name).parent.mkdir(parents=True, exist_ok=True)
            (learner / name).write_bytes(data)
        path = folder / f"learner{index:03d}.zip"
        path.write_bytes(archive.make_work_archive(learner, learner / archive.FRAMEWORK))
        for name in files:
            (learner / name).unlink()
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archives", type=int, default=100)
    parser.add_argument("--modules", default="01-13", help="solution editions to run, e.g. 01-13")
    parser.add_argument("--jobs", type=int, default=None, help="grading processes (default: one per core)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"Running the solution edition of modules {args.modules} ...", flush=True)
        home = run_solutions(module_sources(args.modules), folder / "learner")
        template = archive.make_work_archive(folder / "learner" / "notebooks", home)
        saved = sum(name.endswith(".py") for name in archive.read_work_archive(template))
        archives = make_class(template, args.archives, folder)
        print(f"{len(archives)} archives, {saved} saved components each (some deleted or broken), "
              f"{len(grade.course_checks())} checks per learner, {os.cpu_count()} cores", flush=True)
        start = time.perf_counter()
        rows = grade.grade([str(p) for p in archives], folder / "grades.csv", args.jobs)
        seconds = time.perf_counter() - start
    results = {result: sum(row["result"] == result for row in rows) for result in ("pass", "fail", "missing")}
    print(f"\ntinytorch grade: {len(archives)} archives in {seconds:.1f} s "
          f"({seconds / len(archives):.2f} s per archive); rows: {results}")


if __name__ == "__main__":
    main()
