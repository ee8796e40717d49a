# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Module 14: Profiling
#
# Every optimization in the modules that follow (quantization, pruning, caching, faster
# kernels) starts with the same question: where do the bytes and the seconds go? In this
# module you write the measuring instruments: a parameter counter, FLOP counting rules that
# plug into tinytorch's profiler, and a latency timer with warm-up and percentiles. Then you
# profile the GPT from module 13, find its bottleneck, and use Amdahl's law to predict, and
# then measure, what removing it would buy.
#
# **Learning objectives.** By the end of this module you can:
#
# - count parameters and FLOPs per layer, and plug counting rules into a profiler
# - measure latency properly: warm-up, repeats, percentiles
# - find the bottleneck of a model from a profile, and say why FLOPs alone mispredict time
# - predict the gain of an optimization with Amdahl's law, then measure it

# %%
import time

import numpy as np

import tinytorch as tt
from tinytorch import nn
from tinytorch.checks import (
    check_amdahl_speedup, check_conv2d_flops, check_count_parameters, check_linear_flops, check_measure_latency,
    yours_or_reference,
)
import tinytorch.mine
# Components of earlier modules: yours where saved, else tinytorch's (one line each says which).
# The GPT profiled below is tinytorch.models.GPT, which builds its own layers.
from tinytorch.mine import Linear, Sequential
from tinytorch.models import GPT, GPTConfig
from tinytorch.platform import describe, native_handoff
from tinytorch.profiling import LatencyStats, intercept_forwards, profile

print(describe())

# %% [markdown]
# ## Counting parameters
#
# Parameters are what a model must store and move: in float32 each costs 4 bytes, on disk,
# in memory, and through the memory bus on every forward pass. A `Linear(in, out)` holds
# `out * in` weights plus `out` biases.
#
# One subtlety: a parameter can be **shared**. GPT-2 uses the same matrix to embed tokens
# and to produce the output logits ("tied weights"), and a layer can appear twice in a
# `Sequential`. A shared parameter is one array in memory, so it counts once.
# `model.parameters()` already yields each parameter once, wherever it appears:
#
# ```
#   GPT ─┬─ wte (Embedding)  weight (65, 64) ◄──┐  the same array
#        ├─ blocks ...                          │
#        └─ lm_head (Linear) weight (65, 64) ───┘  count it once
# ```
#
# `trainable_only=True` counts only the parameters that will be trained (`requires_grad`);
# fine-tuning often freezes most of a model.

# %%
def count_parameters(model, trainable_only=False):
    """Number of scalar parameters in `model` (an int), each shared parameter once; with
    `trainable_only`, only those with requires_grad."""
    ### BEGIN SOLUTION
    # HINT: the number of scalars in all the parameters (only the trainable ones if asked)
    return int(sum(p.data.size for p in model.parameters() if p.requires_grad or not trainable_only))
    ### END SOLUTION


# %% tags=["check"]
check_count_parameters(count_parameters)

# %% [markdown]
# The model we profile in this module is a small GPT like the one from module 13: 65
# characters of vocabulary, 2 transformer blocks, 4 heads, 64-dimensional embeddings. Where
# do its parameters sit?

# %%
# Yours where saved (tinytorch's where the check did not pass); tt.profiling.profile counts with it too.
tinytorch.mine.use("count_parameters")
count = tinytorch.mine.load("count_parameters")

tt.manual_seed(0)
config = GPTConfig(vocab_size=65, block_size=256, n_layer=2, n_head=4, n_embd=64)
gpt = GPT(config)
total = count(gpt)
parts = {
    "token embedding (= output head)": gpt.wte,
    "position embedding": gpt.wpe,
    "attention (2 blocks)": nn.ModuleList(block.attn for block in gpt.blocks),
    "MLP (2 blocks)": nn.ModuleList(block.mlp for block in gpt.blocks),
    "layer norms": nn.ModuleList([gpt.ln_f] + [m for block in gpt.blocks for m in (block.ln1, block.ln2)]),
}
for label, part in parts.items():
    n = count(part)
    print(f"{label:32s} {n:7,} parameters  {n / total:6.1%}  {4 * n / 1024:6.1f} KiB")
print(f"{'total':32s} {total:7,} parameters          {4 * total / 1024:6.1f} KiB (float32)")
print(f"without weight tying the head would add {count(gpt.lm_head):,} more")

