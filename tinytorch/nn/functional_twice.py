"""Backward rules of nn.functional's windowed ops and losses, written with Tensor operations,
for `create_graph=True` (see `tinytorch.ops.differentiable`, which holds the elementwise ones).

Convolution and pooling gather each window's cells with one advanced index into the input,
`x[:, :, rows, cols]` -> (N, C, kh, kw, Ho, Wo), and send gradients back with the recorded
scatter of `differentiable.index`; cells that fall in the padding are clipped to the border and
multiplied by a 0/1 mask. Any stride, padding, dilation and groups then need no special case,
and each rule is itself built from recorded ops, so it can be differentiated again.
"""

import numpy as np

from ..ops import differentiable
from ..ops.differentiable import Grads
from ..tensor import Tensor, cat


def _window_cells(shape, out_size, kernel, stride, dilation, pad_before):
    """The index `(:, :, rows, cols)` of every window cell of an input `shape` (N, C, H, W),
    rows and cols (kh, kw, Ho, Wo) clipped into the input, and `inside` (same shape, bool):
    whether the cell is a real input cell rather than padding."""
    (H, W), (Ho, Wo) = shape[2:], out_size
    (kh, kw), (sh, sw), (dh, dw), (ph, pw) = kernel, stride, dilation, pad_before
    rows = (np.arange(kh) * dh)[:, None, None, None] + (np.arange(Ho) * sh)[None, None, :, None] - ph  # (kh, 1, Ho, 1)
    cols = (np.arange(kw) * dw)[None, :, None, None] + (np.arange(Wo) * sw)[None, None, None, :] - pw  # (1, kw, 1, Wo)
    inside = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)  # (kh, kw, Ho, Wo)
    rows = np.broadcast_to(np.clip(rows, 0, max(H - 1, 0)), inside.shape)
    cols = np.broadcast_to(np.clip(cols, 0, max(W - 1, 0)), inside.shape)
    return (slice(None), slice(None), rows, cols), inside


def _scatter(cells, shape, index):
    """The recorded sum of `cells` (N, C, kh, kw, Ho, Wo) into zeros of `shape` at `index`."""
    return differentiable.index(cells, shape, index, True)[0]


def _as_batch(t, batched):
    return t if batched else t.unsqueeze(0)


def _from_batch(t, batched):
    return t if batched else t[0]


