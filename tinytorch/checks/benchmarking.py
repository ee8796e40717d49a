"""Checks for module 19 (benchmarking): robust summaries of timings with a bootstrap confidence
interval, and the Pareto front of benchmark rows.

`summarize` must match NumPy's percentiles exactly. Its bootstrap interval is compared with
tinytorch's (`benchmarking.bootstrap_interval`, same seed); a learner who draws the resamples
differently still passes if each end of the interval falls where tinytorch's ends fall over
many seeds (a bootstrap is random; its spread is known). The capstone's (module 20)
`run_pipeline` and `stage_report` are compared with tinytorch.benchmarking's; its
`pick_deployment` must choose from the Pareto front, within a budget measured from the
baseline, on tables where each shortcut picks another row.
"""

import copy

import numpy as np

from ..benchmarking import bootstrap_interval, measurement_of, pareto_front as reference_pareto_front, t_interval
from ..benchmarking import stage_report as reference_stage_report
from ..course import registry
from ..nn import Linear, ReLU, Sequential
from ..tensor import Tensor
from .core import add_hints, assert_close, fail, passed, run_learner

# Progressive hints, one tier at a time (`tinytorch.checks.hint(name)`, or a repeated failure):
# the idea, the shapes, the formula in words. Never the code.
add_hints({
    'summarize': (
        'describe timings robustly: the median and quartiles, and a bootstrap interval for the median',
        'percentiles of the raw timings; the interval comes from many resamples of the same size, drawn with replacement',
        'median and the 25th/75th percentiles; the interval cuts (1 - confidence) / 2 off each tail of the resampled medians',
    ),
    'pareto_front': (
        'keep the options that no other option beats on every objective',
        'a row is dominated if another is at least as good on every key and strictly better on one',
        'for each row, search for a dominating row; keep it when there is none, in the original order',
    ),
    'run_pipeline': (
        'apply the optimization stages one after another, measuring after each',
        "one row for the baseline, then one per stage; each stage receives the previous stage's model",
        'the first row measures the baseline; for each stage in order, the current model becomes that stage applied to it, and its measurement is the next row',
    ),
    'speedup_interval': (
        "how sure is a speedup? Resample both sets of timings many times and see how much the ratio of their medians moves",
        "a has n timings, b has m: each resample draws n from a and m from b, with replacement; resamples of them give resamples ratios",
        "ratio = median(a) / median(b); the interval runs from the (1 - confidence) / 2 quantile of the resampled ratios to the 1 - (1 - confidence) / 2 quantile",
    ),
    'shrink_hidden': (
        "remove whole hidden neurons: a neuron is a row of its layer's weight and a column of the next layer's",
        "a hidden Linear (out, in) keeps round((1 - amount) * out) rows and their biases; the next Linear (out2, out) keeps the same columns",
        "rank the rows by their L2 norm, keep the largest (in their original order), and build new, smaller Linear layers from the kept rows and columns",
    ),
    'pick_deployment': (
        'deploy only a variant that no other beats on every metric; among those, the best one for the target that keeps enough accuracy',
        'rows are dicts with accuracy, size_bytes and latency_ms; the budget is measured from the first row (the baseline); the answer is one of the rows',
        'candidates: the Pareto front (latency and size smaller, accuracy larger) with accuracy at least the baseline accuracy minus the budget; answer: the candidate with the smallest objective, the earlier one on a tie',
    ),
    'stage_report': (
        'compare each stage with the one before it and with the baseline',
        'one report row per pipeline row; the first compares with itself',
        'ratios with the older value on top: size reduction = old size / new size, speedup = old latency / new latency',
    ),
})

exercise_19 = registry.module("19_benchmarking", "Benchmarking")
exercise_20 = registry.module("20_capstone", "Capstone")

_KEYS = ("median", "q1", "q3", "iqr", "ci_low", "ci_high")


def reference_summarize(times, confidence=0.95, resamples=2000, seed=0):
    """{median, q1, q3, iqr, ci_low, ci_high}: quartiles and a bootstrap interval of the median,
    from tinytorch's measurement_of."""
    m = measurement_of(times, confidence, seed=seed, resamples=resamples)
    return {"median": m.median, "q1": m.q1, "q3": m.q3, "iqr": m.iqr, "ci_low": m.ci_low, "ci_high": m.ci_high}


