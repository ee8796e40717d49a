# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Module 07: Training
#
# You have tensors, autograd, layers, losses and optimizers. This module assembles them into
# the training loop every deep-learning project runs, with the pieces that make it reliable:
# evaluation on held-out data, gradient clipping, a learning-rate schedule and checkpoints you
# can resume from exactly. You write the loop pieces, train a digit classifier past 95 % test
# accuracy, and measure where the time of a training step goes.
#
# **Learning objectives.** By the end of this module you can:
#
# - write gradient clipping by global norm and a warmup + cosine learning-rate schedule
# - write a training epoch and an evaluation pass that respect train/eval modes and
#   `no_grad`
# - choose a model on validation data and resume training exactly from a checkpoint
# - profile where the time of a training step goes

# %%
import math
import os
import tempfile
import time

import numpy as np

import tinytorch as tt
from tinytorch.checks import (
    check_clip_grad_norm, check_cosine_lr, check_evaluate, check_train_one_epoch,
)
import tinytorch.mine as mine
from tinytorch.platform import native_handoff
# Components of earlier modules: yours where saved, else tinytorch's (one line each says which).
from tinytorch.mine import Linear, Sequential, Dropout, Adam, AdamW
from tinytorch.train import load_checkpoint, save_checkpoint

# %% [markdown]
# ## The shape of training
#
# ```
#   for epoch in range(epochs):
#       set the learning rate for this epoch               (schedule)
#       train_one_epoch: for each batch of the training set
#           outputs = model(x); loss = loss_fn(outputs, y)
#           optimizer.zero_grad(); loss.backward()
#           clip the gradients                               (optional)
#           optimizer.step()
#       evaluate: on held-out data, eval mode, no graph   -> loss, accuracy
#       save a checkpoint if this is the best model so far
# ```
#
# Two modes matter. `model.train()` enables dropout (and batch statistics in batch norm);
# `model.eval()` turns them off, so evaluation is deterministic and uses the whole network.
# Evaluation also runs under `tt.no_grad()`: no backward follows, so recording the graph would
# only cost time and memory (module 05 measured how much).

# %% [markdown]
# ## Gradient clipping
#
# Now and then one batch produces a huge gradient: an outlier, a loss near a cliff, a
# recurrent network whose gradients explode through time. One step with it can throw the
# weights far away from everything learned so far. Clipping bounds the step: treat all
# gradients of the model as **one vector**, and if its length (L2 norm) exceeds `max_norm`,
# scale every gradient by the same factor `max_norm / norm`. The direction of the step is
# kept; only its length is capped.
#
# ```
#   total = sqrt(sum over all parameters of sum(p.grad ** 2))
#   if total > max_norm:  p.grad *= max_norm / (total + 1e-6)   for every p      (in place)
#   return total          (before clipping: worth logging, it shows when training goes wrong)
# ```
#
# Clipping each parameter separately would change the direction; and scaling *up* when the
# norm is small would be a different (and harmful) algorithm. Like PyTorch's function, yours
# accepts any iterable of parameters, including the generator `model.parameters()` returns,
# which can be traversed only once.

# %%
def clip_grad_norm_(parameters, max_norm):
    """Scale the gradients of `parameters` in place so their joint L2 norm is at most
    `max_norm`; parameters without a gradient are skipped. Returns the norm before clipping."""
    ### BEGIN SOLUTION
    # HINT: the norm of all the gradients taken together; above max_norm, scale every gradient down by the same factor, in place; return the norm
    grads = [p.grad for p in parameters if p.grad is not None]
    total = math.sqrt(sum(float((g.data.astype(np.float64) ** 2).sum()) for g in grads))
    if total > max_norm:
        scale = max_norm / (total + 1e-6)
        for g in grads:
            g.data *= scale
    return total
    ### END SOLUTION


# %% tags=["check"]
check_clip_grad_norm(clip_grad_norm_)

# %% [markdown]
# ## Learning-rate schedules
#
# Early in training the weights are far from any good solution and large steps make fast
# progress; late in training large steps bounce around the minimum instead of settling into
# it. A schedule lowers the learning rate over time. **Cosine annealing** follows half a
# cosine from `lr_max` down to `lr_min`: it stays high for a while, then decreases smoothly.
# A short linear **warmup** in front helps at the very start, when Adam's moment estimates
# are built from only a few gradients and a large step can land the weights somewhere bad.
#
# ```
#   step < warmup_steps:          lr = lr_max * (step + 1) / warmup_steps
#   warmup_steps <= step < total: progress = (step - warmup_steps) / (total_steps - warmup_steps)
#                                 lr = lr_min + (lr_max - lr_min) * (1 + cos(pi * progress)) / 2
#   step >= total_steps:          lr = lr_min
# ```
#
# A "step" is whatever you call the function with: an epoch here, a batch in larger runs.
# Without warmup this is exactly PyTorch's `CosineAnnealingLR`; the check compares with
# tinytorch's.

