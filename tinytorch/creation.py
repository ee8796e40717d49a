"""Functions that create tensors: from data, constant-filled, ranges and random.

Signatures follow PyTorch's: sizes as `zeros(2, 3)`, `zeros((2, 3))` or `zeros(size=(2, 3))`;
keyword `dtype=`, `device=` (the CPU only) and `requires_grad=`; floating results are float32
unless `dtype=` says otherwise.
"""

import operator

import numpy as np

from .device import check_device
from .dtypes import to_numpy
from .random import rng_of
from .tensor import Tensor, _as_array


def _shape(size, op="size"):
    """Accept both `zeros(2, 3)` and `zeros((2, 3))` (and sizes held in 0-d integer tensors)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    try:
        shape = tuple(operator.index(n) for n in size)
    except TypeError:
        raise TypeError(f"{op}: size must be a tuple of integers, got {size!r}") from None
    if any(n < 0 for n in shape):
        raise ValueError(f"{op}: size must be non-negative integers, got {size}")
    return shape


def _sizes(size, keyword, op):
    """The shape from `*size` or `size=` (exactly one of them)."""
    if keyword is not None:
        if size:
            raise TypeError(f"{op}: size given both positionally and as size=")
        size = (keyword,)
    return _shape(size, op)


def _made(array, device, requires_grad, op):
    """The new tensor for `array`, after checking the requested device."""
    check_device(device, op)
    return Tensor(array, requires_grad=requires_grad)


def _float_dtype(dtype, op):
    return np.dtype(np.float32) if dtype is None else to_numpy(dtype, op)


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of `data` (lists, scalars, arrays or tensors)."""
    array = np.array(_as_array(data, to_numpy(dtype, "tensor")), copy=True)
    return _made(array, device, requires_grad, "tensor")


def as_tensor(data, dtype=None, device=None):
    """`data` as a tensor, sharing memory with a NumPy array or tensor when the dtype allows."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == dtype):
        check_device(device, "as_tensor")
        return data
    return _made(_as_array(data, to_numpy(dtype, "as_tensor")), device, False, "as_tensor")


def from_numpy(array):
    """A tensor sharing memory with a NumPy array."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(array).__name__}")
    return Tensor(array)


def zeros(*size, dtype=None, device=None, requires_grad=False, **kwargs):
    shape = _sizes(size, kwargs.pop("size", None), "zeros")
    _no_extra(kwargs, "zeros")
    return _made(np.zeros(shape, dtype=_float_dtype(dtype, "zeros")), device, requires_grad, "zeros")


def ones(*size, dtype=None, device=None, requires_grad=False, **kwargs):
    shape = _sizes(size, kwargs.pop("size", None), "ones")
    _no_extra(kwargs, "ones")
    return _made(np.ones(shape, dtype=_float_dtype(dtype, "ones")), device, requires_grad, "ones")


def empty(*size, dtype=None, device=None, requires_grad=False, **kwargs):
    """An uninitialized tensor (here: zeros, so results never depend on stale memory)."""
    shape = _sizes(size, kwargs.pop("size", None), "empty")
    _no_extra(kwargs, "empty", ("pin_memory", "layout", "memory_format"))
    return _made(np.zeros(shape, dtype=_float_dtype(dtype, "empty")), device, requires_grad, "empty")


def _no_extra(kwargs, op, ignored=("pin_memory", "layout")):
    """Accept PyTorch's layout/memory keywords that mean nothing here; refuse anything else."""
    unknown = sorted(set(kwargs) - set(ignored))
    if unknown:
        raise TypeError(f"{op}: unexpected keyword argument(s) {', '.join(unknown)}")


