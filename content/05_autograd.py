# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Module 05: Autograd
#
# Training a network means computing the gradient of one number, the loss, with respect to
# every parameter. Writing those derivatives by hand for each model does not scale; automatic
# differentiation records the operations of the forward pass and replays them backwards. In
# this module you write the backward rules of the core operations and the engine that runs
# them: the same `loss.backward()` you have been calling, built by you.
#
# **Learning objectives.** By the end of this module you can:
#
# - derive and write the backward rules of add, mul, matmul, sum and three activations,
#   including broadcasting
# - order a computation graph topologically without recursion
# - write the backward engine that accumulates gradients over every use of a tensor
# - measure what recording a graph costs in memory and time

# %%
import time
import tracemalloc

import numpy as np

import tinytorch as tt
from tinytorch import Tensor
from tinytorch.checks import (
    check_add_backward, check_backward, check_matmul_backward, check_mul_backward,
    check_relu_backward, check_sigmoid_backward, check_sum_backward, check_tanh_backward,
    check_topological_sort, check_unbroadcast,
)
import tinytorch.mine as mine
from tinytorch.platform import describe
from tinytorch.profiling.timing import best_time  # fastest of several calls, in seconds

# %% [markdown]
# ## The computational graph
#
# Every operation on a tensor that requires grad returns a tensor that remembers two things:
# its inputs (`_parents`) and a function (`_backward`) that turns the gradient of the output
# into one gradient per input. The underscores mark them as internal to tinytorch, which is
# the library you are now writing; PyTorch keeps the same information in `grad_fn`.
#
# ```
#   x ──┐
#       mul ── a ──┐
#   w ──┘          add ── z ── relu ── h ── sum ── loss
#   b ─────────────┘
# ```
#
# Leaves (`x`, `w`, `b`) were created by you; everything else was produced by an operation.

# %%
w = tt.tensor([0.5, -1.0, 2.0], requires_grad=True)
b = tt.tensor([0.1, 0.2, -3.0], requires_grad=True)
x = tt.tensor([1.0, 2.0, 3.0])  # data: no gradient needed
loss = (x * w + b).relu().sum()

names = {id(w): "w", id(b): "b", id(x): "x"}


def show(t, depth=0):
    if t.grad_fn:
        label = t.grad_fn
    else:
        label = f"{names[id(t)]} (leaf{', requires grad' if t.requires_grad else ''})"
    print("    " * depth + label)
    for parent in t._parents:
        show(parent, depth + 1)


show(loss)

# %% [markdown]
# **The chain rule, one node at a time.** If `out = f(a, b)` and we already know
# `g = dL/d out` (same shape as `out`), then `dL/da = g * d out/da`, element by element for
# elementwise ops. Each `_backward` does exactly this local step, using values saved during
# the forward pass. It never builds a Jacobian matrix: it multiplies `g` by the local
# derivative directly (a vector-Jacobian product), which costs about as much as the forward
# op itself.

# %% [markdown]
# ## Backward rules
#
# A backward rule is a function `rule(grad, *inputs) -> (grad_input_1, grad_input_2, ...)` on
# NumPy arrays: `grad` has the shape of the output, each returned gradient the shape of its
# input. Each check compares your rule with **central finite differences**,
# `(f(x + eps) - f(x - eps)) / (2 eps)` for every input element, and with tinytorch's backward.
#
# ### Broadcasting in reverse: `unbroadcast`
#
# When `x` (4, 3) is added to a bias `b` (3,), NumPy stretches `b` over 4 rows: each `b[j]` is
# used 4 times, so its gradient is the **sum** of the 4 gradients it received.
#
# ```
#   forward: b (3,)  ->  stretched to (4, 3)       backward: grad (4, 3)  ->  sum over rows  ->  (3,)
#   b (1, 3) or (4, 1): a size-1 axis stretched    ->  sum over that axis, keeping it (keepdims=True)
# ```
#
# Broadcasting aligns shapes on the right, so an input can have (a) fewer leading axes and
# (b) size-1 axes where the output has more. `unbroadcast` undoes both by summing.

