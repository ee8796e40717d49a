"""Module system: registration, traversal, modes, state_dict, dtype conversion and containers."""

from collections import OrderedDict

import numpy as np
import pytest

import tinytorch as tt
import tinytorch.nn as nn


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(8, 2)
        self.register_buffer("steps", tt.zeros(1))

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


# ---------------------------------------------------------------------- Parameter


def test_parameter_is_a_leaf_tensor_that_requires_grad():
    p = nn.Parameter(tt.randn(2, 3) * 2)  # built from a non-leaf: still a leaf
    assert isinstance(p, tt.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(tt.zeros(2), requires_grad=False).requires_grad


def test_operations_on_parameters_give_plain_tensors():
    p = nn.Parameter(tt.ones(2))
    assert type(p * 2) is tt.Tensor


# ---------------------------------------------------------------------- registration


def test_attributes_register_in_order():
    m = MLP()
    assert [n for n, _ in m.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [n for n, _ in m.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in m.named_buffers()] == ["steps"]
    assert [n for n, _ in m.named_modules()] == ["", "fc1", "act", "fc2"]
    assert len(list(m.parameters())) == 4 and len(list(m.modules())) == 4
    assert len(list(m.parameters(recurse=False))) == 0


def test_plain_attributes_are_not_registered():
    m = nn.Module()
    m.scale = 3.0
    m.t = tt.ones(2)  # a plain Tensor is not a parameter
    assert m.scale == 3.0 and list(m.parameters()) == []


def test_shared_parameters_and_modules_appear_once():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    tied = nn.Module()
    tied.a = nn.Linear(2, 2)
    tied.b = nn.Linear(2, 2)
    tied.b.weight = tied.a.weight  # weight tying, as in GPT's embedding / lm_head
    assert len(list(tied.parameters())) == 3
    # state_dict still lists every name (as PyTorch does), so loading restores both
    assert list(tied.state_dict()) == ["a.weight", "a.bias", "b.weight", "b.bias"]


def test_reassign_keeps_position_and_delete_unregisters():
    m = MLP()
    m.fc1 = nn.Linear(4, 8, bias=False)
    assert [n for n, _ in m.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in m.named_parameters()] == ["fc1.weight", "fc2.weight", "fc2.bias"]
    del m.fc2
    assert [n for n, _ in m.named_children()] == ["fc1", "act"]
    with pytest.raises(AttributeError, match="'MLP' object has no attribute 'fc2'"):
        m.fc2
    m.fc2 = 5  # a plain value may now take the name
    assert m.fc2 == 5 and len(list(m.parameters())) == 1


def test_parameter_slot_rejects_plain_tensor():
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="cannot assign Tensor as parameter 'weight'"):
        lin.weight = tt.zeros(2, 2)
    lin.bias = None
    assert [n for n, _ in lin.named_parameters()] == ["weight"]


def test_assign_before_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_register_buffer_and_non_persistent():
    m = nn.Module()
    m.register_buffer("mean", tt.zeros(3))
    m.register_buffer("mask", tt.ones(3), persistent=False)
    assert [n for n, _ in m.named_buffers()] == ["mean", "mask"]
    assert list(m.state_dict()) == ["mean"]
    m.mean = tt.ones(3)  # reassigning a buffer keeps it a buffer
    assert [n for n, _ in m.named_buffers()] == ["mean", "mask"]
    with pytest.raises(TypeError, match="register_buffer"):
        m.register_buffer("bad", np.zeros(3))
    with pytest.raises(KeyError, match="'.'"):
        m.register_buffer("a.b", tt.zeros(1))


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="Module must define forward"):
        nn.Module()(tt.zeros(1))


# ---------------------------------------------------------------------- modes and gradients


def test_train_eval_propagate():
    m = nn.Sequential(MLP(), nn.Dropout(0.5))
    assert m.training
    assert m.eval() is m
    assert all(not sub.training for sub in m.modules())
    m.train()
    assert all(sub.training for sub in m.modules())
    m[0].eval()
    assert m.training and not m[0].fc1.training
    with pytest.raises(ValueError, match="mode must be a bool"):
        m.train("yes")


def test_zero_grad_sets_none_and_requires_grad_():
    m = MLP()
    m(tt.randn(3, 4)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.data == 0) for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not m(tt.randn(3, 4)).requires_grad


def test_apply_visits_children_then_self():
    seen = []
    MLP().apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "ReLU", "Linear", "MLP"]


# ---------------------------------------------------------------------- state_dict


