# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Module 02: Activations
#
# A stack of linear layers is still one linear map; the nonlinear **activation** between them
# is what lets a network bend its decision boundary. You write the five activations modern
# networks use (ReLU, Sigmoid, Tanh, GELU, Softmax), make the two that can overflow
# numerically safe, and measure what each costs per element and what each does to a signal
# travelling through a deep network.
#
# **Learning objectives.** By the end of this module you can:
#
# - explain why a network needs nonlinear activations between its linear layers
# - write ReLU, Sigmoid, Tanh, GELU and Softmax on NumPy arrays
# - make sigmoid and softmax numerically stable, and find the inputs where the naive
#   formulas break
# - measure what an activation costs per element and what it does to a signal through many
#   layers

# %%

import numpy as np

import tinytorch as tt
from tinytorch import Tensor
from tinytorch.checks import (
    check_gelu, check_relu, check_sigmoid, check_softmax, check_tanh,
)
import tinytorch.mine as mine
from tinytorch.profiling.timing import best_time  # fastest of several calls, in seconds

# %% [markdown]
# ## Why a nonlinearity
#
# Two linear maps in a row, `x @ W1 @ W2`, are the single linear map `x @ (W1 @ W2)`: depth
# buys nothing. Put a nonlinear function between them and it does.

# %%
rng = np.random.default_rng(0)
x = Tensor(rng.standard_normal((5, 4)).astype(np.float32))
w1 = Tensor(rng.standard_normal((4, 8)).astype(np.float32))
w2 = Tensor(rng.standard_normal((8, 3)).astype(np.float32))
two_layers = (x @ w1) @ w2
one_layer = x @ (w1 @ w2)
print("two linear layers == one linear layer:", np.allclose(two_layers.data, one_layer.data, atol=1e-4))
with_relu = (x @ w1).relu() @ w2
print("with a ReLU between them, still equal:", np.allclose(with_relu.data, one_layer.data, atol=1e-4))

# %% [markdown]
# Each activation below takes a `Tensor` and returns a new `Tensor` of the same shape. Work
# on the NumPy array `x.data` and wrap the result in `Tensor(...)`; in module 05 you will
# give each one its backward rule.
#
# ## ReLU
#
# ```
#   relu(x) = max(x, 0)                 |      /
#                                       |     /
#                                  _____|____/______
# ```
#
# The default activation since 2012 (AlexNet): one comparison per element, a gradient of
# exactly 1 for positive inputs (no shrinking through depth), and exact zeros that make
# activations sparse. Its failure mode: a unit whose input is negative for every example
# outputs 0 and gets no gradient, a "dead" ReLU.

# %%
def relu(x):
    """max(x, 0) elementwise."""
    ### BEGIN SOLUTION
    # HINT: max(x, 0) for every element of the underlying array, returned as a new Tensor
    return Tensor(np.maximum(x.data, 0))
    ### END SOLUTION

# %% tags=["check"]
check_relu(relu)

# %% [markdown]
# ## Sigmoid
#
# `sigmoid(x) = 1 / (1 + exp(-x))` squashes any number into (0, 1): a probability, or a gate
# (LSTMs, attention variants). For large negative `x`, `exp(-x)` overflows: float32 holds
# numbers up to about `3.4e38`, so `exp(89)` is already `inf`. The result `1 / inf = 0` happens
# to be right, but NumPy warns, and in the backward pass `inf` turns into `nan`. Rewrite the
# formula so that `exp` only ever sees non-positive numbers:
#
# ```
#   x >= 0:   1 / (1 + exp(-x))         exp(-x) <= 1
#   x <  0:   exp(x) / (1 + exp(x))     exp(x)  <  1      (same value: multiply by exp(x)/exp(x))
# ```

# %%
with np.errstate(over="warn"):
    naive = 1 / (1 + np.exp(-np.array([-100.0, 0.0, 100.0], dtype=np.float32)))
print("naive sigmoid of -100, 0, 100:", naive)

# %% [markdown]
# **Exercise.** Write a `sigmoid` that never overflows (the check turns any overflow into a
# failure). `np.where` evaluates both branches, so compute `exp(-|x|)` once and build both
# branches from it.

