from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.dataloader import (
    DataLoader,
    TensorDataset,
    default_collate,
    default_convert,
    random_split,
)
from tinytorch.tensor import Generator, Tensor, arange, manual_seed


class Counting:
    """A dataset with a batch path that counts how it is called."""

    def __init__(self, n: int) -> None:
        self.x = np.arange(n, dtype=np.float32)
        self.single = 0
        self.batched = 0

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        self.single += 1
        return self.x[i], int(i)

    def __getitems__(self, idx):
        self.batched += 1
        return self.x[idx], np.asarray(idx)


class Plain:
    def __len__(self) -> int:
        return 5

    def __getitem__(self, i: int):
        return {"x": np.full((2,), i, dtype=np.float32), "y": i, "name": f"s{i}"}


@pytest.mark.parametrize(
    ("n", "bs", "drop_last", "sizes"),
    [(10, 4, False, [4, 4, 2]), (10, 4, True, [4, 4]), (8, 4, False, [4, 4]), (3, 5, False, [3])],
)
def test_len_and_batch_sizes(n, bs, drop_last, sizes):
    loader = DataLoader(TensorDataset(arange(n)), batch_size=bs, drop_last=drop_last)
    assert len(loader) == len(sizes)
    assert [b.shape[0] for (b,) in loader] == sizes


def test_sequential_order_without_shuffle():
    loader = DataLoader(TensorDataset(arange(7)), batch_size=3)
    assert np.concatenate([b.data for (b,) in loader]).tolist() == list(range(7))


def test_shuffle_is_reproducible_from_a_generator_and_differs_per_epoch():
    ds = TensorDataset(arange(50))

    def epochs(seed: int) -> list[list[int]]:
        loader = DataLoader(ds, batch_size=8, shuffle=True, generator=Generator(seed))
        return [np.concatenate([b.data for (b,) in loader]).tolist() for _ in range(2)]

    first, second = epochs(3)
    assert sorted(first) == list(range(50))  # a permutation: every sample exactly once
    assert first != list(range(50))
    assert first != second  # a fresh permutation each epoch
    assert epochs(3) == [first, second]
    assert epochs(4)[0] != first


def test_batch_path_fetches_each_batch_in_one_call():
    ds = Counting(10)
    batches = list(DataLoader(ds, batch_size=4, shuffle=True, generator=Generator(0)))
    assert ds.single == 0
    assert ds.batched == 3
    x, idx = batches[0]
    assert isinstance(x, Tensor)
    assert isinstance(idx, Tensor)
    np.testing.assert_array_equal(x.data, idx.data.astype(np.float32))


def test_collate_fn_gets_the_list_of_samples():
    ds = Counting(6)
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return samples

    out = list(DataLoader(ds, batch_size=4, collate_fn=collate))
    assert seen == [4, 2]
    assert ds.single == 6
    assert ds.batched == 0
    assert out[1][0][1] == 4


def test_plain_dataset_collates_dicts_strings_and_numbers():
    (batch,) = list(DataLoader(Plain(), batch_size=5))
    assert batch["x"].shape == (5, 2)
    assert batch["x"].dtype == np.float32
    assert batch["y"].dtype == np.int64
    assert batch["y"].tolist() == [0, 1, 2, 3, 4]
    assert batch["name"] == ["s0", "s1", "s2", "s3", "s4"]


def test_default_collate_types():
    assert default_collate([1.5, 2.5]).dtype == np.float32
    assert default_collate([True, False]).dtype == np.bool_
    assert default_collate([np.float64(1), np.float64(2)]).dtype == np.float64
    pair = namedtuple("pair", "a b")
    out = default_collate([pair(Tensor([1.0]), 0), pair(Tensor([2.0]), 1)])
    assert isinstance(out, pair)
    assert out.a.shape == (2, 1)
    lists = default_collate([[np.zeros(2), 1], [np.ones(2), 2]])
    assert isinstance(lists, list)
    assert lists[0].shape == (2, 2)


def test_default_collate_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"different shapes: \(2,\), \(3,\)"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="empty"):
        default_collate([])
    with pytest.raises(ValueError, match="different keys"):
        default_collate([{"a": 1}, {"b": 1}])
    with pytest.raises(ValueError, match="numbers of fields: 2 and 3"):
        default_collate([(1, 2), (1, 2, 3)])
    with pytest.raises(TypeError, match="cannot batch samples of type object"):
        default_collate([object()])
    with pytest.raises(TypeError, match="mix ndarray with int"):
        default_collate([np.zeros(2), 3])


def test_default_convert_wraps_arrays():
    out = default_convert((np.zeros(2), [np.ones(3)], {"k": np.zeros(1)}, "tag"))
    assert isinstance(out[0], Tensor)
    assert isinstance(out[1][0], Tensor)
    assert isinstance(out[2]["k"], Tensor)
    assert out[3] == "tag"


def test_loader_argument_errors():
    ds = TensorDataset(arange(3))
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(TypeError, match="batch_size"):
        DataLoader(ds, batch_size=2.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs __len__ and __getitem__"):
        DataLoader(object())  # type: ignore[arg-type]


def test_random_split_subsets_load_their_own_samples_in_batches():
    ds = TensorDataset(arange(30) * 3)
    train, test = random_split(ds, [20, 10], generator=Generator(5))
    seen = np.concatenate([b.data for (b,) in DataLoader(train, batch_size=7)])
    np.testing.assert_array_equal(seen, train.indices * 3)
    assert len(DataLoader(test, batch_size=4, drop_last=True)) == 2


def test_shuffle_without_a_generator_follows_manual_seed():
    ds = TensorDataset(arange(20))
    loader = DataLoader(ds, batch_size=20, shuffle=True)
    manual_seed(11)
    (first,) = next(iter(loader))
    manual_seed(11)
    (again,) = next(iter(loader))
    np.testing.assert_array_equal(first.data, again.data)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 40),
    batch_size=st.integers(1, 12),
    shuffle=st.booleans(),
    drop_last=st.booleans(),
)
def test_every_sample_once_per_epoch(n, batch_size, shuffle, drop_last):
    loader = DataLoader(
        TensorDataset(arange(n)),
        batch_size=batch_size,
        shuffle=shuffle,
        drop_last=drop_last,
        generator=Generator(0),
    )
    batches = [b.data for (b,) in loader]
    assert len(batches) == len(loader)
    assert all(len(b) == batch_size for b in batches[:-1])
    seen = np.concatenate(batches) if batches else np.zeros(0, np.int64)
    assert len(set(seen.tolist())) == len(seen)
    expected = n - n % batch_size if drop_last else n
    assert len(seen) == expected


def test_options_after_shuffle_are_keyword_only():
    # torch.utils.data.DataLoader's fourth positional slot is a sampler, not drop_last: a
    # positional call copied from PyTorch must fail loudly here rather than mean something else.
    ds = TensorDataset(Tensor(np.arange(8.0)))
    with pytest.raises(TypeError):
        DataLoader(ds, 4, False, True)  # type: ignore[misc]
    assert len(DataLoader(ds, 4, False, drop_last=True)) == 2
