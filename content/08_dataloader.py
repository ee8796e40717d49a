# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Module 08: DataLoader
#
# A training loop never sees "the dataset": it sees a stream of shuffled mini-batches. In this
# module you build that stream, PyTorch's `Dataset` / `DataLoader` pair: a dataset of tensors,
# stacking samples into batches, seeded shuffling, `drop_last`, a vectorized fast path, and a
# data augmentation that makes new training images on the fly. Then you measure what the batch
# size does to speed, memory and learning.
#
# **Learning objectives.** By the end of this module you can:
#
# - write a `TensorDataset`, a `collate` function and a `DataLoader` with seeded shuffling
#   and `drop_last`
# - explain why shuffling matters, from what an unshuffled sorted dataset does to training
# - write a vectorized data augmentation and judge which augmentations preserve labels
# - measure how the batch size trades throughput, memory and progress per epoch

# %%
import math
import numbers
import time
import tracemalloc

import numpy as np

import tinytorch as tt
from tinytorch import Tensor
from tinytorch.checks import (
    check_collate, check_dataloader, check_shift_images, check_tensor_dataset,
)
import tinytorch.mine as mine
from tinytorch.profiling.timing import best_time  # fastest of several calls, in seconds
from tinytorch.random import rng_of
# Components of earlier modules: yours where saved, else tinytorch's (one line each says which).
from tinytorch.mine import Linear, Sequential, Adam

# %% [markdown]
# ## Datasets
#
# A dataset is anything with a length and an index: `len(ds)` samples, `ds[i]` the i-th one.
# That is the whole protocol (`tinytorch.data.Dataset` only asks for `__len__` and
# `__getitem__`), so a dataset can read files, generate samples, or, most often for small
# data, slice tensors that are already in memory:
#
# ```
#   images (1437, 8, 8)   labels (1437,)
#   ds[i] = (images[i],    labels[i])      a sample: one image of shape (8, 8) and its label
# ```
#
# **Exercise.** Write `TensorDataset(*tensors)`: keep the tensors in `self.tensors` (a tuple
# of Tensors; wrap NumPy arrays with `Tensor(...)`), raise `ValueError` if their first
# dimensions differ, and make `ds[i]` the tuple of every tensor's `i`-th slice.

# %%
class TensorDataset:
    """Samples are slices along the first dimension: ds[i] == (t[i] for t in tensors)."""

    def __init__(self, *tensors):
        ### BEGIN SOLUTION
        # HINT: keep the tensors; they must all have the same length along dim 0 (ValueError otherwise)
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
        sizes = [t.shape[0] for t in self.tensors]
        if len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: tensors must have the same size in dim 0, got {sizes}")
        ### END SOLUTION

    def __getitem__(self, index):
        ### BEGIN SOLUTION
        # HINT: the index-th row of every tensor, as a tuple
        return tuple(t[index] for t in self.tensors)
        ### END SOLUTION

    def __len__(self):
        ### BEGIN SOLUTION
        # HINT: the size of the first dimension
        return self.tensors[0].shape[0]
        ### END SOLUTION


# %% tags=["check"]
check_tensor_dataset(TensorDataset)

# %% [markdown]
# ## Batching: `collate`
#
# The model wants one tensor of shape `(batch, 8, 8)`, not a list of `batch` samples. Turning a
# list of samples into a batch is called **collating**: stack each field along a new first
# axis. With samples that are tuples, the fields have to be regrouped first, which is exactly
# what `zip(*samples)` does:
#
# ```
#   samples = [(x0, 3), (x1, 1), (x2, 4)]         each x has shape (8, 8)
#   zip(*samples) -> (x0, x1, x2), (3, 1, 4)
#   batch  = [Tensor (3, 8, 8),  Tensor([3, 1, 4])]
# ```
#
# Python ints become int64 tensors (class labels), Python floats float32 (PyTorch's default).
#
# **Exercise.** Write `collate(samples)` for samples that are Tensors, NumPy arrays, ints,
# floats, or tuples/lists of those (collate each field on its own: a recursive call).

# %%
def collate(samples):
    """A list of samples stacked into one batch: a Tensor, or a list of Tensors for tuple samples."""
    ### BEGIN SOLUTION
    # HINT: stack like with like: a batch of tuples becomes a tuple of batches; arrays and tensors gain a leading batch axis; Python ints become int64 arrays and floats float32
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return [collate(list(field)) for field in zip(*samples)]
    if isinstance(first, Tensor):
        return Tensor(np.stack([s.data for s in samples]))
    if isinstance(first, np.ndarray):
        return Tensor(np.stack(samples))
    if isinstance(first, numbers.Integral):
        return Tensor(np.array(samples, dtype=np.int64))
    return Tensor(np.array(samples, dtype=np.float32))
    ### END SOLUTION


