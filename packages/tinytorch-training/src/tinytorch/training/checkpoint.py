"""Checkpoints that cannot run code, cannot be half-written and cannot be silently corrupted.

The container is a zip of two stored (uncompressed) members: ``arrays.bin``, every array's
raw bytes one after another, each at an offset aligned to its dtype, and ``manifest.json``:
the format version, each array's name, dtype, shape and offset, the caller's metadata and a
SHA-256 over the arrays and the metadata, recomputed on load. One data member rather than a
``.npy`` member per array (format version 1, NumPy's ``.npz``) makes an array cost a manifest
entry of about 25 bytes instead of some 300 bytes of zip and ``.npy`` headers, which is most of
a small quantized model's file. The reader trusts nothing in the file: it checks the layout
(each array inside the data, none overlapping, no gap beyond alignment padding, the padding
zero) and every size against the file's before it allocates, so loading never executes
anything and a small file cannot ask for a large allocation; whatever is wrong raises
:class:`CheckpointError`. Files of format version 1 still load. The file is written to one
fixed temporary name beside it (:func:`temp_path`), flushed to disk and moved into place with
``os.replace``, so a crash leaves either the old file or the new one, never a mixture, and at
most one leftover that the next save reuses.

``save_arrays`` / ``load_arrays`` are the generic layer (module 13's GPT uses them directly);
``save`` / ``load`` store a nested state dict (``torch.save`` / ``torch.load``);
``save_checkpoint`` / ``load_checkpoint`` put a model, an optimizer, a scheduler, a step count
and the random generators' states on top, so that a resumed run continues exactly, and load
all or nothing.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import os
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import IO, Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from tinytorch.layers import Parameter
from tinytorch.optimizers import Optimizer
from tinytorch.tensor import Generator, Tensor, default_generator, to_numpy, type_name

__all__ = [
    "CheckpointError",
    "atomic_write",
    "load",
    "load_arrays",
    "load_checkpoint",
    "save",
    "save_arrays",
    "save_checkpoint",
    "temp_path",
]

Array = npt.NDArray[Any]
PathLike = str | os.PathLike[str]

FORMAT = "tinytorch-arrays"
VERSION = 2
DATA = "arrays.bin"
MANIFEST_JSON = "manifest.json"
MANIFEST = "__tinytorch_manifest__"  # version 1's manifest member, without its ".npy"
CHECKPOINT_FORMAT = "tinytorch-checkpoint"
# A fixed timestamp: the same arrays and metadata give the same bytes, so a file's hash
# identifies its content (the capstone's submissions hash their weights).
_DATE_TIME = (1980, 1, 1, 0, 0, 0)


class CheckpointError(ValueError):
    """A file that is not a valid checkpoint, or one that does not fit what it is loaded into.

    Raised before anything is changed: a failed load leaves every object as it was.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "notes.npz")
        >>> with open(path, "wb") as f:
        ...     _ = f.write(b"not an archive")
        >>> try:
        ...     load_arrays(path)
        ... except CheckpointError as err:
        ...     print(str(err).split(": ")[2][:40])
        unreadable, the file is truncated or cor
    """


class ModelLike(Protocol):
    """What a checkpoint needs of a model: ``torch.nn.Module``'s state-dict pair."""

    def state_dict(self) -> Mapping[str, Tensor]: ...

    def load_state_dict(self, state_dict: Mapping[str, Array], strict: bool = True) -> Any: ...


class SchedulerLike(Protocol):
    """What a checkpoint needs of a learning-rate scheduler."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None: ...


# ---- the generic layer: named arrays plus JSON metadata -------------------------------------
def save_arrays(
    path: PathLike, arrays: Mapping[str, Array | Tensor], metadata: Mapping[str, Any] | None = None
) -> None:
    """Write named arrays and JSON-serialisable ``metadata`` to ``path``, atomically.

    Arrays keep their dtype (byte order included), shape and every bit, and load back
    C-contiguous; object arrays (they need pickle to load) and structured or zero-size dtypes
    (the manifest names a dtype by its ``dtype.str``) are refused. Metadata goes through JSON:
    tuples come back as lists, dict keys as str.

    Example:
        >>> import os, tempfile, numpy as np
        >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
        >>> save_arrays(path, {"w": np.arange(3.0)}, {"note": "hi"})
        >>> arrays, meta = load_arrays(path)
        >>> arrays["w"].tolist(), meta
        ([0.0, 1.0, 2.0], {'note': 'hi'})
    """
    entries: dict[str, Array] = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name or "\0" in name:
            raise ValueError(f"save_arrays: invalid array name {name!r}")
        array = value.data if isinstance(value, Tensor) else value
        if not isinstance(array, np.ndarray):
            raise TypeError(
                f"save_arrays: {name!r} must be a numpy array or Tensor, got {type(value).__name__}"
            )
        if array.dtype.hasobject:
            raise TypeError(f"save_arrays: {name!r} has dtype object, which needs pickle to load")
        if _dtype_from_str(array.dtype.str) != array.dtype:
            raise TypeError(
                f"save_arrays: {name!r} has the dtype {array.dtype}, structured or of size 0, "
                "which the manifest cannot name; save each field as an array of its own"
            )
        entries[name] = array
    try:
        meta_json = _canonical_json(dict(metadata or {}))
    except (TypeError, ValueError) as err:
        raise TypeError(f"save_arrays: metadata is not JSON-serialisable: {err}") from None
    listing: list[list[Any]] = []
    size = 0
    for name, a in entries.items():
        offset = _align(size, a.dtype.alignment)
        listing.append([name, a.dtype.str, list(a.shape), offset])
        size = offset + a.nbytes
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "arrays": listing,
        "metadata": json.loads(meta_json),
        "sha256": _digest(entries, meta_json),
    }
    manifest_bytes = _canonical_json(manifest).encode("utf-8")

    def write(f: IO[bytes]) -> None:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            data = zipfile.ZipInfo(DATA, _DATE_TIME)
            data.file_size = size  # known in advance: zip64 headers only past 2 GiB
            with zf.open(data, "w") as out:
                end = 0
                for (_, _, _, offset), array in zip(listing, entries.values(), strict=True):
                    out.write(bytes(offset - end))
                    out.write(_raw_bytes(array))
                    end = offset + array.nbytes
            zf.writestr(zipfile.ZipInfo(MANIFEST_JSON, _DATE_TIME), manifest_bytes)

    atomic_write(path, write)


def _align(offset: int, alignment: int) -> int:
    return -(-offset // alignment) * alignment


def _raw_bytes(array: Array) -> memoryview:
    """The array's bytes in C order, as a flat byte view (a copy only if not C-contiguous)."""
    return np.ascontiguousarray(array).reshape(-1).view(np.uint8).data