# %% [markdown]
# Per block, the MLP (`64 -> 256 -> 64`) holds twice the attention's weights
# (`4 * 64 * 64` for the query, key, value and output projections): in a transformer, most
# parameters live in the MLPs, at every size.
#
# ## FLOPs from real shapes
#
# A **FLOP** is one floating-point operation; a multiply-add counts as two. The work of a
# layer follows from the shapes that actually flow through it. For `Linear(in, out)` on an
# input of shape `(*, in)`, every one of the `N` output rows (`N` = the product of all leading
# dimensions: batch, sequence, ...) has `out` elements, each a dot product of length `in`:
#
# ```
#   output (N, out):  each element = sum of in products  ->  in multiplies, in - 1 adds
#   FLOPs = 2 * N * in * out   (+ N * out for the bias: one add per output element)
# ```
#
# A `Conv2d` is the same dot product, slid over the image: each of the
# `N * Cout * Hout * Wout` output elements sums `(Cin / groups) * kh * kw` products (counted
# the same way: 2 FLOPs each, + 1 for the bias). Use the
# **output's** height and width: stride and padding decide them. With `groups=g` the input
# channels are split into `g` groups and each output channel sees only its own group.
#
# tinytorch's profiler counts FLOPs with one **rule** per layer type, called after each
# layer runs as `rule(module, args, kwargs, output)`: the module (for its attributes:
# `in_features`, `kernel_size`, `bias`, ...), its positional and keyword inputs, and its
# output. Write the two rules the profiler needs most; below, they replace tinytorch's own.

# %%
def linear_flops(module, args, kwargs, output):
    """FLOPs (an int) of one call of an nn.Linear `module` that produced `output`."""
    ### BEGIN SOLUTION
    # HINT: a multiply and an add per weight for every input row, plus one add per output for the bias
    n = output.data.size // module.out_features
    flops = 2 * n * module.in_features * module.out_features
    if module.bias is not None:
        flops += n * module.out_features
    return flops
    ### END SOLUTION


# %% tags=["check"]
check_linear_flops(linear_flops)

# %%
def conv2d_flops(module, args, kwargs, output):
    """FLOPs (an int) of one call of an nn.Conv2d `module` (attributes in_channels,
    out_channels, kernel_size (kh, kw), groups, bias) that produced `output` (N, Cout, Hout, Wout)."""
    ### BEGIN SOLUTION
    # HINT: a multiply and an add per kernel weight (of its group's channels) for every output value, plus one add per output for the bias
    kh, kw = module.kernel_size
    size = output.data.size
    flops = 2 * size * (module.in_channels // module.groups) * kh * kw
    if module.bias is not None:
        flops += size
    return flops
    ### END SOLUTION


# %% tags=["check"]
check_conv2d_flops(conv2d_flops)

# %% [markdown]
# From now on the profiler counts `Linear` and `Conv2d` layers with your rules (or with
# tinytorch's, where your check has not passed yet).

# %%
tinytorch.mine.use("count_parameters", "linear_flops", "conv2d_flops")

tt.manual_seed(0)
cnn = Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1),
                 nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), Linear(16 * 2 * 2, 10))
print(profile(cnn, tt.randn(32, 1, 8, 8)))

# %% [markdown]
# A digits CNN like the one of module 09: the two convolutions do almost all the
# arithmetic, yet the final `Linear` holds a third of the parameters. Parameters and FLOPs
# measure different things: a convolution reuses each weight at every position of the image.
#
# ## Latency: warm-up, median, percentiles
#
# Timing a function once tells you little. The first calls pay one-off costs (memory
# allocation, caches filling, lazy initialization), and every later call can be slowed by
# something else: the garbage collector, another program, the browser drawing the page. So
# a benchmark
#
# 1. runs the function a few times **untimed** (warm-up);
# 2. times each of `repeats` calls **separately**: `timer()` just before and just after;
# 3. summarizes with the **median** (one slow outlier moves the mean, barely the median) and
#    the **10th and 90th percentiles**, which show the spread.
#
# ```
#   call times (ms):  9  10  10  11  11  11  12  12  13  50      <- one call was interrupted
#   mean 14.9    median 11.0    p10 9.9    p90 16.7
# ```
#
# `timer` is the clock, `time.perf_counter` by default (a monotonic clock with the finest
# resolution Python offers). It is a parameter so the check can hand your function a fake
# clock and know the exact answer. Return tinytorch's `LatencyStats`, a small record that
# prints itself.

