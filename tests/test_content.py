"""Every module notebook runs natively: the solution edition top to bottom without error, and
the student edition with each check cell failing (CheckFailed) and nothing else failing, which
proves the checks can fail on unsolved code."""

from pathlib import Path

import pytest

from notebook_runner import errors, execute, is_check_cell, text_output

REPO = Path(__file__).resolve().parents[1]
MODULES = sorted(p for p in (REPO / "content").glob("[0-9][0-9]_*.py"))
EXERCISES = [p for p in MODULES if "### BEGIN SOLUTION" in p.read_text(encoding="utf-8")]

pytestmark = pytest.mark.slow


def _describe(found):
    return "\n".join(f"cell {i} ({'check' if check else 'code'}): {name}: {msg[:300]}" for i, check, name, msg in found)


@pytest.mark.parametrize("source", MODULES, ids=lambda p: p.stem)
def test_solution_edition_runs_without_error(source, tmp_path):
    notebook, seconds = execute(source, "solution", tmp_path)
    found = errors(notebook)
    assert not found, f"{source.name} (solution edition) raised:\n{_describe(found)}"
    assert "FAIL" not in text_output(notebook).replace("FAILED", "")
    print(f"{source.name}: solution edition ran in {seconds:.1f} s")


@pytest.mark.parametrize("source", EXERCISES, ids=lambda p: p.stem)
def test_student_edition_fails_exactly_at_the_checks(source, tmp_path):
    notebook, _ = execute(source, "student", tmp_path)
    checks = [i for i, cell in enumerate(notebook.cells) if is_check_cell(cell)]
    assert checks, f"{source.name} has exercises but no cell tagged 'check'"
    found = errors(notebook)
    failed_checks = {i for i, check, name, _ in found if check and name == "CheckFailed"}
    unexpected = [e for e in found if not (e[1] and e[2] == "CheckFailed")]
    assert not unexpected, f"{source.name} (student edition) failed outside its checks:\n{_describe(unexpected)}"
    passing = sorted(set(checks) - failed_checks)
    assert not passing, f"{source.name}: check cells {passing} pass on the unsolved stubs"


def test_the_capstone_runs_on_the_learners_components(tmp_path):
    """With every component saved (the solution edition's, as a learner who finished modules
    01-19 has them), the capstone's stages run on them: the quantize stage on their
    QuantizedLinear and calculate_qparams, the compile stage on their CompiledMLP, the pick and
    the benchmark report on their pareto_front, the text generator's cache stage on their
    KVCache; its last cell says so."""
    import re

    from solutions import save_solution_components

    saved = save_solution_components(tmp_path / ".tinytorch")
    assert all(saved.values()), [name for name, ok in saved.items() if not ok]
    notebook, _ = execute(REPO / "content" / "20_capstone.py", "solution", tmp_path)
    assert not errors(notebook), _describe(errors(notebook))
    report = re.search(r"^Built from your code: (\d+) of (\d+) components this run used \((.*)\)\.$",
                       text_output(notebook), re.M)
    assert report and report.group(1) == report.group(2), text_output(notebook)[-1500:]
    used = set(report.group(3).split(", "))
    assert {"calculate_qparams", "QuantizedLinear", "CompiledMLP", "pareto_front", "KVCache"} <= used