def _timing_cases():
    rng = np.random.default_rng(19)
    skewed = np.round(0.010 + rng.exponential(0.002, 14), 6).tolist() + [0.045]  # one slow call
    return [
        ("15 skewed timings with one slow outlier (a list)", skewed, {}),
        ("200 log-normal timings", np.exp(rng.normal(-6, 0.3, 200)), {}),
        ("200 log-normal timings, confidence=0.9", np.exp(rng.normal(-6, 0.3, 200)), {"confidence": 0.9}),
        ("60 normal timings, confidence=0.99, seed=3", 1e-3 + 1e-5 * rng.standard_normal(60),
         {"confidence": 0.99, "seed": 3}),
        ("two timings", np.array([0.002, 0.003]), {}),
        ("10 identical timings (no spread)", np.full(10, 0.005), {}),
        ("40 timings, resamples=500", np.exp(rng.normal(-4, 0.5, 40)), {"resamples": 500}),
    ]


def _ci_band(values, confidence, resamples, seeds=40):
    """(lows, highs) of tinytorch's bootstrap interval over `seeds` seeds."""
    ends = np.array([bootstrap_interval(values, confidence, resamples=resamples, seed=s) for s in range(seeds)])
    return ends[:, 0], ends[:, 1]


def _ci_hint(values, confidence, low, high):
    mean_low, mean_high = t_interval(values, confidence) if values.size > 1 else (np.nan, np.nan)
    if np.isclose(low, mean_low, rtol=1e-6) and np.isclose(high, mean_high, rtol=1e-6):
        return "that is the t interval of the mean; bootstrap the MEDIAN: resample, take each resample's median"
    tail = (1 - confidence) / 2 * 100
    return (f"resample the timings with replacement `resamples` times (e.g. rng.integers(0, n, size=(resamples, n))), "
            f"take the median of each resample, then the {tail:g}th and {100 - tail:g}th percentiles of those "
            f"medians (the middle `confidence` share)")


@exercise_19("summarize")
def check_summarize(summarize):
    """summarize(times, confidence=0.95, resamples=2000, seed=0) -> dict with median, q1, q3,
    iqr, ci_low, ci_high (seconds)."""
    name = "summarize"
    cases = _timing_cases()
    for case, times, options in cases:
        got = run_learner(name, case, lambda: summarize(times, **options))
        if not isinstance(got, dict) or any(k not in got for k in _KEYS):
            missing = [k for k in _KEYS if not isinstance(got, dict) or k not in got]
            fail(name, case, f"expected a dict with keys {', '.join(_KEYS)}; missing {', '.join(missing)}",
                 "return {'median': ..., 'q1': ..., 'q3': ..., 'iqr': ..., 'ci_low': ..., 'ci_high': ...}")
        values = np.asarray(times, dtype=np.float64)
        expected = reference_summarize(times, **options)
        for key, hint in (("median", "the middle value of the sorted timings (the 50th percentile)"),
                          ("q1", "the first quartile: the 25th percentile"),
                          ("q3", "the third quartile: the 75th percentile"),
                          ("iqr", "the interquartile range q3 - q1")):
            value = float(got[key])
            if not np.isclose(value, expected[key], rtol=1e-9, atol=1e-15):
                if key == "median" and np.isclose(value, values.mean()):
                    hint = "that is the mean; the median is the middle value, robust to the slow outlier"
                fail(name, case, f"{key}: expected {expected[key]:.6g}, got {value:.6g}", hint)
        low, high = float(got["ci_low"]), float(got["ci_high"])
        if not low <= high:
            fail(name, case, f"ci_low {low:.6g} is above ci_high {high:.6g}", "ci_low is the lower end")
        if np.isclose(low, expected["ci_low"], rtol=1e-9, atol=1e-15) and \
                np.isclose(high, expected["ci_high"], rtol=1e-9, atol=1e-15):
            continue
        confidence = options.get("confidence", 0.95)
        lows, highs = _ci_band(values, confidence, options.get("resamples", 2000))
        slack = 1e-9 + 0.002 * float(np.ptp(values))
        inside = (lows.min() - slack <= low <= lows.max() + slack) and (highs.min() - slack <= high <= highs.max() + slack)
        if not inside:
            fail(name, case, f"{confidence:.0%} interval of the median: expected about [{expected['ci_low']:.6g}, "
                             f"{expected['ci_high']:.6g}] (ends between [{lows.min():.6g}, {lows.max():.6g}] and "
                             f"[{highs.min():.6g}, {highs.max():.6g}] across seeds), got [{low:.6g}, {high:.6g}]",
                 _ci_hint(values, confidence, low, high))
    passed(name, len(cases), [case for case, *_ in cases])


