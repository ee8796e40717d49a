"""Benchmarking: confidence intervals, the harness, comparisons, Pareto fronts and the report."""

import json

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn
from tinytorch.benchmarking import (
    SCENARIOS, benchmark, bootstrap_interval, compare, confidence_interval, measurement_of, pareto_front,
    run_pipeline, run_report, stage_report, t_interval, t_quantile,
)

# Student's t quantiles (two-sided 95% and 99%) from standard tables
T_TABLE = {(0.975, 1): 12.7062047, (0.975, 2): 4.30265273, (0.975, 5): 2.57058184, (0.975, 29): 2.04522964,
           (0.995, 3): 5.84090931, (0.995, 10): 3.16927267, (0.975, 120): 1.97993040}


@pytest.mark.parametrize("p, df", sorted(T_TABLE))
def test_t_quantile_matches_the_tables(p, df):
    assert t_quantile(p, df) == pytest.approx(T_TABLE[(p, df)], rel=1e-7)


def test_t_quantile_matches_scipy_widely():
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 3, 4, 7, 8, 50, 51, 500):
        for p in (0.5, 0.8, 0.95, 0.999):
            assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("method", ["bootstrap", "t"])
def test_interval_of_a_constant_is_that_constant(method):
    low, high = confidence_interval([0.25] * 12, method=method)
    assert low == pytest.approx(0.25) and high == pytest.approx(0.25)


def test_benchmark_of_a_constant_function():
    """Timings of a trivial call still vary; the interval must bracket the median, narrowly."""
    result = benchmark(lambda: 42, warmup=1, repeats=25)
    assert len(result.samples) == 25
    assert result.ci_low <= result.median <= result.ci_high
    assert result.q1 <= result.median <= result.q3 and result.iqr == pytest.approx(result.q3 - result.q1)
    assert min(result.samples) <= result.ci_low and result.ci_high <= max(result.samples)
    assert "CI of the median" in str(result) and result.to_dict()["repeats"] == 25


def test_t_interval_formula_and_coverage():
    rng = np.random.default_rng(0)
    x = rng.normal(10.0, 2.0, size=20)
    low, high = t_interval(x)
    half = t_quantile(0.975, 19) * x.std(ddof=1) / np.sqrt(20)
    assert (low, high) == pytest.approx((x.mean() - half, x.mean() + half))
    # about 95% of intervals from repeated experiments contain the true mean
    hits = sum(lo <= 10.0 <= hi for lo, hi in (t_interval(rng.normal(10.0, 2.0, 10)) for _ in range(400)))
    assert 0.9 < hits / 400 < 0.99


def test_bootstrap_interval_is_reproducible_and_widens_with_confidence():
    x = np.random.default_rng(1).exponential(1.0, size=40)
    assert bootstrap_interval(x, seed=3) == bootstrap_interval(x, seed=3)
    narrow, wide = bootstrap_interval(x, 0.5), bootstrap_interval(x, 0.99)
    assert wide[0] <= narrow[0] <= np.median(x) <= narrow[1] <= wide[1]
    low, high = bootstrap_interval(x, statistic=np.mean)
    assert low < x.mean() < high


def test_measurement_from_given_samples():
    m = measurement_of([1.0, 2.0, 3.0, 4.0, 100.0], method="t")
    assert m.median == 3.0 and m.q1 == 2.0 and m.q3 == 4.0 and m.iqr == 2.0
    assert m.method == "t" and "CI of the mean" in str(m)


def test_measurement_takes_the_number_of_bootstrap_resamples():
    x = np.random.default_rng(2).exponential(1.0, size=30)
    few = measurement_of(x, 0.9, seed=4, resamples=25)
    assert (few.ci_low, few.ci_high) == bootstrap_interval(x, 0.9, resamples=25, seed=4)
    default = measurement_of(x, 0.9, seed=4)  # 2000 resamples
    assert (default.ci_low, default.ci_high) == bootstrap_interval(x, 0.9, seed=4) != (few.ci_low, few.ci_high)
    assert confidence_interval(x, 0.9, seed=4, resamples=25) == (few.ci_low, few.ci_high)
    with pytest.raises(ValueError, match="bootstrap_interval: resamples must be an int >= 1, got 0"):
        measurement_of(x, resamples=0)


