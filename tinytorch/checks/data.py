"""Checks for module 08 (data loading): the learner's `TensorDataset`, `collate`, `DataLoader`
and a batch-vectorized image shift, each compared with `tinytorch.data` on varied inputs and
edge cases."""

import time

import numpy as np

from .. import random as _random
from .. import seams
from ..data import DataLoader as _LibraryLoader
from ..data import TensorDataset as _LibraryDataset
from ..data import default_collate
from ..tensor import Tensor
from ..course import registry
from .core import add_hints, assert_close, expect_error, fail, passed, run_learner

# Progressive hints, one tier at a time (`tinytorch.checks.hint(name)`, or a repeated failure):
# the idea, the shapes, the formula in words. Never the code.
add_hints({
    'TensorDataset': (
        'a dataset of several tensors that share their first dimension; item i is the i-th row of each',
        'all tensors need the same length along dim 0 (ValueError otherwise)',
        'indexing returns a tuple with one row per tensor; the length is the size of the first dimension',
    ),
    'collate': (
        'turn a list of samples into one batch: stack like with like',
        'a list of tuples becomes a tuple of batches (collate each field); arrays and tensors gain a leading batch axis',
        'recurse into tuples and lists field by field; stack arrays and tensors; Python ints become int64 and floats float32',
    ),
    'DataLoader': (
        "a loader yields batches of indices' samples, in order or shuffled, the last batch possibly short",
        'the number of batches is n divided by batch_size, rounded down with drop_last and up otherwise',
        "shuffle with the loader's generator (a permutation of range(n)), slice it into consecutive batches, collate each",
    ),
    'shift_images': (
        'shift each image by its own (dy, dx) and fill the uncovered border with zeros, in one vectorized read',
        'pad every image by the largest shift, then each output pixel reads one padded pixel: row index minus dy plus the pad',
        'out[n, i, j] = padded[n, i - dy[n] + m, j - dx[n] + m] with m the largest |shift|',
    ),
})

exercise = registry.module("08_dataloader", "DataLoader")


def _same_tensor(name, case, got, expected, hint=None):
    """`got` is a Tensor with the dtype, shape and values of the Tensor `expected`."""
    if not isinstance(got, Tensor):
        fail(name, case, f"expected a tinytorch.Tensor, got {type(got).__name__}", hint or "wrap arrays: Tensor(array)")
    if got.dtype != expected.dtype:
        fail(name, case, f"expected dtype {expected.dtype}, got {got.dtype}",
             "keep each tensor's dtype: labels stay int64, images float32")
    assert_close(name, case, got, expected, hint, atol=0, rtol=0)


def _same_fields(name, case, got, expected, hint=None):
    """`got` is a tuple or list of Tensors equal, field by field, to the list/tuple `expected`."""
    if not isinstance(got, (tuple, list)):
        fail(name, case, f"expected a tuple or list of {len(expected)} Tensors, got {type(got).__name__}", hint)
    if len(got) != len(expected):
        fail(name, case, f"expected {len(expected)} fields, got {len(got)}", hint)
    for i, (g, e) in enumerate(zip(got, expected)):
        _same_tensor(name, f"{case}, field {i}", g, e, hint)


def _rng():
    return np.random.default_rng(8)


# ---------------------------------------------------------------------- TensorDataset


@exercise("TensorDataset", seam="TensorDataset")
def check_tensor_dataset(TensorDataset):
    """TensorDataset(*tensors): ds[i] is the tuple (t[i] for each tensor), len(ds) the shared
    first dimension; `.tensors` holds them as Tensors; ValueError if the sizes differ."""
    name = "TensorDataset"
    rng = _rng()
    x = rng.standard_normal((5, 3)).astype(np.float32)
    y = np.arange(5) % 2
    images = rng.random((4, 2, 2)).astype(np.float32)
    cases = [
        ("x (5, 3) and y (5,)", (Tensor(x), Tensor(y)), [0, 4, -1, 2]),
        ("one tensor (4, 2, 2)", (Tensor(images),), [0, 3, -2]),
        ("three tensors, NumPy arrays", (x, y, np.arange(5.0)), [1, -5]),
        ("a single sample (1, 3)", (Tensor(x[:1]), Tensor(y[:1])), [0, -1]),
    ]
    for case, tensors, indices in cases:
        ds = run_learner(name, case, TensorDataset, *tensors)
        ref = _LibraryDataset(*tensors)
        n = run_learner(name, case + ", len()", len, ds)
        if n != len(ref):
            fail(name, case, f"len() expected {len(ref)}, got {n}", "the size of the first dimension")
        stored = getattr(ds, "tensors", None)
        if not isinstance(stored, (tuple, list)) or len(stored) != len(tensors) or not all(isinstance(t, Tensor) for t in stored):
            fail(name, case, f"expected .tensors to be a tuple of {len(tensors)} Tensors, got {stored!r:.80}",
                 "self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)")
        for index in indices:
            got = run_learner(name, f"{case}, ds[{index}]", lambda: ds[index])
            _same_fields(name, f"{case}, ds[{index}]", got, ref[index], "return tuple(t[index] for t in self.tensors)")
    bad = [("sizes 5 and 4", (Tensor(x), Tensor(y[:4]))), ("sizes 4, 4 and 3", (Tensor(images), Tensor(y[:4]), Tensor(y[:3])))]
    for case, tensors in bad:
        expect_error(name, f"mismatched first dimensions ({case})", lambda: TensorDataset(*tensors), ValueError,
                      "check that every tensor has the same size in dim 0 and raise ValueError otherwise")
    passed(name, len(cases) + len(bad), [c for c, *_ in cases] + ["mismatched sizes raise ValueError"])


