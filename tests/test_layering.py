"""The optimization toolkit follows the course's order: a module's package never imports from
a package that a later course module introduces (module 15 must run before 18 exists)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import tinytorch

PACKAGE_ROOT = Path(tinytorch.__file__).resolve().parent  # also inside Pyodide (the wheel keeps its sources)


def course_module(package: str) -> int | None:
    """The course module a tinytorch subpackage belongs to, from its docstring's
    "(course module NN" (None for packages outside the course's order)."""
    init = PACKAGE_ROOT / package / "__init__.py"
    if not init.exists():
        return None
    match = re.search(r"\(course modules? (\d+)", ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or "")
    return int(match.group(1)) if match else None


def imported_packages(path: Path) -> set[str]:
    """The tinytorch subpackages a file imports with relative imports (from ..x import ...)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module:
            found.add(node.module.split(".")[0])
    return found


NUMBERED = {p.name: course_module(p.name) for p in PACKAGE_ROOT.iterdir() if p.is_dir() and course_module(p.name)}


def test_the_toolkit_packages_carry_their_course_module_numbers():
    assert {"profiling", "quantization", "compression", "acceleration", "benchmarking"} <= set(NUMBERED)


@pytest.mark.parametrize("package", sorted(NUMBERED))
def test_no_package_imports_a_later_course_module(package):
    later = []
    for path in sorted((PACKAGE_ROOT / package).rglob("*.py")):
        for imported in imported_packages(path) & set(NUMBERED):
            if NUMBERED[imported] > NUMBERED[package]:
                later.append(f"{path.relative_to(PACKAGE_ROOT)} imports {imported} (module {NUMBERED[imported]})")
    assert not later, f"{package} (module {NUMBERED[package]}) depends on later modules: {later}"
