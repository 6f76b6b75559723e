import numpy as np
import pytest

from tinytorch.dataloader import (
    BatchDataset,
    Dataset,
    Subset,
    TensorDataset,
    TransformDataset,
    random_split,
)
from tinytorch.dataloader.transforms import Normalize
from tinytorch.tensor import Generator, Tensor, arange, zeros


class Squares:
    def __len__(self) -> int:
        return 6

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return np.full(2, float(i * i), dtype=np.float32), i


def test_dataset_protocol_is_structural():
    assert isinstance(Squares(), Dataset)
    assert not isinstance(Squares(), BatchDataset)
    assert isinstance(TensorDataset(arange(3)), BatchDataset)
    assert not isinstance(object(), Dataset)


def test_tensor_dataset_items_and_batches():
    x = np.arange(24, dtype=np.float32).reshape(6, 2, 2)
    y = np.arange(6, dtype=np.int64) * 10
    ds = TensorDataset(x, Tensor(y))
    assert len(ds) == 6
    xi, yi = ds[4]
    np.testing.assert_array_equal(xi.data, x[4])
    assert yi.item() == 40
    assert yi.dtype == np.int64
    xb, yb = ds.__getitems__(np.array([5, 0, 5]))
    np.testing.assert_array_equal(xb.data, x[[5, 0, 5]])
    np.testing.assert_array_equal(yb.data, [50, 0, 50])
    assert ds[-1][1].item() == 50


def test_tensor_dataset_wraps_arrays_without_copy():
    x = np.zeros((3, 2), dtype=np.float32)
    ds = TensorDataset(x)
    assert ds.tensors[0].data is x


def test_tensor_dataset_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"TensorDataset: .*\(5, 3\), \(4,\)"):
        TensorDataset(zeros(5, 3), arange(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(Tensor(1.0))
    ds = TensorDataset(arange(4))
    with pytest.raises(IndexError, match="index 4 is out of range for a dataset of 4"):
        ds[4]
    with pytest.raises(IndexError, match="index -5"):
        ds.__getitems__([0, -5])
    with pytest.raises(TypeError, match="integers"):
        ds.__getitems__(np.array([0.5]))
    with pytest.raises(TypeError, match="integer"):
        ds["a"]  # type: ignore[index]


def test_subset_maps_indices_and_uses_batch_path():
    ds = TensorDataset(arange(10) * 2)
    sub = Subset(ds, [9, 2, 4])
    assert len(sub) == 3
    assert sub[0][0].item() == 18
    (batch,) = sub.__getitems__([2, 0])
    np.testing.assert_array_equal(batch.data, [8, 18])
    with pytest.raises(IndexError, match="Subset: index 3"):
        sub[3]
    with pytest.raises(IndexError, match="Subset: index 10 is out of range"):
        Subset(ds, [10])


def test_subset_of_plain_dataset_collates_samples():
    sub = Subset(Squares(), [3, 1])
    x, y = sub.__getitems__([0, 1])
    np.testing.assert_array_equal(x.data, [[9, 9], [1, 1]])
    np.testing.assert_array_equal(y.data, [3, 1])


def test_random_split_counts_is_a_partition_and_reproducible():
    ds = TensorDataset(arange(20))
    parts = random_split(ds, [12, 5, 3], generator=Generator(7))
    assert [len(p) for p in parts] == [12, 5, 3]
    everything = np.concatenate([p.indices for p in parts])
    assert sorted(everything.tolist()) == list(range(20))
    again = random_split(ds, [12, 5, 3], generator=Generator(7))
    for a, b in zip(parts, again, strict=True):
        np.testing.assert_array_equal(a.indices, b.indices)
    other = random_split(ds, [12, 5, 3], generator=Generator(8))
    assert not np.array_equal(parts[0].indices, other[0].indices)


def test_random_split_fractions_deal_the_remainder_like_pytorch():
    ds = TensorDataset(arange(11))
    # floor(11 * 0.5) = 5, floor(11 * 0.3) = 3, floor(11 * 0.2) = 2; one left goes to part 0.
    assert [len(p) for p in random_split(ds, [0.5, 0.3, 0.2], Generator(0))] == [6, 3, 2]


def test_random_split_errors():
    ds = TensorDataset(arange(10))
    with pytest.raises(ValueError, match=r"sum to 9, but the dataset has 10"):
        random_split(ds, [5, 4])
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(ds, [0.5, 0.4])
    with pytest.raises(ValueError, match="empty"):
        random_split(ds, [])


def test_transform_dataset_applies_to_batches_and_samples():
    x = np.ones((4, 1, 2, 2), dtype=np.float32) * 3
    ds = TransformDataset(TensorDataset(x, arange(4)), Normalize(1.0, 2.0))
    xb, yb = ds.__getitems__([0, 3])
    np.testing.assert_allclose(xb.data, 1.0)
    np.testing.assert_array_equal(yb.data, [0, 3])
    xi, yi = ds[2]
    assert xi.shape == (1, 2, 2)
    assert float(xi.data.max()) == 1.0
    assert yi.item() == 2
    plain = TransformDataset(Squares(), lambda a: a + 1, field=0)
    xs, _ = plain.__getitems__([2])
    np.testing.assert_array_equal(xs.data, [[5, 5]])
    with pytest.raises(IndexError, match="field 5"):
        TransformDataset(Squares(), lambda a: a, field=5)[0]
