"""The `tinytorch` command and work archives: browser <-> local hand-off (fast tests; the fresh
virtual-environment runs are in test_cli_venv.py)."""

import ast
import html
import base64
import csv
import io
import json
import os
import re
import sys
import zipfile
from pathlib import Path

import pytest

from tinytorch import platform
from tinytorch.cli import archive, grade, main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def browser(monkeypatch):
    """Pretend to run in the course site's kernel, at a known address."""
    monkeypatch.setattr(sys, "platform", "emscripten")
    monkeypatch.setattr(platform, "site_url", lambda: "https://course.example.org/tt/")


# ------------------------------------------------------------------ hand-off commands

@pytest.mark.parametrize("href", [
    "https://course.example.org/tt/extensions/@jupyterlite/pyodide-kernel-extension/static/worker.js",
    "https://course.example.org/tt/lab/index.html?path=modules/18_acceleration.ipynb",
    "https://course.example.org/tt/notebooks/index.html?path=00_start_here.ipynb#cell",
    "https://course.example.org/tt/index.html",
])
def test_site_root_is_found_from_any_page_or_worker_of_the_site(href):
    assert platform.site_root(href) == "https://course.example.org/tt/"


def test_browser_commands_install_this_sites_wheel_and_open_the_notebook(browser):
    commands = platform.local_commands("modules/18_acceleration.ipynb")
    assert commands == [
        f'pip install "tinytorch[course] @ https://course.example.org/tt/static/pyodide/{platform.WHEEL}"',
        f"tinytorch course {platform.COURSE_FOLDER} --work {platform.WORK_ARCHIVE}",
        f"jupyter lab {platform.COURSE_FOLDER}/modules/18_acceleration.ipynb",
    ]


def test_without_a_site_address_the_command_names_the_downloaded_wheel_file(monkeypatch):
    monkeypatch.setattr(sys, "platform", "emscripten")  # Pyodide under Node: no page address
    assert platform.local_commands()[0] == f'pip install "./{platform.WHEEL}[course]"'


def test_handoff_message_starts_by_saving_the_work_then_gives_the_commands(browser, capsys):
    assert platform.native_handoff("the cache sweep", "modules/18_acceleration.ipynb") is False
    out = capsys.readouterr().out
    assert "the cache sweep" in out and "download_work()" in out
    for command in platform.local_commands("modules/18_acceleration.ipynb"):
        assert command in out


def _handoff_calls(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "native_handoff"]


def test_every_handoff_in_the_course_names_its_own_notebook():
    calls = {path: _handoff_calls(path) for path in sorted((REPO / "content").glob("*.py"))}
    assert sum(map(len, calls.values())) >= 8
    for path, found in calls.items():
        for call in found:
            assert ast.literal_eval(call.args[1]) == f"modules/{path.stem}.ipynb", f"{path.name}:{call.lineno}"


def test_no_course_text_tells_anyone_to_pip_install_tinytorch_from_an_index():
    sources = [*REPO.glob("content/*.py"), *REPO.glob("milestones/*.py"), *REPO.glob("tinytorch/**/*.py"),
               REPO / "README.md", REPO / "content" / "README.md"]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"pip install (-U )?tinytorch(\s|$|`|\[)", text), path


# ------------------------------------------------------------------ work archives

def _learner(root: Path, notebook_text="mine", saved="def relu(x):\n    return x\n"):
    notebooks, home = root / "notebooks", root / "home"
    (notebooks / "modules").mkdir(parents=True)
    home.mkdir()
    notebook = {"cells": [{"cell_type": "code", "source": notebook_text, "metadata": {}, "outputs": [],
                           "execution_count": None}],
                "metadata": {"kernelspec": dict(archive.KERNELS[True])}, "nbformat": 4, "nbformat_minor": 5}
    (notebooks / "modules" / "02_activations.ipynb").write_text(json.dumps(notebook))
    (home / "relu.py").write_text(saved)
    (home / "progress.json").write_text(json.dumps({
        "checks": {"relu": {"passed": True, "time": "2026-01-02 10:00"}},
        "saved": {"relu": {"check": "relu", "check_function": "check_relu", "time": "2026-01-02 10:00"}}}))
    return notebooks, home


