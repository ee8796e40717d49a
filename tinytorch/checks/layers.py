"""Checks for module 03 (layers): the learner's `Linear`, `Sequential` and `Dropout` classes,
built side by side with tinytorch's and compared on outputs, parameters and gradients."""

import math

import numpy as np

from .. import nn
from ..random import manual_seed
from ..tensor import Tensor
from ..course import registry
from .core import add_hints, assert_close, fail, passed
from .tensor import run_hinted

# Progressive hints, one tier at a time (`tinytorch.checks.hint(name)`, or a repeated failure):
# the idea, the shapes, the formula in words. Never the code.
add_hints({
    'linear': (
        "a Linear layer holds a weight matrix and an optional bias, and maps x to x times the weight's transpose plus the bias",
        'weight is (out_features, in_features), bias is (out_features,); x is (..., in_features) and the output (..., out_features)',
        'init both uniformly in (-1/sqrt(in_features), 1/sqrt(in_features)) as Parameters; forward(x) = x W^T + b',
    ),
    'sequential': (
        "Sequential registers its modules in order and feeds each one's output into the next",
        "the modules are named '0', '1', ... so parameters() finds them; len() counts them and [i] returns the i-th",
        'register with add_module in __init__; forward loops over the registered modules; indexing turns them into a list, so negative indices work',
    ),
    'dropout': (
        'in training, zero each element with probability p and scale the survivors so the expected value is unchanged; in eval, do nothing',
        "the random mask has x's shape and dtype; p == 0 or eval mode returns x itself",
        'mask is 0 where a uniform draw is below p and 1/(1-p) elsewhere; the output is x times the mask',
    ),
})

exercise = registry.module("03_layers", "Layers")

_TENSOR_OPS = "use Tensor operations on the input and the Parameters (e.g. x @ self.weight.T), not .data, so gradients flow"


def _describe(arg):
    """Short form of a constructor argument for reports: Linear(4, 8), ReLU(), 0.5."""
    if isinstance(arg, nn.Linear):
        return f"Linear({arg.in_features}, {arg.out_features})"
    if isinstance(arg, nn.Module):
        inner = ", ".join(_describe(m) for m in arg.children())
        return f"{type(arg).__name__}({inner})"
    return repr(arg)


def _build(name, cls, *args, **kwargs):
    """An instance of the learner's class; it must be a tinytorch.nn.Module."""
    case = f"{cls.__name__}({', '.join([*map(_describe, args), *(f'{k}={v!r}' for k, v in kwargs.items())])})"
    module = run_hinted(name, case, lambda: cls(*args, **kwargs), hint="check __init__ (and call super().__init__() first)")
    if not isinstance(module, nn.Module):
        fail(name, case, f"expected a tinytorch.nn.Module, got {type(module).__name__}",
             "subclass tinytorch.nn.Module and call super().__init__() first in __init__")
    return module, case


def _call(name, case, module, x, hint=None):
    out = run_hinted(name, case, module, x, hint=hint)
    if not isinstance(out, Tensor):
        fail(name, case, f"forward returned {type(out).__name__}, expected a Tensor", "return a tinytorch.Tensor")
    return out


def _random(rng, *shape, requires_grad=False):
    return Tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=requires_grad)


def _grad_of(name, case, tensor, what):
    if tensor.grad is None:
        fail(name, case, f"no gradient reached {what} after backward()", _TENSOR_OPS)
    return tensor.grad


# ---------------------------------------------------------------------- Linear


