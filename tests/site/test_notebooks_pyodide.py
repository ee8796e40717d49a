"""The course notebooks' claimed trends hold in the browser too: the solution edition of every
notebook whose code asserts a trend (an `assert` outside the solutions, e.g. 02's "tanh should
keep far more spread than relu") runs cell by cell in the site's own Pyodide under Node, where
NumPy has no BLAS and one thread. tests/test_content.py runs the same notebooks natively.

Cells that need a native Jupyter kernel are skipped (SKIPPED_CELLS says which and why); a
notebook's native hand-off (tinytorch.platform.native_handoff) returns False here, so its
scaled-down browser part runs, as it does for learners.

Only the notebooks with trend asserts run by default (about 1.5 minutes on 2 cores, after the
site build); TINYTORCH_PYODIDE_ALL_NOTEBOOKS=1 runs every module notebook (about 2.5 minutes
more: 13_transformers alone takes 35 s), which also catches code that fails only in WebAssembly.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.site.test_site_pyodide import node
from tinytorch_site.common import REPO
from tinytorch_site.in_pyodide import RUNNER
from tinytorch_site.notebooks import make_notebook

pytestmark = [pytest.mark.slow, pytest.mark.pyodide]

MODULES = sorted((REPO / "content").glob("[0-9][0-9]_*.py"))
DRIVER = Path(__file__).with_name("notebook_cells.py")  # runs the cells inside Pyodide
# Cells a Pyodide kernel runs but plain Python in Pyodide cannot: (pattern, why skipped).
SKIPPED_CELLS = [
    (re.compile(r"^\s*[%!]", re.MULTILINE), "IPython magic or shell escape: needs the IPython kernel"),
    (re.compile(r"\bget_ipython\(|\bdisplay\(|\bipywidgets\b"), "IPython display or widgets: needs a kernel's front end"),
]


def trend_asserts(source: Path) -> list[str]:
    """The assert statements of the notebook's given code (the student edition: not the
    solutions, whose own asserts are the learner's business)."""
    found = []
    for cell in make_notebook(source, "student").cells:
        if cell.cell_type == "code" and not skip_reason(cell.source):
            found += [ast.unparse(statement.test) for statement in ast.walk(ast.parse(cell.source))
                      if isinstance(statement, ast.Assert)]
    return found


def skip_reason(code: str) -> str | None:
    return next((why for pattern, why in SKIPPED_CELLS if pattern.search(code)), None)


TREND_MODULES = [source for source in MODULES if trend_asserts(source)]
RUN_MODULES = MODULES if os.environ.get("TINYTORCH_PYODIDE_ALL_NOTEBOOKS") == "1" else TREND_MODULES


def write_cells(source: Path, folder: Path) -> list[tuple[int, str]]:
    """The solution edition's code cells as folder/cell_NNN.py; returns the skipped cells."""
    skipped = []
    for index, cell in enumerate(make_notebook(source, "solution").cells):
        if cell.cell_type != "code":
            continue
        why = skip_reason(cell.source)
        if why:
            skipped.append((index, why))
        else:
            (folder / f"cell_{index:03d}.py").write_text(cell.source + "\n", encoding="utf-8")
    return skipped


def run_notebook_in_pyodide(site_dir: Path, folder: Path) -> tuple[dict | None, subprocess.CompletedProcess]:
    shutil.copy2(DRIVER, folder / DRIVER.name)
    result = subprocess.run(
        # --imports-of: the lock's packages the cells import (numpy, matplotlib, tinytorch)
        [node(), str(RUNNER), str(site_dir / "static" / "pyodide"), "--mount", f"{folder}:/notebook",
         "--imports-of", "/notebook", "--cwd", "/tmp/run", f"/notebook/{DRIVER.name}", "/notebook"],
        capture_output=True, text=True, timeout=900,
    )
    report = folder / "result.json"
    return (json.loads(report.read_text()) if report.exists() else None), result


def test_every_trend_notebook_is_found():
    """The selection is not empty and finds the known example (02's tanh/relu spreads)."""
    names = [source.stem for source in TREND_MODULES]
    assert "02_activations" in names, names


@pytest.mark.parametrize("source", RUN_MODULES, ids=lambda path: path.stem)
def test_claimed_trends_hold_in_pyodide(source, site_dir, tmp_path):
    skipped = write_cells(source, tmp_path)
    for index, why in skipped:
        print(f"{source.stem}: cell {index} skipped: {why}")
    start = time.perf_counter()
    report, process = run_notebook_in_pyodide(site_dir, tmp_path)
    wall = time.perf_counter() - start
    if report is None:  # Pyodide itself failed before or after the cells
        pytest.fail(f"{source.name}: the Pyodide run failed (exit {process.returncode}):\n{process.stderr[-3000:]}")
    seconds = sum(cell_seconds for _, cell_seconds in report["cells"])
    slowest = sorted(report["cells"], key=lambda cell: -cell[1])[:3]
    print(f"{source.stem}: {len(report['cells'])} cells in Pyodide, {seconds:.1f} s ({wall:.1f} s with start-up) "
          f"(slowest: {', '.join(f'cell {i} {t:.1f} s' for i, t in slowest)})")
    failure = report["failure"]
    assert failure is None, (
        f"{source.name} (solution edition) in Pyodide: cell {failure['cell']} raised "
        f"{failure['error']}: {failure['message']}\n{failure['traceback']}\n"
        f"output before it:\n{process.stdout[-2000:]}")
    assert process.returncode == 0, process.stderr[-3000:]


def test_a_trend_that_fails_only_in_pyodide_is_reported(site_dir, tmp_path):
    """A claim true natively but not in WebAssembly fails, naming the cell and the message;
    the cells after it are not run, and a magic cell is skipped, not run."""
    source = tmp_path / "99_fake.py"
    source.write_text(
        "# %% [markdown]\n# # A fake module\n\n# %%\nimport sys\n\n# %%\n# %timeit sum(range(10))\n\n"
        "# %%\nassert sys.platform != 'emscripten', 'this trend holds natively only'\n\n"
        "# %%\nraise RuntimeError('not reached')\n", encoding="utf-8")
    folder = tmp_path / "cells"
    folder.mkdir()
    assert write_cells(source, folder) == [(2, SKIPPED_CELLS[0][1])]
    report, process = run_notebook_in_pyodide(site_dir, folder)
    assert process.returncode == 1
    assert report["failure"]["cell"] == 3 and report["failure"]["error"] == "AssertionError"
    assert report["failure"]["message"] == "this trend holds natively only"
    assert [index for index, _ in report["cells"]] == [1, 3]
