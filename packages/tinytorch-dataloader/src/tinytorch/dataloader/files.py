"""Data files on disk: where they live, how they are verified, how they are fetched.

A data file is read whole into memory, its SHA-256 checked, and only then parsed, so a loader
either returns all of a data set or raises: it never hands back half a file. The expected hash
of a file comes, in this order, from the published checksums of the official downloads, from a
``SHA256SUMS`` manifest (``sha256sum`` format) beside the files, which the download helpers write
for the files they extract, or from a mapping the caller passes as ``verify``.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "MANIFEST_NAME",
    "DataFileError",
    "data_home",
    "read_manifest",
    "read_verified",
    "sha256_bytes",
    "sha256_file",
    "write_manifest",
]

MANIFEST_NAME = "SHA256SUMS"
ENV_DATA_HOME = "TINYTORCH_DATA_HOME"

Verify = bool | Mapping[str, str]


class DataFileError(ValueError):
    """A data file exists but is refused: bad magic number, wrong size or checksum mismatch.

    Example:
        >>> from tinytorch.dataloader import parse_idx
        >>> try:
        ...     parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 5, 97, 98]))  # 5 bytes declared, 2 given
        ... except DataFileError as err:
        ...     print(str(err).split(": ")[1])
        <bytes> size mismatch
    """


def data_home(name: str, root: str | os.PathLike[str] | None = None) -> Path:
    """The folder of data set ``name``: ``root`` if given, else ``$TINYTORCH_DATA_HOME/name``,
    else ``~/.cache/tinytorch/name``.

    Example:
        >>> data_home("mnist", root="/data/mnist").as_posix()
        '/data/mnist'
    """
    if root is not None:
        return Path(root).expanduser()
    base = os.environ.get(ENV_DATA_HOME)
    home = Path(base).expanduser() if base else Path.home() / ".cache" / "tinytorch"
    return home / name


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``.

    Example:
        >>> sha256_bytes(b"")[:16]
        'e3b0c44298fc1c14'
    """
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of the file at ``path``, read in 1 MiB chunks.

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "empty.bin"; _ = f.write_bytes(b"")
        >>> sha256_file(f) == sha256_bytes(b"")
        True
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(path: str | os.PathLike[str]) -> dict[str, str]:
    """Parse a ``sha256sum``-style manifest (``<hex>  <name>`` per line) into {name: hex}.

    Example:
        >>> import tempfile, pathlib
        >>> m = pathlib.Path(tempfile.mkdtemp()) / "SHA256SUMS"
        >>> _ = m.write_text("# a comment\\n" + "ab" * 32 + "  train.bin\\n")
        >>> read_manifest(m) == {"train.bin": "ab" * 32}
        True
    """
    raw = Path(path).read_bytes()
    try:
        # Hex digests and file names: ASCII in practice, UTF-8 as sha256sum writes non-ASCII names.
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataFileError(
            f"read_manifest: {path} is not a UTF-8 text file (byte 0x{raw[err.start]:02x} at "
            f"offset {err.start}); expected '<sha256>  <name>' lines"
        ) from None
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or len(parts[0]) != 64:
            raise DataFileError(f"{path}: line {number} is not '<sha256>  <name>': {line!r}")
        entries[parts[1].strip().lstrip("*")] = parts[0].lower()
    return entries


def write_manifest(folder: str | os.PathLike[str], names: list[str]) -> Path:
    """Hash the files ``names`` of ``folder`` into ``folder/SHA256SUMS``; returns its path.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "a.bin").write_bytes(b"")
        >>> read_manifest(write_manifest(d, ["a.bin"]))["a.bin"][:8]
        'e3b0c442'
    """
    root = Path(folder)
    lines = [f"{sha256_file(root / name)}  {name}\n" for name in sorted(names)]
    target = root / MANIFEST_NAME
    tmp = target.with_suffix(".tmp")
    tmp.write_text("".join(lines))
    os.replace(tmp, target)
    return target


def _expected_hash(op: str, path: Path, verify: Verify, published: Mapping[str, str]) -> str | None:
    if verify is False:
        return None
    if verify is True:
        if path.name in published:
            return published[path.name]
        manifest = path.parent / MANIFEST_NAME
        if manifest.is_file():
            listed = read_manifest(manifest)
            if path.name in listed:
                return listed[path.name]
        raise DataFileError(
            f"{op}: no checksum is known for {path}: it is not an official download with a "
            f"published SHA-256 and no {MANIFEST_NAME} beside it lists it (the download helper "
            f"writes one); pass verify={{name: sha256}} or verify=False to read it unchecked"
        )
    if path.name not in verify:
        raise DataFileError(
            f"{op}: the checksums passed as verify= have no entry for {path.name!r} "
            f"(they list {sorted(verify)})"
        )
    return verify[path.name].lower()


def read_verified(
    op: str,
    path: Path,
    verify: Verify,
    published: Mapping[str, str],
    how_to_get: str,
) -> bytes:
    """The bytes of ``path`` after checking them against their expected SHA-256.

    Raises ``FileNotFoundError`` naming the file and ``how_to_get`` it when it is missing, and
    :class:`DataFileError` when its hash differs or none is known (unless ``verify=False``).

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "x.bin"; _ = f.write_bytes(b"abc")
        >>> read_verified("demo", f, {"x.bin": sha256_bytes(b"abc")}, {}, "")
        b'abc'
        >>> read_verified("demo", f, False, {}, "")  # no hash check; the bytes as they are
        b'abc'
    """
    if not path.is_file():
        raise FileNotFoundError(f"{op}: {path} not found. {how_to_get}")
    expected = _expected_hash(op, path, verify, published)
    data = path.read_bytes()
    if expected is not None:
        actual = sha256_bytes(data)
        if actual != expected:
            raise DataFileError(
                f"{op}: checksum mismatch for {path} ({len(data)} bytes): SHA-256 is {actual}, "
                f"expected {expected}; the file is corrupt, truncated or not the official one: "
                f"delete it and fetch it again"
            )
    return data


def download_file(url: str, dest: Path, sha256: str | None, timeout: float = 60.0) -> Path:
    """Fetch ``url`` to ``dest`` atomically, refusing it unless its SHA-256 is ``sha256``.

    The bytes go to ``dest.part`` first and are renamed into place only once verified, so an
    interrupted or corrupt download never leaves a file that looks complete.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        if sha256 is not None and digest.hexdigest() != sha256:
            raise DataFileError(
                f"download: {url} has SHA-256 {digest.hexdigest()}, expected {sha256}; refusing it"
            )
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)
    return dest
