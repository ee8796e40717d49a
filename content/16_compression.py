# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Module 16: Compression
#
# Trained networks are larger than they need to be: most of their weights can be removed,
# their matrices approximated by thinner ones, or their knowledge handed to a much smaller
# network. In this module you write the core of four compression methods, **magnitude
# pruning**, **structured pruning**, **low-rank factorization** and **knowledge
# distillation**, apply each to a digits classifier, and measure what each one saves in
# bytes and time, and costs in accuracy.
#
# **Learning objectives.** By the end of this module you can:
#
# - write magnitude and structured pruning masks, and fine-tune with the masks kept
# - factorize a layer with the SVD and choose its rank from the singular values
# - write a distillation loss with temperature and explain the direction of its KL
#   divergence
# - measure what each method saves in bytes and time and costs in accuracy

# %%
import copy
import time

import numpy as np

import tinytorch as tt
from tinytorch import Tensor, nn
from tinytorch.checks import (
    check_distillation_loss, check_low_rank_factorize, check_magnitude_prune, check_structured_prune,
)
import tinytorch.mine
from tinytorch.datasets import load_digits
from tinytorch.platform import describe
from tinytorch.profiling import count_parameters, measure_latency
from tinytorch.quantization import model_size_bytes, quantize_model
# Components of earlier modules: yours where saved, else tinytorch's (one line each says which).
# The layers stay nn.Linear: quantize_model (used at the end) swaps only tinytorch's own Linear.
from tinytorch.mine import Sequential, Adam

print(describe())

# %% [markdown]
# The model to compress: an MLP on the 8x8 digits, `64 -> 128 -> 64 -> 10`, trained for a
# few seconds. `train` also takes a list of `(weight, mask)` pairs: after every optimizer
# step, each weight is multiplied by its mask, which we need for fine-tuning pruned models.

# %%
data = load_digits()
x_train = data.x_train.reshape(len(data.x_train), -1)
x_test = tt.tensor(data.x_test.reshape(len(data.x_test), -1))


def mlp(hidden=(128, 64), seed=0):
    tt.manual_seed(seed)
    sizes = (64,) + tuple(hidden)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return Sequential(*layers, nn.Linear(sizes[-1], 10))


