"""Matrix product of Tensors with NumPy's rules (1-D operands, batching, broadcasting)."""

import numpy as np

from .. import tensor  # circular on purpose: tensor.py builds Tensor from this class; used at call time
from ..kernels import mm
from .. import versions
from ..seams import replaced, seam
from . import differentiable
from ._common import _promoted, _unbroadcast, forward_value


def _product(a, b):
    """a (..., n, k) @ b (..., k, m) -> (..., n, m) through kernels.mm (inner sizes already match)."""
    if a.ndim > 2 and b.ndim == 2:
        # (..., n, k) @ (k, m), e.g. activations @ weights: one big GEMM over all rows
        # instead of NumPy's loop of one small GEMM per batch item
        return mm(a.reshape(-1, a.shape[-1]), b).reshape(a.shape[:-1] + b.shape[-1:])
    return mm(a, b)


@seam("matmul")
def matmul(a, b):
    """Batched matrix product of Tensors with at least 2 dims: (..., n, k) @ (..., k, m) ->
    (..., n, m), batch dims broadcast (the forward value; Tensor.matmul records the graph)."""
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned: {a.shape[-1]} != {b.shape[-2]}")
    try:
        return tensor.Tensor(_product(a.data, b.data))
    except ValueError:
        raise ValueError(f"matmul: batch dimensions of shapes {a.shape} and {b.shape} cannot be broadcast") from None


# backward reads each operand for the other's gradient (see versions.SavingOp)
_MATMUL = versions.SavingOp("MatmulBackward", saves=(0, 1), needed_by={0: (1,), 1: (0,)})

@seam("matmul_backward")
def matmul_backward(grad, a, b, need_a=True, need_b=True):
    """Gradients (grad_a, grad_b) of out = a @ b, for a (..., n, k), b (..., k, m) and grad
    (..., n, m); None where not `need_*`."""
    return (_unbroadcast(mm(grad, np.swapaxes(b, -1, -2)), a.shape) if need_a else None,
            _unbroadcast(mm(np.swapaxes(a, -1, -2), grad), b.shape) if need_b else None)


class MatmulOps:
    """matmul / `@`: the products go through tinytorch.kernels.mm."""

    def matmul(self, other):
        """Matrix product with NumPy's rules: 1-D operands, batching and broadcasting."""
        other = self._other(other)
        if self.ndim == 0 or other.ndim == 0:
            raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes {self.shape} and {other.shape}")
        a, b = _promoted(self.data, other.data)
        a = a[None, :] if self.ndim == 1 else a  # (..., n, k)
        b = b[:, None] if other.ndim == 1 else b  # (..., k, m)
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(
                f"matmul: shapes {self.shape} and {other.shape} are not aligned: "
                f"{a.shape[-1]} != {b.shape[-2]}"
            )
        rows_times_matrix = a.ndim > 2 and b.ndim == 2  # one GEMM over all rows (see _product)
        mine = replaced.get("matmul")
        try:
            full = _product(a, b) if mine is None else forward_value(mine, a, b)  # (..., n, m)
        except ValueError:
            raise ValueError(
                f"matmul: batch dimensions of shapes {self.shape} and {other.shape} cannot be broadcast"
            ) from None
        out = full
        if self.ndim == 1:
            out = out[..., 0, :]
        if other.ndim == 1:
            out = out[..., 0]

        def backward(g):
            if not isinstance(g, (np.ndarray, np.generic)):  # create_graph: a Tensor gradient, Tensor ops
                return differentiable.matmul(g, self, other)
            g = g.reshape(full.shape)  # (..., n, m)
            mine = replaced.get("matmul_backward")
            if mine is not None:
                grad_a, grad_b = mine(g, a, b)
                return np.reshape(grad_a, self.shape), np.reshape(grad_b, other.shape)
            grad_a = grad_b = None
            if self._requires_grad:
                if rows_times_matrix:
                    grad_a = mm(g.reshape(-1, g.shape[-1]), b.T)
                elif a.ndim == 2 and b.ndim > 2:  # (n, k) shared across a batch of b: one GEMM
                    n, k = a.shape
                    grad_a = mm(np.moveaxis(g, -2, 0).reshape(n, -1), np.moveaxis(b, -2, 0).reshape(k, -1).T)
                else:
                    grad_a = matmul_backward(g, a, b, need_b=False)[0]  # the general rule (batched, broadcast)
                grad_a = grad_a.reshape(self.shape)
            if other._requires_grad:
                if b.ndim == 2 and (rows_times_matrix or a.ndim == 2):  # one GEMM over all rows
                    a2, g2 = a.reshape(-1, a.shape[-1]), g.reshape(-1, g.shape[-1])  # (N, k), (N, m)
                    if b.flags.f_contiguous and not b.flags.c_contiguous:
                        # b is a transposed view (x @ W.T): compute the gradient in W's layout,
                        # so transposing it back (and copying it into W.grad) is contiguous
                        grad_b = mm(g2.T, a2).T
                    else:
                        grad_b = mm(a2.T, g2)
                else:
                    grad_b = matmul_backward(g, a, b, need_a=False)[1]
                grad_b = grad_b.reshape(other.shape)
            return grad_a, grad_b

        return self._result(out, (self, other), backward, _MATMUL)

    __matmul__ = matmul

    def __rmatmul__(self, other):
        return self._other(other).matmul(self)

    def mm(self, other):
        """Product of two matrices (2-D only, as `torch.mm`)."""
        other = self._other(other)
        if self.ndim != 2 or other.ndim != 2:
            raise ValueError(f"mm: both operands must be 2-D matrices, got shapes {self.shape} and {other.shape}")
        return self.matmul(other)

    def bmm(self, other):
        """Batched product of (B, n, k) and (B, k, m) tensors (no broadcasting, as `torch.bmm`)."""
        other = self._other(other)
        if self.ndim != 3 or other.ndim != 3 or self.shape[0] != other.shape[0]:
            raise ValueError(f"bmm: expected (B, n, k) and (B, k, m) tensors with the same B, got shapes {self.shape} and {other.shape}")
        return self.matmul(other)

    def outer(self, other):
        """Outer product of two 1-D tensors: out[i, j] = self[i] * other[j]."""
        other = self._other(other)
        if self.ndim != 1 or other.ndim != 1:
            raise ValueError(f"outer: both operands must be 1-D, got shapes {self.shape} and {other.shape}")
        return self.reshape(-1, 1) * other.reshape(1, -1)

    ger = outer


