"""Module 15 checks: right solutions pass; stubs and typical mistakes fail with a useful report."""

import numpy as np
import pytest

from tinytorch import Tensor
from tinytorch.checks import check_calculate_qparams, check_dequantize, check_quantize, check_quantized_linear

from solutions import load_solution


# The notebook's own solutions, so the course as shipped is what passes the checks.
calculate_qparams, quantize, dequantize, QuantizedLinear = load_solution("15_quantization", "calculate_qparams", "quantize", "dequantize", "QuantizedLinear")


@pytest.mark.parametrize("check, solution", [
    (check_calculate_qparams, calculate_qparams), (check_quantize, quantize), (check_dequantize, dequantize),
    (check_quantized_linear, QuantizedLinear),
])
def test_solution_passes_and_stub_fails(check, solution, passes_and_stub_fails):
    passes_and_stub_fails(check, solution)


# ---------------------------------------------------------------------- calculate_qparams

def test_range_without_zero_fails(failure):
    def no_zero(min_val, max_val, symmetric=True, num_bits=8):
        qmax = 2 ** (num_bits - 1) - 1
        qmin = -qmax if symmetric else -qmax - 1
        low, high = np.asarray(min_val, float), np.asarray(max_val, float)
        scale = np.maximum(-low, high) / qmax if symmetric else (high - low) / (qmax - qmin)
        scale = np.where(scale > 0, scale, 1.0)
        zp = np.zeros_like(scale) if symmetric else np.clip(np.round(qmin - low / scale), qmin, qmax)
        return scale, zp

    assert "contain 0" in failure(check_calculate_qparams, no_zero)


def test_symmetric_with_128_fails(failure):
    def wide(min_val, max_val, symmetric=True, num_bits=8):
        scale, zp = calculate_qparams(min_val, max_val, symmetric, num_bits)
        return (scale * 127 / 128 if symmetric else scale), zp

    assert "+-127 (not 128)" in failure(check_calculate_qparams, wide)


def test_division_by_a_zero_range_fails(failure):
    def no_guard(min_val, max_val, symmetric=True, num_bits=8):
        qmax = 2 ** (num_bits - 1) - 1
        qmin = -qmax if symmetric else -qmax - 1
        low, high = np.minimum(min_val, 0.0), np.maximum(max_val, 0.0)
        scale = np.maximum(-low, high) / qmax if symmetric else (high - low) / (qmax - qmin)
        zp = np.zeros_like(scale) if symmetric else np.clip(np.round(qmin - low / scale), qmin, qmax)
        return scale, zp

    message = failure(check_calculate_qparams, no_guard)
    assert "all-zero range" in message


def test_zero_point_sign_error_fails(failure):
    def flipped(min_val, max_val, symmetric=True, num_bits=8):
        scale, zp = calculate_qparams(min_val, max_val, symmetric, num_bits)
        return scale, -zp

    assert "zero_point = round" in failure(check_calculate_qparams, flipped)


def test_fixed_8_bits_fails(failure):
    message = failure(check_calculate_qparams, lambda lo, hi, symmetric=True, num_bits=8: calculate_qparams(lo, hi, symmetric))
    assert "num_bits=b" in message


# ---------------------------------------------------------------------- quantize

def test_casting_without_clipping_fails(failure):
    def wraps(x, scale, zero_point, num_bits=8, symmetric=False):
        return (np.round(x / scale) + zero_point).astype(np.int8)

    assert "BEFORE casting" in failure(check_quantize, wraps)


def test_rounding_halves_up_fails(failure):
    def half_up(x, scale, zero_point, num_bits=8, symmetric=False):
        qmax = 2 ** (num_bits - 1) - 1
        qmin = -qmax if symmetric else -qmax - 1
        return np.clip(np.floor(x / scale + 0.5) + zero_point, qmin, qmax).astype(np.int8)

    assert "halves go to the even" in failure(check_quantize, half_up)


