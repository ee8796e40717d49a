# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Module 09: Convolutions
#
# An MLP treats an image as a list of unrelated numbers: a stroke one pixel to the left is a
# different input, learned separately. A convolution slides one small filter over the whole
# image, so the same weights detect the same pattern anywhere. In this module you write 2-D
# convolution three times (as loops to understand it, as one matrix product to make it fast,
# and backwards to train it), then max pooling, and train a convolutional network on the
# digits with your own layers.
#
# **Learning objectives.** By the end of this module you can:
#
# - write 2-D convolution as loops and as one matrix product (im2col), and explain why the
#   second is faster
# - derive the convolution's backward pass with col2im
# - write max pooling and its backward pass
# - train a small CNN from your own layers and compare its shift tolerance with an MLP's

# %%
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import tinytorch as tt
from tinytorch import Tensor
from tinytorch.checks import (
    check_col2im, check_conv2d_backward, check_conv2d_im2col, check_conv2d_loops, check_im2col,
    check_max_pool2d, check_max_pool2d_backward, yours_or_reference,
)
import tinytorch.mine
from tinytorch.profiling.timing import best_time  # fastest of several calls, in seconds
# Components of earlier modules: yours where saved, else tinytorch's (one line each says which).
from tinytorch.mine import Linear, Sequential, AdamW, DataLoader, TensorDataset

# %% [markdown]
# ## What a convolution computes
#
# A filter (kernel) of size `kh x kw` slides over the image; at each position the output is
# the sum of the elementwise product of the filter and the window under it:
#
# ```
#   input x (5x5)          weight (3x3)      output (3x3)
#   . . . . .
#   . [a b c] .            [p q r]           out[1, 1] = a*p + b*q + c*r
#   . [d e f] .     *      [s t u]     ->              + d*s + e*t + f*u
#   . [g h i] .            [v w z]                     + g*v + h*w + i*z
#   . . . . .
# ```
#
# (Strictly this is a cross-correlation; the textbook convolution flips the kernel first. Deep
# learning libraries do not flip, and neither do we: the weights are learned anyway.)
#
# - **Channels.** The input has `C` channels (1 for the grey digits, 3 for RGB, 16 for the
#   output of an earlier layer); each filter spans all of them, `weight[o]` has shape
#   `(C, kh, kw)`, and `O` filters give `O` output channels: `weight` is `(O, C, kh, kw)`, plus
#   one bias per output channel.
# - **Padding** `p` adds `p` rows/columns of zeros around the input, so the filter can be
#   centred on edge pixels (`p = 1` keeps a 3x3 convolution's output the size of its input).
# - **Stride** `s` moves the window `s` pixels at a time, shrinking the output.
#
# ```
#   Ho = (H + 2p - kh) // s + 1        e.g. H = 8, kh = 3: p = 0 -> 6;  p = 1 -> 8;  p = 1, s = 2 -> 4
# ```
#
# In full, with `xp` the padded input:
# `out[n, o, i, j] = bias[o] + sum over c, a, b of xp[n, c, i*s + a, j*s + b] * weight[o, c, a, b]`.
#
# **Exercise.** Write it as loops over the batch, the output channels and the output pixels
# (NumPy may do the sum over one window). This is slow on purpose; you will only run it on
# tiny inputs.

