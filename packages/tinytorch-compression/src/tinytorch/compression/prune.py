"""Unstructured pruning by masks, with ``torch.nn.utils.prune``'s names and reparametrisation.

Pruning ``name`` of a module moves the parameter to ``name + "_orig"`` (the same Parameter
object, so an optimizer built before still updates it), adds a buffer ``name + "_mask"`` (ones
where a weight is kept, zeros where it is pruned, of the parameter's dtype) and makes ``name`` a
plain tensor ``orig * mask``, recomputed by a forward pre-hook before every forward. The gradient
that reaches ``orig`` is ``grad * mask``, and whatever an optimizer does to ``orig`` (momentum,
weight decay), the weight the forward uses is exactly zero where the mask is: pruned weights
stay pruned through fine-tuning. :func:`remove` makes it permanent: ``name`` becomes a Parameter
again holding ``orig * mask``, and the hook, ``_orig`` and ``_mask`` are gone.

Pruning a tensor again composes, as PyTorch's ``PruningContainer`` does: an unstructured method
prunes only among the entries that are still kept, and its ``amount`` counts those (pruning 50%
twice keeps 25%). That is what an iterative schedule needs (:mod:`tinytorch.compression.schedule`).

Ties: :class:`L1Unstructured` prunes the ``k`` smallest magnitudes; where several entries share
the ``k``-th smallest magnitude, it prunes those with the lowest flat index first. PyTorch takes
them from ``torch.topk``, whose choice among equal values follows its sorting routine and is not
specified, so the two masks agree everywhere except, possibly, on which of several equal
magnitudes at the threshold are pruned (the count is always the same).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from tinytorch.layers import Module
from tinytorch.tensor import Generator, Tensor, default_generator, graph

__all__ = [
    "BasePruningMethod",
    "CustomFromMask",
    "L1Unstructured",
    "PruningContainer",
    "RandomUnstructured",
    "custom_from_mask",
    "global_unstructured",
    "is_pruned",
    "l1_unstructured",
    "random_unstructured",
    "remove",
]

Array = npt.NDArray[Any]
Amount = int | float


# ---- amounts (PyTorch's rules) ------------------------------------------------------------
def validate_amount(op: str, amount: object) -> Amount:
    """``amount`` as PyTorch takes it: a float in ``[0, 1]`` (a fraction) or an int ``>= 0``
    (a count); anything else is refused, naming ``op`` and the value.

    Example:
        >>> validate_amount("l1_unstructured", 0.5), validate_amount("l1_unstructured", 3)
        (0.5, 3)
        >>> validate_amount("l1_unstructured", 1.5)
        Traceback (most recent call last):
        ...
        ValueError: l1_unstructured: amount=1.5 should be a float in [0, 1] or an int >= 0
    """
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(
            f"{op}: amount must be an int (a count) or a float (a fraction), got "
            f"{type(amount).__name__} {amount!r}"
        )
    if isinstance(amount, numbers.Integral):
        if amount < 0:
            raise ValueError(f"{op}: amount={amount} should be a float in [0, 1] or an int >= 0")
        return int(amount)
    value = float(amount)
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        raise ValueError(f"{op}: amount={amount} should be a float in [0, 1] or an int >= 0")
    return value


def amount_to_count(op: str, amount: Amount, size: int) -> int:
    """How many of ``size`` entries ``amount`` prunes: an int as it is (refused above ``size``),
    a fraction rounded as PyTorch rounds it (Python's ``round``, half to even).

    Example:
        >>> amount_to_count("prune", 0.25, 10), amount_to_count("prune", 0.35, 10), \
amount_to_count("prune", 4, 10)
        (2, 4, 4)
    """
    if isinstance(amount, int):
        if amount > size:
            raise ValueError(
                f"{op}: amount={amount} is more than the {size} entries that can still be pruned"
            )
        return amount
    return round(amount * size)


# ---- methods ------------------------------------------------------------------------------
class BasePruningMethod:
    """A way of computing a mask, and the forward pre-hook that applies it
    (``torch.nn.utils.prune.BasePruningMethod``).

    A subclass sets ``PRUNING_TYPE`` (``"unstructured"`` or ``"global"``) and defines
    :meth:`compute_mask`. ``apply(module, name, ...)`` prunes ``module.name``; calling the
    method object as a hook sets ``module.name = module.name_orig * module.name_mask``.

    Example:
        >>> from tinytorch.layers import Linear
        >>> layer = Linear(4, 3)
        >>> method = L1Unstructured.apply(layer, "weight", amount=6)
        >>> int((layer.weight.data == 0).sum()), method._tensor_name
        (6, 'weight')
    """

    PRUNING_TYPE: ClassVar[str] = "unstructured"
    _tensor_name: str

    def compute_mask(self, t: Array, default_mask: Array) -> Array:
        """The new mask for importance scores ``t``, starting from ``default_mask``."""
        raise NotImplementedError(f"{type(self).__name__}: compute_mask is not defined")

    def apply_mask(self, module: Module) -> Tensor:
        """``module.<name>_orig * module.<name>_mask``: the tensor the forward uses."""
        # BEGIN SOLUTION prune-apply-mask
        # HINT: the pruned tensor is the trained original (<name>_orig) times its mask
        # HINT: (<name>_mask), as a recorded product so the original still gets its gradient.
        # TESTS: test_prune or test_sparsity or pruned_linear
        orig = getattr(module, self._tensor_name + "_orig")
        mask = getattr(module, self._tensor_name + "_mask")
        result: Tensor = orig * mask
        return result
        # END SOLUTION

    def __call__(self, module: Module, inputs: tuple[Any, ...]) -> None:
        # The forward pre-hook: recompute the pruned tensor from the parameter the optimizer
        # updates, so that the forward never sees a pruned entry that is not exactly zero.
        setattr(module, self._tensor_name, self.apply_mask(module))

    @classmethod
    def apply(
        cls,
        module: Module,
        name: str,
        *args: Any,
        importance_scores: Tensor | Array | None = None,
        **kwargs: Any,
    ) -> BasePruningMethod:
        """Prune ``module.<name>`` with ``cls(*args, **kwargs)``, composing with a pruning
        already applied to it (see the module docstring); returns the method in the hook.

        Example:
            >>> from tinytorch.layers import Linear
            >>> layer = Linear(10, 10)
            >>> _ = L1Unstructured.apply(layer, "weight", amount=0.5)
            >>> method = L1Unstructured.apply(layer, "weight", amount=0.5)
            >>> type(method).__name__, int((layer.weight_mask.data == 0).sum())
            ('PruningContainer', 75)
        """
        return _apply(cls(*args, **kwargs), module, name, importance_scores)

    def prune(self, t: Tensor | Array, default_mask: Array | None = None) -> Array:
        """``t`` with this method's mask applied (an array; nothing is registered)."""
        data = _array(t)
        base = np.ones_like(data) if default_mask is None else default_mask
        return data * self.compute_mask(data, base)

    def remove(self, module: Module) -> None:
        """Make the pruning of ``module`` permanent (see :func:`remove`)."""
        name = self._tensor_name
        orig = module._parameters[name + "_orig"]
        mask = module._buffers[name + "_mask"]
        assert orig is not None
        assert mask is not None
        if name in module.__dict__:
            delattr(module, name)
        del module._parameters[name + "_orig"]
        del module._buffers[name + "_mask"]
        # The same Parameter object keeps living, as in PyTorch: an optimizer that holds it
        # goes on updating the layer's weight.
        orig.data = orig.data * mask.data
        graph.bump_version(orig)
        setattr(module, name, orig)


class PruningContainer(BasePruningMethod):
    """The methods applied to one tensor, in order (``torch.nn.utils.prune.PruningContainer``):
    the newest one computes its mask on what the mask in place keeps.

    Example:
        >>> container = PruningContainer(L1Unstructured(amount=2))
        >>> container.add_pruning_method(L1Unstructured(amount=1))
        >>> kept = np.array([1.0, 0.0, 1.0, 0.0])  # what the first method left of [4, 1, 3, 2]
        >>> container.compute_mask(np.array([4.0, 1.0, 3.0, 2.0]), kept).tolist()
        [1.0, 0.0, 0.0, 0.0]
    """

    def __init__(self, *methods: BasePruningMethod) -> None:
        self._pruning_methods: tuple[BasePruningMethod, ...] = ()
        for method in methods:
            self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        """Append ``method``; it must prune the same tensor as the methods already held."""
        if not isinstance(method, BasePruningMethod):
            raise TypeError(f"PruningContainer: {type(method).__name__} is not a pruning method")
        held = getattr(self, "_tensor_name", None)
        other = getattr(method, "_tensor_name", None)
        if held is not None and other is not None and held != other:
            raise ValueError(
                f"PruningContainer: cannot add a method for {other!r} to a container for {held!r}"
            )
        if held is None and other is not None:
            self._tensor_name = other
        self._pruning_methods = (*self._pruning_methods, method)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self) -> Iterable[BasePruningMethod]:
        return iter(self._pruning_methods)

    def __getitem__(self, index: int) -> BasePruningMethod:
        return self._pruning_methods[index]

    def compute_mask(self, t: Array, default_mask: Array) -> Array:
        """The last method's mask, computed on the entries ``default_mask`` keeps (an
        unstructured method) or on all of them (a global one, such as :class:`CustomFromMask`)."""
        method = self._pruning_methods[-1]
        # BEGIN SOLUTION prune-compose
        # HINT: an unstructured method prunes only among the entries still kept (mask == 1):
        # HINT: run it on those and write its answer back into a copy of the mask at their
        # HINT: places; a global method sees every entry and the whole current mask.
        # TESTS: repeated or twice or composes or global or iterative
        mask = default_mask.astype(t.dtype, copy=True)
        if method.PRUNING_TYPE == "unstructured":
            keep = default_mask == 1
            mask[keep] = method.compute_mask(t[keep], default_mask[keep])
            return mask
        if method.PRUNING_TYPE == "global":
            return method.compute_mask(t, mask)
        # END SOLUTION
        raise ValueError(
            f"PruningContainer: unsupported PRUNING_TYPE {method.PRUNING_TYPE!r} of "
            f"{type(method).__name__}"
        )


