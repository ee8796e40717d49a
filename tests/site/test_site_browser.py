"""The built site in a real browser (headless Chromium): the landing notebook runs offline,
edits persist across reloads, and deleting the browser copy brings the original back."""

from __future__ import annotations

import pytest

import build

pytestmark = [pytest.mark.slow, pytest.mark.browser]

TIMEOUT_MS = 180_000  # a cold kernel on a loaded 2-core machine; a dead one shows nothing
LANDING = build.LANDING_NOTEBOOK

# Run-all before the notebook has a kernel session opens a "Select Kernel" dialog instead.
KERNEL_SESSION_READY = """() => {
  const app = window.jupyterapp;
  const widget = app && app.shell.currentWidget;
  const session = widget && widget.sessionContext && widget.sessionContext.session;
  return !!(session && session.kernel) && app.commands.hasCommand('notebook:run-all-cells');
}"""
OUTPUT_CONTAINS = """(text) => [...document.querySelectorAll('.jp-OutputArea-output')]
  .some(element => element.textContent.includes(text))"""
OUTPUT_TEXT = "() => [...document.querySelectorAll('.jp-OutputArea-output')].map(e => e.textContent).join('\\n')"
FIRST_CELL_SOURCE = "() => window.jupyterapp.shell.currentWidget.content.model.cells.get(0).sharedModel.getSource()"


def open_notebook(page, site_url: str, path: str) -> None:
    page.goto(f"{site_url}notebooks/index.html?path={path}", timeout=TIMEOUT_MS)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=TIMEOUT_MS)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget "
                           "&& window.jupyterapp.shell.currentWidget.context", timeout=TIMEOUT_MS)
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget.context.isReady", timeout=TIMEOUT_MS)


def run_all_cells(page) -> None:
    page.wait_for_function(KERNEL_SESSION_READY, timeout=TIMEOUT_MS)
    # not awaited: the command resolves only when every cell has run
    page.evaluate("() => { void window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def wait_for_output(page, text: str) -> None:
    try:
        page.wait_for_function(OUTPUT_CONTAINS, arg=text, timeout=TIMEOUT_MS)
    except Exception:
        raise AssertionError(f"no output containing {text!r}; outputs were:\n{page.evaluate(OUTPUT_TEXT)}") from None


def test_landing_notebook_trains_and_checks_without_leaving_the_machine(site_url, browser):
    page = browser.context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)[:300]))
    open_notebook(page, site_url, LANDING)
    run_all_cells(page)
    wait_for_output(page, "PASS relu")
    outputs = page.evaluate(OUTPUT_TEXT)
    assert "accuracy" in outputs and "Error" not in outputs, outputs
    assert browser.foreign_requests() == [], "requests left 127.0.0.1"
    assert any("/static/pyodide/pyodide.asm.wasm" in url for url in browser.requests)


def test_front_door_opens_the_landing_notebook_in_jupyterlab(site_url, browser):
    page = browser.context.new_page()
    page.goto(site_url, timeout=TIMEOUT_MS)
    page.wait_for_url(f"**/lab/index.html?path={LANDING}", timeout=TIMEOUT_MS)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=TIMEOUT_MS)
    # the file browser reads like a table of contents
    page.wait_for_selector(".jp-DirListing-item", timeout=TIMEOUT_MS)
    listed = page.eval_on_selector_all(".jp-DirListing-itemName", "items => items.map(i => i.textContent)")
    assert {LANDING, "modules"} <= set(listed), listed
    assert browser.foreign_requests() == []


def test_edits_persist_across_reloads_and_deleting_the_copy_restores_the_original(site_url, browser):
    page = browser.context.new_page()
    open_notebook(page, site_url, LANDING)
    original = page.evaluate(FIRST_CELL_SOURCE)
    edited = "# My notes\n\nedited in the browser"
    page.evaluate(f"() => window.jupyterapp.shell.currentWidget.content.model.cells.get(0).sharedModel.setSource({edited!r})")
    page.evaluate("() => window.jupyterapp.shell.currentWidget.context.save()")

    page.reload()
    open_notebook(page, site_url, LANDING)
    assert page.evaluate(FIRST_CELL_SOURCE) == edited, "the edit did not survive a reload"

    # What a learner does with right-click > Delete in the file browser: remove the browser's
    # copy, after which the site's original is listed and opened again.
    page.evaluate(f"() => window.jupyterapp.serviceManager.contents.delete({LANDING!r})")
    page.reload()
    open_notebook(page, site_url, LANDING)
    assert page.evaluate(FIRST_CELL_SOURCE) == original
    assert browser.foreign_requests() == []
