"""Observers: watch activations during calibration and choose their quantization range."""

import numpy as np

from ..seams import replaced
from .qparams import _array, calculate_qparams


class MinMaxObserver:
    """Range = the smallest and largest value seen over all calibration batches."""

    def __init__(self):
        self.min_val, self.max_val = np.inf, -np.inf

    def __call__(self, x):
        array = _array(x, type(self).__name__)
        if array.size:
            self.min_val = min(self.min_val, float(array.min()))
            self.max_val = max(self.max_val, float(array.max()))
        return x

    @property
    def observed(self):
        return self.min_val <= self.max_val

    def range(self):
        return self.min_val, self.max_val

    def calculate_qparams(self, symmetric=False, num_bits=8):
        """(scale, zero_point) for the observed range."""
        if not self.observed:
            raise RuntimeError(f"{type(self).__name__}: no data observed; run calibration batches first")
        # module 15's calculate_qparams, the learner's after tinytorch.mine.use()
        scale, zero_point = replaced.get("calculate_qparams", calculate_qparams)(*self.range(), symmetric, num_bits)
        return float(scale), int(zero_point)

    def __repr__(self):
        return f"{type(self).__name__}(min_val={self.min_val:.4g}, max_val={self.max_val:.4g})"


class PercentileObserver(MinMaxObserver):
    """Range = the widest of each batch's low and high percentiles.

    Within a batch, the rare extreme values are clipped, which gives the common ones a finer
    scale; across batches the widest range is kept, so a batch whose values are all larger
    is not clipped. Memory stays constant however many batches are seen.
    """

    def __init__(self, percentile=99.9):
        super().__init__()
        if not 50 < percentile <= 100:
            raise ValueError(f"PercentileObserver: percentile must be in (50, 100], got {percentile!r}")
        self.percentile = percentile
        self._lows, self._highs = [], []

    def __call__(self, x):
        super().__call__(x)
        array = _array(x, type(self).__name__)
        if array.size:
            low, high = np.percentile(array, [100 - self.percentile, self.percentile])
            self._lows.append(float(low))
            self._highs.append(float(high))
        return x

    def range(self):
        return min(self._lows), max(self._highs)


OBSERVERS = {"minmax": MinMaxObserver, "percentile": PercentileObserver}
