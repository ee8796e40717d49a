"""The nn pieces PyTorch programs use, against torch itself: the same weights (copied through
state_dict) and inputs give the same outputs and gradients, and the same errors."""

import copy
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinytorch as tt
import tinytorch.nn as nn
import tinytorch.nn.functional as F

torch = pytest.importorskip("torch")


def copy_weights(ours, theirs):
    """Load our state_dict into the torch module (strict: the parameter names must agree)."""
    theirs.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in ours.state_dict().items()})


def leaves(arrays):
    return ([tt.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays],
            [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays])


def flat(out):
    """The tensors of a (nested) module output, in order."""
    if isinstance(out, (tuple, list)):
        return [t for item in out for t in flat(item)]
    return [] if out is None else [out]


def check_module(ours, theirs, arrays, rng, call=lambda m, *xs: m(*xs), atol=1e-9, train=False):
    """Forward and backward of both modules (float64) on `arrays`: outputs, input gradients and
    parameter gradients agree."""
    ours.double().train(train)
    theirs.double().train(train)
    copy_weights(ours, theirs)
    xs_ours, xs_theirs = leaves(arrays)
    outs_ours, outs_theirs = flat(call(ours, *xs_ours)), flat(call(theirs, *xs_theirs))
    assert len(outs_ours) == len(outs_theirs)
    loss_ours = loss_theirs = 0
    for a, b in zip(outs_ours, outs_theirs):
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(a.data, b.detach().numpy(), atol=atol, rtol=1e-7)
        weights = rng.standard_normal(a.shape)
        loss_ours = loss_ours + (a * tt.tensor(weights)).sum()
        loss_theirs = loss_theirs + (b * torch.tensor(weights)).sum()
    loss_ours.backward()
    loss_theirs.backward()
    for a, b in zip(xs_ours, xs_theirs):
        if b.grad is not None:
            np.testing.assert_allclose(a.grad.data, b.grad.numpy(), atol=atol, rtol=1e-7)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.data, theirs_params[name].grad.numpy(), atol=atol, rtol=1e-7,
                                   err_msg=name)


def test_parameter_names_match_torch():
    pairs = [
        (nn.Conv1d(3, 4, 3), torch.nn.Conv1d(3, 4, 3)),
        (nn.GroupNorm(2, 4), torch.nn.GroupNorm(2, 4)),
        (nn.LSTM(3, 5, num_layers=2, bidirectional=True), torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True)),
        (nn.GRU(3, 5, bias=False), torch.nn.GRU(3, 5, bias=False)),
        (nn.RNN(3, 5, num_layers=3), torch.nn.RNN(3, 5, num_layers=3)),
        (nn.TransformerEncoderLayer(8, 2, 16), torch.nn.TransformerEncoderLayer(8, 2, 16)),
        (nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2, norm=nn.LayerNorm(8)),
         torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, 16), 2, norm=torch.nn.LayerNorm(8),
                                     enable_nested_tensor=False)),
        (nn.MultiheadAttention(8, 2), torch.nn.MultiheadAttention(8, 2)),
    ]
    for ours, theirs in pairs:
        assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
            [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]


# ---------------------------------------------------------------------- layers


@pytest.mark.parametrize("kwargs", [
    dict(), dict(stride=2, padding=1), dict(padding="same", dilation=2), dict(groups=2, bias=False),
])
def test_conv1d(kwargs, rng):
    x = rng.standard_normal((2, 4, 9))
    check_module(nn.Conv1d(4, 6, 3, **kwargs), torch.nn.Conv1d(4, 6, 3, **kwargs), [x], rng)


def test_conv1d_unbatched_and_errors(rng):
    check_module(nn.Conv1d(2, 3, 2), torch.nn.Conv1d(2, 3, 2), [rng.standard_normal((2, 5))], rng)
    with pytest.raises(ValueError, match="expected input with 4 channels"):
        nn.Conv1d(4, 2, 3)(tt.randn(1, 3, 8))


@pytest.mark.parametrize("shape, groups, affine", [((3, 6, 5), 3, True), ((2, 4, 3, 3), 2, False), ((2, 4), 4, True)])
def test_group_norm(shape, groups, affine, rng):
    ours, theirs = nn.GroupNorm(groups, shape[1], affine=affine), torch.nn.GroupNorm(groups, shape[1], affine=affine)
    if affine:  # non-trivial affine parameters
        ours.weight.data[:] = rng.standard_normal(shape[1])
        ours.bias.data[:] = rng.standard_normal(shape[1])
    check_module(ours, theirs, [rng.standard_normal(shape)], rng)
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(4, 6)


