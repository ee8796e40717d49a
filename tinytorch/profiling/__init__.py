"""Profiling (course module 14): parameters, FLOPs, memory and time, measured from real runs, and
Amdahl's law for what a faster part buys."""

from .timing import LatencyStats, measure_latency
from .amdahl import amdahl_speedup
from .hooks import intercept_forwards
from .flops import FLOP_RULES, attention_flops, count_call_flops, register_flop_rule
from .report import (
    LayerRecord, ProfileReport, count_parameters, forward_backward_time, parameter_bytes, profile,
)

__all__ = [
    "LatencyStats", "measure_latency", "intercept_forwards", "FLOP_RULES", "attention_flops",
    "count_call_flops", "register_flop_rule", "LayerRecord", "ProfileReport", "count_parameters",
    "forward_backward_time", "parameter_bytes", "profile", "amdahl_speedup",
]
