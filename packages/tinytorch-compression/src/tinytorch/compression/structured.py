"""Structured pruning that removes work: whole output neurons or channels, physically.

:func:`structured_prune` takes a :class:`~tinytorch.layers.Sequential` and, for each chosen
producer (a Linear's output neurons, a Conv2d's output channels), keeps the outputs whose
weights have the largest L2 norm (the rows of a Linear's weight, the filters of a Conv2d, as
``torch.nn.utils.prune.ln_structured(n=2, dim=0)`` ranks them), then cuts what they fed: the
matching entries of a BatchNorm in between, and the input columns of the next Linear or the
input channels of the next Conv2d. Through a ``Flatten`` each channel is a group of ``H * W``
consecutive columns of the Linear after it (channel ``c`` of a ``(C, H, W)`` map lands in
columns ``c*H*W .. (c+1)*H*W - 1``). The result is a new, smaller dense model: fewer FLOPs,
fewer bytes, and a forward that is faster because its matrices are smaller, unlike a mask.

Layers between a producer and its consumer must keep channels as they are: activations,
pooling, dropout, Identity (any module without parameters), a BatchNorm1d/2d, or Flatten. Any
other layer with parameters in between is refused, as is pruning the last producer (its outputs
are the model's). The model is copied; the original is left as it was.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.compression.prune import is_pruned, validate_amount
from tinytorch.layers import Linear, Module, Parameter, Sequential
from tinytorch.tensor import Tensor

__all__ = ["held_bytes", "output_norms", "structured_prune"]

Array = npt.NDArray[np.int64]


def _conv_types() -> tuple[type[Module], type[Module], type[Module]]:
    """Conv2d, the BatchNorm base and Flatten, if the vision extra is installed (else stand-ins
    that nothing is an instance of: then no model can hold them)."""
    try:
        from tinytorch.convolutions import BatchNorm1d, Conv2d, Flatten
    except ImportError:

        class _Absent(Module):
            pass

        return _Absent, _Absent, _Absent
    return Conv2d, BatchNorm1d.__mro__[1], Flatten


def output_norms(layer: Module) -> npt.NDArray[Any]:
    """The L2 norm of each output neuron's (or channel's) weights: over all axes of the weight
    but the first.

    Example:
        >>> from tinytorch.layers import Linear
        >>> layer = Linear(2, 2)
        >>> layer.weight.data[...] = [[3.0, 4.0], [0.0, 1.0]]
        >>> output_norms(layer).tolist()
        [5.0, 1.0]
    """
    w = layer._parameters.get("weight")
    if w is None:
        raise ValueError(f"output_norms: {type(layer).__name__} has no weight parameter")
    # BEGIN SOLUTION output-norms
    # HINT: one row per output (the weight's first axis), everything else flattened; the
    # HINT: L2 norm of each row, in float64.
    # TESTS: structured or largest_norms or counts or conv_channels
    flat = w.data.reshape(w.shape[0], -1).astype(np.float64)
    norms: npt.NDArray[Any] = np.sqrt(np.einsum("ij,ij->i", flat, flat))
    return norms
    # END SOLUTION


def held_bytes(model: Module) -> int:
    """Bytes the model holds: every parameter and buffer, from ``nbytes`` (a pruned tensor's
    ``_orig`` and ``_mask`` both count: a mask saves nothing by itself).

    Example:
        >>> from tinytorch.layers import Linear
        >>> held_bytes(Linear(4, 3))  # (12 + 3) float32
        60
    """
    return sum(int(t.data.nbytes) for t in [*model.parameters(), *model.buffers()])


def _count(amount: int | float, size: int, where: str) -> int:
    n = amount if isinstance(amount, int) else round(amount * size)
    if n >= size:
        raise ValueError(
            f"structured_prune: amount={amount} would remove {n} of the {size} outputs of "
            f"{where}, every one of them; at least one must stay"
        )
    return n


def _keep(layer: Module, n_remove: int) -> Array:
    # BEGIN SOLUTION keep-channels
    # HINT: the indices of the outputs to keep: all but the n_remove of smallest norm (a
    # HINT: stable sort keeps the lower index among equal norms), in increasing order.
    # TESTS: structured or largest_norms or counts or conv_channels
    # Largest norms kept; a stable sort keeps the lower index among equal norms.
    order = np.argsort(-output_norms(layer), kind="stable")
    return np.sort(order[: order.size - n_remove]).astype(np.int64)
    # END SOLUTION


def _new_linear(old: Linear, rows: Array | None, cols: Array | None) -> Linear:
    w = old.weight.data
    w = w if rows is None else w[rows]
    w = w if cols is None else w[:, cols]
    new = Linear(w.shape[1], w.shape[0], bias=old.bias is not None, dtype=w.dtype)
    new.weight = Parameter(np.ascontiguousarray(w))
    if old.bias is not None:
        b = old.bias.data if rows is None else old.bias.data[rows]
        new.bias = Parameter(b.copy())
    new.train(old.training)
    return new


def _new_conv(old: Any, rows: Array | None, cols: Array | None) -> Module:
    w = old.weight.data
    w = w if rows is None else w[rows]
    w = w if cols is None else w[:, cols]
    new = copy.deepcopy(old)
    new.in_channels, new.out_channels = int(w.shape[1]), int(w.shape[0])
    new.weight = Parameter(np.ascontiguousarray(w))
    if old.bias is not None:
        new.bias = Parameter((old.bias.data if rows is None else old.bias.data[rows]).copy())
    result: Module = new
    return result


def _new_norm(old: Any, keep: Array) -> Module:
    new = copy.deepcopy(old)
    new.num_features = int(keep.size)
    for name in ("weight", "bias"):
        p = old._parameters.get(name)
        if p is not None:
            setattr(new, name, Parameter(p.data[keep].copy()))
    for name in ("running_mean", "running_var"):
        b = old._buffers.get(name)
        if b is not None:
            setattr(new, name, Tensor(b.data[keep].copy()))
    result: Module = new
    return result


def structured_prune(
    model: Sequential, amount: int | float, layers: Sequence[int] | None = None
) -> Sequential:
    """A copy of ``model`` with ``amount`` of the outputs of each layer in ``layers`` removed
    (a fraction, rounded as PyTorch rounds, or a count per layer), those with the smallest L2
    norm, and the layers that consumed them cut to match (see the module docstring).

    ``layers`` are positions in ``model``; by default every Linear and Conv2d that has a
    consumer after it (all but the last).

    Example:
        >>> from tinytorch.activations import Sigmoid
        >>> from tinytorch.tensor import randn
        >>> model = Sequential(Linear(64, 128), Sigmoid(), Linear(128, 10))
        >>> small = structured_prune(model, 0.5)
        >>> small[0], small[2], small(randn(3, 64)).shape
        (Linear(in_features=64, out_features=64, bias=True), \
Linear(in_features=64, out_features=10, bias=True), (3, 10))
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"structured_prune: expects a Sequential, got {type(model).__name__}")
    if is_pruned(model):
        raise ValueError(
            "structured_prune: the model holds pruning masks; make them permanent with "
            "remove(module, name) first"
        )
    amount = validate_amount("structured_prune", amount)
    conv_t, norm_t, flatten_t = _conv_types()
    items = list(model)
    producers = [i for i, m in enumerate(items) if isinstance(m, (Linear, conv_t))]
    chosen = set(producers[:-1] if layers is None else layers)
    for i in chosen:
        if isinstance(i, bool) or not isinstance(i, int) or i not in producers:
            raise ValueError(
                f"structured_prune: layer {i!r} is not a Linear or Conv2d of the model; those "
                f"are at {producers}"
            )
    names = {id(m): n for n, m in model.named_children()}
    out: list[tuple[str, Any]] = []
    keep: Array | None = None  # the outputs of the last producer that survive
    kept_from = -1
    flattened = False
    for i, layer in enumerate(items):
        new: Any = layer
        if isinstance(layer, (Linear, conv_t)):
            cols = None
            if keep is not None:
                cols = _input_columns(layer, keep, flattened, items[kept_from], i)
            rows = None
            if i in chosen:
                where = f"layer {i} ({type(layer).__name__})"
                n = _count(amount, layer.weight.shape[0], where)
                if n:
                    rows = _keep(layer, n)
            if rows is None and cols is None:
                new = copy.deepcopy(layer)
            elif isinstance(layer, Linear):
                new = _new_linear(layer, rows, cols)
            else:
                new = _new_conv(layer, rows, cols)
            keep, kept_from, flattened = rows, i, False
        elif keep is not None and isinstance(layer, norm_t):
            new = _new_norm(layer, keep)
        elif keep is not None and isinstance(layer, flatten_t):
            flattened = True
            new = copy.deepcopy(layer)
        elif (
            keep is not None and isinstance(layer, Module) and any(True for _ in layer.parameters())
        ):
            raise ValueError(
                f"structured_prune: layer {i} ({type(layer).__name__}) sits between layer "
                f"{kept_from} and its consumer and has parameters; only activations, pooling, "
                "dropout, BatchNorm and Flatten can be there"
            )
        else:
            new = copy.deepcopy(layer) if isinstance(layer, Module) else layer
        out.append((names.get(id(layer), str(i)), new))
    if keep is not None:
        raise ValueError(
            f"structured_prune: layer {kept_from} is the last Linear/Conv2d: its outputs are the "
            "model's and have no consumer to cut"
        )
    result = Sequential(OrderedDict(out))
    result.train(model.training)
    return result


def _input_columns(consumer: Any, keep: Array, flattened: bool, producer: Any, i: int) -> Array:
    channels = int(producer.weight.shape[0])
    width = int(consumer.weight.shape[1])
    if not flattened:
        if width != channels:
            raise ValueError(
                f"structured_prune: layer {i} takes {width} inputs but the layer before it "
                f"gives {channels}"
            )
        return keep
    if width % channels:
        raise ValueError(
            f"structured_prune: after Flatten, layer {i} takes {width} inputs, not a multiple "
            f"of the {channels} channels before it"
        )
    group = width // channels  # H * W columns per channel
    cols: Array = (keep[:, None] * group + np.arange(group)).reshape(-1)
    return cols
