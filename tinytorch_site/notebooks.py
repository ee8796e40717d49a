"""Notebooks: each content/ and milestones/ source becomes a student or solution notebook; the
landing page gets the table of contents; every notebook is stamped with its release hash."""

from __future__ import annotations

import ast
import hashlib
import json
import re
from pathlib import Path

from tinytorch.course.storage import MANIFEST_NAME  # the notebooks' release cell reads this file

from .common import REPO, BuildError, log
from .nbgrader import add_nbgrader_metadata

SOLUTION_BEGIN = "### BEGIN SOLUTION"
SOLUTION_END = "### END SOLUTION"
# A cell with this tag (e.g. `# %% [markdown] tags=["solution"]`: the answers to a module's
# reflection questions) is in the solution edition only.
SOLUTION_TAG = "solution"
HINT_PREFIX = "# HINT:"
DEFAULT_HINT = "write your solution here"
TOC_MARKER = "<!-- TABLE OF CONTENTS"
LANDING_SOURCE = REPO / "content" / "00_start_here.py"
LANDING_NOTEBOOK = "00_start_here.ipynb"
# The learner's progress page (tinytorch.mine), next to the landing notebook.
PROGRESS_SOURCE = REPO / "content" / "_progress.py"
PROGRESS_NOTEBOOK = "progress.ipynb"
# Each notebook's content hash is listed in MANIFEST_NAME, at the root of the site's files: the
# browser keeps a learner's edited copy of a notebook instead of the site's, so every notebook's
# first code cell (RELEASE_CELL) compares its own hash with that file's and says when the course
# has a newer one.
RELEASE_TAG = "release"
RELEASE_CELL = ("import tinytorch.mine  # says so here if the course has a newer version of this notebook\n"
                "tinytorch.mine.check_release({path}, {digest})")


# --------------------------------------------------------------------------------------------
# Exercises: student and solution editions
# --------------------------------------------------------------------------------------------

def _stub_line(indent: str, hint: str | None) -> str:
    message = f"Exercise: {hint or DEFAULT_HINT}"
    return f"{indent}raise NotImplementedError({json.dumps(message)})"


def strip_solutions(code: str, keep_solutions: bool = False, source: str = "<string>") -> str:
    """Return `code` with every solution block replaced by a NotImplementedError stub.

    A block is the lines between `### BEGIN SOLUTION` and `### END SOLUTION` (nbgrader's
    markers). In the student edition (default) the block becomes one `raise
    NotImplementedError("Exercise: <hint>")` at the marker's indentation; the hint is taken from
    a `# HINT: ...` comment right after BEGIN. With `keep_solutions=True` (solution edition)
    only the marker lines are removed. Unbalanced markers raise BuildError naming source:line.
    """
    out: list[str] = []
    begin_line = None  # line number of the open BEGIN marker, if inside a block
    indent = ""
    hint = None
    lines = code.splitlines()
    for number, line in enumerate(lines, start=1):
        marker = line.strip()
        if marker == SOLUTION_BEGIN:
            if begin_line is not None:
                raise BuildError(f"{source}:{number}: {SOLUTION_BEGIN} inside the solution block "
                                 f"opened at line {begin_line} (missing {SOLUTION_END})")
            begin_line, indent, hint = number, line[: len(line) - len(line.lstrip())], None
            if number < len(lines) and lines[number].strip().startswith(HINT_PREFIX):
                hint = lines[number].strip()[len(HINT_PREFIX):].strip()
        elif marker == SOLUTION_END:
            if begin_line is None:
                raise BuildError(f"{source}:{number}: {SOLUTION_END} without a matching {SOLUTION_BEGIN}")
            if not keep_solutions:
                out.append(_stub_line(indent, hint))
            begin_line = None
        elif begin_line is None or keep_solutions:
            out.append(line)
    if begin_line is not None:
        raise BuildError(f"{source}:{begin_line}: {SOLUTION_BEGIN} is never closed by {SOLUTION_END}")
    return "\n".join(out) + ("\n" if code.endswith("\n") else "")


def check_python_syntax(code: str, source: str) -> None:
    """Raise BuildError with source:line if `code` is not valid Python."""
    try:
        ast.parse(code, filename=source)
    except SyntaxError as error:
        raise BuildError(f"{source}:{error.lineno}: syntax error: {error.msg}") from None


def make_notebook(src_path, edition: str = "student"):
    """Read a jupytext percent source and return its notebook (nbformat.NotebookNode).

    edition "student" replaces solutions with stubs, "solution" keeps them (markers removed).
    The kernelspec is the standard `python3` so local Jupyter and nbclient run it as is.
    """
    import jupytext

    if edition not in ("student", "solution"):
        raise ValueError(f"edition must be 'student' or 'solution', not {edition!r}")
    src_path = Path(src_path)
    source = _display_path(src_path)
    text = src_path.read_text(encoding="utf-8")
    check_python_syntax(text, source)
    text = strip_solutions(text, keep_solutions=(edition == "solution"), source=source)
    check_python_syntax(text, f"{source} ({edition} edition)")
    notebook = jupytext.reads(text, fmt="py:percent")
    if edition == "student":
        notebook.cells = [cell for cell in notebook.cells if SOLUTION_TAG not in cell.metadata.get("tags", [])]
    else:  # solution cells, autograded check cells and locked prose, for nbgrader
        add_nbgrader_metadata(notebook, src_path.read_text(encoding="utf-8"), answer_tag=SOLUTION_TAG)
    notebook.metadata.pop("jupytext", None)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------------------------
