"""The fused cross-entropy against the same loss composed from Tensor ops, and against PyTorch.

Run:  python -m tools bench losses   (or this file directly: [--repeats N] [--threads N])

Forward of ``cross_entropy`` on float32 logits (N, C) with int64 targets, for a classifier's
shape (N=256, C=10) and a language model's (N=1024, C=8192): the fused op (one recorded node,
log-sum-exp), the textbook composition ``-(x - x.max - log(sum(exp(x - x.max))))[range, y]
.mean()`` built from Tensor ops (eight nodes when recorded), and ``F.cross_entropy``. Also the
arrays each form keeps alive for backward, counted from the recorded graph.

Timings are medians of interleaved runs (each contender taking turns to go first). BLAS and
PyTorch run on one thread unless ``--threads`` says otherwise: on a small shared machine their
thread pools contend with other work, and one thread each is the repeatable, comparable setting.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import numpy as np

from tinytorch.losses import cross_entropy
from tinytorch.tensor import Generator, Tensor, arange, randint, randn

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for tools/
from tools import benchmark as bench


def composed(x: Tensor, y: Tensor) -> Tensor:
    shifted = x - x.amax(dim=1, keepdim=True).detach()
    log_probs = shifted - shifted.exp().sum(axis=1, keepdims=True).log()
    return -log_probs[arange(len(y)), y].mean()


def graph_bytes(out: Tensor) -> tuple[int, int]:
    """(nodes, bytes of arrays the recorded graph holds: node outputs, saved attrs)."""
    seen: set[int] = set()
    nodes, total, stack = 0, 0, [out]
    while stack:
        t = stack.pop()
        node = t.node
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        nodes += 1
        arrays = [node.out, *(v for v in node.attrs.values() if isinstance(v, np.ndarray))]
        total += sum(a.nbytes for a in arrays)
        stack.extend(node.inputs)
    return nodes, total


def bench_shape(n: int, c: int, repeats: int, torch: ModuleType | None) -> None:
    g = Generator(0)
    x = randn(n, c, generator=g)
    y = randint(0, c, (n,), generator=g)
    number = 200 if c == 10 else 3
    times = bench.compare(
        {"fused": lambda: cross_entropy(x, y), "composed": lambda: composed(x, y)},
        repeat=repeats,
        number=number,
    )
    if torch is not None:
        tx, ty = torch.from_numpy(x.data), torch.from_numpy(y.data)
        fn = torch.nn.functional.cross_entropy
        times["torch"] = bench.measure(lambda: fn(tx, ty), repeat=repeats, number=number)
    a, b = float(cross_entropy(x, y)), float(composed(x, y))
    title = f"cross_entropy forward, ({n}, {c}) float32   (fused {a:.6f}, composed {b:.6f})"
    print(bench.ratio_table(title, times, reference="fused", digits=1))
    xg = Tensor(x.data, requires_grad=True)
    for name, out in (("fused", cross_entropy(xg, y)), ("composed", composed(xg, y))):
        nodes, nbytes = graph_bytes(out)
        print(f"  recorded {name:<9}: {nodes} nodes holding {nbytes / 2**20:7.2f} MiB")


def main() -> None:
    args = bench.parse(bench.parser(__doc__, threads=1, repeats=9))
    repeats = args.repeats
    torch = bench.optional_torch()
    print(bench.environment())
    for n, c in ((256, 10), (1024, 8192)):
        bench_shape(n, c, repeats, torch)


if __name__ == "__main__":
    main()