# %%
def sigmoid(x):
    """1 / (1 + exp(-x)) elementwise, without overflow for any input."""
    ### BEGIN SOLUTION
    # HINT: never exponentiate a large positive number: write both the x >= 0 and the x < 0 case in terms of exp(-|x|), and choose per element
    v = x.data
    e = np.exp(-np.abs(v))  # in (0, 1]: never overflows
    return Tensor(np.where(v >= 0, 1 / (1 + e), e / (1 + e)).astype(v.dtype))
    ### END SOLUTION

# %% tags=["check"]
check_sigmoid(sigmoid)

# %% [markdown]
# ## Tanh
#
# `tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x))`, a sigmoid stretched to (-1, 1) and
# centred on 0: `tanh(x) = 2 * sigmoid(2x) - 1`. Zero-centred outputs made it the classic
# choice for hidden layers before ReLU (and inside LSTMs today). The textbook formula gives
# `inf / inf = nan` for `|x| > 88.7` in float32; use the identity or NumPy's `np.tanh`.

# %%
def tanh(x):
    """Hyperbolic tangent elementwise, in (-1, 1)."""
    ### BEGIN SOLUTION
    # HINT: tanh of every element (NumPy has it, or derive it from your sigmoid)
    return Tensor(np.tanh(x.data))
    ### END SOLUTION

# %% tags=["check"]
check_tanh(tanh)

# %% [markdown]
# ## GELU
#
# `gelu(x) = x * Phi(x)`, with `Phi` the standard normal CDF: the input weighted by how
# likely a standard normal falls below it. Close to ReLU for large `|x|`, but smooth at 0 and
# slightly negative just left of it. BERT and GPT use it. NumPy has no `erf`, and GPT-2's
# code uses this approximation, which you write:
#
# ```
#   gelu(x) ~ 0.5 * x * (1 + tanh( sqrt(2/pi) * (x + 0.044715 * x^3) ))
# ```

# %%
def gelu(x):
    """GELU with the tanh approximation (as in GPT-2)."""
    ### BEGIN SOLUTION
    # HINT: the formula above, elementwise on the underlying array
    v = x.data
    c = np.float32(np.sqrt(2 / np.pi))
    return Tensor(0.5 * v * (1 + np.tanh(c * (v + 0.044715 * v * v * v))))
    ### END SOLUTION

# %% tags=["check"]
check_gelu(gelu)

# %% [markdown]
# ## Softmax
#
# The last layer of a classifier outputs one score (**logit**) per class; softmax turns them
# into probabilities along a dimension `dim`:
#
# ```
#   softmax(x)_i = exp(x_i) / sum_j exp(x_j)          logits  [2.0, 1.0, 0.1]
#                                                     probs   [0.66, 0.24, 0.10]
# ```
#
# Subtracting any constant from every `x_j` leaves the result unchanged (it cancels between
# numerator and denominator). Subtract the **maximum**: then every exponent is `<= 0`, no
# `exp` can overflow, and the largest term is exactly 1, so the sum cannot be 0 either.
#
# **Exercise.** Write `softmax(x, dim=-1)`, stable for any input. Use `keepdims=True` on the
# max and the sum so they broadcast back against `x`.

# %%
def softmax(x, dim=-1):
    """exp(x) / sum(exp(x)) along dim, computed without overflow."""
    ### BEGIN SOLUTION
    # HINT: shift each slice along dim by its own maximum, exponentiate, and divide by that slice's sum
    v = x.data
    e = np.exp(v - v.max(axis=dim, keepdims=True))
    return Tensor(e / e.sum(axis=dim, keepdims=True))
    ### END SOLUTION

# %% tags=["check"]
check_softmax(softmax)

# %% [markdown]
# ## The five side by side
#
# The functions (left) and their slopes (right, by finite differences): the slope is what
# backpropagation multiplies gradients by, layer after layer. Sigmoid's slope is at most 0.25
# and vanishes for `|x| > 5`; ReLU's is exactly 0 or 1.

# %%
import matplotlib.pyplot as plt

# tinytorch's activations (tt.relu, x.sigmoid(), nn.ReLU, ...) compute your forward values
# from here on, wherever your check passed (and yours was saved); tinytorch's elsewhere
mine.use("relu", "sigmoid", "tanh", "gelu", "softmax")
act = {"relu": tt.relu, "sigmoid": tt.sigmoid, "tanh": tt.tanh, "gelu": lambda t: t.gelu(approximate="tanh")}
sm = tt.softmax

