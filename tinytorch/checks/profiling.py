"""Checks for module 14 (profiling): parameter counts, FLOP rules, latency statistics, Amdahl's law.

FLOP rules have the profiler's signature `rule(module, args, kwargs, output) -> int` and are
run on real tinytorch layers; `measure_latency` is driven by a fake clock, so its statistics
can be compared exactly with the ones tinytorch computes from the same durations.
"""

import numpy as np

from .. import grad_mode, nn
from ..profiling import LatencyStats, amdahl_speedup as reference_amdahl_speedup
from ..profiling import count_parameters as reference_count_parameters
from ..profiling.flops import conv2d_flops as reference_conv2d_flops, linear_flops as reference_linear_flops
from ..profiling.timing import summarize
from ..random import manual_seed
from ..tensor import Tensor
from ..course import registry
from .core import add_hints, assert_close, fail, passed, run_learner

# Progressive hints, one tier at a time (`tinytorch.checks.hint(name)`, or a repeated failure):
# the idea, the shapes, the formula in words. Never the code.
add_hints({
    'count_parameters': (
        "the model's size is the number of scalars in all its parameters",
        'each parameter contributes its element count; frozen ones count only when trainable_only is False',
        'sum of the sizes of the parameters (filtered by requires_grad when asked)',
    ),
    'linear_flops': (
        'count a multiply and an add for every weight, for every input row',
        'N input rows (everything but the last axis), in_features by out_features weights',
        '2 N in out, plus N out for the bias when there is one',
    ),
    'conv2d_flops': (
        'each output value costs a multiply and an add per kernel weight it touches',
        'a kernel touches in_channels / groups channels of kh by kw',
        '2 times the number of outputs times (in_channels / groups) kh kw, plus one add per output for the bias',
    ),
    'measure_latency': (
        'call the function a few times untimed, then time each of the repeats separately',
        'one duration per repeat, from a high-resolution timer read before and after each call',
        'report the 10th, 50th and 90th percentiles of the durations',
    ),
    'amdahl_speedup': (
        'only the accelerated fraction of the time gets faster; the rest stays as it was',
        'fraction and speedup may be arrays: broadcast them',
        'new time = (1 - fraction) + fraction / speedup of the old; the speedup overall is its inverse',
    ),
})

exercise = registry.module("14_profiling", "Profiling")


def _int(name, case, got):
    """The learner's count as a Python int (NumPy integers accepted), or a failure."""
    if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
        fail(name, case, f"expected an int, got {type(got).__name__} {got!r}",
             "counts are whole numbers: return an int (e.g. int(total))")
    return int(got)


# ---------------------------------------------------------------------- parameters


