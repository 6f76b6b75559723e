"""``Tokenizer.save`` is atomic, leaves at most one temporary file behind, and gives the mode
``open(path, "w")`` would."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap

import pytest

from tinytorch.tokenization import BPETokenizer, CharTokenizer, Tokenizer

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes and SIGKILL are POSIX")


class _FailsWhenWritten(list):  # type: ignore[type-arg]
    """A JSON array that raises while it is being written, after the file was started."""

    def __init__(self, seen: list[list[str]], directory: str) -> None:
        super().__init__([0])
        self.seen, self.directory = seen, directory

    def __iter__(self):
        self.seen.append(sorted(os.listdir(self.directory)))
        raise OSError(errno.ENOSPC, "No space left on device")


class _BrokenCharTokenizer(CharTokenizer):
    kind = ""  # left out of the registry: Tokenizer.load must still find CharTokenizer for "char"

    def __init__(self, base: CharTokenizer, extra: object) -> None:
        super().__init__(base.chars)
        self.extra = extra

    def to_dict(self):
        return {**super().to_dict(), "zz_extra": self.extra}


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _open_w_mode(path) -> int:
    with open(path, "w") as f:
        f.write("x")
    return _mode(path)


def test_a_failure_midway_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "tok.json"
    old = CharTokenizer.from_text("abc")
    old.save(path)
    before = path.read_bytes()
    seen: list[list[str]] = []
    broken = _BrokenCharTokenizer(CharTokenizer.from_text("xyz"), _FailsWhenWritten(seen, tmp_path))
    with pytest.raises(OSError, match="No space left"):
        broken.save(path)
    # The failure came while the temporary file existed, part written: truly midway.
    assert seen == [[".tok.json.tmp", "tok.json"]]
    assert os.listdir(tmp_path) == ["tok.json"]
    assert path.read_bytes() == before
    assert Tokenizer.load(path).encode("cab") == [2, 0, 1]


def test_a_failure_on_a_new_path_leaves_nothing(tmp_path):
    broken = _BrokenCharTokenizer(CharTokenizer.from_text("xyz"), object())
    with pytest.raises(TypeError, match="not JSON serializable"):
        broken.save(tmp_path / "new.json")
    assert os.listdir(tmp_path) == []


def test_repeated_kills_leave_one_leftover_that_the_next_save_removes(tmp_path):
    path = tmp_path / "tok.json"
    tok = BPETokenizer.train("low lower lowest newer wider", 270)
    tok.save(path)
    before = path.read_bytes()
    # What a SIGKILL midway leaves: the temporary file, partly written, under the fixed name.
    for i in range(5):
        (tmp_path / ".tok.json.tmp").write_bytes(b'{"format": "tinytorch-tok' + b"x" * i)
        assert sorted(os.listdir(tmp_path)) == [".tok.json.tmp", "tok.json"]
        assert path.read_bytes() == before
    CharTokenizer.from_text("abc").save(path)
    assert os.listdir(tmp_path) == ["tok.json"]
    assert Tokenizer.load(path).encode("cab") == [2, 0, 1]


@posix_only
def test_a_leftover_with_another_mode_does_not_pass_it_on(tmp_path):
    path = tmp_path / "tok.json"
    expected = _open_w_mode(tmp_path / "reference.txt")
    leftover = tmp_path / ".tok.json.tmp"
    leftover.write_bytes(b"partial")
    leftover.chmod(0o600 if expected != 0o600 else 0o640)
    CharTokenizer.from_text("abc").save(path)
    assert _mode(path) == expected
    assert not leftover.exists()


@posix_only
def test_a_link_planted_as_the_temporary_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / ".tok.json.tmp").symlink_to(victim)
    CharTokenizer.from_text("abc").save(tmp_path / "tok.json")
    assert victim.read_text() == "keep me"
    assert sorted(os.listdir(tmp_path)) == ["tok.json", "victim.txt"]


@posix_only
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_mode_open_w_gives(tmp_path, umask):
    old = os.umask(umask)
    try:
        expected = _open_w_mode(tmp_path / "reference.txt")
        CharTokenizer.from_text("abc").save(tmp_path / "tok.json")
    finally:
        os.umask(old)
    assert expected == 0o666 & ~umask
    assert _mode(tmp_path / "tok.json") == expected


@posix_only
def test_overwriting_keeps_the_files_mode_as_open_w_does(tmp_path):
    path = tmp_path / "tok.json"
    CharTokenizer.from_text("abc").save(path)
    path.chmod(0o640)
    CharTokenizer.from_text("xyz").save(path)
    assert _mode(path) == 0o640
    assert Tokenizer.load(path).encode("zyx") == [2, 1, 0]


def test_the_bytes_are_the_json_text_encoded(tmp_path):
    tok = CharTokenizer.from_text("ab\ud800🙂", unk_token="<unk>")
    path = tmp_path / "char.json"
    tok.save(path)
    text = json.dumps(tok.to_dict(), ensure_ascii=False, indent=1)
    assert path.read_bytes() == text.encode("utf-8", errors="backslashreplace")


_KILLED_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from tinytorch.tokenization import CharTokenizer

    class Killed(list):
        def __iter__(self):
            os.kill(os.getpid(), signal.SIGKILL)
            return iter(())

    class Tok(CharTokenizer):
        kind = ""

        def to_dict(self):
            return {**super().to_dict(), "zz": Killed([0])}

    Tok(CharTokenizer.from_text("xyz").chars).save(sys.argv[1])
    """
)


@posix_only
def test_real_sigkills_midway_do_not_accumulate_files(tmp_path):
    path = tmp_path / "tok.json"
    CharTokenizer.from_text("abc").save(path)
    before = path.read_bytes()
    for _ in range(3):
        child = subprocess.run(
            [sys.executable, "-c", _KILLED_CHILD, str(path)], capture_output=True, timeout=60
        )
        assert child.returncode == -signal.SIGKILL, child.stderr.decode()
        assert sorted(os.listdir(tmp_path)) == [".tok.json.tmp", "tok.json"]
        assert path.read_bytes() == before
    CharTokenizer.from_text("xyz").save(path)
    assert os.listdir(tmp_path) == ["tok.json"]
    assert Tokenizer.load(path).encode("zyx") == [2, 1, 0]