# %%
def measure_latency(fn, *args, warmup=3, repeats=20, timer=time.perf_counter):
    """Call fn(*args) `warmup` times untimed, then `repeats` times, timing each call with
    `timer()`. Return LatencyStats(median, p10, p90, mean, std, min, samples) in seconds:
    `samples` the tuple of the `repeats` durations, `std` the sample standard deviation
    (ddof=1; 0.0 for a single sample)."""
    ### BEGIN SOLUTION
    # HINT: call fn warmup times untimed, then time each call separately; return the 10th, 50th and 90th percentiles of the times
    for _ in range(warmup):
        fn(*args)
    times = []
    for _ in range(repeats):
        start = timer()
        fn(*args)
        times.append(timer() - start)
    t = np.asarray(times)
    p10, median, p90 = np.percentile(t, [10, 50, 90])
    std = float(t.std(ddof=1)) if len(t) > 1 else 0.0
    return LatencyStats(median=float(median), p10=float(p10), p90=float(p90), mean=float(t.mean()), std=std,
                        min=float(t.min()), samples=tuple(times))
    ### END SOLUTION


# %% tags=["check"]
check_measure_latency(measure_latency)

# %% [markdown]
# What warm-up protects against: a fresh model's first forward passes, timed one by one
# (`warmup=0`), next to the steady state.

# %%
import matplotlib.pyplot as plt

measure = yours_or_reference("measure_latency", measure_latency, tt.profiling.measure_latency)

tt.manual_seed(1)
fresh = GPT(config)
ids = tt.randint(0, config.vocab_size, (4, 64))


def forward(model, x):
    with tt.no_grad():
        return model(x)


cold = measure(forward, fresh, ids, warmup=0, repeats=10)
print(f"first call  {cold.samples[0] * 1e3:7.2f} ms")
print(f"all 10      {cold}")
steady = measure(forward, fresh, ids, warmup=3, repeats=10)
print(f"after warm-up {steady}")

plt.figure(figsize=(6, 3))
plt.plot(np.arange(1, 11), np.array(cold.samples) * 1e3, "o-", label="no warm-up")
plt.plot(np.arange(14, 24), np.array(steady.samples) * 1e3, "o-", label="after 3 warm-up calls")
plt.axhline(steady.median * 1e3, color="gray", ls="--", lw=1, label="median after warm-up")
plt.xlabel("call number")
plt.ylabel("ms")
plt.title("GPT forward, batch 4 x 64 tokens")
plt.legend()
plt.show()

# %% [markdown]
# How large the first-call penalty is depends on the runtime (in the browser, WebAssembly
# functions are also compiled on first use), and the spread depends on what else the
# machine is doing. The median and the percentiles report both honestly; a single number
# from a single call does not.
#
# ## Use it: profile the GPT
#
# `tinytorch.profiling.profile(model, example_input)` runs one forward pass with every
# submodule's call intercepted: for each it records the output shape, parameters, FLOPs
# (your rules, for the `Linear` layers), the output's bytes, and the **own** time (the time
# of the call minus the time of the submodules it called, so nothing is counted twice).
#
# A single run is noisy. For "what does this layer cost" we profile five times and keep each
# layer's **fastest** time: interference from elsewhere on the machine only ever adds time,
# so the minimum is the least disturbed measurement of the code itself. (The median answers
# a different question, "what will a user typically wait", which includes that
# interference.)

# %%
def profile_best(model, x, runs=5):
    """One profile report whose per-layer and total times are the minimum over `runs` profiles."""
    reports = [profile(model, x) for _ in range(runs)]
    report = reports[0]
    for i, layer in enumerate(report.layers):
        layer.seconds = min(r.layers[i].seconds for r in reports)
    report.total_seconds = min(r.total_seconds for r in reports)
    return report


report = profile_best(gpt, ids)
print(report)

# %% [markdown]
# The table lists every layer. To find the bottleneck, group the rows into the parts of the
# architecture. The attention row's own time includes the packed query/key/value projection
# and the two attention matrix products; its output projection is a `Linear` row of its own.
# Time spent in containers rather than layers (the model's and the blocks' own code between
# their layers: the residual additions, reshapes, the loop over blocks) and in dropout is
# "glue".

# %%
import matplotlib.pyplot as plt

def part_of(layer):
    if layer.type in ("Embedding", "LearnedPositionalEmbedding"):
        return "embeddings"
    if layer.name.endswith("attn") or layer.name.endswith("attn.out_proj"):
        return "attention"
    if ".mlp." in layer.name:
        return "MLP"
    if layer.type == "LayerNorm":
        return "layer norms"
    if layer.name == "lm_head":
        return "output head"
    return "glue (dropout, containers)"


