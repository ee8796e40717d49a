"""Session fixtures for the course-site tests: one student-edition site build, served on
127.0.0.1, and a headless Chromium with a fresh profile per test.

Run with `python -m pytest -m slow tests/site`. Needs the `site` and `browser` extras,
Node (for the Pyodide tests) and Chromium at /usr/bin/chromium (see .ci/site_setup.sh).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import build  # noqa: E402  (the repo's build.py)
from bench import browser as driver  # noqa: E402

# Pure-Python wheels pytest needs inside Pyodide (packaging comes from Pyodide's own lock).
PYODIDE_TEST_WHEELS = [
    "pytest==9.2.0", "pluggy==1.7.0", "iniconfig==2.3.1",
    "hypothesis==6.155.7", "attrs==26.1.0", "sortedcontainers==2.4.0",
]
PYODIDE_TEST_WHEELS_DIR = REPO / ".cache" / "pyodide-test-wheels"


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory) -> Path:
    """The student-edition site, built once per test session."""
    return build.build_site(tmp_path_factory.mktemp("site") / "_site", "student")


@pytest.fixture(scope="session")
def site_url(site_dir) -> str:
    server, url = build.start_server(site_dir)
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def playwright_instance():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(driver.CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {driver.CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        yield playwright


class RecordedBrowser:
    """A Chromium context with an empty profile that records every request's URL."""

    def __init__(self, context):
        self.context = context
        self.requests: list[str] = []
        context.on("request", lambda request: self.requests.append(request.url))

    def foreign_requests(self) -> list[str]:
        """Requests that went anywhere but the local test server."""
        return driver.foreign(self.requests)


@pytest.fixture
def browser(playwright_instance, tmp_path) -> RecordedBrowser:
    context = driver.launch(playwright_instance, tmp_path / "profile")
    recorded = RecordedBrowser(context)
    yield recorded
    context.close()


@pytest.fixture(scope="session")
def pyodide_test_wheels() -> Path:
    """pytest and its dependencies as py3-none-any wheels, fetched once into .cache/."""
    PYODIDE_TEST_WHEELS_DIR.mkdir(parents=True, exist_ok=True)
    wanted = {spec.split("==")[0] for spec in PYODIDE_TEST_WHEELS}
    present = {path.name.split("-")[0].lower() for path in PYODIDE_TEST_WHEELS_DIR.glob("*.whl")}
    if not wanted <= present:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             "--platform", "any", "--python-version", "3.12", "--implementation", "py", "--abi", "none",
             "--dest", str(PYODIDE_TEST_WHEELS_DIR), *PYODIDE_TEST_WHEELS],
            check=True, capture_output=True, text=True,
        )
    return PYODIDE_TEST_WHEELS_DIR
