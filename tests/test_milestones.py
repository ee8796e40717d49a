"""The six milestones reach their targets natively, deterministically, as plain scripts.

Each `milestones/NN_YEAR_name.py` is run as `python milestones/NN_YEAR_name.py` would be (a
subprocess, cwd a temporary directory, matplotlib's Agg backend) and must end with one line
`RESULT: <metric> <value> (target <target>): target met; N of M components yours`. BLAS is limited to one thread, as in
the browser: that also keeps the runs fast on a busy shared machine, where OpenBLAS threads
fighting other processes were measured to slow small products down 50x.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MILESTONES = sorted((REPO / "milestones").glob("[0-9][0-9]_*.py"))
# Seconds natively; the rest take a few seconds each.
SLOW = {"04_1998_cnn", "05_2017_transformer", "06_2018_mlperf"}
RESULT = re.compile(r"^RESULT: (?P<metric>.+) \(target (?P<target>[^)]+)\): target (?P<verdict>met|MISSED)(?:; (?P<yours>\d+) of (?P<used>\d+) components yours)?$")


def run_script(path, workdir):
    """Run one milestone script in `workdir`/run with an empty TINYTORCH_HOME (no saved learner
    implementations, so tinytorch.mine gives the library's); returns its stdout."""
    cwd, home = workdir / "run", workdir / "home"
    cwd.mkdir(exist_ok=True)
    home.mkdir(exist_ok=True)
    env = dict(os.environ)
    env["TINYTORCH_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.update(MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([sys.executable, str(path)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, f"{path.name} exited with {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def result_line(stdout, name):
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT")]
    assert len(lines) == 1, f"{name}: expected exactly one RESULT line, got {lines}"
    assert stdout.rstrip().endswith(lines[0]), f"{name}: the RESULT line must be the last output"
    match = RESULT.match(lines[0])
    assert match, f"{name}: malformed RESULT line {lines[0]!r} (see content/README.md)"
    return lines[0], match


def test_all_six_milestones_exist():
    assert [p.stem[:7] for p in MILESTONES] == ["01_1957", "02_1969", "03_1986", "04_1998", "05_2017", "06_2018"]


def params():
    for path in MILESTONES:
        marks = [pytest.mark.slow] if path.stem in SLOW else []
        yield pytest.param(path, id=path.stem, marks=marks)


@pytest.mark.parametrize("path", MILESTONES, ids=lambda p: p.stem)
def test_milestone_source_follows_the_conventions(path):
    """Title heading first (the site's table of contents uses it), the modules it needs, the
    command that runs it as a script, one place where its components are chosen, no exercises."""
    build = pytest.importorskip("build")  # the repo's build.py
    notebook = build.make_notebook(path, edition="solution")
    title = build.notebook_title(notebook, "")
    year = path.stem.split("_")[1]
    assert title.startswith(f"Milestone {year}: "), title
    text = path.read_text(encoding="utf-8")
    assert "**Needs:**" in text and "**Target:**" in text
    assert f"python milestones/{path.name}" in text, "the header must say how to run it as a script"
    assert "### BEGIN SOLUTION" not in text
    assert 'tags=["check"]' not in text
    assert "## Reflection" in text


@pytest.mark.parametrize("path", list(params()))
def test_milestone_script_reaches_its_target(path, tmp_path):
    stdout = run_script(path, tmp_path)
    line, match = result_line(stdout, path.name)
    print(f"{path.name}: {line}")
    assert match["verdict"] == "met", f"{path.name}: {line}\n{stdout[-3000:]}"
    assert not list((tmp_path / "run").iterdir()), f"{path.name} left files in its working directory"


@pytest.mark.slow
@pytest.mark.parametrize("path", MILESTONES[:3], ids=lambda p: p.stem)
def test_milestone_result_is_deterministic(path, tmp_path):
    """Seeded: a second run prints the same RESULT line."""
    first, _ = result_line(run_script(path, tmp_path), path.name)
    second, _ = result_line(run_script(path, tmp_path), path.name)
    assert first == second


@pytest.mark.slow
def test_milestone_runs_as_a_notebook(tmp_path):
    """The notebook built from a milestone source runs too (Jupyter kernel, inline plots)."""
    from notebook_runner import errors, execute, text_output

    notebook, seconds = execute(MILESTONES[0], "solution", tmp_path)
    assert not errors(notebook), errors(notebook)
    assert re.search(r"^RESULT: .*: target met; \d+ of \d+ components yours$", text_output(notebook), re.M)
    print(f"{MILESTONES[0].name} as a notebook: {seconds:.1f} s")


# ------------------------------------------------------------------------------------------
# The proof: the solution edition's components, saved as a learner's, run every milestone
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def solution_home(tmp_path_factory):
    """A TINYTORCH_HOME holding the solution edition's implementation of every component,
    saved the way the course saves a learner's (each module's checks pass, then save)."""
    from solutions import save_solution_components

    home = tmp_path_factory.mktemp("solution_home")
    outcomes = save_solution_components(home)
    failing = [name for name, passed in outcomes.items() if not passed]
    assert not failing, f"the solution edition fails the checks of {failing}"
    return home


def components_of(name):
    """Which components a milestone uses, by name (what `mine.report()` must count as yours)."""
    return {
        "04_1998_cnn": {"conv2d_im2col", "conv2d_backward", "max_pool2d", "max_pool2d_backward"},
        "05_2017_transformer": {"Embedding", "TransformerBlock", "LayerNorm", "sample_next_token",
                                "scaled_dot_product_attention"},
        "06_2018_mlperf": {"conv2d_im2col", "KVCache", "TransformerBlock", "quantize", "magnitude_prune"},
    }.get(name, set())


@pytest.mark.slow
@pytest.mark.parametrize("path", MILESTONES, ids=lambda p: p.stem)
def test_milestone_reaches_its_target_on_the_solution_components(path, tmp_path, solution_home):
    """Issue 13's proof: with every component the learner's (the solution edition's), each
    milestone still meets its target, and its RESULT line says every component it used was yours."""
    run = tmp_path / "run"
    run.mkdir()
    env = dict(os.environ, TINYTORCH_HOME=str(solution_home), MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    proc = subprocess.run([sys.executable, str(path)], cwd=run, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"{path.name} exited with {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    line, match = result_line(proc.stdout, path.stem)
    assert match["verdict"] == "met", line
    assert match["yours"] is not None and match["yours"] == match["used"] and int(match["used"]) > 0, line
    built = next(row for row in proc.stdout.splitlines() if row.startswith("Built from your code:"))
    missing = [name for name in components_of(path.stem) if name not in built]
    assert not missing, f"{path.stem} did not run the learner's {missing}: {built}"
