"""DataLoader(num_workers=N): the same batches as num_workers=0, worker seeding and init,
persistent workers, errors from workers, timeouts and clean shutdown."""

import functools
import gc
import importlib
import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
import pytest

from tinytorch.dataloader import (
    DataLoader,
    TensorDataset,
    TransformDataset,
    get_worker_info,
)
from tinytorch.dataloader.transforms import Normalize
from tinytorch.tensor import Generator, Tensor, arange


@pytest.fixture(scope="module")
def kit():
    # Workers started by spawn/forkserver import the datasets by module name: put this folder
    # on sys.path while the module's tests run (children inherit sys.path when they start).
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(Path(__file__).parent))
        yield importlib.import_module("dataloader_worker_kit")


@pytest.fixture(autouse=True)
def no_children_left_from_earlier_tests():
    """Start each test with no live worker: a loader of an earlier test that only garbage
    collection stops could otherwise still be shutting down when this one counts children."""
    gc.collect()
    deadline = time.monotonic() + 10.0
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert multiprocessing.active_children() == [], "an earlier test left workers running"


def flat(batch):
    """A batch as plain Python values, for comparing loaders."""
    if isinstance(batch, Tensor):
        return batch.tolist()
    if isinstance(batch, dict):
        return {k: flat(v) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        return [flat(v) for v in batch]
    return batch


def epochs(loader, n=3):
    return [[flat(b) for b in loader] for _ in range(n)]


def gone(pid: int) -> bool:
    """True once ``pid`` no longer exists, not even as a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def assert_all_gone(pids, within=2.0):
    deadline = time.monotonic() + within
    while not all(gone(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [p for p in pids if not gone(p)] == []
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("num_workers", [1, 2, 3])
def test_batches_equal_num_workers_0_over_shuffled_epochs(num_workers):
    rng = np.random.default_rng(0)
    ds = TensorDataset(rng.random((53, 3), dtype=np.float32), np.arange(53))
    ref = epochs(DataLoader(ds, batch_size=5, shuffle=True, generator=Generator(7)))
    got = epochs(
        DataLoader(ds, batch_size=5, shuffle=True, generator=Generator(7), num_workers=num_workers)
    )
    assert got == ref
    assert ref[0] != ref[1]  # the epochs are reshuffled, so equality is not trivial
    assert [len(b[1]) for b in got[0]] == [5] * 10 + [3]


def test_per_sample_path_and_drop_last_match_too(kit):
    ds = kit.Probe(23)
    kwargs = {"batch_size": 4, "shuffle": True, "drop_last": True}
    ref = epochs(DataLoader(ds, generator=Generator(3), **kwargs), n=2)
    got = epochs(DataLoader(ds, generator=Generator(3), num_workers=2, **kwargs), n=2)
    assert [[b["i"] for b in e] for e in got] == [[b["i"] for b in e] for e in ref]
    assert len(got[0]) == 5
    # Batch b was built by worker b % 2, in a process other than this one.
    assert all(set(b["worker"]) == {k % 2} for k, b in enumerate(got[0]))
    assert {p for b in got[0] for p in b["pid"]}.isdisjoint({os.getpid()})
    assert {w for b in ref[0] for w in b["worker"]} == {-1}  # get_worker_info() is None here


def test_shuffle_from_the_default_generator_matches_too():
    from tinytorch.tensor import manual_seed

    ds = TensorDataset(arange(30))
    manual_seed(4)
    ref = epochs(DataLoader(ds, batch_size=8, shuffle=True), n=2)
    manual_seed(4)
    got = epochs(DataLoader(ds, batch_size=8, shuffle=True, num_workers=2), n=2)
    assert got == ref


def test_worker_init_fn_is_called_once_per_worker_with_its_info(kit, tmp_path):
    log = tmp_path / "init.log"
    loader = DataLoader(
        kit.Probe(40),
        batch_size=4,
        num_workers=3,
        worker_init_fn=functools.partial(kit.record_init, log),
    )
    batches = list(loader)
    lines = [line.split() for line in log.read_text().splitlines()]
    assert sorted(int(w) for w, *_ in lines) == [0, 1, 2]
    by_worker = {int(w): (int(pid), int(n), int(seed)) for w, pid, n, seed in lines}
    assert {n for _, n, _ in by_worker.values()} == {3}
    seeds = [by_worker[w][2] for w in range(3)]
    assert seeds == [seeds[0], seeds[0] + 1, seeds[0] + 2]  # base_seed + worker_id
    for k, b in enumerate(batches):
        assert set(b["pid"].tolist()) == {by_worker[k % 3][0]}


def test_random_draws_in_workers_are_reproducible_and_differ_per_worker_and_epoch(kit):
    def run():
        loader = DataLoader(
            kit.Noisy(), batch_size=4, shuffle=True, generator=Generator(5), num_workers=2
        )
        return [np.concatenate([b.data for b in loader]) for _ in range(2)]

    first, again = run(), run()
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    # Each generator draws differently in each worker: the first sample of worker 0's first
    # batch against that of worker 1's (batch 0 and batch 1).
    assert not np.any(first[0][0] == first[0][4])
    assert not np.any(first[0][0] == first[1][0])  # a new base seed every epoch
    assert len(np.unique(first[0][:, 0])) == 24


def test_persistent_workers_keep_their_processes_across_epochs(kit):
    loader = DataLoader(
        kit.Probe(12),
        batch_size=3,
        shuffle=True,
        generator=Generator(1),
        num_workers=2,
        persistent_workers=True,
        worker_init_fn=kit.count_init,
    )
    seen = [list(loader) for _ in range(3)]
    pids = [{p for b in epoch for p in b["pid"].tolist()} for epoch in seen]
    assert len(pids[0]) == 2
    assert pids[0] == pids[1] == pids[2]
    assert all(int(n) == 1 for epoch in seen for b in epoch for n in b["inits"])  # init once
    assert not any(gone(p) for p in pids[0])  # still there between epochs
    del loader, seen
    gc.collect()
    assert_all_gone(pids[0])


def test_without_persistent_workers_each_epoch_has_new_workers_stopped_at_its_end(kit):
    loader = DataLoader(kit.Probe(8), batch_size=2, num_workers=2)
    first = {p for b in loader for p in b["pid"].tolist()}
    assert_all_gone(first)
    second = {p for b in loader for p in b["pid"].tolist()}
    assert len(second) == 2
    assert first.isdisjoint(second)
    assert_all_gone(second)


def test_an_error_in_a_worker_is_raised_here_with_its_worker_and_traceback(kit):
    loader = DataLoader(kit.Probe(20, fail_at=13), batch_size=4, num_workers=2)
    it = iter(loader)
    got = [next(it)["i"].tolist() for _ in range(3)]  # the batches before the bad one arrive
    assert got == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    with pytest.raises(ValueError, match="caught ValueError in worker 1") as err:
        next(it)
    message = str(err.value)
    assert "while fetching batch 3" in message
    assert "bad sample 13" in message
    assert "dataloader_worker_kit.py" in message  # the worker's own traceback, as text
    assert 'raise ValueError(f"bad sample {i}")' in message
    with pytest.raises(StopIteration):
        next(it)
    assert multiprocessing.active_children() == []


def test_an_error_in_worker_init_fn_is_raised_here(kit):
    loader = DataLoader(kit.Probe(4), batch_size=2, num_workers=1, worker_init_fn=kit.failing_init)
    with pytest.raises(KeyError, match=r"caught KeyError in worker 0 in worker_init_fn"):
        list(loader)
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("persistent", [False, True])
def test_a_worker_that_dies_is_reported(kit, persistent):
    ds = kit.Probe(8, exit_at=2)
    loader = DataLoader(ds, batch_size=2, num_workers=2, persistent_workers=persistent)
    with pytest.raises(RuntimeError, match=r"worker 1 \(pid \d+\) exited with code 3 unexp"):
        list(loader)
    assert multiprocessing.active_children() == []
    if persistent:  # the broken pool was stopped; the next epoch starts a fresh one
        ds.exit_at = None
        assert [b["i"].tolist() for b in loader][1] == [2, 3]


def test_timeout_bounds_the_wait_for_a_batch(kit):
    loader = DataLoader(kit.Probe(4, stall_at=0), batch_size=2, num_workers=1, timeout=0.3)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"timed out after 0\.3 seconds waiting for batch 0"):
        list(loader)
    # raised, and the stalled worker stopped, long before its 30 s stall ends (slack for load)
    assert time.monotonic() - start < 10.0
    assert multiprocessing.active_children() == []


def test_breaking_out_of_an_epoch_leaves_no_live_children(kit):
    loader = DataLoader(kit.Probe(400, delay=0.001), batch_size=4, num_workers=2)
    pids = set()
    for batch in loader:
        pids.update(batch["pid"].tolist())
        break
    assert len(pids) == 1
    assert_all_gone(pids, within=0.0)  # stopped as the loop let go of its iterator


def test_batches_larger_than_a_pipe_arrive_whole_and_a_break_stops_promptly():
    # 64 x 8192 float32 is 2 MiB a batch, twice what the batch pipe holds: workers block
    # writing, and stopping them must read them free rather than wait out the grace period.
    x = np.random.default_rng(1).random((512, 8192), dtype=np.float32)
    ds = TensorDataset(x, np.arange(512))
    ref = [
        b[1].tolist() for b in DataLoader(ds, batch_size=64, shuffle=True, generator=Generator(9))
    ]
    loader = DataLoader(ds, batch_size=64, shuffle=True, generator=Generator(9), num_workers=2)
    got = list(loader)
    assert [b[1].tolist() for b in got] == ref
    np.testing.assert_array_equal(got[3][0].data, x[got[3][1].data])
    for _ in range(3):
        start = time.monotonic()
        for _ in loader:
            break
        assert time.monotonic() - start < 0.9
    assert multiprocessing.active_children() == []


def test_a_garbage_collected_iterator_stops_its_workers(kit):
    loader = DataLoader(kit.Probe(400), batch_size=4, num_workers=2)
    it = iter(loader)
    pids = set(next(it)["pid"].tolist()) | set(next(it)["pid"].tolist())
    it.cycle = it  # only the cycle collector can free it
    del it
    assert not any(gone(p) for p in pids)
    gc.collect()
    assert_all_gone(pids, within=0.0)


def test_persistent_workers_after_an_abandoned_epoch_give_the_full_next_one(kit):
    kwargs = {"batch_size": 3, "shuffle": True}
    ref = DataLoader(kit.Probe(30), generator=Generator(2), **kwargs)
    loader = DataLoader(
        kit.Probe(30), generator=Generator(2), num_workers=2, persistent_workers=True, **kwargs
    )
    for (r, b), _ in zip(zip(ref, loader, strict=True), range(2), strict=False):
        assert r["i"].tolist() == b["i"].tolist()
    # Abandoned after two batches: the next epoch is whole, not polluted by stale prefetches.
    got = [b["i"].tolist() for b in loader]
    assert got == [b["i"].tolist() for b in ref]
    stale = iter(loader)
    fresh = iter(loader)  # supersedes the one before, which now says so
    with pytest.raises(RuntimeError, match="moved on"):
        next(stale)
    assert sorted(i for b in fresh for i in b["i"].tolist()) == list(range(30))


def test_prefetching_runs_prefetch_factor_batches_per_worker_ahead(kit, tmp_path):
    log = tmp_path / "fetched.log"

    def fetched():
        return len(log.read_text().splitlines()) if log.exists() else 0

    def settle(expected):
        deadline = time.monotonic() + 5.0
        while fetched() < expected and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # time enough to overshoot, were the workers not held back
        return fetched()

    loader = DataLoader(kit.LoggedBatches(40, log), batch_size=2, num_workers=2, prefetch_factor=3)
    it = iter(loader)
    assert settle(6) == 6  # before the first next(): 3 per worker, no more
    assert next(it).tolist() == [0, 1]
    assert settle(7) == 7  # each batch taken lets one more be sent
    del it


def test_spawn_start_method(kit):
    ds = TransformDataset(kit.Probe(10), lambda s: s)  # a lambda cannot be pickled...
    loader = DataLoader(ds, batch_size=4, num_workers=1, multiprocessing_context="spawn")
    with pytest.raises(TypeError, match=r"cannot start worker 0 by 'spawn'.*must be picklable"):
        list(loader)
    assert multiprocessing.active_children() == []
    # ...while module-level classes can: a spawned worker builds the same batches.
    tds = TransformDataset(TensorDataset(np.ones((10, 1, 1, 1), np.float32)), Normalize(1.0, 2.0))
    ref = epochs(DataLoader(tds, batch_size=4, shuffle=True, generator=Generator(0)), n=1)
    got = epochs(
        DataLoader(
            tds,
            batch_size=4,
            shuffle=True,
            generator=Generator(0),
            num_workers=2,
            multiprocessing_context="spawn",
            persistent_workers=True,
        ),
        n=1,
    )
    assert got == ref


def test_the_main_process_has_no_worker_info():
    assert get_worker_info() is None


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_workers": -1}, ValueError, "num_workers must be an int >= 0, got -1"),
        ({"num_workers": 1.5}, TypeError, "num_workers must be an int"),
        ({"prefetch_factor": 2}, ValueError, "prefetch_factor needs worker processes"),
        ({"persistent_workers": True}, ValueError, "persistent_workers needs worker processes"),
        ({"multiprocessing_context": "fork"}, ValueError, "multiprocessing_context needs"),
        ({"num_workers": 1, "prefetch_factor": 0}, ValueError, "prefetch_factor must be"),
        ({"num_workers": 1, "multiprocessing_context": "thread"}, ValueError, "must be one of"),
        ({"timeout": -1}, ValueError, "timeout must be >= 0 seconds, got -1"),
        ({"worker_init_fn": 3}, TypeError, "worker_init_fn must be callable, got int"),
    ],
)
def test_worker_argument_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        DataLoader(TensorDataset(arange(4)), batch_size=2, **kwargs)
