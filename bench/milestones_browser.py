"""Run every milestone notebook in headless Chromium, in the built course site, and print a table.

For each milestone: a fresh browser profile, open `milestones/<name>.ipynb`, wait until its
Pyodide kernel is idle, run all cells and wait for the `RESULT ...` line. Reported per
milestone: wall time from "run all" (kernel already started) to the RESULT line, the reached
metric, whether the target was met, and the milestone's browser budget. Every request that
leaves 127.0.0.1 is recorded and reported (there must be none).

    python bench/milestones_browser.py                   build the site first (minutes), then run
    python bench/milestones_browser.py --site _site      use an already built site
    python bench/milestones_browser.py --only 03 05      some milestones only
    python bench/milestones_browser.py --mine HOME       the learner's framework: HOME's saved
                                                         components uploaded into my_tinytorch/ first
    python bench/milestones_browser.py --mine solutions  ... the solution edition's, saved by
                                                         tests/solutions.py into a temporary HOME

Needs the `site` and `browser` extras and Debian's Chromium at /usr/bin/chromium. The same
functions drive tests/site/test_milestone_browser.py.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import build  # noqa: E402  (the repo's build.py)
from bench import browser as driver  # noqa: E402
from tinytorch.course.storage import BROWSER_FOLDER  # noqa: E402  (my_tinytorch)
# Browser budgets (seconds after kernel start) from the milestones' specification.
BUDGETS = {"01": 5, "02": 5, "03": 20, "04": 60, "05": 90, "06": 90}
RESULT = re.compile(r"^RESULT: (?P<metric>.+) \(target (?P<target>[^)]+)\): target (?P<verdict>met|MISSED)"
                    r"(?:; (?P<yours>\d+) of (?P<used>\d+) components yours)?$", re.M)
# Write one file into the browser's storage (JupyterLite's contents API), creating its folder.
CONTENTS_SAVE = """async ([path, model]) => {
  const contents = window.jupyterapp.serviceManager.contents;
  const folder = path.split('/').slice(0, -1).join('/');
  if (folder) {
    try { await contents.get(folder, {content: false}); }
    catch (error) { await contents.save(folder, {type: 'directory'}); }
  }
  await contents.save(path, model);
}"""

# Printed text and errors of every code cell, read from the notebook model (not the DOM), and
# whether the imports cell (the first code cell) has finished.
OUTPUTS = """() => {
  const model = window.jupyterapp.shell.currentWidget.content.model;
  const result = {text: '', errors: [], imported: null};
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    if (cell.type !== 'code') continue;
    if (result.imported === null)
      result.imported = cell.executionCount !== null;
    for (const output of cell.outputs.toJSON()) {
      if (output.output_type === 'error') result.errors.push(`cell ${i}: ${output.ename}: ${output.evalue}`);
      else if (output.output_type === 'stream') result.text += [].concat(output.text).join('');
    }
  }
  return result;
}"""


def milestone_paths(site: Path) -> list[str]:
    """Notebook paths of the milestones inside the site, e.g. 'milestones/03_1986_backprop.ipynb'."""
    found = sorted((site / "files" / "milestones").glob("[0-9][0-9]_*.ipynb"))
    return [f"milestones/{path.name}" for path in found]


def upload_home(page, home: Path) -> int:
    """Copy the files of a TINYTORCH_HOME (saved components, progress.json) into the browser's
    `my_tinytorch/`, where tinytorch.mine finds a learner's framework; returns how many."""
    files = sorted(p for p in home.iterdir() if p.is_file())
    for path in files:
        model = {"type": "file", "format": "text", "content": path.read_text(encoding="utf-8")}
        page.evaluate(CONTENTS_SAVE, [f"{BROWSER_FOLDER}/{path.name}", model])
    return len(files)