def by_part(report):
    """{part: [seconds, FLOPs]} summed over the report's layers."""
    parts = {}
    for layer in report.layers:
        entry = parts.setdefault(part_of(layer), [0.0, 0])
        entry[0] += layer.seconds
        entry[1] += layer.flops or 0
    return parts


parts = by_part(report)
total_s = sum(s for s, _ in parts.values())
print(f"{'part':28s} {'time':>9s} {'share':>6s} {'MFLOP':>8s} {'share':>6s} {'GFLOP/s':>8s}")
for part, (seconds, flops) in sorted(parts.items(), key=lambda item: -item[1][0]):
    rate = f"{flops / seconds / 1e9:8.2f}" if flops else f"{'-':>8s}"
    print(f"{part:28s} {seconds * 1e3:7.2f}ms {seconds / total_s:6.1%} {flops / 1e6:8.1f} "
          f"{flops / report.total_flops:6.1%} {rate}")
bottleneck = max(parts, key=lambda p: parts[p][0])
print(f"\nbottleneck: {bottleneck} ({parts[bottleneck][0] / total_s:.0%} of the forward time)")

names = sorted(parts, key=lambda p: -parts[p][0])
positions = np.arange(len(names))
plt.figure(figsize=(7, 3))
plt.barh(positions - 0.2, [parts[p][0] / total_s for p in names], height=0.4, label="share of time")
plt.barh(positions + 0.2, [parts[p][1] / report.total_flops for p in names], height=0.4, label="share of FLOPs")
plt.yticks(positions, names)
plt.gca().invert_yaxis()
plt.xlabel("fraction of the forward pass")
plt.legend()
plt.show()

# %% [markdown]
# Compare the two share columns. Where a part's share of the time exceeds its share of the
# FLOPs, it runs slower per FLOP than the rest. Layer norms and GELU do little arithmetic
# per byte they read and write, so their FLOPs are few but not free; the attention layer's
# own time also covers its softmax, causal mask and the reshapes between heads, none of which
# are matrix products; and small matrix products run far below the machine's best rate. The
# balance differs between runtimes (without BLAS, in the browser, the matrix products are
# slower and weigh more), so read your own numbers. The systems analysis below measures the
# best rate.
#
# ## Amdahl's law
#
# Suppose a fraction `f` of the run time is made `s` times faster and the rest stays as it
# was. The new time is `(1 - f) + f / s` of the old one, so the overall speedup is
#
# ```
#   speedup = 1 / ((1 - f) + f / s)        at most 1 / (1 - f), however large s is
# ```
#
# Speed up 50% of a program infinitely and it runs 2x faster, never more. This is why
# profiling comes first: the part you optimize bounds what you can gain.

# %%
def amdahl_speedup(fraction, speedup):
    """Overall speedup when `fraction` of the run time becomes `speedup` times faster
    (numbers or NumPy arrays, elementwise with broadcasting; speedup may be np.inf)."""
    ### BEGIN SOLUTION
    # HINT: only the accelerated fraction gets faster: the new time relative to the old, inverted (fraction and speedup may be arrays)
    fraction, speedup = np.asarray(fraction, dtype=np.float64), np.asarray(speedup, dtype=np.float64)
    return 1.0 / ((1.0 - fraction) + fraction / speedup)
    ### END SOLUTION


# %% tags=["check"]
check_amdahl_speedup(amdahl_speedup)

# %% [markdown]
# ### Prediction, then measurement
#
# What if the bottleneck cost nothing at all? Amdahl's law predicts the speedup from the
# measured fraction `f` of time spent in it. We can also measure it: intercept those layers
# and hand back their outputs from a previous run instead of computing them (a dictionary
# lookup: as close to "free" as Python gets). The two versions are timed alternately, so a
# burst of activity elsewhere on the machine hits both alike.

# %%
import matplotlib.pyplot as plt

amdahl = tinytorch.mine.load("amdahl_speedup")  # yours where saved

removable = {
    "attention": [(f"blocks.{i}.attn", block.attn) for i, block in enumerate(gpt.blocks)],
    "MLP": [(f"blocks.{i}.mlp", block.mlp) for i, block in enumerate(gpt.blocks)],
    "layer norms": [(name, m) for name, m in gpt.named_modules() if isinstance(m, nn.LayerNorm)],
    "output head": [("lm_head", gpt.lm_head)],
    "embeddings": [("wte", gpt.wte), ("wpe", gpt.wpe)],
}
target = max(removable, key=lambda p: parts[p][0])
share = parts[target][0] / total_s
predicted = float(amdahl(share, np.inf))

