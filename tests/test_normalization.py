"""BatchNorm1d/2d and LayerNorm: statistics, train/eval, running stats, gradients, errors."""

import numpy as np
import pytest

import tinytorch as tt
import tinytorch.nn as nn
import tinytorch.nn.functional as F
from tinytorch.gradcheck import gradcheck


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---------------------------------------------------------------------- batch norm: values


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (4, 3, 5, 6)])
def test_training_normalizes_each_channel(shape):
    x = tt.tensor(rand(*shape) * 3 + 2)
    out = F.batch_norm(x, None, None, training=True).numpy()
    axes = (0,) + tuple(range(2, len(shape)))
    np.testing.assert_allclose(out.mean(axis=axes), 0, atol=1e-7)
    np.testing.assert_allclose(out.var(axis=axes), 1, atol=1e-3)  # var/(var+eps) < 1


def test_running_stats_update_uses_unbiased_variance():
    x = rand(8, 2, 3) * 2 + 1
    rm, rv = tt.zeros(2).double(), tt.ones(2).double()
    F.batch_norm(tt.tensor(x), rm, rv, training=True, momentum=0.25)
    np.testing.assert_allclose(rm.numpy(), 0.25 * x.mean(axis=(0, 2)))
    np.testing.assert_allclose(rv.numpy(), 0.75 + 0.25 * x.var(axis=(0, 2), ddof=1))


def test_eval_uses_running_stats_and_affine():
    x = rand(5, 3, 4)
    rm, rv, w, b = rand(3, seed=1), rand(3, seed=2) ** 2 + 0.5, rand(3, seed=3), rand(3, seed=4)
    out = F.batch_norm(tt.tensor(x), tt.tensor(rm), tt.tensor(rv), tt.tensor(w), tt.tensor(b), training=False, eps=1e-3)
    expected = (x - rm[:, None]) / np.sqrt(rv[:, None] + 1e-3) * w[:, None] + b[:, None]
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-12)


def test_module_train_vs_eval():
    tt.manual_seed(0)
    bn = nn.BatchNorm2d(3)
    x = tt.randn(4, 3, 5, 5) * 2 + 1
    train_out = bn(x)
    assert int(bn.num_batches_tracked.item()) == 1
    bn.eval()
    eval_out = bn(x)
    assert int(bn.num_batches_tracked.item()) == 1  # eval does not count batches
    assert not np.allclose(train_out.numpy(), eval_out.numpy(), atol=1e-2)
    # In eval each sample is normalized independently of the rest of the batch.
    np.testing.assert_allclose(bn(x[:1]).numpy(), eval_out.numpy()[:1], atol=1e-6)
    assert train_out.dtype == np.float32 and eval_out.dtype == np.float32


def test_momentum_none_is_cumulative_average():
    bn = nn.BatchNorm1d(2, momentum=None)
    batches = [rand(6, 2, seed=s) + s for s in range(3)]
    for b in batches:
        bn(tt.tensor(b, dtype=np.float32))
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([b.mean(axis=0) for b in batches], axis=0), atol=1e-5)


def test_without_running_stats_eval_uses_batch_stats():
    bn = nn.BatchNorm2d(2, track_running_stats=False, affine=False).eval()
    assert bn.running_mean is None and list(bn.state_dict()) == []
    out = bn(tt.randn(3, 2, 4, 4) * 5).numpy()
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)


def test_module_parameters_buffers_and_repr():
    bn = nn.BatchNorm2d(4)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert repr(bn) == "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
    assert list(nn.BatchNorm1d(4, affine=False).parameters()) == []
    bn(tt.randn(2, 4, 3, 3))
    bn.reset_running_stats()
    assert bn.running_mean.numpy().sum() == 0 and bn.num_batches_tracked.item() == 0


