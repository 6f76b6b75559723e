"""What every tokenizer offers, and the JSON file format they share."""

from __future__ import annotations

import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, ClassVar, TypeVar, Union

import numpy as np
import numpy.typing as npt

from tinytorch.tensor import Tensor, int64
from tinytorch.training.checkpoint import atomic_write

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "Ids",
    "TokenDecodeError",
    "Tokenizer",
    "TokenizerFormatError",
]

FORMAT_NAME = "tinytorch-tokenizer"
FORMAT_VERSION = 1

# What decode() accepts: a list of ids, a 1-D integer array, or a 1-D integer Tensor.
Ids = Union[Sequence[int], npt.NDArray[Any], Tensor]  # noqa: UP007 (a runtime alias)

PathLike = Union[str, "os.PathLike[str]"]
T = TypeVar("T", bound="Tokenizer")


class TokenizerFormatError(ValueError):
    """A tokenizer file that cannot be loaded: not JSON, another format, version or kind, or
    contents that contradict each other. The message says which, and names the file.

    Example:
        >>> from tinytorch.tokenization import Tokenizer, TokenizerFormatError
        >>> try:
        ...     Tokenizer.from_dict({"format": "something-else"})
        ... except TokenizerFormatError as e:
        ...     print(str(e)[:40])
        Tokenizer.load: not a tinytorch-tokenize
    """


class TokenDecodeError(UnicodeDecodeError):
    """Token ids whose bytes are not valid UTF-8, raised by ``decode(ids, errors="strict")``.

    It is the ``UnicodeDecodeError`` that ``bytes.decode`` raises (``start``/``end`` index the
    joined bytes, ``object``), plus which tokens made those bytes: ``ids`` (the offending ids)
    and ``position`` (where the first of them is in the sequence decoded).

    Example:
        >>> from tinytorch.tokenization import BPETokenizer, TokenDecodeError
        >>> try:
        ...     BPETokenizer().decode([104, 195], errors="strict")
        ... except TokenDecodeError as e:
        ...     print(e.ids, e.position, e.start)
        [195] 1 1
    """

    def __init__(
        self,
        op: str,
        data: bytes,
        start: int,
        end: int,
        reason: str,
        ids: Sequence[int],
        position: int,
    ) -> None:
        super().__init__("utf-8", data, start, end, reason)
        self.op = op
        self.ids = list(ids)
        self.position = position

    def __reduce__(self) -> tuple[Any, ...]:
        # args holds only UnicodeDecodeError's five fields; rebuild from all seven.
        fields = (self.op, self.object, self.start, self.end, self.reason, self.ids, self.position)
        return (type(self), fields)

    def __str__(self) -> str:
        last = self.position + len(self.ids) - 1
        where = (
            f"position {last}" if last == self.position else f"positions {self.position}..{last}"
        )
        return (
            f"{self.op}: token ids {self.ids} at {where} give bytes "
            f"{bytes(self.object[self.start : self.end])!r} that are not valid UTF-8 "
            f"({self.reason}); errors='replace' decodes them as U+FFFD, 'ignore' drops them"
        )


