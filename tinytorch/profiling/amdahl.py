"""Amdahl's law: what speeding up one part of a run does for the whole run."""

import numpy as np


def amdahl_speedup(fraction, speedup):
    """Overall speedup when a `fraction` of the run time becomes `speedup` times faster.

    1 / ((1 - f) + f / s), elementwise and broadcasting over arrays (float64). The part left
    alone bounds the result: even s = inf gives only 1 / (1 - f).
    """
    fraction, speedup = np.asarray(fraction, dtype=np.float64), np.asarray(speedup, dtype=np.float64)
    return 1.0 / ((1.0 - fraction) + fraction / speedup)
