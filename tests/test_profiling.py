"""Profiling: parameter counts, FLOPs equal to the analytic counts, memory, timing, hooks."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn
from tinytorch.profiling import (
    amdahl_speedup, attention_flops, count_parameters, forward_backward_time, intercept_forwards,
    measure_latency, parameter_bytes, profile, register_flop_rule,
)
from tinytorch.profiling.flops import FLOP_RULES


def mlp():
    tt.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10, bias=False))


def rows_by_name(report):
    return {r.name: r for r in report.rows()}


def test_count_parameters_and_bytes():
    model = mlp()
    assert count_parameters(model) == 64 * 32 + 32 + 32 * 10
    model[0].bias.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == 64 * 32 + 32 * 10
    assert parameter_bytes(model) == 4 * (64 * 32 + 32 + 32 * 10)


def test_shared_parameters_count_once():
    layer = nn.Linear(4, 4)
    model = nn.Sequential(layer, layer)
    assert count_parameters(model) == 20


def test_linear_flops_equal_the_analytic_count():
    model = mlp()
    report = profile(model, tt.randn(8, 64))
    rows = rows_by_name(report)
    assert rows["0"].flops == 2 * 8 * 64 * 32 + 8 * 32
    assert rows["1"].flops == 8 * 32  # ReLU: one per element
    assert rows["2"].flops == 2 * 8 * 32 * 10  # no bias
    assert report.total_flops == rows["0"].flops + rows["1"].flops + rows["2"].flops
    assert rows["0"].output_shape == (8, 32) and rows["0"].params == 64 * 32 + 32
    assert rows["2"].activation_bytes == 8 * 10 * 4


def test_linear_flops_count_all_leading_dims():
    layer = nn.Linear(6, 5)
    report = profile(layer, tt.randn(2, 3, 6))
    assert report.total_flops == 2 * (2 * 3) * 6 * 5 + 2 * 3 * 5


class Conv2dShapes(nn.Module):
    """A learner-style Conv2d (same attribute names as PyTorch's) producing the right output shape."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = (kernel_size, kernel_size), stride, padding
        self.weight = nn.Parameter(np.zeros((out_channels, in_channels, kernel_size, kernel_size), np.float32))
        self.bias = nn.Parameter(np.zeros(out_channels, np.float32)) if bias else None

    def forward(self, x):
        n, _, h, w = x.shape
        k, s, p = self.kernel_size[0], self.stride, self.padding
        return tt.zeros(n, self.out_channels, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)


Conv2dShapes.__name__ = "Conv2d"  # counted by name, like a learner's own Conv2d


def conv_expected(n, cin, cout, hout, wout, k, bias):
    return 2 * n * cout * hout * wout * cin * k * k + (n * cout * hout * wout if bias else 0)


def test_conv2d_flops_follow_the_output_shape():
    conv = Conv2dShapes(3, 8, 3, stride=2, padding=1)
    report = profile(conv, tt.randn(2, 3, 9, 9))
    assert report.layers[0].output_shape == (2, 8, 5, 5)
    assert report.total_flops == conv_expected(2, 3, 8, 5, 5, 3, bias=True)


@pytest.mark.skipif(not hasattr(nn, "Conv2d"), reason="nn.Conv2d has not landed yet")
def test_real_conv2d_flops_equal_the_analytic_count():
    tt.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, stride=2, bias=False))
    report = profile(model, tt.randn(2, 1, 8, 8))
    rows = rows_by_name(report)
    assert rows["0"].flops == conv_expected(2, 1, 4, 8, 8, 3, bias=True)
    assert rows["2"].output_shape == (2, 6, 3, 3)
    assert rows["2"].flops == conv_expected(2, 4, 6, 3, 3, 3, bias=False)


