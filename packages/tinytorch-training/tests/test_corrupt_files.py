"""Every corrupt or crafted file is a CheckpointError with the reason, never a raw exception,
and no member can make the reader allocate more than the file holds; killed saves leave no
debris behind."""

import io
import json
import os
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from tinytorch.training import CheckpointError, load, load_arrays, load_checkpoint, save
from tinytorch.training.checkpoint import MANIFEST, atomic_write, save_arrays, temp_path


def npy(array=None, *, header=None, data=b""):
    """The bytes of a .npy member: of ``array``, or of a hand-written ``header`` dict."""
    buf = io.BytesIO()
    if header is None:
        np.lib.format.write_array(buf, array, allow_pickle=False)
    else:
        np.lib.format.write_array_header_1_0(buf, header)
        buf.write(data)
    return buf.getvalue()


def manifest_npy(manifest):
    raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    return npy(np.frombuffer(raw, dtype=np.uint8))


def build(path, members, compression=zipfile.ZIP_STORED):
    """An archive of ``members`` ({filename: bytes}), in order."""
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def good_members(tmp_path):
    path = tmp_path / "good.npz"
    save_arrays(path, {"w": np.arange(4.0)}, {"step": 1})
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def good_manifest(tmp_path):
    members = good_members(tmp_path)
    raw = np.load(io.BytesIO(members[MANIFEST + ".npy"]))
    return members, json.loads(raw.tobytes())


def set_compression(path, method):
    """Rewrite the compression field of every member, in local and central headers alike."""
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        start = 0
        while (at := data.find(signature, start)) != -1:
            data[at + offset : at + offset + 2] = struct.pack("<H", method)
            start = at + 4
    path.write_bytes(bytes(data))


def case_unknown_compression(tmp_path, path):
    build(path, good_members(tmp_path))
    set_compression(path, 99)  # zipfile raises NotImplementedError when reading such a member
    return "zip compression method 99"


def case_deflated(tmp_path, path):
    build(path, good_members(tmp_path), compression=zipfile.ZIP_DEFLATED)
    return "zip compression method 8; checkpoints are stored uncompressed"


def case_manifest_is_a_list(tmp_path, path):
    members = good_members(tmp_path)
    members[MANIFEST + ".npy"] = manifest_npy([1, 2, 3])
    build(path, members)
    return "the manifest is a JSON list, not an object"


@pytest.mark.parametrize("field", ["arrays", "metadata", "sha256"])
def test_a_manifest_missing_a_field_is_refused(tmp_path, field):
    members, manifest = good_manifest(tmp_path)
    del manifest[field]
    members[MANIFEST + ".npy"] = manifest_npy(manifest)
    build(tmp_path / "m.npz", members)
    with pytest.raises(CheckpointError, match=f"the manifest has no '{field}' field"):
        load_arrays(tmp_path / "m.npz")


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"not": "a list"}, "'arrays' is not a list"),
        ([["w", "<f8"]], r"is not \[name, dtype, shape\]"),
        ([["w", "<f8", [4.0]]], r"is not \[name, dtype, shape\]"),
        ([["w", "<f8", [4]], ["w", "<f8", [4]]], "lists 'w' twice"),
    ],
)
def test_a_malformed_array_listing_is_refused(tmp_path, arrays, message):
    members, manifest = good_manifest(tmp_path)
    manifest["arrays"] = arrays
    members[MANIFEST + ".npy"] = manifest_npy(manifest)
    build(tmp_path / "m.npz", members)
    with pytest.raises(CheckpointError, match=message):
        load_arrays(tmp_path / "m.npz")


def case_huge_declared_shape(tmp_path, path):
    members = good_members(tmp_path)
    header = {"descr": "<f8", "fortran_order": False, "shape": (2**37,)}
    members["w.npy"] = npy(header=header, data=b"\0" * 32)
    build(path, members)
    return r"declares <f8\(137438953472,\) \(1099511627776 bytes\) but holds 32 bytes"


def case_short_member(tmp_path, path):
    members = good_members(tmp_path)
    header = {"descr": "<f8", "fortran_order": False, "shape": (4,)}
    members["w.npy"] = npy(header=header, data=b"\0" * 31)
    build(path, members)
    return r"\(32 bytes\) but holds 31 bytes"


def case_negative_shape(tmp_path, path):
    members = good_members(tmp_path)
    header = {"descr": "<f8", "fortran_order": False, "shape": (-4,)}
    members["w.npy"] = npy(header=header, data=b"")
    build(path, members)
    return "truncated or corrupt"


def case_object_dtype(tmp_path, path):
    members = good_members(tmp_path)
    header = {"descr": "|O", "fortran_order": False, "shape": (1,)}
    members["w.npy"] = npy(header=header, data=b"\0" * 8)
    build(path, members)
    return "holds Python objects, which need pickle"


def case_not_utf8(tmp_path, path):
    members = good_members(tmp_path)
    members[MANIFEST + ".npy"] = manifest_npy(b"\xff\xfe{}")
    build(path, members)
    return "UnicodeDecodeError"


