"""choose_fastest: time interchangeable implementations here, on this runtime, and pick one."""

from dataclasses import dataclass

import numpy as np

from ..platform import describe
from ..profiling.timing import check_counts, summarize, time_calls
from ..tensor import Tensor


@dataclass
class TimingTable:
    """Median time of each candidate (fastest first), with the runtime it was measured on."""

    rows: list  # dicts: name, median_ms, p10_ms, p90_ms, relative (median / fastest median)
    winner: str
    platform: str

    def __str__(self):
        width = max(len(r["name"]) for r in self.rows)
        lines = [f"measured on: {self.platform}",
                 f"{'candidate'.ljust(width)}  {'median ms':>10}  {'p10':>9}  {'p90':>9}  {'vs best':>8}"]
        for r in self.rows:
            lines.append(f"{r['name'].ljust(width)}  {r['median_ms']:10.3f}  {r['p10_ms']:9.3f}  "
                         f"{r['p90_ms']:9.3f}  {r['relative']:7.1f}x")
        lines.append(f"fastest: {self.winner}")
        return "\n".join(lines)

    __repr__ = __str__


def _as_array(value):
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, (tuple, list)):
        return [_as_array(v) for v in value]
    return np.asarray(value)


def _agree(reference, result, rtol, atol):
    if isinstance(reference, list) or isinstance(result, list):
        return (isinstance(reference, list) and isinstance(result, list) and len(reference) == len(result)
                and all(_agree(a, b, rtol, atol) for a, b in zip(reference, result)))
    if reference.shape != result.shape:
        return False
    # Relative to the largest magnitude: summation order changes the rounding of every
    # entry, and an entry that happens to be near zero must not demand a tiny absolute error.
    scale = float(np.max(np.abs(reference))) if reference.size else 0.0
    return bool(np.all(np.abs(reference - result) <= atol + rtol * scale))


def choose_fastest(candidates, *args, warmup=1, repeats=5, check=True, rtol=1e-4, atol=1e-5, **kwargs):
    """(name of the fastest candidate, TimingTable) for `candidates` = {name: fn}.

    Each fn is called as fn(*args, **kwargs). With `check=True` every result must agree with
    the first candidate's (|difference| <= atol + rtol * max|first|), so a fast but wrong
    formulation cannot win.
    """
    if not isinstance(candidates, dict) or not candidates:
        raise ValueError("choose_fastest: candidates must be a non-empty dict of name -> function")
    for name, fn in candidates.items():
        if not callable(fn):
            raise TypeError(f"choose_fastest: candidate {name!r} is not callable")
    check_counts("choose_fastest", warmup, repeats)
    if check:
        names = list(candidates)
        reference = _as_array(candidates[names[0]](*args, **kwargs))
        for name in names[1:]:
            if not _agree(reference, _as_array(candidates[name](*args, **kwargs)), rtol, atol):
                raise ValueError(f"choose_fastest: candidate {name!r} disagrees with {names[0]!r}")
    stats = {name: summarize(time_calls(fn, args, kwargs, warmup, repeats)) for name, fn in candidates.items()}
    order = sorted(stats, key=lambda name: stats[name].median)
    best = stats[order[0]].median
    rows = [
        {"name": name, "median_ms": stats[name].median * 1e3, "p10_ms": stats[name].p10 * 1e3,
         "p90_ms": stats[name].p90 * 1e3, "relative": stats[name].median / best if best > 0 else 1.0}
        for name in order
    ]
    return order[0], TimingTable(rows=rows, winner=order[0], platform=describe())