# ---------------------------------------------------------------------- collate


@exercise("collate", seam="collate")
def check_collate(collate):
    """collate(samples): a list of samples (Tensor, ndarray, int, float, or a tuple/list of
    those) stacked into a batch along a new first dimension, as `default_collate` does."""
    name = "collate"
    rng = _rng()
    hint = ("for a tuple sample, collate each field separately: [collate(list(f)) for f in zip(*samples)]; "
            "Tensors/arrays: np.stack; ints -> int64, floats -> float32")
    cases = [
        ("pairs (Tensor (3,), int)", [(Tensor(rng.standard_normal(3).astype(np.float32)), i % 3) for i in range(4)]),
        ("pairs (ndarray (2, 2), float)", [(rng.random((2, 2)).astype(np.float32), float(i) / 2) for i in range(3)]),
        ("bare Tensors (2, 3)", [Tensor(rng.standard_normal((2, 3)).astype(np.float32)) for _ in range(5)]),
        ("bare ints", [3, 1, 4, 1, 5]),
        ("bare floats", [0.5, -1.25]),
        ("triples (Tensor, Tensor, int)", [(Tensor(np.full(2, i, np.float32)), Tensor(np.int64(i)), i) for i in range(3)]),
        ("float64 arrays", [rng.standard_normal(4) for _ in range(2)]),
        ("batch of one (Tensor (3,), int)", [(Tensor(np.ones(3, np.float32)), 7)]),
    ]
    for case, samples in cases:
        got = run_learner(name, case, collate, list(samples))
        expected = default_collate(list(samples))
        if isinstance(expected, Tensor):
            _same_tensor(name, case, got, expected, hint)
        else:
            _same_fields(name, case, got, expected, hint)
    passed(name, len(cases), [c for c, _ in cases])


# ---------------------------------------------------------------------- DataLoader


class _CountingDataset:
    """A TensorDataset look-alike that counts per-sample `__getitem__` calls (the slow path)."""

    def __init__(self, *arrays):
        self.tensors = tuple(Tensor(a) for a in arrays)
        self.calls = 0

    def __getitem__(self, index):
        self.calls += 1
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class _ListDataset:
    """A dataset that is not made of tensors: (image array, label int) from a Python list."""

    def __init__(self, n):
        rng = np.random.default_rng(n)
        self.samples = [(rng.random((2, 2)).astype(np.float32), int(rng.integers(10))) for _ in range(n)]

    def __getitem__(self, index):
        return self.samples[index]

    def __len__(self):
        return len(self.samples)


def _epochs(loader, count, seed):
    """`count` epochs of batches from `loader`, with tinytorch's default generator seeded by
    `seed` (and given back its previous state afterwards, so the check changes no randomness)."""
    saved = _random.default_generator.rng
    _random.manual_seed(seed)
    try:
        return [list(loader) for _ in range(count)]
    finally:
        _random.default_generator.rng = saved