def test_archive_round_trip_restores_framework_progress_and_notebooks(tmp_path):
    notebooks, home = _learner(tmp_path / "browser")
    data = archive.make_work_archive(notebooks, home)
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert names == {"modules/02_activations.ipynb", "my_tinytorch/relu.py", "my_tinytorch/progress.json",
                     archive.MANIFEST}
    local_notebooks, local_home = tmp_path / "local" / "nbs", tmp_path / "local" / "home"
    outcome = archive.import_work(data, local_notebooks, local_home, overwrite=False)
    assert sorted(outcome["written"]) == sorted(names - {archive.MANIFEST})
    assert (local_home / "relu.py").read_text() == (home / "relu.py").read_text()
    assert json.loads((local_home / "progress.json").read_text())["checks"]["relu"]["passed"] is True
    restored = json.loads((local_notebooks / "modules" / "02_activations.ipynb").read_text())
    assert restored["metadata"]["kernelspec"]["name"] == "python3"  # the site's kernel becomes Jupyter's
    assert restored["cells"] == json.loads((notebooks / "modules" / "02_activations.ipynb").read_text())["cells"]
    again = archive.import_work(data, local_notebooks, local_home, overwrite=False)
    assert set(again["unchanged"]) == {"modules/02_activations.ipynb", "my_tinytorch/relu.py"}


def test_a_notebook_with_the_same_cells_is_up_to_date_whatever_its_layout_or_outputs(tmp_path):
    notebooks, home = _learner(tmp_path / "browser")
    data = archive.make_work_archive(notebooks, home)
    local = tmp_path / "nbs" / "modules" / "02_activations.ipynb"
    local.parent.mkdir(parents=True)
    same = json.loads((notebooks / "modules" / "02_activations.ipynb").read_text())
    same["metadata"]["kernelspec"] = {"name": "other"}
    for cell in same["cells"]:
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "ran here"}]
    local.write_text(json.dumps(same, indent=4))
    later = local.stat().st_mtime + 3600  # newer: it would be kept (and listed) if it held other work
    os.utime(local, (later, later))
    outcome = archive.import_work(data, tmp_path / "nbs", tmp_path / "home", overwrite=False)
    assert "modules/02_activations.ipynb" in outcome["unchanged"] and "ran here" in local.read_text()
    same["cells"][0]["source"] = "edited here"
    local.write_text(json.dumps(same))
    os.utime(local, (later, later))
    outcome = archive.import_work(data, tmp_path / "nbs", tmp_path / "home", overwrite=False)
    assert outcome["kept"] == ["modules/02_activations.ipynb"]


def test_a_json_file_is_overwritten_in_place_without_truncating_it(tmp_path):
    path = tmp_path / "02_activations.ipynb"
    path.write_text(json.dumps({"cells": [], "metadata": {"long": "x" * 100}}))
    archive._overwrite_in_place(path, b'{"cells": []}')
    assert json.loads(path.read_bytes()) == {"cells": []} and path.read_bytes().startswith(b'{"cells": []} ')
    archive._overwrite_in_place(path, b'{"cells": [1]}' + b" " * 200)
    assert json.loads(path.read_bytes()) == {"cells": [1]}


def test_a_newer_local_file_is_kept_unless_overwriting_is_asked_for(tmp_path):
    notebooks, home = _learner(tmp_path / "browser", saved="def relu(x):\n    return 'browser'\n")
    data = archive.make_work_archive(notebooks, home)
    local_home = tmp_path / "home"
    local_home.mkdir()
    newer = local_home / "relu.py"
    newer.write_text("def relu(x):\n    return 'local'\n")
    later = (home / "relu.py").stat().st_mtime + 60
    os.utime(newer, (later, later))
    (local_home / "progress.json").write_text(json.dumps({"checks": {}, "saved": {"relu": {"check": "relu",
                                                                                         "time": "local"}}}))
    outcome = archive.import_work(data, tmp_path / "nbs", local_home, overwrite=False)
    assert outcome["kept"] == ["my_tinytorch/relu.py"] and "local" in newer.read_text()
    state = json.loads((local_home / "progress.json").read_text())
    assert state["saved"]["relu"]["time"] == "local"  # the entry of the file kept
    assert state["checks"]["relu"]["passed"] is True  # the archive's newer check outcome
    archive.import_work(data, tmp_path / "nbs", local_home, overwrite=True)
    assert "browser" in newer.read_text()
    older = (home / "relu.py").stat().st_mtime - 60  # an older local file is replaced without asking
    newer.write_text("def relu(x):\n    return 'old'\n")
    os.utime(newer, (older, older))
    archive.import_work(data, tmp_path / "nbs", local_home, overwrite=False)
    assert "browser" in newer.read_text()


