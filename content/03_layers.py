# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Module 03: Layers
#
# A network is a tree of **modules**, each owning its trainable **parameters**. You write the
# three layers every MLP is made of, with PyTorch's names and behaviour: `Linear` (with the
# initialisation that keeps signals alive through depth), `Sequential` and `Dropout`. Then you
# train a digit classifier built from your own classes and measure what layers cost in
# parameters, memory and time.
#
# **Learning objectives.** By the end of this module you can:
#
# - write `Linear` with PyTorch's layout and initialisation, and say why the initial scale
#   matters
# - build `Sequential` on the `Module` machinery so `parameters()`, `train()` and
#   `state_dict()` find every child
# - write inverted `Dropout` and explain its training and evaluation modes
# - count a model's parameters and the memory they, their gradients and an optimizer's state
#   take

# %%
import math
import time

import numpy as np

import tinytorch as tt
from tinytorch import Tensor
from tinytorch.nn import Module, Parameter
from tinytorch.checks import check_dropout, check_linear, check_sequential
import tinytorch.mine as mine
from tinytorch.profiling.timing import best_time  # fastest of several calls, in seconds

# %% [markdown]
# ## Parameter and Module
#
# A `Parameter` is a `Tensor` marked as trainable (it has `requires_grad=True`). A `Module`
# is a class with a `forward` method; calling the module calls `forward`. The useful part is
# bookkeeping: when you assign a `Parameter` or another `Module` to an attribute,
# `Module.__setattr__` registers it, so one call walks the whole tree:
#
# ```
#   model = Sequential(Linear(64, 32), ReLU(), Linear(32, 10))
#   model.named_parameters():  0.weight (32, 64)   0.bias (32,)   2.weight (10, 32)   2.bias (10,)
#   model.eval():              sets .training = False in every module (Dropout then does nothing)
#   model.state_dict():        {name: tensor}, to save and load
# ```
#
# `tinytorch.nn.Module` is the library's (PyTorch's interface); here is a small module built
# on it:

# %%
class Affine(Module):
    """y = x * scale + shift, one scale and shift per feature."""

    def __init__(self, features):
        super().__init__()  # creates the registries: always first
        self.scale = Parameter(np.ones(features, dtype=np.float32))
        self.shift = Parameter(np.zeros(features, dtype=np.float32))
        self.note = "plain attributes are not registered"

    def forward(self, x):
        return x * self.scale + self.shift


affine = Affine(3)
print(affine(tt.ones(2, 3)))
for name, p in affine.named_parameters():
    print(name, p.shape, "requires_grad", p.requires_grad)

# %% [markdown]
# ## Linear and its initialisation
#
# `Linear(in_features, out_features)` computes `y = x @ weight.T + bias`, with `weight` of
# shape `(out_features, in_features)` (PyTorch's layout: one row per output) and `bias` of
# shape `(out_features,)`. `x` may have any number of leading batch dimensions.
#
# The starting weights matter. Each output sums `in` products `w_i * x_i`; for independent
# zero-mean values its variance is `in * Var(w) * Var(x)`. With `Var(w) = 1` the signal
# grows `in` times per layer; with `Var(w) = 1/in` it keeps its size. PyTorch draws
# `weight` and `bias` uniformly from `(-1/sqrt(in), 1/sqrt(in))`, a variance of
# `1/(3 in)` (a uniform on `(-a, a)` has variance `a^2 / 3`).
#
# **Exercise.** Write `Linear`: in `__init__`, store `in_features` and `out_features`, and
# create `weight` and `bias` as float32 `Parameter`s initialised as above (`bias=False`:
# set `self.bias = None`); `tt.rand(*shape)` draws uniformly from `[0, 1)` with tinytorch's
# seedable generator. In `forward`, use Tensor operations only (`@`, `.T`, `+`): then the
# library's autograd can compute gradients through your layer, which the check verifies.