# ---------------------------------------------------------------------- is B faster than A?


def reference_speedup_interval(a, b, confidence=0.95, resamples=2000, seed=0):
    """median(a) / median(b) and its bootstrap interval, as (ratio, low, high) (> 1: b is faster)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    rng = np.random.default_rng(seed)
    ratios = (np.median(a[rng.integers(0, a.size, (resamples, a.size))], axis=1)
              / np.median(b[rng.integers(0, b.size, (resamples, b.size))], axis=1))  # (resamples,)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return float(np.median(a) / np.median(b)), float(low), float(high)


def _interval_ends(a, b, confidence, seeds=range(8)):
    """tinytorch's interval ends over several seeds: (mean low, mean high, the spread across seeds)."""
    ends = np.array([reference_speedup_interval(a, b, confidence, 4000, seed)[1:] for seed in seeds])
    return ends[:, 0].mean(), ends[:, 1].mean(), ends.std(axis=0).max()


@exercise_19("speedup_interval")
def check_speedup_interval(speedup_interval):
    """speedup_interval(a, b, confidence, resamples, seed) -> (median(a) / median(b), low, high):
    the ratio of medians and the percentiles of bootstrapped ratios of medians."""
    name = "speedup_interval"
    rng = np.random.default_rng(191)
    slow, fast = np.exp(rng.normal(-5.0, 0.3, 60)), np.exp(rng.normal(-5.5, 0.3, 45))
    same = np.exp(rng.normal(-5.0, 0.3, 50))
    cases = [("B clearly faster (60 and 45 timings), 95 %", slow, fast, 0.95),
             ("B clearly faster, 80 %", slow, fast, 0.8),
             ("the same distribution (40 and 50 timings), 95 %", slow[:40], same, 0.95),
             ("B clearly faster, 50 %", slow, fast, 0.5)]
    for case, a, b, confidence in cases:
        snapshot = (a.copy(), b.copy())
        got = run_learner(name, case, speedup_interval, a, b, confidence, 4000, 0)
        if not np.array_equal(a, snapshot[0]) or not np.array_equal(b, snapshot[1]):
            fail(name, case, "the timings were modified", "resample into new arrays; never sort or shuffle the inputs in place")
        if not isinstance(got, tuple) or len(got) != 3:
            fail(name, case, f"expected a tuple (ratio, low, high), got {got!r:.80}", "return ratio, low, high")
        ratio, low, high = (float(v) for v in got)
        want = np.median(a) / np.median(b)
        if not np.isclose(ratio, want, rtol=1e-9):
            hint = ("median(a) / median(b): a ratio above 1 means B is faster" if np.isclose(ratio, 1 / want, rtol=1e-9)
                    else "the ratio of the MEDIANS: the mean is pulled by the slow tail" if np.isclose(
                        ratio, a.mean() / b.mean(), rtol=1e-9) else "median(a) / median(b)")
            fail(name, case, f"expected the ratio {want:.6g}, got {ratio:.6g}", hint)
        if not low <= ratio <= high or low == high:
            fail(name, case, f"the interval [{low:.4g}, {high:.4g}] should have a width and contain the ratio {ratio:.4g}",
                 "resample WITH replacement (a permutation has the same median every time)")
        want_low, want_high, spread = _interval_ends(a, b, confidence)
        tolerance = 0.1 * (want_high - want_low) + 3 * spread
        if abs(low - want_low) > tolerance or abs(high - want_high) > tolerance:
            fail(name, case, f"expected an interval near [{want_low:.4g}, {want_high:.4g}], got [{low:.4g}, {high:.4g}]",
                 "resample a and b independently, each to its own size; the ends are the (1 - confidence) / 2 "
                 "and 1 - (1 - confidence) / 2 quantiles of the resampled ratios")
    passed(name, len(cases), [case for case, *_ in cases])


# ---------------------------------------------------------------------- Pareto front


