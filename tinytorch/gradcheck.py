"""Numerical gradient checking by central finite differences (use float64 inputs)."""

import numpy as np

from . import grad_mode
from .tensor import Tensor


def numerical_grad(fn, inputs, eps=1e-6, weights=None, wrt=None):
    """d(sum(weights * fn(*inputs)))/d(input) for each input (or each tensor in `wrt`), by
    central differences.

    Elements are perturbed through the input's own array (which may be a transposed or
    sliced view), so non-contiguous inputs are handled.
    """
    def total(out):
        out = out.data if isinstance(out, Tensor) else np.asarray(out)
        return float(np.sum(out * (1.0 if weights is None else weights)))

    grads = []
    with grad_mode.no_grad():
        for x in inputs if wrt is None else wrt:
            grad = np.zeros(x.data.shape, dtype=np.float64)
            for i in np.ndindex(x.data.shape):  # a test tool: clarity over speed
                saved = x.data[i]
                x.data[i] = saved + eps
                plus = total(fn(*inputs))
                x.data[i] = saved - eps
                minus = total(fn(*inputs))
                x.data[i] = saved
                grad[i] = (plus - minus) / (2 * eps)
            grads.append(grad)
    return grads


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0):
    """Compare `backward()` gradients of `fn(*inputs)` with finite differences.

    Checks the inputs that require grad (others, e.g. index tensors, are passed through).
    The output is reduced with random weights, so every output element matters. Raises
    AssertionError naming the input and the largest mismatch; returns True otherwise.
    """
    inputs = tuple(inputs)
    checked = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for x in checked:
        if x.data.dtype != np.float64:
            raise TypeError(f"gradcheck: inputs must be float64 for accurate differences, got {x.data.dtype}")
    out = fn(*inputs)
    weights = np.random.default_rng(seed).standard_normal(out.shape)
    for x in checked:
        x.grad = None
    out.backward(weights.astype(out.data.dtype))
    expected = numerical_grad(fn, inputs, eps, weights, wrt=checked)
    for x, numeric in zip(checked, expected):
        i = next(j for j, y in enumerate(inputs) if y is x)
        analytic = np.zeros_like(numeric) if x.grad is None else x.grad.data
        if analytic.shape != numeric.shape:
            raise AssertionError(f"gradcheck: input {i} has shape {x.shape} but its gradient has shape {analytic.shape}")
        if not np.allclose(analytic, numeric, atol=atol, rtol=rtol):
            worst = np.unravel_index(np.argmax(np.abs(analytic - numeric)), numeric.shape)
            raise AssertionError(
                f"gradcheck: input {i} (shape {x.shape}) gradient mismatch at {worst}: "
                f"backward gives {analytic[worst]:.6g}, finite differences {numeric[worst]:.6g}"
            )
    return True
