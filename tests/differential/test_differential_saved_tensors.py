"""What each op's backward reads, against PyTorch: after the forward pass one tensor (an input,
by position, or the output) is changed in place; backward must raise exactly where PyTorch's
raises ("modified by an inplace operation", naming the op) and otherwise give PyTorch's
gradients (an op must not read a tensor PyTorch does not save, or its gradient is silently
wrong). Each op with several inputs runs again with each floating input not requiring grad:
PyTorch saves an operand only for a gradient that is computed (x of x * w only when w requires
grad)."""

import numpy as np
import pytest

import tinytorch as tt

torch = pytest.importorskip("torch")

_rng = np.random.default_rng(0)


def _normal(*shape):
    return ("grad", _rng.standard_normal(shape))


def _unit(*shape):  # in (0.1, 0.9): probabilities, logs, divisors
    return ("grad", _rng.uniform(0.1, 0.9, shape))


def _index(*values):
    return ("index", np.array(values))


def _constant(data):
    return ("constant", data[1])


def F(m):
    return m.nn.functional


# name: (inputs, forward(m, *tensors))
OPS = {
    "conv2d": ([_normal(1, 2, 5, 5), _normal(3, 2, 3, 3), _normal(3)], lambda m, x, w, b: F(m).conv2d(x, w, b, padding=1)),
    "conv1d": ([_normal(1, 2, 6), _normal(3, 2, 3)], lambda m, x, w: F(m).conv1d(x, w)),
    "max_pool2d": ([_normal(1, 2, 6, 6)], lambda m, x: F(m).max_pool2d(x, 3, stride=1)),
    "avg_pool2d": ([_normal(1, 2, 4, 4)], lambda m, x: F(m).avg_pool2d(x, 2)),
    "adaptive_avg_pool2d": ([_normal(1, 2, 4, 4)], lambda m, x: F(m).adaptive_avg_pool2d(x, 2)),
    "adaptive_avg_pool2d to 1": ([_normal(1, 2, 4, 4)], lambda m, x: F(m).adaptive_avg_pool2d(x, 1)),
    "layer_norm": ([_normal(2, 4), _normal(4), _normal(4)], lambda m, x, w, b: F(m).layer_norm(x, (4,), w, b)),
    "layer_norm without affine": ([_normal(2, 4)], lambda m, x: F(m).layer_norm(x, (4,))),
    "batch_norm training": ([_normal(4, 3), _normal(3), _normal(3)],
                            lambda m, x, w, b: F(m).batch_norm(x, None, None, w, b, training=True)),
    "batch_norm eval": ([_normal(4, 3), _constant(_unit(3)), _constant(_unit(3)), _normal(3), _normal(3)],
                        lambda m, x, mean, var, w, b: F(m).batch_norm(x, mean, var, w, b, training=False)),
    "group_norm": ([_normal(2, 4, 3), _normal(4), _normal(4)], lambda m, x, w, b: F(m).group_norm(x, 2, w, b)),
    "normalize": ([_normal(2, 4)], lambda m, x: F(m).normalize(x)),
    "cross_entropy": ([_normal(3, 4), _index(0, 2, 3)], lambda m, x, t: F(m).cross_entropy(x, t)),
    "cross_entropy with probabilities": ([_normal(3, 4), _unit(3, 4)], lambda m, x, t: F(m).cross_entropy(x, t)),
    "nll_loss": ([_normal(3, 4), _index(0, 2, 3)], lambda m, x, t: F(m).nll_loss(x, t)),
    "binary_cross_entropy": ([_unit(3), _unit(3)], lambda m, x, t: F(m).binary_cross_entropy(x, t)),
    "binary_cross_entropy_with_logits": ([_normal(3), _unit(3)],
                                         lambda m, x, t: F(m).binary_cross_entropy_with_logits(x, t)),
    "mse_loss": ([_normal(3), _normal(3)], lambda m, x, t: F(m).mse_loss(x, t)),
    "l1_loss": ([_normal(3), _normal(3)], lambda m, x, t: F(m).l1_loss(x, t)),
    "smooth_l1_loss": ([_normal(3), _normal(3)], lambda m, x, t: F(m).smooth_l1_loss(x, t)),
    "huber_loss": ([_normal(3), _normal(3)], lambda m, x, t: F(m).huber_loss(x, t)),
    "embedding": ([_index(0, 2, 1), _normal(4, 3)], lambda m, i, w: F(m).embedding(i, w)),
    "gelu": ([_normal(5)], lambda m, x: F(m).gelu(x)),
    "gelu tanh": ([_normal(5)], lambda m, x: F(m).gelu(x, approximate="tanh")),
    "silu": ([_normal(5)], lambda m, x: F(m).silu(x)),
    "leaky_relu": ([_normal(5)], lambda m, x: F(m).leaky_relu(x, 0.1)),
    "relu": ([_normal(5)], lambda m, x: x.relu()),
    "pad": ([_normal(2, 3)], lambda m, x: F(m).pad(x, (1, 1))),
    "cumsum": ([_normal(4)], lambda m, x: x.cumsum(0)),
    "prod": ([_normal(4)], lambda m, x: x.prod()),
    "prod over a dim": ([_normal(2, 3)], lambda m, x: x.prod(1)),
    "norm": ([_normal(4)], lambda m, x: x.norm()),
    "norm over a dim": ([_normal(2, 3)], lambda m, x: x.norm(dim=1)),
    "gather": ([_normal(2, 3), _index([0, 2], [1, 1])], lambda m, x, i: x.gather(1, i)),
    "index_select": ([_normal(3, 2), _index(0, 2)], lambda m, x, i: x.index_select(0, i)),
    "integer index": ([_normal(3), _index(0, 2)], lambda m, x, i: x[i]),
    "scatter": ([_normal(2, 3), _index([0, 2], [1, 1]), _normal(2, 2)], lambda m, x, i, s: x.scatter(1, i, s)),
    "scatter_add": ([_normal(2, 3), _index([0, 2], [1, 1]), _normal(2, 2)], lambda m, x, i, s: x.scatter_add(1, i, s)),
    "sort": ([_normal(4)], lambda m, x: x.sort().values),
    "topk": ([_normal(4)], lambda m, x: x.topk(2).values),
    "max": ([_normal(4)], lambda m, x: x.max()),
    "max over a dim": ([_normal(2, 3)], lambda m, x: x.max(1).values),
    "amax": ([_normal(2, 3)], lambda m, x: x.amax(1)),
    "min": ([_normal(4)], lambda m, x: x.min()),
    "var": ([_normal(4)], lambda m, x: x.var()),
    "std": ([_normal(4)], lambda m, x: x.std()),
    "logsumexp": ([_normal(2, 3)], lambda m, x: x.logsumexp(1)),
    "sum and mean": ([_normal(4)], lambda m, x: x.sum() + x.mean()),
    "clamp": ([_normal(4)], lambda m, x: x.clamp(-0.5, 0.5)),
    "clamp with a tensor bound": ([_normal(4), _normal(4)], lambda m, x, b: x.clamp(min=b)),
    "maximum": ([_normal(4), _normal(4)], lambda m, a, b: m.maximum(a, b)),
    "where": ([_normal(4), _normal(4)], lambda m, a, b: m.where(a > 0, a, b)),
    "log1p": ([_unit(4)], lambda m, x: x.log1p()),
    "rsqrt": ([_unit(4)], lambda m, x: x.rsqrt()),
    "square": ([_normal(4)], lambda m, x: x.square()),
    "abs sin cos": ([_normal(4)], lambda m, x: x.abs() + x.sin() * 0 + x.cos() * 0),
    "log": ([_unit(4)], lambda m, x: x.log()),
    "exp": ([_normal(4)], lambda m, x: x.exp()),
    "sqrt": ([_unit(4)], lambda m, x: x.sqrt()),
    "tanh": ([_normal(4)], lambda m, x: x.tanh()),
    "sigmoid": ([_normal(4)], lambda m, x: x.sigmoid()),
    "softmax": ([_normal(4)], lambda m, x: x.softmax(0)),
    "log_softmax": ([_normal(4)], lambda m, x: x.log_softmax(0)),
    "mul": ([_normal(4), _normal(4)], lambda m, a, b: a * b),
    "div": ([_normal(4), _unit(4)], lambda m, a, b: a / b),
    "pow": ([_unit(4), _normal(4)], lambda m, a, b: a ** b),
    "pow by a number": ([_unit(4)], lambda m, a: a ** 2),
    "number to a power": ([_normal(4)], lambda m, a: 2.0 ** a),
    "remainder": ([_normal(4), _unit(4)], lambda m, a, b: a % b),
    "matmul": ([_normal(2, 3), _normal(3, 2)], lambda m, a, b: a @ b),
    "linear": ([_normal(2, 3), _normal(4, 3), _normal(4)], lambda m, x, w, b: F(m).linear(x, w, b)),
    "einsum": ([_normal(2, 3), _normal(3, 2)], lambda m, a, b: m.einsum("ij,jk->ik", a, b)),
    "to float64": ([_normal(4)], lambda m, x: x.float().double()),
    "attention value (4-D)": ([_normal(2, 2, 5, 8), _normal(2, 2, 5, 8), _normal(2, 2, 5, 8)],
                              lambda m, q, k, v: F(m).scaled_dot_product_attention(q, k, v, is_causal=True)),
}


