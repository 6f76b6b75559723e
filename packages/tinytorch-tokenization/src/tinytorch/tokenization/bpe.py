"""Byte-level byte-pair encoding (GPT-2's tokenizer), trained from scratch."""

from __future__ import annotations

import codecs
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from itertools import accumulate, pairwise
from typing import Any

import numpy as np

from tinytorch.tokenization._merges import learn_merges, merge_pair
from tinytorch.tokenization.base import (
    Ids,
    TokenDecodeError,
    Tokenizer,
    TokenizerFormatError,
    check_special_tokens,
    ids_to_list,
    is_int,
    plain_pieces,
    short,
    special_regex,
    split_special,
)

__all__ = ["DEFAULT_PATTERN", "BPETokenizer"]

#: How text is cut into chunks before BPE, so that no merge crosses a chunk boundary: letter
#: runs (with ``_``, so snake_case identifiers stay whole), English contractions (``'s``,
#: ``'ll``), digit runs and punctuation runs, each but the contractions with at most one leading
#: space, and whitespace runs (the last space before a word goes with the word). It is GPT-2's
#: pattern in the standard library's ``re``, which lacks ``\p{L}``: ``[^\W\d]`` stands for
#: "letter". Every character matches some branch, so the chunks always cover the whole text.
#: Of the four branches before the whitespace ones, no two can match at the same position, so
#: their order only affects speed: letters first halves the time ``re`` takes on English text.
DEFAULT_PATTERN = r""" ?[^\W\d]+|'(?:[sdmt]|ll|ve|re)| ?\d+| ?[^\s\w]+|\s+(?!\S)|\s+"""

# The patterns a tokenizer file may name: the ones this library writes. A regular expression
# read from a file is code (``(?:a|aa)+$`` takes exponential time on a run of "a"s), so any
# other is compiled only when the caller passes it to ``load`` as trusted.
_BUILTIN_PATTERNS = frozenset({DEFAULT_PATTERN})

# Lone surrogates (legal in a Python str) get their 3-byte UTF-8 form instead of an error, so
# every str is encodable; decode gives them back with errors="surrogatepass".
_ERRORS = "surrogatepass"
_CACHE_LIMIT = 1 << 17


def _byte_alphabet() -> list[str]:
    """A printable character for each byte value, for readable JSON (GPT-2's trick): bytes that
    are visible Latin-1 characters stand for themselves, the rest (controls, space, ...) take
    the code points from 256 up in order. The space byte becomes ``"Ġ"``."""
    visible = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    table: list[str] = [""] * 256
    extra = 0
    for b in range(256):
        if b in visible:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


_BYTE_CHARS = _byte_alphabet()


def _bytes_to_str(data: bytes) -> str:
    return "".join(_BYTE_CHARS[b] for b in data)


def _compile(op: str, pattern: str | None) -> Callable[[str], list[str]]:
    """The function that cuts an ordinary piece of text into chunks."""
    if pattern is None:
        return lambda text: [text] if text else []
    if not isinstance(pattern, str):
        raise TypeError(f"{op}: pattern must be a str or None, got {type(pattern).__name__}")
    try:
        regex = re.compile(pattern)
    except re.error as e:
        raise ValueError(f"{op}: pattern {pattern!r} is not a valid regular expression: {e}") from e
    if regex.groups:
        raise ValueError(
            f"{op}: pattern {pattern!r} has capturing groups; write them as (?:...) instead"
        )
    findall = regex.findall
    if pattern == DEFAULT_PATTERN:
        return findall

    def chunks(text: str) -> list[str]:
        found: list[str] = findall(text)
        if sum(map(len, found)) == len(text):
            return found
        # A custom pattern may skip characters; the text between matches becomes chunks too,
        # or encode would silently drop it.
        out: list[str] = []
        start = 0
        for m in regex.finditer(text):
            if m.start() > start:
                out.append(text[start : m.start()])
            if m.end() > m.start():
                out.append(m.group())
            start = max(start, m.end())
        if start < len(text):
            out.append(text[start:])
        return out

    return chunks


