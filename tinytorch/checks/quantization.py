"""Checks for module 15 (quantization): quantization parameters, quantize / dequantize on NumPy
arrays, and an int8 `QuantizedLinear` class compared with `tinytorch.quantization`'s.

Conventions (as in tinytorch and PyTorch): x ~ scale * (q - zero_point); symmetric uses the
integers [-(2^(b-1) - 1), 2^(b-1) - 1] with zero_point 0, asymmetric [-2^(b-1), 2^(b-1) - 1];
the range always contains 0.0; rounding is np.round (halves to even).
"""

import numpy as np

from .. import grad_mode, nn
from .. import seams
from ..quantization.qparams import calculate_qparams as _library_calculate_qparams, integer_range
from ..quantization.qparams import quantize_with
from ..random import manual_seed
from ..tensor import Tensor
from ..course import registry
from .core import add_hints, assert_close, fail, passed, run_learner

# Progressive hints, one tier at a time (`tinytorch.checks.hint(name)`, or a repeated failure):
# the idea, the shapes, the formula in words. Never the code.
add_hints({
    'calculate_qparams': (
        'map the float range onto the int8 range: a scale (floats per step) and a zero point (the int that means 0.0)',
        'the range must contain 0; symmetric uses -qmax..qmax with zero point 0; a zero range needs a scale that is not 0',
        'qmax = 2^(bits-1) - 1; symmetric: scale = max|value| / qmax; asymmetric: scale = (max - min) / (qmax - qmin) and zero_point = qmin - round(min / scale)',
    ),
    'quantize': (
        'divide by the scale, round to the nearest step, shift by the zero point, and keep it inside the int8 range',
        'scale and zero point broadcast against x (per tensor or per row); the result is int8',
        'q = clip(round(x / scale) + zero_point, qmin, qmax) as int8 (clip before the cast, or values wrap around)',
    ),
    'dequantize': (
        'undo the shift and the scaling',
        'compute in a wider integer type first, so subtracting the zero point cannot overflow int8; the result is float32',
        'x = (q - zero_point) times scale',
    ),
    'QuantizedLinear': (
        'store the weight as int8 with one scale per output row; at run time quantize the input and do the product in integers',
        'weight (out, in) int8 with scale (out,); input rows (N, in); the integer accumulator is int32',
        "acc = (q_x - zp_x) times q_W^T in int32; out = acc times (input_scale times weight_scale) plus bias, in float32, reshaped to x's leading dims",
    ),
})

exercise = registry.module("15_quantization", "Quantization")


def _pair(name, case, got):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(name, case, f"expected a pair (scale, zero_point), got {type(got).__name__}", "return scale, zero_point")
    return np.asarray(got[0], dtype=np.float64), np.asarray(got[1])


# ---------------------------------------------------------------------- calculate_qparams