def test_an_archive_that_is_not_a_work_archive_is_refused_with_the_reason(tmp_path):
    with pytest.raises(archive.ArchiveError, match="not a zip file"):
        archive.read_work_archive(b"not a zip")
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("../etc/passwd.ipynb", "{}")
    with pytest.raises(archive.ArchiveError, match="unsafe path"):
        archive.read_work_archive(other.getvalue())


def test_download_link_carries_the_archive_and_is_left_out_of_the_next_one(tmp_path, monkeypatch):
    pytest.importorskip("IPython")
    notebooks, home = _learner(tmp_path)
    monkeypatch.setenv("TINYTORCH_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(archive, "_in_notebook", lambda: True)
    monkeypatch.setattr(archive, "notebooks_folder", lambda: notebooks)
    html = archive.download_work().data
    payload = re.search(r'href="data:application/zip;base64,([^"]+)"', html).group(1)
    assert "my_tinytorch/relu.py" in zipfile.ZipFile(io.BytesIO(base64.b64decode(payload))).namelist()
    # the link's output saved in the progress notebook would otherwise nest every archive in the next
    path = notebooks / "progress.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "source": "", "metadata": {}, "execution_count": 1,
                                           "outputs": [{"output_type": "display_data", "metadata": {},
                                                        "data": {"text/html": html}}]}],
                                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    second = zipfile.ZipFile(io.BytesIO(archive.make_work_archive(notebooks, home)))
    assert json.loads(second.read("progress.ipynb"))["cells"][0]["outputs"] == []


# ------------------------------------------------------------------ the command

def test_course_writes_the_student_notebooks_and_merges_the_work_archive(tmp_path, capsys):
    notebooks, home = _learner(tmp_path / "browser", notebook_text="# my own work")
    work = tmp_path / "tinytorch-work.zip"
    work.write_bytes(archive.make_work_archive(notebooks, home))
    os.environ["TINYTORCH_HOME"] = str(tmp_path / "local-home")
    try:
        assert main(["course", str(tmp_path / "course"), "--work", str(work), "--no"]) == 0
    finally:
        del os.environ["TINYTORCH_HOME"]
    course = tmp_path / "course"
    mine_nb = json.loads((course / "modules" / "02_activations.ipynb").read_text())
    assert mine_nb["cells"][0]["source"] == "# my own work"  # the learner's copy, not the course's
    tensor = json.loads((course / "modules" / "01_tensor.ipynb").read_text())
    code = "".join("".join(cell["source"]) for cell in tensor["cells"] if cell["cell_type"] == "code")
    assert 'raise NotImplementedError("Exercise' in code and "### BEGIN SOLUTION" not in code
    assert tensor["metadata"]["kernelspec"]["name"] == "python3"
    assert (tmp_path / "local-home" / "relu.py").exists()
    assert f"jupyter lab {course / '00_start_here.ipynb'}" in capsys.readouterr().out


def test_export_then_import_from_the_command_line(tmp_path, monkeypatch, capsys):
    notebooks, home = _learner(tmp_path / "a")
    monkeypatch.setenv("TINYTORCH_HOME", str(home))
    out = tmp_path / "work.zip"
    assert main(["export", str(out), "--notebooks", str(notebooks)]) == 0
    assert "1 notebook, 1 saved implementation, progress" in capsys.readouterr().out
    monkeypatch.setenv("TINYTORCH_HOME", str(tmp_path / "b-home"))
    assert main(["import", str(out), "--notebooks", str(tmp_path / "b"), "--yes"]) == 0
    assert (tmp_path / "b-home" / "relu.py").exists() and (tmp_path / "b" / "modules" / "02_activations.ipynb").exists()
    assert main(["import", str(tmp_path / "missing.zip")]) == 1
    assert "No such file" in capsys.readouterr().err


def test_progress_and_doctor_report_the_learners_home(tmp_path, monkeypatch, capsys):
    _, home = _learner(tmp_path)
    monkeypatch.setenv("TINYTORCH_HOME", str(home))
    assert main(["progress"]) == 0
    out = capsys.readouterr().out
    assert "02 Activations" in out and "1/5" in out
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert str(home) in out and "numpy" in out and "BLAS" in out


def test_unknown_milestone_lists_the_milestones(capsys):
    with pytest.raises(SystemExit, match="01_1957_perceptron"):
        main(["milestone", "99"])


# ------------------------------------------------------------------ grading

