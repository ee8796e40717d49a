"""Embedding lookup (with gradient scatter-add) and positional encodings."""

import numpy as np
import pytest

import tinytorch
from tinytorch import nn
from tinytorch.gradcheck import gradcheck
from tinytorch.nn import functional as F
from tinytorch.nn.embedding import sinusoidal_table


def test_lookup_picks_rows():
    emb = nn.Embedding(10, 3)
    ids = tinytorch.tensor([[1, 4], [4, 9]])
    out = emb(ids)
    assert out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.data[1, 0], emb.weight.data[4])
    assert out.dtype == np.float32


def test_weight_init_is_standard_normal():
    tinytorch.manual_seed(0)
    w = nn.Embedding(1000, 64).weight.data
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01


def test_repeated_indices_accumulate_gradient():
    emb = nn.Embedding(5, 2)
    emb(tinytorch.tensor([3, 1, 3, 3])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.data[:, 0], [0, 1, 0, 3, 0])


def test_gradcheck_with_repeated_indices():
    weight = tinytorch.randn(6, 3, dtype=np.float64, requires_grad=True)
    ids = tinytorch.tensor([[0, 2, 2], [5, 0, 2]])
    assert gradcheck(lambda w: F.embedding(ids, w), [weight])


def test_padding_idx_row_gets_no_gradient():
    emb = nn.Embedding(4, 2, padding_idx=0)
    np.testing.assert_array_equal(emb.weight.data[0], 0)
    emb(tinytorch.tensor([0, 1, 0])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.data[0], 0)
    np.testing.assert_array_equal(emb.weight.grad.data[1], 1)


def test_out_of_range_index_error():
    emb = nn.Embedding(10, 3)
    with pytest.raises(IndexError, match="Embedding: index 12 is out of range for 10 embeddings"):
        emb(tinytorch.tensor([1, 12]))
    with pytest.raises(IndexError, match="index -1 is out of range"):
        emb(tinytorch.tensor([-1]))


def test_float_indices_raise_type_error():
    with pytest.raises(TypeError, match="Embedding: indices must be integers, got dtype float32"):
        nn.Embedding(10, 3)(tinytorch.tensor([1.0, 2.0]))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="num_embeddings must be a positive int"):
        nn.Embedding(0, 3)
    with pytest.raises(ValueError, match="padding_idx 7 is out of range"):
        nn.Embedding(4, 3, padding_idx=7)


def test_sinusoidal_encoding_values_and_buffer():
    pe = nn.SinusoidalPositionalEncoding(max_len=20, d_model=6)
    assert "pe" in pe.state_dict() and list(pe.parameters()) == []
    table = pe.pe.data
    np.testing.assert_allclose(table[0], [0, 1, 0, 1, 0, 1])
    np.testing.assert_allclose(table[3, 2], np.sin(3 / 10000 ** (2 / 6)), rtol=1e-6)
    np.testing.assert_allclose(table[3, 3], np.cos(3 / 10000 ** (2 / 6)), rtol=1e-6)
    x = tinytorch.zeros(2, 5, 6)
    np.testing.assert_allclose(pe(x).data[1], table[:5])
    np.testing.assert_allclose(pe(x, offset=4).data[0], table[4:9])


def test_sinusoidal_odd_d_model():
    table = sinusoidal_table(4, 5)
    assert table.shape == (4, 5)
    np.testing.assert_allclose(table[0], [0, 1, 0, 1, 0])


def test_learned_positional_embedding_adds_rows_and_trains():
    pos = nn.LearnedPositionalEmbedding(max_len=8, d_model=4)
    x = tinytorch.zeros(3, 5, 4, requires_grad=True)
    out = pos(x)
    np.testing.assert_array_equal(out.data[2], pos.weight.data[:5])
    out.sum().backward()
    np.testing.assert_array_equal(pos.weight.grad.data[:5], 3)
    np.testing.assert_array_equal(pos.weight.grad.data[5:], 0)
    np.testing.assert_array_equal(x.grad.data, 1)


@pytest.mark.parametrize("module", [nn.SinusoidalPositionalEncoding, nn.LearnedPositionalEmbedding])
def test_sequence_longer_than_max_len_errors(module):
    enc = module(8, 4)
    name = module.__name__
    with pytest.raises(ValueError, match=rf"{name}: positions 0..9 \(sequence length 10\) exceed max_len 8"):
        enc(tinytorch.zeros(1, 10, 4))
    with pytest.raises(ValueError, match=r"positions 6..8 \(sequence length 3\) exceed max_len 8"):
        enc(tinytorch.zeros(1, 3, 4), offset=6)
    with pytest.raises(ValueError, match=rf"{name}: expected input \(..., T, 4\), got shape \(1, 3, 5\)"):
        enc(tinytorch.zeros(1, 3, 5))


def test_matches_pytorch_embedding():
    torch = pytest.importorskip("torch")
    emb = nn.Embedding(7, 3)
    ref = torch.nn.Embedding(7, 3)
    ref.weight.data = torch.tensor(emb.weight.data)
    ids = np.array([[0, 6, 6], [2, 0, 6]])
    grad = np.random.default_rng(0).standard_normal((2, 3, 3)).astype(np.float32)
    out = emb(tinytorch.tensor(ids))
    out.backward(grad)
    expected = ref(torch.tensor(ids))
    expected.backward(torch.tensor(grad))
    np.testing.assert_allclose(out.data, expected.detach().numpy())
    np.testing.assert_allclose(emb.weight.grad.data, ref.weight.grad.numpy(), rtol=1e-6, atol=1e-6)