# %%
def conv2d_loops(x, weight, bias=None, stride=1, padding=0):
    """x (N, C, H, W), weight (O, C, kh, kw), bias (O,) or None -> (N, O, Ho, Wo), NumPy arrays."""
    ### BEGIN SOLUTION
    # HINT: pad the input and allocate the (N, O, Ho, Wo) output; each output value is one window of the padded input times one kernel, summed
    N, C, H, W = x.shape
    O, _, kh, kw = weight.shape
    Ho, Wo = (H + 2 * padding - kh) // stride + 1, (W + 2 * padding - kw) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((N, O, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for o in range(O):
            for i in range(Ho):
                for j in range(Wo):
                    window = xp[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[n, o, i, j] = np.sum(window * weight[o])
            if bias is not None:
                out[n, o] += bias[o]
    return out
    ### END SOLUTION


# %% tags=["check"]
check_conv2d_loops(conv2d_loops)

# %% [markdown]
# ### Filters are pattern detectors
#
# Before learning any weights, two hand-made 3x3 filters on a digit: one responds to
# left-to-right changes in brightness (vertical strokes' edges), the other to top-to-bottom
# changes (horizontal strokes). Positive output where the pattern matches, negative where its
# opposite does.

# %%
import matplotlib.pyplot as plt

digits = tt.datasets.load_digits()
image = digits.x_train[0][None, None]  # (1, 1, 8, 8)
filters = np.array([
    [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],   # vertical edges
    [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],   # horizontal edges
], dtype=np.float32)[:, None]  # (2, 1, 3, 3)
# conv2d_loops is yours alone (too slow for tinytorch to train with); F.conv2d stands in if it fails.
loops = yours_or_reference("conv2d_loops", conv2d_loops,
                           lambda x, w, b, s, p: tt.nn.functional.conv2d(Tensor(x), Tensor(w), None, s, p).data)
maps = loops(image, filters, None, 1, 1)  # (1, 2, 8, 8)

fig, axes = plt.subplots(1, 3, figsize=(8, 2.8))
axes[0].imshow(image[0, 0], cmap="gray_r")
axes[0].set_title(f"digit {digits.y_train[0]}")
for ax, fmap, title in zip(axes[1:], maps[0], ["vertical-edge filter", "horizontal-edge filter"]):
    limit = np.abs(fmap).max()
    ax.imshow(fmap, cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title(title)
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
plt.tight_layout()
plt.show()

# %% [markdown]
# ## im2col: convolution as one matrix product
#
# The loops do `N * O * Ho * Wo` small dot products in Python. Rearranged, they are one matrix
# product: copy every window into a row of a matrix (**im2col**, "image to columns"), and
# flatten every filter into a row of the weight matrix:
#
# ```
#   cols   (N*Ho*Wo, C*kh*kw)    one row per output pixel: its window, flattened in (c, a, b) order
#   W      (O, C*kh*kw)          weight.reshape(O, -1): one row per filter
#   cols @ W.T  ->  (N*Ho*Wo, O)  ->  reshape (N, Ho, Wo, O)  ->  transpose to (N, O, Ho, Wo)
# ```
#
# Building `cols` needs no loop over pixels either. NumPy's `sliding_window_view(xp, (kh, kw),
# axis=(2, 3))` returns every window as a view (no copy) of shape
# `(N, C, H' , W', kh, kw)`: element `[n, c, i, j, a, b]` is `xp[n, c, i + a, j + b]`.
# Slicing `[:, :, ::s, ::s]` keeps the windows `s` apart; moving the axes to
# `(N, Ho, Wo, C, kh, kw)` and reshaping makes the one copy the matrix product needs.
#
# The price is memory: each input pixel is copied into up to `kh * kw` rows, so `cols` is
# about 9 times the input for a 3x3 kernel (and 49 times for 7x7).

# %%
windows = sliding_window_view(np.arange(16).reshape(1, 1, 4, 4), (3, 3), axis=(2, 3))
print("input 4x4:\n", np.arange(16).reshape(4, 4))
print("windows view shape", windows.shape, "  window at output (0, 1):\n", windows[0, 0, 0, 1])

# %% [markdown]
# **Exercise.** Write `im2col`, then `conv2d_im2col` with it.

# %%
def im2col(x, kh, kw, stride=1, padding=0):
    """x (N, C, H, W) -> (N*Ho*Wo, C*kh*kw): row n*Ho*Wo + i*Wo + j is the window of output
    pixel (i, j) of image n, flattened in (c, a, b) order."""
    ### BEGIN SOLUTION
    # HINT: one row per output position holding its whole window (all channels) flattened: a (N*Ho*Wo, C*kh*kw) matrix
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    N, C, Ho, Wo = windows.shape[:4]
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, C * kh * kw)
    ### END SOLUTION


# %% tags=["check"]
check_im2col(im2col)

# %%
def conv2d_im2col(x, weight, bias=None, stride=1, padding=0):
    """The same convolution as conv2d_loops: im2col, one matrix product, reshape."""
    ### BEGIN SOLUTION
    # HINT: one matrix product of the windows with the flattened kernels, plus the bias, then back to (N, O, Ho, Wo)
    N, C, H, W = x.shape
    O, _, kh, kw = weight.shape
    Ho, Wo = (H + 2 * padding - kh) // stride + 1, (W + 2 * padding - kw) // stride + 1
    out = im2col(x, kh, kw, stride, padding) @ weight.reshape(O, -1).T  # (N*Ho*Wo, O)
    if bias is not None:
        out += bias
    return out.reshape(N, Ho, Wo, O).transpose(0, 3, 1, 2)
    ### END SOLUTION


# %% tags=["check"]
check_conv2d_im2col(conv2d_im2col)

# %% [markdown]
# ### Measured: loops against im2col
#
# Both compute the same numbers with the same number of multiply-adds,
# `2 * N * O * Ho * Wo * C * kh * kw` FLOPs. We time them on growing batches of 8x8 images
# (8 -> 16 channels, 3x3 kernel, padding 1).

# %%
import matplotlib.pyplot as plt

# tinytorch's convolution runs on your im2col and conv2d_im2col from here on (where their
# checks passed and they were saved; tinytorch's own stand in for the others).
tinytorch.mine.use("im2col", "conv2d_im2col")


def conv_fast(x, weight, bias, stride, padding):
    return tt.nn.functional.conv2d(Tensor(x), Tensor(weight), bias, stride, padding).data


rng = np.random.default_rng(0)
weight = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
batches = [1, 2, 4, 8]
t_loops, t_im2col = [], []
for n in batches:
    x = rng.standard_normal((n, 8, 8, 8)).astype(np.float32)
    t_loops.append(best_time(lambda: loops(x, weight, None, 1, 1), repeats=1))
    t_im2col.append(best_time(lambda: conv_fast(x, weight, None, 1, 1)))
    flops = 2 * n * 16 * 8 * 8 * 8 * 9
    print(f"batch {n}: {flops / 1e6:5.2f} MFLOP   loops {t_loops[-1] * 1e3:8.1f} ms   im2col {t_im2col[-1] * 1e3:6.3f} ms"
          f"   speed-up {t_loops[-1] / t_im2col[-1]:6.0f}x")

x = rng.standard_normal((8, 8, 8, 8)).astype(np.float32)
cols = tinytorch.mine.load("im2col")(x, 3, 3, 1, 1)
print(f"memory: input {x.nbytes / 1e3:.1f} kB, im2col matrix {cols.nbytes / 1e3:.1f} kB ({cols.nbytes / x.nbytes:.1f}x)")

plt.figure(figsize=(5, 3.5))
plt.loglog(batches, t_loops, "o-", label="loops")
plt.loglog(batches, t_im2col, "o-", label="im2col + matmul")
plt.xlabel("batch size (8x8 images, 8 -> 16 channels)")
plt.ylabel("seconds")
plt.legend()
plt.title("Same FLOPs, very different time")
plt.show()

# %% [markdown]
# The loops pay Python's overhead (microseconds) for every output pixel; im2col hands all the
# arithmetic to one matrix product that runs in compiled code. The ratio is larger still in the
# browser, where every Python-level operation is slower.
#
# ## Backward: two more matrix products and col2im
#
# With `rows = im2col(x)` (P, K), `Wm = weight.reshape(O, K)` and `g` the output gradient laid
# out like the product's output, `(P, O)` (`grad.transpose(0, 2, 3, 1).reshape(-1, O)`), the
# forward pass is `rows @ Wm.T`: a matrix product, whose backward you wrote in module 05.
#
# ```
#   grad_Wm   = g.T @ rows       (O, P) @ (P, K) = (O, K)   -> reshape to weight.shape
#   grad_rows = g @ Wm           (P, O) @ (O, K) = (P, K)   -> col2im -> grad_x (N, C, H, W)
#   grad_bias = grad.sum(axis=(0, 2, 3))                      every pixel of channel o used bias[o]
# ```
#
# **col2im** undoes the copy of im2col: every entry of `grad_rows` goes back to the input
# pixel it was copied from, and a pixel copied into several windows receives the **sum**. Loop
# over the `kh * kw` kernel positions, never over pixels: for position `(a, b)`, the entries
# of all windows come from the strided block `xp[:, :, a : a + s*Ho : s, b : b + s*Wo : s]`,
# so one `+=` per position adds them all. Then cut the padding off.

# %%
def col2im(cols, x_shape, kh, kw, stride=1, padding=0):
    """(N*Ho*Wo, C*kh*kw) -> x_shape (N, C, H, W): each entry added to the pixel it came from."""
    ### BEGIN SOLUTION
    # HINT: the reverse of im2col: add every window value back onto the input pixel it was copied from (overlaps add up), then drop the padding
    N, C, H, W = x_shape
    Ho, Wo = (H + 2 * padding - kh) // stride + 1, (W + 2 * padding - kw) // stride + 1
    windows = cols.reshape(N, Ho, Wo, C, kh, kw)
    xp = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=cols.dtype)
    for a in range(kh):
        for b in range(kw):
            xp[:, :, a:a + stride * Ho:stride, b:b + stride * Wo:stride] += windows[:, :, :, :, a, b].transpose(0, 3, 1, 2)
    return xp[:, :, padding:padding + H, padding:padding + W]
    ### END SOLUTION


