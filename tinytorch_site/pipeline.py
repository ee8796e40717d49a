"""The whole build: wheel -> notebooks -> Pyodide bundle -> JupyterLite -> archive."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from .archive import ARCHIVE_PATH, swap_into_place, write_archive
from .common import log, pip_download
from .downloads import write_download_page
from .in_pyodide import add_sitecustomize, compile_bytecode, prebuild_font_cache
from .lite import drop_legacy_fonts, kernel_wheels, run_jupyter_lite_build, write_entry_page
from .notebooks import write_notebooks
from .pyodide_bundle import (COMM_REQUIREMENT, COMM_SHA256, COMM_WHEEL, extract_pyodide, prune_pyodide,
                             register_wheels, slim_wheels, verify_pyodide)
from .wheel import build_wheel


def build_site(out: Path, edition: str = "student", pyodide_source: Path | None = None) -> Path:
    """Build the site into a temporary folder next to `out`, then swap it in: a failed build
    never replaces a good site."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}-", dir=out.parent) as tmp:
        work = Path(tmp)
        files_dir, site = work / "files", work / "site"
        # cheap checks first: content errors and a wrong Pyodide fail within seconds
        write_notebooks(files_dir, edition)
        pyodide_dir = extract_pyodide(pyodide_source, work / "pyodide")
        verify_pyodide(pyodide_dir)
        comm = pip_download(COMM_REQUIREMENT, COMM_WHEEL, COMM_SHA256)
        wheel = build_wheel(work / "dist")
        prune_pyodide(pyodide_dir)
        slim_wheels(pyodide_dir)
        run_jupyter_lite_build(files_dir, site, comm, work)
        drop_legacy_fonts(site)
        register_wheels(pyodide_dir, [wheel, comm, *kernel_wheels(site)])
        add_sitecustomize(pyodide_dir)
        prebuild_font_cache(pyodide_dir)
        compile_bytecode(pyodide_dir)
        shutil.copytree(pyodide_dir, site / "static" / "pyodide")
        write_entry_page(site)
        write_download_page(site, ARCHIVE_PATH.name)  # download/: the wheel, the offline zip, your work
        write_archive(site)
        swap_into_place(site, out)
    log(f"site ready: {out}")
    return out
