"""Your work as one zip file, in both directions: browser -> local and local -> browser.

A work archive holds the course notebooks at their course paths (`modules/01_tensor.ipynb`,
...), your saved framework under `my_tinytorch/` (the files of `tinytorch.mine.home()`:
`<Name>.py` and `progress.json`) and `tinytorch-work.json` (when each file was last changed,
so that restoring never replaces a newer file by an older one without asking).

    download_work()              # in the browser: a link that downloads tinytorch-work.zip
    import_work("tinytorch-work.zip")   # restore an archive (browser: upload it to the file browser first)
    tinytorch export / tinytorch import ARCHIVE                            # the same, locally
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import io
import json
import os
import sys
import zipfile
from pathlib import Path

from .. import __version__, mine
from ..platform import COURSE_FOLDER, WORK_ARCHIVE, is_browser

MANIFEST = "tinytorch-work.json"
FRAMEWORK = "my_tinytorch"  # the archive's folder for the files of mine.home()
STATE_FILE = "progress.json"
# An archive's link, shown in a notebook's output: left out of the next archive (else each
# archive would carry the previous one inside progress.ipynb).
LINK_MARK = "data:application/zip;base64,"
# The kernel a notebook names: Jupyter's standard one locally, the Pyodide kernel in the site.
KERNELS = {False: {"name": "python3", "display_name": "Python 3", "language": "python"},
           True: {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}}


class ArchiveError(ValueError):
    """The file is not a tinytorch work archive (the message says why)."""


# --------------------------------------------------------------------------------------------
# Collecting and writing
# --------------------------------------------------------------------------------------------

def notebooks_folder() -> Path:
    """Where the course notebooks are: the file browser's root in the browser; locally the
    folder `tinytorch course` writes (tinytorch-notebooks in the current folder)."""
    return mine.home().parent if is_browser() else Path(COURSE_FOLDER)  # the site keeps home() at the root


def _notebook_files(folder: Path) -> dict[str, Path]:
    """Every notebook under `folder` (course path -> file), checkpoints and the framework excluded."""
    found = {}
    if folder.is_dir():
        for path in sorted(folder.rglob("*.ipynb")):
            parts = path.relative_to(folder).parts
            if not any(part.startswith(".") or part == FRAMEWORK for part in parts):
                found["/".join(parts)] = path
    return found


def _framework_files(home: Path) -> dict[str, Path]:
    """Your saved implementations and progress.json (archive path -> file)."""
    found = {}
    if home.is_dir():
        for path in sorted([*home.glob("*.py"), home / STATE_FILE]):
            if path.is_file():
                found[f"{FRAMEWORK}/{path.name}"] = path
    return found


def _without_download_links(data: bytes) -> bytes:
    """A notebook's bytes, minus the outputs that embed a work archive (see LINK_MARK)."""
    if LINK_MARK.encode() not in data:
        return data
    notebook = json.loads(data)
    for cell in notebook.get("cells", []):
        if "outputs" in cell:
            cell["outputs"] = [o for o in cell["outputs"] if LINK_MARK not in json.dumps(o.get("data", {}))]
    return (json.dumps(notebook, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def make_work_archive(notebooks: Path | None = None, home: Path | None = None) -> bytes:
    """The zip of your work: the notebooks under `notebooks` (default notebooks_folder()), the
    files of `home` (default tinytorch.mine.home()) and the manifest of their change times."""
    notebooks = Path(notebooks) if notebooks is not None else notebooks_folder()
    home = Path(home) if home is not None else mine.home()
    files = {**_notebook_files(notebooks), **_framework_files(home)}
    changed = {}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, path in files.items():
            data = path.read_bytes()
            if name.endswith(".ipynb"):
                data = _without_download_links(data)
            changed[name] = path.stat().st_mtime
            stamp = datetime.datetime.fromtimestamp(max(changed[name], 315532800)).timetuple()[:6]
            zf.writestr(zipfile.ZipInfo(name, stamp), data, zipfile.ZIP_DEFLATED)
        manifest = {"format": "tinytorch-work", "version": 1, "tinytorch": __version__,
                    "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                    "changed": changed}
        zf.writestr(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return buffer.getvalue()


def export_work(archive: Path | str = WORK_ARCHIVE, notebooks: Path | None = None, home: Path | None = None) -> Path:
    """Write make_work_archive() to `archive`; print what it holds and how to take it on."""
    data = make_work_archive(notebooks, home)
    archive = Path(archive)
    archive.write_bytes(data)
    contents = read_work_archive(archive)
    print(f"Wrote {archive} ({len(data) / 1024:.0f} kB): {_summary(contents)}.\n"
          f"In the course site: upload it to the file browser, then run "
          f"`import tinytorch.cli; tinytorch.cli.import_work({archive.name!r})`.")
    return archive


def download_work(name: str = WORK_ARCHIVE):
    """In a notebook: offer your work archive as a download link (a data: URL, so it works in
    the browser site with no server); returns the link (IPython HTML). Outside a notebook,
    writes the archive to `name` instead."""
    if not _in_notebook():
        return export_work(name)
    from IPython.display import HTML

    data = make_work_archive()
    summary = _summary(_entries(zipfile.ZipFile(io.BytesIO(data))))
    link = (f'<a download="{name}" href="{LINK_MARK}{base64.b64encode(data).decode()}">'
            f'Download {name}</a> ({len(data) / 1024:.0f} kB: {summary})')
    return HTML(link)


def for_this_runtime(data: bytes, browser: bool | None = None) -> bytes:
    """A notebook naming the kernel of the runtime it goes to (see KERNELS)."""
    kernel = KERNELS[is_browser() if browser is None else browser]
    notebook = json.loads(data)
    if notebook.get("metadata", {}).get("kernelspec", {}).get("name") == kernel["name"]:
        return data
    notebook.setdefault("metadata", {})["kernelspec"] = dict(kernel)
    return (json.dumps(notebook, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def _in_notebook() -> bool:
    ipython = sys.modules.get("IPython")
    return bool(ipython and ipython.get_ipython() is not None)


# --------------------------------------------------------------------------------------------
# Reading and restoring
# --------------------------------------------------------------------------------------------

def _entries(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The archive's work files by path; rejects archives that are not work archives."""
    entries = {}
    for info in zf.infolist():
        name = info.filename
        if info.is_dir() or name == MANIFEST:
            continue
        if name.startswith("/") or ".." in Path(name).parts:
            raise ArchiveError(f"unsafe path in archive: {name!r}")
        if name.endswith(".ipynb") or (name.startswith(f"{FRAMEWORK}/") and name.count("/") == 1
                                        and (name.endswith(".py") or name.endswith(f"/{STATE_FILE}"))):
            entries[name] = info
    return entries


def read_work_archive(archive) -> dict[str, tuple[bytes, float]]:
    """path -> (bytes, change time) of every file of a work archive (a path or bytes)."""
    source = io.BytesIO(archive) if isinstance(archive, bytes) else archive
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as error:
        raise ArchiveError(f"{archive if not isinstance(archive, bytes) else 'data'} is not a zip file: {error}") from None
    with zf:
        try:
            changed = json.loads(zf.read(MANIFEST)).get("changed", {})
        except (KeyError, ValueError):
            changed = {}
        entries = _entries(zf)
        if not entries:
            raise ArchiveError(f"{archive} holds no notebooks and no {FRAMEWORK}/ files: not a tinytorch work archive")
        return {name: (zf.read(info), float(changed.get(name, datetime.datetime(*info.date_time).timestamp())))
                for name, info in entries.items()}


def _summary(contents) -> str:
    notebooks = sum(name.endswith(".ipynb") for name in contents)
    framework = sum(name.startswith(f"{FRAMEWORK}/") and name.endswith(".py") for name in contents)
    progress = f"{FRAMEWORK}/{STATE_FILE}" in contents
    return (f"{notebooks} notebook{'s' * (notebooks != 1)}, {framework} saved implementation"
            f"{'s' * (framework != 1)}" + (", progress" if progress else ""))


def _write(path: Path, data: bytes, changed: float | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if is_browser():
        # JupyterLite's drive sends a truncated file to the page at once, empty, and the page
        # cannot parse an empty notebook or .json file: the kernel stays busy (see
        # tinytorch.mine). A file the learner has is deleted, then written new; a file of the
        # site itself (a course notebook) comes back when deleted, so it is overwritten in place.
        path.unlink(missing_ok=True)
        if path.exists():
            _overwrite_in_place(path, data)
        else:
            path.write_bytes(data)
    else:
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        os.replace(partial, path)
    if changed is not None:
        with contextlib.suppress(OSError):  # a file system without settable times keeps "now"
            os.utime(path, (changed, changed))


def _overwrite_in_place(path: Path, data: bytes) -> None:
    """Replace a JSON file's content without truncating it: opened for writing only (no
    O_TRUNC), written from the start and padded with spaces (valid after JSON) to its length."""
    padded = data + b" " * max(0, len(path.read_bytes()) - len(data))
    fd = os.open(path, os.O_WRONLY)
    try:
        view = memoryview(padded)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _ask(question: str) -> bool:
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def _cells(data: bytes) -> list | None:
    """A notebook's cells as the learner wrote them (type and source): two copies that differ
    only in outputs, metadata or JSON layout (the course's own notebook written by the site and
    by `tinytorch course`) hold the same work."""
    try:
        cells = json.loads(data).get("cells", [])
        return [(cell.get("cell_type"), "".join(cell.get("source", ""))) for cell in cells]
    except (ValueError, AttributeError, TypeError):
        return None


def _merge_state(local: bytes | None, incoming: bytes, kept_local: set[str]) -> bytes:
    """progress.json merged: the newer outcome of each check; for each saved implementation the
    entry of the file that is kept (yours from the archive, or the local one you kept)."""
    def load(data):
        try:
            state = json.loads(data) if data else {}
        except ValueError:
            state = {}
        return state if isinstance(state, dict) else {}

    ours, theirs = load(local), load(incoming)
    merged = {**ours, **theirs}
    checks = dict(ours.get("checks", {}))
    for name, entry in theirs.get("checks", {}).items():
        if str(entry.get("time", "")) >= str(checks.get(name, {}).get("time", "")):
            checks[name] = entry
    saved = dict(ours.get("saved", {}))
    for name, entry in theirs.get("saved", {}).items():
        if name not in kept_local:
            saved[name] = entry
    merged["checks"], merged["saved"] = checks, saved
    return (json.dumps(merged, indent=1, sort_keys=True) + "\n").encode("utf-8")


def import_work(archive, notebooks: Path | None = None, home: Path | None = None,
                overwrite: bool | None = None) -> dict[str, list[str]]:
    """Restore a work archive: notebooks into `notebooks` (default notebooks_folder()), saved
    implementations into `home` (default tinytorch.mine.home()), progress merged.

    A file that exists and differs is replaced when the archive's copy is newer; when the local
    one is newer it is kept, unless `overwrite` is True (False: keep without asking; None: ask
    when there is someone to ask, i.e. a terminal, else keep). Returns the paths per outcome."""
    notebooks = Path(notebooks) if notebooks is not None else notebooks_folder()
    home = Path(home) if home is not None else mine.home()
    if isinstance(archive, (str, os.PathLike)) and not Path(archive).exists() and is_browser():
        archive = notebooks / archive  # a name in the file browser
    contents = read_work_archive(archive if isinstance(archive, bytes) else Path(archive))
    interactive = overwrite is None and sys.stdin is not None and sys.stdin.isatty()
    outcome = {"written": [], "unchanged": [], "kept": []}
    state_name = f"{FRAMEWORK}/{STATE_FILE}"
    for name, (data, changed) in contents.items():
        if name == state_name:
            continue
        if name.startswith(f"{FRAMEWORK}/"):
            target = home / name.split("/", 1)[1]
        else:
            target, data = notebooks / name, for_this_runtime(data)
        if target.exists():
            current = target.read_bytes()
            if current == data or (name.endswith(".ipynb") and _cells(current) == _cells(data) is not None):
                outcome["unchanged"].append(name)
                continue
            if target.stat().st_mtime > changed:
                when = datetime.datetime.fromtimestamp(target.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
                replace = overwrite if overwrite is not None else (
                    interactive and _ask(f"{target} was changed here ({when}), after the archive's copy. Replace it?"))
                if not replace:
                    outcome["kept"].append(name)
                    continue
        _write(target, data, changed)
        outcome["written"].append(name)
    if state_name in contents:
        state_path = home / STATE_FILE
        local = state_path.read_bytes() if state_path.exists() else None
        kept = {Path(name).stem for name in outcome["kept"] if name.startswith(f"{FRAMEWORK}/")}
        _write(state_path, _merge_state(local, contents[state_name][0], kept), None)
        outcome["written"].append(state_name)
    _report(outcome, notebooks, home)
    return outcome


def _report(outcome: dict[str, list[str]], notebooks: Path, home: Path) -> None:
    written = outcome["written"]
    print(f"Restored {len(written)} file{'s' * (len(written) != 1)} "
          f"(notebooks in {notebooks}, your framework in {home}); "
          f"{len(outcome['unchanged'])} already up to date.")
    if outcome["kept"]:
        print(f"Kept {len(outcome['kept'])} newer local file{'s' * (len(outcome['kept']) != 1)} "
              f"(run again with --yes, or overwrite=True, to replace them): " + ", ".join(outcome["kept"]))
