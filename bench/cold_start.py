#!/usr/bin/env python3
"""Print the course site's cold start and download size.

    python bench/cold_start.py              measure the built _site/ (builds it if missing)
    python bench/cold_start.py --runs 5     more runs (each with a fresh browser profile)
    python bench/cold_start.py --trace      also print the kernel's start-up log with times

Cold start = from opening the landing notebook in a browser with an empty profile (nothing
cached) to the first output of its setup cell, which imports tinytorch. Goal: <= 4 s.
Size = the offline archive the build writes (download/tinytorch-course.zip). Goal: <= 30 MB.
Needs Chromium at /usr/bin/chromium and the Python playwright package.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import browser as driver  # noqa: E402
from tinytorch_site.archive import ARCHIVE_PATH  # noqa: E402
from tinytorch_site.common import DEFAULT_OUT  # noqa: E402
from tinytorch_site.notebooks import LANDING_NOTEBOOK  # noqa: E402
from tinytorch_site.pipeline import build_site  # noqa: E402
from tinytorch_site.serve import start_server  # noqa: E402

NOTEBOOK = LANDING_NOTEBOOK
TIMEOUT_MS = 120_000
# Marks the first time the notebook's kernel reports idle (it has started), in epoch ms.
MARK_KERNEL_IDLE = """() => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const mark = (status) => { if (status === 'idle' && !window.ttKernelIdle) window.ttKernelIdle = Date.now(); };
  mark(kernel.status);
  kernel.statusChanged.connect((_, status) => mark(status));
}"""
# The phases of a cold start, as (name, from milestone, to milestone).
PHASES = [
    ("UI until the kernel's worker asks for Pyodide", "open", "pyodide"),
    ("Pyodide boot (runtime fetched, compiled, started)", "pyodide", "packages"),
    ("preloads and kernel start", "packages", "kernel_idle"),
    ("first cell (run-all -> first output)", "kernel_idle", "first_output"),
]


def short(url: str) -> str:
    return url.split("?")[0].rsplit("/", 2)[-1][:70]


def traced(request) -> bool:
    """Requests worth a line in --trace: Pyodide's files, wheels and the kernel's API."""
    return any(part in request.url for part in ("/static/pyodide/", "/pypi/", "/api/kernel", ".whl"))


def measure_once(playwright, url: str, trace: bool) -> dict:
    """One cold start in a fresh profile; returns seconds from page open to each milestone:
    ui (notebook shown, kernel session made), pyodide (the kernel's worker requests
    pyodide.js), packages (first wheel requested: Pyodide has booted), kernel_idle,
    first_output, check_passed."""
    with tempfile.TemporaryDirectory(prefix="tt-profile-") as profile:
        context = driver.launch(playwright, profile)
        try:
            page = context.new_page()
            marks = {}
            start, start_epoch = time.perf_counter(), time.time()
            since = lambda: round(time.perf_counter() - start, 2)  # noqa: E731

            def on_request(request):
                if request.url.split("?")[0].endswith("/static/pyodide/pyodide.js"):
                    marks.setdefault("pyodide", since())
                if request.url.split("?")[0].endswith(".whl"):
                    marks.setdefault("packages", since())
                if trace and traced(request):
                    print(f"  {since():6.2f}s GET  {short(request.url)}")

            context.on("request", on_request)
            if trace:
                page.on("console", lambda msg: print(f"  {since():6.2f}s console: {msg.text[:120]}"))
                context.on("requestfinished", lambda r: traced(r) and print(f"  {since():6.2f}s done {short(r.url)}"))
            page.goto(f"{url}notebooks/index.html?path={NOTEBOOK}", timeout=TIMEOUT_MS)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=TIMEOUT_MS)
            page.wait_for_function(driver.KERNEL_READY, arg=False, timeout=TIMEOUT_MS)
            marks["ui"] = since()
            page.evaluate(MARK_KERNEL_IDLE)
            driver.run_all_cells(page)
            page.wait_for_selector(".jp-OutputArea-output", timeout=TIMEOUT_MS)
            marks["first_output"] = since()
            page.wait_for_function(driver.OUTPUT_CONTAINS, arg="PASS", timeout=TIMEOUT_MS)
            marks["check_passed"] = since()
            marks["kernel_idle"] = round(page.evaluate("() => window.ttKernelIdle") / 1000 - start_epoch, 2)
            return marks
        finally:
            context.close()


def breakdown(runs: list[dict]) -> list[str]:
    """One line per phase: its median duration over the runs."""
    lines = []
    for name, begin, end in PHASES:
        durations = [run[end] - run.get(begin, 0.0) for run in runs if begin == "open" or begin in run]
        lines.append(f"  {name:52s} {statistics.median(durations):4.1f} s")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    if not (args.site / "index.html").exists():
        build_site(args.site)
    archive = args.site / ARCHIVE_PATH
    server, url = start_server(args.site.resolve())
    try:
        with sync_playwright() as playwright:
            runs = [measure_once(playwright, url, args.trace) for _ in range(args.runs)]
    finally:
        server.shutdown()
    for number, run in enumerate(runs, start=1):
        print(f"run {number}: UI ready {run['ui']:.1f} s, Pyodide requested {run.get('pyodide', 0):.1f} s, "
              f"packages requested {run.get('packages', 0):.1f} s, kernel idle {run['kernel_idle']:.1f} s, "
              f"first output {run['first_output']:.1f} s, check passed {run['check_passed']:.1f} s")
    print(f"cold start (page open -> first output of `import tinytorch` cell), median of {len(runs)}: "
          f"{statistics.median(r['first_output'] for r in runs):.1f} s  (goal <= 4 s)")
    print("breakdown (medians):")
    print("\n".join(breakdown(runs)))
    print(f"zipped site ({archive.relative_to(args.site)}): {archive.stat().st_size / 1e6:.1f} MB  (goal <= 30 MB)")
    print(f"site on disk: {sum(p.stat().st_size for p in args.site.rglob('*') if p.is_file() and p != archive) / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