def test_truncating_instead_of_rounding_fails(failure):
    def truncate(x, scale, zero_point, num_bits=8, symmetric=False):
        qmax = 2 ** (num_bits - 1) - 1
        qmin = -qmax if symmetric else -qmax - 1
        return np.clip((x / scale).astype(np.int32) + zero_point, qmin, qmax).astype(np.int8)

    failure(check_quantize, truncate)


def test_symmetric_flag_ignored_fails(failure):
    message = failure(check_quantize, lambda x, s, z, num_bits=8, symmetric=False: quantize(x, s, z, num_bits))
    assert "-127" in message


def test_returning_int32_fails(failure):
    def wide(*args):
        return quantize(*args).astype(np.int32)

    assert "expected an int8 array" in failure(check_quantize, wide)


# ---------------------------------------------------------------------- dequantize

def test_int8_overflow_in_dequantize_fails(failure):
    message = failure(check_dequantize, lambda q, scale, zp: ((q - zp) * np.float32(scale)).astype(np.float32))
    assert "overflowed int8" in message


def test_float64_output_fails(failure):
    message = failure(check_dequantize, lambda q, scale, zp: (q.astype(np.int32) - zp) * np.float64(1) * scale)
    assert "float32" in message


def test_adding_the_zero_point_fails(failure):
    failure(check_dequantize, lambda q, scale, zp: ((q.astype(np.int32) + zp) * scale).astype(np.float32))


# ---------------------------------------------------------------------- QuantizedLinear

class Int8Accumulator(QuantizedLinear):
    def forward(self, x):
        in_features = self.weight.shape[1]
        qx = quantize(x.data, self.input_scale, self.input_zero_point).reshape(-1, in_features)
        acc = (qx - np.int8(self.input_zero_point)) @ self.weight.data.T  # int8 all the way
        out = acc.astype(np.float32) * (np.float32(self.input_scale) * self.weight_scale.data)
        if self.bias is not None:
            out = out + self.bias.data
        return Tensor(out.reshape(x.shape[:-1] + (self.weight.shape[0],)))


def test_int8_accumulation_fails(failure):
    assert "overflowed" in failure(check_quantized_linear, Int8Accumulator)


class KeepsFloatWeight(QuantizedLinear):
    def __init__(self, linear, input_scale, input_zero_point):
        super().__init__(linear, input_scale, input_zero_point)
        self.float_weight = linear.weight


def test_keeping_the_float_weight_fails(failure):
    assert "no smaller" in failure(check_quantized_linear, KeepsFloatWeight)


class PerTensor(QuantizedLinear):
    def __init__(self, linear, input_scale, input_zero_point):
        super().__init__(linear, input_scale, input_zero_point)
        w = linear.weight.data
        scale, _ = calculate_qparams(w.min(), w.max(), symmetric=True)
        self.weight = Tensor(quantize(w, scale, 0, symmetric=True))
        self.weight_scale = Tensor(np.full(w.shape[0], scale, np.float32))


def test_per_tensor_weight_scale_fails(failure):
    assert "per output channel" in failure(check_quantized_linear, PerTensor)


class NoZeroPoint(QuantizedLinear):
    def forward(self, x):
        in_features = self.weight.shape[1]
        qx = quantize(x.data, self.input_scale, self.input_zero_point).reshape(-1, in_features)
        acc = qx.astype(np.int32) @ self.weight.data.astype(np.int32).T
        out = acc.astype(np.float32) * (np.float32(self.input_scale) * self.weight_scale.data)
        if self.bias is not None:
            out = out + self.bias.data
        return Tensor(out.reshape(x.shape[:-1] + (self.weight.shape[0],)))


def test_forgetting_the_input_zero_point_fails(failure):
    failure(check_quantized_linear, NoZeroPoint)


class FloatWeightBuffer(QuantizedLinear):
    def __init__(self, linear, input_scale, input_zero_point):
        super().__init__(linear, input_scale, input_zero_point)
        self.weight = Tensor(self.weight.data.astype(np.float32))


def test_weight_not_int8_fails(failure):
    assert "int8 weight" in failure(check_quantized_linear, FloatWeightBuffer)
