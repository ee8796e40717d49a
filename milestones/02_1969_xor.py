# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Milestone 1969: XOR and the hidden layer
#
# In 1969 Marvin Minsky and Seymour Papert published *Perceptrons*, a careful mathematical
# study of what a single layer of perceptrons can compute. Among its results: no single
# threshold unit computes XOR (output 1 when exactly one input is 1), and more generally a
# single layer cannot decide properties that depend on all inputs jointly, such as parity.
# Networks with a **hidden layer** of units in between can compute XOR, and the book said
# so, but nobody had a general way to *train* the hidden units. Funding and interest in neural
# networks collapsed for over a decade.
#
# Here you see both halves: no single layer gets more than three of the four XOR corners
# right, and training one leaves it at chance; a network with one hidden layer of two units
# solves it, by learning a new representation in which the classes are separable.
#
# **Needs:** Module 01 (Tensor), Module 02 (Activations), Module 03 (Layers), Module 05
# (Autograd) and Module 06 (Optimizers).
# **Target:** 100 % accuracy on held-out XOR points.
# **Run it as a script:** `python milestones/02_1969_xor.py` (prints the same numbers; plots
# are drawn off-screen).

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
Linear, Sequential, Adam = mine.Linear, mine.Sequential, mine.Adam
from tinytorch.nn import Tanh, CrossEntropyLoss

# %% [markdown]
# ## The data
#
# `make_xor` puts noisy points around the four corners of the unit square; the label is
# `x0 XOR x1`. 200 points train, 200 others (another seed) test, and the bare truth table is
# checked too.

# %%
SEED = 0
X_train, y_train = tt.datasets.make_xor(n=200, noise=0.1, seed=SEED)
X_test, y_test = tt.datasets.make_xor(n=200, noise=0.1, seed=SEED + 1)
corners, corner_labels = tt.datasets.xor_truth_table()
for c, label in zip(corners, corner_labels):
    print(f"{c.astype(int)} -> {label}")

# %% [markdown]
# ## Why one layer cannot do it
#
# A single unit answers 1 when `w0 x0 + w1 x1 + b > 0`. XOR needs
#
# ```
#   (0,0) -> 0:   b <= 0
#   (1,0) -> 1:   w0 + b > 0           adding these two:  w0 + w1 + 2b > 0
#   (0,1) -> 1:   w1 + b > 0
#   (1,1) -> 0:   w0 + w1 + b <= 0     so b > -(w0 + w1 + b) >= 0, contradicting b <= 0
# ```
#
# No line puts (0,0) and (1,1) on one side and (1,0) and (0,1) on the other. The best a line
# can do is three corners out of four. Checking every line directly (all directions in steps
# of half a degree, every offset that makes a difference):

# %%
angles = np.deg2rad(np.arange(0, 360, 0.5))
directions = np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (720, 2) unit normals
proj = X_train @ directions.T  # (200, 720): each point's position along each normal
# Sort each column; a threshold between consecutive projections is every distinct line.
order = np.argsort(proj, axis=0)
labels_sorted = y_train[order]  # (200, 720)
# Predict 1 above the threshold: correct = (zeros below) + (ones above), for each cut.
zeros_below = np.vstack([np.zeros((1, len(angles))), np.cumsum(labels_sorted == 0, axis=0)])
ones_above = np.vstack([np.cumsum((labels_sorted == 1)[::-1], axis=0)[::-1], np.zeros((1, len(angles)))])
best_line = (zeros_below + ones_above).max() / len(y_train)
print(f"best accuracy of any straight line on the training points: {best_line:.1%} "
      f"({len(angles)} directions x {len(y_train) + 1} offsets)")

# %% [markdown]
# Training cannot beat that. A single `Linear(2, 2)` layer (two logits, softmax) trained with
# cross-entropy and Adam:

# %%
inputs, targets = tt.tensor(X_train), tt.tensor(y_train)


def train(model, steps=150, lr=0.1):
    """Full-batch Adam on the training points; returns the loss at every step."""
    optimizer = Adam(model.parameters(), lr=lr)
    loss_fn = CrossEntropyLoss()
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def accuracy(model, X, y):
    with tt.no_grad():
        return float((model(tt.tensor(X)).numpy().argmax(axis=1) == y).mean())


