"""The feedback of a failing check: one short report (in IPython too, without a traceback), the
learner's own line, common NumPy errors explained, and hints that come one tier at a time."""

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

import tinytorch as tt
import tinytorch.checks as checks
from tinytorch.checks import CheckFailed, check_matmul, check_softmax, core, hint


CONTENT = Path(__file__).resolve().parents[1] / "content"


def transposed_matmul(a, b):
    return tt.Tensor(a.data @ b.data.T)


def writes_into_its_input(x, dim=-1):
    shifted = np.broadcast_to(x.data, x.data.shape)
    shifted -= x.data.max(axis=dim, keepdims=True)
    return tt.Tensor(shifted)


def test_an_error_in_learner_code_names_the_learners_line_and_explains_the_matmul(failure):
    report = failure(check_matmul, transposed_matmul)
    assert "in transposed_matmul, line" in report and "a.data @ b.data.T" in report
    assert "is a .T (or swapaxes) missing" in report
    assert "hint:" in report  # the hint survives an exception raised inside the learner's code


def test_a_write_into_a_read_only_view_is_explained_as_a_missing_copy(failure):
    report = failure(check_softmax, writes_into_its_input)
    assert "read-only" in report and "make a copy" in report and "shifted -=" in report


@pytest.mark.parametrize("message, words", [
    ("operands could not be broadcast together with shapes (2,3) (4,3) ", "(2,3) (4,3)"),
    ("Python integer 300 out of bounds for int8", "clip it to the type's range"),
    ("cannot reshape array of size 6 into shape (4,)", "(4,) must multiply out to 6"),
])
def test_common_numpy_errors_are_explained(message, words):
    assert words in core.explain(ValueError(message))
    assert core.explain(ValueError("something else")) is None


def test_an_integer_wrap_around_is_named():
    with pytest.raises(CheckFailed, match="wrapped around to -56"):
        core.assert_close("quantize", "case", np.array([200 - 256], np.int8), np.array([200], np.int16))


def test_the_report_has_no_chained_traceback(failure):
    with pytest.raises(CheckFailed) as info:
        check_matmul(transposed_matmul)
    assert info.value.__suppress_context__


def test_ipython_shows_the_report_once_and_no_traceback():
    shell_module = pytest.importorskip("IPython.core.interactiveshell")
    shell = shell_module.InteractiveShell.instance()
    try:
        shell.run_cell("import tinytorch as tt\nfrom tinytorch.checks import check_matmul")
        shell.run_cell("def matmul(a, b):\n    return tt.Tensor(a.data @ b.data.T)")
        output = io.StringIO()
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            result = shell.run_cell("check_matmul(matmul)")
    finally:  # outside this test there is no IPython: checks print their reports again
        shell_module.InteractiveShell.clear_instance()
    shown = output.getvalue()
    assert isinstance(result.error_in_exec, CheckFailed)  # the cell still fails
    assert shown.count("FAIL matmul") == 1
    assert "Traceback" not in shown and "core.py" not in shown
    assert "(Cell In[" in shown


def test_hint_gives_the_next_tier_each_time(capsys, monkeypatch):
    monkeypatch.setitem(core.TIERS, "demo", ("the idea", "the shapes", "the formula"))
    monkeypatch.setitem(core._tiers_shown, "demo", 0)
    for expected in ("1/3, the idea", "2/3, the shapes", "3/3, the formula", "3/3, the formula"):
        hint("demo")
        assert expected in capsys.readouterr().out
    with pytest.raises(ValueError, match="no hints for 'nope'"):
        hint("nope")


def test_a_second_failure_adds_the_next_tier(monkeypatch):
    monkeypatch.setitem(core.TIERS, "demo", ("idea one", "shapes two", "formula three"))
    monkeypatch.setitem(core._tiers_shown, "demo", 0)
    monkeypatch.setitem(core._failures, "demo", 0)
    reports = []
    for _ in range(3):
        with pytest.raises(CheckFailed) as info:
            core.fail("demo", "case", "wrong")
        reports.append(str(info.value))
    assert "hint: idea one" in reports[0] and "hint 1/3" not in reports[0]
    assert "hint 2/3, the shapes: shapes two" in reports[1] and "idea one" in reports[1]
    assert "hint 3/3, the formula (the last hint: the solution edition has the code): formula three" in reports[2]


def test_a_specific_diagnosis_is_followed_by_the_tiers_from_the_first(monkeypatch):
    monkeypatch.setitem(core.TIERS, "demo", ("idea one", "shapes two", "formula three"))
    monkeypatch.setitem(core._tiers_shown, "demo", 0)
    monkeypatch.setitem(core._failures, "demo", 0)
    reports = []
    for _ in range(2):
        with pytest.raises(CheckFailed) as info:
            core.fail("demo", "case", "wrong", hint="the sign is flipped")
        reports.append(str(info.value))
    assert "hint: the sign is flipped" in reports[0] and "idea one" not in reports[0]
    assert "hint 1/3, the idea: idea one" in reports[1]


def test_every_exercise_with_tiers_has_three_that_are_not_code():
    assert core.TIERS, "no hint tiers registered"
    for name, levels in core.TIERS.items():
        assert len(levels) == 3, name
        for level in levels:
            assert not any(code in level for code in ("np.", ".data", "lambda", "axis=", "[:", "def ")), (name, level)


def _stub(*args, **kwargs):
    raise NotImplementedError("Exercise: write this")


class _StubClass:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError("Exercise: write this")


class _StubModule(tt.nn.Module):
    def __init__(self, *args, **kwargs):
        super().__init__()
        raise NotImplementedError("Exercise: write this")


def _recorded_name(check):
    """The name a check records its outcome under, from its FAIL report on an unsolved stub."""
    for stub in (_stub, _StubModule, _StubClass):
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                check(stub)
        except CheckFailed as failure:
            return str(failure).split(" on ")[0].removeprefix("FAIL ")
        except Exception:  # noqa: BLE001 - this stub is not the kind the check expects
            continue
    return None


@pytest.mark.parametrize("check", [getattr(checks, name) for name in dir(checks)
                                   if name.startswith("check_") and name != "check_function"])
def test_every_exercise_has_hint_tiers(check):
    name = _recorded_name(check)
    assert name in core.TIERS, f"{check.__name__} records {name!r}, which has no hint tiers"


def test_every_check_cell_calls_one_check():
    """A second check in the same cell would stay hidden behind the first one's failure."""
    for source in sorted(CONTENT.glob("[0-9][0-9]_*.py")):
        for cell in re.split(r"^# %%", source.read_text(encoding="utf-8"), flags=re.M):
            if cell.startswith(' tags=["check"]'):
                assert len(re.findall(r"\bcheck_\w+\(", cell)) == 1, f"{source.name}: {cell.strip()}"
