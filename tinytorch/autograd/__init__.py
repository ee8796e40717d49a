"""tinytorch.autograd: PyTorch's functional interface to the autograd engine.

`grad(outputs, inputs)` returns gradients instead of accumulating them into `.grad`, and with
`create_graph=True` returns gradients that can be differentiated again (a gradient penalty,
second derivatives). `backward(tensors)` is `Tensor.backward` for several roots. `Function`
defines an operation by its forward and backward, as `torch.autograd.Function` does.
"""

from .engine import backward, grad
from .function import Function, FunctionCtx

__all__ = ["grad", "backward", "Function", "FunctionCtx"]