def test_statistics_errors():
    with pytest.raises(ValueError, match="t_interval: need a 1-D sequence of at least 2 samples"):
        t_interval([1.0])
    with pytest.raises(ValueError, match="bootstrap_interval: samples contain NaN or Inf"):
        bootstrap_interval([1.0, np.nan])
    with pytest.raises(ValueError, match=r"t_interval: confidence must be in \(0, 1\), got 95"):
        t_interval([1.0, 2.0], confidence=95)
    with pytest.raises(ValueError, match="confidence_interval: method must be 'bootstrap' or 't'"):
        confidence_interval([1.0, 2.0], method="normal")
    with pytest.raises(ValueError, match="t_quantile: df must be an int >= 1"):
        t_quantile(0.975, 0)
    with pytest.raises(ValueError, match="benchmark: repeats must be >= 2"):
        benchmark(lambda: None, repeats=1)


ROWS = [
    {"name": "float32", "accuracy": 0.97, "latency_ms": 1.0, "size_bytes": 4000},
    {"name": "int8", "accuracy": 0.96, "latency_ms": 1.5, "size_bytes": 1000},
    {"name": "pruned", "accuracy": 0.95, "latency_ms": 1.0, "size_bytes": 4000},  # dominated by float32
    {"name": "tiny", "accuracy": 0.80, "latency_ms": 0.5, "size_bytes": 500},
    {"name": "slow big", "accuracy": 0.97, "latency_ms": 2.0, "size_bytes": 8000},  # dominated by float32
    {"name": "float32 copy", "accuracy": 0.97, "latency_ms": 1.0, "size_bytes": 4000},  # ties do not dominate
]


def test_pareto_front_on_a_hand_made_table():
    front = pareto_front(ROWS, minimize=["latency_ms", "size_bytes"], maximize=["accuracy"])
    assert [r["name"] for r in front] == ["float32", "int8", "tiny", "float32 copy"]
    by_accuracy = pareto_front(ROWS, maximize=["accuracy"])
    assert [r["name"] for r in by_accuracy] == ["float32", "slow big", "float32 copy"]
    assert [r["name"] for r in pareto_front(ROWS, minimize=["size_bytes"])] == ["tiny"]


def test_pareto_front_errors():
    with pytest.raises(ValueError, match="pareto_front: give at least one objective"):
        pareto_front(ROWS)
    with pytest.raises(KeyError, match="pareto_front: row 'float32' has no 'energy'"):
        pareto_front(ROWS, minimize=["energy"])


def variants():
    tt.manual_seed(0)
    big = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 4))
    small = nn.Sequential(nn.Linear(16, 4))
    return {"big": (big, lambda model: 0.9), "small": (small, lambda model: 0.7)}


def test_compare_rows():
    rows = compare(variants(), tt.randn(8, 16), repeats=3)
    assert [r["name"] for r in rows] == ["big", "small"]
    big, small = rows
    assert big["accuracy"] == 0.9 and big["size_bytes"] == 4 * (16 * 64 + 64 + 64 * 4 + 4)
    assert small["size_bytes"] == 4 * (16 * 4 + 4)
    for row in rows:
        low, high = row["latency_ci_ms"]
        assert low <= row["latency_ms"] <= high and row["latency_iqr_ms"] >= 0


def test_compare_errors():
    with pytest.raises(ValueError, match="compare: variants must be a non-empty dict"):
        compare({}, tt.randn(2, 16))
    with pytest.raises(TypeError, match="compare: variant 'x' must be a \\(model, eval_fn\\) pair"):
        compare({"x": nn.Linear(16, 2)}, tt.randn(2, 16))
    with pytest.raises(TypeError, match="inference_latency: example_input must be a Tensor"):
        compare(variants(), np.zeros((2, 16)))


