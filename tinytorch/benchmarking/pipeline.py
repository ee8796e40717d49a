"""An optimization pipeline measured stage by stage (the capstone's prune -> quantize -> ...).

Each stage takes the previous stage's model, so the rows show the effect of stacking them;
`stage_report` then says what each stage bought on its own and what the stack bought so far.
"""


def _measured(stage, model, measure):
    return {"stage": stage, "model": model, **measure(model)}


def run_pipeline(model, stages, measure):
    """One row per model: the input ('baseline') and the output of every stage, in order.

    `stages` is a list of (name, stage) pairs, stage(model) -> new model, each applied to the
    previous stage's output; `measure(model)` -> dict of metrics (e.g. accuracy, size_bytes,
    latency_ms). A row is {'stage': name, 'model': model, **measure(model)}.
    """
    rows = [_measured("baseline", model, measure)]
    for name, stage in stages:
        model = stage(model)
        rows.append(_measured(name, model, measure))
    return rows


def _gains(row, before):
    """What `row` gained over `before`: ratios > 1 are better (smaller, faster)."""
    return {
        "accuracy_change": row["accuracy"] - before["accuracy"],
        "size_reduction": before["size_bytes"] / row["size_bytes"],
        "speedup": before["latency_ms"] / row["latency_ms"],
    }


def stage_report(rows):
    """New rows: each input row plus its gains over the previous row (accuracy_change,
    size_reduction, speedup) and over the first one (total_accuracy_change,
    total_size_reduction, total_speedup). Rows need accuracy, size_bytes and latency_ms;
    the first row gains nothing (changes 0, ratios 1). The input rows are left unchanged."""
    report = []
    for i, row in enumerate(rows):
        step = _gains(row, rows[max(i - 1, 0)])
        total = _gains(row, rows[0])
        report.append({**row, **step, **{f"total_{key}": value for key, value in total.items()}})
    return report
