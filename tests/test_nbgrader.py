"""The solution edition carries nbgrader's cell metadata, and nbgrader grades with it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

build = pytest.importorskip("build")  # the repo's build.py (pythonpath = ".")

from tinytorch.cli.grade import POINTS_PER_CHECK  # noqa: E402
from tinytorch_site import notebooks  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MODULES = sorted(p for p in (REPO / "content").glob("[0-9][0-9]_*.py") if notebooks.SOLUTION_BEGIN in p.read_text())


@pytest.mark.parametrize("source", MODULES, ids=lambda p: p.stem)
def test_solution_edition_marks_solutions_checks_and_read_only_cells(source):
    notebook = build.make_notebook(source, "solution")
    marks = [cell.metadata["nbgrader"] for cell in notebook.cells]
    assert all(mark["schema_version"] == 3 for mark in marks)
    assert len({mark["grade_id"] for mark in marks}) == len(marks)
    answers = [cell for cell in notebook.cells if notebooks.SOLUTION_TAG in cell.metadata.get("tags", [])]
    assert all(c.metadata["nbgrader"]["solution"] and c.metadata["nbgrader"]["grade"] for c in answers)  # by hand
    solutions = [cell for cell in notebook.cells if cell.metadata["nbgrader"]["solution"] and cell not in answers]
    assert sum(cell.source.count(notebooks.SOLUTION_BEGIN) for cell in solutions) == source.read_text().count(
        notebooks.SOLUTION_BEGIN)
    assert all(notebooks.SOLUTION_BEGIN in cell.source and notebooks.SOLUTION_END in cell.source for cell in solutions)
    checks = [cell for cell in notebook.cells if "check" in cell.metadata.get("tags", [])]
    assert checks and all(c.metadata["nbgrader"]["grade"] and c.metadata["nbgrader"]["points"] >= POINTS_PER_CHECK
                          for c in checks)
    others = [cell for cell in notebook.cells if cell not in solutions + checks + answers]
    assert all(cell.metadata["nbgrader"]["locked"] and not cell.metadata["nbgrader"]["grade"] for cell in others)
    assert "nbgrader" not in json.dumps([c.metadata for c in build.make_notebook(source, "student").cells])


def _nbgrader(root, *args, env):
    command = [sys.executable, "-m", "nbgrader", *args]
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"


@pytest.mark.slow
def test_nbgrader_generates_the_assignment_and_autogrades_it(tmp_path):
    """01_tensor: nbgrader makes the student version from the solution edition; autograde gives
    the solution full marks and the untouched student version none."""
    pytest.importorskip("nbgrader")
    import nbformat
    from nbgrader.api import Gradebook

    assignment = "01_tensor"
    source = tmp_path / "source" / assignment
    source.mkdir(parents=True)
    notebook = build.make_notebook(REPO / "content" / f"{assignment}.py", "solution")
    points = sum(cell.metadata["nbgrader"].get("points", 0) for cell in notebook.cells)
    automatic = sum(c.metadata["nbgrader"].get("points", 0) for c in notebook.cells if c.cell_type == "code")
    nbformat.write(notebook, source / f"{assignment}.ipynb")
    (tmp_path / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "tinytorch"\nc.CourseDirectory.root = "."\n')
    env = {**os.environ, "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    _nbgrader(tmp_path, "db", "assignment", "add", assignment, env=env)
    _nbgrader(tmp_path, "generate_assignment", assignment, "--force", env=env)
    released = tmp_path / "release" / assignment / f"{assignment}.ipynb"
    code = "".join("".join(c["source"]) for c in json.loads(released.read_text())["cells"])
    assert notebooks.SOLUTION_BEGIN not in code and "raise NotImplementedError" in code
    for student, submission in (("alice", source / f"{assignment}.ipynb"), ("bob", released)):
        _nbgrader(tmp_path, "db", "student", "add", student, env=env)
        target = tmp_path / "submitted" / student / assignment
        target.mkdir(parents=True)
        shutil.copy(submission, target / f"{assignment}.ipynb")
    _nbgrader(tmp_path, "autograde", assignment, "--force", env=env)
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gradebook:
        alice = gradebook.find_submission(assignment, "alice")
        bob = gradebook.find_submission(assignment, "bob")
        assert alice.max_score == points and automatic >= 4 * POINTS_PER_CHECK
        assert alice.score == automatic  # every check passes; the answers wait for a person
        assert bob.score == 0