def test_silu_unflatten(rng):
    check_module(nn.SiLU(), torch.nn.SiLU(), [rng.standard_normal((3, 4)) * 4], rng)
    check_module(nn.Unflatten(1, (2, -1)), torch.nn.Unflatten(1, (2, -1)), [rng.standard_normal((3, 6))], rng)
    with pytest.raises(RuntimeError, match="unflattened_size"):
        nn.Unflatten(1, (4, 2))(tt.randn(3, 6))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("layers, bidirectional, batch_first", [(1, False, False), (2, True, True), (2, False, True)])
def test_recurrent_layers(kind, layers, bidirectional, batch_first, rng):
    kwargs = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    ours, theirs = getattr(nn, kind)(3, 4, **kwargs), getattr(torch.nn, kind)(3, 4, **kwargs)
    x = rng.standard_normal((2, 5, 3))
    check_module(ours, theirs, [x], rng)
    directions = 2 if bidirectional else 1
    batch = x.shape[0] if batch_first else x.shape[1]
    h0 = rng.standard_normal((layers * directions, batch, 4))
    if kind == "LSTM":
        c0 = rng.standard_normal(h0.shape)
        check_module(ours, theirs, [x, h0, c0], rng, call=lambda m, x, h, c: m(x, (h, c)))
    else:
        check_module(ours, theirs, [x, h0], rng)


def test_recurrent_unbatched_relu_and_errors(rng):
    check_module(nn.RNN(3, 4, nonlinearity="relu"), torch.nn.RNN(3, 4, nonlinearity="relu"),
                 [rng.standard_normal((6, 3))], rng)
    check_module(nn.LSTM(3, 4), torch.nn.LSTM(3, 4), [rng.standard_normal((6, 3))], rng)
    with pytest.raises(RuntimeError, match="input_size"):
        nn.GRU(3, 4)(tt.randn(5, 2, 7))
    with pytest.raises(RuntimeError, match="Expected hidden size"):
        nn.GRU(3, 4)(tt.randn(5, 2, 3), tt.zeros(2, 2, 4))
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="gelu")


@pytest.mark.parametrize("norm_first, activation, batch_first", [(False, "relu", False), (True, "gelu", True)])
def test_transformer_encoder_layer(norm_first, activation, batch_first, rng):
    kwargs = dict(dim_feedforward=16, dropout=0.0, activation=activation, batch_first=batch_first,
                  norm_first=norm_first)
    ours, theirs = nn.TransformerEncoderLayer(8, 2, **kwargs), torch.nn.TransformerEncoderLayer(8, 2, **kwargs)
    x = rng.standard_normal((3, 5, 8))
    atol = 1e-6 if activation == "gelu" else 1e-9  # tinytorch's erf is a 1.5e-7-accurate approximation
    check_module(ours, theirs, [x], rng, atol=atol)
    mask = np.triu(np.full((3 if not batch_first else 5,) * 2, -np.inf), 1)
    check_module(ours, theirs, [x], rng, call=lambda m, x: m(x, src_mask=type(x)(mask) if isinstance(x, tt.Tensor)
                                                            else torch.tensor(mask)), atol=atol)


def test_transformer_encoder_stack(rng):
    layer_kwargs = dict(dim_feedforward=16, dropout=0.0, batch_first=True)
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, **layer_kwargs), 2, norm=nn.LayerNorm(8))
    theirs = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, **layer_kwargs), 2,
                                         norm=torch.nn.LayerNorm(8), enable_nested_tensor=False)
    assert ours.layers[0].linear1.weight is not ours.layers[1].linear1.weight
    check_module(ours, theirs, [rng.standard_normal((2, 4, 8))], rng)


def test_multihead_attention_defaults_to_sequence_first(rng):
    ours, theirs = nn.MultiheadAttention(8, 2), torch.nn.MultiheadAttention(8, 2)
    assert ours.batch_first is False and nn.MultiHeadAttention(8, 2).batch_first is True
    x = rng.standard_normal((5, 3, 8))  # (L, B, E)
    check_module(ours, theirs, [x], rng, call=lambda m, x: m(x, x, x, need_weights=False))
    weights = [m(t, t, t)[1] for m, t in ((ours, tt.tensor(x)), (theirs, torch.tensor(x)))]
    np.testing.assert_allclose(weights[0].data, weights[1].detach().numpy(), atol=1e-12)  # (B, L, S)
    q, kv = rng.standard_normal((4, 3, 8)), rng.standard_normal((6, 3, 8))
    padding = np.zeros((3, 6), dtype=bool)
    padding[:, -2:] = True
    check_module(ours, theirs, [q, kv], rng,
                 call=lambda m, q, kv: m(q, kv, kv, key_padding_mask=type(q)(padding) if isinstance(q, tt.Tensor)
                                         else torch.tensor(padding))[0])
    check_module(ours, theirs, [rng.standard_normal((5, 8))], rng, call=lambda m, x: m(x, x, x)[0])  # unbatched
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        ours(tt.tensor(x), tt.tensor(x), tt.tensor(x), is_causal=True)


