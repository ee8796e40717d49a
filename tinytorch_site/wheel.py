"""The tinytorch wheel, and rewriting the files of a wheel (for Pyodide's packages too)."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from .common import REPO, BuildError, log


def build_wheel(dist_dir: Path) -> Path:
    """Build tinytorch's py3-none-any wheel into dist_dir with the standard `build` frontend."""
    # The repository's build.py would shadow the `build` package: -P and a cwd outside the
    # repository keep the script's folder off sys.path, and the repository leaves PYTHONPATH
    # (`PYTHONPATH=$PWD python build.py`, as the contributors' instructions run it).
    command = [sys.executable, "-P", "-m", "build", "--wheel", "--outdir", str(dist_dir), str(REPO)]
    log("building the tinytorch wheel")
    dist_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(command, cwd=dist_dir, capture_output=True, text=True, env=_env_without_repo())
    if result.returncode != 0:
        raise BuildError(f"wheel build failed ({' '.join(command)}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    wheels = sorted(dist_dir.glob("tinytorch-*-py3-none-any.whl"))
    if len(wheels) != 1:
        raise BuildError(f"expected one tinytorch py3-none-any wheel in {dist_dir}, found {[w.name for w in wheels]}")
    return wheels[0]


def _env_without_repo() -> dict[str, str]:
    """This process's environment with the repository (and '') taken out of PYTHONPATH."""
    entries = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    kept = [entry for entry in entries if entry and Path(entry).resolve() != REPO]
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    if kept:
        env["PYTHONPATH"] = os.pathsep.join(kept)
    return env


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

