# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Milestone 1998: Convolutional networks
#
# In 1998 Yann LeCun, Léon Bottou, Yoshua Bengio and Patrick Haffner published *Gradient-based
# learning applied to document recognition*. Its LeNet-5 read the 28x28 MNIST digits with
# under 1 % error, and its relatives read a large share of the cheques written in the United
# States. The network builds into its architecture what an MLP must learn from data: a
# pattern means the same thing wherever it appears. A **convolution** slides one small set of
# weights (a kernel) over the whole image, so each weight is shared by every position
# (far fewer parameters) and sees only a local neighbourhood; **pooling** then keeps the
# strongest response in each small region, so a shift by a pixel barely changes the output.
#
# Here a LeNet-style network reads the 8x8 digits and is compared with the 1986 MLP on
# accuracy, size, cost and robustness to shifted images.
#
# **Needs:** Modules 01-08 (as milestone 1986) and Module 09 (Convolutions: im2col,
# the convolution and max pooling with their backward passes, which tinytorch's `Conv2d` and
# `MaxPool2d` run on), plus `BatchNorm2d` from the library.
# **Target:** at least 97 % accuracy on the 360 held-out test digits.
# **Run it as a script:** `python milestones/04_1998_cnn.py` (prints the same numbers; plots
# are drawn off-screen).

# %%
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import tinytorch as tt

import tinytorch.mine as mine

# Your framework: `mine.use()` makes tinytorch run on the components you built in the modules
# and saved once their checks passed (progress.ipynb lists them), and prints which are yours;
# tinytorch's own runs wherever you have none (or yours no longer passes its check). From here
# on tinytorch's layers, losses and `loss.backward()` call your code where it is yours, and
# `mine.Linear` etc. are the classes in use. `mine.use(False)` runs on tinytorch's alone.
mine.use()
Linear, Sequential, Adam, SGD = mine.Linear, mine.Sequential, mine.Adam, mine.SGD
# Conv2d and MaxPool2d are tinytorch's layers; they compute with your im2col, conv2d_im2col,
# conv2d_backward, col2im, max_pool2d and max_pool2d_backward (module 09) where those are yours.
from tinytorch.nn import Conv2d, MaxPool2d, BatchNorm2d, ReLU, Flatten, Sigmoid, CrossEntropyLoss
from tinytorch.optim.lr_scheduler import CosineAnnealingLR

# %% [markdown]
# ## The data
#
# The same 8x8 digits as milestone 1986, now kept as images with one channel: `(N, 1, 8, 8)`
# (batch, channels, height, width), the layout `Conv2d` expects.

# %%
SEED = 0
digits = tt.datasets.load_digits()
x_train, x_test = digits.x_train[:, None], digits.x_test[:, None]  # (1437, 1, 8, 8), (360, 1, 8, 8)
y_train, y_test = digits.y_train, digits.y_test
print(f"train {x_train.shape}, test {x_test.shape}")

# %% [markdown]
# ## The network
#
# Two stages of convolution and pooling turn the 8x8 image into 16 feature maps of 2x2, and a
# linear layer reads the digit from those 64 numbers:
#
# ```
#   (N, 1, 8, 8)  -- Conv2d 1->8, 3x3, padding 1 --> (N, 8, 8, 8)  -- BatchNorm, ReLU
#                 -- MaxPool2d 2                  --> (N, 8, 4, 4)
#                 -- Conv2d 8->16, 3x3, padding 1 --> (N, 16, 4, 4) -- BatchNorm, ReLU
#                 -- MaxPool2d 2                  --> (N, 16, 2, 2) -- Flatten --> (N, 64)
#                 -- Linear 64->10                --> (N, 10) logits
# ```
#
# A 3x3 convolution from 1 channel to 8 has `8 * 1 * 3 * 3` weights and 8 biases, 80 numbers,
# applied at all 64 positions. A `Linear` layer from the 64 pixels to 8x8x8 outputs would have
# 32,768 weights for the same output size. LeNet-5 used `tanh`-like units and average pooling;
# ReLU and max-pooling are the later standard choices, and batch normalization (2015)
# rescales each channel over the batch so that this small network trains reliably at a high
# learning rate.

# %%
def make_cnn():
    return Sequential(
        Conv2d(1, 8, 3, padding=1), BatchNorm2d(8), ReLU(), MaxPool2d(2),
        Conv2d(8, 16, 3, padding=1), BatchNorm2d(16), ReLU(), MaxPool2d(2),
        Flatten(), Linear(16 * 2 * 2, 10),
    )


def make_mlp():  # milestone 1986's network
    return Sequential(Flatten(), Linear(64, 64), Sigmoid(), Linear(64, 10))


tt.manual_seed(SEED)
cnn = make_cnn()
print(tt.profiling.profile(cnn, tt.tensor(x_test[:1])))

# %% [markdown]
# ## Training
#
# Adam, mini-batches of 32, 10 epochs, learning rate lowered along a cosine. `model.train()`
# and `model.eval()` matter now: in training mode batch normalization uses the statistics of
# the current batch, in evaluation mode the running averages it collected.

