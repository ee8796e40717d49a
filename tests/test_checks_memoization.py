"""Module 17 checks: right solutions pass; stubs and typical mistakes fail with a useful report."""

import math

import numpy as np
import pytest

import tinytorch as tt
from tinytorch.checks import CheckFailed, check_cached_attention, check_kv_cache, check_kv_cache_bytes

from solutions import load_solution


# The notebook's own solutions, so the course as shipped is what passes the checks.
KVCache, kv_cache_bytes = load_solution("17_memoization", "KVCache", "kv_cache_bytes")


def attend_one_token(attn, x, cache, scale=True, use_cache=True, project=True):
    batch, heads, size = x.shape[0], attn.num_heads, attn.head_dim
    qkv = x.data @ attn.in_proj_weight.data.T
    if attn.in_proj_bias is not None:
        qkv = qkv + attn.in_proj_bias.data
    q, k, v = qkv.reshape(batch, 1, 3, heads, size).transpose(2, 0, 3, 1, 4)
    keys, values = cache.append(k, v)
    if not use_cache:
        keys, values = k, v
    scores = q @ keys.transpose(0, 1, 3, 2)
    if scale:
        scores = scores / math.sqrt(size)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    out = (weights @ values).transpose(0, 2, 1, 3).reshape(batch, 1, heads * size)
    return attn.out_proj(tt.Tensor(out)) if project else tt.Tensor(out)


class StubCache:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError("Exercise: write this")


@pytest.mark.parametrize("check, solution, unsolved", [
    (check_kv_cache, KVCache, StubCache),
    (check_cached_attention, attend_one_token, None),  # None: the shared stub function
    (check_kv_cache_bytes, kv_cache_bytes, None),
])
def test_solution_passes_and_stub_fails(check, solution, unsolved, passes_and_stub_fails):
    passes_and_stub_fails(check, solution, unsolved)


# ---------------------------------------------------------------------- KVCache mistakes


class ConcatenatingCache(KVCache):
    """Grows by concatenation: right values, but copies everything on every step."""

    def append(self, k, v):
        stored_k, stored_v = self.keys[:, :, :self.length], self.values[:, :, :self.length]
        self.keys = np.concatenate([stored_k, k, self.keys[:, :, self.length + k.shape[2]:]], axis=2)
        self.values = np.concatenate([stored_v, v, self.values[:, :, self.length + k.shape[2]:]], axis=2)
        self.length += k.shape[2]
        return self.keys[:, :, :self.length], self.values[:, :, :self.length]


class CopyingCache(KVCache):
    def append(self, k, v):
        keys, values = super().append(k, v)
        return keys.copy(), values.copy()


class NoOverflowCheck(KVCache):
    def append(self, k, v):
        start, stop = self.length, self.length + k.shape[2]
        self.keys[:, :, start:stop] = k  # NumPy clips the slice: silently loses the keys
        self.values[:, :, start:stop] = v
        self.length = min(stop, self.max_len)
        return self.keys[:, :, :self.length], self.values[:, :, :self.length]


class OffByOneOverflow(KVCache):
    def append(self, k, v):
        if self.length + k.shape[2] >= self.max_len:
            raise ValueError("full")
        return super().append(k, v)


class OverwritingCache(KVCache):
    """Writes every append at position 0."""

    def append(self, k, v):
        self.keys[:, :, :k.shape[2]] = k
        self.values[:, :, :k.shape[2]] = v
        self.length += k.shape[2]
        return self.keys[:, :, :self.length], self.values[:, :, :self.length]


class Float32Only(KVCache):
    def __init__(self, batch_size, num_heads, max_len, head_dim, dtype=np.float32):
        super().__init__(batch_size, num_heads, max_len, head_dim)


@pytest.mark.parametrize("cache_class, message", [
    (ConcatenatingCache, "new array after append"),
    (CopyingCache, "returned copies"),
    (NoOverflowCheck, "expected a ValueError"),
    (OffByOneOverflow, "fill exactly to max_len"),
    (OverwritingCache, "returned keys"),
    (Float32Only, "float64"),
])
def test_cache_mistakes_fail(cache_class, message, failure):
    failure(check_kv_cache, cache_class, message)


# ---------------------------------------------------------------------- attention step mistakes


@pytest.mark.parametrize("mistake, hint", [
    (dict(scale=False), "1 / sqrt"),
    (dict(use_cache=False), "every cached position"),
    (dict(project=False), "out_proj"),
])
def test_attention_mistakes_are_named(mistake, hint, failure):
    failure(check_cached_attention, lambda attn, x, cache: attend_one_token(attn, x, cache, **mistake), hint)


def test_float64_result_is_reported_with_its_cause():
    def upcasting(attn, x, cache):
        out = attend_one_token(attn, x, cache, scale=False)
        return tt.Tensor(out.data / np.sqrt(np.float64(1.0)))  # a float64 NumPy scalar upcasts

    with pytest.raises(CheckFailed, match="math.sqrt"):
        check_cached_attention(upcasting)


def test_step_that_forgets_to_append_fails():
    def no_append(attn, x, cache):
        class Peek:  # appends to a throwaway copy
            length = cache.length

            def append(self, k, v):
                keys = np.concatenate([cache.keys[:, :, :cache.length], k], axis=2)
                values = np.concatenate([cache.values[:, :, :cache.length], v], axis=2)
                return keys, values

        return attend_one_token(attn, x, Peek())

    with pytest.raises(CheckFailed, match="append the new token's key and value"):
        check_cached_attention(no_append)


# ---------------------------------------------------------------------- memory mistakes


@pytest.mark.parametrize("wrong, hint", [
    (lambda n, b, h, t, d, dtype=np.float32: n * b * h * t * d * np.dtype(dtype).itemsize, "keys AND values"),
    (lambda n, b, h, t, d, dtype=np.float32: 2 * n * b * h * t * d, "itemsize"),
    (lambda n, b, h, t, d, dtype=np.float32: float(2 * n * b * h * t * d * 4), "int"),
])
def test_cache_bytes_mistakes_fail(wrong, hint, failure):
    failure(check_kv_cache_bytes, wrong, hint)