# ---------------------------------------------------------------------- batch norm: gradients


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 5), (3, 2, 4, 3)])
def test_gradcheck_training(shape):
    C = shape[1]
    x = tt.tensor(rand(*shape) * 2 + 1, requires_grad=True)
    w = tt.tensor(rand(C, seed=1), requires_grad=True)
    b = tt.tensor(rand(C, seed=2), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [x, w, b])


def test_gradcheck_training_without_affine_and_eval():
    x = tt.tensor(rand(4, 3, 3, 3), requires_grad=True)
    assert gradcheck(lambda x: F.batch_norm(x, None, None, training=True), [x])
    rm, rv = tt.tensor(rand(3, seed=1)), tt.tensor(rand(3, seed=2) ** 2 + 0.5)
    w, b = tt.tensor(rand(3, seed=3), requires_grad=True), tt.tensor(rand(3, seed=4), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False), [x, w, b])


# ---------------------------------------------------------------------- batch norm: errors


def test_batch_norm_errors():
    with pytest.raises(ValueError, match=r"^BatchNorm2d: expected input with 3 channels, got shape \(2, 4, 5, 5\)$"):
        nn.BatchNorm2d(3)(tt.zeros(2, 4, 5, 5))
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4-D \(N, C, H, W\) input, got shape \(2, 3, 5\)"):
        nn.BatchNorm2d(3)(tt.zeros(2, 3, 5))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected 2-D \(N, C\) or 3-D \(N, C, L\) input, got shape \(2, 3, 5, 5\)"):
        nn.BatchNorm1d(3)(tt.zeros(2, 3, 5, 5))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected more than 1 value per channel when training, got input shape \(1, 3\)"):
        nn.BatchNorm1d(3)(tt.zeros(1, 3))
    nn.BatchNorm1d(3).eval()(tt.zeros(1, 3))  # fine in eval
    with pytest.raises(ValueError, match=r"batch_norm: running_mean and running_var must be given when training=False"):
        F.batch_norm(tt.zeros(2, 3), None, None)
    with pytest.raises(ValueError, match=r"batch_norm: weight shape \(4,\) does not match expected \(3,\)"):
        F.batch_norm(tt.zeros(2, 3), None, None, tt.ones(4), training=True)
    with pytest.raises(ValueError, match=r"batch_norm: running_mean shape \(2,\) does not match 3 channels"):
        F.batch_norm(tt.zeros(2, 3), tt.zeros(2), tt.ones(2))
    with pytest.raises(ValueError, match=r"BatchNorm2d: num_features must be a positive int, got 0"):
        nn.BatchNorm2d(0)


# ---------------------------------------------------------------------- layer norm


@pytest.mark.parametrize("shape, normalized", [((4, 6), 6), ((2, 3, 4, 5), (4, 5)), ((3, 5), (3, 5))])
def test_layer_norm_values(shape, normalized):
    x = rand(*shape) * 3 + 1
    out = F.layer_norm(tt.tensor(x), normalized).numpy()
    axes = tuple(range(len(shape) - (1 if isinstance(normalized, int) else len(normalized)), len(shape)))
    expected = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + 1e-5)
    np.testing.assert_allclose(out, expected, atol=1e-12)


@pytest.mark.parametrize("shape, normalized", [((4, 6), (6,)), ((2, 3, 4, 3), (4, 3))])
@pytest.mark.parametrize("affine", [True, False])
def test_gradcheck_layer_norm(shape, normalized, affine):
    x = tt.tensor(rand(*shape) * 2, requires_grad=True)
    if affine:
        w = tt.tensor(rand(*normalized, seed=1), requires_grad=True)
        b = tt.tensor(rand(*normalized, seed=2), requires_grad=True)
        assert gradcheck(lambda x, w, b: F.layer_norm(x, normalized, w, b), [x, w, b])
    else:
        assert gradcheck(lambda x: F.layer_norm(x, normalized), [x])