# %%
def cosine_lr(step, total_steps, lr_max, lr_min=0.0, warmup_steps=0):
    """The learning rate at `step` (0-based): linear warmup, then cosine from lr_max to lr_min."""
    ### BEGIN SOLUTION
    # HINT: three cases (warmup, cosine, after the end) as in the box above; math.cos and math.pi
    if step < warmup_steps:
        return lr_max * (step + 1) / warmup_steps
    if step >= total_steps:
        return lr_min
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return lr_min + (lr_max - lr_min) * (1 + math.cos(math.pi * progress)) / 2
    ### END SOLUTION


# %% tags=["check"]
check_cosine_lr(cosine_lr)

# %%
import matplotlib.pyplot as plt

mine.use("cosine_lr")  # tinytorch's warmup_cosine_lr computes with your cosine_lr from here on
schedule = tt.optim.lr_scheduler.warmup_cosine_lr
steps = np.arange(60)
plt.figure(figsize=(6, 3))
plt.plot(steps, [schedule(s, 50, 1.0) for s in steps], label="cosine, 50 steps")
plt.plot(steps, [schedule(s, 50, 1.0, 0.1, warmup_steps=8) for s in steps], label="warmup 8, lr_min 0.1")
plt.xlabel("step")
plt.ylabel("lr / lr_max")
plt.legend()
plt.show()

# %% [markdown]
# ## One epoch of training
#
# `train_one_epoch` runs the inner loop once over the training loader and returns the average
# loss. Details that matter:
#
# - `model.train()` first: the model may have been left in eval mode by the last evaluation.
# - `optimizer.zero_grad()` before `loss.backward()`: gradients accumulate otherwise (module 05).
# - clip (when `max_grad_norm` is given) after `backward` and before `step`, with your
#   `clip_grad_norm_`.
# - the loss returned by `loss_fn` is the **mean over the batch**. The last batch is often
#   smaller, so the epoch's average per sample is `sum(loss.item() * batch_size) / samples`,
#   not the mean of the batch losses.
# - `loss.item()` gives a Python float: accumulating `loss` itself would keep every batch's
#   graph alive.

# %%
def train_one_epoch(model, loss_fn, optimizer, loader, max_grad_norm=None):
    """One pass over `loader` in training mode, one optimizer step per batch; returns the
    average loss per sample."""
    ### BEGIN SOLUTION
    # HINT: for every batch: forward, loss, clear the old gradients, backward, clip if asked, optimizer step; return the mean loss per sample
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        if max_grad_norm is not None:
            clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        total += loss.item() * len(y)
        count += len(y)
    return total / count
    ### END SOLUTION


# %% tags=["check"]
check_train_one_epoch(train_one_epoch)

# %% [markdown]
# ## Evaluation
#
# `evaluate` measures the model on data it does not train on. Put the model in eval mode, run
# under `tt.no_grad()`, average the loss per sample as above, and count correct predictions
# (`argmax` over the class scores equals the target). Put the model back in the mode it was in:
# a caller that evaluates in the middle of training should not find dropout switched off.

# %%
def evaluate(model, loader, loss_fn):
    """{"loss": average loss per sample, "accuracy": fraction of correct predictions} over
    `loader`, in eval mode and without recording; the model's mode is restored afterwards."""
    ### BEGIN SOLUTION
    # HINT: the mean loss per sample and the accuracy over the loader, in eval mode and without building a graph; leave the model in the mode you found it in
    was_training = model.training
    model.eval()
    total = correct = count = 0
    with tt.no_grad():
        for x, y in loader:
            outputs = model(x)
            total += loss_fn(outputs, y).item() * len(y)
            correct += int((outputs.data.argmax(axis=1) == y.data).sum())
            count += len(y)
    model.train(was_training)
    return {"loss": total / count, "accuracy": correct / count}
    ### END SOLUTION


# %% tags=["check"]
check_evaluate(evaluate)

# %% [markdown]
# ## Use it: a digit classifier past 95 %
#
# The 8x8 digits: 1,437 training images and 360 test images. We hold out 237 training images
# as a **validation set** to choose the best epoch; the test set is used once, at the very
# end, so the reported accuracy is not tuned to it. The model is a 64-128-10 MLP with dropout,
# trained with AdamW, a cosine schedule with one epoch of warmup (per epoch) and gradient
# clipping, with your pieces wherever their checks passed.

