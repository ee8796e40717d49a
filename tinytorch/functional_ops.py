"""Function forms of Tensor methods (`tinytorch.exp(x)` as well as `x.exp()`)."""

from .tensor import Tensor


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def matmul(a, b):
    return _tensor(a).matmul(b)


def exp(x):
    return _tensor(x).exp()


def log(x):
    return _tensor(x).log()


def sqrt(x):
    return _tensor(x).sqrt()


def abs(x):
    return _tensor(x).abs()


def tanh(x):
    return _tensor(x).tanh()


def sigmoid(x):
    return _tensor(x).sigmoid()


def relu(x):
    return _tensor(x).relu()


def clamp(x, min=None, max=None):
    return _tensor(x).clamp(min, max)


def softmax(x, dim=-1):
    return _tensor(x).softmax(dim)


def log_softmax(x, dim=-1):
    return _tensor(x).log_softmax(dim)


def sum(x, dim=None, keepdim=False):
    return _tensor(x).sum(dim, keepdim)


def mean(x, dim=None, keepdim=False):
    return _tensor(x).mean(dim, keepdim)


def argmax(x, dim=None, keepdim=False):
    return _tensor(x).argmax(dim, keepdim)


def reshape(x, *shape):
    return _tensor(x).reshape(*shape)


def transpose(x, dim0, dim1):
    return _tensor(x).transpose(dim0, dim1)


def permute(x, *dims):
    return _tensor(x).permute(*dims)


def flatten(x, start_dim=0, end_dim=-1):
    return _tensor(x).flatten(start_dim, end_dim)
