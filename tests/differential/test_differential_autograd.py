"""Autograd against PyTorch: in-place changes to saved tensors (version counters), higher-order
gradients (`create_graph=True`, `autograd.grad`) and `autograd.Function`."""

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import tinytorch as tt

torch = pytest.importorskip("torch")


def _both(build):
    """Run `build(m)` with m = torch and tinytorch; return (torch result or error, ours)."""
    out = []
    for m in (torch, tt):
        try:
            out.append(("ok", build(m)))
        except RuntimeError as error:
            out.append(("error", error))
    return out


def _grad_of(m, x):
    return x.grad.numpy() if m is torch else x.grad.data


# ---------------------------------------------------------------------- in-place changes to saved tensors

def _saved_then_changed(update, forward):
    def build(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        w = m.tensor([[3.0, 4.0], [5.0, 6.0]])
        y = forward(m, x, w)
        update(m, w, y)
        y.sum().backward()
        return _grad_of(m, x)
    return build


UNSAFE = {
    "mul_ on a saved operand": (lambda m, w, y: w.mul_(10), lambda m, x, w: x * w[0]),
    "setitem on a saved operand": (lambda m, w, y: w.__setitem__((0, 0), 100.0), lambda m, x, w: x * w[0]),
    "in-place through a view": (lambda m, w, y: w[0].add_(1), lambda m, x, w: x * w),
    "matmul weight zeroed": (lambda m, w, y: w.zero_(), lambda m, x, w: w @ x),
    "exp output through detach": (lambda m, w, y: y.detach().add_(1), lambda m, x, w: x.exp()),
    "sigmoid output under no_grad": (lambda m, w, y: _no_grad_add(m, y), lambda m, x, w: x.sigmoid()),
    "tanh output via copy_": (lambda m, w, y: y.detach().copy_(y.detach() * 0), lambda m, x, w: x.tanh()),
    "softmax output": (lambda m, w, y: y.detach().mul_(2), lambda m, x, w: x.softmax(-1)),
    "divisor changed": (lambda m, w, y: w.fill_(1), lambda m, x, w: x / w[1]),
    "pow base changed": (lambda m, w, y: w.add_(1), lambda m, x, w: w[0] ** x),
    "linear weight changed": (lambda m, w, y: w.mul_(2), lambda m, x, w: m.nn.functional.linear(x, w)),
}


def _no_grad_add(m, y):
    with m.no_grad():
        y.add_(1)


@pytest.mark.parametrize("name", list(UNSAFE))
def test_changing_a_saved_tensor_in_place_makes_backward_raise(name):
    update, forward = UNSAFE[name]
    (their_status, theirs), (our_status, ours) = _both(_saved_then_changed(update, forward))
    assert their_status == "error", theirs
    assert our_status == "error", f"tinytorch computed {ours} from changed values"
    message = str(ours)
    assert "modified by an inplace operation" in message and "Backward" in message  # names the op
    assert "is at version" in message


SAFE = {
    "input of add changed": (lambda m, w, y: w.mul_(10), lambda m, x, w: x + w[0]),
    "input of a reshape changed": (lambda m, w, y: w.mul_(10), lambda m, x, w: x * 2 + w.reshape(-1)[:2]),
    "unrelated tensor changed": (lambda m, w, y: m.ones(2).add_(1), lambda m, x, w: x * w[0]),
    "a clone of the saved tensor changed": (lambda m, w, y: w.clone().mul_(3), lambda m, x, w: x * w[0]),
}


@pytest.mark.parametrize("name", list(SAFE))
def test_safe_in_place_changes_keep_working(name):
    update, forward = SAFE[name]
    (their_status, theirs), (our_status, ours) = _both(_saved_then_changed(update, forward))
    assert their_status == our_status == "ok", (theirs, ours)
    np.testing.assert_allclose(ours, theirs)


def test_training_loop_updates_under_no_grad_and_optimizers_keep_working():
    for m in (torch, tt):
        w = m.tensor([1.0, -1.0], requires_grad=True)
        for _ in range(3):
            loss = ((w * m.tensor([2.0, 3.0])) ** 2).sum()
            loss.backward()
            with m.no_grad():
                w -= 0.01 * w.grad
            w.grad = None
        opt = m.optim.SGD([w], lr=0.1)
        for _ in range(2):
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()
        if m is torch:
            expected = w.detach().numpy()
    np.testing.assert_allclose(w.data, expected, rtol=1e-6)


@pytest.mark.parametrize("optimizer", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta"])
def test_an_optimizer_step_between_forward_and_backward_is_refused(optimizer):
    versions = []
    for m in (torch, tt):
        w = m.nn.Parameter(m.tensor([1.0, -1.0]))
        opt = getattr(m.optim, optimizer)([w], lr=0.1)
        x = m.tensor([2.0, 3.0], requires_grad=True)
        (w * w).sum().backward()
        pending = (x * w).sum()  # saved w before the step
        opt.step()
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            pending.backward()
        (x * w).sum().backward()  # a graph recorded after the step is fine
        versions.append(w._version)
    assert versions[1] == versions[0]  # AdamW's decay is an in-place step of its own


def test_version_counter_matches_pytorch():
    for m in (torch, tt):
        x = m.zeros(2, 3)
        versions = [x._version]
        x.add_(1)
        versions.append(x._version)
        x[0] = 5.0
        versions.append(x._version)
        view, alias = x[1], x.detach()
        view.mul_(2)
        alias.zero_()
        versions += [x._version, view._version, alias._version, m.zeros(2)._version, (x + 1)._version]
        if m is torch:
            expected = versions
    assert versions == expected


# ---------------------------------------------------------------------- higher-order gradients

FUNCTIONS = {
    "cube": lambda m, x: (x ** 3).sum(),
    "exp": lambda m, x: x.exp().sum(),
    "log": lambda m, x: (x * x + 1).log().sum(),
    "sqrt": lambda m, x: (x * x + 1).sqrt().sum(),
    "tanh": lambda m, x: x.tanh().sum(),
    "sigmoid": lambda m, x: (x.sigmoid() * x).sum(),
    "relu": lambda m, x: (x.relu() * x * x).sum(),
    "div": lambda m, x: (1 / (x * x + 1)).sum(),
    "mean_sub": lambda m, x: ((x - x.mean()) ** 2).mean(),
    "softmax": lambda m, x: (x.softmax(-1) * x).sum(),
    "log_softmax": lambda m, x: (x.log_softmax(-1) ** 2).sum(),
    "matmul": lambda m, x: (x @ x.T).tanh().sum() if x.ndim == 2 else (x @ x).tanh(),
    "reshape_transpose_index": lambda m, x: (x.reshape(-1)[1:] ** 2).sum() * x.T.sum(),
    "sum_dim": lambda m, x: (x.sum(-1, keepdim=True) * x).exp().mean(),
    "where_clamp_cat": lambda m, x: (m.where(x > 0, x * x, x.exp()).clamp(-1.0, 2.0)
                                     + m.cat([x, x * 3], -1).masked_fill(m.cat([x, x], -1) > 1, 0.0).sum(-1, keepdim=True)
                                     * m.stack([x, x * x]).sum(0)).sum(),
    "var_std_logsumexp": lambda m, x: x.var(-1).sum() * x.std(0).sum() + x.logsumexp(-1).sum(),
    "sin_cos_max": lambda m, x: (x.sin() * x.cos()).sum() * x.max() + (x * x).max(-1).values.sum(),
    "leaky_relu_mse": lambda m, x: m.nn.functional.mse_loss(m.nn.functional.leaky_relu(x, 0.1) * x, x.exp()),
    "broadcast": lambda m, x: (x * m.tensor([0.5, 2.0, -1.0], dtype=x.dtype)).tanh().sum(),
    "gelu": lambda m, x: (m.nn.functional.gelu(x) * x).sum(),
    "gelu_tanh": lambda m, x: (m.nn.functional.gelu(x * 2, approximate="tanh") * x).sum(),
    "cross_entropy": lambda m, x: m.nn.functional.cross_entropy(
        x * x, m.tensor([2, 0]) if x.ndim == 2 else m.tensor(1), label_smoothing=0.1),
    "cross_entropy_none": lambda m, x: (m.nn.functional.cross_entropy(
        x.exp(), m.tensor([1, -100]) if x.ndim == 2 else m.tensor(0), reduction="none") ** 2).sum(),
    "layer_norm": lambda m, x: (m.nn.functional.layer_norm(x * x, x.shape[-1:]) ** 3 * x).sum(),
    "nll_loss_weight_ignore": lambda m, x: m.nn.functional.nll_loss(
        (x * x).log_softmax(-1), m.tensor([2, -100]) if x.ndim == 2 else m.tensor(1),
        weight=m.tensor([0.5, 2.0, 1.5], dtype=x.dtype)),
    "nll_loss_none": lambda m, x: (m.nn.functional.nll_loss(
        x.exp(), m.tensor([1, 0]) if x.ndim == 2 else m.tensor(2), reduction="none") ** 2).sum(),
    "cross_entropy_probabilities": lambda m, x: m.nn.functional.cross_entropy(
        x * x, (x * 0.7).softmax(-1), weight=m.tensor([1.0, 2.0, 0.5], dtype=x.dtype), label_smoothing=0.2),
    "binary_cross_entropy": lambda m, x: m.nn.functional.binary_cross_entropy(
        (x * x).sigmoid(), (x * 0.5).sigmoid(), weight=m.tensor([1.0, 0.5, 2.0], dtype=x.dtype)),
    "bce_with_logits": lambda m, x: m.nn.functional.binary_cross_entropy_with_logits(
        x * x, (x * 0.3).sigmoid(), pos_weight=m.tensor([1.0, 3.0, 0.5], dtype=x.dtype), reduction="sum"),
    "bce_with_logits_none": lambda m, x: (m.nn.functional.binary_cross_entropy_with_logits(
        x.exp(), (x * 0.3).sigmoid(), reduction="none") ** 2).sum(),
    "l1_smooth_l1_huber": lambda m, x: (m.nn.functional.l1_loss(x * x, x.exp())
                                        + m.nn.functional.smooth_l1_loss(x * x, x * 0.2, beta=0.5)
                                        + m.nn.functional.huber_loss(x.exp(), x, delta=0.7, reduction="sum")),
    "pad": lambda m, x: ((m.nn.functional.pad(x * x, (1, 2), value=0.5).tanh() * m.nn.functional.pad(x, (2, 1))).sum()
                         + m.nn.functional.pad(x.exp(), (-1, 1)).pow(2).sum()),
    "embedding": lambda m, x: (m.nn.functional.embedding(m.tensor([[0, 2], [2, 2]]), (x * x).reshape(-1, 1)) ** 3).sum()
                              + m.nn.functional.embedding(m.tensor([1, 0, 1]), x.exp().reshape(-1, 1), padding_idx=0).pow(2).sum(),
    "attention": lambda m, x: (m.nn.functional.scaled_dot_product_attention(
        (x.reshape(-1, 1) * m.tensor([[1.0, -0.5]], dtype=x.dtype)), (x.reshape(-1, 1) * x.reshape(1, -1))[:, :2].tanh(),
        x.reshape(-1, 1) * x.reshape(-1, 1), is_causal=True) ** 2).sum(),
    "attention_masks": lambda m, x: (m.nn.functional.scaled_dot_product_attention(
        x.reshape(1, -1, 1).expand(2, -1, 3), x.reshape(1, -1, 1).exp().expand(2, -1, 3), x.reshape(1, -1, 1) * x.reshape(1, 1, -1),
        attn_mask=m.tensor(_first_row_blind(x.numel()))) ** 2).sum() + (m.nn.functional.scaled_dot_product_attention(
        x.reshape(-1, 1), x.reshape(-1, 1), x.reshape(-1, 1).sin(),
        attn_mask=m.tensor([0.0, -0.5, float("-inf")] * (x.numel() // 3), dtype=x.dtype), scale=0.7) ** 3).sum(),
    "gather_index_select_sort": lambda m, x: ((x.gather(-1, m.tensor([[2, 0], [1, 1]]) if x.ndim == 2 else m.tensor([2, 0, 0])) ** 3).sum()
                                              + x.index_select(-1, m.tensor([2, 0, 2])).exp().sum()
                                              + (x.sort(-1, descending=True).values ** 2).cumsum(-1).sum()),
    "cumsum_roll_repeat": lambda m, x: ((x.cumsum(-1) ** 2).sum() + (x.roll(1, -1) * x).sum() + (x.roll(2) * x * x).sum()
                                        + (x.repeat(2, 1) ** 3).sum()),
    "amax_amin_maximum_norm": lambda m, x: ((x.amax(-1) ** 2).sum() + x.amin(0).exp().sum() + (m.maximum(x, x * x - 1) ** 2).sum()
                                            + m.minimum(x, x.tanh()).sum() + x.norm() * x.sum() + (x.norm(dim=-1) ** 3).sum()),
    "topk": lambda m, x: (x.topk(2, -1).values ** 3).sum() + x.topk(1, 0, largest=False).values.exp().sum(),
    "prod_with_zeros": lambda m, x: (x.prod(-1) ** 2).sum() + x.prod() + (x * (x > 0)).prod(0, keepdim=True).sum(),
    "floor_sign": lambda m, x: (x.floor() * x * x).sum() + (x.sign() * x ** 3).sum(),
    "silu_log1p_rsqrt_square": lambda m, x: ((m.nn.functional.silu(x) * x).sum() + (x * x).log1p().sum()
                                             + (x * x + 1).rsqrt().sum() + x.square().tanh().sum()),
}


def _first_row_blind(n):
    """An (n, n) bool attention mask: query 0 sees no key, the others all but key 1."""
    mask = np.ones((n, n), dtype=bool)
    mask[:, 1] = False
    mask[0] = False
    return mask


def _second_order(m, build, data):
    x = m.tensor(data, requires_grad=True)
    (g,) = m.autograd.grad(build(m, x), x, create_graph=True)
    w = m.tensor(np.linspace(-1, 1, data.size).reshape(data.shape), dtype=x.dtype)
    (h,) = m.autograd.grad((g * w).sum(), x)  # a Hessian-vector product
    as_array = (lambda t: t.detach().numpy()) if m is torch else (lambda t: t.data)
    return as_array(g), as_array(h)


@pytest.mark.parametrize("name", list(FUNCTIONS))
@settings(max_examples=6, deadline=None)
@given(shape=st.sampled_from([(3,), (2, 3)]), seed=st.integers(0, 1000))
def test_second_derivatives_match_pytorch(name, shape, seed):
    data = np.random.default_rng(seed).standard_normal(shape)  # float64
    their_g, their_h = _second_order(torch, FUNCTIONS[name], data)
    our_g, our_h = _second_order(tt, FUNCTIONS[name], data)
    np.testing.assert_allclose(our_g, their_g, rtol=1e-9, atol=1e-12)
    # PyTorch's double backward of binary_cross_entropy adds its 1e-12 to x and 1 - x separately
    rtol = 1e-6 if name == "binary_cross_entropy" else 1e-9
    np.testing.assert_allclose(our_h, their_h, rtol=rtol, atol=1e-12)


def test_third_derivative_of_x_cubed_through_backward_create_graph():
    results = []
    for m in (torch, tt):
        x = m.tensor([1.5, -2.0], dtype=m.float64, requires_grad=True)
        (x ** 3).sum().backward(create_graph=True)
        first = x.grad
        (second,) = m.autograd.grad(first.sum(), x, create_graph=True)
        (third,) = m.autograd.grad(second.sum(), x)
        results.append([np.asarray(t.detach().numpy() if m is torch else t.data) for t in (first, second, third)])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs)


def test_gradient_penalty_matches_pytorch():
    rng = np.random.default_rng(0)
    w1, b1 = rng.standard_normal((8, 3)), rng.standard_normal(8)
    w2, b2 = rng.standard_normal((1, 8)), rng.standard_normal(1)
    real = rng.standard_normal((5, 3))
    results = []
    for m in (torch, tt):
        layers = [m.nn.Linear(3, 8), m.nn.Tanh(), m.nn.Linear(8, 1)]
        critic = m.nn.Sequential(*layers).double()
        with m.no_grad():
            for layer, (w, b) in ((layers[0], (w1, b1)), (layers[2], (w2, b2))):
                layer.weight.copy_(m.tensor(w))
                layer.bias.copy_(m.tensor(b))
        x = m.tensor(real, requires_grad=True)
        (grad_x,) = m.autograd.grad(critic(x).sum(), x, create_graph=True)
        penalty = ((grad_x.pow(2).sum(1).sqrt() - 1) ** 2).mean()
        penalty.backward()
        results.append([np.asarray(_value(m, t)) for t in (penalty, layers[0].weight.grad, layers[2].weight.grad)])
        assert layers[2].bias.grad is None or not np.any(_value(m, layers[2].bias.grad))  # not in grad_x
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9)


def _value(m, t):
    return t.detach().numpy() if m is torch else t.data


def test_gradient_penalty_through_layer_norm_and_gelu_reaches_the_parameters_as_in_pytorch():
    rng = np.random.default_rng(1)
    data, w, b = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(4)
    results = []
    for m in (torch, tt):
        norm = m.nn.LayerNorm(4).double()
        with m.no_grad():
            norm.weight.copy_(m.tensor(w))
            norm.bias.copy_(m.tensor(b))
        x = m.tensor(data, requires_grad=True)
        out = m.nn.functional.gelu(norm(x * 2), approximate="tanh")
        (grad_x,) = m.autograd.grad(m.nn.functional.cross_entropy(out, m.tensor([0, 3, 1])), x, create_graph=True)
        (grad_x ** 2).sum().backward()
        results.append([np.asarray(_value(m, t)) for t in (grad_x, norm.weight.grad, x.grad)])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_create_graph_through_an_op_without_a_differentiable_backward_is_a_clear_error():
    x = tt.tensor([0.5, 1.0], requires_grad=True)
    y = tt.Tensor._result(x.data * 2, (x,), lambda g: (g * 2,), "NumpyOnlyBackward")  # a backward for arrays only
    with pytest.raises(NotImplementedError, match="create_graph=True.*NumpyOnlyBackward.*no differentiable backward"):
        tt.autograd.grad(y.sum(), x, create_graph=True)


def test_autograd_grad_leaves_grad_alone_and_follows_pytorchs_rules():
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    unused = tt.tensor([3.0], requires_grad=True)
    y = (x * x).sum()
    gx, gu = tt.autograd.grad(y, [x, unused], allow_unused=True, retain_graph=True)
    assert gu is None and x.grad is None and not gx.requires_grad
    np.testing.assert_array_equal(gx.data, [2.0, 4.0])
    with pytest.raises(RuntimeError, match="autograd.grad: input 1 .* not used"):
        tt.autograd.grad(y, [x, unused], retain_graph=True)
    with pytest.raises(RuntimeError, match="autograd.grad: input 0 .* does not require grad"):
        tt.autograd.grad(y, [tt.ones(2)], retain_graph=True)
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        tt.autograd.grad(x * 2, x)
    (g,) = tt.autograd.grad(x * 2, x, grad_outputs=tt.tensor([1.0, -1.0]))
    np.testing.assert_array_equal(g.data, [2.0, -2.0])


def test_backward_with_inputs_accumulates_only_there():
    for m in (torch, tt):
        a = m.tensor([1.0], requires_grad=True)
        b = m.tensor([2.0], requires_grad=True)
        m.autograd.backward([(a * b).sum(), (a * a).sum()], inputs=[a])
        assert b.grad is None
        if m is torch:
            expected = a.grad.numpy()
    np.testing.assert_allclose(a.grad.data, expected)


# ---------------------------------------------------------------------- autograd.Function

def _cube_class(m):
    class Cube(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            return x ** 3 * scale

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            assert ctx.needs_input_grad == (True, False)
            return 3 * x ** 2 * grad * ctx.scale, None

    return Cube


def test_function_apply_matches_pytorch_also_twice_differentiated():
    results = []
    for m in (torch, tt):
        x = m.tensor([0.5, -1.5], dtype=m.float64, requires_grad=True)
        y = _cube_class(m).apply(x, 2.0)
        (g,) = m.autograd.grad(y.sum(), x, create_graph=True)
        (h,) = m.autograd.grad(g.sum(), x)
        results.append([_value(m, t) for t in (y, g, h)])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs)


def test_function_saved_tensor_changed_in_place_raises_and_non_differentiable_outputs():
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    w = tt.tensor([3.0, 4.0])

    class Scale(tt.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(w)
            order = tt.argsort(x)
            ctx.mark_non_differentiable(order)
            return x * w, order

        @staticmethod
        def backward(ctx, grad, _):
            (w,) = ctx.saved_tensors
            return grad * w, None

    y, order = Scale.apply(x, w)
    assert y.requires_grad and not order.requires_grad
    y.sum().backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])
    w.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@pytest.mark.parametrize("update", ["add_", "mul_", "zero_", "setitem", "clamp_"])
def test_in_place_update_of_a_leaf_that_requires_grad_is_refused_as_in_pytorch(update):
    apply = {"add_": lambda t: t.add_(1), "mul_": lambda t: t.mul_(2), "zero_": lambda t: t.zero_(),
             "setitem": lambda t: t.__setitem__(0, 5.0), "clamp_": lambda t: t.clamp_(0, 1)}[update]
    for m in (torch, tt):
        w = m.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
            apply(w)
        with m.no_grad():
            apply(w)  # allowed without recording, in both


NON_LEAF_UPDATES = {
    "add_": lambda m, y: y.add_(1),
    "sub_ of a tensor": lambda m, y: y.sub_(m.tensor([0.5, 1.0, 2.0], dtype=y.dtype)),
    "mul_": lambda m, y: y.mul_(3),
    "div_ by a tensor": lambda m, y: y.div_(m.tensor([2.0, 4.0, 8.0], dtype=y.dtype)),
    "iadd then imul": lambda m, y: y.__iadd__(1).__imul__(-2),
    "clamp_": lambda m, y: y.clamp_(-1.0, 2.5),
    "masked_fill_": lambda m, y: y.masked_fill_(m.tensor([True, False, True]), 0.0),
    "zero_": lambda m, y: y.zero_(),
    "fill_": lambda m, y: y.fill_(4.0),
    "copy_": lambda m, y: y.copy_(m.tensor([1.0, 2.0, 3.0], dtype=y.dtype)),
    "setitem": lambda m, y: y.__setitem__(slice(0, 2), 7.0),
    "setitem then add_": lambda m, y: y.__setitem__(1, 7.0) or y.add_(1),
}


@pytest.mark.parametrize("name", list(NON_LEAF_UPDATES))
@pytest.mark.parametrize("make", ["mul", "matmul", "tanh", "relu"])
def test_in_place_update_of_a_non_leaf_is_recorded_as_in_pytorch(name, make):
    """Values and gradients as in PyTorch; after tanh or relu, whose backward reads their output,
    backward raises in both."""
    def build(m):
        x = m.tensor([-1.5, 0.5, 2.0], dtype=m.float64, requires_grad=True)
        y = {"mul": lambda: x * 2, "matmul": lambda: m.eye(3, dtype=m.float64) @ x, "tanh": lambda: x.tanh(),
             "relu": lambda: x.relu()}[make]()
        NON_LEAF_UPDATES[name](m, y)
        (y * m.tensor([1.0, 2.0, 3.0], dtype=m.float64)).sum().backward()
        return _value(m, y), _value(m, x.grad)

    (their_status, theirs), (our_status, ours) = _both(build)
    assert our_status == their_status, (theirs, ours)
    if our_status == "error":
        assert "modified by an inplace operation" in str(ours)
        return
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_in_place_update_after_a_saving_op_raises_in_both():
    for m in (torch, tt):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()  # its backward reads its output
        y.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_in_place_update_of_a_non_leaf_already_used_or_a_view_is_refused_clearly():
    """PyTorch records these too; tinytorch records an in-place update only right after the op
    that made the tensor (else an op that already used it would send its gradient through the
    update) and not of a view, and says so rather than compute a wrong gradient."""
    x = tt.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y + 1  # y already used
    with pytest.raises(RuntimeError, match="add_: .*only right after the op that made it.*out-of-place"):
        y.add_(1)
    with pytest.raises(RuntimeError, match="mul_: .*not of a view"):
        (x * 3).reshape(2, 1)[0].mul_(2)
    (z + y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 4.0])


@pytest.mark.parametrize("padding", [0, 1, 2])
@pytest.mark.parametrize("batched", [True, False])
def test_conv2d_second_derivatives_match_pytorch(padding, batched):
    rng = np.random.default_rng(padding)
    data, weight, bias = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    results = []
    for m in (torch, tt):
        x = m.tensor(data if batched else data[0], requires_grad=True)
        w, b = m.tensor(weight, requires_grad=True), m.tensor(bias, requires_grad=True)
        y = m.nn.functional.conv2d(x, w, b, padding=padding)
        grad_x, grad_w = m.autograd.grad((y.tanh() * y).sum(), (x, w), create_graph=True)
        ((grad_x ** 2).sum() + (grad_w ** 3).sum()).backward()
        results.append([np.asarray(_value(m, t)) for t in (grad_x, grad_w, x.grad, w.grad, b.grad)])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)


# windowed ops: x (2, 2, 7, 6), w (3, 2, 3, 3) or, with groups=2, w[:, :1]
WINDOWED = {
    "conv_stride_padding": lambda F, x, w: F.conv2d(x, w, stride=2, padding=1),
    "conv_dilation_groups": lambda F, x, w: F.conv2d(x, w[:2, :1], padding=(2, 1), dilation=(2, 1), groups=2),
    "conv_same_stride_pair": lambda F, x, w: (F.conv2d(x, w, stride=(1, 2), padding=(0, 2)).sum(-1, keepdim=True)
                                             + F.conv2d(x, w, padding="same")[:, :, 1:6]),
    "conv1d": lambda F, x, w: F.conv1d(x.flatten(2), w[:, :, 1], stride=3, padding=2, dilation=2),
    "max_pool_padding": lambda F, x, w: F.max_pool2d(F.conv2d(x, w, padding=1), 3, stride=2, padding=1),
    "max_pool_dilation": lambda F, x, w: F.max_pool2d(F.conv2d(x, w) * x[:, :1, :5, :4], 2, stride=1, dilation=2),
    "max_pool_tiles": lambda F, x, w: F.max_pool2d(F.conv2d(x, w, padding=1).tanh() * x[:, :1], 2),
    "avg_pool_padding": lambda F, x, w: F.avg_pool2d(F.conv2d(x, w, padding=1), 3, stride=2, padding=1,
                                                     count_include_pad=False),
    "avg_pool_divisor": lambda F, x, w: F.avg_pool2d(F.conv2d(x, w, padding=1) * x[:, :1], (2, 3), divisor_override=4),
    "adaptive_avg_pool": lambda F, x, w: F.adaptive_avg_pool2d(F.conv2d(x, w, padding=1) * x[:, 1:], (7, 2)),
    "batch_norm_training": lambda F, x, w: F.batch_norm(F.conv2d(x, w, padding=1) * x[:, :1], None, None, w[0, 0, 0],
                                                        w[1, 1, 1], training=True),
    "batch_norm_running": lambda F, x, w: F.batch_norm(F.conv2d(x, w) ** 2, w[2, 1, 0].detach(), w[0, 1, 2].detach().exp(),
                                                       w[1, 0, 1], None, training=False, eps=0.1),
    "batch_norm_1d": lambda F, x, w: F.batch_norm(x.flatten(2) * w[0, 0, 0, :2].reshape(1, 2, 1), None, None,
                                                  training=True) * x.flatten(2),
    "group_norm": lambda F, x, w: F.group_norm(F.conv2d(x, w, padding=1) * x[:, 1:], 3, w[0, 0, 0], w[1, 1, 1]) ** 2,
    "group_norm_plain": lambda F, x, w: F.group_norm(x * x, 2) * F.conv2d(x, w, padding=1)[:, :2],
    "normalize": lambda F, x, w: (F.normalize(F.conv2d(x, w, padding=1), dim=1) * x[:, :1]
                                  + F.normalize(x * x, p=3.0, dim=-1, eps=0.5)[:, :1] + F.normalize(x, p=1.0, dim=2)[:, 1:]
                                  + F.normalize(x.exp(), p=float("inf"), dim=3)[:, 1:]),
    "pad_modes": lambda F, x, w: (F.conv2d(F.pad(x * x, (1, 2, 2, 0), mode="reflect"), w) * F.pad(x, (0, 1, 0, 0), mode="replicate")[:, :1]
                                  + F.pad(x.tanh(), (2, 1, 0, 2), mode="circular")[:, 1:, :7, :7]),
    "unbatched": lambda F, x, w: F.max_pool2d(F.conv2d(x[0], w, padding=1) * x[1, :1], 2) + F.avg_pool2d(x[1, 1:], 2),
}


@pytest.mark.parametrize("name", list(WINDOWED))
def test_windowed_ops_second_derivatives_match_pytorch(name):
    rng = np.random.default_rng(len(name))
    data, weight = rng.standard_normal((2, 2, 7, 6)), rng.standard_normal((3, 2, 3, 3))
    results = []
    for m in (torch, tt):
        x, w = m.tensor(data, requires_grad=True), m.tensor(weight, requires_grad=True)
        y = WINDOWED[name](m.nn.functional, x, w)
        grad_x, grad_w = m.autograd.grad((y.tanh() * y).sum(), (x, w), create_graph=True)
        ((grad_x ** 2).sum() + (grad_w ** 3).sum()).backward()
        results.append([np.asarray(_value(m, t)) for t in (y, grad_x, grad_w, x.grad, w.grad)])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)


