"""`F.one_hot`: class indices to one-hot rows."""

import numpy as np

from ..tensor import Tensor
from .module import check_input


def one_hot(tensor, num_classes=-1):
    """int64 tensor of shape tensor.shape + (num_classes,), 1 at each index; num_classes=-1
    means max(tensor) + 1."""
    op = "one_hot"
    check_input(tensor, op)
    index = tensor.data
    if index.dtype != np.int64:
        raise RuntimeError(f"{op}: one_hot is only applicable to index tensor of type LongTensor (int64), "
                           f"got dtype {index.dtype}")
    if index.size and index.min() < 0:
        raise RuntimeError(f"{op}: Class values must be non-negative, got {int(index.min())}")
    if num_classes == -1:
        if not index.size:
            raise RuntimeError(f"{op}: Can not infer total number of classes from empty tensor.")
        num_classes = int(index.max()) + 1
    if index.size and index.max() >= num_classes:
        raise RuntimeError(f"{op}: Class values must be smaller than num_classes ({num_classes}), "
                           f"got {int(index.max())}")
    out = np.zeros(index.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, index[..., None], 1, axis=-1)
    return Tensor(out)
