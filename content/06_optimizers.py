# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Module 06: Optimizers
#
# `loss.backward()` tells every parameter which direction increases the loss; the optimizer
# decides how far to move against it. You write the optimizers that train almost every network
# today, SGD with momentum, Adam and AdamW, as classes with PyTorch's interface, and measure
# what each one costs in memory and time and what it buys in convergence.
#
# **Learning objectives.** By the end of this module you can:
#
# - write SGD with momentum and weight decay with PyTorch's `param_groups` interface
# - write Adam and AdamW, including bias correction and decoupled weight decay
# - explain from curvature and noise why adaptive methods converge faster on ill-conditioned
#   problems
# - measure an optimizer's memory (its state) and its time per step

# %%
import time
import tracemalloc

import numpy as np

import tinytorch as tt
from tinytorch.checks import check_adam, check_adamw, check_sgd
import tinytorch.mine as mine
from tinytorch.optim import Optimizer
from tinytorch.profiling.timing import best_time  # fastest of several calls, in seconds

# %% [markdown]
# ## What an optimizer holds
#
# Every training step has the same shape:
#
# ```
#   optimizer.zero_grad()     clear last step's gradients (they accumulate otherwise)
#   loss.backward()           fill p.grad for every parameter
#   optimizer.step()          move every parameter using its gradient (and the optimizer's memory)
# ```
#
# The base class `tinytorch.optim.Optimizer` (like `torch.optim.Optimizer`) keeps two things:
#
# - `param_groups`: a list of dicts, each with a `"params"` list and its own hyper-parameters
#   (`"lr"`, ...). Usually there is one group; fine-tuning often gives new layers a larger
#   learning rate in a second group. Learning-rate schedulers (module 07) work by rewriting
#   `group["lr"]` between steps, so `step()` must read it there every time.
# - `state`: a dict from each parameter to what the algorithm remembers about it between steps
#   (momentum buffers, moment estimates). It is saved in checkpoints.
#
# The update works on `p.data`, the NumPy array, in place: it must not be recorded in the
# graph, and other references to the same parameter (weight tying) must see it.

# %%
layer = tt.nn.Linear(3, 2)
opt = tt.optim.SGD([
    {"params": [layer.weight]},
    {"params": [layer.bias], "lr": 0.5},
], lr=0.1, momentum=0.9)
for group in opt.param_groups:
    print({k: v for k, v in group.items() if k != "params"}, "shapes:", [tuple(p.shape) for p in group["params"]])

# %% [markdown]
# ## SGD, momentum and weight decay
#
# Plain gradient descent moves each parameter by `-lr * g`. In a long narrow valley the
# gradient points mostly across the valley, so the steps zig-zag between the walls and crawl
# along the floor. **Momentum** keeps a running sum of past gradients: components that flip
# sign cancel out, components that agree build up speed (with momentum 0.9, up to 10x).
# **Weight decay** adds `weight_decay * p` to the gradient, the gradient of the L2 penalty
# `weight_decay / 2 * |p|^2`, pulling weights towards zero.
#
# ```
#   g   = p.grad + weight_decay * p                        (if weight_decay)
#   buf = g                       on this parameter's first step
#   buf = momentum * buf + g      afterwards                (buf lives in self.state[p])
#   p   = p - lr * buf            (p - lr * g without momentum)
# ```
#
# This is exactly PyTorch's SGD (with dampening 0). Parameters whose `grad` is `None` (not used
# in this forward pass, or frozen) are skipped. Keep hyper-parameters as Python floats,
# `float(group["lr"])`: a NumPy float64 scalar would turn float32 weights into float64.

