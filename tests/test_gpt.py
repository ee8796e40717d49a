"""TransformerBlock and the GPT model: values, gradients, PyTorch parity, generation, errors."""

import math

import numpy as np
import pytest

import tinytorch
from tinytorch import nn
from tinytorch.gradcheck import gradcheck
from tinytorch.models import GPT, GPTConfig
from tinytorch.models.gpt import _sample


def tiny_config(**overrides):
    settings = dict(vocab_size=7, block_size=8, n_layer=2, n_head=2, n_embd=8)
    settings.update(overrides)
    return GPTConfig(**settings)


# ---------------------------------------------------------------------- TransformerBlock

def test_block_shape_and_causality():
    tinytorch.manual_seed(0)
    block = nn.TransformerBlock(8, 2)
    x = tinytorch.randn(2, 5, 8)
    out = block(x)
    assert out.shape == (2, 5, 8)
    changed = x.data.copy()
    changed[:, 3:] += 1.0  # later positions must not affect earlier outputs
    again = block(tinytorch.Tensor(changed))
    np.testing.assert_allclose(out.data[:, :3], again.data[:, :3], atol=1e-6)
    assert not np.allclose(out.data[:, 3:], again.data[:, 3:])


def test_block_gradcheck():
    tinytorch.manual_seed(0)
    block = nn.TransformerBlock(4, 2, mlp_ratio=2).double()
    x = tinytorch.randn(2, 3, 4, dtype=np.float64, requires_grad=True)
    assert gradcheck(lambda x, *p: block(x), [x] + list(block.parameters()))


def test_block_input_error():
    block = nn.TransformerBlock(8, 2)
    with pytest.raises(ValueError, match=r"TransformerBlock: expected input \(B, T, 8\), got shape \(2, 5, 4\)"):
        block(tinytorch.zeros(2, 5, 4))