# %% tags=["check"]
check_col2im(col2im)

# %%
def conv2d_backward(grad, x, weight, stride=1, padding=0):
    """grad (N, O, Ho, Wo) of the output -> (grad_x, grad_weight, grad_bias)."""
    ### BEGIN SOLUTION
    # HINT: the forward pass was windows times flattened kernels: the gradients follow from the matrix-product rule, and col2im brings the input's gradient back to image form
    O, C, kh, kw = weight.shape
    rows = im2col(x, kh, kw, stride, padding)  # (P, K)
    g = grad.transpose(0, 2, 3, 1).reshape(-1, O)  # (P, O)
    grad_weight = (g.T @ rows).reshape(weight.shape)
    grad_x = col2im(g @ weight.reshape(O, -1), x.shape, kh, kw, stride, padding)
    return grad_x, grad_weight, grad.sum(axis=(0, 2, 3))
    ### END SOLUTION


# %% tags=["check"]
check_conv2d_backward(conv2d_backward)

# %% [markdown]
# ## Max pooling
#
# After a convolution, a **max pool** keeps the strongest response in each small window
# (usually 2x2, stride 2): the map shrinks 4x, later layers see a wider area for the same
# cost, and a feature that moves by one pixel often lands in the same window, so the output
# hardly changes.
#
# ```
#   1 3 | 2 0
#   4 2 | 1 1        ->   4 2
#   ----+----             6 8
#   0 6 | 8 5
#   1 2 | 3 7
# ```
#
# Backward: only the maximum of each window influenced the output, so the window's gradient
# goes to that one position (on ties, to the first one, row by row, as PyTorch does); every
# other pixel gets 0. When windows overlap (stride < kernel), a pixel that wins several
# windows receives the sum. As for col2im, loop over the `k * k` positions inside a window,
# not over pixels. No padding here; `stride=None` means `stride = kernel_size`.

