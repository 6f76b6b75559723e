"""What every tokenizer offers, and the JSON file format they share."""

from __future__ import annotations

import json
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar, Union

import numpy as np
import numpy.typing as npt

from tinytorch.tensor import Tensor, int64

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "Ids", "Tokenizer", "TokenizerFormatError"]

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
    def _from_state(cls: type[T], state: dict[str, Any]) -> T:
        """Rebuild from ``to_dict()``'s data (header already checked); raise
        :class:`TokenizerFormatError` on contents that do not fit together."""

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

        Example:
            >>> import tempfile, os
            >>> from tinytorch.tokenization import CharTokenizer, Tokenizer
            >>> tok = CharTokenizer.from_text("abc")
            >>> path = os.path.join(tempfile.mkdtemp(), "tok.json")
            >>> tok.save(path)
            >>> Tokenizer.load(path).encode("cab")
            [2, 0, 1]
        """
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=1)
        # A character tokenizer may hold a lone surrogate, which UTF-8 cannot encode.
        # "backslashreplace" writes it as \udXXX, which is exactly its JSON string escape,
        # so the file stays valid UTF-8 JSON and loads back to the same string.
        data = text.encode("utf-8", errors="backslashreplace")
        target = Path(path)
        fd, tmp = tempfile.mkstemp(dir=target.parent or Path("."), prefix=target.name + ".")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls: type[T], path: PathLike) -> T:
        """Read a tokenizer written by :meth:`save`; a file that is not one (or of another
        format version, or, called on a subclass, of another kind) raises
        :class:`TokenizerFormatError` saying why.

        Example:
            >>> import tempfile, os
            >>> from tinytorch.tokenization import BPETokenizer
            >>> path = os.path.join(tempfile.mkdtemp(), "bpe.json")
            >>> BPETokenizer.train("low lower lowest", 260).save(path)
            >>> BPETokenizer.load(path).vocab_size
            260
        """
        where = f"{cls.__name__}.load: {os.fspath(path)}"
        raw = Path(path).read_bytes()  # a missing file is FileNotFoundError, naming the path
        try:
            state = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise TokenizerFormatError(f"{where}: not valid UTF-8 JSON ({e})") from None
        return cls.from_dict(state, where=where)

    @classmethod
    def from_dict(cls: type[T], state: Any, where: str | None = None) -> T:
        """Rebuild a tokenizer from :meth:`to_dict`'s data, checking it as :meth:`load` does.

        Example:
            >>> from tinytorch.tokenization import CharTokenizer, Tokenizer
            >>> tok = Tokenizer.from_dict(CharTokenizer.from_text("ab").to_dict())
            >>> type(tok).__name__, tok.vocab_size
            ('CharTokenizer', 2)
        """
        where = where or f"{cls.__name__}.load"
        if not isinstance(state, dict) or state.get("format") != FORMAT_NAME:
            raise TokenizerFormatError(
                f'{where}: not a {FORMAT_NAME} file (no "format": "{FORMAT_NAME}" field)'
            )
        version = state.get("version")
        if version != FORMAT_VERSION:
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
            return target._from_state(state)
        except TokenizerFormatError as e:
            raise TokenizerFormatError(f"{where}: {e}") from None
        except (KeyError, TypeError, ValueError, IndexError) as e:
            raise TokenizerFormatError(f"{where}: malformed contents ({e!r})") from None


# ---- helpers the tokenizers share -------------------------------------------------------------


def check_special_tokens(op: str, tokens: Iterable[str]) -> list[str]:
    """The special tokens as a list, refusing empty, non-string or repeated ones."""
    if isinstance(tokens, str):
        raise TypeError(f"{op}: special_tokens must be a sequence of strings, not one string")
    out: list[str] = []
    for t in tokens:
        if not isinstance(t, str) or not t:
            raise ValueError(f"{op}: special tokens must be non-empty strings, got {t!r}")
        if t in out:
            raise ValueError(f"{op}: special token {t!r} is given twice")
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
