"""Build steps that run inside the bundled Pyodide, under Node, with the scripts in programs/:
matplotlib's font list and the start-up bytecode; and the sitecustomize.py the site ships."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from .common import PROGRAMS_DIR, BuildError, log
from .lite import startup_packages
from .pyodide_bundle import read_lock, update_lock_checksums
from .wheel import rewrite_wheel

RUNNER = PROGRAMS_DIR / "pyodide_run.mjs"
SITECUSTOMIZE = PROGRAMS_DIR / "sitecustomize.py"
# Python compiled to bytecode at build time (programs/compile_bytecode.py): the modules these
# imports load (the kernel's worker imports piplite.piplite, then pyodide_kernel; a course
# notebook imports numpy and tinytorch first, matplotlib.pyplot where it plots). tinytorch
# keeps its sources next to the bytecode, so learners' tracebacks show its code.
STARTUP_IMPORTS = ("piplite.piplite", "pyodide_kernel", "numpy", "matplotlib.pyplot", "tinytorch")
KEEP_SOURCES = ("tinytorch",)
# Pyodide's matplotlib reads its font list from next to font_manager.py (a Pyodide patch), and
# ships one made by another matplotlib version (its _version 390; 3.8.4 wants 330): every new
# kernel discards it and scans every font file on its first `import matplotlib.pyplot`. The
# build remakes the list with the bundled matplotlib (and the fonts it keeps) and ships that.
FONT_LIST = "matplotlib/fontlist.json"


def run_in_pyodide(pyodide_dir: Path, script: str, args: list[str], host_dir: Path, what: str) -> str | None:
    """Run programs/`script` in the bundled Pyodide under Node (RUNNER), with the kernel's
    start-up packages and those of STARTUP_IMPORTS loaded and `host_dir` at /work; returns its
    output. None, with a warning, when Node is not installed: the build steps that need it are
    optimizations."""
    node = shutil.which("node")
    if node is None:
        log(f"warning: node not found, skipping {what} (the site will start slower)")
        return None
    log(what)
    packages = dict.fromkeys([*startup_packages(), *(name.split(".")[0] for name in STARTUP_IMPORTS)])
    command = [node, str(RUNNER), str(pyodide_dir.resolve()), "--packages", ",".join(packages),
               "--mount", f"{host_dir}:/work", "--mount", f"{PROGRAMS_DIR}:/programs",
               f"/programs/{script}", *args]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"{what} failed:\n{result.stdout[-2000:]}\n{_js_error(result.stderr)}")
    return result.stdout


def _js_error(stderr: str) -> str:
    """Node's error output without the minified runtime source lines (they can be 1 MB)."""
    return "\n".join(line[:300] for line in stderr.splitlines()[-40:])


def add_sitecustomize(pyodide_dir: Path) -> None:
    """Put programs/sitecustomize.py into Pyodide's standard library (run by Python at start-up)."""
    with zipfile.ZipFile(pyodide_dir / "python_stdlib.zip", "a", zipfile.ZIP_DEFLATED) as stdlib:
        if "sitecustomize.py" in stdlib.namelist():
            raise BuildError(f"this Pyodide already has a sitecustomize.py; merge {SITECUSTOMIZE} by hand")
        stdlib.writestr("sitecustomize.py", SITECUSTOMIZE.read_text(encoding="utf-8"))


def prebuild_font_cache(pyodide_dir: Path) -> None:
    """Build matplotlib's font list inside the bundled Pyodide and put it in matplotlib's wheel
    (FONT_LIST), so that kernels read it instead of scanning the fonts."""
    with tempfile.TemporaryDirectory() as tmp:
        if run_in_pyodide(pyodide_dir, "font_list.py", ["/work/fontlist.json"], Path(tmp),
                          "building matplotlib's font list") is None:
            return
        data = (Path(tmp) / "fontlist.json").read_bytes()
    spec = read_lock(pyodide_dir)["packages"]["matplotlib"]
    rewrite_wheel(pyodide_dir / spec["file_name"], add={FONT_LIST: data})
    update_lock_checksums(pyodide_dir)


def compile_bytecode(pyodide_dir: Path) -> None:
    """Replace Python sources in the stdlib zip and every wheel by bytecode compiled with the
    bundled Pyodide (programs/compile_bytecode.py), then update the lock's checksums."""
    with tempfile.TemporaryDirectory() as tmp:
        # Pyodide reads its own stdlib zip while booting: compile copies, swap them in after
        copies = Path(tmp)
        archives = [pyodide_dir / "python_stdlib.zip", *sorted(pyodide_dir.glob("*.whl"))]
        for archive in archives:
            shutil.copy2(archive, copies / archive.name)
        args = ["/work", "--imports", ",".join(STARTUP_IMPORTS), "--keep-sources", ",".join(KEEP_SOURCES)]
        if run_in_pyodide(pyodide_dir, "compile_bytecode.py", args, copies,
                          "compiling Python bytecode inside Pyodide") is None:
            return
        for archive in archives:
            shutil.copy2(copies / archive.name, archive)
    update_lock_checksums(pyodide_dir)
