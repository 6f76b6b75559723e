"""Crafted tokenizer files: each is refused with TokenizerFormatError naming the file and the
reason, before anything is compiled or allocated from it (issue 9)."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinytorch.tokenization import (
    DEFAULT_PATTERN,
    BPETokenizer,
    CharTokenizer,
    Tokenizer,
    TokenizerFormatError,
)

DATA = Path(__file__).parent / "data"
TEXT = "the cat sat on the mat, the end 🙂🙂\n" * 5


@functools.cache
def small() -> BPETokenizer:
    # Trained on first use, not at import, so that the file collects on a student's stubs.
    return BPETokenizer.train(TEXT, 266, special_tokens=["<|endoftext|>"])


SLOW = r"(?:a|aa)+$"


def _write(tmp_path, state, name="crafted.json"):
    path = tmp_path / name
    path.write_text(json.dumps(state), encoding="utf-8")
    return path


def _refused(path, match, loader=Tokenizer.load, **kwargs):
    with pytest.raises(TokenizerFormatError, match=match) as info:
        loader(path, **kwargs)
    assert str(path) in str(info.value)
    return info.value


# ---- the pre-tokenization pattern -------------------------------------------------------------


def test_a_pattern_the_library_did_not_write_is_never_compiled(tmp_path):
    state = small().to_dict()
    state["pattern"] = SLOW
    path = _write(tmp_path, state)
    start = time.perf_counter()
    _refused(path, r"pattern '\(\?:a\|aa\)\+\$' is not one this library writes")
    _refused(path, "trusted_patterns", loader=BPETokenizer.load)
    # Had it been compiled, encoding 40 "a"s and a "b" would take minutes, not milliseconds.
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("pattern", [123, ["x"], {"a": 1}, True])
def test_a_pattern_that_is_not_a_string_is_refused(tmp_path, pattern):
    state = small().to_dict()
    state["pattern"] = pattern
    _refused(_write(tmp_path, state), "'pattern' must be a string or null")


def test_a_pattern_a_few_characters_off_the_default_is_refused(tmp_path):
    state = small().to_dict()
    state["pattern"] = DEFAULT_PATTERN + "|a"
    _refused(_write(tmp_path, state), "not one this library writes")


def test_the_default_pattern_and_none_load_and_are_saved_as_before(tmp_path):
    for pattern in (DEFAULT_PATTERN, None):
        tok = BPETokenizer.train(TEXT, 270, pattern=pattern)
        path = tmp_path / "tok.json"
        tok.save(path)
        # The file format is unchanged: the pattern string itself, or null.
        assert json.loads(path.read_text(encoding="utf-8"))["pattern"] == pattern
        back = Tokenizer.load(path)
        assert isinstance(back, BPETokenizer)
        assert back.pattern == pattern
        assert back.encode(TEXT) == tok.encode(TEXT)


def test_a_custom_pattern_loads_when_the_caller_trusts_it(tmp_path):
    pattern = r"\w+|\s+|[^\w\s]+"
    tok = BPETokenizer.train(TEXT, 270, pattern=pattern)
    path = tmp_path / "custom.json"
    tok.save(path)
    _refused(path, "not one this library writes")
    for loader in (Tokenizer.load, BPETokenizer.load):
        back = loader(path, trusted_patterns=[pattern])
        assert isinstance(back, BPETokenizer)
        assert back.pattern == pattern
        assert back.encode(TEXT) == tok.encode(TEXT)
    # Trusting one pattern does not let another in.
    _refused(path, "not one this library writes", trusted_patterns=[r"\w+"])
    back = Tokenizer.from_dict(tok.to_dict(), trusted_patterns=(pattern,))
    assert back.encode("cat") == tok.encode("cat")
    with pytest.raises(TypeError, match="trusted_patterns must be a sequence of strings"):
        Tokenizer.load(path, trusted_patterns=pattern)
    with pytest.raises(TypeError, match="trusted_patterns must hold strings"):
        Tokenizer.load(path, trusted_patterns=[3])


# ---- files written by 0.1.0 -------------------------------------------------------------------


def test_files_saved_by_0_1_0_still_load():
    # Written by tinytorch-tokenization 0.1.0 (the pattern stored as its string).
    bpe = Tokenizer.load(DATA / "bpe-0.1.0.json")
    assert isinstance(bpe, BPETokenizer)
    assert bpe.pattern == DEFAULT_PATTERN
    assert bpe.merges == small().merges
    assert bpe.special_tokens == {"<|endoftext|>": 265}
    assert bpe.encode(TEXT + "<|endoftext|>") == small().encode(TEXT + "<|endoftext|>")

    plain = BPETokenizer.load(DATA / "bpe-nopattern-0.1.0.json")
    assert plain.pattern is None
    assert plain.merges == [(97, 97), (97, 98), (256, 257)]

    char = CharTokenizer.load(DATA / "char-0.1.0.json")
    assert char.chars == ["a", "b", "c", "é", "\ud800"]
    assert char.unk_token == "<unk>"
    assert char.decode(char.encode("a\ud800<s>zé")) == "a\ud800<s><unk>é"


# ---- JSON that cannot be parsed ---------------------------------------------------------------


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deeply_nested_json_is_a_format_error(tmp_path, opener):
    path = tmp_path / "deep.json"
    path.write_text(opener * 100_000, encoding="utf-8")
    _refused(path, "nested too deeply")
    _refused(path, "nested too deeply", loader=CharTokenizer.load)


def test_deep_nesting_inside_a_valid_header_is_a_format_error(tmp_path):
    head = '{"format": "tinytorch-tokenizer", "version": 1, "type": "bpe", "merges": '
    path = tmp_path / "deep.json"
    path.write_text(head + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    _refused(path, "nested too deeply")


def test_an_integer_too_long_to_parse_is_a_format_error(tmp_path):
    path = tmp_path / "long.json"
    path.write_text('{"version": ' + "9" * 10_000 + "}", encoding="utf-8")
    _refused(path, "not valid UTF-8 JSON")


# ---- every field checked for type and range ---------------------------------------------------


def _last_merge(state):
    return state["merges"][-1]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s: s.update(version=True), "format version True is not supported"),
        (lambda s: s.update(version=1.0), "format version 1.0 is not supported"),
        (lambda s: s.update(type=["bpe"]), "unknown tokenizer type"),
        (lambda s: s["merges"].__setitem__(0, [97, True]), "merge 0 must be a pair of token ids"),
        (lambda s: s["merges"].__setitem__(0, [97.0, 116]), "must be a pair of token ids"),
        (lambda s: s["merges"].__setitem__(0, [97, 116, 1]), "must be a pair of token ids"),
        (lambda s: s["merges"].__setitem__(0, {"a": 1}), "must be a pair of token ids"),
        (lambda s: s["merges"].__setitem__(0, [-1, 116]), r"merge 0 \(-1, 116\) uses an id"),
        (lambda s: s["merges"].__setitem__(1, [97, 2**70]), "does not exist yet"),
        (lambda s: s["merges"].__setitem__(3, [259, 259]), r"merge 3 \(259, 259\) uses an id"),
        (
            lambda s: s.update(
                merges=[[97, 116]] * 2, vocab=[*s["vocab"][:256], "at", "at"], special_tokens={}
            ),
            r"merge \(97, 116\) is given twice",
        ),
        (lambda s: s.update(merges={"0": [97, 116]}), "'merges' and 'vocab' must be lists"),
        (lambda s: s.update(vocab="abc"), "'merges' and 'vocab' must be lists"),
        (lambda s: s["vocab"].__setitem__(260, 5), "vocabulary entry 260 is 5"),
        (lambda s: s["vocab"].__setitem__(260, None), "vocabulary entry 260 is None"),
        (lambda s: s["vocab"].__setitem__(0, "x"), "vocabulary entry 0 is 'x', but byte 0"),
        (lambda s: s["vocab"].__setitem__(97, ["a"]), "vocabulary entry 97 is"),
        (lambda s: s["vocab"].append("ab"), "the vocabulary has 266 entries"),
        (lambda s: s["special_tokens"].__setitem__("<|endoftext|>", 265.0), "special token ids"),
        (lambda s: s["special_tokens"].__setitem__("<|endoftext|>", True), "special token ids"),
        (lambda s: s["special_tokens"].__setitem__("<|endoftext|>", -1), "has id -1"),
        (lambda s: s["special_tokens"].__setitem__("<|endoftext|>", "265"), "special token"),
        (lambda s: s["special_tokens"].__setitem__("<x>", 300), "'<x>' has id 300, expected 266"),
        (lambda s: s["special_tokens"].__setitem__("<x>", 266), None),
        (lambda s: s.update(special_tokens={"": 265}), "non-empty strings"),
        (lambda s: s.update(special_tokens={}), None),
    ],
)
def test_malformed_bpe_fields_are_refused(tmp_path, change, match):
    state = small().to_dict()
    change(state)
    path = _write(tmp_path, state)
    if match is None:  # sound edits: dropping the special token, or adding one at the next id
        tok = Tokenizer.load(path)
        assert tok.vocab_size == 265 + len(state["special_tokens"])
        assert tok.special_tokens == state["special_tokens"]
        return
    _refused(path, match)


def test_merges_that_double_a_token_each_time_are_refused_without_building_it(tmp_path):
    # 80 merges, each token twice the last: 2**80 bytes if built from the merges alone. The
    # file's vocabulary cannot spell that out, so loading must fail on it, quickly.
    merges = [[97, 97]] + [[256 + k, 256 + k] for k in range(79)]
    state = small().to_dict()
    state.update(merges=merges, vocab=state["vocab"][:256] + ["aa"] * 80, special_tokens={})
    start = time.perf_counter()
    _refused(_write(tmp_path, state), "vocabulary entry 257 is 'aa', but the merges make 'aaaa'")
    assert time.perf_counter() - start < 5


def test_doubling_merges_are_loaded_when_the_file_really_spells_them_out(tmp_path):
    # The same shape at a size the file does hold (2**12 bytes for the last token) is sound.
    merges = [[97, 97]] + [[256 + k, 256 + k] for k in range(11)]
    state = small().to_dict()
    vocab = state["vocab"][:256] + ["a" * 2 ** (k + 1) for k in range(12)]
    state.update(merges=merges, vocab=vocab, special_tokens={})
    tok = Tokenizer.load(_write(tmp_path, state))
    assert tok.encode("a" * 4096) == [267]
    assert tok.decode([267, 256]) == "a" * 4098


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s: s.update(chars=["a", 5]), "single characters, got 5"),
        (lambda s: s.update(chars=["a", "bc"]), "single characters, got 'bc'"),
        (lambda s: s.update(chars=["a", None]), "single characters, got None"),
        (lambda s: s.update(special_tokens=[3, "<unk>"]), "non-empty strings, got 3"),
        (lambda s: s.update(special_tokens={"<unk>": 3}), "must be lists"),
        (lambda s: s.update(unk_token=5), "'unk_token' must be a string or null"),
        (lambda s: s.update(unk_token=["<unk>"]), "'unk_token' must be a string or null"),
        (lambda s: s.update(special_tokens=["a", "<unk>"]), "also a character"),
    ],
)
def test_malformed_char_fields_are_refused(tmp_path, change, match):
    state = CharTokenizer.from_text("abc", unk_token="<unk>").to_dict()
    change(state)
    _refused(_write(tmp_path, state), match, loader=CharTokenizer.load)


# ---- any edit of any field: a format error or a sound tokenizer -------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)


def _edit_somewhere(state, draw):
    """Replace one field, or one element of a list/dict field, with an arbitrary JSON value."""
    key = draw(st.sampled_from(sorted(state)))
    value = draw(json_values)
    field = state[key]
    if isinstance(field, list) and field and draw(st.booleans()):
        i = draw(st.integers(0, len(field) - 1))
        if isinstance(field[i], list) and field[i] and draw(st.booleans()):
            field[i][draw(st.integers(0, len(field[i]) - 1))] = value
        else:
            field[i] = value
    elif isinstance(field, dict) and field and draw(st.booleans()):
        field[draw(st.text(max_size=3) | st.sampled_from(sorted(field)))] = value
    else:
        state[key] = value


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), which=st.sampled_from(["bpe", "char"]))
def test_any_edited_file_loads_soundly_or_is_a_format_error(data, which):
    tok: Tokenizer
    if which == "bpe":
        tok = BPETokenizer.train("ab ab abc", 259, special_tokens=["<s>"])
    else:
        tok = CharTokenizer.from_text("abc", special_tokens=["<s>"], unk_token="<unk>")
    state = tok.to_dict()
    for _ in range(data.draw(st.integers(1, 3))):
        _edit_somewhere(state, data.draw)
    try:
        back = Tokenizer.from_dict(json.loads(json.dumps(state)))
    except TokenizerFormatError:
        return
    # Whatever loads is a working tokenizer: every id decodes, and text round-trips.
    ids = list(range(back.vocab_size))
    assert isinstance(back.decode(ids), str)
    text = "ab abc<s>" if which == "bpe" else "".join(back.chars)  # type: ignore[attr-defined]
    assert back.decode(back.encode(text)) == text
    with pytest.raises(IndexError, match="out of range"):
        back.decode([back.vocab_size])
    with pytest.raises(IndexError, match="out of range"):
        back.decode([-1])