def _row(name, latency, size, accuracy):
    return {"name": name, "latency_ms": latency, "size_bytes": size, "accuracy": accuracy}


def _pareto_cases():
    models = [
        _row("big float32", 2.0, 400_000, 0.98),
        _row("big int8", 3.0, 100_000, 0.98),
        _row("small float32", 0.5, 40_000, 0.95),
        _row("small int8", 0.8, 10_000, 0.94),
        _row("pruned big (same size, same speed, worse)", 2.0, 400_000, 0.97),
        _row("slow and large", 5.0, 500_000, 0.90),
    ]
    both = dict(minimize=["latency_ms", "size_bytes"], maximize=["accuracy"])
    twins = [_row("a", 1.0, 10, 0.9), _row("b", 1.0, 10, 0.9), _row("c", 2.0, 10, 0.9)]
    return [
        ("six model variants: minimize latency and size, maximize accuracy", models, both),
        ("latency and accuracy only", models, dict(minimize=["latency_ms"], maximize=["accuracy"])),
        ("minimize latency only: ties for the best are all kept", models + [_row("tied", 0.5, 9e9, 0.1)],
         dict(minimize=["latency_ms"])),
        ("maximize accuracy only", models, dict(maximize=["accuracy"])),
        ("identical rows do not dominate each other", twins, both),
        ("a single row", models[:1], both),
        ("no rows", [], both),
    ]


def _pareto_hint(rows, options, got_names, expected_names):
    minimize, maximize = list(options.get("minimize", ())), list(options.get("maximize", ()))
    def names(front):
        return [r["name"] for r in front]
    if sorted(got_names) == sorted(expected_names):
        return "keep the rows in their input order"
    if names(reference_pareto_front(rows, minimize=minimize + maximize)) == got_names:
        return "objectives in maximize= are better when LARGER: negate them (or flip the comparison)"
    strict = [r for r in rows if not any(all(q[k] < r[k] for k in minimize) and all(q[k] > r[k] for k in maximize)
                                             for q in rows if q is not r)]
    if names(strict) == got_names:
        return ("a row is dominated by one that is at least as good on EVERY objective and strictly better on at "
                "least one; it need not be strictly better on all of them")
    if len(got_names) < len(expected_names) and set(got_names) <= set(expected_names):
        return ("a row equal to another on every objective is not dominated by it (dominating needs one strictly "
                "better objective): keep both")
    return "keep each row that no other row dominates (at least as good everywhere, strictly better somewhere)"


@exercise_19("pareto_front", seam="pareto_front")
def check_pareto_front(pareto_front):
    """pareto_front(rows, minimize=(), maximize=()) -> the rows no other row dominates, in input order."""
    name = "pareto_front"
    cases = _pareto_cases()
    for case, rows, options in cases:
        snapshot = [dict(r) for r in rows]
        got = run_learner(name, case, lambda: pareto_front(rows, **options))
        if rows != snapshot:
            fail(name, case, "the input rows were modified", "build a new list; leave the rows as they are")
        if not isinstance(got, list) or not all(isinstance(r, dict) for r in got):
            fail(name, case, f"expected a list of the row dicts, got {type(got).__name__}", "return [row for row in rows if ...]")
        expected = reference_pareto_front(rows, **options)
        got_names, expected_names = [r.get("name") for r in got], [r["name"] for r in expected]
        if got_names != expected_names:
            fail(name, case, f"expected {expected_names}, got {got_names}",
                 _pareto_hint(rows, options, got_names, expected_names))
    passed(name, len(cases), [case for case, *_ in cases])


# ---------------------------------------------------------------------- capstone: the prune stage


def reference_shrink_hidden(model, amount=0.5):
    """A smaller copy of an MLP (Sequential of Linear and ReLU): each hidden layer keeps its
    round((1 - amount) * width) neurons of largest incoming-row L2 norm, in their original order,
    and the next Linear keeps the matching input columns. `model` is left untouched."""
    layers = [copy.deepcopy(layer) for layer in model]
    linears = [i for i, layer in enumerate(layers) if isinstance(layer, Linear)]
    for i, j in zip(linears[:-1], linears[1:]):  # layer i's outputs are layer j's inputs
        weight = layers[i].weight.data  # (out, in)
        keep = np.sort(np.argsort(-np.linalg.norm(weight, axis=1), kind="stable")[:round(len(weight) * (1 - amount))])
        layers[i] = _linear(weight[keep], layers[i].bias.data[keep])
        layers[j] = _linear(layers[j].weight.data[:, keep], layers[j].bias.data)
    return Sequential(*layers)


