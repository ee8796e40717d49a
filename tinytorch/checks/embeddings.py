"""Checks for module 11 (embeddings): the gradient of a row lookup (scatter-add), the learner's
`Embedding` module (compared with tinytorch.nn.Embedding on the same weights, forward and
gradients) and the sinusoidal position table."""

import numpy as np

from .. import nn
from .. import seams
from ..random import manual_seed
from ..tensor import Tensor
from ..course import registry
from .core import add_hints, assert_close, fail, passed
from .layers import _build, _call, _grad_of
from .tensor import run_hinted

# Progressive hints, one tier at a time (`tinytorch.checks.hint(name)`, or a repeated failure):
# the idea, the shapes, the formula in words. Never the code.
add_hints({
    'scatter_add_rows': (
        "the backward of a row lookup: each used row's gradient is the sum of the gradients of its lookups",
        "flatten the ids to (N,) and the gradient to (N, D); the result is (num_rows, D) in the gradient's dtype",
        'start from zeros and add each gradient row into the row its id names, repeats adding up (an unbuffered add)',
    ),
    'embedding': (
        'an embedding is a learned table; the forward pass looks up one row per id',
        'weight is (num_embeddings, embedding_dim); the output is (*ids.shape, embedding_dim)',
        'gather rows by id; backward scatters the gradient back with scatter_add_rows and zeros the padding row',
    ),
    'sinusoidal_positions': (
        'each position gets sines and cosines of itself at geometrically spaced frequencies',
        'a (max_len, d_model) table: positions down the rows, frequency pairs across the columns (even columns sine, odd columns cosine)',
        'angle(pos, i) = pos / 10000^(2i / d_model); column 2i holds sin, column 2i + 1 cos; an odd d_model has one more sine than cosine',
    ),
})

exercise = registry.module("11_embeddings", "Embeddings")

_IDS = "an int64 array of token ids"


def _ids(*rows):
    return np.array(rows, dtype=np.int64)


# ---------------------------------------------------------------------- scatter_add_rows


@exercise("scatter_add_rows", seam="scatter_add_rows")
def check_scatter_add_rows(scatter_add_rows):
    """scatter_add_rows(grad (*, D), ids (*), num_rows) -> (num_rows, D): row ids[i] of the result
    is the sum of every grad row whose id is ids[i]; rows no id points at are zero."""
    name = "scatter_add_rows"
    rng = np.random.default_rng(11)
    hint = ("start from zeros (num_rows, D) and ADD each grad row at its id; with repeated ids "
            "out[ids] += grad keeps only one of them (NumPy buffers the write): use np.add.at")
    cases = [
        ("distinct ids [3, 0, 5]", rng.standard_normal((3, 4)), _ids(3, 0, 5), 6),
        ("repeated ids [1, 1, 1, 2]", rng.standard_normal((4, 3)), _ids(1, 1, 1, 2), 4),
        ("ids (2, 5) with repeats, grad (2, 5, 4)", rng.standard_normal((2, 5, 4)),
         rng.integers(0, 3, (2, 5)), 7),
        ("one id", rng.standard_normal((1, 8)), _ids(0), 1),
        ("no ids: grad (0, 4)", np.zeros((0, 4)), np.zeros(0, dtype=np.int64), 3),
        ("float32 grad, ids (64,) over 10 rows", rng.standard_normal((64, 16)).astype(np.float32),
         rng.integers(0, 10, 64), 10),
    ]
    for case, grad, ids, rows in cases:
        got = run_hinted(name, case, scatter_add_rows, grad.copy(), ids.copy(), rows, hint=hint)
        if isinstance(got, Tensor):
            got = got.data
        if not isinstance(got, np.ndarray):
            fail(name, case, f"expected a NumPy array, got {type(got).__name__}", "return the (num_rows, D) array")
        expected = seams.tinytorch("scatter_add_rows")(grad, ids, rows)
        if got.dtype != grad.dtype:
            fail(name, case, f"expected dtype {grad.dtype} (the gradient's), got {got.dtype}",
                 "create the zeros with dtype=grad.dtype")
        assert_close(name, case, got, expected, hint, atol=1e-6, rtol=1e-6)
    passed(name, len(cases), [case for case, *_ in cases])


# ---------------------------------------------------------------------- Embedding


