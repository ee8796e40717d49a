"""Checks for module 18 (acceleration): a tiled matrix product, a fused bias + GELU with its
own backward, the dynamic loss-scaling rule, and the inference compiler CompiledMLP.

`matmul_tiled` is run on arrays that record the shapes of every matrix product made from
them, so a "tiled" product that multiplies whole matrices at once is caught. `bias_gelu` must
be one graph node whose parents are the input and the bias. `update_scale` is compared with
tinytorch's `LossScaler` over scripted sequences of clean and overflowing steps. A
`CompiledMLP` must compute what its source model computes (float and int8 layers), own copies
of the arrays it reads (changing the source afterwards changes nothing), keep them in their
own dtype (its size is at most the source's), and leave its input and the source untouched.
"""

import copy

import numpy as np

from .. import grad_mode, nn
from ..acceleration import LAYER_PRODUCTS, LossScaler, bias_gelu as reference_bias_gelu, matmul_blocked, next_loss_scale
from ..quantization import model_size_bytes, quantize_model
from ..tensor import Tensor
from ..course import registry
from .core import add_hints, assert_close, expect_error, fail, passed, run_learner

# Progressive hints, one tier at a time (`tinytorch.checks.hint(name)`, or a repeated failure):
# the idea, the shapes, the formula in words. Never the code.
add_hints({
    'matmul_tiled': (
        'compute the product block by block, so each block of the inputs is reused while it is in cache',
        'three loops step over M, N and K by the tile size; every product involves blocks at most tile by tile',
        'output block (i, j) accumulates the products of block (i, k) of a with block (k, j) of b over every k',
    ),
    'bias_gelu': (
        'fuse the bias add and GELU into one op with a single backward, instead of two graph nodes',
        'z = input + bias broadcasts the bias over the leading axes; the bias gradient sums over them',
        "forward: GELU(z); backward: g times GELU'(z) for the input, and that summed over all leading axes for the bias",
    ),
    'update_scale': (
        'dynamic loss scaling: shrink the scale on overflow, grow it after a run of clean steps',
        'the state is the scale and the count of clean steps since the last change',
        'overflow: scale times backoff_factor and the count restarts; clean: count + 1, and at growth_interval scale times growth_factor and the count restarts',
    ),
    'CompiledMLP': (
        'do every per-layer decision once, when compiling: lay each weight out for the product, measure which '
        'product is fastest for that layer, and keep only plain arrays; forward then just runs the steps',
        "a Linear weight (out, in) becomes its own contiguous (in, out) copy, so a batch (N, in) times it is (N, out); "
        "an int8 weight is laid out the same way and stays int8; an int8 layer's rescale is one number per output (out,)",
        'Linear: product of h and the laid-out weight, plus the bias. int8: q = clip(round(h / input_scale) + zero '
        'point) minus the zero point, an integer product with the int8 weight, times input_scale times weight_scale, '
        'plus the bias. ReLU: max(h, 0), only where the model has a ReLU',
    ),
})

exercise = registry.module("18_acceleration", "Acceleration")


# ---------------------------------------------------------------------- tiled matmul


