"""The learner's own code in the built site, in headless Chromium: an exercise completed in
module 03 is saved in the browser's storage, survives a reload and a kernel restart, powers a
milestone, shows on the progress page, falls back to tinytorch's when broken or cleared; a
backward rule of module 05 is what tinytorch's own layers train with after a reload and
`tinytorch.mine.use()`; and a notebook copy from an older course release says that a newer
one exists."""

from __future__ import annotations

import json

import pytest

import build
import tinytorch.mine as mine
from bench import browser as driver

pytestmark = [pytest.mark.slow, pytest.mark.browser]

TIMEOUT_MS = 180_000
LAYERS = "modules/03_layers.ipynb"
AUTOGRAD = "modules/05_autograd.ipynb"
MILESTONE = "milestones/01_1957_perceptron.ipynb"

# Start running the notebook's cells above index `n`, in order, as Shift+Enter would (not
# awaited: a hung kernel must fail the test through a timeout, not block it).
RUN_CELLS_ABOVE = """(n) => {
  const widget = window.jupyterapp.shell.currentWidget;
  widget.content.activeCellIndex = n;
  void window.jupyterapp.commands.execute('notebook:run-all-above');
}"""
# Code sent to the notebook's kernel, as a cell would be; resolves to its printed output, or
# to "TIMEOUT" when the kernel does not answer within two minutes.
EXECUTE = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const out = [];
  const future = kernel.requestExecute({code});
  future.onIOPub = (msg) => {
    const c = msg.content;
    if (msg.header.msg_type === 'stream') out.push(c.text);
    else if (msg.header.msg_type === 'error') out.push(`${c.ename}: ${c.evalue}\\n`);
  };
  const timeout = new Promise((resolve) => setTimeout(() => resolve('TIMEOUT'), 120000));
  const done = await Promise.race([future.done, timeout]);
  return done === 'TIMEOUT' ? 'TIMEOUT' : out.join('');
}"""
CELL_INDEX = """(text) => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
  for (let i = 0; i < cells.length; i++) if (cells.get(i).sharedModel.getSource().includes(text)) return i;
  return -1;
}"""
# Run the cell at index `n` (not awaited, as RUN_CELLS_ABOVE).
RUN_CELL = """(n) => {
  const widget = window.jupyterapp.shell.currentWidget;
  widget.content.activeCellIndex = n;
  void window.jupyterapp.commands.execute('notebook:run-cell');
}"""
SET_CELL_SOURCE = """([index, source]) =>
  window.jupyterapp.shell.currentWidget.content.model.cells.get(index).sharedModel.setSource(source)"""
CONTENTS_GET = """async ([path, content]) => {
  try { return await window.jupyterapp.serviceManager.contents.get(path, {content}); }
  catch (error) { return null; }
}"""
CONTENTS_SAVE = """async ([path, model]) => { await window.jupyterapp.serviceManager.contents.save(path, model); }"""


RESTART_KERNEL = """async () => {
  await window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart();
}"""
HAS_DRIVE = "import os; print(os.path.isdir('/drive'))"


def open_notebook(page, site_url: str, path: str) -> None:
    """Open `path` and wait until its kernel has started and is idle, with the browser's
    storage: JupyterLite mounts it only in a kernel that starts once its service worker is
    registered, which a second page load may still be redoing; then the notebook's first cell
    tells the learner to restart the kernel (tinytorch.course.storage.DRIVE_UNAVAILABLE), and
    so does this."""
    driver.open_notebook(page, site_url, path, TIMEOUT_MS)
    page.wait_for_function(driver.KERNEL_READY, arg=True, timeout=TIMEOUT_MS)
    for _ in range(3):
        if page.evaluate(EXECUTE, HAS_DRIVE).strip() == "True":
            return
        page.evaluate(RESTART_KERNEL)
        page.wait_for_function(driver.KERNEL_READY, arg=True, timeout=TIMEOUT_MS)
    raise AssertionError(f"{path}: the kernel has no /drive after three restarts")


def wait_for_output(page, text: str) -> None:
    driver.wait_for_output(page, text, TIMEOUT_MS)


def cell_index(page, text: str) -> int:
    index = page.evaluate(CELL_INDEX, text)
    assert index >= 0, f"no cell containing {text!r}"
    return index


def listing(page, folder: str) -> list[str]:
    model = page.evaluate(CONTENTS_GET, [folder, True])
    return sorted(item["name"] for item in (model or {}).get("content") or [])


def solution_cell(source_path, text: str) -> str:
    notebook = build.make_notebook(source_path, "solution")
    return next(cell.source for cell in notebook.cells if text in cell.source)


def type_solution(page, source: str, text: str) -> int:
    """Put the solution edition's cell containing `text` (of content/`source`) into the open
    notebook's cell containing it, as a learner who solved the exercise; returns its index."""
    index = cell_index(page, text)
    page.evaluate(SET_CELL_SOURCE, [index, solution_cell(build.REPO / "content" / source, text)])
    return index