# %%
def max_pool2d(x, kernel_size, stride=None):
    """x (N, C, H, W) -> (N, C, Ho, Wo): the maximum of each kernel_size x kernel_size window."""
    ### BEGIN SOLUTION
    # HINT: the maximum of every kernel_size x kernel_size window, moving by stride (kernel_size when None)
    stride = stride or kernel_size
    windows = sliding_window_view(x, (kernel_size, kernel_size), axis=(2, 3))[:, :, ::stride, ::stride]
    return windows.max(axis=(-2, -1))
    ### END SOLUTION


# %% tags=["check"]
check_max_pool2d(max_pool2d)

# %%
def max_pool2d_backward(grad, x, kernel_size, stride=None):
    """grad (N, C, Ho, Wo) -> grad_x (N, C, H, W): each window's gradient to its (first) maximum."""
    ### BEGIN SOLUTION
    # HINT: each window hands its output gradient to the position of its maximum only; where windows overlap, the gradients add
    k = kernel_size
    stride = stride or k
    windows = sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    N, C, Ho, Wo = windows.shape[:4]
    winner = windows.reshape(N, C, Ho, Wo, k * k).argmax(axis=-1)  # first maximum of each window
    grad_x = np.zeros_like(x)
    for a in range(k):
        for b in range(k):
            grad_x[:, :, a:a + stride * Ho:stride, b:b + stride * Wo:stride] += np.where(winner == a * k + b, grad, 0)
    return grad_x
    ### END SOLUTION


