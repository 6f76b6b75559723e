"""TinyTorch module 10: tokenization.

Text becomes the integer ids a language model reads, and ids become text again. Two tokenizers
share one interface (:class:`Tokenizer`): :class:`CharTokenizer`, one id per character, and
:class:`BPETokenizer`, GPT-2's byte-level byte-pair encoding with a trainer that keeps its pair
counts up to date incrementally. Both save to and load from a versioned JSON file.

Example:
    >>> from tinytorch.tokenization import BPETokenizer
    >>> tok = BPETokenizer.train("the cat sat on the mat " * 20, vocab_size=270)
    >>> ids = tok.encode("the cat")
    >>> len(ids) < len("the cat")
    True
    >>> tok.decode(ids)
    'the cat'
"""

from tinytorch.tokenization.base import (
    FORMAT_VERSION,
    TokenDecodeError,
    Tokenizer,
    TokenizerFormatError,
)
from tinytorch.tokenization.bpe import DEFAULT_PATTERN, BPETokenizer
from tinytorch.tokenization.char import CharTokenizer

__all__ = [
    "DEFAULT_PATTERN",
    "FORMAT_VERSION",
    "BPETokenizer",
    "CharTokenizer",
    "TokenDecodeError",
    "Tokenizer",
    "TokenizerFormatError",
]
