"""Quantization: affine int8 parameters, observers, integer layers, whole-model PTQ on digits."""

import types

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn, optim
from tinytorch.acceleration import conv2d_naive
from tinytorch.datasets import load_digits
from tinytorch.quantization import (
    MinMaxObserver, PercentileObserver, QuantizedConv2d, QuantizedLinear, calculate_qparams, dequantize,
    model_size_bytes, quantize_model, quantize_tensor,
)
from tinytorch.quantization.qparams import dequantize_with, quantize_with

rng = np.random.default_rng(0)


def test_symmetric_per_tensor_round_trip():
    x = rng.standard_normal((20, 30)).astype(np.float32)
    q, scale, zero_point = quantize_tensor(x)
    assert q.dtype == np.int8 and zero_point == 0
    assert scale == pytest.approx(np.abs(x).max() / 127)
    assert np.abs(q).max() == 127 and q.min() >= -127
    error = np.abs(dequantize(q, scale, zero_point) - x)
    assert error.max() <= scale / 2 + 1e-7


def test_asymmetric_represents_zero_exactly_and_covers_the_range():
    x = rng.uniform(-0.5, 3.0, size=1000).astype(np.float32)
    x[0] = 0.0
    q, scale, zero_point = quantize_tensor(x, symmetric=False)
    assert isinstance(zero_point, int) and zero_point != 0
    assert q.min() == -128 and q.max() == 127
    back = dequantize(q, scale, zero_point)
    assert back[0] == 0.0
    assert np.abs(back - x).max() <= scale / 2 + 1e-6


@pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor")  # deprecated in recent PyTorch, still exact
def test_affine_parameters_match_pytorch_observer():
    torch = pytest.importorskip("torch")
    x = rng.uniform(-1.0, 5.0, size=500).astype(np.float32)
    observer = torch.ao.quantization.MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_affine)
    observer(torch.from_numpy(x))
    t_scale, t_zero = observer.calculate_qparams()
    q, scale, zero_point = quantize_tensor(x, symmetric=False)
    assert scale == pytest.approx(t_scale.item(), rel=1e-6) and zero_point == t_zero.item()
    expected = torch.quantize_per_tensor(torch.from_numpy(x), t_scale.item(), t_zero.item(), torch.qint8)
    assert np.array_equal(q, expected.int_repr().numpy())


def test_per_channel_scales_follow_each_row():
    w = rng.standard_normal((4, 16)).astype(np.float32) * np.array([[0.01], [0.1], [1.0], [10.0]], np.float32)
    q, scale, zero_point = quantize_tensor(w, axis=0)
    assert scale.shape == (4,) and zero_point.shape == (4,) and q.dtype == np.int8
    assert np.array_equal(np.abs(q).max(axis=1), [127] * 4)
    per_channel = np.abs(dequantize(q, scale, zero_point, axis=0) - w)
    q1, s1, z1 = quantize_tensor(w)
    per_tensor = np.abs(dequantize(q1, s1, z1) - w)
    # the small row is crushed to zero by one shared scale but kept by its own
    assert np.all(q1[0] == 0) and per_channel[0].max() < 1e-3 * per_tensor[0].max() + 1e-4
    assert per_channel.sum() < per_tensor.sum()


def test_per_channel_along_another_axis():
    w = rng.standard_normal((3, 5, 2)).astype(np.float32)
    q, scale, _ = quantize_tensor(w, axis=-1)
    assert scale.shape == (2,)
    assert np.abs(dequantize(q, scale, 0, axis=2) - w).max() <= scale.max() / 2 + 1e-6


def test_dequantize_with_widens_before_subtracting_and_broadcasts():
    q = np.array([[127, -128], [0, 5]], np.int8)
    # 127 - (-128) = 255 does not fit in int8: the difference is taken in int32
    np.testing.assert_array_equal(dequantize_with(q, np.float32(0.5), np.int32(-128)), [[127.5, 0.0], [64.0, 66.5]])
    rows = dequantize_with(q, np.array([[1.0], [0.25]], np.float32), np.array([[0], [1]]))  # (2, 1): per row
    np.testing.assert_array_equal(rows, [[127.0, -128.0], [-0.25, 1.0]])
    assert rows.dtype == np.float32
    per_channel = dequantize_with(q, np.array([1.0, 2.0], np.float32), np.array([0, 1], np.int32), axis=1)
    np.testing.assert_array_equal(per_channel, dequantize(q, [1.0, 2.0], [0, 1], axis=1))


@pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor")  # deprecated in recent PyTorch, still exact
def test_dequantize_with_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = rng.uniform(-1.0, 5.0, size=(6, 7)).astype(np.float32)
    scale, zero_point = calculate_qparams(x.min(), x.max(), symmetric=False)
    theirs = torch.quantize_per_tensor(torch.from_numpy(x), float(scale), int(zero_point), torch.qint8)
    q = quantize_with(x, scale, zero_point, symmetric=False)
    np.testing.assert_array_equal(dequantize_with(q, scale, zero_point), theirs.dequantize().numpy())


def test_fewer_bits_and_all_zero_input():
    q, scale, _ = quantize_tensor(rng.standard_normal(100).astype(np.float32), num_bits=4)
    assert q.min() >= -7 and q.max() <= 7
    q, scale, zero_point = quantize_tensor(np.zeros(5, np.float32), symmetric=False)
    assert scale == 1.0 and np.all(dequantize(q, scale, zero_point) == 0)


def test_calculate_qparams_is_vectorized():
    scale, zero_point = calculate_qparams(np.array([-1.0, 0.0]), np.array([1.0, 2.55]), symmetric=False)
    assert scale.shape == (2,) and zero_point.dtype == np.int32
    assert zero_point[1] == -128  # the range starts at 0.0


def test_quantize_tensor_errors():
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match="quantize_tensor: input contains NaN or Inf"):
            quantize_tensor(np.array([1.0, bad], np.float32))
    with pytest.raises(TypeError, match="quantize_tensor: expected a floating-point input, got dtype int64"):
        quantize_tensor(np.arange(4, dtype=np.int64))
    with pytest.raises(ValueError, match=r"quantize_tensor: num_bits must be an int in \[2, 8\]"):
        quantize_tensor(np.ones(3, np.float32), num_bits=16)
    with pytest.raises(ValueError, match="quantize_tensor: axis 2 is out of range"):
        quantize_tensor(np.ones((2, 3), np.float32), axis=2)
    with pytest.raises(ValueError, match=r"quantize_tensor: cannot quantize an empty input of shape \(0,\)"):
        quantize_tensor(np.ones(0, np.float32))
    with pytest.raises(ValueError, match=r"dequantize: per-channel scale of shape \(3,\) does not match 2"):
        dequantize(np.zeros((2, 4), np.int8), np.ones(3), 0, axis=0)
    with pytest.raises(ValueError, match="dequantize: got per-channel scales"):
        dequantize(np.zeros((2, 4), np.int8), np.ones(2), 0)
    with pytest.raises(TypeError, match="dequantize: expected an integer array"):
        dequantize(np.zeros(3, np.float32), 1.0)


def test_observers():
    minmax, percentile = MinMaxObserver(), PercentileObserver(percentile=99.0)
    for batch in (np.linspace(-1, 1, 101, dtype=np.float32), np.linspace(0, 4, 101, dtype=np.float32)):
        minmax(tt.tensor(batch))
        percentile(batch)
    assert minmax.range() == (-1.0, 4.0)
    low, high = percentile.range()
    assert -1.0 < low < -0.95 and 3.9 < high < 4.0  # widest of the per-batch 1st/99th percentiles
    assert minmax.calculate_qparams()[0] > percentile.calculate_qparams()[0]
    with pytest.raises(RuntimeError, match="MinMaxObserver: no data observed"):
        MinMaxObserver().calculate_qparams()
    with pytest.raises(ValueError, match="PercentileObserver: percentile must be in"):
        PercentileObserver(percentile=30)
    with pytest.raises(ValueError, match="MinMaxObserver: input contains NaN"):
        MinMaxObserver()(np.array([np.nan], np.float32))


