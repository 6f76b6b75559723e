"""Acceleration, measured: the lessons, then accelerate() on the milestone steps against
modules 01-13 alone and PyTorch eager.

Run:  python -m tools bench acceleration   (or this file: [--quick] [--repeats N] [--threads N])

1. The training steps of the 1986 MLP, the 1998 LeNet and the 2017 GPT (4 layers, 128 wide,
   context 64, batch 32, AdamW): modules 01-13 alone, accelerated, PyTorch eager (same
   weights, same batch, same threads), interleaved repeats, medians and IQR.
2. Which technique bought how much on the GPT (each added alone), and the profile of the GPT
   step before and after.
3. The lessons: loops against vectorized (matmul, conv), the tiled matmul against BLAS,
   fusion of GELU (forward, backward) and of the AdamW update (time and bytes allocated),
   BLAS threads (a subprocess per thread count), batch size against throughput.

BLAS runs on one thread unless ``--threads`` says otherwise; the threads lesson also runs the
machine's default (all cores). The load average is printed: the machine is shared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.acceleration import ForeachAdamW, accelerate, lessons
from tinytorch.acceleration.modules import FusedBlock, FusedGPT, FusedMLP, FusedSelfAttention
from tinytorch.activations.functional import SQRT_2_OVER_PI
from tinytorch.layers import Module
from tinytorch.optimizers import Optimizer
from tinytorch.profiling import profile
from tinytorch.profiling.workloads import Workload, workload
from tinytorch.tensor import Tensor

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for tools/
from tools import benchmark as bench

Step = Callable[[], float]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


# ---- the steps ----------------------------------------------------------------------------
def _step(model: Module, opt: Optimizer, w: Workload) -> Step:
    """A training step of ``model`` (a GPT-shaped or a classifier) on ``w``'s batch."""
    if w.name == "gpt":
        x, y = _gpt_batch()

        def gpt_step() -> float:
            opt.zero_grad()
            _, loss = model(x, y)
            loss.backward()
            opt.step()
            return float(loss.item())

        return gpt_step
    from tinytorch.losses import CrossEntropyLoss

    loss_fn = CrossEntropyLoss()
    x, y = _classifier_batch(w)

    def step() -> float:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return float(loss.item())

    return step


def _gpt_batch() -> tuple[Tensor, Tensor]:
    from tinytorch.profiling.workloads import char_gpt

    _, _, data = char_gpt()
    rng = np.random.default_rng(0)  # the batch tinytorch.profiling.workloads.gpt() takes
    starts = rng.integers(0, len(data) - 64 - 1, 32)
    windows = data[starts[:, None] + np.arange(64 + 1)]
    return Tensor(windows[:, :-1]), Tensor(windows[:, 1:])


def _classifier_batch(w: Workload) -> tuple[Tensor, Tensor]:
    from tinytorch.profiling.workloads import digits

    images, labels = digits(w.name == "mlp")[0].__getitems__(list(range(32)))
    return images, labels


def torch_step(torch: Any, w: Workload) -> Step:
    """PyTorch eager with ``w``'s weights, batch, optimizer recipe."""
    if w.name == "gpt":
        tm = build_torch_gpt(torch, w.model)
        decay = [p for p in tm.parameters() if p.dim() >= 2]
        no_decay = [p for p in tm.parameters() if p.dim() < 2]
        opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
            lr=2e-3,
            betas=(0.9, 0.99),
        )
        x, y = _gpt_batch()
        tx, ty = torch.from_numpy(x.data.copy()), torch.from_numpy(y.data.copy())

        def gpt_step() -> float:
            opt.zero_grad(set_to_none=True)
            _, loss = tm(tx, ty)
            loss.backward()
            opt.step()
            return float(loss.item())

        return gpt_step
    net = build_torch_sequential(torch, w.model)
    if w.name == "mlp":
        topt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    else:
        topt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-2)
    x, y = _classifier_batch(w)
    tx, ty = torch.from_numpy(x.data.copy()), torch.from_numpy(y.data.copy())

    def step() -> float:
        topt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(net(tx), ty)
        loss.backward()
        topt.step()
        return float(loss.item())

    return step