# %%
def unbroadcast(grad, shape):
    """Sum `grad` (the shape of a broadcast result) down to `shape`, the shape of the input
    before broadcasting. Example: grad (2, 3, 4), shape (3, 1) -> sum over axis 0, then over
    the last axis with keepdims -> (3, 1)."""
    ### BEGIN SOLUTION
    # HINT: undo broadcasting: sum the gradient over every axis that broadcasting added or stretched, until it has `shape`
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad
    ### END SOLUTION


# %% tags=["check"]
check_unbroadcast(unbroadcast)

# %% [markdown]
# ### Addition and multiplication
#
# For `out = a + b`: `d out/da = 1`, so `a` gets `grad` itself. For `out = a * b`:
# `d out/da = b`, so `a` gets `grad * b` and `b` gets `grad * a`. Then each is unbroadcast to
# its input's shape (a bias, a scalar, a column of per-row scales...).

# %%
def add_backward(grad, a, b):
    """Gradients (grad_a, grad_b) for out = a + b."""
    ### BEGIN SOLUTION
    # HINT: the gradient of a + b with respect to each input, each in its own input's shape
    return unbroadcast(grad, a.shape), unbroadcast(grad, b.shape)
    ### END SOLUTION


def mul_backward(grad, a, b):
    """Gradients (grad_a, grad_b) for out = a * b."""
    ### BEGIN SOLUTION
    # HINT: the gradient of a * b with respect to each input (the product rule), each in its own input's shape
    return unbroadcast(grad * b, a.shape), unbroadcast(grad * a, b.shape)
    ### END SOLUTION


# %% tags=["check"]
check_add_backward(add_backward)

# %% tags=["check"]
check_mul_backward(mul_backward)

# %% [markdown]
# ### Matrix multiplication
#
# `out = a @ b` with `a` (n, k), `b` (k, m): `out[i, j] = sum_k a[i, k] * b[k, j]`, so
#
# ```
#   dL/da[i, k] = sum_j g[i, j] * b[k, j]   ->   grad_a = g @ b.T     (n, m) @ (m, k) = (n, k)
#   dL/db[k, j] = sum_i a[i, k] * g[i, j]   ->   grad_b = a.T @ g     (k, n) @ (n, m) = (k, m)
# ```
#
# If you forget which side the transpose goes on, let the shapes decide: only one arrangement
# gives the input's shape. With batches, `a` (batch, n, k) @ `b` (k, m) reuses the same weights
# for every batch item, so `a.T @ g` has a batch axis that `b` does not: unbroadcast sums it,
# adding up the weight gradient of every item. "Transpose" here means swapping the **last
# two** axes (`np.swapaxes(x, -1, -2)`), not `x.T`, which reverses all of them.

# %%
def matmul_backward(grad, a, b):
    """Gradients (grad_a, grad_b) for out = a @ b, with a (..., n, k) and b (..., k, m)."""
    ### BEGIN SOLUTION
    # HINT: the gradient of a @ b with respect to each input: which product of grad with the other operand has that input's shape?
    grad_a = grad @ np.swapaxes(b, -1, -2)
    grad_b = np.swapaxes(a, -1, -2) @ grad
    return unbroadcast(grad_a, a.shape), unbroadcast(grad_b, b.shape)
    ### END SOLUTION


# %% tags=["check"]
check_matmul_backward(matmul_backward)

# %% [markdown]
# ### Reductions: `sum`
#
# `x.sum(dim)` adds elements together; each input element contributes with slope 1 to exactly
# one output element, so it receives that element's gradient. The backward of a reduction is a
# broadcast, the mirror image of `unbroadcast`:
#
# ```
#   x (2, 3) --sum(dim=1)--> out (2,)        grad (2,) --put axis 1 back--> (2, 1) --broadcast--> (2, 3)
# ```
#
# Put the axis back first: broadcasting a (3,) gradient against (3, 3) would line it up with
# the *last* axis and silently give the transposed answer.

# %%
def sum_backward(grad, shape, dim=None, keepdim=False):
    """Gradient for the input of x.sum(dim, keepdim), where x had `shape` (dim: None for all
    axes, an int, or a tuple of ints; negative values count from the end)."""
    ### BEGIN SOLUTION
    # HINT: each element of x gets the gradient of the sum it went into: spread grad back over the summed axes (dim None: all of them)
    if dim is None:
        dim = tuple(range(len(shape)))
    if not keepdim:
        grad = np.expand_dims(grad, dim)
    return np.broadcast_to(grad, shape)
    ### END SOLUTION


