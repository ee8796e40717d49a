# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Module 15: Quantization
#
# A trained network's weights are float32: 4 bytes each. Stored as 8-bit integers they take
# a quarter of the memory, and integer arithmetic is cheaper in silicon, which is why phones
# and inference servers run quantized models. In this module you write int8 quantization
# itself (the scale, the zero point, rounding and clipping), calibrate activation ranges, and
# build a `QuantizedLinear` layer that stores int8 weights and multiplies integers with
# int32 accumulators. Then you quantize a digits classifier and measure what is saved and
# what is lost.
#
# **Learning objectives.** By the end of this module you can:
#
# - compute the scale and zero point of symmetric and asymmetric int8 quantization
# - quantize and dequantize with correct rounding and clipping, and explain why 0.0 must
#   stay exact
# - write a `QuantizedLinear` that multiplies in integers with int32 accumulators
# - measure what quantization saves in bytes and costs in accuracy, per tensor and per row

# %%
import time

import numpy as np

import tinytorch as tt
from tinytorch import Tensor, nn
from tinytorch.checks import (
    check_calculate_qparams, check_dequantize, check_quantize, check_quantized_linear,
)
import tinytorch.mine
from tinytorch.quantization.qparams import quantize as library_quantize
from tinytorch.datasets import load_digits
from tinytorch.platform import describe, native_handoff
from tinytorch.quantization import model_size_bytes, quantize_model
# Components of earlier modules: yours where saved, else tinytorch's (one line each says which).
from tinytorch.mine import Linear, Sequential, Adam

print(describe())

# %% [markdown]
# ## Numbers on an integer grid
#
# Quantization maps an interval of real numbers onto the 256 integers of int8 with an affine
# function: a **scale** (the real value of one integer step) and a **zero point** (the
# integer that stands for 0.0).
#
# ```
#   real    min ─────────────── 0.0 ─────────────────────────── max
#            │                   │                               │
#   int8   -128 ────────── zero_point ──────────────────────── 127
#
#   q = clip(round(x / scale) + zero_point, qmin, qmax)        x ≈ scale * (q - zero_point)
# ```
#
# - **Asymmetric** uses all of `[-128, 127]` for `[min, max]`:
#   `scale = (max - min) / 255`, `zero_point = round(-128 - min / scale)`. Good for
#   activations, which are often all positive (after a ReLU).
# - **Symmetric** fixes `zero_point = 0` and uses `[-127, 127]`:
#   `scale = max(|min|, |max|) / 127`. Weights are centred on zero, and with no zero point the
#   integer product needs no correction term. (-128 is left out so that `x` and `-x` get
#   opposite integers.)
# - The range is first **widened to contain 0**: zero padding, ReLU zeros and masked values
#   must be exact, so 0.0 has to be one of the grid points.
#
# With `num_bits = b` the integers are `[-2^(b-1), 2^(b-1) - 1]` (symmetric: from
# `-(2^(b-1) - 1)`). Write the parameters first. They must work elementwise on arrays too: one
# scale per output channel (row) of a weight matrix, **per-channel** quantization, is just
# `calculate_qparams(w.min(axis=1), w.max(axis=1))`.

# %%
def calculate_qparams(min_val, max_val, symmetric=True, num_bits=8):
    """(scale, zero_point) for values in [min_val, max_val] (numbers or arrays, elementwise):
    scale float32, zero_point int32. A range of width 0 gets scale 1.0."""
    ### BEGIN SOLUTION
    # HINT: the int8 grid covering [min, max] widened to include 0: a scale (never 0) and a zero point (0 when symmetric)
    qmax = 2 ** (num_bits - 1) - 1
    qmin = -qmax if symmetric else -qmax - 1
    low = np.minimum(np.asarray(min_val, dtype=np.float64), 0.0)
    high = np.maximum(np.asarray(max_val, dtype=np.float64), 0.0)
    scale = np.maximum(-low, high) / qmax if symmetric else (high - low) / (qmax - qmin)
    scale = np.where(scale > 0, scale, 1.0)
    if symmetric:
        zero_point = np.zeros(scale.shape)
    else:
        zero_point = np.clip(np.round(qmin - low / scale), qmin, qmax)
    return scale.astype(np.float32), zero_point.astype(np.int32)
    ### END SOLUTION