def build_torch_sequential(torch: Any, model: Any) -> Any:
    nn = torch.nn
    layers = []
    for layer in model:
        kind = type(layer).__name__
        if kind == "Linear":
            t = nn.Linear(layer.in_features, layer.out_features)
        elif kind == "Conv2d":
            t = nn.Conv2d(
                layer.in_channels, layer.out_channels, layer.kernel_size, padding=layer.padding
            )
        elif kind == "MaxPool2d":
            t = nn.MaxPool2d(layer.kernel_size)
        elif kind == "Dropout":
            t = nn.Dropout(layer.p)
        else:
            t = {"ReLU": nn.ReLU, "Sigmoid": nn.Sigmoid, "Flatten": nn.Flatten}[kind]()
        if hasattr(layer, "weight"):
            with torch.no_grad():
                t.weight.copy_(torch.from_numpy(layer.weight.data.copy()))
                t.bias.copy_(torch.from_numpy(layer.bias.data.copy()))
        layers.append(t)
    return nn.Sequential(*layers)


def build_torch_gpt(torch: Any, model: Any) -> Any:
    """The same GPT in PyTorch (tinytorch-transformers' bench_gpt.py twin), weights copied."""
    from torch import nn
    from torch.nn import functional as F

    c = model.config

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1 = nn.LayerNorm(c.n_embd)
            self.attn = nn.Linear(c.n_embd, 3 * c.n_embd)
            self.proj = nn.Linear(c.n_embd, c.n_embd)
            self.ln_2 = nn.LayerNorm(c.n_embd)
            self.fc = nn.Linear(c.n_embd, 4 * c.n_embd)
            self.c_proj = nn.Linear(4 * c.n_embd, c.n_embd)

        def forward(self, x: Any) -> Any:
            b, t, e = x.shape
            q, k, v = self.attn(self.ln_1(x)).split(e, dim=2)
            q, k, v = (z.view(b, t, c.n_head, e // c.n_head).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, e))
            return x + self.c_proj(F.gelu(self.fc(self.ln_2(x)), approximate="tanh"))

    class TorchGPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(c.vocab_size, c.n_embd)
            self.wpe = nn.Embedding(c.block_size, c.n_embd)
            self.h = nn.ModuleList(Block() for _ in range(c.n_layer))
            self.ln_f = nn.LayerNorm(c.n_embd)
            self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
            self.lm_head.weight = self.wte.weight

        def forward(self, idx: Any, targets: Any) -> Any:
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
            for block in self.h:
                x = block(x)
            logits = self.lm_head(self.ln_f(x))
            loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))
            return logits, loss

    tm = TorchGPT()
    state = model.state_dict()
    mapping = {"wte.weight": "wte.weight", "wpe.weight": "wpe.weight"}
    mapping |= {f"ln_f.{p}": f"ln_f.{p}" for p in ("weight", "bias")}
    pairs = [
        ("ln_1.weight", "ln_1.weight"),
        ("ln_1.bias", "ln_1.bias"),
        ("attn.in_proj_weight", "attn.weight"),
        ("attn.in_proj_bias", "attn.bias"),
        ("attn.out_proj.weight", "proj.weight"),
        ("attn.out_proj.bias", "proj.bias"),
        ("ln_2.weight", "ln_2.weight"),
        ("ln_2.bias", "ln_2.bias"),
        ("mlp.c_fc.weight", "fc.weight"),
        ("mlp.c_fc.bias", "fc.bias"),
        ("mlp.c_proj.weight", "c_proj.weight"),
        ("mlp.c_proj.bias", "c_proj.bias"),
    ]
    for i in range(c.n_layer):
        for a, b in pairs:
            mapping[f"h.{i}.{a}"] = f"h.{i}.{b}"
    with torch.no_grad():
        params = dict(tm.named_parameters())
        for ours, theirs in mapping.items():
            params[theirs].copy_(torch.from_numpy(state[ours].data.copy()))
    return tm


def equivalence_section(args: Any) -> None:
    print("== 0. same losses: accelerated against modules 01-13, the milestone models ==")
    steps = 10 if args.quick else 50
    for name in ("lenet", "gpt"):
        try:
            base, other = workload(name), workload(name)
        except ImportError as err:
            print(f"skipped {name}: {err}")
            continue
        fast, fast_opt, _ = accelerate(other.model, other.optimizer)
        assert fast_opt is not None
        ref_step, fast_step = _step(base.model, base.optimizer, base), _step(fast, fast_opt, other)
        ref = np.array([ref_step() for _ in range(steps)])
        got = np.array([fast_step() for _ in range(steps)])
        rel = np.abs(ref - got) / np.abs(ref)
        exact = int((ref == got).sum())
        verdict = "holds" if rel.max() <= 1e-4 else "FAILS"
        print(
            f"  {name}: {steps} steps (same batch each step), loss {ref[0]:.4f} -> {ref[-1]:.4f}; "
            f"max relative difference {rel.max():.2e} ({exact} of {steps} bit-equal): "
            f"within 1e-4 {verdict}"
        )
    print()