def _cases():
    for name, (inputs, forward) in OPS.items():
        yield name, inputs, forward
        floating = [i for i, (kind, _) in enumerate(inputs) if kind == "grad"]
        if len(floating) > 1:
            for i in floating:
                changed = list(inputs)
                changed[i] = _constant(inputs[i])
                yield f"{name}, input {i} without grad", changed, forward


CASES = {name: (inputs, forward) for name, inputs, forward in _cases()}


def _run(m, inputs, forward, changed, dtype):
    """Forward, change tensor `changed` (an input's position or "output") in place, backward:
    ("error", message) or ("ok", input gradients)."""
    tensors = []
    for kind, data in inputs:
        t = m.tensor(data) if kind == "index" else m.tensor(data, dtype=dtype)
        tensors.append(t.requires_grad_() if kind == "grad" else t)
    y = forward(m, *tensors)
    if changed == "output":
        y.detach().mul_(1.5)
    else:
        with m.no_grad():
            tensors[changed].mul_(1.5 if inputs[changed][0] != "index" else 1)
    try:
        y.sum().backward()
    except RuntimeError as error:
        return "error", str(error)
    return "ok", [np.array(t.grad.numpy() if m is torch else t.grad.data) for t in tensors if t.grad is not None]


@pytest.mark.parametrize("name", list(CASES))
def test_backward_after_an_in_place_change_matches_pytorch(name):
    inputs, forward = CASES[name]
    float32 = name.startswith("attention")  # PyTorch's fused attention kernel (float32) reads q, k and v
    for changed in [*range(len(inputs)), "output"]:
        their_status, theirs = _run(torch, inputs, forward, changed, torch.float32 if float32 else torch.float64)
        our_status, ours = _run(tt, inputs, forward, changed, tt.float32 if float32 else tt.float64)
        assert our_status == their_status, (changed, theirs if their_status == "error" else ours)
        if our_status == "error":
            assert "modified by an inplace operation" in theirs
            assert "modified by an inplace operation" in ours and "Backward" in ours, ours  # names the op
        else:
            assert len(ours) == len(theirs)
            for a, b in zip(ours, theirs):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=f"changed {changed}")


