"""Numerical gradient checking by central finite differences (use float64 inputs)."""

import numpy as np

from .tensor import Tensor


def numerical_grad(fn, inputs, eps=1e-6, weights=None):
    """d(sum(weights * fn(*inputs)))/d(input) for each input, by central differences."""
    with_weights = lambda out: float(np.sum(out.data * (1.0 if weights is None else weights)))
    grads = []
    for x in inputs:
        grad = np.zeros_like(x.data, dtype=np.float64)
        flat, gflat = x.data.reshape(-1), grad.reshape(-1)  # views: writes reach x.data
        for i in range(flat.size):
            saved = flat[i]
            flat[i] = saved + eps
            plus = with_weights(fn(*inputs))
            flat[i] = saved - eps
            minus = with_weights(fn(*inputs))
            flat[i] = saved
            gflat[i] = (plus - minus) / (2 * eps)
        grads.append(grad)
    return grads


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0):
    """Compare `backward()` gradients of `fn(*inputs)` with finite differences.

    The output is reduced with random weights, so every output element matters. Raises
    AssertionError naming the input and the largest mismatch; returns True otherwise.
    """
    for x in inputs:
        if x.data.dtype != np.float64:
            raise TypeError(f"gradcheck: inputs must be float64 for accurate differences, got {x.data.dtype}")
    out = fn(*inputs)
    weights = np.random.default_rng(seed).standard_normal(out.shape)
    for x in inputs:
        x.grad = None
    out.backward(weights.astype(out.data.dtype))
    expected = numerical_grad(fn, inputs, eps, weights)
    for i, (x, numeric) in enumerate(zip(inputs, expected)):
        analytic = np.zeros_like(numeric) if x.grad is None else x.grad.data
        if not np.allclose(analytic, numeric, atol=atol, rtol=rtol):
            worst = np.unravel_index(np.argmax(np.abs(analytic - numeric)), numeric.shape)
            raise AssertionError(
                f"gradcheck: input {i} (shape {x.shape}) gradient mismatch at {worst}: "
                f"backward gives {analytic[worst]:.6g}, finite differences {numeric[worst]:.6g}"
            )
    return True