# %% tags=["check"]
check_sum_backward(sum_backward)

# %% [markdown]
# ### Activations
#
# Elementwise functions multiply `grad` by their derivative. ReLU's slope is 1 where `x > 0`
# and 0 elsewhere (PyTorch picks 0 at exactly 0). Sigmoid and tanh have derivatives that are
# cheapest in terms of their own output, which the forward pass saves anyway:
#
# ```
#   sigmoid'(x) = s * (1 - s)     where s = sigmoid(x)
#   tanh'(x)    = 1 - t**2        where t = tanh(x)
# ```

# %%
def relu_backward(grad, x):
    """Gradient for the input of relu(x)."""
    ### BEGIN SOLUTION
    # HINT: where does relu let a change in x through, and where does it block it?
    return np.where(x > 0, grad, 0.0)
    ### END SOLUTION


def sigmoid_backward(grad, out):
    """Gradient for the input of sigmoid, given its output `out`."""
    ### BEGIN SOLUTION
    # HINT: multiply grad by sigmoid'(x), written in terms of out
    return grad * out * (1 - out)
    ### END SOLUTION


def tanh_backward(grad, out):
    """Gradient for the input of tanh, given its output `out`."""
    ### BEGIN SOLUTION
    # HINT: multiply grad by tanh'(x), written in terms of out
    return grad * (1 - out * out)
    ### END SOLUTION


# %% tags=["check"]
check_relu_backward(relu_backward)

# %% tags=["check"]
check_sigmoid_backward(sigmoid_backward)

# %% tags=["check"]
check_tanh_backward(tanh_backward)

# %% [markdown]
# ## The engine
#
# ### Topological order
#
# A tensor's gradient is complete only once **every** operation that used it has sent its
# share. In the diamond below, `a` feeds both `b` and `c`; processing `a` before `c` would
# push an incomplete gradient further down.
#
# ```
#         ┌──────── b = a + 1 ───┐
#   x ─ a = x * w                c = a * b ─ loss
#         └──────────────────────┘
# ```
#
# The fix is to visit nodes in **reverse topological order**: sort the graph so that every
# tensor comes after all of its inputs, then walk that list backwards from the loss. A
# depth-first search produces the order: append a node only after all of its parents
# (post-order). Two details matter in practice:
#
# - skip parents with `requires_grad == False` (input data, constants): no gradient goes there;
# - graphs can be deep (an RNN over 1,000 steps is a chain of thousands of operations), and
#   Python stops recursion at about 1,000 nested calls. The check includes a chain of 4,000
#   operations: use an explicit stack instead of recursion. One way: push `(node, False)`;
#   when popped unexpanded, mark it visited, push `(node, True)` and then its parents; when
#   popped expanded, append it.

# %%
def topological_sort(root):
    """Every tensor that requires grad and that `root` depends on (root included), each one
    after all of its inputs; `root` is last. Follow `t._parents`."""
    ### BEGIN SOLUTION
    # HINT: every node after all the nodes it was computed from, each node once, without recursion (a deep graph would overflow Python's stack)
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in node._parents:
            if parent.requires_grad and id(parent) not in visited:
                stack.append((parent, False))
    return order
    ### END SOLUTION


# %% tags=["check"]
check_topological_sort(topological_sort)

# %% [markdown]
# ### `backward`
#
# With the order in hand, backpropagation is a loop:
#
# 1. start with `grads = {id(root): ones}` (or the `grad` given, for a non-scalar root);
# 2. for each node in **reversed** topological order, take its finished gradient `g` from
#    `grads`;
# 3. a **leaf** (`node._backward is None`) stores it: `node.grad = Tensor(copy of g)`, or adds
#    it to an existing `node.grad`: gradients **accumulate** across `backward` calls, which is
#    why training loops call `zero_grad()`;
# 4. any other node calls `node._backward(g)`, which returns one gradient (or `None`) per
#    parent in `node._parents`; **add** each into `grads[id(parent)]` (a tensor used twice,
#    like `x` in `x * x`, receives two contributions).
#
# Store a copy on the leaf: two leaves may be handed the very same array (addition passes
# `grad` on unchanged), and some rules return read-only broadcast views.

