"""Execute course notebooks natively with nbclient and summarise what each cell raised."""

import os
import time
from pathlib import Path

import pytest

nbclient = pytest.importorskip("nbclient")
build = pytest.importorskip("build")  # the repo's build.py (pythonpath = ".")


def is_check_cell(cell):
    return cell.cell_type == "code" and "check" in cell.metadata.get("tags", [])


def execute(source_path, edition, workdir, timeout=600):
    """Run every cell (continuing after errors); return (notebook, seconds)."""
    notebook = build.make_notebook(source_path, edition=edition)
    os.environ.setdefault("MPLBACKEND", "Agg")  # plots render off-screen, never block
    # The course's matrices are small: one BLAS thread is fastest, and multi-threaded
    # OpenBLAS on a busy machine was seen to run 10-100x slower.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # the kernel imports this checkout's tinytorch even when it is not pip-installed
    repo = str(Path(__file__).resolve().parents[1])
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if repo not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([repo] + [p for p in paths if p])
    client = nbclient.NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(workdir)}},
    )
    # the learner's saved implementations and check outcomes (tinytorch.mine) stay in workdir
    previous_home = os.environ.get("TINYTORCH_HOME")
    os.environ["TINYTORCH_HOME"] = str(Path(workdir) / ".tinytorch")
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        if previous_home is None:
            os.environ.pop("TINYTORCH_HOME", None)
        else:
            os.environ["TINYTORCH_HOME"] = previous_home
    return notebook, time.perf_counter() - start


def errors(notebook):
    """[(cell index, is check cell, exception name, message)] for every cell that raised."""
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append((index, is_check_cell(cell), output.ename, output.evalue))
    return found


def text_output(notebook):
    """All printed text of the notebook, in order."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                parts.append(output.text)
            elif output.output_type == "execute_result":
                parts.append(output.get("data", {}).get("text/plain", ""))
    return "".join(parts)
