"""nbgrader cell metadata for the solution edition, so an instructor's nbgrader
(`generate_assignment`, `autograde`) takes the notebooks as they are: every exercise cell is a
solution cell (with nbgrader's `### BEGIN SOLUTION` / `### END SOLUTION` markers, which
nbgrader replaces by its stub), every check cell (tag `check`) an autograded test worth
POINTS_PER_CHECK per check it runs, every cell that only the solution edition has (the
answer tag, e.g. the answers to a module's questions) a manually graded answer worth
POINTS_PER_CHECK, every other cell read-only."""

from __future__ import annotations

import ast

from tinytorch.cli.grade import POINTS_PER_CHECK  # the same points as `tinytorch grade`

SCHEMA_VERSION = 3
CHECK_TAG = "check"


def _checks_called(source: str) -> int:
    """How many `check_...(...)` calls a cell makes (at least one for a check cell)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return 1
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and getattr(node.func, "id", getattr(node.func, "attr", "")).startswith("check_")]
    return max(1, len(calls))


def add_nbgrader_metadata(notebook, source_text: str, answer_tag: str) -> None:
    """Mark the cells of `notebook` (the solution edition made from the jupytext source
    `source_text`) for nbgrader. A code cell whose source lost the solution markers when the
    edition was made is a solution cell: it gets its markers back. Cells tagged `answer_tag`
    (left out of the student edition) are answers graded by hand: nbgrader shows its stub."""
    import jupytext

    original = jupytext.reads(source_text, fmt="py:percent").cells
    if len(original) != len(notebook.cells):
        raise ValueError(f"nbgrader metadata: the source has {len(original)} cells, the notebook {len(notebook.cells)}")
    for index, (cell, source_cell) in enumerate(zip(notebook.cells, original)):
        if cell.cell_type == "code" and source_cell.source != cell.source:
            cell.source = source_cell.source
            kind, marks = "solution", {"solution": True, "grade": False, "locked": False}
        elif answer_tag in cell.metadata.get("tags", []):
            kind, marks = "answer", {"solution": True, "grade": True, "locked": False, "points": POINTS_PER_CHECK}
        elif cell.cell_type == "code" and CHECK_TAG in cell.metadata.get("tags", []):
            kind, marks = "check", {"solution": False, "grade": True, "locked": True,
                                    "points": POINTS_PER_CHECK * _checks_called(cell.source)}
        else:
            kind, marks = cell.cell_type, {"solution": False, "grade": False, "locked": True}
        cell.metadata["nbgrader"] = {**marks, "grade_id": f"{kind}-{index:03d}", "schema_version": SCHEMA_VERSION}