saved = {}


def record(name, module, forward_fn, args, kwargs):
    saved[name] = forward_fn(*args, **kwargs)
    return saved[name]


def replay(name, module, forward_fn, args, kwargs):
    return saved[name]


with intercept_forwards(removable[target], record):
    forward(gpt, ids)


def forward_without_target(model, x):
    with intercept_forwards(removable[target], replay):
        return forward(model, x)


normal, removed = [], []
for _ in range(9):  # alternate: each pair sees the same conditions
    normal.append(measure(forward, gpt, ids, warmup=1, repeats=1).median)
    removed.append(measure(forward_without_target, gpt, ids, warmup=1, repeats=1).median)
measured = min(normal) / min(removed)
print(f"{target} share of the forward time f = {share:.1%}")
print(f"forward as is:          fastest {min(normal) * 1e3:7.3f} ms  (median {np.median(normal) * 1e3:7.3f} ms)")
print(f"{target + ' free:':23s} fastest {min(removed) * 1e3:7.3f} ms  (median {np.median(removed) * 1e3:7.3f} ms)")
print(f"predicted speedup 1 / (1 - f) = {predicted:.2f}x;  measured (fastest runs) {measured:.2f}x "
      f"({(measured - predicted) / predicted:+.0%})")

fractions = np.linspace(0, 0.99, 100)
plt.figure(figsize=(6, 3.5))
for s in (2, 4, 10, np.inf):
    plt.plot(fractions, amdahl(fractions, s), label=f"s = {s}")
plt.plot([share], [measured], "ko", label=f"measured: {target} removed")
plt.yscale("log")
plt.xlabel("fraction f of the time that is accelerated")
plt.ylabel("overall speedup")
plt.title("Amdahl's law")
plt.legend()
plt.show()

# %% [markdown]
# Prediction and measurement should agree to within the machine's noise (if the medians are
# far above the fastest runs, the machine is busy: re-run when it is quieter). If they differ
# by much more than that, something the profile did not see matters (its
# own bookkeeping, or work that shifted to another part). And even deleting the largest part
# of the model leaves the rest: the speedup is bounded by `1 / (1 - f)`. To go further every
# part must become faster, which is why real optimization attacks the biggest share first,
# then profiles again.
#
# ## Systems analysis
#
# ### How fast can this runtime multiply matrices?
#
# The best rate a runtime reaches is on a large matrix product (GFLOP/s = `2 n^3` FLOPs over
# the time). Small products are slower per FLOP: the fixed cost of each call (Python, NumPy
# dispatch) is spread over less work. Natively, NumPy's BLAS uses several cores and vector
# instructions, and large sizes show it; in the browser there is no BLAS and one thread.

# %%
import matplotlib.pyplot as plt

sizes = [32, 64, 128, 256]
if native_handoff("the matrix-product speed sweep (up to 1024 x 1024)",
                  "modules/14_profiling.ipynb"):
    sizes += [512, 1024]
rates = []
for n in sizes:
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    stats = measure(np.matmul, a, a, warmup=2, repeats=5 if n <= 256 else 3)
    rates.append(2 * n**3 / stats.min / 1e9)  # the best rate: the fastest run
    print(f"{n:5d} x {n:<5d} matmul  fastest {stats.min * 1e3:8.3f} ms  {rates[-1]:7.2f} GFLOP/s")

layer_rates = [(layer.name, layer.flops / layer.seconds / 1e9) for layer in report.rows()
               if layer.flops and layer.seconds > 0 and layer.type in ("Linear", "MultiHeadAttention", "LayerNorm", "GELU")]
plt.figure(figsize=(6, 3.5))
plt.plot(sizes, rates, "o-", label="n x n @ n x n")
for name, rate in layer_rates:
    plt.axhline(rate, lw=0.6, color="gray")
plt.axhline(np.nan, lw=0.6, color="gray", label="GPT layers (gray lines)")
plt.xscale("log", base=2)
plt.yscale("log")
plt.xlabel("matrix size n")
plt.ylabel("GFLOP/s")
plt.title(describe().split(";")[0])
plt.legend()
plt.show()
print("GPT layers:", ", ".join(f"{name} {rate:.2f}" for name, rate in layer_rates[:6]), "... GFLOP/s")