class L1Unstructured(BasePruningMethod):
    """Prune the ``amount`` entries of smallest absolute value
    (``torch.nn.utils.prune.L1Unstructured``; ties: see the module docstring).

    Example:
        >>> L1Unstructured(amount=0.5).compute_mask(np.array([0.1, -3.0, 0.2, 2.0]),
        ...                                         np.ones(4)).tolist()
        [0.0, 1.0, 0.0, 1.0]
    """

    PRUNING_TYPE: ClassVar[str] = "unstructured"

    def __init__(self, amount: Amount) -> None:
        self.amount = validate_amount("L1Unstructured", amount)

    def compute_mask(self, t: Array, default_mask: Array) -> Array:
        """Zero the mask at the ``k`` smallest ``|t|``, lowest flat index first among ties."""
        k = amount_to_count("L1Unstructured", self.amount, t.size)
        # BEGIN SOLUTION l1-mask
        # HINT: a copy of the mask with zeros at the k entries of smallest |t|; sort the flat
        # HINT: magnitudes stably, so that among equal ones the lowest index goes first.
        # TESTS: test_prune or test_sparsity or pruned_linear
        mask = np.array(default_mask, dtype=default_mask.dtype, copy=True)
        if k:
            # A stable sort: among equal magnitudes the lowest index comes first.
            order = np.argsort(np.abs(t).reshape(-1), kind="stable")
            mask.reshape(-1)[order[:k]] = 0
        return mask
        # END SOLUTION