def test_report_contains_every_variant_and_is_reproducible_json():
    report = run_report(variants(), tt.randn(8, 16), seed=7, warmup=1, repeats=3)
    text = str(report)
    for word in ("big", "small", "platform: ", "NumPy", "seed: 7", "single_stream_ms", "Pareto"):
        assert word in text
    data = json.loads(report.to_json())
    assert data["seed"] == 7 and data["settings"]["batch"] == 8 and data["platform"] == report.platform
    assert [r["name"] for r in data["results"]] == ["big", "small"]
    assert set(data["scenarios"]) == set(SCENARIOS)
    # every variant has an event for every scenario
    assert {(e["variant"], e["scenario"]) for e in data["events"]} == {
        (v, s) for v in ("big", "small") for s in SCENARIOS}
    sizes = {e["variant"]: e["value"] for e in data["events"] if e["metric"] == "size"}
    assert sizes["small"] < sizes["big"]
    assert "small" in data["pareto"]  # smallest, so nothing dominates it


def test_report_errors():
    with pytest.raises(ValueError, match="run_report: example_input must be a batched Tensor"):
        run_report(variants(), tt.tensor(1.0))
    with pytest.raises(ValueError, match="run_report: variants must be a non-empty dict"):
        run_report({}, tt.randn(2, 16))


class Stamped:
    """A stand-in model: the names of the stages that made it."""

    def __init__(self, history=()):
        self.history = tuple(history)


def test_run_pipeline_applies_the_stages_in_turn_and_measures_every_model():
    measured = []

    def measure(model):
        measured.append(model)
        return {"size_bytes": 100 / (1 + len(model.history)), "stages": len(model.history)}

    stages = [(name, lambda m, name=name: Stamped(m.history + (name,))) for name in ("prune", "quantize")]
    base = Stamped()
    rows = run_pipeline(base, stages, measure)
    assert [row["stage"] for row in rows] == ["baseline", "prune", "quantize"]
    assert rows[0]["model"] is base
    assert [row["model"].history for row in rows] == [(), ("prune",), ("prune", "quantize")]  # cumulative
    assert [row["model"] for row in rows] == measured  # each model measured once, in order
    assert [(row["size_bytes"], row["stages"]) for row in rows] == [(100.0, 0), (50.0, 1), (100 / 3, 2)]
    assert run_pipeline(base, [], measure) == [{"stage": "baseline", "model": base, "size_bytes": 100.0, "stages": 0}]


STAGES = [
    {"stage": "baseline", "accuracy": 0.96, "size_bytes": 200_000, "latency_ms": 0.08},
    {"stage": "prune", "accuracy": 0.95, "size_bytes": 50_000, "latency_ms": 0.05},
    {"stage": "quantize", "accuracy": 0.955, "size_bytes": 12_500, "latency_ms": 0.10},
]


def test_stage_report_gains_against_the_previous_and_the_first_row():
    snapshot = [dict(row) for row in STAGES]
    report = stage_report(STAGES)
    assert STAGES == snapshot and all(r is not s for r, s in zip(report, STAGES))  # new rows
    first, prune, quantize = report
    assert first == {**STAGES[0], "accuracy_change": 0.0, "size_reduction": 1.0, "speedup": 1.0,
                     "total_accuracy_change": 0.0, "total_size_reduction": 1.0, "total_speedup": 1.0}
    assert prune["size_reduction"] == prune["total_size_reduction"] == 4.0
    assert prune["speedup"] == pytest.approx(1.6) and prune["accuracy_change"] == pytest.approx(-0.01)
    assert quantize["size_reduction"] == 4.0 and quantize["total_size_reduction"] == 16.0
    assert quantize["speedup"] == pytest.approx(0.5)  # slower than the stage before it
    assert quantize["total_speedup"] == pytest.approx(0.8)
    assert quantize["accuracy_change"] == pytest.approx(0.005)
    assert quantize["total_accuracy_change"] == pytest.approx(-0.005)
    assert stage_report([]) == []


def test_stage_report_needs_the_three_metrics():
    with pytest.raises(KeyError, match="latency_ms"):
        stage_report([{"stage": "baseline", "accuracy": 0.9, "size_bytes": 10}])