@exercise("Linear", seam="Linear")
def check_linear(Linear):
    """Linear(in_features, out_features, bias=True): y = x @ weight.T + bias, weight (out, in),
    initialised like PyTorch (U(-1/sqrt(in), 1/sqrt(in)) for weight and bias)."""
    name = "linear"
    rng = np.random.default_rng(5)

    # parameters: names, types, shapes
    layer, case = _build(name, Linear, 5, 3)
    params = dict(layer.named_parameters())
    if sorted(params) != ["bias", "weight"]:
        fail(name, case, f"expected parameters ['bias', 'weight'], found {sorted(params)}",
             "assign them as attributes: self.weight = Parameter(...), self.bias = Parameter(...)")
    for key, shape in (("weight", (3, 5)), ("bias", (3,))):
        if not isinstance(params[key], nn.Parameter):
            fail(name, case, f"{key} is a {type(params[key]).__name__}, expected a Parameter")
        if params[key].shape != shape:
            fail(name, case, f"{key} has shape {params[key].shape}, expected {shape}",
                 "PyTorch's layout: weight (out_features, in_features), bias (out_features,)")
        if params[key].dtype != np.float32:
            fail(name, case, f"{key} has dtype {params[key].dtype}, expected float32",
                 "create the arrays with dtype=np.float32")
    for attr, value in (("in_features", 5), ("out_features", 3)):
        if getattr(layer, attr, None) != value:
            fail(name, case, f"layer.{attr} is {getattr(layer, attr, None)!r}, expected {value}",
                 "store in_features and out_features as attributes, as PyTorch does")

    # no bias
    plain, plain_case = _build(name, Linear, 4, 2, bias=False)
    names = [key for key, _ in plain.named_parameters()]
    if names != ["weight"] or getattr(plain, "bias", "missing") is not None:
        fail(name, plain_case, f"expected only a weight parameter and layer.bias = None, found parameters {names}",
             "with bias=False set self.bias = None (or register_parameter('bias', None))")

    # initialisation, statistically
    big, big_case = _build(name, Linear, 400, 300)
    bound = 1 / math.sqrt(400)
    w, b = big.weight.data, big.bias.data
    if np.abs(w).max() > bound * 1.0001 or np.abs(b).max() > bound * 1.0001:
        fail(name, big_case, f"parameters reach {max(np.abs(w).max(), np.abs(b).max()):.4f}, "
             f"outside the bound 1/sqrt(in_features) = {bound:.4f}",
             "uniform in (-1/sqrt(in_features), 1/sqrt(in_features)), as PyTorch initialises Linear")
    expected_std = bound / math.sqrt(3)  # std of U(-a, a) is a / sqrt(3)
    if not 0.95 * expected_std < w.std() < 1.05 * expected_std or abs(w.mean()) > 0.1 * expected_std:
        fail(name, big_case, f"weight mean {w.mean():.4f}, std {w.std():.4f}; U(-{bound:.3f}, {bound:.3f}) "
             f"has mean 0, std {expected_std:.4f}",
             "draw the weight uniformly in (-1/sqrt(in_features), 1/sqrt(in_features))")
    again, _ = _build(name, Linear, 400, 300)
    if np.array_equal(again.weight.data, w):
        fail(name, big_case, "two new layers got identical weights", "draw fresh random numbers for every layer")

    # forward and gradients against the library, with the same parameters
    cases = [("input (8, 5)", (8, 5), True), ("one vector (5,)", (5,), True), ("batch (2, 4, 5)", (2, 4, 5), True),
             ("bias=False, input (6, 5)", (6, 5), False)]
    for case, shape, bias in cases:
        mine, _ = _build(name, Linear, 5, 3, bias=bias)
        reference = nn.Linear(5, 3, bias=bias)
        mine.weight.data[...] = reference.weight.data
        if bias:
            mine.bias.data[...] = reference.bias.data
        x_mine, x_ref = _random(rng, *shape, requires_grad=True), None
        x_ref = Tensor(x_mine.data.copy(), requires_grad=True)
        out = _call(name, case, mine, x_mine)
        expected = reference(x_ref)
        assert_close(name, case, out, expected, "y = x @ weight.T + bias")
        upstream = Tensor(rng.standard_normal(expected.shape).astype(np.float32))
        if not out.requires_grad:
            fail(name, case, "the output does not require grad, so backward() cannot reach the weights", _TENSOR_OPS)
        run_hinted(name, case, lambda: (out * upstream).sum().backward())
        (expected * upstream).sum().backward()
        assert_close(name, f"{case}, gradient of weight", _grad_of(name, case, mine.weight, "weight"),
                     reference.weight.grad, _TENSOR_OPS)
        if bias:
            assert_close(name, f"{case}, gradient of bias", _grad_of(name, case, mine.bias, "bias"),
                         reference.bias.grad, _TENSOR_OPS)
        assert_close(name, f"{case}, gradient of the input", _grad_of(name, case, x_mine, "the input"),
                     x_ref.grad, _TENSOR_OPS)
    passed(name, 4 + len(cases), ["parameters", "bias=False", "initialisation", "fresh weights"]
           + [f"{case} with gradients" for case, _, _ in cases])


# ---------------------------------------------------------------------- Sequential


