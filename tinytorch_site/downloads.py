"""The site's download/ page: the tinytorch wheel, the offline archive, and how to take your
work to your machine and back (the commands come from tinytorch.platform.local_commands, the
one place every hand-off message is made)."""

from __future__ import annotations

import hashlib
import html
from pathlib import Path

from tinytorch.platform import WHEEL, WHEEL_PATH, WORK_ARCHIVE, local_commands

PAGE = Path("download") / "index.html"


def _list(items) -> str:
    return "<ul>\n" + "".join(f"<li>{item}</li>\n" for item in items) + "</ul>\n"


def _commands(lines) -> str:
    return "<pre>" + html.escape("\n".join(lines)) + "</pre>\n"


def download_page(wheel_size: int, wheel_sha256: str, archive_name: str) -> str:
    """The HTML of download/index.html (links relative to download/, so it works under any path)."""
    steps = local_commands("00_start_here.ipynb", site=None, work=True)
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>tinytorch: downloads</title></head>\n<body>\n"
        "<h1>tinytorch: take the course to your machine</h1>\n"
        + _list([
            f'<a href="../{WHEEL_PATH}" download>{WHEEL}</a>: the framework and the <code>tinytorch</code> command '
            f"({wheel_size / 1024:.0f} kB, sha256 <code>{wheel_sha256}</code>). The package named tinytorch on "
            "PyPI is another project: install this file.",
            f'<a href="{archive_name}">{archive_name}</a>: this whole site, for offline use. Unzip it, run '
            "<code>python -m http.server</code> in its folder and open http://127.0.0.1:8000/ "
            f"(the wheel is inside, at <code>{WHEEL_PATH}</code>).",
        ])
        + "<h2>Your work</h2>\n"
        f"<p>In the course, open <code>progress.ipynb</code> and run its <em>Take your work with you</em> cell: "
        f"it downloads <code>{WORK_ARCHIVE}</code> (your notebooks, the framework you built, your progress). "
        "Then, in the folder where you saved it and the wheel (Python 3.11 or newer):</p>\n"
        + _commands(steps)
        + "<p><code>tinytorch progress</code>, <code>tinytorch milestone 04</code> and <code>tinytorch doctor</code> "
        "work there too.</p>\n<h2>Back to the browser</h2>\n"
        f"<p>On your machine, <code>tinytorch export</code> writes <code>{WORK_ARCHIVE}</code>. In the course, "
        "upload it with the file browser's Upload button, then run</p>\n"
        + _commands(["import tinytorch.cli", f'tinytorch.cli.import_work("{WORK_ARCHIVE}")'])
        + "<p>A file you changed in the browser after the archive's copy is kept (and listed).</p>\n"
        "</body></html>\n"
    )


def write_download_page(site_dir: Path, archive_name: str) -> Path:
    """Write download/index.html into the built site; the wheel must be in the site already."""
    wheel = Path(site_dir) / WHEEL_PATH
    if not wheel.is_file():
        raise FileNotFoundError(f"{wheel}: the tinytorch wheel is not where the download page links it")
    page = Path(site_dir) / PAGE
    page.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    page.write_text(download_page(wheel.stat().st_size, digest, archive_name), encoding="utf-8")
    return page
