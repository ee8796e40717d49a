"""The JupyterLite site: `jupyter lite build` from lite/, its configuration checked, and the
finishing touches (the kernel's wheels found, legacy fonts dropped, the front door)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from .common import LITE_CONFIG_DIR, BuildError, log
from .notebooks import LANDING_NOTEBOOK

# The kernel's own wheels (shipped with jupyterlite-pyodide-kernel) that it would otherwise
# install one after another with micropip at start-up; registered in the lock instead, they
# are fetched in parallel while Pyodide boots (see `loadPyodideOptions` in lite/).
KERNEL_WHEEL_PREFIXES = ("piplite-", "pyodide_kernel-", "ipykernel-")
# JupyterLab's Font Awesome in legacy formats (0.2 MB of the zipped site's 30): every browser
# JupyterLab supports takes the .woff2 files, which its CSS lists before the .woff ones.
LEGACY_FONT_FILES = ("fa-*.eot", "fa-*.svg", "fa-*.ttf", "fa-*.woff")
KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"


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
    settings = kernel_settings(out_dir)
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



def kernel_settings(folder: Path = LITE_CONFIG_DIR) -> dict:
    """The Pyodide kernel's settings in `folder`/jupyter-lite.json (lite/ or a built site)."""
    config = json.loads((folder / "jupyter-lite.json").read_text(encoding="utf-8"))
    return config["jupyter-config-data"]["litePluginSettings"][KERNEL_PLUGIN]


def startup_packages() -> list[str]:
    """The packages the kernel preloads (loadPyodideOptions in lite/jupyter-lite.json)."""
    return kernel_settings()["loadPyodideOptions"]["packages"]
