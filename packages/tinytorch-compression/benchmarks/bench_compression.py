"""What compression buys, measured: sparsity, bytes, latency and held-out accuracy.

Run:  python -m tools bench compression   (or this file directly: [--quick] [--threads N])

From the milestone baselines (tinytorch.profiling.trained, full recipes): the 1986 MLP pruned to
90% unstructured sparsity (iteratively, with fine-tuning) and exported as CSR; a CSR product
against the dense one at several sparsities; 50% structured pruning of the MLP's hidden layer
and of the LeNet's conv channels (forward latency, held bytes, accuracy after fine-tuning);
low-rank factorization of the MLP's largest layer at a few energy thresholds; and a 64-16-10
student distilled from the MLP against the same student trained alone, over 5 seeds.

Latency is ``tinytorch.profiling.latency``'s p50 of a no-grad eval forward, at the held-out
batch (364 digits) and at batch 1; BLAS runs on one thread unless ``--threads`` says otherwise.
"""

from __future__ import annotations

import copy
import functools
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.activations import Sigmoid
from tinytorch.autograd import no_grad
from tinytorch.compression import (
    L1Unstructured,
    csr_linear,
    global_unstructured,
    held_bytes,
    iterative_pruning,
    low_rank,
    prunable_parameters,
    remove,
    sparsity_report,
    structured_prune,
    to_sparse_csr,
    train_student,
)
from tinytorch.dataloader import DataLoader
from tinytorch.layers import Linear, Module, Sequential
from tinytorch.optimizers import SGD, AdamW
from tinytorch.profiling import count_flops, latency
from tinytorch.profiling.latency import describe_threads, thread_settings
from tinytorch.profiling.trained import TrainedClassifier, classifier_accuracy, train_classifier
from tinytorch.tensor import Generator, Tensor
from tinytorch.training import CosineAnnealingLR

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for tools/
from tools import benchmark as bench

QUICK = False


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _p50_us(fn: Callable[[], object]) -> float:
    seconds = 0.1 if QUICK else 0.5
    return latency(fn, warmup=10, min_runs=20 if QUICK else 50, min_seconds=seconds).p50 * 1e6


def _forward_us(model: Module, x: Tensor) -> float:
    model.eval()

    def run() -> None:
        with no_grad():
            model(x)

    return _p50_us(run)


def _fine_tune(
    model: Module, trained: TrainedClassifier, epochs: int, lr: float, seed: int = 0
) -> None:
    # Each baseline's own recipe: SGD with momentum at a constant rate for the MLP; AdamW with a
    # cosine schedule for the LeNet (at a constant rate its last epoch's accuracy wanders).
    loader = trained.loader(seed=seed)
    if trained.name == "mlp":
        optimizer: Any = SGD(model.parameters(), lr=lr, momentum=0.9)
        train_student(None, model, loader, optimizer, epochs=epochs, alpha=0.0)
        return
    optimizer = AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    schedule = CosineAnnealingLR(optimizer, T_max=max(epochs, 1))
    for _ in range(epochs):
        train_student(None, model, loader, optimizer, epochs=1, alpha=0.0)
        schedule.step()


def _paired_us(a: Module, b: Module, x: Tensor) -> tuple[float, float]:
    """Medians of alternated p50s: load from other processes falls on both alike."""
    rounds = 1 if QUICK else 5
    ta, tb = [], []
    for _ in range(rounds):
        ta.append(_forward_us(a, x))
        tb.append(_forward_us(b, x))
    return statistics.median(ta), statistics.median(tb)


