"""Every corrupt or crafted file, of format version 2 or 1, is a CheckpointError with the
reason, never a raw exception, and nothing in a file can make the reader allocate more than the
file holds; killed saves leave no debris behind."""

import io
import json
import math
import os
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from tinytorch.training import CheckpointError, load, load_arrays, load_checkpoint, save
from tinytorch.training.checkpoint import (
    DATA,
    FORMAT,
    MANIFEST,
    MANIFEST_JSON,
    _canonical_json,
    _digest,
    atomic_write,
    save_arrays,
    temp_path,
)


def save_arrays_v1(path, arrays, metadata=None):
    """save_arrays as tinytorch-training 0.2.2 wrote it (format version 1: NumPy's .npz, one
    .npy member per array and one for the manifest), kept to build version-1 files."""
    meta_json = _canonical_json(dict(metadata or {}))
    manifest = {
        "format": FORMAT,
        "version": 1,
        "arrays": [[name, a.dtype.str, list(a.shape)] for name, a in arrays.items()],
        "metadata": json.loads(meta_json),
        "sha256": _digest(arrays, meta_json),
    }
    raw = np.frombuffer(_canonical_json(manifest).encode("utf-8"), dtype=np.uint8)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, array in [*arrays.items(), (MANIFEST, raw)]:
            with zf.open(name + ".npy", "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, array, allow_pickle=False)


def test_the_version_1_writer_here_writes_what_loads(tmp_path):
    arrays = {"w": np.arange(4.0), "f": np.asfortranarray(np.arange(6.0).reshape(2, 3))}
    save_arrays_v1(tmp_path / "v1.npz", arrays, {"step": 1})
    loaded, meta = load_arrays(tmp_path / "v1.npz")
    assert meta == {"step": 1}
    assert loaded["w"].tobytes() == arrays["w"].tobytes()
    np.testing.assert_array_equal(loaded["f"], arrays["f"])
    assert loaded["f"].flags.f_contiguous  # version 1 kept the memory order


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


def good_members(tmp_path, version=1):
    path = tmp_path / "good.npz"
    writer = save_arrays_v1 if version == 1 else save_arrays
    writer(path, {"w": np.arange(4.0)}, {"step": 1})
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


# ---- the zip container, either version ------------------------------------------------------
def zip_unknown_compression(tmp_path, path, version):
    build(path, good_members(tmp_path, version))
    set_compression(path, 99)  # zipfile raises NotImplementedError when reading such a member
    return "zip compression method 99"


def zip_deflated(tmp_path, path, version):
    build(path, good_members(tmp_path, version), compression=zipfile.ZIP_DEFLATED)
    return "zip compression method 8; checkpoints are stored uncompressed"


def zip_duplicate_member(tmp_path, path, version):
    members = good_members(tmp_path, version)
    build(path, members)
    name = next(iter(members))
    with zipfile.ZipFile(path, "a") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        zf.writestr(name, members[name])
    return f"member '{name}' appears twice"


def zip_encrypted_flag(tmp_path, path, version):
    build(path, good_members(tmp_path, version))
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (at := data.find(signature, start)) != -1:
            data[at + offset] |= 0x1
            start = at + 4
    path.write_bytes(bytes(data))
    return "is encrypted"


def zip_member_larger_than_the_file(tmp_path, path, version):
    build(path, good_members(tmp_path, version))
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")  # the first central entry's sizes
    data[at + 20 : at + 28] = struct.pack("<II", 2**31, 2**31)
    path.write_bytes(bytes(data))
    return "declares 2147483648 bytes, more than the file's"


ZIP_CASES = [
    zip_unknown_compression,
    zip_deflated,
    zip_duplicate_member,
    zip_encrypted_flag,
    zip_member_larger_than_the_file,
]


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("case", ZIP_CASES, ids=[c.__name__[4:] for c in ZIP_CASES])
def test_a_crafted_zip_is_refused_in_either_version(tmp_path, case, version):
    path = tmp_path / "crafted.npz"
    message = case(tmp_path, path, version)
    with pytest.raises(CheckpointError, match=message):
        load_arrays(path)


# ---- format version 2: one data member and a JSON manifest ------------------------------------
def build_v2(path, listing, data, *, manifest=None, metadata=None):
    """A version-2 archive of ``data`` and the manifest ``listing`` describes (with a correct
    digest when the listing can be read); ``manifest`` (bytes) replaces it outright."""
    if manifest is None:
        meta_json = _canonical_json(metadata or {})
        try:
            arrays = {
                name: np.frombuffer(data, dtype, math.prod(shape), offset).reshape(shape)
                for name, dtype, shape, offset in listing
            }
            digest = _digest(arrays, meta_json)
        except (TypeError, ValueError):
            digest = "0" * 64
        manifest = _canonical_json({
            "format": FORMAT, "version": 2, "arrays": listing,
            "metadata": json.loads(meta_json), "sha256": digest,
        }).encode()  # fmt: skip
    build(path, {DATA: data, MANIFEST_JSON: manifest})


def good_v2():
    listing = [["a", "|i1", [3], 0], ["b", "<f8", [2], 8]]
    data = b"\x01\x02\x03" + bytes(5) + np.array([1.5, -2.0]).tobytes()
    return listing, data


def test_the_hand_built_version_2_file_loads(tmp_path):
    listing, data = good_v2()
    build_v2(tmp_path / "ok.npz", listing, data, metadata={"k": 1})
    arrays, meta = load_arrays(tmp_path / "ok.npz")
    assert arrays["a"].tolist() == [1, 2, 3]
    assert arrays["b"].tolist() == [1.5, -2.0]
    assert meta == {"k": 1}
    # each array is its own writable memory, not a view of another's
    arrays["a"][0] = 9
    assert arrays["b"].tolist() == [1.5, -2.0]


def v2_past_the_end(listing, data):
    listing[1][2] = [3]
    return listing, data, r"array 'b' \(<f8\(3,\), bytes 8 to 32\) runs past the end of the 24"


def v2_huge_shape(listing, data):
    listing[1][2] = [2**37]
    return listing, data, r"bytes 8 to 1099511627784\) runs past the end of the 24 bytes"


def v2_truncated_data(listing, data):
    return listing, data[:20], "runs past the end of the 20 bytes of data"


def v2_overlapping(listing, data):
    listing[1][3] = 0
    listing[1][2] = [1]
    return listing, data, r"array 'b' .* overlaps 'a', which ends at byte 3"


def v2_gap(listing, data):
    listing[1][3] = 16
    return listing, data + bytes(8), r"array 'b' .* should start at byte 8, the first 8-aligned"


def v2_misaligned(listing, data):
    listing[1][3] = 4
    return listing, data[:4] + data[8:] + bytes(4), "should start at byte 8"


def v2_trailing_bytes(listing, data):
    return listing, data + b"hidden", "the data holds 30 bytes, its arrays 24"


def v2_nonzero_padding(listing, data):
    return listing, data[:3] + b"\xff" + data[4:], "the padding before array 'b' is not zero"


def v2_object_dtype(listing, data):
    listing[1][1] = "|O"
    return listing, data, r"array 'b' has the dtype '\|O', not a plain one"


def v2_structured_dtype(listing, data):
    listing[1][1] = "<i4,<i4"
    return listing, data, "has the dtype '<i4,<i4', not a plain one"


def v2_unknown_dtype(listing, data):
    listing[1][1] = "<q9"
    return listing, data, "has the dtype '<q9', not a plain one"


def v2_no_offset(listing, data):
    del listing[1][3]
    return listing, data, r"is not \[name, dtype, shape, offset\]"


def v2_negative_offset(listing, data):
    listing[1][3] = -8
    return listing, data, r"is not \[name, dtype, shape, offset\]"


def v2_bool_offset(listing, data):
    listing[0][3] = False
    return listing, data, r"is not \[name, dtype, shape, offset\]"


def v2_negative_shape(listing, data):
    listing[1][2] = [-2]
    return listing, data, r"is not \[name, dtype, shape, offset\]"


def v2_listed_twice(listing, data):
    listing[1][0] = "a"
    return listing, data, "the manifest lists 'a' twice"


V2_CASES = [
    v2_past_the_end,
    v2_huge_shape,
    v2_truncated_data,
    v2_overlapping,
    v2_gap,
    v2_misaligned,
    v2_trailing_bytes,
    v2_nonzero_padding,
    v2_object_dtype,
    v2_structured_dtype,
    v2_unknown_dtype,
    v2_no_offset,
    v2_negative_offset,
    v2_bool_offset,
    v2_negative_shape,
    v2_listed_twice,
]


@pytest.mark.parametrize("case", V2_CASES, ids=[c.__name__[3:] for c in V2_CASES])
def test_a_crafted_version_2_layout_is_refused_with_the_reason(tmp_path, case):
    listing, data, message = case(*good_v2())
    path = tmp_path / "crafted.npz"
    build_v2(path, listing, data)
    with pytest.raises(CheckpointError, match=message) as info:
        load_arrays(path)
    assert not isinstance(info.value.__cause__, MemoryError)
    with pytest.raises(CheckpointError):
        load(path)


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (b'{"format": ', "JSONDecodeError"),
        (b"\xff\xfe\x00{", "truncated or corrupt"),
        (b"[1, 2]", "the manifest is a JSON list, not an object"),
        (b"[" * 100_000 + b"]" * 100_000, "RecursionError"),
        (b'{"format": "other"}', "unknown format 'other'"),
        (
            b'{"format": "tinytorch-arrays", "version": 1, "arrays": [], "metadata": {}, '
            b'"sha256": ""}',
            "the manifest says format version 1, the archive has version 2's layout",
        ),
        (b'{"format": "tinytorch-arrays", "version": 2}', "the manifest has no 'arrays' field"),
        (b'{"format": "tinytorch-arrays", "version": true}', "format version True; this reader"),
    ],
)
def test_a_version_2_manifest_that_is_not_one_is_refused(tmp_path, manifest, message):
    listing, data = good_v2()
    build_v2(tmp_path / "m.npz", listing, data, manifest=manifest)
    with pytest.raises(CheckpointError, match=message):
        load_arrays(tmp_path / "m.npz")


