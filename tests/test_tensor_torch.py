"""Every Tensor op against PyTorch: the same inputs give the same forward values and gradients.

Skipped as a whole where torch is not installed (e.g. inside Pyodide); the torch-free checks
live in test_autograd.py, test_tensor.py and test_errors.py.
"""

import numpy as np
import pytest

import tinytorch as tt
from test_autograd import CASES

torch = pytest.importorskip("torch")


def run_both(case, dtype, rng):
    """Forward and backward of `case` in both libraries, with identical inputs and output weights."""
    state = rng.bit_generator.state
    ours = case.inputs(rng, dtype, lib=tt)
    rng.bit_generator.state = state
    theirs = case.inputs(rng, dtype, lib=torch)
    out_ours, out_theirs = case.fn(tt, *ours), case.fn(torch, *theirs)
    weights = rng.standard_normal(out_ours.shape).astype(dtype)
    out_ours.backward(weights)
    out_theirs.backward(torch.tensor(weights))
    return ours, theirs, out_ours, out_theirs


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_matches_torch_float64(case, rng):
    ours, theirs, out_ours, out_theirs = run_both(case, np.float64, rng)
    assert out_ours.shape == tuple(out_theirs.shape)
    # GELU uses a 1.5e-7-accurate erf approximation (NumPy has no erf)
    atol = 1e-6 if case.name == "gelu" else 1e-10
    np.testing.assert_allclose(out_ours.data, out_theirs.detach().numpy(), rtol=1e-7, atol=atol)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-7, atol=atol, err_msg=f"input {i}")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_matches_torch_float32(case, rng):
    ours, theirs, out_ours, out_theirs = run_both(case, np.float32, rng)
    assert out_ours.dtype == np.float32 and out_theirs.dtype == torch.float32
    np.testing.assert_allclose(out_ours.data, out_theirs.detach().numpy(), rtol=1e-4, atol=1e-5)
    for a, b in zip(ours, theirs):
        assert a.grad.dtype == np.float32
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------- dtype rules

SCALAR_PROMOTION = [
    (lambda t: t * 0.5, "float tensor * python float"),
    (lambda t: t + 2, "float tensor + python int"),
    (lambda t: 2.5 - t, "python float - float tensor"),
    (lambda t: t / 3, "float tensor / python int"),
    (lambda t: t**2, "float tensor ** python int"),
    (lambda t: t * np.float64(2.0), "float tensor * numpy float64 scalar"),
]


@pytest.mark.parametrize("make_dtype", ["float32", "float64", "int64", "int32", "bool"])
@pytest.mark.parametrize("op", SCALAR_PROMOTION, ids=lambda o: o[1])
def test_result_dtype_with_scalars_matches_torch(make_dtype, op):
    fn, label = op
    if make_dtype == "bool" and "-" in label:
        pytest.skip("torch refuses subtraction with bool tensors")
    data = np.array([1, 0, 1])
    ours = fn(tt.tensor(data.astype(make_dtype)))
    theirs = fn(torch.tensor(data.astype(make_dtype)))
    assert str(ours.dtype) == str(theirs.dtype), label


@pytest.mark.parametrize("a_dtype, b_dtype", [
    ("int64", "float32"), ("float32", "int64"), ("int32", "float64"), ("bool", "float32"),
    ("int64", "int64"), ("float32", "float64"), ("int32", "int64"),
])
@pytest.mark.parametrize("op", ["add", "mul", "truediv", "matmul"])
def test_result_dtype_of_two_tensors_matches_torch(a_dtype, b_dtype, op):
    a, b = np.array([[1, 2], [3, 4]]), np.array([[1, 1], [2, 1]])
    fn = {"add": lambda x, y: x + y, "mul": lambda x, y: x * y, "truediv": lambda x, y: x / y,
          "matmul": lambda x, y: x @ y}[op]
    if op == "matmul" and a_dtype != b_dtype:
        pytest.skip("torch's matmul needs equal dtypes (tinytorch promotes)")
    ours = fn(tt.tensor(a.astype(a_dtype)), tt.tensor(b.astype(b_dtype)))
    theirs = fn(torch.tensor(a.astype(a_dtype)), torch.tensor(b.astype(b_dtype)))
    assert str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)


def test_creation_dtypes_match_torch():
    pairs = [
        (tt.tensor([1, 2]), torch.tensor([1, 2])),
        (tt.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])),
        (tt.tensor([True]), torch.tensor([True])),
        (tt.arange(5), torch.arange(5)),
        (tt.arange(0, 1, 0.25), torch.arange(0, 1, 0.25)),
        (tt.full((2,), 3), torch.full((2,), 3)),
        (tt.full((2,), 3.0), torch.full((2,), 3.0)),
        (tt.zeros(2), torch.zeros(2)),
        (tt.ones(2, 3).sum(), torch.ones(2, 3).sum()),
        (tt.tensor([1, 2]).sum(), torch.tensor([1, 2]).sum()),
        (tt.tensor([1, 2, 3]).argmax(), torch.tensor([1, 2, 3]).argmax()),
    ]
    for ours, theirs in pairs:
        assert str(ours.dtype) == str(theirs.dtype)
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_allclose(ours.data, theirs.numpy())