@exercise("DataLoader", seam="DataLoader")
def check_dataloader(DataLoader):
    """DataLoader(dataset, batch_size=1, shuffle=False, drop_last=False, generator=None,
    collate_fn=None): batches equal to `tinytorch.data.DataLoader`'s, epoch after epoch."""
    name = "DataLoader"
    rng = _rng()
    x = rng.standard_normal((10, 3)).astype(np.float32)
    y = np.arange(10, dtype=np.int64)
    order_hint = "batch k holds the samples order[k*batch_size:(k+1)*batch_size]"
    cases = [
        ("10 samples, batch_size=3 (short last batch)", dict(batch_size=3), 1,
         "the last batch may be short: ceil(n / batch_size) batches unless drop_last"),
        ("batch_size=3, drop_last=True", dict(batch_size=3, drop_last=True), 1,
         "drop_last=True skips the final batch when it is shorter than batch_size"),
        ("batch_size=5, drop_last=True (divides evenly)", dict(batch_size=5, drop_last=True), 1,
         "when batch_size divides n, drop_last changes nothing"),
        ("batch_size=1", dict(batch_size=1), 1, order_hint),
        ("batch_size=16 > 10 samples", dict(batch_size=16), 1, "one batch with all 10 samples"),
        ("batch_size=16 > 10 samples, drop_last=True", dict(batch_size=16, drop_last=True), 1,
         "no complete batch: zero batches"),
        ("shuffle=True, seeded generator, 2 epochs", dict(batch_size=4, shuffle=True, generator="seeded"), 2,
         "draw order = rng_of(self.generator).permutation(n) once at the start of every epoch (in __iter__)"),
        ("shuffle=True, default generator (tt.manual_seed), 2 epochs", dict(batch_size=3, shuffle=True), 2,
         "with generator=None use tinytorch's default generator: rng_of(None)"),
        ("shuffle=True, drop_last=True, 2 epochs", dict(batch_size=4, shuffle=True, drop_last=True, generator="seeded"), 2,
         "shuffle first, then cut the permutation into batches and drop the short one"),
    ]
    for case, kwargs, epochs, hint in cases:
        kw = dict(kwargs)
        mine_kw, ref_kw = dict(kw), dict(kw)
        if kw.get("generator") == "seeded":
            mine_kw["generator"] = _random.Generator().manual_seed(3)
            ref_kw["generator"] = _random.Generator().manual_seed(3)
        dataset = _CountingDataset(x, y)
        loader = run_learner(name, case, lambda: DataLoader(dataset, **mine_kw))
        reference = _LibraryLoader(_LibraryDataset(x, y), **ref_kw)
        got = run_learner(name, case, lambda: _epochs(loader, epochs, seed=11))
        expected = _epochs(reference, epochs, seed=11)
        length = run_learner(name, case + ", len()", len, loader)
        if length != len(reference):
            fail(name, case, f"len(loader) expected {len(reference)}, got {length}",
                 "ceil(n / batch_size) batches, or n // batch_size with drop_last")
        for e, (got_epoch, exp_epoch) in enumerate(zip(got, expected)):
            where = f"{case}, epoch {e + 1}"
            if len(got_epoch) != len(exp_epoch):
                fail(name, where, f"expected {len(exp_epoch)} batches, got {len(got_epoch)}", hint)
            for b, (got_batch, exp_batch) in enumerate(zip(got_epoch, exp_epoch)):
                if isinstance(got_batch, (tuple, list)) and len(got_batch) == 2 and all(isinstance(t, Tensor) for t in got_batch) \
                        and got_batch[1].shape == exp_batch[1].shape and not np.array_equal(got_batch[1].data, exp_batch[1].data):
                    fail(name, f"{where}, batch {b}",
                         f"expected the samples {exp_batch[1].data.tolist()}, got {got_batch[1].data.tolist()}", hint)
                _same_fields(name, f"{where}, batch {b}", got_batch, exp_batch, hint)
                if any(getattr(t, "requires_grad", False) for t in got_batch):
                    fail(name, f"{where}, batch {b}", "a batch requires grad", "batches are data: build them with Tensor(array)")
        if dataset.calls:
            fail(name, case, f"the loader called dataset[i] {dataset.calls} times for a dataset with .tensors",
                 "fast path: with collate_fn None and a dataset that has .tensors, build each batch with one "
                 "fancy-indexing read per tensor, with the whole batch's indices")

    case = "a dataset without .tensors, collate_fn=default_collate (slow path)"
    listed = _ListDataset(7)
    loader = run_learner(name, case, lambda: DataLoader(listed, batch_size=3, collate_fn=default_collate))
    got = run_learner(name, case, lambda: list(loader))
    expected = list(_LibraryLoader(listed, batch_size=3, collate_fn=default_collate))
    if len(got) != len(expected):
        fail(name, case, f"expected {len(expected)} batches, got {len(got)}", order_hint)
    for b, (g, e) in enumerate(zip(got, expected)):
        _same_fields(name, f"{case}, batch {b}", g, e, "collate_fn([dataset[int(i)] for i in index])")

    for bad in (0, -2):
        expect_error(name, f"batch_size={bad}", lambda: DataLoader(_CountingDataset(x, y), batch_size=bad), ValueError,
                      "raise ValueError in __init__ unless batch_size is a positive int")

    # Speed of the fast path (printed, not graded): 20,000 samples in batches of 64.
    big = _CountingDataset(rng.standard_normal((20_000, 64)).astype(np.float32), np.zeros(20_000, np.int64))
    loader = DataLoader(big, batch_size=64, shuffle=True, generator=_random.Generator().manual_seed(0))
    start = time.perf_counter()
    batches = run_learner(name, "20,000 samples, batch_size=64", lambda: sum(1 for _ in loader))
    seconds = time.perf_counter() - start
    passed(name, len(cases) + 3, ["short last batch", "drop_last", "batch_size=1", "batch_size > n",
                                  "seeded shuffling over 2 epochs", "default generator", "slow path (collate_fn)",
                                  "batch_size <= 0 raises"])
    print(f"  (one epoch of 20,000 samples, {batches} batches of 64: {seconds * 1e3:.1f} ms)")


