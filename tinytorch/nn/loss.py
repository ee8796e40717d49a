"""Loss functions, each one fused node with a hand-written, numerically stable backward.

MSELoss, CrossEntropyLoss, NLLLoss, BCEWithLogitsLoss, BCELoss and their functional forms.
Class-index losses take input (N, C) or (N, C, d1, ...) with integer targets (N,) or (N, d1, ...),
as in PyTorch; for a sequence model, flatten: `cross_entropy(logits.view(-1, C), y.view(-1))`.
"""

import numpy as np

from collections import namedtuple

from .. import versions
from ..ops import differentiable
from ..seams import replaced, seam
from ..tensor import Tensor
from . import functional_twice
from .module import Module, check_input

# rows (M, C); labels (M,) with ignored ones set to 0; kept (M,) bool; class_weight (C,) or None;
# row_weight (M,) = w[label], 0 where ignored; out_shape for reduction='none'; to_input_layout(grad (M, C)).
_ClassProblem = namedtuple(
    "_ClassProblem", "rows labels kept class_weight row_weight out_shape to_input_layout"
)

_REDUCTIONS = ("mean", "sum", "none")

# what PyTorch's backward reads (see versions.SavingOp): cross-entropy only the target (its
# log-softmax keeps its own output), the other losses input and target
_MSE, _NLL, _BCE_WITH_LOGITS, _BCE = (
    versions.SavingOp(name, saves=(0, 1)) for name in
    ("MseLossBackward", "NllLossBackward", "BinaryCrossEntropyWithLogitsBackward", "BinaryCrossEntropyBackward")
)
_CROSS_ENTROPY = versions.SavingOp("CrossEntropyLossBackward", saves=(1,), needed_by={1: (0,)})


def _check_reduction(reduction, op):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss, reduction, denominator=None):
    """Reduce per-element losses; returns the value and the factor d(value)/d(each element)."""
    if reduction == "none":
        return loss, 1
    total = loss.sum(dtype=loss.dtype)
    if reduction == "sum":
        return total, 1
    count = loss.size if denominator is None else denominator
    if count == 0:  # nothing counted: the mean is 0/0 = nan, as in PyTorch
        return np.asarray(np.nan, dtype=loss.dtype), np.asarray(np.nan, dtype=loss.dtype)
    scale = np.asarray(1.0, dtype=loss.dtype) / np.asarray(count, dtype=loss.dtype)
    return total * scale, scale


def _check_same_shape(input, target, op):
    check_input(target, op)
    if input.shape != target.shape:
        raise ValueError(
            f"{op}: target shape {tuple(target.shape)} must match input shape {tuple(input.shape)}"
        )


# ---------------------------------------------------------------------- regression


# Each loss of module 04 is a seam: `F.mse_loss(input, target)` etc. call the implementation in
# use (a learner's, whose interface has no options) when the call uses no option beyond it,
# and tinytorch's own (declared below with the exercise's interface first) otherwise.

def mse_loss(input, target, reduction="mean"):
    """Mean squared error: reduce((input - target)^2)."""
    check_input(input, "mse_loss")
    _check_same_shape(input, target, "mse_loss")
    if reduction == "mean":
        return replaced.get("mse_loss", _mse_loss)(input, target)
    return _mse_loss(input, target, reduction)


@seam("mse_loss")
def _mse_loss(input, target, reduction="mean"):
    """tinytorch's mse_loss: one graph node, the gradient 2 (input - target) / count."""
    _check_reduction(reduction, "mse_loss")
    diff = input.data - target.data
    out, scale = _reduce(diff * diff, reduction)

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            return differentiable.squared_error(g, input, target, scale)
        grad = (2 * g * scale) * diff
        return grad, -grad

    return Tensor._result(np.asarray(out), (input, target), backward, _MSE)


# ---------------------------------------------------------------------- class-index losses


