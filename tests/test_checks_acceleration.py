"""Module 18 checks: right solutions pass; stubs and typical mistakes fail with a useful report."""

import math

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import Tensor
from tinytorch.checks import CheckFailed
from tinytorch.checks import check_bias_gelu, check_compiled_mlp, check_matmul_tiled, check_update_scale

from solutions import load_solution

C, A = math.sqrt(2 / math.pi), 0.044715


# The notebook's own solutions, so the course as shipped is what passes the checks.
matmul_tiled, update_scale, CompiledMLP = load_solution("18_acceleration", "matmul_tiled", "update_scale", "CompiledMLP")


def bias_gelu(input, bias, product_rule=True, sum_bias=True, c=C):
    z = input.data + bias.data
    t = np.tanh(c * (z + A * z ** 3))
    out = 0.5 * z * (1 + t)

    def backward(g):
        slope = 0.5 * (1 + t)
        if product_rule:
            slope = slope + 0.5 * z * (1 - t * t) * C * (1 + 3 * A * z * z)
        grad = g * slope
        return grad, grad.reshape(-1, grad.shape[-1]).sum(axis=0) if sum_bias else grad

    return Tensor._result(out, (input, bias), backward, "BiasGeluBackward")


@pytest.mark.parametrize("check, solution", [
    (check_matmul_tiled, matmul_tiled), (check_bias_gelu, bias_gelu), (check_update_scale, update_scale),
    (check_compiled_mlp, CompiledMLP), (check_compiled_mlp, tt.acceleration.CompiledMLP),
])
def test_solution_passes_and_stub_fails(check, solution, passes_and_stub_fails):
    passes_and_stub_fails(check, solution)


# ---------------------------------------------------------------------- tiled matmul


def whole_product(a, b, tile=64):
    return a @ b


def einsum_whole(a, b, tile=64):
    return np.einsum("ik,kj->ij", a, b)


def tiled_with(partial_tiles=True, accumulate=True, dtype=None):
    """The tiled product with one typical mistake: whole tiles only, `=` instead of `+=`, or a
    fixed output dtype instead of np.result_type."""
    def matmul(a, b, tile=64):
        m, k = a.shape
        n = b.shape[1]
        out = np.zeros((m, n), dtype=np.result_type(a, b) if dtype is None else dtype)
        stop = lambda size: size if partial_tiles or size < tile else size - size % tile
        for i in range(0, stop(m), tile):
            for j in range(0, stop(n), tile):
                for p in range(0, k, tile):
                    block = a[i:i + tile, p:p + tile] @ b[p:p + tile, j:j + tile]
                    if accumulate:
                        out[i:i + tile, j:j + tile] += block
                    else:
                        out[i:i + tile, j:j + tile] = block
        return out
    return matmul


@pytest.mark.parametrize("wrong, message", [
    (whole_product, "larger than tile"),
    (einsum_whole, "larger than tile"),
    (tiled_with(partial_tiles=False), "partial tiles"),
    (tiled_with(accumulate=False), "accumulate"),
    (tiled_with(dtype=np.float64), "result_type"),
])
def test_tiled_mistakes_fail(wrong, message, failure):
    failure(check_matmul_tiled, wrong, message)


# ---------------------------------------------------------------------- fused bias + GELU


@pytest.mark.parametrize("wrong, message", [
    (lambda x, b: (x + b).gelu(approximate="tanh"), "ONE graph node"),
    (lambda x, b: bias_gelu(x, b, sum_bias=False), "sum over every leading dim for the bias"),
    (lambda x, b: bias_gelu(x, b, product_rule=False), "input gradient"),
    (lambda x, b: bias_gelu(x, b, c=np.sqrt(2 / np.pi)), "float64"),
    (lambda x, b: Tensor(np.maximum(x.data + b.data, 0)), "forward"),
])
def test_gelu_mistakes_fail(wrong, message, failure):
    failure(check_bias_gelu, wrong, message)


def test_naive_cube_does_not_trip_overflow_checks():
    # z**3 for |z| ~ 40 is fine in float32; the check must not reject correct code for it
    check_bias_gelu(bias_gelu)


# ---------------------------------------------------------------------- loss scaling


def no_reset_after_growth(scale, good_steps, found_inf, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000):
    if found_inf:
        return scale * backoff_factor, 0
    good_steps += 1
    return (scale * growth_factor if good_steps >= growth_interval else scale), good_steps


def keeps_count_after_overflow(scale, good_steps, found_inf, growth_factor=2.0, backoff_factor=0.5,
                               growth_interval=2000):
    if found_inf:
        return scale * backoff_factor, good_steps
    return update_scale(scale, good_steps, False, growth_factor, backoff_factor, growth_interval)


