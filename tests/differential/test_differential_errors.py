"""The bad-input table: for each public op, a wrong input, the error tinytorch raises and the
op name its message must contain. Every row is also run through PyTorch, which must raise too
(tinytorch's error type may be the more specific Python one: TypeError for a wrong dtype,
ValueError for a wrong shape, where PyTorch often says RuntimeError)."""

import pytest

import tinytorch as tt

torch = pytest.importorskip("torch")


def F(m):
    return m.nn.functional


# (op named in the message, call taking the module (torch or tinytorch), tinytorch's error type)
BAD_INPUTS = [
    ("add", lambda m: m.ones(2, 3) + m.ones(4), ValueError),
    ("sub", lambda m: m.ones(2, 3) - m.ones(3, 2), ValueError),
    ("sub", lambda m: m.ones(2) - m.ones(2, dtype=m.bool), TypeError),
    ("neg", lambda m: -m.ones(2, dtype=m.bool), TypeError),
    ("mul", lambda m: m.ones(2, 3) * m.ones(2), ValueError),
    ("div", lambda m: m.ones(2, 3) / m.ones(3, 3), ValueError),
    ("pow", lambda m: m.tensor([2]) ** -1, ValueError),
    ("matmul", lambda m: m.ones(2, 3) @ m.ones(2, 3), ValueError),
    ("matmul", lambda m: m.ones(()) @ m.ones(3), ValueError),
    ("maximum", lambda m: m.maximum(m.ones(2), m.ones(3)), ValueError),
    ("lt", lambda m: m.ones(2) < m.ones(3), ValueError),
    ("add_", lambda m: m.ones(2, dtype=m.int64).add_(m.ones(2)), TypeError),
    ("add_", lambda m: m.ones(2).add_(m.ones(3)), ValueError),
    ("add_", lambda m: m.ones(2, requires_grad=True).add_(1), RuntimeError),
    ("sub_", lambda m: m.ones(2).sub_(m.ones(2, dtype=m.bool)), TypeError),
    ("copy_", lambda m: m.ones(2).copy_(m.ones(3)), ValueError),
    ("setitem", lambda m: m.ones(2).__setitem__(5, 1.0), IndexError),
    ("index", lambda m: m.ones(2)[3], IndexError),
    ("index", lambda m: m.ones(2)[0, 0], IndexError),
    ("reshape", lambda m: m.ones(2, 3).reshape(4), ValueError),
    ("permute", lambda m: m.ones(2, 3).permute(0, 0), ValueError),
    ("transpose", lambda m: m.ones(2, 3).transpose(0, 2), IndexError),
    ("expand", lambda m: m.ones(2, 3).expand(3, 3), ValueError),
    ("repeat", lambda m: m.ones(2, 3).repeat(2), ValueError),
    ("unsqueeze", lambda m: m.ones(2).unsqueeze(3), IndexError),
    ("squeeze", lambda m: m.ones(2).squeeze(2), IndexError),
    ("flatten", lambda m: m.ones(2, 3).flatten(1, 0), ValueError),
    ("split", lambda m: m.ones(4).split([1, 2]), ValueError),
    ("split", lambda m: m.ones(4).split(0), ValueError),
    ("chunk", lambda m: m.ones(4).chunk(0), ValueError),
    ("masked_fill", lambda m: m.ones(2, 3).masked_fill(m.ones(3, 3, dtype=m.bool), 0), ValueError),
    ("tril", lambda m: m.ones(3).tril(), ValueError),
    ("cat", lambda m: m.cat([m.ones(2, 3), m.ones(2, 4)]), ValueError),
    ("cat", lambda m: m.cat([]), ValueError),
    ("cat", lambda m: m.cat([m.ones(()), m.ones(())]), ValueError),
    ("stack", lambda m: m.stack([m.ones(2), m.ones(3)]), ValueError),
    ("stack", lambda m: m.stack([m.ones(2)], dim=3), IndexError),
    ("where", lambda m: m.where(m.ones(2, dtype=m.bool), m.ones(3), m.ones(3, 1, 2)), ValueError),
    ("sum", lambda m: m.ones(2).sum(1), IndexError),
    ("sum", lambda m: m.ones(2, 2).sum((0, 0)), ValueError),
    ("mean", lambda m: m.ones(2, dtype=m.int64).mean(), TypeError),
    ("var", lambda m: m.ones(2, dtype=m.int64).var(), TypeError),
    ("std", lambda m: m.ones(2).std(2), IndexError),
    ("logsumexp", lambda m: m.ones(2).logsumexp(3), IndexError),
    ("softmax", lambda m: m.ones(2, 3).softmax(2), IndexError),
    ("softmax", lambda m: m.ones(2, dtype=m.int64).softmax(0), TypeError),
    ("log_softmax", lambda m: m.ones(2, dtype=m.int64).log_softmax(0), TypeError),
    ("gelu", lambda m: F(m).gelu(m.ones(2, dtype=m.int64)), TypeError),
    ("gelu", lambda m: F(m).gelu(m.ones(2), approximate="fast"), ValueError),
    ("max", lambda m: m.ones(0).max(), ValueError),
    ("max", lambda m: m.ones(2).max(1), IndexError),
    ("argmax", lambda m: m.ones(0).argmax(), IndexError),
    ("argmax", lambda m: m.ones(2, 0).argmax(1), IndexError),
    ("topk", lambda m: m.ones(3).topk(4), ValueError),
    ("clamp", lambda m: m.ones(2).clamp(), ValueError),
    ("item", lambda m: m.ones(2).item(), ValueError),
    ("bool", lambda m: bool(m.ones(2)), RuntimeError),
    ("requires_grad", lambda m: m.ones(2, dtype=m.int64).requires_grad_(), RuntimeError),
    ("backward", lambda m: m.ones(2, requires_grad=True).sum().detach().backward(), RuntimeError),
    ("backward", lambda m: (m.ones(2, requires_grad=True) * 2).backward(), RuntimeError),
    ("tensor", lambda m: m.tensor([[1, 2], [3]]), ValueError),
    ("tensor", lambda m: m.tensor(["a"]), TypeError),
    ("arange", lambda m: m.arange(0, 5, 0), ValueError),
    ("arange", lambda m: m.arange(0, 5, -1), ValueError),
    ("cross_entropy", lambda m: F(m).cross_entropy(m.ones(2, 3), m.tensor([0, 3])), IndexError),
    ("cross_entropy", lambda m: F(m).cross_entropy(m.ones(2, 3), m.tensor([0.0, 1.0])), ValueError),
    ("cross_entropy", lambda m: F(m).cross_entropy(m.ones(2, 3), m.ones(2, 3), ignore_index=1), ValueError),
    ("nll_loss", lambda m: F(m).nll_loss(m.ones(2, 3), m.tensor([0, 1, 2])), ValueError),
    ("mse_loss", lambda m: F(m).mse_loss(m.ones(2, 3), m.ones(3, 2)), ValueError),
    ("binary_cross_entropy", lambda m: F(m).binary_cross_entropy(m.full((2,), 2.0), m.ones(2)), ValueError),
    ("clip_grad_norm_", lambda m: _nonfinite_clip(m), RuntimeError),
]


def _nonfinite_clip(m):
    p = m.nn.Parameter(m.ones(2))
    p.grad = m.tensor([float("nan"), 1.0])
    return m.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


@pytest.mark.parametrize("op, call, error", BAD_INPUTS, ids=[f"{i}-{row[0]}" for i, row in enumerate(BAD_INPUTS)])
def test_bad_input_raises_an_error_naming_the_op(op, call, error):
    with pytest.raises(Exception):  # noqa: B017  (PyTorch refuses it too; its type varies)
        call(torch)
    with pytest.raises(error) as raised:
        call(tt)
    assert op in str(raised.value), f"the message {str(raised.value)!r} does not name {op!r}"


def test_table_covers_the_public_surface():
    """A new public tensor function should get a row here: the table names most of them."""
    covered = {row[0] for row in BAD_INPUTS}
    core = {"add", "sub", "mul", "div", "matmul", "reshape", "permute", "cat", "stack", "where", "sum",
            "mean", "var", "softmax", "max", "argmax", "tensor", "arange", "cross_entropy", "backward"}
    assert core <= covered, sorted(core - covered)
