"""The operations of Tensor, one group per module; `tinytorch.tensor.Tensor` inherits them.

arithmetic.py   + - * / ** // %, fmod, reflected and in-place forms, comparisons, isclose
matmul.py       matmul / @, mm, bmm, outer; einsum
reductions.py   sum, mean, var, std, logsumexp, max/min, argmax/argmin, topk, amax/amin, prod,
                cumsum, norm
shape.py        reshape, permute, expand, indexing, split, masked_fill, tril/triu, flip, roll,
                unbind, new_*; cat, stack, where
elementwise.py  exp, log, sqrt, trigonometry, clamp, maximum/minimum, activations, softmax,
                log1p, rsqrt, rounding, isnan/isinf
indexing.py     gather, index_select, sort/argsort, nonzero
differentiable.py  backward rules written with Tensor ops, for create_graph=True
_common.py      helpers: dtype promotion (PyTorch's rules), unbroadcasting, dims, scatter-add, erf
"""