# %%
def backward(root, grad=None):
    """Accumulate d(root)/d(leaf) into leaf.grad for every leaf that requires grad (as
    root.backward(grad) does). `grad` defaults to ones (for a scalar root)."""
    ### BEGIN SOLUTION
    # HINT: start from a gradient of ones at the root; in reverse topological order, give each node the sum of the gradients of its uses and pass it on to its parents; leaves accumulate into .grad
    if grad is None:
        grad = np.ones_like(root.data)
    grads = {id(root): np.asarray(grad, dtype=root.data.dtype)}
    for node in reversed(topological_sort(root)):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        if node._backward is None:
            if node.grad is None:
                node.grad = Tensor(np.array(g))
            else:
                node.grad = Tensor(node.grad.data + g)
            continue
        for parent, parent_grad in zip(node._parents, node._backward(g)):
            if parent_grad is None or not parent.requires_grad:
                continue
            key = id(parent)
            grads[key] = grads[key] + parent_grad if key in grads else parent_grad
    ### END SOLUTION


# %% tags=["check"]
check_backward(backward)

# %% [markdown]
# ## Accumulation and `no_grad`
#
# Gradients add up across `backward` calls. That is a feature (several small batches can
# add up to one large batch, "gradient accumulation") and a trap: forget to clear them and
# every step uses the sum of all previous gradients.
#
# Recording costs time and memory, and is useless when you will not call `backward`
# (evaluation, or the optimizer's in-place update of the weights). Inside `with tt.no_grad():`
# operations record nothing: results have no parents and `requires_grad` is False.

# %%
mine.use("backward")  # `.backward()` runs your engine from here on (tinytorch's if yours is not saved)

w = tt.tensor([1.0, 2.0, 3.0], requires_grad=True)
for call in range(3):
    (w * w).sum().backward()
    print(f"after backward call {call + 1}: w.grad = {w.grad.data}   (2w = {2 * w.data})")
w.grad = None  # what zero_grad() does

with tt.no_grad():
    y = (w * w).sum()
print(f"under no_grad: requires_grad={y.requires_grad}, parents={y._parents}, grad_fn={y.grad_fn}")

# %% [markdown]
# ## Use it: train a network with your autograd
#
# tinytorch calls its backward rules and its engine through named places, *seams*, one per
# exercise of this module. `tinytorch.mine.use(...)` puts the implementations you saved (each
# saved once its check passed) into them: from then on tinytorch's own layers and operations
# (`@`, `+`, `.relu()`, `cross_entropy`) record their graph as always, and `loss.backward()`
# orders the graph with your `topological_sort`, runs your `backward` engine, and calls your
# rules for the matmul, the additions (with your `unbroadcast`) and the ReLU. Wherever a check
# did not pass yet, tinytorch's piece stands in, and `use` says so. A two-layer network
# learns to separate three interleaved spirals:

# %%
AUTOGRAD = ("unbroadcast", "add_backward", "mul_backward", "matmul_backward", "sum_backward",
            "relu_backward", "sigmoid_backward", "tanh_backward", "topological_sort", "backward")
mine.use(*AUTOGRAD)

X, y = tt.datasets.make_spirals(n=300, classes=3, noise=0.2, seed=0)
inputs, targets = Tensor(X), Tensor(y)
tt.manual_seed(0)
params = {
    "W1": tt.randn(2, 64) * 0.5, "b1": tt.zeros(64),
    "W2": tt.randn(64, 3) * 0.2, "b2": tt.zeros(3),
}
for p in params.values():
    p.requires_grad = True


def forward(p, x):
    hidden = (x @ p["W1"] + p["b1"]).relu()
    return hidden @ p["W2"] + p["b2"]


losses = []
start = time.perf_counter()
for step in range(400):
    loss = tt.nn.functional.cross_entropy(forward(params, inputs), targets)
    for p in params.values():
        p.grad = None
    loss.backward()  # your engine, your rules
    for p in params.values():
        p.data -= 0.5 * p.grad.data  # plain gradient descent (module 06 does better)
    losses.append(loss.item())
