"""Module 13 checks: right solutions pass; stubs and typical mistakes fail with a useful report."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn
from tinytorch.checks import CheckFailed, check_layer_norm, check_sample_next_token, check_transformer_block
from tinytorch.nn import Module, Parameter
from tinytorch.random import rng_of

from solutions import load_solution


class LayerNorm(Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.normalized_shape, self.eps = normalized_shape, eps
        self.weight = Parameter(np.ones(normalized_shape, dtype=np.float32))
        self.bias = Parameter(np.zeros(normalized_shape, dtype=np.float32))

    def statistics(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        return mean, ((x - mean) ** 2).mean(dim=-1, keepdim=True)

    def forward(self, x):
        mean, var = self.statistics(x)
        return (x - mean) / (var + self.eps).sqrt() * self.weight + self.bias


class TransformerBlock(Module):
    def __init__(self, d_model, n_heads, mlp_ratio=4, attention=nn.MultiHeadAttention):
        super().__init__()
        hidden = int(mlp_ratio * d_model)
        self.ln1, self.attn, self.ln2 = LayerNorm(d_model), attention(d_model, n_heads), LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, d_model))

    def attend(self, h, causal=True):
        return self.attn(h, h, h, is_causal=causal, need_weights=False)[0]

    def forward(self, x):
        x = x + self.attend(self.ln1(x))
        return x + self.mlp(self.ln2(x))


# The notebook's own solutions, so the course as shipped is what passes the checks.
sample_next_token = load_solution("13_transformers", "sample_next_token")


@pytest.mark.parametrize("check, solution", [
    (check_layer_norm, LayerNorm), (check_transformer_block, TransformerBlock),
    (check_sample_next_token, sample_next_token),
])
def test_solution_passes_and_stub_fails(check, solution, passes_and_stub_fails):
    passes_and_stub_fails(check, solution)


def test_library_and_module_12_attention_pass():
    check_layer_norm(nn.LayerNorm)
    check_transformer_block(nn.TransformerBlock)

    class WithModule12Attention(TransformerBlock):  # the notebook's MultiHeadAttention of module 12
        def __init__(self, d_model, n_heads, mlp_ratio=4):
            super().__init__(d_model, n_heads, mlp_ratio,
                             attention=load_solution("12_attention", "MultiHeadAttention"))

    check_transformer_block(WithModule12Attention)


def test_layer_norm_mistakes():
    class Unbiased(LayerNorm):
        def statistics(self, x):
            return x.mean(dim=-1, keepdim=True), x.var(dim=-1, keepdim=True)  # correction=1

    with pytest.raises(CheckFailed, match=r"input \(4, 8\)(.|\n)*correction=0"):
        check_layer_norm(Unbiased)

    class OneMinusSquares(LayerNorm):  # E[x^2] - E[x]^2: cancels in float32
        def statistics(self, x):
            mean = x.mean(dim=-1, keepdim=True)
            return mean, (x * x).mean(dim=-1, keepdim=True) - mean * mean

    with pytest.raises(CheckFailed, match=r"large offset(.|\n)*cancels catastrophically"):
        check_layer_norm(OneMinusSquares)

    class WrongAxis(LayerNorm):
        def statistics(self, x):
            mean = x.mean(dim=0, keepdim=True)
            return mean, ((x - mean) ** 2).mean(dim=0, keepdim=True)

    with pytest.raises(CheckFailed, match=r"input \(4, 8\)"):
        check_layer_norm(WrongAxis)

    class EpsOutside(LayerNorm):
        def forward(self, x):
            mean, var = self.statistics(x)
            return (x - mean) / (var.sqrt() + self.eps) * self.weight + self.bias

    with pytest.raises(CheckFailed, match=r"constant rows|eps=0.1"):
        check_layer_norm(EpsOutside)

    class NoAffine(LayerNorm):
        def forward(self, x):
            mean, var = self.statistics(x)
            return (x - mean) / (var + self.eps).sqrt()

    with pytest.raises(CheckFailed, match=r"input \(4, 8\)"):
        check_layer_norm(NoAffine)

    class RandomInit(LayerNorm):
        def __init__(self, normalized_shape, eps=1e-5):
            super().__init__(normalized_shape, eps)
            self.weight.data[...] = tt.randn(normalized_shape).data

    with pytest.raises(CheckFailed, match="weight starts at"):
        check_layer_norm(RandomInit)

    class Detached(LayerNorm):
        def forward(self, x):
            mean, var = self.statistics(tt.Tensor(x.data))
            return (x - mean) / (var + self.eps).sqrt() * self.weight + self.bias

    with pytest.raises(CheckFailed, match="gradient of the input"):
        check_layer_norm(Detached)


def test_transformer_block_mistakes():
    class PostNorm(TransformerBlock):
        def forward(self, x):
            x = self.ln1(x + self.attend(x))
            return self.ln2(x + self.mlp(x))

    with pytest.raises(CheckFailed, match=r"input \(2, 5, 16\)(.|\n)*pre-norm"):
        check_transformer_block(PostNorm)

    class NotCausal(TransformerBlock):
        def forward(self, x):
            x = x + self.attend(self.ln1(x), causal=False)
            return x + self.mlp(self.ln2(x))

    with pytest.raises(CheckFailed, match=r"input \(2, 5, 16\)"):
        check_transformer_block(NotCausal)

    class NoResidual(TransformerBlock):
        def forward(self, x):
            x = self.attend(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    with pytest.raises(CheckFailed, match=r"input \(2, 5, 16\)"):
        check_transformer_block(NoResidual)

    class ReLU(TransformerBlock):
        def __init__(self, d_model, n_heads, mlp_ratio=4):
            super().__init__(d_model, n_heads, mlp_ratio)
            hidden = int(mlp_ratio * d_model)
            self.mlp = nn.Sequential(nn.Linear(d_model, hidden), nn.ReLU(), nn.Linear(hidden, d_model))

    with pytest.raises(CheckFailed, match=r"input \(2, 5, 16\)"):
        check_transformer_block(ReLU)

    class SharedNorm(TransformerBlock):
        def __init__(self, d_model, n_heads, mlp_ratio=4):
            super().__init__(d_model, n_heads, mlp_ratio)
            self.ln2 = self.ln1

    with pytest.raises(CheckFailed, match=r"parameters, expected|input \(2, 5, 16\)"):
        check_transformer_block(SharedNorm)

    class IgnoresRatio(TransformerBlock):
        def __init__(self, d_model, n_heads, mlp_ratio=4):
            super().__init__(d_model, n_heads, 4)

    with pytest.raises(CheckFailed, match=r"mlp_ratio=2(.|\n)*expected \[\(16, 8\), \(8, 16\)\]"):
        check_transformer_block(IgnoresRatio)

    class SwappedNorms(TransformerBlock):
        def forward(self, x):
            x = x + self.attend(self.ln2(x))
            return x + self.mlp(self.ln1(x))

    with pytest.raises(CheckFailed, match=r"input \(2, 5, 16\)"):
        check_transformer_block(SwappedNorms)


def _sampler(temperature_op=None, top_k_keeps_smallest=False, normalise=True, rng=None, stable=True):
    def sample(logits, temperature=1.0, top_k=None, generator=None):
        logits = np.asarray(logits, dtype=np.float64)
        if temperature == 0:
            return logits.argmax(axis=-1).astype(np.int64)
        logits = temperature_op(logits, temperature) if temperature_op else logits / max(temperature, 1e-9)
        vocab = logits.shape[-1]
        if top_k is not None and top_k < vocab:
            if top_k_keeps_smallest:
                kth = np.sort(logits, axis=-1)[:, top_k - 1, None]
                logits = np.where(logits > kth, -np.inf, logits)
            else:
                kth = np.sort(logits, axis=-1)[:, vocab - top_k, None]
                logits = np.where(logits < kth, -np.inf, logits)
        probs = np.exp(logits - logits.max(axis=-1, keepdims=True)) if stable else np.exp(logits)
        if normalise:
            probs /= probs.sum(axis=-1, keepdims=True)
        u = (rng or rng_of(generator)).random((len(probs), 1))
        return (probs.cumsum(axis=-1) < u).sum(axis=-1).clip(max=vocab - 1).astype(np.int64)
    return sample


@pytest.mark.parametrize("mistake, message", [
    (_sampler(temperature_op=lambda l, t: l * t), r"temperature=0.5"),
    (_sampler(top_k_keeps_smallest=True), r"top_k=1"),
    (_sampler(normalise=False), r"temperature=1.0(.|\n)*expected 56.1%"),
    (_sampler(rng=np.random.default_rng(0)), r"Generator\(5\)(.|\n)*rng_of"),
    (_sampler(stable=False), r"large logits(.|\n)*numerically unstable"),
])
def test_sampler_mistakes(mistake, message):
    with pytest.raises(CheckFailed, match=message):
        check_sample_next_token(mistake)


def test_sampler_must_use_the_default_generator():
    global_rng = np.random.default_rng(0)

    def sample(logits, temperature=1.0, top_k=None, generator=None):
        rng = generator.rng if generator is not None else global_rng  # ignores tt.manual_seed
        return _sampler(rng=rng)(logits, temperature, top_k)

    with pytest.raises(CheckFailed, match=r"generator=None(.|\n)*rng_of\(None\)"):
        check_sample_next_token(sample)

    def one_draw(logits, temperature=1.0, top_k=None, generator=None):  # a single uniform for every row
        probs = np.exp(np.asarray(logits, float) / temperature)
        probs /= probs.sum(axis=-1, keepdims=True)
        u = rng_of(generator).random()
        return (probs.cumsum(axis=-1) < u).sum(axis=-1).astype(np.int64)

    with pytest.raises(CheckFailed, match="temperature=0|same token|top_k"):
        check_sample_next_token(one_draw)


def test_reference_sampler_passes():
    from tinytorch import seams
    check_sample_next_token(seams.tinytorch("sample_next_token"))