# ---- 1. unstructured ----------------------------------------------------------------------
def unstructured(mlp: TrainedClassifier) -> None:
    base = mlp.accuracy
    one_shot = copy.deepcopy(mlp.model)
    global_unstructured(prunable_parameters(one_shot), L1Unstructured, amount=0.9)
    one_shot_acc = classifier_accuracy(one_shot, mlp.test)

    model = copy.deepcopy(mlp.model)
    steps = 2 if QUICK else 20
    epochs = 1 if QUICK else 3
    iterative_pruning(
        prunable_parameters(model),
        0.9,
        steps,
        lambda k: _fine_tune(model, mlp, epochs, lr=0.1, seed=k),
        schedule="cubic",
    )
    report = sparsity_report(model)
    tuned = classifier_accuracy(model, mlp.test)
    print("1. unstructured magnitude pruning of the 1986 MLP (global L1, weights only)")
    print(str(report).replace("\n", "\n  ").join(["  ", ""]))
    rows: list[tuple[str, ...]] = [
        ("dense baseline", _pct(base), "-"),
        ("90% one-shot, no fine-tuning", _pct(one_shot_acc), f"{100 * (one_shot_acc - base):+.2f}"),
        (
            f"90% iterative: {steps} cubic steps x {epochs} epochs SGD",
            _pct(tuned),
            f"{100 * (tuned - base):+.2f}",
        ),
    ]
    print(bench.table("  held-out accuracy (364 digits)", ("model", "accuracy", "points"), rows))
    print(f"  done-when (<= 1 point lost after fine-tuning): {base - tuned <= 0.01}")

    for m in model.modules():
        if "weight_mask" in m._buffers:
            remove(m, "weight")
    rows = []
    dense_total = csr_total = 0
    for i, layer in enumerate(model):
        if not isinstance(layer, Linear):
            continue
        csr = to_sparse_csr(layer.weight)
        dense = layer.weight.data.nbytes
        dense_total, csr_total = dense_total + dense, csr_total + csr.nbytes
        rows.append(
            (
                f"{i}.weight {layer.weight.shape}",
                str(csr.nnz),
                str(dense),
                f"{csr.indptr.nbytes}+{csr.indices.nbytes}+{csr.data.nbytes}",
                str(csr.nbytes),
                f"{csr.nbytes / dense:.3f}x",
            )
        )
    rows.append(
        ("all weights", "", str(dense_total), "", str(csr_total), f"{csr_total / dense_total:.3f}x")
    )
    header = ("tensor", "nnz", "dense B", "indptr+indices+data B", "CSR B", "CSR/dense")
    print(
        bench.table("  CSR export (int32 indices, float32 values; bytes from nbytes)", header, rows)
    )
    print(f"  done-when (CSR <= 0.25x dense): {csr_total / dense_total <= 0.25}")
    x = mlp.test.tensors[0].data
    assert isinstance(model, Sequential)
    first, second = model[0], model[2]
    assert isinstance(first, Linear)
    assert isinstance(second, Linear)
    c0, c2 = to_sparse_csr(first.weight), to_sparse_csr(second.weight)
    assert first.bias is not None
    assert second.bias is not None
    hidden = 1 / (1 + np.exp(-csr_linear(x, c0, first.bias.data)))
    logits = csr_linear(hidden, c2, second.bias.data)
    with no_grad():
        dense_logits = model(Tensor(x)).data
    agree = float(np.mean(np.argmax(logits, 1) == np.argmax(dense_logits, 1)))
    err = float(np.max(np.abs(logits - dense_logits)))
    print(
        f"  CSR inference vs dense: max |logit difference| {err:.2e}, "
        f"predictions agree {agree:.1%}\n"
    )


# ---- 2. sparse vs dense products ------------------------------------------------------------
def sparse_products() -> None:
    rng = np.random.default_rng(0)
    shapes: list[tuple[int, int, int]] = [(128, 64, 364), (128, 64, 1), (1024, 1024, 64)]
    sparsities = (0.5, 0.9, 0.99) if QUICK else (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)
    rows: list[tuple[str, ...]] = []
    for out_f, in_f, batch in shapes:
        x = rng.standard_normal((batch, in_f)).astype(np.float32)
        w0 = rng.standard_normal((out_f, in_f)).astype(np.float32)
        dense_us = _p50_us(functools.partial(np.matmul, x, w0.T))
        for s in sparsities:
            w = w0 * (rng.random(w0.shape) >= s)
            csr = to_sparse_csr(w)
            assert np.allclose(csr_linear(x, csr), x @ w.T, rtol=1e-4, atol=1e-3)
            sparse_us = _p50_us(functools.partial(csr_linear, x, csr))
            rows.append(
                (
                    f"{out_f}x{in_f} weight, batch {batch}",
                    _pct(1 - csr.density),
                    f"{dense_us:.1f}",
                    f"{sparse_us:.1f}",
                    f"{dense_us / sparse_us:.2f}x",
                    f"{csr.nbytes / w.nbytes:.3f}x",
                )
            )
    header = ("product x @ W.T", "sparsity", "dense us", "CSR us", "CSR speed-up", "CSR bytes")
    print(bench.table("2. CSR (gather + np.add.reduceat) vs dense BLAS, p50", header, rows))
    print()