def watched_page(browser):
    """A new page, and the list its uncaught JavaScript errors go to."""
    page = browser.context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)[:300]))
    return page, errors


def test_linear_from_module_03_powers_a_milestone_across_reload_and_restart(site_url, browser):
    page, errors = watched_page(browser)

    # Module 03, student edition: write Linear (here: the solution, typed into its cell), run
    # the notebook down to the cell after its check, which saves it.
    open_notebook(page, site_url, LAYERS)
    type_solution(page, "03_layers.py", "class Linear(Module)")
    check = cell_index(page, "check_linear(Linear)")
    page.evaluate(RUN_CELLS_ABOVE, check + 1)
    wait_for_output(page, "PASS linear")
    wait_for_output(page, "Saved your Linear as my_tinytorch/Linear.py")
    outputs = page.evaluate(driver.OUTPUT_TEXT)
    assert "newer version" not in outputs  # the release cell of an up-to-date notebook is silent
    assert {"Linear.py", "progress.json"} <= set(listing(page, "my_tinytorch"))

    # A new page (new kernel), then a kernel restart as well: only the browser storage remembers.
    page.reload()
    open_notebook(page, site_url, MILESTONE)
    assert page.evaluate(EXECUTE, "before_restart = 1") == ""
    page.evaluate("""async () => {
      const restart = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart();
      await Promise.race([restart, new Promise((resolve) => setTimeout(resolve, 120000))]);
    }""")
    page.wait_for_function(driver.KERNEL_READY, arg=True, timeout=TIMEOUT_MS)
    assert page.evaluate(EXECUTE, "print('before_restart' in globals())").strip() == "False"
    driver.run_all_cells(page)
    wait_for_output(page, "RESULT:")
    outputs = page.evaluate(driver.OUTPUT_TEXT)
    assert "Your framework: 1 of " in outputs and "components are yours (Linear)" in outputs, outputs[:2000]
    assert "target met; 1 of 2 components yours" in outputs and "Error" not in outputs, outputs[-2000:]
    assert page.evaluate(EXECUTE, "print(Linear.__module__, perceptron.weight.shape)").strip() == \
        "my_tinytorch.Linear (1, 2)"

    # A saved file broken by hand: reported, tinytorch's used, the file left as it is.
    saved = page.evaluate(CONTENTS_GET, ["my_tinytorch/Linear.py", True])["content"]
    broken = saved.replace("def forward(self, x):", "def forward(self, x)")
    page.evaluate(CONTENTS_SAVE, ["my_tinytorch/Linear.py", {"type": "file", "format": "text", "content": broken}])
    out = page.evaluate(EXECUTE, "mine.use()\nprint(mine.Linear.__module__)")
    assert "Linear: tinytorch's; your my_tinytorch/Linear.py failed to load: SyntaxError" in out, out
    assert out.strip().endswith("tinytorch.nn.linear"), out
    assert page.evaluate(CONTENTS_GET, ["my_tinytorch/Linear.py", True])["content"] == broken
    page.evaluate(CONTENTS_SAVE, ["my_tinytorch/Linear.py", {"type": "file", "format": "text", "content": saved}])

    # The progress page reads the same saved state.
    open_notebook(page, site_url, build.PROGRESS_NOTEBOOK)
    driver.run_all_cells(page)
    wait_for_output(page, f"{list(mine.COMPONENTS)[-1]}: tinytorch's")  # the last line of mine.status()
    outputs = page.evaluate(driver.OUTPUT_TEXT)
    assert "yours: Linear" in outputs and "Linear: yours (my_tinytorch/Linear.py" in outputs, outputs[:3000]

    # Clearing it: tinytorch's again, only the saved implementation removed.
    out = page.evaluate(EXECUTE, "import tinytorch.mine as mine\nmine.clear('Linear')\n"
                                 "from tinytorch.mine import Linear\nprint(Linear.__module__)")
    assert "Cleared Linear" in out and "Linear: tinytorch's (yours is not saved yet" in out, out
    assert out.strip().endswith("tinytorch.nn.linear"), out
    assert listing(page, "my_tinytorch") == ["progress.json"]
    assert browser.foreign_requests() == [], "requests left 127.0.0.1"
    assert not errors, errors


