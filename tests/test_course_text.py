"""The course's text around the exercises: every module states its learning objectives, and
the solution edition (only) answers every reflection question."""

import re
from pathlib import Path

import pytest

import build

CONTENT = Path(__file__).resolve().parents[1] / "content"
MODULES = sorted(p for p in CONTENT.glob("[0-9][0-9]_*.py") if not p.stem.startswith("00"))


def _markdown(notebook):
    return [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]


@pytest.mark.parametrize("source", MODULES, ids=lambda p: p.stem)
def test_module_opens_with_three_to_five_learning_objectives(source):
    first = _markdown(build.make_notebook(source, "student"))[0]
    assert "**Learning objectives.**" in first, f"{source.name}: no learning objectives in the first cell"
    objectives = re.findall(r"^- ", first.split("**Learning objectives.**")[1], flags=re.M)
    assert 3 <= len(objectives) <= 5, f"{source.name}: {len(objectives)} objectives"


@pytest.mark.parametrize("source", MODULES, ids=lambda p: p.stem)
def test_solution_edition_answers_every_reflection_question_and_student_edition_does_not(source):
    solution, student = (_markdown(build.make_notebook(source, edition)) for edition in ("solution", "student"))
    reflection = next(cell for cell in solution if "## Reflection" in cell).split("## Reflection")[1]
    questions = re.findall(r"^(\d+)\. ", reflection, flags=re.M)
    answers = [cell for cell in solution if cell.startswith("## Answers")]
    assert len(answers) == 1, f"{source.name}: expected one answers cell in the solution edition"
    assert re.findall(r"^(\d+)\. ", answers[0], flags=re.M) == questions
    assert not any(cell.startswith("## Answers") for cell in student), f"{source.name}: the student edition shows the answers"
