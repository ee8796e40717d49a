"""PyTorch's `torch.utils` path: `tinytorch.utils.data` is `tinytorch.data`."""

from . import data

__all__ = ["data"]
