# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Module 19: Benchmarking
#
# "Version B is 20% faster" is a claim about a random quantity: time it again and you get a
# different number. A benchmark is an experiment, and like any experiment it needs controls
# (warm-up, the same inputs, alternating runs), repeats, and an honest statement of
# uncertainty. In this module you write the statistics of a fair benchmark (median, spread,
# a bootstrap confidence interval) and the Pareto front that picks the models worth keeping,
# then compare digits classifiers on accuracy, latency and size and write a small
# MLPerf-style report that can be set side by side with one from another machine.
#
# **Learning objectives.** By the end of this module you can:
#
# - summarize timings robustly: median, quartiles and a bootstrap confidence interval
# - design a fair comparison: warm-up, the same inputs, alternating runs
# - find the Pareto front of models on several objectives
# - write a reproducible benchmark report that records the platform and settings

# %%
import copy
import json
import os
import time

import numpy as np

import tinytorch as tt
from tinytorch import nn
from tinytorch.benchmarking import compare, format_table, measurement_of, run_report
import tinytorch.mine
from tinytorch.checks import check_pareto_front, check_speedup_interval, check_summarize, yours_or_reference
from tinytorch.checks.benchmarking import reference_speedup_interval, reference_summarize
from tinytorch.compression import apply_masks, magnitude_prune, remove_masks
from tinytorch.datasets import load_digits
from tinytorch.platform import describe, is_browser, native_handoff
from tinytorch.quantization import quantize_model
# Components of earlier modules: yours where saved, else tinytorch's (one line each says which).
# The layers stay nn.Linear: quantize_model swaps only tinytorch's own Linear.
from tinytorch.mine import Sequential, Adam

print(describe())

# %% [markdown]
# ## Timings are a distribution
#
# Time one small, fixed piece of work 300 times, each call on its own, with no warm-up: a
# forward pass of a digits MLP on 32 images.

# %%
import matplotlib.pyplot as plt

digits = load_digits()
x_train = digits.x_train.reshape(len(digits.x_train), -1)
x_test = tt.tensor(digits.x_test.reshape(len(digits.x_test), -1))


def mlp(*hidden, seed=0):
    tt.manual_seed(seed)
    sizes = (64,) + hidden
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return Sequential(*layers, nn.Linear(sizes[-1], 10))


probe = mlp(128, 64).eval()
batch = x_test[:32]


def forward():
    with tt.no_grad():
        return probe(batch)


times = []
for _ in range(300):
    start = time.perf_counter()
    forward()
    times.append(time.perf_counter() - start)
times = np.array(times)
us = times * 1e6
print(f"first call {us[0]:.0f} us; then min {us[1:].min():.0f}, median {np.median(us):.0f}, "
      f"mean {us.mean():.0f}, max {us.max():.0f} us")

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
left.plot(us, ".", ms=3)
left.set_yscale("log")
left.set_xlabel("call")
left.set_ylabel("microseconds")
right.hist(us[us < np.percentile(us, 99)], bins=40)
right.axvline(np.median(us), color="k", label="median")
right.axvline(us.mean(), color="r", ls="--", label="mean")
right.set_xlabel("microseconds (slowest 1% not shown)")
right.legend()
plt.show()

# %% [markdown]
# Three things to see. The first call is slower (memory is allocated, caches are cold; in
# the browser a whole first stretch of calls can be slower, because the engine first runs
# WebAssembly through a quick baseline compiler and only later recompiles the busy code
# with an optimizing one). The
# distribution is **skewed**: a floor set by the work itself, and a long tail of calls that
# something else slowed down (another program, the garbage collector, the browser). And the
# mean sits above the median, pulled up by that tail. So a benchmark reports
#
# - the **median** (the typical call; one interrupted call barely moves it),
# - the **interquartile range** `IQR = q3 - q1`, the spread of the middle half of the calls,
# - a **confidence interval** for the median: the range where the median would likely land
#   if the whole experiment were repeated.
#
# ## The bootstrap
#
# There is no simple formula for a median's confidence interval (the t interval,
# `mean +- t * s / sqrt(n)`, is for means of roughly normal data, which timings are not). The
# **bootstrap** gets it by simulation: treat the `n` measured timings as the population,
# draw `n` of them **with replacement** (some repeat, some are left out), and compute the
# median of that resample. Do it thousands of times; the spread of those medians is the
# uncertainty of the median.
#
# ```
#   timings:     [10.1 10.3 10.2 14.9 10.0]          median 10.2
#   resample 1:  [10.3 10.0 10.3 10.1 14.9]  ->  10.3
#   resample 2:  [10.0 10.0 10.2 10.1 10.2]  ->  10.1
#   ...          2000 resamples            ->  2000 medians
#   95% interval: their 2.5th and 97.5th percentiles
# ```
#
# For reproducible intervals, draw from `np.random.default_rng(seed)`; drawing all the
# indices at once, `rng.integers(0, n, size=(resamples, n))`, is one vectorized call.

