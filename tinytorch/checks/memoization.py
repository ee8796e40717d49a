"""Checks for module 17 (memoization): the KV cache, one cached attention step, cache memory.

The learner's `KVCache` is driven through the same appends as tinytorch's and compared after
each one. The cached attention step is compared with `MultiHeadAttention(..., kv_cache=)`
step by step, then used inside a full greedy generation loop that must give the same
tokens as the GPT without a cache.
"""

import numpy as np

from .. import grad_mode, nn
from ..models import GPT, GPTConfig, KVCache as ReferenceKVCache, kv_cache_bytes as reference_kv_cache_bytes
from ..random import manual_seed
from ..tensor import Tensor
from .. import seams
from ..course import registry
from .core import add_hints, assert_close, fail, passed, run_learner

# Progressive hints, one tier at a time (`tinytorch.checks.hint(name)`, or a repeated failure):
# the idea, the shapes, the formula in words. Never the code.
add_hints({
    'KVCache': (
        'keep the keys and values of past positions in preallocated arrays and write each new step in place',
        'keys and values are (B, H, max_len, D); the T new positions fill slots length .. length + T - 1 of axis 2',
        'check the new positions fit (ValueError otherwise: slices clip silently), write them, advance the length, return the filled part',
    ),
    'attend_one_token': (
        'for one new token, compute its q, k, v, add k and v to the cache, and attend over everything cached',
        "the token's projections are (B, H, 1, D); the cache returns (B, H, length, D)",
        'scores = q K^T / sqrt(D) over the cached keys (no mask needed: nothing is in the future); softmax; times the cached values; merge heads and project',
    ),
    'kv_cache_bytes': (
        'a KV cache stores two tensors (keys and values) per layer',
        'each holds batch times heads times positions times head_dim numbers',
        '2 layers batch heads seq_len head_dim times the bytes per number',
    ),
})

exercise = registry.module("17_memoization", "Memoization")


# ---------------------------------------------------------------------- the cache


def _array(value):
    return value.data if isinstance(value, Tensor) else value


def _kv(rng, batch, heads, length, size, dtype=np.float32):
    shape = (batch, heads, length, size)
    return rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)


def _compare_append(name, case, cache, reference, k, v):
    """Append k, v to both caches; compare what append returns and the stored length."""
    got = run_learner(name, case, cache.append, k, v)
    expected = reference.append(k, v)
    if not isinstance(got, tuple) or len(got) != 2:
        fail(name, case, f"append must return (keys, values), got {type(got).__name__}",
             "return self.keys[:, :, :self.length], self.values[:, :, :self.length]")
    for label, g, e in (("keys", got[0], expected[0]), ("values", got[1], expected[1])):
        assert_close(name, f"{case}: returned {label}", _array(g), e,
                     "write k, v at positions length .. length+T-1 (axis 2), then return everything stored so far",
                     atol=0, rtol=0)
    if getattr(cache, "length", None) != reference.length:
        fail(name, case, f"length should be {reference.length} after this append, got {getattr(cache, 'length', None)!r}",
             "add the number of new positions, k.shape[2], to self.length")
    return got


