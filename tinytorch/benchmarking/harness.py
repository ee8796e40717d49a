"""benchmark(fn): warm-up, repeats, median with its spread and a confidence interval."""

from dataclasses import dataclass

import numpy as np

from ..profiling.timing import time_calls
from .stats import confidence_interval


@dataclass(frozen=True, repr=False)
class Measurement:
    """Timings of repeated calls, in seconds. The interval is for the median (bootstrap) or
    the mean ('t'), at `confidence`."""

    median: float
    q1: float
    q3: float
    mean: float
    std: float
    ci_low: float
    ci_high: float
    confidence: float
    method: str
    samples: tuple

    @property
    def iqr(self):
        """Interquartile range q3 - q1: the spread of the middle half of the timings."""
        return self.q3 - self.q1

    def to_dict(self):
        return {"median_s": self.median, "q1_s": self.q1, "q3_s": self.q3, "iqr_s": self.iqr, "mean_s": self.mean,
                "std_s": self.std, "ci_low_s": self.ci_low, "ci_high_s": self.ci_high,
                "confidence": self.confidence, "ci_method": self.method, "repeats": len(self.samples)}

    def __str__(self):
        ms = lambda s: f"{s * 1e3:.4g}"
        what = "median" if self.method == "bootstrap" else "mean"
        return (f"median {ms(self.median)} ms, IQR {ms(self.iqr)} ms, {self.confidence:.0%} CI of the {what} "
                f"[{ms(self.ci_low)}, {ms(self.ci_high)}] ms (n={len(self.samples)})")

    __repr__ = __str__


def measurement_of(samples, confidence=0.95, method="bootstrap", seed=0, resamples=2000):
    """Measurement summarizing timings already taken (seconds); `resamples` is the bootstrap's."""
    values = np.asarray(samples, dtype=np.float64)
    low, high = confidence_interval(values, confidence, method, seed, resamples)
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return Measurement(
        median=float(median), q1=float(q1), q3=float(q3), mean=float(values.mean()), std=float(values.std(ddof=1)),
        ci_low=low, ci_high=high, confidence=confidence, method=method, samples=tuple(float(v) for v in values),
    )


def benchmark(fn, *args, warmup=3, repeats=30, confidence=0.95, method="bootstrap", seed=0, **kwargs):
    """Measurement of `fn(*args, **kwargs)` over `repeats` timed calls after `warmup` untimed ones."""
    if isinstance(repeats, (int, np.integer)) and not isinstance(repeats, bool) and repeats < 2:
        raise ValueError(f"benchmark: repeats must be >= 2 for a spread and an interval, got {repeats}")
    return measurement_of(time_calls(fn, args, kwargs, warmup, repeats), confidence, method, seed)
