"""Module 14 checks: right solutions pass; stubs and typical mistakes fail with a useful report."""

import time

import numpy as np
import pytest

from tinytorch.checks import (
    check_amdahl_speedup, check_conv2d_flops, check_count_parameters, check_linear_flops,
    check_measure_latency,
)
from tinytorch.profiling import LatencyStats

from solutions import load_solution


# The notebook's own solutions, so the course as shipped is what passes the checks.
count_parameters, linear_flops, conv2d_flops, measure_latency, amdahl_speedup = load_solution("14_profiling", "count_parameters", "linear_flops", "conv2d_flops", "measure_latency", "amdahl_speedup")


CORRECT = [
    (check_count_parameters, count_parameters), (check_linear_flops, linear_flops),
    (check_conv2d_flops, conv2d_flops), (check_measure_latency, measure_latency),
    (check_amdahl_speedup, amdahl_speedup),
]


@pytest.mark.parametrize("check, solution", CORRECT)
def test_solution_passes_and_stub_fails(check, solution, passes_and_stub_fails):
    passes_and_stub_fails(check, solution)


# ---------------------------------------------------------------------- count_parameters

def test_counting_a_tied_weight_twice_fails(failure):
    def per_module(model, trainable_only=False):
        return sum(p.data.size for m in model.modules() for p in m._parameters.values() if p is not None)

    message = failure(check_count_parameters, per_module)
    assert "tied" in message or "twice" in message
    assert "count it once" in message


def test_recursing_twice_into_nested_modules_fails(failure):
    def nested(model, trainable_only=False):
        return sum(p.data.size for m in model.modules() for p in m.parameters())

    assert "already recurses" in failure(check_count_parameters, nested)


def test_ignoring_trainable_only_fails(failure):
    message = failure(check_count_parameters, lambda model, trainable_only=False: count_parameters(model))
    assert "requires_grad" in message


def test_a_float_count_fails(failure):
    assert "expected an int" in failure(check_count_parameters, lambda m, trainable_only=False: float(count_parameters(m)))


# ---------------------------------------------------------------------- FLOPs

def test_counting_multiply_adds_instead_of_flops_fails(failure):
    def macs(module, args, kwargs, output):
        n = output.data.size // module.out_features
        return n * module.in_features * module.out_features + (n * module.out_features if module.bias is not None else 0)

    message = failure(check_linear_flops, macs)
    assert "2 FLOPs" in message


def test_forgetting_the_linear_bias_fails(failure):
    def no_bias(module, args, kwargs, output):
        n = output.data.size // module.out_features
        return 2 * n * module.in_features * module.out_features

    assert "bias adds one FLOP" in failure(check_linear_flops, no_bias)


def test_only_the_first_input_dimension_as_batch_fails(failure):
    def first_dim(module, args, kwargs, output):
        n = args[0].shape[0]
        return 2 * n * module.in_features * module.out_features + (n * module.out_features if module.bias is not None else 0)

    message = failure(check_linear_flops, first_dim)
    assert "every leading dimension" in message


def test_conv_from_input_size_ignoring_stride_fails(failure):
    def input_size(module, args, kwargs, output):
        n, c, h, w = args[0].shape
        kh, kw = module.kernel_size
        size = n * module.out_channels * h * w
        return 2 * size * (c // module.groups) * kh * kw + (size if module.bias is not None else 0)

    message = failure(check_conv2d_flops, input_size)
    assert "OUTPUT's height and width" in message


def test_conv_ignoring_groups_fails(failure):
    def no_groups(module, args, kwargs, output):
        kh, kw = module.kernel_size
        size = output.data.size
        return 2 * size * module.in_channels * kh * kw + (size if module.bias is not None else 0)

    assert "groups" in failure(check_conv2d_flops, no_groups)


def test_conv_without_bias_term_fails(failure):
    def no_bias(module, args, kwargs, output):
        kh, kw = module.kernel_size
        return 2 * output.data.size * (module.in_channels // module.groups) * kh * kw

    assert "bias" in failure(check_conv2d_flops, no_bias)


# ---------------------------------------------------------------------- latency

def stats(times):
    t = np.array(times)
    p10, median, p90 = np.percentile(t, [10, 50, 90])
    return LatencyStats(median=median, p10=p10, p90=p90, mean=t.mean(), std=t.std(ddof=1) if len(t) > 1 else 0.0,
                        min=t.min(), samples=tuple(times))


def test_timing_the_warmup_too_fails(failure):
    def with_warmup(fn, *args, warmup=3, repeats=20, timer=time.perf_counter):
        times = []
        for _ in range(warmup + repeats):
            start = timer()
            fn(*args)
            times.append(timer() - start)
        return stats(times)

    assert "warm-up calls must not be in samples" in failure(check_measure_latency, with_warmup)


def test_skipping_the_warmup_fails(failure):
    def no_warmup(fn, *args, warmup=3, repeats=20, timer=time.perf_counter):
        return measure_latency(fn, *args, warmup=0, repeats=repeats, timer=timer)

    assert "called" in failure(check_measure_latency, no_warmup)


def test_timing_the_whole_loop_at_once_fails(failure):
    def one_block(fn, *args, warmup=3, repeats=20, timer=time.perf_counter):
        for _ in range(warmup):
            fn(*args)
        start = timer()
        for _ in range(repeats):
            fn(*args)
        return stats([(timer() - start) / repeats])

    assert "time each call separately" in failure(check_measure_latency, one_block)


def test_mean_as_median_fails(failure):
    def mean_median(*args, **kwargs):
        s = measure_latency(*args, **kwargs)
        return LatencyStats(median=s.mean, p10=s.p10, p90=s.p90, mean=s.mean, std=s.std, min=s.min, samples=s.samples)

    assert "that is the mean" in failure(check_measure_latency, mean_median)


def test_population_std_fails(failure):
    def population(*args, **kwargs):
        s = measure_latency(*args, **kwargs)
        std = float(np.std(s.samples))
        return LatencyStats(median=s.median, p10=s.p10, p90=s.p90, mean=s.mean, std=std, min=s.min, samples=s.samples)

    assert "ddof=1" in failure(check_measure_latency, population)


def test_single_sample_std_must_be_zero_not_nan(failure):
    def nan_std(*args, **kwargs):
        s = measure_latency(*args, **kwargs)
        std = float("nan") if len(s.samples) == 1 else s.std  # what np.std(ddof=1) gives one sample
        return LatencyStats(median=s.median, p10=s.p10, p90=s.p90, mean=s.mean, std=std, min=s.min, samples=s.samples)

    assert "0.0 when there is a single sample" in failure(check_measure_latency, nan_std)


def test_not_passing_the_arguments_fails(failure):
    def no_args(fn, *args, warmup=3, repeats=20, timer=time.perf_counter):
        return measure_latency(lambda *a: fn(), warmup=warmup, repeats=repeats, timer=timer)

    assert "call fn(*args)" in failure(check_measure_latency, no_args)


def test_returning_a_plain_list_fails(failure):
    def as_list(fn, *args, warmup=3, repeats=20, timer=time.perf_counter):
        return list(measure_latency(fn, *args, warmup=warmup, repeats=repeats, timer=timer).samples)

    assert "LatencyStats(" in failure(check_measure_latency, as_list)


# ---------------------------------------------------------------------- Amdahl

def test_amdahl_inverted_fractions_fail(failure):
    message = failure(check_amdahl_speedup, lambda f, s: 1 / (np.asarray(f) + (1 - np.asarray(f)) / s))
    assert "(1 - f)" in message
