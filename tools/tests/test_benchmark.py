"""The benchmark harness (tools/benchmark.py) and ``bench``, on a fake clock and a fake workspace.

Standard library only, like tools/: the graph env runs these without NumPy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from tools import benchmark
from tools.benchmark import Stats, compare, format_time, measure, measure_laps, ratio_table, table
from tools.runners import bench
from tools.tests.fake import make_workspace, write

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    """A perf_counter that moves only when the code under test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(benchmark, "time", SimpleNamespace(perf_counter=fake))
    return fake


def test_stats_are_median_min_and_interquartile_range() -> None:
    s = Stats.of([5.0, 1.0, 4.0, 2.0, 3.0])
    assert (s.median, s.min, s.iqr) == (3.0, 1.0, 2.0)
    assert s.samples == (5.0, 1.0, 4.0, 2.0, 3.0)
    with pytest.raises(ValueError, match="no samples"):
        Stats.of([])


def test_measure_warms_up_then_times_runs_of_number_calls(clock: Clock) -> None:
    calls = []

    def fn() -> None:
        calls.append(clock.now)
        clock.now += 0.5

    s = measure(fn, warmup=2, repeat=3, number=4)
    assert len(calls) == 2 + 3 * 4
    assert s.samples == (0.5, 0.5, 0.5)  # seconds per call, not per run


def test_measure_min_time_runs_until_that_much_is_timed(clock: Clock) -> None:
    def fn() -> None:
        clock.now += 0.25

    assert len(measure(fn, warmup=0, min_time=1.0).samples) == 4
    assert len(measure(fn, warmup=0, repeat=6, min_time=1.0).samples) == 6
    with pytest.raises(ValueError, match=r"repeat .* or min_time"):
        measure(fn)


def test_compare_rotates_who_goes_first(clock: Clock) -> None:
    order: list[str] = []
    fns = {name: (lambda name=name: order.append(name)) for name in "abc"}
    times = compare(fns, repeat=3, warmup=1)
    assert order == list("abc" + "abc" + "bca" + "cab")
    assert [len(s.samples) for s in times.values()] == [3, 3, 3]


def test_compare_runs_blocks_and_stops_at_repeat(clock: Clock) -> None:
    order: list[str] = []
    fns = {name: (lambda name=name: order.append(name)) for name in "ab"}
    compare(fns, repeat=3, warmup=0, block=2)
    assert order == list("aabb" + "ba")


def test_compare_times_each_contender_on_its_own(clock: Clock) -> None:
    def slow() -> None:
        clock.now += 2.0

    def fast() -> None:
        clock.now += 1.0

    times = compare({"slow": slow, "fast": fast}, repeat=5, number=2)
    assert times["slow"].median == 2.0
    assert times["fast"].median == 1.0


def test_measure_laps_times_each_phase(clock: Clock) -> None:
    def step(lap: benchmark.Lap) -> None:
        clock.now += 1.0
        lap("forward")
        clock.now += 3.0
        lap("backward")

    laps = measure_laps(step, repeat=4)
    assert list(laps) == ["forward", "backward"]
    assert laps["forward"].samples == (1.0,) * 4
    assert laps["backward"].samples == (3.0,) * 4


def test_format_time_and_tables() -> None:
    assert format_time(0.0123456, "ms") == "12.35"
    assert format_time(12.0, "s") == "12.00"
    assert format_time(1234.0, "s") == "1234"
    assert format_time(2e-6, "us", 1) == "2.0"
    with pytest.raises(ValueError, match="unit 'min'"):
        format_time(1.0, "min")
    with pytest.raises(ValueError, match="every row needs 2 cells"):
        table("t", ("a", "b"), [("1",)])
    times = {"ours": Stats.of([2e-3]), "numpy": Stats.of([1e-3, 1e-3])}
    text = ratio_table("t", times, reference="numpy", unit="ms")
    assert text.splitlines()[3].split() == ["ours", "2.000", "0.000", "2.00"]
    with pytest.raises(ValueError, match="no 'torch' among ours, numpy"):
        ratio_table("t", times, reference="torch")


def test_parser_has_quick_and_threads_with_a_script_default() -> None:
    p = benchmark.parser("Title line.\n\nBody.", threads=1)
    assert p.description == "Title line."
    args = p.parse_args([])
    assert (args.quick, args.threads) == (False, 1)
    with pytest.raises(SystemExit):
        benchmark.parse(p, ["--threads", "-1"])


def test_pin_threads_refuses_when_numpy_is_loaded_and_no_script_can_restart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in benchmark.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(sys.modules, "numpy", ModuleType("numpy"))
    monkeypatch.setitem(sys.modules, "__main__", ModuleType("__main__"))  # no __file__
    monkeypatch.setattr(benchmark, "_pinned_threads", 0)
    with pytest.raises(RuntimeError, match="OPENBLAS_NUM_THREADS=2 before Python starts"):
        benchmark.pin_threads(2)
    assert "OPENBLAS_NUM_THREADS" not in os.environ  # nothing claims a count BLAS does not have


SCRIPT = """\
import os, sys
from types import ModuleType, SimpleNamespace
print("start", os.environ.get("OPENBLAS_NUM_THREADS"), flush=True)
if sys.argv[1] == "numpy-loaded":
    sys.modules["numpy"] = ModuleType("numpy")  # stands for NumPy, whose BLAS has started
from tools import benchmark
benchmark.pin_threads(3)
print("pinned", *(os.environ[v] for v in benchmark.THREAD_VARIABLES))
"""


@pytest.mark.parametrize(
    ("mode", "starts"), [("numpy-loaded", ["start None", "start 3"]), ("fresh", ["start None"])]
)
def test_a_script_restarts_itself_to_pin_blas_only_if_numpy_is_loaded(
    tmp_path: Path, mode: str, starts: list[str]
) -> None:
    script = write(tmp_path / "bench_demo.py", SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in benchmark.THREAD_VARIABLES}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, str(script), mode], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == [*starts, "pinned 3 3 3 3"]


def test_bench_runs_scripts_with_the_root_on_pythonpath_and_the_options(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    root = make_workspace(tmp_path / "ws")
    write(
        root / "packages/tinytorch-tensor/benchmarks/bench_show.py",
        textwrap.dedent("""\
            import os, sys
            print("argv", *sys.argv[1:])
            print("path", os.environ["PYTHONPATH"].split(os.pathsep)[0])
            print("blas", os.environ.get("OPENBLAS_NUM_THREADS"))
        """),
    )
    assert bench(root, ["tensor"], quick=True, threads=2) == 0
    out = capfd.readouterr().out
    assert "argv --quick --threads 2" in out
    assert f"path {root}" in out
    assert "blas 2" in out