seconds = time.perf_counter() - start
with tt.no_grad():
    accuracy = (forward(params, inputs).data.argmax(axis=1) == y).mean()
mine.report()  # which of the pieces that ran were yours, and their share of the time
print(f"400 steps in {seconds:.2f} s: loss {losses[0]:.3f} -> {losses[-1]:.3f}, training accuracy {accuracy:.1%}")

# %%
# The same gradients as tinytorch's own rules and engine?
loss_yours = tt.nn.functional.cross_entropy(forward(params, inputs), targets)
for p in params.values():
    p.grad = None
loss_yours.backward()
yours = {k: p.grad.data.copy() for k, p in params.items()}
mine.use(False)  # tinytorch's own autograd again, for the rest of this notebook
for p in params.values():
    p.grad = None
tt.nn.functional.cross_entropy(forward(params, inputs), targets).backward()
for k, p in params.items():
    print(f"{k}: largest difference from tinytorch's gradient {np.abs(yours[k] - p.grad.data).max():.2e}")

# %%
import matplotlib.pyplot as plt

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
ax1.plot(losses)
ax1.set(xlabel="step", ylabel="cross-entropy", title="Training with your autograd")
grid = np.stack(np.meshgrid(np.linspace(-1.2, 1.2, 150), np.linspace(-1.2, 1.2, 150)), axis=-1).reshape(-1, 2)
with tt.no_grad():
    regions = forward(params, Tensor(grid.astype(np.float32))).data.argmax(axis=1)
ax2.contourf(grid[:, 0].reshape(150, 150), grid[:, 1].reshape(150, 150), regions.reshape(150, 150), alpha=0.3, cmap="brg")
ax2.scatter(X[:, 0], X[:, 1], c=y, s=8, cmap="brg")
ax2.set(title=f"Decision regions (accuracy {accuracy:.0%})", aspect="equal")
plt.show()

# %% [markdown]
# ## Systems analysis: what the graph costs
#
# ### Memory
#
# To run backward later, each operation keeps its inputs (or outputs) alive: the graph holds
# every intermediate activation of the forward pass until `backward` has used it. We measure
# the bytes NumPy has allocated (with `tracemalloc`) while the output of an MLP is alive,
# recorded and under `no_grad`, for growing depth.

# %%
def mlp(depth, width=256):
    layers = []
    for _ in range(depth):
        layers += [tt.nn.Linear(width, width), tt.nn.ReLU()]
    return tt.nn.Sequential(*layers)


