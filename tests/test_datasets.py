"""tinytorch.datasets: the shipped digits and the seeded synthetic generators."""

import io
import subprocess
import sys
from importlib import resources

import numpy as np
import pytest

from tinytorch.datasets import (
    Digits,
    load_digits,
    make_blobs,
    make_spirals,
    make_xor,
    xor_truth_table,
)


def _stored():
    raw = resources.files("tinytorch.datasets").joinpath("digits.npz").read_bytes()
    with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


# ----------------------------------------------------------------------------- digits


def test_digits_shapes_dtypes_and_range():
    d = load_digits()
    assert isinstance(d, Digits)
    assert d.x_train.shape == (1437, 8, 8) and d.x_test.shape == (360, 8, 8)
    assert d.y_train.shape == (1437,) and d.y_test.shape == (360,)
    assert d.x_train.dtype == d.x_test.dtype == np.float32
    assert d.y_train.dtype == d.y_test.dtype == np.int64
    for x in (d.x_train, d.x_test):
        assert x.min() == 0.0 and x.max() == 1.0
        assert np.array_equal(x * 16, np.round(x * 16))  # scaled from integers 0..16
    assert set(np.unique(np.concatenate([d.y_train, d.y_test]))) == set(range(10))


def test_digits_split_is_stratified():
    d = load_digits()
    train, test = np.bincount(d.y_train, minlength=10), np.bincount(d.y_test, minlength=10)
    assert test.min() >= 35 and test.max() <= 37  # 360 / 10 classes
    # Each class is split 80/20 to within one image.
    assert np.all(np.abs(test - (train + test) * 360 / 1797) <= 1)


def test_digits_split_is_a_partition_of_all_1797():
    stored = _stored()
    both = np.concatenate([stored["train_idx"], stored["test_idx"]])
    assert np.array_equal(np.sort(both), np.arange(1797))


