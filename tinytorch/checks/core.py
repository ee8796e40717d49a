"""What every exercise check shares: run the learner's code on named cases, compare it with
the library, print a short report, raise `CheckFailed` on the first mismatch."""

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


def fail(name, case, message, hint=None):
    """Print the failure report and raise CheckFailed."""
    report = f"FAIL {name} on {case}: {message}"
    if hint:
        report += f"\n  hint: {hint}"
    print(report)
    raise CheckFailed(report)


def run_learner(name, case, fn, *args, strict_float=False):
    """Call the learner's function; turn a crash (or an unsolved stub) into a clear failure.

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
        fail(name, case, f"numerically unstable: {error} inside your function")
    except Exception as error:  # any learner bug becomes a readable report
        fail(name, case, f"raised {type(error).__name__}: {error}")


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
            f"  expected {_summary(expected_array)}\n  got      {_summary(got_array)}",
            hint,
        )


def check_function(name, learner_fn, reference_fn, cases, hint=None, atol=1e-5, rtol=1e-4, strict_float=False):
    """Run both functions on every `(case name, args tuple)` and compare the outputs."""
    for case, args in cases:
        got = run_learner(name, case, learner_fn, *args, strict_float=strict_float)
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
