"""Cases from issue 15 that the generated tests do not reach, each against PyTorch."""

import math

import numpy as np
import pytest

import tinytorch as tt
from tinytorch.ops._common import _erf

torch = pytest.importorskip("torch")


def test_erf_is_float64_accurate():
    x = np.concatenate([np.linspace(-7, 7, 20001), [0.0, -0.0, 0.5, 4.0, 1e-300, 30.0, np.inf, -np.inf]])
    expected = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(_erf(x), expected, rtol=4e-16, atol=3e-16)
    assert np.isnan(_erf(np.array([np.nan]))[0])
    assert _erf(np.linspace(-3, 3, 7, dtype=np.float32)).dtype == np.float32


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_float64_matches_pytorch(approximate):
    x = np.linspace(-6, 6, 1001)
    expected = torch.nn.functional.gelu(torch.tensor(x), approximate=approximate).numpy()
    got = tt.nn.functional.gelu(tt.tensor(x), approximate=approximate).data
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-15)
    assert tt.nn.functional.gelu(tt.tensor(1.5), approximate=approximate).shape == ()


@pytest.mark.parametrize("reduce", ["std", "var"])
def test_gradient_of_the_spread_of_a_constant_is_zero(reduce):
    grads = []
    for m in (torch, tt):
        x = m.tensor([2.0, 2.0, 2.0], requires_grad=True)
        getattr(x, reduce)().backward()
        grads.append(np.asarray(x.grad.numpy() if m is torch else x.grad.data))
    np.testing.assert_array_equal(grads[1], grads[0])
    assert not np.any(grads[1])


def test_var_and_std_take_unbiased_positionally():
    x = [1.0, 2.0, 4.0]
    for args, kwargs in [((0, False), {}), ((0, True), {}), ((0, False, True), {}), ((False,), {}),
                         ((), {"dim": 0, "correction": 0}), ((), {"unbiased": False})]:
        for name in ("var", "std"):
            ours = getattr(tt.tensor(x), name)(*args, **kwargs)
            theirs = getattr(torch.tensor(x), name)(*args, **kwargs)
            assert ours.shape == tuple(theirs.shape), (name, args, kwargs)
            np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_clip_grad_norm_with_a_nonfinite_gradient_matches_pytorch(bad):
    results = []
    for m in (torch, tt):
        params = [m.nn.Parameter(m.ones(2)), m.nn.Parameter(m.ones(2))]
        params[0].grad = m.tensor([bad, 1.0])
        params[1].grad = m.tensor([3.0, 4.0])
        total = m.nn.utils.clip_grad_norm_(params, 1.0)
        results.append([np.asarray(t.numpy() if m is torch else t.data) for t in (total, params[0].grad, params[1].grad)])
        with pytest.raises(RuntimeError, match="non-finite"):
            m.nn.utils.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_array_equal(ours, theirs)


def test_iterating_a_0d_tensor_is_a_type_error():
    with pytest.raises(TypeError, match="0-d"):
        list(tt.tensor(3.0))
    assert [t.item() for t in tt.tensor([1.0, 2.0])] == [1.0, 2.0]


def test_pow_gradient_in_the_exponent_at_negative_and_zero_bases():
    grads = []
    for m in (torch, tt):
        a = m.tensor([-2.0, 0.0, 3.0], requires_grad=True)
        p = m.tensor([2.0, 2.0, 0.5], requires_grad=True)
        (a ** p).sum().backward()
        grads.append([np.asarray(t.grad.numpy() if m is torch else t.grad.data) for t in (a, p)])
    for ours, theirs in zip(grads[1], grads[0]):
        np.testing.assert_allclose(ours, theirs, equal_nan=True, rtol=1e-6)


def test_state_dict_values_are_detached_tensors_that_load_back():
    model = tt.nn.Linear(3, 2)
    state = model.state_dict()
    assert all(isinstance(v, tt.Tensor) and not v.requires_grad for v in state.values())
    other = tt.nn.Linear(3, 2)
    other.load_state_dict(state)
    np.testing.assert_array_equal(other.weight.data, model.weight.data)