# ---------------------------------------------------------------------- functional


@pytest.mark.parametrize("name, kwargs", [
    ("l1_loss", {}), ("l1_loss", dict(reduction="sum")), ("smooth_l1_loss", {}),
    ("smooth_l1_loss", dict(beta=0.5, reduction="none")), ("smooth_l1_loss", dict(beta=0.0)),
    ("huber_loss", dict(delta=0.7)),
])
def test_regression_losses(name, kwargs, rng):
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    b[0, 0] = a[0, 0]  # an exact tie: the gradient there is 0 in both
    (x, y), (tx, ty) = leaves([a, b])
    out, ref = getattr(F, name)(x, y, **kwargs), getattr(torch.nn.functional, name)(tx, ty, **kwargs)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(y.grad.data, ty.grad.numpy(), rtol=1e-12)


def test_loss_modules_match_functional(rng):
    a, b = tt.tensor(rng.standard_normal(5)), tt.tensor(rng.standard_normal(5))
    assert nn.L1Loss()(a, b).item() == F.l1_loss(a, b).item()
    assert nn.SmoothL1Loss(beta=0.3)(a, b).item() == F.smooth_l1_loss(a, b, beta=0.3).item()
    assert nn.L1Loss()(a.float(), b.float()).dtype == np.float32
    with pytest.raises(ValueError, match="target shape"):
        F.l1_loss(a, tt.randn(4))


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=0, max_size=3), x=st.floats(-3, 3))
def test_silu_hypothesis(shape, x):
    data = np.linspace(-4, 4, int(np.prod(shape)) or 1).reshape(shape) + x
    ours, theirs = tt.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    F.silu(ours).sum().backward()
    torch.nn.functional.silu(theirs).sum().backward()
    np.testing.assert_allclose(F.silu(ours).data, torch.nn.functional.silu(theirs).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("pad, mode, shape", [
    ((1, 2), "constant", (2, 3, 4)), ((1, 1, 2, 0), "constant", (2, 3, 4)), ((-1, 2), "constant", (3, 4)),
    ((2, 1), "reflect", (2, 3, 4)), ((1, 2, 2, 1), "reflect", (1, 2, 4, 5)), ((2, 3), "replicate", (2, 3, 4)),
    ((1, 1, 1, 1), "replicate", (2, 3, 4)), ((1, 2), "circular", (2, 3, 4)), ((1, 1, 1, 1, 1, 1), "replicate", (1, 1, 3, 3, 3)),
])
def test_pad(pad, mode, shape, rng):
    data = rng.standard_normal(shape)
    (x,), (tx,) = leaves([data])
    out, ref = F.pad(x, pad, mode=mode), torch.nn.functional.pad(tx, pad, mode=mode)
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    weights = rng.standard_normal(out.shape)
    (out * tt.tensor(weights)).sum().backward()
    (ref * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-12)


def test_pad_value_dtype_and_errors():
    out = F.pad(tt.ones(2, 2, dtype=tt.int64), (1, 0), value=7)
    ref = torch.nn.functional.pad(torch.ones(2, 2, dtype=torch.int64), (1, 0), value=7)
    np.testing.assert_array_equal(out.data, ref.numpy())
    assert out.dtype == np.int64
    with pytest.raises(ValueError, match="divisible by 2"):
        F.pad(tt.ones(2, 2), (1,))
    with pytest.raises(ValueError, match="Padding size should be less than"):
        F.pad(tt.ones(1, 2, 3), (3, 3), mode="reflect")
    with pytest.raises(ValueError, match="mode"):
        F.pad(tt.ones(1, 2, 3), (1, 1), mode="mirror")


def test_one_hot():
    index = np.array([[0, 2], [1, 4]])
    np.testing.assert_array_equal(F.one_hot(tt.tensor(index)).data,
                                  torch.nn.functional.one_hot(torch.tensor(index)).numpy())
    out = F.one_hot(tt.tensor(index), num_classes=6)
    assert out.shape == (2, 2, 6) and out.dtype == np.int64
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(tt.tensor(index), num_classes=3)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(tt.tensor([-1, 0]))
    with pytest.raises(RuntimeError, match="LongTensor"):
        F.one_hot(tt.tensor([0.0, 1.0]))


@pytest.mark.parametrize("p, dim", [(2, 1), (1, -1), (3, 0), (float("inf"), 1)])
def test_normalize(p, dim, rng):
    data = rng.standard_normal((3, 4))
    data[1] = 0  # a zero row: the eps clamp, gradient g / eps
    (x,), (tx,) = leaves([data])
    out, ref = F.normalize(x, p=p, dim=dim), torch.nn.functional.normalize(tx, p=p, dim=dim)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12)
    weights = rng.standard_normal(data.shape)
    (out * tt.tensor(weights)).sum().backward()
    (ref * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------- Module API


def test_forward_hooks_and_removable_handles():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    seen = []
    pre = model[0].register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    post = model[2].register_forward_hook(lambda m, args, out: seen.append(out.shape) or out * 0)
    x = tt.randn(5, 3)
    out = model(x)
    assert seen == [(5, 2)] and np.all(out.data == 0)
    post.remove()
    doubled = model(x).data
    pre.remove()
    expected = model[2](model[1](model[0](x * 2))).data
    np.testing.assert_allclose(doubled, expected)
    with model.register_forward_hook(lambda m, args, kwargs, out: out + 1, with_kwargs=True):
        np.testing.assert_allclose(model(x).data, model.forward(x).data + 1)
    np.testing.assert_allclose(model(x).data, model.forward(x).data)


def test_hook_order_matches_torch():
    def record(lib, log):
        layer = lib.nn.Linear(2, 2)
        layer.register_forward_hook(lambda *a: log.append("second"))
        layer.register_forward_hook(lambda *a: log.append("first"), prepend=True)
        layer.register_forward_pre_hook(lambda *a: log.append("pre"))
        layer(lib.ones(1, 2))
        return log

    assert record(tt, []) == record(torch, [])


def test_get_submodule_cpu_and_to():
    ours = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(3, 1)))
    assert type(ours.get_submodule("1.1")).__name__ == type(theirs.get_submodule("1.1")).__name__ == "Linear"
    assert ours.get_submodule("") is ours
    for target in ("1.5", "0.weight"):
        messages = []
        for model in (ours, theirs):
            with pytest.raises(AttributeError) as error:
                model.get_submodule(target)
            messages.append(str(error.value).split()[-1])  # the offending name, as PyTorch words it
        assert messages[0] == messages[1]
    assert ours.cpu() is ours and ours.to("cpu:0") is ours
    assert ours.to("cpu", tt.float64).get_submodule("0").weight.dtype == np.float64
    assert ours.to(tt.zeros(1, dtype=tt.float32))[0].weight.dtype == np.float32
    with pytest.raises(RuntimeError, match="CPU only"):
        ours.to("cuda")