# %%
class Linear(Module):
    """y = x @ weight.T + bias for x of shape (*, in_features)."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        ### BEGIN SOLUTION
        # HINT: a weight (out_features, in_features) and, if asked, a bias (out_features,): Parameters drawn uniformly in (-1/sqrt(in_features), 1/sqrt(in_features))
        self.in_features = in_features
        self.out_features = out_features
        bound = 1 / math.sqrt(in_features)
        self.weight = Parameter(tt.rand(out_features, in_features) * (2 * bound) - bound)
        if bias:
            self.bias = Parameter(tt.rand(out_features) * (2 * bound) - bound)
        else:
            self.bias = None
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        # HINT: x times the transposed weight, plus the bias when there is one
        out = x @ self.weight.T
        if self.bias is not None:
            out = out + self.bias
        return out
        ### END SOLUTION

    def extra_repr(self):  # shown inside print(model)
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"

# %% tags=["check"]
check_linear(Linear)

# %% [markdown]
# How much does the initial scale matter? Push random inputs through 12 `Linear` + ReLU
# layers of width 256 and follow the spread of the activations, for three ways to draw the
# weights: standard normal (`Var(w) = 1`), PyTorch's default (what you wrote), and He/Kaiming
# (`Var(w) = 2/in`, which makes up for ReLU zeroing half of its inputs).

# %%
import matplotlib.pyplot as plt

mine.use("Linear")
LinearLayer = mine.Linear  # the Linear in use: yours once its check passed (and it was saved)
inits = {
    "N(0, 1)": lambda w: tt.nn.init.normal_(w, 0.0, 1.0),
    "PyTorch default U(+-1/sqrt(in))": lambda w: w,
    "Kaiming N(0, 2/in)": lambda w: tt.nn.init.kaiming_normal_(w, nonlinearity="relu"),
}
tt.manual_seed(0)
x0 = tt.randn(128, 256)
plt.figure(figsize=(5.5, 3.5))
for label, init in inits.items():
    h, spread = x0, []
    for _ in range(12):
        layer = LinearLayer(256, 256)
        init(layer.weight)
        h = layer(h).relu()
        spread.append(float(h.data.std()))
    plt.semilogy(range(1, 13), spread, "o-", ms=3, label=label)
    print(f"{label:32s} std after 12 layers: {spread[-1]:.3g}")
plt.xlabel("layer")
plt.ylabel("std of activations")
plt.legend(fontsize=8)
plt.show()

# %% [markdown]
# With `N(0, 1)` the spread grows about `sqrt(256 / 2) = 11` times per layer (ReLU keeps half
# of the variance) and would overflow float32 within a few dozen layers; with PyTorch's default they shrink (fine for a few layers, which is what it is tuned
# for); Kaiming holds them steady, which is why deep ReLU networks use it.
#
# ## Sequential
#
# `Sequential(m1, m2, m3)` calls its modules in order: `m3(m2(m1(x)))`. Its real job is
# registration: a plain Python list of layers would hide their parameters from
# `parameters()`, from the optimizer and from `eval()`. PyTorch names the children `"0"`,
# `"1"`, ... so the parameters are `0.weight`, `0.bias`, `2.weight`, ... (the keys of a
# saved model).
#
# **Exercise.** Write `Sequential` with `__init__(*modules)` (register each with
# `self.add_module(str(i), module)`), `forward`, `__len__` and `__getitem__` (integer
# indices, negative ones too). The registered children are in the ordered dict
# `self._modules`.

# %%
class Sequential(Module):
    """Applies its modules in order; registers them as children '0', '1', ..."""

    def __init__(self, *modules):
        super().__init__()
        ### BEGIN SOLUTION
        # HINT: register every module, in order, under the names '0', '1', ... so parameters() finds them
        for i, module in enumerate(modules):
            self.add_module(str(i), module)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        # HINT: feed x through the registered modules in order
        for module in self._modules.values():
            x = module(x)
        return x
        ### END SOLUTION

    def __len__(self):
        ### BEGIN SOLUTION
        # HINT: the number of registered modules
        return len(self._modules)
        ### END SOLUTION

    def __getitem__(self, index):
        ### BEGIN SOLUTION
        # HINT: the index-th registered module; a negative index counts from the end
        return list(self._modules.values())[index]
        ### END SOLUTION

# %% tags=["check"]
check_sequential(Sequential)

# %% [markdown]
# ## Dropout
#
# A large network can memorise its training set. **Dropout** (Srivastava et al., 2014) zeroes
# each activation with probability `p` during training, so no unit can rely on any other
# being present; at evaluation time it does nothing. To keep the expected value of every
# activation the same in both modes, the survivors are scaled by `1/(1-p)` during training
# ("inverted" dropout, what PyTorch does):
#
# ```
#   p = 0.5, training:  x    = [0.4, 1.0, -2.0, 0.6]
#                       mask = [ 0,   2,    2,   0 ]     (0 with prob. p, else 1/(1-p))
#                       out  = [0.0, 2.0, -4.0, 0.0]     E[out] = x
#   eval (.eval()):     out  = x
# ```
#
# **Exercise.** Write `Dropout.forward`. `self.training` is `True` until `.eval()` is called.
# Draw the mask with `tt.rand(*x.shape)` (seedable), build it in `x`'s dtype, and multiply
# the input Tensor by it (Tensor times Tensor, so the gradient flows through the same mask).

# %%
class Dropout(Module):
    """Zeroes elements with probability p in training and scales the rest by 1/(1-p)."""

    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x):
        ### BEGIN SOLUTION
        # HINT: in eval mode (or with p == 0) return x unchanged; in training, zero each element with probability p and scale the survivors so the expected value stays the same
        if not self.training or self.p == 0:
            return x
        keep = tt.rand(*x.shape).data >= self.p
        mask = keep.astype(x.dtype) / np.asarray(1 - self.p, dtype=x.dtype)
        return x * Tensor(mask)
        ### END SOLUTION

    def extra_repr(self):
        return f"p={self.p}"

# %% tags=["check"]
check_dropout(Dropout)

# %% [markdown]
# ## Use it: a digit classifier from your layers
#
# Your `Linear`, `Sequential` and `Dropout` (or the library's, if a check has not passed yet)
# make an MLP for the 8x8 digits. Training needs a loss (module 04), gradients (module 05) and
# an update rule (module 06); here the library supplies the first two and the update is one
# line: move every parameter a small step against its gradient.
#
# Each class whose check passed is also saved, as plain Python, in the folder `my_tinytorch/`
# of the file browser (locally `~/.tinytorch/`): the later modules and the milestones use it
# through `from tinytorch.mine import Linear, Sequential`, and
# [progress.ipynb](../progress.ipynb) shows what you have built so far.

# %%
mine.use("Linear", "Sequential", "Dropout")
MyLinear, MySequential, MyDropout = mine.Linear, mine.Sequential, mine.Dropout  # the classes in use

digits = tt.datasets.load_digits()
x_train = Tensor(digits.x_train.reshape(-1, 64))
y_train = Tensor(digits.y_train)
x_test = Tensor(digits.x_test.reshape(-1, 64))

tt.manual_seed(0)
model = MySequential(MyLinear(64, 64), tt.nn.ReLU(), MyDropout(0.2), MyLinear(64, 10))
print(model)
print("parameters:", sum(p.numel() for p in model.parameters()))


def accuracy(model, x, y):
    model.eval()
    predicted = model(x).data.argmax(axis=1)
    model.train()
    return (predicted == y).mean()


lr, batch_size = 0.2, 32
start = time.perf_counter()
for epoch in range(8):
    order = np.random.default_rng(epoch).permutation(len(y_train))
    for i in range(0, len(order), batch_size):
        idx = order[i:i + batch_size]
        loss = tt.nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
        model.zero_grad()
        loss.backward()
        with tt.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
    if epoch % 2 == 1:
        print(f"epoch {epoch + 1:2d}  last batch loss {loss.item():.3f}  "
              f"test accuracy {accuracy(model, x_test, digits.y_test):.1%}")
print(f"trained in {time.perf_counter() - start:.1f} s")
trained_accuracy = accuracy(model, x_test, digits.y_test)
assert trained_accuracy > 0.9, "the trained network should beat module 01's nearest-centroid baseline"

# %% [markdown]
# Module 01's nearest-centroid classifier got most digits right without learning anything; a
# trained two-layer network does clearly better.
#
# ## Systems analysis: parameters, memory and time
#
# A `Linear(n_in, n_out)` holds `n_in * n_out + n_out` parameters: the weight matrix dominates,
# so doubling the width of an MLP quadruples its parameters. In float32 each takes 4 bytes,
# and training keeps more per parameter: its gradient (module 05) and, with Adam, two more
# arrays (module 06). The activations of a batch are `batch x width` per layer, and are kept
# for the backward pass.

# %%
import matplotlib.pyplot as plt

def count(model):
    return sum(p.numel() for p in model.parameters())


batch = 64
widths = [32, 64, 128, 256, 512, 1024]
params, forward_ms = [], []
print(f"{'MLP 64-w-w-10':>16s} {'params':>10s} {'weights MiB':>12s} {'+grad+Adam':>11s} "
      f"{'activations':>12s} {'forward':>9s} {'GFLOP/s':>8s}")
for width in widths:
    tt.manual_seed(0)
    mlp = tt.nn.Sequential(tt.nn.Linear(64, width), tt.nn.ReLU(), tt.nn.Linear(width, width), tt.nn.ReLU(),
                           tt.nn.Linear(width, 10))
    n = count(mlp)
    x = tt.randn(batch, 64)
    with tt.no_grad():
        seconds = best_time(mlp, x)
    flops = 2 * batch * (64 * width + width * width + width * 10)  # a multiply and an add per weight per example
    activation_bytes = 4 * batch * (width * 4 + 10)  # kept for backward: 2 Linear outputs and 2 ReLU outputs
    params.append(n)
    forward_ms.append(seconds * 1e3)
    print(f"{'w=' + str(width):>16s} {n:>10,d} {4 * n / 2**20:12.3f} {16 * n / 2**20:11.3f} "
          f"{activation_bytes / 2**20:11.3f}M {seconds * 1e3:8.3f}ms {flops / seconds / 1e9:8.2f}")

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
left.loglog(widths, params, "o-")
left.set_xlabel("width")
left.set_ylabel("parameters")
left.set_title("parameters grow like width^2")
right.loglog(widths, forward_ms, "o-")
right.set_xlabel("width")
right.set_ylabel("forward time (ms), batch 64")
right.set_title("time follows the FLOPs once they dominate")
plt.tight_layout()
plt.show()

# %% [markdown]
# For the small widths the forward time hardly changes with width: the fixed cost of each
# call (Python, creating arrays) dominates and the GFLOP/s are low. Only once the matmuls are
# large does time grow with the FLOPs. The same layer stack can be overhead-bound or
# compute-bound depending on its size; module 14 (profiling) comes back to this.
#
# Dropout has no parameters, but it costs time: one random number per activation. Measured
# against the `Linear` before it:

# %%
x = tt.randn(batch, 512)
layer, drop = tt.nn.Linear(512, 512), MyDropout(0.5)
with tt.no_grad():
    for label, fn in (("Linear(512, 512)", lambda: layer(x)), ("Dropout(0.5)", lambda: drop(x))):
        print(f"{label:18s} on ({batch}, 512): {best_time(fn, repeats=10) * 1e3:.3f} ms")

# %% [markdown]
# ## Reflection
#
# 1. `Linear(784, 512)` stores its weight as `(512, 784)` and computes `x @ weight.T`. How many
#    parameters does it have, and how many MiB do they, their gradients and Adam's two state
#    arrays take in float32?
# 2. Your `Sequential` registers children with `add_module`. What exactly breaks (name three
#    things) if it stores `self.layers = list(modules)` instead?
# 3. With `N(0, 1)` weights, by what factor does the activation variance grow per ReLU layer
#    of width 256? After how many layers does float32 overflow?
# 4. Inverted dropout scales by `1/(1-p)` during training. What would you have to do at
#    evaluation time if it did not, and why is scaling during training the better choice?
# 5. In the systems table, at which width did the forward pass stop being dominated by fixed
#    overhead in your runtime? Would you expect the same width in the browser and natively?

# %% [markdown] tags=["solution"]
# ## Answers (solution edition only)
#
# 1. `784 * 512 + 512` = 401,920 parameters: 1.53 MiB in float32. With their gradients and
#    Adam's two state arrays, four copies: about 6.1 MiB.
# 2. `parameters()` does not find the children's weights (the optimizer trains nothing);
#    `train()` / `eval()` do not reach them (dropout stays on at evaluation); `state_dict()`
#    / `load_state_dict()` skip them, so checkpoints lose the model (and `zero_grad`, `repr`
#    miss them too).
# 3. Each layer multiplies the variance by `256` (the fan-in) and ReLU halves the second
#    moment: a factor of 128 in variance, about 11.3 in standard deviation, per layer. The
#    values exceed float32's maximum (3.4e38) after about 36 layers; anything that squares
#    them (a variance, an MSE) overflows after about 18.
# 4. Multiply every activation by `1 - p` at evaluation (the expected fraction kept), so the
#    next layer sees inputs of the same scale as in training. Scaling during training leaves
#    the evaluation model plain: no dropout code at inference, where speed matters, and the
#    weights are ready to export.
# 5. Where the time per forward pass stops being flat and starts growing with the FLOPs (the
#    GFLOP/s column levels off). Not the same: the browser has a higher cost per NumPy call
#    but much slower arithmetic (no BLAS, one thread, no vector instructions), so the
#    crossover usually comes at a smaller width there. Measure both.
