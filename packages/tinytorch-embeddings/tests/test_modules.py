"""Embedding, PositionalEmbedding and SinusoidalPositionalEncoding as layers."""

import math

import numpy as np
import pytest

from tinytorch.autograd import gradcheck
from tinytorch.embeddings import Embedding, PositionalEmbedding, SinusoidalPositionalEncoding
from tinytorch.embeddings.functional import embedding
from tinytorch.tensor import Generator, Tensor


def test_embedding_init_is_standard_normal():
    emb = Embedding(2000, 50, generator=Generator(0))
    w = emb.weight.data
    assert w.dtype == np.float32
    assert w.shape == (2000, 50)
    assert abs(w.mean()) < 0.01
    assert abs(w.std() - 1.0) < 0.01
    assert [name for name, _ in emb.named_parameters()] == ["weight"]


def test_embedding_is_seeded():
    a = Embedding(5, 3, generator=Generator(1)).weight.data
    b = Embedding(5, 3, generator=Generator(1)).weight.data
    np.testing.assert_array_equal(a, b)


def test_embedding_forward_and_backward():
    emb = Embedding(6, 4, generator=Generator(0))
    idx = Tensor(np.array([[0, 5, 5], [2, 2, 2]]))
    out = emb(idx)
    assert out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out.data, emb.weight.data[idx.data])
    out.sum().backward()
    counts = np.bincount(idx.data.ravel(), minlength=6)
    np.testing.assert_array_equal(emb.weight.grad.data, np.repeat(counts[:, None], 4, axis=1))


def test_padding_row_is_zero_and_stays_frozen():
    emb = Embedding(5, 3, padding_idx=1, generator=Generator(0))
    assert emb.weight.data[1].tolist() == [0.0, 0.0, 0.0]
    out = emb(Tensor([1, 1, 3]))
    assert out.data[0].tolist() == [0.0, 0.0, 0.0]
    (out * out + out).sum().backward()
    assert emb.weight.grad.data[1].tolist() == [0.0, 0.0, 0.0]
    assert np.any(emb.weight.grad.data[3] != 0)
    assert repr(emb) == "Embedding(5, 3, padding_idx=1)"


def test_embedding_gradcheck_through_the_layer():
    emb = Embedding(4, 3, padding_idx=0, dtype=np.float64, generator=Generator(2))
    idx = Tensor(np.array([[0, 1, 3], [3, 3, 2]]))
    assert gradcheck(lambda w: embedding(idx, w, padding_idx=0) ** 2, (emb.weight,))


def test_embedding_argument_errors():
    with pytest.raises(ValueError, match="Embedding: num_embeddings must be a positive int"):
        Embedding(0, 3)
    with pytest.raises(ValueError, match="Embedding: padding_idx 5 is out of range"):
        Embedding(5, 3, padding_idx=5)
    with pytest.raises(TypeError, match="Embedding: dtype must be floating"):
        Embedding(5, 3, dtype=np.int64)
    with pytest.raises(TypeError, match="embedding: indices must be an integer tensor"):
        Embedding(5, 3)(Tensor([1.0]))
    with pytest.raises(IndexError, match="embedding: index 5 is out of range"):
        Embedding(5, 3)(Tensor([5]))


def test_positional_embedding_adds_rows_and_learns():
    pos = PositionalEmbedding(8, 4, generator=Generator(0))
    x = Tensor(np.zeros((2, 5, 4), dtype=np.float32), requires_grad=True)
    out = pos(x)
    np.testing.assert_array_equal(out.data[1], pos.weight.data[:5])
    out.sum().backward()
    expected = np.zeros((8, 4))
    expected[:5] = 2.0  # each of the 5 positions is used once per batch element
    np.testing.assert_array_equal(pos.weight.grad.data, expected)
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 5, 4)))


def test_positional_embedding_gradcheck():
    pos = PositionalEmbedding(6, 3, dtype=np.float64, generator=Generator(0))
    x = Tensor(np.random.default_rng(0).standard_normal((2, 4, 3)), requires_grad=True)
    assert gradcheck(lambda inp: pos(inp) * inp, (x,))
    # the table's gradient, element by element, against central differences on the layer
    seed = np.random.default_rng(1).standard_normal((2, 4, 3))
    pos.zero_grad()  # gradcheck's own backward reached the table too
    (pos(x) * x).backward(seed)
    flat = pos.weight.data.reshape(-1)
    numeric = np.zeros_like(flat)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + 1e-6
        plus = float(((pos(x) * x).data * seed).sum())
        flat[i] = old - 1e-6
        minus = float(((pos(x) * x).data * seed).sum())
        flat[i] = old
        numeric[i] = (plus - minus) / 2e-6
    np.testing.assert_allclose(pos.weight.grad.data.reshape(-1), numeric, atol=1e-6)
    assert np.all(pos.weight.grad.data[4:] == 0)  # positions 4 and 5 are never used


def test_positional_embedding_rejects_long_sequences():
    pos = PositionalEmbedding(4, 2)
    with pytest.raises(ValueError, match=r"length 5 .*longer than max_len=4"):
        pos(Tensor(np.zeros((1, 5, 2), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"should be \(\.\.\., T, 2\)"):
        pos(Tensor(np.zeros((1, 3, 3), dtype=np.float32)))


def test_sinusoidal_table_matches_the_paper():
    dim = 6
    pe = SinusoidalPositionalEncoding(20, dim)
    table = pe.pe.data
    for t in (0, 3, 19):
        for i in range(dim // 2):
            angle = t / 10000 ** (2 * i / dim)
            assert table[t, 2 * i] == pytest.approx(math.sin(angle), abs=1e-6)
            assert table[t, 2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-6)


def test_sinusoidal_odd_dim():
    pe = SinusoidalPositionalEncoding(10, 5)
    assert pe.pe.shape == (10, 5)
    assert pe.pe.data[2, 4] == pytest.approx(math.sin(2 / 10000 ** (4 / 5)), abs=1e-6)


def test_sinusoidal_is_a_buffer_without_gradient():
    pe = SinusoidalPositionalEncoding(10, 4)
    assert list(pe.parameters()) == []
    assert list(pe.state_dict()) == ["pe"]
    x = Tensor(np.random.default_rng(0).standard_normal((3, 7, 4)), requires_grad=True)
    assert gradcheck(lambda inp: pe(inp) * inp, (x,))
    out = pe(x)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data - x.data, np.broadcast_to(pe.pe.data[:7], (3, 7, 4)))
    assert not pe.pe.requires_grad


def test_sinusoidal_relative_offsets_are_linear():
    # the encoding of t + k is a fixed rotation of the encoding of t, whatever t is
    pe = SinusoidalPositionalEncoding(64, 8).pe.data.astype(np.float64)
    k = 5
    a, b = pe[:40], pe[k : 40 + k]
    rotation, *_ = np.linalg.lstsq(a, b, rcond=None)
    np.testing.assert_allclose(a @ rotation, b, atol=1e-4)