def test_quantized_linear_is_int8_and_accumulates_exactly_in_int32():
    tt.manual_seed(0)
    linear = nn.Linear(300, 7)
    x = tt.tensor(rng.uniform(-2, 6, size=(2, 5, 300)).astype(np.float32))
    scale, zero_point = calculate_qparams(x.data.min(), x.data.max(), symmetric=False)
    layer = QuantizedLinear.from_float(linear, float(scale), int(zero_point))
    assert layer.weight.dtype == np.int8 and layer.weight.data.nbytes * 4 == linear.weight.data.nbytes
    out = layer(x)
    assert out.shape == (2, 5, 7) and out.dtype == np.float32 and not out.requires_grad
    # exact reference in float64 from the same integers (300 * 127 * 255 overflows int16, not int32)
    qx = np.clip(np.round(x.data / scale) + zero_point, -128, 127) - float(zero_point)
    qw = layer.weight.data.astype(np.float64)
    expected = (qx @ qw.T) * (float(scale) * layer.weight_scale.data.astype(np.float64)) + linear.bias.data
    assert np.allclose(out.data, expected, rtol=1e-5, atol=1e-5)
    float_out = linear(x).data
    assert np.abs(out.data - float_out).max() < 0.05 * np.abs(float_out).max()


def test_quantized_conv2d_matches_the_float_convolution_and_pads_with_the_zero_point():
    weight = rng.standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.3
    bias = tt.tensor(rng.standard_normal(4).astype(np.float32))
    x = rng.uniform(0.5, 2.0, size=(2, 3, 6, 6)).astype(np.float32)  # zero point far from 0
    scale, zero_point = calculate_qparams(x.min(), x.max(), symmetric=False)
    assert zero_point == -128
    layer = QuantizedConv2d(weight, bias, float(scale), int(zero_point), stride=2, padding=1)
    out = layer(tt.tensor(x))
    expected = conv2d_naive(x, weight, stride=2, padding=1) + bias.data[:, None, None]
    assert out.shape == expected.shape == (2, 4, 3, 3)
    assert np.abs(out.data - expected).max() < 0.02 * np.abs(expected).max()
    with pytest.raises(ValueError, match=r"QuantizedConv2d: expected input \(N, 3, H, W\), got shape \(2, 4, 6, 6\)"):
        layer(tt.zeros(2, 4, 6, 6))


def test_quantized_conv2d_rejects_groups_and_dilation():
    conv = types.SimpleNamespace(weight=tt.zeros(4, 2, 3, 3), bias=None, stride=1, padding=0, groups=2, dilation=1)
    with pytest.raises(NotImplementedError, match="QuantizedConv2d: groups=2 is not supported"):
        QuantizedConv2d.from_float(conv, 1.0, 0)
    conv.groups, conv.dilation = 1, 2
    with pytest.raises(NotImplementedError, match="QuantizedConv2d: dilation=2 is not supported"):
        QuantizedConv2d.from_float(conv, 1.0, 0)
    conv.dilation, conv.padding = 1, "same"
    conv.weight = tt.zeros(4, 2, 2, 2)
    with pytest.raises(NotImplementedError, match=r"QuantizedConv2d: padding='same' with the even kernel \(2, 2\)"):
        QuantizedConv2d.from_float(conv, 1.0, 0)
    conv.padding, conv.padding_mode = 0, "reflect"
    with pytest.raises(NotImplementedError, match="QuantizedConv2d: padding_mode='reflect' is not supported"):
        QuantizedConv2d.from_float(conv, 1.0, 0)


