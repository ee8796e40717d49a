"""What every exercise check shares: run the learner's code on named cases, compare it with
the library, print a short report, raise `CheckFailed` on the first mismatch."""

import os
import re
import sys
import traceback

import numpy as np

from ..course import progress
from ..course.registry import CheckFailed  # noqa: F401  (the checks' exception, raised from here)
from ..tensor import Tensor


# name -> latest outcome of each check in this Python session (kept by the course layer)
results = progress.results


def _array(value):
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def _summary(value, limit=6):
    """A short printable form of an array: the shape and the first few values."""
    array = _array(value)
    flat = np.array2string(array.reshape(-1)[:limit], precision=4, separator=", ")
    more = ", ..." if array.size > limit else ""
    return f"shape {array.shape}, values {flat[:-1]}{more}]"


# ------------------------------------------------------------------ progressive hints

# check name -> its tiers of help, in order: the idea, then the shapes, then the formula in
# words (never the code: that is in the solution edition). Each checks module adds the tiers
# of its exercises with `add_hints`, next to the checks themselves.
TIERS = {}
TIER_NAMES = ("the idea", "the shapes", "the formula")
# name -> how many tiers the learner has seen / how many times the check failed, this session
_tiers_shown = {}
_failures = {}


def add_hints(tiers):
    """Register `{check name: (idea, shapes, formula)}` for `hint` and repeated failures."""
    TIERS.update({name: tuple(levels) for name, levels in tiers.items()})


def _next_tier(name):
    """The next tier of help for `name` as one labelled line (None when it has no tiers); the
    last tier repeats once all are shown."""
    levels = TIERS.get(name)
    if not levels:
        return None
    shown = min(_tiers_shown.get(name, 0) + 1, len(levels))
    _tiers_shown[name] = shown
    label = TIER_NAMES[shown - 1] if len(levels) == len(TIER_NAMES) else f"tier {shown}"
    last = " (the last hint: the solution edition has the code)" if shown == len(levels) else ""
    return f"hint {shown}/{len(levels)}, {label}{last}: {levels[shown - 1]}"


def hint(name):
    """Print the next tier of help for the exercise checked as `name` (e.g. `hint("im2col")`):
    first the idea, then the shapes, then the formula in words."""
    if name not in TIERS:
        raise ValueError(f"hint: no hints for {name!r}; exercises with hints: {', '.join(sorted(TIERS))}")
    print(_next_tier(name))


# ------------------------------------------------------------------ failure reports

def _shown_by_ipython():
    """True inside IPython/Jupyter, which renders CheckFailed itself (`_render_traceback_`)."""
    ipython = sys.modules.get("IPython")
    return ipython is not None and getattr(ipython, "get_ipython", lambda: None)() is not None


def fail(name, case, message, hint=None):
    """Raise CheckFailed with one short report: the case, what went wrong, and a hint (a
    second failure of the same check adds the next tier of help). Outside IPython the report
    is printed too; inside, IPython shows the exception as exactly that report."""
    _failures[name] = _failures.get(name, 0) + 1
    report = f"FAIL {name} on {case}: {message}"
    if not hint and TIERS.get(name):  # no specific diagnosis: the first tier is the hint
        hint = TIERS[name][0]
        _tiers_shown[name] = max(_tiers_shown.get(name, 0), 1)
    if hint:
        report += f"\n  hint: {hint}"
        if name in TIERS and _failures[name] == 1:
            report += f" (more: tinytorch.checks.hint({name!r}))"
    if _failures[name] > 1:
        more = _next_tier(name)
        if more:
            report += f"\n  {more}"
    if not _shown_by_ipython():
        print(report)
    raise CheckFailed(report) from None  # no chained traceback through this file


_NUMPY_DIR = os.path.dirname(np.__file__) + os.sep
_TINYTORCH_DIR = os.path.dirname(os.path.dirname(__file__)) + os.sep