def bytes_alive(model, x, record):
    """Bytes allocated by the forward pass that are still alive while its output is held."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    if record:
        out = model(x).sum()
    else:
        with tt.no_grad():
            out = model(x).sum()
    alive = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del out
    return alive


batch, width = 256, 256
x = tt.randn(batch, width)
depths = [1, 2, 4, 8, 12]
recorded, unrecorded = [], []
for depth in depths:
    model = mlp(depth, width)
    recorded.append(bytes_alive(model, x, True) / 1e6)
    unrecorded.append(bytes_alive(model, x, False) / 1e6)
one_activation = batch * width * 4 / 1e6
print(f"one activation ({batch} x {width} float32) = {one_activation:.2f} MB")
for depth, r, u in zip(depths, recorded, unrecorded):
    print(f"depth {depth:2d}: recorded graph keeps {r:6.2f} MB alive ({r / one_activation:4.1f} activations), "
          f"no_grad {u:5.3f} MB")

# %%
import matplotlib.pyplot as plt

model = mlp(8, width)
tracemalloc.start()
before = tracemalloc.get_traced_memory()[0]
loss = model(x).sum()
held = tracemalloc.get_traced_memory()[0] - before
loss.backward()  # frees the graph as it goes (retain_graph=False)
after_backward = tracemalloc.get_traced_memory()[0] - before
tracemalloc.stop()
grads = sum(p.grad.data.nbytes for p in model.parameters()) / 1e6
print(f"depth 8: graph holds {held / 1e6:.2f} MB; after backward {after_backward / 1e6:.2f} MB "
      f"(the parameter gradients are {grads:.2f} MB of that)")

plt.figure(figsize=(5, 3.5))
plt.plot(depths, recorded, "o-", label="recorded (graph alive)")
plt.plot(depths, unrecorded, "o-", label="no_grad")
plt.xlabel("number of Linear+ReLU layers")
plt.ylabel("MB held by the forward pass")
plt.title(f"Activation memory, batch {batch}, width {width}")
plt.legend()
plt.show()

# %% [markdown]
# Each Linear+ReLU layer keeps about two activations alive (the Linear's output, which ReLU
# needs, and ReLU's output, the next Linear's input): memory grows linearly with depth and with
# batch size. This, not the weights, is what runs out first when training large models; the
# standard remedies (smaller batches, recomputing activations during backward, lower precision)
# all trade it against time.
#
# ### Time
#
# For `out = x @ W` the forward pass is one matrix product; backward needs two (`g @ W.T` for the
# input, `x.T @ g` for the weights). Backward should cost about twice the forward pass.

# %%
model = mlp(4, width)
params_count = sum(p.numel() for p in model.parameters())
flops = 2 * batch * params_count  # one multiply and one add per weight per sample
forward_s = best_time(lambda: model(x))
with tt.no_grad():
    forward_nograd_s = best_time(lambda: model(x))


def forward_backward():
    model.zero_grad()
    model(x).sum().backward()


backward_s = best_time(forward_backward) - forward_s
print(f"4 layers, {params_count:,} parameters, batch {batch}: forward {flops / 1e6:.0f} MFLOP")
print(f"forward (recorded) {forward_s * 1e3:6.2f} ms   ({flops / forward_s / 1e9:.2f} GFLOP/s)")
print(f"forward (no_grad)  {forward_nograd_s * 1e3:6.2f} ms")
print(f"backward           {backward_s * 1e3:6.2f} ms   ({backward_s / forward_s:.1f}x the forward pass)")
print(f"runtime: {describe()}")

# %% [markdown]
# ## Reflection
#
# 1. `unbroadcast` sums; the backward of `sum` broadcasts. Why are these two operations each
#    other's backward?
# 2. `sigmoid_backward` receives the output, `relu_backward` the input. Which would you save
#    for `exp`? For `log`? What does each choice cost in memory?
# 3. The measured memory grew linearly with depth. For a 12-layer network with batch 256 and
#    width 4096, how much would the graph hold in float32? What could you change to halve it?
# 4. Compare your measured backward/forward ratio with the rule of thumb of 2. Which
#    operations in the MLP cost more or less than twice their forward time backwards, and why?
# 5. Every operation is recorded after its inputs exist. Why does that make "the reverse of
#    creation order" a valid order for backward, and what would a tensor need to store so the
#    engine could use it instead of a depth-first search?

# %% [markdown] tags=["solution"]
# ## Answers (solution edition only)
#
# 1. Broadcasting copies a value to many places, and the gradient of a copy is the sum of
#    the copies' gradients. Summing adds many places into one, and its gradient is copied
#    back to all of them. As linear maps, copy and sum are each other's transpose.
# 2. For `exp`, the output (its derivative is `exp(x)` itself); for `log`, the input (its
#    derivative is `1 / x`). Either costs one array of the tensor's size; saving a tensor
#    the next operation keeps anyway costs nothing extra.
# 3. Roughly two `(256, 4096)` float32 arrays per layer (the Linear's input and the ReLU's):
#    `12 * 2 * 4 MiB` = 96 MiB. To halve it: save the ReLU output once, shared with the next
#    Linear (its input), or a 1-byte mask for the ReLU; store activations in 16 bits; or
#    recompute them in backward (checkpointing).
# 4. A Linear's backward does two matrix products (for the input and for the weight) against
#    one forward: about 2x, plus a bias sum. Elementwise operations cost about as much
#    backward as forward (1x), and the per-node Python overhead is paid in both directions:
#    the ratio is near 2 when matrix products dominate and lower when small elementwise
#    operations or overhead do.
# 5. A tensor is created after its inputs, so creation order is a topological order, and its
#    reverse is a valid order for backward. A tensor would need a global creation counter (a
#    sequence number); the engine would collect the nodes reachable from the root and sort
#    them by it.