def steps_section(args: Any, torch: Any) -> None:
    print("== 1. training steps: modules 01-13 alone, accelerated, PyTorch eager ==")
    for name in ("mlp", "lenet", "gpt"):
        try:
            base, other = workload(name), workload(name)
        except ImportError as err:
            print(f"skipped {name}: {err}")
            continue
        fast, fast_opt, report = accelerate(other.model, other.optimizer)
        assert fast_opt is not None
        fns: dict[str, Callable[[], object]] = {
            "modules 01-13": _step(base.model, base.optimizer, base),
            "accelerated": _step(fast, fast_opt, other),
        }
        if torch is not None:
            fns["pytorch eager"] = torch_step(torch, base)
        # A GPT step is long enough to time alone; the small steps are timed 10 at a time, so a
        # sample averages over the scheduler's noise on this shared machine.
        repeats = max(args.repeats // 3, 3) if name == "gpt" else args.repeats
        number = 1 if name == "gpt" else 10
        times = bench.compare(fns, repeat=repeats, warmup=2, block=2, number=number)
        print(bench.ratio_table(f"{base.description}: one step", times, reference="modules 01-13",
                                unit="ms"))  # fmt: skip
        if torch is not None:
            ratio = times["pytorch eager"].median / times["accelerated"].median
            verdict = "faster" if ratio >= 1 else "SLOWER"
            print(f"  accelerated vs pytorch eager: {ratio:.2f}x ({verdict} than PyTorch)")
        speed = times["modules 01-13"].median / times["accelerated"].median
        print(f"  accelerated vs modules 01-13: {speed:.2f}x faster")
        print("  " + str(report).replace("\n", "\n  ") + "\n")


def _ablation(args: Any) -> None:
    print("== 2. the GPT step: which technique bought how much (each added alone) ==")

    def variant(attn: bool, mlp: bool, foreach: bool) -> Callable[[], object]:
        w = workload("gpt")
        model: Module = w.model
        if attn or mlp:
            blocks: list[Module] = [
                FusedBlock(
                    b,
                    FusedSelfAttention(b.attn) if attn else b.attn,
                    FusedMLP(b.mlp) if mlp else b.mlp,
                )
                for b in w.model.h
            ]
            model = FusedGPT(w.model, blocks)
        opt = ForeachAdamW.from_optimizer(w.optimizer) if foreach else w.optimizer  # type: ignore[arg-type]
        return _step(model, opt, w)

    fns = {
        "modules 01-13": variant(False, False, False),
        "+ foreach AdamW only": variant(False, False, True),
        "+ fused attention only": variant(True, False, False),
        "+ fused linear_gelu MLP only": variant(False, True, False),
        "all (accelerate)": variant(True, True, True),
    }
    times = bench.compare(fns, repeat=max(args.repeats // 3, 3), warmup=2, block=2)
    print(bench.ratio_table("GPT step, one technique at a time", times,
                            reference="modules 01-13", unit="ms"))  # fmt: skip
    base = times["modules 01-13"].median
    for name, s in times.items():
        if name != "modules 01-13":
            print(f"  {name}: saves {(base - s.median) * 1e3:.1f} ms of {base * 1e3:.1f} ms")
    print()


def _profiles() -> None:
    print("== 2b. profile of the GPT step, before and after (top rows) ==")
    for label, accelerated in (("before (modules 01-13)", False), ("after (accelerated)", True)):
        w = workload("gpt")
        model, opt = w.model, w.optimizer
        if accelerated:
            model, fopt, _ = accelerate(w.model, w.optimizer)
            assert fopt is not None
            opt = fopt
        step = _step(model, opt, w)
        for _ in range(2):
            step()
        with profile() as prof:
            step()
        print(label)
        print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))
        print()


# ---- the lessons --------------------------------------------------------------------------
def lessons_section(args: Any) -> None:
    rng = np.random.default_rng(0)
    rep = args.repeats
    print("== 3a. loops against vectorized ==")
    n = 32 if args.quick else 64
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    t = bench.compare(
        {"python loops": lambda: lessons.matmul_loops(a, b), "np.matmul": lambda: a @ b},
        repeat=3,
    )
    print(bench.ratio_table(f"matmul {n}x{n}x{n} float32", t, reference="np.matmul", unit="ms"))
    x = rng.standard_normal((2, 4, 8, 8)).astype(np.float32)
    w = rng.standard_normal((8, 4, 3, 3)).astype(np.float32)
    t = bench.compare(
        {
            "python loops": lambda: lessons.conv2d_loops(x, w, 1),
            "im2col + GEMM": lambda: lessons.conv2d_im2col(x, w, 1),
        },
        repeat=3,
    )
    print(bench.ratio_table("conv2d (2, 4, 8, 8) * (8, 4, 3, 3), padding 1", t,
                            reference="im2col + GEMM", unit="ms"))  # fmt: skip
    print()

    print("== 3b. cache blocking: a tiled matmul against BLAS ==")
    n = 256 if args.quick else 1024
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    fns: dict[str, Callable[[], object]] = {"np.matmul (BLAS)": lambda: a @ b}
    for block in (16, 32, 64, 128, 256):

        def tiled(block: int = block) -> object:
            return lessons.matmul_tiled(a, b, block)

        fns[f"tiled, B={block}"] = tiled
    t = bench.compare(fns, repeat=max(rep // 4, 3))
    print(bench.ratio_table(f"matmul {n}x{n}x{n} float32", t, reference="np.matmul (BLAS)",
                            unit="ms"))  # fmt: skip
    flops = 2 * n**3
    for name, s in t.items():
        print(f"  {name}: {flops / s.median / 1e9:.1f} GFLOP/s")
    print()

    print("== 3c. fusion: one pass over preallocated buffers against op by op ==")
    x = rng.standard_normal((32 * 64, 512)).astype(np.float32)  # the GPT MLP's activation
    g = rng.standard_normal(x.shape).astype(np.float32)
    out, tmp = np.empty_like(x), np.empty_like(x)
    th = np.tanh(np.float32(SQRT_2_OVER_PI) * (x + np.float32(0.044715) * x * x * x))
    cases: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        "GELU forward": (lambda: lessons.gelu_op_by_op(x), lambda: lessons.gelu_fused(x, out)),
        "GELU backward": (
            lambda: lessons.gelu_backward_op_by_op(x, g),
            lambda: lessons.gelu_backward_fused(x, th, g, out, tmp),
        ),
    }
    size = 1_000_000 if args.quick else 850_000
    p, pg = (
        rng.standard_normal(size).astype(np.float32),
        rng.standard_normal(size).astype(np.float32),
    )
    m, v, scratch = np.zeros_like(p), np.zeros_like(p), np.empty_like(p)
    cases["AdamW update"] = (
        lambda: lessons.adam_op_by_op(p, pg, m, v, 3),
        lambda: lessons.adam_fused(p, pg, m, v, 3, scratch),
    )
    rows: list[tuple[str, ...]] = []
    for name, (slow, fast) in cases.items():
        t = bench.compare({"op by op": slow, "fused": fast}, repeat=max(rep, 5))
        bytes_slow, bytes_fast = lessons.allocated_bytes(slow), lessons.allocated_bytes(fast)
        rows.append(
            (
                name,
                bench.format_time(t["op by op"], "ms", 3),
                bench.format_time(t["fused"], "ms", 3),
                bench.format_ratio(t["op by op"], t["fused"]),
                f"{bytes_slow / 2**20:.1f}",
                f"{bytes_fast / 2**20:.1f}",
            )
        )
    print(bench.table(
        f"elementwise chains on the GPT's shapes (GELU {x.shape}, AdamW {size} params)",
        ("chain", "op-by-op ms", "fused ms", "speed-up", "op-by-op MiB", "fused MiB"), rows,
    ))  # fmt: skip
    print()

    print("== 3d. batch size against throughput (accelerated GPT step, and the MLP) ==")
    rows = []
    mw = workload("mlp")
    from tinytorch.losses import CrossEntropyLoss

    loss_fn = CrossEntropyLoss()
    from tinytorch.dataloader import tiny_digits

    full = tiny_digits("train", flatten=True)
    for batch in (1, 8, 32, 128, 512):
        xb, yb = full.__getitems__(list(range(batch)))

        def mlp_step(xb: Tensor = xb, yb: Tensor = yb) -> None:
            mw.optimizer.zero_grad()
            loss_fn(mw.model(xb), yb).backward()
            mw.optimizer.step()

        s = bench.measure(mlp_step, repeat=max(rep, 5), warmup=3, number=5)
        rows.append(("MLP", str(batch), f"{s.median * 1e3:.3f}", f"{batch / s.median:,.0f}"))
    gw = workload("gpt")
    fast, fopt, _ = accelerate(gw.model, gw.optimizer)
    assert fopt is not None
    bx, by = _gpt_batch()
    for batch in (4, 16, 32) if args.quick else (4, 8, 16, 32, 64):
        idx = np.arange(batch) % 32
        xb, yb = Tensor(bx.data[idx]), Tensor(by.data[idx])

        def gpt_step(xb: Tensor = xb, yb: Tensor = yb) -> None:
            fopt.zero_grad()
            _, loss = fast(xb, yb)
            loss.backward()
            fopt.step()

        s = bench.measure(gpt_step, repeat=3, warmup=1)
        rows.append(("GPT", str(batch), f"{s.median * 1e3:.1f}", f"{batch * 64 / s.median:,.0f}"))
    print(bench.table("samples (MLP) or tokens (GPT) per second", ("model", "batch", "ms/step",
                      "per second"), rows))  # fmt: skip
    print()


def threads_section(args: Any) -> None:
    print("== 3e. BLAS threads: 1 against all cores (a fresh process each) ==")
    rows = []
    for threads in sorted({1, os.cpu_count() or 1}):
        env = dict(os.environ)
        env.update(bench.thread_environment(threads))
        cmd = [sys.executable, __file__, "--probe", "--threads", str(threads)]
        if args.quick:
            cmd.append("--quick")
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        rows.append(
            (
                str(threads),
                f"{r['gflops']:.1f}",
                f"{r['base']:.1f} +- {r['base_iqr']:.1f}",
                f"{r['fast']:.1f} +- {r['fast_iqr']:.1f}",
                f"{r['torch']:.1f} +- {r['torch_iqr']:.1f}" if r["torch"] else "-",
            )
        )
        print(f"  threads {threads}: {r['load']}")
    print(
        bench.table(
            "matmul 1024^3 GFLOP/s; GPT step ms (median +- IQR)",
            ("threads", "matmul GFLOP/s", "01-13 ms", "accelerated ms", "pytorch ms"),
            rows,
        )
    )
    print()


def probe(args: Any) -> None:
    rng = np.random.default_rng(0)
    a = rng.random((1024, 1024), dtype=np.float32)
    s = bench.measure(lambda: a @ a, repeat=5, warmup=1)
    base, other = workload("gpt"), workload("gpt")
    fast, fopt, _ = accelerate(other.model, other.optimizer)
    assert fopt is not None
    fns: dict[str, Callable[[], object]] = {
        "base": _step(base.model, base.optimizer, base),
        "fast": _step(fast, fopt, other),
    }
    torch = bench.optional_torch()
    if torch is not None:
        fns["torch"] = torch_step(torch, base)
    times = bench.compare(fns, repeat=3 if args.quick else 10, warmup=1, block=2)
    print(json.dumps({
        "gflops": 2 * 1024**3 / s.median / 1e9,
        "base": times["base"].median * 1e3,
        "fast": times["fast"].median * 1e3,
        "torch": times["torch"].median * 1e3 if "torch" in times else None,
        "base_iqr": times["base"].iqr * 1e3,
        "fast_iqr": times["fast"].iqr * 1e3,
        "torch_iqr": times["torch"].iqr * 1e3 if "torch" in times else None,
        "load": load(),
    }))  # fmt: skip


def main() -> None:
    p = bench.parser(__doc__, threads=1, repeats=15)
    p.add_argument("--probe", action="store_true", help=argparse_hidden())
    args = bench.parse(p)
    if args.probe:
        probe(args)
        return
    torch = bench.optional_torch()
    print(bench.environment(torch=True))
    print(load())
    print()
    equivalence_section(args)
    steps_section(args, torch)
    _ablation(args)
    _profiles()
    lessons_section(args)
    threads_section(args)
    print(load())


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