def _check_merges(merges: list[Any]) -> list[tuple[int, int]]:
    """A file's merges as pairs of ids, each id made by the bytes or an earlier merge."""
    pairs: list[tuple[int, int]] = []
    for k, pair in enumerate(merges):
        if not (isinstance(pair, list) and len(pair) == 2 and all(map(is_int, pair))):
            raise TokenizerFormatError(
                f"BPETokenizer: merge {k} must be a pair of token ids, got {short(pair)}"
            )
        a, b = pair
        if not (0 <= a < 256 + k and 0 <= b < 256 + k):
            raise TokenizerFormatError(
                f"BPETokenizer: merge {k} ({a}, {b}) uses an id that does not exist yet "
                f"(ids so far: 0..{256 + k - 1})"
            )
        pairs.append((a, b))
    return pairs


def _check_vocab(vocab: list[Any], pairs: list[tuple[int, int]]) -> None:
    """That a file's vocabulary spells out what its merges make, checked on the strings
    themselves: building the tokens from the merges alone first would let a few hundred bytes
    of merges that each double the last token ask for 2**60 bytes."""
    n = 256 + len(pairs)
    if len(vocab) != n:
        raise TokenizerFormatError(
            f"the vocabulary has {len(vocab)} entries but 256 bytes and {len(pairs)} merges "
            f"make {n}"
        )
    for i in range(256):
        if vocab[i] != _BYTE_CHARS[i]:
            raise TokenizerFormatError(
                f"vocabulary entry {i} is {short(vocab[i])}, but byte {i} is {_BYTE_CHARS[i]!r}"
            )
    for k, (a, b) in enumerate(pairs):
        entry, left, right = vocab[256 + k], vocab[a], vocab[b]
        if not (
            isinstance(entry, str)
            and len(entry) == len(left) + len(right)
            and entry.startswith(left)
            and entry.endswith(right)
        ):
            raise TokenizerFormatError(
                f"vocabulary entry {256 + k} is {short(entry)}, but the merges make "
                f"{short(left + right)}"
            )