def _dtype_from_str(text: str) -> np.dtype[Any] | None:
    """The dtype ``text`` names if it is a plain dtype's own ``str`` (``'<f4'``, ``'|i1'``,
    ``'>M8[s]'``), else None: no object, no structure, nothing ``np.dtype`` would parse from a
    longer description."""
    try:
        dtype = np.dtype(text)
    except (TypeError, ValueError):
        return None
    if dtype.str != text or dtype.hasobject or dtype.names is not None or dtype.itemsize == 0:
        return None
    return dtype


def load_arrays(path: PathLike) -> tuple[dict[str, Array], dict[str, Any]]:
    """Read a file written by :func:`save_arrays`: ``(arrays, metadata)``, bit-exact.

    The SHA-256 is recomputed and compared. Whatever is wrong with the file (truncated,
    corrupted, edited, crafted: a compression method or a manifest it never writes, arrays
    outside the data or overlapping, a data member shorter than its arrays) raises
    :class:`CheckpointError` saying which, and a missing file ``FileNotFoundError``. Every
    size is checked against the file's before anything is allocated, so a small file cannot
    ask for a large allocation. Files of format version 1 (``.npy`` members) load as well.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "a.npz")
        >>> save_arrays(path, {"ids": np.arange(3)}, {"epoch": 2})
        >>> arrays, meta = load_arrays(path)
        >>> arrays["ids"].dtype, meta["epoch"]
        (dtype('int64'), 2)
    """
    where = f"load_arrays: {os.fspath(path)}"
    if not os.path.exists(path):
        raise FileNotFoundError(f"{where}: no such file")
    with open(path, "rb") as f:
        try:
            arrays, manifest = _read_archive(f, where)
            meta_json = _canonical_json(manifest["metadata"])
            digest = _digest(arrays, meta_json)
        except CheckpointError:
            raise
        except Exception as err:  # a crafted file can make any layer fail: all are "corrupt"
            raise _corrupt(where, f"{type(err).__name__}: {err}") from err
    if digest != manifest["sha256"]:
        raise CheckpointError(
            f"{where}: SHA-256 mismatch, the content was modified after it was written"
        )
    metadata: dict[str, Any] = manifest["metadata"]
    return arrays, metadata


def _corrupt(where: str, reason: str) -> CheckpointError:
    return CheckpointError(f"{where}: unreadable, the file is truncated or corrupt ({reason})")


def _read_archive(f: IO[bytes], where: str) -> tuple[dict[str, Array], dict[str, Any]]:
    """The arrays and the checked manifest of the open archive ``f``, of either version."""
    file_size = os.fstat(f.fileno()).st_size
    if f.read(6) == b"\x93NUMPY":
        raise CheckpointError(f"{where}: a bare .npy array, not a checkpoint archive")
    f.seek(0)
    with zipfile.ZipFile(f) as zf:
        members: dict[str, zipfile.ZipInfo] = {}
        for info in zf.infolist():
            if info.filename in members:
                raise _corrupt(where, f"member {info.filename!r} appears twice")
            members[info.filename] = info
        for info in members.values():
            _check_member(where, info, file_size)
        if DATA in members or MANIFEST_JSON in members:
            return _read_v2(where, zf, members)
        return _read_v1(where, zf, members)


