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