# %% tags=["check"]
check_collate(collate)

# %% [markdown]
# ## The DataLoader
#
# One **epoch** is one pass over the data in a fresh random order. The loader draws a
# permutation of `0..n-1` at the start of each epoch and cuts it into batches:
#
# ```
#   n = 10, batch_size = 4
#   order   = [7 2 9 4 | 0 5 1 8 | 3 6]
#   batches:   batch 0   batch 1   batch 2 (2 samples: skipped when drop_last=True)
#   len(loader) = ceil(10 / 4) = 3, or 10 // 4 = 2 with drop_last
# ```
#
# - **Shuffling** matters: many datasets are stored sorted (by class, by date, by source).
#   Without it, each stretch of training sees one kind of example and the model chases it (you
#   will see how badly below).
# - **Seeded**: the permutation comes from a generator, `rng_of(generator).permutation(n)`
#   (`generator=None` means tinytorch's default one, which `tt.manual_seed` resets). The same
#   seed gives the same batches, so a run can be repeated exactly.
# - **`drop_last`** skips a final short batch: a batch of 2 gives a noisier gradient, and
#   some layers (batch norm) misbehave on tiny batches.
# - **The fast path.** The general way to build a batch is to call `dataset[i]` for every
#   index and collate: a Python loop over samples, which is slow (especially in the
#   browser). When the dataset is made of tensors (it has `.tensors`) and no custom
#   `collate_fn` is given, one fancy-indexing call per tensor builds the whole batch at once:
#   `Tensor(t.data[index])` with `index` the batch's array of positions.
#
# **Exercise.** Write the `DataLoader`: check `batch_size` (a positive int, else
# `ValueError`), `__len__`, and `__iter__` as a generator (`yield` one batch at a time; the
# permutation is drawn inside `__iter__`, so every epoch gets a new one). The slow path uses
# `self.collate_fn`, or your `collate` when none was given.

# %%
class DataLoader:
    """Batches of `batch_size` samples from `dataset`, optionally shuffled; like torch.utils.data.DataLoader."""

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, generator=None, collate_fn=None):
        ### BEGIN SOLUTION
        # HINT: raise ValueError unless batch_size is an int >= 1; store every argument on self
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        self.dataset, self.batch_size = dataset, int(batch_size)
        self.shuffle, self.drop_last = shuffle, drop_last
        self.generator, self.collate_fn = generator, collate_fn
        ### END SOLUTION

    def __len__(self):
        ### BEGIN SOLUTION
        # HINT: the number of batches: a short last batch counts unless drop_last
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
        ### END SOLUTION

    def __iter__(self):
        ### BEGIN SOLUTION
        # HINT: visit the indices in order, or in a random order drawn from the loader's generator, and yield one collated batch per batch_size of them
        n = len(self.dataset)
        order = rng_of(self.generator).permutation(n) if self.shuffle else np.arange(n)
        fast = self.collate_fn is None and hasattr(self.dataset, "tensors")
        collate_fn = self.collate_fn or collate
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start:start + self.batch_size]
            if fast:
                yield [Tensor(t.data[index]) for t in self.dataset.tensors]
            else:
                yield collate_fn([self.dataset[int(i)] for i in index])
        ### END SOLUTION


# %% tags=["check"]
check_dataloader(DataLoader)

# %% [markdown]
# ## Augmentation: new digits for free
#
# The course's image data is the 8×8 handwritten digits (1,437 training images, 360 test
# images). A digit moved by one pixel is still the same digit, but to a model that reads
# pixel positions (an MLP) it is a different input. **Data augmentation** turns each image
# into many plausible variants while training, drawn afresh every epoch, so the model learns
# what does not matter. The transformation must preserve the label: shifting a digit does,
# flipping it left-right does not (a mirrored 2 is not a 2), although flips are the standard
# augmentation for photographs.
#
# Augmentation runs on every batch of every epoch, so it must be cheap: one vectorized
# operation over the whole batch, never a Python loop over images.
#
# ```
#   shift by (dy, dx) = (1, -1): every pixel moves one row down and one column left;
#   the row and column that nothing moves into become 0.
#   out[n, i, j] = images[n, i - dy[n], j - dx[n]]   (0 when that lies outside the image)
# ```
#
# One way: pad every image with `m` zeros on each side (`m` the largest |shift|), build the
# row indices `i - dy[n] + m` as an `(N, H)` array and the column indices as `(N, W)`, and
# read all pixels with one fancy-indexing expression,
# `padded[np.arange(N)[:, None, None], rows[:, :, None], cols[:, None, :]]` (the three index
# arrays broadcast to `(N, H, W)`). A shift as large as the image must give an all-zero image;
# with enough padding that happens by itself.