def conv2d(g, input, weight, bias, stride, dilation, pads, groups):
    """Gradients of conv2d for input (N, C, H, W) or (C, H, W), weight (O, C/groups, kh, kw)
    and bias: dx scatters weight^T @ g back over the windows, dw = g @ windows^T summed over
    the batch, db = g summed over (N, Ho, Wo)."""
    batched = input.ndim == 4
    x, g4 = _as_batch(input, batched), _as_batch(g, batched)
    N, C = x.shape[:2]
    O, Cg, kh, kw = weight.shape
    Ho, Wo = g4.shape[2:]
    G, K = groups, Cg * kh * kw
    index, inside = _window_cells(x.shape, (Ho, Wo), (kh, kw), stride, dilation, (pads[0][0], pads[1][0]))
    mask = Tensor(inside.astype(x.dtype))  # (kh, kw, Ho, Wo)
    g_rows = g4.reshape(N, G, O // G, Ho * Wo)  # (N, G, Og, L)
    grad_x = grad_w = grad_b = None
    if input.requires_grad:
        cells = weight.reshape(G, O // G, K).transpose(-1, -2) @ g_rows  # (N, G, K, L)
        grad_x = _from_batch(_scatter(cells.reshape(N, C, kh, kw, Ho, Wo) * mask, x.shape, index), batched)
    if weight.requires_grad:
        windows = (x[index] * mask).reshape(N, G, K, Ho * Wo)  # (N, G, K, L)
        grad_w = (g_rows @ windows.transpose(-1, -2)).sum(0).reshape(O, Cg, kh, kw)
    if bias is not None and bias.requires_grad:
        grad_b = g4.sum((0, 2, 3))
    return Grads((grad_x, grad_w) if bias is None else (grad_x, grad_w, grad_b))


def max_pool2d(g, input, kernel, stride, padding, dilation):
    """Gradient of max_pool2d: g to each window's first maximum (the forward's tie rule; a
    window whose maximum is NaN sends it to its first cell), a constant choice."""
    batched = input.ndim == 4
    x, g4 = _as_batch(input, batched), _as_batch(g, batched)
    N, C = x.shape[:2]
    (kh, kw), (Ho, Wo) = kernel, g4.shape[2:]
    index, inside = _window_cells(x.shape, (Ho, Wo), kernel, stride, dilation, padding)
    values = np.where(inside, x.data[index], -np.inf).reshape(N, C, kh * kw, Ho, Wo)
    first = (values == values.max(axis=2, keepdims=True)).argmax(axis=2)  # (N, C, Ho, Wo)
    winner = np.arange(kh * kw)[:, None, None] == first[:, :, None]  # (N, C, kh*kw, Ho, Wo)
    chosen = Tensor(winner.reshape(N, C, kh, kw, Ho, Wo).astype(x.dtype))
    cells = g4.reshape(N, C, 1, 1, Ho, Wo) * chosen
    return Grads((_from_batch(_scatter(cells, x.shape, index), batched),))


def avg_pool2d(g, input, kernel, stride, padding, divisor):
    """Gradient of avg_pool2d: g / divisor (a number or per window (Ho, Wo)) to every real
    cell of its window."""
    batched = input.ndim == 4
    x, g4 = _as_batch(input, batched), _as_batch(g, batched)
    N, C, (Ho, Wo) = *x.shape[:2], g4.shape[2:]
    index, inside = _window_cells(x.shape, (Ho, Wo), kernel, stride, (1, 1), padding)
    share = Tensor((inside / np.asarray(divisor)).astype(x.dtype))  # (kh, kw, Ho, Wo)
    cells = g4.reshape(N, C, 1, 1, Ho, Wo) * share
    return Grads((_from_batch(_scatter(cells, x.shape, index), batched),))


def adaptive_avg_pool2d(g, input, out_size):
    """Gradient of an adaptive average pool over equal, non-overlapping windows."""
    (oh, ow), (H, W) = out_size, input.shape[-2:]
    kh, kw = H // oh, W // ow
    lead = tuple(input.shape[:-2])
    share = g.reshape(*lead, oh, 1, ow, 1) * (1 / (kh * kw))
    return Grads((share.expand(*lead, oh, kh, ow, kw).reshape(input.shape),))


# ---------------------------------------------------------------------- losses


def _upstream(g, scale, shape):
    """g times the reduction's factor, broadcast to the per-element loss `shape`."""
    return g * scale + Tensor(np.zeros(shape, dtype=g.data.dtype))


def nll_loss(g, input, scale, out_shape, picked):
    """Gradient of nll_loss for the log-probabilities: -upstream * w[y] at each row's label;
    `picked` (M, C) is the constant weight w[y] at (row, label), 0 elsewhere."""
    rows, back = differentiable._rows(input)
    upstream = _upstream(g, scale, out_shape).reshape(-1, 1)  # (M, 1)
    return Grads((back(-upstream * Tensor(picked.astype(rows.data.dtype))), None))


def cross_entropy_probabilities(g, input, target, class_weight, smoothing, scale, loss_shape):
    """Gradients of cross-entropy against class probabilities t: with a = w ((1 - s) t + s / C),
    dx = upstream (softmax(x) sum(a) - a) and dt = -upstream (1 - s) w log_softmax(x)."""
    axis = 0 if input.ndim == 1 else 1
    upstream = _upstream(g, scale, loss_shape).unsqueeze(axis)  # (N, 1, d...)
    log_probs = input.log_softmax(axis)
    a = target * (1 - smoothing) + smoothing / input.shape[axis] if smoothing else target
    if class_weight is not None:
        a = a * class_weight
    grad_x = (log_probs.exp() * a.sum(axis, keepdim=True) - a) * upstream if input.requires_grad else None
    grad_t = None
    if target.requires_grad:
        grad_t = log_probs * upstream * -(1 - smoothing)
        grad_t = grad_t if class_weight is None else grad_t * class_weight
    return Grads((grad_x, grad_t))


def _weighted_upstream(g, scale, weight):
    upstream = g * scale
    return upstream if weight is None else upstream * Tensor(weight)


def binary_cross_entropy_with_logits(g, input, target, weight, pos_weight, scale):
    """Gradients of BCE with logits: dx = upstream ((1 - y) - (1 + (p - 1) y) sigmoid(-x)) and
    dy = upstream ((p - 1) softplus(-x) - x)."""
    upstream = _weighted_upstream(g, scale, weight)
    x, y = input, target
    p = None if pos_weight is None else Tensor(np.asarray(pos_weight, dtype=x.data.dtype))
    grad_x = grad_y = None
    if x.requires_grad:
        log_weight = 1 if p is None else (p - 1) * y + 1
        grad_x = differentiable.sum_to(((1 - y) - log_weight * (-x).sigmoid()) * upstream, x.shape)
    if y.requires_grad:
        grad_y = -x if p is None else (p - 1) * ((-x.abs()).exp() + 1).log() + (-x).relu() * (p - 1) - x
        grad_y = differentiable.sum_to(grad_y * upstream, y.shape)
    return Grads((grad_x, grad_y))


def binary_cross_entropy(g, input, target, weight, scale):
    """Gradients of BCE on probabilities, as PyTorch's formulas: dx = upstream (x - y) /
    max((1 - x) x, 1e-12) and dy = upstream (max(log(1 - x), -100) - max(log x, -100))."""
    upstream = _weighted_upstream(g, scale, weight)
    x, y = input, target
    grad_x = grad_y = None
    if x.requires_grad:
        grad_x = differentiable.sum_to((x - y) / ((1 - x) * x).clamp(min=1e-12) * upstream, x.shape)
    if y.requires_grad:
        grad_y = differentiable.sum_to(((1 - x).log().clamp(min=-100) - x.log().clamp(min=-100)) * upstream, y.shape)
    return Grads((grad_x, grad_y))


def pointwise_loss(g, input, target, scale, slope, curvature):
    """Gradients of l1 / smooth_l1 / huber: upstream * slope(d), d = input - target, where the
    slope is locally linear in d (`curvature` = its derivative: 0 for L1 and outside Huber's
    threshold) and `slope` its value."""
    d = input - target
    local = Tensor((slope - curvature * d.data).astype(d.data.dtype)) + d * Tensor(curvature.astype(d.data.dtype))
    grad = g * scale * local
    return Grads((grad if input.requires_grad else None, -grad if target.requires_grad else None))


def constant_pad(g, input_shape, src, dst):
    """Gradient of a constant pad: the unpadded part `dst` of g, put back at `src` of the input."""
    return Grads((differentiable.index(g[dst], input_shape, src, False)[0],))


def indexed_pad(g, input_shape, indices):
    """Gradient of a reflect / replicate / circular pad, which took `index` along each `axis`
    of (axis, index): each take's gradient scattered back, last axis first."""
    shape = list(g.shape)
    for axis, index in reversed(indices):
        shape[axis] = input_shape[axis]
        g = differentiable.scatter(g, tuple(shape), (slice(None),) * axis + (index,))[0]
    return Grads((g,))


def embedding(g, num, ids, padding_idx):
    """Gradient of an embedding lookup for the weight (num, D): g's rows summed into the rows of
    their ids; the padding_idx row gets none."""
    if padding_idx is not None:
        g = g * Tensor((ids != padding_idx)[..., None].astype(g.data.dtype))
    return Grads((differentiable.index(g, (num, g.shape[-1]), ids, True)[0],))


def attention(g, query, key, value, mask, keep, scale):
    """Gradients of scaled dot-product attention for query (..., L, D), key (..., S, D) and
    value (..., S, Dv), from the weights recomputed with Tensor ops. `mask` is None, bool (True:
    may attend) or additive; a row with no key left gets zero weights, as in the forward; `keep`
    is the dropout mask (0 or 1 / (1 - p)) or None."""
    dtype = query.data.dtype
    scores = (query @ key.transpose(-1, -2)) * scale  # (..., L, S)
    if mask is None:
        weights = scores.softmax(-1)
    else:
        blocked = ~mask if mask.dtype == np.bool_ else np.isneginf(mask)
        if mask.dtype != np.bool_:
            scores = scores + Tensor(np.where(blocked, 0, mask).astype(dtype))
        blocked = np.broadcast_to(blocked, scores.shape)
        empty = blocked.all(-1, keepdims=True)  # (..., L, 1): rows that see no key
        weights = scores.masked_fill(Tensor(blocked & ~empty), float("-inf")).softmax(-1) * Tensor((~empty).astype(dtype))
    dropped = weights if keep is None else weights * Tensor(keep)
    grad_w = g @ value.transpose(-1, -2)  # (..., L, S)
    if keep is not None:
        grad_w = grad_w * Tensor(keep)
    grad_s = weights * (grad_w - (grad_w * weights).sum(-1, keepdim=True)) * scale
    return Grads((differentiable.sum_to(grad_s @ key, query.shape),
                  differentiable.sum_to(grad_s.transpose(-1, -2) @ query, key.shape),
                  differentiable.sum_to(dropped.transpose(-1, -2) @ g, value.shape)))


def batch_norm(g, input, weight, bias, axes, eps, running):
    """Gradients of batch_norm for input (N, C, *), weight and bias (C,) (None where absent):
    with this batch's statistics (`running` None) the layer_norm formula over `axes`; with the
    running ones, (mean, invstd) arrays shaped (1, C, 1, ...), out is affine in x."""
    gw = _times_channel_weight(g, weight)
    if running is None:
        xhat, invstd = differentiable.standardized(input, axes, eps)
        grad_x = differentiable.normalized_input_grad(gw, xhat, invstd, axes)
    else:
        mean, invstd = (Tensor(a) for a in running)
        xhat = (input - mean) * invstd
        grad_x = gw * invstd
    return _with_affine_grads(grad_x, g, xhat, input, weight, bias, axes)


def group_norm(g, input, num_groups, weight, bias, eps):
    """Gradients of group_norm: the layer_norm formula over each group (N, G, C/G * spatial)."""
    grouped = input.reshape(input.shape[0], num_groups, -1)
    xhat, invstd = differentiable.standardized(grouped, (2,), eps)
    gw = _times_channel_weight(g, weight).reshape(grouped.shape)
    grad_x = differentiable.normalized_input_grad(gw, xhat, invstd, (2,)).reshape(input.shape)
    axes = (0,) + tuple(range(2, input.ndim))
    return _with_affine_grads(grad_x, g, xhat.reshape(input.shape), input, weight, bias, axes)


def _times_channel_weight(g, weight):
    """g (N, C, *) times a per-channel weight (C,), or g itself without one."""
    return g if weight is None else g * weight.reshape((1, -1) + (1,) * (g.ndim - 2))


def _with_affine_grads(grad_x, g, xhat, input, weight, bias, axes):
    """Grads of a per-channel normalization: dx, then dweight = sum(g xhat) and dbias = sum(g)
    over `axes` for the parameters given."""
    grads = [grad_x if input.requires_grad else None]
    if weight is not None:
        grads.append((g * xhat).sum(axes) if weight.requires_grad else None)
    if bias is not None:
        grads.append(g.sum(axes) if bias.requires_grad else None)
    return Grads(grads)


def normalize(g, input, p, axis, eps, norm):
    """Gradient of F.normalize, x / max(||x||_p, eps), with `norm` the forward's norm array:
    g / denom - sum(g x) / denom^2 * d||x||/dx where the norm exceeded eps."""
    x = input
    denom = Tensor(norm > eps).to(x.dtype) * x.norm(p, axis, keepdim=True) + Tensor(np.where(norm > eps, 0, eps).astype(norm.dtype))
    coefficient = -(g * x).sum(axis, keepdim=True) / (denom * denom) * Tensor((norm > eps).astype(norm.dtype))
    safe_norm = Tensor(np.where(norm > 0, 0, 1).astype(norm.dtype)) + x.norm(p, axis, keepdim=True)
    if p == 2.0:
        dnorm = x / safe_norm
    elif np.isinf(p):
        dnorm = Tensor((np.sign(x.data) * (np.abs(x.data) == norm)).astype(norm.dtype))
    else:
        dnorm = Tensor(np.sign(x.data)) * x.abs() ** (p - 1) / safe_norm ** (p - 1)
    return Grads((g / denom + coefficient * dnorm,))


def lstm_cell(grad, gates, c):
    """Gradients of an LSTM step's elementwise part ([h', c'] from gates (B, 4H) in the order
    i, f, g, o and the cell state c (B, H)), from the activations recomputed with Tensor ops."""
    H = c.shape[-1]
    i, f, g, o = (gates[..., k * H:(k + 1) * H] for k in range(4))
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    tanh_c = (f * c + i * g).tanh()
    dh, dc = grad[..., :H], grad[..., H:]
    dc_total = dh * o * (1 - tanh_c * tanh_c) + dc  # through h' = o tanh(c'), plus c' itself
    d_gates = cat([dc_total * g * i * (1 - i), dc_total * c * f * (1 - f), dc_total * i * (1 - g * g),
                   dh * tanh_c * o * (1 - o)], -1)
    return Grads((d_gates if gates.requires_grad else None, dc_total * f if c.requires_grad else None))