def test_trunc_normal_bounds_and_moments():
    w = nn.Parameter(np.empty((200, 200), dtype=np.float32))
    nn.init.trunc_normal_(w, mean=1.0, std=2.0, a=-1.0, b=2.0)
    assert w.data.min() >= -1.0 and w.data.max() <= 2.0
    # mean of N(1, 4) truncated to [-1, 2]: compare with torch's fill of the same law
    ref = torch.nn.init.trunc_normal_(torch.empty(200, 200), mean=1.0, std=2.0, a=-1.0, b=2.0)
    assert abs(w.data.mean() - ref.mean().item()) < 0.02 and abs(w.data.std() - ref.std().item()) < 0.02
    with pytest.raises(ValueError, match="a < b"):
        nn.init.trunc_normal_(w, a=1.0, b=0.0)


def test_modules_deepcopy_independently():
    layer = nn.LSTM(2, 3)
    twin = copy.deepcopy(layer)
    twin.weight_ih_l0.data[:] = 0
    assert np.abs(layer.weight_ih_l0.data).sum() > 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exact_gelu_across_evaluation_blocks(dtype, rng):
    """More elements than one evaluation block of the normal CDF, extremes included: float64
    equals PyTorch's; float32 is within float32 noise of the float64 truth and never further
    from it than PyTorch's own float32 GELU (which flushes the left tail to 0)."""
    data = (rng.standard_normal(70_001) * 4).astype(dtype)
    data[:4] = [0.0, -0.0, np.inf, 40.0]
    (x,), _ = leaves([data])
    truth_in = torch.tensor(data.astype(np.float64), requires_grad=True)
    truth = torch.nn.functional.gelu(truth_in)
    truth.sum().backward()
    out = F.gelu(x)
    out.sum().backward()
    if dtype == np.float64:
        np.testing.assert_allclose(out.data, truth.detach().numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(x.grad.data, truth_in.grad.numpy(), rtol=1e-9, atol=1e-12)
        return
    expected = truth.detach().numpy()
    np.testing.assert_allclose(out.data, expected, rtol=2e-4, atol=1e-7)
    np.testing.assert_allclose(x.grad.data, truth_in.grad.numpy(), rtol=2e-4, atol=1e-6)
    theirs = torch.nn.functional.gelu(torch.tensor(data)).numpy()
    finite = np.isfinite(data)
    assert np.all(np.abs(out.data - expected)[finite] <= np.abs(theirs - expected)[finite] + 1e-6)


@pytest.mark.parametrize("kernel, stride, padding, size", [
    (2, 2, 0, 8), (2, 2, 0, 9), (3, 3, 0, 9), (3, 2, 1, 9), (2, 1, 0, 7), (3, 3, 1, 10)])
def test_max_pool_and_relu_send_exact_zeros_under_inf_and_nan_gradients(kernel, stride, padding, size, rng):
    """A diverging step's inf or NaN gradient reaches the winners only, as in PyTorch: 0 * inf
    must not turn the other cells into NaN (a GradScaler's overflow check still sees it)."""
    x = rng.standard_normal((2, 3, size, size)).astype(np.float32)
    x[0, 0, :2, :2] = 0.0  # ties
    ours, theirs = tt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = F.max_pool2d(F.relu(ours), kernel, stride, padding), torch.nn.functional.max_pool2d(
        torch.relu(theirs), kernel, stride, padding)
    g = rng.standard_normal(tuple(expected.shape)).astype(np.float32)
    g.flat[::5], g.flat[1::7], g.flat[2::11] = np.inf, -np.inf, np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and silently, as PyTorch
        out.backward(tt.tensor(g))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-6, atol=1e-6, equal_nan=True)
    assert np.array_equal(np.isnan(ours.grad.data), np.isnan(theirs.grad.numpy()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exact_gelu_without_grad_computes_the_same_values(dtype, rng):
    """Without a backward to come GELU skips its derivative; the values must not change."""
    data = (rng.standard_normal(70_001) * 4).astype(dtype)
    with_grad = F.gelu(tt.tensor(data, requires_grad=True)).data
    with tt.no_grad():
        without = F.gelu(tt.tensor(data, requires_grad=True)).data
    np.testing.assert_array_equal(without, with_grad)
    np.testing.assert_array_equal(F.gelu(tt.tensor(data)).data, with_grad)


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(0, 3), min_size=0, max_size=3),
       name=st.sampled_from(["l1_loss", "smooth_l1_loss", "huber_loss"]),
       reduction=st.sampled_from(["mean", "sum", "none"]), seed=st.integers(0, 1000))