def _linear(weight, bias):
    layer = Linear(weight.shape[1], weight.shape[0])
    layer.weight.data, layer.bias.data = weight.copy(), bias.copy()
    return layer


def _mlp(widths, seed, amount):
    """Sequential(Linear, ReLU, ..., Linear) with seeded weights. The first hidden layer's rows
    have distinct L2 norms, and at the cut the last row kept is sparse (one large weight) and the
    first row dropped dense (many small ones): ranked by L1 instead of L2, the two swap."""
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        weight = rng.standard_normal((n_out, n_in))
        norms = rng.permutation(np.linspace(2.0, 1.0, n_out))  # distinct, in random row order
        weight *= (norms / np.linalg.norm(weight, axis=1))[:, None]
        layers += [_linear(weight.astype(np.float32), rng.standard_normal(n_out).astype(np.float32)), ReLU()]
    first = layers[0].weight.data
    keep = round(len(first) * (1 - amount))
    if 0 < keep < len(first):
        order = np.argsort(-np.linalg.norm(first, axis=1))
        last_kept, first_dropped = order[keep - 1], order[keep]
        cut = (np.linalg.norm(first[last_kept]) + np.linalg.norm(first[first_dropped])) / 2
        first[last_kept] = 0.0
        first[last_kept, 0] = cut * 1.01  # L1 = L2 = just above the cut
        first[first_dropped] = cut * 0.99 / np.sqrt(first.shape[1])  # L2 just below, L1 far above
    return Sequential(*layers[:-1])


def _weights(model):
    return [p.data.copy() for p in model.parameters()]


@exercise_20("shrink_hidden")
def check_shrink_hidden(shrink_hidden):
    """shrink_hidden(model, amount) -> a smaller copy of an MLP without the hidden neurons of
    smallest incoming-row L2 norm (the next layer loses the matching input columns)."""
    name = "shrink_hidden"
    cases = [("64 -> 10 -> 8 -> 3, amount 0.5", (64, 10, 8, 3), 0.5),
             ("6 -> 10 -> 3, amount 0.25 (7.5 neurons round to 8)", (6, 10, 3), 0.25),
             ("5 -> 4 -> 2, amount 0: nothing removed", (5, 4, 2), 0.0)]
    x = Tensor(np.random.default_rng(20).standard_normal((7, 64)).astype(np.float32))
    for seed, (case, widths, amount) in enumerate(cases):
        model = _mlp(widths, seed, amount)
        before = _weights(model)
        got = run_learner(name, case, shrink_hidden, model, amount)
        if any(not np.array_equal(a, b) for a, b in zip(before, _weights(model))):
            fail(name, case, "the input model was modified", "build new layers (or deep copies): the stage must leave its input untouched")
        expected = reference_shrink_hidden(model, amount)
        got_linears = [layer for layer in getattr(got, "_modules", {}).values() if isinstance(layer, Linear)]
        want_linears = [layer for layer in expected if isinstance(layer, Linear)]
        got_shapes = [tuple(layer.weight.shape) for layer in got_linears]
        want_shapes = [tuple(layer.weight.shape) for layer in want_linears]
        if got_shapes != want_shapes:
            fail(name, case, f"expected Linear weights of shapes {want_shapes}, got {got_shapes}",
                 "each hidden layer keeps round((1 - amount) * width) neurons (rows), and the next layer the "
                 "same number of input columns")
        for k, (mine, want) in enumerate(zip(got_linears[:-1], want_linears[:-1])):
            rows = {tuple(r) for r in np.round(mine.weight.data, 6)}
            if rows != {tuple(r) for r in np.round(want.weight.data, 6)}:
                original = [layer for layer in model if isinstance(layer, Linear)][k].weight.data
                norms = np.linalg.norm(original, axis=1)
                fail(name, f"{case}, hidden layer {k + 1}", "it keeps other neurons than the largest L2 norms of "
                     f"their incoming rows (norms {np.round(np.sort(norms.astype(float))[::-1], 2).tolist()})",
                     "rank the rows of the weight (out, in) by their L2 norm and keep the largest")
        inputs = Tensor(x.data[:, :widths[0]])
        out = run_learner(name, f"{case}, the smaller model's forward", got, inputs)
        assert_close(name, f"{case}, outputs of the smaller model", out, expected(inputs),
                     "keep each hidden neuron's bias with it, and cut the next layer's input columns with the same "
                     "indices", atol=1e-5, rtol=1e-4)
    passed(name, len(cases), [case for case, *_ in cases])