grid = np.linspace(-5, 5, 401, dtype=np.float32)
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
for label, fn in act.items():
    values = fn(Tensor(grid)).data
    left.plot(grid, values, label=label)
    right.plot(grid, np.gradient(values, grid), label=label)
left.set_title("activation")
right.set_title("slope")
left.set_ylim(-1.5, 3)
left.legend()
for ax in (left, right):
    ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# ## Use it: what activations do to a signal through depth
#
# Send a batch of random inputs through 20 random layers of width 256 (weights with variance
# `1/256`, the scale module 03 derives) and follow the spread of the activations layer by
# layer. A healthy network keeps it roughly constant; if it collapses to 0 the last layers see
# nothing, and if it explodes the numbers overflow.

# %%
import matplotlib.pyplot as plt

rng = np.random.default_rng(0)
width, depth = 256, 20
weights = [Tensor(rng.standard_normal((width, width)).astype(np.float32) / np.sqrt(width)) for _ in range(depth)]
inputs = Tensor(rng.standard_normal((512, width)).astype(np.float32))

plt.figure(figsize=(5.5, 3.5))
spreads, means = {}, {}
for label, fn in act.items():
    h, spread = inputs, []
    for w in weights:
        h = fn(h @ w)
        spread.append(float(h.data.std()))
    spreads[label], means[label] = spread, float(h.data.mean())
    plt.semilogy(range(1, depth + 1), spread, "o-", ms=3, label=label)
    dead = (h.data.max(axis=0) <= 0).mean()
    print(f"{label:8s} std after layer 1: {spread[0]:.3f}  after layer {depth}: {spread[-1]:.2e}  "
          f"last layer keeps {spread[-1] / spread[-2]:.0%} of the std  mean at the end {means[label]:+.2f}")
plt.xlabel("layer")
plt.ylabel("std of activations")
plt.legend()
plt.show()

# the trends the next paragraph describes, on this run
assert spreads["tanh"][-1] / spreads["tanh"][-2] > 0.9, "tanh should lose little spread per layer once it is small"
assert spreads["relu"][-1] < spreads["relu"][0] / 100, "relu should lose most of its spread over 20 layers"
assert spreads["gelu"][-1] < spreads["relu"][-1], "gelu should shrink the spread faster than relu"
assert spreads["tanh"][-1] > 10 * spreads["relu"][-1], "tanh should keep far more spread than relu"
assert abs(means["sigmoid"] - 0.5) < 0.1, "sigmoid's outputs should sit around 0.5"

# %% [markdown]
# Tanh shrinks the spread too, but slowly: once its inputs are small it is almost the
# identity, so each layer keeps nearly all of what reaches it. ReLU zeroes about half of its
# inputs, so it roughly halves the variance at every layer (GELU shrinks it even faster):
# after 20 layers almost nothing is left, which is why ReLU networks use weights `sqrt(2)`
# times larger (He initialisation, module 03). Sigmoid's outputs sit around 0.5, never
# centred on 0.
#
# Softmax has a knob worth seeing now: dividing the logits by a **temperature** before it.
# Language models sample their next token from it (module 13): low temperature approaches
# the argmax, high temperature approaches uniform.

# %%
logits = Tensor(np.array([[3.0, 2.0, 1.0, 0.5, 0.0, -1.0]], dtype=np.float32))
for temperature in (0.25, 1.0, 4.0):
    probs = sm(logits / temperature, dim=-1).data[0]
    print(f"T={temperature:4}: " + "  ".join(f"{p:.3f}" for p in probs))

# %% [markdown]
# ## Systems analysis
#
# ### Numerical stability, shown
#
# The textbook softmax on logits of a few hundred or thousand (not unusual before a network is
# trained, or in float16) overflows to `inf / inf = nan`. Shifting by the max gives the exact
# answer. Where float32 runs out:

# %%
big = np.array([1000.0, 1001.0, 1002.0], dtype=np.float32)
with np.errstate(over="ignore", invalid="ignore"):
    naive_softmax = np.exp(big) / np.exp(big).sum()