@exercise("Embedding", seam="Embedding")
def check_embedding(Embedding):
    """Embedding(num_embeddings, embedding_dim, padding_idx=None): weight (num, dim) float32,
    N(0, 1); forward(ids) -> weight rows (*ids.shape, dim); gradients of repeated ids add up;
    the padding_idx row starts at zero and gets no gradient."""
    name = "embedding"
    rng = np.random.default_rng(12)
    manual_seed(12)  # the same weights every run, so a report reproduces

    table, case = _build(name, Embedding, 10, 4)
    params = dict(table.named_parameters())
    if list(params) != ["weight"]:
        fail(name, case, f"expected one parameter 'weight', found {list(params)}",
             "assign it as an attribute: self.weight = Parameter(...)")
    weight = params["weight"]
    if not isinstance(weight, nn.Parameter):
        fail(name, case, f"weight is a {type(weight).__name__}, expected a Parameter")
    if weight.shape != (10, 4):
        fail(name, case, f"weight has shape {weight.shape}, expected (10, 4)",
             "one row per id: (num_embeddings, embedding_dim)")
    if weight.dtype != np.float32:
        fail(name, case, f"weight has dtype {weight.dtype}, expected float32", "create it with dtype=np.float32")
    for attr, value in (("num_embeddings", 10), ("embedding_dim", 4), ("padding_idx", None)):
        if getattr(table, attr, "missing") != value:
            fail(name, case, f"table.{attr} is {getattr(table, attr, 'missing')!r}, expected {value!r}",
                 "store num_embeddings, embedding_dim and padding_idx as attributes, as PyTorch does")

    big, big_case = _build(name, Embedding, 500, 64)
    w = big.weight.data
    if not 0.95 < w.std() < 1.05 or abs(w.mean()) > 0.05:
        fail(name, big_case, f"weight mean {w.mean():.3f}, std {w.std():.3f}; expected N(0, 1) (mean 0, std 1)",
             "draw the table from a standard normal, as PyTorch does (tt.randn)")
    again, _ = _build(name, Embedding, 500, 64)
    if np.array_equal(again.weight.data, w):
        fail(name, big_case, "two new tables got identical weights", "draw fresh random numbers for every table")

    cases = [
        ("ids (5,) distinct", _ids(3, 0, 9, 4, 1), None),
        ("ids (2, 6) with repeats", rng.integers(0, 4, (2, 6)), None),
        ("ids (4,) all the same", _ids(7, 7, 7, 7), None),
        ("one id, shape (1, 1)", _ids([5]), None),
        ("0-d id", np.array(2, dtype=np.int64), None),
        ("ids (3, 4), padding_idx=0", rng.integers(0, 3, (3, 4)), 0),
    ]
    for case, ids, padding in cases:
        kwargs = {} if padding is None else {"padding_idx": padding}
        mine, built = _build(name, Embedding, 10, 4, **kwargs)
        case = f"{built}, {case}"
        reference = nn.Embedding(10, 4, **kwargs)
        if padding is not None and not np.all(mine.weight.data[padding] == 0):
            fail(name, case, f"row {padding} of the new table is {mine.weight.data[padding]}, expected zeros",
                 "the padding_idx row starts at zero")
        reference.weight.data[...] = mine.weight.data
        out = _call(name, case, mine, Tensor(ids.copy()),
                    hint="index the table with the whole ids array at once: the result has shape (*ids.shape, D)")
        expected = reference(Tensor(ids.copy()))
        assert_close(name, case, out, expected, "output[..., :] = weight[ids[...]]")
        if not out.requires_grad:
            fail(name, case, "the output does not require grad, so backward() cannot reach the weight",
                 "build the output with Tensor._result(data, (self.weight,), backward, name)")
        upstream = Tensor(rng.standard_normal(expected.shape).astype(np.float32))
        run_hinted(name, case, lambda: (out * upstream).sum().backward())
        (expected * upstream).sum().backward()
        hint = ("the gradient of a lookup adds each output row's gradient into its id's row (repeats add up)"
                + ("; then zero the padding_idx row" if padding is not None else ""))
        assert_close(name, f"{case}, gradient of weight", _grad_of(name, case, mine.weight, "weight"),
                     reference.weight.grad, hint)

    # gradients accumulate across two lookups in one graph (e.g. a tied input and output)
    mine, built = _build(name, Embedding, 6, 3)
    reference = nn.Embedding(6, 3)
    reference.weight.data[...] = mine.weight.data
    case = f"{built}, two lookups summed"
    a, b = Tensor(_ids(0, 1, 1)), Tensor(_ids(1, 5))
    loss = _call(name, case, mine, a).sum() + (_call(name, case, mine, b) * 2.0).sum()
    run_hinted(name, case, loss.backward)
    (reference(a).sum() + (reference(b) * 2.0).sum()).backward()
    assert_close(name, f"{case}, gradient of weight", _grad_of(name, case, mine.weight, "weight"),
                 reference.weight.grad, "return the gradient; the engine adds the contributions of both lookups")
    passed(name, 3 + len(cases), ["parameters", "N(0, 1) init", "fresh weights"]
           + [case for case, _, _ in cases] + ["two lookups"])


# ---------------------------------------------------------------------- sinusoidal positions


@exercise("sinusoidal_positions", seam="sinusoidal_positions")
def check_sinusoidal_positions(sinusoidal_positions):
    """sinusoidal_positions(max_len, d_model) -> (max_len, d_model) float32: feature 2i of
    position p is sin(p / 10000**(2i / d_model)), feature 2i + 1 is cos of the same angle."""
    name = "sinusoidal_positions"
    hint = ("angle[p, i] = p / 10000 ** (2i / d_model) for i = 0, 1, ...; sin(angle) goes to the even "
            "features 0, 2, 4, ..., cos(angle) to the odd ones 1, 3, 5, ... (interleaved, not two halves)")
    cases = [(16, 8), (1, 4), (50, 64), (7, 5), (100, 2), (3, 1)]
    for max_len, d_model in cases:
        case = f"max_len={max_len}, d_model={d_model}"
        got = run_hinted(name, case, sinusoidal_positions, max_len, d_model, hint=hint)
        array = got.data if isinstance(got, Tensor) else got
        if not isinstance(array, np.ndarray):
            fail(name, case, f"expected a NumPy array or Tensor, got {type(got).__name__}")
        if array.dtype != np.float32:
            fail(name, case, f"expected dtype float32, got {array.dtype}", "convert at the end: .astype(np.float32)")
        assert_close(name, case, array, seams.tinytorch("sinusoidal_positions")(max_len, d_model), hint, atol=1e-5, rtol=1e-4)
    passed(name, len(cases), [f"({m}, {d})" for m, d in cases])
