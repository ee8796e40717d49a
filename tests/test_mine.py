"""tinytorch.mine: the learner's implementations saved once their checks pass, loaded by later
notebooks and the milestones with tinytorch's as the fallback, progress, clearing, and the
course-release notice; natively, with a temporary folder as the storage (TINYTORCH_HOME).

The browser version of the same flow is tests/site/test_mine_browser.py.
"""

import ast
import contextlib
import io
import json
import linecache
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import tinytorch as tt
import tinytorch.checks as checks
import tinytorch.mine as mine
from tinytorch.checks import CheckFailed, check_linear
from tinytorch.course import progress as outcomes, storage

REPO = Path(__file__).resolve().parents[1]

LINEAR = '''
import math

import tinytorch as tt
from tinytorch.nn import Module, Parameter


class Linear(Module):
    """y = x @ weight.T + bias."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features)
        self.weight = Parameter(tt.rand(out_features, in_features) * (2 * bound) - bound)
        self.bias = Parameter(tt.rand(out_features) * (2 * bound) - bound) if bias else None

    def forward(self, x):
        out = x @ self.weight.T
        return out + self.bias if self.bias is not None else out
'''


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty storage folder, and a clean record of check outcomes in this session."""
    folder = tmp_path / "my_tinytorch"
    monkeypatch.setenv("TINYTORCH_HOME", str(folder))
    monkeypatch.delenv("TINYTORCH_COURSE_MANIFEST", raising=False)
    saved_results, saved_objects = dict(outcomes.results), dict(outcomes.passed_objects)
    outcomes.results.clear()
    outcomes.passed_objects.clear()
    yield folder
    mine.use(False, quiet=True)
    outcomes.results.clear()
    outcomes.results.update(saved_results)
    outcomes.passed_objects.clear()
    outcomes.passed_objects.update(saved_objects)


class Cells:
    """Runs code the way a notebook kernel does: one namespace `__main__`, each cell compiled
    under its own file name, whose source linecache (like IPython's) can return."""

    def __init__(self):
        self.namespace = {"__name__": "__main__", "__builtins__": __builtins__}
        self.count = 0

    def run(self, source):
        self.count += 1
        filename = f"<test-cell-{id(self)}-{self.count}>"
        source = textwrap.dedent(source)
        linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
        exec(compile(source, filename, "exec"), self.namespace)
        return self.namespace


def quiet(fn, *args, **kwargs):
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        result = fn(*args, **kwargs)
    return result, output.getvalue()


def passing_linear(cells=None):
    cells = cells or Cells()
    ns = cells.run(LINEAR)
    quiet(check_linear, ns["Linear"])
    return ns["Linear"], cells


# ------------------------------------------------------------------------------------------
# Saving
# ------------------------------------------------------------------------------------------

def test_a_passing_component_is_saved_with_its_imports_and_it_loads_alone(home, capsys):
    cells = Cells()
    ns = cells.run(LINEAR)
    check_linear(ns["Linear"])
    assert "Saved your Linear as " in capsys.readouterr().out
    path = mine.save(ns["Linear"])
    assert path == home / "Linear.py"
    assert "Linear is saved in" in capsys.readouterr().out
    text = path.read_text()
    assert text.startswith("# Your Linear, saved by tinytorch.mine")
    assert "import math\nimport tinytorch as tt\nfrom tinytorch.nn import Module, Parameter\n" in text
    assert "class Linear(Module):" in text

    loaded = mine.load("Linear")
    assert "Linear: yours (" in capsys.readouterr().out
    assert loaded is not ns["Linear"] and loaded is not tt.nn.Linear
    assert loaded.__module__ == "my_tinytorch.Linear"
    quiet(check_linear, loaded)  # the saved file is a working, checked Linear
    state = json.loads((home / "progress.json").read_text())
    assert state["saved"]["Linear"]["notebook"] == "modules/03_layers.ipynb"
    assert state["checks"]["Linear"]["passed"] is True


def test_import_statement_gives_the_saved_one(home, capsys):
    Linear, _ = passing_linear()
    mine.save(Linear, quiet=True)
    from tinytorch.mine import Linear as Mine  # noqa: PLC0415 - the import under test
    assert Mine.__module__ == "my_tinytorch.Linear"
    assert re.search(r"^Linear: yours \(.*Linear\.py, saved \d{4}-\d\d-\d\d \d\d:\d\d\)$", capsys.readouterr().out, re.M)


def test_nothing_is_saved_before_the_check_passes(home, capsys):
    ns = Cells().run(LINEAR)
    assert mine.save(ns["Linear"]) is None
    assert "Linear not saved: its check has not been run yet" in capsys.readouterr().out
    with pytest.raises(CheckFailed):
        quiet(check_linear, Cells().run(LINEAR.replace("out + self.bias", "out - self.bias"))["Linear"])
    assert mine.save(ns["Linear"]) is None
    assert "its check failed" in capsys.readouterr().out
    assert not (home / "Linear.py").exists()


def test_only_the_object_that_passed_is_saved(home, capsys):
    _, cells = passing_linear()
    redefined = cells.run(LINEAR.replace("out + self.bias", "out - self.bias"))["Linear"]  # not re-checked
    assert mine.save(redefined) is None
    assert "not the Linear that passed its check (run its check cell again)" in capsys.readouterr().out


def test_helpers_aliases_constants_and_base_classes_come_along(home):
    cells = Cells()
    cells.run("""
        import numpy as np
        import tinytorch as tt
        from tinytorch import Tensor

        SCALE = 2.0
        NAMES = ("a", "b")

        def double(x):
            return x * SCALE

        helper = double

        class Base:
            kind = NAMES[0]

            def apply(self, x):
                return helper(x)
    """)
    ns = cells.run("""
        class Child(Base):
            def __call__(self, x):
                return Tensor(np.asarray(self.apply(x.data)))
    """)
    outcomes.results["Child"], outcomes.passed_objects["Child"] = True, ns["Child"]
    path = mine.save(ns["Child"], quiet=True)
    text = path.read_text()
    for needed in ("import numpy as np", "from tinytorch import Tensor", "SCALE = 2.0", "NAMES = ('a', 'b')",
                   "def double(x):", "helper = double", "class Base:", "class Child(Base):"):
        assert needed in text, needed
    assert text.index("class Base:") < text.index("class Child(Base):")
    assert "import tinytorch as tt" not in text  # only what it uses
    Child = mine.load("Child", quiet=True)
    np.testing.assert_allclose(Child()(tt.tensor([1.0, 2.0])).data, [2.0, 4.0])


def test_values_that_cannot_be_written_as_code_are_refused_clearly(home, capsys):
    ns = Cells().run("""
        import numpy as np
        table = np.arange(3)

        def lookup(i):
            return table[i]
    """)
    outcomes.results["lookup"], outcomes.passed_objects["lookup"] = True, ns["lookup"]
    assert mine.save(ns["lookup"]) is None
    out = capsys.readouterr().out
    assert "lookup not saved: lookup uses `table` (a ndarray made in the notebook)" in out


def test_a_class_found_only_in_the_cell_history(home, monkeypatch):
    """A class with no methods has no code object pointing at its cell: IPython's `In` has it."""
    ns = Cells().run("class Marker:\n    kind = 'x'\n")
    monkeypatch.setattr(sys.modules["__main__"], "In", ["", "class Marker:\n    kind = 'x'\n"], raising=False)
    outcomes.results["Marker"], outcomes.passed_objects["Marker"] = True, ns["Marker"]
    path = mine.save(ns["Marker"], quiet=True)
    assert path is not None and "class Marker:" in path.read_text()


def test_a_passing_component_is_saved_in_a_notebook_only(home, monkeypatch, capsys):
    monkeypatch.delenv("TINYTORCH_HOME")  # a plain script (or the test suite): nothing is written
    monkeypatch.setattr(Path, "home", lambda: home.parent / "user")
    passing_linear()
    assert not (home.parent / "user" / ".tinytorch").exists()
    assert checks.yours_or_reference("Linear", tt.nn.Linear, None) is tt.nn.Linear
    assert capsys.readouterr().out == "Using your Linear.\n"


# ------------------------------------------------------------------------------------------
# Loading: fallbacks and broken files
# ------------------------------------------------------------------------------------------

def test_fallback_to_tinytorch_when_nothing_is_saved(home, capsys):
    assert mine.load("Adam") is tt.optim.Adam
    assert capsys.readouterr().out == "Adam: tinytorch's (yours is not saved yet: modules/06_optimizers.ipynb saves it once its check passes)\n"
    with pytest.raises(ImportError):
        exec("from tinytorch.mine import Nonexistent", {})
    assert capsys.readouterr().out.startswith("tinytorch.mine has no Nonexistent: you have not saved one")
    assert not hasattr(mine, "Nonexistent")


@pytest.mark.parametrize("edit, report", [
    (lambda text: text.replace("def forward(self, x):", "def forward(self, x)"), r"SyntaxError: .*\(line \d+\)"),
    (lambda text: text.replace("import math\n", ""), r"NameError: name 'math' is not defined \(line \d+\)"),
    (lambda text: text.replace("from tinytorch.nn import Module, Parameter", "from tinytorch.nn import Parameter"),
     r"NameError: name 'Module' is not defined \(line \d+\)"),
    (lambda text: text + "\nraise RuntimeError('half-finished edit')\n", r"RuntimeError: half-finished edit \(line \d+\)"),
    (lambda text: text.replace("class Linear(", "class MyLinear("), r"it does not define Linear"),
])
def test_a_broken_saved_file_is_reported_and_tinytorchs_used_and_the_file_kept(home, capsys, edit, report):
    Linear, _ = passing_linear()
    path = mine.save(Linear, quiet=True)
    broken = edit(path.read_text())
    path.write_text(broken)
    assert mine.load("Linear") is tt.nn.Linear
    out = capsys.readouterr().out
    assert re.search(r"^Linear: tinytorch's; your .*Linear\.py failed to load: " + report, out, re.M), out
    assert "(the file is left as it is)" in out
    assert path.read_text() == broken


def test_an_edited_file_is_checked_again(home, capsys):
    Linear, _ = passing_linear()
    path = mine.save(Linear, quiet=True)
    original = path.read_text()
    path.write_text(original.replace("out + self.bias", "out - self.bias"))
    assert mine.load("Linear") is tt.nn.Linear
    out = capsys.readouterr().out
    assert "Linear: tinytorch's; your edited" in out and "fails its check: FAIL linear" in out
    path.write_text(original.replace("out = x @ self.weight.T", "out = x @ self.weight.T  # my edit"))
    loaded = mine.load("Linear")
    assert loaded.__module__ == "my_tinytorch.Linear"
    assert "edited after saving; its check passes" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------
# Progress, status, clear
# ------------------------------------------------------------------------------------------

def test_checks_record_their_outcomes_only_where_progress_is_kept(home, monkeypatch):
    relu = lambda x: tt.Tensor(np.maximum(x.data, 0))  # noqa: E731
    monkeypatch.delenv("TINYTORCH_HOME")
    monkeypatch.setattr(Path, "home", lambda: home.parent / "user")
    quiet(checks.check_relu, relu)
    assert not (home.parent / "user").exists()
    monkeypatch.setenv("TINYTORCH_HOME", str(home))
    quiet(checks.check_relu, relu)
    with pytest.raises(CheckFailed):
        quiet(checks.check_sigmoid, relu)
    recorded = json.loads((home / "progress.json").read_text())["checks"]
    assert recorded["relu"]["passed"] is True and recorded["sigmoid"]["passed"] is False
    assert "Saved" not in str(recorded)  # relu is a module-02 exercise, saved only as a component


def test_progress_and_status_read_the_saved_state(home, capsys):
    passing_linear()
    with pytest.raises(CheckFailed):
        quiet(checks.check_sequential, lambda *modules: None)
    mine.progress()
    out = capsys.readouterr().out
    assert re.search(r"^  03 Layers +1/3  failing: Sequential; not run: Dropout; yours: Linear$", out, re.M), out
    assert re.search(r"^  06 Optimizers +0/3  not started$", out, re.M), out
    assert re.search(r"^1 of \d+ checks pass\. Saved in .*: 1 implementation of yours\.$", out, re.M), out
    rows = {row["module"]: row for row in mine.progress_rows()}
    assert rows["03_layers"]["passing"] == 1 and rows["03_layers"]["yours"] == ["Linear"]

    mine.status()
    out = capsys.readouterr().out
    assert re.search(r"^  Linear: yours \(", out, re.M) and re.search(r"^  Adam: tinytorch's", out, re.M)


def test_clear_removes_only_what_tinytorch_saved(home, capsys):
    passing_linear()
    ns = Cells().run("def child(x):\n    return x\n")
    outcomes.results["child"], outcomes.passed_objects["child"] = True, ns["child"]
    mine.save(ns["child"], quiet=True)
    (home / "notes.txt").write_text("mine")
    (home / "helper.py").write_text("def helper(): pass\n")

    assert mine.clear("Linear") == ["Linear"]
    assert "Cleared Linear" in capsys.readouterr().out
    assert not (home / "Linear.py").exists() and (home / "child.py").exists()
    assert mine.load("Linear", quiet=True) is tt.nn.Linear
    assert mine.clear("Linear") == []
    assert "Nothing to clear" in capsys.readouterr().out

    assert mine.clear() == ["child"]
    assert sorted(p.name for p in home.iterdir()) == ["helper.py", "notes.txt", "progress.json"]
    assert json.loads((home / "progress.json").read_text())["checks"]["Linear"]["passed"] is True
    mine.clear(progress=True)
    assert json.loads((home / "progress.json").read_text())["checks"] == {}


# ------------------------------------------------------------------------------------------
# Course releases
# ------------------------------------------------------------------------------------------

def test_release_notice_only_when_the_site_has_another_version(home, tmp_path, monkeypatch, capsys):
    mine.check_release("modules/03_layers.ipynb", "aaaa")
    assert capsys.readouterr().out == ""  # natively, without a manifest: nothing
    manifest = tmp_path / "course_manifest.json"
    manifest.write_text(json.dumps({"notebooks": {"modules/03_layers.ipynb": "aaaa"}}))
    monkeypatch.setenv("TINYTORCH_COURSE_MANIFEST", str(manifest))
    mine.check_release("modules/03_layers.ipynb", "aaaa")
    assert capsys.readouterr().out == ""
    mine.check_release("modules/03_layers.ipynb", "bbbb")
    out = capsys.readouterr().out
    assert out.startswith("Note: the course has a newer version of this notebook.")
    assert "Rename it (e.g. to 03_layers_mine.ipynb), then open modules/03_layers.ipynb again" in out
    mine.check_release("modules/99_unknown.ipynb", "bbbb")
    manifest.write_text("{not json")
    mine.check_release("modules/03_layers.ipynb", "bbbb")
    assert capsys.readouterr().out == ""
    assert storage.notebook() == "modules/03_layers.ipynb"


def test_a_jupyterlite_kernel_without_the_browser_storage_says_to_restart(home, tmp_path, monkeypatch, capsys):
    # JupyterLite mounts its storage at /drive only if its service worker was registered when
    # the kernel started; a kernel that started too early sees no saved work and saves none.
    monkeypatch.setitem(sys.modules, "pyodide_kernel", type(sys)("pyodide_kernel"))
    monkeypatch.setattr(storage, "DRIVE", tmp_path / "drive")
    mine.check_release("modules/03_layers.ipynb", "aaaa")
    out = capsys.readouterr().out
    assert out.startswith("Note: this kernel started before your browser's storage was ready")
    assert "Restart the kernel" in out
    (tmp_path / "drive").mkdir()  # the storage mounted: the first cell says nothing
    mine.check_release("modules/03_layers.ipynb", "aaaa")
    assert capsys.readouterr().out == ""


def test_build_stamps_every_notebook_and_writes_the_manifest(tmp_path):
    build = pytest.importorskip("build")
    written = build.write_notebooks(tmp_path, "student")
    manifest = json.loads((tmp_path / build.MANIFEST_NAME).read_text())["notebooks"]
    assert set(manifest) == {p.relative_to(tmp_path).as_posix() for p in written}
    assert build.PROGRESS_NOTEBOOK in manifest
    for path in written:
        notebook = json.loads(path.read_text())
        target = path.relative_to(tmp_path).as_posix()
        release = [c for c in notebook["cells"] if "release" in c["metadata"].get("tags", [])]
        assert len(release) == 1, target
        code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
        assert code[0] is release[0] or code[0] == release[0], f"{target}: the release cell is not the first code cell"
        assert f'check_release("{target}", "{manifest[target]}")' in "".join(release[0]["source"])
        assert notebook["metadata"]["tinytorch"]["release"] == manifest[target]
    landing = json.loads((tmp_path / build.LANDING_NOTEBOOK).read_text())
    assert "](progress.ipynb)" in "".join("".join(c["source"]) for c in landing["cells"])
    # the hash follows the content
    nb = build.make_notebook(REPO / "content" / "03_layers.py")
    before = build.release_digest(nb)
    nb.cells[-1].source += "\nchanged"
    assert build.release_digest(nb) != before


# ------------------------------------------------------------------------------------------
# The course's own data
# ------------------------------------------------------------------------------------------

def test_the_exercise_table_matches_the_check_cells_of_the_content():
    """Each module's check cells call exactly the checks its declared exercises name, in order."""
    found = []
    for path in sorted((REPO / "content").glob("[0-9][0-9]_*.py")):
        names = []
        for cell in re.split(r"^# %%", path.read_text(encoding="utf-8"), flags=re.M):
            if cell.startswith(' tags=["check"]'):
                names += [getattr(checks, check).exercise.name for check in re.findall(r"^(check_\w+)\(", cell, re.M)]
        if names:
            found.append((path.stem, names))
    assert found == [(stem, names) for stem, _, names in mine.MODULES]


def test_components_name_tinytorchs_implementation_and_every_seam_is_a_component():
    for name, exercise in mine.COMPONENTS.items():
        assert callable(exercise.tinytorch()), name
        assert exercise.signature().startswith(name), name
    assert set(tt.seams.names()) <= {e.seam for e in mine.COMPONENTS.values()}


# ------------------------------------------------------------------------------------------
# The whole flow in a real Jupyter kernel and a milestone script
# ------------------------------------------------------------------------------------------

def _cell_index(notebook, text):
    return next(i for i, cell in enumerate(notebook.cells) if text in cell.source)


@pytest.mark.slow
def test_local_flow_module_03_to_milestone_and_back(tmp_path):
    """The learner completes Linear in module 03's student edition (in a Jupyter kernel), its
    check passes and it is saved; a milestone script then uses it; after clear(), tinytorch's."""
    nbclient = pytest.importorskip("nbclient")
    build = pytest.importorskip("build")
    home = tmp_path / "home"
    student = build.make_notebook(REPO / "content" / "03_layers.py", "student")
    solution = build.make_notebook(REPO / "content" / "03_layers.py", "solution")
    linear = _cell_index(student, "class Linear(Module)")
    student.cells[linear].source = solution.cells[_cell_index(solution, "class Linear(Module)")].source
    check = _cell_index(student, "check_linear(Linear)")
    student.cells = student.cells[:check + 1]
    env = {**os.environ, "TINYTORCH_HOME": str(home), "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    client = nbclient.NotebookClient(student, timeout=300, kernel_name="python3")
    with _environ(env):
        client.execute()
    outputs = "".join(o.get("text", "") for cell in student.cells for o in cell.get("outputs", []))
    assert "PASS linear" in outputs
    assert f"Saved your Linear as {home / 'Linear.py'}" in outputs

    script = REPO / "milestones" / "01_1957_perceptron.py"
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert re.search(r"^Your framework: 1 of \d+ components are yours \(Linear\)", run.stdout, re.M), run.stdout[:500]
    assert re.search(r"^Built from your code: 1 of \d+ components this run used \(Linear\)", run.stdout, re.M)
    assert re.search(r"^RESULT: .*target met; 1 of \d+ components yours$", run.stdout, re.M), run.stdout[-500:]

    probe = "import tinytorch.mine as m; from tinytorch.mine import Linear; print(Linear.__module__); m.clear('Linear')"
    run = subprocess.run([sys.executable, "-c", probe + "; from tinytorch.mine import Linear; print(Linear.__module__)"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[1] == "my_tinytorch.Linear" and lines[-1] == "tinytorch.nn.linear", lines
    assert lines[-2].startswith("Linear: tinytorch's (yours is not saved yet"), lines


@contextlib.contextmanager
def _environ(values):
    previous = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(previous)


@pytest.mark.slow
def test_progress_notebook_runs(tmp_path):
    from notebook_runner import errors, execute, text_output

    notebook, _ = execute(REPO / "content" / "_progress.py", "solution", tmp_path)
    assert not errors(notebook), errors(notebook)
    assert "03 Layers" in text_output(notebook) and "Your saved implementations" in text_output(notebook)


# The last cell appended to a later notebook: the class of every module (and submodule) and
# optimizer the notebook left in its namespace, as "Name:defining module".
PROBE = '''
# %%
import tinytorch as _tt
_made = [v for v in list(globals().values()) if isinstance(v, (_tt.nn.Module, _tt.optim.Optimizer))]
_made = [m for v in _made for m in (v.modules() if isinstance(v, _tt.nn.Module) else [v])]
print("PROBE", sorted({f"{type(m).__name__}:{type(m).__module__}" for m in _made}))
'''


@pytest.mark.slow
def test_later_notebook_trains_with_the_learners_saved_components(tmp_path):
    """Modules 03 and 06 (solution editions) save Linear, Sequential, Dropout and the
    optimizers; module 07, run next with the same storage, builds its models and optimizers
    from them (tinytorch.mine), not from tinytorch's classes, and runs clean."""
    from notebook_runner import errors, execute, text_output

    for stem in ("03_layers", "06_optimizers"):
        notebook, _ = execute(REPO / "content" / f"{stem}.py", "solution", tmp_path)
        assert not errors(notebook), (stem, errors(notebook))
    saved = json.loads((tmp_path / ".tinytorch" / "progress.json").read_text())["saved"]
    assert {"Linear", "Sequential", "Dropout", "Adam", "AdamW"} <= set(saved), sorted(saved)

    later = tmp_path / "07_training.py"
    later.write_text((REPO / "content" / "07_training.py").read_text(encoding="utf-8") + PROBE, encoding="utf-8")
    notebook, _ = execute(later, "solution", tmp_path)
    assert not errors(notebook), errors(notebook)
    output = text_output(notebook)
    for name in ("Linear", "Sequential", "Dropout", "Adam", "AdamW"):
        assert re.search(rf"^{name}: yours \(", output, re.M), f"07 did not take {name} from tinytorch.mine"
    made = set(ast.literal_eval(re.search(r"^PROBE (\[.*\])$", output, re.M).group(1)))
    for name in ("Linear", "Sequential", "Dropout", "AdamW"):
        assert f"{name}:my_tinytorch.{name}" in made, (name, sorted(made))
    assert not {m for m in made if m.split(":")[0] in mine.COMPONENTS and m.split(":")[1].startswith("tinytorch.")}, \
        f"07 built some of its models or optimizers from tinytorch's classes: {sorted(made)}"
    assert re.search(r"^test accuracy .*: target met$", output, re.M), output[-1500:]


# ------------------------------------------------------------------------------------------
# The switch: tinytorch runs on the learner's components
# ------------------------------------------------------------------------------------------

RELU_BACKWARD = '''
import numpy as np


def relu_backward(grad, x):
    return np.where(x > 0, grad, 0.0)
'''


def test_use_makes_tinytorch_run_the_learners_saved_component(home, capsys):
    ns = Cells().run(RELU_BACKWARD)
    quiet(checks.check_relu_backward, ns["relu_backward"])
    assert (home / "relu_backward.py").exists()
    x = tt.tensor([-1.0, 2.0, 3.0], requires_grad=True)

    assert mine.use() == ["relu_backward"]
    assert "Your framework: 1 of" in capsys.readouterr().out
    tt.nn.ReLU()(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 1.0, 1.0])
    assert mine.time_spent["relu_backward"][0] == 1  # the learner's code ran, once
    rows = {row["name"]: row for row in mine.components(quiet=True)}
    assert rows["relu_backward"]["yours"] and not rows["sigmoid_backward"]["yours"]
    assert "not saved yet" in rows["sigmoid_backward"]["why"]

    x.grad = None
    (tt.nn.ReLU()(x) * 2).sum().backward()  # mul_backward: tinytorch's, counted too
    found = mine.report()
    assert found["yours"] == ["relu_backward"] and "mul_backward" in found["tinytorch"]
    out = capsys.readouterr().out
    assert re.search(r"^Built from your code: 1 of \d+ components this run used \(relu_backward\)\.$", out, re.M), out
    assert "yours relu_backward" in out
    assert mine.summary().startswith("1 of ")

    assert mine.use(False) == []
    assert not tt.seams.replaced and not mine.time_spent  # tinytorch's own, uncounted
    x.grad = None
    tt.nn.ReLU()(x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 1.0, 1.0])


def test_use_falls_back_with_one_line_when_an_edited_component_fails(home, capsys):
    ns = Cells().run(RELU_BACKWARD)
    quiet(checks.check_relu_backward, ns["relu_backward"])
    path = home / "relu_backward.py"
    path.write_text(path.read_text().replace("np.where(x > 0, grad, 0.0)", "np.where(x >= 0, grad, 0.0)"))
    assert mine.use() == []
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "relu_backward" in line]
    assert len(lines) == 1 and "tinytorch's; your edited" in lines[0] and "fails its check" in lines[0], out
    assert mine.in_use() == {} and tt.seams.implementation("relu_backward").__wrapped__ is tt.seams.tinytorch("relu_backward")


def test_use_some_by_name_and_unknown_names_are_refused(home, capsys):
    ns = Cells().run(RELU_BACKWARD)
    quiet(checks.check_relu_backward, ns["relu_backward"])
    assert mine.use("sigmoid_backward", quiet=True) == []
    assert set(tt.seams.replaced) == {"sigmoid_backward"}  # tinytorch's, counted
    assert mine.use("relu_backward", quiet=True) == ["relu_backward"]
    assert set(tt.seams.replaced) == {"relu_backward"}
    with pytest.raises(ValueError, match="'relu_backwards' is not a component"):
        mine.use("relu_backwards")


def test_checks_compare_with_tinytorchs_own_even_while_a_component_is_replaced(home):
    tt.seams.replace("relu_backward", lambda grad, x: 0 * grad)  # whatever is in use...
    ns = Cells().run(RELU_BACKWARD)
    quiet(checks.check_relu_backward, ns["relu_backward"])  # ...a right answer still passes
    with pytest.raises(CheckFailed):
        quiet(checks.check_relu_backward, lambda grad, x: 0 * grad)
    assert tt.seams.replaced["relu_backward"](np.ones(2), np.ones(2)).tolist() == [0.0, 0.0]  # restored after


def test_after_use_tinytorch_mine_gives_the_class_in_use_and_report_counts_it(home, capsys):
    passing_linear()
    assert mine.use("Linear", quiet=True) == ["Linear"]
    Linear = mine.Linear
    assert Linear.__module__ == "my_tinytorch.Linear" and capsys.readouterr().out == ""  # use() said it
    Linear(3, 2)(tt.randn(4, 3))
    assert mine.report(quiet=True) == {"yours": ["Linear"], "tinytorch": [], "seconds": {}}
    mine.use("matmul", quiet=True)
    assert mine.Linear is tt.nn.Linear  # only matmul chosen: tinytorch's Linear is the one in use
    mine.use(False, quiet=True)
    assert mine.Linear.__module__ == "my_tinytorch.Linear"  # switched off: the saved one, as before use()
    assert "Linear: yours (" in capsys.readouterr().out


def test_what_a_saved_file_imports_from_tinytorch_mine_is_not_counted_as_used(home):
    # A learner's Linear whose cell imported their relu_backward from tinytorch.mine: loading the
    # saved Linear under use() looks relu_backward up, but a run that never calls it did not use it.
    cells = Cells()
    quiet(checks.check_relu_backward, cells.run(RELU_BACKWARD)["relu_backward"])
    with_import = LINEAR.replace("from tinytorch.nn import Module, Parameter\n",
                                 "from tinytorch.nn import Module, Parameter\nfrom tinytorch.mine import relu_backward\n")
    with_import = with_import.replace("        super().__init__()\n", "        super().__init__()\n        self.rule = relu_backward\n")
    quiet(check_linear, cells.run(with_import)["Linear"])
    assert "from tinytorch.mine import relu_backward" in (home / "Linear.py").read_text()
    assert mine.use("Linear", quiet=True) == ["Linear"]
    mine.Linear(3, 2)(tt.randn(4, 3))
    assert mine.report(quiet=True) == {"yours": ["Linear"], "tinytorch": [], "seconds": {}}


KV_CACHE_BYTES = '''
import numpy as np


def kv_cache_bytes(n_layer, batch_size, n_head, seq_len, head_dim, dtype=np.float32):
    return 2 * n_layer * batch_size * n_head * seq_len * head_dim * np.dtype(dtype).itemsize
'''


def test_a_component_without_a_seam_counts_as_used_once_loaded_after_use(home):
    quiet(checks.check_kv_cache_bytes, Cells().run(KV_CACHE_BYTES)["kv_cache_bytes"])
    assert mine.use(quiet=True) == ["kv_cache_bytes"]
    assert mine.report(quiet=True)["yours"] == []  # nothing has asked for it yet
    kv_cache_bytes = mine.load("kv_cache_bytes")  # a notebook takes it, as tinytorch has no seam for it
    assert kv_cache_bytes(2, 1, 4, 256, 16) == 2 * 2 * 4 * 256 * 16 * 4
    assert mine.report(quiet=True)["yours"] == ["kv_cache_bytes"]
    mine.use(quiet=True)
    assert mine.report(quiet=True)["yours"] == []  # a new run counts afresh