class RandomUnstructured(BasePruningMethod):
    """Prune ``amount`` entries chosen uniformly at random
    (``torch.nn.utils.prune.RandomUnstructured``; our generator, so not PyTorch's draws).

    Example:
        >>> from tinytorch.tensor import Generator
        >>> method = RandomUnstructured(3, generator=Generator(0))
        >>> mask = method.compute_mask(np.ones(8), np.ones(8))
        >>> int(mask.sum())
        5
    """

    PRUNING_TYPE: ClassVar[str] = "unstructured"

    def __init__(self, amount: Amount, generator: Generator | None = None) -> None:
        self.amount = validate_amount("RandomUnstructured", amount)
        self.generator = generator

    def compute_mask(self, t: Array, default_mask: Array) -> Array:
        """Zero the mask at ``k`` random positions."""
        k = amount_to_count("RandomUnstructured", self.amount, t.size)
        # BEGIN SOLUTION random-mask
        # HINT: a copy of the mask with zeros at k distinct positions drawn with the generator
        # HINT: (the default one if none).
        # TESTS: random
        mask = np.array(default_mask, dtype=default_mask.dtype, copy=True)
        if k:
            rng = (self.generator or default_generator).rng  # as tinytorch's random functions
            mask.reshape(-1)[rng.permutation(t.size)[:k]] = 0
        return mask
        # END SOLUTION