class _TiedModel(nn.Module):
    """An embedding and an output layer that share one weight, as in GPT-2."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 6)
        self.body = nn.Sequential(nn.Linear(6, 6), nn.ReLU())
        self.head = nn.Linear(6, 10, bias=False)
        self.head.weight = self.embed.weight


def _parameter_cases():
    manual_seed(0)
    mlp = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10, bias=False))
    shared = nn.Linear(4, 4)
    frozen = nn.Sequential(nn.Linear(8, 4), nn.Linear(4, 2))
    frozen[0].requires_grad_(False)
    nested = nn.Sequential(nn.Sequential(nn.Linear(3, 5), nn.Sequential(nn.Linear(5, 2))), nn.Conv2d(1, 2, 3))
    return [
        ("MLP 64-32-10", mlp, {}),
        ("nested Sequentials with a Conv2d", nested, {}),
        ("one Linear used twice: Sequential(layer, layer)", nn.Sequential(shared, shared), {}),
        ("tied weights (embedding = output layer)", _TiedModel(), {}),
        ("no parameters: Sequential(ReLU())", nn.Sequential(nn.ReLU()), {}),
        ("first layer frozen, trainable_only=False", frozen, {}),
        ("first layer frozen, trainable_only=True", frozen, {"trainable_only": True}),
    ]


def _count_hint(model, kwargs, got):
    """A hint aimed at the mistake that produces `got`, when it is a known one."""
    per_module = sum(p.data.size for m in model.modules() for p in m._parameters.values() if p is not None)
    recursing = sum(p.data.size for m in model.modules() for p in m.parameters())
    if kwargs.get("trainable_only") and got == reference_count_parameters(model):
        return "with trainable_only=True, skip parameters whose requires_grad is False"
    if got == recursing:
        return ("module.parameters() already recurses into children: summing it over every module of "
                "model.modules() counts each nested layer several times")
    if got == per_module:
        return ("a shared parameter is one array in memory: count it once. model.parameters() already "
                "skips repeats; walking the modules and their _parameters yourself does not")
    return "add p.data.size (or p.numel()) over model.parameters(), which yields each parameter once"


@exercise("count_parameters", seam="count_parameters")
def check_count_parameters(count_parameters):
    """count_parameters(model, trainable_only=False): scalar parameters, each shared one once."""
    name = "count_parameters"
    cases = _parameter_cases()
    for case, model, kwargs in cases:
        got = _int(name, case, run_learner(name, case, lambda: count_parameters(model, **kwargs)))
        expected = reference_count_parameters(model, **kwargs)
        if got != expected:
            fail(name, case, f"expected {expected:,}, got {got:,}", _count_hint(model, kwargs, got))
    passed(name, len(cases), [case for case, _, _ in cases])


# ---------------------------------------------------------------------- FLOPs


def _run(module, x):
    with grad_mode.no_grad():
        return module(x)


def _check_rule(name, rule, reference, cases, diagnose):
    for case, module, x in cases:
        output = _run(module, x)
        got = _int(name, case, run_learner(name, case, rule, module, (x,), {}, output))
        expected = int(reference(module, (x,), {}, output))
        if got != expected:
            fail(name, case, f"expected {expected:,} FLOPs, got {got:,} (output shape {tuple(output.shape)})",
                 diagnose(module, x, output, got))
    passed(name, len(cases), [case for case, _, _ in cases])


def _linear_cases():
    manual_seed(1)
    rng = np.random.default_rng(1)
    x = lambda *shape: Tensor(rng.standard_normal(shape).astype(np.float32))
    return [
        ("Linear(64, 32), input (8, 64)", nn.Linear(64, 32), x(8, 64)),
        ("Linear(6, 5, bias=False), input (2, 3, 6)", nn.Linear(6, 5, bias=False), x(2, 3, 6)),
        ("Linear(6, 5), sequence input (2, 3, 6)", nn.Linear(6, 5), x(2, 3, 6)),
        ("Linear(1, 1), input (1, 1)", nn.Linear(1, 1), x(1, 1)),
        ("Linear(7, 3), unbatched input (7,)", nn.Linear(7, 3), x(7)),
        ("Linear(4, 3), empty batch (0, 4)", nn.Linear(4, 3), x(0, 4)),
    ]


def _linear_diagnose(module, x, output, got):
    rows = output.data.size // module.out_features
    mac = rows * module.in_features * module.out_features
    bias = rows * module.out_features if module.bias is not None else 0
    known = {}
    if x.ndim >= 2:  # counting only the first dimension of the input as the batch
        first = x.shape[0]
        known[2 * first * module.in_features * module.out_features + (first * module.out_features if bias else 0)] = (
            "N is every leading dimension of the output, not just the first: N = output.data.size // out_features")
    known[2 * mac + rows * module.out_features] = "no bias here (module.bias is None): add nothing for it"
    known[2 * mac] = "the bias adds one FLOP per output element: + N * out_features when module.bias is not None"
    known[mac] = known[mac + bias] = "a multiply-add is 2 FLOPs (one multiply, one add): 2 * N * in_features * out_features"
    return known.get(got, "2 * N * in_features * out_features, + N * out_features for the bias "
                          "(N = output.data.size // out_features)")


@exercise("linear_flops", seam="linear_flops")
def check_linear_flops(linear_flops):
    """linear_flops(module, args, kwargs, output): FLOPs of one nn.Linear call."""
    _check_rule("linear_flops", linear_flops, reference_linear_flops, _linear_cases(), _linear_diagnose)


def _conv_cases():
    manual_seed(2)
    rng = np.random.default_rng(2)
    x = lambda *shape: Tensor(rng.standard_normal(shape).astype(np.float32))
    return [
        ("Conv2d(1, 4, 3, padding=1), input (2, 1, 8, 8)", nn.Conv2d(1, 4, 3, padding=1), x(2, 1, 8, 8)),
        ("Conv2d(4, 6, 3, stride=2, bias=False), input (2, 4, 9, 9)", nn.Conv2d(4, 6, 3, stride=2, bias=False),
         x(2, 4, 9, 9)),
        ("Conv2d(3, 8, (3, 5), padding=(1, 2)), input (1, 3, 7, 6)", nn.Conv2d(3, 8, (3, 5), padding=(1, 2)),
         x(1, 3, 7, 6)),
        ("1x1 Conv2d(16, 4, 1), input (3, 16, 5, 5)", nn.Conv2d(16, 4, 1), x(3, 16, 5, 5)),
        ("Conv2d(4, 8, 3, groups=2), input (2, 4, 6, 6)", nn.Conv2d(4, 8, 3, groups=2), x(2, 4, 6, 6)),
    ]


def _conv_diagnose(module, x, output, got):
    kh, kw = module.kernel_size
    size = output.data.size
    groups = module.groups
    bias = size if module.bias is not None else 0
    macs = size * (module.in_channels // groups) * kh * kw
    n, _, h, w = x.shape
    input_based = 2 * n * module.out_channels * h * w * (module.in_channels // groups) * kh * kw + (
        n * module.out_channels * h * w if bias else 0)
    known = {
        macs + bias: "a multiply-add is 2 FLOPs: 2 * (output elements) * (Cin / groups) * kh * kw",
        2 * macs: "the bias adds one FLOP per output element (module.bias is not None here)",
        2 * macs + size: "no bias here (module.bias is None): add nothing for it",
        2 * size * module.in_channels * kh * kw + bias:
            "with groups=g each output channel only sees in_channels // g input channels",
    }
    if got in known:
        return known[got]
    if got == input_based and input_based != 2 * macs + bias:
        return "use the OUTPUT's height and width (stride and padding change them), e.g. output.shape"
    return ("each output element (N * Cout * Hout * Wout of them) is a dot product of (Cin / groups) * kh * kw "
            "multiply-adds, + 1 for the bias")


@exercise("conv2d_flops", seam="conv2d_flops")
def check_conv2d_flops(conv2d_flops):
    """conv2d_flops(module, args, kwargs, output): FLOPs of one nn.Conv2d call."""
    _check_rule("conv2d_flops", conv2d_flops, reference_conv2d_flops, _conv_cases(), _conv_diagnose)


# ---------------------------------------------------------------------- latency


class _FakeClock:
    """A timer that only moves when the function under test 'runs': exact, repeatable durations."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class _Scripted:
    """fn(*args) whose n-th call takes durations[n] seconds on the fake clock."""

    def __init__(self, clock, durations):
        self.clock, self.durations, self.calls = clock, list(durations), []

    def __call__(self, *args, **kwargs):
        if len(self.calls) >= len(self.durations):
            raise RuntimeError(f"called {len(self.calls) + 1} times, expected {len(self.durations)} (warmup + repeats)")
        self.clock.now += self.durations[len(self.calls)]
        self.calls.append((args, kwargs))