def test_gradient_penalty_of_a_small_cnn_critic_matches_pytorch():
    """WGAN-GP: ||d D(x) / dx||^2 backpropagated to the parameters of a conv + pool + linear critic."""
    rng = np.random.default_rng(3)
    real = rng.standard_normal((4, 1, 8, 8))
    results = []
    for m in (torch, tt):
        nn = m.nn
        critic = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.LeakyReLU(0.2), nn.MaxPool2d(2),
                               nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.SiLU(), nn.AvgPool2d(2),
                               nn.Flatten(), nn.Dropout(0.0), nn.Linear(6, 1)).double()
        with m.no_grad():
            for p in critic.parameters():
                p.copy_(m.tensor(np.random.default_rng(p.numel()).standard_normal(tuple(p.shape)) * 0.5))
        x = m.tensor(real, requires_grad=True)
        score = critic(x)
        (grad_x,) = m.autograd.grad(score.sum(), x, create_graph=True)
        penalty = ((grad_x.flatten(1).norm(2, dim=1) if m is torch else grad_x.flatten(1).pow(2).sum(1).sqrt()) - 1) ** 2
        (penalty.mean() * 10 - score.mean()).backward()
        results.append([np.asarray(_value(m, t)) for t in (penalty, *(p.grad for p in critic.parameters()))])
    assert len(results[1]) == len(results[0]) == 7
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cross", [False, True])
def test_multihead_attention_twice_differentiated_matches_pytorch(cross):
    rng = np.random.default_rng(5)
    data, memory = rng.standard_normal((2, 4, 6)), rng.standard_normal((2, 3, 6))
    causal = np.triu(np.ones((4, 4), dtype=bool), 1)  # True: may not attend
    results = []
    for m in (torch, tt):
        attention = m.nn.MultiheadAttention(6, 2, batch_first=True).double()
        with m.no_grad():
            for p in attention.parameters():
                p.copy_(m.tensor(np.random.default_rng(p.numel()).standard_normal(tuple(p.shape)) * 0.4))
        x = m.tensor(data, requires_grad=True)
        # PyTorch's fused CPU kernel has no double backward: its math backend does
        with torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.MATH):
            if cross:
                out, _ = attention(x, m.tensor(memory), m.tensor(memory) * 2, need_weights=False)
            else:
                out, _ = attention(x, x, x, attn_mask=m.tensor(causal), need_weights=False)
            (grad_x,) = m.autograd.grad((out.tanh() * out).sum(), x, create_graph=True)
            (grad_x ** 2).sum().backward()
        results.append([np.asarray(_value(m, t)) for t in (grad_x, *(p.grad for p in attention.parameters()))])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("layer", ["LSTM", "GRU", "RNN"])