print("naive softmax of [1000, 1001, 1002]:", naive_softmax)
print("stable softmax:                     ", sm(Tensor(big), dim=-1).data)
finfo = np.finfo(np.float32)
print(f"float32 max {finfo.max:.3e}: exp overflows above x = {np.log(finfo.max):.2f}")
print(f"float16 max {np.finfo(np.float16).max:.0f}: exp overflows above x = {np.log(np.finfo(np.float16).max):.2f}")

# %% [markdown]
# ### Cost per element
#
# Time each activation on a million float32 values, in nanoseconds per element, against the
# cheapest possible elementwise op (adding 1), which only moves memory. Anything above that
# line is computation, and how much depends on the runtime: native NumPy has vectorised
# (SIMD) `exp` and `tanh`, the browser's WebAssembly build computes them one by one.

# %%
import matplotlib.pyplot as plt

n = 1_000_000
big_input = Tensor(np.random.default_rng(0).standard_normal(n).astype(np.float32))
candidates = {
    "x + 1 (memory only)": lambda t: Tensor(t.data + 1),
    **act,
    "gelu exact (erf)": lambda t: t.gelu(),
    "softmax (1000 rows)": lambda t: sm(t.reshape(1000, 1000), dim=-1),
}
cost = {}
for label, fn in candidates.items():
    cost[label] = best_time(lambda: fn(big_input)) / n * 1e9
    print(f"{label:22s} {cost[label]:6.2f} ns/element")

plt.figure(figsize=(6, 3))
plt.barh(list(cost), list(cost.values()))
plt.xlabel("ns per element (float32)")
plt.gca().invert_yaxis()
plt.show()

# %% [markdown]
# The formula is not the whole cost: how it is written matters. GELU's cube, two ways:

# %%
v = big_input.data
power = best_time(lambda: v ** 3)
products = best_time(lambda: v * v * v)
print(f"v ** 3   : {power / n * 1e9:6.2f} ns/element")
print(f"v * v * v: {products / n * 1e9:6.2f} ns/element  ({power / products:.0f}x faster, same values: "
      f"{np.allclose(v ** 3, v * v * v)})")

# %% [markdown]
# NumPy squares with a multiply, but for other float exponents it calls the general `pow`
# routine (a logarithm and an exponential) on every element. Per element these are nanoseconds, but a network applies them to every activation of every
# layer, forward and (module 05) backward: for small models, or in a browser without a
# fast BLAS for the matmuls, the activations can be a visible share of the time. Fusing an
# activation into the matmul before it (module 18) saves a full pass over memory.
#
# ## Reflection
#
# 1. Your stable sigmoid computes `exp(-|x|)`. For `x = -100` in float32, what is the result,
#    and is it exactly right, merely close, or 0?
# 2. Softmax is unchanged by subtracting any constant. Why the maximum, and not the mean?
#    Find logits for which subtracting the mean still overflows.
# 3. In the depth experiment, sigmoid's spread stays bounded but the network is still hard to
#    train. Using the slope plot, what happens to a gradient passed back through 20 sigmoids?
# 4. ReLU was the cheapest activation per element. How many times slower was the most
#    expensive one in your runtime, and what share of a `(256, 256)` matmul's time would that
#    activation take on its `(512, 256)` output (measure it)?

# %% [markdown] tags=["solution"]
# ## Answers (solution edition only)
#
# 1. `exp(-100)` is about 3.7e-44: below float32's smallest normal number (1.2e-38), so it
#    is a subnormal with only a few significant bits. The result is merely close (a relative
#    error of a few percent), not 0; below about -103 it becomes exactly 0.
# 2. Subtracting the maximum makes the largest exponent exactly 0: no term overflows, and
#    one term is 1, so the sum is at least 1 and never 0. The mean bounds nothing: for
#    `[1000, 0]` the mean is 500 and `exp(500)` overflows (float32 overflows above 88.7).
# 3. Sigmoid's slope is at most 0.25 (at 0). Through 20 sigmoids a gradient is multiplied by
#    at most `0.25**20`, about 1e-12 (times the weights): it vanishes, and the first layers
#    barely learn.
# 4. Read it from your cost table: the transcendental ones (GELU, tanh, sigmoid) are usually
#    several times ReLU's cost, more so in the browser where `exp` and `tanh` have no vector
#    instructions. The `(512, 256) @ (256, 256)` product does `2 * 512 * 256 * 256` = 67
#    million FLOPs while the activation touches 131,072 elements; time both (`best_time`) to
#    get the share on your runtime.
