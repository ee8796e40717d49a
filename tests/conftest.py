"""Shared fixtures: a seeded NumPy generator and float64 leaf tensors for gradient checks, and
the scaffolding of the tests of the exercise checks (tests/test_checks*.py).

The tests also run inside Pyodide, where tests/site/test_site_pyodide.py copies this file next
to the test files: whatever they share lives here, as fixtures (never `import conftest`).
"""

import sys

import numpy as np
import pytest

import tinytorch as tt
from tinytorch.checks import CheckFailed
from tinytorch.nn import Module


@pytest.fixture(autouse=True)
def _tinytorchs_own_components_after_each_test():
    """A test that switches tinytorch onto other components (tinytorch.mine.use(), a seam
    replaced) leaves tinytorch on its own for the next test, whatever order they run in."""
    yield
    mine = sys.modules.get("tinytorch.mine")
    if mine is not None:
        mine.use(False, quiet=True)
    else:
        tt.seams.restore()


@pytest.fixture
def rng():
    """A NumPy generator seeded per test, so failures reproduce."""
    return np.random.default_rng(0)


@pytest.fixture
def leaf(rng):
    """`leaf(*shape)`: a float64 tensor of standard-normal values that requires grad."""
    def make(*shape, dtype=np.float64):
        return tt.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
    return make


# ------------------------------------------------------------------ tests of the exercise checks

def _stub(*args, **kwargs):
    raise NotImplementedError("Exercise: write this")


class _StubModule(Module):
    def __init__(self, *args, **kwargs):
        super().__init__()
        raise NotImplementedError("Exercise: write this")


def _unsolved_like(solution):
    """What the student edition ships in place of `solution`: for a Module class, a Module whose
    constructor raises NotImplementedError; for anything else, a function that raises it."""
    return _StubModule if isinstance(solution, type) and issubclass(solution, Module) else _stub


@pytest.fixture
def passes_and_stub_fails(capsys):
    """`passes_and_stub_fails(check, solution, unsolved=None)`: the right solution passes the
    check (a PASS report) and the unsolved exercise fails it as "not implemented yet" (a FAIL
    report). `unsolved` defaults to the stub of the solution's kind (see `_unsolved_like`)."""
    def run(check, solution, unsolved=None):
        check(solution)
        assert capsys.readouterr().out.startswith("PASS")
        with pytest.raises(CheckFailed, match="not implemented yet"):
            check(_unsolved_like(solution) if unsolved is None else unsolved)
        assert capsys.readouterr().out.startswith("FAIL")
    return run


@pytest.fixture
def failure():
    """`failure(check, wrong, match=None)`: the check fails on `wrong` (with a report matching
    the regular expression `match`, if given); returns the report."""
    def run(check, wrong, match=None):
        with pytest.raises(CheckFailed, match=match) as info:
            check(wrong)
        return str(info.value)
    return run


def pytest_make_parametrize_id(config, val, argname):
    """Name the checks, solutions, stubs and wrong solutions in test ids by their function or
    class names."""
    if argname == "unsolved" and val is None:
        return "stub"
    if argname in ("check", "solution", "unsolved", "wrong"):
        return getattr(val, "__name__", None)
    return None
