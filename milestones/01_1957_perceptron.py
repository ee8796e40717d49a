# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Milestone 1957: The perceptron
#
# In 1957 Frank Rosenblatt described the **perceptron**, and in 1958 he built it in hardware
# (the Mark I: 400 photocells wired to units whose weights were motor-driven
# potentiometers). The unit itself was old: McCulloch and Pitts (1943) had already modelled a
# neuron as a weighted sum followed by a threshold. What was new was a **learning rule**: show
# the machine an example, and when it answers wrongly, add the example to the weights (or
# subtract it). In 1962 Novikoff proved that if a line separates the two classes with some
# margin, the rule stops making mistakes after a bounded number of updates. For the first time
# a machine provably learned a task from examples instead of being programmed for it.
#
# Here the perceptron is one `Linear(2, 1)` layer followed by a sign, trained with
# Rosenblatt's rule (no gradients) on two separable clusters of points.
#
# **Needs:** Module 01 (Tensor) and Module 03 (Layers: `Linear`).
# **Target:** 100 % accuracy on held-out points of linearly separable data.
# **Run it as a script:** `python milestones/01_1957_perceptron.py` (prints the same numbers;
# plots are drawn off-screen).

# %%
import time

import numpy as np

import tinytorch as tt

import tinytorch.mine as mine

# Your framework: `mine.use()` makes tinytorch run on the components you built in the modules
# and saved once their checks passed (progress.ipynb lists them), and prints which are yours;
# tinytorch's own runs wherever you have none (or yours no longer passes its check). From here
# on tinytorch's layers, losses and `loss.backward()` call your code where it is yours, and
# `mine.Linear` etc. are the classes in use. `mine.use(False)` runs on tinytorch's alone.
mine.use()
Linear = mine.Linear

# %% [markdown]
# ## The data
#
# `make_blobs` draws points around two centers 4 apart, each point within `3 * std` of its
# center, so for `std < 2/3` a straight line separates the classes (with `std = 0.5`, by a
# gap of at least 1). Rosenblatt's inputs were light intensities, never negative, so the points are
# shifted to non-negative coordinates: the separating line then does not pass through the
# origin and the bias has real work to do. The perceptron uses labels `t = -1` and `t = +1`;
# 200 points train it and 100 others test it.

# %%
SEED, STD = 0, 0.5


def photocell_blobs(n, std, seed):
    """make_blobs shifted so that every coordinate is >= 0, with labels -1/+1."""
    X, y = tt.datasets.make_blobs(n=n, centers=2, std=std, seed=seed)
    return X - X.min(axis=0), 2 * y - 1


X, t = photocell_blobs(300, STD, SEED)
X_train, t_train, X_test, t_test = X[:200], t[:200], X[200:], t[200:]
print(f"train {X_train.shape}, test {X_test.shape}; {(t_train == 1).sum()} of the training points have t = +1")

# %% [markdown]
# ## The rule
#
# The perceptron answers `sign(w . x + b)`. For each training point in turn:
#
# ```
#   score = w . x + b
#   if t * score <= 0:          # wrong side of the line (or on it)
#       w = w + t * x           # tilt the line towards classifying x correctly
#       b = b + t
# ```
#
# After an update `t * (w . x + b)` grows by `|x|^2 + 1 > 0`: the mistake becomes less wrong.
# Correct answers change nothing. Start from `w = 0, b = 0` (Rosenblatt's choice; it is what
# the convergence proof assumes) and sweep the data until a whole pass makes no mistake.

# %%
def train_perceptron(neuron, X, t, max_epochs=100):
    """Rosenblatt's rule on `neuron` (a Linear(d, 1)); returns the mistakes made in each epoch."""
    with tt.no_grad():
        neuron.weight.data[...] = 0
        neuron.bias.data[...] = 0
        mistakes_per_epoch = []
        for epoch in range(max_epochs):
            mistakes = 0
            for x_i, t_i in zip(X, t):
                score = neuron(tt.tensor(x_i[None])).item()  # one point, shape (1, d)
                if t_i * score <= 0:
                    neuron.weight.data += t_i * x_i
                    neuron.bias.data += t_i
                    mistakes += 1
            mistakes_per_epoch.append(mistakes)
            if mistakes == 0:
                break
    return mistakes_per_epoch