def test_attention_on_3d_inputs_refuses_changed_queries_and_keys():
    """PyTorch's math fallback (3-D inputs) keeps scaled copies of query and key, so it computes
    after they change; tinytorch's backward reads them, as PyTorch's fused kernel (above) does,
    so it refuses rather than compute from the new values (and, like the fused kernel, refuses
    a changed output)."""
    for changed in range(4):
        q, k, v = (tt.tensor(_rng.standard_normal((1, 3, 4)), requires_grad=True) for _ in range(3))
        y = F(tt).scaled_dot_product_attention(q, k, v)
        with tt.no_grad():
            (q, k, v, y)[changed].mul_(2)
        with pytest.raises(RuntimeError, match="ScaledDotProductAttentionBackward.*modified by an inplace"):
            y.sum().backward()


@pytest.mark.parametrize("layer", ["Conv2d", "LayerNorm", "BatchNorm1d", "Embedding"])
def test_changing_a_layers_parameter_between_forward_and_backward_raises_naming_the_op(layer):
    for m in (torch, tt):
        module = {"Conv2d": lambda: m.nn.Conv2d(2, 3, 3), "LayerNorm": lambda: m.nn.LayerNorm(4),
                  "BatchNorm1d": lambda: m.nn.BatchNorm1d(4), "Embedding": lambda: m.nn.Embedding(5, 4)}[layer]()
        x = m.tensor([[1, 4, 2]]) if layer == "Embedding" else m.randn(2, 2, 5, 5) if layer == "Conv2d" else m.randn(3, 4)
        y = (module(x) * module(x)).sum() if layer == "Embedding" else module(x).sum()
        with m.no_grad():
            (x if layer == "Embedding" else module.weight).mul_(2 if layer != "Embedding" else 1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.backward()


def test_ops_taking_indices_as_arrays_or_lists_keep_working_after_in_place_changes():
    """Indices given as NumPy arrays or lists are not Tensors: nothing to check, nothing to break."""
    weight = tt.randn(5, 3, requires_grad=True)
    with tt.no_grad():
        tt.ones(1).add_(1)  # an in-place change somewhere: versions are now recorded
    for indices in (np.array([0, 4]), [1, 2]):
        F(tt).embedding(indices, weight).sum().backward()
        weight.index_select(0, tt.tensor(indices)).sum().backward()
    np.testing.assert_array_equal(weight.grad.data.sum(1), [6, 6, 6, 0, 6])
