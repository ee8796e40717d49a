"""Classification metrics computed from logits and integer class targets."""

import numpy as np

from ..tensor import Tensor


def _array(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def class_dim(logits, targets):
    """The class dimension of `logits` for these `targets`, or None if they don't pair up.

    Targets (N,) with logits (N, C) -> 1; targets (N, d1, ...) with logits (N, C, d1, ...) -> 1
    (PyTorch's cross_entropy layout); targets (..., ) with logits (..., C) -> -1.
    """
    logits, targets = _array(logits), _array(targets)
    if not np.issubdtype(targets.dtype, np.integer) or logits.ndim != targets.ndim + 1:
        return None
    if logits.shape[:1] + logits.shape[2:] == targets.shape:
        return 1
    if logits.shape[:-1] == targets.shape:
        return -1
    return None


def correct_count(logits, targets):
    """How many predictions (argmax over the class dimension) equal the targets."""
    dim = class_dim(logits, targets)
    if dim is None:
        logits, targets = _array(logits), _array(targets)
        raise ValueError(
            f"accuracy: expected logits (N, C, ...) or (..., C) and integer targets with the "
            f"class dimension removed, got logits {logits.shape} and targets {targets.shape} "
            f"({targets.dtype})"
        )
    return int(np.count_nonzero(_array(logits).argmax(axis=dim) == _array(targets)))


def accuracy(logits, targets):
    """Fraction (0..1) of samples whose highest-scoring class is the target class.

    `logits`: (N, C) scores (or probabilities); `targets`: (N,) int class indices.
    """
    targets = _array(targets)
    if targets.size == 0:
        raise ValueError("accuracy: got an empty batch")
    return correct_count(logits, targets) / targets.size
