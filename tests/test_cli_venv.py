"""The hand-off, followed word for word on a fresh virtual environment: the commands the browser
prints install the site's wheel (served over HTTP like the course site), write the notebooks
with the learner's work merged in, and the learner's framework runs a milestone; then the
README's "Running a milestone locally" commands, as written."""

import io
import json
import os
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

build = pytest.importorskip("build")  # the repo's build.py (pythonpath = ".")

from tinytorch import platform  # noqa: E402
from tinytorch.cli import archive  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def run(command, cwd, env, timeout=900):
    result = subprocess.run(command, cwd=cwd, env=env, shell=isinstance(command, str), capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"{command}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A fresh virtual environment (PATH first) and the wheel built from the repository."""
    root = tmp_path_factory.mktemp("venv")
    dist = root / "site" / Path(platform.WHEEL_PATH).parent
    # no PYTHONPATH: the repository on it would make `-m build` run build.py
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    run([sys.executable, "-P", "-m", "build", "--wheel", "--outdir", str(dist), str(REPO)], cwd=root, env=env)
    run([sys.executable, "-m", "venv", str(root / "env")], cwd=root, env=env)
    env.update(PATH=f"{root / 'env' / 'bin'}{os.pathsep}{env['PATH']}", MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1",
               TINYTORCH_HOME=str(root / "home"))
    return root, env


def learners_work(folder: Path) -> Path:
    """A work archive as the site's progress notebook downloads it: an edited notebook, a saved
    ReLU and the progress."""
    notebooks, home = folder / "drive", folder / "drive" / "my_tinytorch"
    (notebooks / "modules").mkdir(parents=True)
    home.mkdir()
    edited = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "my notes"}],
              "metadata": {"kernelspec": dict(archive.KERNELS[True])}, "nbformat": 4, "nbformat_minor": 5}
    (notebooks / "modules" / "02_activations.ipynb").write_text(json.dumps(edited))
    (home / "relu.py").write_text("import numpy as np\nimport tinytorch as tt\n\n\ndef relu(x):\n"
                                  "    return tt.Tensor(np.maximum(x.data, 0))\n")
    (home / "progress.json").write_text(json.dumps({"checks": {"relu": {"passed": True, "time": "2026-01-01 10:00"}},
                                                    "saved": {"relu": {"check": "relu", "time": "2026-01-01 10:00"}}}))
    path = folder / platform.WORK_ARCHIVE
    path.write_bytes(archive.make_work_archive(notebooks, home))
    return path


def test_the_commands_the_browser_prints_work_on_a_fresh_machine(venv, monkeypatch, capsys):
    root, env = venv
    server, url = build.start_server(root / "site")
    try:
        monkeypatch.setattr(sys, "platform", "emscripten")  # print exactly what the course site prints
        monkeypatch.setattr(platform, "site_url", lambda: url)
        assert platform.native_handoff("the BLAS sweep", "modules/18_acceleration.ipynb") is False
        monkeypatch.undo()
        steps = re.findall(r"^\s+\d+\. (.*)$", capsys.readouterr().out, re.M)
        assert "download_work()" in steps[0]
        commands = steps[1:]
        assert commands[0].startswith(f'pip install "tinytorch[course] @ {url}')
        work = root / "downloads"
        work.mkdir()
        learners_work(work)
        for command in commands:
            if command.startswith("jupyter lab "):  # would open a browser: check it would open the notebook
                notebook = work / shlex.split(command)[2]
                assert json.loads(notebook.read_text())["metadata"]["kernelspec"]["name"] == "python3"
                run("jupyter lab --version", work, env)
            else:
                run(command, work, env)
    finally:
        server.shutdown()
    folder = work / platform.COURSE_FOLDER
    assert json.loads((folder / "modules" / "02_activations.ipynb").read_text())["cells"][0]["source"] == "my notes"
    assert (folder / "modules" / "18_acceleration.ipynb").exists() and (root / "home" / "relu.py").exists()
    out = run("tinytorch progress", work, env)
    assert "02 Activations" in out and "1/5" in out
    assert "MISSING" not in run("tinytorch doctor", work, env)
    out = run("tinytorch milestone 01", work, env, timeout=600)  # the milestone, from the wheel's notebook
    assert "RESULT:" in out
    exported = run(f"tinytorch export {root / 'back.zip'} --notebooks {folder}", work, env)
    assert "saved implementation" in exported
    names = zipfile.ZipFile(io.BytesIO((root / "back.zip").read_bytes())).namelist()
    assert "my_tinytorch/relu.py" in names and "modules/02_activations.ipynb" in names


def test_readme_runs_a_milestone_locally_as_written(venv):
    """README "Running a milestone locally", command by command, from the repository's root."""
    root, env = venv
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Running a milestone locally", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines() if line.split("#", 1)[0].strip()]
    assert any(command.startswith("pip install") for command in commands)
    for command in commands:
        out = run(command, REPO, env)
    assert "RESULT:" in out and "target met" in out
    # the editable install makes the course notebooks from the checkout
    out = run(f"tinytorch course {root / 'from-checkout'}", root, env)
    assert "Wrote 28 course notebooks" in out or (root / "from-checkout" / "modules" / "01_tensor.ipynb").exists()
