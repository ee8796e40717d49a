"""The library's tests, run inside the site's own Pyodide under Node (no browser).

The site's Pyodide and its lock (numpy, tinytorch) are exactly what learners get; pytest and
hypothesis come as pure-Python wheels. Tests that need torch skip themselves
(pytest.importorskip); tests that execute notebooks or start processes are left out. The
notebooks' solutions the tests of the checks load (tests/solutions.py) are extracted natively.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests import solutions
from tinytorch_site.common import REPO
from tinytorch_site.in_pyodide import RUNNER

pytestmark = [pytest.mark.slow, pytest.mark.pyodide]

TESTS = REPO / "tests"
# From the site's lock, as its kernel gets them (pygments: a dependency of pytest).
PACKAGES = "micropip,packaging,pygments,numpy,tinytorch"
# Test files that need a native Jupyter kernel, subprocesses, the site tooling, or the
# repository's content/ sources (Pyodide sees only the test folder).
NATIVE_ONLY = re.compile(r'\b(nbclient|notebook_runner|jupytext|nbformat|subprocess|playwright|import build)\b'
                         r'|/ "content"')


def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.skip("Node is not installed")
    return path


def library_test_files() -> list[Path]:
    """The test files, and the helper modules beside them (e.g. mistake_bank.py), that can run
    in Pyodide; conftest.py first."""
    files = [TESTS / "conftest.py"] if (TESTS / "conftest.py").exists() else []
    for path in sorted(TESTS.glob("*.py")):
        if path.name != "conftest.py" and not NATIVE_ONLY.search(path.read_text(encoding="utf-8")):
            files.append(path)
    return files


def run_in_pyodide(site_dir: Path, wheels: Path, tests_dir: Path, *pytest_args: str) -> subprocess.CompletedProcess:
    """pytest on `tests_dir` (mounted at /tests) inside the site's Pyodide, with the wheels of
    `wheels` installed; pytest's fd capture cannot work in Pyodide, and its cache plugin wants
    a writable rootdir; scratch files (e.g. .hypothesis/) stay out of the host folder."""
    result = subprocess.run(
        [node(), str(RUNNER), str(site_dir / "static" / "pyodide"), "--packages", PACKAGES,
         "--mount", f"{wheels}:/wheels", "--wheels", "/wheels", "--mount", f"{tests_dir}:/tests",
         "--imports-of", "/tests", "--cwd", "/tmp/run", "--path", "/tests",
         "-m", "pytest", "/tests", "--capture=sys", "-p", "no:cacheprovider", *pytest_args],
        capture_output=True, text=True, timeout=1800,
    )
    print(result.stdout[-6000:])
    print("\n".join(line[:500] for line in result.stderr.splitlines()[-30:]))
    return result


def write_pytest_ini(folder: Path) -> None:
    """The project's registered markers, so `-m "not slow"` selects without warnings."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    markers = config["tool"]["pytest"]["ini_options"].get("markers", [])
    (folder / "pytest.ini").write_text("[pytest]\nmarkers =\n" + "".join(f"    {m}\n" for m in markers))


def test_library_tests_pass_inside_pyodide(site_dir, pyodide_test_wheels, tmp_path):
    files = library_test_files()
    assert len(files) > 1, "no library tests found"
    for path in files:
        shutil.copy2(path, tmp_path / path.name)
    solutions.export_sources(tmp_path)  # the tests of the checks load the notebooks' solutions
    write_pytest_ini(tmp_path)
    result = run_in_pyodide(site_dir, pyodide_test_wheels, tmp_path, "-q", "-m", "not slow", "-W", "ignore::DeprecationWarning")
    assert result.returncode == 0, "library tests failed inside Pyodide (output above)"
    assert re.search(r"\d+ passed", result.stdout)


def test_a_failing_test_fails_the_pyodide_run(site_dir, pyodide_test_wheels, tmp_path):
    (tmp_path / "test_deliberately_failing.py").write_text(
        "import tinytorch\n\n"
        "def test_passes():\n    assert tinytorch.tensor([1.0]).shape == (1,)\n\n"
        "def test_fails():\n    assert 1 + 1 == 3\n")
    result = run_in_pyodide(site_dir, pyodide_test_wheels, tmp_path, "-q")
    assert result.returncode == 1
    assert "1 failed, 1 passed" in result.stdout


def test_matplotlib_renders_inside_pyodide(site_dir, pyodide_test_wheels, tmp_path):
    """The slimmed matplotlib still draws (default sans-serif font, mathtext; PNG, and PDF and
    SVG without the dropped Adobe font metrics), and reads the font list the build made
    instead of scanning its fonts again."""
    (tmp_path / "test_plot.py").write_text(
        "import io, pytest\n\n"
        "def test_plot_to_png_pdf_svg():\n"
        "    import matplotlib\n    matplotlib.use('Agg')\n    import matplotlib.pyplot as plt\n"
        "    fig, ax = plt.subplots()\n    ax.plot([0, 1, 2], [1, 0, 1], label=r'$\\alpha^2$')\n"
        "    ax.set_title('loss')\n    ax.legend()\n"
        "    for fmt, magic in (('png', b'\\x89PNG'), ('pdf', b'%PDF'), ('svg', b'<?xm')):\n"
        "        buffer = io.BytesIO()\n        fig.savefig(buffer, format=fmt)\n"
        "        assert buffer.getvalue()[:4] == magic, fmt\n")
    (tmp_path / "test_font_list.py").write_text(
        "import logging, os\n\n"
        "def test_font_list_is_read_not_rebuilt(caplog):\n"
        "    # tinytorch_site.in_pyodide.prebuild_font_cache: a list for this matplotlib, of fonts that exist\n"
        "    with caplog.at_level(logging.INFO, logger='matplotlib.font_manager'):\n"
        "        from matplotlib import font_manager\n"
        "    assert 'building the font cache' not in caplog.text\n"
        "    assert 'generated new fontManager' not in caplog.text\n"
        "    assert font_manager.fontManager._version == font_manager.FontManager.__version__\n"
        "    fonts = font_manager.fontManager.ttflist + font_manager.fontManager.afmlist\n"
        "    assert len(fonts) > 20 and all(os.path.exists(font.fname) for font in fonts)\n"
        "    assert font_manager.findfont('DejaVu Sans').endswith('DejaVuSans.ttf')\n")
    result = run_in_pyodide(site_dir, pyodide_test_wheels, tmp_path, "-q", "-W", "error::UserWarning")
    assert result.returncode == 0
    assert "2 passed" in result.stdout


def test_working_directory_is_searched_last_for_imports(site_dir, pyodide_test_wheels, tmp_path):
    """tinytorch_site/programs/sitecustomize.py: modules in the working directory (the notebook's folder in the
    browser) still import, but cannot shadow the standard library."""
    (tmp_path / "test_cwd.py").write_text(
        "import importlib, sys\n\n"
        "def test_cwd_modules_import_but_do_not_shadow(tmp_path, monkeypatch):\n"
        "    (tmp_path / 'learner_module.py').write_text('VALUE = 42')\n"
        "    (tmp_path / 'colorsys.py').write_text('raise RuntimeError(\"shadowed the stdlib\")')\n"
        "    monkeypatch.chdir(tmp_path)\n"
        "    importlib.invalidate_caches()\n"
        "    import learner_module\n    assert learner_module.VALUE == 42\n"
        "    import colorsys\n    assert colorsys.__file__.startswith('/lib/')\n"
        "    assert sys.path[-1] == '<working directory>'\n")
    result = run_in_pyodide(site_dir, pyodide_test_wheels, tmp_path, "-q")
    assert result.returncode == 0
