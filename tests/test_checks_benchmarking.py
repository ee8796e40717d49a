"""Module 19 and capstone checks: right solutions pass; stubs and typical mistakes fail with a useful report."""

import numpy as np
import pytest

from tinytorch.benchmarking import t_interval
from tinytorch.checks import (check_pareto_front, check_pick_deployment, check_run_pipeline, check_shrink_hidden,
                              check_speedup_interval, check_stage_report, check_summarize)
from tinytorch.checks.benchmarking import reference_pick_deployment

from solutions import load_solution


def summarize(times, confidence=0.95, resamples=2000, seed=0, draw="integers", tails=None, statistic=np.median):
    t = np.asarray(times, dtype=np.float64)
    q1, median, q3 = np.percentile(t, [25, 50, 75])
    rng = np.random.default_rng(seed)
    if draw == "integers":
        resampled = t[rng.integers(0, t.size, size=(resamples, t.size))]
    else:  # a different, equally valid way to resample
        resampled = rng.choice(t, size=(resamples, t.size), replace=True)
    estimates = statistic(resampled, axis=1)
    tail = (1 - confidence) / 2 * 100 if tails is None else tails
    low, high = np.percentile(estimates, [tail, 100 - tail])
    return {"median": median, "q1": q1, "q3": q3, "iqr": q3 - q1, "ci_low": low, "ci_high": high}


# The notebook's own solutions, so the course as shipped is what passes the checks.
pareto_front, speedup_interval = load_solution("19_benchmarking", "pareto_front", "speedup_interval")
run_pipeline, stage_report, shrink_hidden, pick_deployment = load_solution(
    "20_capstone", "run_pipeline", "stage_report", "shrink_hidden", "pick_deployment")


@pytest.mark.parametrize("check, solution", [
    (check_summarize, summarize), (check_pareto_front, pareto_front),
    (check_run_pipeline, run_pipeline), (check_stage_report, stage_report), (check_shrink_hidden, shrink_hidden),
    (check_speedup_interval, speedup_interval), (check_pick_deployment, pick_deployment),
    (check_pick_deployment, reference_pick_deployment),
])
def test_solution_passes_and_stub_fails(check, solution, passes_and_stub_fails):
    passes_and_stub_fails(check, solution)


def test_a_different_valid_resampling_passes(capsys):
    check_summarize(lambda times, **kw: summarize(times, draw="choice", **kw))
    assert capsys.readouterr().out.startswith("PASS")


# ---------------------------------------------------------------------- summarize mistakes


def mean_instead_of_median(times, **kw):
    out = summarize(times, **kw)
    out["median"] = float(np.mean(times))
    return out


def t_interval_of_the_mean(times, confidence=0.95, resamples=2000, seed=0):
    out = summarize(times, confidence, resamples, seed)
    out["ci_low"], out["ci_high"] = t_interval(times, confidence)
    return out


