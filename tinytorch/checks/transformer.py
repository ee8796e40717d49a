"""Checks for module 13 (transformers): the learner's `LayerNorm` and pre-norm `TransformerBlock`
(compared with tinytorch.nn on the same weights: outputs, causality, gradients of inputs and
parameters) and `sample_next_token` (greedy, temperature and top-k distributions, stability,
use of the generator)."""

import numpy as np

from .. import nn
from ..random import Generator, manual_seed
from ..tensor import Tensor
from ..course import registry
from .core import add_hints, assert_close, fail, passed
from .layers import _build, _call, _grad_of
from .tensor import run_hinted

# Progressive hints, one tier at a time (`tinytorch.checks.hint(name)`, or a repeated failure):
# the idea, the shapes, the formula in words. Never the code.
add_hints({
    'layer_norm': (
        'normalize each vector over its features to mean 0 and variance 1, then scale and shift',
        'mean and variance over the last dim, kept as a size-1 axis; weight and bias have shape (normalized_shape,)',
        '(x - mean) / sqrt(var + eps) times weight plus bias, with the variance dividing by C (not C - 1)',
    ),
    'transformer_block': (
        'a pre-norm block: attention and an MLP, each applied to a normalized input and added back to the residual stream',
        'every sub-layer keeps the (B, T, d_model) shape; the MLP widens to mlp_ratio times d_model in between',
        'x = x + attention(ln1(x)) with a causal mask; x = x + mlp(ln2(x))',
    ),
    'sample_next_token': (
        'turn the last logits into a choice: the argmax when greedy, else a random draw from the tempered, top-k filtered softmax',
        'logits (B, V) give one token per row; one uniform number per row drives the draw',
        "divide by the temperature; logits below the k-th largest become -inf; stable softmax; the token is the count of cumulative probabilities below the row's uniform",
    ),
})

exercise = registry.module("13_transformers", "Transformers")

_TENSOR_OPS = "use Tensor operations (mean, var, arithmetic, the sub-modules), not .data, so gradients flow"


def _random(rng, *shape, scale=1.0, shift=0.0):
    return Tensor((rng.standard_normal(shape) * scale + shift).astype(np.float32), requires_grad=True)


def _copy(t):
    return Tensor(t.data.copy(), requires_grad=True)


def _backward_both(name, case, out, expected, rng):
    upstream = Tensor(rng.standard_normal(expected.shape).astype(np.float32))
    if not out.requires_grad:
        fail(name, case, "the output does not require grad, so backward() cannot reach the parameters", _TENSOR_OPS)
    run_hinted(name, f"{case}, backward", lambda: (out * upstream).sum().backward())
    (expected * upstream).sum().backward()


# ---------------------------------------------------------------------- LayerNorm