class _Recording(np.ndarray):
    """An array that logs the operand shapes of every matrix product it takes part in."""

    log = None  # a list, set by the check

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        plain = tuple(_plain(x) for x in inputs)
        if "out" in kwargs:
            kwargs["out"] = tuple(_plain(x) for x in kwargs["out"])
        if ufunc is np.matmul and _Recording.log is not None:
            _Recording.log.append(("@", [np.shape(x) for x in plain]))
        return getattr(ufunc, method)(*plain, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        plain_args = _plain(args)
        plain_kwargs = {k: _plain(v) for k, v in kwargs.items()}
        if func in (np.dot, np.einsum, np.tensordot, np.inner, np.matmul, np.vdot) and _Recording.log is not None:
            _Recording.log.append((func.__name__, [np.shape(x) for x in plain_args if isinstance(x, np.ndarray)]))
        return func(*plain_args, **plain_kwargs)


def _plain(value):
    if isinstance(value, _Recording):
        return value.view(np.ndarray)
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def reference_matmul_tiled(a, b, tile=64):
    """tinytorch's tiled product (acceleration.matmul_blocked)."""
    return matmul_blocked(a, b, block=tile)


def _tiled_hint(a, b, tile, got):
    got = np.asarray(got)
    expected = a @ b
    if got.shape != expected.shape:
        return "the output has shape (a.shape[0], b.shape[1])"
    m, n = expected.shape
    if m > tile or n > tile or a.shape[1] > tile:
        covered = np.zeros((m, n), dtype=bool)
        covered[:(m // tile) * tile, :(n // tile) * tile] = True
        if np.allclose(got[covered], expected[covered], atol=1e-3) and not np.allclose(got, expected, atol=1e-3):
            return ("the last, partial tiles are missing: loop with range(0, m, tile) so that a final tile "
                    "shorter than `tile` is included (slices past the end are simply shorter)")
        partial = np.zeros_like(expected)
        k = a.shape[1]
        last = ((k - 1) // tile) * tile
        partial += a[:, last:] @ b[last:, :]
        if np.allclose(got, partial, atol=1e-3):
            return ("each k-tile overwrites the output tile: accumulate the products over the k tiles with +=, "
                    "starting from zeros")
    return "out[i:i+tile, j:j+tile] += a[i:i+tile, p:p+tile] @ b[p:p+tile, j:j+tile] over all tiles i, j, p"


@exercise("matmul_tiled", seam="matmul_tiled")
def check_matmul_tiled(matmul_tiled):
    """matmul_tiled(a, b, tile=64): (M, K) @ (K, N), computed tile by tile."""
    name = "matmul_tiled"
    rng = np.random.default_rng(18)
    m = lambda *shape, dtype=np.float32: rng.standard_normal(shape).astype(dtype)
    cases = [
        ("64 x 64 @ 64 x 64, tile 16", m(64, 64), m(64, 64), 16),
        ("37 x 53 @ 53 x 29, tile 16 (no size is a multiple of the tile)", m(37, 53), m(53, 29), 16),
        ("10 x 50 @ 50 x 6, tile 8 (long inner dimension)", m(10, 50), m(50, 6), 8),
        ("5 x 7 @ 7 x 3, tile 64 (one partial tile)", m(5, 7), m(7, 3), 64),
        ("3 x 4 @ 4 x 2, tile 1", m(3, 4), m(4, 2), 1),
        ("1 x 1 @ 1 x 1, tile 4", m(1, 1), m(1, 1), 4),
        ("float64 20 x 30 @ 30 x 10, tile 8", m(20, 30, dtype=np.float64), m(30, 10, dtype=np.float64), 8),
        ("empty: 0 x 4 @ 4 x 3, tile 2", m(0, 4), m(4, 3), 2),
    ]
    for case, a, b, tile in cases:
        log = _Recording.log = []
        try:
            got = run_learner(name, case, matmul_tiled, a.view(_Recording), b.view(_Recording), tile)
        finally:
            _Recording.log = None
        got = _plain(got)
        expected = a @ b
        if not isinstance(got, np.ndarray):
            fail(name, case, f"expected a NumPy array, got {type(got).__name__}")
        if got.dtype != expected.dtype:
            fail(name, case, f"expected dtype {expected.dtype}, got {got.dtype}",
                 "allocate the output with the inputs' dtype: np.zeros((m, n), dtype=np.result_type(a, b)) "
                 "(np.zeros alone gives float64)")
        scale = 1e-5 if expected.dtype == np.float64 else 1e-4
        hint = _tiled_hint(a, b, tile, got) if got.shape == expected.shape and not np.allclose(
            got, expected, atol=scale * max(1, a.shape[1]), rtol=1e-4) else "the output has shape (a.shape[0], b.shape[1])"
        assert_close(name, case, got, expected, hint, atol=scale * max(1, a.shape[1]), rtol=1e-4)
        too_big = [(kind, shapes) for kind, shapes in log if any(d > tile for shape in shapes for d in shape)]
        if too_big:
            kind, shapes = too_big[0]
            fail(name, case, f"one product ({kind}) took operands of shapes {' and '.join(map(str, shapes))}, "
                             f"larger than tile = {tile}",
                 "multiply tile by tile: every operand is a slice of at most tile x tile, e.g. a[i:i+tile, p:p+tile]")
    passed(name, len(cases), [case for case, *_ in cases])


# ---------------------------------------------------------------------- fused bias + GELU


def _gelu_cases():
    rng = np.random.default_rng(7)
    r = lambda *shape, scale=1.0, dtype=np.float32: (rng.standard_normal(shape) * scale).astype(dtype)
    return [
        ("input (4, 8), bias (8,)", r(4, 8), r(8)),
        ("input (2, 3, 5), bias (5,): bias broadcast over two leading dims", r(2, 3, 5), r(5)),
        ("input (1, 1), bias (1,)", r(1, 1), r(1)),
        ("large magnitudes: input (3, 6) * 12", r(3, 6, scale=12.0), r(6, scale=3.0)),
        ("float64 input (5, 4), bias (4,)", r(5, 4, dtype=np.float64), r(4, dtype=np.float64)),
    ]


@exercise("bias_gelu", seam="bias_gelu")
def check_bias_gelu(bias_gelu):
    """bias_gelu(input, bias): gelu_tanh(input + bias) as ONE graph node, with its own backward."""
    name = "bias_gelu"
    cases = _gelu_cases()
    for case, x_data, b_data in cases:
        x = Tensor(x_data.copy(), requires_grad=True)
        b = Tensor(b_data.copy(), requires_grad=True)
        got = run_learner(name, case, bias_gelu, x, b, strict_float=True)
        rx, rb = Tensor(x_data.copy(), requires_grad=True), Tensor(b_data.copy(), requires_grad=True)
        expected = reference_bias_gelu(rx, rb)
        if not isinstance(got, Tensor):
            fail(name, case, f"expected a Tensor, got {type(got).__name__}",
                 "return Tensor._result(out, (input, bias), backward, 'BiasGeluBackward')")
        if got.data.dtype != x_data.dtype:
            fail(name, case, f"expected dtype {x_data.dtype}, got {got.data.dtype}",
                 "keep the input's dtype: NumPy scalars such as np.sqrt(2 / np.pi) are float64 and upcast "
                 "float32 arrays; use Python floats (math.sqrt) for the constants")
        atol = 1e-5 if x_data.dtype == np.float32 else 1e-9
        assert_close(name, case + ", forward", got, expected,
                     "0.5 * z * (1 + tanh(sqrt(2 / pi) * (z + 0.044715 * z**3))) with z = input + bias",
                     atol=atol * 10, rtol=1e-4)
        parents = tuple(got._parents or ())
        if len(parents) != 2 or parents[0] is not x or parents[1] is not b:
            parents = [getattr(p, "grad_fn", None) or "leaf" for p in parents]
            fail(name, case, f"the result should be ONE graph node whose parents are (input, bias); its parents "
                             f"are {len(parents)} tensors ({', '.join(map(str, parents)) or 'none'})",
                 "fusion: compute the forward in NumPy on input.data and bias.data, and record a single node "
                 "with Tensor._result(out, (input, bias), backward, name)")
        rng = np.random.default_rng(1)
        upstream = rng.standard_normal(x_data.shape).astype(x_data.dtype)
        try:
            (got * Tensor(upstream)).sum().backward()
        except NotImplementedError:
            fail(name, case, "backward is not implemented yet")
        except Exception as error:
            fail(name, case, f"backward raised {type(error).__name__}: {error}",
                 "backward(g) returns (grad_input, grad_bias): g * gelu'(z), and its sum over every leading dim "
                 "for the bias")
        (expected * Tensor(upstream)).sum().backward()
        if x.grad is None or b.grad is None:
            fail(name, case, "backward left input.grad or bias.grad empty",
                 "backward(g) must return one gradient per parent: (grad_input, grad_bias)")
        if b.grad.shape != b.shape:
            fail(name, case, f"bias gradient has shape {tuple(b.grad.shape)}, expected {tuple(b.shape)}",
                 "the bias was broadcast over every leading dim: sum g * gelu'(z) over all axes but the last")
        slope = "gelu'(z) = 0.5 (1 + t) + 0.5 z (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 z^2), t = tanh(...)"
        assert_close(name, case + ", input gradient", x.grad, rx.grad,
                     f"grad_input = g * gelu'(z) with {slope}", atol=atol * 100, rtol=1e-4)
        assert_close(name, case + ", bias gradient", b.grad, rb.grad,
                     "grad_bias = the input gradient summed over all leading axes", atol=atol * 100, rtol=1e-4)
    case = "bias without requires_grad, called under no_grad"
    x = Tensor(cases[0][1], requires_grad=True)
    frozen = Tensor(cases[0][2])
    got = run_learner(name, case, bias_gelu, x, frozen)
    got.sum().backward()
    expected = Tensor(cases[0][1].copy(), requires_grad=True)
    reference_bias_gelu(expected, Tensor(cases[0][2])).sum().backward()  # its grad: gelu'(input + bias)
    assert_close(name, case, x.grad, expected.grad, atol=1e-4)
    with grad_mode.no_grad():
        quiet = run_learner(name, case, bias_gelu, x, frozen)
    if quiet.requires_grad:
        fail(name, case, "under no_grad the result should not record a graph",
             "Tensor._result records only when grad mode is on; build the result with it")
    passed(name, len(cases) + 1, [case for case, *_ in cases] + [case])


# ---------------------------------------------------------------------- loss scaling


reference_update_scale = next_loss_scale  # the update_scale seam: tinytorch's own rule


def _scaler_after(flags, **options):
    """The (scale, good steps) LossScaler reaches after each flag in `flags` (True = overflow)."""
    scaler = LossScaler(**options)
    states = []
    for flag in flags:
        scaler._found_inf = bool(flag)  # what unscale_ would have found
        scaler.update()
        states.append((scaler.get_scale(), scaler._good_steps))
    return states


@exercise("update_scale", seam="update_scale")
def check_update_scale(update_scale):
    """update_scale(scale, good_steps, found_inf, growth_factor=2.0, backoff_factor=0.5,
    growth_interval=2000) -> (new_scale, new_good_steps)."""
    name = "update_scale"
    o, x = False, True  # a clean step, an overflow
    cases = [
        ("an overflow on the first step", [x], {}),
        ("three overflows in a row", [x, x, x], {}),
        ("clean steps, growth_interval=3: grows on the 3rd", [o, o, o, o, o, o, o], {"growth_interval": 3}),
        ("an overflow restarts the count of clean steps", [o, o, x, o, o, o, o], {"growth_interval": 3}),
        ("growth_interval=1: grows after every clean step", [o, o, x, o], {"growth_interval": 1}),
        ("growth_factor=4, backoff_factor=0.25, interval 2", [o, o, x, o, x, o, o], {"growth_factor": 4.0,
                                                                                   "backoff_factor": 0.25,
                                                                                   "growth_interval": 2}),
        ("default interval (2000): 5 clean steps only count", [o, o, o, o, o], {}),
    ]
    for case, flags, options in cases:
        scale, good = 2.0 ** 16, 0
        for step, (flag, (want_scale, want_good)) in enumerate(zip(flags, _scaler_after(flags, **options))):
            label = f"{case}, step {step + 1} ({'overflow' if flag else 'clean'}; before: scale {scale:g}, good_steps {good})"
            got = run_learner(name, label, update_scale, scale, good, flag, *[options.get(k, d) for k, d in (
                ("growth_factor", 2.0), ("backoff_factor", 0.5), ("growth_interval", 2000))])
            if not isinstance(got, (tuple, list)) or len(got) != 2:
                fail(name, label, f"expected a pair (new_scale, new_good_steps), got {got!r}", "return scale, good_steps")
            got_scale, got_good = float(got[0]), got[1]
            if got_scale != want_scale or got_good != want_good:
                if flag:
                    hint = "after an overflow: scale * backoff_factor, and the count of clean steps starts again at 0"
                elif want_scale > scale:
                    hint = ("after growth_interval clean steps in a row: scale * growth_factor, and the count "
                            "restarts at 0 (count this step first, then compare with growth_interval)")
                else:
                    hint = "a clean step adds 1 to good_steps; the scale only changes when it reaches growth_interval"
                fail(name, label, f"expected (scale {want_scale:g}, good_steps {want_good}), "
                                  f"got (scale {got_scale:g}, good_steps {got_good})", hint)
            scale, good = got_scale, got_good
    passed(name, len(cases), [case for case, *_ in cases])


# ---------------------------------------------------------------------- the inference compiler


class _NumbersQuantizedLinear(nn.Module):
    """An int8 Linear with module 15's interface, where input_scale and input_zero_point are
    plain numbers (tinytorch's QuantizedLinear keeps them as 0-d Tensors)."""

    def __init__(self, layer):
        super().__init__()
        self.in_features, self.out_features = layer.in_features, layer.out_features
        self.input_scale, self.input_zero_point = float(layer.input_scale), int(layer.input_zero_point)
        for key in ("weight", "weight_scale", "bias"):
            self.register_buffer(key, Tensor(getattr(layer, key).data.copy()))
        self.reference = [copy.deepcopy(layer)]  # a list: not a submodule, its bytes are not this layer's

    def forward(self, x):
        return self.reference[0](x)


def _seeded_mlp(widths, seed, final_relu=False):
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        linear = nn.Linear(n_in, n_out)
        linear.weight.data = (rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(np.float32)
        linear.bias.data = rng.standard_normal(n_out).astype(np.float32)
        layers += [linear, nn.ReLU()]
    return nn.Sequential(*(layers if final_relu else layers[:-1]))


def _compiler_cases():
    rng = np.random.default_rng(181)
    x = lambda n, f: rng.standard_normal((n, f)).astype(np.float32)
    calibration = x(64, 20)
    int8 = quantize_model(_seeded_mlp((20, 16, 8, 3), 3), [Tensor(calibration)])
    numbers = nn.Sequential(*[_NumbersQuantizedLinear(layer) if hasattr(layer, "weight_scale") else layer
                              for layer in int8])
    return [
        ("float MLP 64 -> 32 -> 16 -> 10", _seeded_mlp((64, 32, 16, 10), 0), x(37, 64)),
        ("square float layers 12 -> 12 -> 12", _seeded_mlp((12, 12, 12), 1), x(5, 12)),
        ("one Linear 6 -> 4, no ReLU (outputs keep their sign)", _seeded_mlp((6, 4), 2), x(9, 6)),
        ("int8 MLP 20 -> 16 -> 8 -> 3 (tinytorch's quantize_model)", int8, calibration[:40]),
        ("int8 MLP whose layers keep input_scale and input_zero_point as numbers (module 15's interface)",
         numbers, calibration[:40]),
    ]


def _arrays(model):
    return [t.data for t in list(model.parameters()) + list(model.buffers())]


def _matrix_layers(model):
    return [layer for layer in model if not isinstance(layer, nn.ReLU)]


def _compiled_hint(model, x, got):
    """What the learner's output looks like, compared with the model's variants."""
    with grad_mode.no_grad():
        expected = model(Tensor(x)).data
    if got.shape == expected.shape and np.allclose(got, np.maximum(expected, 0), atol=1e-4) \
            and not isinstance(list(model)[-1], nn.ReLU):
        return "a ReLU step only where the model has a ReLU layer: the last layer's outputs keep their sign"
    last = _matrix_layers(model)[-1]
    if not hasattr(last, "weight_scale") and got.shape == expected.shape:
        unbiased = copy.deepcopy(model)
        for layer in _matrix_layers(unbiased):
            layer.bias.data[...] = 0
        with grad_mode.no_grad():
            if np.allclose(got, unbiased(Tensor(x)).data, atol=1e-4):
                return "every layer adds its bias after its product"
    if hasattr(last, "weight_scale"):
        return ("an int8 layer: quantize h with input_scale and the zero point, subtract the zero point again, "
                "multiply in integers, then scale each output by input_scale times weight_scale and add the bias")
    return "each Linear step computes h times the (in, out) copy of the weight, plus the bias; ReLU steps clip at 0"


@exercise("CompiledMLP", seam="CompiledMLP", interface="CompiledMLP(model, batch=32)")
def check_compiled_mlp(CompiledMLP):
    """CompiledMLP(model, batch=32): an inference-only copy of an MLP (Linear, int8 Linear and
    ReLU layers) as NumPy steps; `choices` names the product chosen for each matrix layer."""
    name = "CompiledMLP"
    cases = _compiler_cases()
    for case, model, x in cases:
        before = [a.copy() for a in _arrays(model)]
        with grad_mode.no_grad():
            expected = model(Tensor(x)).data
        compiled = run_learner(name, case + " (compiling)", CompiledMLP, model)
        if any(not np.array_equal(a, b) for a, b in zip(before, _arrays(model))):
            fail(name, case, "compiling changed the source model's weights",
                 "combine scales and lay out weights into new arrays; never modify the source layers' arrays in place")
        if not isinstance(compiled, nn.Module):
            fail(name, case, f"expected a Module, got {type(compiled).__name__}",
                 "CompiledMLP is an nn.Module: its arrays are buffers, so the model's size counts them")
        for rows in (x, x[:1]):
            label = f"{case}, {len(rows)} input{'s' if len(rows) > 1 else ''}"
            given = rows.copy()
            got = run_learner(name, label, compiled, Tensor(given))
            if not np.array_equal(given, rows):
                fail(name, label, "forward changed its input", "work on new arrays: never write into input.data")
            if not isinstance(got, Tensor):
                fail(name, label, f"forward should return a Tensor, got {type(got).__name__}", "return Tensor(h)")
            if got.dtype != np.float32:
                fail(name, label, f"expected a float32 output, got {got.dtype}",
                     "keep float32: int8 weights stay int8 in memory and the integer sums become float32 before "
                     "the rescale")
            want = expected[:len(rows)]
            hint = _compiled_hint(model, rows, got.data) if got.shape == want.shape else None
            assert_close(name, label, got, want, hint, atol=1e-5, rtol=1e-4)
            again = run_learner(name, label + ", called again", compiled, Tensor(rows.copy()))
            if not np.array_equal(again.data, got.data):
                fail(name, label, "a second call gave another result: forward changed an array its steps keep",
                     "compute into new arrays (the product's result is new; add the bias to it, not it to the bias)")
        if any(not np.array_equal(a, b) for a, b in zip(before, _arrays(model))):
            fail(name, case, "running the compiled model changed the source model's weights",
                 "combine scales and lay out weights into new arrays; never modify the source layers' arrays in place")
        choices = getattr(compiled, "choices", None)
        layers = _matrix_layers(model)
        if not isinstance(choices, list) or len(choices) != len(layers) or any(c not in LAYER_PRODUCTS for c in choices):
            fail(name, case, f"self.choices should list one of {list(LAYER_PRODUCTS)} per Linear layer "
                             f"({len(layers)}), got {choices!r}",
                 "for each Linear layer, append the name choose_fastest returned")
        weights = sum(layer.weight.data.nbytes + layer.bias.data.nbytes for layer in layers)
        size, source = model_size_bytes(compiled), model_size_bytes(model)
        if not weights <= size <= source:
            fail(name, case, f"the compiled model holds {size:,} bytes of buffers; expected between {weights:,} "
                             f"(its weights and biases) and {source:,} (the source model)",
                 "register every weight, bias and scale the steps read as a buffer, each in its own dtype (int8 "
                 "weights stay int8)" if size > source else
                 "register the arrays the steps read as buffers, so that the model's size counts them")
        for a in _arrays(model):
            a[...] = 0  # the compiled model must not notice: it owns its arrays
        with grad_mode.no_grad():
            after = run_learner(name, case + ", after the source model was zeroed", compiled, Tensor(x.copy()))
        if not np.allclose(np.asarray(after.data), expected, atol=1e-5, rtol=1e-4):
            fail(name, case, "zeroing the source model's weights afterwards changed the compiled model's output: "
                             "it reads the source's arrays (a transpose is a view of them)",
                 "keep a contiguous copy of each laid-out weight, and copies of the biases and scales")
    case = "a model with a Tanh layer"
    expect_error(name, case, lambda: CompiledMLP(nn.Sequential(nn.Linear(3, 2), nn.Tanh())), TypeError,
                 "raise a TypeError naming any layer that is neither Linear, an int8 Linear nor ReLU")
    passed(name, len(cases) + 1, [case for case, *_ in cases] + [case])