@exercise("Sequential", seam="Sequential")
def check_sequential(Sequential):
    """Sequential(*modules): calls them in order; registers them as children '0', '1', ... so
    parameters(), train()/eval() and state_dict() see them; supports len() and indexing."""
    name = "sequential"
    rng = np.random.default_rng(6)
    manual_seed(6)
    layers = [nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)]
    model, case = _build(name, Sequential, *layers)

    x = _random(rng, 5, 4)
    out = _call(name, case, model, x)
    expected = layers[2](layers[1](layers[0](x)))
    assert_close(name, f"{case} on input (5, 4)", out, expected, "apply the modules one after another, in order")

    names = [key for key, _ in model.named_parameters()]
    want = ["0.weight", "0.bias", "2.weight", "2.bias"]
    if names != want:
        fail(name, case, f"named_parameters() gives {names}, expected {want}",
             "register each module as a child: self.add_module(str(i), module) (a plain list hides them)")
    if [id(p) for p in model.parameters()] != [id(p) for p in (layers[0].weight, layers[0].bias,
                                                                 layers[2].weight, layers[2].bias)]:
        fail(name, case, "parameters() are not the layers' own Parameter objects", "register the modules themselves, not copies")

    length = run_hinted(name, f"len({case})", len, model, hint="define __len__: the number of modules")
    if length != 3:
        fail(name, f"len({case})", f"expected 3, got {length!r}", "define __len__: the number of modules")
    for index, want_layer in ((0, layers[0]), (1, layers[1]), (-1, layers[2])):
        got = run_hinted(name, f"model[{index}]", lambda: model[index], hint="define __getitem__(index) for ints, negative ones too")
        if got is not want_layer:
            fail(name, f"model[{index}]", f"got {type(got).__name__}, expected the module passed at position {index % 3}",
                 "define __getitem__(index) for ints, negative ones too")

    model.eval()
    if any(layer.training for layer in layers):
        fail(name, f"{case}.eval()", "the layers inside are still in training mode",
             "register the modules as children, so Module.eval() reaches them")
    model.train()

    empty, empty_case = _build(name, Sequential)
    out = _call(name, f"{empty_case} on input (5, 4)", empty, x)
    assert_close(name, f"{empty_case} on input (5, 4)", out, x, "with no modules, return the input unchanged")

    inner = [nn.Linear(4, 3), nn.Tanh()]
    nested, nested_case = _build(name, Sequential, Sequential(*inner), nn.Linear(3, 2))
    out = _call(name, nested_case, nested, x)
    assert_close(name, nested_case, out, nested[1](inner[1](inner[0](x))))
    names = [key for key, _ in nested.named_parameters()]
    if names != ["0.0.weight", "0.0.bias", "1.weight", "1.bias"]:
        fail(name, nested_case, f"named_parameters() gives {names}, expected ['0.0.weight', '0.0.bias', '1.weight', '1.bias']")
    passed(name, 7, ["forward", "parameter names", "len", "indexing", "eval() reaches children", "empty", "nested"])


# ---------------------------------------------------------------------- Dropout


@exercise("Dropout", seam="Dropout")
def check_dropout(Dropout):
    """Dropout(p=0.5): in training, zero each element with probability p and scale the others
    by 1/(1-p) (inverted dropout); identity in eval mode and for p=0."""
    name = "dropout"
    rng = np.random.default_rng(7)
    manual_seed(7)
    x = Tensor((rng.random((200, 500)) + 0.5).astype(np.float32))  # all nonzero

    for p in (0.5, 0.2, 0.9):
        layer, case = _build(name, Dropout, p)
        if getattr(layer, "p", None) != p:
            fail(name, case, f"layer.p is {getattr(layer, 'p', None)!r}, expected {p}", "store p as self.p")
        case = f"{case} in training mode on (200, 500)"
        out = _call(name, case, layer, x)
        if out.shape != x.shape:
            fail(name, case, f"expected shape {x.shape}, got {out.shape}")
        if out.dtype != x.dtype:
            fail(name, case, f"expected dtype {x.dtype}, got {out.dtype}", "make the mask with the input's dtype")
        kept = out.data != 0
        dropped = 1 - kept.mean()
        if abs(dropped - p) > 0.01:
            fail(name, case, f"{dropped:.1%} of the elements are zero, expected about {p:.0%}",
                 "drop an element when a uniform random number in [0, 1) is below p")
        scaled = x.data[kept] / (1 - p)
        if not np.allclose(out.data[kept], scaled, rtol=1e-5):
            ratio = float(np.median(out.data[kept] / x.data[kept]))
            fail(name, case, f"kept elements are multiplied by {ratio:.4g}, expected 1/(1-p) = {1 / (1 - p):.4g}",
                 "scale the kept elements by 1/(1-p) so the expected value stays the same")
        again = _call(name, case, layer, x)
        if np.array_equal(again.data != 0, kept):
            fail(name, case, "two calls dropped exactly the same elements", "draw a new random mask on every call")

    layer, case = _build(name, Dropout, 0.5)
    x_grad = Tensor(x.data.copy(), requires_grad=True)
    out = _call(name, f"{case}, gradient", layer, x_grad)
    if not out.requires_grad:
        fail(name, f"{case}, gradient", "the output does not require grad", "multiply the input Tensor by a mask Tensor, not x.data")
    run_hinted(name, f"{case}, gradient", lambda: out.sum().backward())
    assert_close(name, f"{case}, gradient", _grad_of(name, case, x_grad, "the input"),
                 (out.data != 0) * np.float32(2), "the gradient is the same mask: 0 or 1/(1-p)")

    layer.eval()
    out = _call(name, f"{case} after .eval()", layer, x)
    assert_close(name, f"{case} after .eval()", out, x, "in eval mode (self.training is False) return the input unchanged")
    layer.train()
    zero, zero_case = _build(name, Dropout, 0.0)
    out = _call(name, f"{zero_case} in training mode", zero, x)
    assert_close(name, f"{zero_case} in training mode", out, x, "p=0 drops nothing and scales by 1")
    passed(name, 7, ["p=0.5", "p=0.2", "p=0.9", "new mask per call", "gradient", "eval", "p=0"])