def train(model, epochs, lr=3e-3, masks=(), loss_of=None, seed=0):
    """Adam on the digits; loss_of(model, inputs, targets, index) replaces cross-entropy if given."""
    optimizer = Adam(model.parameters(), lr=lr)
    order = np.random.default_rng(seed)
    for _ in range(epochs):
        for index in np.array_split(order.permutation(len(x_train)), len(x_train) // 64):
            inputs, targets = tt.tensor(x_train[index]), tt.tensor(data.y_train[index])
            if loss_of is None:
                loss = tt.nn.functional.cross_entropy(model(inputs), targets)
            else:
                loss = loss_of(model, inputs, targets, index)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            for weight, mask in masks:  # pruned weights stay exactly zero
                weight.data *= mask
    return model


def accuracy(model):
    with tt.no_grad():
        return float((model(x_test).data.argmax(axis=1) == data.y_test).mean())


def linears(model):
    return [layer for layer in model if isinstance(layer, nn.Linear)]


start = time.perf_counter()
teacher = train(mlp(), epochs=12)
base_accuracy = accuracy(teacher)
print(f"trained in {time.perf_counter() - start:.1f} s: {count_parameters(teacher):,} parameters, "
      f"{model_size_bytes(teacher):,} bytes, test accuracy {base_accuracy:.2%}")

# %% [markdown]
# ## Magnitude pruning
#
# The simplest idea works surprisingly well: the weights closest to zero contribute least,
# so set them to zero. A **mask** records the decision, True where a weight is kept:
#
# ```
#   weight   [ 0.8  -0.05   0.3  -1.2   0.01   0.4 ]        amount = 0.5: prune 3 of 6
#   |weight| [ 0.8   0.05   0.3   1.2   0.01   0.4 ]        the 3 smallest: 0.01, 0.05, 0.3
#   mask     [ T     F      F     T     F      T   ]        weight * mask keeps 0.8, -1.2, 0.4
# ```
#
# Rank by **magnitude** (a weight of -1.2 matters as much as one of 1.2) and prune exactly
# `k = round(amount * size)` entries. Exactly: a threshold test like `|w| <= t` also removes
# every weight tied with the threshold, and trained networks that were pruned before are
# full of ties at 0. Sorting gives exactly `k` positions: `np.argsort(np.abs(w), axis=None)`
# lists the flat indices from the smallest magnitude up.

# %%
def magnitude_prune(weight, amount):
    """Bool mask shaped like `weight` (a NumPy array of any shape): False at the
    round(amount * weight.size) entries of smallest |weight|, True elsewhere."""
    ### BEGIN SOLUTION
    # HINT: a keep-mask of the weight's shape that drops exactly round(amount * size) entries, those with the smallest |w|
    k = round(amount * weight.size)
    keep = np.ones(weight.size, dtype=bool)
    keep[np.argsort(np.abs(weight), axis=None, kind="stable")[:k]] = False
    return keep.reshape(weight.shape)
    ### END SOLUTION


# %% tags=["check"]
check_magnitude_prune(magnitude_prune)

# %% [markdown]
# ### How much can go, and what fine-tuning buys back
#
# Prune every weight matrix of the trained model by the same fraction and measure the test
# accuracy, then **fine-tune**: train a little more with the masks applied after every step,
# so the surviving weights adapt to the missing ones while the pruned ones stay zero.
# (tinytorch keeps masks as buffers and re-applies them with `compression.apply_masks`; here
# `train` does it with `weight.data *= mask`.)

# %%
import matplotlib.pyplot as plt

# Yours from here on where saved (tinytorch's where a check did not pass); tinytorch's
# compression.magnitude_prune masks with it too.
tinytorch.mine.use("magnitude_prune")
prune = tinytorch.mine.load("magnitude_prune")

sparsities = [0.5, 0.8, 0.9, 0.95, 0.98]
pruned_accuracy, tuned_accuracy, pruned_models = [], [], {}
for amount in sparsities:
    model = copy.deepcopy(teacher)
    masks = []
    for layer in linears(model):
        mask = prune(layer.weight.data, amount)
        layer.weight.data *= mask
        masks.append((layer.weight, mask))
    pruned_accuracy.append(accuracy(model))
    train(model, epochs=3, lr=3e-3, masks=masks, seed=1)
    tuned_accuracy.append(accuracy(model))
    pruned_models[amount] = model
    zeros = np.mean([np.mean(layer.weight.data == 0) for layer in linears(model)])
    print(f"sparsity {amount:4.0%}: pruned {pruned_accuracy[-1]:6.2%} -> fine-tuned {tuned_accuracy[-1]:6.2%} "
          f"(weights still zero after fine-tuning: {zeros:.0%})")

plt.figure(figsize=(6, 3.5))
plt.plot([0] + sparsities, [base_accuracy] + pruned_accuracy, "o-", label="pruned")
plt.plot([0] + sparsities, [base_accuracy] + tuned_accuracy, "o-", label="pruned + 3 epochs fine-tuning")
plt.xlabel("fraction of weights removed (sparsity)")
plt.ylabel("test accuracy")
plt.title("Magnitude pruning of the digits MLP")
plt.legend()
plt.show()

# %% [markdown]
# Pruning alone costs accuracy quickly; a few epochs of fine-tuning with the masks recover
# most of it up to high sparsity, and then the curve breaks. Where it breaks depends on how
# over-sized the model is for its task: this MLP is small, large networks often lose 90% of
# their weights with little loss.
#
# ## Structured pruning
#
# A 90%-sparse matrix still has its full shape: a dense matrix product multiplies all the
# zeros anyway (the systems analysis measures it). **Structured** pruning removes whole
# rows, output neurons of a `Linear` or output channels of a `Conv2d`, so the layer can be
# rebuilt smaller and every later product shrinks too. A row's importance is its norm:
#
# ```
#   W (4 neurons x 3 inputs)     L2 norm of each row          keep the 2 largest
#   [ 0.1  -0.2   0.1 ]          0.24                          F F F
#   [ 2.0   1.0  -1.0 ]          2.45                          T T T
#   [ 0.5   0.5   0.5 ]          0.87                          F F F
#   [-1.5   0.3   1.0 ]          1.83                          T T T
# ```
#
# L1 (`sum |w|`) and L2 (`sqrt(sum w^2)`) rank rows differently when one has a few large
# weights and another many small ones. For a conv kernel `(out, in, kh, kw)`, a "row" is one
# whole output channel: take the norm over all axes but the first.

# %%
def structured_prune(weight, amount, norm=2):
    """Bool mask shaped like `weight` that removes the round(amount * weight.shape[0]) rows
    (slices along axis 0) of smallest L`norm` norm (norm 1 or 2); True = kept."""
    ### BEGIN SOLUTION
    # HINT: one norm per row over all its other axes; drop the rows with the smallest norms; the mask has the weight's shape
    others = tuple(range(1, weight.ndim))
    magnitude = np.abs(weight)
    norms = magnitude.sum(axis=others) if norm == 1 else np.sqrt((magnitude ** 2).sum(axis=others))
    keep = np.ones(weight.shape[0], dtype=bool)
    keep[np.argsort(norms, kind="stable")[:round(amount * weight.shape[0])]] = False
    return np.broadcast_to(keep.reshape((-1,) + (1,) * len(others)), weight.shape).copy()
    ### END SOLUTION


# %% tags=["check"]
check_structured_prune(structured_prune)

# %% [markdown]
# ### A genuinely smaller network
#
# Removing hidden neuron `j` of a layer deletes row `j` of its weight and bias, and column
# `j` of the next layer's weight: that input no longer exists. Below, both hidden layers lose
# the same fraction of neurons; the result is a plain, smaller dense MLP, fine-tuned for three
# epochs.

# %%
tinytorch.mine.use("magnitude_prune", "structured_prune")  # compression.structured_prune: yours too
rows_to_prune = tinytorch.mine.load("structured_prune")


def shrink(model, amount):
    """A new, smaller MLP without the lowest-norm hidden neurons of each hidden layer."""
    layers = linears(model)
    keep_in = np.ones(layers[0].in_features, dtype=bool)
    new_layers = []
    for i, layer in enumerate(layers):
        last = i == len(layers) - 1
        keep_out = (np.ones(layer.out_features, dtype=bool) if last
                    else rows_to_prune(layer.weight.data[:, keep_in], amount).all(axis=1))
        small = nn.Linear(int(keep_in.sum()), int(keep_out.sum()))
        small.weight.data[...] = layer.weight.data[keep_out][:, keep_in]
        small.bias.data[...] = layer.bias.data[keep_out]
        new_layers += [small] if last else [small, nn.ReLU()]
        keep_in = keep_out
    return Sequential(*new_layers)


structured = {}
for amount in (0.5, 0.75, 0.875):
    small = shrink(teacher, amount)
    before = accuracy(small)
    train(small, epochs=3, lr=3e-3, seed=1)
    structured[amount] = small
    print(f"remove {amount:6.1%} of the hidden neurons: {[l.out_features for l in linears(small)]} "
          f"{count_parameters(small):6,} parameters; accuracy {before:6.2%} -> fine-tuned {accuracy(small):6.2%}")

# %% [markdown]
# ## Low-rank factorization
#
# A weight matrix `W` (`out x in`) maps inputs through `min(out, in)` directions, but a
# trained one often uses only a few of them strongly. The **singular value decomposition**
# `W = U S V^T` lists those directions with their strengths `s_1 >= s_2 >= ...`; keeping the
# `r` largest gives the best rank-`r` approximation (Eckart-Young), and it factors into two
# thinner layers:
#
# ```
#   x (in) ──[ W: out x in ]──> y              in * out weights
#   x (in) ──[ A: r x in ]──> (r) ──[ B: out x r ]──> y      r * (in + out) weights
#   A = sqrt(S_r) V_r^T,  B = U_r sqrt(S_r),  B @ A = U_r S_r V_r^T ≈ W
# ```
#
# It pays when `r < in * out / (in + out)`. The error of the approximation is
# `||W - W_r|| / ||W|| = sqrt(sum of the dropped s^2 / sum of all s^2)` (Frobenius norm).
# `np.linalg.svd(w, full_matrices=False)` returns `u`, `s`, `vt` with `s` sorted from the
# largest. The bias belongs to the output, so it goes on the second layer.

# %%
def low_rank_factorize(linear, rank):
    """(nn.Sequential(nn.Linear(in, rank, bias=False), nn.Linear(rank, out)), relative error)
    approximating `linear` (an nn.Linear) with its `rank` largest singular values."""
    ### BEGIN SOLUTION
    # HINT: the best rank-r approximation comes from the SVD: split its largest singular values between the two layers, keep the bias, and return the relative error
    w = linear.weight.data.astype(np.float64)
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    root = np.sqrt(s[:rank])
    first = nn.Linear(linear.in_features, rank, bias=False)
    second = nn.Linear(rank, linear.out_features, bias=linear.bias is not None)
    first.weight.data[...] = root[:, None] * vt[:rank]
    second.weight.data[...] = u[:, :rank] * root
    if linear.bias is not None:
        second.bias.data[...] = linear.bias.data
    error = float(np.sqrt(np.sum(s[rank:] ** 2) / np.sum(s ** 2)))
    return nn.Sequential(first, second), error
    ### END SOLUTION


# %% tags=["check"]
check_low_rank_factorize(low_rank_factorize)

# %% [markdown]
# How quickly do the singular values of the trained layers fall? Then: replace the first two
# layers by rank-`r` factorizations (the last one is only `64 x 10`) and measure.

# %%
import matplotlib.pyplot as plt

tinytorch.mine.use("magnitude_prune", "structured_prune", "low_rank_factorize")
factorize = tt.compression.low_rank_factorize  # yours, once in use

plt.figure(figsize=(6, 3.5))
for i, layer in enumerate(linears(teacher)[:2]):
    s = np.linalg.svd(layer.weight.data, compute_uv=False)
    plt.semilogy(np.arange(1, len(s) + 1), s / s[0], "o-", ms=3,
                 label=f"layer {i}: {layer.out_features} x {layer.in_features}")
plt.xlabel("index of the singular value")
plt.ylabel("s_i / s_1")
plt.title("Singular values of the trained weights")
plt.legend()
plt.show()

low_rank = {}
for rank in (4, 8, 16, 32):
    model = copy.deepcopy(teacher)
    errors = []
    for index in (0, 2):  # positions of the first two Linear layers in the Sequential
        factorized, error = factorize(model[index], rank)
        model.add_module(str(index), factorized)  # model[index] = factorized, for any Sequential
        errors.append(error)
    low_rank[rank] = model
    print(f"rank {rank:2d}: {count_parameters(model):6,} parameters (dense {count_parameters(teacher):,}), "
          f"weight error {errors[0]:.1%} / {errors[1]:.1%}, accuracy {accuracy(model):.2%}")

# %% [markdown]
# ## Knowledge distillation
#
# Instead of cutting the big model down, train a small one to imitate it. The teacher's
# output carries more than the label: for an image of a 3 it might give `8` a probability of
# 0.05 and `1` a probability of 0.0001, which says what a 3 resembles. A **temperature**
# `T > 1` softens both distributions (`softmax(logits / T)`) so these small probabilities
# become visible, and the student matches them (Hinton et al., 2015):
#
# ```
#   loss = alpha * T^2 * KL(p_teacher || p_student) + (1 - alpha) * cross_entropy(student, labels)
#          p = softmax(logits / T)
#   KL(p || q) = sum over classes of p * (log p - log q), averaged over the batch
# ```
#
# The `T^2` keeps the soft term's gradient the same size whatever `T` is (the softened
# gradients shrink like `1 / T^2`). Build the loss from Tensor operations so that
# `loss.backward()` reaches the student's logits; compute log-probabilities with the stable
# `Tensor.log_softmax(dim=1)` of module 04 (logits of a few hundred overflow a naive
# `exp`), and the hard part with `tt.nn.functional.cross_entropy`.

# %%
def distillation_loss(student_logits, teacher_logits, targets, temperature=4.0, alpha=0.5):
    """Scalar Tensor: alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T)) (summed
    over classes, averaged over the batch) + (1 - alpha) * cross-entropy(student, targets)."""
    ### BEGIN SOLUTION
    # HINT: both distributions softened by T (in log space, for stability); their KL divergence per row, averaged over the batch; then the mix of the docstring
    log_p_student = (student_logits / temperature).log_softmax(dim=1)
    log_p_teacher = (teacher_logits / temperature).log_softmax(dim=1)
    kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum() / student_logits.shape[0]
    hard = tt.nn.functional.cross_entropy(student_logits, targets)
    return alpha * temperature ** 2 * kl + (1 - alpha) * hard
    ### END SOLUTION


# %% tags=["check"]
check_distillation_loss(distillation_loss)

# %% [markdown]
# A soft target says more about an image than its label does, and that matters most when
# labels are scarce. The experiment: a student with one hidden layer of 32 neurons (about
# 2,400 parameters, a seventh of the teacher) sees only **100** training images. It is
# trained twice, from the same initialization for the same number of steps: once on the 100
# labels, once on the teacher's outputs for the same 100 images (`alpha = 0.9`, `T = 4`).

# %%
tinytorch.mine.use("magnitude_prune", "structured_prune", "low_rank_factorize", "distillation_loss")
distill = tt.compression.distillation_loss  # yours, once in use
with tt.no_grad():
    teacher_logits = teacher(tt.tensor(x_train)).data  # computed once: the teacher is fixed
few = np.random.default_rng(0).permutation(len(x_train))[:100]


def train_few(model, loss_of, epochs=100):
    """Adam on the 100 images `few`, batches of about 32."""
    optimizer = Adam(model.parameters(), lr=3e-3)
    order = np.random.default_rng(0)
    for _ in range(epochs):
        for index in np.array_split(order.permutation(few), 3):
            loss = loss_of(model(tt.tensor(x_train[index])), tt.tensor(data.y_train[index]), index)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model


labels_only = train_few(mlp(hidden=(32,), seed=3), lambda out, y, index: tt.nn.functional.cross_entropy(out, y))
distilled = train_few(mlp(hidden=(32,), seed=3),
                      lambda out, y, index: distill(out, Tensor(teacher_logits[index]), y, temperature=4.0, alpha=0.9))
print(f"teacher (all 1,437 images)       {count_parameters(teacher):6,} parameters, accuracy {base_accuracy:.2%}")
print(f"student, 100 labels              {count_parameters(labels_only):6,} parameters, accuracy {accuracy(labels_only):.2%}")
print(f"student, teacher on 100 images   {count_parameters(distilled):6,} parameters, accuracy {accuracy(distilled):.2%}")
assert accuracy(distilled) > accuracy(labels_only), "the student taught by the teacher should generalize better"

# %% [markdown]
# Same images, same steps: the student taught by the teacher generalizes better, because each
# soft target also says which other digits the image resembles, and how much. (With all the
# labels and a student this large, the gap closes on a task as easy as the digits;
# distillation's gains grow with the task, as with BERT, whose distilled student DistilBERT
# is 40% smaller and keeps 97% of its scores.) Soft targets also converge more slowly than
# hard ones: train too briefly and the distilled student loses.
#
# ## Systems analysis
#
# ### Bytes: what each method really saves
#
# A pruned matrix stored densely is exactly as large as before. To save memory the zeros
# must not be stored: a sparse format such as CSR keeps each nonzero's value (4 bytes) and
# column index (4 bytes, int32), plus one offset per row. At 8 bytes per kept weight against
# 4 per dense weight, sparse storage only pays beyond 50% sparsity.

# %%
import matplotlib.pyplot as plt

def csr_bytes(model):
    """Bytes of the model with every weight matrix in CSR form (biases dense)."""
    total = 0
    for layer in linears(model):
        nonzero = int(np.count_nonzero(layer.weight.data))
        total += 8 * nonzero + 4 * (layer.out_features + 1) + layer.bias.data.nbytes
    return total


variants = {"teacher (float32)": (model_size_bytes(teacher), base_accuracy)}
for amount, model in pruned_models.items():
    variants[f"pruned {amount:.0%}, CSR"] = (csr_bytes(model), accuracy(model))
for amount, model in structured.items():
    variants[f"structured {amount:.1%}"] = (model_size_bytes(model), accuracy(model))
for rank, model in low_rank.items():
    variants[f"low rank {rank}"] = (model_size_bytes(model), accuracy(model))
variants["distilled student (100 images)"] = (model_size_bytes(distilled), accuracy(distilled))
calibration = [tt.tensor(x_train[i:i + 64]) for i in range(0, 256, 64)]
int8 = quantize_model(teacher, calibration)
variants["int8 teacher (module 15)"] = (model_size_bytes(int8), accuracy(int8))
sparse90 = quantize_model(pruned_models[0.9], calibration)
dense_int8 = sum(layer.weight.data.nbytes for layer in linears(pruned_models[0.9])) // 4  # int8 weights
csr_int8 = sum(5 * int(np.count_nonzero(layer.weight.data)) + 4 * (layer.out_features + 1)  # 1-byte values
               for layer in linears(pruned_models[0.9]))
variants["pruned 90% + int8, CSR"] = (model_size_bytes(sparse90) - dense_int8 + csr_int8, accuracy(sparse90))
for label, (size, acc) in variants.items():
    print(f"{label:31s} {size:7,} bytes  {model_size_bytes(teacher) / size:5.1f}x smaller  accuracy {acc:.2%}")

plt.figure(figsize=(7, 4))
for label, (size, acc) in variants.items():
    family = label.split(" ")[0]
    marker = {"teacher": "*", "pruned": "o", "structured": "s", "low": "^", "distilled": "D", "int8": "P"}[family]
    color = {"pruned": "C0", "structured": "C1", "low": "C2", "distilled": "C3", "int8": "C4"}.get(family, "k")
    plt.plot(size, acc, marker, color=color, ms=7)
    plt.annotate(label, (size, acc), fontsize=7, xytext=(4, -3), textcoords="offset points")
plt.xscale("log")
plt.xlabel("bytes (log scale)")
plt.ylabel("test accuracy")
plt.title("Accuracy vs size of every compressed digits model")
plt.show()

# %% [markdown]
# ### Time: zeros are not free
#
# The bytes are only half of the story. Below, one layer-sized product `x @ W.T` (batch 256,
# `W` 512 x 512) with a dense `W`, with the same `W` 90% zeros, with the 90%-smaller `W`
# that structured pruning leaves, and as a rank-32 factorization.

# %%
rng = np.random.default_rng(0)
x = rng.standard_normal((256, 512)).astype(np.float32)
w = rng.standard_normal((512, 512)).astype(np.float32)
w_sparse = w * (rng.random(w.shape) > 0.9)
w_rows = w[:51]
a, b = w[:32], w[:, :32].copy()  # shapes of a rank-32 factorization: (32, 512) and (512, 32)
timings = {
    "dense 512 x 512": lambda: x @ w.T,
    "90% zeros, still 512 x 512": lambda: x @ w_sparse.T,
    "structured: 51 x 512": lambda: x @ w_rows.T,
    "rank 32: (512 x 32)(32 x 512)": lambda: (x @ a.T) @ b.T,
}
for label, fn in timings.items():
    print(f"{label:32s} {measure_latency(fn, warmup=2, repeats=7).min * 1e3:8.3f} ms")

# %% [markdown]
# The dense product does not care how many zeros it multiplies; structured pruning and
# low-rank factorization reduce the work because they change the shapes. Unstructured
# sparsity pays off only with kernels that skip zeros, which needs very high sparsity on a
# CPU or hardware support (NVIDIA's 2:4 sparsity: exactly 2 of every 4 weights zero, 2x
# throughput); structured methods work with any dense kernel.
#
# ## Reflection
#
# 1. Magnitude pruning treats each layer alike. What would pruning all layers together by one
#    global threshold do to a small last layer like `64 x 10`, and why can that be better or
#    worse?
# 2. Your pruning masks are re-applied after every optimizer step. What goes wrong if you only
#    zero the weights once and then fine-tune? Which optimizer makes this worse, SGD or Adam?
# 3. For a `Linear(1024, 1024)`, from which rank on does a low-rank factorization stop saving
#    parameters? Which singular values plot would convince you to try rank 64?
# 4. Why does the distillation loss use `KL(p_teacher || p_student)` rather than the reverse?
#    What would the reverse encourage the student to do with classes the teacher finds
#    unlikely?
# 5. Methods combine: you quantized a 90%-pruned model above. In what order would you apply
#    pruning, quantization and distillation to ship a model, and why?

# %% [markdown] tags=["solution"]
# ## Answers (solution edition only)
#
# 1. A global threshold compares magnitudes across layers. Layers with a large fan-in have
#    small weights (initialised in `1/sqrt(in)`) and lose the most; the `64 x 10` layer has
#    larger weights and would be pruned less. Better: sparsity goes where weights matter
#    least overall. Worse: a layer can be pruned almost entirely, a bottleneck, and in a
#    small layer every weight counts.
# 2. The gradient of a zeroed weight is not zero, so the first optimizer step makes it
#    nonzero again and the model regrows. Adam is worse: its normalised step moves every
#    weight with a nonzero gradient by about `lr`, however small the gradient, and its
#    moments keep pushing.
# 3. A rank-`r` factorization stores `r * (1024 + 1024)` weights against `1024 * 1024`: it
#    saves parameters below `r = 512`. A plot in which the singular values fall off quickly,
#    with nearly all of the energy (the cumulative sum of squares) in the first 64, would
#    justify trying rank 64.
# 4. `KL(p_t || p_s)` weights each class by the teacher's probability: the student must
#    cover everything the teacher finds likely, including its second choices (the
#    similarities between classes it has learned). The reverse weights by the student: it is
#    punished for mass where the teacher has little, so it would concentrate on the
#    teacher's top class and drop the rest.
# 5. Distill into the smaller architecture first (or fine-tune with the distillation loss),
#    then prune with fine-tuning, and quantize last: quantization fixes the number format
#    the model ships in, and the other steps need float training; each later step sees the
#    final structure.