# ---------------------------------------------------------------------- specific behaviours

def test_max_ties_match_torch():
    data = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    for reduce in (lambda t: t.max(), lambda t: t.min(), lambda t: t.max(dim=1).values, lambda t: t.min(dim=0).values):
        ours, theirs = tt.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
        reduce(ours).sum().backward()
        reduce(theirs).sum().backward()
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy())
    assert tt.tensor(data).max(dim=1).indices.tolist() == torch.tensor(data).max(dim=1).indices.tolist()


def test_maximum_ties_share_gradient_like_torch():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 0.0])
    ours = [tt.tensor(a, requires_grad=True), tt.tensor(b, requires_grad=True)]
    theirs = [torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)]
    ours[0].maximum(ours[1]).sum().backward()
    theirs[0].maximum(theirs[1]).sum().backward()
    for x, y in zip(ours, theirs):
        np.testing.assert_allclose(x.grad.data, y.grad.numpy())


def test_clamp_gradient_at_the_boundary_matches_torch():
    data = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    ours, theirs = tt.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    ours.clamp(-0.5, 0.5).sum().backward()
    theirs.clamp(-0.5, 0.5).sum().backward()
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy())


def test_extreme_inputs_match_torch():
    data = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=np.float32)
    for name in ("sigmoid", "tanh", "softmax", "log_softmax", "relu"):
        fn = (lambda t, n=name: getattr(t, n)(dim=0)) if "softmax" in name else (lambda t, n=name: getattr(t, n)())
        ours, theirs = tt.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
        fn(ours).sum().backward()
        fn(theirs).sum().backward()
        np.testing.assert_allclose(fn(ours).data, fn(theirs).detach().numpy(), rtol=1e-6, atol=1e-30, err_msg=name)
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch warns about the missing degrees of freedom
def test_variance_without_degrees_of_freedom_is_nan_like_torch():
    ours = tt.tensor([[1.0], [2.0]]).var(dim=1)
    theirs = torch.tensor([[1.0], [2.0]]).var(dim=1)
    assert np.all(np.isnan(ours.data)) and torch.all(torch.isnan(theirs))


def test_var_and_std_arguments_match_torch(rng):
    data = rng.standard_normal((3, 4, 5))
    x, y = tt.tensor(data), torch.tensor(data)
    for kwargs in ({}, {"dim": 1}, {"dim": (0, 2), "keepdim": True}, {"dim": -1, "correction": 0},
                   {"dim": 1, "unbiased": False}):
        np.testing.assert_allclose(x.var(**kwargs).data, y.var(**kwargs).numpy(), rtol=1e-10)
        np.testing.assert_allclose(x.std(**kwargs).data, y.std(**kwargs).numpy(), rtol=1e-10)


def test_topk_and_argmax_match_torch(rng):
    data = rng.standard_normal((4, 6))
    for largest in (True, False):
        ours = tt.tensor(data).topk(3, dim=1, largest=largest)
        theirs = torch.tensor(data).topk(3, dim=1, largest=largest)
        np.testing.assert_allclose(ours.values.data, theirs.values.numpy())
        assert ours.indices.tolist() == theirs.indices.tolist()
    assert tt.tensor(data).argmax(dim=0).tolist() == torch.tensor(data).argmax(dim=0).tolist()
    assert tt.tensor(data).argmin(dim=1, keepdim=True).tolist() == torch.tensor(data).argmin(dim=1, keepdim=True).tolist()


def test_shape_helpers_match_torch(rng):
    data = rng.standard_normal((2, 1, 3, 1))
    x, y = tt.tensor(data), torch.tensor(data)
    for fn in (lambda t: t.squeeze(), lambda t: t.squeeze(1), lambda t: t.squeeze(0), lambda t: t.squeeze((1, 3)),
               lambda t: t.unsqueeze(0), lambda t: t.unsqueeze(-1), lambda t: t.flatten(), lambda t: t.flatten(1, 2),
               lambda t: t.expand(4, 2, 5, 3, 2), lambda t: t.expand(-1, 4, -1, 2), lambda t: t.repeat(1, 2, 1, 3)):
        assert fn(x).shape == tuple(fn(y).shape)
        np.testing.assert_allclose(fn(x).data, fn(y).numpy())
    assert [p.shape for p in tt.tensor(np.zeros((7, 2))).chunk(3)] == [tuple(p.shape) for p in torch.zeros(7, 2).chunk(3)]
    assert [p.shape for p in tt.tensor(np.zeros((7, 2))).split(3)] == [tuple(p.shape) for p in torch.zeros(7, 2).split(3)]


def test_setitem_matches_torch(rng):
    data = rng.standard_normal((3, 4))
    x, y = tt.tensor(data), torch.tensor(data)
    for index, value in [((0,), 1.0), ((slice(None), 1), np.array([7.0, 8.0, 9.0])), ((data > 0,), 0.0)]:
        x[index] = value
        y[index if not isinstance(index[0], np.ndarray) else torch.tensor(index[0])] = torch.tensor(value) if isinstance(value, np.ndarray) else value
    np.testing.assert_allclose(x.data, y.numpy())
