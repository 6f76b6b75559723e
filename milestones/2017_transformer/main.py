"""Milestone 2017: the Transformer, attention in place of recurrence.

Vaswani et al., "Attention Is All You Need" (NeurIPS 2017), replaced the recurrent networks of
sequence modelling with self-attention: every position reads every other position in one step,
through learned queries, keys and values, so information travels any distance at once. A
decoder-only stack of such blocks with a causal mask (GPT, Radford et al. 2018) is a language
model. This script shows both with TinyTorch modules 01-13:

1. **Sequence reversal.** A 2-layer GPT reads digits, a separator, and learns to write the
   digits backwards: position ``n + 1 + i`` must copy position ``n - 1 - i``, a pure routing
   problem that attention solves and a model without it cannot. Greedy decoding of held-out
   sequences (never seen in training) must be exactly right for at least 95% of them. An
   inverted causal mask would let training cheat by peeking at the answer and then fail here.
2. **A character-level GPT** (4 layers, 128 wide, 4 heads, context 64) on the text of Python's
   own documentation topics (``pydoc_data.topics``, all joined; or ``--text FILE``), the last
   10% held out. It must reach a validation loss of at most 1.60 nats per character (an
   untrained model is at ln(vocab) ~ 4.6), write its loss curve to a CSV file, survive a save /
   load round trip bit-exact, and then write some Python documentation of its own.

Run: ``python -m tools run-milestone 2017_transformer`` (or ``python main.py`` in an environment
holding the pinned packages). ``--quick`` (CI) runs a smaller version of both in a minute or two
and checks val loss <= 2.2. Exits non-zero unless every claim holds.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tinytorch.autograd import no_grad
from tinytorch.tensor import Generator, Tensor
from tinytorch.tokenization import CharTokenizer
from tinytorch.training import CosineAnnealingLR, LinearLR, SequentialLR, clip_grad_norm_
from tinytorch.transformers import GPT, GPTConfig

Ids = npt.NDArray[np.int64]
IGNORE = -100  # cross_entropy's ignore_index: the prompt half of a reversal sequence
PROMPT = 'The "for" statement\n'  # where the sample starts, when the text has these characters


# ---- 1. sequence reversal ---------------------------------------------------------------------
@dataclass(frozen=True)
class ReversalSetup:
    length: int = 8  # digits per sequence
    digits: int = 10
    steps: int = 200
    batch: int = 64
    lr: float = 3e-3
    held_out: int = 1000


def reversal_batch(rng: np.random.Generator, setup: ReversalSetup, size: int) -> Ids:
    """Rows ``x_1 .. x_n, SEP, x_n .. x_1`` with SEP = ``digits``."""
    x = rng.integers(0, setup.digits, (size, setup.length))
    sep = np.full((size, 1), setup.digits)
    return np.concatenate([x, sep, x[:, ::-1]], axis=1)


def reversal(setup: ReversalSetup, seed: int) -> tuple[float, float, float]:
    """(exact-match accuracy on held-out sequences, final training loss, seconds)."""
    start = time.perf_counter()
    n = setup.length
    rng = np.random.default_rng(seed)
    test = reversal_batch(rng, setup, setup.held_out)
    test_keys = {row.tobytes() for row in test[:, :n]}
    config = GPTConfig(
        vocab_size=setup.digits + 1, block_size=2 * n, n_layer=2, n_head=4, n_embd=64
    )
    model = GPT(config, generator=Generator(seed))
    optimizer = model.configure_optimizers(weight_decay=0.0, lr=setup.lr)
    loss_value = math.nan
    for _ in range(setup.steps):
        rows = reversal_batch(rng, setup, setup.batch)
        # Held out means held out: drop any training row whose digits are a test sequence.
        rows = rows[[row.tobytes() not in test_keys for row in rows[:, :n]]]
        inputs, targets = rows[:, :-1], rows[:, 1:].copy()
        targets[:, :n] = IGNORE  # the digits themselves are random: score the reversal only
        _, loss = model(Tensor(inputs), Tensor(targets))
        assert loss is not None
        optimizer.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        loss_value = float(loss.item())
    model.eval()
    written = model.generate(Tensor(test[:, : n + 1]), n, top_k=1).numpy()[:, n + 1 :]
    exact = float(np.mean(np.all(written == test[:, n + 1 :], axis=1)))
    return exact, loss_value, time.perf_counter() - start


# ---- 2. a character-level GPT -----------------------------------------------------------------
@dataclass(frozen=True)
class CharSetup:
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    batch: int = 32
    lr: float = 2e-3  # the peak: warmed up linearly, then cosine-decayed to final_lr * lr
    warmup: int = 30
    final_lr: float = 0.1
    steps: int = 600
    eval_every: int = 100
    target: float = 1.60


def corpus(path: str | None) -> tuple[str, str]:
    """(text, where it came from)."""
    if path is not None:
        return Path(path).read_text(encoding="utf-8"), path
    import pydoc_data.topics

    topics = pydoc_data.topics.topics
    return "".join(topics[k] for k in sorted(topics)), "pydoc_data.topics (all topics)"


def validation_loss(model: GPT, data: Ids, block: int, batch: int = 64) -> float:
    """Mean loss per character over every whole window of ``block`` + 1 characters of ``data``,
    windows side by side: deterministic, and covering the whole held-out text."""
    count = (len(data) - 1) // block
    starts = np.arange(count) * block
    total, tokens = 0.0, 0
    model.eval()
    with no_grad():
        for i in range(0, count, batch):
            s = starts[i : i + batch, None] + np.arange(block + 1)
            windows = data[s]
            _, loss = model(Tensor(windows[:, :-1]), Tensor(windows[:, 1:]))
            assert loss is not None
            total += float(loss.item()) * windows[:, 1:].size
            tokens += windows[:, 1:].size
    model.train()
    return total / tokens


def char_gpt(
    setup: CharSetup, text: str, seed: int, curve: Path
) -> tuple[GPT, CharTokenizer, float, float]:
    """Train on the first 90% of ``text``: (model, tokenizer, final val loss, s/step)."""
    tokenizer = CharTokenizer.from_text(text)
    data = np.asarray(tokenizer.encode(text), dtype=np.int64)
    split = int(0.9 * len(data))
    train_ids, val_ids = data[:split], data[split:]
    config = GPTConfig(
        vocab_size=tokenizer.vocab_size,
        block_size=setup.block_size,
        n_layer=setup.n_layer,
        n_head=setup.n_head,
        n_embd=setup.n_embd,
        dropout=0.0,
    )
    model = GPT(config, generator=Generator(seed))
    optimizer = model.configure_optimizers(weight_decay=0.1, lr=setup.lr, betas=(0.9, 0.99))
    decay_steps = max(setup.steps - setup.warmup, 1)
    schedule = SequentialLR(
        optimizer,
        [
            LinearLR(optimizer, start_factor=0.1, total_iters=max(setup.warmup, 1)),
            CosineAnnealingLR(optimizer, T_max=decay_steps, eta_min=setup.lr * setup.final_lr),
        ],
        milestones=[max(setup.warmup, 1)],
    )
    rng = np.random.default_rng(seed)
    print(
        f"   {len(text):,} characters, vocabulary {tokenizer.vocab_size}, "
        f"{len(train_ids):,} train / {len(val_ids):,} validation; "
        f"{model.num_parameters():,} parameters"
    )
    val_loss = validation_loss(model, val_ids, setup.block_size)
    print(f"   step {0:>5}  val {val_loss:.3f}")
    rows: list[tuple[int, float, float | None, float]] = [(0, math.nan, val_loss, 0.0)]
    start = time.perf_counter()
    train_seconds = 0.0  # excluding the evaluations
    offsets = np.arange(setup.block_size + 1)
    for step in range(1, setup.steps + 1):
        tick = time.perf_counter()
        starts = rng.integers(0, len(train_ids) - setup.block_size - 1, setup.batch)
        windows = train_ids[starts[:, None] + offsets]
        _, loss = model(Tensor(windows[:, :-1]), Tensor(windows[:, 1:]))
        assert loss is not None
        optimizer.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        train_loss = float(loss.item())
        train_seconds += time.perf_counter() - tick
        val: float | None = None
        if step % setup.eval_every == 0 or step == setup.steps:
            val = val_loss = validation_loss(model, val_ids, setup.block_size)
            print(
                f"   step {step:>5}  train {train_loss:.3f}  val {val_loss:.3f}  "
                f"({train_seconds / step:.2f} s/step)",
                flush=True,
            )
        rows.append((step, train_loss, val, time.perf_counter() - start))
    curve.parent.mkdir(parents=True, exist_ok=True)
    with curve.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["step", "train_loss", "val_loss", "seconds"])
        for step, tr, va, sec in rows:
            train_cell = "" if math.isnan(tr) else f"{tr:.5f}"
            val_cell = "" if va is None else f"{va:.5f}"
            writer.writerow([step, train_cell, val_cell, f"{sec:.2f}"])
    return model, tokenizer, val_loss, train_seconds / max(setup.steps, 1)


def round_trip(model: GPT, probe: Ids) -> bool:
    """Save to a file, load it back: the same logits, bit for bit."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "gpt.npz")
        model.save_pretrained(path)
        loaded = GPT.from_pretrained(path).eval()
    model.eval()
    with no_grad():
        a, _ = model(Tensor(probe))
        b, _ = loaded(Tensor(probe))
    return bool(np.array_equal(a.numpy(), b.numpy()))