def _fill_dtype(fill_value):
    """PyTorch's dtype for a fill value: bool, int64 for integers, float32 for floats."""
    if isinstance(fill_value, Tensor):
        return fill_value.data.dtype
    if isinstance(fill_value, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(fill_value, (int, np.integer)):
        return np.dtype(np.int64)
    return np.dtype(np.float32)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    dtype = _fill_dtype(fill_value) if dtype is None else to_numpy(dtype, "full")
    array = np.full(_shape((size,), "full"), _as_array(fill_value), dtype=dtype)
    return _made(array, device, requires_grad, "full")


def _like(t, fill, dtype, device, requires_grad, op):
    """A tensor shaped like `t` (a Tensor or array) filled by `fill(shape, dtype)`."""
    source = _as_array(t)
    dtype = source.dtype if dtype is None else to_numpy(dtype, op)
    return _made(fill(source.shape, dtype), device, requires_grad, op)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False):
    return _like(t, lambda shape, d: np.full(shape, _as_array(fill_value), dtype=d), dtype, device,
                 requires_grad, "full_like")


def zeros_like(t, dtype=None, device=None, requires_grad=False):
    return _like(t, np.zeros, dtype, device, requires_grad, "zeros_like")


def ones_like(t, dtype=None, device=None, requires_grad=False):
    return _like(t, np.ones, dtype, device, requires_grad, "ones_like")


def empty_like(t, dtype=None, device=None, requires_grad=False):
    """Like `torch.empty_like` (here: zeros, so results never depend on stale memory)."""
    return _like(t, np.zeros, dtype, device, requires_grad, "empty_like")


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _made(np.eye(n, m, dtype=_float_dtype(dtype, "eye")), device, requires_grad, "eye")


def _number(v):
    return v.item() if isinstance(v, Tensor) else v


def arange(start=0, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """Like `torch.arange`: `arange(end)`, `arange(start, end, step)`; integers give int64, any
    float gives float32."""
    start, end, step = _number(start), _number(end), _number(step)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(f"arange: end {end} cannot be reached from start {start} with step {step} (wrong sign)")
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if integral else np.float32
    else:
        dtype = to_numpy(dtype, "arange")
    return _made(np.arange(start, end, step, dtype=dtype), device, requires_grad, "arange")


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    start, end = _number(start), _number(end)
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative integer, got {steps!r}")
    array = np.linspace(start, end, steps, dtype=_float_dtype(dtype, "linspace"))
    return _made(array, device, requires_grad, "linspace")


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False, **kwargs):
    """Standard normal samples."""
    shape = _sizes(size, kwargs.pop("size", None), "randn")
    _no_extra(kwargs, "randn")
    data = rng_of(generator).standard_normal(shape, dtype=np.float64).astype(_float_dtype(dtype, "randn"))
    return _made(data, device, requires_grad, "randn")


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False, **kwargs):
    """Uniform samples in [0, 1)."""
    shape = _sizes(size, kwargs.pop("size", None), "rand")
    _no_extra(kwargs, "rand")
    data = rng_of(generator).random(shape, dtype=np.float64).astype(_float_dtype(dtype, "rand"))
    return _made(data, device, requires_grad, "rand")


def randn_like(t, generator=None, dtype=None, device=None, requires_grad=False):
    t = _as_array(t)
    return randn(*t.shape, generator=generator, dtype=dtype or t.dtype, device=device, requires_grad=requires_grad)


def rand_like(t, generator=None, dtype=None, device=None, requires_grad=False):
    t = _as_array(t)
    return rand(*t.shape, generator=generator, dtype=dtype or t.dtype, device=device, requires_grad=requires_grad)


def randint(*args, size=None, low=None, high=None, generator=None, dtype=None, device=None,
            requires_grad=False):
    """Integers drawn uniformly from [low, high), with PyTorch's overloads:
    `randint(high, size)`, `randint(low, high, size)` and their keyword forms (`size` is required)."""
    args = list(args)
    if size is None:
        if not args or not isinstance(args[-1], (tuple, list)):
            raise TypeError(
                "randint: size is required and must be a tuple, e.g. randint(10, (3,)) or "
                f"randint(0, 10, (3,)); got arguments {tuple(args)}"
            )
        size = args.pop()
    if len(args) > 2:
        raise TypeError(f"randint: expected (high, size) or (low, high, size), got {len(args) + 1} arguments")
    if high is None:
        if not args:
            raise TypeError("randint: missing high")
        high = args.pop()
    if args:
        if low is not None:
            raise TypeError("randint: low given both positionally and as low=")
        low = args.pop()
    low = 0 if low is None else _number(low)
    high = _number(high)
    if not low < high:
        raise ValueError(f"randint: low must be less than high, got low={low} >= high={high}")
    numbers = rng_of(generator).integers(low, high, size=_shape((size,), "randint"), dtype=np.int64)
    dtype = np.int64 if dtype is None else to_numpy(dtype, "randint")
    return _made(numbers.astype(dtype, copy=False), device, requires_grad, "randint")


