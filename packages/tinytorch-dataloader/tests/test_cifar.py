import io
import tarfile

import numpy as np
import pytest

import tinytorch.dataloader.files as files_module
from tinytorch.dataloader import (
    CIFAR10_ARCHIVE_SHA256,
    DataFileError,
    cifar10,
    download_cifar10,
    parse_cifar10_batch,
    read_manifest,
    write_manifest,
)
from tinytorch.dataloader.cifar_bin import TEST_FILES, TRAIN_FILES
from tinytorch.dataloader.files import sha256_bytes


def batch_bytes(n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    images = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
    records = np.concatenate([labels[:, None], images.reshape(n, -1)], axis=1)
    return records.tobytes(), images, labels


def make_cifar(home, n=3):
    folder = home / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    content = {}
    for k, name in enumerate(TRAIN_FILES + TEST_FILES):
        data, images, labels = batch_bytes(n, k)
        (folder / name).write_bytes(data)
        content[name] = (images, labels)
    return folder, content


def test_parse_batch_layout():
    data, images, labels = batch_bytes(4, 0)
    got_images, got_labels = parse_cifar10_batch(data)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    # The channel planes are red, green, blue, each row-major.
    record = bytes([3]) + bytes(range(256)) * 12
    img, _ = parse_cifar10_batch(record)
    assert img[0, 0, 0, 1] == 1
    assert img[0, 0, 1, 0] == 32
    assert img[0, 1, 0, 0] == 0


@pytest.mark.parametrize(
    ("size", "reason"), [(0, "size mismatch"), (3073 * 2 - 1, "size mismatch")]
)
def test_truncated_batches_are_refused(size, reason):
    data, _, _ = batch_bytes(2, 0)
    with pytest.raises(DataFileError, match=reason):
        parse_cifar10_batch(data[:size])


def test_bad_label_is_refused():
    data = bytearray(batch_bytes(2, 0)[0])
    data[3073] = 57
    with pytest.raises(DataFileError, match="record 1 has label byte 57"):
        parse_cifar10_batch(bytes(data))
    data[3073] = 10  # the first label past CIFAR-10's 0..9
    with pytest.raises(DataFileError, match="record 1 has label byte 10"):
        parse_cifar10_batch(bytes(data))


def test_cifar10_loads_against_the_manifest(tmp_path):
    folder, content = make_cifar(tmp_path)
    with pytest.raises(DataFileError, match="no checksum is known"):
        cifar10(root=tmp_path)
    write_manifest(folder, list(TRAIN_FILES + TEST_FILES))
    x, y = cifar10("train", root=tmp_path).tensors
    assert x.shape == (15, 3, 32, 32)
    assert x.dtype == np.float32
    assert y.dtype == np.int64
    np.testing.assert_allclose(x.data[3:6] * 255, content["data_batch_2.bin"][0], atol=1e-4)
    np.testing.assert_array_equal(y.data[12:], content["data_batch_5.bin"][1])
    xt, _ = cifar10("test", root=tmp_path).tensors
    assert xt.shape == (3, 3, 32, 32)


def test_one_corrupt_batch_refuses_the_whole_split(tmp_path):
    folder, _ = make_cifar(tmp_path)
    write_manifest(folder, list(TRAIN_FILES + TEST_FILES))
    path = folder / "data_batch_4.bin"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataFileError, match=r"checksum mismatch for .*data_batch_4\.bin"):
        cifar10(root=tmp_path)
    with pytest.raises(DataFileError, match=r"data_batch_4\.bin size mismatch"):
        cifar10(root=tmp_path, verify=False)


def test_mapping_verify_and_missing_file(tmp_path):
    folder, _ = make_cifar(tmp_path)
    hashes = {n: sha256_bytes((folder / n).read_bytes()) for n in TEST_FILES}
    assert len(cifar10("test", root=tmp_path, verify=hashes)) == 3
    (folder / "data_batch_3.bin").unlink()
    with pytest.raises(FileNotFoundError) as err:
        cifar10(root=tmp_path, verify=False)
    assert "data_batch_3.bin" in str(err.value)
    assert "cifar-10-binary.tar.gz" in str(err.value)
    assert "download_cifar10" in str(err.value)
    with pytest.raises(ValueError, match="split must be"):
        cifar10("valid", root=tmp_path)


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def fake_archive():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for k, name in enumerate(TRAIN_FILES + TEST_FILES):
            data = batch_bytes(2, k)[0]
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_download_checks_the_archive_then_extracts_and_writes_a_manifest(tmp_path, monkeypatch):
    archive = fake_archive()
    monkeypatch.setattr(
        files_module.urllib.request, "urlopen", lambda url, timeout: FakeResponse(archive)
    )
    with pytest.raises(DataFileError, match=f"expected {CIFAR10_ARCHIVE_SHA256}"):
        download_cifar10(tmp_path)
    assert not any(tmp_path.iterdir())  # nothing half-written
    monkeypatch.setattr(
        "tinytorch.dataloader.cifar_bin.CIFAR10_ARCHIVE_SHA256", sha256_bytes(archive)
    )
    download_cifar10(tmp_path)
    manifest = read_manifest(tmp_path / "cifar-10-batches-bin" / "SHA256SUMS")
    assert sorted(manifest) == sorted(TRAIN_FILES + TEST_FILES)
    assert len(cifar10("train", root=tmp_path)) == 10