# %%
mine.use()  # tinytorch runs on every component you saved, this module's included


def run_epoch(model, loss_fn, optimizer, loader, max_grad_norm=None):
    """tinytorch's train_one_epoch: your loop, where it is saved (then the result holds the loss only)."""
    return tt.train.train_one_epoch(model, loss_fn, optimizer, loader, clip_grad_norm=max_grad_norm)["loss"]


run_evaluate = tt.train.evaluate  # yours, where saved
schedule = tt.optim.lr_scheduler.warmup_cosine_lr  # your cosine_lr, where saved

digits = tt.datasets.load_digits()
x_all = digits.x_train.reshape(len(digits.x_train), -1)
x_test = digits.x_test.reshape(len(digits.x_test), -1)
order = np.random.default_rng(0).permutation(len(x_all))  # a random split: the file's order is not random
train_idx, val_idx = order[:1200], order[1200:]
train_set = tt.data.TensorDataset(tt.tensor(x_all[train_idx]), tt.tensor(digits.y_train[train_idx]))
val_set = tt.data.TensorDataset(tt.tensor(x_all[val_idx]), tt.tensor(digits.y_train[val_idx]))
test_set = tt.data.TensorDataset(tt.tensor(x_test), tt.tensor(digits.y_test))
val_loader = tt.data.DataLoader(val_set, batch_size=256)
test_loader = tt.data.DataLoader(test_set, batch_size=256)
print(f"train {len(train_set)}, validation {len(val_set)}, test {len(test_set)} images")


def make_model():
    tt.manual_seed(0)
    return Sequential(Linear(64, 128), tt.nn.ReLU(), Dropout(0.1), Linear(128, 10))


def train_loader(epoch):
    """The training batches of `epoch`: shuffled by a generator seeded with the epoch, so any
    epoch can be replayed exactly (for example after resuming from a checkpoint)."""
    return tt.data.DataLoader(train_set, batch_size=32, shuffle=True, generator=tt.Generator(epoch))


EPOCHS, LR_MAX, MAX_NORM = 20, 3e-3, 1.0
loss_fn = tt.nn.CrossEntropyLoss()


def run(model, optimizer, first_epoch, last_epoch, log=None, checkpoint_dir=None, save_after=None):
    """Train epochs first_epoch..last_epoch-1; keep the best-validation checkpoint in
    checkpoint_dir, and a checkpoint to resume from after epoch `save_after`."""
    best = -1.0
    for epoch in range(first_epoch, last_epoch):
        lr = schedule(epoch, EPOCHS, LR_MAX, LR_MAX / 100, warmup_steps=1)
        for group in optimizer.param_groups:
            group["lr"] = lr
        tt.manual_seed(1000 + epoch)  # dropout masks of this epoch, replayable too
        start = time.perf_counter()
        train_loss = run_epoch(model, loss_fn, optimizer, train_loader(epoch), MAX_NORM)
        val = run_evaluate(model, val_loader, loss_fn)
        if log is not None:
            log.append(dict(epoch=epoch, lr=lr, train_loss=train_loss, val_loss=val["loss"],
                            val_accuracy=val["accuracy"]))
            print(f"epoch {epoch + 1:2d}/{EPOCHS}  lr {lr:.2e}  train loss {train_loss:.4f}  "
                  f"val loss {val['loss']:.4f}  val acc {val['accuracy']:.1%}  ({time.perf_counter() - start:.2f} s)")
        if checkpoint_dir is not None and val["accuracy"] > best:
            best = val["accuracy"]
            save_checkpoint(os.path.join(checkpoint_dir, "best.npz"), model, optimizer,
                            epoch=epoch, val_accuracy=best)
        if checkpoint_dir is not None and epoch + 1 == save_after:
            save_checkpoint(os.path.join(checkpoint_dir, "resume.npz"), model, optimizer, epoch=epoch + 1)


workdir = tempfile.mkdtemp()
model = make_model()
optimizer = AdamW(model.parameters(), lr=LR_MAX, weight_decay=1e-4)
log = []
start = time.perf_counter()
run(model, optimizer, 0, EPOCHS, log, checkpoint_dir=workdir, save_after=15)
print(f"training took {time.perf_counter() - start:.1f} s")
final_model = model