@exercise("LayerNorm", seam="LayerNorm")
def check_layer_norm(LayerNorm):
    """LayerNorm(normalized_shape: int, eps=1e-5): normalize over the last dimension with the
    biased variance, then * weight (ones) + bias (zeros); as tinytorch.nn.LayerNorm."""
    name = "layer_norm"
    rng = np.random.default_rng(31)
    hint = ("(x - mean) / sqrt(var + eps) over the last dim (keepdim=True), var with correction=0 "
            "(divide by C, not C - 1); then * weight + bias")

    norm, case = _build(name, LayerNorm, 6)
    params = dict(norm.named_parameters())
    if sorted(params) != ["bias", "weight"]:
        fail(name, case, f"expected parameters ['bias', 'weight'], found {sorted(params)}",
             "self.weight and self.bias as Parameters of shape (normalized_shape,)")
    for key, value in (("weight", 1.0), ("bias", 0.0)):
        p = params[key]
        if p.shape != (6,) or p.dtype != np.float32:
            fail(name, case, f"{key} has shape {p.shape} and dtype {p.dtype}, expected (6,) float32")
        if not np.all(p.data == value):
            fail(name, case, f"{key} starts at {p.data}, expected all {value:g}",
                 "weight starts at ones and bias at zeros, so a new LayerNorm only normalizes")
    if getattr(norm, "eps", None) != 1e-5:
        fail(name, case, f"eps is {getattr(norm, 'eps', None)!r}, expected 1e-05", "store eps (default 1e-5)")

    cases = [
        ("input (4, 8)", 8, {}, _random(rng, 4, 8)),
        ("input (2, 3, 16)", 16, {}, _random(rng, 2, 3, 16, scale=3.0)),
        ("one vector (8,)", 8, {}, _random(rng, 8)),
        ("large offset: values 3000 +- 1 (3, 32)", 32, {}, _random(rng, 3, 32, shift=3000.0)),
        ("constant rows (2, 8)", 8, {}, Tensor(np.full((2, 8), 0.7, np.float32), requires_grad=True)),
        ("eps=0.1, input (5, 4)", 4, {"eps": 0.1}, _random(rng, 5, 4, scale=0.3)),
        ("width 1 (3, 1)", 1, {}, _random(rng, 3, 1)),
    ]
    for case, width, kwargs, x in cases:
        mine, built = _build(name, LayerNorm, width, **kwargs)
        case = f"{built} on {case}"
        reference = nn.LayerNorm(width, **kwargs)
        mine.weight.data[...] = reference.weight.data[...] = rng.standard_normal(width).astype(np.float32)
        mine.bias.data[...] = reference.bias.data[...] = rng.standard_normal(width).astype(np.float32)
        x_mine = _copy(x)
        out = _call(name, case, mine, x_mine, hint=hint)
        expected = reference(x)
        tolerance = 2e-3 if "large offset" in case else 1e-4
        case_hint = hint
        if "large offset" in case:
            case_hint = ("subtract the mean first, then average the squared deviations: var = ((x - mean)**2).mean(); "
                         "E[x^2] - E[x]^2 cancels catastrophically in float32 when |mean| >> std")
        assert_close(name, case, out, expected, case_hint, atol=tolerance, rtol=1e-3)
        _backward_both(name, case, out, expected, rng)
        for label, got, ref in (("the input", x_mine, x), ("weight", mine.weight, reference.weight),
                                ("bias", mine.bias, reference.bias)):
            assert_close(name, f"{case}, gradient of {label}", _grad_of(name, case, got, label), ref.grad,
                         _TENSOR_OPS, atol=tolerance * 10 if "large offset" in case else 2e-4, rtol=1e-3)
    passed(name, 1 + len(cases), ["parameters", "(4, 8)", "(2, 3, 16)", "(8,)", "large offset", "constant rows",
                                  "eps=0.1", "width 1"])


# ---------------------------------------------------------------------- TransformerBlock


def _linears(module):
    """Sub-modules holding a 2-D weight, in registration order (the MLP's two layers)."""
    return [m for m in module.modules() if isinstance(getattr(m, "weight", None), Tensor) and m.weight.ndim == 2]


