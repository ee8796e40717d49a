"""Compare model variants on accuracy, latency and size; keep the Pareto-optimal ones."""

from .. import grad_mode
from ..profiling import parameter_bytes
from ..seams import seam
from ..tensor import Tensor
from .harness import benchmark


def _check_variants(variants, op):
    if not isinstance(variants, dict) or not variants:
        raise ValueError(f"{op}: variants must be a non-empty dict of name -> (model, eval_fn)")
    for name, entry in variants.items():
        if not (isinstance(entry, tuple) and len(entry) == 2 and callable(entry[0]) and callable(entry[1])):
            raise TypeError(f"{op}: variant {name!r} must be a (model, eval_fn) pair of callables")


def inference_latency(model, example_input, warmup=2, repeats=20, seed=0):
    """Measurement of one forward pass on `example_input`, without recording a graph."""
    if not isinstance(example_input, Tensor):
        raise TypeError(f"inference_latency: example_input must be a Tensor, got {type(example_input).__name__}")
    eval_mode = getattr(model, "eval", None)
    if eval_mode is not None:
        eval_mode()

    def forward():
        with grad_mode.no_grad():
            return model(example_input)

    return benchmark(forward, warmup=warmup, repeats=repeats, seed=seed)


def model_bytes(model):
    """Bytes of a Module's parameters and buffers (0 for a plain function)."""
    return parameter_bytes(model) if hasattr(model, "parameters") else 0


def compare(variants, example_input, warmup=2, repeats=20, seed=0):
    """One row per variant: accuracy (from its eval_fn(model)), latency on `example_input`, size.

    `variants` = {name: (model, eval_fn)}. Rows are dicts with name, accuracy, latency_ms,
    latency_iqr_ms, latency_ci_ms (95% bootstrap interval of the median) and size_bytes.
    """
    _check_variants(variants, "compare")
    rows = []
    for name, (model, eval_fn) in variants.items():
        latency = inference_latency(model, example_input, warmup, repeats, seed)
        rows.append({
            "name": name,
            "accuracy": float(eval_fn(model)),
            "latency_ms": latency.median * 1e3,
            "latency_iqr_ms": latency.iqr * 1e3,
            "latency_ci_ms": (latency.ci_low * 1e3, latency.ci_high * 1e3),
            "size_bytes": model_bytes(model),
        })
    return rows


@seam("pareto_front")
def pareto_front(rows, minimize=(), maximize=()):
    """The rows no other row dominates (at least as good on every objective, better on one).

    E.g. `pareto_front(rows, minimize=["latency_ms", "size_bytes"], maximize=["accuracy"])`.
    Input order is kept.
    """
    minimize, maximize = list(minimize), list(maximize)
    if not minimize and not maximize:
        raise ValueError("pareto_front: give at least one objective in minimize= or maximize=")
    for i, row in enumerate(rows):
        for key in minimize + maximize:
            if key not in row:
                raise KeyError(f"pareto_front: row {row.get('name', i)!r} has no {key!r}")
    # Negate the maximized objectives so that smaller is better everywhere.
    points = [[row[k] for k in minimize] + [-row[k] for k in maximize] for row in rows]

    def dominates(a, b):
        return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))

    return [row for row, p in zip(rows, points) if not any(dominates(q, p) for q in points if q is not p)]


def format_table(rows, columns):
    """Plain-text table of `rows` (dicts) with the given column keys."""
    def cell(value):
        if isinstance(value, float):
            return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}"
        if isinstance(value, tuple):
            return "[" + ", ".join(cell(v) for v in value) + "]"
        return str(value)

    table = [list(columns)] + [[cell(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(columns))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