# %%
def shift_images(images, dy, dx):
    """images (N, H, W) NumPy array; dy, dx (N,) integer arrays. Image n moved down by dy[n]
    and right by dx[n] (negative: up/left), zeros where nothing moved in. Returns a new array."""
    ### BEGIN SOLUTION
    # HINT: pad every image by the largest shift, then read each output pixel from its shifted position, all images in one indexing operation (no loop over images)
    N, H, W = images.shape
    dy, dx = np.asarray(dy), np.asarray(dx)
    m = int(max(np.abs(dy).max(initial=0), np.abs(dx).max(initial=0)))
    padded = np.pad(images, ((0, 0), (m, m), (m, m)))
    rows = np.arange(H)[None, :] - dy[:, None] + m  # (N, H), always inside the padded image
    cols = np.arange(W)[None, :] - dx[:, None] + m  # (N, W)
    return padded[np.arange(N)[:, None, None], rows[:, :, None], cols[:, None, :]]
    ### END SOLUTION


# %% tags=["check"]
check_shift_images(shift_images)

# %% [markdown]
# Each epoch draws a new random shift for every image, from a seeded NumPy generator:

# %%
import matplotlib.pyplot as plt

mine.use()  # tinytorch runs on every component you saved, this module's included
shift = tt.data.shift_images  # your shift_images, where saved


augment_rng = np.random.default_rng(0)


def random_shift(images, max_shift=1, rng=augment_rng):
    """Every image moved by its own random (dy, dx), each in -max_shift..max_shift."""
    n = len(images)
    return shift(images, rng.integers(-max_shift, max_shift + 1, n), rng.integers(-max_shift, max_shift + 1, n))


digits = tt.datasets.load_digits()
fig, axes = plt.subplots(3, 8, figsize=(9, 3.6))
for col in range(8):
    axes[0, col].imshow(digits.x_train[col], cmap="gray_r")
    axes[0, col].set_title(str(digits.y_train[col]))
for row in (1, 2):
    shifted = random_shift(digits.x_train[:8])
    for col in range(8):
        axes[row, col].imshow(shifted[col], cmap="gray_r")
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
axes[0, 0].set_ylabel("original")
axes[1, 0].set_ylabel("shifted")
axes[2, 0].set_ylabel("shifted")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Use it: train on digits
#
# From here on the cells use your classes where their checks passed and tinytorch's
# otherwise. The training loop is the one you know from module 07, written out: for each batch,
# forward, loss, `zero_grad`, `backward`, `step`.

# %%
Loader, Dataset = mine.DataLoader, mine.TensorDataset  # the classes in use: yours where saved


def make_mlp():
    return Sequential(tt.nn.Flatten(), Linear(64, 64), tt.nn.ReLU(), Linear(64, 10))


def train(model, loader, epochs, augment=None, lr=0.01):
    """Adam over `loader` for `epochs` epochs; `augment` (if given) transforms each input batch."""
    optimizer = Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        for xb, yb in loader:
            if augment is not None:
                xb = Tensor(augment(xb.data))
            loss = tt.nn.functional.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model


def accuracy(model, images, labels):
    with tt.no_grad():
        return float((model(Tensor(images)).data.argmax(axis=1) == labels).mean())


# %% [markdown]
# ### Why shuffle
#
# Sort the training set by label (all 0s, then all 1s, ...) and train three epochs with and
# without shuffling. Same data, same model, same number of steps.

# %%
by_label = np.argsort(digits.y_train, kind="stable")
sorted_set = Dataset(digits.x_train[by_label], digits.y_train[by_label])
# consecutive batches of 32 holding one label (np.bincount wants the platform's int: the
# labels are int64, which wasm32 NumPy refuses to cast down to its int32)
per_label = np.bincount(digits.y_train.astype(np.intp)) / 32
print(f"sorted by label, each label fills {per_label.min():.1f} to {per_label.max():.1f} consecutive batches of 32")
for shuffle in (False, True):
    tt.manual_seed(0)
    model = train(make_mlp(), Loader(sorted_set, batch_size=32, shuffle=shuffle), epochs=3)
    with tt.no_grad():
        predicted = model(Tensor(digits.x_test)).data.argmax(axis=1)
    counts = np.bincount(predicted, minlength=10)
    print(f"shuffle={shuffle!s:5}: test accuracy {accuracy(model, digits.x_test, digits.y_test):6.1%}, "
          f"predictions per class {counts.tolist()}")