def test_block_matches_pytorch_pre_norm_encoder_layer():
    torch = pytest.importorskip("torch")
    tinytorch.manual_seed(0)
    block = nn.TransformerBlock(8, 2).double()
    ref = torch.nn.TransformerEncoderLayer(
        8, 2, dim_feedforward=32, dropout=0.0, batch_first=True, norm_first=True,
        activation=lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
    ).double()
    names = {"ln1": "norm1", "ln2": "norm2", "attn": "self_attn", "mlp.fc": "linear1", "mlp.proj": "linear2"}
    state = {}
    for key, value in block.state_dict().items():
        prefix = next(p for p in names if key.startswith(p + "."))
        state[names[prefix] + key[len(prefix):]] = torch.tensor(value.numpy())
    ref.load_state_dict(state)
    # LayerNorm's affine parameters must matter in the comparison, so move them off 1 and 0.
    with tinytorch.no_grad(), torch.no_grad():
        for ours, theirs in ((block.ln1, ref.norm1), (block.ln2, ref.norm2)):
            ours.weight.data[...] = np.linspace(0.5, 1.5, 8)
            ours.bias.data[...] = np.linspace(-0.2, 0.2, 8)
            theirs.weight.copy_(torch.tensor(ours.weight.data))
            theirs.bias.copy_(torch.tensor(ours.bias.data))
    x = np.random.default_rng(0).standard_normal((2, 5, 8))
    ours_x = tinytorch.Tensor(x, requires_grad=True)
    out = block(ours_x)
    grad = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(grad)
    ref_x = torch.tensor(x, requires_grad=True)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=torch.float64)
    ref_out = ref(ref_x, src_mask=causal, is_causal=True)
    ref_out.backward(torch.tensor(grad))
    np.testing.assert_allclose(out.data, ref_out.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(ours_x.grad.data, ref_x.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(block.ln1.weight.grad.data, ref.norm1.weight.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(block.mlp.fc.weight.grad.data, ref.linear1.weight.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(block.attn.in_proj_weight.grad.data, ref.self_attn.in_proj_weight.grad.numpy(), atol=1e-10)


# ---------------------------------------------------------------------- GPT forward

def test_gpt_forward_shapes_and_initial_loss():
    tinytorch.manual_seed(0)
    model = GPT(tiny_config(vocab_size=50, n_embd=16))
    idx = tinytorch.randint(0, 50, (3, 8))
    logits, loss = model(idx)
    assert logits.shape == (3, 8, 50) and loss is None
    _, loss = model(idx, tinytorch.randint(0, 50, (3, 8)))
    assert abs(loss.item() - math.log(50)) < 0.1  # small init: close to uniform predictions


def test_gpt_ignores_target_positions():
    model = GPT(tiny_config())
    idx = tinytorch.randint(0, 7, (2, 6))
    targets = idx.data.copy()
    logits, full = model(idx, targets)
    targets[:, :3] = -100
    _, partial = model(idx, targets)
    logp = logits.log_softmax(-1).data
    expected = -np.take_along_axis(logp[:, 3:], idx.data[:, 3:, None], -1).mean()
    np.testing.assert_allclose(partial.item(), expected, rtol=1e-5)


def test_gpt_gradcheck_loss():
    tinytorch.manual_seed(0)
    model = GPT(tiny_config(vocab_size=5, block_size=4, n_layer=1, n_embd=4)).double()
    idx = tinytorch.randint(0, 5, (2, 4))
    targets = tinytorch.randint(0, 5, (2, 4))
    params = list(model.parameters())
    assert gradcheck(lambda *p: model(idx, targets)[1], params)


def test_gpt_tied_and_untied_head():
    tied = GPT(tiny_config())
    assert tied.lm_head.weight is tied.wte.weight
    untied = GPT(tiny_config(tie_weights=False))
    assert untied.lm_head.weight is not untied.wte.weight
    assert untied.num_parameters() - tied.num_parameters() == 7 * 8
    # the tied weight gets gradient from both the embedding and the head
    idx = tinytorch.randint(0, 7, (2, 5))
    _, loss = tied(idx, idx)
    loss.backward()
    head_only = tied.lm_head.weight.grad.data.copy()
    assert np.abs(head_only).sum() > 0


def test_gpt_residual_projections_use_scaled_init():
    tinytorch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=8, n_head=4, n_embd=64))
    std = model.blocks[0].mlp.proj.weight.data.std()
    assert abs(std - 0.02 / math.sqrt(16)) < 0.001
    assert abs(model.blocks[0].mlp.fc.weight.data.std() - 0.02) < 0.002
    np.testing.assert_array_equal(model.blocks[0].mlp.fc.bias.data, 0)


def test_gpt_state_dict_round_trip():
    a, b = GPT(tiny_config()), GPT(tiny_config())
    b.load_state_dict(a.state_dict())
    idx = tinytorch.randint(0, 7, (2, 5))
    np.testing.assert_array_equal(a(idx)[0].data, b(idx)[0].data)


def test_gpt_errors():
    model = GPT(tiny_config(vocab_size=65, block_size=8))
    with pytest.raises(ValueError, match="GPT: sequence length 9 exceeds block_size 8"):
        model(tinytorch.zeros(1, 9, dtype=np.int64))
    with pytest.raises(IndexError, match="GPT: token id 70 is out of range for vocab_size 65"):
        model(tinytorch.tensor([[1, 70]]))
    with pytest.raises(TypeError, match="GPT: token ids must be integers, got dtype float32"):
        model(tinytorch.zeros(1, 4))
    with pytest.raises(ValueError, match=r"GPT: expected token ids of shape \(B, T\), got \(4,\)"):
        model(tinytorch.zeros(4, dtype=np.int64))
    with pytest.raises(ValueError, match=r"GPT: targets shape \(1, 3\) does not match idx shape \(1, 4\)"):
        model(tinytorch.zeros(1, 4, dtype=np.int64), tinytorch.zeros(1, 3, dtype=np.int64))
    with pytest.raises(ValueError, match="GPT: n_embd 10 is not divisible by n_head 3"):
        GPT(tiny_config(n_embd=10, n_head=3))


def test_gpt_matches_pytorch_twin():
    torch = pytest.importorskip("torch")
    tinytorch.manual_seed(0)
    config = tiny_config(vocab_size=11, n_embd=8)
    model = GPT(config).double()
    state = {k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()}

    class Twin(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = torch.nn.Embedding(11, 8)
            self.wpe = torch.nn.Embedding(8, 8)
            self.blocks = torch.nn.ModuleList(torch.nn.ModuleDict(dict(
                ln1=torch.nn.LayerNorm(8), attn=torch.nn.MultiheadAttention(8, 2, batch_first=True),
                ln2=torch.nn.LayerNorm(8), mlp=torch.nn.ModuleDict(dict(fc=torch.nn.Linear(8, 32), proj=torch.nn.Linear(32, 8))),
            )) for _ in range(2))
            self.ln_f = torch.nn.LayerNorm(8)
            self.lm_head = torch.nn.Linear(8, 11, bias=False)
            self.lm_head.weight = self.wte.weight

        def forward(self, idx):
            t = idx.shape[1]
            x = self.wte(idx) + self.wpe(torch.arange(t))
            mask = torch.nn.Transformer.generate_square_subsequent_mask(t, dtype=torch.float64)
            for b in self.blocks:
                h = b["ln1"](x)
                x = x + b["attn"](h, h, h, attn_mask=mask, need_weights=False)[0]
                x = x + b["mlp"]["proj"](torch.nn.functional.gelu(b["mlp"]["fc"](b["ln2"](x)), approximate="tanh"))
            return self.lm_head(self.ln_f(x))

    twin = Twin().double()
    twin.load_state_dict(state)
    idx = np.random.default_rng(0).integers(0, 11, (3, 8))
    logits, loss = model(tinytorch.tensor(idx), tinytorch.tensor(idx))
    loss.backward()
    ref_logits = twin(torch.tensor(idx))
    ref_loss = torch.nn.functional.cross_entropy(ref_logits.reshape(-1, 11), torch.tensor(idx).reshape(-1))
    ref_loss.backward()
    np.testing.assert_allclose(logits.data, ref_logits.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(loss.item(), ref_loss.item(), rtol=1e-10)
    ref_params = dict(twin.named_parameters())
    for name, param in model.named_parameters():
        np.testing.assert_allclose(param.grad.data, ref_params[name].grad.numpy(), atol=1e-10, err_msg=name)


# ---------------------------------------------------------------------- generation

def test_generate_appends_tokens_and_is_seeded():
    tinytorch.manual_seed(0)
    model = GPT(tiny_config())
    prompt = tinytorch.tensor([[1, 2, 3], [4, 5, 6]])
    a = model.generate(prompt, 10, generator=tinytorch.Generator(5))
    b = model.generate(prompt, 10, generator=tinytorch.Generator(5))
    c = model.generate(prompt, 10, generator=tinytorch.Generator(6))
    assert a.shape == (2, 13) and a.dtype == np.int64
    np.testing.assert_array_equal(a.data[:, :3], prompt.data)
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(a.data, c.data)
    assert a.data.min() >= 0 and a.data.max() < 7
    assert not any(p.requires_grad and p.grad is not None for p in model.parameters())


def test_generate_greedy_equals_top_k_one():
    model = GPT(tiny_config())
    prompt = tinytorch.tensor([[1, 2]])
    greedy = model.generate(prompt, 6, temperature=0)
    top1 = model.generate(prompt, 6, top_k=1, generator=tinytorch.Generator(0))
    np.testing.assert_array_equal(greedy.data, top1.data)


def test_sample_respects_top_k_and_temperature():
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]] * 4000))
    rng = np.random.default_rng(0)
    picks = _sample(logits, 1.0, 2, rng)
    assert set(np.unique(picks)) == {0, 1}
    np.testing.assert_allclose(np.mean(picks == 0), 0.5 / 0.8, atol=0.03)
    free = _sample(logits, 1.0, None, rng)
    np.testing.assert_allclose((free[:, None] == np.arange(4)).mean(axis=0), [0.5, 0.3, 0.15, 0.05], atol=0.03)
    cold = _sample(logits, 0.05, None, rng)
    assert np.mean(cold == 0) > 0.99


