"""tinytorch: a PyTorch-like deep learning framework in pure NumPy, built in a course."""

__version__ = "0.1.0"

from .tensor import (
    Tensor, cat, stack, where,
    float16, float32, float64, int8, int32, int64, bool_,
)
from .grad_mode import no_grad, enable_grad, is_grad_enabled, set_grad_enabled
from .random import Generator, manual_seed
from .creation import (
    tensor, from_numpy, zeros, ones, full, zeros_like, ones_like, eye, arange, linspace,
    randn, rand, randint, randperm, empty, full_like, randn_like, rand_like,
)
from .functional_ops import (
    matmul, exp, log, sqrt, abs, tanh, sigmoid, relu, clamp, softmax, log_softmax,
    sum, mean, argmax, reshape, transpose, permute, flatten,
    sin, cos, maximum, minimum, logsumexp, var, std, max, min, argmin, topk, unsqueeze,
    squeeze, split, chunk, masked_fill, tril, triu, clone, multinomial,
)
from . import data, datasets, utils
from . import nn, optim
from . import train
from . import text
from . import profiling, quantization, compression, acceleration, benchmarking
from . import amp
from .amp import autocast
from . import models