_FIELDS = ("median", "p10", "p90", "mean", "std", "min")


def _latency_case(name, case, measure_latency, args, warmup, repeats, timed):
    clock = _FakeClock()
    slow_warmup = [5.0 + i for i in range(warmup)]  # first calls are slow (caches, allocations)
    fn = _Scripted(clock, slow_warmup + list(timed))
    got = run_learner(name, case, lambda: measure_latency(fn, *args, warmup=warmup, repeats=repeats, timer=clock))
    if len(fn.calls) != warmup + repeats:
        fail(name, case, f"fn was called {len(fn.calls)} times, expected warmup + repeats = {warmup + repeats}",
             "call fn warmup times untimed, then repeats times, timing each call on its own")
    if any(call != (tuple(args), {}) for call in fn.calls):
        fail(name, case, f"fn was called with {fn.calls[0]}, expected the arguments {tuple(args)}", "call fn(*args)")
    missing = [f for f in _FIELDS + ("samples",) if not hasattr(got, f)]
    if missing:
        fail(name, case, f"the result has no {', '.join(missing)} (got {type(got).__name__})",
             "return LatencyStats(median=..., p10=..., p90=..., mean=..., std=..., min=..., samples=tuple(times))")
    expected = summarize(timed)
    samples = np.asarray(got.samples, dtype=np.float64)
    if samples.shape != (repeats,):
        hint = "samples holds one duration per timed call"
        if samples.size == warmup + repeats:
            hint = "the warm-up calls must not be in samples: they measure one-off costs, not the steady state"
        elif samples.size == 1:
            hint = "time each call separately (timer() before and after fn), not the whole loop at once"
        fail(name, case, f"expected {repeats} samples, got {samples.size}", hint)
    assert_close(name, case + ", samples", samples, np.asarray(expected.samples),
                 "each sample is timer() after the call minus timer() just before it", atol=1e-9, rtol=1e-7)
    for field in _FIELDS:
        want = getattr(expected, field)
        try:
            value = float(getattr(got, field))
        except (TypeError, ValueError):
            fail(name, case, f"{field}: expected a number of seconds, got {getattr(got, field)!r}")
        hint = {
            "median": "np.median(times) (or np.percentile(times, 50)): the middle value, robust to one slow call",
            "p10": "np.percentile(times, 10)", "p90": "np.percentile(times, 90)",
            "mean": "np.mean(times)", "min": "np.min(times)",
            "std": "the sample standard deviation np.std(times, ddof=1), and 0.0 when there is a single sample",
        }[field]
        if field == "std" and repeats > 1 and np.isclose(value, np.std(timed), rtol=1e-9):
            hint = "use the sample standard deviation: np.std(times, ddof=1)"
        if field == "median" and np.isclose(value, np.mean(timed)) and not np.isclose(want, np.mean(timed)):
            hint = "that is the mean; the median is np.median(times)"
        if not np.isfinite(value) or not np.isclose(value, want, rtol=1e-7, atol=1e-12):
            fail(name, case, f"{field}: expected {want:.6g} s, got {value:.6g}", hint)