# ---- 3. structured --------------------------------------------------------------------------
def _structured_row(
    label: str,
    trained: TrainedClassifier,
    layers: Sequence[int],
    epochs: int,
    lr: float,
) -> list[tuple[str, ...]]:
    model = trained.model
    assert isinstance(model, Sequential)
    small = structured_prune(model, 0.5, layers=layers)
    before_ft = classifier_accuracy(small, trained.test)
    _fine_tune(small, trained, epochs, lr)
    after = classifier_accuracy(small, trained.test)
    x_all = trained.test.tensors[0]
    x_one = Tensor(x_all.data[:1])
    rows: list[tuple[str, ...]] = []
    for name, x in (("batch 364", x_all), ("batch 1", x_one)):
        dense_us, small_us = _paired_us(model, small, x)
        rows.append(
            (
                f"{label}, {name}",
                f"{dense_us:.1f}",
                f"{small_us:.1f}",
                f"{dense_us / small_us:.2f}x",
            )
        )
    f_dense = count_flops(model.eval(), x_all).total
    f_small = count_flops(small.eval(), x_all).total
    b_dense, b_small = held_bytes(model), held_bytes(small)
    print(f"  {label}: {_shapes(small)}")
    print(
        f"    held bytes {b_dense} -> {b_small} ({b_small / b_dense:.2f}x); forward FLOPs at batch "
        f"364 {f_dense:,} -> {f_small:,} ({f_small / f_dense:.2f}x)"
    )
    print(
        f"    accuracy {_pct(trained.accuracy)} dense, {_pct(before_ft)} pruned, "
        f"{_pct(after)} after {epochs} epochs of fine-tuning "
        f"({100 * (after - trained.accuracy):+.2f} points; done-when <= 1 point lost: "
        f"{trained.accuracy - after <= 0.01})"
    )
    return rows


def _shapes(model: Sequential) -> str:
    parts = []
    for layer in model:
        w = getattr(layer, "weight", None)
        if isinstance(layer, Module) and w is not None and w.ndim >= 2:
            parts.append(f"{type(layer).__name__} {w.shape[1]}->{w.shape[0]}")
    return ", ".join(parts)


def structured(mlp: TrainedClassifier, lenet: TrainedClassifier | None) -> None:
    print("3. structured pruning, 50% (lowest L2 norm), physically removed")
    epochs = 1 if QUICK else 10
    rows = _structured_row("MLP hidden layer", mlp, [0], epochs, lr=0.05)
    if lenet is not None:
        lenet_epochs = 1 if QUICK else 15
        rows += _structured_row("LeNet conv channels", lenet, [0, 3], lenet_epochs, lr=1e-3)
        rows += _structured_row(
            "LeNet conv + fc hidden", lenet, [0, 3, 7, 10], lenet_epochs, lr=1e-3
        )
    header = ("no-grad eval forward, p50", "dense us", "pruned us", "speed-up")
    print(bench.table("", header, rows))
    print("  done-when: forward >= 1.7x faster (see the rows), bytes about halved\n")


