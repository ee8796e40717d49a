"""Benchmarking (course modules 19 and 20): careful timing, comparisons, Pareto fronts, reports,
and optimization pipelines measured stage by stage."""

from .stats import bootstrap_interval, confidence_interval, t_interval, t_quantile
from .harness import Measurement, benchmark, measurement_of
from .compare import compare, format_table, inference_latency, pareto_front
from .report import SCENARIOS, BenchmarkReport, run_report
from .pipeline import run_pipeline, stage_report

__all__ = [
    "bootstrap_interval", "confidence_interval", "t_interval", "t_quantile", "Measurement", "benchmark",
    "measurement_of", "compare", "format_table", "inference_latency", "pareto_front", "SCENARIOS",
    "BenchmarkReport", "run_report", "run_pipeline", "stage_report",
]