# ---------------------------------------------------------------------- the capstone pipeline (module 20)


class _FakeModel:
    """A stand-in model: remembers which stages made it, has a size and an accuracy."""

    def __init__(self, history, size, accuracy, latency):
        self.history, self.size, self.accuracy, self.latency = tuple(history), size, accuracy, latency

    def __repr__(self):
        return "model after " + (" -> ".join(self.history) or "nothing")


def _fake_stage(name, size_factor, accuracy_change, latency_factor, calls):
    def stage(model):
        calls.append((name, model))
        return _FakeModel(model.history + (name,), model.size * size_factor, model.accuracy + accuracy_change,
                          model.latency * latency_factor)
    return stage


@exercise_20("run_pipeline", tinytorch="tinytorch.benchmarking:run_pipeline")
def check_run_pipeline(run_pipeline):
    """run_pipeline(model, stages, measure) -> one row per model: the input ('baseline') and the
    output of each stage, each stage applied to the previous stage's output."""
    name = "run_pipeline"
    cases = []
    for case, names in [("three stages", ["prune", "quantize", "compile"]), ("one stage", ["quantize"]),
                        ("no stages: just the baseline", [])]:
        calls, measured = [], []
        factors = {"prune": (0.3, -0.01, 0.5), "quantize": (0.25, -0.002, 1.5), "compile": (1.0, 0.0, 0.4)}
        stages = [(n, _fake_stage(n, *factors[n], calls)) for n in names]
        base = _FakeModel((), 1000.0, 0.95, 2.0)

        def measure(model):
            measured.append(model)
            return {"accuracy": model.accuracy, "size_bytes": model.size, "latency_ms": model.latency}

        rows = run_learner(name, case, run_pipeline, base, stages, measure)
        if not isinstance(rows, list) or len(rows) != len(names) + 1:
            fail(name, case, f"expected a list of {len(names) + 1} rows (the baseline and one per stage), got "
                             f"{len(rows) if isinstance(rows, list) else type(rows).__name__}",
                 "one row for the input model, then one after each stage")
        if [n for n, _ in calls] != names:
            fail(name, case, f"stages ran in the order {[n for n, _ in calls]}, expected {names}",
                 "apply each stage once, in the order given")
        for i, (stage_name, received) in enumerate(calls):
            want = names[:i]
            if received.history != tuple(want):
                fail(name, case, f"stage {stage_name!r} received the {received!r}, expected the model after "
                                 f"{' -> '.join(want) or 'nothing (the input model)'}",
                     "stages are cumulative: each one gets the model the previous stage returned")
        for i, row in enumerate(rows):
            want_stage = "baseline" if i == 0 else names[i - 1]
            if not isinstance(row, dict) or row.get("stage") != want_stage:
                fail(name, case, f"row {i} should have stage {want_stage!r}, got "
                                 f"{row.get('stage') if isinstance(row, dict) else row!r}",
                     "rows are dicts: {'stage': name, 'model': model, **measure(model)}, the first named 'baseline'")
            model = row.get("model")
            if not isinstance(model, _FakeModel) or model.history != tuple(names[:i]):
                fail(name, case, f"row {i} ({want_stage}) holds {model!r}, expected the model after "
                                 f"{' -> '.join(names[:i]) or 'nothing (the input model)'}",
                     "keep each row's model: the one that was measured for it")
            for key in ("accuracy", "size_bytes", "latency_ms"):
                if row.get(key) != getattr(model, {"accuracy": "accuracy", "size_bytes": "size",
                                                   "latency_ms": "latency"}[key]):
                    fail(name, case, f"row {i} ({want_stage}): {key} is {row.get(key)!r}, not the measurement of "
                                     f"its own model", "measure each model after its stage: {**measure(model)}")
        if len(measured) != len(names) + 1:
            fail(name, case, f"measure was called {len(measured)} times, expected {len(names) + 1}",
                 "measure every model once: the input and each stage's output")
        cases.append(case)
    passed(name, len(cases), cases)


