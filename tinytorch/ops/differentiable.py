"""Backward rules written with Tensor operations, for `create_graph=True`.

A normal backward computes with NumPy arrays. To differentiate a gradient again (a gradient
penalty, d2y/dx2), the backward pass itself must be recorded: then the engine hands each
operation's closure a Tensor gradient, and the closure calls the rule here, which computes the
same gradients with Tensor ops (so they are recorded too) from the op's input Tensors. Results
come back as `Grads`, which tells the engine the op knows how to do this; an op without such a
rule gives a clear error under create_graph instead of a silently wrong second derivative.
"""

import math

import numpy as np

from .. import tensor  # circular on purpose: tensor.py builds Tensor from the ops; used at call time
from ._common import _normal_cdf as _normal_cdf_array, _scatter_add


class Grads(tuple):
    """The input gradients of one op as Tensors (or None), from a rule in this module."""


def sum_to(g, shape):
    """`g` summed over the dimensions broadcasting added or stretched, so it has `shape`."""
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    return g.sum(dims, keepdim=True).reshape(shape)


def _need(t, grad):
    return grad if t._requires_grad else None


def add(g, a, b, sign=1):
    return Grads((_need(a, sum_to(g, a.shape)), _need(b, sum_to(g if sign > 0 else -g, b.shape))))


def mul(g, a, b):
    return Grads((_need(a, sum_to(g * b, a.shape)), _need(b, sum_to(g * a, b.shape))))


def div(g, a, b):
    return Grads((_need(a, sum_to(g / b, a.shape)), _need(b, sum_to(-g * a / (b * b), b.shape))))


def power(g, a, p):
    grad_a = grad_p = None
    if a._requires_grad:
        local = p * a ** (p - 1)
        if np.any(p.data == 0):  # x ** 0 has zero gradient, also at x = 0
            local = tensor.where(tensor.Tensor(p.data == 0), 0.0, local)
        grad_a = sum_to(g * local, a.shape)
    if p._requires_grad:
        undefined = (a.data == 0) & (p.data >= 0)
        log_a = tensor.where(tensor.Tensor(undefined), 0.0, a).log()
        grad_p = sum_to(tensor.where(tensor.Tensor(undefined), 0.0, g * a ** p * log_a), p.shape)
    return Grads((grad_a, grad_p))


def neg(g):
    return Grads((-g,))


def same(g):
    return Grads((g,))


def matmul(g, a, b):
    """Gradients of a @ b with 1-D operands and batch broadcasting."""
    a2 = a.unsqueeze(0) if a.ndim == 1 else a  # (..., n, k)
    b2 = b.unsqueeze(-1) if b.ndim == 1 else b  # (..., k, m)
    full = tuple(np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])) + (a2.shape[-2], b2.shape[-1])
    g2 = g.reshape(full)
    grad_a = sum_to(g2 @ b2.transpose(-1, -2), a2.shape).reshape(a.shape) if a._requires_grad else None
    grad_b = sum_to(a2.transpose(-1, -2) @ g2, b2.shape).reshape(b.shape) if b._requires_grad else None
    return Grads((grad_a, grad_b))


def kept(g, shape, dims, keepdim):
    """The gradient of a reduction over `dims` with the reduced dims kept (size 1)."""
    return g if keepdim else g.reshape(tuple(1 if i in dims else n for i, n in enumerate(shape)))


def reduce_sum(g, shape, dims, keepdim, scale=1):
    """Gradient of sum (scale 1) or mean (1 / count) over `dims`: g spread back over `shape`."""
    g = kept(g, shape, dims, keepdim)
    if scale != 1:
        g = g * scale
    return Grads((g.expand(shape),))


def two_norm(g, x, out, dims, keepdim):
    """Gradient of the 2-norm: x g / norm, 0 where the norm (`out`, kept dims) is 0."""
    zero = tensor.Tensor(out == 0)
    norm = tensor.where(zero, 1.0, x.norm(2, dims, keepdim=True))  # no 0/0 in the unused branch
    return Grads((tensor.where(zero, 0.0, x * kept(g, x.shape, dims, keepdim) / norm),))


def product(g, x, axis, keepdim):
    """Gradient of prod over `axis`: g times the product of the other elements, exact at zeros:
    row j of an (n, n) matrix holds x with x_j replaced by 1, and its product is taken."""
    n = x.shape[axis]
    moved = x.transpose(axis, -1)  # (..., n)
    rows = moved.unsqueeze(-2).expand(*moved.shape[:-1], n, n)  # (..., n, n)
    others = tensor.where(tensor.Tensor(np.eye(n, dtype=bool)), 1.0, rows).prod(-1).transpose(axis, -1)
    return Grads((kept(g, x.shape, (axis,), keepdim) * others,))


