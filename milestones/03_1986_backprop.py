# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Milestone 1986: Backpropagation
#
# In 1986 David Rumelhart, Geoffrey Hinton and Ronald Williams published *Learning
# representations by back-propagating errors* (Nature 323). Computing derivatives backwards
# through a chain of operations was not new (Linnainmaa's reverse-mode differentiation, 1970;
# Werbos applied it to neural networks in 1974), but the paper showed what it does for
# networks with hidden units: it trains them, cheaply, and the hidden units discover useful
# features of the data that nobody designed. It answered the 1969 objection (milestone XOR)
# and started the second wave of neural network research.
#
# Here a multi-layer perceptron of the 1986 kind (logistic hidden units, trained by gradient
# descent with the paper's momentum term) learns to read handwritten digits, and you measure
# why backpropagation made this affordable: one backward pass costs about as much as a
# forward pass, however many weights there are.
#
# **Needs:** Modules 01 (Tensor), 02 (Activations), 03 (Layers), 04 (Losses), 05 (Autograd),
# 06 (Optimizers), 07 (Training) and 08 (DataLoader).
# **Target:** at least 95 % accuracy on the 360 held-out test digits.
# **Run it as a script:** `python milestones/03_1986_backprop.py` (prints the same numbers;
# plots are drawn off-screen).

# %%
import copy
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
Linear, Sequential, SGD, DataLoader, TensorDataset = mine.Linear, mine.Sequential, mine.SGD, mine.DataLoader, mine.TensorDataset
from tinytorch.nn import Sigmoid, CrossEntropyLoss
from tinytorch.optim.lr_scheduler import CosineAnnealingLR

# %% [markdown]
# ## The data
#
# The 8x8 digits (1,797 scans of handwritten digits from 43 writers, UCI): 1,437 train and
# 360 test images, pixel values in `[0, 1]`. An MLP sees each image as a vector of 64 numbers;
# nothing tells it which pixels are neighbours.

# %%
import matplotlib.pyplot as plt

SEED = 0
digits = tt.datasets.load_digits()
x_train = digits.x_train.reshape(len(digits.x_train), -1)  # (1437, 64)
x_test = digits.x_test.reshape(len(digits.x_test), -1)  # (360, 64)
y_train, y_test = digits.y_train, digits.y_test
print(f"train {x_train.shape}, test {x_test.shape}")

fig, axes = plt.subplots(1, 10, figsize=(10, 1.4))
for digit, ax in enumerate(axes):
    ax.imshow(digits.x_train[np.argmax(y_train == digit)], cmap="gray_r")
    ax.set_title(str(digit))
    ax.axis("off")
plt.show()

# %% [markdown]
# ## Backpropagation in one picture
#
# The forward pass computes the loss through a chain of operations and keeps what each one
# needs. The backward pass walks the chain in reverse, turning the gradient of the loss with
# respect to each output into the gradient with respect to its inputs and weights:
#
# ```
#   forward:   x --W1--> z1 --sigmoid--> h --W2--> logits --cross-entropy--> loss
#   backward:  dW1 <-- dz1 <--  h(1-h) <-- dh <-- dlogits <-- softmax - onehot <-- 1
#                  dz1 = dh * h * (1 - h)      dh = dlogits @ W2      dW2 = dlogits.T @ h
# ```
#
# Each step of the backward pass is a product of the same size as its forward step, so the
# whole gradient (every weight at once) costs a small multiple of one forward pass. This is
# what `loss.backward()` does: with your autograd (your `backward`, `topological_sort` and
# backward rules) where `mine.use()` found them saved, tinytorch's otherwise; `mine.report()`
# after training says which ran.
#
# The network: 64 inputs, 64 logistic hidden units, 10 outputs; trained with stochastic
# gradient descent on mini-batches of 32 with momentum 0.9 (the paper's "acceleration" term
# `alpha`), the learning rate lowered along a cosine over 20 epochs.

# %%
tt.manual_seed(SEED)
model = Sequential(Linear(64, 64), Sigmoid(), Linear(64, 10))
print(model)
print(f"{sum(p.numel() for p in model.parameters()):,} parameters")

EPOCHS = 20
loss_fn = CrossEntropyLoss()
optimizer = SGD(model.parameters(), lr=0.5, momentum=0.9)
scheduler = CosineAnnealingLR(optimizer, T_max=EPOCHS)
loader = DataLoader(TensorDataset(tt.tensor(x_train), tt.tensor(y_train)), batch_size=32, shuffle=True)