_GAINS = ("accuracy_change", "size_reduction", "speedup", "total_accuracy_change", "total_size_reduction",
          "total_speedup")


def _stage_rows():
    model = object()
    return [
        {"stage": "baseline", "model": model, "accuracy": 0.9611, "size_bytes": 203_304, "latency_ms": 0.080},
        {"stage": "prune", "model": model, "accuracy": 0.9556, "size_bytes": 52_264, "latency_ms": 0.050},
        {"stage": "quantize", "model": model, "accuracy": 0.9583, "size_bytes": 14_120, "latency_ms": 0.140},
        {"stage": "compile", "model": model, "accuracy": 0.9583, "size_bytes": 14_120, "latency_ms": 0.035},
    ]


def _gain_hint(key, rows, i, got):
    previous, first = rows[max(i - 1, 0)], rows[0]
    ratio_keys = {"size_reduction": "size_bytes", "speedup": "latency_ms",
                  "total_size_reduction": "size_bytes", "total_speedup": "latency_ms"}
    if key in ratio_keys:
        base = first if key.startswith("total") else previous
        metric = ratio_keys[key]
        if np.isclose(got, rows[i][metric] / base[metric]):
            return f"the ratio is the other way round: {'first' if key.startswith('total') else 'previous'} / this row, so > 1 means better"
        if not key.startswith("total") and np.isclose(got, first[metric] / rows[i][metric]):
            return "compare with the PREVIOUS row here (the total_ columns compare with the first row)"
        return f"{'first' if key.startswith('total') else 'previous'} row's {metric} / this row's {metric}"
    if not key.startswith("total") and np.isclose(got, rows[i]["accuracy"] - first["accuracy"]):
        return "compare with the PREVIOUS row here (the total_ columns compare with the first row)"
    return "this row's accuracy minus the previous row's (the first row's for total_accuracy_change); 0 for the first row"


@exercise_20("stage_report", tinytorch="tinytorch.benchmarking:stage_report")
def check_stage_report(stage_report):
    """stage_report(rows) -> new rows with accuracy_change, size_reduction, speedup (vs the previous
    row) and total_accuracy_change, total_size_reduction, total_speedup (vs the first row)."""
    name = "stage_report"
    full = _stage_rows()
    cases = [("baseline and three stages (quantize is slower)", full), ("two rows", full[:2]),
             ("only the baseline", full[:1])]
    for case, rows in cases:
        snapshot = [dict(r) for r in rows]
        got = run_learner(name, case, stage_report, rows)
        if any(a != b for a, b in zip(rows, snapshot)):
            fail(name, case, "the input rows were modified", "build new dicts: {**row, 'speedup': ...}")
        if not isinstance(got, list) or len(got) != len(rows):
            fail(name, case, f"expected a list of {len(rows)} rows, got "
                             f"{len(got) if isinstance(got, list) else type(got).__name__}", "one output row per input row")
        expected = reference_stage_report(rows)
        for i, (g, e) in enumerate(zip(got, expected)):
            label = f"{case}, row {i} ({rows[i]['stage']})"
            if not isinstance(g, dict):
                fail(name, label, f"expected a dict, got {type(g).__name__}")
            for key in rows[i]:
                if key not in g or (g[key] is not rows[i][key] if key == "model" else g[key] != rows[i][key]):
                    fail(name, label, f"the row's own {key!r} is missing or changed",
                         "keep every key of the input row ({**row, ...}), the model included")
            for key in _GAINS:
                if key not in g:
                    fail(name, label, f"no {key!r}", f"add {', '.join(_GAINS)}")
                value = float(g[key])
                if not np.isclose(value, e[key], rtol=1e-9, atol=1e-12):
                    fail(name, label, f"{key}: expected {e[key]:.6g}, got {value:.6g}", _gain_hint(key, rows, i, value))
    passed(name, len(cases), [case for case, _ in cases])


# ---------------------------------------------------------------------- capstone: the pick