tt.manual_seed(SEED)
single = Linear(2, 2)
single_losses = train(single)
print(f"single layer: loss {single_losses[-1]:.3f}, train {accuracy(single, X_train, y_train):.1%}, "
      f"test {accuracy(single, X_test, y_test):.1%}, corners {accuracy(single, corners, corner_labels):.0%}")

# %% [markdown]
# ## A hidden layer by hand
#
# Minsky and Papert knew a second layer fixes it: XOR is "OR and not AND". Two hidden
# threshold units compute OR and NAND of the inputs; the output unit ANDs them. Setting the
# weights of two `Linear` layers by hand:

# %%
def step(x):
    return tt.tensor((x.numpy() > 0).astype(np.float32))


hidden, output = Linear(2, 2), Linear(2, 1)
with tt.no_grad():
    hidden.weight.data[...] = [[1, 1], [-1, -1]]  # unit 0: x0 + x1 > 0.5 (OR)
    hidden.bias.data[...] = [-0.5, 1.5]  #              unit 1: x0 + x1 < 1.5 (NAND)
    output.weight.data[...] = [[1, 1]]  #               out: h0 + h1 > 1.5 (AND)
    output.bias.data[...] = [-1.5]
    by_hand = step(output(step(hidden(tt.tensor(corners))))).numpy()[:, 0]
print("hand-wired network on the corners:", by_hand.astype(int), " truth:", corner_labels)

# %% [markdown]
# The catch in 1969: this needs someone to choose the hidden units. A threshold has no useful
# gradient (it is flat almost everywhere), so the perceptron rule cannot say how to change a
# hidden weight. A smooth activation (`tanh`) and the chain rule can, which is what
# backpropagation (milestone 1986) made standard. With autograd (yours, where `mine.use()`
# found it saved: `mine.report()` below says), the same 2-2-2 shape learns it:

# %%
tt.manual_seed(SEED)
mlp = Sequential(Linear(2, 2), Tanh(), Linear(2, 2))
start = time.perf_counter()
mlp_losses = train(mlp)
train_seconds = time.perf_counter() - start
mlp_test = accuracy(mlp, X_test, y_test)
mine.report()  # which components that ran were yours, and their share of the time
print(f"hidden layer: loss {mlp_losses[-1]:.3f}, train {accuracy(mlp, X_train, y_train):.1%}, "
      f"test {mlp_test:.1%}, corners {accuracy(mlp, corners, corner_labels):.0%} "
      f"({len(mlp_losses)} steps in {train_seconds:.2f} s)")

# %% [markdown]
# What did the hidden layer learn? Left and middle: each model's regions. Right: the training
# points as the output layer sees them, `tanh` of the hidden units. In that space a single
# line (drawn) separates the classes: the hidden layer turned a non-separable problem into a
# separable one.

# %%
import matplotlib.pyplot as plt

def regions(ax, model, title):
    gx, gy = np.meshgrid(np.linspace(-0.5, 1.5, 150), np.linspace(-0.5, 1.5, 150))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    with tt.no_grad():
        pred = model(tt.tensor(grid)).numpy().argmax(axis=1).reshape(gx.shape)
    ax.contourf(gx, gy, pred, levels=[-0.5, 0.5, 1.5], colors=["#f4d6d6", "#d6e4f4"])
    ax.scatter(*X_train.T, c=np.where(y_train == 1, "tab:blue", "tab:red"), s=8)
    ax.set_title(title)
    ax.set_aspect("equal")


fig, axes = plt.subplots(1, 3, figsize=(13, 4))
regions(axes[0], single, f"one layer: test {accuracy(single, X_test, y_test):.0%}")
regions(axes[1], mlp, f"hidden layer: test {mlp_test:.0%}")
with tt.no_grad():
    h = mlp[1](mlp[0](inputs)).numpy()  # (200, 2) hidden activations
axes[2].scatter(*h.T, c=np.where(y_train == 1, "tab:blue", "tab:red"), s=8)
w = mlp[2].weight.numpy()
b = mlp[2].bias.numpy()
dw, db = w[1] - w[0], b[1] - b[0]  # class 1 wins where dw . h + db > 0
hx = np.linspace(-1.1, 1.1, 2)
if abs(dw[1]) > 1e-6:
    axes[2].plot(hx, -(dw[0] * hx + db) / dw[1], "k--")
