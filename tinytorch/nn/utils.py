"""tinytorch.nn.utils: gradient clipping and flattening parameters to one vector."""

import math

import numpy as np

from .. import kernels
from ..seams import replaced, seam
from ..tensor import Tensor


def _float64(array):
    """A float64 copy of `array` (natively into a pooled array: clipping runs every step)."""
    copy = kernels.empty(array.shape, np.float64)
    np.copyto(copy, array)
    return copy


def _with_grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so their joint norm is at most `max_norm`; returns the total
    norm before clipping. The L2 norm goes through the implementation in use (a learner's,
    module 07); other norms and `error_if_nonfinite` are tinytorch's."""
    if norm_type == 2.0 and not error_if_nonfinite:
        return replaced.get("clip_grad_norm_", _clip_grad_norm_)(parameters, max_norm)
    return _clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite)


@seam("clip_grad_norm_")
def _clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so their joint norm is at most `max_norm`.

    Returns the total norm before clipping (a 0-d Tensor), as PyTorch does.
    """
    params = _with_grads(parameters)
    norm_type = float(norm_type)
    if not params:
        return Tensor(np.asarray(0.0, dtype=np.float32))
    grads = [p.grad.data for p in params]
    if norm_type == np.inf:
        total = max(float(np.abs(g).max()) if g.size else 0.0 for g in grads)
    elif norm_type == 2.0:
        # float64 accumulation (a float32 sum of many squares loses precision); a dot product
        # is one pass, where abs and ** were three
        total = math.sqrt(sum(float(np.dot(f, f)) for f in (_float64(g).ravel() for g in grads)))
    else:
        total = sum(float(np.sum(np.abs(g.astype(np.float64)) ** norm_type)) for g in grads) ** (1.0 / norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is non-finite ({total}); "
            "pass error_if_nonfinite=False to clip anyway"
        )
    clip_coef = max_norm / (total + 1e-6)
    # only ever scale down; a NaN norm (NaN gradient) makes every gradient NaN, as in PyTorch
    if not clip_coef >= 1:
        with np.errstate(invalid="ignore"):  # inf * 0 where the norm was infinite
            for p in params:
                p.grad.data = p.grad.data * np.asarray(clip_coef, dtype=p.grad.data.dtype)
    return Tensor(np.asarray(total, dtype=grads[0].dtype))


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element to [-clip_value, clip_value], in place."""
    for p in _with_grads(parameters):
        np.clip(p.grad.data, -clip_value, clip_value, out=p.grad.data)


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one 1-D Tensor (a copy)."""
    return Tensor(np.concatenate([p.data.reshape(-1) for p in parameters]))


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D `vec` into `parameters`, in place."""
    data = vec.data if isinstance(vec, Tensor) else np.asarray(vec)
    params = list(parameters)
    needed = sum(p.data.size for p in params)
    if data.ndim != 1 or data.size != needed:
        raise ValueError(f"vector_to_parameters: expected a 1-D vector of {needed} elements, got shape {data.shape}")
    offset = 0
    for p in params:
        p.data[...] = data[offset:offset + p.data.size].reshape(p.data.shape)
        offset += p.data.size