# Course layout: which sources become which notebooks, and the landing page's contents
# --------------------------------------------------------------------------------------------

def numeric_prefix(path: Path) -> tuple[int, str]:
    """Sort key: the leading number of a file name (01_tensor -> 1), then the name."""
    match = re.match(r"(\d+)", path.name)
    return (int(match.group(1)) if match else 10**9, path.name)


def course_sources() -> list[tuple[Path, str]]:
    """Every (source, notebook path in the site), landing page first, then modules, milestones."""
    entries = [(LANDING_SOURCE, LANDING_NOTEBOOK)] if LANDING_SOURCE.exists() else []
    for folder, target in (("content", "modules"), ("milestones", "milestones")):
        for source in sorted((REPO / folder).glob("*.py"), key=numeric_prefix):
            if source != LANDING_SOURCE and not source.name.startswith("_"):
                entries.append((source, f"{target}/{source.stem}.ipynb"))
    return entries


def notebook_title(notebook, fallback: str) -> str:
    """The text of the first markdown heading in the notebook."""
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip()
    return fallback


def table_of_contents(titled: list[tuple[str, str]]) -> str:
    """Markdown lists linking each module and milestone, in course order."""
    modules = [(path, title) for path, title in titled if path.startswith("modules/")]
    milestones = [(path, title) for path, title in titled if path.startswith("milestones/")]
    lines = []
    if PROGRESS_SOURCE.exists():
        lines += ["", f"**Your progress:** [{PROGRESS_NOTEBOOK}]({PROGRESS_NOTEBOOK}) shows which checks pass and "
                      "which parts of the framework are your own code (saved in `my_tinytorch/`, used by "
                      "the later modules and the milestones)."]
    for heading, items in (("Modules", modules), ("Milestones", milestones)):
        if items:
            lines += ["", f"### {heading}", ""]
            lines += [f"1. [{title}]({path})" for path, title in items]
    return "\n".join(lines).strip() + "\n"


def insert_table_of_contents(landing, toc: str) -> None:
    """Replace the TOC marker in the landing notebook (or append a cell if it has none)."""
    import nbformat

    for cell in landing.cells:
        if cell.cell_type == "markdown" and TOC_MARKER in cell.source:
            kept = [line for line in cell.source.splitlines() if TOC_MARKER not in line]
            cell.source = "\n".join(kept).rstrip() + "\n\n" + toc
            return
    landing.cells.append(nbformat.v4.new_markdown_cell("## The course\n\n" + toc))


def use_pyodide_kernel(notebook) -> None:
    """Point the notebook at JupyterLite's Pyodide kernel (named `python` there)."""
    notebook.metadata["kernelspec"] = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}


def release_digest(notebook) -> str:
    """A short hash of a notebook's cells (type and source): changes whenever its content does."""
    cells = [[cell.cell_type, cell.source] for cell in notebook.cells if RELEASE_TAG not in cell.metadata.get("tags", [])]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode("utf-8")).hexdigest()[:12]


def stamp_release(notebook, target: str) -> str:
    """Insert the release cell (RELEASE_CELL) as the notebook's first code cell, after its title
    cell; return the notebook's hash."""
    import nbformat

    digest = release_digest(notebook)
    cell = nbformat.v4.new_code_cell(RELEASE_CELL.format(path=json.dumps(target), digest=json.dumps(digest)))
    cell.metadata["tags"] = [RELEASE_TAG]
    first = 1 if notebook.cells and notebook.cells[0].cell_type == "markdown" else 0
    notebook.cells.insert(first, cell)
    notebook.metadata["tinytorch"] = {"release": digest}
    return digest


def write_notebooks(files_dir: Path, edition: str) -> list[Path]:
    """Write every course notebook under files_dir (the site's file tree), each stamped with its
    release hash, and the manifest of those hashes; return the notebooks' paths."""
    import nbformat

    notebooks = [(target, make_notebook(source, edition)) for source, target in course_sources()]
    if not notebooks:
        raise BuildError("no course sources found in content/ or milestones/")
    titled = [(target, notebook_title(nb, Path(target).stem)) for target, nb in notebooks]
    if PROGRESS_SOURCE.exists():
        notebooks.insert(1, (PROGRESS_NOTEBOOK, make_notebook(PROGRESS_SOURCE, edition)))
    written, digests = [], {}
    for target, notebook in notebooks:
        if target == LANDING_NOTEBOOK:
            insert_table_of_contents(notebook, table_of_contents(titled))
        digests[target] = stamp_release(notebook, target)
        use_pyodide_kernel(notebook)
        path = files_dir / target
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, path)
        written.append(path)
    manifest = {"edition": edition, "notebooks": digests}
    (files_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    log(f"wrote {len(written)} notebooks ({edition} edition) and {MANIFEST_NAME}")
    return written

