"""Layers: Linear, activations, Dropout, Flatten, Identity, init and gradient clipping."""

import math

import numpy as np
import pytest

import tinytorch as tt
import tinytorch.nn as nn
import tinytorch.nn.functional as F
import tinytorch.nn.init as init
from tinytorch.gradcheck import gradcheck
from tinytorch.nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters


def t64(array, requires_grad=False):
    return tt.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def rng():
    return np.random.default_rng(0)


# ---------------------------------------------------------------------- Linear


@pytest.mark.parametrize("shape", [(4,), (3, 4), (2, 3, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradcheck(shape, bias):
    layer = nn.Linear(4, 3, bias=bias).double()
    x = t64(rng().normal(size=shape), True)
    params = list(layer.parameters())
    gradcheck(lambda inp, *ps: layer(inp), [x] + params)
    assert layer(x).shape == shape[:-1] + (3,)


def test_linear_default_init_bounds_and_seeding():
    tt.manual_seed(1)
    a = nn.Linear(100, 50)
    tt.manual_seed(1)
    b = nn.Linear(100, 50)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    bound = 1 / math.sqrt(100)
    assert a.weight.dtype == np.float32 and a.weight.shape == (50, 100) and a.bias.shape == (50,)
    assert np.abs(a.weight.data).max() <= bound and np.abs(a.bias.data).max() <= bound
    # uniform on [-b, b]: std b / sqrt(3); 5000 samples put it within a few percent
    assert a.weight.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert nn.Linear(100, 50).weight.data[0, 0] != a.weight.data[0, 0]  # the generator advances


def test_linear_errors():
    layer = nn.Linear(4, 3)
    with pytest.raises(ValueError, match=r"Linear: expected input \(\*, 4\), got shape \(2, 5\)"):
        layer(tt.zeros(2, 5))
    with pytest.raises(ValueError, match=r"Linear: expected input \(\*, 4\), got shape \(\)"):
        layer(tt.tensor(1.0))
    with pytest.raises(TypeError, match="Linear: expected a Tensor input, got ndarray"):
        layer(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"linear: input shape \(2, 5\) and weight shape \(3, 4\)"):
        F.linear(tt.zeros(2, 5), layer.weight)
    with pytest.raises(ValueError, match=r"linear: bias shape \(4,\)"):
        F.linear(tt.zeros(2, 4), layer.weight, tt.zeros(4))


def test_linear_without_bias_and_repr():
    layer = nn.Linear(3, 2, bias=False)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=False)"


def test_linear_matches_torch():
    torch = pytest.importorskip("torch")
    ours = nn.Linear(5, 3)
    theirs = torch.nn.Linear(5, 3)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = rng().normal(size=(2, 4, 5)).astype(np.float32)
    xt, xo = tt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    a, b = ours(xt), theirs(xo)
    np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rng().normal(size=(2, 4, 3)).astype(np.float32)
    a.backward(g)
    b.backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad.data, xo.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours.bias.grad.data, theirs.bias.grad.numpy(), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------- activations

ACTIVATIONS = [
    (nn.ReLU(), "ReLU"),
    (nn.LeakyReLU(0.2), "LeakyReLU"),
    (nn.Sigmoid(), "Sigmoid"),
    (nn.Tanh(), "Tanh"),
    (nn.GELU(), "GELU"),
    (nn.GELU(approximate="tanh"), "GELU"),
    (nn.Softmax(dim=1), "Softmax"),
    (nn.LogSoftmax(dim=-1), "LogSoftmax"),
]


@pytest.mark.parametrize("module,name", ACTIVATIONS)
def test_activation_gradcheck(module, name):
    r = rng()
    x = r.normal(size=(3, 5))
    x[np.abs(x) < 1e-3] = 0.1  # keep finite differences away from ReLU's kink
    gradcheck(module, [t64(x, True)])


@pytest.mark.parametrize("module,name", ACTIVATIONS)
def test_activation_matches_torch(module, name):
    torch = pytest.importorskip("torch")
    theirs = {
        "ReLU": torch.nn.ReLU(), "Sigmoid": torch.nn.Sigmoid(), "Tanh": torch.nn.Tanh(),
        "LeakyReLU": torch.nn.LeakyReLU(getattr(module, "negative_slope", 0.01)),
        "GELU": torch.nn.GELU(approximate=getattr(module, "approximate", "none")),
        "Softmax": torch.nn.Softmax(dim=getattr(module, "dim", None)),
        "LogSoftmax": torch.nn.LogSoftmax(dim=getattr(module, "dim", None)),
    }[name]
    x = rng().normal(size=(4, 6)).astype(np.float32) * 3
    xt, xo = tt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    a, b = module(xt), theirs(xo)
    assert a.dtype == np.float32
    np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rng().normal(size=x.shape).astype(np.float32)
    a.backward(g)
    b.backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad.data, xo.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_functional_activations_match_modules():
    x = tt.randn(3, 4)
    np.testing.assert_array_equal(F.relu(x).data, nn.ReLU()(x).data)
    np.testing.assert_array_equal(F.leaky_relu(x, 0.1).data, nn.LeakyReLU(0.1)(x).data)
    np.testing.assert_array_equal(F.gelu(x, approximate="tanh").data, nn.GELU("tanh")(x).data)
    np.testing.assert_array_equal(F.softmax(x, dim=0).data, nn.Softmax(0)(x).data)
    np.testing.assert_allclose(F.log_softmax(x, dim=1).exp().data.sum(1), np.ones(3), rtol=1e-6)
    np.testing.assert_array_equal(F.sigmoid(x).data, x.sigmoid().data)
    np.testing.assert_array_equal(F.tanh(x).data, x.tanh().data)


def test_activation_errors():
    with pytest.raises(ValueError, match="Softmax: pass dim explicitly"):
        nn.Softmax()(tt.zeros(2, 3))
    with pytest.raises(ValueError, match="softmax: pass dim explicitly"):
        F.softmax(tt.zeros(2, 3))
    with pytest.raises(IndexError, match="softmax: dim 2 is out of range"):
        nn.Softmax(dim=2)(tt.zeros(2, 3))
    with pytest.raises(ValueError, match="GELU: approximate must be"):
        nn.GELU(approximate="fast")
    with pytest.raises(TypeError, match="relu: expected a Tensor input, got list"):
        nn.ReLU()([1.0, -1.0])


# ---------------------------------------------------------------------- Dropout


def test_dropout_train_statistics_and_scaling():
    tt.manual_seed(0)
    x = tt.ones(200, 500)
    y = nn.Dropout(0.3)(x).data
    kept = y != 0
    assert kept.mean() == pytest.approx(0.7, abs=0.01)
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)  # inverted dropout keeps the mean
    assert y.dtype == np.float32


def test_dropout_eval_is_identity_and_p_zero():
    layer = nn.Dropout(0.5).eval()
    x = tt.randn(4, 4)
    assert layer(x) is x
    assert F.dropout(x, 0.0) is x
    assert F.dropout(x, 0.5, training=False) is x


def test_dropout_is_seedable_and_gradient_uses_same_mask():
    tt.manual_seed(3)
    a = nn.Dropout(0.5)(tt.ones(10, 10)).data
    tt.manual_seed(3)
    x = tt.ones(10, 10, requires_grad=True)
    b = nn.Dropout(0.5)(x)
    np.testing.assert_array_equal(a, b.data)
    b.sum().backward()
    np.testing.assert_array_equal(x.grad.data, b.data)  # d(x * mask)/dx = mask, and x = 1


def test_dropout_gradcheck_with_fixed_generator():
    x = t64(rng().normal(size=(4, 5)), True)
    gradcheck(lambda a: F.dropout(a, 0.4, generator=tt.Generator(7)), [x])  # same mask every call


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, "0.5"])
def test_dropout_rejects_bad_p(p):
    with pytest.raises(ValueError, match=r"Dropout: dropout probability must be in \[0, 1\)"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match="dropout: dropout probability"):
        F.dropout(tt.ones(2), p)


