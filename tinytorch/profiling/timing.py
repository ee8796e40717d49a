"""Wall-clock latency of a function: warm-up, repeats, and robust summary statistics."""

import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, repr=False)
class LatencyStats:
    """Summary of repeated timings, in seconds (`samples` keeps every measurement)."""

    median: float
    p10: float
    p90: float
    mean: float
    std: float
    min: float
    samples: tuple

    def __str__(self):
        ms = lambda s: f"{s * 1e3:.3f}"
        return (
            f"median {ms(self.median)} ms (p10 {ms(self.p10)}, p90 {ms(self.p90)}; "
            f"mean {ms(self.mean)} +- {ms(self.std)}; n={len(self.samples)})"
        )

    __repr__ = __str__


def check_counts(op, warmup, repeats):
    """Raise a ValueError naming `op` unless warmup >= 0 and repeats >= 1 are ints."""
    for name, value, low in (("warmup", warmup, 0), ("repeats", repeats, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{op}: {name} must be an int >= {low}, got {value!r}")


def summarize(samples):
    """LatencyStats of a sequence of timings in seconds."""
    times = np.asarray(samples, dtype=np.float64)
    if times.ndim != 1 or times.size == 0:
        raise ValueError(f"summarize: expected a non-empty 1-D sequence of timings, got shape {times.shape}")
    p10, median, p90 = np.percentile(times, [10, 50, 90])
    return LatencyStats(
        median=float(median), p10=float(p10), p90=float(p90), mean=float(times.mean()),
        std=float(times.std(ddof=1)) if times.size > 1 else 0.0, min=float(times.min()),
        samples=tuple(float(t) for t in times),
    )


def time_calls(fn, args=(), kwargs=None, warmup=3, repeats=20):
    """List of `repeats` durations (seconds) of `fn(*args, **kwargs)` after `warmup` untimed calls."""
    check_counts("measure_latency", warmup, repeats)
    if not callable(fn):
        raise TypeError(f"measure_latency: fn must be callable, got {type(fn).__name__}")
    kwargs = kwargs or {}
    # Warm-up fills caches and triggers lazy allocations that a steady state would not pay.
    for _ in range(warmup):
        fn(*args, **kwargs)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return times


def measure_latency(fn, *args, warmup=3, repeats=20, **kwargs):
    """Time `fn(*args, **kwargs)`: median, p10/p90, mean and std over `repeats` calls.

    The median is the headline figure: one slow call (garbage collection, another process)
    moves the mean but barely the median.
    """
    return summarize(time_calls(fn, args, kwargs, warmup, repeats))


def best_time(fn, *args, repeats=5, budget=0.05, max_repeats=200):
    """Seconds taken by the fastest of several calls to `fn(*args)`: the timing helper of
    every notebook (they print it in ms or ns as they need).

    At least `repeats` calls; quick ones are repeated until they add up to `budget` seconds
    (at most `max_repeats` calls), so the figure is never a single timer tick. The minimum is
    the figure least disturbed by whatever else the machine does; `measure_latency` gives the
    spread too.
    """
    check_counts("best_time", 0, repeats)
    if not callable(fn):
        raise TypeError(f"best_time: fn must be callable, got {type(fn).__name__}")
    times = []
    while len(times) < repeats or (sum(times) < budget and len(times) < max_repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times)
