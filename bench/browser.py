"""Driving the built course site in headless Chromium (Playwright): shared by the bench
scripts (cold_start.py, milestones_browser.py) and the browser tests (tests/site/).

Chromium is Debian's (`apt-get install chromium`); `playwright install` cannot download
browsers on the project's machines.
"""

from __future__ import annotations

from urllib.parse import urlparse

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1"}

# The open notebook has a kernel session (run-all before that opens a "Select Kernel" dialog)
# and, with the argument `idle` true, its kernel has also started and is idle.
KERNEL_READY = """(idle) => {
  const app = window.jupyterapp;
  const widget = app && app.shell.currentWidget;
  const session = widget && widget.sessionContext && widget.sessionContext.session;
  return !!(session && session.kernel && (!idle || session.kernel.status === 'idle'))
    && app.commands.hasCommand('notebook:run-all-cells');
}"""
NOTEBOOK_READY = """() => window.jupyterapp && window.jupyterapp.shell.currentWidget
  && window.jupyterapp.shell.currentWidget.context && window.jupyterapp.shell.currentWidget.context.isReady"""
OUTPUT_CONTAINS = """(text) => [...document.querySelectorAll('.jp-OutputArea-output')]
  .some(element => element.textContent.includes(text))"""
OUTPUT_TEXT = "() => [...document.querySelectorAll('.jp-OutputArea-output')].map(e => e.textContent).join('\\n')"


def launch(playwright, profile_dir: str):
    """A Chromium context with its own (empty) profile folder."""
    return playwright.chromium.launch_persistent_context(
        str(profile_dir), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def foreign(urls: list[str]) -> list[str]:
    """The URLs that went anywhere but the local server."""
    return [url for url in urls
            if urlparse(url).scheme in ("http", "https", "ws", "wss") and urlparse(url).hostname not in LOCAL_HOSTS]


def open_notebook(page, site_url: str, path: str, timeout_ms: float) -> None:
    """Open `path` (e.g. 'modules/03_layers.ipynb') in the site's notebook app; returns once
    its cells are shown and its document is loaded (the kernel may still be starting)."""
    page.goto(f"{site_url}notebooks/index.html?path={path}", timeout=timeout_ms)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout_ms)
    page.wait_for_function(NOTEBOOK_READY, timeout=timeout_ms)


def run_all_cells(page) -> None:
    """Start running every cell (not awaited: the command resolves only when all have run)."""
    page.evaluate("() => { void window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def wait_for_output(page, text: str, timeout_ms: float) -> None:
    """Wait until some cell output contains `text`; on timeout, fail with every output."""
    try:
        page.wait_for_function(OUTPUT_CONTAINS, arg=text, timeout=timeout_ms)
    except Exception:
        raise AssertionError(f"no output containing {text!r}; outputs were:\n{page.evaluate(OUTPUT_TEXT)}") from None
