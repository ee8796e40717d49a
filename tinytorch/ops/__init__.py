"""The operations of Tensor, one group per module; `tinytorch.tensor.Tensor` inherits them.

arithmetic.py   + - * / **, reflected and in-place forms, comparisons
matmul.py       matmul / @
reductions.py   sum, mean, var, std, logsumexp, max/min, argmax/argmin, topk
shape.py        reshape, permute, expand, indexing, split, masked_fill, tril/triu; cat, stack, where
elementwise.py  exp, log, sqrt, trigonometry, clamp, maximum/minimum, activations, softmax
_common.py      helpers: dtype promotion, unbroadcasting, dims, scatter-add
"""
