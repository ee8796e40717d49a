"""DataLoader: batches (optionally shuffled) from a Dataset, as in `torch.utils.data`."""

import math
import numbers
import warnings

import numpy as np

from ..seams import replaced, seam
from ..tensor import Tensor
from .dataset import IterableDataset, TensorDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler, numpy_rng


@seam("collate")
def default_collate(batch):
    """Stack a list of samples into a batch, field by field.

    Tensors, NumPy arrays and numbers become one `Tensor` with a new leading dimension
    (Python floats as float32, ints as int64); tuples and lists give a list of batched
    fields (a named tuple stays a named tuple), dicts a dict; anything else stays a list.
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return Tensor(np.stack([sample.data for sample in batch]))
    if isinstance(elem, (np.ndarray, np.generic)):
        return Tensor(np.stack(batch))
    if isinstance(elem, bool):
        return Tensor(np.array(batch, dtype=np.bool_))
    if isinstance(elem, numbers.Integral):
        return Tensor(np.array(batch, dtype=np.int64))
    if isinstance(elem, numbers.Real):
        return Tensor(np.array(batch, dtype=np.float32))
    if isinstance(elem, dict):
        return {key: default_collate([sample[key] for sample in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(field)) for field in zip(*batch)))
    if isinstance(elem, (tuple, list)):
        if any(len(sample) != len(elem) for sample in batch):
            raise ValueError("default_collate: samples in a batch have different lengths")
        return [default_collate(list(field)) for field in zip(*batch)]
    return list(batch)


_warned_about_workers = False


def _warn_in_process(num_workers):
    """Say once per process that num_workers > 0 still loads in this process."""
    global _warned_about_workers
    if not _warned_about_workers:
        _warned_about_workers = True
        warnings.warn(
            f"DataLoader: num_workers={num_workers} is accepted but tinytorch loads batches in this "
            "process (there are no worker processes in the browser, and natively the batches are "
            "one NumPy indexing call each); worker_init_fn is called once per epoch as worker 0",
            RuntimeWarning, stacklevel=3,
        )


def default_convert(sample):
    """A sample without batching (batch_size=None): NumPy arrays become Tensors, field by field."""
    if isinstance(sample, np.ndarray):
        return Tensor(sample)
    if isinstance(sample, dict):
        return {key: default_convert(value) for key, value in sample.items()}
    if isinstance(sample, tuple) and hasattr(sample, "_fields"):
        return type(sample)(*(default_convert(value) for value in sample))
    if isinstance(sample, (tuple, list)):
        return [default_convert(value) for value in sample]
    return sample


def _check_options(dataset, batch_size, shuffle, sampler, batch_sampler, num_workers, drop_last,
                   timeout, prefetch_factor, persistent_workers):
    """PyTorch's checks on DataLoader's options, with its messages."""
    if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral) or num_workers < 0:
        raise ValueError("DataLoader: num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
    if timeout < 0:
        raise ValueError("DataLoader: timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("DataLoader: prefetch_factor option could only be specified in multiprocessing. "
                         "Let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None.")
    if persistent_workers and num_workers == 0:
        raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
    if isinstance(dataset, IterableDataset):
        for name, value in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
            if value not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified {name} option, but got {name}={value!r}")
    if sampler is not None and shuffle:
        raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
        raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last")
    if batch_size is None and drop_last:
        raise ValueError("DataLoader: batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
    if batch_size is not None and batch_sampler is None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
            raise TypeError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size}")


@seam("DataLoader")
class DataLoader:
    """Iterate over `dataset` in batches of `batch_size` samples, with PyTorch's options.

    With `shuffle=True` each epoch (each `iter()`) draws a fresh permutation from `generator`
    (a `tinytorch.Generator`; by default the one seeded by `tinytorch.manual_seed`), so equally
    seeded loaders yield identical batches. `drop_last=True` skips a final short batch.
    `sampler=` (indices) or `batch_sampler=` (lists of indices) replace that order;
    `collate_fn` turns a list of samples into a batch (default: `default_collate`);
    `batch_size=None` yields single samples. `num_workers`, `pin_memory`, `persistent_workers`,
    `worker_init_fn`, `timeout`, `prefetch_factor` are accepted: loading happens in this
    process (a warning says so once) and memory is never pinned (there is no GPU).
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="", in_order=True):
        _check_options(dataset, batch_size, shuffle, sampler, batch_sampler, num_workers, drop_last,
                       timeout, prefetch_factor, persistent_workers)
        if generator is not None:
            numpy_rng(generator, "DataLoader")  # fail now on a wrong type, not at the first epoch
        self.dataset = dataset
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.worker_init_fn, self.persistent_workers = worker_init_fn, persistent_workers
        self.prefetch_factor, self.multiprocessing_context = prefetch_factor, multiprocessing_context
        self.generator = generator
        self.collate_fn = collate_fn
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self._iterable = isinstance(dataset, IterableDataset)
        if not self._iterable and sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_sampler is not None:  # as PyTorch: the batch sampler decides size and last batch
            batch_size, self.drop_last = None, False
        elif batch_size is not None and not self._iterable:
            batch_sampler = BatchSampler(sampler, int(batch_size), bool(drop_last))
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.batch_size = None if batch_size is None else int(batch_size)
        if num_workers > 0:
            _warn_in_process(num_workers)

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def _collate(self):
        """collate_fn, else the collate seam's implementation in use (a learner's, module 08)."""
        return self.collate_fn or replaced.get("collate", default_collate)

    def _uses_fast_path(self, collate):
        # Only when the batch would be exactly what per-sample indexing + tinytorch's
        # default_collate gives: a subclass overriding __getitem__ (say, to add transforms), or
        # another collate, takes the slow path.
        return (
            getattr(collate, "__wrapped__", collate) is default_collate
            and isinstance(self.dataset, TensorDataset)
            and type(self.dataset).__getitem__ is TensorDataset.__getitem__
        )

    def __iter__(self):
        if self.num_workers > 0 and self.worker_init_fn is not None:
            self.worker_init_fn(0)
        if self._iterable:
            yield from self._iter_stream()
        elif self.batch_sampler is None:  # batch_size=None: single samples, no batch dimension
            convert = self.collate_fn or default_convert
            for index in self.sampler:
                yield convert(self.dataset[index])
        else:
            yield from self._iter_batches()

    def _iter_batches(self):
        collate = self._collate()
        if not self._uses_fast_path(collate):
            for indices in self.batch_sampler:
                yield collate([self.dataset[int(i)] for i in indices])
            return
        for indices in self.batch_sampler:
            # One fancy-indexing call per tensor instead of a Python loop over samples:
            # the loop dominates in the browser. Batches are copies and carry no graph.
            index = np.asarray(indices, dtype=np.int64)
            yield [Tensor(t.data[index]) for t in self.dataset.tensors]

    def _iter_stream(self):
        collate = self._collate()
        if self.batch_size is None:
            convert = self.collate_fn or default_convert
            for sample in self.dataset:
                yield convert(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield collate(batch)
                batch = []
        if batch and not self.drop_last:
            yield collate(batch)