# %% [markdown]
# Without shuffling, each stretch of a few batches (the figure printed above) holds a single
# label, and every step
# pushes the model towards predicting that label for everything. It never has to tell digits
# apart, and after three epochs it puts (almost) every test image in the same class. With
# shuffling, every batch is a small sample of all ten classes and its gradient points where the
# whole dataset's does.
#
# ### Does augmentation help?
#
# Train the same MLP on the original images and on randomly shifted ones, then test on the
# test set as it is and on a copy where each test digit is moved by up to one pixel.

# %%
train_set = Dataset(digits.x_train, digits.y_train)
test_rng = np.random.default_rng(1)
n_test = len(digits.x_test)
x_test_shifted = tt.data.shift_images(digits.x_test, test_rng.integers(-1, 2, n_test), test_rng.integers(-1, 2, n_test))
results = {}
for name, augment in (("plain", None), ("augmented", random_shift)):
    tt.manual_seed(0)
    start = time.perf_counter()
    model = train(make_mlp(), Loader(train_set, batch_size=32, shuffle=True), epochs=15, augment=augment)
    results[name] = (accuracy(model, digits.x_test, digits.y_test), accuracy(model, x_test_shifted, digits.y_test))
    print(f"{name:9s} ({time.perf_counter() - start:.1f} s): test accuracy {results[name][0]:.1%}, "
          f"on shifted test digits {results[name][1]:.1%}")

# %% [markdown]
# The plain MLP has learned pixel positions: move the digits by one pixel and it loses much of
# its accuracy. The augmented one barely notices the shift, at the price of some accuracy on
# the original, centred images: a 64-unit MLP has to memorise every position separately. A
# convolutional network (module 09) builds the "same pattern anywhere" rule into its
# architecture instead.
#
# ## Systems analysis
#
# ### The fast path
#
# One epoch of the loader alone (no model), per-sample `__getitem__` + `collate` against one
# fancy-indexing call per tensor:

# %%
big = Dataset(np.random.default_rng(0).random((20_000, 8, 8), dtype=np.float32), np.zeros(20_000, dtype=np.int64))


def epoch_seconds(loader, repeats=3):
    """The fastest of `repeats` full passes over the loader, in seconds."""
    return best_time(lambda: sum(1 for _ in loader), repeats=repeats)


slow_s = epoch_seconds(Loader(big, batch_size=64, shuffle=True, collate_fn=tt.data.default_collate), repeats=1)
fast_s = epoch_seconds(Loader(big, batch_size=64, shuffle=True))
print(f"20,000 samples, batch 64:  per-sample path {slow_s * 1e3:7.1f} ms   fast path {fast_s * 1e3:6.1f} ms   "
      f"({slow_s / fast_s:.0f}x)")
print(f"runtime: {tt.platform.describe()}")

# %% [markdown]
# ### Batch size: speed, memory, and learning
#
# For each batch size we train a fresh MLP for one epoch over the training set and record the
# throughput (samples per second), the peak memory NumPy allocates during one training step
# (with `tracemalloc`), and the test accuracy after that epoch. The width is 256 here so the
# memory of the activations is visible next to the weights.

# %%
import matplotlib.pyplot as plt

def wide_mlp():
    return Sequential(tt.nn.Flatten(), Linear(64, 256), tt.nn.ReLU(), Linear(256, 10))


def step_peak_bytes(model, batch_size):
    """Peak bytes allocated during one forward + backward + Adam step on a batch."""
    optimizer = Adam(model.parameters(), lr=0.01)
    xb, yb = Tensor(digits.x_train[:batch_size]), Tensor(digits.y_train[:batch_size])
    for measure in (False, True):  # the first step allocates Adam's state; measure the second
        if measure:
            tracemalloc.start()
        loss = tt.nn.functional.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


batch_sizes = [2, 8, 32, 128, 512]
throughput, memory, accuracies = [], [], []
for batch_size in batch_sizes:
    tt.manual_seed(0)
    model = wide_mlp()
    memory.append(step_peak_bytes(wide_mlp(), batch_size) / 1e6)
    loader = Loader(train_set, batch_size=batch_size, shuffle=True)
    start = time.perf_counter()
    train(model, loader, epochs=1, lr=0.003)
    seconds = time.perf_counter() - start
    throughput.append(len(train_set) / seconds)
    accuracies.append(accuracy(model, digits.x_test, digits.y_test))
    print(f"batch {batch_size:5d}: {len(loader):5d} steps, {throughput[-1]:9,.0f} samples/s, "
          f"peak step memory {memory[-1]:6.2f} MB, test accuracy after 1 epoch {accuracies[-1]:6.1%}")

fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
axes[0].loglog(batch_sizes, throughput, "o-")
axes[0].set(xlabel="batch size", ylabel="samples / second", title="Throughput")
axes[1].loglog(batch_sizes, memory, "o-")
axes[1].set(xlabel="batch size", ylabel="MB", title="Peak memory of one step")
axes[2].semilogx(batch_sizes, accuracies, "o-")
axes[2].set(xlabel="batch size", ylabel="test accuracy", title="After one epoch (same lr)")
plt.tight_layout()
plt.show()

# the trends the next paragraph describes, on this run
# (a large batch's epoch is a few short steps, which one hiccup of the machine can slow down:
#  the trend is that the larger batches, at their best, beat the tiniest by far)
assert max(throughput[2:]) > 2 * throughput[0], "large batches should process samples faster than tiny ones"
assert memory[-1] > 1.5 * memory[0], "the peak memory of a step should grow once the batch is large"
assert memory[1] < 2 * memory[0], "for tiny batches the peak memory should barely depend on the batch size"

# %% [markdown]
# Small batches waste time on per-step overhead (Python, launching NumPy calls, the
# optimizer's update of every weight), so throughput rises with the batch size until the
# arithmetic dominates (an epoch of large batches lasts only milliseconds, so a busy machine
# can make one point dip: read the overall rise). Peak memory first stays almost flat,
# because the weights, their gradients and the optimizer's state (which do not depend on
# the batch) dominate; it grows with the batch once the activations and their gradients,
# which scale with it, take over. And one epoch with large batches is only a few updates:
# the model has seen every sample, but has taken far fewer steps. The best batch size
# balances all three; in practice people take the largest that fits in memory and raise
# the learning rate with it.
#
# ## Reflection
#
# 1. The fast path skips `dataset[i]`. Write a `TensorDataset` subclass for which that gives
#    wrong batches. How does `tinytorch.data.DataLoader` decide whether it may take the fast
#    path?
# 2. Your loader draws the permutation in `__iter__`. What would go wrong if it were drawn in
#    `__init__`? And if it were drawn with `np.random.permutation` instead of the generator?
# 3. Which augmentations would preserve the label for the digits besides shifts (small
#    rotations? scaling? adding noise? inverting the colours?), and which would not?
# 4. The augmented MLP lost some accuracy on the centred test digits. Name two ways to get
#    both robustness and accuracy.
# 5. From the measured peak memory, estimate the largest batch this MLP could train with in
#    1 GB. What would you expect for a model 100 times wider?

# %% [markdown] tags=["solution"]
# ## Answers (solution edition only)
#
# 1. A subclass whose `__getitem__` transforms samples (normalises, augments, returns the
#    index too): the fast path reads `dataset.tensors` directly and skips it.
#    `tinytorch.data.DataLoader` takes the fast path only when `collate_fn` is None, the
#    dataset is a `TensorDataset` and `type(dataset).__getitem__ is
#    TensorDataset.__getitem__`.
# 2. Drawn once in `__init__`, every epoch would see the same order (no reshuffling between
#    epochs). Drawn with `np.random.permutation`, it would use NumPy's global state: not
#    reproducible from the loader's generator, and changed by any other code that draws
#    random numbers.
# 3. Label-preserving: small shifts, small rotations (about 15 degrees), slight scaling or
#    thickening, a little noise. Not: large rotations (a 6 becomes a 9), mirror flips, large
#    crops that cut strokes. Inverting the colours keeps the label but makes inputs the test
#    set never has, so it wastes capacity.
# 4. Make the model shift-tolerant instead of the data (a CNN with pooling, module 09);
#    augment only part of each batch or with smaller shifts; give the model more capacity or
#    epochs; or centre test digits in preprocessing (by their centre of mass).
# 5. Peak memory is a fixed part (weights, gradients, Adam's state) plus a part per sample
#    (activations and their gradients). The slope between your two largest batches gives
#    bytes per sample; the largest batch is about `(1 GB - fixed) / slope`. A model 100
#    times wider has about 10,000 times the square layers' weights and 100 times the
#    activations per sample: the fixed part dominates and the largest batch shrinks a lot.