class CustomFromMask(BasePruningMethod):
    """Prune where a given ``mask`` is 0 (``torch.nn.utils.prune.CustomFromMask``); a global
    method: it multiplies the mask already in place.

    Example:
        >>> CustomFromMask(np.array([1.0, 0.0, 1.0])).compute_mask(np.ones(3),
        ...                                                     np.array([0.0, 1.0, 1.0])).tolist()
        [0.0, 0.0, 1.0]
    """

    PRUNING_TYPE: ClassVar[str] = "global"

    def __init__(self, mask: Tensor | Array) -> None:
        self.mask = _array(mask)

    def compute_mask(self, t: Array, default_mask: Array) -> Array:
        """``default_mask * mask``."""
        if self.mask.shape != default_mask.shape:
            raise ValueError(
                f"CustomFromMask: mask of shape {self.mask.shape} does not match the tensor's "
                f"shape {default_mask.shape}"
            )
        return (default_mask * self.mask).astype(default_mask.dtype)


# ---- applying, finding and removing ----------------------------------------------------------
def _array(t: Tensor | Array) -> Array:
    return t.data if isinstance(t, Tensor) else np.asarray(t)


def _hook_of(module: Module, name: str) -> tuple[int, BasePruningMethod] | None:
    """The pruning hook of ``module.<name>``, with its key, or ``None``."""
    # The hook table is where PyTorch's prune looks too: the method lives in the hook, so
    # deep copies and pickles of the module carry it with them.
    found = [
        (key, hook)
        for key, hook in module._forward_pre_hooks.items()
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name
    ]
    if len(found) > 1:
        raise RuntimeError(f"prune: {name!r} of {type(module).__name__} has {len(found)} hooks")
    return found[0] if found else None


def _check_target(op: str, module: object, name: object) -> Tensor:
    if not isinstance(module, Module):
        raise TypeError(f"{op}: module must be a Module, got {type(module).__name__}")
    if not isinstance(name, str):
        raise TypeError(f"{op}: name must be a str, got {type(name).__name__}")
    if _hook_of(module, name) is not None:
        current: Tensor = getattr(module, name)
        return current
    param = module._parameters.get(name)
    if param is None:
        names = [n for n, p in module._parameters.items() if p is not None]
        raise ValueError(
            f"{op}: {type(module).__name__} has no parameter named {name!r}; its parameters "
            f"are {names}"
        )
    return param


