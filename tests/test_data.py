"""tinytorch.data: Dataset, TensorDataset, DataLoader and default collation."""

from collections import namedtuple

import numpy as np
import pytest

from tinytorch import random as tt_random
from tinytorch.data import DataLoader, Dataset, TensorDataset, default_collate, shift_images
from tinytorch.random import Generator
from tinytorch.tensor import Tensor


def make_dataset(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return TensorDataset(Tensor(x), Tensor(y))


def labels_per_batch(loader):
    return [batch[1].data.tolist() for batch in loader]


class Squares(Dataset):
    """A per-sample dataset: sample i is (array [i, i], i*i as a Python int)."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, index):
        return np.array([index, index], dtype=np.float32), index * index

    def __len__(self):
        return self.n


# ----------------------------------------------------------------------------- datasets


def test_dataset_is_abstract():
    class Incomplete(Dataset):
        def __getitem__(self, index):
            return index

    with pytest.raises(TypeError):
        Incomplete()


def test_tensor_dataset_indexing_and_length():
    ds = make_dataset(5)
    assert len(ds) == 5
    x, y = ds[2]
    assert isinstance(x, Tensor) and isinstance(y, Tensor)
    assert np.array_equal(x.data, [6, 7, 8]) and int(y.data) == 2


def test_tensor_dataset_accepts_arrays():
    ds = TensorDataset(np.zeros((4, 2), dtype=np.float32), np.arange(4, dtype=np.int64))
    assert all(isinstance(t, Tensor) for t in ds.tensors)
    assert ds.tensors[1].data.dtype == np.int64


def test_tensor_dataset_length_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r"\(5, 3\).*\(4,\)"):
        TensorDataset(Tensor(np.zeros((5, 3))), Tensor(np.zeros(4)))


@pytest.mark.parametrize("tensors", [(), (Tensor(np.float32(1.0)),)])
def test_tensor_dataset_needs_tensors_with_a_first_dim(tensors):
    with pytest.raises(ValueError, match="TensorDataset"):
        TensorDataset(*tensors)


# ----------------------------------------------------------------------------- loader basics


@pytest.mark.parametrize(
    "n, batch_size, drop_last, expected",
    [(10, 3, False, 4), (10, 3, True, 3), (9, 3, False, 3), (9, 3, True, 3), (2, 5, True, 0)],
)
def test_len_and_number_of_batches(n, batch_size, drop_last, expected):
    loader = DataLoader(make_dataset(n), batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == expected
    assert len(list(loader)) == expected


def test_batches_in_order_without_shuffle():
    loader = DataLoader(make_dataset(10), batch_size=4)
    assert labels_per_batch(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    x, y = next(iter(loader))
    assert isinstance(x, Tensor) and x.shape == (4, 3) and x.data.dtype == np.float32
    assert isinstance(y, Tensor) and y.shape == (4,) and y.data.dtype == np.int64
    assert np.array_equal(x.data[1], [3, 4, 5])


def test_drop_last_skips_short_batch():
    batches = labels_per_batch(DataLoader(make_dataset(10), batch_size=4, drop_last=True))
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_shuffle_covers_every_sample_once_per_epoch_and_epochs_differ():
    loader = DataLoader(make_dataset(50), batch_size=7, shuffle=True,
                        generator=Generator().manual_seed(0))
    epochs = [sum(labels_per_batch(loader), []) for _ in range(3)]
    for epoch in epochs:
        assert sorted(epoch) == list(range(50))
        assert epoch != list(range(50))
    assert epochs[0] != epochs[1] != epochs[2]


def test_shuffled_batches_keep_inputs_and_labels_aligned():
    loader = DataLoader(make_dataset(20), batch_size=6, shuffle=True,
                        generator=Generator().manual_seed(1))
    for x, y in loader:
        assert np.array_equal(x.data[:, 0], y.data * 3)


def test_equally_seeded_generators_give_identical_batches():
    a = DataLoader(make_dataset(30), batch_size=4, shuffle=True,
                   generator=Generator().manual_seed(42))
    b = DataLoader(make_dataset(30), batch_size=4, shuffle=True,
                   generator=Generator().manual_seed(42))
    c = DataLoader(make_dataset(30), batch_size=4, shuffle=True,
                   generator=Generator().manual_seed(43))
    for _ in range(2):  # also the second epoch
        first, second, third = labels_per_batch(a), labels_per_batch(b), labels_per_batch(c)
        assert first == second
        assert first != third


def test_default_generator_follows_manual_seed(monkeypatch):
    # Register the current state for restoring, so other tests see the global RNG untouched.
    monkeypatch.setattr(tt_random.default_generator, "rng", tt_random.default_generator.rng)
    loader = DataLoader(make_dataset(30), batch_size=5, shuffle=True)
    tt_random.manual_seed(7)
    first = labels_per_batch(loader)
    tt_random.manual_seed(7)
    assert labels_per_batch(loader) == first


def test_accepts_numpy_generator():
    a = DataLoader(make_dataset(12), batch_size=5, shuffle=True,
                   generator=np.random.default_rng(3))
    b = DataLoader(make_dataset(12), batch_size=5, shuffle=True,
                   generator=Generator().manual_seed(3))
    assert labels_per_batch(a) == labels_per_batch(b)


def test_rejects_wrong_generator_type():
    with pytest.raises(TypeError, match="generator"):
        DataLoader(make_dataset(), shuffle=True, generator=42)


@pytest.mark.parametrize("batch_size, error", [
    (0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError), ("4", TypeError),
])
def test_rejects_bad_batch_size(batch_size, error):
    with pytest.raises(error, match="DataLoader: batch_size must be a positive int"):
        DataLoader(make_dataset(), batch_size=batch_size)


def test_empty_dataset_yields_nothing():
    loader = DataLoader(make_dataset(0), batch_size=3, shuffle=True)
    assert len(loader) == 0 and list(loader) == []


# ----------------------------------------------------------------------------- fast path


def test_tensor_dataset_is_batched_without_per_sample_indexing(monkeypatch):
    ds = make_dataset(10)

    def per_sample(self, index):
        raise AssertionError("per-sample __getitem__ called on the fast path")

    monkeypatch.setattr(TensorDataset, "__getitem__", per_sample)
    loader = DataLoader(ds, batch_size=4, shuffle=True, generator=Generator().manual_seed(0))
    assert sum(len(y.data) for _, y in loader) == 10


def test_fast_path_matches_per_sample_collation():
    ds = make_dataset(23)
    fast = DataLoader(ds, batch_size=5, shuffle=True, generator=Generator().manual_seed(5))
    slow = DataLoader(ds, batch_size=5, shuffle=True, generator=Generator().manual_seed(5),
                      collate_fn=default_collate)
    for (fx, fy), (sx, sy) in zip(fast, slow, strict=True):
        assert np.array_equal(fx.data, sx.data) and fx.data.dtype == sx.data.dtype
        assert np.array_equal(fy.data, sy.data) and fy.data.dtype == sy.data.dtype


def test_batches_are_copies_of_the_dataset():
    ds = make_dataset(4)
    x, _ = next(iter(DataLoader(ds, batch_size=4)))
    x.data[:] = -1
    assert ds.tensors[0].data.min() == 0


def test_subclass_overriding_getitem_is_respected():
    class Doubled(TensorDataset):
        def __getitem__(self, index):
            x, y = super().__getitem__(index)
            return Tensor(x.data * 2), y

    ds = Doubled(np.ones((6, 2), dtype=np.float32), np.arange(6))
    x, _ = next(iter(DataLoader(ds, batch_size=3)))
    assert np.all(x.data == 2)


# ----------------------------------------------------------------------------- collation


def test_per_sample_dataset_collates_arrays_and_numbers():
    x, y = next(iter(DataLoader(Squares(5), batch_size=5)))
    assert x.shape == (5, 2) and x.data.dtype == np.float32
    assert np.array_equal(y.data, [0, 1, 4, 9, 16]) and y.data.dtype == np.int64


def test_default_collate_structures():
    assert default_collate([1.5, 2.0]).data.dtype == np.float32
    assert default_collate([True, False]).data.dtype == np.bool_
    batch = default_collate([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}])
    assert np.array_equal(batch["a"].data, [1, 2]) and batch["b"] == ["x", "y"]
    Pair = namedtuple("Pair", "left right")
    pair = default_collate([Pair(np.zeros(2), 0), Pair(np.ones(2), 1)])
    assert isinstance(pair, Pair) and pair.left.shape == (2, 2)
    stacked = default_collate([Tensor(np.zeros((2, 3))), Tensor(np.ones((2, 3)))])
    assert isinstance(stacked, Tensor) and stacked.shape == (2, 2, 3)


def test_custom_collate_fn_receives_sample_list():
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return samples

    batches = list(DataLoader(Squares(7), batch_size=3, collate_fn=collate))
    assert seen == [3, 3, 1]
    assert len(batches[2]) == 1 and batches[2][0][1] == 36  # batch is what collate returned


def test_digits_through_a_loader():
    from tinytorch.datasets import load_digits

    d = load_digits()
    ds = TensorDataset(d.x_train.reshape(len(d.x_train), -1), d.y_train)
    x, y = next(iter(DataLoader(ds, batch_size=64, shuffle=True,
                                generator=Generator().manual_seed(0))))
    assert x.shape == (64, 64) and x.data.dtype == np.float32
    assert y.shape == (64,) and y.data.dtype == np.int64


# ---------------------------------------------------------------- augmentation

def shifted_one_by_one(images, dy, dx):
    """The obvious per-image version: copy the part of each image that stays in the frame."""
    out = np.zeros_like(images)
    h, w = images.shape[1:]
    for n, (sy, sx) in enumerate(zip(dy, dx)):
        if abs(sy) < h and abs(sx) < w:
            out[n, max(sy, 0):h + min(sy, 0), max(sx, 0):w + min(sx, 0)] = \
                images[n, max(-sy, 0):h + min(-sy, 0), max(-sx, 0):w + min(-sx, 0)]
    return out


def test_shift_images_moves_each_image_by_its_own_offset():
    image = np.zeros((1, 3, 4), np.float32)
    image[0, 1, 1] = 1.0
    moved = shift_images(np.repeat(image, 3, axis=0), [1, 0, -1], [0, 2, -1])
    assert [tuple(np.argwhere(m)[0]) for m in moved] == [(2, 1), (1, 3), (0, 0)]  # down; right by 2; up-left
    assert moved.dtype == np.float32 and image[0, 1, 1] == 1.0  # a new array, input unchanged


@pytest.mark.parametrize("limit", [1, 3, 8, 50])
def test_shift_images_equals_shifting_one_image_at_a_time(limit):
    rng = np.random.default_rng(limit)
    images = rng.random((20, 5, 7))
    dy, dx = rng.integers(-limit, limit + 1, 20), rng.integers(-limit, limit + 1, 20)
    np.testing.assert_array_equal(shift_images(images, dy, dx), shifted_one_by_one(images, dy, dx))


def test_shift_images_by_the_full_size_gives_zeros_and_keeps_integer_dtypes():
    images = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4)
    moved = shift_images(images, np.array([4, -1000], np.int16), np.array([0, 0]))  # clipped to the size first
    assert moved.dtype == np.uint8 and not moved.any()
    assert shift_images(np.zeros((0, 4, 4)), [], []).shape == (0, 4, 4)


@pytest.mark.parametrize("images, dy, dx, message", [
    (np.zeros((2, 1, 4, 4)), [0, 0], [0, 0], r"expected images of shape \(N, H, W\), got \(2, 1, 4, 4\)"),
    (np.zeros((2, 4, 4)), [0, 0, 1], [0, 0],
     r"dy must hold one integer shift per image, shape \(2,\); got int(32|64) of shape \(3,\)"),  # int32 in Pyodide
    (np.zeros((2, 4, 4)), [0, 0], [0.5, 1.0], r"dx must hold one integer shift per image, shape \(2,\); got float64"),
])
def test_shift_images_errors_name_the_argument(images, dy, dx, message):
    with pytest.raises(ValueError, match="shift_images: " + message):
        shift_images(images, dy, dx)
