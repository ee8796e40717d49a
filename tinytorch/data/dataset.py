"""Datasets: indexable collections of samples, as in `torch.utils.data`."""

import bisect
import itertools
import math
import warnings
from abc import ABC, abstractmethod

from ..seams import seam
from ..tensor import Tensor
from .sampler import numpy_rng


class Dataset(ABC):
    """A collection of samples. Subclasses define `__getitem__(index)` and `__len__()`."""

    @abstractmethod
    def __getitem__(self, index):
        """The sample at position `index` (an int in range(len(self)))."""

    @abstractmethod
    def __len__(self):
        """The number of samples."""

    def __add__(self, other):
        return ConcatDataset([self, other])


@seam("TensorDataset")
class TensorDataset(Dataset):
    """Samples are slices along the first dimension of each tensor: `ds[i] == (x[i], y[i])`."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
        shapes = [tuple(t.shape) for t in tensors]
        if any(len(shape) == 0 for shape in shapes):
            raise ValueError(f"TensorDataset: tensors need a first dimension, got shapes {shapes}")
        if len({shape[0] for shape in shapes}) != 1:
            raise ValueError(
                f"TensorDataset: tensors must have the same size in dim 0, got shapes {shapes}"
            )
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class IterableDataset(Dataset):
    """A stream of samples: subclasses define `__iter__` (a DataLoader batches what it yields).

    It has no `__getitem__`, so a DataLoader over it takes no sampler and no shuffle.
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: iterate over it instead of indexing it")

    def __len__(self):
        raise TypeError(f"{type(self).__name__} is an IterableDataset and has no len() unless it defines __len__")


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order: `Subset(ds, [2, 0])[1] == ds[0]`."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several datasets one after another (also what `dataset_a + dataset_b` gives)."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset: does not support IterableDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __getitem__(self, index):
        if index < 0:
            if -index > len(self):
                raise ValueError("ConcatDataset: absolute value of index should not exceed dataset length")
            index += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]

    def __len__(self):
        return self.cumulative_sizes[-1]


def _split_lengths(n, lengths):
    """Integer lengths from `lengths`, which are counts summing to n or fractions summing to 1."""
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, fraction in enumerate(lengths):
            if not 0 <= fraction <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1")
            counts.append(int(math.floor(n * fraction)))
        for i in range(n - sum(counts)):  # the remainder, one each, round robin (as PyTorch)
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.")
        lengths = counts
    if sum(lengths) != n:
        raise ValueError(
            f"random_split: Sum of input lengths does not equal the length of the input dataset! "
            f"(lengths {lengths}, dataset length {n})"
        )
    return lengths


def random_split(dataset, lengths, generator=None):
    """Non-overlapping random Subsets of the given lengths (counts, or fractions of len(dataset))."""
    lengths = _split_lengths(len(dataset), lengths)
    order = numpy_rng(generator, "random_split").permutation(sum(lengths)).tolist()
    ends = itertools.accumulate(lengths)
    return [Subset(dataset, order[end - length:end]) for end, length in zip(ends, lengths)]
