"""The notebooks' own solutions, for the tests of the checks.

`load_solution("06_optimizers", "SGD", "Adam")` builds the module's solution edition and
executes only its top-level definitions (imports, functions, classes, simple constants; never
a check, plot or training statement), once per module, so the tests check what the course ships instead
of a copy of it.

Inside Pyodide there is no jupytext and no content/: tests/site/test_site_pyodide.py calls
`export_sources` natively and ships the extracted definitions next to this file.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import io
import linecache
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if (REPO / "build.py").exists() and str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # run as a script (`python tests/test_mistakes.py`): the site builder is at the root
CONTENT = REPO / "content"
# Pre-extracted definitions (written by export_sources), used where content/ is absent.
EXPORTED = Path(__file__).with_name("solution_sources")
# Right-hand sides a "simple constant" may have: literals, and tuples/lists/unary minus of them.
_LITERALS = (ast.Constant, ast.Tuple, ast.List, ast.UnaryOp)
# Marks the start of each definition in a solution source, so they execute one by one.
SEPARATOR = "# %% definition"


def _is_constant(node: ast.expr) -> bool:
    return isinstance(node, _LITERALS) and all(
        isinstance(child, (*_LITERALS, ast.expr_context, ast.unaryop)) for child in ast.walk(node))


def _is_definition(statement: ast.stmt) -> bool:
    if isinstance(statement, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
        return True
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
        return True  # a bare string
    return (isinstance(statement, ast.Assign) and _is_constant(statement.value)
            and all(isinstance(target, ast.Name) for target in statement.targets))


def _is_choice(statement: ast.stmt) -> bool:
    """`name = yours_or_reference("check", yours, reference)`."""
    value = getattr(statement, "value", None)
    return (isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name) and value.func.id == "yours_or_reference" and len(value.args) >= 2)


def _uses_mine(statement: ast.stmt) -> bool:
    """`tinytorch.mine.use(...)` or `name = tinytorch.mine.load(...)`: how a notebook takes the
    learner's saved components (the builder of a saved framework runs these too)."""
    value = getattr(statement, "value", None)
    return (isinstance(statement, (ast.Expr, ast.Assign)) and isinstance(value, ast.Call)
            and ast.unparse(value.func) in ("tinytorch.mine.use", "tinytorch.mine.load"))


def definitions(notebook, with_mine=False) -> list[str]:
    """The top-level definition statements of a notebook's code cells, in order.

    Everything else (prints, checks, plots, training loops) is left out, so executing them
    is quick and has no side effects beyond defining names. `x = yours_or_reference(name,
    yours, reference)` becomes `x = yours`, which is what the notebook picks once its check passes.
    """
    kept = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics: never a definition
            continue
        for statement in tree.body:
            if _is_definition(statement):
                kept.append(ast.get_source_segment(cell.source, statement, padded=True))
            elif _is_choice(statement):  # the solution's checks pass, so the notebook uses it
                kept.append(f"{ast.unparse(statement.targets[0])} = {ast.unparse(statement.value.args[1])}")
            elif with_mine and _uses_mine(statement):
                kept.append(ast.get_source_segment(cell.source, statement, padded=True))
    return kept


def solution_source(module: str) -> str:
    """The definitions of `content/<module>.py`'s solution edition, as one source."""
    exported = EXPORTED / f"{module}.py"
    if exported.exists():
        return exported.read_text(encoding="utf-8")
    import build

    notebook = build.make_notebook(CONTENT / f"{module}.py", "solution")
    return "".join(f"{SEPARATOR}\n{statement}\n" for statement in definitions(notebook))


@functools.cache
def _namespace(module: str) -> tuple[dict, dict]:
    """The names the definitions bind, and those left out: a definition that needs a name bound
    by a left-out statement (a default argument such as `rng=augment_rng`), or an import this
    runtime lacks (matplotlib in the Pyodide test run), fails and is skipped."""
    namespace, skipped = {"__name__": f"solution_{module}"}, {}
    for statement in solution_source(module).split(SEPARATOR + "\n")[1:]:
        try:
            exec(compile(statement, f"<content/{module}.py solution>", "exec"), namespace)
        except (NameError, ImportError) as error:
            node = ast.parse(statement).body[0]
            skipped[getattr(node, "name", None) or ast.unparse(node)[:40]] = error
    return namespace, skipped