def spread(g, x, dims, keepdim, dof, std=False):
    """Gradients of var (2 (x - mean) / dof) and std ((x - mean) / (dof std), 0 where std is 0)."""
    g = kept(g, x.shape, dims, keepdim)
    centered = x - x.mean(dims, keepdim=True)
    if not std:
        return Grads((g * centered * (2 / dof),))
    s = ((centered * centered).sum(dims, keepdim=True) / dof).sqrt()
    constant = tensor.Tensor(s.data == 0)
    return Grads((tensor.where(constant, 0.0, g * centered / (s * dof)),))


def logsumexp(g, x, dims, keepdim):
    return Grads((kept(g, x.shape, dims, keepdim) * (x - x.logsumexp(dims, keepdim=True)).exp(),))


def sin(g, x):
    return Grads((g * x.cos(),))


def cos(g, x):
    return Grads((-g * x.sin(),))


def exp(g, x):
    return Grads((g * x.exp(),))


def log(g, x):
    return Grads((g / x,))


def sqrt(g, x):
    return Grads((g * 0.5 / x.sqrt(),))


def log1p(g, x):
    return Grads((g / (x + 1),))


def rsqrt(g, x):
    r = x.rsqrt()
    return Grads((g * (r * r * r) * -0.5,))


def square(g, x):
    return Grads((g * 2 * x,))


def tanh(g, x):
    t = x.tanh()
    return Grads((g * (1 - t * t),))


def sigmoid(g, x):
    s = x.sigmoid()
    return Grads((g * s * (1 - s),))


def silu(g, x):
    s = x.sigmoid()
    return Grads((g * s * (x * (1 - s) + 1),))


def _normal_density(x):
    """phi(x) = exp(-x^2 / 2) / sqrt(2 pi), with Tensor ops."""
    return (x * x * -0.5).exp() * (1 / math.sqrt(2 * math.pi))


def _normal_cdf(x):
    """Phi(x), the standard normal CDF, as a recorded op whose gradient is phi(x)."""
    def backward(g):
        if type(g) is np.ndarray:
            return (g * _normal_density(tensor.Tensor(x.data)).data,)
        return Grads((g * _normal_density(x),))

    return tensor.Tensor._result(_normal_cdf_array(x.data), (x,), backward, "NormalCdfBackward")


def gelu(g, x, approximate):
    """Gradient of GELU: Phi(x) + x phi(x), or for the tanh form 0.5 (1 + t) + 0.5 x (1 - t^2)
    c (1 + 3 a x^2) with t = tanh(c (x + a x^3))."""
    if approximate == "tanh":
        c, a = math.sqrt(2.0 / math.pi), 0.044715
        t = ((x + x * x * x * a) * c).tanh()
        return Grads((g * ((t + 1) * 0.5 + x * (1 - t * t) * (x * x * (3 * a) + 1) * (0.5 * c)),))
    return Grads((g * (_normal_cdf(x) + x * _normal_density(x)),))


def zero(g):
    """The gradient of a piecewise-constant op (floor, sign, ...): zeros."""
    return Grads((tensor.Tensor._constant(np.zeros(g.shape, dtype=g.data.dtype)),))


def shared(g, a, b, share):
    """Gradients of maximum / minimum: g times the constant `share` a got (1, 0 or 0.5 on a
    tie), the rest to b."""
    return Grads((_need(a, sum_to(g * tensor.Tensor(share), a.shape)),
                  _need(b, sum_to(g * tensor.Tensor(1 - share), b.shape))))


def scatter(g, shape, where):
    """Gradient of a gather at the advanced index `where` (gather, index_select): g added into
    zeros of `shape`, recorded (its own gradient gathers again)."""
    return index(g, shape, where, True)


def masked(g, mask):
    """An op whose gradient is g times a constant array `mask` (relu: x > 0; leaky_relu: 1 or
    the slope; max: where the maximum was)."""
    return Grads((g * tensor.Tensor(np.asarray(mask, dtype=g.dtype)),))


def squared_error(g, input, target, scale):
    """Gradients of mse_loss: 2 g scale (input - target), and its negative for the target."""
    grad = g * (2 * scale) * (input - target)
    return Grads((grad if input._requires_grad else None, -grad if target._requires_grad else None))


def choose(g, a, b, mask):
    """Gradients of an elementwise choice (where, clamp with tensor bounds): g where the
    constant `mask` picked a, the rest to b."""
    return Grads((_need(a, sum_to(g * tensor.Tensor(mask), a.shape)), _need(b, sum_to(g * tensor.Tensor(~mask), b.shape))))


def pieces(g, axis, bounds):
    """Gradients of cat: the slices of g along `axis` between consecutive `bounds`."""
    prefix = (slice(None),) * axis
    edges = [0, *bounds, g.shape[axis]]
    return Grads(tuple(g[prefix + (slice(lo, hi),)] for lo, hi in zip(edges[:-1], edges[1:])))


