"""Character-level tokenization."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.tokenization import CharTokenizer

SHAKESPEARE = "First Citizen:\nBefore we proceed any further, hear me speak.\n"


def test_ids_are_nanogpt_sorted_characters():
    tok = CharTokenizer.from_text(SHAKESPEARE)
    stoi = {ch: i for i, ch in enumerate(sorted(set(SHAKESPEARE)))}
    assert tok.vocab_size == len(stoi)
    assert tok.encode(SHAKESPEARE) == [stoi[c] for c in SHAKESPEARE]
    assert tok.chars == sorted(stoi)


@settings(deadline=None)
@given(st.text())
def test_text_round_trips_through_its_own_tokenizer(text):
    tok = CharTokenizer.from_text(text)
    ids = tok.encode(text)
    assert len(ids) == len(text)
    assert tok.decode(ids) == text
    assert tok.vocab_size == len(set(text))


@settings(deadline=None)
@given(st.text(), st.text())
def test_round_trips_with_special_tokens_between_texts(a, b):
    tok = CharTokenizer.from_text(a + b, special_tokens=["<|sep|>"])
    sep = tok.special_tokens["<|sep|>"]
    ids = tok.encode(a + "<|sep|>" + b)
    assert ids.count(sep) == (a + "<|sep|>" + b).count("<|sep|>")
    assert tok.decode(ids) == a + "<|sep|>" + b


def test_alphabet_in_given_order_and_lone_surrogates():
    tok = CharTokenizer(["z", "\ud800", "a"])
    assert tok.encode("a\ud800z") == [2, 1, 0]
    assert tok.decode([2, 1, 0]) == "a\ud800z"


def test_unknown_character_is_an_error_by_default():
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match=r"'é' \(U\+00E9\) at index 3 is not in the alphabet of 3"):
        tok.encode("abcé")


def test_unknown_character_is_reported_at_its_index_after_a_special_token():
    tok = CharTokenizer.from_text("ab", special_tokens=["<s>"])
    with pytest.raises(ValueError, match="at index 4 "):
        tok.encode("a<s>x")


def test_unk_token_maps_unknown_characters():
    tok = CharTokenizer.from_text("abc", unk_token="<unk>")
    unk = tok.special_tokens["<unk>"]
    assert unk == 3
    assert tok.unk_token == "<unk>"
    assert tok.encode("axbé") == [0, unk, 1, unk]
    assert tok.decode(tok.encode("axb")) == "a<unk>b"
    assert tok.encode("<unk>") == [unk]


def test_special_tokens_follow_the_characters_and_are_atomic():
    tok = CharTokenizer.from_text("ab<s>a", special_tokens=["<s>", "</s>"])
    # "<", "s", ">" only appear inside the special token, so they are not characters.
    assert tok.chars == ["a", "b"]
    assert tok.special_tokens == {"<s>": 2, "</s>": 3}
    assert tok.encode("</s>ab<s>") == [3, 0, 1, 2]
    assert tok.decode([3, 0, 1, 2]) == "</s>ab<s>"
    assert tok.vocab_size == 4


def test_allow_special_false_treats_special_text_as_characters():
    tok = CharTokenizer(list("<s>ab"), special_tokens=["<s>"])
    assert tok.encode("<s>", allow_special=False) == [0, 1, 2]
    assert tok.encode("<s>") == [5]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((["a", "a"],), "twice"),
        ((["ab"],), "single characters"),
        ((["a"], ["a"]), "also a character"),
        ((["a"], ["<s>", "<s>"]), "twice"),
        ((["a"], [""]), "non-empty"),
    ],
)
def test_bad_alphabets_and_specials_are_refused(args, match):
    with pytest.raises(ValueError, match=match):
        CharTokenizer(*args)


def test_empty_alphabet():
    tok = CharTokenizer.from_text("")
    assert tok.vocab_size == 0
    assert tok.encode("") == []
    assert tok.decode([]) == ""
    with pytest.raises(ValueError, match="alphabet of 0"):
        tok.encode("a")


def test_from_text_takes_documents_and_tensors_round_trip():
    tok = CharTokenizer.from_text(["hello", "world"])
    assert "".join(tok.chars) == "dehlorw"
    t = tok.encode_tensor("hold")
    assert t.dtype == np.int64
    assert t.tolist() == tok.encode("hold")
    assert tok.decode(t) == "hold"
    with pytest.raises(IndexError, match="out of range for a vocabulary of 7"):
        tok.decode([7])
    with pytest.raises(TypeError, match="expected str"):
        CharTokenizer.from_text(["a", 1])


# ---- decode gives exactly the characters of the ids (issue 9) ---------------------------------


def test_decode_never_fuses_two_surrogates_into_one_character():
    # A UTF-16 round trip would join this pair into U+1F642; each id is one character.
    tok = CharTokenizer(["\ud83d", "\ude42", "x"])
    text = tok.decode([0, 1, 2, 1, 0])
    assert text == "\ud83d\ude42x\ude42\ud83d"
    assert len(text) == 5
    assert "🙂" not in text
    assert tok.encode(text) == [0, 1, 2, 1, 0]


@settings(max_examples=100, deadline=None)
@given(ids=st.lists(st.integers(0, 5), max_size=20))
def test_decode_is_the_join_of_each_ids_string(ids):
    tok = CharTokenizer(["\udfff", "a", "\ud800", "é"], special_tokens=["<s>", "<unk>"])
    table = [*tok.chars, "<s>", "<unk>"]
    assert tok.decode(ids) == "".join(table[i] for i in ids)


def test_a_repeated_character_late_in_a_large_alphabet_is_refused_in_one_pass():
    # list.count per character made this quadratic: hours for a crafted 10**6-entry file.
    chars = [chr(c) for c in range(0x4E00, 0x4E00 + 200_000) if not 0xD800 <= c < 0xE000]
    with pytest.raises(ValueError, match="appears twice"):
        CharTokenizer([*chars, chars[-1]])


def test_a_repeated_special_token_late_in_a_long_list_is_refused_in_one_pass():
    specials = [f"<{i}>" for i in range(100_000)]
    with pytest.raises(ValueError, match="given twice"):
        CharTokenizer("ab", special_tokens=[*specials, specials[-1]])
