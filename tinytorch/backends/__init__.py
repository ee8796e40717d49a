"""`torch.backends`: flags that programs set for GPU libraries. They are accepted and stored;
tinytorch's NumPy kernels are not affected by them."""

from . import cpu, cuda, cudnn, mps  # noqa: F401
