# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Module 04: Losses
#
# Training minimises one number, the **loss**, which says how wrong the predictions are. Its
# choice decides what the model learns and whether the gradients that reach the weights are
# useful or vanish. You write mean squared error, log-softmax with the log-sum-exp trick,
# cross-entropy and binary cross-entropy on logits, the way frameworks compute them: stably in
# float32, and with Tensor operations so gradients flow through them.
#
# **Learning objectives.** By the end of this module you can:
#
# - write MSE, log-softmax, cross-entropy and binary cross-entropy with Tensor operations
# - use the log-sum-exp trick and explain why losses take logits rather than probabilities
# - find the float32 limits (overflow, rounding to 1) that the stable formulas avoid
# - compare the gradients different losses give a confident wrong prediction

# %%

import numpy as np

import tinytorch as tt
from tinytorch import Tensor
import tinytorch.nn.functional as F
from tinytorch.checks import (
    check_binary_cross_entropy_with_logits, check_cross_entropy, check_log_softmax, check_mse_loss,
)
import tinytorch.mine as mine
from tinytorch.profiling.timing import best_time  # fastest of several calls, in seconds

# %% [markdown]
# Write every loss with Tensor operations (`-`, `**`, `.exp()`, `.log()`, `.sum(dim,
# keepdim=True)`, `.mean()`, indexing), not on `.data`: the library's autograd (you build it in
# module 05) then gives the gradient of your loss, and each check compares that gradient with
# tinytorch's as well as the value.
#
# ## Mean squared error
#
# For regression: predictions and targets are numbers of the same shape, and
#
# ```
#   mse = mean over all elements of (input - target)^2          gradient: 2 (input - target) / N
# ```
#
# Squaring makes large errors count much more than small ones (an outlier 10x further away
# costs 100x more), and the gradient shrinks as the prediction approaches the target.

# %%
def mse_loss(input, target):
    """Mean over all elements of (input - target)^2, as a 0-d Tensor."""
    ### BEGIN SOLUTION
    # HINT: square the difference, then average over every element
    return ((input - target) ** 2).mean()
    ### END SOLUTION

# %% tags=["check"]
check_mse_loss(mse_loss)

# %% [markdown]
# ## Log-softmax and the log-sum-exp trick
#
# A classifier outputs one **logit** per class; softmax turns a row of logits into
# probabilities (module 02). Losses need the **log** of those probabilities:
#
# ```
#   log softmax(x)_i = x_i - log(sum_j exp(x_j))  =  x_i - logsumexp(x)
# ```
#
# Computing `log(softmax(x))` in two steps fails twice: `exp` overflows for logits above 88
# (float32), and a tiny probability rounds to 0, whose log is `-inf`. The log-sum-exp trick
# shifts by the maximum `m`, exactly as for softmax, and never forms the probabilities:
#
# ```
#   logsumexp(x) = m + log(sum_j exp(x_j - m))        every exp(x_j - m) <= 1, one of them = 1
#
#   x = [1000, 0, -1000]   naive: log(exp(1000) + ...) = log(inf) = inf
#                          trick: 1000 + log(1 + e^-1000 + e^-2000) = 1000
#   log_softmax = [0, -1000, -2000]        (the naive log(softmax) gives [nan, -inf, -inf])
# ```
#
# **Exercise.** Write `log_softmax(x, dim=-1)`. Take the maximum as a constant,
# `Tensor(x.data.max(axis=dim, keepdims=True))`: the result does not depend on the shift, so
# no gradient has to flow through it.

# %%
def log_softmax(x, dim=-1):
    """x - logsumexp(x) along dim, stable for any logits."""
    ### BEGIN SOLUTION
    # HINT: the log-sum-exp trick: shift by the maximum along dim first, so no exp overflows and no log sees 0
    shifted = x - Tensor(x.data.max(axis=dim, keepdims=True))
    return shifted - shifted.exp().sum(dim, keepdim=True).log()
    ### END SOLUTION

# %% tags=["check"]
check_log_softmax(log_softmax)

