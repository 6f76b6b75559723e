import gzip
import io
import math
import struct

import numpy as np
import pytest

import tinytorch.dataloader.files as files_module
from tinytorch.dataloader import (
    MNIST_SHA256,
    DataFileError,
    download_mnist,
    mnist,
    parse_idx,
    read_idx,
    read_manifest,
    write_manifest,
)
from tinytorch.dataloader.files import sha256_bytes


def idx_bytes(array: np.ndarray) -> bytes:
    codes = {np.uint8: 0x08, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D}
    code = codes[array.dtype.type]
    head = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return head + array.astype(array.dtype.newbyteorder(">")).tobytes()


def make_split(root, prefix="train", n=5, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    hashes = {}
    for stem, arr in (
        (f"{prefix}-images-idx3-ubyte", images),
        (f"{prefix}-labels-idx1-ubyte", labels),
    ):
        data = idx_bytes(arr)
        name = stem + (".gz" if gz else "")
        blob = gzip.compress(data) if gz else data
        (root / name).write_bytes(blob)
        hashes[name] = sha256_bytes(blob)
    return images, labels, hashes


def test_parse_idx_round_trips_every_dtype():
    for arr in (
        np.arange(12, dtype=np.uint8).reshape(3, 4),
        np.array([-3, 500], dtype=np.int16),
        np.array([[1 << 20]], dtype=np.int32),
        np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3),
    ):
        out = parse_idx(idx_bytes(arr))
        np.testing.assert_array_equal(out, arr)
        assert out.dtype == arr.dtype
        assert out.dtype.isnative
    np.testing.assert_array_equal(parse_idx(gzip.compress(idx_bytes(arr))), arr)


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (b"\x00\x00\x08", "too short"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "bad magic number 0x01000801"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "bad magic"),
        (b"\x00\x00\x08\x02\x00\x00\x00\x01", "truncated inside its header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x03\x05\x06", r"size mismatch: .*\(3,\).*3 bytes.*holds 2"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x05\x06", "size mismatch"),
    ],
)
def test_parse_idx_refuses_malformed_files(blob, reason):
    with pytest.raises(DataFileError, match=reason):
        parse_idx(blob)


def test_truncated_gzip_is_refused():
    blob = gzip.compress(idx_bytes(np.zeros((50, 28, 28), np.uint8)))
    with pytest.raises(DataFileError, match="truncated or corrupt gzip"):
        parse_idx(blob[: len(blob) // 2])


def test_mnist_loads_with_a_checksum_mapping(tmp_path):
    images, labels, hashes = make_split(tmp_path)
    ds = mnist("train", root=tmp_path, verify=hashes)
    x, y = ds.tensors
    assert x.shape == (5, 1, 28, 28)
    assert x.dtype == np.float32
    np.testing.assert_allclose(x.data[:, 0] * 255, images, atol=1e-4)
    np.testing.assert_array_equal(y.data, labels)
    assert y.dtype == np.int64


def test_official_names_are_held_to_the_published_hashes(tmp_path):
    make_split(tmp_path, "t10k")
    with pytest.raises(DataFileError, match="checksum mismatch") as err:
        mnist("test", root=tmp_path)
    assert MNIST_SHA256["t10k-images-idx3-ubyte.gz"] in str(err.value)
    # Without verification the structure is still checked, and the synthetic files load.
    assert len(mnist("test", root=tmp_path, verify=False)) == 5


def test_a_wrong_hash_in_the_mapping_is_refused(tmp_path):
    _, _, hashes = make_split(tmp_path)
    hashes["train-labels-idx1-ubyte.gz"] = "ab" * 32
    with pytest.raises(DataFileError, match=r"checksum mismatch for .*train-labels"):
        mnist(root=tmp_path, verify=hashes)
    with pytest.raises(DataFileError, match=r"no entry for 'train-images-idx3-ubyte\.gz'"):
        mnist(root=tmp_path, verify={})


def test_decompressed_files_use_the_manifest(tmp_path):
    make_split(tmp_path, gz=False)
    with pytest.raises(DataFileError, match="no checksum is known"):
        mnist(root=tmp_path)
    write_manifest(tmp_path, ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"])
    assert len(mnist(root=tmp_path)) == 5
    # Corrupting a byte after the manifest was written is caught.
    path = tmp_path / "train-images-idx3-ubyte"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataFileError, match="checksum mismatch"):
        mnist(root=tmp_path)
    assert read_idx(path).shape == (5, 28, 28)


def test_inconsistent_files_are_refused(tmp_path):
    make_split(tmp_path, n=5)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(np.zeros(4, np.uint8)))
    )
    with pytest.raises(DataFileError, match=r"5 images .* but 4 labels"):
        mnist(root=tmp_path, verify=False)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(np.full(5, 12, np.uint8)))
    )
    with pytest.raises(DataFileError, match="not a digit"):
        mnist(root=tmp_path, verify=False)


