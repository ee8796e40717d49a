"""PyTorch's dtype objects (`torch.float32`, `torch.long`, ...) on top of NumPy dtypes.

A `dtype` prints as PyTorch's (`torch.float32`), has PyTorch's attributes (`is_floating_point`,
`is_signed`, `itemsize`) and compares equal to the NumPy dtype it stands for, so
`t.dtype == np.float32` and `t.dtype == tinytorch.float32` both hold. NumPy accepts it wherever
it takes a dtype (`np.zeros(3, dtype=tinytorch.long)`) through its `.dtype` attribute.
"""

import builtins

import numpy as np


class dtype:
    """A tensor element type: PyTorch's name and attributes over a NumPy dtype."""

    def __init__(self, name, numpy_dtype):
        self._name = name
        self._numpy = None if numpy_dtype is None else np.dtype(numpy_dtype)
        kind = self._numpy.kind if self._numpy is not None else "f"
        self.is_floating_point = kind == "f"
        self.is_complex = kind == "c"
        self.is_signed = kind in "fic"
        self.itemsize = self._numpy.itemsize if self._numpy is not None else 2

    @property
    def dtype(self):
        """The NumPy dtype (the attribute NumPy reads when given this object as a dtype)."""
        if self._numpy is None:
            raise TypeError(
                f"{self}: NumPy has no {self._name} type, so tinytorch cannot store it; "
                "use torch.float32 (or torch.float16 to save memory)"
            )
        return self._numpy

    @property
    def kind(self):
        """NumPy's kind letter ('f', 'i', 'u', 'b', 'c'), for code that treats `t.dtype` as NumPy's."""
        return self.dtype.kind

    @property
    def name(self):
        return self._name

    def __repr__(self):
        return f"torch.{self._name}"

    def __eq__(self, other):
        if isinstance(other, dtype):
            return self is other or (self._numpy is not None and self._numpy == other._numpy)
        if self._numpy is None:
            return False
        try:
            return self._numpy == np.dtype(other)
        except TypeError:
            return NotImplemented

    def __hash__(self):
        # the NumPy dtype's hash, so a dict keyed by NumPy dtypes finds `t.dtype`
        return hash(self._numpy) if self._numpy is not None else hash(self._name)

    def __reduce__(self):
        return self._name  # pickle and deepcopy give back the module-level object

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


float16 = dtype("float16", np.float16)
float32 = dtype("float32", np.float32)
float64 = dtype("float64", np.float64)
bfloat16 = dtype("bfloat16", None)  # NumPy has no bfloat16: using it raises a clear error
int8 = dtype("int8", np.int8)
int16 = dtype("int16", np.int16)
int32 = dtype("int32", np.int32)
int64 = dtype("int64", np.int64)
uint8 = dtype("uint8", np.uint8)
uint16 = dtype("uint16", np.uint16)
uint32 = dtype("uint32", np.uint32)
uint64 = dtype("uint64", np.uint64)
bool = dtype("bool", np.bool_)
complex64 = dtype("complex64", np.complex64)
complex128 = dtype("complex128", np.complex128)

# PyTorch's other names for the same objects (`torch.long is torch.int64`)
half, float, double = float16, float32, float64
short, int, long = int16, int32, int64
cfloat, cdouble = complex64, complex128
bool_ = bool  # tinytorch's earlier name

_BY_NUMPY = {
    d._numpy: d for d in (float16, float32, float64, int8, int16, int32, int64, uint8, uint16, uint32,
                          uint64, bool, complex64, complex128)
}


def from_numpy(numpy_dtype):
    """The `dtype` object for a NumPy dtype (one object per dtype, so `is` works as in PyTorch)."""
    found = _BY_NUMPY.get(numpy_dtype)
    if found is None:
        numpy_dtype = np.dtype(numpy_dtype)
        found = _BY_NUMPY.setdefault(numpy_dtype, dtype(numpy_dtype.name, numpy_dtype))
    return found


def to_numpy(d, op="dtype"):
    """The NumPy dtype for anything PyTorch or NumPy accepts as a dtype (None stays None).

    Python's `float`, `int` and `bool` mean float64, int64 and bool, as in PyTorch (NumPy would
    make `int` int32 on 32-bit WebAssembly).
    """
    if d is None:
        return None
    if isinstance(d, dtype):
        return d.dtype
    python_types = {builtins.float: np.float64, builtins.int: np.int64, builtins.bool: np.bool_}
    if d in python_types:
        return np.dtype(python_types[d])
    try:
        return np.dtype(d)
    except TypeError:
        raise TypeError(f"{op}: {d!r} is not a dtype; use e.g. torch.float32 or torch.long") from None


_default_float = float32


def get_default_dtype():
    """The dtype of floating-point tensors made from Python floats (float32)."""
    return _default_float


def set_default_dtype(d):
    """Only float32 is supported: tinytorch's float rules are written for it."""
    if to_numpy(d, "set_default_dtype") != np.float32:
        raise NotImplementedError(
            f"set_default_dtype: tinytorch's default floating dtype is fixed at torch.float32, got {d}; "
            "pass dtype= to the tensors that need another precision"
        )