# %%
def summarize(times, confidence=0.95, resamples=2000, seed=0):
    """Summary of timings (seconds): dict with median, q1, q3 (np.percentile 25/50/75), iqr,
    and ci_low, ci_high: the `confidence` percentile-bootstrap interval of the median."""
    ### BEGIN SOLUTION
    # HINT: the quartiles of the timings; for the interval, the medians of many resamples drawn with replacement, with their tails cut off
    t = np.asarray(times, dtype=np.float64)
    q1, median, q3 = np.percentile(t, [25, 50, 75])
    picks = np.random.default_rng(seed).integers(0, t.size, size=(resamples, t.size))
    medians = np.median(t[picks], axis=1)  # (resamples,)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(medians, [tail, 100 - tail])
    return {"median": float(median), "q1": float(q1), "q3": float(q3), "iqr": float(q3 - q1),
            "ci_low": float(low), "ci_high": float(high)}
    ### END SOLUTION


# %% tags=["check"]
check_summarize(summarize)

# %% [markdown]
# ### How many repeats?
#
# The interval narrows as the number of timings grows, roughly as `1 / sqrt(n)`. Summaries
# of the first `n` of the timings above (after the first call):

# %%
import matplotlib.pyplot as plt

stats = yours_or_reference("summarize", summarize, reference_summarize)
counts = [5, 10, 20, 50, 100, 200, 299]
rows = []
for n in counts:
    s = stats(times[1:n + 1])
    rows.append(s)
    print(f"n = {n:3d}: median {s['median'] * 1e6:6.1f} us, IQR {s['iqr'] * 1e6:5.1f} us, "
          f"95% CI [{s['ci_low'] * 1e6:6.1f}, {s['ci_high'] * 1e6:6.1f}] us (width {(s['ci_high'] - s['ci_low']) * 1e6:5.1f})")

plt.figure(figsize=(6, 3.5))
plt.fill_between(counts, [r["ci_low"] * 1e6 for r in rows], [r["ci_high"] * 1e6 for r in rows], alpha=0.3,
                 label="95% interval of the median")
plt.plot(counts, [r["median"] * 1e6 for r in rows], "o-", label="median")
plt.xscale("log")
plt.xlabel("number of timings")
plt.ylabel("microseconds")
plt.legend()
plt.show()

# %% [markdown]
# With 5 timings the interval can be as wide as the effect you hope to measure; by 50 it is
# usually a small fraction of the median. (A bootstrap from very few samples also
# underestimates its own uncertainty: it cannot invent values it never saw.) If the median
# itself drifts as `n` grows, the early calls came from a different regime (still warming
# up): the interval assumes every timing comes from the same distribution, so such timings
# need a longer warm-up, not more repeats.
#
# ## Is B faster than A?
#
# A fair comparison times both on the same input, after warm-up, **alternating** A and B so
# that a burst of activity elsewhere hits both alike, and reports the ratio with its
# uncertainty: bootstrap both sets of timings and take the ratio of medians each time.
#
# ```
#   a: timings of A (n values)    b: timings of B (m values)      ratio = median(a) / median(b)
#   resample a (n draws with replacement) and b (m draws), independently, `resamples` times
#   -> `resamples` ratios of medians; the interval cuts (1 - confidence) / 2 off each tail
# ```
#
# **Exercise.** Write `speedup_interval(a, b, confidence, resamples, seed)`: the ratio of
# medians and its bootstrap interval, `(ratio, low, high)`. A ratio above 1 means B is faster;
# an interval that contains 1 means the data cannot tell.