def accuracy(model, x, y):
    with tt.no_grad():
        return float((model(tt.tensor(x)).numpy().argmax(axis=1) == y).mean())


history = {"loss": [], "train": [], "test": []}
start = time.perf_counter()
for epoch in range(1, EPOCHS + 1):
    total = 0.0
    for inputs, targets in loader:
        loss = loss_fn(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(targets)
    scheduler.step()
    history["loss"].append(total / len(y_train))
    history["train"].append(accuracy(model, x_train, y_train))
    history["test"].append(accuracy(model, x_test, y_test))
    if epoch % 4 == 0 or epoch == 1:
        print(f"epoch {epoch:2d}  loss {history['loss'][-1]:.4f}  train {history['train'][-1]:.1%}  "
              f"test {history['test'][-1]:.1%}")
train_seconds = time.perf_counter() - start
test_accuracy = history["test"][-1]
mine.report()  # which components that ran were yours, and their share of the time
print(f"trained in {train_seconds:.1f} s ({EPOCHS * len(loader)} steps); test accuracy {test_accuracy:.1%}")

# %%
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
epochs = range(1, EPOCHS + 1)
axes[0].plot(epochs, history["loss"])
axes[0].set_xlabel("epoch")
axes[0].set_ylabel("training loss")
axes[1].plot(epochs, history["train"], label="train")
axes[1].plot(epochs, history["test"], label="test")
axes[1].axhline(0.95, color="gray", linestyle=":", label="target")
axes[1].set_xlabel("epoch")
axes[1].set_ylabel("accuracy")
axes[1].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## What the hidden units learned
#
# Each hidden unit's 64 incoming weights, drawn as an 8x8 image (blue positive, red
# negative): the unit responds to ink where its weights are positive and is suppressed by ink
# where they are negative. Nobody designed these strokes and blobs; backpropagation found
# them because they help the output layer tell digits apart. This is the "learning
# representations" of the paper's title.

# %%
import matplotlib.pyplot as plt

weights = model[0].weight.numpy()  # (64 hidden units, 64 pixels)
fig, axes = plt.subplots(2, 8, figsize=(10, 2.8))
for unit, ax in enumerate(axes.ravel()):
    w = weights[unit].reshape(8, 8)
    limit = np.abs(w).max()
    ax.imshow(w, cmap="RdBu", vmin=-limit, vmax=limit)
    ax.axis("off")
plt.suptitle("incoming weights of 16 of the 64 hidden units")
plt.show()

# %% [markdown]
# Which digits does it still confuse? Rows are the true digit, columns the prediction.

# %%
import matplotlib.pyplot as plt

with tt.no_grad():
    predicted = model(tt.tensor(x_test)).numpy().argmax(axis=1)
confusion = np.zeros((10, 10), dtype=np.int64)
np.add.at(confusion, (y_test, predicted), 1)
fig, ax = plt.subplots(figsize=(4.5, 4))
ax.imshow(confusion, cmap="Blues")
for i in range(10):
    for j in range(10):
        if confusion[i, j]:
            ax.text(j, i, confusion[i, j], ha="center", va="center", fontsize=8,
                    color="white" if confusion[i, j] > 20 else "black")
ax.set_xticks(range(10))
ax.set_yticks(range(10))
ax.set_xlabel("predicted")
ax.set_ylabel("true")
plt.show()
off_diagonal = [(confusion[i, j], i, j) for i in range(10) for j in range(10) if i != j and confusion[i, j]]
for count, i, j in sorted(off_diagonal, reverse=True)[:3]:
    print(f"{count} test image(s) of a {i} read as {j}")

# %% [markdown]
# ## Systems analysis: what the backward pass costs
#
# First, is the gradient right? Finite differences estimate each partial derivative from two
# extra forward passes, `(L(w + e) - L(w - e)) / 2e`. On a float64 copy of the model, a few
# weights:

# %%
probe = copy.deepcopy(model).double()
xb = tt.tensor(x_train[:32].astype(np.float64))
yb = tt.tensor(y_train[:32])
probe.zero_grad()
loss_fn(probe(xb), yb).backward()
weight = probe[0].weight
largest = np.argsort(np.abs(weight.grad.data).ravel())[-4:]  # the 4 largest gradients (not the zeros)
for i, j in zip(*np.unravel_index(largest, weight.shape)):
    with tt.no_grad():
        saved = weight.data[i, j]
        weight.data[i, j] = saved + 1e-6
        up = loss_fn(probe(xb), yb).item()
        weight.data[i, j] = saved - 1e-6
        down = loss_fn(probe(xb), yb).item()
        weight.data[i, j] = saved
    print(f"dL/dW1[{i:2d},{j:2d}]  backprop {weight.grad.data[i, j]: .10f}   "
          f"finite differences {(up - down) / 2e-6: .10f}")

# %% [markdown]
# Both agree; the difference is the price. Finite differences need two forward passes *per
# weight*; backpropagation gets every weight's gradient from one forward and one backward
# pass. Measured on a batch of 32:

# %%
def median_seconds(fn, repeats=30):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


inputs, targets = tt.tensor(x_train[:32]), tt.tensor(y_train[:32])
forward_s = median_seconds(lambda: loss_fn(model(inputs), targets))


def forward_backward():
    model.zero_grad()
    loss_fn(model(inputs), targets).backward()


backward_s = median_seconds(forward_backward) - forward_s
n_params = sum(p.numel() for p in model.parameters())
report = tt.profiling.profile(model, inputs)
print(report)
print(f"\nforward  {forward_s * 1e3:.3f} ms, backward {backward_s * 1e3:.3f} ms "
      f"(backward / forward = {backward_s / forward_s:.1f})")
print(f"all {n_params:,} gradients by finite differences: 2 x {n_params:,} forwards = "
      f"{2 * n_params * forward_s:.1f} s; by backpropagation {(forward_s + backward_s) * 1e3:.2f} ms "
      f"({2 * n_params * forward_s / (forward_s + backward_s):,.0f}x less)")

# %% [markdown]
# The FLOP count says the same in theory: the backward pass of a linear layer is two matrix
# products of the forward's size (one for the input gradient, one for the weight gradient),
# so about twice the forward's arithmetic. The measured ratio also contains Python overhead
# per operation, which at these small sizes is a large share of the time.
#
# How does the cost of a training step grow with the width of the hidden layer? One step
# (forward, backward, update) on a batch of 32, for increasing widths:

# %%
import matplotlib.pyplot as plt

widths = [16, 64, 256, 1024]
step_ms, flops = [], []
for width in widths:
    tt.manual_seed(SEED)
    net = Sequential(Linear(64, width), Sigmoid(), Linear(width, 10))
    opt = SGD(net.parameters(), lr=0.1)

    def train_step():
        loss = loss_fn(net(inputs), targets)
        opt.zero_grad()
        loss.backward()
        opt.step()

    train_step()  # warm-up
    step_ms.append(median_seconds(train_step, repeats=15) * 1e3)
    flops.append(3 * tt.profiling.profile(net, inputs).total_flops)  # forward + about 2x backward
for width, ms, f in zip(widths, step_ms, flops):
    print(f"hidden {width:5d}: {ms:7.3f} ms per step, ~{f / 1e6:6.2f} MFLOP, {f / ms / 1e6:7.2f} GFLOP/s")

fig, ax = plt.subplots(figsize=(5.5, 3.5))
ax.plot(range(len(widths)), step_ms, "o-")
ax.set_xticks(range(len(widths)), [str(w) for w in widths])
ax.set_xlabel("hidden units (each 4x the previous)")
ax.set_ylabel("ms per training step (batch 32)")
plt.tight_layout()
plt.show()

# %% [markdown]
# Small layers run at a fixed cost (per-operation overhead in Python and NumPy dominates);
# only once the matrices are large does the time grow with the arithmetic, and the achieved
# GFLOP/s climbs towards what the machine's matrix product can do.

# %% [markdown]
# ## Result

# %%
TARGET = 0.95
verdict = "target met" if test_accuracy >= TARGET else "target MISSED"
print(f"RESULT: test accuracy {test_accuracy:.1%} (target {TARGET:.0%}): {verdict}; {mine.summary()}")

# %% [markdown]
# ## Reflection
#
# 1. The backward pass of `sigmoid` multiplies by `h * (1 - h)`, which is at most 0.25. What
#    does that do to gradients after many sigmoid layers, and why did later networks switch to
#    ReLU?
# 2. Finite differences were perfectly accurate here. Why are they still useful in practice
#    (hint: your own module 05 checks), even though nobody trains with them?
# 3. The MLP never learns that pixel (2, 3) is next to pixel (2, 4). Shuffle the 64 pixels of
#    every image with one fixed permutation: would its accuracy change? What about a CNN's?
# 4. Compare the measured backward/forward ratio with the FLOP count's "about 2". Where in your
#    autograd does the backward pass do work the forward pass does not (graph traversal,
#    gradient accumulation), and where does it skip work (inputs that need no gradient)?