def einsum(equation, *operands):
    """Einstein summation as `torch.einsum` (operands may also come as one list), with gradients:
    the gradient of each operand is itself an einsum of the output gradient and the others."""
    from ..tensor import Tensor  # at call time: tensor.py imports this module

    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    operands = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in operands)
    inputs, output = _explicit_subscripts(equation, [t.ndim for t in operands])
    arrays = [t.data for t in operands]
    if len({a.dtype for a in arrays}) > 1:
        if any(a.dtype.kind == "f" for a in arrays):
            common = np.result_type(*[a.dtype for a in arrays if a.dtype.kind == "f"])
            arrays = [a.astype(common) for a in arrays]
    try:
        out = np.einsum(f"{','.join(inputs)}->{output}", *arrays, optimize=len(arrays) > 2)
    except ValueError as error:
        shapes = ", ".join(str(t.shape) for t in operands)
        raise ValueError(f"einsum: {equation!r} does not fit operands of shapes {shapes}: {error}") from None
    sizes = {label: n for subs, a in zip(inputs, arrays) for label, n in zip(subs, a.shape)}

    def backward(g):
        recorded = not isinstance(g, (np.ndarray, np.generic))  # create_graph: a Tensor gradient, Tensor ops
        grads = []
        for i, (subs, t) in enumerate(zip(inputs, operands)):
            if not t._requires_grad:
                grads.append(None)
                continue
            others = [s for j, s in enumerate(inputs) if j != i]
            available = set(output).union(*others)
            labels = "".join(dict.fromkeys(subs))  # a repeated label ('ii') once: the diagonal
            reduced = "".join(label for label in labels if label in available)  # only in this operand: broadcast
            spec = f"{','.join([output] + others)}->{reduced}"
            if recorded:
                grads.append(_einsum_grad_tensor(spec, g, [u for j, u in enumerate(operands) if j != i], subs, labels, reduced, sizes))
                continue
            grad = np.einsum(spec, g, *[a for j, a in enumerate(arrays) if j != i], optimize=len(arrays) > 2)
            if reduced != labels:
                grad = np.broadcast_to(np.expand_dims(grad, tuple(k for k, label in enumerate(labels) if label not in available)),
                                       [sizes[label] for label in labels])
            if labels != subs:  # the gradient lives on the diagonal, zeros elsewhere
                full = np.zeros([sizes[label] for label in subs], dtype=grad.dtype)
                np.einsum(f"{subs}->{labels}", full)[...] = grad  # einsum's diagonal is a writeable view
                grad = full
            grads.append(grad)
        return differentiable.Grads(grads) if recorded else tuple(grads)

    # each operand is read for the others' gradients
    n = len(operands)
    op = versions.SavingOp("EinsumBackward", saves=tuple(range(n)),
                           needed_by={i: tuple(j for j in range(n) if j != i) for i in range(n)})
    return Tensor._result(out, operands, backward, op)


def _einsum_grad_tensor(spec, g, others, subs, labels, reduced, sizes):
    """One operand's einsum gradient with Tensor ops (recorded, for create_graph)."""
    if labels != subs:
        raise NotImplementedError(
            f"backward(create_graph=True): einsum with a repeated index in one operand ({subs!r}) has no differentiable backward in tinytorch"
        )
    grad = einsum(spec, g, *others)
    for k, label in enumerate(labels):
        if label not in reduced:
            grad = grad.unsqueeze(k)
    return grad.expand(*[sizes[label] for label in labels])


def _explicit_subscripts(equation, ndims):
    """(input subscripts, output subscripts) with '...' spelled out as letters and the implicit
    output (labels used once, in alphabetical order, after the broadcast dims) made explicit."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(ndims):
        raise ValueError(f"einsum: {equation!r} names {len(inputs)} operands, got {len(ndims)}")
    used = set(equation) - set(".,->")
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used]
    ellipsis_rank = max([n - (len(s) - 3) for s, n in zip(inputs, ndims) if "..." in s], default=0)
    broadcast = "".join(spare[:ellipsis_rank])
    explicit = []
    for subs, n in zip(inputs, ndims):
        if "..." in subs:
            rank = n - (len(subs) - 3)
            subs = subs.replace("...", broadcast[ellipsis_rank - rank:] if rank else "")
        if len(subs) != n:
            raise ValueError(f"einsum: subscripts {subs!r} do not match an operand with {n} dimensions")
        explicit.append(subs)
    if arrow:
        output = rhs.replace("...", broadcast)
    else:
        counts = "".join(s for s in explicit)
        output = broadcast + "".join(sorted(c for c in set(counts) if counts.count(c) == 1 and c not in broadcast))
    return explicit, output