def test_grade_runs_every_check_on_each_learners_saved_code_and_writes_csv(tmp_path, capsys):
    good = "import numpy as np\nimport tinytorch as tt\n\n\ndef relu(x):\n    return tt.Tensor(np.maximum(x.data, 0))\n"
    archives = []
    for learner, saved in (("ada", good), ("bob", "def relu(x):\n    return x\n")):
        notebooks, home = _learner(tmp_path / learner, saved=saved)
        path = tmp_path / f"{learner}.zip"
        path.write_bytes(archive.make_work_archive(notebooks, home))
        archives.append(path)
    rows = grade.grade([str(p) for p in archives], tmp_path / "grades.csv", jobs=2)
    table = list(csv.DictReader((tmp_path / "grades.csv").open()))
    assert len(table) == len(rows) == 2 * len(grade.course_checks())
    relu = {row["learner"]: row for row in table if row["check"] == "relu"}
    assert relu["ada"]["result"] == "pass" and relu["ada"]["points"] == "1"
    assert relu["bob"]["result"] == "fail" and relu["bob"]["points"] == "0" and relu["bob"]["detail"]
    assert {row["result"] for row in table if row["check"] == "sigmoid"} == {"missing"}
    assert "ada: 1/" in capsys.readouterr().out


# ------------------------------------------------------------------ the site's download page

def test_download_page_links_the_sites_wheel_and_prints_the_exact_commands(tmp_path):
    from tinytorch_site.downloads import write_download_page

    with pytest.raises(FileNotFoundError, match="wheel"):
        write_download_page(tmp_path, "tinytorch-course.zip")
    wheel = tmp_path / platform.WHEEL_PATH
    wheel.parent.mkdir(parents=True)
    wheel.write_bytes(b"wheel")
    path = write_download_page(tmp_path, "tinytorch-course.zip")
    page = path.read_text()
    assert f'href="../{platform.WHEEL_PATH}"' in page and 'href="tinytorch-course.zip"' in page
    assert (path.parent / f"../{platform.WHEEL_PATH}").resolve() == wheel.resolve()
    for command in platform.local_commands("00_start_here.ipynb", work=True):
        assert html.escape(command) in page
    assert "import_work" in page


def test_grade_says_what_the_notebook_recorded_for_an_exercise_with_no_saved_file(tmp_path):
    (tmp_path / "progress.json").write_text(json.dumps({"checks": {"sigmoid": {"passed": True, "time": "t1"}}}))
    rows = {row["check"]: row for row in grade.grade_home("ada", tmp_path)}
    assert rows["sigmoid"]["result"] == "missing" and rows["sigmoid"]["points"] == 0
    assert "progress.json says its check passed (t1)" in rows["sigmoid"]["detail"]
    assert rows["tanh"]["detail"] == "no saved implementation"


def test_import_asks_before_replacing_a_newer_local_file_when_someone_can_answer(tmp_path, monkeypatch):
    notebooks, home = _learner(tmp_path / "browser", saved="def relu(x):\n    return 'browser'\n")
    data = archive.make_work_archive(notebooks, home)
    local = tmp_path / "home"
    local.mkdir()
    (local / "relu.py").write_text("def relu(x):\n    return 'local'\n")
    later = (home / "relu.py").stat().st_mtime + 60
    os.utime(local / "relu.py", (later, later))
    questions = []
    monkeypatch.setattr(sys, "stdin", type("Terminal", (), {"isatty": staticmethod(lambda: True)})())
    monkeypatch.setattr(archive, "_ask", lambda question: questions.append(question) or True)
    archive.import_work(data, tmp_path / "nbs", local)
    assert len(questions) == 1 and "relu.py" in questions[0] and "browser" in (local / "relu.py").read_text()


def test_a_milestone_is_found_by_number_or_year(tmp_path):
    from tinytorch.cli.run import milestone_code

    assert milestone_code("1", tmp_path)[0] == milestone_code("1957", tmp_path)[0] == "01_1957_perceptron"
    name, code = milestone_code("04", tmp_path)
    assert name == "04_1998_cnn" and "RESULT" in code


def test_python_dash_m_tinytorch_is_the_same_command():
    import subprocess

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-m", "tinytorch", "--help"], capture_output=True, text=True, env=env,
                            cwd=REPO)
    assert result.returncode == 0 and "tinytorch grade ARCHIVE" in result.stdout
    assert subprocess.run([sys.executable, "-m", "tinytorch", "milestone", "99"], capture_output=True, text=True,
                          env=env, cwd=REPO).returncode != 0