def _copy_into_reference(name, case, block, reference, d_model, hidden):
    """Copy the learner's weights into tinytorch's block; returns [(label, mine, ref param)]."""
    pairs = []
    for label in ("ln1", "ln2"):
        mine = getattr(block, label, None)
        if getattr(mine, "weight", None) is None or getattr(mine, "bias", None) is None:
            fail(name, case, f"no {label} with weight and bias", f"self.{label} = LayerNorm(d_model)")
        ref = getattr(reference, label)
        pairs += [(f"{label}.weight", mine.weight, ref.weight), (f"{label}.bias", mine.bias, ref.bias)]
    attn = getattr(block, "attn", None)
    ref_attn = reference.attn
    if getattr(attn, "in_proj_weight", None) is not None:  # tinytorch.nn.MultiHeadAttention
        pairs += [("attn.in_proj_weight", attn.in_proj_weight, ref_attn.in_proj_weight),
                  ("attn.in_proj_bias", attn.in_proj_bias, ref_attn.in_proj_bias)]
    elif all(getattr(attn, p, None) is not None for p in ("q_proj", "k_proj", "v_proj")):  # module 12's class
        e = d_model
        for i, p in enumerate(("q_proj", "k_proj", "v_proj")):
            proj = getattr(attn, p)
            pairs += [(f"attn.{p}.weight", proj.weight, ref_attn.in_proj_weight[i * e:(i + 1) * e]),
                      (f"attn.{p}.bias", proj.bias, ref_attn.in_proj_bias[i * e:(i + 1) * e])]
    else:
        fail(name, case, "no attention module found at block.attn",
             "self.attn = nn.MultiHeadAttention(d_model, n_heads)")
    out_proj = getattr(attn, "out_proj", None)
    pairs += [("attn.out_proj.weight", out_proj.weight, ref_attn.out_proj.weight),
              ("attn.out_proj.bias", out_proj.bias, ref_attn.out_proj.bias)]
    mlp = getattr(block, "mlp", None)
    layers = _linears(mlp) if isinstance(mlp, nn.Module) else []
    shapes = [tuple(m.weight.shape) for m in layers]
    if shapes != [(hidden, d_model), (d_model, hidden)]:
        fail(name, case, f"block.mlp has layers with weights {shapes}, expected [({hidden}, {d_model}), ({d_model}, {hidden})]",
             "self.mlp = Sequential(Linear(d_model, mlp_ratio * d_model), GELU(approximate='tanh'), "
             "Linear(mlp_ratio * d_model, d_model))")
    for label, mine, ref in (("mlp.fc", layers[0], reference.mlp.fc), ("mlp.proj", layers[1], reference.mlp.proj)):
        if getattr(mine, "bias", None) is None:
            fail(name, case, f"the {label} layer has no bias", "Linear layers with bias=True")
        pairs += [(f"{label}.weight", mine.weight, ref.weight), (f"{label}.bias", mine.bias, ref.bias)]
    for label, mine, ref in pairs:
        if tuple(mine.shape) != tuple(ref.shape):
            fail(name, case, f"{label} has shape {tuple(mine.shape)}, expected {tuple(ref.shape)}")
        ref.data[...] = mine.data
    return pairs


def _ref_grad(reference, label, d_model):
    """The reference gradient matching the learner's parameter `label`."""
    if label.startswith("attn.") and label.split(".")[1] in ("q_proj", "k_proj", "v_proj"):
        i = ("q_proj", "k_proj", "v_proj").index(label.split(".")[1])
        grad = reference.attn.in_proj_weight.grad if label.endswith("weight") else reference.attn.in_proj_bias.grad
        return grad.data[i * d_model:(i + 1) * d_model]
    module_path, attr = label.rsplit(".", 1)
    target = reference
    for part in module_path.split("."):
        target = getattr(target, part)
    return getattr(target, attr).grad


@exercise("TransformerBlock", seam="TransformerBlock")
def check_transformer_block(TransformerBlock):
    """TransformerBlock(d_model, n_heads, mlp_ratio=4): x + attn(ln1(x)) (causal), then
    x + mlp(ln2(x)), mlp = Linear(d, r d), GELU (tanh), Linear(r d, d); as tinytorch.nn.TransformerBlock."""
    name = "transformer_block"
    rng = np.random.default_rng(32)
    hint = ("pre-norm: h = ln1(x); x = x + attn(h, h, h, causal); then x = x + mlp(ln2(x)); "
            "the MLP uses GELU(approximate='tanh')")

    cases = [
        ("input (2, 5, 16), 4 heads", 16, 4, {}, (2, 5, 16)),
        ("input (3, 7, 16), 1 head", 16, 1, {}, (3, 7, 16)),
        ("one token (2, 1, 16), 2 heads", 16, 2, {}, (2, 1, 16)),
        ("mlp_ratio=2, input (1, 6, 8), 2 heads", 8, 2, {"mlp_ratio": 2}, (1, 6, 8)),
    ]
    for case, d_model, heads, kwargs, shape in cases:
        manual_seed(len(case))
        block, built = _build(name, TransformerBlock, d_model, heads, **kwargs)
        case = f"{built}, {case}"
        reference = nn.TransformerBlock(d_model, heads, **kwargs)
        hidden = int(kwargs.get("mlp_ratio", 4) * d_model)
        pairs = _copy_into_reference(name, case, block, reference, d_model, hidden)
        count = sum(p.numel() for p in block.parameters())
        expected_count = sum(p.numel() for p in reference.parameters())
        if count != expected_count:
            fail(name, case, f"{count} parameters, expected {expected_count}",
                 "two LayerNorms, one attention, one MLP of two Linear layers, nothing else (no shared LayerNorm)")
        # random LayerNorm parameters, so that swapping ln1 and ln2 shows
        for label, mine, ref in pairs:
            if label.startswith("ln"):
                mine.data[...] = ref.data[...] = rng.standard_normal(mine.shape).astype(np.float32) * 0.5 + (
                    1.0 if label.endswith("weight") else 0.0)
        x = _random(rng, *shape)
        x_mine = _copy(x)
        out = _call(name, case, block, x_mine, hint=hint)
        expected = reference(x)
        assert_close(name, case, out, expected, hint, atol=1e-4, rtol=1e-3)
        _backward_both(name, case, out, expected, rng)
        assert_close(name, f"{case}, gradient of the input", _grad_of(name, case, x_mine, "the input"), x.grad,
                     _TENSOR_OPS, atol=1e-4, rtol=1e-3)
        for label, mine, _ in pairs:
            assert_close(name, f"{case}, gradient of {label}", _grad_of(name, case, mine, label),
                         _ref_grad(reference, label, d_model), _TENSOR_OPS, atol=1e-4, rtol=1e-3)

    # causality: changing later tokens must not change earlier outputs
    block, built = _build(name, TransformerBlock, 16, 4)
    case = f"{built}, causality"
    x = rng.standard_normal((1, 6, 16)).astype(np.float32)
    changed = x.copy()
    changed[:, 3:] += 5.0
    first = _call(name, case, block, Tensor(x)).data
    second = _call(name, case, block, Tensor(changed)).data
    if not np.allclose(first[:, :3], second[:, :3], atol=1e-5):
        fail(name, case, "changing tokens 3..5 changed the outputs at positions 0..2",
             "the attention must be causal: pass is_causal=True")
    passed(name, len(cases) + 1, ["4 heads", "1 head", "one token", "mlp_ratio=2", "causality"])


