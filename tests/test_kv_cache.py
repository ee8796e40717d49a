"""KVCache and cached generation: same results as recomputing everything, clear errors."""

import numpy as np
import pytest

import tinytorch
from tinytorch import nn
from tinytorch.models import GPT, GPTConfig, KVCache, kv_cache_bytes


def test_append_returns_everything_stored():
    cache = KVCache(batch_size=2, num_heads=3, max_len=6, head_dim=4)
    k1, v1 = np.ones((2, 3, 2, 4)), 2 * np.ones((2, 3, 2, 4))
    keys, values = cache.append(k1, v1)
    assert keys.shape == (2, 3, 2, 4) and cache.length == 2
    keys, values = cache.append(3 * np.ones((2, 3, 1, 4)), 4 * np.ones((2, 3, 1, 4)))
    assert keys.shape == (2, 3, 3, 4) and cache.length == 3
    np.testing.assert_array_equal(keys[0, 0, :, 0], [1, 1, 3])
    np.testing.assert_array_equal(values[0, 0, :, 0], [2, 2, 4])
    cache.reset()
    assert cache.length == 0 and cache.append(k1, v1)[0].shape[2] == 2


def test_nbytes_and_repr():
    cache = KVCache(2, 4, 64, 32)
    assert cache.nbytes == 2 * (2 * 4 * 64 * 32) * 4
    assert KVCache(2, 4, 64, 32, dtype=np.float64).nbytes == 2 * cache.nbytes
    assert "max_len=64" in repr(cache) and "length=0" in repr(cache)


def test_kv_cache_bytes_equals_the_caches_a_gpt_allocates():
    tinytorch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, block_size=24, n_layer=3, n_head=2, n_embd=8))
    allocated = sum(cache.nbytes for cache in model.make_kv_caches(5))
    assert kv_cache_bytes(3, 5, 2, 24, 4) == allocated == 2 * 3 * 5 * 2 * 24 * 4 * 4
    assert kv_cache_bytes(3, 5, 2, 24, 4, np.float16) * 2 == allocated
    assert kv_cache_bytes(12, 1, 12, 1024, 64) == 75_497_472  # GPT-2 small, float32: 72 MiB
    assert kv_cache_bytes(4, 2, 8, 0, 32) == 0 and type(kv_cache_bytes(1, 1, 1, 1, 1)) is int


def test_overflow_and_shape_errors():
    cache = KVCache(1, 2, 4, 3)
    cache.append(np.zeros((1, 2, 3, 3)), np.zeros((1, 2, 3, 3)))
    with pytest.raises(ValueError, match="KVCache: cannot append 2 positions to a cache holding 3 of max_len 4"):
        cache.append(np.zeros((1, 2, 2, 3)), np.zeros((1, 2, 2, 3)))
    with pytest.raises(ValueError, match=r"expected keys and values of shape \(B=1, H=2, T, D=3\), got \(1, 2, 1, 5\)"):
        cache.append(np.zeros((1, 2, 1, 5)), np.zeros((1, 2, 1, 5)))


def test_cached_attention_matches_full_causal_attention():
    tinytorch.manual_seed(0)
    mha = nn.MultiHeadAttention(8, 2).eval()
    x = tinytorch.randn(2, 7, 8)
    with tinytorch.no_grad():
        full, _ = mha(x, x, x, is_causal=True)
        cache = KVCache(2, 2, 7, 4)
        pieces = []
        for start, stop in ((0, 3), (3, 4), (4, 6), (6, 7)):  # a prefill, then chunks of 1 and 2
            part = x[:, start:stop]
            pieces.append(mha(part, part, part, is_causal=True, kv_cache=cache)[0].data)
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), full.data, rtol=1e-5, atol=1e-6)
    assert cache.length == 7


def test_cache_refuses_to_record_gradients():
    mha = nn.MultiHeadAttention(4, 2)
    x = tinytorch.randn(1, 2, 4)
    with pytest.raises(RuntimeError, match="kv_cache is for inference; run generation under tinytorch.no_grad"):
        mha(x, x, x, is_causal=True, kv_cache=KVCache(1, 2, 4, 2))
    with pytest.raises(ValueError, match="kv_cache works only for self-attention"):
        mha(x, tinytorch.randn(1, 2, 4), x, kv_cache=KVCache(1, 2, 4, 2))


def test_gpt_make_kv_caches_size():
    model = GPT(GPTConfig(vocab_size=11, block_size=16, n_layer=3, n_head=2, n_embd=8))
    caches = model.make_kv_caches(batch_size=5)
    assert len(caches) == 3
    assert caches[0].keys.shape == (5, 2, 16, 4)
    assert sum(c.nbytes for c in caches) == 3 * 2 * 5 * 16 * 8 * 4


@pytest.mark.parametrize("kwargs", [
    dict(temperature=1.0),
    dict(temperature=0.7, top_k=3),
    dict(temperature=0),
])
def test_cached_generation_is_token_identical(kwargs):
    tinytorch.manual_seed(1)
    model = GPT(GPTConfig(vocab_size=13, block_size=12, n_layer=2, n_head=2, n_embd=16))
    prompt = tinytorch.randint(0, 13, (3, 5))
    # 5 + 20 tokens: goes past block_size 12, so the context is cropped and the cache rebuilt
    cached = model.generate(prompt, 20, generator=tinytorch.Generator(7), use_cache=True, **kwargs)
    plain = model.generate(prompt, 20, generator=tinytorch.Generator(7), use_cache=False, **kwargs)
    np.testing.assert_array_equal(cached.data, plain.data)


def test_cached_generation_from_a_prompt_longer_than_block_size():
    model = GPT(GPTConfig(vocab_size=13, block_size=6, n_layer=1, n_head=2, n_embd=8))
    prompt = tinytorch.randint(0, 13, (2, 10))
    cached = model.generate(prompt, 4, generator=tinytorch.Generator(0))
    plain = model.generate(prompt, 4, generator=tinytorch.Generator(0), use_cache=False)
    np.testing.assert_array_equal(cached.data, plain.data)
    np.testing.assert_array_equal(cached.data[:, :10], prompt.data)
