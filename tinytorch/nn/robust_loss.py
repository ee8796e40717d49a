"""Regression losses less sensitive to outliers than MSE: L1, smooth L1 and Huber, each one
node with a hand-written backward (the gradient is bounded where the error is large)."""

import numpy as np

from .. import versions
from ..tensor import Tensor
from . import functional_twice
from .loss import _check_reduction, _check_same_shape, _Loss, _reduce
from .module import check_input


# what PyTorch's backward reads: both operands, except for l1 (its backward reads a difference)
_POINTWISE = {
    op: versions.SavingOp(f"{op.title().replace('_', '')}Backward", saves=() if op == "l1_loss" else (0, 1))
    for op in ("l1_loss", "smooth_l1_loss", "huber_loss")
}


def _pointwise_loss(input, target, reduction, op, loss_and_slope):
    """reduce(loss(input - target)), with d(loss)/d(diff) = slope and d(slope)/d(diff) =
    curvature from `loss_and_slope(diff)`."""
    check_input(input, op)
    _check_same_shape(input, target, op)
    _check_reduction(reduction, op)
    diff = input.data - target.data
    loss, slope, curvature = loss_and_slope(diff)
    out, scale = _reduce(loss.astype(diff.dtype, copy=False), reduction)

    def backward(g):
        if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
            return functional_twice.pointwise_loss(g, input, target, scale, slope, curvature)
        grad = (g * scale) * slope
        return grad.astype(diff.dtype, copy=False), (-grad).astype(diff.dtype, copy=False)

    return Tensor._result(np.asarray(out), (input, target), backward, _POINTWISE[op])


def l1_loss(input, target, reduction="mean"):
    """reduce(|input - target|); the gradient is sign(input - target) (0 where equal)."""
    return _pointwise_loss(input, target, reduction, "l1_loss", lambda d: (np.abs(d), np.sign(d), np.zeros_like(d)))


def _huber(diff, beta, op):
    """Per-element Huber loss with threshold beta, its slope and the slope's derivative
    (0.5 d^2 inside, linear outside)."""
    if beta < 0:
        raise ValueError(f"{op}: beta/delta must be non-negative, got {beta}")
    magnitude = np.abs(diff)
    inside = magnitude < beta
    loss = np.where(inside, 0.5 * diff * diff / (beta if beta else 1), magnitude - 0.5 * beta)
    slope = np.where(inside, diff / (beta if beta else 1), np.sign(diff))
    return loss, slope, inside / (beta if beta else 1)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target); beta=0 is L1."""
    op = "smooth_l1_loss"
    return _pointwise_loss(input, target, reduction, op, lambda d: _huber(d, beta, op))


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d^2 where |d| < delta, else delta * (|d| - 0.5 delta): delta times smooth L1 with beta=delta."""
    op = "huber_loss"

    def loss_and_slope(d):
        loss, slope, curvature = _huber(d, delta, op)
        return loss * delta, slope * delta, curvature * delta

    return _pointwise_loss(input, target, reduction, op, loss_and_slope)


class L1Loss(_Loss):
    def forward(self, input, target):
        return l1_loss(input, target, self.reduction)


class SmoothL1Loss(_Loss):
    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input, target):
        return smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(_Loss):
    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):
        return huber_loss(input, target, self.reduction, self.delta)