@exercise("KVCache", seam="KVCache")
def check_kv_cache(KVCache):
    """KVCache(batch_size, num_heads, max_len, head_dim, dtype): preallocated keys and values
    (B, H, max_len, D), append(k, v) -> views of everything stored, overflow error, reset()."""
    name = "KVCache"
    rng = np.random.default_rng(17)
    cases = []

    case = "KVCache(2, 3, max_len=6, head_dim=4): new cache"
    cache = run_learner(name, case, KVCache, 2, 3, 6, 4)
    reference = ReferenceKVCache(2, 3, 6, 4)
    for attribute in ("keys", "values", "length"):
        if not hasattr(cache, attribute):
            fail(name, case, f"the cache has no attribute {attribute!r}",
                 "__init__ sets self.keys, self.values (preallocated arrays) and self.length = 0")
    for label in ("keys", "values"):
        array = getattr(cache, label)
        if not isinstance(array, np.ndarray) or array.shape != (2, 3, 6, 4) or array.dtype != np.float32:
            fail(name, case, f"self.{label} should be a float32 array of shape (2, 3, 6, 4) (B, H, max_len, D), got "
                             f"{type(array).__name__} {getattr(array, 'shape', '')} {getattr(array, 'dtype', '')}",
                 "allocate the whole cache once: np.zeros((batch_size, num_heads, max_len, head_dim), dtype)")
    if cache.length != 0:
        fail(name, case, f"a new cache should hold length 0 positions, got {cache.length!r}")
    cases.append(case)

    keys_buffer, values_buffer = cache.keys, cache.values
    case = "append a 2-position prompt"
    _compare_append(name, case, cache, reference, *_kv(rng, 2, 3, 2, 4))
    cases.append(case)
    case = "append 1 more position (a generation step)"
    got = _compare_append(name, case, cache, reference, *_kv(rng, 2, 3, 1, 4))
    cases.append(case)
    case = "no reallocation"
    if cache.keys is not keys_buffer or cache.values is not values_buffer:
        fail(name, case, "self.keys or self.values is a new array after append",
             "write into the preallocated arrays (self.keys[:, :, start:stop] = k); np.concatenate copies "
             "everything stored on every step")
    if not (np.shares_memory(_array(got[0]), keys_buffer) and np.shares_memory(_array(got[1]), values_buffer)):
        fail(name, case, "append returned copies, not views of the cache",
             "slices such as self.keys[:, :, :self.length] are views: no copy, whatever the length")
    cases.append(case)

    case = "fill exactly to max_len (3 more positions)"
    _compare_append(name, case, cache, reference, *_kv(rng, 2, 3, 3, 4))
    cases.append(case)

    case = "overflow: append 1 position to a full cache"
    k, v = _kv(rng, 2, 3, 1, 4)
    try:
        cache.append(k, v)
    except NotImplementedError:
        fail(name, case, "not implemented yet")
    except ValueError:
        pass
    except Exception as error:
        fail(name, case, f"expected a ValueError, got {type(error).__name__}: {error}",
             "raise ValueError(...) when length + T > max_len, before writing anything")
    else:
        fail(name, case, "expected a ValueError, but the append went through",
             "NumPy silently clips slices past the end: check length + T > max_len yourself and raise ValueError")
    if cache.length != 6:
        fail(name, case, f"a failed append must leave length at 6, got {cache.length}", "check before changing anything")
    cases.append(case)

    case = "reset(), then append 2 positions"
    run_learner(name, case, cache.reset)
    reference.reset()
    if cache.length != 0:
        fail(name, case, f"length should be 0 after reset(), got {cache.length!r}")
    _compare_append(name, case, cache, reference, *_kv(rng, 2, 3, 2, 4))
    cases.append(case)

    case = "float64 cache (1, 1, max_len=3, head_dim=1), one position at a time"
    cache = run_learner(name, case, KVCache, 1, 1, 3, 1, np.float64)
    reference = ReferenceKVCache(1, 1, 3, 1, np.float64)
    if getattr(cache, "keys", np.zeros(0)).dtype != np.float64:
        fail(name, case, f"keys dtype should be float64, got {cache.keys.dtype}", "pass dtype to np.zeros")
    for step in range(3):
        _compare_append(name, f"{case}, step {step + 1}", cache, reference, *_kv(rng, 1, 1, 1, 1, np.float64))
    cases.append(case)

    case = "nbytes of KVCache(4, 2, 16, 8)"
    cache = run_learner(name, case, KVCache, 4, 2, 16, 8)
    expected = ReferenceKVCache(4, 2, 16, 8).nbytes
    got = run_learner(name, case, lambda: cache.nbytes)
    if got != expected:
        fail(name, case, f"expected {expected:,} bytes, got {got!r}", "keys and values: self.keys.nbytes + self.values.nbytes")
    cases.append(case)
    passed(name, len(cases), cases)


# ---------------------------------------------------------------------- one cached attention step


reference_attend_one_token = seams.tinytorch("attend_one_token")


def _attention(embed_dim, heads, bias=True, seed=0):
    manual_seed(seed)
    attn = nn.MultiHeadAttention(embed_dim, heads, bias=bias)
    if bias:  # non-zero biases, so a forgotten bias shows
        rng = np.random.default_rng(seed)
        attn.in_proj_bias.data[...] = rng.standard_normal(3 * embed_dim).astype(np.float32) * 0.5
        attn.out_proj.bias.data[...] = rng.standard_normal(embed_dim).astype(np.float32) * 0.5
    return attn.eval()