# ---------------------------------------------------------------------- Flatten, Identity


def test_flatten_shapes_and_gradient():
    x = tt.randn(2, 3, 4, 5, requires_grad=True)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, -1)(x).shape == (120,)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    nn.Flatten()(x).sum().backward()
    assert x.grad.shape == (2, 3, 4, 5)
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"


def test_flatten_errors():
    with pytest.raises(IndexError, match=r"Flatten: dim 1 is out of range for input of shape \(3,\)"):
        nn.Flatten()(tt.zeros(3))
    with pytest.raises(ValueError, match="start_dim 2 comes after end_dim 1"):
        nn.Flatten(2, 1)(tt.zeros(2, 3, 4))


def test_identity():
    x = tt.randn(3)
    assert nn.Identity(54, unused="arg")(x) is x


def test_full_model_trains():
    """A small MLP fits XOR-like data: the pieces work together end to end."""
    tt.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    x = tt.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = tt.tensor([0, 1, 1, 0])
    loss_fn = nn.CrossEntropyLoss()
    first = None
    for _ in range(300):
        loss = loss_fn(model(x), y)
        first = first if first is not None else loss.item()
        model.zero_grad()
        loss.backward()
        with tt.no_grad():
            for p in model.parameters():
                p -= 0.5 * p.grad
    assert loss.item() < 0.05 < first
    assert (model(x).argmax(1).data == y.data).all()