def _class_problem(input, target, weight, ignore_index, op):
    """Validate (input, target) and flatten them to rows (M, C) and labels (M,).

    Returns a _ClassProblem (see its comment).
    """
    check_input(input, op)
    check_input(target, op)
    if not np.issubdtype(target.dtype, np.integer):
        raise TypeError(
            f"{op}: target must hold class indices with an integer dtype (e.g. int64), got dtype "
            f"{target.dtype}; class-probability targets are not supported"
        )
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have shape (N, C) or (N, C, d1, ...), got shape ()")
    unbatched = input.ndim == 1
    x = input.data[None] if unbatched else input.data  # (N, C, d...)
    y = target.data[None] if unbatched else target.data  # (N, d...)
    n_classes = x.shape[1]
    expected = x.shape[:1] + x.shape[2:]
    if y.shape != expected:
        raise ValueError(
            f"{op}: input shape {tuple(input.shape)} needs target shape {expected if not unbatched else ()}, "
            f"got {tuple(target.shape)}"
        )
    # Move classes last so each row is one prediction: (N, C, d...) -> (N, d..., C) -> (M, C).
    moved = np.moveaxis(x, 1, -1) if x.ndim > 2 else x
    rows = moved.reshape(-1, n_classes)
    labels = y.reshape(-1)
    ignored = labels == ignore_index
    bad = (labels < 0) | (labels >= n_classes)
    bad &= ~ignored
    if bad.any():
        value = labels[bad][0]
        raise IndexError(f"{op}: target value {value} is out of range for {n_classes} classes (expected 0 <= target < {n_classes})")
    safe_labels = np.where(ignored, 0, labels)
    if weight is None:
        class_weight = None
        row_weight = (~ignored).astype(rows.dtype)
    else:
        if weight.shape != (n_classes,):
            raise ValueError(f"{op}: weight shape {tuple(weight.shape)} must be ({n_classes},) for {n_classes} classes")
        class_weight = weight.data.astype(rows.dtype)
        row_weight = np.where(ignored, 0, class_weight[safe_labels]).astype(rows.dtype)
    out_shape = () if unbatched else y.shape

    def to_input_layout(grad_rows):
        grad = grad_rows.reshape(moved.shape)
        grad = np.moveaxis(grad, -1, 1) if x.ndim > 2 else grad
        return grad[0] if unbatched else grad

    return _ClassProblem(rows, safe_labels, ~ignored, class_weight, row_weight, out_shape, to_input_layout)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy from logits and class indices (see _cross_entropy)."""
    mine = replaced.get("cross_entropy")
    if (mine is not None and weight is None and reduction == "mean" and label_smoothing == 0.0
            and input.ndim == 2 and target.ndim == 1 and not (target.data == ignore_index).any()):
        check_input(input, "cross_entropy")  # the exercise's case: logits (N, C), labels (N,)
        return mine(input, target)
    return _cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)


@seam("cross_entropy")
def _cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy from logits and class indices, fused and stable (log-sum-exp).

    Per row: loss = -sum_c a_c * log_softmax(x)_c with a = (1 - s) * w[y] * onehot(y) + (s / C) * w,
    so the gradient is softmax(x) * sum(a) - a. 'mean' divides by the summed weights w[y] of the
    rows that are not ignored (the number of such rows without `weight`), as PyTorch does.
    """
    op = "cross_entropy"
    _check_reduction(reduction, op)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    check_input(target, op)
    if target.dtype.kind == "f":
        return _cross_entropy_probabilities(input, target, weight, ignore_index, reduction, label_smoothing)
    rows, labels, kept, class_weight, row_weight, out_shape, to_input_layout = _class_problem(
        input, target, weight, ignore_index, op
    )
    m, n_classes = rows.shape
    dtype = rows.dtype
    arange = np.arange(m)
    # log_softmax(x)_c = shifted_c - log(sumexp); never materialised: only the picked entry and
    # (with smoothing) the row sum are needed, and the backward reuses exp(shifted).
    shifted = rows - rows.max(axis=1, keepdims=True)  # (M, C), max entry 0: exp cannot overflow
    picked_shifted = shifted[arange, labels]  # (M,)
    if label_smoothing > 0:
        if class_weight is None:
            smooth = np.full(n_classes, label_smoothing / n_classes, dtype)
        else:
            smooth = (label_smoothing / n_classes) * class_weight
        smooth_shifted = shifted @ smooth  # (M,): sum_c smooth_c * shifted_c
    exp_shifted = np.exp(shifted, out=shifted)  # reuse the buffer
    log_sumexp = np.log(exp_shifted.sum(axis=1))  # (M,)
    a_label = (1.0 - label_smoothing) * row_weight  # weight on the target class, (M,)
    a_total = a_label  # sum_c a_c per row
    loss = a_label * (log_sumexp - picked_shifted)
    if label_smoothing > 0:
        kept_smooth = np.where(kept, smooth.sum(), 0).astype(dtype)
        a_total = a_label + kept_smooth
        loss = loss + np.where(kept, kept_smooth * log_sumexp - smooth_shifted, 0)
    loss = loss.astype(dtype)
    out, scale = _reduce(loss.reshape(out_shape), reduction, denominator=row_weight.sum())
    if not kept.any():  # every target ignored: the mean is 0/0 = nan, but no row has a gradient
        scale = 0

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            a = np.zeros((m, n_classes), dtype)  # the constant per-class weights a of each row
            a[arange, labels] = a_label
            if label_smoothing > 0:
                a += np.where(kept, 1, 0).astype(dtype)[:, None] * smooth[None, :]
            return differentiable.cross_entropy(g, input, scale, out_shape, a_total.astype(dtype), a)
        upstream = np.broadcast_to(g * scale, out_shape).reshape(m)  # (M,)
        # softmax * sum(a) - a, each row times its upstream gradient
        row_factor = (upstream * a_total / np.exp(log_sumexp)).astype(dtype)
        grad = exp_shifted * row_factor[:, None]  # (M, C)
        grad[arange, labels] -= (upstream * a_label).astype(dtype)
        if label_smoothing > 0:
            grad -= np.where(kept, upstream, 0).astype(dtype)[:, None] * smooth[None, :]
        return (to_input_layout(grad), None)

    return Tensor._result(np.asarray(out), (input, target), backward, _CROSS_ENTROPY)