def case_not_json(tmp_path, path):
    members = good_members(tmp_path)
    members[MANIFEST + ".npy"] = manifest_npy(b'{"format": ')
    build(path, members)
    return "JSONDecodeError"


def case_deeply_nested_json(tmp_path, path):
    members = good_members(tmp_path)
    members[MANIFEST + ".npy"] = manifest_npy(b"[" * 100_000 + b"]" * 100_000)
    build(path, members)
    return "RecursionError"


def case_not_a_zip(tmp_path, path):
    path.write_bytes(b"PK\x05\x06" + os.urandom(200))
    return "BadZipFile"


def case_bad_magic(tmp_path, path):
    members = good_members(tmp_path)
    members["w.npy"] = b"\x93NUMPX" + members["w.npy"][6:]
    build(path, members)
    return "truncated or corrupt"


def case_npy_version_3(tmp_path, path):
    members = good_members(tmp_path)
    members["w.npy"] = b"\x93NUMPY\x03\x00" + members["w.npy"][8:]
    build(path, members)
    return r"\.npy format version \(3, 0\)"


def case_duplicate_member(tmp_path, path):
    members = good_members(tmp_path)
    build(path, members)
    with zipfile.ZipFile(path, "a") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        zf.writestr("w.npy", members["w.npy"])
    return "member 'w.npy' appears twice"


def case_not_npy(tmp_path, path):
    members = good_members(tmp_path)
    members["readme.txt"] = b"hello"
    build(path, members)
    return "member 'readme.txt' is not a .npy array"


def case_manifest_not_bytes(tmp_path, path):
    members = good_members(tmp_path)
    members[MANIFEST + ".npy"] = npy(np.zeros(3))
    build(path, members)
    return r"the manifest is <f8\(3,\), not bytes"


def case_encrypted_flag(tmp_path, path):
    build(path, good_members(tmp_path))
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (at := data.find(signature, start)) != -1:
            data[at + offset] |= 0x1
            start = at + 4
    path.write_bytes(bytes(data))
    return "is encrypted"


CASES = [
    case_unknown_compression,
    case_deflated,
    case_manifest_is_a_list,
    case_huge_declared_shape,
    case_short_member,
    case_negative_shape,
    case_object_dtype,
    case_not_utf8,
    case_not_json,
    case_deeply_nested_json,
    case_not_a_zip,
    case_bad_magic,
    case_npy_version_3,
    case_duplicate_member,
    case_not_npy,
    case_manifest_not_bytes,
    case_encrypted_flag,
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__[5:] for c in CASES])
def test_a_crafted_file_is_a_checkpoint_error_with_the_reason(tmp_path, case):
    path = tmp_path / "crafted.npz"
    message = case(tmp_path, path)
    # pytest.raises lets any other exception type through: a raw error fails the test
    with pytest.raises(CheckpointError, match=message):
        load_arrays(path)
    # and every reader built on load_arrays says the same
    with pytest.raises(CheckpointError):
        load(path)
    with pytest.raises(CheckpointError):
        load_checkpoint(path, None)  # type: ignore[arg-type]


def test_sizes_are_checked_before_allocation(tmp_path):
    """A 1 KB file declaring a terabyte is refused on its header, not by running out of memory:
    the reader allocates no more than the member's bytes on disk."""
    path = tmp_path / "huge.npz"
    message = case_huge_declared_shape(tmp_path, path)
    assert path.stat().st_size < 2000
    with pytest.raises(CheckpointError, match=message) as info:
        load_arrays(path)
    assert not isinstance(info.value.__cause__, MemoryError)


# ---- saves that fail or are killed midway ----------------------------------------------------
def test_a_write_that_fails_midway_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "a.npz"
    save_arrays(path, {"w": np.ones(3)}, {"v": 1})
    before = path.read_bytes()

    def failing_writer(f):
        f.write(b"half of a new checkpoint")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, failing_writer)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["a.npz"]
    assert load_arrays(path)[1] == {"v": 1}


KILLED_SAVE = """
import os, sys
from tinytorch.training.checkpoint import atomic_write

def writer(f):
    f.write(b"partial")
    f.flush()
    os._exit(9)  # as a SIGKILL would: no cleanup runs

atomic_write(sys.argv[1], writer)
"""


def test_killed_saves_leave_at_most_one_temp_file_which_the_next_save_reuses(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"v": 1}, path)
    before = path.read_bytes()
    for _ in range(3):
        result = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(path)], check=False)
        assert result.returncode == 9
    # three killed saves: the old checkpoint is intact, and one temp file is all that is left
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == sorted(["ckpt.npz", os.path.basename(temp_path(path))])
    save({"v": 2}, path)
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    assert load(path) == {"v": 2}


def test_a_link_planted_at_the_temp_name_is_not_followed(tmp_path):
    path = tmp_path / "ckpt.npz"
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep me")
    os.symlink(victim, temp_path(path))
    save({"v": 1}, path)  # the link is removed, never written through
    assert victim.read_bytes() == b"keep me"
    assert load(path) == {"v": 1}
    assert not os.path.lexists(temp_path(path))
