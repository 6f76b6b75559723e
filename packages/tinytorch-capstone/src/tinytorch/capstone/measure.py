"""Every figure of a submission, measured with module 19's harness, the same way for the
submitter and for the verifier.

- **LeNet**: :func:`tinytorch.benchmarking.benchmark` in the SingleStream scenario on the 364
  held-out digits: the p90 latency of one digit, and the accuracy mode's accuracy (all 364 in
  one batch: the same arithmetic every time, so a re-run gives the same accuracy exactly).
- **GPT**: the validation loss (:func:`tinytorch.profiling.trained.validation_loss`, every
  whole window of the held-out text) and the throughput of a fixed workload: ``prompts``
  prompts of ``prompt_len`` characters cut from the held-out text at evenly spaced offsets,
  ``new_tokens`` new tokens each, greedy (``top_k=1``, so the tokens are deterministic). It
  runs as module 19's Offline scenario, one batch of all prompts per query, ``warmup``
  untimed batches then ``repeats`` timed ones; tokens/s = generated tokens / the median
  batch's wall time, and every repeat is recorded. With a KV cache, the same prompts are also
  generated without one: for a float model the tokens must be equal (a cache that changes
  the text is an error); for a dynamically quantized one they may differ (each call
  quantizes its own batch's range, and a decode step sees one position, not the context), so
  whether they are equal is recorded, not asserted.
- A workload may set ``val_windows`` to take the loss over only the first windows of the
  held-out text; the tests do, to stay fast, and the document records it. ``submit`` and
  ``--quick`` never do.
- **Held bytes**: :func:`tinytorch.quantization.held_nbytes` of the model, plus what the
  executor adds: a compiled plan's scratch buffers for one query (it shares the model's
  arrays), or the KV cache's allocated bytes.

Example:
    >>> settings = lenet_settings(quick=True)
    >>> settings.scenario, settings.min_query_count
    ('SingleStream', 200)
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.acceleration import compile_inference
from tinytorch.benchmarking import SampleSet, SystemUnderTest, TestSettings, benchmark
from tinytorch.capstone.techniques import System
from tinytorch.memoization import KVCache, generate
from tinytorch.profiling.latency import THREAD_VARIABLES
from tinytorch.profiling.trained import validation_loss
from tinytorch.quantization import DynamicQuantizedLinear, held_nbytes
from tinytorch.tensor import Tensor

__all__ = [
    "GPT_WORKLOAD",
    "array_sha256",
    "gpt_workload",
    "lenet_settings",
    "measure_gpt",
    "measure_lenet",
    "prompts",
]

Array = npt.NDArray[Any]

#: The GPT throughput workload (full; ``quick`` makes it smaller, see :func:`gpt_workload`).
GPT_WORKLOAD = {"prompts": 16, "prompt_len": 8, "new_tokens": 56, "warmup": 1, "repeats": 5}


def lenet_settings(quick: bool = False) -> TestSettings:
    """The SingleStream settings: MLPerf's 1024 queries and module 19's 10 s minimum (quick:
    200 queries, 0.2 s)."""
    if quick:
        return TestSettings("SingleStream", min_query_count=200, min_duration=0.2, warmup=10)
    return TestSettings("SingleStream", min_query_count=1024, min_duration=10.0, warmup=10)


def gpt_workload(quick: bool = False) -> dict[str, int]:
    """The generation workload: 16 prompts x (8 + 56) tokens, 1 warm-up, 5 repeats (quick:
    4 prompts x (8 + 8), 1 warm-up, 3 repeats)."""
    if quick:
        return {"prompts": 4, "prompt_len": 8, "new_tokens": 8, "warmup": 1, "repeats": 3}
    return dict(GPT_WORKLOAD)


def array_sha256(*arrays: Array) -> str:
    """SHA-256 of arrays' dtypes, shapes and bytes, in order (what "the data's hash" means).

    >>> a = np.arange(3, dtype=np.int64)
    >>> len(array_sha256(a)), array_sha256(a) == array_sha256(a.astype(np.int32))
    (64, False)
    """
    # BEGIN SOLUTION array-hash
    # HINT: hash each array's dtype and shape as well as its bytes (the same bytes as another
    # HINT: dtype must not hash alike), contiguous, in order.
    # TESTS: other_data or verifies
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()
    # END SOLUTION


def _latency(result: Any) -> dict[str, Any]:
    perf = result.performance
    return {
        "latency_s": dict(perf["latency_s"]),
        "queries": perf["queries"],
        "duration_s": perf["duration_s"],
        "valid": result.valid,
        "reasons": list(result.reasons),
    }


def _scratch_bytes(system: System, query: Array) -> int:
    """The scratch buffers a compiled plan adds for one SingleStream query (it shares the
    model's arrays, and allocates per input shape), measured on a fresh plan: the plan that
    was benchmarked also holds those of the accuracy mode's batch of 364, which a deployed
    SingleStream system never sees."""
    if system.plan is None:
        return 0
    probe = compile_inference(system.model)
    before = probe.nbytes
    probe(query)
    return int(probe.nbytes - before)


def measure_lenet(
    system: System,
    x: Array,
    y: Array,
    settings: TestSettings,
    reference_accuracy: float | None = None,
    name: str = "lenet",
) -> tuple[dict[str, Any], tuple[float, ...]]:
    """The LeNet's metrics (``accuracy``, ``p90_latency_s``, ``held_bytes``, the latency
    statistics, queries, duration, module 19's VALID and reasons) and the raw timings."""
    nbytes = held_nbytes(system.model)
    samples = SampleSet(x, y, name="digits-test")
    if system.plan is not None:
        sut = SystemUnderTest(name, system.plan, nbytes)
    else:
        sut = SystemUnderTest.from_model(name, system.model, nbytes)
    result = benchmark(
        sut, samples, settings, reference_accuracy=reference_accuracy, record_environment=False
    )
    assert result.accuracy is not None  # the digits have labels
    scratch = _scratch_bytes(system, x[:1])
    metrics = {
        "accuracy": float(result.accuracy["value"]),
        "p90_latency_s": float(result.value),
        "held_bytes": int(nbytes + scratch),
        "scratch_bytes": int(scratch),
        **_latency(result),
    }
    return metrics, result.timings


def prompts(val_ids: Array, workload: Mapping[str, int]) -> Array:
    """``prompts`` windows of ``prompt_len`` ids at evenly spaced offsets of the held-out text.

    >>> prompts(np.arange(100), {"prompts": 2, "prompt_len": 3}).tolist()
    [[0, 1, 2], [97, 98, 99]]
    """
    n, length = workload["prompts"], workload["prompt_len"]
    starts = np.linspace(0, len(val_ids) - length, n, dtype=np.int64) if n > 1 else [0]
    return np.stack([val_ids[s : s + length] for s in starts]).astype(np.int64)


def _generator(system: System, new_tokens: int, batch: int, length: int) -> tuple[Any, int]:
    model = system.model
    if system.executor != "kv-cache":
        return (lambda p: model.generate(Tensor(p), new_tokens, top_k=1).data), 0
    cache = KVCache.for_model(model, batch_size=batch, max_len=length + new_tokens)

    def cached(p: Array) -> Array:
        cache.reset()
        out: Array = generate(model, Tensor(p), new_tokens, top_k=1, cache=cache).data
        return out

    return cached, int(cache.allocated_nbytes)


def measure_gpt(
    system: System, val_ids: Array, workload: Mapping[str, int], name: str = "gpt"
) -> tuple[dict[str, Any], tuple[float, ...]]:
    """The GPT's metrics (``val_loss``, ``tokens_per_second``, ``held_bytes`` = weights +
    cache, the repeats, the generated tokens' hash, whether a cache kept the tokens) and the
    timings of the repeats."""
    model = system.model.eval()
    block = model.config.block_size
    windows = workload.get("val_windows")  # tests only: the first windows of the text
    ids = val_ids if windows is None else val_ids[: windows * block + 1]
    loss = validation_loss(model, ids, block)
    batch = prompts(val_ids, workload)
    n, length, new = batch.shape[0], batch.shape[1], workload["new_tokens"]
    fn, cache_bytes = _generator(system, new, n, length)
    outputs: list[Array] = []

    def sut(p: Array) -> Array:
        out: Array = np.asarray(fn(p))
        outputs.append(out)
        return out

    settings = TestSettings(
        "Offline",
        min_query_count=n * workload["repeats"],
        min_duration=0.0,
        warmup=workload["warmup"],
        batch_size=n,
    )
    result = benchmark(SystemUnderTest(name, sut), SampleSet(batch, name="prompts"), settings,
                       record_environment=False)  # fmt: skip
    tokens = outputs[-1]
    if any(not np.array_equal(o, tokens) for o in outputs):
        raise RuntimeError(f"measure_gpt: {name}: greedy generation gave different tokens")
    matches: bool | None = None
    if system.executor == "kv-cache":
        plain = model.generate(Tensor(batch), new, top_k=1).data
        matches = bool(np.array_equal(plain, tokens))
        quantized = any(isinstance(m, DynamicQuantizedLinear) for m in model.modules())
        if not matches and not quantized:
            raise RuntimeError(
                f"measure_gpt: {name}: the KV cache changed the generated tokens of a float model"
            )
    generated = n * new
    timings = result.timings
    weights = held_nbytes(model)
    metrics = {
        "val_loss": float(loss),
        "tokens_per_second": float(generated / float(np.median(timings))),
        "held_bytes": int(weights + cache_bytes),
        "weights_bytes": int(weights),
        "cache_bytes": cache_bytes,
        "generated_tokens": generated,
        "repeats_s": [float(t) for t in timings],
        "tokens_sha256": array_sha256(tokens),
        "matches_uncached": matches,
        **_latency(result),
    }
    return metrics, timings


def pin_threads(threads: int, command: Sequence[str]) -> None:
    """Start ``python *command`` in place of this process with BLAS pinned to ``threads``
    threads, unless it already is (``threads`` 0: leave the library's default).

    BLAS reads its thread count when NumPy loads, which ``python -m`` has done before this
    runs. On a shared 2-core machine the default (a thread per core) made the GPT's generation
    5x slower whenever another process held a core (2.9 s against 0.57 s at one thread, the
    same generation), so a submission and its verification would not measure the same
    system; both pin the same count, and the document records it (``environment.threads``).
    """
    wanted = dict.fromkeys(THREAD_VARIABLES, str(threads))
    if threads > 0 and any(os.environ.get(k) != v for k, v in wanted.items()):
        os.execve(sys.executable, [sys.executable, *command], {**os.environ, **wanted})
