"""The seams of modules 09-17: replacing one changes what tinytorch computes where it uses that
piece (nn.Conv2d, nn.MaxPool2d, nn.Embedding, attention, TransformerBlock, GPT, BPETokenizer),
and restoring it gives tinytorch's own result again."""

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import nn, seams
from tinytorch.models import GPT, GPTConfig
from tinytorch.text import BPETokenizer


@pytest.fixture(autouse=True)
def _restore():
    yield
    seams.restore()


def scaled(name, factor):
    """tinytorch's own `name`, its result (every array of it) multiplied by `factor`."""
    own = seams.tinytorch(name)

    def replacement(*args, **kwargs):
        result = own(*args, **kwargs)
        if isinstance(result, tuple):
            return tuple(factor * r for r in result)
        return factor * result
    return replacement


def recording(name, calls):
    own = seams.tinytorch(name)

    def spy(*args, **kwargs):
        calls.append(name)
        return own(*args, **kwargs)
    return spy


def conv_step(padding=1, stride=1):
    """Output, input gradient and weight gradient of Conv2d + MaxPool2d on fixed data."""
    tt.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, padding=padding, stride=stride)
    x = tt.tensor(np.random.default_rng(0).standard_normal((2, 2, 8, 8)).astype(np.float32), requires_grad=True)
    out = nn.MaxPool2d(2)(conv(x))
    (out * out).sum().backward()
    return out.data, x.grad.data, conv.weight.grad.data


@pytest.mark.parametrize("name, changed", [
    ("conv2d_im2col", (0, 1, 2)),  # the forward: output and (through it) every gradient
    ("im2col", (0, 1, 2)),  # inside tinytorch's conv2d_im2col and conv2d_backward
    ("conv2d_backward", (1, 2)),
    ("col2im", (1,)),  # only the input gradient is scattered back
    ("max_pool2d", (0, 1, 2)),
    ("max_pool2d_backward", (1, 2)),
])
def test_a_replaced_convolution_piece_changes_what_conv2d_and_maxpool_compute(name, changed):
    own = conv_step()
    seams.replace(name, scaled(name, 2.0))
    replaced = conv_step()
    for i, (a, b) in enumerate(zip(own, replaced)):
        assert (not np.allclose(a, b)) == (i in changed), (name, i)
    seams.restore(name)
    for a, b in zip(own, conv_step()):
        np.testing.assert_allclose(a, b)


def test_tinytorchs_own_pieces_through_the_seams_give_the_fused_convolutions_numbers():
    own = conv_step(padding=1, stride=2)
    calls = []
    for name in ("im2col", "col2im", "conv2d_im2col", "conv2d_backward", "max_pool2d", "max_pool2d_backward"):
        seams.replace(name, recording(name, calls))  # not tinytorch's own object: the seams' route runs
    for a, b in zip(own, conv_step(padding=1, stride=2)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert set(calls) == {"im2col", "col2im", "conv2d_im2col", "conv2d_backward", "max_pool2d", "max_pool2d_backward"}


def test_tinytorchs_own_implementation_in_a_seam_keeps_the_fused_path_and_counts_as_used():
    def timed(fn):  # as tinytorch.mine wraps what it puts in a seam
        def wrapper(*args, **kwargs):
            calls.append(fn.__name__)
            return fn(*args, **kwargs)
        wrapper.__wrapped__ = fn
        return wrapper

    calls = []
    for name in ("conv2d_im2col", "scaled_dot_product_attention"):
        seams.replace(name, timed(seams.tinytorch(name)))
    seams.looked_up.clear()
    nn.Conv2d(2, 3, 3)(tt.randn(1, 2, 5, 5))
    attn = nn.MultiHeadAttention(8, 2)
    x = tt.randn(1, 3, 8)
    attn(x, x, x, need_weights=False)
    assert calls == []  # the fused convolution and attention ran
    assert {"conv2d_im2col", "scaled_dot_product_attention"} <= seams.looked_up


def test_a_convolution_the_exercise_does_not_cover_keeps_tinytorchs_path():
    calls = []
    seams.replace("conv2d_im2col", recording("conv2d_im2col", calls))
    x = tt.randn(1, 4, 6, 6)
    nn.Conv2d(4, 4, 3, groups=2)(x)  # groups: not the exercise's interface
    nn.Conv2d(4, 2, (3, 1))(x)  # a non-square kernel is fine
    assert calls == ["conv2d_im2col"]


def test_scatter_add_rows_is_the_embedding_backward():
    def gradient():
        table = nn.Embedding(5, 3)
        table(tt.tensor(np.array([[1, 1, 4]]))).sum().backward()
        return table.weight.grad.data

    own = gradient()
    np.testing.assert_allclose(own[1], 2.0)
    seams.replace("scatter_add_rows", scaled("scatter_add_rows", 3.0))
    np.testing.assert_allclose(gradient(), 3.0 * own)


def test_sinusoidal_positions_fill_the_positional_encoding():
    seams.replace("sinusoidal_positions", lambda max_len, d_model: np.ones((max_len, d_model), np.float32))
    encoding = nn.SinusoidalPositionalEncoding(4, 6)
    np.testing.assert_allclose(encoding.pe.data, 1.0)


def test_scaled_dot_product_attention_runs_inside_functional_and_multi_head_attention():
    tt.manual_seed(0)
    attn = nn.MultiHeadAttention(8, 2)
    x = tt.randn(2, 5, 8)
    q = tt.randn(2, 2, 5, 4)
    own_f = nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True).data
    own_mha = attn(x, x, x, need_weights=False, is_causal=True)[0].data
    seams.replace("scaled_dot_product_attention", scaled("scaled_dot_product_attention", 0.5))
    np.testing.assert_allclose(nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True).data,
                               0.5 * own_f, rtol=1e-5)
    out, weights = attn(x, x, x, is_causal=True, average_attn_weights=False)
    assert not np.allclose(out.data, own_mha)
    assert weights.shape == (2, 2, 5, 5)  # the weights are still tinytorch's to give


