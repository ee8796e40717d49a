"""The module 08 checks pass on correct data-loading code and fail, with a useful report, on an
unsolved stub and on typical mistakes."""

import math

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import Tensor
from tinytorch.checks import CheckFailed
from tinytorch.checks import data as checks
from tinytorch.random import rng_of

from solutions import load_solution


# ------------------------------------------------------------------ correct solutions

# The notebook's own solutions, so the course as shipped is what passes the checks.
TensorDataset, collate, shift_images = load_solution("08_dataloader", "TensorDataset", "collate", "shift_images")


def make_loader(draw_each_epoch=True, drop_last_rule=True, fast=True, partial=True, validate=True, seeded=True):
    class DataLoader:
        def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, generator=None, collate_fn=None):
            if validate and (not isinstance(batch_size, int) or batch_size <= 0):
                raise ValueError("batch_size must be a positive int")
            self.dataset, self.batch_size, self.shuffle = dataset, batch_size, shuffle
            self.drop_last, self.generator, self.collate_fn = drop_last and drop_last_rule, generator, collate_fn
            self.order = rng_of(generator).permutation(len(dataset)) if shuffle and not draw_each_epoch else None

        def __len__(self):
            n = len(self.dataset)
            return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

        def __iter__(self):
            n = len(self.dataset)
            if self.shuffle:
                if not seeded:
                    order = np.random.permutation(n)
                else:
                    order = rng_of(self.generator).permutation(n) if draw_each_epoch else self.order
            else:
                order = np.arange(n)
            count = len(self) if partial else n // self.batch_size
            for start in range(0, count * self.batch_size, self.batch_size):
                index = order[start:start + self.batch_size]
                if fast and self.collate_fn is None and hasattr(self.dataset, "tensors"):
                    yield [Tensor(t.data[index]) for t in self.dataset.tensors]
                else:
                    yield (self.collate_fn or collate)([self.dataset[int(i)] for i in index])

    return DataLoader


def shift_images_loop(images, dy, dx):
    out = np.zeros_like(images)
    for n in range(len(images)):
        for i in range(images.shape[1]):
            for j in range(images.shape[2]):
                si, sj = i - dy[n], j - dx[n]
                if 0 <= si < images.shape[1] and 0 <= sj < images.shape[2]:
                    out[n, i, j] = images[n, si, sj]
    return out


class StubDataset:
    def __init__(self, *tensors):
        raise NotImplementedError("Exercise: store the tensors")


class StubLoader:
    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, generator=None, collate_fn=None):
        pass

    def __len__(self):
        raise NotImplementedError("Exercise: count the batches")

    def __iter__(self):
        raise NotImplementedError("Exercise: yield batches")


@pytest.mark.parametrize("check, solution, unsolved", [
    (checks.check_tensor_dataset, TensorDataset, StubDataset),
    (checks.check_collate, collate, None),  # None: the shared stub function
    (checks.check_dataloader, make_loader(), StubLoader),
    (checks.check_shift_images, shift_images, None),
])
def test_solution_passes_and_stub_fails(check, solution, unsolved, passes_and_stub_fails):
    passes_and_stub_fails(check, solution, unsolved)


def test_the_pixel_loop_passes_too():
    checks.check_shift_images(shift_images_loop)


def test_the_library_passes_its_own_checks():
    checks.check_tensor_dataset(tt.data.TensorDataset)
    checks.check_collate(tt.data.default_collate)


# ------------------------------------------------------------------ typical mistakes

def test_dataset_without_size_validation_fails():
    class Lax(TensorDataset):
        def __init__(self, *tensors):
            self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)

    with pytest.raises(CheckFailed, match="expected ValueError"):
        checks.check_tensor_dataset(Lax)


def test_dataset_whose_len_counts_tensors_fails():
    class Wrong(TensorDataset):
        def __len__(self):
            return len(self.tensors)

    with pytest.raises(CheckFailed, match="len"):
        checks.check_tensor_dataset(Wrong)


def test_collate_that_makes_int_labels_float_fails():
    def floats(samples):
        out = collate(samples)
        if isinstance(out, list):
            return [Tensor(t.data.astype(np.float32)) for t in out]
        return Tensor(out.data.astype(np.float32))

    with pytest.raises(CheckFailed, match="dtype"):
        checks.check_collate(floats)


def test_collate_that_does_not_transpose_fields_fails():
    with pytest.raises(CheckFailed):
        checks.check_collate(lambda samples: [collate(list(s)) if isinstance(s, tuple) else s for s in samples])


@pytest.mark.parametrize("mistake, message", [
    (dict(draw_each_epoch=False), "epoch 2"),
    (dict(drop_last_rule=False), "drop_last"),
    (dict(partial=False), "batches"),
    (dict(fast=False), "fast path"),
    (dict(validate=False), "batch_size=0"),
    (dict(seeded=False), "shuffle=True"),
])
def test_dataloader_mistakes_fail(mistake, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_dataloader(make_loader(**mistake))


def test_shift_in_the_wrong_direction_fails_with_a_hint():
    with pytest.raises(CheckFailed, match="opposite way"):
        checks.check_shift_images(lambda images, dy, dx: shift_images(images, -dy, -dx))


def test_shift_with_np_roll_wraps_around_and_fails():
    def rolled(images, dy, dx):
        return np.stack([np.roll(im, (int(a), int(b)), axis=(0, 1)) for im, a, b in zip(images, dy, dx)])

    with pytest.raises(CheckFailed, match="wraps around"):
        checks.check_shift_images(rolled)


def test_shift_in_place_fails():
    def in_place(images, dy, dx):
        images[:] = shift_images(images, dy, dx)
        return images

    with pytest.raises(CheckFailed, match="in place"):
        checks.check_shift_images(in_place)


def test_dataloader_check_leaves_the_default_generator_alone():
    tt.manual_seed(123)
    expected = tt.randn(3).data
    tt.manual_seed(123)
    checks.check_dataloader(make_loader())
    np.testing.assert_array_equal(tt.randn(3).data, expected)