@pytest.fixture(scope="module")
def digits_mlp():
    """A small MLP trained on the digits (seeded, about two seconds natively)."""
    data = load_digits()
    x_train = data.x_train.reshape(len(data.x_train), -1)
    x_test = tt.tensor(data.x_test.reshape(len(data.x_test), -1))
    tt.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    order = np.random.default_rng(0)
    for _ in range(20):
        perm = order.permutation(len(x_train))
        for i in range(0, len(perm), 128):
            batch = perm[i:i + 128]
            loss = loss_fn(model(tt.tensor(x_train[batch])), tt.tensor(data.y_train[batch]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    calibration = [x_train[i:i + 128] for i in range(0, 512, 128)]
    return model, calibration, x_test, data.y_test


def accuracy(model, x, y):
    with tt.no_grad():
        return float((model(x).data.argmax(axis=1) == y).mean())


@pytest.mark.parametrize("observer", ["minmax", "percentile"])
def test_quantized_digits_mlp_keeps_accuracy_within_one_point(digits_mlp, observer):
    model, calibration, x_test, y_test = digits_mlp
    quantized = quantize_model(model, calibration, observer=observer)
    float_accuracy, int8_accuracy = accuracy(model, x_test, y_test), accuracy(quantized, x_test, y_test)
    assert float_accuracy > 0.9
    assert abs(float_accuracy - int8_accuracy) <= 0.01
    assert isinstance(model[0], nn.Linear)  # the original is untouched
    assert isinstance(quantized[0], QuantizedLinear) and isinstance(quantized[1], nn.ReLU)


def test_int8_storage_is_four_times_smaller(digits_mlp):
    """Sizes are the nbytes of every parameter and buffer (model_size_bytes)."""
    model, calibration, _, _ = digits_mlp
    quantized = quantize_model(model, calibration)
    weights = [model[0].weight, model[2].weight]
    q_weights = [quantized[0].weight, quantized[2].weight]
    assert all(w.dtype == np.int8 for w in q_weights)
    assert sum(w.data.nbytes for w in weights) == 4 * sum(w.data.nbytes for w in q_weights)
    # whole model: int8 weights + float32 biases, per-channel scales, input scale and zero point
    n_weights, n_outputs = 64 * 64 + 64 * 10, 64 + 10
    assert model_size_bytes(model) == 4 * (n_weights + n_outputs)
    assert model_size_bytes(quantized) == n_weights + 4 * n_outputs + 4 * n_outputs + 2 * (4 + 4)
    assert model_size_bytes(model) / model_size_bytes(quantized) > 3.5
    state = quantized.state_dict()
    assert state["0.weight"].dtype == np.int8 and state["0.weight_scale"].shape == (64,)


def test_quantize_model_can_work_in_place_and_on_a_single_layer(digits_mlp):
    model, calibration, x_test, _ = digits_mlp
    hidden = model[1](model[0](tt.tensor(calibration[0])))
    layer = quantize_model(model[2], [hidden])
    assert isinstance(layer, QuantizedLinear)
    tt.manual_seed(1)
    small = nn.Sequential(nn.Linear(4, 3))
    same = quantize_model(small, [np.ones((2, 4), np.float32)], inplace=True, per_channel=False)
    assert same is small and isinstance(small[0], QuantizedLinear) and small[0].weight_scale.ndim == 0


def test_quantize_model_errors():
    with pytest.raises(ValueError, match="quantize_model: ReLU has no Linear or Conv2d layers"):
        quantize_model(nn.ReLU(), [np.ones((1, 4), np.float32)])
    model = nn.Sequential(nn.Linear(4, 2))
    with pytest.raises(ValueError, match="quantize_model: calibration_data produced no batches"):
        quantize_model(model, [])
    with pytest.raises(ValueError, match="quantize_model: observer must be one of"):
        quantize_model(model, [np.ones((1, 4), np.float32)], observer="histogram")

    class Unused(nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.spare = nn.Linear(4, 2), nn.Linear(4, 2)

        def forward(self, x):
            return self.used(x)

    with pytest.raises(ValueError, match="quantize_model: layer 'spare' saw no calibration data"):
        quantize_model(Unused(), [np.ones((1, 4), np.float32)])
    layer = QuantizedLinear.from_float(nn.Linear(4, 2), 0.1, 0)
    with pytest.raises(ValueError, match=r"QuantizedLinear: expected input \(\*, 4\), got shape \(3, 5\)"):
        layer(tt.zeros(3, 5))


@pytest.mark.skipif(not hasattr(nn, "Conv2d"), reason="nn.Conv2d has not landed yet")
@pytest.mark.parametrize("padding", [1, "same"])
def test_quantize_model_replaces_conv2d(padding):
    tt.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=padding), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 10))
    data = [rng.uniform(0, 1, size=(8, 1, 8, 8)).astype(np.float32) for _ in range(2)]
    quantized = quantize_model(model, data)
    assert isinstance(quantized[0], QuantizedConv2d) and quantized[0].weight.dtype == np.int8
    x = tt.tensor(data[0])
    with tt.no_grad():
        expected = model(x).data
    assert np.abs(quantized(x).data - expected).max() < 0.05 * np.abs(expected).max()