def reference_pick_deployment(rows, max_accuracy_drop, objective="latency_ms"):
    """The row to deploy: on the Pareto front of `rows` (latency_ms and size_bytes smaller,
    accuracy larger), at most `max_accuracy_drop` below the first row's accuracy, with the
    smallest `objective` (the earlier row on a tie)."""
    front = reference_pareto_front(rows, minimize=["latency_ms", "size_bytes"], maximize=["accuracy"])
    floor = rows[0]["accuracy"] - max_accuracy_drop
    return min((row for row in front if row["accuracy"] >= floor), key=lambda row: row[objective])


def _stage(stage, accuracy, size, latency):
    return {"stage": stage, "accuracy": accuracy, "size_bytes": size, "latency_ms": latency}


def _pick_cases():
    # Accuracies are multiples of 1/32, so budgets compare exactly.
    pipeline = [_stage("baseline", 31 / 32, 200_000, 0.10), _stage("prune", 30 / 32, 60_000, 0.06),
                _stage("quantize", 30 / 32, 16_000, 0.12), _stage("compile", 30 / 32, 16_000, 0.04),
                _stage("distill", 28 / 32, 8_000, 0.02)]
    improved = [_stage("baseline", 29 / 32, 100, 1.0), _stage("fine-tuned", 31 / 32, 100, 1.0),
                _stage("small", 28 / 32, 50, 0.5)]
    tradeoff = [_stage("baseline", 31 / 32, 200_000, 0.10), _stage("pruned", 30 / 32, 60_000, 0.03),
                _stage("int8", 30 / 32, 16_000, 0.12)]
    tie = [_stage("baseline", 31 / 32, 200_000, 0.10), _stage("prune", 31 / 32, 60_000, 0.05),
           _stage("quantize", 31 / 32, 16_000, 0.05)]
    return [
        ("five stages, a generous budget (1/8)", pipeline, 1 / 8, "latency_ms"),
        ("five stages, budget exactly one stage's loss (1/32): the budget includes its bound", pipeline, 1 / 32, "latency_ms"),
        ("five stages, budget 0: only variants as accurate as the baseline", pipeline, 0.0, "latency_ms"),
        ("a later stage is more accurate than the baseline: the budget counts from the first row", improved, 1 / 16,
         "latency_ms"),
        ("smallest size_bytes, not the fastest", tradeoff, 1 / 32, "size_bytes"),
        ("fastest, where the size_bytes winner is slow", tradeoff, 1 / 32, "latency_ms"),
        ("two rows tie on latency: the larger one is not on the Pareto front", tie, 0.0, "latency_ms"),
    ]


def _pick_hint(rows, budget, objective, got, expected):
    floor = rows[0]["accuracy"] - budget
    if got["accuracy"] < floor:
        return f"the accuracy budget: keep rows with accuracy >= {floor:g} (the first row's accuracy minus the budget)"
    best = max(row["accuracy"] for row in rows)
    if got["accuracy"] >= best - budget > floor:
        return "the budget counts from the first row (the baseline), not from the most accurate row"
    front = reference_pareto_front(rows, minimize=["latency_ms", "size_bytes"], maximize=["accuracy"])
    if not any(row is got for row in front):
        return f"{got['stage']!r} is not on the Pareto front: another row is at least as good on every metric"
    if expected["accuracy"] == floor < got["accuracy"]:
        return "a row exactly at the budget's bound is allowed (>=)"
    return f"among the allowed rows, the SMALLEST {objective}"


@exercise_20("pick_deployment")
def check_pick_deployment(pick_deployment):
    """pick_deployment(rows, max_accuracy_drop, objective='latency_ms') -> the row of the
    Pareto front within the accuracy budget (from the first row) with the smallest objective."""
    name = "pick_deployment"
    cases = _pick_cases()
    for case, rows, budget, objective in cases:
        snapshot = [dict(row) for row in rows]
        got = run_learner(name, case, pick_deployment, rows, budget, objective)
        if rows != snapshot:
            fail(name, case, "the input rows were modified", "choose a row; leave the rows and their order as they are")
        if not any(got is row for row in rows):
            fail(name, case, f"expected one of the rows (a dict), got {got!r:.80}", "return the chosen row itself")
        expected = reference_pick_deployment(rows, budget, objective)
        if got is not expected:
            fail(name, case, f"expected the row {expected['stage']!r}, got {got['stage']!r}",
                 _pick_hint(rows, budget, objective, got, expected))
    passed(name, len(cases), [case for case, *_ in cases])