# ---- 4. low rank ----------------------------------------------------------------------------
def lowrank(mlp: TrainedClassifier) -> None:
    model = mlp.model
    assert isinstance(model, Sequential)
    x_all = mlp.test.tensors[0]
    x_one = Tensor(x_all.data[:1])
    first = model[0]
    assert isinstance(first, Linear)
    s = np.linalg.svd(first.weight.data.astype(np.float64), compute_uv=False)
    dense_b364 = statistics.median(_forward_us(model, x_all) for _ in range(1 if QUICK else 3))
    dense_b1 = statistics.median(_forward_us(model, x_one) for _ in range(1 if QUICK else 3))
    rows = [
        (
            "dense 64->128 (rank 64)",
            "64",
            f"{count_flops(model, x_all).forward.matmul:,}",
            f"{held_bytes(model)}",
            f"{dense_b364:.1f}",
            f"{dense_b1:.1f}",
            _pct(mlp.accuracy),
            "-",
        )
    ]
    for energy in (0.99, 0.95, 0.9, 0.8):
        small = low_rank(model, energy, [0])
        factor = small[0]
        assert isinstance(factor, Sequential)
        inner = factor[0]
        assert isinstance(inner, Linear)
        acc = classifier_accuracy(small, mlp.test)
        b364 = _paired_us(model, small, x_all)[1]
        b1 = _paired_us(model, small, x_one)[1]
        tuned = copy.deepcopy(small)
        _fine_tune(tuned, mlp, 1 if QUICK else 3, lr=0.01)
        rows.append(
            (
                f"energy {energy}",
                str(inner.out_features),
                f"{count_flops(small, x_all).forward.matmul:,}",
                f"{held_bytes(small)}",
                f"{b364:.1f}",
                f"{b1:.1f}",
                _pct(acc),
                _pct(classifier_accuracy(tuned, mlp.test)),
            )
        )
    header = (
        "layer 0",
        "rank",
        "matmul FLOPs b364",
        "held B",
        "us b364",
        "us b1",
        "accuracy",
        "after 3 ep FT",
    )
    print(
        bench.table(
            "4. low-rank factorization of the MLP's largest layer (64 -> 128)", header, rows
        )
    )
    cumulative = np.cumsum(s**2) / np.sum(s**2)
    print(
        "  singular-value energy of its weight: rank 8 "
        f"{cumulative[7]:.3f}, 16 {cumulative[15]:.3f}, 32 {cumulative[31]:.3f}; "
        "factorizing saves FLOPs only below rank 64*128/(64+128) = 42.7\n"
    )


def _student(seed: int) -> Sequential:
    g = Generator(seed)
    return Sequential(Linear(64, 16, generator=g), Sigmoid(), Linear(16, 10, generator=g))


def distillation(mlp: TrainedClassifier) -> None:
    seeds = list(range(2 if QUICK else 5))
    budgets = (3,) if QUICK else (3, 5, 10)
    temperature, alpha = 4.0, 0.9
    rows: list[tuple[str, ...]] = []
    verdicts = []
    for epochs in budgets:
        alone: list[float] = []
        distilled: list[float] = []
        for seed in seeds:
            for teacher, results in ((None, alone), (mlp.model, distilled)):
                student = _student(seed)
                optimizer = SGD(student.parameters(), lr=0.1, momentum=0.9)
                loader = DataLoader(
                    mlp.train, batch_size=32, shuffle=True, generator=Generator(seed)
                )
                train_student(
                    teacher,
                    student,
                    loader,
                    optimizer,
                    epochs=epochs,
                    temperature=temperature,
                    alpha=0.0 if teacher is None else alpha,
                )
                results.append(classifier_accuracy(student, mlp.test))
        steps = epochs * len(loader)
        label = f"{epochs} epochs ({steps} steps)"
        rows.append((f"{label}: alone", *map(_pct, alone), _pct(statistics.mean(alone))))
        rows.append(
            (
                f"{label}: distilled",
                *map(_pct, distilled),
                _pct(statistics.mean(distilled)),
            )
        )
        gain = statistics.mean(distilled) - statistics.mean(alone)
        verdicts.append(f"{epochs} epochs {100 * gain:+.2f} points")
    header = ("64-16-10 student", *(f"seed {s}" for s in seeds), "mean")
    title = (
        f"5. distillation from the MLP ({_pct(mlp.accuracy)}), T={temperature}, alpha={alpha}, "
        "vs the same student alone (cross-entropy): SGD lr 0.1 momentum 0.9, batch 32, the same "
        "init and batches per seed"
    )
    print(bench.table(title, header, rows))
    print(f"  distilled minus alone, mean over {len(seeds)} seeds: {', '.join(verdicts)}\n")


def main() -> None:
    global QUICK
    args = bench.parse(bench.parser(__doc__, threads=1))
    QUICK = args.quick
    print(bench.environment(torch=False))
    print(f"latency threads: {describe_threads(thread_settings())}")
    mlp = train_classifier("mlp", epochs=10 if QUICK else None)
    try:
        lenet: TrainedClassifier | None = train_classifier("lenet", epochs=5 if QUICK else None)
    except ImportError as err:
        print(f"LeNet skipped: {err}")
        lenet = None
    lenet_acc = "-" if lenet is None else _pct(lenet.accuracy)
    print(f"baselines: MLP {_pct(mlp.accuracy)}, LeNet {lenet_acc} on the 364 held-out digits\n")
    unstructured(mlp)
    sparse_products()
    structured(mlp, lenet)
    lowrank(mlp)
    distillation(mlp)


if __name__ == "__main__":
    main()