def _learner_line(error):
    """Where in the learner's code `error` was raised: 'in f, line 3 (Cell In[7]): text', from
    the innermost frame of its traceback outside tinytorch and NumPy; None if there is none."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename.startswith((_TINYTORCH_DIR, _NUMPY_DIR)) or frame.filename.startswith("<__array"):
            continue
        place = f"line {frame.lineno}"
        if _shown_by_ipython():  # IPython names a cell "Cell In[7]" instead of its temporary file
            try:
                kind, label = sys.modules["IPython"].get_ipython().compile.format_code_name(frame.filename)
                place += f" ({kind} {label})"
            except Exception:  # noqa: BLE001 - not a cell, or another IPython: the line is enough
                pass
        text = f": {frame.line.strip()}" if frame.line else ""
        return f"in {frame.name}, {place}{text}"
    return None


# Common NumPy errors, explained in terms of the exercise: (pattern of the message, explanation).
_EXPLANATIONS = (
    (r"matmul: .*mismatch in its core dimension.*\(size (\d+) is different from (\d+)\)",
     "a matrix product needs the last axis of the left operand to match the second-to-last axis of "
     "the right one (here {1} vs {0}): is a .T (or swapaxes) missing, extra, or on the wrong operand?"),
    (r"could not be broadcast together with shapes (.*)",
     "elementwise operands must have equal sizes, or 1, in each position counted from the right "
     "(shapes {0}): did a reduction drop an axis (keepdims=True), or a transpose go missing?"),
    (r"read-only",
     "your code wrote in place into an array it does not own (an input's data, or a view such as "
     "np.broadcast_to's): make a copy (.copy()) and write into the copy"),
    (r"out of bounds for u?int\d+|encountered in cast",
     "a value does not fit the integer type it is stored in: clip it to the type's range "
     "(np.iinfo) before casting, or compute in a wider type such as int32"),
    (r"cannot reshape array of size (\d+) into shape (.*)",
     "a reshape keeps the number of elements: {1} must multiply out to {0}"),
)


def explain(error):
    """One sentence explaining a common NumPy error message in the exercise's terms, or None."""
    for pattern, explanation in _EXPLANATIONS:
        found = re.search(pattern, str(error))
        if found:
            return explanation.format(*(group.strip() if group else "" for group in found.groups()))
    return None


def _describe(error):
    """`raised ValueError: ...`, where in the learner's code, and an explanation if one fits."""
    lines = [f"raised {type(error).__name__}: {error}"]
    where = _learner_line(error)
    if where:
        lines.append(f"  {where}")
    why = explain(error)
    if why:
        lines.append(f"  why: {why}")
    return "\n".join(lines)


def run_learner(name, case, fn, *args, strict_float=False, hint=None):
    """Call the learner's function; turn a crash (or an unsolved stub) into a clear failure
    that names the learner's line and keeps the hint.

    With `strict_float`, an overflow or invalid value (NaN) inside it is a failure too: that
    is how a numerically unstable formula shows itself even when the final value looks fine.
    """
    errors = "raise" if strict_float else "warn"
    try:
        with np.errstate(over=errors, invalid=errors):
            return fn(*args)
    except NotImplementedError as error:
        fail(name, case, f"not implemented yet ({error})" if str(error) else "not implemented yet")
    except CheckFailed:
        raise
    except FloatingPointError as error:
        if explain(error):  # an integer overflow, not an unstable float formula
            fail(name, case, _describe(error), hint)
        where = _learner_line(error)
        fail(name, case, f"numerically unstable: {error} inside your function"
             + (f"\n  {where}" if where else ""), hint)
    except Exception as error:  # any learner bug becomes a readable report
        fail(name, case, _describe(error), hint)