def load_solution(module: str, *names: str):
    """The named definitions of a module's solution; one name gives the object, several a tuple."""
    namespace, skipped = _namespace(module)
    missing = [name for name in names if name not in namespace]
    if missing:
        raise KeyError(f"load_solution: content/{module}.py defines no {', '.join(missing)} at top level"
                       f" (skipped: {skipped or 'none'})")
    found = tuple(namespace[name] for name in names)
    return found[0] if len(found) == 1 else found


def export_sources(folder: Path, modules=None) -> list[Path]:
    """Write this file and every module's solution source into `folder` (for Pyodide runs)."""
    folder = Path(folder)
    (folder / EXPORTED.name).mkdir(parents=True, exist_ok=True)
    (folder / Path(__file__).name).write_text(Path(__file__).read_text(encoding="utf-8"), encoding="utf-8")
    written = []
    for module in modules or sorted(path.stem for path in CONTENT.glob("[0-9][0-9]_*.py")):
        path = folder / EXPORTED.name / f"{module}.py"
        path.write_text(solution_source(module), encoding="utf-8")
        written.append(path)
    return written


# --------------------------------------------------------------------------------------------
# The solution edition as a learner's saved framework (the proof of issue 13)
# --------------------------------------------------------------------------------------------

def _is_check_cell(cell) -> bool:
    return "check" in cell.metadata.get("tags", [])


def _run_as_cell(source: str, filename: str, namespace: dict) -> None:
    """Execute `source` as a notebook kernel runs a cell: compiled under its own file name, whose
    text linecache returns (IPython does the same), so saving a definition finds its source."""
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(compile(source, filename, "exec"), namespace)


def save_solution_components(home, modules=None, quiet=True) -> dict:
    """Run each module's solution the way a learner's notebook would, but only its definitions
    and its check cells (no training, no plots), with TINYTORCH_HOME=`home`: every check that
    passes saves its component as `<home>/<name>.py`, exactly as in the course. Returns
    {exercise name: True/False} for the checks run (False: the check failed or could not run)."""
    import build
    from tinytorch.course import progress, storage

    outcomes = {}
    with storage.home_at(home), _tinytorchs_own_after():
        for module in modules or sorted(path.stem for path in CONTENT.glob("[0-9][0-9]_*.py")):
            notebook = build.make_notebook(CONTENT / f"{module}.py", "solution")
            namespace = {"__name__": "__main__", "__builtins__": builtins}
            for number, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                sources = [cell.source] if _is_check_cell(cell) else definitions(_Cells([cell]), with_mine=True)
                for part, source in enumerate(sources):
                    filename = f"<solution {module} cell {number}.{part}>"
                    output = io.StringIO()
                    try:
                        with contextlib.redirect_stdout(output):
                            _run_as_cell(source, filename, namespace)
                    except (NameError, ImportError, AttributeError) as error:
                        if _is_check_cell(cell) or not quiet:
                            print(f"{module}: {source.strip()[:60]!r} did not run: {type(error).__name__}: {error}")
                    except AssertionError as error:  # a failing check (CheckFailed)
                        print(f"{module}: {str(error).splitlines()[0]}")
                    if not quiet:
                        print(output.getvalue(), end="")
            outcomes.update({name: progress.results.get(name, False)
                             for name, exercise in _exercises_of(module).items()})
    return outcomes


@contextlib.contextmanager
def _tinytorchs_own_after():
    """The notebooks call tinytorch.mine.use(): afterwards tinytorch runs on its own components
    again, so what runs next in this process is not silently running on the solutions."""
    from tinytorch import mine

    try:
        yield
    finally:
        mine.use(False, quiet=True)


class _Cells:
    """The one-cell notebook `definitions` reads."""

    def __init__(self, cells):
        self.cells = cells


def _exercises_of(module: str) -> dict:
    from tinytorch.course import registry
    import tinytorch.checks  # noqa: F401  (declares the exercises)

    return {name: e for name, e in registry.EXERCISES.items() if e.module == module}


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Save the solution edition's components as a learner's framework.")
    parser.add_argument("home", help="the TINYTORCH_HOME folder to fill")
    args = parser.parse_args()
    Path(args.home).mkdir(parents=True, exist_ok=True)
    results = save_solution_components(args.home)
    saved = sorted(p.stem for p in Path(args.home).glob("*.py"))
    failed = [name for name, ok in results.items() if not ok]
    print(f"{sum(results.values())} of {len(results)} checks pass; {len(saved)} components saved in {args.home}"
          + (f"; failing: {', '.join(failed)}" if failed else ""))