axes[2].set_xlim(-1.1, 1.1)
axes[2].set_ylim(-1.1, 1.1)
axes[2].set_xlabel("hidden unit 0")
axes[2].set_ylabel("hidden unit 1")
axes[2].set_title("hidden space: now separable")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Systems analysis: how often does training succeed?
#
# Two hidden units are just enough to represent XOR, and gradient descent does not always find
# them: some starting weights lead to a local minimum. Wider layers fail less. To measure
# that over many seeds cheaply, train **many networks at once**: stack their weights along a
# leading "model" dimension, so each step is a few batched array operations for all of them
# instead of a Python loop over models. The models do not interact (the total loss is a sum,
# so each one's gradient is its own, and Adam works elementwise), so this is exactly
# independent training. The layout matters too: here points run along the *last* axis,
# `(models, units, points)`, so the sums that bias gradients need run over long contiguous
# rows. NumPy is slow at summing over a short last axis (a few units), once per row.

# %%
def train_many(width, models=32, steps=150, lr=0.1, seed=0):
    """Train `models` independent 2-width-1 tanh networks at once; returns each one's test accuracy."""
    tt.manual_seed(seed)
    bound1, bound2 = 1 / np.sqrt(2), 1 / np.sqrt(width)  # PyTorch's Linear init ranges
    w1 = ((tt.rand(models, width, 2) * 2 - 1) * bound1).requires_grad_()
    b1 = ((tt.rand(models, width, 1) * 2 - 1) * bound1).requires_grad_()
    w2 = ((tt.rand(models, 1, width) * 2 - 1) * bound2).requires_grad_()
    b2 = ((tt.rand(models, 1, 1) * 2 - 1) * bound2).requires_grad_()
    params = [w1, b1, w2, b2]

    def forward(x_t):  # x_t (2, N) -> one logit per model and point, (models, N)
        hidden = (w1 @ x_t + b1).tanh()  # (models, width, N)
        return (w2 @ hidden + b2).reshape(models, -1)

    optimizer = Adam(params, lr=lr)
    x_t = tt.tensor(X_train.T.copy())
    labels = tt.tensor(np.tile(y_train.astype(np.float32), (models, 1)))  # (models, N)
    for _ in range(steps):
        # mean over points, summed over models: each model gets exactly its own gradient
        loss = tt.nn.functional.binary_cross_entropy_with_logits(forward(x_t), labels, reduction="sum") / len(y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with tt.no_grad():
        predictions = forward(tt.tensor(X_test.T.copy())).numpy() > 0  # (models, N)
    return (predictions == y_test).mean(axis=1)  # (models,)


MODELS = 32
print(f"{'width':>5} {'solved (test 100%)':>19} {'worst test acc':>15} {'ms per model':>13}")
for width in (2, 4, 8):
    start = time.perf_counter()
    acc = train_many(width, MODELS)
    ms = (time.perf_counter() - start) * 1e3 / MODELS
    print(f"{width:5d} {int((acc == 1).sum()):12d} of {MODELS} {acc.min():15.1%} {ms:13.1f}")
print(f"one model at a time (above): {train_seconds * 1e3:.0f} ms for the same {len(mlp_losses)} steps")

# %% [markdown]
# ## Result

# %%
TARGET = 1.0
verdict = "target met" if mlp_test >= TARGET else "target MISSED"
print(f"RESULT: test accuracy {mlp_test:.1%} (target {TARGET:.0%}): {verdict}; {mine.summary()}")

# %% [markdown]
# ## Reflection
#
# 1. The hand-wired network uses a step activation. Why can't gradient descent train it, and
#    what does `tanh` give the chain rule that a step does not?
# 2. In the hidden-space plot the classes became separable by one line. Is that always what a
#    hidden layer does, and how many hidden units would parity of `n` inputs need?
# 3. With two hidden units some seeds fail. What does a failed run converge to (look at its
#    test accuracy), and why do wider layers escape it more often?
# 4. Training 32 models at once costs much less than 32 times one model. Which costs are paid
#    once per step regardless of the batch, and when would batching models stop paying off?
