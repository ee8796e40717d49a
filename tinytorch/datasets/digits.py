"""The 8x8 handwritten digits (UCI, via scikit-learn), shipped inside the package.

Attribution and licence (CC BY 4.0): LICENSE-digits.txt next to this file.
"""

import io
from collections import namedtuple
from importlib import resources

import numpy as np

Digits = namedtuple("Digits", ["x_train", "y_train", "x_test", "y_test"])

_FILE = "digits.npz"
_cache = None


def _load_cached():
    """Read and convert the archive once; later calls reuse these arrays."""
    global _cache
    if _cache is None:
        # read_bytes works whether the package is a directory, a zip or a Pyodide wheel.
        raw = resources.files(__package__).joinpath(_FILE).read_bytes()
        with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
            _cache = Digits(
                x_train=archive["x_train"].astype(np.float32) / np.float32(16),
                y_train=archive["y_train"].astype(np.int64),
                x_test=archive["x_test"].astype(np.float32) / np.float32(16),
                y_test=archive["y_test"].astype(np.int64),
            )
    return _cache


def load_digits():
    """All 1,797 8x8 digit images, split 1,437 train / 360 test (fixed, stratified).

    Returns `Digits(x_train, y_train, x_test, y_test)`: images are float32 in [0, 1] with
    shape (N, 8, 8); labels are int64 in 0..9. Flatten for an MLP with
    `x.reshape(len(x), -1)` (N, 64); add a channel for a CNN with `x[:, None]` (N, 1, 8, 8).
    Each call returns fresh copies, so modifying them in place is safe.
    """
    # Copies (about 0.5 MB) rather than read-only views: learners normalise in place.
    return Digits(*(array.copy() for array in _load_cached()))