# %%
def speedup_interval(a, b, confidence=0.95, resamples=2000, seed=0):
    """median(a) / median(b) and its bootstrap interval, as (ratio, low, high) (> 1: b is faster)."""
    ### BEGIN SOLUTION
    # HINT: the ratio of the two medians; for the interval, many ratios of medians of resamples (with replacement) of a and of b, and their percentiles
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    rng = np.random.default_rng(seed)
    ratios = (np.median(a[rng.integers(0, a.size, (resamples, a.size))], axis=1)
              / np.median(b[rng.integers(0, b.size, (resamples, b.size))], axis=1))  # (resamples,)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return float(np.median(a) / np.median(b)), float(low), float(high)
    ### END SOLUTION


# %% tags=["check"]
check_speedup_interval(speedup_interval)

# %% [markdown]
# A question from module 15: is the int8 version of a model faster than float32 here?

# %%
ratio_interval = yours_or_reference("speedup_interval", speedup_interval, reference_speedup_interval)


def train(model, epochs=10, lr=3e-3, seed=0, masks=False):
    optimizer = Adam(model.parameters(), lr=lr)
    order = np.random.default_rng(seed)
    for _ in range(epochs):
        for index in np.array_split(order.permutation(len(x_train)), len(x_train) // 64):
            loss = nn.functional.cross_entropy(model(tt.tensor(x_train[index])), tt.tensor(digits.y_train[index]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if masks:
                apply_masks(model)  # pruned weights stay zero
    return model.eval()


def accuracy(model):
    with tt.no_grad():
        return float((model(x_test).data.argmax(axis=1) == digits.y_test).mean())


calibration = [tt.tensor(x_train[i:i + 128]) for i in range(0, 512, 128)]
float_model = train(mlp(128, 64))
int8_model = quantize_model(float_model, calibration)


def alternate(fn_a, fn_b, rounds=40, warmup=3):
    """Timings of fn_a and fn_b, called alternately after a warm-up of each."""
    for _ in range(warmup):
        fn_a(), fn_b()
    a, b = [], []
    for _ in range(rounds):
        for fn, out in ((fn_a, a), (fn_b, b)):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return np.array(a), np.array(b)


def run(model, x):
    def call():
        with tt.no_grad():
            return model(x)
    return call


for size in (1, 360):
    x = x_test[:size]
    a, b = alternate(run(float_model, x), run(int8_model, x))
    ratio, low, high = ratio_interval(a, b)
    sa, sb = stats(a), stats(b)
    verdict = "int8 faster" if low > 1 else "float32 faster" if high < 1 else "no clear difference"
    print(f"batch {size:3d}: float32 {sa['median'] * 1e6:7.1f} us [{sa['ci_low'] * 1e6:.1f}, {sa['ci_high'] * 1e6:.1f}], "
          f"int8 {sb['median'] * 1e6:7.1f} us [{sb['ci_low'] * 1e6:.1f}, {sb['ci_high'] * 1e6:.1f}]; "
          f"float32 / int8 = {ratio:.2f} [{low:.2f}, {high:.2f}]: {verdict}")

# %% [markdown]
# The answer depends on the batch size and on the runtime. With one image, fixed costs per
# layer dominate and the int8 layer's extra steps (quantizing the input, rescaling the
# output) weigh most. With a full batch the matrix products dominate: natively float32 runs
# on BLAS while NumPy has no fast integer product, so int8 loses; in the browser neither has
# BLAS. Either way, a verdict needs the interval: when it contains 1, the data does not say
# which is faster.
#
# ## Comparing model variants
#
# Six digits classifiers: three MLP sizes in float32, two of them also in int8, and the
# middle one with 80% of its weights pruned (and fine-tuned). `compare` measures each one's
# accuracy on the test set, its latency on a batch of 32 images (warm-up, 20 repeats,
# median and bootstrap interval) and its size in bytes.

# %%
start = time.perf_counter()
small = train(mlp(32))
large = train(mlp(256, 128), epochs=8)
pruned = copy.deepcopy(float_model)
magnitude_prune(pruned, 0.8)
pruned = train(pruned, epochs=3, lr=1e-3, masks=True)
remove_masks(pruned)
print(f"variants trained in {time.perf_counter() - start:.1f} s")

evaluate = accuracy
variants = {
    "mlp-32 float32": (small, evaluate),
    "mlp-128-64 float32": (float_model, evaluate),
    "mlp-256-128 float32": (large, evaluate),
    "mlp-128-64 int8": (int8_model, evaluate),
    "mlp-256-128 int8": (quantize_model(large, calibration), evaluate),
    "mlp-128-64 pruned 80%": (pruned, evaluate),
}
results = compare(variants, x_test[:32], warmup=3, repeats=20)
for row in results:
    row["size_kib"] = row["size_bytes"] / 1024
print(format_table(results, ["name", "accuracy", "latency_ms", "latency_ci_ms", "latency_iqr_ms", "size_kib"]))

# %% [markdown]
# ## The Pareto front
#
# No single variant is best at everything: the most accurate is not the smallest or the
# fastest. But some variants are simply worse than another one on every count, and can be
# dropped. Variant `q` **dominates** `r` if `q` is at least as good as `r` on every
# objective and strictly better on at least one. The **Pareto front** is the set of variants
# nothing dominates: the only sensible choices, each a different trade-off.
#
# ```
#   accuracy
#     ^        * front               x  dominated: another point is better on both axes
#     |   *         x
#     | *     x
#     |*  x
#     +-------------------> latency (lower is better)
# ```
#
# Objectives are named by the keys of the rows; those in `minimize` are better smaller,
# those in `maximize` better larger. Two rows with identical values do not dominate each
# other (neither is strictly better), so both stay.

# %%
def pareto_front(rows, minimize=(), maximize=()):
    """The rows (dicts) that no other row dominates, in their input order."""
    ### BEGIN SOLUTION
    # HINT: for each row, look for another row that is <= on every minimize key, >= on every maximize key, and strictly better on at least one; keep the row if there is none
    def dominates(q, r):
        at_least_as_good = all(q[k] <= r[k] for k in minimize) and all(q[k] >= r[k] for k in maximize)
        better = any(q[k] < r[k] for k in minimize) or any(q[k] > r[k] for k in maximize)
        return at_least_as_good and better

    return [r for r in rows if not any(dominates(q, r) for q in rows if q is not r)]
    ### END SOLUTION


# %% tags=["check"]
check_pareto_front(pareto_front)

# %%
import matplotlib.pyplot as plt

# Yours where saved (tinytorch's where the check did not pass); run_report marks its Pareto
# front with it too once it is in use.
tinytorch.mine.use("pareto_front")
front_of = tinytorch.mine.load("pareto_front")
objectives = dict(minimize=["latency_ms", "size_bytes"], maximize=["accuracy"])
front = [row["name"] for row in front_of(results, **objectives)]
two_d = [row["name"] for row in front_of(results, minimize=["latency_ms"], maximize=["accuracy"])]
for row in results:
    row["pareto"] = "*" if row["name"] in front else ""
print(format_table(results, ["name", "accuracy", "latency_ms", "size_kib", "pareto"]))
print("\nPareto-optimal (accuracy, latency, size):", ", ".join(front))
print("Pareto-optimal (accuracy, latency only): ", ", ".join(two_d))

plt.figure(figsize=(6.5, 4))
for row in results:
    optimal = row["name"] in front
    plt.scatter(row["latency_ms"], row["accuracy"], s=20 + row["size_kib"] / 2, color="C0" if optimal else "C7",
                edgecolor="k")
    plt.annotate(row["name"], (row["latency_ms"], row["accuracy"]), fontsize=7, xytext=(4, 4),
                 textcoords="offset points")
    low, high = row["latency_ci_ms"]
    plt.plot([low, high], [row["accuracy"]] * 2, color="k", lw=1)
plt.xlabel("latency, batch of 32 (ms; bar: 95% interval)")
plt.ylabel("test accuracy")
plt.title("Blue: Pareto-optimal; area: size")
plt.show()

# %% [markdown]
# The pruned model is a lesson of its own: stored densely, its zeros take as many bytes and
# as much time as any other weight, so it cannot really beat the model it came from on size
# or latency. It reaches the front only if it scores higher, or if its latency comes out a
# hair lower by chance: compare the intervals, not the medians. (A careful Pareto analysis
# treats differences inside the intervals as ties.) Pruning pays only with sparse storage or
# with structured pruning (module 16). Whether int8 is on the front depends on the runtime:
# it always wins on size, but on latency only where integer arithmetic is fast.
#
# ## A TinyMLPerf-style report
#
# MLPerf (and its embedded edition, TinyMLPerf) makes results comparable by fixing the
# **scenarios** and the **rules**: the same inputs, a fixed seed, warm-up and repeat counts,
# and a record of the system the numbers came from. `run_report` runs four scenarios for
# every variant: **single stream** (one sample at a time: latency, median and 90th
# percentile), **offline** (the whole batch at once: throughput), **accuracy** and **size**,
# and logs every measurement as an event.

# %%
report = run_report(variants, x_test[:64], seed=0, warmup=3, repeats=20, title="digits classifiers")
print(report)

where = "browser" if is_browser() else "native"
path = f"benchmark_{where}.json"
with open(path, "w") as f:
    f.write(report.to_json())
print(f"\nsaved {len(report.events)} events to {os.path.abspath(path)}")

# %% [markdown]
# ### Browser and native, side by side
#
# The same report from another runtime shows what changes with it. This notebook saved
# `benchmark_browser.json` or `benchmark_native.json` next to itself; run it in the other
# runtime too and put both files in one folder (in the browser, the file browser's
# *Download* and *Upload* buttons move them). The cell below compares whatever pair it
# finds.

# %%
other = "native" if where == "browser" else "browser"
if where == "browser":
    native_handoff("this benchmark", "modules/19_benchmarking.ipynb",
                   differs="NumPy here has no BLAS and one thread, which slows each variant by a different factor")
if os.path.exists(f"benchmark_{other}.json"):
    with open(f"benchmark_{other}.json") as f:
        theirs = {row["name"]: row for row in json.load(f)["results"]}
    mine = {row["name"]: row for row in report.rows}
    print(f"{'variant':24s} {'single-stream ms':>26s} {'offline samples/s':>28s}")
    print(f"{'':24s} {where:>12s} {other:>12s} {'ratio':>6s} {where:>12s} {other:>12s}")
    for name in mine:
        if name in theirs:
            a, b = mine[name], theirs[name]
            print(f"{name:24s} {a['single_stream_ms']:12.3f} {b['single_stream_ms']:12.3f} "
                  f"{a['single_stream_ms'] / b['single_stream_ms']:6.1f} {a['offline_samples_per_s']:12,.0f} "
                  f"{b['offline_samples_per_s']:12,.0f}")
else:
    print(f"No benchmark_{other}.json here yet: run this notebook {'natively' if other == 'native' else 'in the browser'} "
          f"and copy its benchmark_{other}.json into {os.getcwd()}.")

# %% [markdown]
# Expect the ratio to differ by variant: batch-32 matrix products gain most from a native
# BLAS, single samples gain less (their time is mostly fixed per-call costs, which
# WebAssembly slows less), and int8 layers gain little (NumPy has no BLAS for integers on
# either side).
#
# ## Reflection
#
# 1. In your first experiment, how much larger than the median was the mean, and how many of
#    the 300 calls were more than twice the median? Which of the two numbers would you put in
#    a paper, and why?
# 2. How many timings did the interval of the median need to be narrower than 5% of the
#    median on your runtime? How would you decide the number of repeats for a new benchmark?
# 3. `alternate` interleaves A and B. Describe a situation where timing all of A first and
#    then all of B gives a wrong verdict, even with warm-up.
# 4. Which variants are on your Pareto front, with and without size as an objective? If
#    you had to ship one model to a microcontroller with 64 KiB of memory, which would it
#    be, and what would you measure next?
# 5. Your report records the platform, the seed and the settings. What else would someone
#    need to reproduce your numbers on their machine, and what could never be reproduced?

# %% [markdown] tags=["solution"]
# ## Answers (solution edition only)
#
# 1. Read both from your run. The mean sits above the median because the slow tail (other
#    processes, garbage collection) pulls it up. Report the median with its interval or
#    quartiles: it describes a typical call; report the tail (p99) separately when
#    worst-case latency matters.
# 2. Read it from your run. For a new benchmark, run a pilot to measure the spread, then
#    pick the number of repeats that makes the interval narrower than the smallest
#    difference you care about (its width shrinks like `1 / sqrt(n)`).
# 3. The machine changes during the run: the CPU heats and throttles, a background job
#    starts, the frequency governor ramps up. If A runs first while cool and B afterwards
#    while throttled, B looks slower for reasons that have nothing to do with B.
#    Interleaving exposes both to the same conditions.
# 4. Read your front. For 64 KiB: the smallest variant that fits (int8 and pruned, if its
#    accuracy is acceptable); next, measure on the device itself: the memory including
#    activations, its latency, and its accuracy after conversion.
# 5. The software versions (Python, NumPy, tinytorch's commit), the hardware (CPU model,
#    BLAS library, thread count), the operating system and power settings, and the data.
#    Never reproducible: the momentary load, the thermal state and timing noise of that
#    particular run.