def randint_like(t, low=0, high=None, generator=None, dtype=None, device=None, requires_grad=False):
    """`randint_like(t, high)` or `randint_like(t, low, high)`: integers shaped like `t`."""
    if high is None:
        low, high = 0, low
    t = _as_array(t)
    return randint(low, high, t.shape, generator=generator, dtype=dtype or t.dtype, device=device,
                   requires_grad=requires_grad)


def randperm(n, generator=None, dtype=None, device=None, requires_grad=False):
    numbers = rng_of(generator).permutation(n)
    dtype = np.int64 if dtype is None else to_numpy(dtype, "randperm")
    return _made(numbers.astype(dtype), device, requires_grad, "randperm")


def normal(mean, std=1.0, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Samples of N(mean, std^2): `normal(0.0, 1.0, size=(3,))`, or elementwise for tensors of
    means and/or standard deviations (`normal(means, stds)`)."""
    mean_array, std_array = _as_array(mean), _as_array(std)
    if np.any(std_array < 0):
        raise ValueError(f"normal: std must be non-negative, got {std!r}")
    shape = _shape((size,), "normal") if size is not None else np.broadcast_shapes(mean_array.shape, std_array.shape)
    floating = [a.dtype for a in (mean_array, std_array) if a.dtype.kind == "f" and a.ndim]
    dtype = to_numpy(dtype, "normal") if dtype is not None else (floating[0] if floating else np.dtype(np.float32))
    data = rng_of(generator).normal(mean_array, std_array, shape).astype(dtype)
    return _made(data, device, requires_grad, "normal")


def bernoulli(input, p=None, generator=None):
    """1 with probability `input` (or `p`), else 0, elementwise, in the input's dtype."""
    probs = _as_array(input)
    if p is not None:
        probs = np.full(probs.shape, p, dtype=probs.dtype)
    if np.any((probs < 0) | (probs > 1)):
        raise ValueError("bernoulli: probabilities must be in [0, 1]")
    return Tensor((rng_of(generator).random(probs.shape) < probs).astype(probs.dtype))


def _typed_constructor(dtype, name):
    """PyTorch's legacy constructors: `LongTensor([1, 2])` holds data, `FloatTensor(2, 3)` makes
    a tensor of that size (zeros here, where PyTorch leaves memory uninitialized)."""

    def construct(*args):
        sizes = len(args) != 1 or isinstance(args[0], (int, np.integer)) and not isinstance(args[0], bool)
        if sizes and all(isinstance(a, (int, np.integer)) for a in args):
            return zeros(*args, dtype=dtype)
        if len(args) != 1:
            raise TypeError(f"{name}: expected sizes (ints) or one sequence of data, got {args!r}")
        return tensor(args[0], dtype=dtype)

    construct.__name__ = construct.__qualname__ = name
    return construct


FloatTensor = _typed_constructor(np.float32, "FloatTensor")
DoubleTensor = _typed_constructor(np.float64, "DoubleTensor")
HalfTensor = _typed_constructor(np.float16, "HalfTensor")
LongTensor = _typed_constructor(np.int64, "LongTensor")
IntTensor = _typed_constructor(np.int32, "IntTensor")
ByteTensor = _typed_constructor(np.uint8, "ByteTensor")
BoolTensor = _typed_constructor(np.bool_, "BoolTensor")