def test_state_dict_keys_values_and_round_trip():
    tt.manual_seed(0)
    a = MLP()
    state = a.state_dict()
    # own parameters and buffers first, then children (PyTorch's order)
    assert list(state) == ["steps", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert all(isinstance(v, tt.Tensor) and not v.requires_grad for v in state.values())  # as in PyTorch
    state["fc1.bias"][:] = 7  # a copy: editing it leaves the model alone
    assert not np.any(a.fc1.bias.data == 7)
    b = MLP()
    weight_before = b.fc1.weight
    b.load_state_dict(a.state_dict())
    assert b.fc1.weight is weight_before  # loaded in place: optimizers keep working
    x = tt.randn(5, 4)
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_load_state_dict_accepts_tensors_and_keeps_dtype():
    m = nn.Linear(2, 2)
    m.load_state_dict({"weight": tt.ones(2, 2, dtype=np.float64), "bias": np.zeros(2)})
    assert m.weight.dtype == np.float32 and np.all(m.weight.data == 1)


def test_load_state_dict_errors_name_keys_and_shapes():
    m = MLP()
    state = m.state_dict()
    del state["fc2.bias"]
    state["extra"] = np.zeros(1)
    state["fc1.weight"] = np.zeros((3, 4))
    before = m.fc1.bias.data.copy()
    with pytest.raises(RuntimeError) as err:
        m.load_state_dict(state)
    message = str(err.value)
    assert 'Missing key(s) in state_dict: "fc2.bias"' in message
    assert 'Unexpected key(s) in state_dict: "extra"' in message
    assert "size mismatch for fc1.weight: copying a param with shape (3, 4)" in message
    assert "(8, 4)" in message
    np.testing.assert_array_equal(m.fc1.bias.data, before)  # nothing was loaded


def test_load_state_dict_non_strict_reports_keys():
    m = MLP()
    state = m.state_dict()
    del state["steps"]
    state["extra"] = np.zeros(1)
    result = m.load_state_dict(state, strict=False)
    assert result.missing_keys == ["steps"] and result.unexpected_keys == ["extra"]


def test_state_dict_matches_torch_names():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 2)))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Sequential(torch.nn.Linear(4, 2)))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(ours(tt.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- dtype conversion


def test_double_converts_params_buffers_and_grads_in_place():
    m = MLP()
    m(tt.randn(2, 4)).sum().backward()
    weight = m.fc1.weight
    assert m.double() is m
    assert m.fc1.weight is weight
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in m.parameters())
    assert m.steps.dtype == np.float64
    assert m(tt.randn(2, 4).double()).dtype == np.float64
    m.float()
    assert m.fc2.bias.dtype == np.float32
    assert m.to("cpu") is m and m.to(dtype=np.float64) is m and m.fc1.weight.dtype == np.float64
    with pytest.raises(RuntimeError, match="device .cuda. is not available: tinytorch computes on the CPU only"):
        m.to("cuda")
    with pytest.raises(TypeError, match="floating-point"):
        m.to(np.int64)


# ---------------------------------------------------------------------- printing


def test_repr_is_nested_and_readable():
    m = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Dropout(0.1)))
    assert repr(m) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): Sequential(\n"
        "    (0): ReLU()\n"
        "    (1): Dropout(p=0.1, inplace=False)\n"
        "  )\n"
        ")"
    )


# ---------------------------------------------------------------------- containers


def test_sequential_indexing_len_iter_and_slices():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and list(seq) == layers
    assert seq[0] is layers[0] and seq[-1] is layers[2]
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and list(head) == layers[:2]
    assert head(tt.randn(4, 2)).shape == (4, 3)
    with pytest.raises(IndexError, match="index 3 is out of range for length 3"):
        seq[3]
    seq[1] = nn.Tanh()
    assert isinstance(seq[1], nn.Tanh) and [n for n, _ in seq.named_children()] == ["0", "1", "2"]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4
    del seq[3]
    assert len(seq) == 3


def test_sequential_from_ordered_dict():
    seq = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(seq.state_dict()) == ["fc.weight", "fc.bias"]
    assert isinstance(seq.act, nn.ReLU)


def test_module_list_registers_and_renumbers():
    blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(list(blocks.parameters())) == 6
    assert [n for n, _ in blocks.named_children()] == ["0", "1", "2"]
    del blocks[0]
    assert [n for n, _ in blocks.named_children()] == ["0", "1"]
    blocks.insert(0, nn.ReLU())
    assert isinstance(blocks[0], nn.ReLU) and len(blocks) == 3
    blocks += [nn.Tanh()]
    assert isinstance(blocks[-1], nn.Tanh)
    assert isinstance(blocks[1:], nn.ModuleList) and len(blocks[1:]) == 3
    with pytest.raises(IndexError, match="ModuleList: index 9"):
        blocks[9]
    with pytest.raises(TypeError, match="must be a Module"):
        blocks.append(3)


def test_module_dict():
    d = nn.ModuleDict({"wte": nn.Linear(2, 2), "h": nn.ModuleList([nn.Linear(2, 2)])})
    assert "wte" in d and list(d.keys()) == ["wte", "h"] and len(d) == 2
    assert [n for n, _ in d.named_parameters()] == ["wte.weight", "wte.bias", "h.0.weight", "h.0.bias"]
    assert d.wte is d["wte"]