@exercise("measure_latency")
def check_measure_latency(measure_latency):
    """measure_latency(fn, *args, warmup=3, repeats=20, timer=time.perf_counter) -> LatencyStats."""
    name = "measure_latency"
    outlier = [0.010, 0.012, 0.011, 0.013, 0.050, 0.009, 0.011, 0.010, 0.012, 0.011]
    cases = [
        ("warmup=2, repeats=10, one slow outlier", (), 2, 10, outlier),
        ("arguments passed on: fn(3, 'x'), warmup=3, repeats=5", (3, "x"), 3, 5, [0.2, 0.1, 0.4, 0.3, 0.5]),
        ("no warm-up, repeats=4", (), 0, 4, [1e-4, 2e-4, 3e-4, 1e-3]),
        ("a single timed call (repeats=1)", (), 1, 1, [0.25]),
    ]
    for case, args, warmup, repeats, timed in cases:
        _latency_case(name, case, measure_latency, args, warmup, repeats, timed)
    # the real clock, on a real (tiny) NumPy call
    case = "default timer on a real NumPy call"
    array = np.ones((64, 64), np.float32)
    stats = run_learner(name, case, lambda: measure_latency(np.dot, array, array, warmup=1, repeats=5))
    samples = np.asarray(getattr(stats, "samples", ()), dtype=np.float64)
    if samples.shape != (5,) or not np.all(samples > 0) or not stats.min <= stats.median <= stats.p90:
        fail(name, case, f"implausible result {stats!r}",
             "with the default timer=time.perf_counter every sample is a positive duration in seconds")
    passed(name, len(cases) + 1, [case for case, *_ in cases] + [case])


# ---------------------------------------------------------------------- Amdahl


@exercise("amdahl_speedup", tinytorch="tinytorch.profiling:amdahl_speedup")
def check_amdahl_speedup(amdahl_speedup):
    """amdahl_speedup(fraction, speedup): 1 / ((1 - f) + f / s), elementwise on arrays."""
    name = "amdahl_speedup"
    cases = [
        ("nothing accelerated (f=0, s=10)", 0.0, 10.0),
        ("everything accelerated (f=1, s=10)", 1.0, 10.0),
        ("half of the time, 2x faster (f=0.5, s=2)", 0.5, 2.0),
        ("90% of the time made infinitely fast (f=0.9, s=inf)", 0.9, np.inf),
        ("slowed down (f=0.3, s=0.5)", 0.3, 0.5),
        ("array of fractions, one speedup", np.array([0.1, 0.5, 0.9, 0.99]), 100.0),
        ("fractions (3, 1) against speedups (4,)", np.array([[0.2], [0.6], [0.95]]), np.array([1.0, 2.0, 10.0, 1e6])),
    ]
    hint = "the unaccelerated part still takes (1 - f); the accelerated part takes f / s; speedup = 1 / their sum"
    for case, fraction, speedup in cases:
        got = run_learner(name, case, amdahl_speedup, fraction, speedup)
        expected = reference_amdahl_speedup(fraction, speedup)
        assert_close(name, case, np.asarray(got, dtype=np.float64), expected, hint, atol=1e-9, rtol=1e-9)
    passed(name, len(cases), [case for case, *_ in cases])