# %% [markdown]
# ## Cross-entropy
#
# For classification with `C` classes: logits `(N, C)`, targets `(N,)` of class indices. The
# loss of one example is minus the log-probability the model gave the right class, averaged
# over the batch:
#
# ```
#   logits              log_softmax                   target   picked     loss
#   [ 2.0, 1.0, 0.1]    [-0.42, -1.42, -2.32]            0      -0.42
#   [ 0.5, 2.5, 0.3]    [-2.22, -0.22, -2.42]            1      -0.22     -mean = 0.32
# ```
#
# A confident right answer costs almost 0; a confident wrong one costs a lot (`-log` of a tiny
# probability), and its gradient stays large: with respect to the logits it is simply
# `(softmax(x) - one_hot(target)) / N`.
#
# **Exercise.** Write `cross_entropy(logits, target)` with your `log_softmax`. Pick one entry
# per row with an index pair: `log_probs[np.arange(N), target.data]` (`log_probs[:, target]`
# would pick a whole `(N, N)` block).

# %%
def cross_entropy(logits, target):
    """Mean over the batch of -log_softmax(logits)[i, target[i]]; logits (N, C), target (N,) int64."""
    ### BEGIN SOLUTION
    # HINT: the log-probability each row gives its target class, averaged over the rows and negated
    log_probs = log_softmax(logits, dim=1)
    picked = log_probs[np.arange(len(target.data)), target.data]  # (N,)
    return -picked.mean()
    ### END SOLUTION

# %% tags=["check"]
check_cross_entropy(cross_entropy)

# %% [markdown]
# The gradient really is `(softmax - one_hot) / N`: ask autograd for it.

# %%
# F.cross_entropy and nn.CrossEntropyLoss, F.mse_loss and nn.MSELoss run your losses from here
# on (where their checks passed, so they were saved); tinytorch's elsewhere
mine.use("mse_loss", "log_softmax", "cross_entropy")
ce = F.cross_entropy
logits = tt.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]], requires_grad=True)
target = tt.tensor([0, 1])
loss = ce(logits, target)
loss.backward()
by_formula = (logits.softmax(dim=1).data - np.eye(3, dtype=np.float32)[target.data]) / 2
print("loss", round(loss.item(), 4))
print("autograd gradient:\n", logits.grad.data)
print("(softmax - one_hot) / N:\n", by_formula)

# %% [markdown]
# ## Binary cross-entropy on logits
#
# With two classes a model outputs one logit `x` per example; `sigmoid(x)` is the probability
# of class 1, and for a target `y` in [0, 1]
#
# ```
#   bce = -[ y log sigmoid(x) + (1 - y) log(1 - sigmoid(x)) ]
# ```
#
# `log sigmoid(x) = -log(1 + exp(-x))` and `log(1 - sigmoid(x)) = -x - log(1 + exp(-x))`.
# Substituting and rewriting `log(1 + exp(-x))` so that `exp` only sees `-|x|`:
#
# ```
#   bce = max(x, 0) - x * y + log(1 + exp(-|x|))
# ```
#
# Exact for any `x`: no overflow, and no `log(0)` when `sigmoid(x)` rounds to 1 (in float32
# it does once `x` is about 17: the systems analysis shows it) or to 0 (once `exp(-x)`
# overflows, far below -80).
#
# **Exercise.** Write `binary_cross_entropy_with_logits(logits, target)`, the mean of the
# formula above. `x.relu()` is `max(x, 0)` and `x.abs()` is `|x|`.

# %%
def binary_cross_entropy_with_logits(logits, target):
    """Mean binary cross-entropy of sigmoid(logits) against target, computed stably from logits."""
    ### BEGIN SOLUTION
    # HINT: the stable formula above, elementwise with Tensor operations (so gradients flow), then the mean
    return (logits.relu() - logits * target + ((-logits.abs()).exp() + 1).log()).mean()
    ### END SOLUTION

# %% tags=["check"]
check_binary_cross_entropy_with_logits(binary_cross_entropy_with_logits)

# %% [markdown]
# ## Use it: why classifiers train on cross-entropy
#
# Train the same linear classifier on the digits twice, by plain gradient descent: once with
# your cross-entropy, once with your MSE between the softmax probabilities and the one-hot
# targets (a reasonable-looking alternative). Same start, same learning rate, same steps.

# %%
import matplotlib.pyplot as plt

mse = F.mse_loss  # yours, where saved
digits = tt.datasets.load_digits()
x_train, y_train = Tensor(digits.x_train.reshape(-1, 64)), Tensor(digits.y_train)
x_test = Tensor(digits.x_test.reshape(-1, 64))
one_hot = Tensor(np.eye(10, dtype=np.float32)[digits.y_train])

