"""`torch.utils.data` under PyTorch's path: the same objects as `tinytorch.data` (one implementation)."""

from ...data import *  # noqa: F401,F403  (re-export: the names are listed in tinytorch.data.__all__)
from ...data import __all__  # noqa: F401