def run_milestone(context, site_url: str, path: str, timeout: float = 600.0, home: Path | None = None) -> dict:
    """Open `path` in a new page of `context`, run all cells, wait for RESULT (or an error).
    With `home`, its saved components are uploaded into my_tinytorch/ before the notebook runs.

    Returns {name, seconds, import_seconds, result, metric, verdict, errors, timed_out, output};
    `seconds` counts from "run all" (after the kernel reported idle) to the RESULT line, and
    `import_seconds` to the end of the imports cell (the first code cell: numpy and tinytorch,
    preloaded by the kernel; matplotlib loads later, in the first cell that plots).
    """
    name = Path(path).stem
    page = context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)[:300]))
    timeout_ms = timeout * 1000
    driver.open_notebook(page, site_url, path, timeout_ms)
    page.wait_for_function(driver.KERNEL_READY, arg=True, timeout=timeout_ms)
    if home is not None:
        upload_home(page, home)
    start = time.monotonic()
    driver.run_all_cells(page)
    outcome = {"name": name, "seconds": None, "import_seconds": None, "result": None, "metric": None,
               "verdict": None, "errors": [], "timed_out": False}
    while True:
        outputs = page.evaluate(OUTPUTS)
        if outputs["imported"] and outcome["import_seconds"] is None:
            outcome["import_seconds"] = time.monotonic() - start
        match = RESULT.search(outputs["text"])
        if match:
            outcome.update(seconds=time.monotonic() - start, result=match.group(0),
                           metric=match["metric"], verdict=match["verdict"],
                           yours=match["yours"] and f"{match['yours']} of {match['used']}")
            break
        if outputs["errors"]:
            outcome.update(seconds=time.monotonic() - start, errors=outputs["errors"])
            break
        if time.monotonic() - start > timeout:
            outcome.update(timed_out=True, errors=[f"no RESULT line within {timeout:.0f} s"] + page_errors,
                           seconds=time.monotonic() - start)
            break
        time.sleep(0.25)
    outcome["output"] = outputs["text"]
    page.close()
    return outcome


def format_table(outcomes: list[dict]) -> str:
    header = (f"{'milestone':24} {'seconds':>8} {'imports':>8} {'budget':>7}  {'within':6}  {'target':7}  "
              f"{'yours':>8}  reached")
    lines = [header, "-" * len(header)]
    for o in outcomes:
        budget = BUDGETS.get(o["name"][:2])
        seconds = "-" if o["seconds"] is None else f"{o['seconds']:.1f}"
        imports = "-" if o.get("import_seconds") is None else f"{o['import_seconds']:.1f}"
        within = "-" if budget is None or o["seconds"] is None else ("yes" if o["seconds"] <= budget else "NO")
        verdict = o["verdict"] or ("TIMEOUT" if o["timed_out"] else "ERROR")
        reached = o["metric"] or "; ".join(o["errors"])[:200]
        lines.append(f"{o['name']:24} {seconds:>8} {imports:>8} {budget if budget else '-':>7}  {within:6}  "
                     f"{verdict:7}  {o.get('yours') or '-':>8}  {reached}")
    lines.append("seconds: from 'run all' (kernel started) to the RESULT line; imports: to the end of the "
                 "cell importing numpy, matplotlib and tinytorch")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, help="an already built site (default: build one into a temporary folder)")
    parser.add_argument("--only", nargs="+", default=[], help="milestone numbers to run, e.g. 03 05")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for each RESULT line")
    parser.add_argument("--show-output", action="store_true", help="print each notebook's printed text")
    parser.add_argument("--mine", metavar="HOME",
                        help="run on a learner's framework: the saved components of this TINYTORCH_HOME "
                             "('solutions': the solution edition's, saved by tests/solutions.py)")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="tinytorch-milestones-") as tmp:
        home = None if args.mine is None else Path(args.mine)
        if args.mine == "solutions":
            sys.path.insert(0, str(REPO / "tests"))
            from solutions import save_solution_components

            home = Path(tmp) / "home"
            home.mkdir()
            outcomes = save_solution_components(home)
            print(f"solution edition: {sum(outcomes.values())} of {len(outcomes)} checks pass; "
                  f"{len(list(home.glob('*.py')))} components saved", flush=True)
        site = args.site.resolve() if args.site else build.build_site(Path(tmp) / "_site", "student")
        paths = [p for p in milestone_paths(site) if not args.only or Path(p).name[:2] in args.only]
        if not paths:
            print(f"no milestone notebooks in {site / 'files' / 'milestones'}", file=sys.stderr)
            return 1
        server, url = build.start_server(site)
        outcomes, requests = [], []
        try:
            with sync_playwright() as playwright:
                for path in paths:
                    with tempfile.TemporaryDirectory(prefix="profile-") as profile:
                        context = driver.launch(playwright, profile)
                        context.on("request", lambda request: requests.append(request.url))
                        try:
                            outcome = run_milestone(context, url, path, args.timeout, home)
                        finally:
                            context.close()
                    outcomes.append(outcome)
                    print(f"{outcome['name']}: {outcome['result'] or outcome['errors']} "
                          f"({outcome['seconds']:.1f} s)", flush=True)
                    if args.show_output:
                        print(outcome["output"])
        finally:
            server.shutdown()
            server.server_close()
    print()
    print(format_table(outcomes))
    outside = driver.foreign(requests)
    print(f"\nrequests outside 127.0.0.1: {len(outside)}" + "".join(f"\n  {u}" for u in outside[:20]))
    ok = all(o["verdict"] == "met" for o in outcomes) and not outside
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