def _read_v2(
    where: str, zf: zipfile.ZipFile, members: Mapping[str, zipfile.ZipInfo]
) -> tuple[dict[str, Array], dict[str, Any]]:
    if set(members) != {DATA, MANIFEST_JSON}:
        raise _corrupt(
            where, f"the members are {sorted(members)}, not {sorted((DATA, MANIFEST_JSON))}"
        )
    manifest = _check_manifest(where, json.loads(zf.read(members[MANIFEST_JSON])), 2)
    layout = _check_layout(where, manifest["arrays"], members[DATA].file_size)
    arrays: dict[str, Array] = {}
    with zf.open(members[DATA]) as data:
        end = 0
        for name, dtype, shape, offset in layout:
            if any(data.read(offset - end)):
                raise _corrupt(where, f"the padding before array {name!r} is not zero")
            nbytes = math.prod(shape) * dtype.itemsize
            buffer = _read_exactly(where, data, nbytes, f"array {name!r}")
            arrays[name] = _as_array(buffer, dtype, shape, "C")
            end = offset + nbytes
        data.read()  # reading to the end makes zipfile check the member's CRC
    return arrays, manifest


def _check_layout(
    where: str, listing: list[list[Any]], size: int
) -> list[tuple[str, np.dtype[Any], tuple[int, ...], int]]:
    """The listing as (name, dtype, shape, offset), once every array is known to lie inside
    the ``size`` bytes of data, after the one before it, with only alignment padding between."""
    layout = []
    end, previous = 0, None
    for name, dtype_str, shape, offset in listing:
        dtype = _dtype_from_str(dtype_str)
        if dtype is None:
            raise _corrupt(where, f"array {name!r} has the dtype {dtype_str!r}, not a plain one")
        nbytes = math.prod(shape) * dtype.itemsize
        span = f"array {name!r} ({dtype_str}{tuple(shape)}, bytes {offset} to {offset + nbytes})"
        if offset + nbytes > size:
            raise _corrupt(where, f"{span} runs past the end of the {size} bytes of data")
        if offset < end:
            raise _corrupt(where, f"{span} overlaps {previous!r}, which ends at byte {end}")
        if offset != _align(end, dtype.alignment):
            raise _corrupt(
                where,
                f"{span} should start at byte {_align(end, dtype.alignment)}, the first "
                f"{dtype.alignment}-aligned byte after {previous!r}",
            )
        layout.append((name, dtype, tuple(shape), offset))
        end, previous = offset + nbytes, name
    if end != size:
        raise _corrupt(where, f"the data holds {size} bytes, its arrays {end}")
    return layout


def _read_exactly(where: str, f: IO[bytes], nbytes: int, what: str) -> bytearray:
    """The next ``nbytes`` of ``f``, read piecewise into one buffer (no second copy)."""
    buffer = bytearray(nbytes)  # the caller has bounded nbytes by the file's size
    view = memoryview(buffer)
    filled = 0
    while filled < nbytes:
        chunk = f.read(min(nbytes - filled, _CHUNK))
        if not chunk:
            raise _corrupt(where, f"{what} ends early")
        view[filled : filled + len(chunk)] = chunk
        filled += len(chunk)
    return buffer


def _as_array(
    buffer: bytearray, dtype: np.dtype[Any], shape: tuple[int, ...], order: Literal["C", "F"]
) -> Array:
    """The array over ``buffer`` (writable, sharing it: the buffer is the array's own)."""
    if not buffer:
        return np.empty(shape, dtype=dtype, order=order)
    flat: Array = np.frombuffer(buffer, dtype=dtype)
    return flat.reshape(shape, order=order)


_CHUNK = 1 << 24  # read large arrays piecewise: no second full-size copy


def _read_v1(
    where: str, zf: zipfile.ZipFile, members: Mapping[str, zipfile.ZipInfo]
) -> tuple[dict[str, Array], dict[str, Any]]:
    """Format version 1: NumPy's ``.npz``, one ``.npy`` member per array and the manifest."""
    arrays_members: dict[str, zipfile.ZipInfo] = {}
    for filename, info in members.items():
        if not filename.endswith(".npy"):
            raise _corrupt(where, f"member {filename!r} is not a .npy array")
        arrays_members[filename[: -len(".npy")]] = info
    if MANIFEST not in arrays_members:
        raise CheckpointError(f"{where}: no manifest; not written by save_arrays")
    raw = _read_npy(where, zf, arrays_members.pop(MANIFEST))
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise _corrupt(where, f"the manifest is {raw.dtype.str}{raw.shape}, not bytes")
    manifest = _check_manifest(where, json.loads(raw.tobytes().decode("utf-8")), 1)
    listed: dict[str, tuple[str, tuple[int, ...]]] = {}
    for name, dtype, shape in manifest["arrays"]:
        listed[name] = (dtype, tuple(shape))
    extra, missing = set(arrays_members) - set(listed), set(listed) - set(arrays_members)
    if extra or missing:
        raise CheckpointError(
            f"{where}: archive and manifest disagree (missing {sorted(missing)}, "
            f"unlisted {sorted(extra)})"
        )
    arrays: dict[str, Array] = {}
    for name, (dtype, shape) in listed.items():
        array = _read_npy(where, zf, arrays_members[name])
        if array.dtype.str != dtype or array.shape != shape:
            raise CheckpointError(
                f"{where}: array {name!r} is {array.dtype.str}{array.shape}, the "
                f"manifest says {dtype}{shape}"
            )
        arrays[name] = array
    return arrays, manifest