losses = {
    "cross-entropy": lambda out: ce(out, y_train),
    "MSE on softmax": lambda out: mse(out.softmax(dim=1), one_hot),
}
curves = {}
for label, loss_fn in losses.items():
    tt.manual_seed(0)
    model = tt.nn.Linear(64, 10)
    model.weight.data *= 5  # a confident (and wrong) start, as after a bad step
    history = []
    for step in range(150):
        loss = loss_fn(model(x_train))
        model.zero_grad()
        loss.backward()
        with tt.no_grad():
            for p in model.parameters():
                p -= 0.5 * p.grad
        if step % 10 == 0 or step == 149:
            history.append((model(x_test).data.argmax(axis=1) == digits.y_test).mean())
    curves[label] = history
    print(f"{label:15s} test accuracy after 150 steps: {history[-1]:.1%}")

plt.figure(figsize=(5.5, 3.5))
for label, history in curves.items():
    plt.plot(list(range(0, 150, 10)) + [149], history, label=label)
plt.xlabel("gradient step")
plt.ylabel("test accuracy")
plt.legend()
plt.show()

# %% [markdown]
# Through the softmax, MSE's gradient for a confidently wrong example is tiny (the softmax is
# flat there), so learning crawls; cross-entropy's `-log` cancels the softmax's exponential,
# leaving the gradient `softmax - one_hot`, which is largest exactly when the model is most
# wrong.
#
# ## Systems analysis
#
# ### The limits of float32
#
# float32 has a 24-bit mantissa: about 7 significant digits. Next to 1, the smallest
# difference it can hold is `eps = 1.2e-7`; so `sigmoid(x) = 1 / (1 + exp(-x))` rounds to
# exactly 1 once `exp(-x) < eps / 2`, i.e. `x > 16.6`. After that, `log(1 - sigmoid(x))` is
# `log(0) = -inf`. Exponentials have their own limits:

# %%
f32 = np.finfo(np.float32)
print(f"float32 eps {f32.eps:.3g}: 1 + 1e-8 == 1 is {np.float32(1) + np.float32(1e-8) == np.float32(1)}")
print(f"exp overflows above {np.log(f32.max):.1f}; exp underflows to 0 below {np.log(f32.smallest_subnormal):.1f}")
for x in (5.0, 10.0, 16.0, 17.0, 30.0, -17.0):
    p = 1 / (1 + np.exp(-np.float32(x)))
    print(f"x = {x:4.0f}: sigmoid(x) in float32 = {p:.9g}   1 - sigmoid(x) = {np.float32(1) - p:.3g}")
sigmoid32 = lambda x: 1 / (1 + np.exp(-np.float32(x)))
assert sigmoid32(16.0) < 1 and sigmoid32(17.0) == 1, "sigmoid should round to exactly 1 between x = 16 and 17"
assert sigmoid32(-17.0) > 0, "sigmoid(-17) is tiny but not 0: only 1 - sigmoid loses everything"

# %% [markdown]
# ### Why losses take logits
#
# The same binary cross-entropy, target 0, computed two ways: from probabilities
# (`F.binary_cross_entropy(sigmoid(x), y)`, which like PyTorch clamps `log` at -100 to avoid
# `inf`) and from logits (your stable formula). The true loss is about `x`, the true gradient
# `sigmoid(x)`, about 1.

# %%
mine.use("mse_loss", "log_softmax", "cross_entropy", "binary_cross_entropy_with_logits")
bce_logits = F.binary_cross_entropy_with_logits  # yours, where saved
print(f"{'logit x':>8s} {'loss from probs':>16s} {'from logits':>12s} {'grad from probs':>16s} {'from logits':>12s}")
for x in (2.0, 10.0, 17.0, 50.0, 120.0):
    results = []
    for from_logits in (False, True):
        logit = tt.tensor([x], requires_grad=True)
        target = tt.tensor([0.0])
        if from_logits:
            loss = bce_logits(logit, target)
        else:
            loss = F.binary_cross_entropy(logit.sigmoid(), target)
        loss.backward()
        results += [loss.item(), logit.grad.item()]
    print(f"{x:8.0f} {results[0]:16.4f} {results[2]:12.4f} {results[1]:16.4g} {results[3]:12.4g}")

# %% [markdown]
# From probabilities, the loss saturates at 100 and the gradient of a confidently wrong
# prediction collapses to 0: the model stops learning exactly where it is most wrong. From
# logits both stay exact. That is why models end in raw logits and the loss applies
# (log-)softmax or sigmoid inside: `CrossEntropyLoss` and `BCEWithLogitsLoss` in PyTorch and
# tinytorch.
#
# ### Composed versus fused cross-entropy
#
# Your cross-entropy is about eight Tensor operations, each writing a new `(N, C)` array and
# each recording a graph node whose backward writes another. tinytorch's `F.cross_entropy` is
# one fused operation: one pass for the max, one for `exp`, and a backward that reuses
# `exp(shifted)`. For a language model `C` is the vocabulary (tens of thousands), so this is
# one of the largest arrays in training. Forward plus backward, batch 64:

