"""Saving and loading tokenizers as versioned JSON; refusing files that are not sound."""

from __future__ import annotations

import json

import pytest

from tinytorch.tokenization import (
    FORMAT_VERSION,
    BPETokenizer,
    CharTokenizer,
    Tokenizer,
    TokenizerFormatError,
)

TEXT = "the theme of these theses: then, there, the end. 1234 12 34 🙂🙂\n" * 20
SAMPLES = [TEXT, "unseen words 🚀 here<|endoftext|>", "", "\ud800"]


@pytest.fixture
def bpe():
    return BPETokenizer.train(TEXT, 280, special_tokens=["<|endoftext|>", "<pad>"])


def test_bpe_round_trip(tmp_path, bpe):
    path = tmp_path / "bpe.json"
    bpe.save(path)
    for loader in (BPETokenizer.load, Tokenizer.load):
        back = loader(path)
        assert isinstance(back, BPETokenizer)
        assert back.merges == bpe.merges
        assert back.special_tokens == bpe.special_tokens
        assert back.pattern == bpe.pattern
        assert back.vocab_size == bpe.vocab_size
        for s in SAMPLES:
            assert back.encode(s) == bpe.encode(s)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_bpe_file_is_readable_json(tmp_path, bpe):
    path = tmp_path / "bpe.json"
    bpe.save(path)
    state = json.loads(path.read_text(encoding="utf-8"))
    assert state["format"] == "tinytorch-tokenizer"
    assert state["version"] == FORMAT_VERSION
    assert state["type"] == "bpe"
    assert len(state["merges"]) == len(bpe.merges)
    assert len(state["vocab"]) == 256 + len(bpe.merges)
    assert state["vocab"][ord("a")] == "a"
    assert state["vocab"][ord(" ")] == "Ġ"  # the space byte, printable as in GPT-2's files
    assert "Ġthe" in state["vocab"]
    assert state["special_tokens"] == {"<|endoftext|>": 278, "<pad>": 279}


def test_char_round_trip_with_unk_and_surrogate(tmp_path):
    tok = CharTokenizer.from_text("ab\ud800cé", special_tokens=["<s>"], unk_token="<unk>")
    path = tmp_path / "char.json"
    tok.save(path)
    path.read_bytes().decode("utf-8")  # valid UTF-8 even with a lone surrogate in the alphabet
    back = Tokenizer.load(path)
    assert isinstance(back, CharTokenizer)
    assert back.chars == tok.chars
    assert back.unk_token == "<unk>"
    assert back.special_tokens == tok.special_tokens
    assert back.encode("a\ud800<s>zé") == tok.encode("a\ud800<s>zé")


def test_save_overwrites(tmp_path, bpe):
    path = tmp_path / "tok.json"
    CharTokenizer.from_text("abc").save(path)
    bpe.save(path)
    assert isinstance(Tokenizer.load(path), BPETokenizer)


def _edit(tmp_path, tok, change):
    state = tok.to_dict()
    change(state)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(state), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s: s.update(version=2), "format version 2 is not supported.*reads version 1"),
        (lambda s: s.pop("version"), "format version None"),
        (lambda s: s.update(format="other"), "not a tinytorch-tokenizer file"),
        (lambda s: s.update(type="wordpiece"), "unknown tokenizer type 'wordpiece'"),
        (lambda s: s.pop("merges"), "'merges' is missing"),
        (lambda s: s["vocab"].__setitem__(270, "xyz"), "vocabulary entry 270 is 'xyz'"),
        (
            lambda s: s["vocab"].pop(),
            "the vocabulary has 277 entries but 256 bytes and 22 merges make 278",
        ),
        (lambda s: s["merges"].__setitem__(0, [97, 999]), "does not exist yet"),
        (lambda s: s["merges"].__setitem__(0, [97]), "pair of token ids"),
        (lambda s: s["merges"].__setitem__(0, "ab"), "pair of token ids"),
        (lambda s: s["special_tokens"].__setitem__("<pad>", 5), "special token ids"),
        (lambda s: s.update(special_tokens=["<pad>"]), "must map each token"),
        (lambda s: s.update(pattern="("), "pattern '\\(' is not one this library writes"),
    ],
)
def test_unsound_bpe_files_are_refused_with_the_reason(tmp_path, bpe, change, match):
    path = _edit(tmp_path, bpe, change)
    with pytest.raises(TokenizerFormatError, match=match) as info:
        Tokenizer.load(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s: s.update(chars=["a", "a"]), "twice"),
        (lambda s: s.update(chars="abc"), "must be lists"),
        (lambda s: s.update(unk_token="<x>"), "not among the special tokens"),
        (lambda s: s.pop("unk_token"), "'unk_token' is missing"),
    ],
)
def test_unsound_char_files_are_refused_with_the_reason(tmp_path, change, match):
    tok = CharTokenizer.from_text("abc", unk_token="<unk>")
    with pytest.raises(TokenizerFormatError, match=match):
        CharTokenizer.load(_edit(tmp_path, tok, change))


def test_corrupt_bytes_are_refused(tmp_path, bpe):
    path = tmp_path / "bpe.json"
    bpe.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(TokenizerFormatError, match="not valid UTF-8 JSON"):
        BPETokenizer.load(path)
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(TokenizerFormatError, match="not valid UTF-8 JSON"):
        BPETokenizer.load(path)
    path.write_text("[1, 2]")
    with pytest.raises(TokenizerFormatError, match="not a tinytorch-tokenizer file"):
        BPETokenizer.load(path)


def test_loading_the_wrong_kind_is_refused(tmp_path, bpe):
    path = tmp_path / "bpe.json"
    bpe.save(path)
    with pytest.raises(TokenizerFormatError, match=r"holds a BPETokenizer.*not a CharTokenizer"):
        CharTokenizer.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        Tokenizer.load(tmp_path / "nope.json")
