"""The leaderboard ranks the accepted submissions per event and lists the refused ones; the
command line's exit codes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tinytorch.capstone import leaderboard
from tinytorch.capstone.__main__ import main

LOOSE = 99.0  # see conftest


def test_ranks_accepted_and_lists_refused(make, copy_submission, edit, tmp_path: Path) -> None:
    board_dir = tmp_path / "board"
    # The quick reference (3 epochs) is weak: a quarter pruned, 2 epochs of fine-tune keep it.
    pruned = ("prune", {"amount": 0.25, "epochs": 2})
    small = make("memory-challenge", "closed", [pruned, ("quantize", {})], out=board_dir)
    int8 = make("memory-challenge", "closed", [("quantize", {})], out=board_dir)
    # An edited copy under another name: refused, named, not ranked.
    cheat = copy_submission(int8.path, tmp_path / "cheat")
    edit(cheat, lambda d: d["metrics"]["optimized"].update(held_bytes=1))
    cheat.rename(board_dir / "cheat.json")
    (board_dir / "notes.json").write_text("not json")

    board = leaderboard(board_dir, latency_tolerance=LOOSE)
    ((key, reports),) = board.ranked.items()
    assert key == ("memory-challenge", "lenet", "closed")
    assert [r.path.name for r in reports] == [small.path.name, int8.path.name]  # fewer bytes 1st
    refused = dict(board.refused)
    assert set(refused) == {"cheat.json", "notes.json"}
    assert "metrics.optimized.held_bytes" in refused["cheat.json"]
    assert "not JSON" in refused["notes.json"]

    md = board.markdown.read_text()
    assert "## Memory challenge: lenet, closed division (by held_bytes, min)" in md
    assert md.index(small.path.name) < md.index(int8.path.name) < md.index("## Refused")
    held = f"{small.document['metrics']['optimized']['held_bytes']:,}"
    assert f"| 1 | {small.path.name} | prune, quantize | {held} |" in md
    page = board.html.read_text()
    body = page[page.index("<body>") : page.index("</body>") + len("</body>")]
    tables = ET.fromstring(body).findall("table")
    assert len(tables) == 2  # the ranking and the refused
    assert [td.text for td in tables[0].findall("tr")[1].findall("td")][:3] == [
        "1",
        small.path.name,
        "prune, quantize",
    ]


def test_the_command_line(make, tmp_path: Path, capsys) -> None:
    s = make("memory-challenge", "closed", [("quantize", {})], out=tmp_path / "cli")
    assert main(["leaderboard", str(tmp_path / "cli"), "--latency-tolerance", str(LOOSE)]) == 0
    assert "memory-challenge.closed.lenet.quantize.json" in capsys.readouterr().out
    assert (tmp_path / "cli" / "leaderboard.html").is_file()
    assert main(["leaderboard", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert s.path.is_file()


@pytest.mark.parametrize(
    ("techniques", "expected"),
    [
        ("prune,warp", "unknown technique 'warp' for lenet"),
        ("prune:amount", "expected key=value"),
        ("prune:speed=2", "prune: unknown parameter 'speed'"),
        ("kv-cache", "unknown technique 'kv-cache' for lenet"),
    ],
)
def test_submit_refuses_bad_techniques(tmp_path: Path, capsys, techniques, expected) -> None:
    argv = ["submit", "--event", "latency-sprint", "--division", "closed", "--model", "lenet",
            "--techniques", techniques, "--out", str(tmp_path), "--quick"]  # fmt: skip
    assert main(argv) == 2
    assert expected in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing written


def test_submit_refuses_an_unknown_event(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["submit", "--event", "marathon", "--division", "closed", "--model", "lenet"])
    assert info.value.code == 2
    assert "invalid choice: 'marathon'" in capsys.readouterr().err


def test_techniques_in_a_wrong_order_are_refused(make) -> None:
    from tinytorch.capstone.techniques import TechniqueError

    with pytest.raises(TechniqueError, match="prune: needs the float model; apply it before"):
        make("memory-challenge", "closed", [("quantize", {}), ("prune", {})])