def test_digits_labels_match_images():
    # Nearest class mean on the test set only works if images and labels are aligned.
    d = load_digits()
    xtr, xte = d.x_train.reshape(len(d.x_train), -1), d.x_test.reshape(len(d.x_test), -1)
    means = np.stack([xtr[d.y_train == c].mean(0) for c in range(10)])
    pred = np.argmin(((xte[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert (pred == d.y_test).mean() > 0.85


def test_digits_reshape_recipes():
    d = load_digits()
    assert d.x_train.reshape(len(d.x_train), -1).shape == (1437, 64)
    assert d.x_test[:, None].shape == (360, 1, 8, 8)


def test_digits_callers_cannot_corrupt_the_cache():
    first = load_digits()
    first.x_train[:] = -1.0
    first.y_test[:] = 99
    second = load_digits()
    assert second.x_train.min() == 0.0 and second.y_test.max() == 9
    assert not np.shares_memory(first.x_train, second.x_train)


def test_digits_file_is_small():
    size = len(resources.files("tinytorch.datasets").joinpath("digits.npz").read_bytes())
    assert size < 100_000


def test_digits_match_scikit_learn_source():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    source = sklearn_datasets.load_digits()
    stored, d = _stored(), load_digits()
    for part, x, y in (("train", d.x_train, d.y_train), ("test", d.x_test, d.y_test)):
        idx = stored[f"{part}_idx"]
        assert np.array_equal(x * 16, source.images[idx])
        assert np.array_equal(y, source.target[idx])


def test_library_does_not_import_sklearn():
    code = (
        "import sys, tinytorch.datasets as d; d.load_digits(); d.make_blobs(); "
        "assert 'sklearn' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------------------- generators

GENERATORS = [make_xor, make_blobs, make_spirals]


@pytest.mark.parametrize("make", GENERATORS)
@pytest.mark.parametrize("n", [1, 7, 200, 301])
def test_generator_shapes_and_dtypes(make, n):
    X, y = make(n=n)
    assert X.shape == (n, 2) and X.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.isfinite(X).all()


@pytest.mark.parametrize("make", GENERATORS)
def test_generator_same_seed_same_data_different_seed_differs(make):
    X0, y0 = make(seed=0)
    X0b, y0b = make(seed=0)
    X1, y1 = make(seed=1)
    assert np.array_equal(X0, X0b) and np.array_equal(y0, y0b)
    assert not np.array_equal(X0, X1)


@pytest.mark.parametrize("make", GENERATORS)
def test_generator_output_is_shuffled(make):
    _, y = make()
    assert not np.all(np.diff(y) >= 0)


def test_xor_truth_table():
    X, y = xor_truth_table()
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert np.array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    assert np.array_equal(y, [0, 1, 1, 0])
    X[0] = 5  # returns copies
    assert xor_truth_table()[0][0, 0] == 0


def test_xor_labels_are_xor_of_the_corner():
    X, y = make_xor(n=200, noise=0.0)
    assert np.array_equal(y, X[:, 0].astype(int) ^ X[:, 1].astype(int))
    assert np.array_equal(np.bincount(y), [100, 100])
    X, y = make_xor(n=400, noise=0.1, seed=3)
    corner = (X > 0.5).astype(int)
    assert np.array_equal(y, corner[:, 0] ^ corner[:, 1])


def test_xor_is_not_linearly_separable():
    X, y = make_xor(n=400)
    assert _least_squares_accuracy(X, y) < 0.8


def _least_squares_accuracy(X, y):
    """Accuracy of a linear classifier fitted by least squares to one-hot targets."""
    A = np.hstack([X.astype(np.float64), np.ones((len(X), 1))])
    targets = np.eye(y.max() + 1)[y]
    W, *_ = np.linalg.lstsq(A, targets, rcond=None)
    return (np.argmax(A @ W, axis=1) == y).mean()


def _perceptron_converges(X, y, epochs=100):
    A = np.hstack([X.astype(np.float64), np.ones((len(X), 1))])
    sign = np.where(y == 1, 1.0, -1.0)
    w = np.zeros(A.shape[1])
    for _ in range(epochs):
        mistakes = 0
        for a, s in zip(A, sign):
            if s * (a @ w) <= 0:
                w += s * a
                mistakes += 1
        if mistakes == 0:
            return True
    return False


@pytest.mark.parametrize("seed", range(5))
def test_two_blobs_are_linearly_separable(seed):
    X, y = make_blobs(n=500, centers=2, seed=seed)
    assert np.array_equal(np.bincount(y), [250, 250])
    assert _least_squares_accuracy(X, y) == 1.0
    assert _perceptron_converges(X, y)


@pytest.mark.parametrize("centers", [3, 4, 6])
def test_many_blobs_are_separable_by_nearest_center(centers):
    X, y = make_blobs(n=600, centers=centers, std=0.6)
    means = np.stack([X[y == c].mean(0) for c in range(centers)])
    nearest = np.argmin(((X[:, None] - means[None]) ** 2).sum(-1), axis=1)
    assert np.array_equal(nearest, y)


def test_blobs_are_truncated_at_three_std():
    X, y = make_blobs(n=2000, centers=2, std=0.5)
    for c in range(2):
        spread = np.linalg.norm(X[y == c] - X[y == c].mean(0), axis=1)
        assert spread.max() < 3 * 0.5 + 0.1
        assert 0.4 < X[y == c].std(0).mean() < 0.55


def test_blobs_std_zero_collapses_each_cluster():
    X, y = make_blobs(n=10, centers=2, std=0.0)
    assert len(np.unique(X, axis=0)) == 2


def test_spirals_balance_radius_and_difficulty():
    X, y = make_spirals(n=300, classes=3)
    assert np.array_equal(np.bincount(y), [100, 100, 100])
    assert np.linalg.norm(X, axis=1).max() <= 1.0 + 1e-6
    assert _least_squares_accuracy(X, y) < 0.7  # a linear model cannot fit it


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: make_xor(n=0), "make_xor: n must be >= 1, got 0"),
        (lambda: make_xor(n=-5), "make_xor: n must be >= 1, got -5"),
        (lambda: make_xor(noise=-0.1), "make_xor: noise must be >= 0, got -0.1"),
        (lambda: make_blobs(n=0), "make_blobs: n must be >= 1, got 0"),
        (lambda: make_blobs(centers=1), "make_blobs: centers must be >= 2, got 1"),
        (lambda: make_blobs(std=-1), "make_blobs: std must be >= 0, got -1"),
        (lambda: make_spirals(n=-1), "make_spirals: n must be >= 1, got -1"),
        (lambda: make_spirals(classes=1), "make_spirals: classes must be >= 2, got 1"),
        (lambda: make_spirals(noise=-0.2), "make_spirals: noise must be >= 0, got -0.2"),
        (lambda: make_spirals(noise=float("nan")), "make_spirals: noise must be >= 0"),
    ],
)
def test_generators_reject_bad_input(call, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        call()


def test_generators_reject_non_integer_counts():
    with pytest.raises(TypeError, match="make_spirals: n must be an int"):
        make_spirals(n=2.5)
