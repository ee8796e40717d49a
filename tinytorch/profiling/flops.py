"""FLOP counting rules: floating-point operations of one module call, from the real shapes.

A multiply-add counts as 2 FLOPs. Each rule counts only the module's *own* work; children
that are called as modules are counted by their own rule, so nothing is counted twice.
Conventions for the layers whose cost is not a matmul are written next to each rule.
"""

import numpy as np

from ..seams import replaced, seam
from ..tensor import Tensor


def _numel(value):
    """Total elements of a Tensor / array, or of every tensor in a tuple or list."""
    if isinstance(value, Tensor):
        return value.data.size
    if isinstance(value, np.ndarray):
        return value.size
    if isinstance(value, (tuple, list)):
        return sum(_numel(v) for v in value)
    return 0


def _first_tensor(value):
    if isinstance(value, (Tensor, np.ndarray)):
        return value
    if isinstance(value, (tuple, list)):
        for v in value:
            found = _first_tensor(v)
            if found is not None:
                return found
    return None


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


@seam("linear_flops")
def linear_flops(module, args, kwargs, output):
    """2*N*in*out for the product, + N*out for the bias (N = all leading dims)."""
    out = _first_tensor(output)
    n = _numel(out) // module.out_features
    flops = 2 * n * module.in_features * module.out_features
    return flops + (n * module.out_features if getattr(module, "bias", None) is not None else 0)


@seam("conv2d_flops")
def conv2d_flops(module, args, kwargs, output):
    """2*N*Cout*Hout*Wout*(Cin/groups)*kh*kw, + N*Cout*Hout*Wout for the bias."""
    out = _first_tensor(output)
    kh, kw = _pair(module.kernel_size)
    groups = getattr(module, "groups", 1)
    size = _numel(out)
    flops = 2 * size * (module.in_channels // groups) * kh * kw
    return flops + (size if getattr(module, "bias", None) is not None else 0)


def attention_flops(batch, heads, q_len, k_len, head_dim):
    """Q @ K^T and weights @ V: 2*B*H*T*S*D each (softmax and scaling not counted)."""
    return 2 * (2 * batch * heads * q_len * k_len * head_dim)


def multihead_attention_flops(module, args, kwargs, output):
    """Both attention matmuls, plus the q/k/v input projection when it is a bare weight.

    Projections that are child `Linear` modules called as modules get their own rows; a
    packed `in_proj_weight` (PyTorch's layout) is counted here as three (E, E) products.
    """
    query = args[0] if args else kwargs["query"]
    key = args[1] if len(args) > 1 else kwargs.get("key", query)
    batch_first = getattr(module, "batch_first", True)
    q_shape, k_shape = query.shape, key.shape
    if len(q_shape) == 2:  # unbatched (T, E)
        batch, q_len, k_len = 1, q_shape[0], k_shape[0]
    elif batch_first:
        batch, q_len, k_len = q_shape[0], q_shape[1], k_shape[1]
    else:
        batch, q_len, k_len = q_shape[1], q_shape[0], k_shape[0]
    rows = batch * (q_len + 2 * k_len)  # projected query rows, then key and value rows
    cache = kwargs.get("kv_cache")
    if cache is not None:  # counted after the call: the cache now holds every position
        k_len, rows = cache.length, 3 * batch * q_len
    embed_dim, heads = module.embed_dim, module.num_heads
    flops = attention_flops(batch, heads, q_len, k_len, embed_dim // heads)
    if isinstance(module.__dict__.get("_parameters", {}).get("in_proj_weight"), Tensor):
        flops += 2 * rows * embed_dim * embed_dim
        if module._parameters.get("in_proj_bias") is not None:
            flops += rows * embed_dim
    return flops


def elementwise_flops(module, args, kwargs, output):
    """One FLOP per output element (ReLU, GELU, Sigmoid, Tanh, adding positions, ...)."""
    return _numel(_first_tensor(output))


def softmax_flops(module, args, kwargs, output):
    """Three per element: exponential, running sum, division."""
    return 3 * _numel(_first_tensor(output))


def norm_flops(module, args, kwargs, output):
    """Four per element: subtract mean, divide by std, scale, shift (statistics not counted)."""
    return 4 * _numel(_first_tensor(output))


def pool_flops(module, args, kwargs, output):
    """One comparison or addition per window element per output element."""
    kh, kw = _pair(module.kernel_size)
    return _numel(_first_tensor(output)) * kh * kw


def zero_flops(module, args, kwargs, output):
    """Reshapes, lookups and dropout: no arithmetic counted."""
    return 0


# Class name -> rule. Looked up along the class's MRO by name, so a learner's own `Linear`
# (or a subclass of tinytorch's) is counted with the same rule.
FLOP_RULES = {
    "Linear": linear_flops,
    "Conv2d": conv2d_flops,
    # int8 layers: the same multiply-adds, counted as operations on integers
    "QuantizedLinear": linear_flops,
    "QuantizedConv2d": conv2d_flops,
    "MultiheadAttention": multihead_attention_flops,
    "MultiHeadAttention": multihead_attention_flops,
    "ReLU": elementwise_flops, "LeakyReLU": elementwise_flops, "GELU": elementwise_flops,
    "Sigmoid": elementwise_flops, "Tanh": elementwise_flops, "SiLU": elementwise_flops,
    "ELU": elementwise_flops,
    "Softmax": softmax_flops, "LogSoftmax": softmax_flops,
    "BatchNorm1d": norm_flops, "BatchNorm2d": norm_flops, "LayerNorm": norm_flops,
    "MaxPool2d": pool_flops, "AvgPool2d": pool_flops,
    "Dropout": zero_flops, "Flatten": zero_flops, "Identity": zero_flops, "Embedding": zero_flops,
    # x + positions: one addition per element
    "LearnedPositionalEmbedding": elementwise_flops, "SinusoidalPositionalEncoding": elementwise_flops,
}


def register_flop_rule(module_class, rule):
    """Count calls of `module_class` (a class or class name) with `rule(module, args, kwargs, output)`."""
    name = module_class if isinstance(module_class, str) else module_class.__name__
    if not callable(rule):
        raise TypeError(f"register_flop_rule: rule must be callable, got {type(rule).__name__}")
    FLOP_RULES[name] = rule


def flop_rule(module):
    """The rule for `module`'s class (or its nearest base class), or None if unknown."""
    for cls in type(module).__mro__:
        rule = FLOP_RULES.get(cls.__name__)
        if rule is not None:
            return rule
    return None


# The rules module 14's exercises write: the learner's count instead once tinytorch.mine.use() puts them in.
_EXERCISE_RULES = {linear_flops: "linear_flops", conv2d_flops: "conv2d_flops"}


def count_call_flops(module, args, kwargs, output):
    """FLOPs of one call; None for a module with no rule (containers count 0 of their own)."""
    rule = flop_rule(module)
    rule = replaced.get(_EXERCISE_RULES.get(rule), rule)
    if rule is not None:
        return int(rule(module, args, kwargs, output))
    return 0 if module._modules else None