def test_recurrent_layers_twice_differentiated_match_pytorch(layer):
    rng = np.random.default_rng(7)
    data = rng.standard_normal((2, 4, 3))
    results = []
    for m in (torch, tt):
        rnn = getattr(m.nn, layer)(3, 4, num_layers=2, batch_first=True).double()
        with m.no_grad():
            for p in rnn.parameters():
                p.copy_(m.tensor(np.random.default_rng(p.numel()).standard_normal(tuple(p.shape)) * 0.5))
        x = m.tensor(data, requires_grad=True)
        out = rnn(x)[0]
        (grad_x,) = m.autograd.grad((out * out).sum(), x, create_graph=True)
        (grad_x ** 2).sum().backward()
        results.append([np.asarray(_value(m, t)) for t in (grad_x, *(p.grad for p in rnn.parameters()))])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)), stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)), padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       groups=st.sampled_from([1, 2]), size=st.tuples(st.integers(4, 7), st.integers(4, 7)), seed=st.integers(0, 99))
def test_conv_and_pool_geometries_twice_differentiated_match_pytorch(kernel, stride, dilation, padding, groups, size, seed):
    """Any kernel, stride, dilation, padding and groups: conv2d, then max and average pooling
    with the same geometry (where PyTorch allows it), differentiated twice."""
    reach = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
    pool_padding = tuple(min(p, k // 2) for p, k in zip(padding, kernel))
    assume(all(s + 2 * p >= r for s, p, r in zip(size, pool_padding, reach)))  # the windows fit
    rng = np.random.default_rng(seed)
    data, weight = rng.standard_normal((2, 2) + size), rng.standard_normal((4, 2 // groups) + kernel)
    results = []
    for m in (torch, tt):
        F = m.nn.functional
        x, w = m.tensor(data, requires_grad=True), m.tensor(weight, requires_grad=True)
        y = F.conv2d(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
        z = (F.max_pool2d(x * x, kernel, stride, pool_padding, dilation).sum()
             + (F.avg_pool2d(x.tanh(), kernel, stride, pool_padding, count_include_pad=bool(seed % 2)) ** 2).sum())
        grad_x, grad_w = m.autograd.grad((y.tanh() * y).sum() + z, (x, w), create_graph=True)
        ((grad_x ** 2).sum() + (grad_w ** 3).sum()).backward()
        results.append([np.asarray(_value(m, t)) for t in (y, grad_x, grad_w, x.grad, w.grad)])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)
