"""`tinytorch.autograd.Function`: an operation defined by its forward and backward, as in PyTorch.

    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * grad

    y = Cube.apply(x)

forward runs without recording (its Tensors are plain values); `apply` records one node whose
backward calls `backward(ctx, *grads)` with Tensors, which returns one gradient per input of
forward (None for inputs that need none). Written with Tensor ops, a backward is itself
differentiable under `create_graph=True`.
"""

import numpy as np

from .. import grad_mode, versions
from ..ops.differentiable import Grads
from ..tensor import Tensor


class FunctionCtx:
    """The `ctx` of a Function: what forward leaves for backward."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad  # one bool per forward argument
        self._saved, self._saved_versions = (), None
        self._non_differentiable = set()
        self.materialize_grads = True

    def save_for_backward(self, *tensors):
        """Keep `tensors` (or None) for backward; changing one in place before backward is an error."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward: can only save Tensors or None, got {type(t).__name__}")
        self._saved = tensors
        self._saved_versions = tuple(None if t is None else versions.version(t.data) for t in tensors)

    @property
    def saved_tensors(self):
        """The tensors given to save_for_backward, checked not to have changed since."""
        for t, then in zip(self._saved, self._saved_versions):
            if t is not None and versions.version(t.data) != then:
                versions.check((t,), (then,), "Function.saved_tensors")
        return self._saved

    def mark_non_differentiable(self, *tensors):
        """Outputs that get no gradient (e.g. indices); they are returned not requiring grad."""
        self._non_differentiable.update(id(t) for t in tensors)

    def set_materialize_grads(self, value):
        """With False, backward receives None (not zeros) for outputs that got no gradient."""
        self.materialize_grads = bool(value)


class Function:
    """Subclass with static `forward(ctx, *args)` and `backward(ctx, *grads)`; call `apply`."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("Function: subclasses define forward(ctx, *args)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("Function: subclasses define backward(ctx, *grad_outputs)")

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
        with grad_mode.no_grad():
            result = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(result, (tuple, list))
        outputs = (result,) if single else tuple(result)
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        parents = tuple(args[i] for i in positions)
        wrapped = []
        for k, out in enumerate(outputs):
            if not isinstance(out, Tensor) or id(out) in ctx._non_differentiable or out.data.dtype.kind != "f":
                wrapped.append(out.detach() if isinstance(out, Tensor) else out)
                continue
            backward = _node_backward(cls, ctx, outputs, k, positions, len(args))
            wrapped.append(Tensor._result(out.data, parents, backward, f"{cls.__name__}Backward"))
        return wrapped[0] if single else tuple(wrapped)


def _node_backward(cls, ctx, outputs, k, positions, n_args):
    """The closure of output `k`: backward with this output's gradient (zeros, or None, for
    the others, so a Function with several outputs runs its backward once per output)."""

    def backward(g):
        tensor_mode = not isinstance(g, (np.ndarray, np.generic))  # create_graph: the user's Tensor ops are recorded
        grad = g if tensor_mode else Tensor(g)
        grads = []
        for j, out in enumerate(outputs):
            if j == k:
                grads.append(grad)
            elif isinstance(out, Tensor) and ctx.materialize_grads:
                grads.append(Tensor(np.zeros_like(out.data)))
            else:
                grads.append(None)
        result = cls.backward(ctx, *grads)
        result = result if isinstance(result, (tuple, list)) else (result,)
        if len(result) != n_args:
            raise RuntimeError(
                f"{cls.__name__}.backward returned {len(result)} gradients, but forward took {n_args} "
                "arguments: return one per argument (None for those that need none)"
            )
        picked = [result[i] for i in positions]
        if tensor_mode:
            return Grads(picked)
        return tuple(None if p is None else (p.data if isinstance(p, Tensor) else np.asarray(p)) for p in picked)

    return backward