class BPETokenizer(Tokenizer):
    """Byte-level BPE: ids 0-255 are the byte values, then one id per learned merge (in the
    order learned), then the special tokens.

    Any string is encodable (it is UTF-8 bytes first, so nothing is ever unknown) and
    ``decode(encode(s)) == s`` for every ``str`` (one holding lone surrogates needs
    ``decode(..., errors="surrogatepass")``, as ``bytes.decode`` does). Text is cut into
    chunks by ``pattern`` (see :data:`DEFAULT_PATTERN`; ``None`` keeps each piece whole,
    which lets merges cross words and is slow to train on large text); each chunk is encoded
    by applying the merges in the order they were learned, and its ids are cached, so common
    words cost one dict lookup.

    Build one with :meth:`train`, or from known merges, or load one saved as JSON.

    Example:
        >>> tok = BPETokenizer.train("low lower lowest " * 10, 262, special_tokens=["<eos>"])
        >>> tok.vocab_size
        262
        >>> ids = tok.encode("lowest<eos>")
        >>> tok.decode(ids)
        'lowest<eos>'
        >>> ids[-1] == tok.special_tokens["<eos>"]
        True
    """

    kind = "bpe"

    def __init__(
        self,
        merges: Iterable[tuple[int, int]] = (),
        special_tokens: Sequence[str] = (),
        pattern: str | None = DEFAULT_PATTERN,
    ) -> None:
        op = "BPETokenizer"
        self._merges: list[tuple[int, int]] = []
        self._ranks: dict[tuple[int, int], int] = {}
        token_bytes = [bytes([b]) for b in range(256)]
        for pair in merges:
            if (
                not isinstance(pair, (tuple, list))
                or len(pair) != 2
                or not all(isinstance(t, int) and not isinstance(t, bool) for t in pair)
            ):
                raise ValueError(f"{op}: a merge must be a pair of token ids, got {pair!r}")
            a, b = int(pair[0]), int(pair[1])
            new_id = len(token_bytes)
            if not (0 <= a < new_id and 0 <= b < new_id):
                raise ValueError(
                    f"{op}: merge {len(self._merges)} ({a}, {b}) uses an id that does not exist "
                    f"yet (ids so far: 0..{new_id - 1})"
                )
            if (a, b) in self._ranks:
                raise ValueError(f"{op}: merge ({a}, {b}) is given twice")
            self._ranks[(a, b)] = new_id
            self._merges.append((a, b))
            token_bytes.append(token_bytes[a] + token_bytes[b])
        self._specials = check_special_tokens(op, special_tokens)
        n = len(token_bytes)
        self._special_ids = {t: n + i for i, t in enumerate(self._specials)}
        token_bytes.extend(t.encode("utf-8", _ERRORS) for t in self._specials)
        self._token_bytes = token_bytes
        self._special_re = special_regex(self._specials)
        self._pattern = pattern
        self._chunks = _compile(op, pattern)
        self._cache: dict[str, tuple[int, ...]] = {}

    # ---- training ---------------------------------------------------------------------------
    @classmethod
    def train(
        cls,
        corpus: str | Iterable[str],
        vocab_size: int,
        special_tokens: Sequence[str] = (),
        pattern: str | None = DEFAULT_PATTERN,
        min_frequency: int = 1,
    ) -> BPETokenizer:
        """Learn ``vocab_size - 256 - len(special_tokens)`` merges from ``corpus`` (a string or
        an iterable of documents).

        The corpus is cut at special tokens (they are never part of a merge) and into chunks by
        ``pattern``; training runs on the distinct chunks and their counts, with pair counts
        kept up to date incrementally (see :mod:`tinytorch.tokenization._merges`). Each step
        merges the most frequent adjacent pair, ties going to the smallest ``(left, right)``
        ids, so training is deterministic. It stops early, with a smaller vocabulary, when no
        pair occurs ``min_frequency`` times.

        Example:
            >>> tok = BPETokenizer.train("aaabdaaabac", 259, pattern=None)
            >>> [tok.token_bytes(i) for i in range(256, 259)]
            [b'aa', b'ab', b'aaab']
        """
        op = "BPETokenizer.train"
        specials = check_special_tokens(op, special_tokens)
        if not isinstance(vocab_size, int) or isinstance(vocab_size, bool):
            raise TypeError(f"{op}: vocab_size must be an int, got {type(vocab_size).__name__}")
        floor = 256 + len(specials)
        if vocab_size < floor:
            raise ValueError(
                f"{op}: vocab_size {vocab_size} is below the 256 byte tokens plus "
                f"{len(specials)} special tokens ({floor})"
            )
        if not isinstance(min_frequency, int) or min_frequency < 1:
            raise ValueError(f"{op}: min_frequency must be an int >= 1, got {min_frequency!r}")
        chunks = _compile(op, pattern)
        # BEGIN SOLUTION bpe-word-counts
        # HINT: count how often each chunk occurs in the text between special tokens
        # HINT: (plain_pieces, then the chunking function), then key the counts by each chunk's
        # HINT: UTF-8 bytes (two chunks never share bytes, but sum to be safe).
        # TESTS: naive or hand_checked or cross or ties or min_frequency or deterministic or special
        chunk_counts: Counter[str] = Counter()
        for piece in plain_pieces(op, corpus, special_regex(specials)):
            chunk_counts.update(chunks(piece))
        word_counts: Counter[bytes] = Counter()
        for chunk, count in chunk_counts.items():
            word_counts[chunk.encode("utf-8", _ERRORS)] += count
        # END SOLUTION
        merges = learn_merges(word_counts, vocab_size - floor, min_frequency)
        return cls(merges, special_tokens=specials, pattern=pattern)

    # ---- the Tokenizer interface ------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return len(self._token_bytes)

    @property
    def special_tokens(self) -> dict[str, int]:
        return dict(self._special_ids)

    @property
    def merges(self) -> list[tuple[int, int]]:
        """The merges in the order learned: merge ``k`` makes token ``256 + k`` (a copy)."""
        return list(self._merges)

    @property
    def pattern(self) -> str | None:
        """The chunking regular expression, or ``None`` for none."""
        return self._pattern

    def token_bytes(self, token_id: int) -> bytes:
        """The bytes token ``token_id`` stands for (a special token's: its UTF-8).

        Example:
            >>> BPETokenizer().token_bytes(104)
            b'h'
        """
        if not isinstance(token_id, (int, np.integer)) or isinstance(token_id, bool):
            raise TypeError(
                f"BPETokenizer.token_bytes: token_id must be an int, got {type(token_id).__name__}"
            )
        if not 0 <= token_id < len(self._token_bytes):
            raise IndexError(
                f"BPETokenizer.token_bytes: token id {token_id} is out of range for a "
                f"vocabulary of {len(self._token_bytes)}"
            )
        return self._token_bytes[token_id]

    def encode(self, text: str, allow_special: bool = True) -> list[int]:
        """The ids of ``text``. Special tokens in it become their single ids when
        ``allow_special`` (the default); otherwise they are encoded as ordinary text.

        Example:
            >>> BPETokenizer().encode("hé")
            [104, 195, 169]
        """
        if not isinstance(text, str):
            raise TypeError(f"BPETokenizer.encode: expected str, got {type(text).__name__}")
        pattern = self._special_re if allow_special else None
        out: list[int] = []
        for piece, special in split_special(text, pattern):
            if special:
                out.append(self._special_ids[piece])
            else:
                self._encode_plain(piece, out)
        return out

    def _encode_plain(self, text: str, out: list[int]) -> None:
        cache = self._cache
        encode_chunk = self._encode_chunk
        for chunk in self._chunks(text):
            ids = cache.get(chunk)
            if ids is None:
                ids = encode_chunk(chunk)
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()  # crude, but bounds memory on endless streams of new words
                cache[chunk] = ids
            out.extend(ids)

    def _encode_chunk(self, chunk: str) -> tuple[int, ...]:
        # BEGIN SOLUTION bpe-encode-chunk
        # HINT: start from the chunk's UTF-8 bytes; while some adjacent pair is a known merge,
        # HINT: apply the one learned first (lowest new id, see self._ranks) with merge_pair.
        # TESTS: encode or round_trip or special or cache or decode_of_a_cut
        ids = list(chunk.encode("utf-8", _ERRORS))
        ranks = self._ranks
        # Merges apply in the order learned: at each step the adjacent pair with the lowest
        # merge id is rewritten everywhere in the chunk. New ids are always larger, so the
        # loop runs at most once per merge and usually a few times.
        while len(ids) > 1:
            best = min(pairwise(ids), key=lambda p: ranks.get(p, 1 << 62))
            new_id = ranks.get(best)
            if new_id is None:
                break
            ids = merge_pair(ids, best[0], best[1], new_id)
        return tuple(ids)
        # END SOLUTION

    def decode(self, ids: Ids, errors: str = "replace") -> str:
        """The text of ``ids``: their bytes, joined, decoded as UTF-8 exactly as
        ``bytes.decode("utf-8", errors)`` does.

        The bytes of ``encode``'s output always form the original text; an arbitrary id
        sequence (a model's sample) may cut a UTF-8 character, and ``errors`` says what to do
        with bytes that are not valid UTF-8: ``"replace"`` (the default, as in tiktoken) gives
        U+FFFD, ``"ignore"`` drops them, ``"strict"`` raises :class:`TokenDecodeError` (a
        ``UnicodeDecodeError``) naming the ids, ``"surrogatepass"`` gives a lone surrogate
        back from its 3-byte form (so ``encode`` of any ``str`` round-trips), and so on for
        any registered handler.

        Example:
            >>> tok = BPETokenizer()
            >>> tok.decode(tok.encode("naïve 🙂"))
            'naïve 🙂'
            >>> tok.decode([104, 195])
            'h\\ufffd'
            >>> tok.decode([104, 195], errors="ignore")
            'h'
        """
        op = "BPETokenizer.decode"
        if not isinstance(errors, str):
            raise TypeError(f"{op}: errors must be a str, got {type(errors).__name__}")
        try:
            # bytes.decode looks the handler up only on the first bad byte; a misspelt one
            # should fail every time, not only on the rare cut character.
            codecs.lookup_error(errors)
        except LookupError:
            raise LookupError(f"{op}: unknown error handler {errors!r}") from None
        seq = ids_to_list(op, ids, len(self._token_bytes))
        # BEGIN SOLUTION bpe-decode-bytes
        # HINT: each id stands for a run of bytes (self._token_bytes); the text's bytes are
        # HINT: those runs joined in order.
        # TESTS: decode or round_trip
        table = self._token_bytes
        data = b"".join([table[i] for i in seq])
        # END SOLUTION
        try:
            return data.decode("utf-8", errors)
        except UnicodeDecodeError as e:
            if e.object != data:
                raise  # raised by a custom handler about something else: not ours to explain
            ends = list(accumulate(len(table[i]) for i in seq))
            first = bisect_right(ends, e.start)
            last = bisect_right(ends, max(e.start, e.end - 1))
            raise TokenDecodeError(
                op, data, e.start, e.end, e.reason, seq[first : last + 1], first
            ) from None

    # ---- state ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready state: the pattern, the merges as id pairs, the vocabulary (each
        token's bytes, one printable character per byte as in GPT-2's files: ``"Ġthe"`` is
        ``b" the"``) and the special tokens with their ids. The vocabulary is redundant with the
        merges; loading checks that they agree.

        Example:
            >>> BPETokenizer.train("hello hello", 257).to_dict()["vocab"][256]
            'el'
        """
        n = 256 + len(self._merges)
        return {
            **self._header(),
            "pattern": self._pattern,
            "merges": [list(p) for p in self._merges],
            "vocab": [_bytes_to_str(b) for b in self._token_bytes[:n]],
            "special_tokens": dict(self._special_ids),
        }

    @classmethod
    def _from_state(
        cls, state: dict[str, Any], trusted_patterns: frozenset[str] = frozenset()
    ) -> BPETokenizer:
        for key in ("pattern", "merges", "vocab", "special_tokens"):
            if key not in state:
                raise TokenizerFormatError(f"the field {key!r} is missing")
        pattern, merges = state["pattern"], state["merges"]
        vocab, specials = state["vocab"], state["special_tokens"]
        if pattern is not None and not isinstance(pattern, str):
            raise TokenizerFormatError(
                f"'pattern' must be a string or null, got {type(pattern).__name__}"
            )
        if pattern is not None and pattern not in _BUILTIN_PATTERNS | trusted_patterns:
            raise TokenizerFormatError(
                f"the pattern {short(pattern)} is not one this library writes "
                "(DEFAULT_PATTERN or null), so it is not compiled: a crafted regular expression "
                "can make encode run for hours. If you built the tokenizer with this pattern, "
                "pass it to load as trusted_patterns=[pattern]"
            )
        if not isinstance(merges, list) or not isinstance(vocab, list):
            raise TokenizerFormatError("'merges' and 'vocab' must be lists")
        if not isinstance(specials, dict):
            raise TokenizerFormatError("'special_tokens' must map each token to its id")
        pairs = _check_merges(merges)
        _check_vocab(vocab, pairs)
        n = 256 + len(pairs)
        for i, (token, token_id) in enumerate(specials.items()):
            if not is_int(token_id) or token_id != n + i:
                raise TokenizerFormatError(
                    f"special token ids {short(specials)} do not follow the merges "
                    f"(token {short(token)} has id {short(token_id)}, expected {n + i})"
                )
        # Everything the constructor reads is now known to be sound and as large as the file
        # (the vocabulary spells out every token's bytes), so building cannot blow up.
        try:
            return cls(pairs, special_tokens=list(specials), pattern=pattern)
        except (TypeError, ValueError) as e:
            raise TokenizerFormatError(str(e)) from None

    def __repr__(self) -> str:
        return (
            f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self._merges)}, "
            f"special_tokens={self._specials!r})"
        )
