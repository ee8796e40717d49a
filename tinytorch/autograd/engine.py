"""`tinytorch.autograd.grad` and `tinytorch.autograd.backward` on top of Tensor's engine."""

import numpy as np

from ..tensor import Tensor, run_graph


def _as_tuple(value, name):
    if isinstance(value, Tensor):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, Tensor) for v in value):
        return tuple(value)
    raise TypeError(f"autograd: {name} must be a Tensor or a sequence of Tensors, got {type(value).__name__}")


def _root_gradients(outputs, given, op):
    """One gradient (or None) per output, checked against PyTorch's rules."""
    if given is None:
        given = (None,) * len(outputs)
    elif isinstance(given, Tensor):
        given = (given,)
    given = tuple(given)
    if len(given) != len(outputs):
        raise ValueError(f"{op}: got {len(given)} gradients for {len(outputs)} outputs")
    for i, out in enumerate(outputs):
        if not out.requires_grad:
            raise RuntimeError(f"{op}: element {i} of the outputs does not require grad and does not have a grad_fn")
    return given


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         materialize_grads=False):
    """The gradients of `outputs` (weighted by `grad_outputs`; None means ones for a one-element
    output) with respect to each of `inputs`, as a tuple; `.grad` is left alone.

    With `create_graph=True` the results are recorded Tensors, so they can be differentiated
    again. An input that the outputs do not depend on is an error unless `allow_unused=True`
    (then its gradient is None, or zeros with `materialize_grads=True`)."""
    op = "autograd.grad"
    outputs = _as_tuple(outputs, "outputs")
    inputs = _as_tuple(inputs, "inputs")
    given = _root_gradients(outputs, grad_outputs, op)
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"{op}: input {i} (shape {t.shape}) does not require grad")
    if allow_unused is None:
        allow_unused = materialize_grads
    found = run_graph(outputs, given, targets=inputs, retain_graph=create_graph if retain_graph is None else retain_graph,
                      create_graph=create_graph)
    result = []
    for i, (t, g) in enumerate(zip(inputs, found)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"{op}: input {i} (shape {t.shape}) was not used to compute the outputs; pass "
                    "allow_unused=True if that is intended"
                )
            result.append(Tensor(np.zeros_like(t.data)) if materialize_grads else None)
        elif isinstance(g, Tensor):
            result.append(g)
        else:
            result.append(Tensor(np.array(g, dtype=t.data.dtype)))
    return tuple(result)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradients of `tensors` (weighted by `grad_tensors`) into `.grad` of the
    leaves (or of `inputs` only), as `Tensor.backward` does for one tensor."""
    op = "autograd.backward"
    tensors = _as_tuple(tensors, "tensors")
    given = _root_gradients(tensors, grad_tensors, op)
    targets = None if inputs is None else _as_tuple(inputs, "inputs")
    run_graph(tensors, given, targets=targets, accumulate=True,
              retain_graph=create_graph if retain_graph is None else retain_graph, create_graph=create_graph)