# %% tags=["check"]
check_max_pool2d_backward(max_pool2d_backward)

# %% [markdown]
# ## Use it: a CNN on the digits, with your functions
#
# Each function whose check passed was saved (`my_tinytorch/`). `tinytorch.mine.use(...)`
# puts them into tinytorch: its `nn.Conv2d` and `nn.MaxPool2d` (and `F.conv2d`,
# `F.max_pool2d`) then compute their forward and backward with your functions, recorded in
# the graph the way module 05 built operations (`Tensor._result(output, parents, backward,
# name)`). Where a check did not pass, tinytorch's own function stands in.

# %%
CONV_PARTS = ("im2col", "col2im", "conv2d_im2col", "conv2d_backward", "max_pool2d", "max_pool2d_backward")
data = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)


def conv_pool_step():
    """Output and gradients of tinytorch's Conv2d + MaxPool2d on `data` (the same weights every time)."""
    tt.manual_seed(0)
    conv, x = tt.nn.Conv2d(3, 4, 3, padding=1), Tensor(data, requires_grad=True)
    out = tt.nn.MaxPool2d(2)(conv(x))
    out.sum().backward()
    return out.data, x.grad.data, conv.weight.grad.data


# The same numbers as tinytorch's own functions, forward and backward?
tinytorch.mine.use(False)
theirs = conv_pool_step()
tinytorch.mine.use(*CONV_PARTS)  # from here on nn.Conv2d and nn.MaxPool2d run on yours
yours = conv_pool_step()
print("largest difference: " + ", ".join(f"{label} {np.abs(a - b).max():.1e}" for label, a, b in
                                         zip(("output", "input gradient", "weight gradient"), yours, theirs)))

# %% [markdown]
# Now the comparison module 07 set up: its MLP (64-128-10) against a small CNN, two 3x3
# convolutions (1 -> 16 -> 32 channels, no padding: 8x8 -> 6x6 -> 4x4), a 2x2 max pool and a
# linear classifier. Same data, optimizer, schedule and number of epochs; `tt.train.fit` runs
# the loop.

# %%
def mlp():
    return Sequential(tt.nn.Flatten(), Linear(64, 128), tt.nn.ReLU(), Linear(128, 10))


def cnn():
    return Sequential(
        tt.nn.Conv2d(1, 16, 3), tt.nn.ReLU(),      # (N, 16, 6, 6), your convolution inside
        tt.nn.Conv2d(16, 32, 3), tt.nn.ReLU(),     # (N, 32, 4, 4)
        tt.nn.MaxPool2d(2),                        # (N, 32, 2, 2), your max pooling inside
        tt.nn.Flatten(), Linear(32 * 2 * 2, 10),
    )


x_train, x_test = digits.x_train[:, None], digits.x_test[:, None]  # (N, 1, 8, 8): one channel
test_loader = DataLoader(TensorDataset(x_test, digits.y_test), batch_size=360)
EPOCHS = 12


def train(model):
    loader = DataLoader(TensorDataset(x_train, digits.y_train), batch_size=32, shuffle=True, generator=tt.Generator(0))
    optimizer = AdamW(model.parameters(), lr=0.01, weight_decay=0.0)
    schedule = tt.optim.lr_scheduler.CosineAnnealingLR(optimizer, EPOCHS)
    start = time.perf_counter()
    history = tt.train.fit(model, tt.nn.CrossEntropyLoss(), optimizer, loader, EPOCHS, scheduler=schedule, log=None)
    return history, time.perf_counter() - start