@exercise("calculate_qparams", seam="calculate_qparams")
def check_calculate_qparams(calculate_qparams):
    """calculate_qparams(min_val, max_val, symmetric=True, num_bits=8) -> (scale, zero_point)."""
    name = "calculate_qparams"
    cases = [
        ("symmetric, range (-1, 2)", (-1.0, 2.0, True, 8)),
        ("symmetric, range (-3, 0.5)", (-3.0, 0.5, True, 8)),
        ("asymmetric, range (-1, 3)", (-1.0, 3.0, False, 8)),
        ("asymmetric, all positive (0.5, 4): the range must still contain 0", (0.5, 4.0, False, 8)),
        ("asymmetric, all negative (-6, -2)", (-6.0, -2.0, False, 8)),
        ("symmetric, all positive (1, 5)", (1.0, 5.0, True, 8)),
        ("asymmetric, 4 bits, range (-0.2, 1)", (-0.2, 1.0, False, 4)),
        ("symmetric, 4 bits, range (-2, 1)", (-2.0, 1.0, True, 4)),
        ("all-zero range (0, 0): any scale works, use 1.0", (0.0, 0.0, False, 8)),
        ("per-channel arrays, symmetric", (np.array([-1.0, -0.1, 0.0]), np.array([0.5, 0.3, 2.0]), True, 8)),
        ("per-channel arrays, asymmetric", (np.array([-1.0, 0.2, -4.0]), np.array([1.0, 0.6, 0.0]), False, 8)),
    ]
    for case, (low, high, symmetric, bits) in cases:
        got = run_learner(name, case, calculate_qparams, low, high, symmetric, bits, strict_float=True)
        scale, zero_point = _pair(name, case, got)
        want_scale, want_zero = _library_calculate_qparams(low, high, symmetric, bits)
        qmin, qmax = integer_range(symmetric, bits)
        hint = (f"symmetric: scale = max(|min|, |max|) / {qmax}, zero_point 0" if symmetric else
                f"asymmetric: scale = (max - min) / ({qmax} - ({qmin})), zero_point = round({qmin} - min / scale)")
        if np.shape(scale) != np.shape(want_scale) and np.ndim(want_scale):
            fail(name, case, f"expected per-channel scales of shape {np.shape(want_scale)}, got shape {np.shape(scale)}",
                 "use elementwise NumPy (np.minimum, np.maximum, np.round, np.clip), not Python's min/max or if")
        if "positive" in case or "negative" in case:
            hint = "first widen the range to contain 0: min = np.minimum(min, 0), max = np.maximum(max, 0). " + hint
        if "4 bits" in case:
            hint = f"with num_bits=b the integers are [-2^(b-1), 2^(b-1) - 1] (symmetric: from -(2^(b-1) - 1)). " + hint
        if "all-zero" in case:
            hint = "max - min is 0 here: where the scale would be 0, use 1.0 instead (np.where(scale > 0, scale, 1.0))"
        if symmetric and np.allclose(scale, np.maximum(np.abs(low), np.abs(high)) / (qmax + 1)):
            hint = f"symmetric quantization uses +-{qmax} (not {qmax + 1}), so that -x and x get opposite integers"
        assert_close(name, case + ", scale", scale, want_scale, hint, atol=1e-9, rtol=1e-6)
        if not np.all(np.asarray(zero_point) == np.round(np.asarray(zero_point, dtype=np.float64))):
            fail(name, case, f"zero_point {zero_point} is not a whole number", "zero_point = np.round(...) (an integer)")
        assert_close(name, case + ", zero_point", np.asarray(zero_point, dtype=np.float64),
                     want_zero.astype(np.float64), hint + f"; the zero point is an integer in [{qmin}, {qmax}]", atol=0)
    passed(name, len(cases), [case.split(":")[0] for case, _ in cases])


# ---------------------------------------------------------------------- quantize / dequantize


def _quantize_cases():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((4, 6)).astype(np.float32)
    channel_scale = (np.abs(w).max(axis=1) / 127).astype(np.float32)[:, None]  # (4, 1)
    return [
        ("asymmetric, within range", rng.uniform(-1, 3, 20).astype(np.float32), 4 / 255, -64, 8, False),
        ("values far outside the range are clipped", np.array([-1000.0, -2.0, 0.0, 2.0, 1000.0], np.float32),
         0.01, 0, 8, False),
        ("symmetric clips at -127, not -128", np.array([-1000.0, -1.27, 1.27, 1000.0], np.float32), 0.01, 0, 8, True),
        ("halves round to even (as np.round and PyTorch do)", np.array([0.5, 1.5, 2.5, -0.5, -1.5], np.float32),
         1.0, 0, 8, False),
        ("zero point 10: 0.0 maps to 10", np.array([0.0, 0.1, -0.1, 1.0], np.float32), 0.1, 10, 8, False),
        ("per-channel scales (4, 1) for a (4, 6) weight", w, channel_scale, 0, 8, True),
        ("4 bits: integers in [-8, 7]", np.linspace(-1.2, 1.2, 9).astype(np.float32), 0.1, 0, 4, False),
        ("empty array", np.zeros((0, 3), np.float32), 0.5, 0, 8, False),
    ]