def _step_hint(attn, x, cache_before, got):
    """Name the mistake behind `got` when it is a common one."""
    head_dim = attn.head_dim
    qkv = x.data @ attn.in_proj_weight.data.T
    if attn.in_proj_bias is not None:
        qkv = qkv + attn.in_proj_bias.data
    batch = x.shape[0]
    q, k, v = (qkv[..., i * attn.embed_dim:(i + 1) * attn.embed_dim].reshape(batch, 1, attn.num_heads, head_dim)
               .transpose(0, 2, 1, 3) for i in range(3))
    keys = np.concatenate([cache_before[0], k], axis=2)
    values = np.concatenate([cache_before[1], v], axis=2)

    def finish(scores, vals, project=True):
        scores = scores - scores.max(axis=-1, keepdims=True)
        w = np.exp(scores)
        w /= w.sum(axis=-1, keepdims=True)
        out = (w @ vals).transpose(0, 2, 1, 3).reshape(batch, 1, attn.embed_dim)
        return attn.out_proj(Tensor(out)).data if project else out

    candidates = [
        (finish(q @ np.swapaxes(keys, -1, -2), values),
         "scale the scores by 1 / sqrt(head_dim) before the softmax"),
        (finish(q @ np.swapaxes(k, -1, -2) / np.sqrt(head_dim), v),
         "attend over every cached position: append k, v to the cache and use the keys and values it returns"),
        (finish(q @ np.swapaxes(keys, -1, -2) / np.sqrt(head_dim), values, project=False),
         "apply the output projection attn.out_proj to the merged heads"),
    ]
    for candidate, hint in candidates:
        if candidate.shape == _array(got).shape and np.allclose(candidate, _array(got), atol=1e-5, rtol=1e-4):
            return hint
    return ("q, k, v = the three E-wide parts of x @ in_proj_weight.T + in_proj_bias, each split into heads "
            "(B, H, 1, D); append k, v; softmax(q @ keys^T / sqrt(D)) @ values; merge heads; out_proj")


def _step_case(name, case, attend, embed_dim, heads, batch, prefill, steps, bias=True, seed=0):
    attn = _attention(embed_dim, heads, bias, seed)
    head_dim = embed_dim // heads
    mine, theirs = ReferenceKVCache(batch, heads, 16, head_dim), ReferenceKVCache(batch, heads, 16, head_dim)
    rng = np.random.default_rng(seed + 100)
    with grad_mode.no_grad():
        if prefill:
            prompt = Tensor(rng.standard_normal((batch, prefill, embed_dim)).astype(np.float32))
            reference_attend_one_token(attn, prompt, mine)
            reference_attend_one_token(attn, prompt, theirs)
        for step in range(steps):
            label = f"{case}, step {step + 1} (cache held {mine.length})"
            x = Tensor(rng.standard_normal((batch, 1, embed_dim)).astype(np.float32))
            before = (mine.keys[:, :, :mine.length].copy(), mine.values[:, :, :mine.length].copy())
            got = run_learner(name, label, attend, attn, x, mine)
            expected = reference_attend_one_token(attn, x, theirs)
            if not isinstance(got, Tensor):
                fail(name, label, f"expected a Tensor of shape {tuple(expected.shape)}, got {type(got).__name__}",
                     "wrap the result: Tensor(...) or return attn.out_proj(...) (a Tensor)")
            if got.data.dtype != expected.data.dtype:
                fail(name, label, f"expected a {expected.data.dtype} result, got {got.data.dtype}",
                     "NumPy scalars such as np.sqrt(D) are float64 and turn float32 arrays into float64: "
                     "divide by math.sqrt(D) (a Python float) instead")
            if mine.length != theirs.length:
                fail(name, label, f"the cache should hold {theirs.length} positions after this step, got {mine.length}",
                     "append the new token's key and value to the cache exactly once: cache.append(k, v)")
            assert_close(name, label, got, expected, _step_hint(attn, x, before, got), atol=1e-5, rtol=1e-4)
            assert_close(name, label + ", cached keys", mine.keys[:, :, :mine.length], theirs.keys[:, :, :theirs.length],
                         "the key of head h is columns E + h*D .. E + (h+1)*D of the packed projection, "
                         "stored as (B, H, 1, D)", atol=1e-5, rtol=1e-4)