results = {}
for name, make in (("MLP", mlp), ("CNN", cnn)):
    tt.manual_seed(0)
    model = make()
    history, seconds = train(model)
    test = tt.train.evaluate(model, test_loader)
    params = sum(p.numel() for p in model.parameters())
    results[name] = (model, test["accuracy"])
    print(f"{name}: {params:6,d} parameters, {EPOCHS} epochs in {seconds:4.1f} s, "
          f"train accuracy {history['accuracy'][-1]:.1%}, test accuracy {test['accuracy']:.1%}")
tinytorch.mine.report()  # which of your functions the two trainings ran, and their share of the time

# %% [markdown]
# Module 08 showed that an MLP trained on centred digits breaks down when the test digits move
# by a pixel. How does the CNN, trained on the same centred digits without augmentation, fare?

# %%
shift_rng = np.random.default_rng(1)
n_test = len(digits.x_test)
moved = tt.data.shift_images(digits.x_test, shift_rng.integers(-1, 2, n_test), shift_rng.integers(-1, 2, n_test))
for name, (model, clean) in results.items():
    with tt.no_grad():
        inputs = Tensor(moved[:, None])
        accuracy = float((model(inputs).data.argmax(axis=1) == digits.y_test).mean())
    print(f"{name}: test accuracy {clean:.1%}, on digits moved by up to one pixel {accuracy:.1%}")

# %% [markdown]
# Better than the MLP, but far from immune. The convolutions respond to a pattern wherever
# it is, and the 2x2 max pool absorbs a move that stays inside its window; but the pooled map
# is still 2x2 positions, and the final linear layer reads them position by position. Training
# with shifted digits (module 08) or pooling over the whole map before the classifier are the
# usual remedies.
#
# What did the first layer learn? Its 16 filters, and what they make of one test digit:

# %%
import matplotlib.pyplot as plt

model = results["CNN"][0]
first = model[0]
with tt.no_grad():
    fmaps = tt.nn.functional.relu(first(Tensor(x_test[:1]))).data[0]  # (16, 6, 6)
fig, axes = plt.subplots(2, 16, figsize=(13, 2.2))
for k in range(16):
    w = first.weight.data[k, 0]
    axes[0, k].imshow(w, cmap="RdBu_r", vmin=-np.abs(w).max(), vmax=np.abs(w).max())
    axes[1, k].imshow(fmaps[k], cmap="gray_r")
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
axes[0, 0].set_ylabel("filter")
axes[1, 0].set_ylabel("output")
plt.suptitle(f"First-layer filters and their feature maps for a test '{digits.y_test[0]}'")
plt.show()

# %% [markdown]
# ## Systems analysis: parameters and FLOPs
#
# ### Where the CNN's cost is
#
# A convolution's weights are few, but each is used at every output position: per image it
# costs `2 * O*Ho*Wo * C*kh*kw` FLOPs (one multiply and one add per weight per output pixel).
# A linear layer uses each weight once per image, `2 * in * out` FLOPs. Per layer of the CNN,
# with the forward time measured on a batch of 256:

