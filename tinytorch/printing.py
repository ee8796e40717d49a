"""`repr(tensor)` as PyTorch prints it: `tensor([1., 2.])`, `tensor(0.5000)`,
`tensor([1, 2], dtype=torch.int32)`, `tensor(3., requires_grad=True)`, `grad_fn=<AddBackward0>`.

Follows torch/_tensor_str.py with its default print options: 4 decimals, scientific notation when
the magnitudes span more than 1000x (or exceed 1e8, or fall below 1e-4), 80 columns, and
tensors of more than 1000 elements summarized with their first and last 3 entries per dimension.
"""

import math

import numpy as np

from . import dtypes

PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH, SCI_MODE = 4, 1000, 3, 80, None
_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, float("inf"), 3, 80)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """`torch.set_printoptions`: digits, summarization and width of printed tensors."""
    global PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH, SCI_MODE
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, got {profile!r}")
        PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH = _PROFILES[profile]
    PRECISION = PRECISION if precision is None else precision
    THRESHOLD = THRESHOLD if threshold is None else threshold
    EDGEITEMS = EDGEITEMS if edgeitems is None else edgeitems
    LINEWIDTH = LINEWIDTH if linewidth is None else linewidth
    SCI_MODE = sci_mode

# element types that PyTorch prints without a dtype= suffix
_IMPLIED = (np.dtype(np.float32), np.dtype(np.int64), np.dtype(np.bool_))

_TYPE_NAMES = {
    "float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor", "int64": "LongTensor",
    "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor",
}


def type_name(numpy_dtype):
    """`'torch.FloatTensor'` and friends, as `Tensor.type()` returns them."""
    return f"torch.{_TYPE_NAMES.get(np.dtype(numpy_dtype).name, 'Tensor')}"


def dtype_of_type_name(name):
    """The dtype a `Tensor.type('torch.LongTensor')` call asks for."""
    for dtype_name, tensor_name in _TYPE_NAMES.items():
        if name in (f"torch.{tensor_name}", tensor_name):
            return np.dtype(dtype_name)
    raise ValueError(f"type: invalid type {name!r}; expected e.g. 'torch.FloatTensor' or a dtype")


class _Formatter:
    """Width and style (integer-valued, fixed or scientific) shared by all elements."""

    def __init__(self, values):
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        flat = values.reshape(-1)
        if not self.floating:
            self.width = max([1] + [len(str(v)) for v in flat.tolist()])
            return
        finite = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if finite.size == 0:
            return
        magnitudes = np.abs(finite)
        low, high = magnitudes.min(), magnitudes.max()
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        # (integer values are never below 1e-4, so one rule serves both modes)
        self.sci_mode = high / low > 1000.0 or high > 1.0e8 or low < 1.0e-4 if SCI_MODE is None else SCI_MODE
        if self.sci_mode:
            texts = [f"{v:.{PRECISION}e}" for v in finite.tolist()]
        elif self.int_mode:
            texts = [f"{v:.0f}." for v in finite.tolist()]
        else:
            texts = [f"{v:.{PRECISION}f}" for v in finite.tolist()]
        self.width = max(len(t) for t in texts)

    def format(self, value):
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:{self.width}.{PRECISION}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{PRECISION}f}"
        return " " * (self.width - len(text)) + text


def _summarized(values):
    """The elements the printout shows (edges only, for large tensors), flat, for the formatter."""
    if values.ndim == 0:
        return values.reshape(1)
    rows = values
    if values.shape[0] > 2 * EDGEITEMS:
        rows = np.concatenate([values[:EDGEITEMS], values[-EDGEITEMS:]])
    if values.ndim == 1:
        return rows
    return np.concatenate([_summarized(row) for row in rows])


def _vector(values, indent, summarize, fmt):
    per_line = max(1, (LINEWIDTH - indent) // (fmt.width + 2))
    items = values.tolist()
    if summarize and len(items) > 2 * EDGEITEMS:
        data = [fmt.format(v) for v in items[:EDGEITEMS]] + [" ..."] + [fmt.format(v) for v in items[-EDGEITEMS:]]
    else:
        data = [fmt.format(v) for v in items]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(values, indent, summarize, fmt):
    if values.ndim == 0:
        return fmt.format(values.item())
    if values.ndim == 1:
        return _vector(values, indent, summarize, fmt)
    rows = range(values.shape[0])
    if summarize and values.shape[0] > 2 * EDGEITEMS:
        rows = list(range(EDGEITEMS)) + [None] + list(range(values.shape[0] - EDGEITEMS, values.shape[0]))
    slices = ["..." if i is None else _nested(values[i], indent + 1, summarize, fmt) for i in rows]
    return "[" + ("," + "\n" * (values.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _add_suffixes(text, suffixes, indent):
    """Append `, suffix` items, wrapping to a new line past 80 columns as PyTorch does."""
    parts = [text]
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > LINEWIDTH:
            parts.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line += len(suffix) + 2
    return "".join(parts) + ")"


def tensor_repr(t):
    """PyTorch's `repr` of the Tensor `t`."""
    values = t.data
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    dtype_suffix = f"dtype={dtypes.from_numpy(values.dtype)}"
    if values.size == 0:
        if values.ndim != 1:
            suffixes.append(f"size={tuple(values.shape)}")
        if values.dtype != np.float32:
            suffixes.append(dtype_suffix)
        body = "[]"
    else:
        if values.dtype not in _IMPLIED:
            suffixes.append(dtype_suffix)
        if values.dtype == np.float16:  # printed through float32, as PyTorch does
            values = values.astype(np.float32)
        summarize = values.size > THRESHOLD
        fmt = _Formatter(_summarized(values) if summarize else values)
        body = _nested(values, indent, summarize, fmt)
    if t.grad_fn is not None:
        name = t.grad_fn
        suffixes.append(f"grad_fn=<{name}0>" if name.endswith("Backward") else f"grad_fn=<{name}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
