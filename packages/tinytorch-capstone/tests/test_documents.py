"""Bad input gets a clear error naming the field; the schema ships with the package; the
validator agrees with ``jsonschema``; documents are written all or nothing."""

from __future__ import annotations

import copy
import json
import os
from importlib import resources
from pathlib import Path

import pytest

from tinytorch.capstone import SubmissionError, load_document, load_schema
from tinytorch.capstone.__main__ import main
from tinytorch.capstone.submission import write_document
from tinytorch.capstone.validate import errors
from tinytorch.training.checkpoint import temp_path


@pytest.fixture
def document(make) -> dict:
    return make("memory-challenge", "closed", [("quantize", {})]).document


def write(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(doc))
    return path


def message(path: Path) -> str:
    with pytest.raises(SubmissionError) as info:
        load_document(path)
    return str(info.value)


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"schema": ')
    assert f"{path}: not JSON" in message(path)
    assert main(["verify", str(path)]) == 2


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(b"\xff\xfe\x00")
    assert "not JSON" in message(path)


def test_not_an_object(tmp_path: Path) -> None:
    assert "(root): expected object, got array" in message(write(tmp_path, [1, 2]))


def test_missing_fields(document, tmp_path: Path) -> None:
    doc = copy.deepcopy(document)
    del doc["metrics"]["optimized"]["accuracy"]
    del doc["weights"]
    text = message(write(tmp_path, doc))
    assert "weights: missing (required)" in text
    assert "metrics.optimized.accuracy: missing (required for a lenet submission)" not in text
    doc["weights"] = document["weights"]
    text = message(write(tmp_path, doc))
    assert "metrics.optimized.accuracy: missing (required for a lenet submission)" in text


def test_wrong_types(document, tmp_path: Path) -> None:
    doc = copy.deepcopy(document)
    doc["metrics"]["optimized"]["accuracy"] = "0.99"
    doc["metrics"]["baseline"]["held_bytes"] = 1.5
    doc["quick"] = "no"
    text = message(write(tmp_path, doc))
    assert "metrics.optimized.accuracy: expected number, got string" in text
    assert "metrics.baseline.held_bytes: expected integer, got number" in text
    assert "quick: expected boolean, got string" in text
    assert main(["verify", str(tmp_path / "doc.json")]) == 2


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("event", "marathon", "event: unknown value 'marathon'; expected one of 'latency-sprint'"),
        ("division", "premier", "division: unknown value 'premier'; expected one of 'closed'"),
        ("schema", "submission-0", "schema: must be 'tinytorch-capstone/submission-1'"),
    ],
)
def test_unknown_event_division_schema(document, tmp_path, field, value, expected) -> None:
    doc = {**document, field: value}
    assert expected in message(write(tmp_path, doc))


def test_unknown_field_and_bad_hash(document, tmp_path: Path) -> None:
    doc = copy.deepcopy(document)
    doc["bonus"] = 1
    doc["weights"]["optimized"]["sha256"] = "abc"
    text = message(write(tmp_path, doc))
    assert "bonus: unknown field" in text
    assert "weights.optimized.sha256: 'abc' does not match the pattern" in text


def test_a_weights_file_outside_the_folder_is_refused(document, tmp_path: Path) -> None:
    doc = copy.deepcopy(document)
    doc["weights"]["optimized"]["file"] = "../elsewhere.npz"
    assert "weights.optimized.file: '../elsewhere.npz' does not match" in message(
        write(tmp_path, doc)
    )


def test_the_document_fits_the_published_schema(document) -> None:
    assert errors(load_schema(), document) == []
    assert document["schema"] == "tinytorch-capstone/submission-1"
    for name in ("environment", "reproduce", "timestamps", "units", "score"):
        assert document[name]
    assert document["reproduce"][0].startswith("python -m tinytorch.capstone submit")
    assert document["reproduce"][1].startswith("python -m tinytorch.capstone verify")


def test_the_schema_ships_inside_the_package() -> None:
    # The wheel holds everything under src/tinytorch (hatch's `packages`), this file included.
    file = resources.files("tinytorch.capstone").joinpath("schema/submission-1.schema.json")
    assert file.is_file()
    assert json.loads(file.read_text())["$id"].endswith("submission-1.schema.json")


def test_the_validator_refuses_keywords_it_does_not_check() -> None:
    with pytest.raises(ValueError, match="unsupported keyword oneOf"):
        errors({"oneOf": [{"type": "string"}]}, "x")


def test_validator_keywords() -> None:
    schema = {
        "type": "object",
        "required": ["n", "s"],
        "additionalProperties": {"type": "integer"},
        "properties": {
            "n": {"type": ["number", "null"], "minimum": 0},
            "s": {"type": "string", "pattern": "^a"},
            "c": {"const": 3},
            "l": {"type": "array", "items": {"$ref": "#/$defs/pos"}},
        },
        "$defs": {"pos": {"type": "integer", "minimum": 1}},
    }
    assert errors(schema, {"n": None, "s": "ab", "c": 3, "l": [1, 2], "x": 4}) == []
    assert errors(schema, {"n": -1, "s": "b", "c": 4, "l": [0, "q"], "x": "y"}) == [
        "n: -1 is below the minimum 0",
        "s: 'b' does not match the pattern '^a'",
        "c: must be 3, got 4",
        "l[0]: 0 is below the minimum 1",
        "l[1]: expected integer, got string",
        "x: expected integer, got string",
    ]
    assert errors(schema, {}) == ["n: missing (required)", "s: missing (required)"]
    assert errors({"type": "integer"}, True) == ["(root): expected integer, got boolean"]


def test_the_validator_agrees_with_jsonschema(document) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = load_schema()
    bad_type = copy.deepcopy(document)
    bad_type["metrics"]["optimized"]["accuracy"] = "high"
    missing = copy.deepcopy(document)
    del missing["data"]
    cases = [
        document,
        bad_type,
        missing,
        {**document, "event": "marathon"},
        {**document, "extra": 1},
        {**document, "techniques": [{"name": "prune"}]},
    ]
    for doc in cases:
        ours = errors(schema, doc) == []
        theirs = jsonschema.Draft202012Validator(schema).is_valid(doc)
        assert ours == theirs, doc


def test_a_failed_write_leaves_no_half_file(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    with pytest.raises(ValueError, match="Out of range float values"):
        write_document(path, {"a": [1, 2, 3], "b": float("nan")})
    assert not path.exists()
    assert not os.path.exists(temp_path(path))
    write_document(path, {"a": 1})
    with pytest.raises(TypeError):
        write_document(path, {"a": 2, "b": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert not os.path.exists(temp_path(path))
