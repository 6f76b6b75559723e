"""How to sum the gradient rows of repeated indices: three scatter-adds, timed.

The backward of an embedding lookup adds each token's output gradient into the row of its
index. ``np.add.at`` says exactly that; sorting the indices and summing runs with
``np.add.reduceat`` (what ``scatter_add_rows`` does) and a one-hot matmul are the alternatives.

    python packages/tinytorch-embeddings/benchmarks/bench_embedding.py
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.embeddings.functional import scatter_add_rows

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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    methods: dict[str, Callable[[Array, Array, int], Array]] = {
        "np.add.at": add_at,
        "sort + reduceat": scatter_add_rows,
        "one-hot matmul": one_hot_matmul,
    }
    print(f"{'rows':>6} {'tokens':>6} {'dim':>4}  " + "  ".join(f"{m:>16}" for m in methods))
    for rows, tokens, dim in [(65, 2048, 128), (1000, 2048, 512), (50257, 2048, 128)]:
        idx = rng.integers(0, rows, tokens)
        values = rng.standard_normal((tokens, dim)).astype(np.float32)
        expected = add_at(idx, values, rows)
        cells = []
        for fn in methods.values():
            np.testing.assert_allclose(fn(idx, values, rows), expected, rtol=1e-4, atol=1e-4)
            runs = timeit.repeat(
                lambda fn=fn, i=idx, v=values, r=rows: fn(i, v, r), number=5, repeat=args.repeat
            )
            cells.append(f"{min(runs) / 5 * 1e3:13.3f} ms")
        print(f"{rows:>6} {tokens:>6} {dim:>4}  " + "  ".join(cells))


if __name__ == "__main__":
    main()
