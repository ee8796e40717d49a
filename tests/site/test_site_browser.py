"""The built site in a real browser (headless Chromium): the landing notebook runs offline,
edits persist across reloads, and deleting the browser copy brings the original back."""

from __future__ import annotations

import pytest

import build
from bench import browser as driver

pytestmark = [pytest.mark.slow, pytest.mark.browser]

TIMEOUT_MS = 180_000  # a cold kernel on a loaded 2-core machine; a dead one shows nothing
LANDING = build.LANDING_NOTEBOOK

FIRST_CELL_SOURCE = "() => window.jupyterapp.shell.currentWidget.content.model.cells.get(0).sharedModel.getSource()"


def open_notebook(page, site_url: str, path: str) -> None:
    driver.open_notebook(page, site_url, path, TIMEOUT_MS)


def test_landing_notebook_trains_and_checks_without_leaving_the_machine(site_url, browser):
    page = browser.context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)[:300]))
    open_notebook(page, site_url, LANDING)
    page.wait_for_function(driver.KERNEL_READY, arg=False, timeout=TIMEOUT_MS)
    driver.run_all_cells(page)
    driver.wait_for_output(page, "PASS relu", TIMEOUT_MS)
    outputs = page.evaluate(driver.OUTPUT_TEXT)
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
