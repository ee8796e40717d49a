"""A reproducible benchmark report in the spirit of TinyMLPerf.

A fixed list of scenarios is run for every variant, each measurement is logged as an event,
and the report records the seed, the settings and the runtime (`platform.describe()`), so a
run in the browser and a run on a laptop can be put side by side. Text for reading, dict /
JSON for keeping.
"""

import json
from dataclasses import dataclass, field

import numpy as np

from .. import random as tt_random
from ..platform import describe
from ..seams import replaced
from ..tensor import Tensor
from .compare import _check_variants, format_table, inference_latency, model_bytes, pareto_front

# Scenario -> what it measures (MLPerf's single-stream and offline, plus quality and footprint).
SCENARIOS = {
    "single_stream": "latency of one sample at a time (median and p90, ms)",
    "offline": "throughput with the whole example batch at once (samples/s)",
    "accuracy": "the variant's eval_fn(model)",
    "size": "bytes of parameters and buffers",
}


@dataclass
class BenchmarkReport:
    title: str
    platform: str
    seed: int
    settings: dict
    events: list = field(default_factory=list)  # one dict per measurement
    rows: list = field(default_factory=list)  # one summary dict per variant
    pareto: list = field(default_factory=list)  # names of the Pareto-optimal variants

    def to_dict(self):
        return {"title": self.title, "platform": self.platform, "seed": self.seed, "settings": self.settings,
                "scenarios": dict(SCENARIOS), "events": self.events, "results": self.rows, "pareto": self.pareto}

    def to_json(self, indent=2):
        return json.dumps(self.to_dict(), indent=indent)

    def __str__(self):
        columns = ["name", "accuracy", "single_stream_ms", "single_stream_p90_ms", "offline_samples_per_s",
                   "size_bytes", "pareto"]
        rows = [{**row, "pareto": "*" if row["name"] in self.pareto else ""} for row in self.rows]
        settings = ", ".join(f"{k}={v}" for k, v in self.settings.items())
        return "\n".join([
            f"{self.title}", f"platform: {self.platform}", f"seed: {self.seed}; {settings}",
            format_table(rows, columns),
            "* Pareto-optimal: no other variant is at least as accurate, as fast (single stream) and as small",
        ])

    __repr__ = __str__


def _event(variant, scenario, metric, value, unit):
    return {"variant": variant, "scenario": scenario, "metric": metric, "value": float(value), "unit": unit}


def run_report(variants, example_input, seed=0, warmup=2, repeats=20, title="tinytorch benchmark"):
    """Run every scenario in SCENARIOS for every variant; returns a BenchmarkReport.

    `variants` = {name: (model, eval_fn)}; `example_input` is a batch (N, ...) whose first
    sample is the single-stream input. The default generator is seeded with `seed` first.
    """
    _check_variants(variants, "run_report")
    if not isinstance(example_input, Tensor) or example_input.ndim == 0 or example_input.shape[0] < 1:
        raise ValueError("run_report: example_input must be a batched Tensor (N, ...) with N >= 1")
    tt_random.manual_seed(seed)
    batch = example_input.shape[0]
    report = BenchmarkReport(
        title=title, platform=describe(), seed=seed,
        settings={"warmup": warmup, "repeats": repeats, "batch": batch, "input_shape": list(example_input.shape)},
    )
    for name, (model, eval_fn) in variants.items():
        single = inference_latency(model, example_input[:1], warmup, repeats, seed)
        offline = inference_latency(model, example_input, warmup, repeats, seed)
        p90 = float(np.percentile(single.samples, 90))
        accuracy, size = float(eval_fn(model)), model_bytes(model)
        report.events += [
            _event(name, "single_stream", "latency_median", single.median * 1e3, "ms"),
            _event(name, "single_stream", "latency_p90", p90 * 1e3, "ms"),
            _event(name, "single_stream", "latency_ci_low", single.ci_low * 1e3, "ms"),
            _event(name, "single_stream", "latency_ci_high", single.ci_high * 1e3, "ms"),
            _event(name, "offline", "throughput", batch / offline.median, "samples/s"),
            _event(name, "accuracy", "accuracy", accuracy, "fraction"),
            _event(name, "size", "size", size, "bytes"),
        ]
        report.rows.append({
            "name": name, "accuracy": accuracy, "single_stream_ms": single.median * 1e3,
            "single_stream_p90_ms": p90 * 1e3, "offline_samples_per_s": batch / offline.median, "size_bytes": size,
        })
    front_of = replaced.get("pareto_front", pareto_front)  # module 19's, once tinytorch.mine.use() puts it in
    front = front_of(report.rows, minimize=["single_stream_ms", "size_bytes"], maximize=["accuracy"])
    report.pareto = [row["name"] for row in front]
    return report
