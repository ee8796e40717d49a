"""Post-training quantization of a whole model: calibrate, then swap layers for int8 ones."""

import copy

import numpy as np

from .. import grad_mode, nn, seams
from ..profiling import intercept_forwards, parameter_bytes
from ..tensor import Tensor
from .layers import QuantizedConv2d, QuantizedLinear
from .observers import OBSERVERS

# Real bytes of everything a model stores: parameters and buffers (int8 weights, float32
# scales, zero points and biases of quantized layers included), each shared array once.
model_size_bytes = parameter_bytes


def _quantizable():
    """{float class: quantized class} for the layer types that exist in this build."""
    pairs = {nn.Linear: QuantizedLinear}
    if hasattr(nn, "Conv2d"):
        pairs[nn.Conv2d] = QuantizedConv2d
    return pairs


def _batches(calibration_data):
    """Input Tensors from an iterable of Tensors, arrays, or (input, target) pairs."""
    for batch in calibration_data:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        yield x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float32))


def calibrate(model, targets, calibration_data, observer="minmax", **observer_kwargs):
    """{name: observer} of each target layer's input over the calibration batches (eval mode)."""
    if observer not in OBSERVERS:
        raise ValueError(f"quantize_model: observer must be one of {sorted(OBSERVERS)}, got {observer!r}")
    observers = {name: OBSERVERS[observer](**observer_kwargs) for name in targets}

    def around(name, module, forward, args, kwargs):
        observers[name](args[0])
        return forward(*args, **kwargs)

    was_training = model.training
    model.eval()  # dropout off, batch norm on running statistics: the ranges inference will see
    seen = 0
    try:
        with grad_mode.no_grad(), intercept_forwards(targets.items(), around):
            for x in _batches(calibration_data):
                model(x)
                seen += 1
    finally:
        model.train(was_training)
    if seen == 0:
        raise ValueError("quantize_model: calibration_data produced no batches")
    return observers


def quantize_model(model, calibration_data, observer="minmax", per_channel=True, num_bits=8, inplace=False,
                   **observer_kwargs):
    """Post-training static quantization: Linear and Conv2d layers become int8 layers.

    `calibration_data`: a few representative batches (Tensors, arrays or (x, y) pairs, e.g.
    a DataLoader). Each layer's input range is observed (`observer`: 'minmax' or
    'percentile'), then the layer is replaced by its quantized form. Returns the quantized
    model in eval mode; the original is left untouched unless `inplace=True`.
    """
    pairs = _quantizable()
    model = model if inplace else copy.deepcopy(model)
    targets = {name: m for name, m in model.named_modules() if type(m) in pairs}
    if not targets:
        raise ValueError(f"quantize_model: {type(model).__name__} has no Linear or Conv2d layers to quantize")
    observers = calibrate(model, targets, calibration_data, observer, **observer_kwargs)
    replacements = {}
    for name, module in targets.items():
        if not observers[name].observed:
            raise ValueError(f"quantize_model: layer {name!r} saw no calibration data (is it used in forward?)")
        scale, zero_point = observers[name].calculate_qparams(symmetric=False, num_bits=num_bits)
        learner = seams.learners("QuantizedLinear")  # module 15's, when not tinytorch's: per-channel int8 Linear layers
        if learner is not None and type(module) is nn.Linear and per_channel and num_bits == 8:
            replacements[id(module)] = learner(module, float(scale), int(zero_point))
        else:
            replacements[id(module)] = pairs[type(module)].from_float(module, scale, zero_point, per_channel, num_bits)
    for parent in list(model.modules()):
        for child_name, child in list(parent._modules.items()):
            if child is not None and id(child) in replacements:
                setattr(parent, child_name, replacements[id(child)])
    if id(model) in replacements:  # the model itself is a single layer
        model = replacements[id(model)]
    return model.eval()