# %% tags=["check"]
check_calculate_qparams(calculate_qparams)

# %% [markdown]
# Now the mapping itself. Two details decide whether it is right at the edges:
#
# - **Clip before casting.** `np.array(300.0).astype(np.int8)` does not saturate at 127:
#   out-of-range casts are undefined in NumPy (often they wrap around to some unrelated
#   number). Values outside the calibrated range must be clipped to `[qmin, qmax]` first.
# - **Round to nearest** with `np.round`, which sends halves to the even neighbour
#   (`0.5 -> 0`, `1.5 -> 2`), as PyTorch does; truncating with `astype` would push every
#   value towards zero.
#
# `dequantize` goes back: `scale * (q - zero_point)`. Careful with the subtraction: in NumPy,
# an int8 array minus a Python int is computed **in int8**, and `127 - (-128) = 255` wraps to
# `-1`. Widen `q` to int32 first.

# %%
def quantize(x, scale, zero_point, num_bits=8, symmetric=False):
    """int8 array of x (float array); scale and zero_point are numbers or arrays that
    broadcast against x (per-channel: shape (channels, 1))."""
    ### BEGIN SOLUTION
    # HINT: divide by the scale, round, shift by the zero point, and clip to the integer range before casting to int8
    qmax = 2 ** (num_bits - 1) - 1
    qmin = -qmax if symmetric else -qmax - 1
    return np.clip(np.round(x / scale) + zero_point, qmin, qmax).astype(np.int8)
    ### END SOLUTION


def dequantize(q, scale, zero_point):
    """float32 array scale * (q - zero_point) of an int8 array q."""
    ### BEGIN SOLUTION
    # HINT: undo the zero point and the scale, in an integer type wide enough not to overflow; float32 out
    return ((q.astype(np.int32) - zero_point) * scale).astype(np.float32)
    ### END SOLUTION


# %% tags=["check"]
check_quantize(quantize)

# %% tags=["check"]
check_dequantize(dequantize)

# %% [markdown]
# ### How much is lost?
#
# Rounding moves each value by at most half a step, `scale / 2`, as long as it lies inside
# the range. On a weight matrix whose rows have very different sizes, one scale for the whole
# matrix (**per-tensor**) makes the step too coarse for the small rows; one scale per row
# (**per-channel**) adapts to each. Here a random `Linear(64, 32)` weight whose rows are
# scaled from 0.01 to 1:

# %%
import matplotlib.pyplot as plt

# Yours, where saved (tinytorch's where a check did not pass); tinytorch's quantization
# (quantize_tensor, its observers, quantized layers and quantize_model) computes with them too.
tinytorch.mine.use("calculate_qparams", "quantize", "dequantize")
qparams, to_int8, to_float = (tinytorch.mine.load(name) for name in ("calculate_qparams", "quantize", "dequantize"))

rng = np.random.default_rng(0)
w = (rng.standard_normal((32, 64)) * np.geomspace(0.01, 1, 32)[:, None]).astype(np.float32)

scale_t, _ = qparams(w.min(), w.max(), symmetric=True)
w_tensor = to_float(to_int8(w, scale_t, 0, symmetric=True), scale_t, 0)
scale_c, _ = qparams(w.min(axis=1), w.max(axis=1), symmetric=True)
w_channel = to_float(to_int8(w, scale_c[:, None], 0, symmetric=True), scale_c[:, None], 0)