# %%
def layer_costs(model, image_shape):
    """[(name, parameters, FLOPs per image, output shape)] for a Sequential of the layers used here."""
    shape, rows = image_shape, []
    for index, layer in enumerate(model):
        params = sum(p.numel() for p in layer.parameters())
        if isinstance(layer, tt.nn.Conv2d):
            (C, H, W), O, (kh, kw) = shape, layer.out_channels, layer.kernel_size
            shape = (O, H - kh + 1, W - kw + 1)
            flops = 2 * O * shape[1] * shape[2] * C * kh * kw
        elif isinstance(layer, tt.nn.MaxPool2d):
            k = layer.kernel_size
            shape = (shape[0], shape[1] // k, shape[2] // k)
            flops = shape[0] * shape[1] * shape[2] * (k * k - 1)  # comparisons
        elif isinstance(layer, Linear):
            shape = (layer.out_features,)
            flops = 2 * layer.in_features * layer.out_features
        else:  # ReLU, Flatten: no FLOPs worth counting
            shape = (int(np.prod(shape)),) if isinstance(layer, tt.nn.Flatten) else shape
            flops = 0
        rows.append((f"{index}: {type(layer).__name__}", params, flops, shape))
    return rows


model = results["CNN"][0]
xb = Tensor(x_test[:256])
costs = layer_costs(model, (1, 8, 8))
total_params, total_flops = sum(r[1] for r in costs), sum(r[2] for r in costs)
print(f"{'layer':16s} {'output':>12s} {'params':>7s} {'% params':>9s} {'kFLOP/image':>12s} {'% FLOPs':>8s} {'ms/256':>7s}")
h = xb
with tt.no_grad():
    for (name, params, flops, shape), layer in zip(costs, model):
        seconds = best_time(lambda: layer(h))
        h = layer(h)
        print(f"{name:16s} {str(shape):>12s} {params:7,d} {params / total_params:9.0%} {flops / 1e3:12.1f} "
              f"{flops / total_flops:8.0%} {seconds * 1e3:7.2f}")
print(f"total: {total_params:,d} parameters, {total_flops / 1e3:.0f} kFLOP per image")
print(f"runtime: {tt.platform.describe()}")

# %% [markdown]
# ### Conv against dense
#
# A convolution is a dense layer with most weights forced to zero (each output sees only its
# window) and the rest shared (every position uses the same filter). The dense layer that maps
# the same input to an output of the same size would need:
#
# ```
#   conv:   params = O*C*kh*kw + O          FLOPs per image = 2 * (O*Ho*Wo) * (C*kh*kw)
#   dense:  params = (C*H*W) * (O*Ho*Wo)    FLOPs per image = 2 * (O*Ho*Wo) * (C*H*W)
# ```
#
# For the CNN's two convolutions, and for a typical layer of an ImageNet network
# (64 channels, 224x224, 3x3, padding 1), computed, not instantiated: that dense layer would not
# fit in any memory:

# %%
import matplotlib.pyplot as plt

def conv_vs_dense(C, H, W, O, k, padding=0):
    Ho, Wo = H + 2 * padding - k + 1, W + 2 * padding - k + 1
    return dict(conv_params=O * C * k * k + O, conv_flops=2 * O * Ho * Wo * C * k * k,
                dense_params=C * H * W * O * Ho * Wo + O * Ho * Wo, dense_flops=2 * C * H * W * O * Ho * Wo)


layers = {"conv1 1x8x8 -> 16": (1, 8, 8, 16, 3), "conv2 16x6x6 -> 32": (16, 6, 6, 32, 3),
          "ImageNet 64x224x224 -> 64": (64, 224, 224, 64, 3, 1)}
print(f"{'layer':27s} {'conv params':>12s} {'dense params':>15s} {'ratio':>9s} {'conv FLOPs':>11s} "
      f"{'dense FLOPs':>12s} {'ratio':>7s}")
compared = {}
for label, shape in layers.items():
    c = compared[label] = conv_vs_dense(*shape)
    print(f"{label:27s} {c['conv_params']:12,d} {c['dense_params']:15.3g} {c['dense_params'] / c['conv_params']:9.3g} "
          f"{c['conv_flops']:11.3g} {c['dense_flops']:12.3g} {c['dense_flops'] / c['conv_flops']:7.3g}")

C, H, W, O, k = layers["conv2 16x6x6 -> 32"]
conv_layer, dense_layer = tt.nn.Conv2d(C, O, k), Linear(C * H * W, O * (H - k + 1) * (W - k + 1))
xb = tt.randn(256, C, H, W)
with tt.no_grad():
    t_conv, t_dense = best_time(lambda: conv_layer(xb)), best_time(lambda: dense_layer(xb.reshape(256, -1)))
c = compared["conv2 16x6x6 -> 32"]
print(f"\nconv2 at batch 256: conv {t_conv * 1e3:.2f} ms ({256 * c['conv_flops'] / t_conv / 1e9:.2f} GFLOP/s), "
      f"dense {t_dense * 1e3:.2f} ms ({256 * c['dense_flops'] / t_dense / 1e9:.2f} GFLOP/s)")

fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
pos = np.arange(len(compared))
for ax, key, title in ((axes[0], "params", "Parameters"), (axes[1], "flops", "FLOPs per image")):
    # float(): in the browser (32-bit WebAssembly) matplotlib cannot take Python ints above 2**31
    ax.bar(pos - 0.2, [float(c["conv_" + key]) for c in compared.values()], 0.4, label="convolution")
    ax.bar(pos + 0.2, [float(c["dense_" + key]) for c in compared.values()], 0.4, label="dense, same input and output")
    ax.set(yscale="log", title=title)
    ax.set_xticks(pos, list(compared), fontsize=8)
    ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# Parameters shrink by the factor `(H*W) * (Ho*Wo) / (kh*kw)`, FLOPs by `(H*W) / (kh*kw)`
# (each output reads its `kh*kw` window instead of all `H*W` positions): modest for an 8x8
# digit, astronomical for a photograph, whose dense version would need more weights than any
# computer can hold. Locality and weight sharing are what make vision models possible at all.
#
# For a layer as small as conv2, the saving is only 4x in FLOPs, and the timing above shows
# what that is worth: one large matrix product runs at a much higher rate than im2col's copy
# followed by a smaller product, so the dense layer need not be slower. Each convolution
# weight is used `Ho*Wo` times per image where a dense weight is used once, so convolutions do
# many FLOPs per byte of weights read. That makes them compute-bound on real accelerators,
# whereas large dense layers at small batch sizes wait for their weights to arrive from
# memory. And a parameter count says little about a CNN's cost: in the CNN's table, the
# linear classifier holds a fifth of the weights and almost none of the FLOPs.
#
# ## Reflection
#
# 1. `im2col` copies each pixel up to `kh * kw` times. For a 224x224x64 feature map and a 3x3
#    kernel in float32, how large is the matrix? What could you do instead when that does not
#    fit in memory?
# 2. The loops and im2col do the same FLOPs. Which parts of the loop version's time are not
#    arithmetic at all? Would a compiled loop (C, or a GPU kernel) still need im2col?
# 3. Why does the gradient of the input need `col2im` (a sum) while the forward pass only
#    copies? Relate this to `unbroadcast` from module 05.
# 4. The CNN tolerated shifted digits better than the MLP, but not fully. Which of its layers
#    are shift-tolerant and which are not? Change the architecture (not the data) so that a
#    one-pixel shift changes almost nothing, and predict what it costs in accuracy.
# 5. Max pooling has no parameters, yet its backward pass needs to remember something from the
#    forward pass. What, and how much memory is it for the CNN above at batch 32?

# %% [markdown] tags=["solution"]
# ## Answers (solution edition only)
#
# 1. With stride 1 and same padding: `224 * 224` = 50,176 rows of `64 * 3 * 3` = 576 values,
#    about 110 MiB in float32, 9 times the 12 MiB feature map. When that does not fit:
#    process the output positions in chunks (tiles), or use a direct or implicit-GEMM
#    convolution that builds the windows on the fly.
# 2. The interpreter's work per iteration (`N * O * Ho * Wo` of them), making a view object
#    per window, and a small NumPy call per output whose fixed cost dwarfs its few
#    multiply-adds. A compiled loop has none of these, but libraries often still lower
#    convolution to a matrix product (explicitly or implicitly) to reuse their fastest
#    kernel and its cache blocking.
# 3. The forward pass copies each input pixel into up to `kh * kw` windows; the gradient of
#    a copy is the sum of the copies' gradients, so each pixel gets the sum of its windows'
#    gradients: `col2im`. It is `unbroadcast` again: broadcasting copies, its backward sums.
# 4. The convolutions are shift-equivariant (a shifted input gives a shifted feature map)
#    and max pooling tolerates shifts within a window; the final `Linear` on the flattened
#    map ties every weight to one position and is not shift-tolerant. Replace the flatten
#    with a global average (or max) pool over positions before the classifier: nearly
#    shift-invariant, at the cost of the spatial layout, a few points of accuracy on centred
#    digits unless you widen the network.
# 5. Which input won each window: one index per pooled output, `32 * 32 * 2 * 2` = 4,096 for
#    the last pooling at batch 32 (32 KiB as int64; 2 bits would do for a 2x2 window).
#    Keeping the pooled input instead, as your backward does, costs `32 * 32 * 4 * 4`
#    floats, 64 KiB.
