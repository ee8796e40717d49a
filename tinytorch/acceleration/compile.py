"""CompiledMLP: an inference-only MLP as a flat list of NumPy steps (course module 18).

For inference nothing needs Tensors, graphs or one module call per layer. Compiling turns a
Sequential of Linear, int8 Linear (QuantizedLinear, tinytorch's or any layer with its
interface) and ReLU layers into steps over plain arrays, prepared once:

    Linear      h = product(h, w) + b             w = weight.T, a contiguous (in, out) copy
    int8        q = quantize(h) - zero_point      (N, in) int32
                h = product(q, w) * scale + b     w = int8 weight.T; scale = input_scale * weight_scale
    ReLU        h = max(h, 0), in place

`product` is, per layer, the candidate of LAYER_PRODUCTS that `choose_fastest` measures as
fastest on this runtime for a batch of that layer's input. The compiled model owns copies of
every array it reads (registered as buffers, in their own dtype: its size is the model's).
"""

import numpy as np

from ..nn.activation import ReLU
from ..nn.linear import Linear
from ..nn.module import Module, check_input
from ..quantization.qparams import quantize_with
from ..seams import replaced, seam
from ..tensor import Tensor
from .choose import choose_fastest
from .formulations import MATMUL_FORMULATIONS

# The matrix products a compiled layer chooses from: (N, in) @ (in, out), float or integer
# (NumPy widens int8 weights to the int32 of the quantized input inside the product).
LAYER_PRODUCTS = {name: MATMUL_FORMULATIONS[name] for name in ("vectorized (@)", "einsum", "tensordot")}


class CompiledMLP(Module):
    """Inference-only copy of an MLP (`model` iterates over Linear, int8 Linear and ReLU
    layers): plain NumPy steps, one Python call for the whole model. `choices` names the
    product chosen for each matrix layer, measured on a batch of `batch` inputs."""

    def __init__(self, model, batch=32, repeats=5):
        super().__init__()
        self.steps, self.choices = [], []
        self.in_features = None
        for i, layer in enumerate(model):
            if isinstance(layer, ReLU):
                self.steps.append(("relu",))
                continue
            int8 = hasattr(layer, "weight_scale") and hasattr(layer, "input_zero_point")
            if not int8 and not isinstance(layer, (Linear, replaced.get("Linear", Linear))):  # module 03's, in use
                raise TypeError(f"CompiledMLP: cannot compile layer {i} ({type(layer).__name__}); "
                                "only Linear, QuantizedLinear and ReLU layers")
            w = np.ascontiguousarray(layer.weight.data.T)  # (in, out) in the weight's own dtype
            if self.in_features is None:
                self.in_features = w.shape[0]
            b = None if layer.bias is None else layer.bias.data.astype(np.float32 if int8 else w.dtype, copy=True)
            example = np.zeros((batch, w.shape[0]), dtype=np.int32 if int8 else w.dtype)
            name, _ = choose_fastest(LAYER_PRODUCTS, example, w, repeats=repeats)
            self.choices.append(name)
            self.register_buffer(f"weight{i}", Tensor(w))
            self.register_buffer(f"bias{i}", None if b is None else Tensor(b))
            if int8:
                input_scale, zero_point = float(layer.input_scale), int(layer.input_zero_point)
                scale = (input_scale * layer.weight_scale.data).astype(np.float32)  # (out,) or ()
                self.register_buffer(f"scale{i}", Tensor(scale))
                num_bits = getattr(layer, "num_bits", 8)
                self.steps.append(("int8", LAYER_PRODUCTS[name], w, b, scale, input_scale, zero_point, num_bits))
            else:
                self.steps.append(("linear", LAYER_PRODUCTS[name], w, b))

    def forward(self, input):
        check_input(input, "CompiledMLP", min_ndim=1)
        x = input.data
        if self.in_features is not None and x.shape[-1] != self.in_features:
            raise ValueError(f"CompiledMLP: expected input (*, {self.in_features}), got shape {tuple(x.shape)}")
        h = x.reshape(-1, x.shape[-1])  # (N, in)
        owned = False  # whether h is this call's own array (the input must not be changed)
        for step in self.steps:
            if step[0] == "relu":
                h = np.maximum(h, 0, out=h if owned else None)
            elif step[0] == "linear":
                _, product, w, b = step
                h = product(h, w)  # (N, out)
                owned = True
                if b is not None:
                    h += b
            else:
                _, product, w, b, scale, input_scale, zero_point, num_bits = step
                q = quantize_with(h, input_scale, zero_point, num_bits, symmetric=False)  # (N, in) int8
                h = product(q.astype(np.int32) - zero_point, w).astype(np.float32)  # int32 sums, then float
                owned = True
                h *= scale
                if b is not None:
                    h += b
        return Tensor(h.reshape(x.shape[:-1] + h.shape[-1:]))

    def extra_repr(self):
        return f"{len(self.steps)} steps, products: {', '.join(self.choices)}"


# Module 18's CompiledMLP(model, batch=32): the inference compiler the capstone deploys with.
seam("CompiledMLP")(CompiledMLP)
