"""tinytorch: a PyTorch-like deep learning framework in pure NumPy, built in a course."""

__version__ = "0.1.0"

from .tensor import Tensor, cat, stack, where
from .dtypes import (  # noqa: A004  (PyTorch's names shadow builtins here, as in torch)
    dtype, float16, float32, float64, bfloat16, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
    bool, bool_, complex64, complex128, half, float, double, short, int, long, cfloat, cdouble,
    get_default_dtype, set_default_dtype,
)
from .device import device
from .size import Size
from .printing import set_printoptions
from .runtime import (
    get_num_threads, set_num_threads, get_num_interop_threads, set_num_interop_threads,
    use_deterministic_algorithms, are_deterministic_algorithms_enabled,
    set_float32_matmul_precision, get_float32_matmul_precision,
)
from .grad_mode import no_grad, enable_grad, is_grad_enabled, set_grad_enabled, inference_mode
from .random import Generator, manual_seed
from .creation import (
    tensor, as_tensor, from_numpy, zeros, ones, full, zeros_like, ones_like, eye, arange, linspace,
    randn, rand, randint, randint_like, randperm, empty, empty_like, full_like, randn_like, rand_like,
    normal, bernoulli,
    FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, ByteTensor, BoolTensor,
)
from .functional_ops import (
    matmul, exp, log, sqrt, abs, tanh, sigmoid, relu, clamp, softmax, log_softmax,
    sum, mean, argmax, reshape, transpose, permute, flatten,
    sin, cos, maximum, minimum, logsumexp, var, std, max, min, argmin, topk, unsqueeze,
    squeeze, split, chunk, masked_fill, tril, triu, clone, multinomial,
    einsum, is_tensor, numel, is_floating_point, pow, floor_divide, remainder, fmod, eq, ne, lt, le, gt, ge,
    equal, isclose, allclose, logical_not, logical_and, logical_or, all, any, isnan, isinf, isfinite, clip,
    log1p, rsqrt, square, sign, floor, ceil, trunc, round, amax, amin, prod, cumsum, norm, mm, bmm, outer,
    t, flip, roll, broadcast_to, unbind, gather, index_select, sort, argsort, nonzero,
    scatter, scatter_add, repeat_interleave,
)
from . import accelerator, autograd, backends, cuda
from .serialization import save, load
from . import data, datasets, utils
from . import nn, optim
from . import train
from . import text
from . import profiling, quantization, compression, acceleration, benchmarking
from . import amp
from .amp import autocast
from . import models