# %%
class SGD(Optimizer):
    """Stochastic gradient descent with momentum and weight decay, as torch.optim.SGD."""

    def __init__(self, params, lr=1e-3, momentum=0.0, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    def zero_grad(self):
        """Clear the gradient of every parameter (PyTorch sets it to None)."""
        ### BEGIN SOLUTION
        # HINT: forget the gradient of every parameter in every parameter group
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None
        ### END SOLUTION

    def step(self):
        """Update every parameter that has a gradient."""
        ### BEGIN SOLUTION
        # HINT: for every parameter with a gradient: add weight decay, apply momentum (one buffer per parameter), step against the gradient; read lr and the others from the parameter's group at every step
        for group in self.param_groups:
            lr, momentum = float(group["lr"]), float(group["momentum"])
            weight_decay = float(group["weight_decay"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                if weight_decay:
                    g = g + weight_decay * p.data
                if momentum:
                    state = self.state.setdefault(p, {})
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = g.copy()
                    else:
                        state["momentum_buffer"] = momentum * state["momentum_buffer"] + g
                    g = state["momentum_buffer"]
                p.data -= lr * g
        ### END SOLUTION


# %% tags=["check"]
check_sgd(SGD)

# %% [markdown]
# ## Adam and AdamW
#
# A single learning rate suits some parameters and not others: gradients of different weights
# can differ by orders of magnitude. **Adam** (Kingma & Ba, 2015) gives each parameter its own
# step size. It keeps two running averages per parameter, of the gradient (`m`, the direction)
# and of its square (`v`, its typical magnitude), and moves by their ratio, so every weight
# takes steps of about `lr` whatever the scale of its gradient:
#
# ```
#   t = t + 1                                   (counted per parameter, in self.state[p])
#   m = beta1 * m + (1 - beta1) * g             (m, v start at zero)
#   v = beta2 * v + (1 - beta2) * g * g
#   m_hat = m / (1 - beta1**t)                  bias correction
#   v_hat = v / (1 - beta2**t)
#   p = p - lr * m_hat / (sqrt(v_hat) + eps)
# ```
#
# **Bias correction**: `m` and `v` start at zero, so early averages are too small (after one
# step `m = 0.1 g` with `beta1 = 0.9`). Dividing by `1 - beta**t` undoes exactly that; it
# tends to 1 as `t` grows. **eps** (1e-8) only prevents division by zero; it belongs outside
# the square root, where it matters only for gradients around 1e-8 and smaller.
#
# **Weight decay, two ways.** Adam with L2 decay adds `weight_decay * p` to `g`, but then the
# decay is divided by `sqrt(v_hat)` like the rest of the gradient: weights with large
# gradients are barely decayed. **AdamW** (Loshchilov & Hutter, 2019) *decouples* it: shrink
# every weight by the same factor, `p = p * (1 - lr * weight_decay)`, before the Adam update,
# and leave `g` alone. AdamW is the default for transformers. Below, `AdamW` is your `Adam`
# with `decoupled = True` and a default decay of 0.01, as in PyTorch.

# %%
class Adam(Optimizer):
    """Adam, as torch.optim.Adam; with `decoupled = True` (AdamW) the weight decay is decoupled."""

    decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    def step(self):
        """Update every parameter that has a gradient."""
        ### BEGIN SOLUTION
        # HINT: for every parameter with a gradient: weight decay (decoupled or not), update both moment averages, correct their bias, and step by their ratio; the state is per parameter
        for group in self.param_groups:
            lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
            beta1, beta2 = (float(b) for b in group["betas"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                if weight_decay and self.decoupled:
                    p.data *= 1 - lr * weight_decay
                elif weight_decay:
                    g = g + weight_decay * p.data
                state = self.state.setdefault(p, {})
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = np.zeros_like(p.data)
                    state["exp_avg_sq"] = np.zeros_like(p.data)
                state["step"] += 1
                t = state["step"]
                state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * g
                state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g
                m_hat = state["exp_avg"] / (1 - beta1 ** t)
                v_hat = state["exp_avg_sq"] / (1 - beta2 ** t)
                p.data -= lr * m_hat / (np.sqrt(v_hat) + eps)
        ### END SOLUTION


class AdamW(Adam):
    """Adam with decoupled weight decay, as torch.optim.AdamW."""

    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps, weight_decay)


# %% tags=["check"]
check_adam(Adam)

# %% tags=["check"]
check_adamw(AdamW)

# %% [markdown]
# ## Use it: a narrow valley
#
# Rosenbrock's function `f(x, y) = (1 - x)^2 + 100 (y - x^2)^2` has its minimum at (1, 1) at
# the end of a long, curved, narrow valley: the classic test for optimizers. Each optimizer
# starts at (-1.5, 2) and takes 400 steps. Both SGD runs use lr=2e-3, the largest that does not
# diverge here (try 3e-3); Adam's steps are bounded by its learning rate, so it tolerates a
# much larger one.

# %%
import matplotlib.pyplot as plt

mine.use("SGD", "Adam", "AdamW")
MySGD, MyAdam, MyAdamW = mine.SGD, mine.Adam, mine.AdamW  # the optimizers in use: yours where saved


def rosenbrock(p):
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


runs = {
    "SGD lr=2e-3": lambda ps: MySGD(ps, lr=2e-3),
    "SGD momentum=0.9 lr=2e-3": lambda ps: MySGD(ps, lr=2e-3, momentum=0.9),
    "Adam lr=0.2": lambda ps: MyAdam(ps, lr=0.2),
}
paths = {}
for label, make in runs.items():
    p = tt.nn.Parameter(np.array([-1.5, 2.0]))
    optimizer = make([p])
    path = [p.data.copy()]
    for step in range(400):
        loss = rosenbrock(p)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        path.append(p.data.copy())
    paths[label] = np.array(path)
    print(f"{label:26s} ends at ({p.data[0]:+.3f}, {p.data[1]:+.3f}), f = {rosenbrock(p).item():.2e}")

xs, ys = np.meshgrid(np.linspace(-2, 2, 200), np.linspace(-1, 3, 200))
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
ax1.contour(xs, ys, (1 - xs) ** 2 + 100 * (ys - xs**2) ** 2, levels=np.logspace(-1, 3.5, 15), cmap="gray", linewidths=0.5)
for label, path in paths.items():
    ax1.plot(path[:, 0], path[:, 1], ".-", markersize=2, linewidth=1, label=label)
    ax2.plot((1 - path[:, 0]) ** 2 + 100 * (path[:, 1] - path[:, 0] ** 2) ** 2, label=label)
ax1.plot(1, 1, "k*", markersize=12)
ax1.legend(loc="lower right")
ax1.set_title("400 steps on Rosenbrock's function")
ax2.set(yscale="log", xlabel="step", ylabel="f(x, y)")
plt.show()

# %% [markdown]
# ## Use it: training a classifier
#
# The same comparison on a real task: a 64-64-10 MLP on the 8x8 handwritten digits, 8 epochs
# of mini-batches of 64, identical initial weights and batch order for every optimizer.

# %%
import matplotlib.pyplot as plt

digits = tt.datasets.load_digits()
x_train = tt.tensor(digits.x_train.reshape(len(digits.x_train), -1))
x_test = tt.tensor(digits.x_test.reshape(len(digits.x_test), -1))
y_train, y_test = tt.tensor(digits.y_train), digits.y_test

configs = {
    "SGD lr=0.05": lambda ps: MySGD(ps, lr=0.05),
    "SGD momentum=0.9": lambda ps: MySGD(ps, lr=0.05, momentum=0.9),
    "Adam lr=3e-3": lambda ps: MyAdam(ps, lr=3e-3),
    "AdamW lr=3e-3 wd=0.05": lambda ps: MyAdamW(ps, lr=3e-3, weight_decay=0.05),
}
curves = {}
for label, make in configs.items():
    tt.manual_seed(0)
    model = tt.nn.Sequential(tt.nn.Linear(64, 64), tt.nn.ReLU(), tt.nn.Linear(64, 10))
    optimizer = make(model.parameters())
    loader = tt.data.DataLoader(tt.data.TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
    losses = []
    start = time.perf_counter()
    for epoch in range(8):
        for xb, yb in loader:
            loss = tt.nn.functional.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    seconds = time.perf_counter() - start
    with tt.no_grad():
        accuracy = (model(x_test).data.argmax(axis=1) == y_test).mean()
    curves[label] = losses
    print(f"{label:22s} final loss {np.mean(losses[-20:]):.3f}   test accuracy {accuracy:.1%}   ({seconds:.2f} s)")

plt.figure(figsize=(7, 4))
for label, losses in curves.items():
    smooth = np.convolve(losses, np.ones(10) / 10, mode="valid")
    plt.plot(smooth, label=label)
plt.yscale("log")
plt.xlabel("step (batch of 64)")
plt.ylabel("training loss (moving average of 10)")
plt.legend()
plt.show()

# %% [markdown]
# ## Systems analysis: memory and time of a step
#
# Training memory is not just the weights. Every parameter has a gradient of the same size,
# and the optimizer's state adds zero (SGD), one (momentum) or two (Adam's `m` and `v`) more
# arrays of that size. We measure it on a 1024-1024-1024-10 MLP: the persistent state in
# `optimizer.state`, and with `tracemalloc` the peak of temporary arrays during one `step()`.

# %%
import matplotlib.pyplot as plt

def make_model():
    tt.manual_seed(0)
    return tt.nn.Sequential(tt.nn.Linear(1024, 1024), tt.nn.ReLU(), tt.nn.Linear(1024, 1024), tt.nn.ReLU(),
                            tt.nn.Linear(1024, 10))


def state_bytes(optimizer):
    return sum(v.nbytes for s in optimizer.state.values() for v in s.values() if isinstance(v, np.ndarray))


# (name, constructor, arrays read + written per element at the very least)
kinds = [
    ("SGD", lambda ps: MySGD(ps, lr=0.01), 3),  # read p, g; write p
    ("SGD+momentum", lambda ps: MySGD(ps, lr=0.01, momentum=0.9), 5),  # + read and write buf
    ("Adam", lambda ps: MyAdam(ps, lr=1e-3), 7),  # read p, g, m, v; write p, m, v
    ("AdamW", lambda ps: MyAdamW(ps, lr=1e-3), 7),
    ("tinytorch Adam", lambda ps: tt.optim.Adam(ps, lr=1e-3), 7),
]
rng = np.random.default_rng(0)
rows = []
for kind, make, traffic in kinds:
    model = make_model()
    params = list(model.parameters())
    for p in params:
        p.grad = tt.Tensor(rng.standard_normal(p.shape).astype(np.float32))
    optimizer = make(params)
    optimizer.step()  # the first step creates the state
    tracemalloc.start()
    optimizer.step()
    peak_temporary = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    seconds = best_time(optimizer.step)
    n = sum(p.numel() for p in params)
    rows.append((kind, n * 4, n * 4, state_bytes(optimizer), peak_temporary, seconds, traffic))

n_params = sum(p.numel() for p in params)
print(f"{n_params:,} parameters (float32)")
print(f"{'optimizer':15s} {'params':>8s} {'grads':>8s} {'state':>8s} {'total':>8s} {'x params':>9s} "
      f"{'step temp':>10s} {'step time':>10s} {'GB/s':>6s}")
for kind, p_bytes, g_bytes, s_bytes, temp, seconds, traffic in rows:
    total = p_bytes + g_bytes + s_bytes
    print(f"{kind:15s} {p_bytes / 1e6:6.1f}MB {g_bytes / 1e6:6.1f}MB {s_bytes / 1e6:6.1f}MB {total / 1e6:6.1f}MB "
          f"{total / p_bytes:8.1f}x {temp / 1e6:8.1f}MB {seconds * 1e3:8.2f}ms {traffic * p_bytes / seconds / 1e9:6.2f}")
adam_ratio = (rows[2][1] + rows[2][2] + rows[2][3]) / rows[2][1]
print(f"\nAt this ratio, 1 billion float32 parameters trained with Adam need {adam_ratio * 4:.0f} GB "
      f"before storing a single activation.")

fig, ax = plt.subplots(figsize=(6, 3.5))
names = [r[0].replace(" ", "\n") for r in rows]
bottom = np.zeros(len(rows))
for index, label in [(1, "parameters"), (2, "gradients"), (3, "optimizer state"), (4, "temporaries during step")]:
    values = np.array([r[index] / 1e6 for r in rows])
    ax.bar(names, values, bottom=bottom, label=label)
    bottom += values
ax.set_ylabel("MB")
ax.set_title(f"Training memory for {n_params / 1e6:.1f}M float32 parameters")
ax.legend()
plt.show()

# %% [markdown]
# Adam's persistent memory is four times the weights (weights, gradients, `m`, `v`), which is
# why large models shard optimizer state across devices or keep it in lower precision. The
# step itself does a handful of multiply-adds per
# element and is limited by how fast memory can be read and written (the GB/s column counts the
# minimum traffic: each array read or written once), not by arithmetic; every temporary array
# the formulas create adds traffic and peak memory. tinytorch's `Adam` reuses one scratch array
# for that reason.

# %% [markdown]
# ## Reflection
#
# 1. On Rosenbrock's function, SGD diverges with lr=3e-3. Why does the *curvature* across the
#    valley limit SGD's learning rate, and why does momentum still help at the same learning
#    rate?
# 2. Adam's first step moves every parameter by almost exactly `lr`, whatever its gradient.
#    Show this from the formulas. Is that good for a parameter whose gradient is pure noise?
# 3. What would go wrong in a fine-tuning setup (only some layers get gradients at first) if
#    Adam counted `t` once per `step()` call instead of per parameter?
# 4. With L2 decay in Adam, which weights end up decayed the least? Why does AdamW's decoupled
#    decay avoid that?
# 5. The measured step time gives a bandwidth in GB/s. Which of your `step()` lines create
#    temporary arrays, and how could `out=` arguments or in-place operators remove them?

# %% [markdown] tags=["solution"]
# ## Answers (solution edition only)
#
# 1. On a quadratic valley, SGD is stable only if `lr < 2 / curvature` in the steepest
#    direction. Rosenbrock's walls are very steep across the valley and almost flat along
#    it, so the walls cap `lr` while the floor needs large steps. Momentum accumulates the
#    consistent along-valley component (a velocity up to `1 / (1 - beta)` times larger)
#    while the alternating component across the valley cancels.
# 2. After one step `m = (1 - b1) g` and `v = (1 - b2) g^2`; bias correction gives `m_hat =
#    g` and `v_hat = g^2`, so the update is `lr * g / (|g| + eps)`, about `lr * sign(g)`.
#    For pure noise every parameter still jumps by `lr` at first; later `m` averages the
#    noise towards 0 while `v` keeps its variance, and the steps shrink (one reason for
#    warmup).
# 3. The correction `1 / (1 - beta**t)` assumes the moments were averaged `t` times. A layer
#    unfrozen at call 1000 would have averaged once but be corrected as if 1000 times (by
#    about 1): `m_hat = 0.1 g`, `sqrt(v_hat)` about `0.03 |g|`, a step of about `3 * lr`
#    just when fine-tuning should be gentle.
# 4. L2 adds `wd * p` to the gradient, which is then divided by `sqrt(v_hat)`: weights with
#    large or frequent gradients (large `v`) get their decay divided by a large number and
#    are decayed least. AdamW multiplies `p` by `1 - lr * wd` directly: the same relative
#    decay for every weight, whatever its gradient history.
# 5. Every expression like `beta1 * m`, `(1 - beta1) * g`, `g * g`, `m / (1 - beta1**t)`,
#    `np.sqrt(v_hat)`, `+ eps` and the division makes a full-size temporary. In place: `m *=
#    beta1; m += (1 - beta1) * g`; `v *= beta2; v += (1 - beta2) * g * g`; `np.sqrt(v,
#    out=tmp); tmp /= math.sqrt(1 - beta2**t); tmp += eps; np.divide(m, tmp, out=tmp); p -=
#    lr / (1 - beta1**t) * tmp`: one scratch array instead of about ten.
