"""Confidence intervals for timings: Student's t (for the mean) and bootstrap (any statistic).

No SciPy in the browser, so the t quantile is computed here: Student's t CDF has a finite
closed form for integer degrees of freedom, which bisection inverts to full precision.
"""

import math

import numpy as np


def t_cdf_two_sided(t, df):
    """P(|T| < t) for Student's t with integer df >= 1 (closed-form series, t >= 0)."""
    theta = math.atan(t / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    if df % 2 == 1:
        total, term = 0.0, math.cos(theta)
        for k in range(1, (df - 1) // 2 + 1):  # cos + (2/3) cos^3 + (2*4)/(3*5) cos^5 + ...
            total += term
            term *= c2 * (2 * k) / (2 * k + 1)
        return (2 / math.pi) * (theta + math.sin(theta) * total)
    total, term = 0.0, 1.0
    for k in range(1, df // 2 + 1):  # 1 + (1/2) cos^2 + (1*3)/(2*4) cos^4 + ...
        total += term
        term *= c2 * (2 * k - 1) / (2 * k)
    return math.sin(theta) * total


def t_quantile(p, df):
    """The p-quantile (0.5 <= p < 1) of Student's t with integer df, by bisection on the CDF."""
    if not 0.5 <= p < 1:
        raise ValueError(f"t_quantile: p must be in [0.5, 1), got {p!r}")
    if isinstance(df, bool) or not isinstance(df, (int, np.integer)) or df < 1:
        raise ValueError(f"t_quantile: df must be an int >= 1, got {df!r}")
    target = 2 * p - 1  # P(|T| < t)
    low, high = 0.0, 1.0
    while t_cdf_two_sided(high, df) < target:
        high *= 2
    for _ in range(100):
        middle = (low + high) / 2
        if t_cdf_two_sided(middle, df) < target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _check(samples, confidence, op):
    values = np.asarray(samples, dtype=np.float64)
    if values.ndim != 1 or values.size < 2:
        raise ValueError(f"{op}: need a 1-D sequence of at least 2 samples, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{op}: samples contain NaN or Inf")
    if not 0 < confidence < 1:
        raise ValueError(f"{op}: confidence must be in (0, 1), got {confidence!r}")
    return values


def t_interval(samples, confidence=0.95):
    """(low, high) for the mean: mean +- t * s / sqrt(n). Assumes roughly normal samples."""
    values = _check(samples, confidence, "t_interval")
    n = values.size
    half = t_quantile(0.5 + confidence / 2, n - 1) * values.std(ddof=1) / math.sqrt(n)
    mean = float(values.mean())
    return float(mean - half), float(mean + half)


def bootstrap_interval(samples, confidence=0.95, statistic=np.median, resamples=2000, seed=0):
    """(low, high) percentile bootstrap interval of `statistic` (default: the median).

    Resamples the samples with replacement `resamples` times (one vectorized draw, seeded so
    the interval is reproducible) and takes the middle `confidence` share of the statistic.
    Makes no normality assumption, which suits skewed timing distributions.
    """
    values = _check(samples, confidence, "bootstrap_interval")
    if isinstance(resamples, bool) or not isinstance(resamples, (int, np.integer)) or resamples < 1:
        raise ValueError(f"bootstrap_interval: resamples must be an int >= 1, got {resamples!r}")
    picks = np.random.default_rng(seed).integers(0, values.size, size=(resamples, values.size))
    estimates = statistic(values[picks], axis=1)  # (resamples,)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(estimates, [tail, 100 - tail])
    return float(low), float(high)


def confidence_interval(samples, confidence=0.95, method="bootstrap", seed=0, resamples=2000):
    """(low, high): bootstrap interval of the median (from `resamples` resamples), or ('t') t
    interval of the mean."""
    if method == "bootstrap":
        return bootstrap_interval(samples, confidence, resamples=resamples, seed=seed)
    if method == "t":
        return t_interval(samples, confidence)
    raise ValueError(f"confidence_interval: method must be 'bootstrap' or 't', got {method!r}")
