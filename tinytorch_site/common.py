"""What every build step shares: the repository's paths, BuildError, log, pinned downloads."""

from __future__ import annotations

import functools
import hashlib
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LITE_CONFIG_DIR = REPO / "lite"
CACHE_DIR = REPO / ".cache"
DEFAULT_OUT = REPO / "_site"
PROGRAMS_DIR = Path(__file__).resolve().parent / "programs"


class BuildError(RuntimeError):
    """A build step failed for a reason the user can fix; the message says what and where."""


def log(message: str) -> None:
    print(f"[build] {message}", flush=True)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(functools.partial(file.read, 1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pip_download(requirement: str, filename: str, sha256: str, cache_dir: Path | None = None) -> Path:
    """Fetch one pinned wheel from PyPI into .cache/ (once) and verify its checksum."""
    cache_dir = CACHE_DIR if cache_dir is None else cache_dir
    target = cache_dir / filename
    if not target.exists():
        log(f"downloading {requirement}")
        cache_dir.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             "--dest", str(cache_dir), requirement],
            capture_output=True, text=True,
        )
        if result.returncode != 0 or not target.exists():
            raise BuildError(f"could not download {requirement} with pip:\n{result.stderr[-2000:]}")
    actual = sha256_of(target)
    if actual != sha256:
        raise BuildError(f"{target}: sha256 {actual} does not match the pinned {sha256}; "
                         f"delete the file to download it again")
    return target
