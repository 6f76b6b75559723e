"""Checkpoints that cannot run code, cannot be half-written and cannot be silently corrupted.

The container is a NumPy ``.npz`` (a zip of ``.npy`` files), read back with
``allow_pickle=False``: loading one never executes anything. Beside the arrays it holds a JSON
manifest (the format version, each array's name, dtype and shape, the caller's metadata) and a
SHA-256 over all of it, recomputed on load. The file is written to a temporary file in the same
directory, flushed to disk and moved into place with ``os.replace``, so a crash leaves either
the old file or the new one, never a mixture.

``save_arrays`` / ``load_arrays`` are the generic layer (module 13's GPT uses them directly);
``save_checkpoint`` / ``load_checkpoint`` put a model, an optimizer, a scheduler, a step count
and the random generators' states on top, so that a resumed run continues exactly.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from typing import IO, Any, Protocol

import numpy as np
import numpy.typing as npt

from tinytorch.optimizers import Optimizer
from tinytorch.tensor import Generator, Tensor, default_generator

__all__ = [
    "CheckpointError",
    "load_arrays",
    "load_checkpoint",
    "save_arrays",
    "save_checkpoint",
]

Array = npt.NDArray[Any]
PathLike = str | os.PathLike[str]

FORMAT = "tinytorch-arrays"
VERSION = 1
MANIFEST = "__tinytorch_manifest__"
CHECKPOINT_FORMAT = "tinytorch-checkpoint"


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

    Arrays keep their dtype, shape and every bit; object arrays are refused (they would need
    pickle to load). Metadata goes through JSON: tuples come back as lists, dict keys as str.

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
        if not isinstance(name, str) or not name or "\0" in name or name == MANIFEST:
            raise ValueError(f"save_arrays: invalid array name {name!r}")
        array = value.data if isinstance(value, Tensor) else value
        if not isinstance(array, np.ndarray):
            raise TypeError(
                f"save_arrays: {name!r} must be a numpy array or Tensor, got {type(value).__name__}"
            )
        if array.dtype.hasobject:
            raise TypeError(f"save_arrays: {name!r} has dtype object, which needs pickle to load")
        entries[name] = array
    try:
        meta_json = _canonical_json(dict(metadata or {}))
    except (TypeError, ValueError) as err:
        raise TypeError(f"save_arrays: metadata is not JSON-serialisable: {err}") from None
    listing = [[name, a.dtype.str, list(a.shape)] for name, a in entries.items()]
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "arrays": listing,
        "metadata": json.loads(meta_json),
        "sha256": _digest(entries, meta_json),
    }
    manifest_bytes = np.frombuffer(_canonical_json(manifest).encode("utf-8"), dtype=np.uint8)

    def write(f: IO[bytes]) -> None:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, array in [*entries.items(), (MANIFEST, manifest_bytes)]:
                with zf.open(name + ".npy", "w", force_zip64=True) as entry:
                    np.lib.format.write_array(entry, array, allow_pickle=False)

    _atomic_write(path, write)


def load_arrays(path: PathLike) -> tuple[dict[str, Array], dict[str, Any]]:
    """Read a file written by :func:`save_arrays`: ``(arrays, metadata)``, bit-exact.

    The SHA-256 is recomputed and compared; a truncated, corrupted or edited file raises
    :class:`CheckpointError` saying which, and a missing file ``FileNotFoundError``.

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
    try:
        # Our own handle: np.load leaks the one it opens when the archive is unreadable.
        with open(path, "rb") as f:
            npz = np.load(f, allow_pickle=False)
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise CheckpointError(f"{where}: a bare .npy array, not a checkpoint archive")
            names = set(npz.files)
            if MANIFEST not in names:
                raise CheckpointError(f"{where}: no manifest; not written by save_arrays")
            manifest = json.loads(bytes(npz[MANIFEST]).decode("utf-8"))
            if manifest.get("format") != FORMAT:
                raise CheckpointError(f"{where}: unknown format {manifest.get('format')!r}")
            if manifest.get("version") != VERSION:
                raise CheckpointError(
                    f"{where}: format version {manifest.get('version')!r}; this reader knows "
                    f"version {VERSION}"
                )
            listed = {name: (dtype, tuple(shape)) for name, dtype, shape in manifest["arrays"]}
            extra = names - set(listed) - {MANIFEST}
            missing = set(listed) - names
            if extra or missing:
                raise CheckpointError(
                    f"{where}: archive and manifest disagree (missing {sorted(missing)}, "
                    f"unlisted {sorted(extra)})"
                )
            arrays: dict[str, Array] = {}
            for name, (dtype, shape) in listed.items():
                array = npz[name]
                if array.dtype.str != dtype or array.shape != shape:
                    raise CheckpointError(
                        f"{where}: array {name!r} is {array.dtype.str}{array.shape}, the "
                        f"manifest says {dtype}{shape}"
                    )
                arrays[name] = array
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(
            f"{where}: unreadable, the file is truncated or corrupt ({type(err).__name__}: {err})"
        ) from None
    meta_json = _canonical_json(manifest["metadata"])
    if _digest(arrays, meta_json) != manifest.get("sha256"):
        raise CheckpointError(
            f"{where}: SHA-256 mismatch, the content was modified after it was written"
        )
    return arrays, manifest["metadata"]


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True)