# %% [markdown]
# ### Scaling with sequence length
#
# Attention compares every position with every earlier one: its two matrix products cost
# `4 * B * T^2 * C` FLOPs for a sequence of length `T`, while the MLP and the projections
# cost a fixed amount **per token**. Per token, attention's FLOPs grow with `T`; the MLP's
# do not. We profile the same model on sequences of growing length (batch 2).

# %%
import matplotlib.pyplot as plt

lengths = [32, 64, 128, 256]
per_token, memory = {"attention": [], "MLP": []}, []
for length in lengths:
    x = tt.randint(0, config.vocab_size, (2, length))
    rep = profile_best(gpt, x, runs=2)
    grouped = by_part(rep)
    for part in per_token:
        per_token[part].append(grouped[part][0] / (2 * length) * 1e6)
    memory.append(rep.activation_bytes)
    print(f"T = {length:3d}: attention {per_token['attention'][-1]:6.2f} us/token, MLP {per_token['MLP'][-1]:6.2f} us/token; "
          f"FLOPs attention {grouped['attention'][1] / 1e6:6.1f} M, MLP {grouped['MLP'][1] / 1e6:6.1f} M; "
          f"activations {rep.activation_bytes / 1e6:5.2f} MB vs parameters {rep.parameter_bytes / 1e6:.2f} MB")

plt.figure(figsize=(6, 3.5))
for part, values in per_token.items():
    plt.plot(lengths, values, "o-", label=part)
plt.xlabel("sequence length T")
plt.ylabel("microseconds per token")
plt.title("Own time per token, batch 2")
plt.legend()
plt.show()

# %% [markdown]
# Attention's time per token grows with `T`, as its FLOPs do. The MLP's FLOPs per token are
# constant; whether its time per token is depends on the runtime: where larger matrix
# products run at a lower rate (compare the matrix-product sweep above), even constant work
# per token gets slower per token as the matrices grow.
#
# The activation memory of one forward pass (the outputs of all layers, which training must
# keep for backward) grows with `B * T` and soon passes the parameters' size; the attention
# weights `(B, heads, T, T)` inside the attention layer, not even counted in the table, grow
# with `T^2`.
#
# ## Reflection
#
# 1. The MLP holds about two thirds of each block's parameters. Using the FLOP formula for
#    `Linear`, show that it also does about two thirds of the block's projection FLOPs, for
#    any batch size and sequence length. What share does the `T^2` attention part reach at
#    `T = 4 * C`?
# 2. Your GPT's layer norms and GELUs have tiny FLOP counts. From the profile, what fraction
#    of the time do they take, and why is FLOPs a poor predictor of their cost?
# 3. In the Amdahl experiment the measured speedup can come out slightly above or below the
#    prediction. Name two reasons, one about the measurement and one about what "free" means.
# 4. A teammate reports "my change makes the model 30% faster" from one timing before and one
#    after. What would you ask them to measure, and what would convince you?
# 5. The matrix products of this GPT run at a fraction of the large-matmul rate. Would a
#    larger batch help? Predict, then change the batch size of `ids` and re-run the profile.

# %% [markdown] tags=["solution"]
# ## Answers (solution edition only)
#
# 1. Per token, the attention projections cost `4 * 2 C^2` = `8 C^2` FLOPs and the MLP `2 *
#    2 * C * 4C` = `16 C^2`: two thirds, for any batch and sequence length since both are
#    per-token costs. The `T^2` part (scores and weighted values) costs `4 T C` per token:
#    at `T = 4C` that is `16 C^2`, 40 % of the block.
# 2. Read it from your profile: usually a noticeable share of the time for about 1 % of the
#    FLOPs. They are elementwise passes over memory with several temporaries and a Python
#    call per operation, so bytes moved and the number of calls set their cost, not
#    arithmetic.
# 3. The measurement: noise between runs, caches and CPU frequency changing when part of the
#    work disappears. "Free": replacing a part with a no-op still costs a call and a copy,
#    and removing work changes the memory behaviour of what remains.
# 4. Many interleaved repeats of both versions on the same inputs and machine, the median
#    with its spread or a confidence interval, and the platform. A 30 % gain whose interval
#    excludes 0 and that holds when the order is alternated, ideally on the target hardware,
#    would convince me.
# 5. Yes, up to a point: small products are dominated by per-call overhead and move many
#    bytes per FLOP; a larger batch grows the rows of each `(B * T, C)` product and the rate
#    climbs towards the large-matmul rate, then levels off.
