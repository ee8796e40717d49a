"""Quantization (course module 15): int8 weights and activations, post-training calibration."""

from .qparams import calculate_qparams, dequantize, quantize_tensor
from .observers import MinMaxObserver, PercentileObserver
from .layers import QuantizedConv2d, QuantizedLinear
from .model import calibrate, model_size_bytes, quantize_model

__all__ = [
    "calculate_qparams", "dequantize", "quantize_tensor", "MinMaxObserver", "PercentileObserver",
    "QuantizedConv2d", "QuantizedLinear", "calibrate", "model_size_bytes", "quantize_model",
]