def test_regression_losses_any_shape(shape, name, reduction, seed):
    """0-d and empty inputs included (the mean of nothing is NaN in both)."""
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(shape), rng.standard_normal(shape)
    (x, y), (tx, ty) = leaves([np.asarray(a), np.asarray(b)])
    out = getattr(F, name)(x, y, reduction=reduction)
    ref = getattr(torch.nn.functional, name)(tx, ty, reduction=reduction)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, equal_nan=True)
    if out.data.size and np.all(np.isfinite(out.data)):
        out.sum().backward()
        ref.sum().backward()
        np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(0, 3), min_size=1, max_size=3), seed=st.integers(0, 1000),
       mode=st.sampled_from(["constant", "replicate", "circular"]))
def test_pad_any_shape(shape, seed, mode):
    rng = np.random.default_rng(seed)
    data = rng.standard_normal([2] + shape)  # a leading batch dim, as the non-constant modes need
    if mode != "constant" and 0 in shape:
        return  # PyTorch refuses to pad an empty dimension by copying; nothing to compare
    pad = (1, 2) if mode != "circular" else (1, 1)
    (x,), (tx,) = leaves([data])
    try:
        ref = torch.nn.functional.pad(tx, pad, mode=mode)
    except NotImplementedError:  # e.g. one padded dim of a 4-D input: refused by both
        with pytest.raises(NotImplementedError, match="Padding size 2 is not supported"):
            F.pad(x, pad, mode=mode)
        return
    out = F.pad(x, pad, mode=mode)
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    if out.data.size:
        out.sum().backward()
        ref.sum().backward()
        np.testing.assert_allclose(x.grad.data, tx.grad.numpy())
