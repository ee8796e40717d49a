"""Every exercise's check rejects the plausible wrong solutions of the mistake bank
(tests/mistake_bank.py), and the bank's catch rate is at least 95 %.

`python tests/test_mistakes.py` prints the catch rate and every mistake that got through.
"""

import ast
import contextlib
import functools
import io
import re
from pathlib import Path

import pytest

import tinytorch.checks as checks
from mistake_bank import MISTAKES, REBUILT_WITH
from solutions import SEPARATOR, _namespace, solution_source

CONTENT = Path(__file__).resolve().parents[1] / "content"
GOAL = 0.95
BANK = [(module, name, mistake) for module, names in MISTAKES.items()
        for name, mistakes in names.items() for mistake in mistakes]


@functools.cache
def _checked_objects(module):
    """{object name: check function} from the module's check cells (`check_x(obj)`)."""
    text = (CONTENT / f"{module}.py").read_text(encoding="utf-8")
    return {obj: getattr(checks, f"check_{check}")
            for check, obj in re.findall(r"^check_(\w+)\((\w+)\)$", text, flags=re.M)}


@functools.cache
def _statements(module):
    """{defined name: its source} of the module's solution definitions."""
    found = {}
    for statement in solution_source(module).split(SEPARATOR + "\n")[1:]:
        node = ast.parse(statement).body[0]
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found[node.name] = statement
    return found


def build_mistake(module, name, old, new):
    """The solution of `name` with `old` replaced by `new` once, built in a copy of the module's
    namespace (with the definitions that are built from it, e.g. AdamW from Adam)."""
    order = [*REBUILT_WITH.get((module, name), ()), name]
    sources = {n: _statements(module)[n] for n in order}
    holders = [n for n in order if old in sources[n]]
    assert len(holders) == 1 and sources[holders[0]].count(old) == 1, \
        f"{module} {name}: {old!r} must occur exactly once in the solution"
    sources[holders[0]] = sources[holders[0]].replace(old, new)
    namespace = dict(_namespace(module)[0])
    for n in order:
        exec(compile(sources[n], f"<mistake in content/{module}.py {name}>", "exec"), namespace)
    return namespace[name]


@functools.cache
def outcome(module, name, mistake):
    """None when the check rejects the mistake with CheckFailed, else what happened instead."""
    label, old, new = mistake
    try:
        wrong = build_mistake(module, name, old, new)
    except (AssertionError, SyntaxError) as error:
        return f"bank error: {error}"
    check = _checked_objects(module)[name]
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            check(wrong)
    except checks.CheckFailed:
        return None
    except Exception as error:  # noqa: BLE001 - a check must report, never crash
        return f"the check crashed: {type(error).__name__}: {error}"
    return "the check passed it"


def test_every_exercise_has_at_least_three_mistakes():
    modules = [p.stem for p in CONTENT.glob("[0-9][0-9]_*.py") if "### BEGIN SOLUTION" in p.read_text(encoding="utf-8")]
    exercises = {(module, obj) for module in modules for obj in _checked_objects(module)}
    banked = {(module, name): len(mistakes) for module, names in MISTAKES.items() for name, mistakes in names.items()}
    missing = sorted(e for e in exercises if banked.get(e, 0) < 3)
    assert not missing, f"exercises with fewer than 3 mistakes in the bank: {missing}"


@pytest.mark.parametrize("module, name, mistake", BANK, ids=[f"{m}-{n}-{x[0]}" for m, n, x in BANK])
def test_check_rejects_the_mistake(module, name, mistake):
    missed = outcome(module, name, mistake)
    assert missed is None, f"{module} {name}, mistake {mistake[0]!r}: {missed}"


def catch_rate():
    """(fraction of the bank rejected, the mistakes that got through)."""
    misses = [(m, n, x[0], outcome(m, n, x)) for m, n, x in BANK]
    misses = [miss for miss in misses if miss[3] is not None]
    return 1 - len(misses) / len(BANK), misses


def test_catch_rate_reaches_the_goal():
    rate, misses = catch_rate()
    print(f"mistake bank: {len(BANK) - len(misses)} of {len(BANK)} rejected ({rate:.1%})")
    assert rate >= GOAL, f"catch rate {rate:.1%} < {GOAL:.0%}; missed: {misses}"


if __name__ == "__main__":
    rate, misses = catch_rate()
    for miss in misses:
        print("MISSED", *miss)
    print(f"mistake bank: {len(BANK) - len(misses)} of {len(BANK)} rejected ({rate:.1%})")
