"""How to sum the gradient rows of repeated indices: three scatter-adds, timed.

Run:  python -m tools bench embeddings   (or this file directly: [--repeats N] [--threads N])

The backward of an embedding lookup adds each token's output gradient into the row of its
index. ``np.add.at`` says exactly that; sorting the indices and summing runs with
``np.add.reduceat`` (what ``scatter_add_rows`` does) and a one-hot matmul are the alternatives.
All three must agree first. Shapes: a character vocabulary, a mid-size one, and GPT-2's, each
with a batch of 2,048 tokens. Then the embedding op's forward + backward against PyTorch's
``F.embedding`` at the GPT benchmark's shape.

BLAS and PyTorch run on one thread unless ``--threads`` says otherwise.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

import tinytorch.autograd  # noqa: F401  (registers the engine)
from tinytorch.embeddings import embedding, scatter_add_rows
from tinytorch.tensor import Tensor

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for tools/
from tools import benchmark as bench

Array = npt.NDArray[Any]


def add_at(idx: Array, values: Array, rows: int) -> Array:
    out = np.zeros((rows, values.shape[1]), dtype=values.dtype)
    np.add.at(out, idx, values)
    return out


def one_hot_matmul(idx: Array, values: Array, rows: int) -> Array:
    hot = np.zeros((rows, idx.size), dtype=values.dtype)
    hot[idx, np.arange(idx.size)] = 1
    return hot @ values


def main() -> None:
    args = bench.parse(bench.parser(__doc__, threads=1, repeats=9))
    torch = bench.optional_torch()
    print(bench.environment())
    rng = np.random.default_rng(0)
    methods: dict[str, Callable[[Array, Array, int], Array]] = {
        "np.add.at": add_at,
        "sort + reduceat": scatter_add_rows,
        "one-hot matmul": one_hot_matmul,
    }
    for rows, tokens, dim in [(65, 2048, 128), (1000, 2048, 512), (50257, 2048, 128)]:
        idx = rng.integers(0, rows, tokens)
        values = rng.standard_normal((tokens, dim)).astype(np.float32)
        expected = add_at(idx, values, rows)
        fns: dict[str, Callable[[], object]] = {}
        for name, method in methods.items():
            np.testing.assert_allclose(method(idx, values, rows), expected, rtol=1e-4, atol=1e-4)
            fns[name] = lambda m=method, i=idx, v=values, r=rows: m(i, v, r)
        times = bench.compare(fns, repeat=args.repeats, number=3)
        title = f"scatter-add of {tokens} rows of {dim} into a ({rows}, {dim}) table, float32"
        print(bench.ratio_table(title, times, reference="sort + reduceat", unit="ms"))

    idx = Tensor(rng.integers(0, 65, (32, 64)))
    table = Tensor(rng.standard_normal((65, 128)).astype(np.float32), requires_grad=True)
    grad = rng.standard_normal((32, 64, 128)).astype(np.float32)
    ops: dict[str, Callable[[], object]] = {
        "embedding op": lambda: embedding(idx, table).backward(grad)
    }
    if torch is not None:
        t_idx = torch.from_numpy(idx.data)
        t_table = torch.tensor(table.data, requires_grad=True)
        t_grad = torch.from_numpy(grad)
        fn = torch.nn.functional.embedding
        ops["torch"] = lambda: fn(t_idx, t_table).backward(t_grad)
    times = bench.compare(ops, repeat=args.repeats, number=3)
    title = "embedding forward + backward, (32, 64) ids into a (65, 128) table"
    print(bench.ratio_table(title, times, reference="embedding op", unit="ms"))


if __name__ == "__main__":
    main()