best_model = make_model()
info = load_checkpoint(os.path.join(workdir, "best.npz"), best_model)
test = run_evaluate(best_model, test_loader, loss_fn)
print(f"best validation accuracy {info['val_accuracy']:.1%} at epoch {info['epoch'] + 1}")
print(f"test accuracy {test['accuracy']:.1%} (target 95%): {'target met' if test['accuracy'] >= 0.95 else 'target MISSED'}")

# %%
import matplotlib.pyplot as plt

fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(12, 3.2))
epochs = [r["epoch"] + 1 for r in log]
ax1.plot(epochs, [r["train_loss"] for r in log], label="train")
ax1.plot(epochs, [r["val_loss"] for r in log], label="validation")
ax1.set(xlabel="epoch", ylabel="loss", yscale="log")
ax1.legend()
ax2.plot(epochs, [r["val_accuracy"] for r in log])
ax2.axhline(0.95, color="gray", linestyle="--")
ax2.set(xlabel="epoch", ylabel="validation accuracy")
ax3.plot(epochs, [r["lr"] for r in log])
ax3.set(xlabel="epoch", ylabel="learning rate")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Checkpoints: resuming exactly
#
# Long runs get interrupted. A checkpoint must hold everything the next step depends on: the
# weights, the optimizer's state (Adam's `m`, `v` and step counts), the epoch, and the source
# of randomness (here each epoch reseeds its shuffling and dropout, so the epoch number is
# enough). `tinytorch.train.save_checkpoint` writes model, optimizer and extras to one `.npz`
# file (no pickle: loading it cannot run code). The run above also saved a checkpoint after
# epoch 15. Resuming from it in a fresh model and optimizer must reproduce the uninterrupted
# run's final weights bit for bit; restoring only the weights is not enough.

# %%
def final_weights(model):
    return np.concatenate([p.data.ravel() for p in model.parameters()])


path = os.path.join(workdir, "resume.npz")
uninterrupted = final_weights(final_model)

resumed_model = make_model()
resumed_optimizer = AdamW(resumed_model.parameters(), lr=LR_MAX, weight_decay=1e-4)
extras = load_checkpoint(path, resumed_model, resumed_optimizer)
run(resumed_model, resumed_optimizer, extras["epoch"], EPOCHS)

weights_only_model = make_model()
weights_only_optimizer = AdamW(weights_only_model.parameters(), lr=LR_MAX, weight_decay=1e-4)
load_checkpoint(path, weights_only_model)  # optimizer state not restored: Adam starts from zero
run(weights_only_model, weights_only_optimizer, extras["epoch"], EPOCHS)

print(f"resumed after epoch {extras['epoch']}:")
print(f"  model + optimizer restored: largest weight difference {np.abs(final_weights(resumed_model) - uninterrupted).max():.1e}")
print(f"  weights only:               largest weight difference {np.abs(final_weights(weights_only_model) - uninterrupted).max():.1e}")
print(f"checkpoint file: {os.path.getsize(path) / 1e3:.0f} KB for {sum(p.numel() for p in final_model.parameters()):,} parameters")

# %% [markdown]
# ## Systems analysis: where the time of a training step goes
#
# We time each phase of the training step separately (fetching the batch, forward, loss,
# zero_grad, backward, optimizer step) for the same MLP shape at three widths, batch 64 on the
# digits, with Adam. Each phase's median over several steps is reported, which is robust to the odd
# slow step (another program, the garbage collector).

# %%
import matplotlib.pyplot as plt

def profile_step(width, steps):
    """Median time of each phase of a training step, over `steps` steps (after one warm-up step)."""
    tt.manual_seed(0)
    model = Sequential(Linear(64, width), tt.nn.ReLU(), Linear(width, width), tt.nn.ReLU(), Linear(width, 10))
    optimizer = Adam(model.parameters(), lr=1e-3)
    loader = tt.data.DataLoader(train_set, batch_size=64, shuffle=True, generator=tt.Generator(0))
    names = ["data", "forward", "loss", "zero_grad", "backward", "step"]
    samples = []
    batches = iter(loader)
    for i in range(steps + 1):  # the first step warms up (allocations, optimizer state)
        t = [time.perf_counter()]
        x, y = next(batches)
        t.append(time.perf_counter())
        outputs = model(x)
        t.append(time.perf_counter())
        loss = loss_fn(outputs, y)
        t.append(time.perf_counter())
        optimizer.zero_grad()
        t.append(time.perf_counter())
        loss.backward()
        t.append(time.perf_counter())
        optimizer.step()
        t.append(time.perf_counter())
        if i:
            samples.append(np.diff(t))
    medians = np.median(samples, axis=0)
    params = sum(p.numel() for p in model.parameters())
    return dict(zip(names, medians)), params