def test_attention_flops_equal_the_analytic_count():
    tt.manual_seed(0)
    b, t, e, h = 2, 5, 8, 2
    mha = nn.MultiHeadAttention(e, h)
    x = tt.randn(b, t, e)
    report = profile(mha, (x, x, x))  # self-attention: the packed projection
    rows = rows_by_name(report)
    projections = 2 * b * t * e * 3 * e + b * t * 3 * e  # packed q, k, v projection + bias
    matmuls = 2 * (2 * b * h * t * t * (e // h))  # Q @ K^T and weights @ V
    assert attention_flops(b, h, t, t, e // h) == matmuls
    assert rows["(model)"].flops == projections + matmuls
    assert rows["out_proj"].flops == 2 * b * t * e * e + b * t * e
    assert report.total_flops == projections + matmuls + rows["out_proj"].flops


def test_unknown_module_type_shows_a_question_mark_and_can_be_registered():
    class Square(nn.Module):
        def forward(self, x):
            return x * x

    report = profile(Square(), tt.randn(3, 4))
    assert report.layers[0].flops is None and "?" in str(report)
    try:
        register_flop_rule(Square, lambda module, args, kwargs, out: out.data.size)
        assert profile(Square(), tt.randn(3, 4)).total_flops == 12
    finally:
        FLOP_RULES.pop("Square", None)
    with pytest.raises(TypeError, match="register_flop_rule"):
        register_flop_rule(Square, 3)


def test_report_table_lists_every_layer_and_totals():
    report = profile(mlp(), tt.randn(4, 64))
    text = str(report)
    for word in ("name", "FLOPs", "Linear", "ReLU", "total", "(4, 10)", "parameter memory"):
        assert word in text
    assert repr(report) == text
    assert report.activation_bytes == 4 * (4 * 32 + 4 * 32 + 4 * 10)
    assert all(r.seconds >= 0 for r in report.layers)


def test_nested_times_are_own_times():
    inner = nn.Sequential(nn.Linear(8, 8), nn.ReLU())
    model = nn.Sequential(inner, nn.Linear(8, 2))
    report = profile(model, tt.randn(4, 8))
    assert [r.name for r in report.rows()] == ["0.0", "0.1", "1"]
    assert sum(r.seconds for r in report.layers) <= report.total_seconds


def test_hooks_are_removed_after_the_block_even_on_error():
    model = mlp()
    seen = []

    def around(name, module, forward, args, kwargs):
        seen.append(name)
        return forward(*args, **kwargs)

    with intercept_forwards(model.named_modules(), around):
        model(tt.randn(2, 64))
    assert seen == ["", "0", "1", "2"]
    assert all("forward" not in m.__dict__ for m in model.modules())

    def failing(name, module, forward, args, kwargs):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        with intercept_forwards(model.named_modules(), failing):
            model(tt.randn(2, 64))
    assert all("forward" not in m.__dict__ for m in model.modules())
    # other instances of the same classes were never touched
    assert "forward" not in nn.Linear(2, 2).__dict__


def test_profile_restores_grad_mode_and_leaves_no_graph():
    model = mlp()
    profile(model, tt.randn(2, 64))
    assert tt.is_grad_enabled()
    out = model(tt.randn(2, 64))
    assert out.requires_grad


def test_measure_latency_statistics():
    calls = []
    stats = measure_latency(lambda x: calls.append(x), 1, warmup=2, repeats=7)
    assert len(calls) == 9 and len(stats.samples) == 7
    assert stats.p10 <= stats.median <= stats.p90
    assert stats.min <= stats.median and stats.std >= 0
    assert "median" in str(stats) and "ms" in repr(stats)


def test_forward_backward_breakdown_and_grads_cleared():
    model = mlp()
    times = forward_backward_time(model, tt.randn(4, 64), warmup=1, repeats=3)
    assert set(times) == {"forward", "backward"}
    assert len(times["backward"].samples) == 3
    assert all(p.grad is None for p in model.parameters())


def test_amdahl_speedup_is_bounded_by_the_part_left_alone():
    assert amdahl_speedup(0.5, 2.0) == pytest.approx(4 / 3)
    assert amdahl_speedup(0.0, 10.0) == 1.0 and amdahl_speedup(1.0, 10.0) == pytest.approx(10.0)
    assert amdahl_speedup(0.9, np.inf) == pytest.approx(10.0)  # 1 / (1 - f) at best
    assert amdahl_speedup(0.3, 0.5) == pytest.approx(1 / 1.3)  # a slower part slows the whole run
    f, s = np.array([[0.2], [0.95]]), np.array([1.0, 2.0, 1e6])
    grid = amdahl_speedup(f, s)  # (2, 1) with (3,)
    assert grid.shape == (2, 3) and grid.dtype == np.float64
    np.testing.assert_allclose(grid, [[1 / (1 - fi + fi / si) for si in s] for fi in f[:, 0]])
    assert amdahl_speedup(np.float32(0.5), 2).dtype == np.float64


def test_errors():
    with pytest.raises(ValueError, match="measure_latency: repeats"):
        measure_latency(lambda: None, repeats=0)
    with pytest.raises(ValueError, match="measure_latency: warmup"):
        measure_latency(lambda: None, warmup=-1)
    with pytest.raises(TypeError, match="measure_latency: fn must be callable"):
        measure_latency(3)
    with pytest.raises(TypeError, match="profile: example_input must be a Tensor or a tuple"):
        profile(mlp(), np.zeros((2, 64)))
    with pytest.raises(ValueError, match="forward_backward_time: repeats"):
        forward_backward_time(mlp(), tt.randn(2, 64), repeats=0)


def test_gpt_profile_counts_every_layer():
    models = pytest.importorskip("tinytorch.models")
    tt.manual_seed(0)
    config = models.GPTConfig(vocab_size=20, block_size=8, n_layer=2, n_head=2, n_embd=16)
    report = profile(models.GPT(config), tt.randint(0, 20, (2, 8)))
    rows = rows_by_name(report)
    assert all(r.flops is not None for r in report.rows())
    b, t, e, h = 2, 8, 16, 2
    attention = 2 * b * t * e * 3 * e + b * t * 3 * e + 2 * (2 * b * h * t * t * (e // h))
    assert rows["blocks.0.attn"].flops == attention
    assert rows["lm_head"].flops == 2 * b * t * e * 20  # tied head, no bias
    assert report.total_params == sum(p.data.size for p in models.GPT(config).parameters())


class _FakeClock:
    """perf_counter that advances by the next of `steps` seconds at every other reading (the
    end of a call), so each call 'takes' one step."""

    def __init__(self, steps):
        self.now, self.steps, self.readings = 0.0, list(steps), 0

    def __call__(self):
        self.readings += 1
        if self.readings % 2 == 0:
            self.now += self.steps.pop(0)
        return self.now


def test_best_time_is_the_fastest_call_and_repeats_quick_calls_up_to_the_budget(monkeypatch):
    from tinytorch.profiling import timing

    calls = []
    monkeypatch.setattr(timing.time, "perf_counter", _FakeClock([0.3, 0.1, 0.2]))
    assert timing.best_time(calls.append, "x", repeats=3, budget=0.0) == pytest.approx(0.1)
    assert calls == ["x"] * 3
    monkeypatch.setattr(timing.time, "perf_counter", _FakeClock([0.01] * 50))
    calls.clear()
    timing.best_time(calls.append, 1, repeats=2, budget=0.095)  # 2 calls are not 0.095 s yet
    assert len(calls) == 10
    monkeypatch.setattr(timing.time, "perf_counter", _FakeClock([0.001] * 50))
    calls.clear()
    timing.best_time(calls.append, 1, repeats=2, budget=1.0, max_repeats=7)
    assert len(calls) == 7
    with pytest.raises(ValueError, match="best_time: repeats must be an int >= 1"):
        timing.best_time(calls.append, repeats=0)