def _digest(arrays: Mapping[str, Array], meta_json: str) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = arrays[name]
        header = _canonical_json([name, a.dtype.str, list(a.shape)])
        h.update(header.encode("utf-8") + b"\0")
        h.update(np.ascontiguousarray(a).reshape(-1).view(np.uint8).data)
    h.update(meta_json.encode("utf-8"))
    return h.hexdigest()


def _atomic_write(path: PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Write through ``write`` to a temporary sibling of ``path``, fsync, then rename over it."""
    target = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        mode = os.stat(target).st_mode & 0o777 if os.path.exists(target) else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # The rename itself is durable only once the directory entry is on disk.
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


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

    The file is verified first, then everything is loaded or nothing is: if any part does not
    fit (a missing key, a shape, another optimizer's state), every object is put back as it was
    and :class:`CheckpointError` says what did not fit. The default generator's state is
    restored, and that of each generator named in ``generators``.

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
    where = f"load_checkpoint: {os.fspath(path)}"
    arrays, meta = load_arrays(path)
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{where}: holds arrays but is not a checkpoint")
    model_state = {
        name[len("model/") :]: array for name, array in arrays.items() if name.startswith("model/")
    }
    opt_state = None if optimizer is None else _part(where, meta, arrays, "optimizer", optimizer)
    sched_state = None if scheduler is None else _part(where, meta, arrays, "scheduler", scheduler)
    gens = _generators(generators)
    missing_rng = sorted(set(gens) - set(meta["rng"]))
    if missing_rng:
        raise CheckpointError(f"{where}: no saved state for generator(s) {missing_rng}")

    # Snapshot, load, and on any failure put everything back: all or nothing.
    undo: list[Callable[[], None]] = []
    before_model = {k: np.array(v.data, copy=True) for k, v in model.state_dict().items()}
    try:
        model.load_state_dict(model_state)
        undo.append(lambda: model.load_state_dict(before_model))
        if optimizer is not None:
            before_opt = optimizer.state_dict()
            optimizer.load_state_dict(opt_state)  # type: ignore[arg-type]
            undo.append(lambda: optimizer.load_state_dict(before_opt))
        if scheduler is not None:
            before_sched = scheduler.state_dict()
            scheduler.load_state_dict(sched_state)  # type: ignore[arg-type]
            undo.append(lambda: scheduler.load_state_dict(before_sched))
        for name, g in gens.items():
            undo.append(_restorer(g, g.get_state()))
            g.set_state(meta["rng"][name])
    except Exception as err:
        for restore in reversed(undo):
            restore()
        raise CheckpointError(f"{where}: does not fit, nothing was changed: {err}") from err
    return {"step": meta["step"], "extra": meta["extra"]}


def _part(
    where: str, meta: Mapping[str, Any], arrays: Mapping[str, Array], part: str, owner: object
) -> Any:
    """The saved state of the optimizer or scheduler ``owner``, checked to be its class's."""
    if part not in meta:
        raise CheckpointError(f"{where}: the checkpoint holds no {part} state")
    saved_class, own_class = meta[f"{part}_class"], type(owner).__name__
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
