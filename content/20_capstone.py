# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Module 20: Capstone
#
# The last six modules each gave you one tool: profiling, quantization, compression,
# memoization, acceleration, benchmarking. Used together they form the workflow of
# deploying a model: train it, measure where its time and bytes go, make it smaller, make it
# faster, and prove with numbers what each step bought and what it cost. In this capstone you
# take a digits classifier through that whole pipeline, built from your own framework:
# `tinytorch.mine.use()` at the start makes tinytorch run on every component you saved in the
# earlier modules (your calibration, quantization and int8 layer inside `quantize_model`, your
# compiler of module 18, your Pareto front of module 19; tinytorch's where you have none), and
# the last cell says which were yours. Here you write the prune stage, the pipeline that
# chains the stages, the report that attributes every gain and loss to the stage that caused
# it, and the rule that picks the variant to deploy. At the end the same pipeline takes a small
# text generator through your KV cache of module 17, where caching is the stage that matters.
#
# **Learning objectives.** By the end of this module you can:
#
# - chain optimization stages into a pipeline that measures after each stage
# - attribute gains and losses to the stage that caused them, step by step and in total
# - deploy with your own components: structured pruning, your int8 layers, your compiler
# - pick the variant to deploy on the Pareto front, within an accuracy budget
# - reuse the pipeline for a text generator, where your KV cache trades memory for speed

# %%
import copy
import dataclasses
import time

import numpy as np

import tinytorch as tt
from tinytorch import nn
from tinytorch.benchmarking import benchmark, format_table, run_report
import tinytorch.mine
from tinytorch.checks import (check_pick_deployment, check_run_pipeline, check_shrink_hidden, check_stage_report,
                              yours_or_reference)
from tinytorch.checks.benchmarking import reference_pick_deployment, reference_shrink_hidden
from tinytorch.datasets import load_digits
from tinytorch.platform import describe
from tinytorch.profiling import profile
from tinytorch.quantization import model_size_bytes, quantize_model

# Your framework: tinytorch runs on every component you saved (it prints which), tinytorch's
# for the rest: your backward rules and Adam while training, your calculate_qparams, quantize
# and QuantizedLinear inside quantize_model, your Pareto front in the benchmark report.
tinytorch.mine.use()
# The layers stay nn.Linear: the quantize stage (quantize_model) swaps only tinytorch's own Linear.
from tinytorch.mine import Adam, CompiledMLP, Sequential, kv_cache_bytes, pareto_front
from tinytorch.models import GPT, GPTConfig

print(describe())

# %% [markdown]
# ## Train
#
# The model: an MLP for the 8x8 digits, `64 -> 256 -> 128 -> 10`, trained with Adam for a
# few seconds (modules 03 to 08). It is deliberately larger than the task needs, as
# production models usually are: there is something to remove.

# %%
digits = load_digits()
x_train = digits.x_train.reshape(len(digits.x_train), -1)
x_test = tt.tensor(digits.x_test.reshape(len(digits.x_test), -1))