# ---------------------------------------------------------------------- augmentation


@exercise("shift_images", seam="shift_images")
def check_shift_images(shift_images):
    """shift_images(images (N, H, W), dy (N,), dx (N,)) -> (N, H, W): each image moved by its
    own integer offset (down/right positive), vacated pixels 0, input unchanged."""
    name = "shift_images"
    rng = _rng()
    digits = rng.random((6, 8, 8)).astype(np.float32)
    one_pixel = np.zeros((4, 5, 5), np.float32)
    one_pixel[:, 2, 2] = 1
    hint = ("pad each image with zeros by the largest |shift| on every side, then read pixel "
            "(i - dy[n], j - dx[n]) for every n at once with index arrays")
    cases = [
        ("no shift", digits, np.zeros(6, int), np.zeros(6, int)),
        ("one pixel moved by (1, 0), (0, 1), (-1, 0), (0, -2)", one_pixel, np.array([1, 0, -1, 0]), np.array([0, 1, 0, -2])),
        ("a different shift per image, |shift| <= 2", digits, rng.integers(-2, 3, 6), rng.integers(-2, 3, 6)),
        ("diagonal shifts (2, -1), (-3, 3)", digits[:2], np.array([2, -3]), np.array([-1, 3])),
        ("shift by the full height (image leaves the frame)", digits[:3], np.array([8, -8, 0]), np.array([0, 0, 9])),
        ("non-square images (3, 5, 7)", rng.random((3, 5, 7)).astype(np.float32), np.array([1, -2, 4]), np.array([-3, 6, 0])),
        ("a batch of one", digits[:1], np.array([-1]), np.array([1])),
        ("float64 images", rng.random((2, 4, 4)), np.array([1, 0]), np.array([0, -1])),
    ]
    for case, images, dy, dx in cases:
        original = images.copy()
        got = run_learner(name, case, shift_images, images, dy, dx)
        expected = seams.tinytorch("shift_images")(original, dy, dx)
        if not np.array_equal(images, original):
            fail(name, case, "your function modified the input images in place", "work on a padded copy")
        if isinstance(got, Tensor):
            got = got.data
        if not isinstance(got, np.ndarray):
            fail(name, case, f"expected a NumPy array, got {type(got).__name__}")
        if got.dtype != expected.dtype:
            fail(name, case, f"expected dtype {expected.dtype}, got {got.dtype}", "np.zeros_like / np.pad keep the dtype")
        sign = ""
        if got.shape == expected.shape and np.array_equal(got, seams.tinytorch("shift_images")(original, -dy, -dx)) \
                and not np.array_equal(got, expected):
            sign = "your images moved the opposite way: positive dy moves the picture down (out[i] = in[i - dy])"
        rolled = np.stack([np.roll(im, (int(a), int(b)), axis=(0, 1)) for im, a, b in zip(original, dy, dx)])
        if got.shape == expected.shape and np.array_equal(got, rolled) and not np.array_equal(got, expected):
            sign = "pixels that leave one side come back on the other (np.roll wraps around): the vacated pixels must be 0"
        assert_close(name, case, got, expected, sign or hint, atol=0, rtol=0)
    big = rng.random((20_000, 8, 8)).astype(np.float32)
    dy, dx = rng.integers(-1, 2, 20_000), rng.integers(-1, 2, 20_000)
    start = time.perf_counter()
    run_learner(name, "20,000 images", shift_images, big, dy, dx)
    seconds = time.perf_counter() - start
    passed(name, len(cases), ["no shift", "one pixel", "per-image shifts", "diagonal", "out of the frame",
                              "non-square", "batch of one", "float64"])
    print(f"  (20,000 8x8 images shifted in {seconds * 1e3:.1f} ms)")