def unstack(g, axis):
    """Gradients of stack: g indexed along the new `axis`."""
    prefix = (slice(None),) * axis
    return Grads(tuple(g[prefix + (i,)] for i in range(g.shape[axis])))


def cast(g, dtype):
    return Grads((g.to(dtype),))


def softmax(g, x, axis):
    s = x.softmax(axis)
    return Grads((s * (g - (g * s).sum(axis, keepdim=True)),))


def log_softmax(g, x, axis):
    return Grads((g - x.softmax(axis) * g.sum(axis, keepdim=True),))


def reshape(g, shape):
    return Grads((g.reshape(shape),))


def permute(g, inverse):
    return Grads((g.permute(*inverse),))


def expand(g, shape):
    return Grads((sum_to(g, shape),))


def index(g, shape, index, advanced):
    """Gradient of x[index]: g scattered into zeros of x's shape, as a recorded op whose own
    gradient gathers at `index` again."""
    data = _scatter_tensor_data(shape, index, g.data, advanced)

    def backward(gg):
        return Grads((gg[index],)) if type(gg) is not np.ndarray else (gg[index],)

    return Grads((tensor.Tensor._result(data, (g,), backward, "IndexBackwardBackward"),))


def _scatter_tensor_data(shape, index, values, advanced):
    if advanced:
        return _scatter_add(shape, index, values)
    grad = np.zeros(shape, dtype=values.dtype)
    grad[index] = values
    return grad


def _rows(x):
    """Logits (N, C, d...) or (C,) as rows (M, C), classes last, and the inverse."""
    batched = x.reshape(1, -1) if x.ndim == 1 else x
    order = (0, *range(2, batched.ndim), 1)
    moved = batched.permute(*order) if batched.ndim > 2 else batched

    def back(rows):
        out = rows.reshape(moved.shape)
        out = out.permute(*np.argsort(order)) if batched.ndim > 2 else out
        return out.reshape(x.shape)

    return moved.reshape(-1, moved.shape[-1]), back


def cross_entropy(g, input, scale, out_shape, a_total, a):
    """Gradient of the fused cross-entropy for the logits: per row, upstream * (softmax * sum(a)
    - a), with `a` (M, C) the constant class weights of each row (target one-hot times its
    weight, plus label smoothing) and `a_total` (M,) their sums; target: no gradient."""
    rows, back = _rows(input)
    upstream = (g * scale + tensor.Tensor(np.zeros(out_shape, dtype=rows.data.dtype))).reshape(-1, 1)  # (M, 1)
    grad = upstream * (rows.softmax(-1) * tensor.Tensor(a_total[:, None]) - tensor.Tensor(a))
    return Grads((back(grad), None))


def standardized(x, axes, eps):
    """(xhat, invstd): x standardized over `axes` with the biased variance, as Tensor ops."""
    centered = x - x.mean(axes, keepdim=True)
    invstd = 1 / ((centered * centered).mean(axes, keepdim=True) + eps).sqrt()
    return centered * invstd, invstd


def normalized_input_grad(gw, xhat, invstd, axes):
    """dx of a normalization over `axes` given gw = g * weight:
    invstd (gw - mean(gw) - xhat mean(gw xhat))."""
    return (gw - gw.mean(axes, keepdim=True) - xhat * (gw * xhat).mean(axes, keepdim=True)) * invstd


def layer_norm(g, x, w, b, axes, eps):
    """Gradients of layer_norm for x, weight and bias (None where absent), with Tensor ops:
    dx = invstd (gw - mean(gw) - xhat mean(gw xhat)), gw = g * weight."""
    lead = tuple(range(x.ndim - len(axes)))
    xhat, invstd = standardized(x, axes, eps)
    grad_x = normalized_input_grad(g if w is None else g * w, xhat, invstd, axes) if x._requires_grad else None
    grads = [grad_x]
    if w is not None:
        grads.append((g * xhat).sum(lead) if w._requires_grad else None)
    if b is not None:
        grads.append(g.sum(lead) if b._requires_grad else None)
    return Grads(grads)


def linear(g, x, w, b):
    """Gradients of x @ w.T + b for x (*, in), w (out, in), b (out,)."""
    g2 = g.reshape(-1, w.shape[0])  # (N, out)
    grad_x = (g2 @ w).reshape(x.shape) if x._requires_grad else None
    grad_w = g2.transpose(0, 1) @ x.reshape(-1, w.shape[1]) if w._requires_grad else None
    grad_b = g2.sum(0) if b is not None and b._requires_grad else None
    return Grads((grad_x, grad_w) if b is None else (grad_x, grad_w, grad_b))
