"""Losses: values and gradients (finite differences and PyTorch), stability, and input errors."""

import numpy as np
import pytest

import tinytorch as tt
import tinytorch.nn as nn
import tinytorch.nn.functional as F
from tinytorch.gradcheck import gradcheck

REDUCTIONS = ["mean", "sum", "none"]


def t64(array, requires_grad=False):
    return tt.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def rng():
    return np.random.default_rng(0)


# ---------------------------------------------------------------------- finite differences


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_gradcheck(reduction):
    r = rng()
    x, y = t64(r.normal(size=(3, 4)), True), t64(r.normal(size=(3, 4)), True)
    gradcheck(lambda a, b: F.mse_loss(a, b, reduction=reduction), [x, y])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_cross_entropy_gradcheck(reduction, label_smoothing):
    r = rng()
    x = t64(r.normal(size=(5, 4)), True)
    y = tt.tensor([0, 3, -100, 2, 1])
    w = t64(r.random(4) + 0.5)
    gradcheck(lambda a: F.cross_entropy(a, y, reduction=reduction, label_smoothing=label_smoothing), [x])
    gradcheck(lambda a: F.cross_entropy(a, y, weight=w, reduction=reduction, label_smoothing=label_smoothing), [x])


def test_cross_entropy_gradcheck_spatial():
    r = rng()
    x = t64(r.normal(size=(2, 3, 2, 2)), True)  # (N, C, H, W)
    y = tt.tensor(r.integers(0, 3, size=(2, 2, 2)))
    gradcheck(lambda a: F.cross_entropy(a, y), [x])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_gradcheck(reduction):
    r = rng()
    x = t64(r.normal(size=(4, 3)), True)
    y = tt.tensor([2, 0, 1, -100])
    gradcheck(lambda a: F.nll_loss(a, y, reduction=reduction), [x])
    gradcheck(lambda a: F.nll_loss(a, y, weight=t64([0.2, 1.0, 3.0]), reduction=reduction), [x])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_gradcheck(reduction):
    r = rng()
    x, y = t64(r.normal(size=(3, 4)) * 3, True), t64(r.random((3, 4)), True)
    gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction), [x, y])
    w, pw = t64(r.random((1, 4))), t64(r.random(4) * 3)
    gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, w, reduction, pw), [x, y])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_gradcheck(reduction):
    r = rng()
    p, y = t64(r.uniform(0.05, 0.95, size=(3, 4)), True), t64(r.random((3, 4)), True)
    gradcheck(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction), [p, y])
    w = t64(r.random(4))
    gradcheck(lambda a, b: F.binary_cross_entropy(a, b, weight=w, reduction=reduction), [p, y])


# ---------------------------------------------------------------------- known values and stability


def test_cross_entropy_uniform_logits_is_log_c():
    loss = F.cross_entropy(tt.zeros(4, 10), tt.tensor([0, 1, 2, 9]))
    assert loss.item() == pytest.approx(np.log(10), rel=1e-6)
    assert loss.dtype == np.float32


def test_cross_entropy_is_stable_for_huge_logits():
    x = tt.tensor([[1000.0, -1000.0, 0.0], [-1e4, 1e4, 0.0]], requires_grad=True)
    loss = F.cross_entropy(x, tt.tensor([0, 0]))
    loss.backward()
    assert loss.item() == pytest.approx(1e4, rel=1e-6)  # row 0 costs 0, row 1 costs 2e4; mean 1e4
    assert np.isfinite(x.grad.data).all()
    np.testing.assert_allclose(x.grad.data, [[0, 0, 0], [-0.5, 0.5, 0]], atol=1e-6)


def test_cross_entropy_all_ignored_mean_is_nan_like_pytorch():
    with np.errstate(invalid="ignore", divide="ignore"):
        loss = F.cross_entropy(tt.zeros(2, 3), tt.tensor([-100, -100]))
    assert np.isnan(loss.item())


def test_cross_entropy_ignore_index_excluded_from_mean():
    x = tt.tensor([[2.0, 0.0], [0.0, 2.0]])
    both = F.cross_entropy(x, tt.tensor([0, 0]), reduction="none").data
    one = F.cross_entropy(x, tt.tensor([0, -100]))
    assert one.item() == pytest.approx(both[0])


def test_bce_with_logits_is_stable_for_huge_logits():
    x = tt.tensor([200.0, -200.0, 200.0], requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, tt.tensor([1.0, 0.0, 0.0]), reduction="none")
    np.testing.assert_allclose(loss.data, [0.0, 0.0, 200.0], atol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 0.0, 1.0], atol=1e-6)