def test_a_copy_from_an_older_release_says_a_newer_one_exists(site_url, browser, site_dir):
    page = browser.context.new_page()
    notebook = "modules/01_tensor.ipynb"
    manifest = json.loads((site_dir / "files" / build.MANIFEST_NAME).read_text())
    digest = manifest["notebooks"][notebook]
    open_notebook(page, site_url, build.LANDING_NOTEBOOK)

    # What the browser keeps after a learner saved a notebook of an earlier release.
    model = page.evaluate(CONTENTS_GET, [notebook, True])
    release = next(i for i, cell in enumerate(model["content"]["cells"])
                   if "release" in cell["metadata"].get("tags", []))
    source = model["content"]["cells"][release]["source"]
    source = "".join(source) if isinstance(source, list) else source
    assert digest in source
    model["content"]["cells"][release]["source"] = source.replace(digest, "0123456789ab")
    page.evaluate(CONTENTS_SAVE, [notebook, {"type": "notebook", "format": "json", "content": model["content"]}])

    open_notebook(page, site_url, notebook)
    page.evaluate(RUN_CELLS_ABOVE, cell_index(page, "tinytorch.mine.check_release") + 1)
    wait_for_output(page, "Note: the course has a newer version of this notebook.")
    assert "Rename it (e.g. to 01_tensor_mine.ipynb), then open modules/01_tensor.ipynb again" in page.evaluate(driver.OUTPUT_TEXT)

    # The learner's choice: rename the copy; the course's current version is back under its name.
    page.evaluate("async ([a, b]) => { await window.jupyterapp.serviceManager.contents.rename(a, b); }",
                  [notebook, "modules/01_tensor_mine.ipynb"])
    current = page.evaluate(CONTENTS_GET, [notebook, True])
    text = json.dumps(current["content"])
    assert digest in text and "0123456789ab" not in text
    kept = page.evaluate(CONTENTS_GET, ["modules/01_tensor_mine.ipynb", True])
    assert "0123456789ab" in json.dumps(kept["content"])
    assert browser.foreign_requests() == []


# Training through tinytorch's own layers, printing the components this run used.
TRAIN = """
import numpy as np
import tinytorch as tt
import tinytorch.mine as mine
mine.use()
tt.manual_seed(0)
model = tt.nn.Sequential(tt.nn.Linear(4, 16), tt.nn.ReLU(), tt.nn.Linear(16, 3))
optimizer = tt.optim.SGD(model.parameters(), lr=0.5)
x, y = tt.randn(48, 4), tt.tensor(np.arange(48) % 3)
for step in range(20):
    loss = tt.nn.functional.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
mine.report()
print('relu_backward calls', mine.time_spent['relu_backward'][0], 'yours' if 'relu_backward' in mine.in_use() else 'not yours')
"""


def test_a_backward_rule_from_module_05_trains_tinytorchs_layers_after_a_reload(site_url, browser):
    page, errors = watched_page(browser)

    # Module 05, student edition: the three elementwise rules (the solution typed into their
    # cell), then their check cells, in one page load: the passing rules are saved.
    open_notebook(page, site_url, AUTOGRAD)
    rules = type_solution(page, "05_autograd.py", "def relu_backward(grad, x)")
    checks = [cell_index(page, f"check_{rule}_backward(") for rule in ("relu", "sigmoid", "tanh")]
    for index in (cell_index(page, "from tinytorch.checks import ("), rules, *checks):
        page.evaluate(RUN_CELL, index)
    wait_for_output(page, "Saved your tanh_backward as my_tinytorch/tanh_backward.py")  # the last of the three
    outputs = page.evaluate(driver.OUTPUT_TEXT)
    assert "PASS relu_backward" in outputs and "Saved your relu_backward as my_tinytorch/relu_backward.py" in outputs
    assert {"relu_backward.py", "sigmoid_backward.py", "tanh_backward.py"} <= set(listing(page, "my_tinytorch"))

    # After a reload (a new kernel): tinytorch's Sequential/Linear/ReLU train with the learner's rule.
    page.reload()
    open_notebook(page, site_url, AUTOGRAD)
    out = page.evaluate(EXECUTE, TRAIN)
    assert "Your framework: 3 of " in out and "(relu_backward, sigmoid_backward, tanh_backward)" in out, out
    assert "Built from your code: 1 of " in out and "this run used (relu_backward)." in out, out
    assert "yours relu_backward" in out and "relu_backward calls 20 yours" in out, out

    # The saved rule edited so that it no longer passes: tinytorch's, with one line saying so.
    path = "my_tinytorch/relu_backward.py"
    saved = page.evaluate(CONTENTS_GET, [path, True])["content"]
    edited = saved.replace("np.where(x > 0, grad, 0.0)", "np.where(x >= 0, grad, 0.0)")
    assert edited != saved
    page.evaluate(CONTENTS_SAVE, [path, {"type": "file", "format": "text", "content": edited}])
    out = page.evaluate(EXECUTE, TRAIN)
    lines = [line for line in out.splitlines() if "relu_backward" in line and "fails its check" in line]
    assert len(lines) == 1 and lines[0].strip().startswith(
        "relu_backward: tinytorch's; your edited my_tinytorch/relu_backward.py fails its check"), out
    assert "Your framework: 2 of " in out and "relu_backward calls 20 not yours" in out, out
    assert page.evaluate(CONTENTS_GET, [path, True])["content"] == edited  # the learner's file is left as it is
    assert browser.foreign_requests() == [], "requests left 127.0.0.1"
    assert not errors, errors
