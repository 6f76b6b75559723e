"""Benchmark: BPE training time, encode and decode throughput.

The text is the standard library's own documentation (``pydoc_data.topics.topics``, each topic
in key order, joined by newlines), repeated and cut to exactly ``--chars`` characters
(1,000,000 by default; a few of them are not ASCII, so it is slightly more bytes). Throughput
is in MB/s of UTF-8 text (1 MB = 10**6 bytes). tiktoken and Hugging Face tokenizers are timed
on the same text when installed, and otherwise skipped.

    python -m tools bench tokenization
    python packages/tinytorch-tokenization/benchmarks/bench_tokenization.py [--naive-merges 20]

Encode and decode throughputs are the best of ``--repeat`` runs; the BPE encoder's first run,
with its cache of encoded chunks still empty, is reported on its own.
"""

from __future__ import annotations

import collections
import itertools
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tinytorch.tokenization import BPETokenizer, CharTokenizer
from tinytorch.tokenization.bpe import DEFAULT_PATTERN

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for tools/
from tools import benchmark as bench

T = TypeVar("T")


def corpus(chars: int) -> str:
    from pydoc_data.topics import topics

    base = "\n".join(topics[k] for k in sorted(topics))
    return (base * (chars // len(base) + 1))[:chars]


def naive_merge_seconds(text: str, merges: int) -> float:
    """Seconds per merge of the textbook trainer that recounts every pair of the (already
    deduplicated) chunks after each merge; for contrast with the incremental one."""
    counts = collections.Counter(re.findall(DEFAULT_PATTERN, text))
    words = {tuple(c.encode("utf-8")): n for c, n in counts.items()}
    t0 = time.perf_counter()
    for k in range(merges):
        stats: collections.Counter[tuple[int, int]] = collections.Counter()
        for w, n in words.items():
            for p in itertools.pairwise(w):
                stats[p] += n
        a, b = min(stats, key=lambda p: (-stats[p], p))
        new_id = 256 + k
        merged = {}
        for w, n in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(new_id)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] = n
        words = merged
    return (time.perf_counter() - t0) / merges


def main() -> None:
    parser = bench.parser(__doc__)
    parser.add_argument("--chars", type=int, default=1_000_000)
    parser.add_argument("--vocab-size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for encode/decode")
    parser.add_argument(
        "--naive-merges", type=int, default=0, help="also time N merges of a naive recount"
    )
    args = bench.parse(parser)
    chars, repeat = (200_000, 1) if args.quick else (args.chars, args.repeat)

    def best(fn: Callable[[], T]) -> tuple[float, T]:
        """The least seconds over ``repeat`` runs of ``fn``, and what its last run returned."""
        out: list[T] = []

        def run() -> None:
            out[:] = [fn()]

        return bench.measure(run, warmup=0, repeat=repeat).min, out[0]

    text = corpus(chars)
    nbytes = len(text.encode("utf-8"))
    mb = nbytes / 1e6
    print(bench.environment(torch=False))
    print(f"text: pydoc_data.topics, {len(text):,} characters = {nbytes:,} UTF-8 bytes")

    train_s, tok = bench.once(lambda: BPETokenizer.train(text, args.vocab_size))
    print(f"BPE train to vocab {tok.vocab_size} ({len(tok.merges)} merges): {train_s:.2f} s")
    split_s, chunks = bench.once(lambda: collections.Counter(re.findall(DEFAULT_PATTERN, text)))
    print(
        f"  of which cutting into chunks and counting them: {split_s:.2f} s "
        f"({sum(chunks.values()):,} chunks, {len(chunks):,} distinct)"
    )
    if args.naive_merges:
        per = naive_merge_seconds(text, args.naive_merges)
        print(
            f"  naive recount: {per * 1000:.0f} ms per merge (over {args.naive_merges} merges), "
            f"about {per * len(tok.merges):.0f} s for all {len(tok.merges)}; "
            f"incremental: {train_s / len(tok.merges) * 1000:.1f} ms per merge, all included"
        )

    fresh = BPETokenizer(tok.merges)
    cold, ids = bench.once(lambda: fresh.encode(text))
    warm, ids2 = best(lambda: fresh.encode(text))
    assert ids == ids2
    dec, back = best(lambda: fresh.decode(ids))
    assert back == text
    print(f"BPE tokens: {len(ids):,} ({nbytes / len(ids):.2f} bytes per token)")
    print(f"BPE encode: {mb / cold:.1f} MB/s cold cache, {mb / warm:.1f} MB/s warm cache")
    print(f"BPE decode: {mb / dec:.1f} MB/s")

    char = CharTokenizer.from_text(text)
    enc, cids = best(lambda: char.encode(text))
    dec, cback = best(lambda: char.decode(cids))
    assert cback == text
    print(
        f"Char ({char.vocab_size} symbols): encode {mb / enc:.1f} MB/s, decode {mb / dec:.1f} MB/s"
    )

    try:
        import tiktoken
    except ImportError:
        print("tiktoken: not installed, skipped")
    else:
        gpt2 = tiktoken.get_encoding("gpt2")
        enc, tids = best(lambda: gpt2.encode_ordinary(text))
        dec, _ = best(lambda: gpt2.decode(tids))
        print(
            f"tiktoken gpt2 (vocab 50257): encode {mb / enc:.1f} MB/s, decode {mb / dec:.1f} MB/s"
        )

    try:
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers import models, pre_tokenizers, trainers
    except ImportError:
        print("HF tokenizers: not installed, skipped")
    else:
        hf = HFTokenizer(models.BPE())
        hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        trainer = trainers.BpeTrainer(
            vocab_size=args.vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        )
        hf_train, _ = bench.once(lambda: hf.train_from_iterator([text], trainer))
        print(f"HF tokenizers train to vocab {args.vocab_size}: {hf_train:.2f} s")
        enc, _ = best(lambda: hf.encode(text))
        print(f"HF tokenizers encode: {mb / enc:.1f} MB/s")


if __name__ == "__main__":
    main()