def test_a_version_2_digest_mismatch_is_refused(tmp_path):
    listing, data = good_v2()
    build_v2(tmp_path / "ok.npz", listing, data)
    with zipfile.ZipFile(tmp_path / "ok.npz") as zf:
        manifest = zf.read(MANIFEST_JSON)
    build(tmp_path / "edited.npz", {DATA: data[:-1] + b"\x00", MANIFEST_JSON: manifest})
    with pytest.raises(CheckpointError, match="SHA-256 mismatch"):
        load_arrays(tmp_path / "edited.npz")


@pytest.mark.parametrize(
    "members", [[DATA], [MANIFEST_JSON], [DATA, MANIFEST_JSON, "w.npy"], [MANIFEST_JSON, "x"]]
)
def test_a_version_2_archive_needs_exactly_its_two_members(tmp_path, members):
    listing, data = good_v2()
    build_v2(tmp_path / "ok.npz", listing, data)
    with zipfile.ZipFile(tmp_path / "ok.npz") as zf:
        good = {name: zf.read(name) for name in (DATA, MANIFEST_JSON)}
    build(tmp_path / "m.npz", {name: good.get(name, b"") for name in members})
    with pytest.raises(CheckpointError, match="the members are"):
        load_arrays(tmp_path / "m.npz")


# ---- format version 1: .npy members -----------------------------------------------------------


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


def case_v2_in_a_v1_layout(tmp_path, path):
    members, manifest = good_manifest(tmp_path)
    manifest["version"] = 2
    members[MANIFEST + ".npy"] = manifest_npy(manifest)
    build(path, members)
    return "the manifest says format version 2, the archive has version 1's layout"


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


CASES = [
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
    case_not_npy,
    case_manifest_not_bytes,
    case_v2_in_a_v1_layout,
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__[5:] for c in CASES])
def test_a_crafted_version_1_file_is_a_checkpoint_error_with_the_reason(tmp_path, case):
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