@exercise("quantize", seam="quantize")
def check_quantize(quantize):
    """quantize(x, scale, zero_point, num_bits=8, symmetric=False) -> int8 array."""
    name = "quantize"
    cases = _quantize_cases()
    for case, x, scale, zero_point, bits, symmetric in cases:
        got = run_learner(name, case, quantize, x.copy(), scale, zero_point, bits, symmetric)
        expected = quantize_with(x, np.asarray(scale), np.asarray(zero_point), bits, symmetric)
        qmin, qmax = integer_range(symmetric, bits)
        if not isinstance(got, np.ndarray) or got.dtype != np.int8:
            kind = f"{got.dtype} array" if isinstance(got, np.ndarray) else type(got).__name__
            fail(name, case, f"expected an int8 array, got {kind}", "finish with .astype(np.int8), after clipping")
        hint = f"q = clip(round(x / scale) + zero_point, {qmin}, {qmax}), then .astype(np.int8)"
        if "clipped" in case or "symmetric clips" in case or "4 bits" in case:
            hint = (f"clip to [{qmin}, {qmax}] BEFORE casting: .astype(np.int8) of 1000 does not saturate (out-of-range "
                    f"casts give unrelated numbers)" + ("; symmetric uses -127 as the lowest integer" if symmetric else ""))
        if "halves" in case:
            hint = "use np.round (halves go to the even neighbour: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2), not floor(x + 0.5)"
        assert_close(name, case, got.astype(np.int32), expected.astype(np.int32), hint, atol=0)
    passed(name, len(cases), [case for case, *_ in cases])


@exercise("dequantize", seam="dequantize")
def check_dequantize(dequantize):
    """dequantize(q, scale, zero_point) -> float32 array scale * (q - zero_point)."""
    name = "dequantize"
    rng = np.random.default_rng(4)
    q_full = np.array([-128, -1, 0, 1, 127], dtype=np.int8)
    q_w = rng.integers(-127, 128, (3, 5)).astype(np.int8)
    cases = [
        ("zero point 0", q_full, 0.05, 0),
        ("zero point -128 (a Python int): q - zero_point reaches 255", q_full, 0.02, -128),
        ("zero point 100", q_full, 0.5, 100),
        ("per-channel scales (3, 1)", q_w, np.array([[0.1], [0.01], [1.0]], np.float32), 0),
        ("empty", np.zeros((0,), np.int8), 0.1, 3),
    ]
    for case, q, scale, zero_point in cases:
        got = run_learner(name, case, dequantize, q.copy(), scale, zero_point)
        expected = (q.astype(np.int32) - zero_point) * np.asarray(scale, np.float32)
        expected = expected.astype(np.float32)
        if not isinstance(got, np.ndarray) or got.dtype != np.float32:
            kind = f"{got.dtype} array" if isinstance(got, np.ndarray) else type(got).__name__
            fail(name, case, f"expected a float32 array, got {kind}",
                 "dequantized values are float32, like the model's weights: .astype(np.float32)")
        hint = "scale * (q - zero_point)"
        wrapped = ((q - np.int8(zero_point) if -128 <= zero_point <= 127 else q) * np.float32(1)).astype(np.float32)
        if "-128" in case and got.shape == expected.shape and np.allclose(got, wrapped * np.float32(scale)):
            hint = ("q - zero_point overflowed int8 (127 - (-128) = 255 wraps to -1): widen first, "
                    "q.astype(np.int32) - zero_point")
        assert_close(name, case, got, expected, hint, atol=1e-6, rtol=1e-6)
    passed(name, len(cases), [case.split(":")[0] for case, *_ in cases])


# ---------------------------------------------------------------------- QuantizedLinear


def _layer_cases():
    manual_seed(5)
    rng = np.random.default_rng(5)
    x = lambda *shape, spread=1.0: Tensor((rng.standard_normal(shape) * spread).astype(np.float32))
    relu_input = Tensor(np.abs(rng.standard_normal((6, 16))).astype(np.float32))
    return [
        # (case, linear, calibration input, test input)
        ("Linear(16, 8), batch (6, 16)", nn.Linear(16, 8), x(32, 16), x(6, 16)),
        ("Linear(16, 8, bias=False)", nn.Linear(16, 8, bias=False), x(32, 16), x(6, 16)),
        ("ReLU outputs as input (all >= 0)", nn.Linear(16, 4), relu_input, relu_input),
        ("inputs beyond the calibrated range", nn.Linear(16, 8), x(32, 16), x(6, 16, spread=5.0)),
        ("sequence input (2, 3, 16)", nn.Linear(16, 5), x(32, 16), x(2, 3, 16)),
        ("a wide layer Linear(256, 4) (int8 sums overflow)", nn.Linear(256, 4), x(16, 256), x(4, 256)),
    ]