def accuracy(neuron, X, t):
    """Fraction of points on the correct side, all points in one batched forward."""
    with tt.no_grad():
        scores = neuron(tt.tensor(X)).numpy()[:, 0]
    return float(np.mean(np.where(scores > 0, 1, -1) == t))


tt.manual_seed(SEED)
perceptron = Linear(2, 1)
start = time.perf_counter()
mistakes = train_perceptron(perceptron, X_train, t_train)
seconds = time.perf_counter() - start
for epoch, m in enumerate(mistakes, 1):
    print(f"epoch {epoch}: {m} mistakes")
print(f"converged after {len(mistakes)} epochs and {sum(mistakes)} updates ({seconds * 1e3:.0f} ms)")
print(f"w = {perceptron.weight.numpy()[0]}, b = {perceptron.bias.item():.1f}")
train_acc, test_acc = accuracy(perceptron, X_train, t_train), accuracy(perceptron, X_test, t_test)
mine.report()  # which components that ran were yours, and their share of the time
print(f"train accuracy {train_acc:.1%}, test accuracy {test_acc:.1%}")

# %% [markdown]
# The line it found, with the training points (dots) and the test points it never saw
# (crosses). The shading is the side where the perceptron answers +1.

# %%
import matplotlib.pyplot as plt

def plot_boundary(ax, neuron, X_train, t_train, X_test, t_test, title):
    lo, hi = np.vstack([X_train, X_test]).min(axis=0) - 1, np.vstack([X_train, X_test]).max(axis=0) + 1
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    with tt.no_grad():
        side = neuron(tt.tensor(grid)).numpy().reshape(gx.shape) > 0
    ax.contourf(gx, gy, side, levels=[-0.5, 0.5, 1.5], colors=["#f4d6d6", "#d6e4f4"])
    for label, color in ((-1, "tab:red"), (1, "tab:blue")):
        ax.scatter(*X_train[t_train == label].T, s=12, color=color)
        ax.scatter(*X_test[t_test == label].T, s=30, color=color, marker="x")
    ax.set_title(title)
    ax.set_aspect("equal")


fig, axes = plt.subplots(1, 2, figsize=(10, 4))
plot_boundary(axes[0], perceptron, X_train, t_train, X_test, t_test, f"perceptron: test accuracy {test_acc:.0%}")
axes[1].bar(range(1, len(mistakes) + 1), mistakes)
axes[1].set_xlabel("epoch")
axes[1].set_ylabel("mistakes (= updates)")
axes[1].set_title("learning stops once a pass is clean")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## How many mistakes? Novikoff's bound, measured
#
# Write every input with a constant 1 appended, `x' = (x, 1)`, so the bias is one more weight.
# Let `R` be the largest `|x'|`, and suppose some unit vector `u` puts every point on its own
# side with margin at least `gamma` (`t * (u . x') >= gamma`). Then the perceptron makes at
# most `(R / gamma)^2` updates, whatever the order of the points, their number or the dimension.
# (Each update raises `w . u` by at least `gamma` but `|w|^2` by at most `R^2`; since
# `w . u <= |w|`, after `k` updates `k gamma <= sqrt(k) R`.)
#
# Any separating line gives a valid `gamma`. The perpendicular bisector of the two class means
# separates these blobs, so below `(R / gamma)^2` is computed from it (the best line would give
# an even smaller bound). Shrinking the gap between the clusters (larger `std`) shrinks
# `gamma`; the bound, and the actual number of updates, grow. Each setting is run on five
# seeds, and each run is also scored on its 100 held-out points.

# %%
import matplotlib.pyplot as plt

def novikoff_bound(X, t):
    """(R, gamma, bound) for the bisector of the class means, in the augmented space (x, 1)."""
    mean_pos, mean_neg = X[t == 1].mean(axis=0), X[t == -1].mean(axis=0)
    u = mean_pos - mean_neg
    u_b = -u @ (mean_pos + mean_neg) / 2  # the line passes through the midpoint
    norm = np.sqrt(u @ u + u_b**2)
    gamma = np.min(t * (X @ u + u_b)) / norm
    R = np.sqrt((X**2).sum(axis=1) + 1).max()
    return R, gamma, (R / gamma) ** 2 if gamma > 0 else np.inf


