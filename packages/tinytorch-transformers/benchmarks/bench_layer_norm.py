"""LayerNorm and GELU at the GPT benchmark's shapes: fused op, composed ops, PyTorch.

Run:  python -m tools bench transformers   (or this file directly: [--repeats N] [--threads N])

Forward + backward, float32: ``layer_norm`` on (32, 64, 128) activations against the same
normalization composed from tensor ops, and GELU (exact and tanh, from
``tinytorch.activations``) on the MLP's (32, 64, 512) activations; PyTorch beside them where
``import torch`` works. Medians of interleaved runs.

BLAS and PyTorch run on one thread unless ``--threads`` says otherwise.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

import tinytorch.autograd  # noqa: F401  (registers the engine and the tensor ops' rules)
from tinytorch.activations import gelu
from tinytorch.tensor import Tensor
from tinytorch.transformers import layer_norm

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for tools/
from tools import benchmark as bench


def composed_layer_norm(x: Tensor, w: Tensor, b: Tensor, eps: float = 1e-5) -> Tensor:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / (var + eps).sqrt() * w + b


def main() -> None:
    args = bench.parse(bench.parser(__doc__, threads=1, repeats=30))
    torch = bench.optional_torch()
    print(bench.environment())
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((32, 64, 128)).astype(np.float32), requires_grad=True)
    w = Tensor(np.ones(128, np.float32), requires_grad=True)
    b = Tensor(np.zeros(128, np.float32), requires_grad=True)
    g = rng.standard_normal((32, 64, 128)).astype(np.float32)
    h = Tensor(rng.standard_normal((32, 64, 512)).astype(np.float32), requires_grad=True)
    gh = rng.standard_normal((32, 64, 512)).astype(np.float32)

    norms: dict[str, Callable[[], object]] = {
        "fused op": lambda: layer_norm(x, 128, w, b).backward(g),
        "composed ops": lambda: composed_layer_norm(x, w, b).backward(g),
    }
    gelus: dict[str, Callable[[], object]] = {
        "exact": lambda: gelu(h).backward(gh),
        "tanh": lambda: gelu(h, "tanh").backward(gh),
    }
    if torch is not None:
        tx = torch.tensor(x.data, requires_grad=True)
        tw = torch.ones(128, requires_grad=True)
        tb = torch.zeros(128, requires_grad=True)
        th = torch.tensor(h.data, requires_grad=True)
        tg, tgh = torch.tensor(g), torch.tensor(gh)
        ln, tgelu = torch.nn.functional.layer_norm, torch.nn.functional.gelu
        norms["torch"] = lambda: ln(tx, (128,), tw, tb).backward(tg)
        gelus["torch exact"] = lambda: tgelu(th).backward(tgh)
        gelus["torch tanh"] = lambda: tgelu(th, approximate="tanh").backward(tgh)

    times = bench.compare(norms, repeat=args.repeats, warmup=2)
    title = "layer_norm forward + backward, (32, 64, 128) float32"
    print(bench.ratio_table(title, times, reference="fused op", unit="ms"))
    times = bench.compare(gelus, repeat=args.repeats, warmup=2)
    title = "gelu forward + backward, (32, 64, 512) float32"
    print(bench.ratio_table(title, times, reference="tanh", unit="ms"))


if __name__ == "__main__":
    main()
