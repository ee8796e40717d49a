"""Small seeded 2-D classification problems: XOR, blobs and spirals.

Each `make_*` returns `(X, y)`: X float32 of shape (n, 2), y int64 class labels, in shuffled
order. The same seed always gives the same data.
"""

import numpy as np

from .sequences import _check_int

_CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
_XOR_LABELS = np.array([0, 1, 1, 0], dtype=np.int64)


def _check_scale(func, name, value):
    value = float(value)
    if not value >= 0:  # also rejects NaN
        raise ValueError(f"{func}: {name} must be >= 0, got {value}")
    return value


def _split(n, parts):
    """Sizes of `parts` groups totalling n, differing by at most one."""
    return [n // parts + (i < n % parts) for i in range(parts)]


def _shuffled(rng, X, y):
    order = rng.permutation(len(y))
    return X[order].astype(np.float32), y[order].astype(np.int64)


def xor_truth_table():
    """The four XOR inputs (0,0), (0,1), (1,0), (1,1) as float32 (4, 2) and labels [0, 1, 1, 0]."""
    return _CORNERS.copy(), _XOR_LABELS.copy()


def make_xor(n=200, noise=0.1, seed=0):
    """n points in four Gaussian clusters at the corners of the unit square; label = x0 XOR x1.

    `noise` is the standard deviation of each cluster. Not linearly separable: a single
    linear layer cannot fit it, one hidden layer can.
    """
    n = _check_int("make_xor", "n", n, 1)
    noise = _check_scale("make_xor", "noise", noise)
    rng = np.random.default_rng(seed)
    corner = np.repeat(np.arange(4), _split(n, 4))
    X = _CORNERS[corner] + rng.normal(0.0, noise, size=(n, 2))
    return _shuffled(rng, X, _XOR_LABELS[corner])


def make_blobs(n=200, centers=2, std=0.5, seed=0):
    """n points in `centers` round clusters of standard deviation `std`.

    The centers sit evenly on a circle (rotated by a seeded random angle), 4 apart from their
    neighbours, and every point lies within 3 * std of its own center (samples further out are
    redrawn). So with std < 2/3 (default 0.5) the classes are linearly separable with a margin
    of at least 2 - 3 * std on each side: a perceptron reaches 100 % on two centers. Larger
    `std` lets the clusters overlap.
    """
    n = _check_int("make_blobs", "n", n, 1)
    k = _check_int("make_blobs", "centers", centers, 2)
    std = _check_scale("make_blobs", "std", std)
    rng = np.random.default_rng(seed)
    radius = 2.0 / np.sin(np.pi / k)  # neighbouring centers are 2 * radius * sin(pi/k) = 4 apart
    angles = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(k) / k
    means = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    y = np.repeat(np.arange(k), _split(n, k))
    offsets = rng.normal(0.0, std, size=(n, 2))
    # Truncate the Gaussian by redrawing: clipping instead would pile points on a ring.
    while True:
        far = np.linalg.norm(offsets, axis=1) > 3 * std
        if not far.any():
            break
        offsets[far] = rng.normal(0.0, std, size=(int(far.sum()), 2))
    return _shuffled(rng, means[y] + offsets, y)


def make_spirals(n=300, classes=3, noise=0.2, seed=0):
    """n points on `classes` interleaved spiral arms (the CS231n spiral), radius up to 1.

    Each arm turns through 4 radians; `noise` is the standard deviation of the angle jitter.
    Needs a non-linear model.
    """
    n = _check_int("make_spirals", "n", n, 1)
    classes = _check_int("make_spirals", "classes", classes, 2)
    noise = _check_scale("make_spirals", "noise", noise)
    rng = np.random.default_rng(seed)
    sizes = _split(n, classes)
    radius = np.concatenate([np.linspace(0.0, 1.0, m) for m in sizes])
    theta = np.concatenate([np.linspace(4.0 * c, 4.0 * (c + 1), m) for c, m in enumerate(sizes)])
    theta = theta + rng.normal(0.0, noise, size=n)
    X = radius[:, None] * np.stack([np.sin(theta), np.cos(theta)], axis=1)
    return _shuffled(rng, X, np.repeat(np.arange(classes), sizes))
