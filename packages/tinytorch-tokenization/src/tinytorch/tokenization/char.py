"""Character-level tokenization: one id per Unicode code point (nanoGPT's Shakespeare)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.tokenization.base import (
    Ids,
    Tokenizer,
    TokenizerFormatError,
    check_special_tokens,
    ids_to_list,
    plain_pieces,
    short,
    special_regex,
    split_special,
)

__all__ = ["CharTokenizer"]

# Text goes through NumPy as UTF-32 code points; "surrogatepass" lets the rare lone surrogate
# that a Python str may hold through as a code point of its own instead of failing.
_CODEC = "utf-32-le"
_ERRORS = "surrogatepass"


def _codes(text: str) -> npt.NDArray[np.uint32]:
    return np.frombuffer(text.encode(_CODEC, _ERRORS), dtype="<u4")


class CharTokenizer(Tokenizer):
    """One id per character, from a fixed alphabet, plus optional special tokens.

    Ids: the characters take ``0 .. len(chars) - 1`` in the order given (``from_text`` sorts
    them by code point, as nanoGPT does, so a corpus's ids do not depend on where each
    character first appears); the special tokens follow in the order given.

    Unknown characters: by default ``encode`` raises a ``ValueError`` naming the character and
    its position, since silently dropping or replacing text hides a corpus mismatch. Passing
    ``unk_token="<unk>"`` instead maps every unknown character to that token's id (it becomes
    a special token, the last one, if not already listed); decoding it gives ``"<unk>"``, so
    round trips are then lossy for the unknown characters only.

    Encoding and decoding are vectorized: the text becomes a NumPy array of code points that is
    looked up in the sorted alphabet with ``searchsorted``.

    Example:
        >>> tok = CharTokenizer.from_text("hello world", special_tokens=["<eos>"])
        >>> tok.vocab_size
        9
        >>> tok.encode("hold<eos>")
        [3, 5, 4, 1, 8]
        >>> tok.decode([3, 2, 4, 4, 5])
        'hello'
    """

    kind = "char"

    def __init__(
        self,
        chars: Iterable[str],
        special_tokens: Sequence[str] = (),
        unk_token: str | None = None,
    ) -> None:
        op = "CharTokenizer"
        alphabet = list(chars)
        seen: set[str] = set()  # one pass: list.count per character is quadratic in the file
        for c in alphabet:
            if not isinstance(c, str) or len(c) != 1:
                raise ValueError(f"{op}: the alphabet must hold single characters, got {short(c)}")
            if c in seen:
                raise ValueError(f"{op}: character {c!r} appears twice in the alphabet")
            seen.add(c)
        specials = check_special_tokens(op, special_tokens)
        if unk_token is not None:
            check_special_tokens(op, [unk_token])
            if unk_token not in specials:
                specials.append(unk_token)
        known = set(alphabet)
        for t in specials:
            if t in known:
                raise ValueError(
                    f"{op}: special token {t!r} is also a character of the alphabet; "
                    "the text could not tell them apart"
                )
        self._chars = alphabet
        self._specials = specials
        self._unk_token = unk_token
        n = len(alphabet)
        self._special_ids = {t: n + i for i, t in enumerate(specials)}
        self._unk_id = None if unk_token is None else self._special_ids[unk_token]
        self._special_re = special_regex(specials)
        # BEGIN SOLUTION char-tables
        # HINT: two lookup tables as arrays: each id's code point (ord of its character), and
        # HINT: the same code points sorted, with beside each the id it came from (argsort).
        # TESTS: char
        # id -> code point, and the alphabet sorted by code point with the id of each entry.
        self._id_codes = _codes("".join(alphabet)).astype(np.int64)
        order = np.argsort(self._id_codes, kind="stable")
        self._sorted_codes = self._id_codes[order]
        self._sorted_ids = order.astype(np.int64)
        # END SOLUTION

    @classmethod
    def from_text(
        cls,
        text: str | Iterable[str],
        special_tokens: Sequence[str] = (),
        unk_token: str | None = None,
    ) -> CharTokenizer:
        """The tokenizer whose alphabet is every character of ``text`` (a string, or an
        iterable of strings), sorted by code point. Special-token strings found in the text
        count as tokens, not as characters.

        Example:
            >>> CharTokenizer.from_text(["ba", "ca"]).encode("abc")
            [0, 1, 2]
        """
        specials = check_special_tokens("CharTokenizer.from_text", special_tokens)
        # BEGIN SOLUTION char-alphabet
        # HINT: collect the set of characters of every plain piece of the text (plain_pieces
        # HINT: skips the special tokens), leave the unknown token out, and build the tokenizer
        # HINT: on that set sorted by code point.
        # TESTS: char or from_text
        seen: set[str] = set()
        for piece in plain_pieces("CharTokenizer.from_text", text, special_regex(specials)):
            seen.update(piece)
        if unk_token is not None:
            seen.discard(unk_token)
        return cls(sorted(seen), special_tokens=specials, unk_token=unk_token)
        # END SOLUTION

    # ---- the Tokenizer interface ------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return len(self._chars) + len(self._specials)

    @property
    def special_tokens(self) -> dict[str, int]:
        return dict(self._special_ids)

    @property
    def chars(self) -> list[str]:
        """The alphabet, in id order (a copy)."""
        return list(self._chars)

    @property
    def unk_token(self) -> str | None:
        """The token unknown characters become, or ``None`` when they are an error."""
        return self._unk_token

    def encode(self, text: str, allow_special: bool = True) -> list[int]:
        """The id of each character of ``text``; special tokens found in it (when
        ``allow_special``) become their single ids.

        Example:
            >>> CharTokenizer.from_text("ab", unk_token="?").encode("abz")
            [0, 1, 2]
        """
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer.encode: expected str, got {type(text).__name__}")
        pattern = self._special_re if allow_special else None
        out: list[int] = []
        offset = 0
        for piece, special in split_special(text, pattern):
            if special:
                out.append(self._special_ids[piece])
            else:
                out.extend(self._encode_plain(piece, offset))
            offset += len(piece)
        return out

    def _encode_plain(self, text: str, offset: int) -> list[int]:
        found: npt.NDArray[np.bool_]
        ids: npt.NDArray[np.int64]
        # BEGIN SOLUTION char-encode
        # HINT: turn the text into code points, find each one in the sorted table with a binary
        # HINT: search (np.searchsorted, no Python loop per character), and say for each whether it
        # HINT: was really there (found) and which id it has; an empty alphabet finds nothing.
        # TESTS: char or unk or unknown or special or round_trip
        codes = _codes(text).astype(np.int64)
        n = self._sorted_codes.size
        if n == 0:
            found = np.zeros(codes.shape, dtype=np.bool_)
            ids = np.zeros(codes.shape, dtype=np.int64)
        else:
            pos = np.minimum(np.searchsorted(self._sorted_codes, codes), n - 1)
            found = self._sorted_codes[pos] == codes
            ids = self._sorted_ids[pos]
        # END SOLUTION
        if not found.all():
            if self._unk_id is None:
                at = int(np.flatnonzero(~found)[0])
                ch = text[at]
                raise ValueError(
                    f"CharTokenizer.encode: character {ch!r} (U+{ord(ch):04X}) at index "
                    f"{offset + at} is not in the alphabet of {len(self._chars)} characters; "
                    "build the tokenizer from text that contains it, or pass unk_token"
                )
            ids = np.where(found, ids, np.int64(self._unk_id))
        result: list[int] = ids.tolist()
        return result

    def decode(self, ids: Ids) -> str:
        """The text of ``ids``: each character id gives its character, each special id its
        string, and the text is exactly those joined (a lone surrogate of the alphabet stays
        one, and two next to each other are not fused into one character), so unlike a BPE
        decode it cannot meet invalid bytes and needs no ``errors``.

        Example:
            >>> tok = CharTokenizer.from_text("ab", special_tokens=["<eos>"])
            >>> tok.decode([1, 0, 2])
            'ba<eos>'
        """
        seq = np.asarray(ids_to_list("CharTokenizer.decode", ids, self.vocab_size), dtype=np.int64)
        n = len(self._chars)
        special_at = np.flatnonzero(seq >= n)
        if special_at.size == 0:
            return self._decode_plain(seq)
        parts: list[str] = []
        start = 0
        for at in special_at.tolist():
            parts.append(self._decode_plain(seq[start:at]))
            parts.append(self._specials[int(seq[at]) - n])
            start = at + 1
        parts.append(self._decode_plain(seq[start:]))
        return "".join(parts)

    def _decode_plain(self, seq: npt.NDArray[np.int64]) -> str:
        # BEGIN SOLUTION char-decode
        # HINT: look every id's code point up in one go and turn the code points into a str;
        # HINT: going through 4-byte UTF-32 keeps lone surrogates as they are (_CODEC, _ERRORS).
        # TESTS: char or decode or round_trip
        return self._id_codes[seq].astype("<u4").tobytes().decode(_CODEC, _ERRORS)
        # END SOLUTION

    # ---- state ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready state: the alphabet in id order, the special and unknown tokens.

        Example:
            >>> CharTokenizer.from_text("ba").to_dict()["chars"]
            ['a', 'b']
        """
        return {
            **self._header(),
            "chars": list(self._chars),
            "special_tokens": list(self._specials),
            "unk_token": self._unk_token,
        }

    @classmethod
    def _from_state(
        cls, state: dict[str, Any], trusted_patterns: frozenset[str] = frozenset()
    ) -> CharTokenizer:
        for key in ("chars", "special_tokens", "unk_token"):
            if key not in state:
                raise TokenizerFormatError(f"the field {key!r} is missing")
        chars, specials, unk = state["chars"], state["special_tokens"], state["unk_token"]
        if not isinstance(chars, list) or not isinstance(specials, list):
            raise TokenizerFormatError("'chars' and 'special_tokens' must be lists")
        if unk is not None and not isinstance(unk, str):
            raise TokenizerFormatError(
                f"'unk_token' must be a string or null, got {type(unk).__name__}"
            )
        if unk is not None and unk not in specials:
            raise TokenizerFormatError(f"unk_token {short(unk)} is not among the special tokens")
        try:
            return cls(chars, special_tokens=specials, unk_token=unk)
        except (TypeError, ValueError) as e:
            raise TokenizerFormatError(str(e)) from None

    def __repr__(self) -> str:
        return (
            f"CharTokenizer(vocab_size={self.vocab_size}, special_tokens={self._specials!r}, "
            f"unk_token={self._unk_token!r})"
        )
