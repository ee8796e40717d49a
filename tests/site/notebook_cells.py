"""Run a notebook's code cells in order, as a kernel would, and record what happened.

Run inside Pyodide by tests/site/test_notebooks_pyodide.py (through the project's Node runner):
    notebook_cells.py FOLDER
FOLDER holds the cells as cell_NNN.py (NNN: the cell's index in the notebook), which keeps
their file names and line numbers in tracebacks. Writes FOLDER/result.json:
{"cells": [[index, seconds], ...], "failure": null | {"cell", "error", "message", "traceback"}}
and exits 1 when a cell raised. Later cells are not run after a failure: they build on it.
"""

import json
import os
import sys
import time
import traceback
from pathlib import Path


def run_cells(folder: Path) -> dict:
    namespace = {"__name__": "__main__"}  # one namespace for all cells, as in a kernel
    result = {"cells": [], "failure": None}
    for path in sorted(folder.glob("cell_*.py")):
        index = int(path.stem.split("_")[1])
        code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
        start = time.perf_counter()
        try:
            exec(code, namespace)
        except BaseException as error:  # noqa: BLE001 - SystemExit from a cell is a failure too
            result["failure"] = {
                "cell": index, "error": type(error).__name__, "message": str(error),
                # the cell's own frames, not this driver's
                "traceback": "".join(traceback.format_exception(error)[-12:]),
            }
            break
        finally:
            result["cells"].append([index, time.perf_counter() - start])
    return result


def main(folder: Path) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")  # plots render off-screen
    # tinytorch.mine keeps the learner's saved work here, not in the home folder
    os.environ["TINYTORCH_HOME"] = str(Path.cwd() / ".tinytorch")
    result = run_cells(folder)
    (folder / "result.json").write_text(json.dumps(result), encoding="utf-8")
    return 1 if result["failure"] else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
