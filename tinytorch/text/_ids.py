"""Turn whatever a learner passes as token ids into a checked 1-D int64 array."""

import numpy as np

from ..tensor import Tensor


def as_token_ids(ids, vocab_size, op):
    """`ids` (list, NumPy array or Tensor of ints) as a 1-D int64 array, every id in range.

    Raises a ValueError naming `op` and the first offending id, so a model that emits an id
    the tokenizer never had is caught here instead of producing a wrong string.
    """
    if isinstance(ids, Tensor):
        ids = ids.numpy()
    if isinstance(ids, (str, bytes)):
        raise TypeError(f"{op}: expected a sequence of int token ids, got {type(ids).__name__}")
    array = np.asarray(ids)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.ndim != 1:
        raise ValueError(f"{op}: expected a 1-D sequence of token ids, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{op}: token ids must be integers, got dtype {array.dtype}")
    array = array.astype(np.int64)
    bad = (array < 0) | (array >= vocab_size)
    if bad.any():
        position = int(np.argmax(bad))
        raise ValueError(
            f"{op}: token id {int(array[position])} at position {position} is out of range "
            f"for vocab_size {vocab_size} (valid ids are 0..{vocab_size - 1})"
        )
    return array