class Tokenizer(ABC):
    """Text to token ids and back.

    Subclasses (:class:`~tinytorch.tokenization.CharTokenizer`,
    :class:`~tinytorch.tokenization.BPETokenizer`) implement :meth:`encode`, :meth:`decode` and
    the JSON state; this base adds tensors, ``len()`` and atomic save/load. ``Tokenizer.load``
    reads any kind of tokenizer file; ``CharTokenizer.load`` only a character-level one.

    Special tokens (``"<|endoftext|>"``, ``"<pad>"``) are strings with ids of their own. Where
    one appears in the text given to :meth:`encode` it becomes its single id, never split; the
    rest of the text is encoded around it, and decoding gives the string back.

    Example:
        >>> from tinytorch.tokenization import CharTokenizer, Tokenizer
        >>> tok = CharTokenizer.from_text("hello world")
        >>> tok.encode_tensor("hello")
        tensor([3, 2, 4, 4, 5])
        >>> tok.decode(tok.encode_tensor("hello"))
        'hello'
    """

    #: The ``"type"`` field of this tokenizer's JSON files; each concrete subclass sets its own.
    kind: ClassVar[str] = ""
    _kinds: ClassVar[dict[str, type[Tokenizer]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            Tokenizer._kinds[cls.kind] = cls

    # ---- what a subclass provides -----------------------------------------------------------
    @property
    @abstractmethod
    def vocab_size(self) -> int:
        """Number of distinct ids: every id ``encode`` gives lies in ``range(vocab_size)``."""

    @property
    @abstractmethod
    def special_tokens(self) -> dict[str, int]:
        """The special tokens and their ids (a copy)."""

    @abstractmethod
    def encode(self, text: str, allow_special: bool = True) -> list[int]:
        """The ids of ``text``. With ``allow_special=False`` special-token strings in ``text``
        are encoded as ordinary text instead of as their ids."""

    @abstractmethod
    def decode(self, ids: Ids) -> str:
        """The text of ``ids``: ``decode(encode(s)) == s``."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """This tokenizer's state as JSON-ready data, with the format header."""

    @classmethod
    @abstractmethod
    def _from_state(cls: type[T], state: dict[str, Any], trusted_patterns: frozenset[str]) -> T:
        """Rebuild from ``to_dict()``'s data (header already checked), checking the type and
        range of every field before building anything; raise :class:`TokenizerFormatError`
        on contents that are malformed or do not fit together. ``trusted_patterns``: the
        regular expressions the caller vouches for, besides the library's own."""

    # ---- shared behaviour -------------------------------------------------------------------
    def __len__(self) -> int:
        return self.vocab_size

    def encode_tensor(self, text: str, allow_special: bool = True) -> Tensor:
        """The ids of ``text`` as a 1-D int64 Tensor (what an embedding layer takes).

        Example:
            >>> from tinytorch.tokenization import BPETokenizer
            >>> BPETokenizer().encode_tensor("hi").dtype
            dtype('int64')
        """
        ids = self.encode(text, allow_special=allow_special)
        return Tensor(np.asarray(ids, dtype=np.int64).reshape(-1), dtype=int64)

    def _header(self) -> dict[str, Any]:
        return {"format": FORMAT_NAME, "version": FORMAT_VERSION, "type": self.kind}

    def save(self, path: PathLike) -> None:
        """Write this tokenizer to ``path`` as JSON, atomically (a crash leaves the old file).

        The JSON goes first to one temporary file next to ``path``, named ``.<name>.tmp``, which
        is renamed over ``path`` once it is complete and on disk. A save that fails removes it;
        one killed outright leaves at most that one file, which the next save to ``path``
        replaces, so repeated interrupted saves cannot fill a folder. The file gets the mode
        ``open(path, "w")`` would give it: an existing file's own, else the one the umask allows.
        (Two processes must not save to the same path at the same time.)

        Example:
            >>> import tempfile, os
            >>> from tinytorch.tokenization import CharTokenizer, Tokenizer
            >>> tok = CharTokenizer.from_text("abc")
            >>> path = os.path.join(tempfile.mkdtemp(), "tok.json")
            >>> tok.save(path)
            >>> Tokenizer.load(path).encode("cab")
            [2, 0, 1]
        """
        state = self.to_dict()

        def write(f: IO[bytes]) -> None:
            # Streamed, so a large vocabulary is never held twice (as str and as bytes).
            # A character tokenizer may hold a lone surrogate, which UTF-8 cannot encode.
            # "backslashreplace" writes it as \udXXX, which is exactly its JSON string escape,
            # so the file stays valid UTF-8 JSON and loads back to the same string.
            for chunk in json.JSONEncoder(ensure_ascii=False, indent=1).iterencode(state):
                f.write(chunk.encode("utf-8", errors="backslashreplace"))

        atomic_write(path, write)

    @classmethod
    def load(cls: type[T], path: PathLike, *, trusted_patterns: Iterable[str] = ()) -> T:
        """Read a tokenizer written by :meth:`save`; a file that is not one (not UTF-8 JSON,
        nested too deeply, another format version, or, called on a subclass, another kind)
        or whose fields are malformed raises :class:`TokenizerFormatError` saying why.

        A file is data, so it never supplies code to run: a BPE file's pre-tokenization
        pattern is compiled only when it is one the library writes (:data:`DEFAULT_PATTERN`
        or none), since a crafted regular expression can make ``encode`` run for hours.
        A tokenizer built with a pattern of your own loads when you pass that pattern in
        ``trusted_patterns``.

        Example:
            >>> import tempfile, os
            >>> from tinytorch.tokenization import BPETokenizer
            >>> path = os.path.join(tempfile.mkdtemp(), "bpe.json")
            >>> BPETokenizer.train("low lower lowest", 260).save(path)
            >>> BPETokenizer.load(path).vocab_size
            260
        """
        where = f"{cls.__name__}.load: {os.fspath(path)}"
        trusted = _trusted(f"{cls.__name__}.load", trusted_patterns)
        raw = Path(path).read_bytes()  # a missing file is FileNotFoundError, naming the path
        try:
            state = json.loads(raw.decode("utf-8"))
        except RecursionError:
            raise TokenizerFormatError(
                f"{where}: not a tokenizer file (its JSON is nested too deeply to parse)"
            ) from None
        except ValueError as e:
            # JSONDecodeError, UnicodeDecodeError and int-too-long errors are all ValueErrors.
            raise TokenizerFormatError(f"{where}: not valid UTF-8 JSON ({e})") from None
        return cls.from_dict(state, where=where, trusted_patterns=trusted)

    @classmethod
    def from_dict(
        cls: type[T], state: Any, where: str | None = None, *, trusted_patterns: Iterable[str] = ()
    ) -> T:
        """Rebuild a tokenizer from :meth:`to_dict`'s data, checking it as :meth:`load` does
        (``trusted_patterns`` as there).

        Example:
            >>> from tinytorch.tokenization import CharTokenizer, Tokenizer
            >>> tok = Tokenizer.from_dict(CharTokenizer.from_text("ab").to_dict())
            >>> type(tok).__name__, tok.vocab_size
            ('CharTokenizer', 2)
        """
        where = where or f"{cls.__name__}.load"
        trusted = _trusted(where, trusted_patterns)
        if not isinstance(state, dict) or state.get("format") != FORMAT_NAME:
            raise TokenizerFormatError(
                f'{where}: not a {FORMAT_NAME} file (no "format": "{FORMAT_NAME}" field)'
            )
        version = state.get("version")
        if type(version) is not int or version != FORMAT_VERSION:
            raise TokenizerFormatError(
                f"{where}: format version {version!r} is not supported; "
                f"this tinytorch-tokenization reads version {FORMAT_VERSION}"
            )
        kind = state.get("type")
        target: type[Tokenizer] | None
        if cls.kind and kind == cls.kind:
            target = cls  # a subclass reading its own kind needs no registry lookup
        else:
            target = Tokenizer._kinds.get(kind) if isinstance(kind, str) else None
        if target is None:
            known = ", ".join(sorted(Tokenizer._kinds))
            raise TokenizerFormatError(f"{where}: unknown tokenizer type {kind!r} (known: {known})")
        if not issubclass(target, cls):
            raise TokenizerFormatError(
                f"{where}: the file holds a {target.__name__} (type {kind!r}), "
                f"not a {cls.__name__}; load it with Tokenizer.load"
            )
        try:
            return target._from_state(state, trusted)
        except TokenizerFormatError as e:
            raise TokenizerFormatError(f"{where}: {e}") from None
        except (KeyError, TypeError, ValueError, IndexError, RecursionError) as e:
            # The checks in _from_state should leave nothing to get here; a file must still
            # never escape as a raw exception if one was missed.
            raise TokenizerFormatError(f"{where}: malformed contents ({e!r})") from None


# ---- helpers the tokenizers share -------------------------------------------------------------


def _trusted(op: str, patterns: Iterable[str]) -> frozenset[str]:
    if isinstance(patterns, str):
        raise TypeError(f"{op}: trusted_patterns must be a sequence of strings, not one string")
    out = frozenset(patterns)
    for p in out:
        if not isinstance(p, str):
            raise TypeError(f"{op}: trusted_patterns must hold strings, got {p!r}")
    return out


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to about ``limit`` characters: a file's contents go into messages,
    and a crafted one may hold megabytes in one field."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_int(value: Any) -> bool:
    """Whether ``value`` is a true int (JSON gives ``true`` as ``True`` and ``1.0`` as a float,
    both of which compare equal to ints)."""
    return type(value) is int


def check_special_tokens(op: str, tokens: Iterable[str]) -> list[str]:
    """The special tokens as a list, refusing empty, non-string or repeated ones."""
    if isinstance(tokens, str):
        raise TypeError(f"{op}: special_tokens must be a sequence of strings, not one string")
    out: list[str] = []
    seen: set[str] = set()  # a set, not ``in out``: a file may list 10**5 tokens
    for t in tokens:
        if not isinstance(t, str) or not t:
            raise ValueError(f"{op}: special tokens must be non-empty strings, got {short(t)}")
        if t in seen:
            raise ValueError(f"{op}: special token {short(t)} is given twice")
        seen.add(t)
        out.append(t)
    return out


def special_regex(tokens: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern matching any special token, the longest first where one is a prefix of another
    (so ``"<|end|>"`` does not cut ``"<|endoftext|>"`` short); ``None`` when there are none."""
    ordered = sorted(tokens, key=lambda t: (-len(t), t))
    if not ordered:
        return None
    return re.compile("|".join(re.escape(t) for t in ordered))


def split_special(text: str, pattern: re.Pattern[str] | None) -> Iterator[tuple[str, bool]]:
    """``text`` as pieces ``(piece, is_special)`` in order; ordinary pieces are never empty."""
    if pattern is None:
        if text:
            yield text, False
        return
    start = 0
    for m in pattern.finditer(text):
        if m.start() > start:
            yield text[start : m.start()], False
        yield m.group(), True
        start = m.end()
    if start < len(text):
        yield text[start:], False


def plain_pieces(
    op: str, corpus: str | Iterable[str], pattern: re.Pattern[str] | None
) -> Iterator[str]:
    """The ordinary (non-special) pieces of ``corpus``, a string or an iterable of strings."""
    docs = [corpus] if isinstance(corpus, str) else corpus
    for doc in docs:
        if not isinstance(doc, str):
            raise TypeError(f"{op}: expected str documents, got {type(doc).__name__}")
        for piece, special in split_special(doc, pattern):
            if not special:
                yield piece


def ids_to_list(op: str, ids: Ids, vocab_size: int) -> list[int]:
    """``ids`` as a list of Python ints, each checked to lie in ``range(vocab_size)``."""
    if isinstance(ids, Tensor):
        ids = ids.data
    if isinstance(ids, np.ndarray):
        if ids.ndim != 1:
            raise ValueError(f"{op}: expected a 1-D sequence of ids, got shape {ids.shape}")
        if ids.size and ids.dtype.kind not in "iu":
            raise TypeError(f"{op}: token ids must be integers, got dtype {ids.dtype}")
        out: list[int] = ids.tolist()
    else:
        if not isinstance(ids, Iterable):
            raise TypeError(f"{op}: expected a sequence of token ids, got {type(ids).__name__}")
        out = ids if isinstance(ids, list) else list(ids)
        # One pass in C over the element types; the per-element Python check runs only when
        # something other than a plain int is there.
        if not set(map(type, out)) <= {int}:
            for i in out:
                if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
                    raise TypeError(f"{op}: token ids must be integers, got {i!r}")
            out = [int(i) for i in out]
    if out and (min(out) < 0 or max(out) >= vocab_size):
        bad = next(i for i in out if i < 0 or i >= vocab_size)
        raise IndexError(f"{op}: token id {bad} is out of range for a vocabulary of {vocab_size}")
    return out