def train(model, epochs, lr=3e-3, seed=0):
    optimizer = Adam(model.parameters(), lr=lr)
    order = np.random.default_rng(seed)
    model.train()
    for _ in range(epochs):
        for index in np.array_split(order.permutation(len(x_train)), len(x_train) // 64):
            loss = nn.functional.cross_entropy(model(tt.tensor(x_train[index])), tt.tensor(digits.y_train[index]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


def accuracy(model):
    with tt.no_grad():
        return float((model(x_test).data.argmax(axis=1) == digits.y_test).mean())


start = time.perf_counter()
tt.manual_seed(0)
baseline = train(Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)),
                 epochs=10)
print(f"trained in {time.perf_counter() - start:.1f} s: test accuracy {accuracy(baseline):.2%}, "
      f"{model_size_bytes(baseline):,} bytes")

# %% [markdown]
# ## Profile
#
# Before optimizing, measure (module 14). Two workloads matter for a classifier: one image
# at a time (an app reading a digit as the user writes it) and a large batch (a server
# processing a backlog).

# %%
for label, x in (("one image", x_test[:1]), ("360 images", x_test)):
    report = min((profile(baseline, x) for _ in range(3)), key=lambda r: r.total_seconds)
    linear = sum(r.seconds for r in report.layers if r.type == "Linear")
    print(f"{label}: {report.total_seconds * 1e6:7.0f} us in total, Linear layers {linear / report.total_seconds:5.1%}, "
          f"{report.total_flops / report.total_seconds / 1e9:6.2f} GFLOP/s")
print(report)

# %% [markdown]
# For a single image the model does about 100 thousand FLOPs, microseconds of arithmetic;
# most of the time goes to everything around it (Python calls, Tensor objects, checks, one
# NumPy call per layer). For the batch, the arithmetic dominates, and the first two `Linear`
# layers hold almost all of it and all but a few percent of the bytes. Two different
# bottlenecks, so two different kinds of fix: fewer and smaller weights help both, removing
# per-call overhead helps the single image.
#
# ## The stages
#
# Each stage is a function `model -> new model` that leaves its input untouched.
#
# **Prune** (module 16): remove the half of each hidden layer's neurons with the smallest
# weights (L2 norm of their incoming row), then fine-tune for a few epochs. Unlike
# unstructured pruning, this makes the matrices genuinely smaller: a hidden neuron is one row
# of its layer's weight (with its bias) and one column of the next layer's weight, so removing
# it removes both.
#
# ```
#   Linear(64, 256)  weight (256, 64)   keep 128 rows    ->  Linear(64, 128)
#   Linear(256, 128) weight (128, 256)  keep 128 columns ->  Linear(128, 128), then keep 64 rows
# ```
#
# **Exercise.** Write `shrink_hidden(model, amount)`: a smaller copy of an MLP (a `Sequential`
# of `Linear` and `ReLU` layers) in which every hidden layer keeps its
# `round((1 - amount) * width)` neurons whose incoming weight rows have the largest L2 norms,
# and the next `Linear` keeps the matching input columns. The last layer's outputs (the
# classes) stay; the input model must stay untouched (the pipeline compares it with the result).

# %%
def shrink_hidden(model, amount=0.5):
    """A smaller copy of an MLP without each hidden layer's `amount` weakest neurons."""
    ### BEGIN SOLUTION
    # HINT: for each hidden Linear, which rows (neurons) to keep, ranked by L2 norm; then new, smaller Linear layers for it and for the next one
    layers = [copy.deepcopy(layer) for layer in model]
    linears = [i for i, layer in enumerate(layers) if isinstance(layer, nn.Linear)]
    for i, j in zip(linears[:-1], linears[1:]):  # layer i's outputs are layer j's inputs
        weight = layers[i].weight.data  # (out, in)
        keep = np.sort(np.argsort(-np.linalg.norm(weight, axis=1))[:round(len(weight) * (1 - amount))])
        smaller = nn.Linear(weight.shape[1], len(keep))
        smaller.weight.data = weight[keep].copy()
        smaller.bias.data = layers[i].bias.data[keep].copy()
        layers[i] = smaller
        narrower = nn.Linear(len(keep), layers[j].out_features)
        narrower.weight.data = layers[j].weight.data[:, keep].copy()
        narrower.bias.data = layers[j].bias.data.copy()
        layers[j] = narrower
    return Sequential(*layers)
    ### END SOLUTION


# %% tags=["check"]
check_shrink_hidden(shrink_hidden)

# %%
shrink = yours_or_reference("shrink_hidden", shrink_hidden, reference_shrink_hidden)


def prune_neurons(model, amount=0.5, fine_tune_epochs=4):
    """The prune stage: a smaller copy of the MLP, fine-tuned for a few epochs."""
    return train(shrink(model, amount), fine_tune_epochs, lr=1e-3, seed=1)


# %% [markdown]
# **Quantize** (module 15): int8 weights and activations, with ranges calibrated on a few
# training batches. `quantize_model` observes each `Linear`'s input range, asks
# `calculate_qparams` for its scale and zero point and builds a `QuantizedLinear`: yours, where
# you saved them (module 15).

# %%
calibration = [tt.tensor(x_train[i:i + 128]) for i in range(0, 512, 128)]


def quantize(model):
    return quantize_model(model, calibration)


# %% [markdown]
# **Compile** (module 18): your `CompiledMLP` turns the model into a flat list of NumPy steps,
# weights laid out for the product, int8 kept int8, with the matrix product that measured
# fastest for each layer **on this runtime**.

# %%
def compile_model(model):
    compiled = CompiledMLP(model)
    print(f"  compile: matrix products chosen per layer on this runtime: {', '.join(compiled.choices)}")
    return compiled.eval()


# %% [markdown]
# A compiled model must compute the same function. Module 18's check tried your compiler on
# small models; check it on this one, float and int8, before trusting any speed it shows:

# %%
for label, model in (("float32", baseline), ("int8", quantize(baseline))):
    compiled = compile_model(model)
    with tt.no_grad():
        same = np.mean(compiled(x_test).data.argmax(axis=1) == model(x_test).data.argmax(axis=1))
        gap = np.abs(compiled(x_test).data - model(x_test).data).max()
    print(f"  {label}: compiled and original agree on {same:.1%} of test predictions (largest logit difference {gap:.1e})")

# %% [markdown]
# ## The pipeline
#
# A pipeline takes the trained model through the stages in order, each stage working on the
# previous stage's output, and measures every intermediate model with the same `measure`
# function, so the rows can be compared. The first row is the input model itself, under the
# stage name `"baseline"`. Each row keeps its model, for the final benchmark.

# %%
def run_pipeline(model, stages, measure):
    """[{'stage': name, 'model': model, **measure(model)}, ...] for the input model ('baseline')
    and after each of `stages` = [(name, fn), ...], fn(previous model) -> next model."""
    ### BEGIN SOLUTION
    # HINT: one measured row for the input model, then one after each stage, every stage applied to the previous stage's result
    rows = [{"stage": "baseline", "model": model, **measure(model)}]
    for name, stage in stages:
        model = stage(model)
        rows.append({"stage": name, "model": model, **measure(model)})
    return rows
    ### END SOLUTION


# %% tags=["check"]
check_run_pipeline(run_pipeline)

# %% [markdown]
# `measure` reports what we care about: test accuracy, size in bytes, and latency
# (module 19's `benchmark`: warm-up, 30 repeats, the median) on one image, plus the time for
# the whole test set.

# %%
def measure(model):
    def call(x):
        with tt.no_grad():
            return model(x)

    single = benchmark(call, x_test[:1], warmup=5, repeats=30)
    batch = benchmark(call, x_test, warmup=2, repeats=10)
    return {"accuracy": accuracy(model), "size_bytes": model_size_bytes(model), "latency_ms": single.median * 1e3,
            "latency_ci_ms": (single.ci_low * 1e3, single.ci_high * 1e3), "batch_ms": batch.median * 1e3}


pipeline = yours_or_reference("run_pipeline", run_pipeline, tt.benchmarking.run_pipeline)
stages = [("prune 50% of neurons", prune_neurons), ("quantize int8", quantize), ("compile", compile_model)]
start = time.perf_counter()
rows = pipeline(baseline, stages, measure)
print(f"pipeline ran in {time.perf_counter() - start:.1f} s")

# %% [markdown]
# ## The report
#
# Each row's numbers are absolute. What the audience of a deployment report wants to know
# is what each decision bought and what it cost: for each stage, against the **previous**
# row, the change in accuracy (a difference), the size reduction and the speedup (ratios,
# `> 1` meaning better: `previous size / size`, `previous latency / latency`); and the same
# three against the **first** row, for the pipeline so far. The first row's are `0`, `1`
# and `1`. Return new rows (`{**row, ...}`) and leave the input ones as they are.

# %%
def stage_report(rows):
    """Each row plus accuracy_change, size_reduction, speedup (vs the previous row) and
    total_accuracy_change, total_size_reduction, total_speedup (vs the first row)."""
    ### BEGIN SOLUTION
    # HINT: for every row, its changes against the row before it (the first against itself) and against the first row; ratios put the older value on top
    report = []
    for i, row in enumerate(rows):
        previous, first = rows[max(i - 1, 0)], rows[0]
        report.append({
            **row,
            "accuracy_change": row["accuracy"] - previous["accuracy"],
            "size_reduction": previous["size_bytes"] / row["size_bytes"],
            "speedup": previous["latency_ms"] / row["latency_ms"],
            "total_accuracy_change": row["accuracy"] - first["accuracy"],
            "total_size_reduction": first["size_bytes"] / row["size_bytes"],
            "total_speedup": first["latency_ms"] / row["latency_ms"],
        })
    return report
    ### END SOLUTION


# %% tags=["check"]
check_stage_report(stage_report)

# %%
import matplotlib.pyplot as plt

report_of = yours_or_reference("stage_report", stage_report, tt.benchmarking.stage_report)
final = report_of(rows)
table = [{
    "stage": r["stage"], "accuracy": f"{r['accuracy']:.2%}", "size KiB": r["size_bytes"] / 1024,
    "1 image ms": r["latency_ms"], "360 images ms": r["batch_ms"],
    "step: acc": f"{r['accuracy_change'] * 100:+.1f} pt", "step: smaller": f"{r['size_reduction']:.2f}x",
    "step: faster": f"{r['speedup']:.2f}x", "total: smaller": f"{r['total_size_reduction']:.2f}x",
    "total: faster": f"{r['total_speedup']:.2f}x",
} for r in final]
print(describe())
print(format_table(table, list(table[0])))
print()
for r in final[1:]:
    verdicts = []
    for key, good, bad in (("size_reduction", "smaller", "larger"), ("speedup", "faster", "slower")):
        if abs(r[key] - 1) > 0.05:
            verdicts.append(f"{r[key] if r[key] > 1 else 1 / r[key]:.1f}x {good if r[key] > 1 else bad}")
    low, high = r["latency_ci_ms"]
    print(f"{r['stage']:22s} bought: {', '.join(verdicts) or 'no change above 5%'}; "
          f"accuracy {r['accuracy_change'] * 100:+.1f} points (1-image latency {r['latency_ms']:.3f} ms, "
          f"95% interval [{low:.3f}, {high:.3f}])")

# the trends the next paragraphs describe, on this run
pruned, quantized, compiled = final[1:4]
assert 2 < pruned["size_reduction"] < 4, "pruning half the neurons should shrink the model 2-4x"
assert 3 < quantized["size_reduction"] <= 4, "int8 weights should be nearly 4x smaller than float32"
assert 0.95 * quantized["size_bytes"] <= compiled["size_bytes"] <= quantized["size_bytes"], \
    "compiling should keep every weight as it is (int8 stays int8)"

fig, axes = plt.subplots(1, 3, figsize=(11, 3))
names = [r["stage"].split(" ")[0] for r in final]
for ax, key, label in zip(axes, ("size_bytes", "latency_ms", "accuracy"),
                          ("size (KiB)", "latency, 1 image (ms)", "test accuracy")):
    values = [r[key] / (1024 if key == "size_bytes" else 1) for r in final]
    ax.bar(names, values, color=["C7"] + ["C0"] * (len(names) - 1))
    ax.set_title(label)
    if key == "accuracy":
        ax.set_ylim(min(values) - 0.03, 1.0)
plt.tight_layout()
plt.show()

# %% [markdown]
# Read your own table; the pattern to expect:
#
# - **Pruning** made the model about 3x smaller (the middle layer loses half its inputs and
#   half its outputs, 4x; the other two half of one side, 2x), cost a little accuracy that
#   fine-tuning mostly recovers, and is faster whenever the arithmetic matters (the batch).
# - **Quantization** made the model about 4x smaller again. Speed is another matter: NumPy
#   has no fast integer matrix product, and quantizing each input costs extra passes, so the
#   int8 model is usually *slower* here, while on hardware with int8 units (phones, recent
#   CPUs, accelerators) it is faster. Size and speed are separate questions.
# - **Compiling** kept every weight as it was (the size moves by a few bytes at most: the
#   per-layer scalars live in the steps). It picks, per layer, the matrix-product
#   formulation that was fastest on this runtime and skips the Tensor bookkeeping; whether
#   that makes a single image faster depends on the runtime and on what the compiled model
#   still pays per call: the "bought" line above says which way it went on yours. Only a
#   measurement tells, which is why every stage is measured.
#
# The **order** matters too: pruning before quantizing lets fine-tuning repair the damage in
# float32; compiling last sees the final layers. The cache of module 17 is missing here: it
# saves recomputation across the steps of autoregressive generation, and a classifier makes
# one prediction per input. The last section gives it a deployment of its own.
#
# ## Benchmark
#
# A fair benchmark of every stage's model (module 19): single-stream latency, offline
# throughput, accuracy and size, with the platform recorded, and the Pareto-optimal stages
# marked (by your `pareto_front`, where you saved it).

# %%
variants = {r["stage"]: (r["model"], accuracy) for r in final}
print(run_report(variants, x_test[:64], seed=0, warmup=3, repeats=20, title="digits MLP deployment pipeline"))

# %% [markdown]
# ## Pick the variant to deploy
#
# The report shows four models; a deployment needs one. Only a variant on the **Pareto
# front** is worth considering: any other is beaten on every metric by one that is. Among
# those, the deployment's constraints decide: an **accuracy budget** (how much accuracy the
# product may lose against the baseline, the first row) and the one metric that matters most
# on the target (latency for an app, bytes for a microcontroller):
#
# ```
#   front      = Pareto front of rows   (latency_ms and size_bytes: smaller; accuracy: larger)
#   allowed    = rows of the front with accuracy >= baseline accuracy - max_accuracy_drop
#   deploy     = the allowed row with the smallest objective (the earlier row on a tie)
# ```
#
# **Exercise.** Write `pick_deployment(rows, max_accuracy_drop, objective="latency_ms")` with
# the `pareto_front` of module 19 (yours, where you saved it). It returns one of the rows,
# and leaves them as they are.

# %%
def pick_deployment(rows, max_accuracy_drop, objective="latency_ms"):
    """The row to deploy: on the Pareto front of `rows`, at most `max_accuracy_drop` below the
    first row's accuracy, with the smallest `objective`."""
    ### BEGIN SOLUTION
    # HINT: the candidates are the rows on the Pareto front that keep enough accuracy, measured from the baseline (the first row); of those, the best one on the objective
    front = pareto_front(rows, minimize=["latency_ms", "size_bytes"], maximize=["accuracy"])
    floor = rows[0]["accuracy"] - max_accuracy_drop
    allowed = [row for row in front if row["accuracy"] >= floor]
    return min(allowed, key=lambda row: row[objective])
    ### END SOLUTION


# %% tags=["check"]
check_pick_deployment(pick_deployment)

# %% [markdown]
# Two deployments of the same pipeline: an app that reads one digit as it is written (single
# image latency; at most 1 point of accuracy lost) and a microcontroller with little memory
# (bytes; at most 2 points lost).

# %%
pick = yours_or_reference("pick_deployment", pick_deployment, reference_pick_deployment)


def picks(rows, targets):
    """(target, budget, objective, the row the pick deploys) for each target of (name, accuracy
    budget, objective); each pick must respect its budget."""
    for target, budget, objective in targets:
        chosen = pick(rows, budget, objective)
        yield target, budget, objective, chosen
        assert chosen["accuracy"] >= rows[0]["accuracy"] - budget, "the pick must respect the accuracy budget"


for target, budget, objective, chosen in picks(final, (("app, one image at a time", 0.01, "latency_ms"),
                                                       ("microcontroller", 0.02, "size_bytes"))):
    print(f"{target:25s} (accuracy -{budget:.0%} at most, smallest {objective}): deploy '{chosen['stage']}': "
          f"accuracy {chosen['accuracy']:.2%}, {chosen['size_bytes'] / 1024:.1f} KiB, "
          f"{chosen['latency_ms']:.3f} ms per image")

# %% [markdown]
# The pick is only as good as the measurements behind it: the pipeline's rows, on this
# runtime and this test set. The benchmark above measured the same models again with other
# settings; where two variants' latencies lie within each other's noise (compare the
# intervals in the report), the two measurements can rank them differently, and so can the
# pick. On another target (a phone with int8 units, a server with a BLAS) the same rule may
# choose another row: re-measure there before deploying.
#
# ## A second deployment: a text generator
#
# A classifier makes one prediction per input; a language model makes one per generated
# token, each from all the tokens before it. That is where module 17's KV cache belongs, and
# your pipeline, report and pick take it without a change: only the stages and the
# measurement are new.
#
# The model: a small GPT (module 13; 2 blocks of 4 heads, 32 numbers per position) built from
# your parts, like everything here (your embedding, attention, LayerNorm and block, where you
# saved them). It is **untrained**: its weights are random and its tokens meaningless
# (training it for long enough to write words would take longer than this whole notebook in
# the browser). Speed and bytes do not depend on what the weights learned, so for those an
# untrained model measures as well as a trained one; whether quantizing keeps a *trained*
# model's tokens is a question to measure on that model.
#
# A variant is a GPT plus how it generates: greedily (temperature 0, so the same weights always
# give the same tokens), with or without a KV cache. Two stages:
#
# - **cache** (module 17): generate with `use_cache=True`: each layer's keys and values stay
#   in your `KVCache`, so each step computes only the new position. (Where the attention is
#   your module 12's, with separate projections, the step itself is tinytorch's: your
#   `attend_one_token` steps the packed attention of tinytorch's `MultiHeadAttention`.)
# - **quantize** (module 15): `quantize_model` on the GPT: every `Linear` layer (in the
#   attention and the MLPs, and the output layer) becomes an int8 `QuantizedLinear`,
#   calibrated on a batch of token ids. The embeddings stay float32.

# %%
config = GPTConfig(vocab_size=65, block_size=128, n_layer=2, n_head=4, n_embd=32)
tt.manual_seed(0)
gpt = GPT(config).eval()
prompt_ids = tt.randint(0, config.vocab_size, (1, 8), generator=tt.Generator(2))  # (1, 8): a random prompt
new_tokens = 64


@dataclasses.dataclass(frozen=True)
class TextGenerator:
    """A deployment of a GPT: the model, and whether it generates (greedily) with a KV cache."""
    gpt: GPT
    use_cache: bool = False

    def generate(self, ids, n):
        return self.gpt.generate(ids, n, temperature=0, use_cache=self.use_cache)


token_calibration = [tt.randint(0, config.vocab_size, (4, config.block_size), generator=tt.Generator(3))]


def cache_stage(generator):
    return dataclasses.replace(generator, use_cache=True)


def quantize_stage(generator):
    return dataclasses.replace(generator, gpt=quantize_model(generator.gpt, token_calibration))


# %% [markdown]
# `measure_generation` measures what a generator's deployment cares about, under the keys your
# `stage_report` and `pick_deployment` read. `latency_ms` is the time per generated token
# (module 19's `benchmark` of generating `new_tokens` tokens, divided by their number);
# `size_bytes` the bytes the variant holds: its weights, plus, when it keeps a cache, the
# cache for `block_size` positions (your `kv_cache_bytes` of module 17); `accuracy` the share
# of its tokens equal to the baseline's, the only accuracy an untrained model has.

# %%
start = time.perf_counter()
expected_tokens = TextGenerator(gpt).generate(prompt_ids, new_tokens).data[0, prompt_ids.shape[1]:]  # the baseline's


def measure_generation(generator):
    tokens = generator.generate(prompt_ids, new_tokens).data[0, prompt_ids.shape[1]:]
    timing = benchmark(generator.generate, prompt_ids, new_tokens, warmup=0, repeats=3)
    head_dim = config.n_embd // config.n_head
    cache = kv_cache_bytes(config.n_layer, 1, config.n_head, config.block_size, head_dim) if generator.use_cache else 0
    return {"accuracy": float(np.mean(tokens == expected_tokens)),
            "size_bytes": model_size_bytes(generator.gpt) + cache,
            "latency_ms": timing.median * 1e3 / new_tokens, "tokens_per_s": new_tokens / timing.median,
            "tokens": tokens}


generation = report_of(pipeline(TextGenerator(gpt), [("cache", cache_stage), ("quantize int8", quantize_stage)],
                                measure_generation))
print(f"pipeline ran in {time.perf_counter() - start:.1f} s; {new_tokens} tokens generated per measurement")
print(format_table([{
    "stage": r["stage"], "same tokens": f"{r['accuracy']:.0%}", "size KiB": r["size_bytes"] / 1024,
    "ms per token": r["latency_ms"], "tokens/s": r["tokens_per_s"], "step: smaller": f"{r['size_reduction']:.2f}x",
    "step: faster": f"{r['speedup']:.2f}x", "total: faster": f"{r['total_speedup']:.2f}x",
} for r in generation], ["stage", "same tokens", "size KiB", "ms per token", "tokens/s", "step: smaller",
                         "step: faster", "total: faster"]))

# the same two variants generating a single token: with nothing to reuse, what does the cache buy?
plain_gen, cached_gen, int8_gen = generation
short = {r["stage"]: benchmark(r["model"].generate, prompt_ids, 1, warmup=1, repeats=5).median
         for r in (plain_gen, cached_gen)}
print(f"cache speedup: {short['baseline'] / short['cache']:.2f}x for 1 token, {cached_gen['speedup']:.2f}x "
      f"for {new_tokens}")

# the trends the next paragraph describes, on this run
assert np.array_equal(cached_gen["tokens"], plain_gen["tokens"]), "the cache must not change the generated tokens"
assert cached_gen["speedup"] > 1, f"the cache should make generating {new_tokens} tokens faster"
assert cached_gen["speedup"] > short["baseline"] / short["cache"], "the cache should buy more for longer generations"
assert cached_gen["size_bytes"] > plain_gen["size_bytes"], "the cache holds keys and values: more bytes"
assert 1 < int8_gen["size_reduction"] < 4, "int8 weights, float32 embeddings and cache: smaller, by less than 4x"

# %% [markdown]
# Read your table; the pattern to expect:
#
# - **Caching** gives exactly the baseline's tokens (asserted above: the cache changes where
#   the keys and values come from, not what they are) and generates faster, by more for a long
#   generation than for a single token, where there is nothing to reuse: without a cache,
#   each step recomputes every position before it; with one, it computes the new position and
#   reads the rest. It costs memory:
#   the row is *larger* by the cache's bytes, which grow with the context, the layers and the
#   batch (module 17).
# - **Quantizing** shrinks the weights, by less than 4x in all: the embeddings and the cache
#   stay float32, and the output layer, which shared the token embedding's weight, now keeps
#   an int8 copy of its own. Whether it is faster, and whether its tokens stay the same, your
#   row says.
#
# The same pick, on these rows: a chat app that must produce the baseline's tokens (no
# accuracy lost) and wants the fastest generation, and a small device that counts bytes.

# %%
for target, budget, objective, chosen in picks(generation, (("chat app, same tokens", 0.0, "latency_ms"),
                                                            ("small device", 0.05, "size_bytes"))):
    print(f"{target:22s} (at most {budget:.0%} other tokens, smallest {objective}): deploy '{chosen['stage']}': "
          f"{chosen['accuracy']:.0%} same tokens, {chosen['size_bytes'] / 1024:.1f} KiB, "
          f"{chosen['tokens_per_s']:.0f} tokens/s")
assert pick(generation, 0.0, "latency_ms") is not plain_gen, "the cached variant gives the same tokens, faster"

# %% [markdown]
# For the app, some cached variant wins: the cache gives the same tokens, faster. For the
# device, the answer depends on the bytes the cache adds against those quantizing saves, and
# on this model's size and context; a larger model's weights dwarf its cache, a long context
# or a large batch turns that around. Your pick says which on these rows.
#
# ## Your framework
#
# Which components of this run were yours, and where the time inside them went:

# %%
used = tinytorch.mine.report()
assert "CompiledMLP" in used["yours"] + used["tinytorch"], "the compile stage should have used a CompiledMLP"
assert "KVCache" in used["yours"] + used["tinytorch"], "the generator's cache stage should have used a KVCache"

# %% [markdown]
# ## Reflection
#
# 1. Which stage bought the most for a single image, and which for the batch of 360? Explain
#    both from the profile at the start.
# 2. Quantization made the model smaller but (likely) slower here. Name a deployment target
#    for which you would keep it and one for which you would drop it, and what you would
#    measure there to decide.
# 3. Swap the order of pruning and quantization (`stages` is a list: reorder it and re-run
#    the pipeline). What breaks or changes, and why?
# 4. Your report attributes gains to stages by comparing consecutive rows. When is that
#    attribution misleading? (Hint: do the stages' effects add up, or interact?)
# 5. `pick_deployment` chose one variant per target. Which accuracy budget would make it
#    choose the baseline, and which the last stage? Why choose only from the Pareto front:
#    what can go wrong choosing the smallest objective among all rows within the budget?
# 6. The text generator's cache stage bought speed with bytes. Why does what it buys grow with
#    the number of tokens generated? For which deployment of a generator would you leave the
#    cache out?

# %% [markdown] tags=["solution"]
# ## Answers (solution edition only)
#
# 1. Read your "bought" lines. The profile at the start says a single image is mostly
#    per-layer overhead and the batch mostly arithmetic in the first two layers: stages that
#    remove calls and bookkeeping are the ones that can help the single image, while
#    pruning, which removes FLOPs from those layers, usually buys the most for the batch.
# 2. Keep it on a phone or microcontroller with int8 units or tight memory (size and
#    bandwidth are the limit); drop it on a server with fast float matrix products and
#    plenty of memory, where it only costs accuracy. Measure on the target: latency with its
#    int8 kernels, memory, and the accuracy lost.
# 3. Quantizing first replaces the `Linear` layers with `QuantizedLinear`; the pruning
#    stage, which ranks and fine-tunes float weights of `Linear` layers, then has nothing to
#    prune or fails, and int8 weights cannot be fine-tuned, so the accuracy lost cannot be
#    repaired. Run it and read the error or the table.
# 4. When stages interact instead of adding up: quantization's speed depends on how many
#    neurons pruning left, compiling's gain on which layer types exist; the consecutive rows
#    credit the later stage with an effect that depends on the earlier one, and another
#    order would attribute it differently. Also when a step's difference is within the
#    measurement noise.
# 5. A budget of 0 (or below the first stage's accuracy loss) leaves only variants at least
#    as accurate as the baseline: usually the baseline itself. A budget of at least the
#    baseline's accuracy minus the last stage's admits every row, and the last stage wins if
#    it is best on the objective. Read your rows for the exact thresholds. Choosing among all
#    rows breaks ties badly: of two rows with the same latency, the one that is also larger
#    (or less accurate) may come first and be picked; the front removes every row that
#    another beats on every metric, so whatever is picked is not needlessly worse on the
#    metrics the rule does not look at.
# 6. Without a cache, step `t` runs the whole model over all `t` positions of the context, so
#    generating `N` tokens costs work that grows with `N^2`; with it, each step runs the model
#    over the one new position and reads the `t` cached keys and values, work that grows with
#    `N` (the attention's reads aside). Both also pay a fixed cost per step (Python calls,
#    Tensors, sampling), a larger share of a short generation: for a few tokens the ratio is
#    smaller, and it grows with the length, up to `block_size`. Leave the cache out when
#    memory is the limit (its bytes grow with layers, heads, context and batch, and for long
#    contexts or many concurrent sequences exceed the weights: module 17), or when each prompt
#    gets only a token or two (scoring, classification), where there is nothing to reuse.