# ---------------------------------------------------------------------- init


def test_fan_and_gain_match_torch():
    torch = pytest.importorskip("torch")
    for shape in [(3, 5), (8, 3, 3, 3), (4, 2, 5)]:
        assert init._calculate_fan_in_and_fan_out(tt.zeros(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))
    for name, param in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                        ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)]:
        assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


def test_init_distributions():
    tt.manual_seed(0)
    w = tt.zeros(400, 300)
    fan_in, fan_out = 300, 400
    init.kaiming_uniform_(w, nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / fan_in)
    assert np.abs(w.data).max() <= bound and w.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert w.data.std() == pytest.approx(math.sqrt(2 / fan_out), rel=0.02)
    init.xavier_uniform_(w, gain=2.0)
    bound = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(w.data).max() <= bound and w.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    init.xavier_normal_(w)
    assert w.data.std() == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.02)
    init.normal_(w, mean=1.0, std=0.5)
    assert w.data.mean() == pytest.approx(1.0, abs=0.01) and w.data.std() == pytest.approx(0.5, rel=0.02)
    init.uniform_(w, -2, 3)
    assert w.data.min() >= -2 and w.data.max() <= 3 and w.data.mean() == pytest.approx(0.5, abs=0.02)
    assert w.dtype == np.float32


def test_init_constant_fills_in_place_and_returns_tensor():
    p = nn.Parameter(tt.randn(2, 3))
    data = p.data
    assert init.zeros_(p) is p and np.all(p.data == 0) and p.data is data
    init.ones_(p)
    assert np.all(p.data == 1)
    init.constant_(p, 0.25)
    assert np.all(p.data == 0.25)
    # works on a parameter that requires grad, without recording anything
    assert p.is_leaf and p.grad is None


def test_init_is_seedable():
    tt.manual_seed(5)
    a = init.normal_(tt.zeros(5)).data.copy()
    tt.manual_seed(5)
    np.testing.assert_array_equal(init.normal_(tt.zeros(5)).data, a)
    gen = tt.Generator(5)
    np.testing.assert_array_equal(init.normal_(tt.zeros(5), generator=gen).data, a)


def test_init_errors():
    with pytest.raises(ValueError, match=r"fewer than 2 dimensions, got shape \(5,\)"):
        init.xavier_uniform_(tt.zeros(5))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(tt.zeros(2, 2), mode="fan")
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


# ---------------------------------------------------------------------- gradient clipping


def _params_with_grads(grads, dtype=np.float32):
    params = []
    for g in grads:
        p = nn.Parameter(tt.zeros(*g.shape, dtype=dtype))
        p.grad = tt.tensor(g.astype(dtype))
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    torch = pytest.importorskip("torch")
    r = rng()
    grads = [r.normal(size=(3, 4)), r.normal(size=(5,))]
    ours = _params_with_grads(grads)
    theirs = [torch.zeros(*g.shape, requires_grad=True) for g in grads]
    for p, g in zip(theirs, grads):
        p.grad = torch.tensor(g.astype(np.float32))
    total = clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total, tt.Tensor) and total.shape == ()
    assert total.item() == pytest.approx(expected.item(), rel=1e-5)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_scales_down_only():
    [p] = _params_with_grads([np.array([3.0, 4.0])])
    assert clip_grad_norm_(p, 1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.data, [0.6, 0.8], rtol=1e-5)
    clip_grad_norm_([p], 10.0)
    np.testing.assert_allclose(p.grad.data, [0.6, 0.8], rtol=1e-5)
    no_grad = nn.Parameter(tt.zeros(2))
    assert clip_grad_norm_([no_grad], 1.0).item() == 0.0


def test_clip_grad_norm_nonfinite():
    [p] = _params_with_grads([np.array([np.inf, 1.0])])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


def test_clip_grad_value_and_vector_round_trip():
    [p, q] = _params_with_grads([np.array([-3.0, 0.5]), np.array([[2.0]])])
    clip_grad_value_([p, q], 1.0)
    np.testing.assert_array_equal(p.grad.data, [-1.0, 0.5])
    np.testing.assert_array_equal(q.grad.data, [[1.0]])
    model = nn.Linear(3, 2)
    vec = parameters_to_vector(model.parameters())
    assert vec.shape == (8,)
    vector_to_parameters(vec * 0 + 1, model.parameters())
    assert np.all(model.weight.data == 1) and np.all(model.bias.data == 1)
    with pytest.raises(ValueError, match="expected a 1-D vector of 8 elements, got shape"):
        vector_to_parameters(tt.zeros(7), model.parameters())


def test_utils_importable_as_module():
    import importlib

    assert importlib.import_module("tinytorch.nn.utils").clip_grad_norm_ is clip_grad_norm_
