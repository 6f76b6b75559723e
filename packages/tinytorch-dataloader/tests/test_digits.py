import numpy as np
import pytest

import tinytorch.dataloader.digits as digits_module
from tinytorch.dataloader import DataFileError, digits_split_indices, tiny_digits


def test_shapes_dtypes_and_range():
    x, y = tiny_digits("train").tensors
    assert x.shape == (1433, 1, 8, 8)
    assert x.dtype == np.float32
    assert y.shape == (1433,)
    assert y.dtype == np.int64
    assert float(x.data.min()) == 0.0
    assert float(x.data.max()) == 1.0
    # Pixel counts are whole numbers of 1/16.
    np.testing.assert_array_equal(x.data * 16, np.round(x.data * 16))
    assert tiny_digits("test").tensors[0].shape == (364, 1, 8, 8)
    assert tiny_digits("all", flatten=True).tensors[0].shape == (1797, 64)


def test_known_first_sample():
    # The first row of the UCI file is a 0; its top row of pixel counts is 0 0 5 13 9 1 0 0.
    x, y = tiny_digits("all").tensors
    assert y.data[0] == 0
    np.testing.assert_array_equal(x.data[0, 0, 0] * 16, [0, 0, 5, 13, 9, 1, 0, 0])
    assert np.bincount(y.data).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_split_is_a_fixed_stratified_partition():
    train, test = digits_split_indices("train"), digits_split_indices("test")
    assert len(np.intersect1d(train, test)) == 0
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(1797))
    y = tiny_digits("all").tensors[1].data
    share = np.bincount(y[test], minlength=10) / np.bincount(y, minlength=10)
    assert np.all(np.abs(share - 0.2) < 0.01)
    # The split never changes: pin its first test indices.
    assert test[:4].tolist() == [0, 1, 2, 3]


def test_each_call_returns_independent_arrays():
    a = tiny_digits("test").tensors[0]
    a.data[:] = 0
    assert tiny_digits("test").tensors[0].data.max() == 1.0


def test_bad_split():
    with pytest.raises(ValueError, match="split must be 'train', 'test' or 'all', got 'val'"):
        tiny_digits("val")


def test_checksum_guards_the_shipped_file(monkeypatch):
    digits_module._raw.cache_clear()
    monkeypatch.setattr(digits_module, "DIGITS_SHA256", "0" * 64)
    try:
        with pytest.raises(DataFileError, match="reinstall"):
            tiny_digits()
    finally:
        digits_module._raw.cache_clear()