def test_transformer_block_and_gpt_build_their_parts_through_the_seams():
    class Norm(nn.LayerNorm):
        pass

    class Attention(nn.Module):  # module 12's interface: (embed_dim, num_heads), returns (output, None)
        def __init__(self, embed_dim, num_heads):
            super().__init__()
            self.out_proj = nn.Linear(embed_dim, embed_dim)

        def forward(self, query, key, value, key_padding_mask=None, need_weights=True, is_causal=False):
            return self.out_proj(query), None

    class Table(nn.Embedding):
        pass

    seams.replace("LayerNorm", Norm)
    seams.replace("MultiHeadAttention", Attention)
    seams.replace("Embedding", Table)
    model = GPT(GPTConfig(vocab_size=7, block_size=6, n_layer=2, n_head=2, n_embd=8))
    assert isinstance(model.wte, Table) and isinstance(model.ln_f, Norm)
    assert all(isinstance(b.ln1, Norm) and isinstance(b.attn, Attention) for b in model.blocks)
    logits, loss = model(tt.tensor(np.array([[1, 2, 3]])), tt.tensor(np.array([[2, 3, 4]])))
    loss.backward()
    assert logits.shape == (1, 3, 7) and model.blocks[0].attn.out_proj.weight.grad is not None
    assert not model.can_cache()  # neither tinytorch's attention nor module 12's: generate recomputes
    assert model.generate(tt.tensor(np.array([[1]])), 3).shape == (1, 4)


def test_gpt_builds_the_transformer_block_in_use_and_caches_with_its_parts():
    class Block(nn.TransformerBlock):  # module 13's block: no dropout argument, no kv_cache
        def __init__(self, d_model, n_heads, mlp_ratio=4):
            super().__init__(d_model, n_heads, mlp_ratio)

        def forward(self, x):
            return super().forward(x)

    tt.manual_seed(0)
    config = GPTConfig(vocab_size=9, block_size=12, n_layer=2, n_head=2, n_embd=8)
    own = GPT(config).eval()
    seams.replace("TransformerBlock", Block)
    tt.manual_seed(0)
    model = GPT(config).eval()
    assert all(type(b) is Block for b in model.blocks)
    model.load_state_dict(own.state_dict())
    prompt = tt.tensor(np.array([[1, 2, 3]]))
    cached = model.generate(prompt, 6, temperature=0, use_cache=True).numpy()
    np.testing.assert_array_equal(cached, own.generate(prompt, 6, temperature=0).numpy())


def test_module_12s_attention_generates_the_same_tokens_with_and_without_a_cache():
    from solutions import load_solution

    seams.replace("MultiHeadAttention", load_solution("12_attention", "MultiHeadAttention"))
    tt.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=9, block_size=12, n_layer=2, n_head=2, n_embd=8)).eval()
    assert hasattr(model.blocks[0].attn, "q_proj") and model.can_cache()
    prompt = tt.tensor(np.array([[1, 2, 3], [4, 5, 6]]))
    np.testing.assert_array_equal(model.generate(prompt, 8, temperature=0, use_cache=True).numpy(),
                                  model.generate(prompt, 8, temperature=0, use_cache=False).numpy())


def test_generation_draws_with_sample_next_token_and_steps_with_attend_one_token():
    tt.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=9, block_size=12, n_layer=1, n_head=2, n_embd=8)).eval()
    steps, caches = [], []
    seams.replace("sample_next_token", lambda logits, temperature=1.0, top_k=None, generator=None:
                  np.full(len(logits), 5))
    seams.replace("attend_one_token", recording("attend_one_token", steps))
    own_cache = seams.tinytorch("KVCache")

    def cache(*args):
        caches.append(own_cache(*args))
        return caches[-1]

    seams.replace("KVCache", cache)
    out = model.generate(tt.tensor(np.array([[1, 2]])), 4).numpy()
    np.testing.assert_array_equal(out[0, 2:], 5)
    assert len(steps) == 3  # the prompt fills the cache with tinytorch's step; each later token is one step
    assert len(caches) == 1 and caches[0].length == 5


def test_bpe_counts_and_merges_through_the_seams():
    text = "low lower lowest newer wider " * 5
    counted, merged = [], []
    seams.replace("get_pair_counts", recording("get_pair_counts", counted))
    seams.replace("merge", recording("merge", merged))
    tokenizer = BPETokenizer()
    tokenizer.train(text, 270)
    assert counted
    ids = tokenizer.encode("lowest wider")
    assert merged and tokenizer.decode(ids) == "lowest wider"
