"""Acceleration: formulations agree, choose_fastest, fused bias+GELU, float16 and loss scaling, and the
inference compiler CompiledMLP."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn, optim
from tinytorch.acceleration import (
    CONV2D_FORMULATIONS, FUSION_CANDIDATES, LAYER_PRODUCTS, MATMUL_FORMULATIONS, CompiledMLP, LossScaler,
    MasterWeights, bias_gelu, choose_fastest, col2im, conv_output_size, gelu_op_chain, im2col, matmul_blocked, next_loss_scale,
)
from tinytorch.gradcheck import gradcheck
from tinytorch.quantization import model_size_bytes, quantize_model

rng = np.random.default_rng(0)


@pytest.mark.parametrize("shape", [(5, 7, 3), (1, 1, 1), (17, 9, 20)])
def test_matmul_formulations_agree(shape):
    m, k, n = shape
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    for name, fn in MATMUL_FORMULATIONS.items():
        out = fn(a, b)
        assert out.shape == (m, n), name
        assert np.allclose(out, a.astype(np.float64) @ b, atol=1e-4), name
    assert np.allclose(matmul_blocked(a, b, block=4), a @ b, atol=1e-5)  # ragged edge tiles


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), ((1, 2), (2, 0))])
def test_conv_formulations_agree_with_each_other(stride, padding):
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 2)).astype(np.float32)
    reference = CONV2D_FORMULATIONS["naive loops"](x, w, stride=stride, padding=padding)
    for name, fn in CONV2D_FORMULATIONS.items():
        assert np.allclose(fn(x, w, stride=stride, padding=padding), reference, atol=1e-4), name


def test_conv_formulations_match_pytorch():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    w = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    expected = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), stride=2, padding=1).numpy()
    for name, fn in CONV2D_FORMULATIONS.items():
        assert np.allclose(fn(x, w, stride=2, padding=1), expected, atol=1e-4), name


def test_im2col_layout_and_padding_value():
    x = np.arange(2 * 1 * 3 * 3).reshape(2, 1, 3, 3)
    cols, (hout, wout) = im2col(x, 2)
    assert (hout, wout) == (2, 2) and cols.shape == (2 * 2 * 2, 1 * 2 * 2)
    assert cols[0].tolist() == [0, 1, 3, 4] and cols[4].tolist() == [9, 10, 12, 13]
    cols, _ = im2col(x, 3, padding=1, pad_value=-7)
    assert cols[0].tolist() == [-7, -7, -7, -7, 0, 1, -7, 3, 4]


def test_col2im_adds_each_window_back_onto_its_pixels():
    x_shape = (1, 1, 3, 3)
    cols = np.ones((4, 4))  # the four 2 x 2 windows of a 3 x 3 image, all ones
    # the centre pixel lies in all four windows, the corners in one
    np.testing.assert_array_equal(col2im(cols, x_shape, 2)[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    cols, _ = im2col(np.ones((1, 1, 3, 3)), 3, padding=1)  # padding is cut off again
    np.testing.assert_array_equal(col2im(cols, x_shape, 3, padding=1)[0, 0], [[4, 6, 4], [6, 9, 6], [4, 6, 4]])


@pytest.mark.parametrize("kernel, stride, padding", [(3, 1, 1), ((2, 3), 2, 0), (3, (2, 1), (1, 2)), (1, 3, 0)])
def test_col2im_is_the_adjoint_of_im2col(kernel, stride, padding):
    x = rng.standard_normal((2, 3, 7, 6))
    cols, _ = im2col(x, kernel, stride, padding)
    c = rng.standard_normal(cols.shape)
    back = col2im(c, x.shape, kernel, stride, padding)
    assert back.shape == x.shape and back.dtype == c.dtype
    np.testing.assert_allclose((cols * c).sum(), (x * back).sum(), rtol=1e-12)  # <im2col x, c> = <x, col2im c>


@pytest.mark.parametrize("kernel, stride, padding", [(3, 1, 1), ((2, 3), 2, 0), (3, (2, 1), (1, 2))])
def test_col2im_matches_torch_fold(kernel, stride, padding):
    torch = pytest.importorskip("torch")
    x_shape = (2, 3, 7, 6)
    cols, (hout, wout) = im2col(np.zeros(x_shape), kernel, stride, padding)
    c = rng.standard_normal(cols.shape).astype(np.float32)
    # torch's layout is (N, C*kh*kw, L): one column per window
    theirs = torch.nn.functional.fold(torch.from_numpy(c.reshape(2, hout * wout, -1).transpose(0, 2, 1).copy()),
                                      x_shape[2:], kernel, stride=stride, padding=padding)
    np.testing.assert_allclose(col2im(c, x_shape, kernel, stride, padding), theirs.numpy(), rtol=1e-6, atol=1e-6)


def test_formulation_errors():
    a, b = np.ones((3, 4), np.float32), np.ones((5, 2), np.float32)
    for name, fn in MATMUL_FORMULATIONS.items():
        with pytest.raises(ValueError, match=r"shapes \(3, 4\) and \(5, 2\) are not aligned: 4 != 5"):
            fn(a, b)
    with pytest.raises(ValueError, match="matmul_blocked: block must be a positive int"):
        matmul_blocked(a, a.T, block=0)
    with pytest.raises(ValueError, match=r"conv2d: kernel \(5, 5\) is larger than the padded input \(4, 4\)"):
        conv_output_size(4, 4, 5)
    with pytest.raises(ValueError, match="conv2d_naive: input has 2 channels but weight"):
        CONV2D_FORMULATIONS["naive loops"](np.ones((1, 2, 4, 4)), np.ones((3, 3, 2, 2)))
    with pytest.raises(ValueError, match=r"im2col: expected input \(N, C, H, W\), got shape \(4, 4\)"):
        im2col(np.ones((4, 4)), 2)
    with pytest.raises(ValueError, match=r"col2im: expected cols of shape \(4, 4\) for input \(1, 1, 3, 3\) and kernel "
                                         r"\(2, 2\), got \(4, 9\)"):
        col2im(np.ones((4, 9)), (1, 1, 3, 3), 2)
    with pytest.raises(ValueError, match=r"col2im: expected x_shape \(N, C, H, W\), got \(3, 3\)"):
        col2im(np.ones((4, 4)), (3, 3), 2)


def test_choose_fastest_returns_a_candidate_and_its_table():
    a = rng.standard_normal((32, 32)).astype(np.float32)
    candidates = {name: fn for name, fn in MATMUL_FORMULATIONS.items() if name != "naive loops"}
    winner, table = choose_fastest(candidates, a, a, repeats=3)
    assert winner in candidates and table.winner == winner
    assert sorted(r["name"] for r in table.rows) == sorted(candidates)
    assert table.rows[0]["name"] == winner and table.rows[0]["relative"] == 1.0
    medians = [r["median_ms"] for r in table.rows]
    assert medians == sorted(medians) and all(r["relative"] >= 1.0 for r in table.rows)
    text = str(table)
    assert "NumPy" in text and all(name in text for name in candidates) and f"fastest: {winner}" in text


def test_choose_fastest_rejects_a_wrong_candidate():
    candidates = {"right": lambda x: x * 2, "wrong": lambda x: x * 2 + 1e-2}
    with pytest.raises(ValueError, match="choose_fastest: candidate 'wrong' disagrees with 'right'"):
        choose_fastest(candidates, np.ones(4))
    winner, _ = choose_fastest(candidates, np.ones(4), check=False, repeats=1)
    assert winner in candidates
    with pytest.raises(ValueError, match="choose_fastest: candidates must be a non-empty dict"):
        choose_fastest({}, 1)
    with pytest.raises(TypeError, match="choose_fastest: candidate 'x' is not callable"):
        choose_fastest({"x": 3}, 1)
    with pytest.raises(ValueError, match="choose_fastest: repeats must be an int >= 1"):
        choose_fastest(candidates, np.ones(4), repeats=0)


@pytest.mark.parametrize("approximate", ["tanh", "none"])
def test_bias_gelu_gradients(approximate):
    x = tt.tensor(rng.standard_normal((3, 4, 5)) * 2, requires_grad=True)
    b = tt.tensor(rng.standard_normal(5), requires_grad=True)
    gradcheck(lambda x, b: bias_gelu(x, b, approximate), [x, b])


@pytest.mark.parametrize("approximate", ["tanh", "none"])
def test_bias_gelu_equals_the_unfused_ops(approximate):
    x = tt.tensor(rng.standard_normal((6, 8)).astype(np.float32))
    b = tt.tensor(rng.standard_normal(8).astype(np.float32))
    fused = bias_gelu(x, b, approximate)
    assert fused.dtype == np.float32
    assert np.allclose(fused.data, (x + b).gelu(approximate=approximate).data, atol=1e-6)
    if approximate == "tanh":
        assert np.allclose(gelu_op_chain(x + b).data, fused.data, atol=1e-6)


def test_bias_gelu_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((4, 6)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    for approximate in ("tanh", "none"):
        expected = torch.nn.functional.gelu(torch.from_numpy(x) + torch.from_numpy(b), approximate=approximate)
        assert np.allclose(bias_gelu(tt.tensor(x), tt.tensor(b), approximate).data, expected.numpy(), atol=1e-6)


def test_fusion_candidates_agree_and_can_be_timed():
    x = tt.tensor(rng.standard_normal((16, 32)).astype(np.float32), requires_grad=True)
    b = tt.tensor(rng.standard_normal(32).astype(np.float32), requires_grad=True)
    winner, table = choose_fastest(FUSION_CANDIDATES, x, b, repeats=2)
    assert winner in FUSION_CANDIDATES and len(table.rows) == 3


def test_bias_gelu_errors():
    with pytest.raises(ValueError, match=r"bias_gelu: bias of shape \(4,\) does not match input \(2, 5\)"):
        bias_gelu(tt.zeros(2, 5), tt.zeros(4))
    with pytest.raises(ValueError, match="bias_gelu: approximate must be"):
        bias_gelu(tt.zeros(2, 5), tt.zeros(5), approximate="fast")
    with pytest.raises(TypeError, match="bias_gelu: input and bias must be Tensors"):
        bias_gelu(np.zeros((2, 5)), tt.zeros(5))


def test_float16_storage_halves_the_model():
    tt.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    before = model_size_bytes(model)
    model.half()
    assert model_size_bytes(model) * 2 == before
    assert model(tt.randn(2, 16).half()).dtype == np.float16


class OneParameter:
    """A stand-in optimizer over one parameter, to drive the scaler deterministically."""

    def __init__(self, value=1.0):
        self.param = nn.Parameter(np.array([value], np.float32))
        self.optimizer = optim.SGD([self.param], lr=0.5)

    def backward_with(self, grad):
        self.param.grad = tt.tensor(np.array([grad], np.float32))


def test_loss_scaler_skips_a_step_on_overflow_and_halves_the_scale():
    setup = OneParameter()
    scaler = LossScaler(init_scale=1024.0, growth_interval=3)
    for bad in (np.inf, np.nan):
        setup.backward_with(bad)
        assert scaler.step(setup.optimizer) is False
        scaler.update()
        assert setup.param.data[0] == 1.0  # unchanged: the step was skipped
    assert scaler.get_scale() == 256.0 and scaler.skipped_steps == 2


def test_loss_scaler_grows_the_scale_after_n_good_steps_and_unscales():
    setup = OneParameter()
    scaler = LossScaler(init_scale=8.0, growth_interval=3)
    for step in range(1, 7):
        scale = scaler.get_scale()
        setup.backward_with(2.0 * scale)  # the gradient of a scaled loss
        before = setup.param.data[0]
        assert scaler.step(setup.optimizer) is True
        assert setup.param.data[0] == pytest.approx(before - 0.5 * 2.0)  # unscaled before the update
        scaler.update()
        assert scaler.get_scale() == (8.0 if step < 3 else 16.0 if step < 6 else 32.0)
    # an overflow resets the count of good steps
    setup.backward_with(np.inf)
    scaler.step(setup.optimizer)
    scaler.update()
    assert scaler.get_scale() == 16.0


def test_next_loss_scale_backs_off_on_overflow_and_grows_after_the_interval():
    assert next_loss_scale(1024.0, 5, True) == (512.0, 0)  # overflow: back off, restart the count
    assert next_loss_scale(1024.0, 0, False, growth_interval=3) == (1024.0, 1)
    assert next_loss_scale(1024.0, 2, False, growth_interval=3) == (2048.0, 0)  # 3rd clean step: grow
    assert next_loss_scale(8.0, 0, False, growth_factor=4.0, growth_interval=1) == (32.0, 0)
    assert next_loss_scale(8.0, 1, True, backoff_factor=0.25) == (2.0, 0)


def test_next_loss_scale_matches_torch_amp_update_scale():
    torch = pytest.importorskip("torch")
    flags = [False, False, True, False, False, False, False, True, True, False, False, False]
    for growth_factor, backoff_factor, interval in [(2.0, 0.5, 3), (4.0, 0.25, 1), (2.0, 0.5, 2000)]:
        scale, good = 2.0 ** 16, 0
        theirs, tracker = torch.tensor([2.0 ** 16]), torch.tensor([0], dtype=torch.int32)
        for flag in flags:
            scale, good = next_loss_scale(scale, good, flag, growth_factor, backoff_factor, interval)
            # what GradScaler.update runs
            torch._amp_update_scale_(theirs, tracker, torch.tensor([float(flag)]), growth_factor, backoff_factor,
                                     interval)
            assert (scale, good) == (theirs.item(), tracker.item())


def test_loss_scaler_update_follows_next_loss_scale():
    scaler = LossScaler(init_scale=64.0, growth_factor=3.0, backoff_factor=0.25, growth_interval=2)
    scale, good = 64.0, 0
    for flag in [False, False, True, False, True, False, False, False]:
        scaler._found_inf = flag  # what unscale_ would have found
        scaler.update()
        scale, good = next_loss_scale(scale, good, flag, 3.0, 0.25, 2)
        assert (scaler.get_scale(), scaler.state_dict()["good_steps"]) == (scale, good)


def test_loss_scaler_scales_the_loss_and_checks_call_order():
    scaler = LossScaler(init_scale=4.0)
    assert scaler.scale(tt.tensor(1.5)).item() == 6.0
    setup = OneParameter()
    setup.backward_with(1.0)
    scaler.unscale_(setup.optimizer)
    with pytest.raises(RuntimeError, match="LossScaler.unscale_: already called"):
        scaler.unscale_(setup.optimizer)
    scaler.step(setup.optimizer)
    scaler.update()
    with pytest.raises(RuntimeError, match="LossScaler.update: call step"):
        scaler.update()
    assert LossScaler(enabled=False).scale(tt.tensor(2.0)).item() == 2.0
    with pytest.raises(ValueError, match="LossScaler: backoff_factor must be in"):
        LossScaler(backoff_factor=1.0)
    with pytest.raises(ValueError, match="LossScaler: init_scale must be > 0"):
        LossScaler(init_scale=0)
    with pytest.raises(ValueError, match="LossScaler: growth_interval must be an int >= 1"):
        LossScaler(growth_interval=0)
    with pytest.raises(TypeError, match="LossScaler.scale: expected a Tensor loss"):
        scaler.scale(1.0)
    restored = LossScaler()
    restored.load_state_dict(scaler.state_dict())
    assert restored.get_scale() == scaler.get_scale()


def test_mixed_precision_training_recovers_from_an_overflowing_scale():
    tt.manual_seed(0)
    x = tt.randn(64, 8)
    y = (x.data[:, :1] > 0).astype(np.int64).reshape(-1)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2)).half()
    master = MasterWeights(model)
    optimizer = optim.SGD(master.parameters(), lr=0.5)
    scaler = LossScaler(init_scale=2.0 ** 24, growth_interval=1000)  # overflows float16 at first
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(40):
        loss = loss_fn(model(x.half()).float(), tt.tensor(y))
        with np.errstate(over="ignore", invalid="ignore"):  # the overflow is the point
            scaler.scale(loss).backward()
        master.copy_grads_to_master()
        scaler.step(optimizer)
        scaler.update()
        master.copy_master_to_model()
        model.zero_grad()
        losses.append(loss.item())
    assert scaler.skipped_steps >= 1 and scaler.get_scale() < 2.0 ** 24
    assert all(p.dtype == np.float16 for p in model.parameters())
    assert all(p.dtype == np.float32 for p in master.parameters())
    assert losses[-1] < 0.5 * losses[0]
    with pytest.raises(ValueError, match="MasterWeights: ReLU has no parameters"):
        MasterWeights(nn.ReLU())


# ---------------------------------------------------------------------- CompiledMLP


def _mlp(*widths, bias=True):
    tt.manual_seed(0)
    layers = []
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(n_in, n_out, bias=bias), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


@pytest.mark.parametrize("bias", [True, False])
def test_compiled_mlp_computes_the_models_function_on_any_leading_shape(bias):
    model = _mlp(5, 7, 3, bias=bias)
    compiled = CompiledMLP(model, batch=4)
    assert len(compiled.choices) == 2 and set(compiled.choices) <= set(LAYER_PRODUCTS)
    for shape in [(6, 5), (1, 5), (2, 3, 5), (5,), (0, 5)]:
        x = tt.randn(*shape)
        given = x.data.copy()
        with tt.no_grad():
            np.testing.assert_allclose(compiled(x).data, model(x).data, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(x.data, given)
    assert model_size_bytes(compiled) == model_size_bytes(model)


def test_compiled_mlp_keeps_an_int8_model_int8_and_owns_its_arrays():
    model = _mlp(5, 7, 3)
    x = tt.randn(4, 5)
    int8 = quantize_model(model, [x])
    compiled = CompiledMLP(int8, batch=4)
    with tt.no_grad():
        expected = int8(x).data
    np.testing.assert_array_equal(compiled(x).data, expected)
    assert [b.dtype for name, b in compiled.named_buffers() if name.startswith("weight")] == [np.int8, np.int8]
    assert model_size_bytes(compiled) <= model_size_bytes(int8)
    for t in list(int8.buffers()):
        t.data[...] = 0
    np.testing.assert_array_equal(compiled(x).data, expected)


def test_compiled_mlp_refuses_what_it_cannot_compile():
    with pytest.raises(TypeError, match=r"CompiledMLP: cannot compile layer 1 \(Tanh\)"):
        CompiledMLP(nn.Sequential(nn.Linear(2, 2), nn.Tanh()))
    compiled = CompiledMLP(_mlp(5, 3))
    with pytest.raises(ValueError, match=r"CompiledMLP: expected input \(\*, 5\), got shape \(2, 4\)"):
        compiled(tt.randn(2, 4))