print(f"{'std':>5} {'bound (R/gamma)^2':>18} {'updates':>14} {'test accuracy per seed':>30}")
rows = []
for std in (0.1, 0.3, 0.5, 0.6):
    bounds, updates, tests = [], [], []
    for seed in range(5):
        Xs, ts = photocell_blobs(300, std, seed)
        bounds.append(novikoff_bound(Xs[:200], ts[:200])[2])
        neuron = Linear(2, 1)
        m = train_perceptron(neuron, Xs[:200], ts[:200])
        assert m[-1] == 0 and sum(m) <= bounds[-1]  # converged, within the bound: the theorem, checked
        updates.append(sum(m))
        tests.append(accuracy(neuron, Xs[200:], ts[200:]))
    rows.append((std, np.mean(bounds), np.mean(updates)))
    print(f"{std:5.2f} {np.mean(bounds):18.0f} {min(updates):6d} to {max(updates):4d} "
          f"{' '.join(f'{a:.0%}' for a in tests):>30}")

fig, ax = plt.subplots(figsize=(6, 3.5))
stds, bounds, updates = zip(*rows)
ax.semilogy(stds, bounds, "o--", label="bound (R / gamma)^2, mean of 5 seeds")
ax.semilogy(stds, updates, "o-", label="updates made, mean of 5 seeds")
ticks = [1, 10, 100, 1000, 10000]
ax.set_yticks(ticks, [str(v) for v in ticks])  # plain labels
ax.yaxis.set_minor_formatter(plt.NullFormatter())
ax.set_xlabel("cluster std (larger = smaller margin)")
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# The bound holds everywhere, and is loose: it must cover the worst order of the points. The
# test column shows the rule's weak spot. It stops at the *first* line that separates the
# training points, which can pass just next to a cluster, and then a held-out point a little
# further out lands on the wrong side. Choosing the line with the widest margin is a later
# idea (the support vector machine, 1992).

# %% [markdown]
# ## Systems analysis: one point at a time
#
# The rule is sequential: each update depends on the previous one, so training walks the
# points one by one through `Linear`, a few multiply-adds each. Predicting, in contrast, needs
# no order and runs as one batched product. Both below do the same arithmetic per point;
# the difference is the interpreter's work per call (creating tensors, checking shapes,
# dispatching), paid once per point in the loop and once per batch in the batched call.

# %%
X_big = np.tile(X_train, (10, 1))  # 2,000 points
with tt.no_grad():
    start = time.perf_counter()
    for x_i in X_big:
        perceptron(tt.tensor(x_i[None]))
    loop_s = time.perf_counter() - start
    repeats = 50
    start = time.perf_counter()
    for _ in range(repeats):
        perceptron(tt.tensor(X_big))
    batch_s = (time.perf_counter() - start) / repeats
flops = 2 * 2 * len(X_big)  # one multiply and one add per weight, per point
print(f"{len(X_big):,} points, {flops:,} FLOPs")
print(f"one call per point: {loop_s * 1e6 / len(X_big):8.2f} us per point ({flops / loop_s / 1e6:8.2f} MFLOP/s)")
print(f"one batched call:   {batch_s * 1e6 / len(X_big):8.3f} us per point ({flops / batch_s / 1e6:8.2f} MFLOP/s)")
print(f"batched is {loop_s / batch_s:.0f}x faster for the same arithmetic")

# %% [markdown]
# ## Result

# %%
TARGET = 1.0
verdict = "target met" if test_acc >= TARGET else "target MISSED"
print(f"RESULT: test accuracy {test_acc:.1%} (target {TARGET:.0%}): {verdict}; {mine.summary()}")

# %% [markdown]
# ## Reflection
#
# 1. The rule changes nothing once every training point is right. Why does that make the final
#    line depend on the order of the points, and why is it usually not the line with the
#    widest margin?
# 2. The bound `(R / gamma)^2` does not depend on the number of points or the dimension. What
#    happens to it, and to the loop above, when the clusters overlap (try `std=0.8`)?
# 3. Multiply every input by 10. How do `R`, `gamma`, the bound and the number of updates
#    change? What does a learning rate `w += lr * t * x` change when `w` starts at 0?
# 4. The loop spends microseconds per point on a few multiply-adds. Which part of your
#    `Linear` and `Tensor` code runs on every call, and what would a perceptron in C gain?