def _apply(
    method: BasePruningMethod,
    module: Module,
    name: str,
    importance_scores: Tensor | Array | None,
) -> BasePruningMethod:
    op = type(method).__name__
    current = _check_target(op, module, name)
    method._tensor_name = name
    found = _hook_of(module, name)
    scores = current.data if importance_scores is None else _array(importance_scores)
    if scores.shape != current.shape:
        raise ValueError(
            f"{op}: importance_scores of shape {scores.shape} do not match {name!r} of shape "
            f"{current.shape}"
        )
    orig = module._parameters.get(name)
    if found is None:
        assert orig is not None  # _check_target found it
        default_mask: Array = np.ones_like(orig.data)
        hook: BasePruningMethod = method
    else:
        key, old = found
        mask_buffer = getattr(module, name + "_mask")
        default_mask = np.array(mask_buffer.data, copy=True)
        container = old if isinstance(old, PruningContainer) else PruningContainer(old)
        container.add_pruning_method(method)
        hook = container
    # Compute before changing anything: a refused amount leaves the module as it was.
    mask = hook.compute_mask(scores, default_mask)
    if found is None:
        assert orig is not None
        module.register_parameter(name + "_orig", orig)
        del module._parameters[name]
        module.register_buffer(name + "_mask", Tensor(mask.astype(orig.dtype)))
        module.register_forward_pre_hook(hook)
    else:
        module._buffers[name + "_mask"] = Tensor(mask.astype(mask_buffer.dtype))
        if not isinstance(old, PruningContainer):
            del module._forward_pre_hooks[key]
            module.register_forward_pre_hook(hook)
    hook(module, ())
    return hook


def l1_unstructured(
    module: Module, name: str, amount: Amount, importance_scores: Tensor | Array | None = None
) -> Module:
    """Prune the ``amount`` entries of ``module.<name>`` with the smallest magnitude
    (``torch.nn.utils.prune.l1_unstructured``): a fraction in ``[0, 1]`` or a count. Returns the
    module.

    Example:
        >>> from tinytorch.layers import Linear
        >>> layer = l1_unstructured(Linear(8, 4), "weight", amount=0.75)
        >>> sorted(dict(layer.named_buffers())), int((layer.weight.data != 0).sum())
        (['weight_mask'], 8)
    """
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_unstructured(
    module: Module, name: str, amount: Amount, generator: Generator | None = None
) -> Module:
    """Prune ``amount`` random entries of ``module.<name>``
    (``torch.nn.utils.prune.random_unstructured``). Returns the module.

    Example:
        >>> from tinytorch.layers import Linear
        >>> from tinytorch.tensor import Generator
        >>> layer = random_unstructured(Linear(5, 4), "weight", 0.5, generator=Generator(0))
        >>> int((layer.weight_mask.data == 0).sum())
        10
    """
    RandomUnstructured.apply(module, name, amount=amount, generator=generator)
    return module