def greedy_generate(model, ids, new_tokens, attend, cache_class=ReferenceKVCache):
    """Greedy generation that feeds every position (prompt included) one at a time through
    `attend(attn, h, cache)` in each block: no recomputation, one new token per step."""
    config = model.config
    ids = np.array(ids.data if isinstance(ids, Tensor) else ids)
    batch, prompt = ids.shape
    if prompt + new_tokens > config.block_size:
        raise ValueError(f"greedy_generate: {prompt} + {new_tokens} tokens exceed block_size {config.block_size}")
    caches = [cache_class(batch, config.n_head, config.block_size, config.n_embd // config.n_head)
              for _ in model.blocks]
    with grad_mode.no_grad():
        for t in range(prompt + new_tokens - 1):
            x = model.wpe(model.wte(Tensor(ids[:, t:t + 1])), offset=t)  # (B, 1, C)
            for block, cache in zip(model.blocks, caches):
                x = x + attend(block.attn, block.ln1(x), cache)
                x = x + block.mlp(block.ln2(x))
            if t >= prompt - 1:  # the prompt is read; from here on each step adds a token
                logits = model.lm_head(model.ln_f(x[:, -1])).data  # (B, V)
                ids = np.concatenate([ids, logits.argmax(axis=-1)[:, None]], axis=1)
    return Tensor(ids)


@exercise("attend_one_token", seam="attend_one_token")
def check_cached_attention(attend_one_token):
    """attend_one_token(attn, x, cache): self-attention output (B, 1, E) of one new position
    x (B, 1, E) over the cached positions and itself; appends its key and value to `cache`."""
    name = "attend_one_token"
    cases = [
        ("E=8, 2 heads, batch 1, empty cache", 8, 2, 1, 0, 4, True, 0),
        ("E=12, 3 heads, batch 3, after a 5-token prompt", 12, 3, 3, 5, 3, True, 1),
        ("E=6, 1 head, batch 2, after a 1-token prompt", 6, 1, 2, 1, 2, True, 2),
        ("E=8, 4 heads, bias=False, batch 2, empty cache", 8, 4, 2, 0, 3, False, 3),
    ]
    for case, *args in cases:
        _step_case(name, case, attend_one_token, *args)
    names = [case for case, *_ in cases]

    case = "greedy generation, GPT (2 layers, 2 heads, n_embd 16): 14 new tokens for 2 prompts"
    manual_seed(4)
    model = GPT(GPTConfig(vocab_size=23, block_size=20, n_layer=2, n_head=2, n_embd=16)).eval()
    prompt = Tensor(np.array([[1, 5, 7, 2, 9, 0], [3, 3, 8, 1, 4, 22]]))
    got = run_learner(name, case, greedy_generate, model, prompt, 14, attend_one_token)
    with grad_mode.no_grad():
        expected = model.generate(prompt, 14, temperature=0, use_cache=False)
    differ = np.argwhere(got.data != expected.data)
    if differ.size:
        row, column = (int(i) for i in differ[0])
        fail(name, case, f"token {column} of sequence {row} is {got.data[row, column]}, the uncached model gives "
                         f"{expected.data[row, column]}\n  expected {expected.data[row].tolist()}\n  got      "
                         f"{got.data[row].tolist()}", "the step results agree, so check how the cache is shared")
    names.append(case)
    passed(name, len(names), names)


# ---------------------------------------------------------------------- memory


@exercise("kv_cache_bytes", tinytorch="tinytorch.models:kv_cache_bytes")
def check_kv_cache_bytes(kv_cache_bytes):
    """kv_cache_bytes(n_layer, batch_size, n_head, seq_len, head_dim, dtype=np.float32) -> int."""
    name = "kv_cache_bytes"
    cases = [
        ("the GPT of this module: 2 layers, batch 1, 4 heads, 256 positions, head_dim 16", (2, 1, 4, 256, 16)),
        ("batch 8, float16", (2, 8, 4, 256, 16, np.float16)),
        ("GPT-2 small: 12 layers, 12 heads of 64, 1024 positions", (12, 1, 12, 1024, 64)),
        ("1 layer, 1 head, 1 position, head_dim 1, float64", (1, 1, 1, 1, 1, np.float64)),
        ("empty: 0 positions", (4, 2, 8, 0, 32)),
    ]
    for case, args in cases:
        got = run_learner(name, case, kv_cache_bytes, *args)
        expected = reference_kv_cache_bytes(*args)
        if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
            fail(name, case, f"expected an int number of bytes, got {type(got).__name__} {got!r}", "return int(...)")
        if got != expected:
            itemsize = np.dtype(args[5] if len(args) > 5 else np.float32).itemsize
            hint = "2 (keys and values) * n_layer * batch_size * n_head * seq_len * head_dim * bytes per number"
            if got * 2 == expected:
                hint = "each layer stores keys AND values: a factor 2"
            elif itemsize > 1 and got * itemsize == expected:
                hint = "multiply by the bytes per number: np.dtype(dtype).itemsize"
            fail(name, case, f"expected {expected:,} bytes, got {got:,}", hint)
    # the formula must agree with real caches
    manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, block_size=24, n_layer=3, n_head=2, n_embd=8))
    real = sum(c.nbytes for c in model.make_kv_caches(5))
    case = "real caches of a 3-layer GPT, batch 5"
    got = run_learner(name, case, kv_cache_bytes, 3, 5, 2, 24, 4)
    if got != real:
        fail(name, case, f"model.make_kv_caches(5) allocate {real:,} bytes, your formula gives {got:,}")
    passed(name, len(cases) + 1, [case for case, _ in cases] + [case])