def test_missing_file_names_it_and_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        mnist("train", root=tmp_path)
    message = str(err.value)
    assert "train-images-idx3-ubyte.gz" in message
    assert "https://" in message
    assert "download_mnist" in message


def test_default_root_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYTORCH_DATA_HOME", str(tmp_path))
    (tmp_path / "mnist").mkdir()
    _, _, hashes = make_split(tmp_path / "mnist")
    assert len(mnist(verify=hashes)) == 5


def test_split_name_is_checked(tmp_path):
    with pytest.raises(ValueError, match="'train' or 'test', got 'val'"):
        mnist("val", root=tmp_path)


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_download_verifies_and_writes_a_manifest(tmp_path, monkeypatch):
    payload = {name: f"content of {name}".encode() for name in MNIST_SHA256}
    served = []

    def fake_urlopen(url, timeout):
        served.append(url)
        return FakeResponse(payload[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(files_module.urllib.request, "urlopen", fake_urlopen)
    # The real published hashes refuse the fake content, and no file is left behind.
    with pytest.raises(OSError, match="every mirror failed"):
        download_mnist(tmp_path)
    assert not any(tmp_path.iterdir())
    fake_hashes = {name: sha256_bytes(data) for name, data in payload.items()}
    monkeypatch.setattr("tinytorch.dataloader.mnist_idx.MNIST_SHA256", fake_hashes)
    served.clear()
    download_mnist(tmp_path)
    assert len(served) == 4
    assert read_manifest(tmp_path / "SHA256SUMS") == fake_hashes
    served.clear()
    download_mnist(tmp_path)  # everything present and verified: nothing fetched again
    assert served == []


def test_a_malformed_manifest_is_refused(tmp_path):
    (tmp_path / "SHA256SUMS").write_text("not-a-hash  file\n")
    with pytest.raises(DataFileError, match="line 1 is not"):
        read_manifest(tmp_path / "SHA256SUMS")


@pytest.mark.parametrize(
    "dims",
    [
        (1 << 16,) * 4,  # 2**64 items: wraps to 0 in int64, so a header-only file matched
        (1 << 21, 1 << 21, 1 << 21),  # 2**63: wraps negative in int64
        (0xFFFFFFFF,) * 3,
    ],
)
def test_idx_dims_beyond_int64_are_a_format_error_naming_file_and_dims(tmp_path, dims):
    path = tmp_path / "huge-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, len(dims)]) + struct.pack(f">{len(dims)}I", *dims))
    with pytest.raises(DataFileError, match="size mismatch") as err:
        read_idx(path)
    message = str(err.value)
    assert str(path) in message
    assert str(dims) in message
    assert f"({math.prod(dims)} bytes of data)" in message


def test_idx_dims_larger_than_the_file_are_refused_before_reshaping():
    with pytest.raises(DataFileError, match=r"x\.idx .*\(4294967295, 2\).*holds 3$"):
        parse_idx(bytes([0, 0, 8, 2]) + struct.pack(">2I", 0xFFFFFFFF, 2) + b"abc", "x.idx")


def test_a_non_utf8_manifest_is_refused_naming_the_file(tmp_path):
    manifest = tmp_path / "SHA256SUMS"
    manifest.write_bytes(b"\xff\xfe" + ("ab" * 32 + "  train-images-idx3-ubyte\n").encode())
    with pytest.raises(DataFileError, match="not a UTF-8 text file") as err:
        read_manifest(manifest)
    assert str(manifest) in str(err.value)
    # Through the loader too: a decompressed file looks its hash up in that manifest.
    make_split(tmp_path, gz=False)
    with pytest.raises(DataFileError, match=r"SHA256SUMS is not a UTF-8"):
        mnist(root=tmp_path)
