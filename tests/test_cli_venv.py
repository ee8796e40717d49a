"""The hand-off, followed word for word on a fresh virtual environment: the commands the browser
prints install the site's wheel (served over HTTP like the course site), write the notebooks
with the learner's work merged in, and the learner's framework runs a milestone; each module
that hands a part off to a native run (modules 07, 12-15, 18, 19) runs that part from the
notebook the printed commands write; then the README's "Running a milestone locally"
commands, as written."""

import ast
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


@pytest.fixture(scope="module")
def site(venv):
    """The site's wheel served over HTTP, as the course site serves it; its root URL."""
    root, _ = venv
    server, url = build.start_server(root / "site")
    yield url
    server.shutdown()
    server.server_close()


def printed_commands(handoff, url, monkeypatch, capsys) -> list[str]:
    """The numbered steps a hand-off prints in the course site at `url` (call `handoff()`)."""
    with monkeypatch.context() as patched:
        patched.setattr(sys, "platform", "emscripten")  # print exactly what the course site prints
        patched.setattr(platform, "site_url", lambda: url)
        capsys.readouterr()
        assert handoff() is False
        steps = re.findall(r"^\s+\d+\. (.*)$", capsys.readouterr().out, re.M)
    assert "download_work()" in steps[0]
    assert steps[1].startswith(f'pip install "tinytorch[course] @ {url}')
    return steps[1:]


def follow(commands, work: Path, env, open_notebook) -> None:
    """Run the printed commands in `work` (where the work archive was saved); `jupyter lab NB`
    would open a browser, so `open_notebook(path)` stands for it."""
    for command in commands:
        if command.startswith("jupyter lab "):
            open_notebook(work / shlex.split(command)[2])
        else:
            run(command, work, env)


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


def test_the_commands_the_browser_prints_work_on_a_fresh_machine(venv, site, monkeypatch, capsys):
    root, env = venv
    commands = printed_commands(lambda: platform.native_handoff("the BLAS sweep", "modules/18_acceleration.ipynb"),
                                site, monkeypatch, capsys)
    work = root / "downloads"
    work.mkdir()
    learners_work(work)

    def open_notebook(notebook):  # the notebook Jupyter would open, for the local kernel
        assert json.loads(notebook.read_text())["metadata"]["kernelspec"]["name"] == "python3"
        run("jupyter lab --version", work, env)

    follow(commands, work, env, open_notebook)
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


def handoffs() -> dict[str, list[tuple[list, dict]]]:
    """The arguments of every `native_handoff(...)` call, per course module (content/ stem), read
    from the sources: a module that starts handing off is followed here too."""
    found = {}
    for source in sorted((REPO / "content").glob("[0-9]*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "native_handoff":
                found.setdefault(source.stem, []).append(
                    ([ast.literal_eval(arg) for arg in node.args],
                     {keyword.arg: ast.literal_eval(keyword.value) for keyword in node.keywords}))
    return found


HANDOFFS = handoffs()
# What only the module's full, native run prints (in the cells that hand off): proof that its
# native part ran rather than the browser's scaled-down version.
NATIVE_RUN = {
    "07_training": ["width 1024"],
    "12_attention": ["T= 1024"],
    "13_transformers": ["step  149"],
    "14_profiling": ["1024 x 1024  matmul"],
    "15_quantization": ["copy a 1024x1024 weight"],
    "18_acceleration": ["thread(s): 64 x 64:", "64M:"],
    "19_benchmarking": ["No benchmark_browser.json here yet"],
}


def solved_work(folder: Path, notebook: str, module: str) -> Path:
    """The work archive of a learner who solved `module` in the browser: its notebook (the
    solution edition stands for the learner's answers) as the site's storage keeps it."""
    drive = folder / "drive"
    path = drive / notebook
    path.parent.mkdir(parents=True)
    solved = build.make_notebook(REPO / "content" / f"{module}.py", "solution")
    path.write_bytes(archive.for_this_runtime(json.dumps(solved).encode(), browser=True))
    archived = folder / platform.WORK_ARCHIVE
    archived.write_bytes(archive.make_work_archive(drive, drive / "my_tinytorch"))
    return archived


def test_every_module_that_hands_off_is_followed():
    assert sorted(HANDOFFS) == sorted(NATIVE_RUN)


@pytest.mark.parametrize("module", sorted(NATIVE_RUN))
def test_each_modules_handoff_runs_its_native_part(venv, site, module, monkeypatch, capsys):
    """The module's printed commands, on the fresh environment, then its notebook executed by
    the environment's Jupyter (for `jupyter lab NB`): the hand-off cells run their native part."""
    root, env = venv
    printed = [printed_commands(lambda: platform.native_handoff(*args, **kwargs), site, monkeypatch, capsys)
               for args, kwargs in HANDOFFS[module]]
    commands = printed[0]
    assert all(other == commands for other in printed)  # one notebook: the same way there from each cell
    opened = Path(shlex.split(commands[-1])[2])
    assert commands[-1].startswith("jupyter lab ") and opened.parts[0] == platform.COURSE_FOLDER
    work = root / f"learner-{module}"
    work.mkdir()
    solved_work(work, opened.relative_to(platform.COURSE_FOLDER).as_posix(), module)
    executed = work / "executed"

    def open_notebook(notebook):  # what the learner's Jupyter runs, every cell in order, unattended
        assert json.loads(notebook.read_text())["metadata"]["kernelspec"]["name"] == "python3"
        run(["jupyter", "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=600",
             "--output-dir", str(executed), str(notebook)], work, env)

    follow(commands, work, env, open_notebook)
    cells = json.loads((executed / opened.name).read_text())["cells"]
    handing_off = [cell for cell in cells if cell["cell_type"] == "code" and "native_handoff(" in "".join(cell["source"])]
    out = "".join("".join(output.get("text", "")) for cell in handing_off for output in cell["outputs"])
    assert len(handing_off) == len(HANDOFFS[module]) and "In the browser" not in out, out
    for marker in NATIVE_RUN[module]:
        assert marker in out, out


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