def test_layer_norm_module():
    ln = nn.LayerNorm(8)
    assert ln.weight.shape == (8,) and ln.bias.shape == (8,) and ln.weight.dtype == np.float32
    assert repr(ln) == "LayerNorm((8,), eps=1e-05, elementwise_affine=True)"
    assert nn.LayerNorm((2, 3), bias=False).bias is None
    assert list(nn.LayerNorm(4, elementwise_affine=False).parameters()) == []
    out = ln(tt.randn(2, 5, 8))
    assert out.shape == (2, 5, 8) and out.dtype == np.float32
    out.sum().backward()
    assert ln.weight.grad.shape == (8,)


def test_layer_norm_errors():
    with pytest.raises(ValueError, match=r"LayerNorm: normalized_shape \(4,\) does not match the last dimensions of input shape \(2, 3, 5\)"):
        nn.LayerNorm(4)(tt.zeros(2, 3, 5))
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(2, 3, 5\) does not match.*input shape \(3, 5\)"):
        F.layer_norm(tt.zeros(3, 5), (2, 3, 5))
    with pytest.raises(ValueError, match=r"layer_norm: weight shape \(4,\) does not match expected \(5,\)"):
        F.layer_norm(tt.zeros(3, 5), 5, tt.ones(4))
    with pytest.raises(ValueError, match=r"LayerNorm: normalized_shape must be positive ints"):
        nn.LayerNorm(0)


# ---------------------------------------------------------------------- against PyTorch


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (4, 3, 5, 6)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_pytorch(shape, training):
    torch = pytest.importorskip("torch")
    C = shape[1]
    arrays = [rand(*shape) * 3 + 1, rand(C, seed=1), rand(C, seed=2)]
    stats = [rand(C, seed=3), rand(C, seed=4) ** 2 + 0.5]
    ours = [tt.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    our_stats, their_stats = [tt.tensor(s.copy()) for s in stats], [torch.tensor(s.copy()) for s in stats]
    out = F.batch_norm(ours[0], *our_stats, *ours[1:], training=training, momentum=0.3, eps=1e-3)
    ref = torch.nn.functional.batch_norm(theirs[0], *their_stats, *theirs[1:], training=training, momentum=0.3, eps=1e-3)
    g = rand(*shape, seed=5)
    out.backward(g)
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), atol=1e-10)
    for a, t in zip(ours + our_stats, [t.grad for t in theirs] + their_stats):
        np.testing.assert_allclose((a.grad if a.requires_grad else a).numpy(), t.numpy(), atol=1e-10)


@pytest.mark.parametrize("module, shape", [("BatchNorm2d", (8, 4, 5, 5)), ("BatchNorm1d", (8, 4, 6)), ("BatchNorm1d", (8, 4))])
def test_batch_norm_module_running_stats_match_pytorch(module, shape):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, module)(4, momentum=0.2), getattr(torch.nn, module)(4, momentum=0.2)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(rand(4, seed=9)))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for step in range(3):
        x = (rand(*shape, seed=step) * (step + 1) + step).astype(np.float32)
        xo, xt = tt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        (ours(xo) ** 2).sum().backward()
        theirs(xt).square().sum().backward()
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), rtol=1e-5, atol=1e-6, err_msg=key)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-4, atol=1e-3)
    ours.eval(), theirs.eval()
    x = rand(*shape, seed=7).astype(np.float32)
    np.testing.assert_allclose(ours(tt.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_layer_norm_matches_pytorch():
    torch = pytest.importorskip("torch")
    shape, normalized = (2, 3, 4, 5), (4, 5)
    arrays = [rand(*shape) * 3 + 1, rand(*normalized, seed=1), rand(*normalized, seed=2)]
    ours = [tt.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = F.layer_norm(ours[0], normalized, *ours[1:], eps=1e-4)
    ref = torch.nn.functional.layer_norm(theirs[0], normalized, *theirs[1:], eps=1e-4)
    g = rand(*shape, seed=3)
    out.backward(g)
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), atol=1e-10)
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), atol=1e-10)