def first_nonfinite_where_finite(got, expected):
    """Index of the first NaN/inf in `got` where `expected` is finite, else None.

    This is how instability shows in the browser too: WebAssembly has no floating-point
    exception flags, so NumPy there never reports an overflow while it happens.
    """
    got, expected = np.asarray(got), np.asarray(expected)
    if not np.issubdtype(got.dtype, np.inexact) or got.shape != expected.shape:
        return None
    bad = ~np.isfinite(got) & np.isfinite(expected)
    if not bad.any():
        return None
    return tuple(int(i) for i in np.unravel_index(np.argmax(bad), bad.shape))  # () for 0-d


def assert_close(name, case, got, expected, hint=None, atol=1e-5, rtol=1e-4):
    """Compare shapes, then values; the report names the first differing position."""
    got_array, expected_array = _array(got), _array(expected)
    if got_array.shape != expected_array.shape:
        fail(name, case, f"expected shape {expected_array.shape}, got shape {got_array.shape}", hint)
    overflow = first_nonfinite_where_finite(got_array, expected_array)
    if overflow is not None:
        fail(
            name, case,
            f"numerically unstable: got {got_array[overflow]} at index {overflow} where "
            f"{expected_array[overflow]:.6g} was expected (did an exp overflow, or a log see 0?)\n"
            f"  expected {_summary(expected_array)}\n  got      {_summary(got_array)}",
            hint,
        )
    if not np.allclose(got_array, expected_array, atol=atol, rtol=rtol, equal_nan=True):
        bad = np.argwhere(~np.isclose(got_array, expected_array, atol=atol, rtol=rtol, equal_nan=True))
        where = tuple(int(i) for i in bad[0]) if bad.size else ()
        fail(
            name, case,
            f"at index {where} expected {expected_array[where]:.6g}, got {got_array[where]:.6g} "
            f"({len(bad)} of {expected_array.size} values differ)\n"
            f"  expected {_summary(expected_array)}\n  got      {_summary(got_array)}"
            + _wrapped_around(got_array, expected_array, where),
            hint,
        )


def _wrapped_around(got, expected, where):
    """A note when an integer result differs by a multiple of its type's range: the value
    overflowed and wrapped around (NumPy does that silently in arrays)."""
    if not np.issubdtype(got.dtype, np.integer) or got.dtype.itemsize > 2:
        return ""
    span = 2 ** (8 * got.dtype.itemsize)
    difference = int(np.asarray(expected[where]).astype(np.int64)) - int(got[where])
    if difference == 0 or difference % span:
        return ""
    return (f"\n  why: {expected[where]} does not fit in {got.dtype} and wrapped around to {got[where]}: "
            "clip to the type's range before casting")


def check_function(name, learner_fn, reference_fn, cases, hint=None, atol=1e-5, rtol=1e-4, strict_float=False):
    """Run both functions on every `(case name, args tuple)` and compare the outputs."""
    for case, args in cases:
        got = run_learner(name, case, learner_fn, *args, strict_float=strict_float, hint=hint)
        assert_close(name, case, got, reference_fn(*args), hint, atol, rtol)
    passed(name, len(cases), [case for case, _ in cases])


def passed(name, count, cases):
    print(f"PASS {name}: {count} cases ({', '.join(cases)})")


def yours_or_reference(name, yours, reference):
    """The learner's implementation if its check `name` passed in this session, else
    tinytorch's; says in one line which one is used, so later cells run either way."""
    if progress.results.get(name):
        print(f"Using your {name}.")
        return yours
    state = "failed" if name in progress.results else "not run yet"
    print(f"Using tinytorch's {name} (your check {state}).")
    return reference


def expect_error(name, case, fn, error=ValueError, hint=None):
    """The learner's `fn()` must raise `error` (e.g. a ValueError for bad input)."""
    try:
        got = fn()
    except NotImplementedError as exc:
        fail(name, case, f"not implemented yet ({exc})" if str(exc) else "not implemented yet")
    except CheckFailed:
        raise
    except error:
        return
    except Exception as exc:
        fail(name, case, f"expected {error.__name__}, got {type(exc).__name__}: {exc}", hint)
    else:
        fail(name, case, f"expected {error.__name__}, but it returned {got!r:.80}", hint)
