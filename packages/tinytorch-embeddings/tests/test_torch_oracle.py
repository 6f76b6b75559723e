"""PyTorch as the oracle: Embedding's lookup and gradient against torch.nn.Embedding."""

import numpy as np
import pytest

from tinytorch.embeddings import Embedding
from tinytorch.embeddings.functional import embedding
from tinytorch.tensor import Tensor

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("padding_idx", [None, 0, 3, -1])
def test_embedding_forward_and_gradient(padding_idx):
    torch.manual_seed(0)
    ref = torch.nn.Embedding(6, 4, padding_idx=padding_idx, dtype=torch.float64)
    ours = Embedding(6, 4, padding_idx=padding_idx, dtype=np.float64)
    assert ours.padding_idx == ref.padding_idx  # a negative one counts from the end in both
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    idx = np.array([[0, 3, 3, 5], [5, 1, 0, 3], [2, 2, 2, 5]])  # repeats, and the padding rows
    out, ref_out = ours(Tensor(idx)), ref(torch.tensor(idx))
    np.testing.assert_array_equal(out.data, ref_out.detach().numpy())
    g = np.random.default_rng(1).standard_normal(ref_out.shape)
    (out * Tensor(g)).sum().backward()
    (ref_out * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.data, ref.weight.grad.numpy(), rtol=1e-12)


def test_fresh_padding_row_is_zero_in_both():
    ref = torch.nn.Embedding(5, 3, padding_idx=2)
    ours = Embedding(5, 3, padding_idx=2)
    np.testing.assert_array_equal(ours.weight.data[2], ref.weight.detach().numpy()[2])


def test_functional_embedding_matches_and_handles_empty_indices():
    rng = np.random.default_rng(2)
    table = rng.standard_normal((7, 3))
    for idx in (np.array([4, 0, 4]), np.zeros((2, 0), dtype=np.int64), np.array(6)):
        w = Tensor(table.copy(), requires_grad=True)
        pw = torch.tensor(table, requires_grad=True)
        out = embedding(Tensor(idx), w, padding_idx=1)
        ref = torch.nn.functional.embedding(torch.tensor(idx), pw, padding_idx=1)
        np.testing.assert_array_equal(out.data, ref.detach().numpy())
        out.sum().backward()
        ref.sum().backward()
        np.testing.assert_array_equal(w.grad.data, pw.grad.numpy())
