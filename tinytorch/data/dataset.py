"""Datasets: indexable collections of samples, as in `torch.utils.data`."""

from abc import ABC, abstractmethod

from ..seams import seam
from ..tensor import Tensor


class Dataset(ABC):
    """A collection of samples. Subclasses define `__getitem__(index)` and `__len__()`."""

    @abstractmethod
    def __getitem__(self, index):
        """The sample at position `index` (an int in range(len(self)))."""

    @abstractmethod
    def __len__(self):
        """The number of samples."""


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