for label, approx, scale in (("per-tensor", w_tensor, scale_t), ("per-channel", w_channel, scale_c)):
    error = np.abs(approx - w)
    relative = np.linalg.norm(approx - w, axis=1) / np.linalg.norm(w, axis=1)
    print(f"{label:12s} max error {error.max():.2e} (largest scale / 2 = {np.max(scale) / 2:.2e}); "
          f"relative error of the smallest row {relative[0]:7.2%}, of the largest {relative[-1]:.2%}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3))
ax1.hist((w_channel - w)[-1] / scale_c[-1], bins=30)
ax1.set(title="rounding error of one row, in steps", xlabel="(dequantized - original) / scale")
rows = np.arange(32)
ax2.semilogy(rows, np.linalg.norm(w_tensor - w, axis=1) / np.linalg.norm(w, axis=1), "o-", label="per-tensor")
ax2.semilogy(rows, np.linalg.norm(w_channel - w, axis=1) / np.linalg.norm(w, axis=1), "o-", label="per-channel")
ax2.set(title="relative error per row", xlabel="row (weights growing from 0.01 to 1)")
ax2.legend()
plt.show()

# %% [markdown]
# The error within a row is spread evenly over `[-scale/2, scale/2]`. Per-tensor, the
# smallest rows are quantized to a handful of integers (or all to 0); per-channel costs one
# float32 scale per row, a small price for keeping every row accurate.
#
# ## Calibration
#
# A weight's range is known once the model is trained. An activation's range is not: it
# depends on the input. **Calibration** runs the float model on a few representative
# batches and records the range each quantized layer sees at its input; those ranges are
# frozen into fixed scales and zero points (**static** quantization).
#
# First, a model to quantize: an MLP for the 8x8 digits, trained for a few seconds.

# %%
data = load_digits()
x_train = data.x_train.reshape(len(data.x_train), -1)
x_test = tt.tensor(data.x_test.reshape(len(data.x_test), -1))

tt.manual_seed(0)
# tinytorch's nn.Linear: quantize_model (used below) swaps only tinytorch's own Linear class
model = Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
optimizer = Adam(model.parameters(), lr=3e-3)
loss_fn = nn.CrossEntropyLoss()
order = np.random.default_rng(0)
start = time.perf_counter()
for epoch in range(12):
    for batch in np.array_split(order.permutation(len(x_train)), len(x_train) // 64):
        loss = loss_fn(model(tt.tensor(x_train[batch])), tt.tensor(data.y_train[batch]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def accuracy(m):
    with tt.no_grad():
        return float((m(x_test).data.argmax(axis=1) == data.y_test).mean())


print(f"trained in {time.perf_counter() - start:.1f} s; float32 test accuracy {accuracy(model):.2%}")

# %% [markdown]
# The calibration pass: run the layers one by one and keep the smallest and largest value
# that reaches each `Linear`.

# %%
def calibrate_ranges(model, batches):
    """{index of each Linear in the Sequential: (min, max) of its input over the batches}."""
    ranges = {}
    with tt.no_grad():
        for x in batches:
            h = x
            for i, layer in enumerate(model):
                if isinstance(layer, nn.Linear):
                    low, high = ranges.get(i, (np.inf, -np.inf))
                    ranges[i] = (min(low, float(h.data.min())), max(high, float(h.data.max())))
                h = layer(h)
    return ranges


calibration = [tt.tensor(x_train[i:i + 64]) for i in range(0, 256, 64)]
ranges = calibrate_ranges(model, calibration)
for i, (low, high) in ranges.items():
    scale, zero_point = qparams(low, high, symmetric=False)
    print(f"layer {i}: input range [{low:6.3f}, {high:6.3f}] -> scale {float(scale):.5f}, zero point {int(zero_point):4d}")

# %% [markdown]
# The first layer sees pixels in `[0, 1]`; the later ones see ReLU outputs, all `>= 0`:
# asymmetric quantization puts the zero point at -128 and spends all 256 integers on the
# positive values, where symmetric quantization would waste the negative half.
#
# ## An int8 `Linear`
#
# With `x ≈ sx * (qx - zx)` (asymmetric, calibrated) and `W ≈ sw * qw` (symmetric, one
# `sw` per output row), the layer's product becomes
#
# ```
#   y = x @ W.T + b  ≈  sx * sw * ((qx - zx) @ qw.T) + b
#                            └── integers only ──┘
# ```
#
# The product runs entirely on integers; one float multiply per output rescales it. The
# sums need a wider type than int8: each product is up to `255 * 127 ≈ 32,000`, already at
# int16's limit, and `in_features` of them are added. Integer hardware accumulates in
# **int32**, and so must you: cast both operands with `.astype(np.int32)` before the
# product (NumPy multiplies two int8 arrays in int8, silently wrapping around).
#
# ```
#   x float32 ──quantize──> qx int8 ──int32, - zx──┐
#                                                  ├─ @ ─> acc int32 ─> * (sx * sw) + b ─> y float32
#   qw int8 (stored) ─────────────int32 ────.T─────┘
# ```
#
# Write the layer. The constructor quantizes a trained `nn.Linear`'s weight per output
# channel and stores it as an int8 buffer named `weight` (`self.register_buffer("weight",
# Tensor(q))`: buffers are saved with the model but are not trained), with the scales and
# the float32 bias. The float weight must not be kept: the point is to be smaller.

# %%
class QuantizedLinear(nn.Module):
    """Inference-only Linear with int8 weights (one symmetric scale per output row), int8
    inputs (the calibrated input_scale and input_zero_point) and int32 accumulation."""

    def __init__(self, linear, input_scale, input_zero_point):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.input_scale, self.input_zero_point = float(input_scale), int(input_zero_point)
        ### BEGIN SOLUTION
        # HINT: quantize the weight symmetrically to int8 with one scale per output row; keep the scales and the bias as buffers
        w = linear.weight.data
        scale, _ = calculate_qparams(w.min(axis=1), w.max(axis=1), symmetric=True)
        self.register_buffer("weight", Tensor(quantize(w, scale[:, None], 0, symmetric=True)))
        self.register_buffer("weight_scale", Tensor(scale))
        self.register_buffer("bias", None if linear.bias is None else Tensor(linear.bias.data.copy()))
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        # HINT: quantize the input, multiply in integers (an int32 accumulator), rescale by both scales and add the bias: float32 in x's leading shape
        qx = quantize(x.data, self.input_scale, self.input_zero_point).reshape(-1, self.in_features)
        acc = (qx.astype(np.int32) - self.input_zero_point) @ self.weight.data.astype(np.int32).T
        out = acc.astype(np.float32) * (np.float32(self.input_scale) * self.weight_scale.data)
        if self.bias is not None:
            out += self.bias.data
        return Tensor(out.reshape(x.shape[:-1] + (self.out_features,)))
        ### END SOLUTION

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 weights"


# %% tags=["check"]
check_quantized_linear(QuantizedLinear)

# %% [markdown]
# ## Use it: an int8 digits classifier
#
# Swap every `Linear` of the trained MLP for your `QuantizedLinear`, with the calibrated
# input ranges. The ReLUs stay as they are (float32 in, float32 out).

# %%
# Your QuantizedLinear (tinytorch's quantize_model builds it too once it is in use):
tinytorch.mine.use("calculate_qparams", "quantize", "dequantize", "QuantizedLinear")
Quantized = tinytorch.mine.load("QuantizedLinear")


def quantize_mlp(model, ranges):
    layers = []
    for i, layer in enumerate(model):
        if isinstance(layer, nn.Linear):
            scale, zero_point = qparams(*ranges[i], symmetric=False)
            layers.append(Quantized(layer, float(scale), int(zero_point)))
        else:
            layers.append(layer)
    return Sequential(*layers)


int8_model = quantize_mlp(model, ranges)
print(int8_model)
with tt.no_grad():
    float_logits, int8_logits = model(x_test).data, int8_model(x_test).data
float_bytes, int8_bytes = model_size_bytes(model), model_size_bytes(int8_model)
print(f"float32: {float_bytes:7,} bytes, test accuracy {accuracy(model):.2%}")
print(f"int8:    {int8_bytes:7,} bytes, test accuracy {accuracy(int8_model):.2%}  ({float_bytes / int8_bytes:.2f}x smaller)")
print(f"same prediction on {np.mean(float_logits.argmax(1) == int8_logits.argmax(1)):.2%} of the test images; "
      f"largest logit difference {np.abs(float_logits - int8_logits).max():.4f}")
library = quantize_model(model, calibration)
print(f"tinytorch.quantization.quantize_model: {model_size_bytes(library):,} bytes, accuracy {accuracy(library):.2%}")
assert 3 < float_bytes / int8_bytes < 4, "int8 weights with float32 biases and scales: a bit less than 4x smaller"
assert abs(accuracy(int8_model) - accuracy(model)) < 0.02, "int8 should barely move the accuracy"

# %% [markdown]
# Not quite 4x: the biases, the per-channel scales and the zero points stay in float32 /
# int32. For this small model they are a visible share; for a layer with millions of weights
# they are noise. Accuracy barely moves: the network's decisions do not hinge on the last
# 1% of each weight.
#
# ## Systems analysis
#
# ### Fewer bits
#
# Eight bits is not a law. With `num_bits = b` both weights and activations get `2^b`
# levels. How far can we go before accuracy collapses, and does per-channel help?
# (tinytorch's `quantize_model` does what you just did, for any number of bits.)

# %%
import matplotlib.pyplot as plt

bits = [8, 6, 5, 4, 3, 2]
results = {}
for per_channel in (True, False):
    results[per_channel] = [accuracy(quantize_model(model, calibration, num_bits=b, per_channel=per_channel))
                            for b in bits]
weights = sum(layer.weight.data.size for layer in model if isinstance(layer, nn.Linear))
for b, a_c, a_t in zip(bits, results[True], results[False]):
    print(f"{b} bits: accuracy per-channel {a_c:6.2%}, per-tensor {a_t:6.2%}; "
          f"the weights packed at {b} bits would take {weights * b // 8:,} bytes (float32: {4 * weights:,})")

plt.figure(figsize=(6, 3.5))
plt.plot(bits, results[True], "o-", label="per-channel weights")
plt.plot(bits, results[False], "o-", label="per-tensor weights")
plt.axhline(accuracy(model), color="gray", ls="--", label="float32")
plt.gca().invert_xaxis()
plt.xlabel("bits per weight and activation")
plt.ylabel("test accuracy")
plt.title("Digits MLP: accuracy vs precision")
plt.legend()
plt.show()

# %% [markdown]
# ### One outlier in the calibration data
#
# Min/max calibration trusts every value it sees. If one calibration image is corrupted
# (here: one pixel at 400 instead of at most 1), the first layer's scale stretches 400x
# and every real pixel falls onto one of two integers. A **percentile** observer (the widest
# of each batch's 0.1th and 99.9th percentiles) ignores rare extremes.

# %%
corrupted = [x.data.copy() for x in calibration]
corrupted[0][0, 27] = 400.0
for observer, kwargs in (("minmax", {}), ("percentile", {"percentile": 99.9})):
    for label, batches in (("clean", calibration), ("one corrupted pixel", corrupted)):
        quantized = quantize_model(model, batches, observer=observer, **kwargs)
        print(f"{observer:10s} calibration, {label:20s}: accuracy {accuracy(quantized):.2%}, "
              f"first layer input scale {float(getattr(quantized[0].input_scale, 'data', quantized[0].input_scale)):.4f}")

# %% [markdown]
# ### Speed and memory traffic
#
# Smaller weights mean fewer bytes to move, and moving bytes costs time whenever an
# operation is limited by memory rather than arithmetic. Copying a weight matrix is such an
# operation: its time follows its bytes.

# %%
measure = tt.profiling.measure_latency
full = native_handoff("the float32 vs int8 timing comparison",
                      "modules/15_quantization.ipynb")
size = 1024 if full else 512
big = np.random.default_rng(1).standard_normal((size, size)).astype(np.float32)
big_scale, _ = tt.quantization.calculate_qparams(big.min(axis=1), big.max(axis=1))
big_int8 = library_quantize(big, big_scale[:, None], 0, symmetric=True)
copy32, copy8 = measure(np.copy, big, repeats=10).min, measure(np.copy, big_int8, repeats=10).min
print(f"copy a {size}x{size} weight: float32 {big.nbytes / 1e6:.1f} MB in {copy32 * 1e3:.3f} ms, "
      f"int8 {big_int8.nbytes / 1e6:.1f} MB in {copy8 * 1e3:.3f} ms ({copy32 / copy8:.1f}x faster)")

# %% [markdown]
# And the layer itself: your `QuantizedLinear` against the float `Linear` it came from, on
# one input and on a batch.

# %%
tt.manual_seed(2)
dense = Linear(size // 2, size // 2)
int8_layer = Quantized(dense, 0.02, 0)
for batch in (1, 64):
    x = tt.randn(batch, size // 2)
    with tt.no_grad():
        t_float = measure(dense, x, repeats=10).min
        t_int8 = measure(int8_layer, x, repeats=10).min
    print(f"batch {batch:3d}, Linear({size // 2}, {size // 2}): float32 {t_float * 1e3:7.3f} ms, int8 {t_int8 * 1e3:7.3f} ms "
          f"({t_float / t_int8:.2f}x)")
print(describe())

# %% [markdown]
# Which one wins depends on the runtime, and the reason is not the arithmetic. Natively,
# float32 products go through BLAS (vectorized, multi-threaded) while NumPy multiplies
# integers with generic loops, so int8 usually loses there, even before paying for
# quantizing the input and rescaling the output. In the browser neither has BLAS, and the
# int8 layer can come out ahead. The real speed of quantized inference comes from hardware
# and libraries that multiply int8 vectors natively (x86 VNNI, ARM dot-product instructions,
# GPU tensor cores: several times the float throughput) and from moving a quarter of the
# bytes. The memory saving is real everywhere; the speedup needs the right kernels.
#
# ## Reflection
#
# 1. A layer's input after a ReLU lies in `[0, 6]`. Compare the step size of symmetric and
#    asymmetric int8 quantization for it. Which wastes how many of the 256 integers?
# 2. Why must 0.0 be exactly representable? Give two places in a CNN or a transformer where
#    an inexact zero would change the result.
# 3. Your `QuantizedLinear` subtracts the input zero point before the product. Expand
#    `(qx - zx) @ qw.T` and show how a real kernel can precompute part of it once per layer.
# 4. Accuracy held at 4 bits but fell apart at 2, and per-tensor fell first. Using the
#    per-row error plot, explain why.
# 5. Quantization-aware training simulates the rounding during training so the network
#    learns weights that survive it. Which parts of your code would it need, and what is the
#    gradient of `round`?

# %% [markdown] tags=["solution"]
# ## Answers (solution edition only)
#
# 1. Symmetric maps `[-6, 6]` to `-127..127`: a step of `6 / 127`, about 0.047, and the 127
#    negative codes are never used. Asymmetric maps `[0, 6]` to all 256 codes: a step of `6
#    / 255`, about 0.024, half as large, nothing wasted.
# 2. Zeros must stay zeros: convolution's zero padding (an inexact zero adds a bias along
#    every border), ReLU outputs, pruned weights, masked or padded positions (attention
#    masks, padding tokens). An inexact zero would add a systematic error everywhere it
#    appears.
# 3. `(qx - zx) @ qw.T = qx @ qw.T - zx * sum_k qw[j, k]`: the row sums of the integer
#    weights are constants of the layer, computed once; only `qx @ qw.T` depends on the
#    input.
# 4. At 4 bits each row keeps 15 levels scaled to its own range; at 2 bits (-1, 0, 1) the
#    rounding error is as large as the weights. One scale per tensor is set by the largest
#    row: rows with small weights (the per-row error plot shows how much row ranges differ)
#    round almost entirely to 0, so per-tensor fails first.
# 5. Fake quantization in the forward pass: your `calculate_qparams`, `quantize` and
#    `dequantize` applied to the weights (and activations) during training. The gradient of
#    `round` is 0 almost everywhere, so training uses the straight-through estimator: treat
#    it as the identity inside the clipping range, and 0 outside.