def population_quartiles(times, **kw):
    out = summarize(times, **kw)
    t = np.sort(np.asarray(times))
    out["q1"], out["q3"] = t[len(t) // 4], t[(3 * len(t)) // 4]
    out["iqr"] = out["q3"] - out["q1"]
    return out


@pytest.mark.parametrize("wrong, message", [
    (mean_instead_of_median, "that is the mean"),
    (t_interval_of_the_mean, "t interval of the mean"),
    (population_quartiles, "q1"),
    (lambda times, confidence=0.95, **kw: summarize(times, **kw), "confidence=0.9"),  # confidence ignored
    (lambda times, confidence=0.95, **kw: summarize(times, confidence, tails=5, **kw), "percentiles"),
    (lambda times, **kw: summarize(times, statistic=np.mean, **kw), "interval of the median"),
    (lambda times, **kw: {"median": np.median(times)}, "missing q1"),
])
def test_summarize_mistakes_fail(wrong, message, failure):
    failure(check_summarize, wrong, message)


# ---------------------------------------------------------------------- Pareto mistakes


def strict_dominance(rows, minimize=(), maximize=()):
    return [r for r in rows if not any(all(q[k] < r[k] for k in minimize) and all(q[k] > r[k] for k in maximize)
                                       for q in rows if q is not r)]


def ignores_maximize(rows, minimize=(), maximize=()):
    return pareto_front(rows, minimize=list(minimize) + list(maximize))


def drops_duplicates(rows, minimize=(), maximize=()):
    def at_least_as_good(a, b):
        return all(a[k] <= b[k] for k in minimize) and all(a[k] >= b[k] for k in maximize)
    return [r for r in rows if not any(at_least_as_good(q, r) for q in rows if q is not r)]


def sorted_by_latency(rows, minimize=(), maximize=()):
    return sorted(pareto_front(rows, minimize, maximize), key=lambda r: r.get("latency_ms", 0))


@pytest.mark.parametrize("wrong, message", [
    (strict_dominance, "at least as good on EVERY objective"),
    (ignores_maximize, "LARGER"),
    (drops_duplicates, "keep both"),
    (sorted_by_latency, "input order"),
])
def test_pareto_mistakes_fail(wrong, message, failure):
    failure(check_pareto_front, wrong, message)


# ---------------------------------------------------------------------- capstone: pipeline and stage report

def each_stage_on_the_original(model, stages, measure):
    rows = [{"stage": "baseline", "model": model, **measure(model)}]
    for name, stage in stages:
        new = stage(model)
        rows.append({"stage": name, "model": new, **measure(new)})
    return rows


def no_baseline(model, stages, measure):
    return run_pipeline(model, stages, measure)[1:]


def measures_before_the_stage(model, stages, measure):
    rows = [{"stage": "baseline", "model": model, **measure(model)}]
    for name, stage in stages:
        metrics = measure(model)
        model = stage(model)
        rows.append({"stage": name, "model": model, **metrics})
    return rows


@pytest.mark.parametrize("wrong, message", [
    (each_stage_on_the_original, "cumulative"),
    (no_baseline, "baseline"),
    (measures_before_the_stage, "measurement of its own model"),
])
def test_pipeline_mistakes_fail(wrong, message, failure):
    failure(check_run_pipeline, wrong, message)


def inverted_ratios(rows):
    out = stage_report(rows)
    for row in out:
        row["size_reduction"] = 1 / row["size_reduction"]
    return out


def per_step_against_the_baseline(rows):
    out = stage_report(rows)
    for row in out:
        row["speedup"] = row["total_speedup"]
    return out


def mutates(rows):
    out = stage_report(rows)
    rows[0]["speedup"] = 1.0
    return out


def drops_the_model(rows):
    return [{k: v for k, v in row.items() if k != "model"} for row in stage_report(rows)]


@pytest.mark.parametrize("wrong, message", [
    (inverted_ratios, "other way round"),
    (per_step_against_the_baseline, "PREVIOUS"),
    (mutates, "modified"),
    (drops_the_model, "'model'"),
])
def test_stage_report_mistakes_fail(wrong, message, failure):
    failure(check_stage_report, wrong, message)


def test_shrink_hidden_that_modifies_its_input_fails(failure):
    from tinytorch.checks.benchmarking import reference_shrink_hidden

    def in_place(model, amount=0.5):
        smaller = reference_shrink_hidden(model, amount)
        model[0].bias.data[...] = 0.0  # the pipeline would compare a damaged baseline
        return smaller
    failure(check_shrink_hidden, in_place, match="the input model was modified")


def test_speedup_interval_drawn_another_valid_way_passes(capsys):
    def by_choice(a, b, confidence=0.95, resamples=2000, seed=0):
        rng = np.random.default_rng(seed + 1)
        ratios = (np.median(rng.choice(a, size=(resamples, len(a))), axis=1)
                  / np.median(rng.choice(b, size=(resamples, len(b))), axis=1))
        tail = (1 - confidence) / 2 * 100
        return np.median(a) / np.median(b), *np.percentile(ratios, [tail, 100 - tail])
    check_speedup_interval(by_choice)
    assert capsys.readouterr().out.startswith("PASS")


# ---------------------------------------------------------------------- capstone: the pick


def fastest_within_budget(rows, max_accuracy_drop, objective="latency_ms"):
    """Skips the Pareto front: the smallest objective among all rows within the budget."""
    floor = rows[0]["accuracy"] - max_accuracy_drop
    return min((r for r in rows if r["accuracy"] >= floor), key=lambda r: r[objective])


def budget_from_the_best(rows, max_accuracy_drop, objective="latency_ms"):
    best = max(r["accuracy"] for r in rows)
    return min((r for r in rows if r["accuracy"] >= best - max_accuracy_drop), key=lambda r: r[objective])


def fastest_overall(rows, max_accuracy_drop, objective="latency_ms"):
    return min(rows, key=lambda r: r[objective])


def a_copy_of_the_row(rows, max_accuracy_drop, objective="latency_ms"):
    return dict(reference_pick_deployment(rows, max_accuracy_drop, objective))


def always_latency(rows, max_accuracy_drop, objective="latency_ms"):
    return reference_pick_deployment(rows, max_accuracy_drop)


def sorts_the_rows(rows, max_accuracy_drop, objective="latency_ms"):
    rows.sort(key=lambda r: r[objective])
    return reference_pick_deployment(rows, max_accuracy_drop, objective)


@pytest.mark.parametrize("wrong, message", [
    (fastest_within_budget, "not on the Pareto front"),
    (budget_from_the_best, "counts from the first row"),
    (fastest_overall, "the accuracy budget"),
    (a_copy_of_the_row, "the chosen row itself"),
    (always_latency, "SMALLEST size_bytes"),
    (sorts_the_rows, "rows were modified"),
])
def test_pick_mistakes_fail(wrong, message, failure):
    failure(check_pick_deployment, wrong, message)
