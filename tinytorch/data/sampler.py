"""Samplers: which dataset indices a DataLoader reads, and in which order (`torch.utils.data`).

A sampler yields indices (ints); a batch sampler yields lists of indices. The DataLoader
builds a SequentialSampler or RandomSampler from `shuffle=` and wraps it in a BatchSampler
unless the caller passes their own.
"""

import numbers

import numpy as np

from .. import random as _random


def numpy_rng(generator, op):
    """The np.random.Generator behind `generator` (None means tinytorch's default)."""
    if generator is None:
        generator = _random.default_generator
    if isinstance(generator, np.random.Generator):
        return generator
    rng = getattr(generator, "rng", None)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{op}: generator must be a tinytorch.Generator, got {type(generator).__name__}")
    return rng


def _positive_int(value, name, op):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{op}: {name} should be a positive integer value, but got {name}={value!r}")
    return int(value)


def _bool(value, name, op, error=ValueError):
    if not isinstance(value, bool):
        raise error(f"{op}: {name} should be a boolean value, but got {name}={value!r}")
    return value


class Sampler:
    """Base class: subclasses define `__iter__` (indices) and usually `__len__`."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A fresh random permutation each epoch (or `num_samples` draws with replacement).

    Without replacement and with num_samples > len(data_source), whole permutations follow
    one another, as in PyTorch.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        op = "RandomSampler"
        self.data_source = data_source
        self.replacement = _bool(replacement, "replacement", op, TypeError)  # PyTorch's error types
        self._num_samples = num_samples
        self.generator = generator
        if num_samples is not None:
            _positive_int(num_samples, "num_samples", op)
        if generator is not None:
            numpy_rng(generator, op)

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def __iter__(self):
        n, count = len(self.data_source), self.num_samples
        rng = numpy_rng(self.generator, "RandomSampler")
        if self.replacement:
            indices = rng.integers(0, n, size=count)
        else:
            rounds = -(-count // n) if n else 0
            indices = np.concatenate([rng.permutation(n) for _ in range(rounds)] or [np.arange(0)])[:count]
        return iter(indices.tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order, a new one each epoch."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        order = numpy_rng(self.generator, "SubsetRandomSampler").permutation(len(self.indices))
        return (self.indices[i] for i in order.tolist())

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """`num_samples` indices drawn with probabilities proportional to `weights`."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        op = "WeightedRandomSampler"
        self.num_samples = _positive_int(num_samples, "num_samples", op)
        self.replacement = _bool(replacement, "replacement", op)
        weights = np.asarray(getattr(weights, "data", weights), dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"{op}: weights should be a 1d sequence, but given weights have shape {weights.shape}")
        if (weights < 0).any() or not np.isfinite(weights).all() or weights.sum() <= 0:
            raise ValueError(f"{op}: weights must be finite, non-negative and not all zero")
        if not replacement and num_samples > np.count_nonzero(weights):
            raise ValueError(f"{op}: cannot draw {num_samples} samples without replacement from "
                             f"{np.count_nonzero(weights)} non-zero weights")
        self.weights, self.generator = weights, generator

    def __iter__(self):
        rng = numpy_rng(self.generator, "WeightedRandomSampler")
        p = self.weights / self.weights.sum()
        return iter(rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p).tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of `batch_size` indices from `sampler`; the last one shorter unless `drop_last`."""

    def __init__(self, sampler, batch_size, drop_last):
        op = "BatchSampler"
        self.sampler = sampler
        self.batch_size = _positive_int(batch_size, "batch_size", op)
        self.drop_last = _bool(drop_last, "drop_last", op)

    def __iter__(self):
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
