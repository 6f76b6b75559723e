"""nanoGPT's state-dict names, mapped onto TinyTorch's GPT.

nanoGPT (Karpathy's ``model.py``) and :class:`~tinytorch.transformers.GPT` are the same
architecture with a few different names: nanoGPT nests everything but the head under
``transformer.``, and calls the fused q/k/v projection ``attn.c_attn`` where TinyTorch keeps
``torch.nn.MultiheadAttention``'s ``attn.in_proj_weight`` / ``in_proj_bias`` (the same
``(3 * n_embd, n_embd)`` layout: q rows, then k, then v, heads by reshape) and
``attn.out_proj`` for its ``attn.c_proj``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.layers import StateDictError
from tinytorch.tensor import to_numpy, type_name

__all__ = ["NANOGPT_TO_TINYTORCH", "convert_nanogpt_state_dict", "to_nanogpt_key"]

Array = npt.NDArray[Any]

OP = "GPT.from_nanogpt"

#: nanoGPT name -> TinyTorch name; ``{i}`` is the block index. ``transformer.h.{i}.attn.bias``
#: (the causal-mask buffer of nanoGPT's non-flash path) is dropped, and ``lm_head.weight`` is
#: the tied ``transformer.wte.weight``.
NANOGPT_TO_TINYTORCH: dict[str, str] = {
    "transformer.wte.weight": "wte.weight",
    "transformer.wpe.weight": "wpe.weight",
    "transformer.h.{i}.ln_1.weight": "h.{i}.ln_1.weight",
    "transformer.h.{i}.ln_1.bias": "h.{i}.ln_1.bias",
    "transformer.h.{i}.attn.c_attn.weight": "h.{i}.attn.in_proj_weight",
    "transformer.h.{i}.attn.c_attn.bias": "h.{i}.attn.in_proj_bias",
    "transformer.h.{i}.attn.c_proj.weight": "h.{i}.attn.out_proj.weight",
    "transformer.h.{i}.attn.c_proj.bias": "h.{i}.attn.out_proj.bias",
    "transformer.h.{i}.ln_2.weight": "h.{i}.ln_2.weight",
    "transformer.h.{i}.ln_2.bias": "h.{i}.ln_2.bias",
    "transformer.h.{i}.mlp.c_fc.weight": "h.{i}.mlp.c_fc.weight",
    "transformer.h.{i}.mlp.c_fc.bias": "h.{i}.mlp.c_fc.bias",
    "transformer.h.{i}.mlp.c_proj.weight": "h.{i}.mlp.c_proj.weight",
    "transformer.h.{i}.mlp.c_proj.bias": "h.{i}.mlp.c_proj.bias",
    "transformer.ln_f.weight": "ln_f.weight",
    "transformer.ln_f.bias": "ln_f.bias",
}

_PREFIX = "_orig_mod."  # torch.compile wraps the model, and its state_dict keys, in this
_MASK = re.compile(r"transformer\.h\.(\d{1,9})\.attn\.bias")
# Block indices of at most 9 digits: int() of a crafted 10,000-digit index would itself fail.
_BLOCK = re.compile(r"(transformer\.)?h\.(\d{1,9})\.(.+)")


def _split(name: str) -> tuple[str, str | None]:
    """``name`` with its block index replaced by ``{i}``, and the index (or None)."""
    m = _BLOCK.fullmatch(name)
    if m is None:
        return name, None
    prefix = m.group(1) or ""
    return f"{prefix}h.{{i}}.{m.group(3)}", m.group(2)


_TO_NANOGPT = {ours: theirs for theirs, ours in NANOGPT_TO_TINYTORCH.items()}


def to_nanogpt_key(name: str) -> str:
    """nanoGPT's name for the TinyTorch GPT state name ``name`` (the inverse of the mapping).

    Example:
        >>> to_nanogpt_key("h.3.attn.in_proj_weight")
        'transformer.h.3.attn.c_attn.weight'
        >>> to_nanogpt_key("lm_head.weight")
        'lm_head.weight'
    """
    if name == "lm_head.weight":
        return name
    pattern, index = _split(name)
    if pattern not in _TO_NANOGPT:
        raise KeyError(f"to_nanogpt_key: {name!r} is not a GPT state name")
    return _TO_NANOGPT[pattern].replace("{i}", index or "")


def convert_nanogpt_state_dict(state_dict: Mapping[Any, Any]) -> dict[str, Array]:
    """nanoGPT's ``state_dict`` as NumPy arrays under TinyTorch's GPT names, the tied head once.

    Keys may carry torch.compile's ``_orig_mod.`` prefix. Values may be PyTorch tensors (read
    through ``detach()`` and DLPack or ``__array__``, no copy where the memory allows), NumPy
    arrays or TinyTorch Tensors. The causal-mask buffers ``transformer.h.{i}.attn.bias`` are
    dropped; ``lm_head.weight``, when present, must equal ``transformer.wte.weight`` (nanoGPT
    ties them, and so does TinyTorch's GPT). An unknown key raises ``StateDictError`` naming it.

    Example:
        >>> import numpy as np
        >>> sd = {"_orig_mod.transformer.h.0.attn.c_attn.weight": np.zeros((6, 2)),
        ...       "_orig_mod.transformer.h.0.attn.bias": np.ones((1, 1, 4, 4))}
        >>> list(convert_nanogpt_state_dict(sd))
        ['h.0.attn.in_proj_weight']
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"{OP}: expects a state_dict mapping names to tensors, got {type_name(state_dict)}"
        )
    out: dict[str, Array] = {}
    unknown: list[str] = []
    head: Array | None = None
    for key, value in state_dict.items():
        if not isinstance(key, str):
            unknown.append(repr(key))
            continue
        name = key[len(_PREFIX) :] if key.startswith(_PREFIX) else key
        if _MASK.fullmatch(name):
            continue
        if name == "lm_head.weight":
            head = _as_array(key, value)
            continue
        pattern, index = _split(name)
        if pattern not in NANOGPT_TO_TINYTORCH:
            unknown.append(key)
            continue
        ours = NANOGPT_TO_TINYTORCH[pattern].replace("{i}", index or "")
        if ours in out:
            raise StateDictError(f"{OP}: {key!r} appears twice (with and without {_PREFIX!r})")
        out[ours] = _as_array(key, value)
    if unknown:
        raise StateDictError(
            f"{OP}: unknown key(s) for a nanoGPT model: {', '.join(unknown[:8])}"
            + (f" and {len(unknown) - 8} more" if len(unknown) > 8 else "")
        )
    if head is not None:
        wte = out.get("wte.weight")
        if wte is None or wte.shape != head.shape or not np.array_equal(wte, head):
            raise StateDictError(
                f"{OP}: lm_head.weight {head.shape} is not the tied transformer.wte.weight "
                f"({None if wte is None else wte.shape}); TinyTorch's GPT ties the two"
            )
    return out


def _as_array(key: str, value: Any) -> Array:
    try:
        return to_numpy(value)
    except TypeError as err:
        raise StateDictError(
            f"{OP}: {key}: {err}; convert it, e.g. with .float() for bfloat16"
        ) from None