# ---------------------------------------------------------------------- sample_next_token


def _softmax(logits):
    return Tensor(logits).softmax(dim=-1).data  # tinytorch's softmax: the distribution to sample from


def _draw(name, case, sample, logits, hint, **kwargs):
    got = run_hinted(name, case, lambda: sample(logits, **kwargs), hint=hint, strict_float=True)
    if isinstance(got, Tensor):
        got = got.data
    if not isinstance(got, np.ndarray):
        fail(name, case, f"expected a NumPy array of token ids, got {type(got).__name__}",
             "return one int64 id per row: shape (B,)")
    if got.shape != (len(logits),):
        fail(name, case, f"expected shape ({len(logits)},), one id per row of logits {logits.shape}, got {got.shape}")
    if not np.issubdtype(got.dtype, np.integer):
        fail(name, case, f"expected integer token ids, got dtype {got.dtype}", "convert with .astype(np.int64)")
    if got.size and (got.min() < 0 or got.max() >= logits.shape[-1]):
        fail(name, case, f"token id {got.max() if got.max() >= logits.shape[-1] else got.min()} is outside "
             f"0..{logits.shape[-1] - 1}")
    return got


@exercise("sample_next_token", seam="sample_next_token")
def check_sample_next_token(sample_next_token):
    """sample_next_token(logits (B, V) array, temperature=1.0, top_k=None, generator=None) -> (B,)
    int ids: temperature 0 is argmax; otherwise draw from softmax(logits / temperature), limited to
    the top_k largest logits; randomness from `generator` (a tinytorch.Generator) or the default one."""
    name = "sample_next_token"
    rng = np.random.default_rng(33)
    n = 4000
    base = np.array([2.0, 1.0, 0.5, 0.0, -1.0, -3.0])
    many = np.tile(base, (n, 1))  # the same distribution in every row: frequencies are measurable

    logits = rng.standard_normal((5, 10)).astype(np.float32)
    got = _draw(name, "temperature=0 on (5, 10)", sample_next_token, logits,
                "temperature 0 means greedy: the argmax of each row", temperature=0.0, generator=Generator(0))
    if not np.array_equal(got, logits.argmax(axis=-1)):
        fail(name, "temperature=0 on (5, 10)", f"expected the argmax of each row {logits.argmax(axis=-1)}, got {got}",
             "temperature 0 means greedy: the argmax of each row (no random draw)")

    def frequencies_match(case, expected, **kwargs):
        hint = ("divide the logits by the temperature, keep the top_k largest (others -inf), softmax (subtract "
                "the max), then draw one id per row from those probabilities with the generator")
        got = _draw(name, case, sample_next_token, many, hint, generator=Generator(1), **kwargs)
        freq = (got[:, None] == np.arange(len(base))).mean(axis=0)  # not np.bincount: int64 fails on wasm32
        worst = int(np.argmax(np.abs(freq - expected)))
        if abs(freq[worst] - expected[worst]) > 0.03:
            fail(name, case,
                 f"token {worst} was drawn {freq[worst]:.1%} of the time, expected {expected[worst]:.1%}\n"
                 f"  expected frequencies {np.round(expected, 3)}\n  got      frequencies {np.round(freq, 3)}", hint)

    for temperature in (1.0, 0.5, 2.0):
        frequencies_match(f"temperature={temperature}, {n} rows of logits {base.tolist()}",
                          _softmax(base / temperature), temperature=temperature)
    for k in (1, 3):
        expected = _softmax(np.where(np.arange(len(base)) < k, base, -np.inf))
        frequencies_match(f"top_k={k}, {n} rows of logits {base.tolist()}", expected, temperature=1.0, top_k=k)
    frequencies_match(f"top_k=3, temperature=0.5, {n} rows", _softmax(np.where(np.arange(len(base)) < 3, base, -np.inf) / 0.5),
                      temperature=0.5, top_k=3)
    frequencies_match(f"top_k=10 > vocabulary 6, {n} rows", _softmax(base), temperature=1.0, top_k=10)

    huge = np.tile(np.array([1000.0, 999.0, -1000.0], np.float32), (n, 1))
    got = _draw(name, "large logits [1000, 999, -1000]", sample_next_token, huge,
                "subtract each row's maximum before exp, so exp never overflows", generator=Generator(2))
    share = (got == 0).mean()
    if abs(share - 1 / (1 + np.exp(-1))) > 0.03:
        fail(name, "large logits [1000, 999, -1000]",
             f"token 0 drawn {share:.1%} of the time, expected 73.1%: numerically unstable (exp overflowed?)",
             "subtract each row's maximum before exp")

    rows = np.array([[9.0, 0.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 9.0]] * 20, np.float32)  # (60, 3)
    got = _draw(name, "different logits per row (60, 3)", sample_next_token, rows,
                "draw each row from its own probabilities", generator=Generator(3))
    if (got == np.tile([0, 1, 2], 20)).mean() < 0.95:
        fail(name, "different logits per row (60, 3)", f"rows whose logits favour token 0, 1, 2 in turn gave {got[:9]}...",
             "draw each row from its own row of probabilities")

    uniform = np.zeros((200, 50))
    first = _draw(name, "Generator(5) twice", sample_next_token, uniform, None, generator=Generator(5))
    again = _draw(name, "Generator(5) twice", sample_next_token, uniform, None, generator=Generator(5))
    other = _draw(name, "Generator(6)", sample_next_token, uniform, None, generator=Generator(6))
    use_it = "draw the random numbers from rng_of(generator) (its .rng), not np.random, so a seeded generator repeats"
    if not np.array_equal(first, again):
        fail(name, "two calls with Generator(5)", "different tokens from two generators with the same seed", use_it)
    if np.array_equal(first, other):
        fail(name, "Generator(5) and Generator(6)", "the same tokens from differently seeded generators", use_it)
    manual_seed(7)
    first = _draw(name, "generator=None", sample_next_token, uniform, None)
    manual_seed(7)
    again = _draw(name, "generator=None", sample_next_token, uniform, None)
    if not np.array_equal(first, again):
        fail(name, "generator=None after tt.manual_seed(7), twice", "different tokens",
             "without a generator use tinytorch's default one: rng_of(None), which tt.manual_seed reseeds")
    if (first == first[0]).all():
        fail(name, "generator=None, 200 rows of uniform logits", "every row drew the same token",
             "draw one random number per row")
    passed(name, 13, ["greedy", "T=1", "T=0.5", "T=2", "top_k=1", "top_k=3", "top_k with T", "top_k > V",
                      "large logits", "per-row", "seeded generator", "other seed", "default generator"])