def _check_member(where: str, info: zipfile.ZipInfo, file_size: int) -> None:
    """Refuse what save_arrays never writes, before reading a byte of the member."""
    name = info.filename
    if info.flag_bits & 0x1:
        raise _corrupt(where, f"member {name!r} is encrypted")
    if info.compress_type != zipfile.ZIP_STORED:
        # Stored members only: their bytes are really in the file, so the declared size is
        # bounded by the file's, where a compressed one could inflate to anything.
        raise _corrupt(
            where,
            f"member {name!r} uses zip compression method {info.compress_type}; "
            "checkpoints are stored uncompressed",
        )
    if info.compress_size != info.file_size or info.header_offset + info.file_size > file_size:
        raise _corrupt(
            where,
            f"member {name!r} declares {info.file_size} bytes, more than the file's "
            f"{file_size} can hold",
        )


def _read_npy(where: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Array:
    """One ``.npy`` member, its header checked against the member's size before allocation."""
    name = info.filename
    with zf.open(info) as entry:
        version = np.lib.format.read_magic(entry)
        if version == (1, 0):
            header = np.lib.format.read_array_header_1_0(entry)
        elif version == (2, 0):
            header = np.lib.format.read_array_header_2_0(entry)
        else:
            raise _corrupt(where, f"member {name!r} has .npy format version {version}")
        declared_shape, fortran_order, declared_dtype = header
        if declared_dtype.hasobject:
            raise _corrupt(where, f"member {name!r} holds Python objects, which need pickle")
        if declared_dtype.itemsize == 0:
            raise _corrupt(where, f"member {name!r} has the zero-size dtype {declared_dtype}")
        if any(n < 0 for n in declared_shape):
            raise _corrupt(where, f"member {name!r} declares the shape {declared_shape}")
        nbytes = math.prod(declared_shape) * declared_dtype.itemsize
        data_size = info.file_size - entry.tell()
        if nbytes != data_size:
            raise _corrupt(
                where,
                f"member {name!r} declares {declared_dtype.str}{declared_shape} "
                f"({nbytes} bytes) but holds {data_size} bytes",
            )
        buffer = _read_exactly(where, entry, nbytes, f"member {name!r}")
        entry.read()  # reading to the end makes zipfile check the member's CRC
    shape = tuple(int(n) for n in declared_shape)
    return _as_array(buffer, declared_dtype, shape, "F" if fortran_order else "C")


def _check_manifest(where: str, manifest: object, version: int) -> dict[str, Any]:
    """``manifest`` if it has every field, of the right kind, and says it is of the format
    ``version`` its archive's layout is; CheckpointError naming the first thing that is not."""
    if not isinstance(manifest, dict):
        raise _corrupt(where, f"the manifest is a JSON {type(manifest).__name__}, not an object")
    if manifest.get("format") != FORMAT:
        raise CheckpointError(f"{where}: unknown format {manifest.get('format')!r}")
    if type(manifest.get("version")) is not int or manifest["version"] not in (1, 2):
        raise CheckpointError(
            f"{where}: format version {manifest.get('version')!r}; this reader knows "
            "versions 1 and 2"
        )
    if manifest["version"] != version:
        raise _corrupt(
            where,
            f"the manifest says format version {manifest['version']}, the archive has "
            f"version {version}'s layout",
        )
    for field in ("arrays", "metadata", "sha256"):
        if field not in manifest:
            raise _corrupt(where, f"the manifest has no {field!r} field")
    if not isinstance(manifest["sha256"], str):
        raise _corrupt(where, "the manifest's 'sha256' is not a string")
    if not isinstance(manifest["arrays"], list):
        raise _corrupt(where, "the manifest's 'arrays' is not a list")
    fields = "[name, dtype, shape]" if version == 1 else "[name, dtype, shape, offset]"
    names = set()
    for entry in manifest["arrays"]:
        if not (
            isinstance(entry, list)
            and len(entry) == (3 if version == 1 else 4)
            and isinstance(entry[0], str)
            and isinstance(entry[1], str)
            and isinstance(entry[2], list)
            and all(_is_count(n) for n in entry[2])
            and (version == 1 or _is_count(entry[3]))
        ):
            raise _corrupt(where, f"the manifest entry {str(entry)[:80]} is not {fields}")
        if entry[0] in names:
            raise _corrupt(where, f"the manifest lists {entry[0]!r} twice")
        names.add(entry[0])
    return manifest


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True)


def _digest(arrays: Mapping[str, Array], meta_json: str) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = arrays[name]
        header = _canonical_json([name, a.dtype.str, list(a.shape)])
        h.update(header.encode("utf-8") + b"\0")
        h.update(_raw_bytes(a))
    h.update(meta_json.encode("utf-8"))
    return h.hexdigest()


def temp_path(path: PathLike) -> str:
    """The one temporary file a save to ``path`` writes before renaming it into place.

    The name is fixed per target, so a save killed midway leaves at most this one file, which
    the next save to the same path overwrites: a folder of checkpoints cannot fill with
    leftovers. (Two processes must not save to the same path at the same time.)

    Example:
        >>> os.path.basename(temp_path("runs/ckpt.npz"))
        '.ckpt.npz.tmp'
    """
    target = os.path.abspath(os.fspath(path))
    return os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.tmp")