def test_generate_argument_errors():
    model = GPT(tiny_config())
    prompt = tinytorch.tensor([[1, 2]])
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        model.generate(prompt, 3, temperature=-1)
    with pytest.raises(ValueError, match="top_k must be a positive int or None"):
        model.generate(prompt, 3, top_k=0)
    with pytest.raises(ValueError, match="max_new_tokens must be a non-negative int"):
        model.generate(prompt, -1)
    with pytest.raises(IndexError, match="GPT.generate: token id 9 is out of range for vocab_size 7"):
        model.generate(tinytorch.tensor([[9]]), 3)
    with pytest.raises(ValueError, match="need at least one token of context"):
        model.generate(tinytorch.zeros(1, 0, dtype=np.int64), 3)


# ---------------------------------------------------------------------- training recipe

# A few seconds natively; about a minute in Pyodide (no BLAS), so marked slow there only.
@(pytest.mark.slow if tinytorch.platform.is_browser() else lambda test: test)
def test_reversal_recipe_learns_and_generation_agrees():
    from tinytorch.datasets import sequences
    from tinytorch.models.recipes import exact_match, train_reversal

    run = train_reversal(seed=0, test_size=300)
    assert run.test_accuracy >= 0.98
    assert run.losses[-1] < 0.1 < run.losses[0]
    # greedy (cached) generation from the prompt scores exactly as the teacher-forced check
    inputs, targets = sequences.make_reversal(100, seed=5, split="test")
    prompt_len = run.task.prompt_len
    out = run.model.generate(tinytorch.tensor(inputs[:, :prompt_len]), run.task.answer_len, temperature=0)
    reversed_digits = inputs[:, : prompt_len - 1][:, ::-1]
    generated = np.mean(np.all(out.data[:, prompt_len:] == reversed_digits, axis=1))
    assert generated == exact_match(run.model, inputs, targets) >= 0.98