def part_reversal(args: argparse.Namespace) -> list[str]:
    setup = ReversalSetup(steps=150, held_out=500) if args.quick else ReversalSetup()
    print(
        f"\n1. sequence reversal: {setup.length} digits, a separator, the digits backwards; "
        f"a 2-layer GPT, {setup.steps} steps of {setup.batch}"
    )
    exact, loss, seconds = reversal(setup, args.seed)
    print(
        f"   final train loss {loss:.4f}; exact match on {setup.held_out} held-out sequences "
        f"(greedy decoding): {exact:.1%}  ({seconds:.1f} s)"
    )
    return [] if exact >= 0.95 else [f"reversal exact match {exact:.1%} < 95%"]


def part_char(args: argparse.Namespace) -> list[str]:
    failures: list[str] = []
    setup = (
        CharSetup(
            n_layer=2,
            n_embd=64,
            lr=4e-3,
            warmup=10,
            final_lr=1.0,  # too short a run to gain from decay: hold the rate
            steps=300,
            eval_every=50,
            target=2.2,
        )
        if args.quick
        else CharSetup()
    )
    if args.steps is not None:
        setup = dataclasses.replace(setup, steps=args.steps)
    if args.lr is not None:
        setup = dataclasses.replace(setup, lr=args.lr)
    text, source = corpus(args.text)
    schedule = (
        "then constant"
        if setup.final_lr == 1.0
        else f"then cosine decay to {setup.final_lr:g} x lr"
    )
    print(
        f"\n2. character-level GPT on {source}: {setup.n_layer} layers, {setup.n_embd} wide, "
        f"{setup.n_head} heads, context {setup.block_size}, batch {setup.batch}, "
        f"AdamW (lr {setup.lr:g}, {setup.warmup} warm-up steps, {schedule}), "
        f"{setup.steps} steps"
    )
    train_start = time.perf_counter()
    model, tokenizer, val_loss, per_step = char_gpt(setup, text, args.seed, args.curve)
    train_seconds = time.perf_counter() - train_start
    print(
        f"   final validation loss {val_loss:.3f} nats/char (target <= {setup.target}); "
        f"{train_seconds:.0f} s ({per_step:.2f} s per training step); loss curve: {args.curve}"
    )
    if not val_loss <= setup.target:
        failures.append(f"validation loss {val_loss:.3f} > {setup.target}")

    probe = np.asarray([tokenizer.encode(text[: setup.block_size])], dtype=np.int64)
    same = round_trip(model, probe)
    print(f"   save_pretrained / from_pretrained round trip, identical logits: {same}")
    if not same:
        failures.append("the saved and reloaded model gives different logits")

    prompt = PROMPT if set(PROMPT) <= set(tokenizer.chars) else text[0]
    ids = Tensor(np.asarray([tokenizer.encode(prompt)], dtype=np.int64))
    out = model.eval().generate(
        ids, args.sample, temperature=0.8, top_k=20, generator=Generator(args.seed)
    )
    print(f"\n   sample ({args.sample} characters, temperature 0.8, top-k 20):\n")
    sample = tokenizer.decode(out.numpy()[0].tolist())
    print("   " + sample.replace("\n", "\n   "))
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI run: smaller, a minute or two")
    parser.add_argument("--text", help="train the character model on this UTF-8 file instead")
    parser.add_argument("--steps", type=int, help="training steps of the character model")
    parser.add_argument("--lr", type=float, help="peak learning rate of the character model")
    parser.add_argument(
        "--only", choices=["reversal", "char"], help="run one of the two parts (no sample check)"
    )
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument(
        "--curve",
        type=Path,
        default=Path(tempfile.gettempdir()) / "tinytorch-2017-transformer-loss.csv",
        help="where to write the character model's loss curve (CSV)",
    )
    parser.add_argument("--sample", type=int, default=400, help="characters to generate")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    failures: list[str] = []

    print("2017 Transformer (Vaswani et al.): attention is all you need")
    if args.only in (None, "reversal"):
        failures += part_reversal(args)
    if args.only in (None, "char"):
        failures += part_char(args)

    print(f"\nwall time: {time.perf_counter() - start:.1f} s")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
