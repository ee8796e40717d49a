"""Module 11 checks: right solutions pass; stubs and typical mistakes fail with a useful report."""

import math

import numpy as np
import pytest

import tinytorch as tt
from tinytorch import Tensor
from tinytorch.checks import CheckFailed, check_embedding, check_scatter_add_rows, check_sinusoidal_positions
from tinytorch.nn import Parameter

from solutions import load_solution


# The notebook's own solutions, so the course as shipped is what passes the checks.
scatter_add_rows, sinusoidal_positions, Embedding = load_solution("11_embeddings", "scatter_add_rows", "sinusoidal_positions", "Embedding")


@pytest.mark.parametrize("check, solution", [
    (check_scatter_add_rows, scatter_add_rows), (check_embedding, Embedding),
    (check_sinusoidal_positions, sinusoidal_positions),
])
def test_solution_passes_and_stub_fails(check, solution, passes_and_stub_fails):
    passes_and_stub_fails(check, solution)


def test_scatter_add_rows_mistakes():
    def overwrites(grad, ids, num_rows):  # out[ids] += g: repeated ids keep only one row
        out = np.zeros((num_rows, grad.shape[-1]), dtype=grad.dtype)
        out[ids.reshape(-1)] += grad.reshape(-1, grad.shape[-1])
        return out

    with pytest.raises(CheckFailed, match=r"repeated ids \[1, 1, 1, 2\](.|\n)*np.add.at"):
        check_scatter_add_rows(overwrites)

    def float64(grad, ids, num_rows):
        out = np.zeros((num_rows, grad.shape[-1]))
        np.add.at(out, ids.reshape(-1), grad.reshape(-1, grad.shape[-1]))
        return out

    with pytest.raises(CheckFailed, match="expected dtype float32"):
        check_scatter_add_rows(float64)

    def rows_from_ids(grad, ids, num_rows):  # sizes the table by the largest id, not num_rows
        out = np.zeros((ids.max() + 1, grad.shape[-1]), dtype=grad.dtype)
        np.add.at(out, ids, grad)
        return out

    with pytest.raises(CheckFailed, match=r"repeated ids \[1, 1, 1, 2\]: expected shape \(4, 3\), got shape \(3, 3\)"):
        check_scatter_add_rows(rows_from_ids)

    def gathers(grad, ids, num_rows):  # returns grad rows instead of table rows
        return grad.reshape(-1, grad.shape[-1])

    with pytest.raises(CheckFailed, match=r"expected shape \(6, 4\), got shape \(3, 4\)"):
        check_scatter_add_rows(gathers)


def test_embedding_mistakes():
    class Overwrites(Embedding):  # backward assigns instead of adding
        def forward(self, ids):
            ids = ids.data

            def backward(g):
                grad = np.zeros_like(self.weight.data)
                grad[ids.reshape(-1)] = g.reshape(-1, self.embedding_dim)
                return (grad,)

            return Tensor._result(self.weight.data[ids], (self.weight,), backward, "EmbeddingBackward")

    with pytest.raises(CheckFailed, match=r"with repeats, gradient of weight"):
        check_embedding(Overwrites)

    class NoGraph(Embedding):
        def forward(self, ids):
            return Tensor(self.weight.data[ids.data])

    with pytest.raises(CheckFailed, match="does not require grad"):
        check_embedding(NoGraph)

    class UniformInit(Embedding):
        def __init__(self, num_embeddings, embedding_dim, padding_idx=None):
            super().__init__(num_embeddings, embedding_dim, padding_idx)
            self.weight.data[...] = tt.rand(num_embeddings, embedding_dim).data

    with pytest.raises(CheckFailed, match="expected N\\(0, 1\\)"):
        check_embedding(UniformInit)

    class Transposed(Embedding):
        def __init__(self, num_embeddings, embedding_dim, padding_idx=None):
            super().__init__(num_embeddings, embedding_dim, padding_idx)
            self.weight = Parameter(tt.randn(embedding_dim, num_embeddings))

    with pytest.raises(CheckFailed, match=r"weight has shape \(4, 10\), expected \(10, 4\)"):
        check_embedding(Transposed)

    class PaddingGetsGradient(Embedding):
        def forward(self, ids):
            ids = ids.data
            return Tensor._result(self.weight.data[ids], (self.weight,),
                                  lambda g: (scatter_add_rows(g, ids, self.num_embeddings),), "EmbeddingBackward")

    with pytest.raises(CheckFailed, match=r"padding_idx=0, gradient of weight"):
        check_embedding(PaddingGetsGradient)

    class PaddingNotZeroed(Embedding):
        def __init__(self, num_embeddings, embedding_dim, padding_idx=None):
            super().__init__(num_embeddings, embedding_dim, None)
            self.padding_idx = padding_idx

    with pytest.raises(CheckFailed, match="expected zeros"):
        check_embedding(PaddingNotZeroed)


def test_sinusoidal_positions_mistakes():
    def swapped(max_len, d_model):  # cos on even features, sin on odd
        out = np.empty((max_len, d_model), np.float32)
        angle = np.arange(max_len)[:, None] / 10000 ** (np.arange(0, d_model, 2) / d_model)
        out[:, 0::2] = np.cos(angle)
        out[:, 1::2] = np.sin(angle[:, : d_model // 2])
        return out

    with pytest.raises(CheckFailed, match="interleaved"):
        check_sinusoidal_positions(swapped)

    def halves(max_len, d_model):  # [sin | cos] instead of interleaved
        angle = np.arange(max_len)[:, None] / 10000 ** (np.arange(0, d_model, 2) / d_model)
        return np.concatenate([np.sin(angle), np.cos(angle)], axis=1)[:, :d_model].astype(np.float32)

    with pytest.raises(CheckFailed, match=r"max_len=16, d_model=8: at index \(\d+, \d+\)"):
        check_sinusoidal_positions(halves)

    def wrong_exponent(max_len, d_model):  # 10000 ** (i / d) with i = 0, 1, 2, ... (not 2i)
        angle = np.arange(max_len)[:, None] / 10000 ** (np.arange((d_model + 1) // 2) / d_model)
        table = np.zeros((max_len, d_model), np.float32)
        table[:, 0::2] = np.sin(angle)
        table[:, 1::2] = np.cos(angle[:, : d_model // 2])
        return table

    with pytest.raises(CheckFailed, match="max_len=16, d_model=8"):
        check_sinusoidal_positions(wrong_exponent)

    def float64(max_len, d_model):
        return sinusoidal_positions(max_len, d_model).astype(np.float64)

    with pytest.raises(CheckFailed, match="expected dtype float32, got float64"):
        check_sinusoidal_positions(float64)

    def as_tensor(max_len, d_model):  # a Tensor is fine too
        return Tensor(sinusoidal_positions(max_len, d_model))

    check_sinusoidal_positions(as_tensor)
    assert math.isclose(sinusoidal_positions(2, 2)[1, 0], math.sin(1), rel_tol=1e-6)


def test_library_passes():
    from tinytorch import seams
    from tinytorch.nn.embedding import sinusoidal_table

    check_scatter_add_rows(seams.tinytorch("scatter_add_rows"))
    check_embedding(tt.nn.Embedding)
    check_sinusoidal_positions(sinusoidal_table)