def atomic_write(path: PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Write a file all or nothing: ``write(f)`` fills :func:`temp_path`, which is fsynced and
    renamed over ``path``. On any error (Ctrl-C included) the temporary file is removed and
    ``path`` is untouched; a kill leaves at most that one file, which the next save replaces.

    A new file gets the umask's mode, as ``open(path, "w")`` would; an overwritten one keeps
    its mode. Every TinyTorch file writer (checkpoints, tokenizers, logs) goes through here.

    Example:
        >>> import tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "hello.bin")
        >>> atomic_write(path, lambda f: f.write(b"hi"))
        >>> from pathlib import Path
        >>> Path(path).read_bytes(), os.path.exists(temp_path(path))
        (b'hi', False)
    """
    target = os.path.abspath(os.fspath(path))
    tmp = temp_path(target)
    # A leftover from a killed save is removed, not reused: created afresh (O_EXCL, so a link
    # planted under the temporary name is never followed) the file gets the umask's mode.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, os.stat(target).st_mode & 0o777)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # The rename itself is durable only once the directory entry is on disk.
    with contextlib.suppress(OSError):
        dir_fd = os.open(os.path.dirname(target), os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


# ---- save / load: torch.save's use for state dicts -------------------------------------------
OBJECT_FORMAT = "tinytorch-object"
_TAG = "$"


def save(obj: Any, f: PathLike) -> None:
    """Save a state dict, or any nesting of dicts, lists and tuples of Tensors, NumPy arrays,
    NumPy scalars, numbers, strings, bools and None, to the path ``f`` (``torch.save``'s common
    use, ``torch.save(model.state_dict(), f)``, ported word for word).

    The file is :func:`save_arrays`'s: atomic, pickle-free and checked by SHA-256 on load.
    :func:`load` gives back the same structure bit-exactly: Tensors as Tensors (a Parameter as
    a Parameter, ``requires_grad`` kept), arrays as arrays of the same dtype, OrderedDict,
    tuple and non-string keys as they were. Another library's arrays (``__dlpack__`` or
    ``__array__``: a PyTorch state dict) are saved by value and load as Tensors. Objects of
    other types (modules, functions, arbitrary classes) are refused with their full type: unlike
    ``torch.save`` nothing is pickled. Two references to one tensor come back as two tensors.

    Example:
        >>> import os, tempfile
        >>> from tinytorch.layers import Linear
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> model = Linear(3, 2)
        >>> save(model.state_dict(), path)
        >>> fresh = Linear(3, 2)
        >>> fresh.load_state_dict(load(path))
        IncompatibleKeys(missing_keys=[], unexpected_keys=[])
        >>> bool((fresh.weight == model.weight).all())
        True
    """
    _check_path("save", f)
    arrays: dict[str, Array] = {}
    encoded = _encode(obj, "obj", arrays, set())
    save_arrays(f, arrays, {"format": OBJECT_FORMAT, "version": 1, "object": encoded})


def load(f: PathLike, map_location: Any = None, weights_only: bool | None = None) -> Any:
    """Read back what :func:`save` wrote (``torch.load``'s counterpart).

    ``map_location`` may be ``None`` or ``"cpu"`` (TinyTorch runs on the CPU; anything else is
    refused), so ``torch.load(f, map_location="cpu")`` ports too. ``weights_only`` is accepted
    and changes nothing: the format holds data only, so every load is weights-only. A corrupt
    or crafted file raises :class:`CheckpointError`.

    Example:
        >>> import os, tempfile
        >>> from collections import OrderedDict
        >>> from tinytorch.tensor import tensor
        >>> path = os.path.join(tempfile.mkdtemp(), "state.npz")
        >>> save({"epoch": 3, "best": (0.5, None), 1: OrderedDict(w=tensor([1.0, 2.0]))}, path)
        >>> state = load(path)
        >>> state["epoch"], state["best"], state[1]["w"].tolist()
        (3, (0.5, None), [1.0, 2.0])
    """
    _check_path("load", f)
    where = f"load: {os.fspath(f)}"
    if map_location is not None and str(map_location) != "cpu":
        raise ValueError(
            f"load: map_location={map_location!r}; TinyTorch has only the CPU, so None or 'cpu'"
        )
    if weights_only is not None and not isinstance(weights_only, bool):
        raise TypeError(f"load: weights_only must be a bool, got {type(weights_only).__name__}")
    arrays, meta = load_arrays(f)
    if meta.get("format") != OBJECT_FORMAT:
        hint = (
            "a training checkpoint; use load_checkpoint"
            if meta.get("format") == CHECKPOINT_FORMAT
            else "arrays without an object; use load_arrays"
        )
        raise CheckpointError(f"{where}: not written by save() but {hint}")
    if meta.get("version") != 1 or "object" not in meta:
        raise CheckpointError(f"{where}: object format version {meta.get('version')!r} unknown")
    try:
        return _decode(meta["object"], arrays)
    except RecursionError:
        raise CheckpointError(f"{where}: the object is nested too deeply") from None
    except _DecodeError as err:
        raise CheckpointError(f"{where}: {err}") from None


class _DecodeError(Exception):
    pass


def _check_path(op: str, f: object) -> None:
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError(
            f"{op}: f must be a path (str or os.PathLike), got {type_name(f)}; file objects "
            "are not supported, since a save is made atomic by renaming a finished file"
        )


def _encode(value: Any, where: str, arrays: dict[str, Array], active: set[int]) -> Any:
    """``value`` as JSON, its arrays moved into ``arrays`` and referred to by name."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and type(value) in (int, float):
        return value
    if isinstance(value, Tensor):
        ref = _store(arrays, value.data)
        kind = "parameter" if isinstance(value, Parameter) else "tensor"
        # requires_grad is written only when true: absent reads as false, so a state dict's
        # tensors cost no flag each (version 1 files wrote it always; both read the same)
        entry: dict[str, Any] = {_TAG: kind, "ref": ref}
        if value.requires_grad:
            entry["requires_grad"] = True
        return entry
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise TypeError(f"save: {where} is an object array, which needs pickle to load")
        return {_TAG: "ndarray", "ref": _store(arrays, value)}
    if isinstance(value, np.generic):
        return {_TAG: "npscalar", "ref": _store(arrays, np.asarray(value))}
    if hasattr(value, "__dlpack__") or hasattr(value, "__array__"):
        # Another library's tensor (a torch state dict): saved as its values, loaded as a Tensor.
        return {_TAG: "tensor", "ref": _store(arrays, _foreign_array(value, where))}
    if isinstance(value, (Mapping, list, tuple)):
        if id(value) in active:
            raise ValueError(f"save: {where} contains itself")
        active.add(id(value))
        try:
            if isinstance(value, Mapping):
                items = [
                    [_encode_key(k, where), _encode(v, f"{where}[{k!r}]", arrays, active)]
                    for k, v in value.items()
                ]
                kind = "odict" if isinstance(value, OrderedDict) else "dict"
                return {_TAG: kind, "items": items}
            elements = [_encode(v, f"{where}[{i}]", arrays, active) for i, v in enumerate(value)]
            return elements if isinstance(value, list) else {_TAG: "tuple", "items": elements}
        finally:
            active.discard(id(value))
    raise TypeError(
        f"save: {where} is a {type_name(value)}; only Tensors, arrays, numbers, strings, "
        "bools, None and dicts, lists and tuples of them can be saved (nothing is pickled)"
    )


def _foreign_array(value: Any, where: str) -> Array:
    """The values of an array from another library, as a NumPy array (copied)."""
    try:
        array = to_numpy(value)
    except TypeError as err:
        raise TypeError(f"save: {where}: {err}") from None
    if array.dtype.hasobject:
        raise TypeError(f"save: {where} ({type_name(value)}) holds Python objects")
    return np.array(array, copy=True)


def _encode_key(key: Any, where: str) -> Any:
    if key is None or type(key) in (bool, int, float, str):
        return key
    if type(key) is tuple:
        return {_TAG: "tuple", "items": [_encode_key(k, where) for k in key]}
    raise TypeError(
        f"save: a key of {where} is a {type_name(key)}; keys may be str, int, float, bool, "
        "None or tuples of them"
    )


def _store(arrays: dict[str, Array], array: Array) -> str:
    name = str(len(arrays))
    arrays[name] = array
    return name


def _decode(value: Any, arrays: Mapping[str, Array]) -> Any:
    """Undo :func:`_encode`, refusing anything it does not write."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if not isinstance(value, dict) or not isinstance(value.get(_TAG), str):
        raise _DecodeError(f"unexpected entry {str(value)[:80]}")
    kind = value[_TAG]
    if kind in ("tensor", "parameter", "ndarray", "npscalar"):
        ref = value.get("ref")
        if not isinstance(ref, str) or ref not in arrays:
            raise _DecodeError(f"a {kind} refers to the missing array {ref!r}")
        array = arrays[ref]
        if kind == "ndarray":
            return array
        if kind == "npscalar":
            if array.ndim != 0:
                raise _DecodeError(f"a NumPy scalar has the shape {array.shape}")
            return array[()]
        requires_grad = value.get("requires_grad", False) is True and array.dtype.kind == "f"
        if kind == "parameter":
            return Parameter(array, requires_grad=requires_grad)
        return Tensor(array).requires_grad_(requires_grad) if requires_grad else Tensor(array)
    items = value.get("items")
    if not isinstance(items, list):
        raise _DecodeError(f"a {kind} has no list of items")
    if kind == "tuple":
        return tuple(_decode(v, arrays) for v in items)
    if kind in ("dict", "odict"):
        out: dict[Any, Any] = OrderedDict() if kind == "odict" else {}
        for pair in items:
            if not isinstance(pair, list) or len(pair) != 2:
                raise _DecodeError(f"a {kind} item {str(pair)[:80]} is not a [key, value] pair")
            key = _decode(pair[0], arrays)
            try:
                out[key] = _decode(pair[1], arrays)
            except TypeError:
                raise _DecodeError(f"a {kind} key {str(pair[0])[:80]} is not hashable") from None
        return out
    raise _DecodeError(f"unknown entry kind {kind!r}")


# ---- checkpoints: model, optimizer, scheduler, step, RNG ------------------------------------
def save_checkpoint(
    path: PathLike,
    model: ModelLike,
    optimizer: Optimizer | None = None,
    scheduler: SchedulerLike | None = None,
    step: int = 0,
    extra: Mapping[str, Any] | None = None,
    generators: Mapping[str, Generator] | None = None,
) -> None:
    """Save everything a run needs to resume exactly, with :func:`save_arrays`.

    Besides the model's ``state_dict()``, the optimizer's and the scheduler's, it stores
    ``step``, the JSON-serialisable ``extra`` and the state of the random generators: the
    default generator always (``"default"``), plus any named in ``generators`` (a data loader's
    shuffling generator, say).

    Example:
        >>> import os, tempfile
        >>> from tinytorch.layers import Linear
        >>> from tinytorch.optimizers import SGD
        >>> model = Linear(2, 1)
        >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
        >>> save_checkpoint(path, model, SGD(model.parameters(), lr=0.1), step=10)
        >>> load_checkpoint(path, Linear(2, 1))["step"]
        10
    """
    arrays: dict[str, Array] = {}
    for key, value in model.state_dict().items():
        arrays[f"model/{key}"] = value.data if isinstance(value, Tensor) else np.asarray(value)
    meta: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "step": int(step),
        "extra": dict(extra or {}),
        "model": list(model.state_dict()),
        "rng": {name: g.get_state() for name, g in _generators(generators).items()},
    }
    if optimizer is not None:
        meta["optimizer"] = _split(optimizer.state_dict(), "optimizer", arrays)
        meta["optimizer_class"] = type(optimizer).__name__
    if scheduler is not None:
        meta["scheduler"] = _split(scheduler.state_dict(), "scheduler", arrays)
        meta["scheduler_class"] = type(scheduler).__name__
    save_arrays(path, arrays, meta)


def load_checkpoint(
    path: PathLike,
    model: ModelLike,
    optimizer: Optimizer | None = None,
    scheduler: SchedulerLike | None = None,
    generators: Mapping[str, Generator] | None = None,
) -> dict[str, Any]:
    """Restore what :func:`save_checkpoint` saved; returns ``{"step": ..., "extra": ...}``.

    All or nothing: the file is verified, then every part is checked against what it is loaded
    into (the model's keys, shapes and dtypes, the optimizer's class and groups, the
    scheduler's class and keys, the generators' states) before any is applied; if one does not
    fit, :class:`CheckpointError` says what and every object is as it was. The default
    generator's state is restored, and that of each generator named in ``generators``.

    Example:
        >>> import os, tempfile
        >>> from tinytorch.layers import Linear
        >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
        >>> trained, fresh = Linear(2, 1), Linear(2, 1)
        >>> save_checkpoint(path, trained, step=7, extra={"note": "ok"})
        >>> load_checkpoint(path, fresh)
        {'step': 7, 'extra': {'note': 'ok'}}
        >>> bool((fresh.weight == trained.weight).all())
        True
    """
    pending = _prepare(path, model, optimizer, scheduler, generators)
    pending.apply()
    return {"step": pending.step, "extra": pending.extra}


class _PendingLoad:
    """A checkpoint read and checked against its targets, not yet applied."""

    def __init__(self, where: str, step: int, extra: dict[str, Any]) -> None:
        self.where = where
        self.step = step
        self.extra = extra
        self._steps: list[tuple[Callable[[], None], Callable[[], Callable[[], None]]]] = []

    def add(self, apply: Callable[[], None], snapshot: Callable[[], Callable[[], None]]) -> None:
        """Register ``apply``; ``snapshot()`` is called just before it and returns its undo."""
        self._steps.append((apply, snapshot))

    def apply(self) -> None:
        """Apply every part. Each was checked already; should one still fail, the parts applied
        before it are put back, so the objects end as they began."""
        undo: list[Callable[[], None]] = []
        try:
            for apply, snapshot in self._steps:
                undo.append(snapshot())
                apply()
        except Exception as err:
            for restore in reversed(undo):
                restore()
            raise CheckpointError(
                f"{self.where}: does not fit, nothing was changed: {err}"
            ) from err


def _prepare(
    path: PathLike,
    model: ModelLike,
    optimizer: Optimizer | None,
    scheduler: SchedulerLike | None,
    generators: Mapping[str, Generator] | None,
) -> _PendingLoad:
    """Read ``path`` and check every part against its target; change nothing."""
    where = f"load_checkpoint: {os.fspath(path)}"
    arrays, meta = load_arrays(path)
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{where}: holds arrays but is not a checkpoint")
    step, extra, rng = meta.get("step"), meta.get("extra"), meta.get("rng")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise CheckpointError(f"{where}: the step count is {step!r}, not an integer >= 0")
    if not isinstance(extra, dict):
        raise CheckpointError(f"{where}: 'extra' is a {type(extra).__name__}, not an object")
    if not isinstance(rng, dict):
        raise CheckpointError(f"{where}: 'rng' is a {type(rng).__name__}, not an object")
    pending = _PendingLoad(where, step, extra)
    wrapped = f"{where}: does not fit, nothing was changed"

    model_state = {
        name[len("model/") :]: array for name, array in arrays.items() if name.startswith("model/")
    }
    problems = _model_problems(model, model_state)
    if problems:
        raise CheckpointError(f"{wrapped}: " + "; ".join(problems))

    if optimizer is not None:
        opt_state = _part(where, meta, arrays, "optimizer", optimizer)
        # Optimizer.load_state_dict checks everything and then rebinds param_groups and state,
        # so a shallow copy takes the trial load and the real optimizer is not touched.
        try:
            copy.copy(optimizer).load_state_dict(opt_state)
        except (ValueError, TypeError, KeyError) as err:
            raise CheckpointError(f"{wrapped}: {err}") from err
        pending.add(
            lambda: optimizer.load_state_dict(opt_state),
            lambda: _undo_with(optimizer, optimizer.state_dict()),
        )
    if scheduler is not None:
        sched_state = _part(where, meta, arrays, "scheduler", scheduler)
        own_keys = set(scheduler.state_dict())
        if not isinstance(sched_state, dict) or set(sched_state) != own_keys:
            saved = sorted(sched_state) if isinstance(sched_state, dict) else sched_state
            raise CheckpointError(
                f"{wrapped}: the scheduler state has keys {saved}, the scheduler {sorted(own_keys)}"
            )
        pending.add(
            lambda: scheduler.load_state_dict(sched_state),
            lambda: _undo_with(scheduler, scheduler.state_dict()),
        )
    pending.add(
        lambda: model.load_state_dict(model_state),
        lambda: _undo_with(
            model, {k: np.array(_array(v), copy=True) for k, v in model.state_dict().items()}
        ),
    )

    gens = _generators(generators)
    missing_rng = sorted(set(gens) - set(rng))
    if missing_rng:
        raise CheckpointError(f"{where}: no saved state for generator(s) {missing_rng}")
    for name, g in gens.items():
        state = rng[name]
        try:  # on a scratch bit generator of the same kind: the real one is not touched
            type(g.rng.bit_generator)().state = state
        except (ValueError, TypeError, KeyError) as err:
            raise CheckpointError(f"{wrapped}: generator {name!r}: {err}") from err
        pending.add(_restorer(g, state), _snapshot_generator(g))
    return pending


def _array(value: Any) -> Array:
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def _model_problems(model: ModelLike, state: Mapping[str, Array]) -> list[str]:
    """What keeps ``state`` from loading strictly into ``model`` (as ``load_state_dict`` would
    say it), found without loading it."""
    own = {k: _array(v) for k, v in model.state_dict().items()}
    problems: list[str] = []
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if unexpected:
        problems.append("unexpected key(s) in state_dict: " + ", ".join(unexpected))
    if missing:
        problems.append("missing key(s) in state_dict: " + ", ".join(missing))
    for key, target in own.items():
        if key not in state:
            continue
        array = state[key]
        if array.shape != target.shape:
            problems.append(
                f"size mismatch for {key}: the state has shape {array.shape}, "
                f"the model has shape {target.shape}"
            )
        elif array.dtype.kind not in "biuf":
            problems.append(f"{key}: cannot load values of dtype {array.dtype}")
    return problems


class _Loadable(Protocol):
    def load_state_dict(self, state_dict: Any) -> Any: ...


def _undo_with(owner: _Loadable, state: Any) -> Callable[[], None]:
    return lambda: owner.load_state_dict(state)


def _snapshot_generator(g: Generator) -> Callable[[], Callable[[], None]]:
    return lambda: _restorer(g, g.get_state())


def _part(
    where: str, meta: Mapping[str, Any], arrays: Mapping[str, Array], part: str, owner: object
) -> Any:
    """The saved state of the optimizer or scheduler ``owner``, checked to be its class's."""
    if part not in meta:
        raise CheckpointError(f"{where}: the checkpoint holds no {part} state")
    saved_class, own_class = meta.get(f"{part}_class"), type(owner).__name__
    if saved_class != own_class:
        raise CheckpointError(f"{where}: the {part} state is {saved_class}'s, not {own_class}'s")
    return _join(meta[part], arrays)


def _restorer(g: Generator, state: dict[str, Any]) -> Callable[[], None]:
    return lambda: g.set_state(state)


def _generators(generators: Mapping[str, Generator] | None) -> dict[str, Generator]:
    gens = {"default": default_generator}
    for name, g in (generators or {}).items():
        if name == "default" and g is not default_generator:
            raise ValueError("checkpoint: the generator name 'default' is reserved")
        gens[name] = g
    return gens


_ARRAY_REF = "__array__"


def _split(value: Any, prefix: str, arrays: dict[str, Array]) -> Any:
    """``value`` with every array moved into ``arrays`` and replaced by a reference."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.ndarray):
        arrays[prefix] = value
        return {_ARRAY_REF: prefix}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _split(v, f"{prefix}/{k}", arrays) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_split(v, f"{prefix}/{i}", arrays) for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"save_checkpoint: cannot store {prefix} of type {type(value).__name__}")


def _join(value: Any, arrays: Mapping[str, Array]) -> Any:
    """Undo :func:`_split`."""
    if isinstance(value, dict):
        if set(value) == {_ARRAY_REF}:
            try:
                return arrays[value[_ARRAY_REF]]
            except KeyError:
                raise CheckpointError(
                    f"checkpoint: array {value[_ARRAY_REF]!r} is missing"
                ) from None
        return {k: _join(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_join(v, arrays) for v in value]
    return value