def _cross_entropy_probabilities(input, target, weight, ignore_index, reduction, label_smoothing):
    """Cross-entropy against class probabilities: target has the input's shape (N, C, d...) and
    loss = -sum_c w_c t'_c log_softmax(x)_c with t' = (1 - s) t + s / C; 'mean' divides by the
    number of rows (N * d...), not by the weights, as PyTorch does."""
    op = "cross_entropy"
    check_input(input, op)
    if ignore_index != -100:
        raise ValueError(f"{op}: ignore_index is not supported for class-probability (floating-point) targets")
    if input.ndim == 0 or target.shape != input.shape:
        raise ValueError(
            f"{op}: a floating-point target holds class probabilities and must have the input's shape "
            f"{tuple(input.shape)}, got {tuple(target.shape)} (class indices need an integer dtype, e.g. int64)"
        )
    x = input.data
    dtype = x.dtype
    axis = 0 if x.ndim == 1 else 1  # the class dimension
    n_classes = x.shape[axis]
    class_shape = [1] * x.ndim
    class_shape[axis] = n_classes  # (1, C, 1, ...): broadcasts a per-class vector
    w = 1 if weight is None else weight.data.astype(dtype).reshape(class_shape)
    if weight is not None and weight.shape != (n_classes,):
        raise ValueError(f"{op}: weight shape {tuple(weight.shape)} must be ({n_classes},) for {n_classes} classes")
    t = target.data.astype(dtype, copy=False)
    smoothed = t * (1 - label_smoothing) + label_smoothing / n_classes if label_smoothing else t
    shifted = x - x.max(axis=axis, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    a = w * smoothed  # (N, C, d...)
    loss = -(a * log_probs).sum(axis=axis)  # (N, d...)
    rows = loss.size
    out, scale = _reduce(loss.astype(dtype), reduction, denominator=rows)

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            class_weight = None if weight is None else Tensor(w)
            return functional_twice.cross_entropy_probabilities(
                g, input, target, class_weight, label_smoothing, scale, loss.shape)
        upstream = np.expand_dims(np.broadcast_to(g * scale, loss.shape), axis)  # (N, 1, d...)
        grad_x = (np.exp(log_probs) * a.sum(axis=axis, keepdims=True) - a) * upstream
        grad_t = None
        if target.requires_grad:
            grad_t = -(1 - label_smoothing) * w * log_probs * upstream
        return grad_x.astype(dtype), grad_t

    return Tensor._result(np.asarray(out), (input, target), backward, _CROSS_ENTROPY)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood from log-probabilities (e.g. `log_softmax` output) and class indices."""
    op = "nll_loss"
    _check_reduction(reduction, op)
    rows, labels, kept, _, row_weight, out_shape, to_input_layout = _class_problem(
        input, target, weight, ignore_index, op
    )
    m = rows.shape[0]
    loss = (-row_weight * rows[np.arange(m), labels]).astype(rows.dtype)
    out, scale = _reduce(loss.reshape(out_shape), reduction, denominator=row_weight.sum())
    if not kept.any():  # every target ignored: the mean is 0/0 = nan, but no row has a gradient
        scale = 0

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            picked = np.zeros_like(rows)
            picked[np.arange(m), labels] = row_weight
            return functional_twice.nll_loss(g, input, scale, out_shape, picked)
        upstream = np.broadcast_to(g * scale, out_shape).reshape(m)
        grad = np.zeros_like(rows)
        grad[np.arange(m), labels] = -row_weight * upstream
        return (to_input_layout(grad), None)

    return Tensor._result(np.asarray(out), (input, target), backward, _NLL)


# ---------------------------------------------------------------------- binary losses


def _check_binary(input, target, weight, op):
    check_input(input, op)
    _check_same_shape(input, target, op)
    if not np.issubdtype(target.dtype, np.floating):
        raise TypeError(f"{op}: target must be floating point (probabilities in [0, 1]), got dtype {target.dtype}")
    if weight is not None:
        try:
            np.broadcast_shapes(weight.shape, input.shape)
        except ValueError:
            raise ValueError(
                f"{op}: weight shape {tuple(weight.shape)} cannot be broadcast to input shape {tuple(input.shape)}"
            ) from None
        return weight.data
    return None


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy from logits (see _binary_cross_entropy_with_logits)."""
    mine = replaced.get("binary_cross_entropy_with_logits")
    if mine is not None and weight is None and reduction == "mean" and pos_weight is None:
        _check_binary(input, target, None, "binary_cross_entropy_with_logits")
        return mine(input, target)
    return _binary_cross_entropy_with_logits(input, target, weight, reduction, pos_weight)


@seam("binary_cross_entropy_with_logits")
def _binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable formula.

    loss = (1 - y) * x + (1 + (p - 1) * y) * softplus(-x), softplus(-x) = log1p(exp(-|x|)) + max(-x, 0);
    with pos_weight p = 1 this is max(x, 0) - x * y + log(1 + exp(-|x|)).
    """
    op = "binary_cross_entropy_with_logits"
    _check_reduction(reduction, op)
    w = _check_binary(input, target, weight, op)
    x, y = input.data, target.data
    softplus_neg = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)  # log(1 + e^-x), never overflows
    if pos_weight is None:
        log_weight = 1
    else:
        try:
            log_weight = 1 + (pos_weight.data - 1) * y
        except ValueError:
            raise ValueError(
                f"{op}: pos_weight shape {tuple(pos_weight.shape)} cannot be broadcast to input shape {tuple(x.shape)}"
            ) from None
    loss = (1 - y) * x + log_weight * softplus_neg
    if w is not None:
        loss = loss * w
    out, scale = _reduce(loss.astype(x.dtype), reduction)

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            pos = None if pos_weight is None else pos_weight.data
            return functional_twice.binary_cross_entropy_with_logits(g, input, target, w, pos, scale)
        upstream = g * scale
        if w is not None:
            upstream = upstream * w
        e = np.exp(-np.abs(x))
        sigmoid_neg = np.where(x >= 0, e, 1) / (1 + e)  # sigmoid(-x) = 1 / (1 + e^x), never overflows
        grad_x = ((1 - y) - log_weight * sigmoid_neg) * upstream
        grad_y = None
        if target.requires_grad:
            pos = 0 if pos_weight is None else (pos_weight.data - 1) * softplus_neg
            grad_y = (-x + pos) * upstream
        return grad_x.astype(x.dtype), None if grad_y is None else grad_y.astype(y.dtype)

    return Tensor._result(np.asarray(out), (input, target), backward, _BCE_WITH_LOGITS)


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """Binary cross-entropy from probabilities; logs are clamped at -100 like PyTorch.

    Prefer `binary_cross_entropy_with_logits` on logits: it is exact where sigmoid saturates.
    """
    op = "binary_cross_entropy"
    _check_reduction(reduction, op)
    w = _check_binary(input, target, weight, op)
    x, y = input.data, target.data
    if np.any((x < 0) | (x > 1)) or np.isnan(x).any():
        raise ValueError(f"{op}: all elements of input should be between 0 and 1, got min {x.min()} and max {x.max()}")
    with np.errstate(divide="ignore"):
        log_x = np.maximum(np.log(x), -100)
        log_1mx = np.maximum(np.log1p(-x), -100)
    loss = -(y * log_x + (1 - y) * log_1mx)
    if w is not None:
        loss = loss * w
    out, scale = _reduce(loss.astype(x.dtype), reduction)

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            return functional_twice.binary_cross_entropy(g, input, target, w, scale)
        upstream = g * scale
        if w is not None:
            upstream = upstream * w
        # PyTorch's formula; the floor keeps x = 0 or 1 finite.
        grad_x = (x - y) / np.maximum((1 - x) * x, 1e-12) * upstream
        grad_y = (log_1mx - log_x) * upstream if target.requires_grad else None
        return grad_x.astype(x.dtype), None if grad_y is None else grad_y.astype(y.dtype)

    return Tensor._result(np.asarray(out), (input, target), backward, _BCE)


# ---------------------------------------------------------------------- Module forms


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        _check_reduction(reduction, type(self).__name__)
        self.reduction = reduction

    def extra_repr(self):
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


class MSELoss(_Loss):
    def forward(self, input, target):
        return mse_loss(input, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """Softmax + negative log-likelihood on logits (N, C) and class indices (N,)."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return cross_entropy(input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing)


class NLLLoss(_Loss):
    """Negative log-likelihood on log-probabilities (N, C) and class indices (N,)."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits; stable where a separate sigmoid would saturate."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return binary_cross_entropy_with_logits(input, target, self.weight, self.reduction, self.pos_weight)


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities in [0, 1]."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return binary_cross_entropy(input, target, self.weight, self.reduction)