# %%
import matplotlib.pyplot as plt

def forward_backward(loss_fn, logits, target):
    logits.grad = None
    loss_fn(logits, target).backward()


rng = np.random.default_rng(0)
batch = 64
classes = [10, 100, 1000, 10000]
timings = {"yours (composed)": [], "F.cross_entropy (fused)": []}
for c in classes:
    logits = Tensor(rng.standard_normal((batch, c)).astype(np.float32), requires_grad=True)
    target = Tensor(rng.integers(0, c, batch))
    for label, fn in (("yours (composed)", ce), ("F.cross_entropy (fused)", F.cross_entropy)):
        timings[label].append(best_time(lambda: forward_backward(fn, logits, target)) * 1e3)
    print(f"C={c:6d}: logits {batch * c * 4 / 2**20:6.2f} MiB   composed {timings['yours (composed)'][-1]:7.3f} ms   "
          f"fused {timings['F.cross_entropy (fused)'][-1]:7.3f} ms")

plt.figure(figsize=(5.5, 3.5))
for label, values in timings.items():
    plt.loglog(classes, values, "o-", label=label)
plt.xlabel("classes C (batch 64)")
plt.ylabel("forward + backward (ms)")
plt.legend()
plt.show()

# %% [markdown]
# For small `C` the fixed cost of each operation dominates and the fused version wins by
# having fewer of them; for large `C` both are limited by passes over memory, and the fused
# version makes fewer passes. Module 18 (acceleration) comes back to fusing.
#
# ## Reflection
#
# 1. A 10-class classifier at initialisation outputs near-uniform probabilities. What
#    cross-entropy do you expect on the first batch? Check it against a freshly built model.
# 2. In your `log_softmax` the maximum is a constant, cut from the graph. Why is the gradient
#    still exactly right?
# 3. From the float32 table: above which logit does `sigmoid` return exactly 1.0, and what
#    happens to a model trained with `binary_cross_entropy` on probabilities once its outputs
#    get there?
# 4. In the digits experiment, compute by hand the gradient of MSE-on-softmax with respect to a
#    logit when the model puts probability 0.999 on a wrong class. Why does it crawl?
# 5. For a GPT with a 50,000-token vocabulary, a batch of 8 sequences of 1024 tokens, how many
#    MiB is one `(N, C)` float32 array of logits, and how many such arrays does your composed
#    cross-entropy create in forward and backward?

# %% [markdown] tags=["solution"]
# ## Answers (solution edition only)
#
# 1. `ln(10)`, about 2.30: the log of 1/10 for whichever class is right. A fresh model's
#    first loss should be close to it; much larger means the initial logits are too large.
# 2. `x - m - log(sum(exp(x - m)))` equals `x - log(sum(exp(x)))` for every constant `m`:
#    the function does not depend on `m` at all, so its derivative with respect to `m` is 0
#    (the `-1` and the `sum(softmax) = 1` cancel). Cutting `m` from the graph drops a term
#    that is exactly zero.
# 3. About 16.6: float32 `sigmoid(17)` is exactly 1.0. `log(1 - 1) = log(0)` is clamped to
#    -100, and the gradient through the saturated sigmoid is 0: a confidently wrong output
#    stops learning. From logits the loss is exact (about `x`) and the gradient is
#    `sigmoid(x)`, about 1.
# 4. With the mean over `C` classes: the true class's logit gets about `2 * (p_t - 1) * p_t
#    * (1 - p_t) / C` from its own term plus `2 * p_w * (-p_w * p_t) / C` from the wrong
#    class: about `-0.004 / C`, against `p_t - 1`, about -1, for cross-entropy. Softmax's
#    slope `p (1 - p)` is about 0.001 when it is saturated, and MSE does not undo it: the
#    update crawls.
# 5. `8 * 1024 * 50,000 * 4` bytes = 1,562.5 MiB, 1.5 GiB per array. Each Tensor operation
#    on an `(N, C)` operand makes one: count your own; the composed version typically holds
#    about three in the forward pass (shifted logits, their exp, the log-probabilities) and
#    as many again in backward, about 9 GiB in all, which is why frameworks fuse
#    cross-entropy into one kernel.
