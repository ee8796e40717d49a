"""Your work between the course site and your machine, in headless Chromium, the way the
progress notebook says: its download link gives one archive that `tinytorch import` restores
locally (progress, your components, your notebooks); and going back, an archive made locally
with `tinytorch export` uploads through the site's file browser and imports there, where a new
kernel uses your component as yours."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

import build
from bench import browser as driver
from tinytorch import platform

from tests.site.test_mine_browser import (CONTENTS_GET, EXECUTE, RUN_CELL, TIMEOUT_MS, cell_index, open_notebook,
                               solution_cell, type_solution, wait_for_output, watched_page)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ACTIVATIONS = "modules/02_activations.ipynb"
IMPORTS = "from tinytorch.checks import ("  # the module's imports cell
# Scroll the notebook to the cell at index `n` (the notebook renders only the cells in view).
SCROLL_TO_CELL = """async (n) => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  notebook.activeCellIndex = n;
  await notebook.scrollToItem(n, 'start');
}"""


def learners_python(*args, cwd, home) -> str:
    """`python ARGS` with this checkout's tinytorch, for a learner whose home folder is `home`
    (their saved work goes to home/.tinytorch); its output."""
    env = {key: value for key, value in os.environ.items() if key != "TINYTORCH_HOME"}
    env.update(HOME=str(home), PYTHONPATH=str(build.REPO), MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{args}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


def tinytorch_command(*args, cwd, home) -> str:
    """`tinytorch ARGS`, as `python -m tinytorch ARGS` (the console script of a fresh install is
    tests/test_cli_venv.py's)."""
    return learners_python("-m", "tinytorch", *args, cwd=cwd, home=home)


def test_work_downloaded_from_the_progress_notebook_imports_locally(site_url, browser, tmp_path):
    page, errors = watched_page(browser)

    # Module 02: the learner's relu (the solution, typed into its cell) passes its check and is
    # saved; the notebook is saved too.
    open_notebook(page, site_url, ACTIVATIONS)
    solved = type_solution(page, "02_activations.py", "def relu(x)")
    for index in (cell_index(page, IMPORTS), solved, cell_index(page, "check_relu(relu)")):
        page.evaluate(RUN_CELL, index)
    wait_for_output(page, "Saved your relu as my_tinytorch/relu.py")
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")

    # The progress notebook, run as it says; its link downloads the archive.
    open_notebook(page, site_url, build.PROGRESS_NOTEBOOK)
    driver.run_all_cells(page)
    link = page.locator("a[download]")
    link.wait_for(state="attached", timeout=TIMEOUT_MS)
    page.evaluate(SCROLL_TO_CELL, cell_index(page, "download_work()"))
    with page.expect_download(timeout=TIMEOUT_MS) as download:
        link.click()
    assert download.value.suggested_filename == platform.WORK_ARCHIVE
    downloads, learner = tmp_path / "Downloads", tmp_path / "learner"
    downloads.mkdir()
    learner.mkdir()
    archive_path = downloads / platform.WORK_ARCHIVE
    download.value.save_as(archive_path)
    outputs = page.evaluate(driver.OUTPUT_TEXT)
    assert "1 saved implementation, progress" in outputs and "Error" not in outputs, outputs[-2000:]
    assert browser.foreign_requests() == [], "requests left 127.0.0.1"
    assert not errors, errors

    # On the learner's machine: `tinytorch import` restores it; progress and framework are theirs.
    out = tinytorch_command("import", str(archive_path), cwd=downloads, home=learner)
    assert re.search(r"Restored \d+ files", out) and "Kept" not in out, out
    out = tinytorch_command("progress", cwd=downloads, home=learner)
    assert re.search(r"02 Activations +1/5 .*yours: relu", out), out
    out = learners_python("-c", "import tinytorch.mine as mine; mine.use(); print('in use:', *mine.in_use())",
                            cwd=downloads, home=learner)
    assert "components are yours (relu)" in out and "in use: relu" in out, out
    notebook = json.loads((downloads / platform.COURSE_FOLDER / ACTIVATIONS).read_text(encoding="utf-8"))
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    assert any("np.maximum(x.data, 0)" in "".join(cell["source"]) for cell in notebook["cells"])


def test_work_exported_locally_uploads_and_imports_in_the_site(site_url, browser, tmp_path):
    # On the learner's machine: the course notebooks; sigmoid solved in module 02's notebook,
    # which then runs in Jupyter (its other exercises still raise: not done yet); `tinytorch export`.
    learner, home = tmp_path / "learner", tmp_path / "home"
    learner.mkdir()
    tinytorch_command("course", cwd=learner, home=home)
    path = learner / platform.COURSE_FOLDER / ACTIVATIONS
    notebook = json.loads(path.read_text(encoding="utf-8"))
    solution = solution_cell(build.REPO / "content" / "02_activations.py", "def sigmoid(x)")
    (exercise,) = [cell for cell in notebook["cells"] if "def sigmoid(x)" in "".join(cell["source"])]
    exercise["source"] = solution
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    learners_python("-m", "jupyter", "execute", "--allow-errors", str(path), cwd=path.parent, home=home)
    assert (home / ".tinytorch" / "sigmoid.py").is_file()
    out = tinytorch_command("export", cwd=learner, home=home)
    assert "1 saved implementation, progress" in out, out
    told = re.search(r"then run `(.*?)`", out).group(1)  # what the learner is told to run in the site

    # The site: upload through the file browser, then the call export printed.
    page, errors = watched_page(browser)
    page.goto(f"{site_url}tree/index.html", timeout=TIMEOUT_MS)
    page.wait_for_selector(".jp-DirListing-item", timeout=TIMEOUT_MS)
    with page.expect_file_chooser(timeout=TIMEOUT_MS) as chooser:
        page.click('[data-jp-item-name="uploader"]')
    chooser.value.set_files(str(learner / platform.WORK_ARCHIVE))
    page.wait_for_selector(f'.jp-DirListing-itemName:has-text("{platform.WORK_ARCHIVE}")', timeout=TIMEOUT_MS)
    open_notebook(page, site_url, build.PROGRESS_NOTEBOOK)
    out = page.evaluate(EXECUTE, told)
    # module 02's notebook, the saved sigmoid and the progress; the other notebooks are the course's
    assert "Restored 3 files" in out and "Kept" not in out, out

    # A new kernel: the learner's sigmoid is theirs, and so is their notebook.
    page.reload()
    open_notebook(page, site_url, "modules/03_layers.ipynb")
    out = page.evaluate(EXECUTE, "import tinytorch.mine as mine\nmine.use()\nprint('in use:', *mine.in_use())")
    assert "components are yours (sigmoid)" in out and "in use: sigmoid" in out, out
    model = page.evaluate(CONTENTS_GET, [ACTIVATIONS, True])
    assert any(solution == "".join(cell["source"]) for cell in model["content"]["cells"])
    assert browser.foreign_requests() == [], "requests left 127.0.0.1"
    assert not errors, errors