def grows_one_step_late(scale, good_steps, found_inf, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000):
    if found_inf:
        return scale * backoff_factor, 0
    if good_steps == growth_interval:
        return scale * growth_factor, 0
    return scale, good_steps + 1


def fixed_halving(scale, good_steps, found_inf, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000):
    return update_scale(scale, good_steps, found_inf, growth_factor, 0.5, growth_interval)


@pytest.mark.parametrize("wrong, message", [
    (no_reset_after_growth, "restarts at 0"),
    (keeps_count_after_overflow, "starts again at 0"),
    (grows_one_step_late, "growth_interval clean steps"),
    (fixed_halving, "backoff_factor"),
])
def test_scaler_mistakes_fail(wrong, message, failure):
    failure(check_update_scale, wrong, message)


def test_the_rule_matches_a_real_loss_scaler_in_training():
    """The reference rule reproduces LossScaler's scale over a run with real overflows."""
    from tinytorch.checks.acceleration import reference_update_scale
    scaler = tt.acceleration.LossScaler(init_scale=2.0 ** 20, growth_interval=2)
    scale, good = 2.0 ** 20, 0
    with np.errstate(over="ignore", invalid="ignore"):
        _run_scaler(scaler, scale, good, reference_update_scale)


def _run_scaler(scaler, scale, good, reference_update_scale):
    for big in [1e3, 1e3, 1.0, 1.0, 1.0, 1e6, 1.0]:
        model = tt.nn.Linear(2, 1).half()
        optimizer = tt.optim.SGD(model.parameters(), lr=0.0)
        loss = (model(tt.tensor(np.full((1, 2), big, np.float32)).half()).float() ** 2).sum()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        found = scaler._found_inf
        scaler.update()
        scale, good = reference_update_scale(scale, good, found, growth_interval=2)
        assert scale == scaler.get_scale()


# ---------------------------------------------------------------------- the inference compiler


def compiler_with(transpose=True, copy=True, bias=True, relu_everywhere=False, rescale="both", zero_point=True):
    """The notebook's compiler (its forward) with one typical mistake in compiling: an
    untransposed or uncopied weight, no bias, ReLU after every layer, a wrong int8 rescale or
    no zero point."""
    class Compiler(CompiledMLP):
        def __init__(self, model, batch=32):
            tt.nn.Module.__init__(self)
            self.steps, self.choices = [], []
            for i, layer in enumerate(model):
                if isinstance(layer, tt.nn.ReLU):
                    self.steps.append(("relu",))
                    continue
                w = layer.weight.data.T if transpose else layer.weight.data
                w = w.copy() if copy else w
                self.choices.append("einsum")
                self.register_buffer(f"w{i}", Tensor(np.ascontiguousarray(w)))
                self.register_buffer(f"b{i}", Tensor(layer.bias.data.copy()))
                if hasattr(layer, "weight_scale"):
                    scales = {"both": float(layer.input_scale) * layer.weight_scale.data,
                              "weight": layer.weight_scale.data.copy(), "input": np.float32(float(layer.input_scale))}
                    self.steps.append(("int8", np.matmul, w, layer.bias.data.copy(), scales[rescale],
                                       float(layer.input_scale), int(layer.input_zero_point) if zero_point else 0))
                else:
                    self.steps.append(("linear", np.matmul, w,
                                       layer.bias.data.copy() if bias else np.zeros(w.shape[-1], np.float32)))
                if relu_everywhere:
                    self.steps.append(("relu",))
    return Compiler


@pytest.mark.parametrize("wrong, message", [
    (compiler_with(transpose=False), "is a .T"),
    (compiler_with(copy=False), "zeroing the source"),
    (compiler_with(bias=False), "adds its bias"),
    (compiler_with(relu_everywhere=True), "last layer's outputs keep their sign"),
    (compiler_with(rescale="weight"), "input_scale times weight_scale"),
    (compiler_with(rescale="input"), "input_scale times weight_scale"),
    (compiler_with(zero_point=False), "zero point"),
])
def test_compiler_mistakes_fail(wrong, message, failure):
    failure(check_compiled_mlp, wrong, message)


def test_a_compiler_that_accepts_any_layer_fails():
    class Lenient(CompiledMLP):
        def __init__(self, model, batch=32):
            CompiledMLP.__init__(self, tt.nn.Sequential(*[layer for layer in model if not isinstance(layer, tt.nn.Tanh)]),
                                 batch)
    with pytest.raises(CheckFailed, match="expected TypeError"):
        check_compiled_mlp(Lenient)