native = native_handoff("the width-1024 profile (width 512 here)",
                        "modules/07_training.ipynb")
widths = [32, 256, 1024] if native else [32, 256, 512]
results = {}
for width in widths:
    phases, params = profile_step(width, steps=9 if native else 5)
    results[width] = phases
    total = sum(phases.values())
    flops = 2 * 64 * params  # forward multiply-adds, one per weight per sample
    shares = "  ".join(f"{k} {v / total:4.0%}" for k, v in phases.items())
    print(f"width {width:4d} ({params:>9,} params): {total * 1e3:7.2f} ms/step  | {shares}")
    print(f"{'':33s}forward {flops / phases['forward'] / 1e9:5.2f} GFLOP/s, "
          f"backward / forward = {phases['backward'] / phases['forward']:.1f}")

fig, ax = plt.subplots(figsize=(8, 2.8))
left = np.zeros(len(widths))
for key in results[widths[0]]:
    share = np.array([results[w][key] / sum(results[w].values()) for w in widths])
    ax.barh([f"width {w}" for w in widths], share, left=left, label=key)
    left += share
ax.set_xlabel("share of one training step")
ax.legend(ncol=6, loc="upper center", bbox_to_anchor=(0.5, -0.3), fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# Three costs explain these numbers:
#
# - **A fixed cost per operation**: calling into NumPy from Python, creating tensors, recording
#   the graph, looping over parameters. At width 32 each operation has almost no arithmetic
#   to do, so this overhead is most of the step and the GFLOP/s are poor.
# - **Matrix products**, about `2 * batch * parameters` FLOPs forward and twice that backward
#   (the gradient for the weights and for the input), a little less here because the first
#   layer needs no gradient for its input, the data. They grow with the batch size. Without
#   BLAS (the browser) NumPy's matrix product is much faster for some memory layouts than
#   for others, and backward's products (`g @ W`, `g.T @ x`) can take several times the
#   forward's `x @ W.T`: measure, do not assume.
# - **The optimizer step**, a dozen memory-bound passes over every parameter (module 06),
#   independent of the batch size. With batch 64 and native BLAS it can rival the matrix
#   products at width 1024; without BLAS (the browser) the products dominate.
#
# So small models get faster with fewer, larger operations (fusing, batching), large ones with
# faster matrix products, and larger batches shrink the optimizer's share.

# %% [markdown]
# ## Reflection
#
# 1. Your `evaluate` restores the model's mode. Describe a bug that appears in a training loop
#    that evaluates every 100 steps if it does not.
# 2. With `max_grad_norm = 1.0`, what does the returned total norm look like over a healthy
#    run? What would you expect to see just before the loss becomes NaN?
# 3. The validation set chose the best epoch. Why would choosing it on the test set make the
#    reported test accuracy optimistic?
# 4. Resuming from weights alone changed the result. Which part of Adam's state matters most
#    right after resuming, and what does the bias correction do with a reset step count?
# 5. In the profile, which phase would you optimize first for the width-32 model, and which
#    for the width-1024 model? What would you expect the profile to look like in the browser?

# %% [markdown] tags=["solution"]
# ## Answers (solution edition only)
#
# 1. Without the restore, the model stays in eval mode after the first evaluation: the next
#    100 training steps run without dropout (and BatchNorm would use its running
#    statistics), silently training a different model. Forcing `train()` instead breaks the
#    opposite case: evaluating a model someone had put in eval mode switches it to training
#    behaviour.
# 2. Healthy: large norms in the first steps, then a moderate level that drifts down slowly,
#    clipped only occasionally. Before a NaN: the norm rises over several steps, then jumps
#    by orders of magnitude (or to inf); clipping every step is the warning sign.
# 3. Choosing the best of several noisy test scores picks the luckiest one: its expected
#    value is above the model's true accuracy. The test set then took part in a decision and
#    no longer measures unseen data.
# 4. The moments, `v` most of all: late in training `v` is large and the steps are small.
#    Reset to zero with `t = 1`, the bias correction divides by `1 - beta`, giving `m_hat =
#    g`, `v_hat = g^2` and a step of about `lr * sign(g)` for every weight: a jump in the
#    loss right after resuming.
# 5. Width 32: the fixed costs per step (Python, the loader, the optimizer's loop over
#    parameters) dominate, so batch more or cut overhead. Width 1024: the matrix products of
#    forward and backward dominate, so speed up the arithmetic. In the browser the matrix
#    products are several times slower (no BLAS), so arithmetic dominates at smaller widths.
