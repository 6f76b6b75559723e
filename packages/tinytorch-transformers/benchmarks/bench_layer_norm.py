"""LayerNorm and GELU at the GPT benchmark's shapes: fused op, composed ops, PyTorch.

Forward + backward, float32, best of ``--repeat``: ``layer_norm`` on (32, 64, 128) activations
against the same normalization composed from tensor ops; GELU (exact and tanh) on the MLP's
(32, 64, 512) activations. PyTorch beside them when ``import torch`` works.

    python packages/tinytorch-transformers/benchmarks/bench_layer_norm.py [--repeat 30]

Set OPENBLAS_NUM_THREADS=N to give both NumPy and PyTorch N threads.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable

import numpy as np

import tinytorch.autograd  # noqa: F401  (registers the engine and the tensor ops' rules)
from tinytorch.activations import gelu
from tinytorch.tensor import Tensor
from tinytorch.transformers import layer_norm


def composed_layer_norm(x: Tensor, w: Tensor, b: Tensor, eps: float = 1e-5) -> Tensor:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / (var + eps).sqrt() * w + b


def best(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((32, 64, 128)).astype(np.float32), requires_grad=True)
    w = Tensor(np.ones(128, np.float32), requires_grad=True)
    b = Tensor(np.zeros(128, np.float32), requires_grad=True)
    g = rng.standard_normal((32, 64, 128)).astype(np.float32)
    h = Tensor(rng.standard_normal((32, 64, 512)).astype(np.float32), requires_grad=True)
    gh = rng.standard_normal((32, 64, 512)).astype(np.float32)

    rows: list[tuple[str, float]] = [
        ("layer_norm, fused op", best(lambda: layer_norm(x, 128, w, b).backward(g), args.repeat)),
        (
            "layer_norm, composed ops",
            best(lambda: composed_layer_norm(x, w, b).backward(g), args.repeat),
        ),
        ("gelu exact", best(lambda: gelu(h).backward(gh), args.repeat)),
        ("gelu tanh", best(lambda: gelu(h, "tanh").backward(gh), args.repeat)),
    ]
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        threads = os.environ.get("OPENBLAS_NUM_THREADS")
        if threads:
            torch.set_num_threads(int(threads))
        tx = torch.tensor(x.data, requires_grad=True)
        tw = torch.ones(128, requires_grad=True)
        tb = torch.zeros(128, requires_grad=True)
        th = torch.tensor(h.data, requires_grad=True)
        tg, tgh = torch.tensor(g), torch.tensor(gh)
        ln = torch.nn.functional.layer_norm
        rows.append(
            ("layer_norm, PyTorch", best(lambda: ln(tx, (128,), tw, tb).backward(tg), args.repeat))
        )
        for mode in ("none", "tanh"):
            fn = torch.nn.functional.gelu
            rows.append(
                (
                    f"gelu {'exact' if mode == 'none' else 'tanh'}, PyTorch",
                    best(lambda mode=mode, fn=fn: fn(th, approximate=mode).backward(tgh), 10),
                )
            )
    print(f"forward + backward, float32, best of {args.repeat}")
    for name, seconds in rows:
        print(f"  {name:<28} {seconds * 1e3:7.2f} ms")
    assert math.isfinite(rows[0][1])


if __name__ == "__main__":
    main()