def _calibrate(x):
    return _library_calculate_qparams(float(x.data.min()), float(x.data.max()), symmetric=False)


def _find_int8_weight(layer, shape):
    weight = getattr(layer, "weight", None)
    array = weight.data if isinstance(weight, Tensor) else weight
    if not isinstance(array, np.ndarray):
        return None
    return array if array.dtype == np.int8 and array.shape == shape else None


@exercise("QuantizedLinear", seam="QuantizedLinear")
def check_quantized_linear(QuantizedLinear):
    """QuantizedLinear(linear, input_scale, input_zero_point): int8 weights (per output channel,
    symmetric) in the buffer `weight`, int8 inputs, int32 accumulation, float32 output."""
    name = "QuantizedLinear"
    cases = _layer_cases()
    for case, linear, calibration, x in cases:
        scale, zero_point = _calibrate(calibration)
        scale, zero_point = float(scale), int(zero_point)
        layer = run_learner(name, case + " (constructor)", QuantizedLinear, linear, scale, zero_point)
        reference = seams.tinytorch("QuantizedLinear")(linear, scale, zero_point)
        out_features, in_features = linear.weight.shape
        stored = _find_int8_weight(layer, (out_features, in_features))
        if stored is None:
            got = getattr(layer, "weight", None)
            what = (f"{got.dtype} of shape {got.shape}" if isinstance(got, (Tensor, np.ndarray)) else type(got).__name__)
            fail(name, case, f"self.weight should be the int8 weight of shape {(out_features, in_features)}, got {what}",
                 "self.register_buffer('weight', Tensor(q)) with q the int8 array from your quantize()")
        assert_close(name, case + ", stored int8 weight", stored.astype(np.int32), reference.weight.data.astype(np.int32),
                     "per output channel (each row of the weight): symmetric, scale = max |row| / 127, zero_point 0",
                     atol=0)
        floats = [t for t in list(layer.parameters()) + list(layer.buffers())
                  if np.issubdtype(t.dtype, np.floating) and t.data.size >= out_features * in_features > out_features]
        if floats:
            fail(name, case, f"the layer also keeps a float tensor of shape {floats[0].shape}: it is no smaller "
                             "than the float layer", "store only the int8 weight, its scales and the bias")
        with grad_mode.no_grad():
            got = run_learner(name, case, layer, x)
            expected = reference(x)
        if not isinstance(got, Tensor):
            fail(name, case, f"forward should return a Tensor, got {type(got).__name__}", "return Tensor(out)")
        if got.dtype != np.float32:
            fail(name, case, f"expected a float32 output, got {got.dtype}", "rescale the int32 sums into float32")
        hint = ("q_x = quantize(x, input_scale, input_zero_point); acc = (q_x - zero point) @ q_w.T in int32; "
                "out = acc * (input_scale * weight_scale) + bias")
        if got.shape == expected.shape:
            qx = quantize_with(x.data, scale, zero_point, 8, symmetric=False).reshape(-1, in_features)
            wrapped = ((qx - np.int8(zero_point)) @ stored.T).astype(np.int8)  # all-int8 arithmetic
            rescaled = wrapped.astype(np.float32) * scale * reference.weight_scale.data
            if linear.bias is not None:
                rescaled = rescaled + linear.bias.data
            if np.allclose(got.data.reshape(rescaled.shape), rescaled, atol=1e-5):
                hint = ("the int8 products and sums overflowed: cast both int8 operands with .astype(np.int32) "
                        "before subtracting the zero point and multiplying")
        assert_close(name, case, got, expected, hint, atol=1e-5, rtol=1e-5)
    passed(name, len(cases), [case for case, *_ in cases])
