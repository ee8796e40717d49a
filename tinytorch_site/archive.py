"""The offline archive (the finished site zipped into itself), and swapping a finished build
into place."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from .common import log

ARCHIVE_NAME = "tinytorch-course"
ARCHIVE_PATH = Path("download") / f"{ARCHIVE_NAME}.zip"


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
