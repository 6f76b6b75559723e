"""Quantization, measured: float32 against int8 on the milestone models.

Run:  python -m tools bench quantization   (or this file directly: [--quick] [--threads N])

For the 1986 MLP and the 1998 LeNet, trained by their full recipes
(tinytorch.profiling.trained.train_classifier): held-out accuracy (364 digits) of float32,
static int8 (prepare -> calibrate on the training digits -> convert; per-channel weights, and
per-tensor beside it) and QAT (prepare_qat, a short fine-tune, convert); the bytes the model
holds (sum of nbytes) and its checkpoint's bytes on disk (tinytorch.training.save, whose
format version the table's title names; the target is a file at most 0.3x float's); latency of
inference at batch 1 and batch 364 (tinytorch.profiling.latency), and, where PyTorch is
installed, torch's float and dynamic int8 Linear (torch.ao.quantization.quantize_dynamic) on
the same MLP weights. For the 2017 character GPT (train_char_gpt(steps=600); --quick: 60):
validation loss of float32 against dynamic int8. BLAS runs on one thread unless --threads.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.autograd import no_grad
from tinytorch.layers import Module
from tinytorch.losses import CrossEntropyLoss
from tinytorch.optimizers import SGD, AdamW
from tinytorch.profiling import latency
from tinytorch.profiling.trained import classifier_accuracy, train_classifier
from tinytorch.quantization import (
    convert,
    disable_observer,
    held_nbytes,
    per_tensor_weight_qconfig,
    prepare,
    prepare_qat,
    quantize_dynamic,
    quantize_weight_only,
)
from tinytorch.quantization.qconfig import QConfig, default_qconfig
from tinytorch.training import Trainer, save
from tinytorch.training.checkpoint import VERSION as CHECKPOINT_VERSION

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for tools/
from tools import benchmark as bench

TMP = tempfile.mkdtemp(prefix="bench-quantization-")


def file_bytes(model: Module, name: str) -> int:
    path = os.path.join(TMP, f"{name}.npz")
    save(model.state_dict(), path)
    return os.path.getsize(path)


def static_int8(trained: Any, qconfig: QConfig) -> Module:
    observed = prepare(trained.model, qconfig)
    with no_grad():
        observed(trained.train.tensors[0])  # calibration: the training digits, one batch
    return convert(observed)


def qat_int8(trained: Any, quick: bool) -> Module:
    # Fine-tune settings: MLP SGD lr 1e-3 momentum 0.9 for 1 epoch; LeNet AdamW lr 3e-4 for
    # 3 epochs (chosen among lr {1e-3, 3e-4, 1e-4} x epochs {1, 3}; see the README).
    qat = prepare_qat(trained.model)
    if trained.name == "mlp":
        optimizer: Any = SGD(qat.parameters(), lr=1e-3, momentum=0.9)
        epochs = 1
    else:
        optimizer = AdamW(qat.parameters(), lr=3e-4, weight_decay=1e-2)
        epochs = 1 if quick else 3
    Trainer(qat, optimizer, CrossEntropyLoss(), progress=False).fit(trained.loader(), epochs=epochs)
    disable_observer(qat)
    return convert(qat.eval())


def timed(fn: Callable[[], object], quick: bool) -> float:
    report = latency(fn, warmup=3 if quick else 10, min_runs=5 if quick else 30,
                     min_seconds=0.1 if quick else 1.0)  # fmt: skip
    return report.p50


def infer(model: Module, x: Any) -> Callable[[], object]:
    def run() -> object:
        with no_grad():
            return model(x)

    return run


def torch_mlp(trained: Any, quick: bool) -> dict[str, tuple[float, float, float]]:
    torch = bench.optional_torch()
    if torch is None:
        return {}
    nn = torch.nn
    ours = trained.model
    model = nn.Sequential(nn.Linear(64, 128), nn.Sigmoid(), nn.Linear(128, 10)).eval()
    with torch.no_grad():
        for i in (0, 2):
            model[i].weight.copy_(torch.tensor(ours[i].weight.data))
            model[i].bias.copy_(torch.tensor(ours[i].bias.data))
    dynamic = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    x, y = (torch.tensor(t.data) for t in trained.test.tensors)
    out: dict[str, tuple[float, float, float]] = {}
    for name, m in (("torch float32", model), ("torch dynamic int8", dynamic)):
        with torch.no_grad():
            acc = float((m(x).argmax(1) == y).float().mean())

        def run(m: Any = m, xb: Any = x) -> object:
            with torch.no_grad():
                return m(xb)

        def run1(m: Any = m, xb: Any = x[:1]) -> object:
            with torch.no_grad():
                return m(xb)

        out[name] = (acc, timed(run1, quick), timed(run, quick))
    return out


def classifiers(quick: bool) -> None:
    for name in ("mlp", "lenet"):
        try:
            trained = train_classifier(name, epochs=5 if quick else None)
        except ImportError as err:
            print(f"skipped {name}: {err}")
            continue
        x = trained.test.tensors[0]
        models = {
            "float32": trained.model,
            "static int8 (per-channel)": static_int8(trained, default_qconfig),
            "static int8 (per-tensor)": static_int8(trained, per_tensor_weight_qconfig),
            "QAT int8 (per-channel)": qat_int8(trained, quick),
            "weight-only int8 (per-channel)": quantize_weight_only(trained.model),
        }
        if name == "mlp":
            models["dynamic int8 (per-channel)"] = quantize_dynamic(trained.model)
        base_held = held_nbytes(trained.model)
        base_file = file_bytes(trained.model, f"{name}-float32")
        rows = []
        for label, model in models.items():
            model.eval()
            acc = classifier_accuracy(model, trained.test)
            held = held_nbytes(model)
            disk = file_bytes(model, f"{name}-{label.split()[0]}")
            t1, tb = timed(infer(model, x[:1]), quick), timed(infer(model, x), quick)
            rows.append([
                label, f"{acc:.2%}", f"{held:,}", f"{held / base_held:.3f}", f"{disk:,}",
                f"{disk / base_file:.3f}", f"{t1 * 1e6:.1f}", f"{tb * 1e6:.1f}",
            ])  # fmt: skip
        if name == "mlp":
            for label, (acc, t1, tb) in torch_mlp(trained, quick).items():
                rows.append([label, f"{acc:.2%}", "-", "-", "-", "-", f"{t1 * 1e6:.1f}",
                             f"{tb * 1e6:.1f}"])  # fmt: skip
        header = ("model", "accuracy", "held bytes", "/ float", "file bytes", "/ float",
                  "p50 us b=1", "p50 us b=364")  # fmt: skip
        title = (
            f"{trained.name}: {trained.epochs} epochs, float32 accuracy {trained.accuracy:.2%}; "
            f"checkpoint format version {CHECKPOINT_VERSION}"
        )
        print(bench.table(title, header, rows))
        print(bench.table("", header, rows, markdown=True))
        print()


def gpt(quick: bool) -> None:
    try:
        from tinytorch.profiling.trained import train_char_gpt, validation_loss
    except ImportError as err:  # pragma: no cover
        print(f"skipped gpt: {err}")
        return
    try:
        trained = train_char_gpt(steps=60 if quick else 600)
    except ImportError as err:
        print(f"skipped gpt: {err}")
        return
    block = trained.model.config.block_size
    for p in trained.model.parameters():
        p.grad = None  # a deployed model holds no gradients; held_nbytes would count them
    q = quantize_dynamic(trained.model)
    loss_q = validation_loss(q, trained.val_ids, block)
    x = np.asarray(trained.val_ids[: 32 * block + 1])
    from tinytorch.tensor import Tensor

    idx = Tensor(x[:-1].reshape(32, block))
    rows = []
    for label, model, loss in (("float32", trained.model, trained.val_loss),
                               ("dynamic int8", q, loss_q)):  # fmt: skip
        tb = timed(infer(model, idx), quick)
        rows.append([label, f"{loss:.4f}", f"{held_nbytes(model):,}", f"{tb * 1e3:.1f}"])
    print(bench.table(
        f"gpt: {trained.steps} steps; dynamic int8 loses {loss_q - trained.val_loss:+.4f} nats",
        ("model", "val loss", "held bytes", "p50 ms b=32x64"), rows,
    ))  # fmt: skip


def main() -> None:
    args = bench.parse(bench.parser(__doc__, threads=1))
    print(bench.environment())
    classifiers(args.quick)
    gpt(args.quick)


if __name__ == "__main__":
    main()