# %%
def evaluate(model, x, y):
    model.eval()
    with tt.no_grad():
        predicted = model(tt.tensor(x)).numpy().argmax(axis=1)
    model.train()
    return float((predicted == y).mean())


def train(model, optimizer, epochs, seed=SEED, log_every=0, augment=None):
    """Mini-batches of 32 in a seeded shuffled order; returns (test accuracy per epoch, seconds).

    `augment(images, rng)`, if given, transforms each batch of training images (used later).
    """
    loss_fn = CrossEntropyLoss()
    scheduler = CosineAnnealingLR(optimizer, T_max=epochs)
    rng = np.random.default_rng(seed)
    curve = []
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        order = rng.permutation(len(y_train))
        total = 0.0
        for i in range(0, len(order), 32):
            batch = order[i:i + 32]
            images = x_train[batch] if augment is None else augment(x_train[batch], rng)
            loss = loss_fn(model(tt.tensor(images)), tt.tensor(y_train[batch]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        scheduler.step()
        curve.append(evaluate(model, x_test, y_test))
        if log_every and (epoch % log_every == 0 or epoch == 1):
            print(f"epoch {epoch:2d}  loss {total / len(y_train):.4f}  test {curve[-1]:.1%}")
    return curve, time.perf_counter() - start


cnn_curve, cnn_seconds = train(cnn, Adam(cnn.parameters(), lr=1e-2), epochs=10, log_every=2)
cnn_accuracy = cnn_curve[-1]
print(f"CNN: test accuracy {cnn_accuracy:.1%}, trained in {cnn_seconds:.1f} s")
mine.report()  # which components that ran were yours, and their share of the time

# %% [markdown]
# The 1986 MLP with milestone 1986's recipe (64 logistic hidden units, SGD with momentum,
# 20 epochs), on the same data:

# %%
tt.manual_seed(SEED)
mlp = make_mlp()
mlp_curve, mlp_seconds = train(mlp, SGD(mlp.parameters(), lr=0.5, momentum=0.9), epochs=20)
mlp_accuracy = mlp_curve[-1]
print(f"MLP: test accuracy {mlp_accuracy:.1%}, trained in {mlp_seconds:.1f} s")

# %% [markdown]
# ## What the convolutions learned
#
# Top: the eight 3x3 kernels of the first layer (blue positive, red negative), edge and
# stroke detectors. Below: what each of them makes of one test digit (after batch norm and
# ReLU), the feature maps the second stage reads.

# %%
import matplotlib.pyplot as plt

kernels = cnn[0].weight.numpy()[:, 0]  # (8, 3, 3)
cnn.eval()
with tt.no_grad():
    maps = cnn[2](cnn[1](cnn[0](tt.tensor(x_test[:1])))).numpy()[0]  # (8, 8, 8)
fig, axes = plt.subplots(2, 9, figsize=(11, 2.8))
axes[0, 0].imshow(x_test[0, 0], cmap="gray_r")
axes[0, 0].set_title(f"digit {y_test[0]}")
axes[1, 0].axis("off")
for k in range(8):
    limit = np.abs(kernels[k]).max()
    axes[0, k + 1].imshow(kernels[k], cmap="RdBu", vmin=-limit, vmax=limit)
    axes[1, k + 1].imshow(maps[k], cmap="gray_r")
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
plt.show()

# %% [markdown]
# ## Shifted digits
#
# Move every test digit by one pixel (8 directions; the uncovered border is blank) and ask
# both networks again. Neither saw shifted digits in training. The MLP's weights belong to
# fixed pixel positions; the CNN's kernels fire wherever their pattern is, and pooling
# absorbs part of the move.

# %%
def shifted(images, dy, dx):
    """Images (N, 1, 8, 8) moved by (dy, dx) pixels, zeros filling in."""
    out = np.zeros_like(images)
    h, w = images.shape[2:]
    out[:, :, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        images[:, :, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


moves = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
shifts = np.concatenate([shifted(x_test, dy, dx) for dy, dx in moves])  # (8 * 360, 1, 8, 8)
labels = np.tile(y_test, len(moves))
cnn_shifted, mlp_shifted = evaluate(cnn, shifts, labels), evaluate(mlp, shifts, labels)
print(f"{'':5} {'original':>9} {'shifted by 1 px':>16}")
print(f"{'CNN':5} {cnn_accuracy:9.1%} {cnn_shifted:16.1%}")
print(f"{'MLP':5} {mlp_accuracy:9.1%} {mlp_shifted:16.1%}")

# %% [markdown]
# On 8x8 images one pixel is an eighth of the width, so both networks lose accuracy; compare
# how much. The architecture gives some tolerance; the data can teach the rest. LeCun et al.
# also trained on distorted copies of the digits. Here each training batch is moved by a
# random pixel in each direction (a different move per image, drawn with one vectorized
# indexing operation), and the same CNN is trained again:

# %%
def random_shifts(images, rng):
    """Each image (N, 1, 8, 8) moved by a random (dy, dx) in {-1, 0, 1}^2, zeros filling in."""
    padded = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)))  # (N, 1, 10, 10)
    windows = sliding_window_view(padded, (8, 8), axis=(2, 3))  # (N, 1, 3, 3, 8, 8), no copy
    dy, dx = rng.integers(0, 3, size=(2, len(images)))
    return windows[np.arange(len(images)), :, dy, dx]  # (N, 1, 8, 8)


tt.manual_seed(SEED)
cnn_aug = make_cnn()
aug_curve, aug_seconds = train(cnn_aug, Adam(cnn_aug.parameters(), lr=1e-2), epochs=10, augment=random_shifts)
print(f"{'CNN, trained on shifted digits':31} original {aug_curve[-1]:6.1%}   "
      f"shifted by 1 px {evaluate(cnn_aug, shifts, labels):6.1%}   ({aug_seconds:.1f} s)")

# %% [markdown]
# Shifted digits are now almost as easy as centred ones. The price is paid elsewhere: the
# task got harder while the network stayed as small, which can cost a little accuracy on the
# original test digits at this training length.

# %% [markdown]
# ## Systems analysis: what weight sharing costs and saves
#
# Side by side: parameters, arithmetic per image, and measured time. The CNN has fewer
# parameters than the MLP but does more arithmetic per image, because each weight is used at
# every position. Weight sharing trades memory for compute.

# %%
def per_image_ms(model, x, repeats=5):
    model.eval()
    batch = tt.tensor(x)
    with tt.no_grad():
        model(batch)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(batch)
            times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e3 / len(x)


rows = []
for name, model, seconds, acc in (("MLP", mlp, mlp_seconds, mlp_accuracy), ("CNN", cnn, cnn_seconds, cnn_accuracy)):
    report = tt.profiling.profile(model, tt.tensor(x_test[:1]))
    rows.append((name, report.total_params, report.total_flops, per_image_ms(model, x_test), seconds, acc))
print(f"{'model':5} {'params':>7} {'FLOPs/image':>12} {'inference us/image':>19} {'training s':>11} {'test acc':>9}")
for name, params, flops, ms, seconds, acc in rows:
    print(f"{name:5} {params:7,} {flops:12,} {ms * 1e3:19.1f} {seconds:11.1f} {acc:9.1%}")

# %% [markdown]
# Where the CNN's time goes, layer by layer, for a batch of 360 test images:

# %%
import matplotlib.pyplot as plt

cnn.eval()
report = tt.profiling.profile(cnn, tt.tensor(x_test))
print(report)
layer_ms = {}
for row in report.rows():
    layer_ms[row.type] = layer_ms.get(row.type, 0.0) + row.seconds * 1e3
conv_flops = sum(r.flops or 0 for r in report.rows() if r.type == "Conv2d")
print(f"\nConv2d: {conv_flops / report.total_flops:.0%} of the FLOPs, "
      f"{layer_ms['Conv2d'] / sum(layer_ms.values()):.0%} of the time")

fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(list(layer_ms), list(layer_ms.values()))
ax.set_xlabel(f"ms for a batch of {len(x_test)} (all layers of each type)")
plt.tight_layout()
plt.show()

# %% [markdown]
# A convolution runs as one matrix product: every 3x3 patch of every image becomes a column
# of a matrix (im2col), and the kernels multiply that matrix. The patches overlap, so the
# matrix holds each pixel up to 9 times. That copy is the memory price of using fast matrix
# products; measured for the second convolution on the test batch:

# %%
conv2 = cnn[4]
with tt.no_grad():
    conv2_input = cnn[3](cnn[2](cnn[1](cnn[0](tt.tensor(x_test)))))  # (360, 8, 4, 4)
n, c, h, w = conv2_input.shape
kh, kw = conv2.kernel_size
columns_bytes = n * h * w * c * kh * kw * 4  # float32 patches, padding 1 keeps h x w positions
print(f"input {tuple(conv2_input.shape)}: {conv2_input.numpy().nbytes:,} bytes; "
      f"im2col matrix ({c * kh * kw}, {n * h * w}): {columns_bytes:,} bytes "
      f"({columns_bytes / conv2_input.numpy().nbytes:.0f}x)")

# %% [markdown]
# ## Result

# %%
TARGET = 0.97
verdict = "target met" if cnn_accuracy >= TARGET else "target MISSED"
print(f"RESULT: test accuracy {cnn_accuracy:.1%} (target {TARGET:.0%}): {verdict}; {mine.summary()}")

# %% [markdown]
# ## Reflection
#
# 1. The CNN has fewer parameters than the MLP but more FLOPs per image. Which of the two
#    numbers limits a phone, and which a server answering many requests?
# 2. Shift robustness came from the architecture, not the data. Which layer gives it: would a
#    CNN without pooling (convolutions and a final `Linear`) be as robust?
# 3. Train the CNN without the `BatchNorm2d` layers at the same learning rate. What changes,
#    and why does normalizing each channel over the batch make the step size less critical?
# 4. im2col copies each pixel up to 9 times to use one big matrix product. When would a
#    direct convolution (no copy) win, and what do GPUs do instead?
