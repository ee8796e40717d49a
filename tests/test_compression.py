"""Compression: exact sparsity, masks that survive training, SVD factorization, distillation loss."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn, optim
from tinytorch.compression import (
    apply_masks, distillation_loss, low_rank_factorize, magnitude_prune, remove_masks, sparsity,
    structured_prune,
)
from tinytorch.gradcheck import gradcheck


def mlp():
    tt.manual_seed(0)
    return nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5))


def test_layer_pruning_gives_exact_sparsity_and_removes_the_smallest():
    model = mlp()
    before = model[0].weight.data.copy()
    masks = magnitude_prune(model, 0.3)
    assert set(masks) == {"0.weight", "2.weight"}
    assert np.count_nonzero(model[0].weight.data == 0) == round(0.3 * 200)
    assert np.count_nonzero(model[2].weight.data == 0) == round(0.3 * 100)
    assert sparsity(model) == pytest.approx((60 + 30) / 300)
    kept = np.abs(before[masks["0.weight"].data])
    pruned = np.abs(before[~masks["0.weight"].data])
    assert pruned.max() <= kept.min()
    assert np.all(model[0].bias.data != 0)  # biases are not pruned
    assert model[0].weight_mask.dtype == np.bool_ and "0.weight_mask" in model.state_dict()


def test_global_pruning_ranks_all_layers_together():
    model = mlp()
    with tt.no_grad():
        model[2].weight.data += np.sign(model[2].weight.data)  # |w| > 1: larger than all of layer 0's
    magnitude_prune(model, 0.5, scope="global")
    assert sparsity(model) == 0.5
    assert np.count_nonzero(model[0].weight.data == 0) == 150  # all 150 pruned from the small layer
    assert np.count_nonzero(model[2].weight.data == 0) == 0


def test_pruning_again_only_adds():
    model = mlp()
    magnitude_prune(model, 0.5)
    first = model[0].weight_mask.data.copy()
    magnitude_prune(model, 0.3)  # a lower target keeps the earlier mask
    assert np.array_equal(model[0].weight_mask.data, first)
    magnitude_prune(model, 0.8)
    assert np.all(model[0].weight_mask.data <= first)
    assert np.count_nonzero(~model[0].weight_mask.data) == 160


def test_pruning_a_single_parameter_returns_its_mask():
    w = nn.Parameter(np.arange(1, 11, dtype=np.float32))
    keep = magnitude_prune(w, 0.4)
    assert keep.tolist() == [False] * 4 + [True] * 6
    assert sparsity(w) == 0.4


def test_masks_survive_training_steps():
    model = mlp()
    magnitude_prune(model, 0.6, scope="global")
    structured_prune(model[2], 0.4)
    masks = {name: buf.data.copy() for name, buf in model.named_buffers()}
    optimizer = optim.Adam(model.parameters(), lr=0.1)
    x, y = tt.randn(16, 10), tt.randint(0, 5, (16,))
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(5):
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        apply_masks(model)
        for name, keep in masks.items():
            param = dict(model.named_parameters())[name[:-len("_mask")]]
            assert np.all(param.data[~keep] == 0) and np.all(param.grad.data[~keep] == 0)
    assert sparsity(model) == pytest.approx(np.mean(np.concatenate(
        [~masks["0.weight_mask"].reshape(-1), ~masks["2.weight_mask"].reshape(-1)])))
    # without apply_masks, Adam regrows the pruned weights: the call is what keeps them zero
    loss = loss_fn(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert np.any(model[0].weight.data[~masks["0.weight_mask"]] != 0)


def test_structured_pruning_removes_whole_neurons_by_norm():
    layer = nn.Linear(4, 6)
    with tt.no_grad():
        layer.weight.data[...] = np.arange(1, 7, dtype=np.float32)[:, None] * np.array([1, -1, 1, -1], np.float32)
    structured_prune(layer, 0.5, dim=0, norm=1)
    assert np.all(layer.weight.data[:3] == 0) and np.all(layer.weight.data[3:] != 0)
    assert np.all(layer.bias.data[:3] == 0)  # removed neurons output exactly zero
    out = layer(tt.randn(3, 4)).data
    assert np.all(out[:, :3] == 0)
    structured_prune(layer, 0.25, dim=1, norm=2)  # input columns
    assert np.count_nonzero(np.all(layer.weight.data == 0, axis=0)) == 1


def test_structured_pruning_of_a_conv_shaped_weight():
    module = nn.Module()
    module.weight = nn.Parameter(np.random.default_rng(0).standard_normal((8, 3, 3, 3)).astype(np.float32))
    structured_prune(module, 0.25)
    assert np.count_nonzero(np.all(module.weight.data == 0, axis=(1, 2, 3))) == 2
    assert sparsity(module) == 0.25


def test_remove_masks_keeps_the_zeros():
    model = mlp()
    magnitude_prune(model, 0.5)
    remove_masks(model)
    assert list(model.named_buffers()) == []
    assert sparsity(model) == 0.5
    nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5)).load_state_dict(model.state_dict())


def test_pruning_errors():
    model = mlp()
    for bad in (1.0, -0.1, 1.5, True, "half"):
        with pytest.raises(ValueError, match="magnitude_prune: amount must be a fraction in \\[0, 1\\)"):
            magnitude_prune(model, bad)
    with pytest.raises(ValueError, match="structured_prune: amount must be a fraction"):
        structured_prune(model[0], 1.0)
    with pytest.raises(ValueError, match="magnitude_prune: scope must be"):
        magnitude_prune(model, 0.5, scope="model")
    with pytest.raises(ValueError, match="magnitude_prune: ReLU has no parameter 'weight'"):
        magnitude_prune(nn.ReLU(), 0.5)
    with pytest.raises(TypeError, match="magnitude_prune: expected a Module or a Tensor"):
        magnitude_prune([1, 2], 0.5)
    with pytest.raises(ValueError, match=r"structured_prune: dim 2 is out of range for weight of shape \(20, 10\)"):
        structured_prune(model[0], 0.5, dim=2)
    with pytest.raises(ValueError, match="structured_prune: norm must be"):
        structured_prune(model[0], 0.5, norm=3)
    with pytest.raises(TypeError, match="structured_prune: expected a Module with a parameter 'weight'"):
        structured_prune(nn.ReLU(), 0.5)
    with pytest.raises(ValueError, match="sparsity: ReLU has no parameter"):
        sparsity(nn.ReLU())


def test_low_rank_has_the_requested_rank_and_error():
    tt.manual_seed(0)
    layer = nn.Linear(12, 8)
    factorized, error = low_rank_factorize(layer, 3)
    first, second = factorized
    assert first.weight.shape == (3, 12) and first.bias is None and second.weight.shape == (8, 3)
    product = second.weight.data @ first.weight.data
    assert np.linalg.matrix_rank(product) == 3
    s = np.linalg.svd(layer.weight.data.astype(np.float64), compute_uv=False)
    assert error == pytest.approx(np.sqrt((s[3:] ** 2).sum() / (s ** 2).sum()), rel=1e-6)
    assert np.linalg.norm(layer.weight.data - product) / np.linalg.norm(layer.weight.data) == pytest.approx(error, rel=1e-4)
    assert np.array_equal(second.bias.data, layer.bias.data)


def test_full_rank_factorization_reproduces_the_outputs():
    tt.manual_seed(1)
    layer = nn.Linear(6, 9)
    factorized, error = low_rank_factorize(layer, 6)
    x = tt.randn(4, 6)
    assert error == pytest.approx(0.0, abs=1e-7)
    assert np.allclose(factorized(x).data, layer(x).data, atol=1e-5)


def test_low_rank_errors():
    layer = nn.Linear(4, 3)
    for bad in (0, 4, 2.0):
        with pytest.raises(ValueError, match=r"low_rank_factorize: rank must be an int in \[1, 3\] for weight \(3, 4\)"):
            low_rank_factorize(layer, bad)
    with pytest.raises(TypeError, match="low_rank_factorize: expected an nn.Linear"):
        low_rank_factorize(nn.ReLU(), 1)


def logits(n=5, c=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return tt.tensor(rng.standard_normal((n, c)).astype(dtype) * 2, requires_grad=True)


@pytest.mark.parametrize("temperature, alpha", [(4.0, 0.5), (1.0, 1.0), (2.5, 0.0), (0.5, 0.3)])
def test_distillation_loss_gradients(temperature, alpha):
    student, teacher = logits(seed=0), logits(seed=1)
    targets = tt.tensor(np.array([0, 3, 1, 1, 2]))
    gradcheck(lambda s, t: distillation_loss(s, t, targets, temperature, alpha), [student, teacher])


def test_distillation_loss_definition():
    student, teacher = logits(seed=2), logits(seed=3)
    targets = np.array([1, 0, 2, 3, 0])
    T = 3.0
    log_softmax = lambda z: z - z.max(1, keepdims=True) - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True))
    pt = np.exp(log_softmax(teacher.data / T))
    kl = (pt * (np.log(pt) - log_softmax(student.data / T))).sum() / 5
    ce = -log_softmax(student.data)[np.arange(5), targets].mean()
    assert distillation_loss(student, teacher, targets, T, 0.7).item() == pytest.approx(0.7 * T * T * kl + 0.3 * ce)
    # identical logits: the soft term vanishes
    same = distillation_loss(student, tt.tensor(student.data), targets, T, 1.0)
    assert same.item() == pytest.approx(0.0, abs=1e-12)


def test_distillation_loss_matches_pytorch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    student, teacher = logits(seed=4, dtype=np.float32), logits(seed=5, dtype=np.float32)
    targets = np.array([2, 2, 0, 1, 3])
    T, alpha = 4.0, 0.6
    loss = distillation_loss(student, teacher.detach(), targets, T, alpha)
    loss.backward()
    s = torch.tensor(student.data, requires_grad=True)
    t = torch.tensor(teacher.data)
    expected = alpha * T * T * F.kl_div(F.log_softmax(s / T, 1), F.softmax(t / T, 1), reduction="batchmean") \
        + (1 - alpha) * F.cross_entropy(s, torch.tensor(targets))
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert np.allclose(student.grad.data, s.grad.numpy(), atol=1e-6)
    assert loss.dtype == np.float32


def test_distillation_loss_errors():
    s, t = logits(), logits(seed=1)
    y = np.array([0, 1, 2, 3, 0])
    with pytest.raises(ValueError, match=r"distillation_loss: student_logits \(5, 4\) and teacher_logits \(5, 3\)"):
        distillation_loss(s, tt.zeros(5, 3), y)
    with pytest.raises(ValueError, match=r"distillation_loss: student_logits must be a \(N, C\) Tensor, got \(4,\)"):
        distillation_loss(tt.zeros(4), t, y)
    with pytest.raises(ValueError, match=r"distillation_loss: targets must be 5 integer class indices"):
        distillation_loss(s, t, np.array([0, 1]))
    with pytest.raises(ValueError, match="distillation_loss: target 4 is out of range for 4 classes"):
        distillation_loss(s, t, np.array([0, 1, 2, 4, 0]))
    with pytest.raises(ValueError, match="distillation_loss: temperature must be > 0, got 0"):
        distillation_loss(s, t, y, temperature=0)
    with pytest.raises(ValueError, match=r"distillation_loss: alpha must be in \[0, 1\], got 1.5"):
        distillation_loss(s, t, y, alpha=1.5)