def test_bce_clamps_log_at_minus_100():
    p = tt.tensor([0.0, 1.0], requires_grad=True)
    loss = F.binary_cross_entropy(p, tt.tensor([1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(loss.data, [100.0, 100.0])
    loss.sum().backward()
    assert np.isfinite(p.grad.data).all()


def test_loss_modules_match_functional():
    r = rng()
    x = tt.tensor(r.normal(size=(4, 3)).astype(np.float32))
    y = tt.tensor([0, 2, 1, 1])
    p = tt.tensor(r.random((4, 3)).astype(np.float32))
    assert nn.CrossEntropyLoss(label_smoothing=0.1)(x, y).item() == F.cross_entropy(x, y, label_smoothing=0.1).item()
    assert nn.NLLLoss(reduction="sum")(x.log_softmax(1), y).item() == F.nll_loss(x.log_softmax(1), y, reduction="sum").item()
    assert nn.MSELoss()(x, p).item() == F.mse_loss(x, p).item()
    assert nn.BCEWithLogitsLoss()(x, p).item() == F.binary_cross_entropy_with_logits(x, p).item()
    assert nn.BCELoss()(p, p).item() == F.binary_cross_entropy(p, p).item()
    assert nn.MSELoss(reduction="none")(x, p).shape == (4, 3)


def test_cross_entropy_equals_nll_of_log_softmax():
    r = rng()
    x = tt.tensor(r.normal(size=(6, 5)))
    y = tt.tensor(r.integers(0, 5, size=6))
    np.testing.assert_allclose(F.cross_entropy(x, y).item(), F.nll_loss(x.log_softmax(1), y).item(), rtol=1e-6)


def test_loss_weight_is_a_buffer():
    loss = nn.CrossEntropyLoss(weight=tt.tensor([1.0, 2.0]))
    assert list(loss.state_dict()) == ["weight"]


# ---------------------------------------------------------------------- errors


def test_cross_entropy_float_target_of_index_shape_is_error():
    with pytest.raises(ValueError, match="cross_entropy: a floating-point target .* integer dtype"):
        F.cross_entropy(tt.zeros(2, 3), tt.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="cross_entropy: ignore_index is not supported"):
        F.cross_entropy(tt.zeros(2, 3), tt.zeros(2, 3), ignore_index=1)


@pytest.mark.parametrize("shape", [(3, 4), (4,), (2, 3, 5)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_with_class_probabilities_matches_torch(shape, reduction, smoothing, weighted):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal(shape).astype(np.float32), rng.random(shape).astype(np.float32)
    n_classes = shape[0] if len(shape) == 1 else shape[1]
    w = np.arange(1.0, n_classes + 1, dtype=np.float32) if weighted else None
    X, T = torch.tensor(x, requires_grad=True), torch.tensor(t, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(
        X, T, weight=None if w is None else torch.tensor(w), reduction=reduction, label_smoothing=smoothing)
    expected.sum().backward()
    a, b = tt.tensor(x, requires_grad=True), tt.tensor(t, requires_grad=True)
    got = F.cross_entropy(a, b, weight=None if w is None else tt.tensor(w), reduction=reduction,
                          label_smoothing=smoothing)
    got.sum().backward()
    np.testing.assert_allclose(got.data, expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a.grad.data, X.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b.grad.data, T.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("loss, kwargs", [
    (F.cross_entropy, {}), (F.cross_entropy, {"label_smoothing": 0.3}), (F.nll_loss, {}),
])
def test_every_target_ignored_gives_nan_loss_and_zero_gradient(loss, kwargs):
    x = tt.randn(3, 4, requires_grad=True)
    out = loss(x, tt.full((3,), -100), **kwargs)
    out.backward()
    assert np.isnan(out.item())  # PyTorch's mean over no elements
    np.testing.assert_array_equal(x.grad.data, np.zeros((3, 4), np.float32))


def test_cross_entropy_out_of_range_target_is_index_error():
    with pytest.raises(IndexError, match="target value 3 is out of range for 3 classes"):
        F.cross_entropy(tt.zeros(2, 3), tt.tensor([0, 3]))
    with pytest.raises(IndexError, match="target value -1"):
        nn.NLLLoss()(tt.zeros(2, 3), tt.tensor([-1, 0]))


def test_cross_entropy_shape_mismatch_is_value_error():
    with pytest.raises(ValueError, match=r"cross_entropy: input shape \(2, 3\) needs target shape \(2,\), got \(3,\)"):
        F.cross_entropy(tt.zeros(2, 3), tt.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="cross_entropy"):
        F.cross_entropy(tt.zeros(2, 3, 4), tt.zeros(2, 3, dtype=np.int64))  # (N, T, C) needs flattening


def test_cross_entropy_bad_weight_and_smoothing():
    with pytest.raises(ValueError, match=r"weight shape \(2,\)"):
        F.cross_entropy(tt.zeros(2, 3), tt.tensor([0, 1]), weight=tt.ones(2))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(tt.zeros(2, 3), tt.tensor([0, 1]), label_smoothing=1.5)


def test_bad_reduction():
    with pytest.raises(ValueError, match="reduction must be"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="mse_loss: reduction"):
        F.mse_loss(tt.zeros(2), tt.zeros(2), reduction="avg")


def test_mse_shape_mismatch_is_not_broadcast():
    with pytest.raises(ValueError, match=r"mse_loss: target shape \(3, 1\) must match input shape \(3,\)"):
        F.mse_loss(tt.zeros(3), tt.zeros(3, 1))


def test_binary_losses_reject_bad_targets_and_inputs():
    with pytest.raises(TypeError, match="binary_cross_entropy_with_logits.*int64"):
        F.binary_cross_entropy_with_logits(tt.zeros(3), tt.tensor([0, 1, 1]))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(tt.tensor([0.5, 1.5]), tt.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"target shape \(2,\) must match input shape \(2, 1\)"):
        nn.BCEWithLogitsLoss()(tt.zeros(2, 1), tt.zeros(2))


def test_loss_rejects_non_tensor():
    with pytest.raises(TypeError, match="mse_loss: expected a Tensor input, got ndarray"):
        F.mse_loss(np.zeros(3), tt.zeros(3))


# ---------------------------------------------------------------------- against PyTorch


def _compare_with_torch(ours, theirs, float_inputs, int_inputs=(), reduction="mean", **kwargs):
    """Run both with the same float64 data; compare the value and every float input's gradient."""
    torch = pytest.importorskip("torch")
    r = rng()
    tt_in = [t64(a, True) for a in float_inputs] + [tt.tensor(a) for a in int_inputs]
    th_in = [torch.tensor(a, requires_grad=True) for a in float_inputs] + [torch.tensor(a) for a in int_inputs]
    tt_kw = {k: (t64(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    th_kw = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    a = ours(*tt_in, reduction=reduction, **tt_kw)
    b = theirs(*th_in, reduction=reduction, **th_kw)
    np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = r.normal(size=tuple(b.shape))
    a.backward(upstream)
    b.backward(torch.tensor(upstream))
    for x, y in zip(tt_in[: len(float_inputs)], th_in[: len(float_inputs)]):
        np.testing.assert_allclose(x.grad.data, y.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(6, 5), (5,), (3, 5, 4, 2)])
def test_cross_entropy_matches_torch(reduction, label_smoothing, weighted, shape):
    torch = pytest.importorskip("torch")
    r = rng()
    x = r.normal(size=shape)
    y = r.integers(0, 5, size=shape[:1] + shape[2:] if len(shape) > 1 else ())
    if y.ndim:
        y.flat[0] = -100  # ignored
    kwargs = dict(label_smoothing=label_smoothing)
    if weighted:
        kwargs["weight"] = r.random(5) + 0.1
    _compare_with_torch(F.cross_entropy, torch.nn.functional.cross_entropy, [x], [y], reduction, **kwargs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_matches_torch(reduction, weighted):
    torch = pytest.importorskip("torch")
    r = rng()
    kwargs = {"weight": r.random(4)} if weighted else {}
    y = np.array([3, 0, -100, 1, 2])
    _compare_with_torch(F.nll_loss, torch.nn.functional.nll_loss, [r.normal(size=(5, 4))], [y], reduction, **kwargs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_matches_torch(reduction):
    torch = pytest.importorskip("torch")
    r = rng()
    _compare_with_torch(F.mse_loss, torch.nn.functional.mse_loss, [r.normal(size=(4, 3)), r.normal(size=(4, 3))], (), reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weighted", [False, True])
def test_bce_with_logits_matches_torch(reduction, weighted, pos_weighted):
    torch = pytest.importorskip("torch")
    r = rng()
    kwargs = {}
    if weighted:
        kwargs["weight"] = r.random((1, 3))
    if pos_weighted:
        kwargs["pos_weight"] = r.random(3) * 3
    inputs = [r.normal(size=(4, 3)) * 10, r.random((4, 3))]
    _compare_with_torch(
        F.binary_cross_entropy_with_logits, torch.nn.functional.binary_cross_entropy_with_logits, inputs, (), reduction, **kwargs
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_matches_torch(reduction, weighted):
    torch = pytest.importorskip("torch")
    r = rng()
    kwargs = {"weight": r.random(3)} if weighted else {}
    inputs = [r.uniform(0.01, 0.99, size=(4, 3)), r.random((4, 3))]
    _compare_with_torch(F.binary_cross_entropy, torch.nn.functional.binary_cross_entropy, inputs, (), reduction, **kwargs)