def custom_from_mask(module: Module, name: str, mask: Tensor | Array) -> Module:
    """Prune ``module.<name>`` where ``mask`` is 0 (``torch.nn.utils.prune.custom_from_mask``).

    Example:
        >>> from tinytorch.layers import Linear
        >>> layer = custom_from_mask(Linear(2, 2), "weight", np.array([[1, 0], [0, 1]]))
        >>> layer.weight_mask.tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    CustomFromMask.apply(module, name, mask=mask)
    return module


def global_unstructured(
    parameters: Iterable[tuple[Module, str]],
    pruning_method: type[BasePruningMethod],
    importance_scores: Mapping[tuple[Module, str], Tensor | Array] | None = None,
    **kwargs: Any,
) -> None:
    """Prune the ``(module, name)`` tensors together, as one vector
    (``torch.nn.utils.prune.global_unstructured``): with ``L1Unstructured`` and ``amount=0.9``
    the 90% smallest magnitudes across all of them, wherever they are; entries already pruned
    are not counted again.

    Example:
        >>> from tinytorch.layers import Linear
        >>> a, b = Linear(4, 4), Linear(4, 4)
        >>> b.weight.data *= 100  # b's weights are all larger than a's
        >>> global_unstructured([(a, "weight"), (b, "weight")], L1Unstructured, amount=16)
        >>> int((a.weight.data == 0).sum()), int((b.weight.data == 0).sum())
        (16, 0)
    """
    targets: Sequence[tuple[Module, str]] = list(parameters)
    if not targets:
        raise ValueError("global_unstructured: no parameters to prune")
    if not (isinstance(pruning_method, type) and issubclass(pruning_method, BasePruningMethod)):
        raise TypeError(
            f"global_unstructured: pruning_method must be a pruning method class, got "
            f"{pruning_method!r}"
        )
    scores_of = importance_scores or {}
    tensors = [_check_target("global_unstructured", m, n) for m, n in targets]
    # BEGIN SOLUTION global-prune
    # HINT: flatten every tensor's importance scores (its own values unless given) and current
    # HINT: mask into one vector each, compute one mask over all of them with the method (in a
    # HINT: PruningContainer, so pruned entries are not counted again), then cut the result
    # HINT: back into each tensor's shape and apply it with custom_from_mask.
    # TESTS: global or iterative
    scores = np.concatenate(
        [
            _array(scores_of.get((m, n), t)).reshape(-1)
            for (m, n), t in zip(targets, tensors, strict=True)
        ]
    )
    default_mask = np.concatenate(
        [
            (getattr(m, n + "_mask").data if _hook_of(m, n) else np.ones_like(t.data)).reshape(-1)
            for (m, n), t in zip(targets, tensors, strict=True)
        ]
    )
    method = pruning_method(**kwargs)
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(
            f"global_unstructured: only unstructured methods prune globally, got "
            f"{pruning_method.__name__} ({method.PRUNING_TYPE})"
        )
    container = PruningContainer(method)
    final = container.compute_mask(scores.astype(np.float64), default_mask.astype(np.float64))
    start = 0
    for (module, name), t in zip(targets, tensors, strict=True):
        part = final[start : start + t.numel()].reshape(t.shape)
        custom_from_mask(module, name, part)
        start += t.numel()
    # END SOLUTION


def remove(module: Module, name: str) -> Module:
    """Make the pruning of ``module.<name>`` permanent (``torch.nn.utils.prune.remove``): the
    parameter holds ``orig * mask`` again under ``name``, and the hook, ``_orig`` and ``_mask``
    are gone. Refused if ``name`` is not pruned.

    Example:
        >>> from tinytorch.layers import Linear
        >>> layer = remove(l1_unstructured(Linear(3, 2), "weight", 2), "weight")
        >>> sorted(layer.state_dict()), int((layer.weight.data == 0).sum())
        (['bias', 'weight'], 2)
    """
    if not isinstance(module, Module):
        raise TypeError(f"remove: module must be a Module, got {type(module).__name__}")
    found = _hook_of(module, name)
    if found is None:
        raise ValueError(
            f"remove: parameter {name!r} of {type(module).__name__} has to be pruned before "
            "pruning can be removed"
        )
    key, method = found
    method.remove(module)
    del module._forward_pre_hooks[key]
    return module


def is_pruned(module: Module) -> bool:
    """Whether ``module`` or any module inside it has a pruning hook
    (``torch.nn.utils.prune.is_pruned``).

    Example:
        >>> from tinytorch.layers import Linear, Sequential
        >>> model = Sequential(Linear(2, 2), Linear(2, 2))
        >>> is_pruned(model), is_pruned(l1_unstructured(model[1], "weight", 1))
        (False, True)
        >>> is_pruned(model)
        True
    """
    return any(
        isinstance(hook, BasePruningMethod)
        for m in module.modules()
        for hook in m._forward_pre_hooks.values()
    )
