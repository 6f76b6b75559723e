"""The Tensor: an n-dimensional NumPy array that can remember how it was computed."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple, SupportsIndex, Union, overload

import numpy as np
import numpy.typing as npt

from tinytorch.tensor import graph
from tinytorch.tensor.graph import Node

Array = npt.NDArray[Any]
Scalar = Union[int, float, bool]  # noqa: UP007 (a runtime alias, next to a forward ref)
TensorLike = Union["Tensor", Scalar, Array, Sequence[Any]]
Shape = tuple[int, ...]

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
int32 = np.dtype(np.int32)
bool_ = np.dtype(np.bool_)


_NUMERIC = "biuf"  # the dtype kinds a Tensor holds: bool, signed and unsigned ints, floats


def _to_array(data: Any, dtype: npt.DTypeLike | None) -> Array:
    """Convert user data, following PyTorch: Python floats become float32, ints int64."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray) and dtype is None:
        array = data  # the hot path (ops wrapping arrays): no conversion, no copy
    else:
        try:
            array = np.asarray(data, dtype=dtype)
        except ValueError as err:
            if "inhomogeneous" in str(err) or "sequence" in str(err):
                # NumPy's own words ("setting an array element with a sequence") name no list.
                raise ValueError(
                    f"tensor: ragged nested sequence: every list at one depth must have the same "
                    f"length ({str(err).split('. ', 1)[-1]})"
                ) from None
            raise ValueError(f"tensor: cannot convert {type(data).__name__}: {err}") from None
        if dtype is None and not isinstance(data, np.generic):
            if array.dtype.kind == "f":
                array = array.astype(np.float32)
            elif array.dtype.kind in "iu":
                array = array.astype(np.int64)
    if array.dtype.kind not in _NUMERIC:
        raise TypeError(
            f"tensor: cannot make a Tensor of dtype {array.dtype} (from "
            f"{type(data).__name__}); a Tensor holds bool, integer or floating-point numbers"
        )
    return array


class Tensor:
    """An n-dimensional array of numbers, with optional gradient tracking.

    ``Tensor`` wraps a NumPy array (``.data``). Floating data defaults to float32, integers to
    int64 (indices) and booleans stay bool (masks). Arithmetic follows NumPy broadcasting. When an
    input has ``requires_grad=True``, each op records a :class:`~tinytorch.tensor.graph.Node`, and
    ``backward()`` (given by ``tinytorch-autograd``) fills ``.grad`` of the leaves.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> x = Tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> (x @ x.T + 1).sum(axis=1)
        tensor([18., 38.])
    """

    # ``_vc``: the version counter, a one-element list shared by every tensor that views the
    # same memory (None until the first write or view, so ops pay nothing for it).
    # ``_hooks``: backward hooks and retain_grad, run by the engine (None when there are none).
    __slots__ = ("__weakref__", "_hooks", "_node", "_vc", "data", "grad", "requires_grad")
    __array_priority__ = 1000  # make ``ndarray + Tensor`` defer to Tensor.__radd__

    data: Array
    grad: Tensor | None
    requires_grad: bool
    _node: Node | None
    _vc: list[int] | None
    _hooks: graph.TensorHooks | None

    def __init__(
        self, data: TensorLike, dtype: npt.DTypeLike | None = None, requires_grad: bool = False
    ) -> None:
        self.data = _to_array(data, dtype)
        self.grad = None
        self._node = None
        self._vc = None
        self._hooks = None
        self.requires_grad = False
        if isinstance(data, Tensor) and self.data is data.data:
            graph.share_version(self, data)  # the same memory: writes through one show in both
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array: Array) -> Tensor:
        """A new Tensor on ``array`` without conversion (the hot path of every op)."""
        t = object.__new__(cls)
        t.data = array
        t.grad = None
        t._node = None
        t._vc = None
        t._hooks = None
        t.requires_grad = False
        return t

    # ---- metadata -------------------------------------------------------------------------
    @property
    def shape(self) -> Shape:
        """The size of each dimension, a tuple (``size()`` gives the same)."""
        return self.data.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        """The NumPy dtype of the elements."""
        return self.data.dtype

    @property
    def ndim(self) -> int:
        """The number of dimensions (``dim()`` gives the same)."""
        return self.data.ndim

    @overload
    def size(self) -> Shape: ...
    @overload
    def size(self, dim: SupportsIndex) -> int: ...
    def size(self, dim: SupportsIndex | None = None) -> Shape | int:
        """The shape, or the size of dimension ``dim`` (negative counts from the end).

        Example:
            >>> x = Tensor(np.zeros((2, 3)))
            >>> x.size(), x.size(0), x.size(-1)
            ((2, 3), 2, 3)
        """
        if dim is None:
            return self.data.shape
        return int(self.data.shape[_dim(dim, self.ndim, "size")])

    def dim(self) -> int:
        """The number of dimensions (the property ``ndim`` gives the same).

        Example:
            >>> Tensor(np.zeros((2, 3))).dim()
            2
        """
        return self.data.ndim

    def numel(self) -> int:
        """The number of elements.

        Example:
            >>> Tensor(np.zeros((2, 3))).numel()
            6
        """
        return int(self.data.size)

    @property
    def node(self) -> Node | None:
        """The op that produced this tensor, when the graph was recorded; ``None`` for leaves."""
        return self._node

    @property
    def grad_fn(self) -> Node | None:
        """The recorded op that produced this tensor (PyTorch's name for ``node``).

        ``None`` for a leaf and for anything computed without gradient recording.

        Example:
            >>> w = Tensor([1.0, 2.0], requires_grad=True)
            >>> w.grad_fn is None, (w * 2).grad_fn.name()
            (True, 'MulBackward')
        """
        return self._node

    @property
    def _version(self) -> int:
        """How many in-place writes this tensor's memory has seen (shared with its views).

        Example:
            >>> x = Tensor([1.0, 2.0])
            >>> v = x[0:1]
            >>> v *= 2.0
            >>> x._version, v._version
            (1, 1)
        """
        return graph.version_of(self)

    @property
    def device(self) -> str:
        """Where the data lives: always ``"cpu"``, as TinyTorch runs on NumPy.

        Example:
            >>> Tensor([1.0]).device
            'cpu'
        """
        return "cpu"

    def cpu(self) -> Tensor:
        """This tensor (it is on the CPU already).

        Example:
            >>> x = Tensor([1.0])
            >>> x.cpu() is x
            True
        """
        return self

    def cuda(self, device: Any = None) -> Tensor:
        """Refused: TinyTorch runs on the CPU only."""
        raise RuntimeError("cuda: TinyTorch runs on the CPU only; there is no CUDA device")

    # ---- backward hooks (stored here, run by the autograd engine) -------------------------
    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> graph.RemovableHandle:
        """Call ``hook(grad)`` when backward computes this tensor's gradient.

        ``hook`` receives the gradient as a Tensor and may return a replacement (of the same
        shape) that is used from then on: accumulated into ``.grad`` of a leaf, passed on
        through the graph for a computed tensor. Hooks run in the order registered. Returns a
        handle whose ``remove()`` unregisters the hook.

        Example (with ``tinytorch-autograd`` installed, ``(x * x).sum().backward()`` then
        leaves ``x.grad == [20., 40.]``; the engine, not this module, runs the hooks):
            >>> x = Tensor([1.0, 2.0], requires_grad=True)
            >>> handle = x.register_hook(lambda g: g * 10)
            >>> handle.remove()
        """
        if not self.requires_grad:
            raise RuntimeError(
                f"register_hook: cannot register a hook on a tensor (shape {self.shape}) that "
                "does not require grad"
            )
        hooks = self._hooks
        if hooks is None:
            hooks = self._hooks = graph.TensorHooks()
        key = hooks.next_key
        hooks.next_key += 1
        hooks.hooks[key] = hook
        return graph.RemovableHandle(hooks.hooks, key)

    def retain_grad(self) -> None:
        """Fill ``.grad`` of this computed (non-leaf) tensor during backward, as leaves get.

        A no-op on a leaf, whose ``.grad`` is filled anyway. The gradient kept is the one after
        this tensor's hooks have run; later backward calls accumulate into it.

        Example (with ``tinytorch-autograd`` installed, ``(y * y).sum().backward()`` then
        leaves ``y.grad == [6., 12.]``):
            >>> x = Tensor([1.0, 2.0], requires_grad=True)
            >>> y = x * 3
            >>> y.retain_grad()
            >>> y.retains_grad
            True
        """
        if not self.requires_grad:
            raise RuntimeError(
                f"retain_grad: cannot retain the gradient of a tensor (shape {self.shape}) that "
                "does not require grad"
            )
        if self._node is None:
            return
        if self._hooks is None:
            self._hooks = graph.TensorHooks()
        self._hooks.retains_grad = True

    @property
    def retains_grad(self) -> bool:
        """Whether ``retain_grad()`` was called on this non-leaf tensor."""
        return self._node is not None and self._hooks is not None and self._hooks.retains_grad

    @property
    def is_leaf(self) -> bool:
        """True unless an op recorded this tensor in a graph (only leaves receive ``.grad``)."""
        return self._node is None

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place on a leaf; only floating tensors can require grad."""
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"requires_grad_: only floating-point tensors can require grad, not {self.dtype} "
                f"(shape {self.shape})"
            )
        if not requires_grad and self._node is not None:
            raise RuntimeError(
                "requires_grad_: requires_grad can only be switched off on a leaf; use detach()"
            )
        self.requires_grad = requires_grad
        return self

    def detach(self) -> Tensor:
        """A tensor on the same data, cut from the graph (never requires grad).

        It shares this tensor's memory and version counter: writing into it in place counts
        as a write into this one, so a backward that needs the old values raises.

        Example:
            >>> x = Tensor([1.0, 2.0], requires_grad=True)
            >>> d = x.detach()
            >>> d.requires_grad, d.data is x.data
            (False, True)
        """
        t = Tensor._wrap(self.data)
        graph.share_version(t, self)
        return t

    def backward(self, gradient: TensorLike | None = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``gradient`` may be omitted only for a single-element tensor. Provided by
        ``tinytorch-autograd``; without it this raises and names the package to install.
        """
        engine = graph.backward_engine()
        seed = None if gradient is None else _to_array(gradient, self.dtype)
        engine(self, seed, retain_graph)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad`` becomes ``None``)."""
        self.grad = None

    # ---- conversion -----------------------------------------------------------------------
    def numpy(self, *, force: bool = False) -> Array:
        """The underlying NumPy array (shared, not copied).

        Refused on a tensor that requires grad, as in PyTorch: the array could be changed
        behind the graph's back. Call ``detach().numpy()`` (or pass ``force=True``, which
        returns a copy).

        Example:
            >>> Tensor([1.0, 2.0]).numpy()
            array([1., 2.], dtype=float32)
        """
        if self.requires_grad:
            if force:
                copied: Array = self.data.copy()
                return copied
            raise RuntimeError(
                f"numpy: cannot call numpy() on a tensor (shape {self.shape}) that requires grad; "
                "use tensor.detach().numpy()"
            )
        return self.data

    def __array__(self, dtype: npt.DTypeLike | None = None, copy: bool | None = None) -> Array:
        if dtype is None or np.dtype(dtype) == self.data.dtype:
            return self.data.copy() if copy else self.data
        return self.data.astype(dtype)

    def item(self) -> Any:
        """The one element of a single-element tensor, as a Python number.

        Example:
            >>> Tensor([[2.5]]).item()
            2.5
        """
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor of one element, got shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self) -> Any:
        """The elements as (nested) Python lists of Python numbers."""
        return self.data.tolist()

    def to(self, *args: Any, device: Any = None, dtype: npt.DTypeLike | None = None) -> Tensor:
        """This tensor on ``device`` and as ``dtype``: ``to(dtype)``, ``to("cpu")``,
        ``to("cpu", dtype)``, ``to(device=..., dtype=...)`` or ``to(other_tensor)``.

        The only device is ``"cpu"`` (any other is refused); converting between floating types
        is differentiable, to integers or bool cuts the result from the graph, as in PyTorch.

        Example:
            >>> Tensor([1.7, -2.2]).to(int64)
            tensor([ 1, -2])
            >>> Tensor([1.0]).to("cpu", float64)
            tensor([1.], dtype=float64)
        """
        dtype = parse_to_args("to", args, device, dtype)
        if dtype is None:
            return self
        target = np.dtype(dtype)
        if target == self.data.dtype:
            return self
        if target.kind != "f":
            # Integers and bools take no gradient: the result is cut from the graph, as in
            # PyTorch, rather than an integer tensor that claims to require grad.
            return Tensor._wrap(self.data.astype(target))
        return record("cast", self.data.astype(target), (self,))

    def float(self) -> Tensor:
        """This tensor as float32."""
        return self.to(float32)

    def double(self) -> Tensor:
        """This tensor as float64 (what gradient checks need)."""
        return self.to(float64)

    def long(self) -> Tensor:
        """This tensor as int64 (class indices), cut from the graph."""
        return self.to(int64)

    def __format__(self, spec: str) -> str:
        # As PyTorch: f"{loss:.3f}" formats the one number of a single-element tensor; a spec
        # on several elements has no one meaning, so it is refused rather than guessed.
        if not spec:
            return str(self)
        if self.data.size != 1:
            raise TypeError(
                f"format: spec {spec!r} applies to a single-element tensor, not one of shape "
                f"{self.shape}; format its elements (tolist()) instead"
            )
        return format(self.data.reshape(()).item(), spec)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return int(self.data.shape[0])

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                "use any() or all()"
            )
        return bool(self.data.reshape(()))

    def __float__(self) -> builtins.float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError(
                f"index: only a one-element integer tensor converts to an index, not one of "
                f"shape {self.shape} and dtype {self.dtype}"
            )
        return int(self.item())

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self.data.dtype not in (float32, int64, bool_):
            extras.append(f"dtype={self.data.dtype}")
        if self._node is not None:
            extras.append(f"grad_fn=<{self._node.op}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    # ---- elementwise arithmetic (broadcasting) -----------------------------------------------
    def _other(self, other: TensorLike) -> Tensor:
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (bool, int, float)):
            # A Python number takes this tensor's dtype, as in PyTorch (float32 * 2.5 is float32).
            kind = self.data.dtype.kind
            if kind == "f" or (kind in "iu" and not isinstance(other, float)):
                return Tensor._wrap(np.asarray(other, dtype=self.data.dtype))
        return Tensor(other)

    def __add__(self, other: TensorLike) -> Tensor:
        # BEGIN SOLUTION add-forward
        # HINT: turn `other` into a Tensor (self._other applies PyTorch's dtype rule for Python
        # HINT: numbers), apply NumPy's add ufunc with broadcasting through _broadcast (its shape
        # HINT: error names the op) and record the result as op "add" with inputs (self, other).
        # TESTS: binary_ops or incompatible_shapes or [add-add] or result_dtype
        o = self._other(other)
        return record("add", _broadcast("add", np.add, self, o), (self, o))
        # END SOLUTION

    def __radd__(self, other: TensorLike) -> Tensor:
        return self._other(other).__add__(self)

    def __sub__(self, other: TensorLike) -> Tensor:
        # BEGIN SOLUTION sub-forward
        # HINT: turn `other` into a Tensor (self._other applies PyTorch's dtype rule for Python
        # HINT: numbers), apply NumPy's sub ufunc with broadcasting through _broadcast (its shape
        # HINT: error names the op) and record the result as op "sub" with inputs (self, other).
        # TESTS: binary_ops or incompatible_shapes or [sub-sub]
        o = self._other(other)
        return record("sub", _broadcast("sub", np.subtract, self, o), (self, o))
        # END SOLUTION

    def __rsub__(self, other: TensorLike) -> Tensor:
        return self._other(other).__sub__(self)

    def __mul__(self, other: TensorLike) -> Tensor:
        # BEGIN SOLUTION mul-forward
        # HINT: turn `other` into a Tensor (self._other applies PyTorch's dtype rule for Python
        # HINT: numbers), apply NumPy's mul ufunc with broadcasting through _broadcast (its shape
        # HINT: error names the op) and record the result as op "mul" with inputs (self, other).
        # TESTS: binary_ops or incompatible_shapes or [mul-mul] or result_dtype or repr_names_the_op
        o = self._other(other)
        return record("mul", _broadcast("mul", np.multiply, self, o), (self, o))
        # END SOLUTION

    def __rmul__(self, other: TensorLike) -> Tensor:
        return self._other(other).__mul__(self)

    def __truediv__(self, other: TensorLike) -> Tensor:
        # BEGIN SOLUTION div-forward
        # HINT: turn `other` into a Tensor (self._other applies PyTorch's dtype rule for Python
        # HINT: numbers), apply NumPy's div ufunc with broadcasting through _broadcast (its shape
        # HINT: error names the op) and record the result as op "div" with inputs (self, other).
        # TESTS: binary_ops or incompatible_shapes or [div-truediv] or result_dtype
        o = self._other(other)
        return record("div", _broadcast("div", np.true_divide, self, o), (self, o))
        # END SOLUTION

    def __rtruediv__(self, other: TensorLike) -> Tensor:
        return self._other(other).__truediv__(self)

    def __pow__(self, exponent: TensorLike) -> Tensor:
        # 0 ** -1 is inf, (-8) ** 0.5 nan and 10 ** 400 inf, silently, as in PyTorch (and as
        # exp and log here): no NumPy warning.
        # BEGIN SOLUTION pow-forward
        # HINT: two ops: a Python number exponent (not a bool) is op "pow" with one input and the
        # HINT: attribute exponent; any other exponent becomes a tensor, op "pow_tensor" with two
        # HINT: inputs. Integer inputs with a fractional exponent give float32, and 0 ** -1 is inf
        # HINT: with no warning.
        # TESTS: pow_forms or [pow-pow] or result_dtype
        if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                out = self.data**exponent
            if out.dtype == float64 and self.data.dtype != float64:
                out = out.astype(float32)  # int ** 0.5 is float32, as in PyTorch
            return record("pow", out, (self,), exponent=exponent)
        o = self._other(exponent)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            out = _broadcast("pow", np.power, self, o)
        return record("pow_tensor", out, (self, o))
        # END SOLUTION

    def __rpow__(self, base: TensorLike) -> Tensor:
        return self._other(base).__pow__(self)

    def __neg__(self) -> Tensor:
        return record("neg", -self.data, (self,))

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return self.abs()

    def __matmul__(self, other: TensorLike) -> Tensor:
        o = self._other(other)
        return matmul(self, o)

    def __rmatmul__(self, other: TensorLike) -> Tensor:
        return matmul(self._other(other), self)

    # In-place forms change ``data`` and so cannot be undone by backward: like PyTorch, they are
    # refused on tensors that take part in gradient recording.
    def _check_inplace(self, op: str) -> None:
        if self.requires_grad and graph.is_grad_enabled():
            raise RuntimeError(
                f"{op}: in-place {op} on a tensor of shape {self.shape} that requires grad "
                "would corrupt the graph; "
                "wrap the update in tinytorch.autograd.no_grad() or use the out-of-place form"
            )

    def _check_writeable(self, op: str) -> None:
        self._check_inplace(op)
        if not self.data.flags.writeable:
            raise ValueError(f"{op}: cannot write into a read-only view {self.shape} (from expand)")

    def _inplace(self, op: str, ufunc: np.ufunc, other: TensorLike) -> Tensor:
        self._check_writeable(op)
        o = self._other(other)
        try:
            ufunc(self.data, o.data, out=self.data, casting="same_kind")
            graph.bump_version(self)
        except TypeError:
            raise TypeError(
                f"{op}: cannot store a result of {o.dtype} in place into a tensor of {self.dtype}"
            ) from None
        except ValueError:
            raise ValueError(
                f"{op}: cannot broadcast shape {o.shape} into the in-place shape {self.shape}"
            ) from None
        return self

    def __iadd__(self, other: TensorLike) -> Tensor:
        return self._inplace("add_", np.add, other)

    def __isub__(self, other: TensorLike) -> Tensor:
        return self._inplace("sub_", np.subtract, other)

    def __imul__(self, other: TensorLike) -> Tensor:
        return self._inplace("mul_", np.multiply, other)

    def __itruediv__(self, other: TensorLike) -> Tensor:
        return self._inplace("div_", np.true_divide, other)

    def add_(self, other: TensorLike, alpha: Scalar = 1) -> Tensor:
        """``self += alpha * other`` in place; returns this tensor.

        Like every in-place method, refused on a tensor that requires grad while grad mode is
        on (wrap parameter updates in ``no_grad()``), and on a read-only ``expand`` view.

        Example:
            >>> x = Tensor([1.0, 2.0])
            >>> x.add_(Tensor([1.0, 1.0]), alpha=2)
            tensor([3., 4.])
        """
        if alpha == 1:
            return self._inplace("add_", np.add, other)
        return self._inplace("add_", np.add, self._other(other).data * alpha)

    def sub_(self, other: TensorLike, alpha: Scalar = 1) -> Tensor:
        """``self -= alpha * other`` in place; returns this tensor.

        Example:
            >>> Tensor([3.0, 4.0]).sub_(1.0)
            tensor([2., 3.])
        """
        if alpha == 1:
            return self._inplace("sub_", np.subtract, other)
        return self._inplace("sub_", np.subtract, self._other(other).data * alpha)

    def mul_(self, other: TensorLike) -> Tensor:
        """``self *= other`` in place; returns this tensor.

        Example:
            >>> Tensor([1.0, 2.0]).mul_(3.0)
            tensor([3., 6.])
        """
        return self._inplace("mul_", np.multiply, other)

    def div_(self, other: TensorLike) -> Tensor:
        """``self /= other`` in place; returns this tensor.

        Example:
            >>> Tensor([2.0, 4.0]).div_(2.0)
            tensor([1., 2.])
        """
        return self._inplace("div_", np.true_divide, other)

    def zero_(self) -> Tensor:
        """Set every element to 0 in place; returns this tensor.

        Example:
            >>> Tensor([1.0, 2.0]).zero_()
            tensor([0., 0.])
        """
        return self.fill_(0)

    def fill_(self, value: TensorLike) -> Tensor:
        """Set every element to ``value`` (a number or a single-element tensor) in place.

        Example:
            >>> Tensor([1.0, 2.0]).fill_(7.0)
            tensor([7., 7.])
        """
        self._check_writeable("fill_")
        v = value.data if isinstance(value, Tensor) else np.asarray(value)
        if v.size != 1:
            raise ValueError(f"fill_: value must be a single number, got shape {v.shape}")
        self.data.fill(v.reshape(()).item())
        graph.bump_version(self)
        return self

    def copy_(self, src: TensorLike) -> Tensor:
        """Copy ``src``'s elements into this tensor in place (broadcasting, converting dtype).

        Example:
            >>> x = Tensor([[0.0, 0.0], [0.0, 0.0]])
            >>> x.copy_(Tensor([1.0, 2.0]))
            tensor([[1., 2.],
                    [1., 2.]])
        """
        self._check_writeable("copy_")
        s = src.data if isinstance(src, Tensor) else np.asarray(src)
        try:
            np.copyto(self.data, s, casting="unsafe")
        except ValueError:
            raise ValueError(
                f"copy_: cannot broadcast shape {s.shape} into the shape {self.shape}"
            ) from None
        graph.bump_version(self)
        return self

    # ---- comparisons (never differentiable: they return bool masks) -------------------------
    def _compare(self, op: str, ufunc: np.ufunc, other: TensorLike) -> Tensor:
        o = self._other(other)
        return Tensor._wrap(_broadcast(op, ufunc, self, o))

    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        return self._compare("eq", np.equal, other)  # type: ignore[arg-type]

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        return self._compare("ne", np.not_equal, other)  # type: ignore[arg-type]

    def __lt__(self, other: TensorLike) -> Tensor:
        return self._compare("lt", np.less, other)

    def __le__(self, other: TensorLike) -> Tensor:
        return self._compare("le", np.less_equal, other)

    def __gt__(self, other: TensorLike) -> Tensor:
        return self._compare("gt", np.greater, other)

    def __ge__(self, other: TensorLike) -> Tensor:
        return self._compare("ge", np.greater_equal, other)

    __hash__ = object.__hash__  # tensors are identities (graph nodes), even with ``==`` overloaded

    def any(self) -> bool:
        """Whether some element is true (nonzero), as a Python bool."""
        return bool(self.data.any())

    def all(self) -> bool:
        """Whether every element is true (nonzero), as a Python bool."""
        return bool(self.data.all())

    # ---- elementwise functions ---------------------------------------------------------------
    def exp(self) -> Tensor:
        """Elementwise e**x; overflows to inf without a warning, as in PyTorch.

        Integer and bool inputs give float32 (PyTorch's rule for float-valued ops).

        Example:
            >>> Tensor([0, 1]).exp()
            tensor([1.    , 2.7183])
        """
        with np.errstate(over="ignore"):
            return record("exp", np.exp(_floating(self.data)), (self,))

    def log(self) -> Tensor:
        """Natural log; log(0) is -inf without a warning, as in PyTorch (ints give float32)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return record("log", np.log(_floating(self.data)), (self,))

    def sqrt(self) -> Tensor:
        """Elementwise square root; sqrt of a negative is NaN without a warning, as in PyTorch.

        Integer and bool inputs give float32.
        """
        with np.errstate(invalid="ignore"):
            return record("sqrt", np.sqrt(_floating(self.data)), (self,))

    def abs(self) -> Tensor:
        """Elementwise absolute value."""
        return record("abs", np.abs(self.data), (self,))

    def pow(self, exponent: TensorLike) -> Tensor:
        """``self ** exponent``: a Python number, or a tensor that broadcasts."""
        return self.__pow__(exponent)

    def clip(self, min: builtins.float | None = None, max: builtins.float | None = None) -> Tensor:
        """Clamp every element into [min, max] (``clamp`` in PyTorch); either bound may be None."""
        if min is None and max is None:
            raise ValueError("clip: give at least one of min and max")
        out = np.clip(self.data, min, max)
        return record("clip", out, (self,), min=min, max=max)

    clamp = clip

    # ---- reductions --------------------------------------------------------------------------
    # PyTorch spells the arguments ``dim`` / ``keepdim``; NumPy's ``axis`` / ``keepdims`` are
    # accepted too, as keywords, so code written either way runs (not both at once).
    def sum(
        self,
        dim: int | Sequence[int] | None = None,
        keepdim: bool = False,
        *,
        axis: int | Sequence[int] | None = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """Sum over ``dim`` (an int, several, or ``None`` for every element).

        Example:
            >>> x = Tensor([[1.0, 2.0], [3.0, 4.0]])
            >>> x.sum(), x.sum(dim=0), x.sum(1, keepdim=True).shape
            (tensor(10.), tensor([4., 6.]), (2, 1))
        """
        if axis is not None or keepdims is not None:
            dim, keepdim = _aliases("sum", dim, keepdim, axis, keepdims)
        ax = _axes("sum", dim, self.ndim)
        keep = keepdim
        # BEGIN SOLUTION sum-forward
        # HINT: sum self.data over the axes `ax` (None: every element), keeping them as size 1 when
        # HINT: `keep`; record op "sum" with the attributes axis and keepdims (its gradient needs
        # HINT: them).
        # TESTS: reductions_match_numpy[sum or sum_of_a_bool or numpy_spelling[sum
        return record(
            "sum", np.sum(self.data, axis=ax, keepdims=keep), (self,), axis=ax, keepdims=keep
        )
        # END SOLUTION

    def mean(
        self,
        dim: int | Sequence[int] | None = None,
        keepdim: bool = False,
        *,
        axis: int | Sequence[int] | None = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """Mean over ``dim`` (an int, several, or ``None``) of a floating tensor.

        Example:
            >>> Tensor([[1.0, 2.0], [3.0, 4.0]]).mean(dim=(0, 1))
            tensor(2.5)
        """
        if axis is not None or keepdims is not None:
            dim, keepdim = _aliases("mean", dim, keepdim, axis, keepdims)
        ax = _axes("mean", dim, self.ndim)
        keep = keepdim
        if self.data.dtype.kind != "f":
            raise TypeError(f"mean: needs a floating tensor, got {self.dtype}")
        # BEGIN SOLUTION mean-forward
        # HINT: the mean over the axes `ax`, recorded as op "mean" with the attributes axis and
        # HINT: keepdims.
        # TESTS: reductions_match_numpy[mean or numpy_spelling[mean or negative_axes
        return record(
            "mean", np.mean(self.data, axis=ax, keepdims=keep), (self,), axis=ax, keepdims=keep
        )
        # END SOLUTION

    def var(
        self,
        dim: int | Sequence[int] | None = None,
        unbiased: bool | None = None,
        keepdim: bool = False,
        *,
        correction: int | None = None,
        axis: int | Sequence[int] | None = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """Variance over ``dim`` with Bessel's ``correction`` (1 by default, as in PyTorch).

        ``correction=0`` gives the population variance; ``unbiased=False`` is PyTorch's older
        spelling of it (so ``x.var(0, False)`` means what it means in PyTorch).

        Example:
            >>> x = Tensor([[1.0, 3.0], [2.0, 6.0]])
            >>> x.var(dim=1), x.var(1, correction=0), x.var(1, False)
            (tensor([2., 8.]), tensor([1., 4.]), tensor([1., 4.]))
        """
        if unbiased is not None and correction is not None:
            raise TypeError("var: give unbiased or correction, not both")
        if correction is None:
            correction = 0 if unbiased is False else 1
        if axis is not None or keepdims is not None:
            dim, keepdim = _aliases("var", dim, keepdim, axis, keepdims)
        ax = _axes("var", dim, self.ndim)
        keep = keepdim
        # BEGIN SOLUTION var-forward
        # HINT: the variance over `ax`, the count in its denominator less `correction` (Bessel's
        # HINT: correction); record op "var" with the attributes axis, keepdims and correction.
        # TESTS: var_ or numpy_spelling[var
        out = np.var(self.data, axis=ax, keepdims=keep, ddof=correction)
        return record("var", out, (self,), axis=ax, keepdims=keep, correction=correction)
        # END SOLUTION

    @overload
    def max(
        self,
        dim: None = None,
        keepdim: bool = False,
        *,
        axis: None = None,
        keepdims: bool | None = None,
    ) -> Tensor: ...
    @overload
    def max(
        self,
        dim: SupportsIndex,
        keepdim: bool = False,
        *,
        axis: None = None,
        keepdims: bool | None = None,
    ) -> ValuesIndices: ...
    @overload
    def max(
        self,
        dim: None = None,
        keepdim: bool = False,
        *,
        axis: SupportsIndex,
        keepdims: bool | None = None,
    ) -> ValuesIndices: ...
    def max(
        self,
        dim: SupportsIndex | None = None,
        keepdim: bool = False,
        *,
        axis: SupportsIndex | None = None,
        keepdims: bool | None = None,
    ) -> Tensor | ValuesIndices:
        """The largest element, or with ``dim`` the pair ``(values, indices)`` along it.

        As in PyTorch: without ``dim`` a 0-d tensor; with it a named tuple whose ``values``
        hold the maxima and ``indices`` (int64) where they are, so ``v, i = x.max(1)``
        unpacks both. The gradient of the values is shared among tied maxima (see
        :meth:`amax` for the maxima alone, over one or several dims).

        Example:
            >>> x = Tensor([[1.0, 5.0], [7.0, 2.0]])
            >>> x.max()
            tensor(7.)
            >>> values, indices = x.max(1)
            >>> values, indices
            (tensor([5., 7.]), tensor([1, 0]))
        """
        return self._extremum("max", np.max, np.argmax, dim, keepdim, axis, keepdims)

    @overload
    def min(
        self,
        dim: None = None,
        keepdim: bool = False,
        *,
        axis: None = None,
        keepdims: bool | None = None,
    ) -> Tensor: ...
    @overload
    def min(
        self,
        dim: SupportsIndex,
        keepdim: bool = False,
        *,
        axis: None = None,
        keepdims: bool | None = None,
    ) -> ValuesIndices: ...
    @overload
    def min(
        self,
        dim: None = None,
        keepdim: bool = False,
        *,
        axis: SupportsIndex,
        keepdims: bool | None = None,
    ) -> ValuesIndices: ...
    def min(
        self,
        dim: SupportsIndex | None = None,
        keepdim: bool = False,
        *,
        axis: SupportsIndex | None = None,
        keepdims: bool | None = None,
    ) -> Tensor | ValuesIndices:
        """The smallest element, or with ``dim`` the pair ``(values, indices)`` along it.

        Example:
            >>> values, indices = Tensor([[1.0, 5.0], [7.0, 2.0]]).min(dim=1, keepdim=True)
            >>> values.shape, indices.tolist()
            ((2, 1), [[0], [1]])
        """
        return self._extremum("min", np.min, np.argmin, dim, keepdim, axis, keepdims)

    def _extremum(
        self,
        op: str,
        reduce: Callable[..., Any],
        arg: Callable[..., Any],
        dim: SupportsIndex | None,
        keepdim: bool,
        axis: SupportsIndex | None,
        keepdims: bool | None,
    ) -> Tensor | ValuesIndices:
        if axis is not None or keepdims is not None:
            dim, keepdim = _aliases(op, dim, keepdim, axis, keepdims)
        # BEGIN SOLUTION max-min-forward
        # HINT: without a dim: the extremum of every element as a 0-d tensor (op `op`, axis None).
        # HINT: With one int dim: ValuesIndices(values, indices), the values recorded with
        # HINT: axis=(dim,) and keepdims, the int64 indices from `arg`, not recorded. A 0-d tensor
        # HINT: accepts dim 0; an empty reduction is a ValueError (_check_nonempty).
        # TESTS: max_min or issue_unpacking or empty_dimension[max or empty_dimension[min
        d, keep = dim, keepdim
        if d is None:
            if keep:
                raise TypeError(f"{op}: keepdim needs a dim")
            _check_nonempty(op, self, None)
            return record(op, reduce(self.data), (self,), axis=None, keepdims=False)
        if not hasattr(d, "__index__"):
            raise TypeError(f"{op}: dim must be one int, got {d!r}; amax/amin take several")
        ax = _dim(d, self.ndim, op)
        _check_nonempty(op, self, (ax,) if self.ndim else None)
        if self.ndim == 0:
            # PyTorch allows dim 0 (or -1) of a 0-d tensor: the element itself, at index 0.
            values = record(op, reduce(self.data), (self,), axis=None, keepdims=False)
            return ValuesIndices(values, Tensor._wrap(np.zeros((), dtype=np.int64)))
        values = record(
            op, reduce(self.data, axis=ax, keepdims=keep), (self,), axis=(ax,), keepdims=keep
        )
        indices = np.asarray(arg(self.data, axis=ax, keepdims=keep), dtype=np.int64)
        return ValuesIndices(values, Tensor._wrap(indices))
        # END SOLUTION

    def amax(
        self,
        dim: int | Sequence[int] | None = None,
        keepdim: bool = False,
        *,
        axis: int | Sequence[int] | None = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """The maxima over ``dim`` (one, several or all dims), without their indices.

        The gradient is shared among tied maxima, as ``torch.amax``'s.

        Example:
            >>> Tensor([[1.0, 5.0], [7.0, 2.0]]).amax(dim=-1, keepdim=True)
            tensor([[5.],
                    [7.]])
        """
        if axis is not None or keepdims is not None:
            dim, keepdim = _aliases("amax", dim, keepdim, axis, keepdims)
        ax = _axes("amax", dim, self.ndim)
        keep = keepdim
        _check_nonempty("amax", self, ax)
        out = np.max(self.data, axis=ax, keepdims=keep)
        return record("max", out, (self,), axis=ax, keepdims=keep)

    def amin(
        self,
        dim: int | Sequence[int] | None = None,
        keepdim: bool = False,
        *,
        axis: int | Sequence[int] | None = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """The minima over ``dim`` (one, several or all dims), without their indices.

        Example:
            >>> Tensor([[1.0, 5.0], [7.0, 2.0]]).amin(dim=0)
            tensor([1., 2.])
        """
        if axis is not None or keepdims is not None:
            dim, keepdim = _aliases("amin", dim, keepdim, axis, keepdims)
        ax = _axes("amin", dim, self.ndim)
        keep = keepdim
        _check_nonempty("amin", self, ax)
        out = np.min(self.data, axis=ax, keepdims=keep)
        return record("min", out, (self,), axis=ax, keepdims=keep)

    def argmax(
        self,
        dim: int | None = None,
        keepdim: bool = False,
        *,
        axis: int | None = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """Index of the largest element along ``dim`` (of the flattened tensor without one).

        Example:
            >>> Tensor([[1.0, 5.0], [7.0, 2.0]]).argmax(dim=1)
            tensor([1, 0])
        """
        if axis is not None or keepdims is not None:
            dim, keepdim = _aliases("argmax", dim, keepdim, axis, keepdims)
        ax = _axes("argmax", dim, self.ndim)
        keep = keepdim
        _check_nonempty("argmax", self, ax)
        out = np.argmax(self.data, axis=ax[0] if ax else None, keepdims=keep)
        return Tensor._wrap(np.asarray(out, dtype=np.int64))

    def argmin(
        self,
        dim: int | None = None,
        keepdim: bool = False,
        *,
        axis: int | None = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """Index of the smallest element along ``dim`` (of the flattened tensor without one).

        Example:
            >>> Tensor([[1.0, 5.0], [7.0, 2.0]]).argmin(1)
            tensor([0, 1])
        """
        if axis is not None or keepdims is not None:
            dim, keepdim = _aliases("argmin", dim, keepdim, axis, keepdims)
        ax = _axes("argmin", dim, self.ndim)
        keep = keepdim
        _check_nonempty("argmin", self, ax)
        out = np.argmin(self.data, axis=ax[0] if ax else None, keepdims=keep)
        return Tensor._wrap(np.asarray(out, dtype=np.int64))

    # ---- shape -------------------------------------------------------------------------------
    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """The same elements in a new shape (one dimension may be -1); a view where possible.

        Example:
            >>> Tensor(np.arange(6)).reshape(2, -1)
            tensor([[0, 1, 2],
                    [3, 4, 5]])
        """
        target = _shape_arg(shape)
        try:
            out = self.data.reshape(target)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {self.shape} "
                f"({self.data.size} elements) into {target}"
            ) from None
        return record("reshape", out, (self,))

    def view(self, *shape: int | Sequence[int]) -> Tensor:
        """The same memory seen in a new shape (one dimension may be -1); never a copy.

        Raises ``RuntimeError`` when the memory layout cannot be seen in that shape (a
        transposed tensor flattened, say): ``reshape`` copies there, ``contiguous().view``
        makes the copy explicit.

        Example:
            >>> Tensor(np.arange(6)).view(3, 2).shape
            (3, 2)
        """
        target = _shape_arg(shape)
        try:
            out = self.data.reshape(target)
        except ValueError:
            raise ValueError(
                f"view: cannot view a tensor of shape {self.shape} "
                f"({self.data.size} elements) as {target}"
            ) from None
        # NumPy's reshape copies where the strides do not allow a view (its copy=False needs
        # NumPy 2.1); a result outside this tensor's memory is that copy.
        if out.size and not np.may_share_memory(out, self.data):
            raise RuntimeError(
                f"view: a tensor of shape {self.shape} with strides "
                f"{self.data.strides} cannot be viewed as {target} without copying its memory; "
                "use reshape() (which copies when it must) or contiguous().view()"
            )
        return record("reshape", out, (self,))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge dimensions ``start_dim`` to ``end_dim`` into one.

        Example:
            >>> Tensor(np.zeros((2, 3, 4))).flatten(1).shape
            (2, 12)
        """
        # BEGIN SOLUTION flatten-forward
        # HINT: a reshape in which dims start_dim..end_dim become one; a 0-d tensor becomes shape
        # HINT: (1,).
        # TESTS: flatten
        if self.ndim == 0:
            return self.reshape(1)
        start, end = _dim(start_dim, self.ndim, "flatten"), _dim(end_dim, self.ndim, "flatten")
        shape = self.shape
        return self.reshape(*shape[:start], -1, *shape[end + 1 :])
        # END SOLUTION

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Tensor:
        """Swap two dimensions (by default the last two, as for a batch of matrices)."""
        # BEGIN SOLUTION transpose-forward
        # HINT: swap two dimensions: the order of all dims with dim0 and dim1 exchanged (negative
        # HINT: dims count from the end: _dim normalises them), handed to permute.
        # TESTS: transpose
        axes = list(range(self.ndim))
        d0, d1 = _dim(dim0, self.ndim, "transpose"), _dim(dim1, self.ndim, "transpose")
        axes[d0], axes[d1] = axes[d1], axes[d0]
        return self.permute(*axes)
        # END SOLUTION

    def permute(self, *dims: int | Sequence[int]) -> Tensor:
        """The dimensions reordered: dimension ``i`` of the result is ``dims[i]`` of this one.

        Example:
            >>> Tensor(np.zeros((2, 3, 4))).permute(2, 0, 1).shape
            (4, 2, 3)
        """
        order = tuple(_dim(d, self.ndim, "permute") for d in _shape_arg(dims))
        if sorted(order) != list(range(self.ndim)):
            raise ValueError(f"permute: {order} is not a permutation of the {self.ndim} dims")
        return record("permute", np.transpose(self.data, order), (self,), dims=order)

    @property
    def T(self) -> Tensor:
        """All dimensions reversed."""
        return self.permute(*reversed(range(self.ndim)))

    def squeeze(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        """Drop size-1 dimensions (only ``dim``, if given and of size 1).

        Example:
            >>> x = Tensor(np.zeros((1, 3, 1)))
            >>> x.squeeze().shape, x.squeeze(0).shape, x.squeeze(1).shape
            ((3,), (3, 1), (1, 3, 1))
        """
        # BEGIN SOLUTION squeeze-forward
        # HINT: drop every size-1 dim, or only `dim` when one is given (_pick_dim reads dim or
        # HINT: axis); a dim whose size is not 1 leaves the tensor as it is, as in PyTorch. The
        # HINT: result is a reshape.
        # TESTS: squeeze and not unsqueeze_take
        axis = _pick_dim("squeeze", dim, axis)
        if axis is None:
            target = tuple(n for n in self.shape if n != 1)
        else:
            ax = _dim(axis, self.ndim, "squeeze")
            if self.ndim == 0 or self.shape[ax] != 1:
                return self  # PyTorch: squeezing a non-1 dimension is a no-op
            target = self.shape[:ax] + self.shape[ax + 1 :]
        return self.reshape(target)
        # END SOLUTION

    def unsqueeze(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        """Insert a size-1 dimension at ``dim``.

        Example:
            >>> Tensor([1.0, 2.0]).unsqueeze(0).shape
            (1, 2)
        """
        d = _pick_dim("unsqueeze", dim, axis)
        if d is None:
            raise TypeError("unsqueeze: missing the dim to insert")
        ax = _dim(d, self.ndim + 1, "unsqueeze")
        return self.reshape((*self.shape[:ax], 1, *self.shape[ax:]))

    def expand(self, *shape: int | Sequence[int]) -> Tensor:
        """Broadcast to ``shape`` (a read-only view; -1 keeps a dimension)."""
        target = _shape_arg(shape)
        lead = len(target) - self.ndim
        full = tuple(
            self.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(target)
        )
        try:
            out = np.broadcast_to(self.data, full)
        except ValueError:
            raise ValueError(f"expand: cannot expand shape {self.shape} to {full}") from None
        return record("expand", out, (self,))

    def __getitem__(self, index: Any) -> Tensor:
        # BEGIN SOLUTION getitem-forward
        # HINT: index self.data with what _index_arg makes of `index` (tensors become arrays),
        # HINT: re-raise an IndexError as "getitem: ..." naming this tensor's shape, and record op
        # HINT: "getitem" with the attribute index.
        # TESTS: indexing or getitem or tensor_indices or index_out_of_range or basic_slices
        idx = _index_arg(index)
        try:
            out = self.data[idx]
        except IndexError as err:
            raise IndexError(f"getitem: {err} (tensor of shape {self.shape})") from None
        return record("getitem", out, (self,), index=idx)
        # END SOLUTION

    def __setitem__(self, index: Any, value: TensorLike) -> None:
        self._check_writeable("setitem")
        v = value.data if isinstance(value, Tensor) else value
        idx = _index_arg(index)
        try:
            self.data[idx] = v
        except ValueError:
            v_shape = np.shape(v)
            try:
                target = self.data[idx].shape
            except IndexError:
                raise
            if v_shape != target:
                raise ValueError(
                    f"setitem: cannot assign shape {v_shape} into the indexed shape {target} "
                    f"of a tensor of shape {self.shape}"
                ) from None
            raise
        except IndexError as err:
            raise IndexError(f"setitem: {err} (tensor of shape {self.shape})") from None
        graph.bump_version(self)

    # ---- PyTorch API ops: masked_fill, split, chunk, gather, topk, std, t, clone, ... ------
    def masked_fill(self, mask: Tensor, value: TensorLike) -> Tensor:
        """``value`` where the bool ``mask`` is true, this tensor's elements elsewhere.

        ``mask`` broadcasts with this tensor. ``value`` is a number or a 0-d tensor; a 0-d
        tensor that requires grad receives the gradient of every filled element.

        Example:
            >>> x = Tensor([[1.0, 2.0], [3.0, 4.0]])
            >>> x.masked_fill(Tensor([True, False]), -1.0)
            tensor([[-1.,  2.],
                    [-1.,  4.]])
        """
        m = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
        if m.dtype != np.bool_:
            raise TypeError(
                f"masked_fill: mask must be a bool tensor, got {m.dtype} (shape {m.shape}); "
                "compare to make one, e.g. mask == 0"
            )
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise ValueError(
                    f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}"
                )
            fill = value
        else:
            # As given (a Python float stays float64): cast once, to this tensor's dtype.
            fill = Tensor._wrap(np.asarray(value))
            if fill.ndim != 0 or fill.data.dtype.kind not in "biuf":
                raise TypeError(
                    f"masked_fill: value must be a number or a 0-d tensor, got "
                    f"{type(value).__name__} of shape {fill.shape}"
                )
        kind = self.data.dtype.kind
        if kind in "iu":
            info = np.iinfo(self.data.dtype)
            storable = bool(np.isfinite(fill.data)) and bool(info.min <= fill.data <= info.max)
        else:
            storable = kind != "b" or bool(np.isfinite(fill.data))
        if not storable:
            raise ValueError(
                f"masked_fill: value {fill.item()} cannot be stored in a tensor of {self.dtype}"
            )
        try:
            out = np.where(m, fill.data.astype(self.data.dtype), self.data)
        except ValueError:
            raise ValueError(
                f"masked_fill: mask of shape {m.shape} cannot be broadcast with the tensor's "
                f"shape {self.shape}"
            ) from None
        # The mask is saved as a copy (never larger than the output): a later in-place write
        # to the caller's mask must not change the gradient.
        return record("masked_fill", out, (self, fill), mask=m.copy())

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        """The view of ``length`` elements from ``start`` along ``dim`` (``torch.narrow``).

        Example:
            >>> Tensor([1, 2, 3, 4]).narrow(0, 1, 2)
            tensor([2, 3])
        """
        if self.ndim == 0:
            raise ValueError("narrow: needs a tensor of at least 1 dimension, got shape ()")
        d = _dim(dim, self.ndim, "narrow")
        n = self.shape[d]
        begin = start + n if start < 0 else start
        if not (0 <= begin <= n and 0 <= length <= n - begin):
            raise IndexError(
                f"narrow: start {start} and length {length} do not fit dimension {d} of size "
                f"{n} (shape {self.shape})"
            )
        index = (slice(None),) * d + (slice(begin, begin + length),)
        return record("narrow", self.data[index], (self,), dim=d, start=begin)

    def split(
        self, split_size_or_sections: int | Sequence[int], dim: int = 0
    ) -> tuple[Tensor, ...]:
        """Views of consecutive pieces along ``dim`` (``torch.split``).

        An int gives pieces of that size (the last one smaller when the size does not divide);
        a sequence gives the size of each piece, and must sum to the dimension's size.

        Example:
            >>> [p.tolist() for p in Tensor([0, 1, 2, 3, 4]).split(2)]
            [[0, 1], [2, 3], [4]]
            >>> [p.shape for p in Tensor(np.zeros((2, 5))).split([1, 4], dim=1)]
            [(2, 1), (2, 4)]
        """
        if self.ndim == 0:
            raise ValueError("split: needs a tensor of at least 1 dimension, got shape ()")
        d = _dim(dim, self.ndim, "split")
        n = self.shape[d]
        if isinstance(split_size_or_sections, (int, np.integer)):
            size = int(split_size_or_sections)
            if size < 0 or (size == 0 and n != 0):
                raise ValueError(
                    f"split: split size must be positive, got {size} for dimension {d} of "
                    f"size {n} (shape {self.shape})"
                )
            sizes = [size] * (n // size) + [n % size] if size else [0]
            if len(sizes) > 1 and sizes[-1] == 0:
                sizes.pop()
        else:
            sizes = [int(s) for s in split_size_or_sections]
            if any(s < 0 for s in sizes) or builtins.sum(sizes) != n:
                raise ValueError(
                    f"split: sections {tuple(sizes)} must be non-negative and sum to the size "
                    f"{n} of dimension {d} (shape {self.shape})"
                )
        starts = np.cumsum([0, *sizes[:-1]]).tolist()
        return tuple(self.narrow(d, s, k) for s, k in zip(starts, sizes, strict=True))

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """At most ``chunks`` views along ``dim``, each of ``ceil(size / chunks)`` elements but
        the last (``torch.chunk``): 5 elements in 4 chunks make 3 pieces, of 2, 2 and 1.

        Example:
            >>> [p.tolist() for p in Tensor([0, 1, 2, 3, 4]).chunk(4)]
            [[0, 1], [2, 3], [4]]
        """
        if chunks < 1:
            raise ValueError(f"chunk: chunks must be at least 1, got {chunks}")
        if self.ndim == 0:
            raise ValueError("chunk: needs a tensor of at least 1 dimension, got shape ()")
        d = _dim(dim, self.ndim, "chunk")
        n = self.shape[d]
        if n == 0:
            return tuple(self.narrow(d, 0, 0) for _ in range(chunks))  # as torch: all empty
        return self.split(-(-n // chunks), d)

    def gather(self, dim: int, index: Tensor) -> Tensor:
        """Pick along ``dim`` by ``index``: for ``dim=1``, ``out[i][j] = self[i][index[i][j]]``.

        As in ``torch.gather``: ``index`` is an integer (int64) tensor with as many dimensions as
        this one, no larger in any dimension but ``dim``; the result has its shape.

        Example:
            >>> x = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
            >>> x.gather(1, Tensor([[2, 0], [1, 1]]))
            tensor([[3., 1.],
                    [5., 5.]])
        """
        idx = index.data if isinstance(index, Tensor) else np.asarray(index)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"gather: index must be an int64 tensor, got {idx.dtype}")
        x = self.data.reshape(1) if self.ndim == 0 else self.data
        work = idx.reshape(1) if idx.ndim == 0 else idx
        if work.ndim != x.ndim:
            raise ValueError(
                f"gather: index of shape {idx.shape} needs as many dimensions as the input of "
                f"shape {self.shape}"
            )
        d = _dim(dim, x.ndim, "gather")
        for a in range(x.ndim):
            if a != d and work.shape[a] > x.shape[a]:
                raise ValueError(
                    f"gather: index of shape {idx.shape} is larger than the input of shape "
                    f"{self.shape} in dimension {a} (only dimension {d} may differ)"
                )
        if work.size:
            low, high = int(work.min()), int(work.max())
            if low < 0 or high >= x.shape[d]:
                raise IndexError(
                    f"gather: index {low if low < 0 else high} is out of bounds for dimension "
                    f"{d} of size {x.shape[d]} (input shape {self.shape})"
                )
        # A copy: an in-place write to the caller's index must not change the saved gradient.
        work = np.array(work, dtype=np.int64)
        out = self._take_along(d, work, idx.shape)
        return record("gather", out, (self,), dim=d, index=work)

    def _take_along(self, d: int, index: Array, shape: Shape) -> Array:
        # Shared by gather and topk: the input cut to the index's extent outside ``d``, then
        # NumPy's take_along_axis. A 0-d input or index works as shape (1,).
        x = self.data.reshape(1) if self.ndim == 0 else self.data
        src = x[tuple(slice(None) if a == d else slice(0, n) for a, n in enumerate(index.shape))]
        return np.take_along_axis(src, index, axis=d).reshape(shape)

    def topk(
        self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True
    ) -> ValuesIndices:
        """The ``k`` largest (or smallest) elements along ``dim`` and their int64 indices.

        Returns ``(values, indices)``, a named tuple, as ``torch.topk``; NaN counts as the
        largest value. The gradient flows to the chosen elements.

        Example:
            >>> values, indices = Tensor([[1.0, 5.0, 3.0], [9.0, 2.0, 4.0]]).topk(2)
            >>> values, indices
            (tensor([[5., 3.],
                    [9., 4.]]), tensor([[1, 2],
                    [0, 2]]))
        """
        x = self.data.reshape(1) if self.ndim == 0 else self.data
        d = _dim(dim, x.ndim, "topk")
        n = x.shape[d]
        if not 0 <= k <= n:
            raise ValueError(
                f"topk: k={k} is out of range for dimension {d} of size {n} (shape {self.shape})"
            )
        # argpartition brings the k chosen to one end in O(n); only those k are then sorted.
        positions = np.arange(n - k, n) if largest else np.arange(k)
        if 0 < k < n:
            kth = n - k if largest else k - 1
            chosen = np.take(np.argpartition(x, kth, axis=d), positions, axis=d)
        else:
            chosen = np.take(np.argsort(x, axis=d, kind="stable"), positions, axis=d)
        if sorted and k > 1:
            order = np.argsort(np.take_along_axis(x, chosen, axis=d), axis=d, kind="stable")
            if largest:
                order = np.flip(order, axis=d)
            chosen = np.take_along_axis(chosen, order, axis=d)
        chosen = chosen.astype(np.int64, copy=False)
        shape = chosen.shape if self.ndim else ()
        values = record("topk", self._take_along(d, chosen, shape), (self,), dim=d, index=chosen)
        # The indices handed out are not the saved ones: writing into them cannot alter backward.
        return ValuesIndices(values, Tensor._wrap(chosen.reshape(shape).copy()))

    def std(
        self,
        dim: int | Sequence[int] | None = None,
        unbiased: bool | None = None,
        keepdim: bool = False,
        *,
        correction: builtins.float | None = None,
    ) -> Tensor:
        """Standard deviation over ``dim`` with Bessel's ``correction`` (1 by default).

        ``unbiased=False`` is the older spelling of ``correction=0``, accepted as in PyTorch.

        Example:
            >>> x = Tensor([[1.0, 3.0], [2.0, 6.0]])
            >>> x.std(dim=1), x.std(dim=1, correction=0)
            (tensor([1.4142, 2.8284]), tensor([1., 2.]))
        """
        if unbiased is not None and correction is not None:
            raise ValueError("std: give unbiased or correction, not both")
        if correction is None:
            correction = 0 if unbiased is False else 1
        if self.data.dtype.kind != "f":
            raise TypeError(f"std: needs a floating tensor, got {self.dtype} (shape {self.shape})")
        ax = _axes("std", dim, self.ndim)
        x = self.data
        count = x.size if ax is None else int(np.prod([x.shape[a] for a in ax]))
        # By hand rather than np.std, which warns where PyTorch quietly gives nan or inf
        # (one element with correction 1, an empty tensor).
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.sum(x, axis=ax, keepdims=True) / x.dtype.type(count)
            squares = np.sum((x - mean) ** 2, axis=ax, keepdims=keepdim)
            out = np.sqrt(squares / x.dtype.type(count - correction))
        if count == 0:
            out = np.full_like(out, np.nan)
        return record("std", out, (self,), axis=ax, keepdims=keepdim, correction=correction)

    def t(self) -> Tensor:
        """The transpose of a matrix; a tensor of fewer dimensions as it is (``torch.t``).

        Example:
            >>> Tensor([[1, 2, 3]]).t().shape
            (3, 1)
        """
        if self.ndim > 2:
            raise ValueError(
                f"t: expects a tensor of at most 2 dimensions, got shape {self.shape}; "
                "use transpose(dim0, dim1)"
            )
        return self.permute(*reversed(range(self.ndim)))

    def is_contiguous(self) -> bool:
        """Whether the elements lie in memory in row-major order, without gaps.

        Example:
            >>> x = Tensor(np.zeros((2, 3)))
            >>> x.is_contiguous(), x.t().is_contiguous()
            (True, False)
        """
        return bool(self.data.flags.c_contiguous)

    def contiguous(self) -> Tensor:
        """This tensor if its memory is row-major already, else a row-major copy.

        Example:
            >>> x = Tensor(np.zeros((2, 3))).t()
            >>> x.is_contiguous(), x.contiguous().is_contiguous()
            (False, True)
        """
        if self.data.flags.c_contiguous:
            return self
        return record("contiguous", np.ascontiguousarray(self.data), (self,))

    def clone(self) -> Tensor:
        """A copy in new memory that stays in the graph: gradients flow back to this tensor.

        Example:
            >>> x = Tensor([1.0, 2.0])
            >>> y = x.clone()
            >>> y += 1.0
            >>> x, y
            (tensor([1., 2.]), tensor([2., 3.]))
        """
        return record("clone", self.data.copy(), (self,))

    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle of the last two dimensions; the rest zero (``torch.tril``).

        ``diagonal`` shifts the boundary: 0 keeps the main diagonal, -1 drops it, 1 keeps one
        more above it.

        Example:
            >>> Tensor(np.ones((3, 3), dtype=np.int64)).tril()
            tensor([[1, 0, 0],
                    [1, 1, 0],
                    [1, 1, 1]])
        """
        if self.ndim < 2:
            raise ValueError(f"tril: needs at least 2 dimensions, got shape {self.shape}")
        return record("tril", np.tril(self.data, diagonal), (self,), diagonal=diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle of the last two dimensions; the rest zero (``torch.triu``).

        Example:
            >>> Tensor(np.ones((2, 3), dtype=np.int64)).triu(1)
            tensor([[0, 1, 1],
                    [0, 0, 1]])
        """
        if self.ndim < 2:
            raise ValueError(f"triu: needs at least 2 dimensions, got shape {self.shape}")
        return record("triu", np.triu(self.data, diagonal), (self,), diagonal=diagonal)

    def allclose(
        self,
        other: TensorLike,
        rtol: builtins.float = 1e-05,
        atol: builtins.float = 1e-08,
        equal_nan: bool = False,
    ) -> bool:
        """Whether ``|self - other| <= atol + rtol * |other|`` everywhere, broadcasting.

        Example:
            >>> Tensor([1.0, 2.0]).allclose(Tensor([1.0, 2.0 + 1e-7]))
            True
        """
        o = self._other(other)
        try:
            return bool(np.allclose(self.data, o.data, rtol=rtol, atol=atol, equal_nan=equal_nan))
        except ValueError:
            raise ValueError(
                f"allclose: shapes {self.shape} and {o.shape} cannot be broadcast together"
            ) from None

    def equal(self, other: Tensor) -> bool:
        """Whether ``other`` has this shape and the same elements (``torch.equal``).

        Example:
            >>> Tensor([1, 2]).equal(Tensor([1, 2])), Tensor([1, 2]).equal(Tensor([[1, 2]]))
            (True, False)
        """
        if not isinstance(other, Tensor):
            raise TypeError(f"equal: expected a Tensor, got {type(other).__name__}")
        return bool(np.array_equal(self.data, other.data))

    def multinomial(
        self, num_samples: int, replacement: bool = False, *, generator: Any = None
    ) -> Tensor:
        """Category indices drawn from each row of weights; see :func:`multinomial`.

        Example:
            >>> Tensor([0.0, 1.0, 0.0]).multinomial(2, replacement=True).tolist()
            [1, 1]
        """
        from tinytorch.tensor.creation import multinomial  # creation imports this module

        return multinomial(self, num_samples, replacement, generator=generator)

    # (end of the PyTorch API ops)


class ValuesIndices(NamedTuple):
    """The ``(values, indices)`` pair that ``max``/``min``/``topk`` along a dim return.

    >>> from tinytorch.tensor import tensor
    >>> v, i = tensor([[1.0, 3.0], [4.0, 2.0]]).topk(1)
    >>> i.tolist()
    [[1], [0]]
    """

    values: Tensor
    indices: Tensor


def _index_arg(index: Any) -> Any:
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def record(op: str, out: Array, inputs: tuple[Tensor, ...], **attrs: Any) -> Tensor:
    """Wrap the forward result ``out`` of op ``op`` as a Tensor, recording the graph if needed.

    This is the one place every op passes through. The node is kept only when grad mode is on
    and some input requires grad, so inference pays for a Python call and nothing more; the
    observers of :func:`tinytorch.tensor.graph.add_observer`, when there are any, are told.

    Example:
        >>> x, op = Tensor([1.0, 2.0], requires_grad=True), "doc_double"
        >>> y = record(op, x.data * 2, (x,), factor=2)
        >>> y.node.op, y.node.attrs, record(op, x.data * 2, (x.detach(),)).node
        ('doc_double', {'factor': 2}, None)
    """
    t = Tensor._wrap(out)
    base = out.base
    if base is not None:
        # A view of an input's memory (NumPy collapses a view of a view onto the array that owns
        # the memory): it shares that input's version counter, so a write through either is
        # seen by a backward that read the other. Checked whatever the grad mode.
        for x in inputs:
            data = x.data
            if base is data or base is data.base:
                counter = x._vc  # graph.share_version, inlined: every view op passes here
                if counter is None:
                    counter = x._vc = [0]
                t._vc = counter
                break
    if graph._grad_enabled[0]:
        for x in inputs:
            if x.requires_grad:
                t.requires_grad = True
                # The version of each input: what backward compares. Spelt out for one and two
                # inputs, nearly every op, as this runs once per recorded op. (The output is
                # new, at version 0, or a view sharing an input's counter; see Node.)
                versions: tuple[int, ...]
                if len(inputs) == 2:
                    a, b = inputs[0]._vc, inputs[1]._vc
                    versions = (0 if a is None else a[0], 0 if b is None else b[0])
                elif len(inputs) == 1:
                    a = inputs[0]._vc
                    versions = (0,) if a is None else (a[0],)
                else:
                    versions = tuple([graph.version_of(i) for i in inputs])
                t._node = Node(op, inputs, attrs, out, versions)
                break
    if graph._observers:
        graph.notify_op(op, inputs, attrs, t)
    return t


def _broadcast(op: str, ufunc: np.ufunc, a: Tensor, b: Tensor) -> Array:
    try:
        out: Array = ufunc(a.data, b.data)
    except ValueError:
        raise ValueError(
            f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together"
        ) from None
    return _keep_float32(out, a, b)


def _keep_float32(out: Array, a: Tensor, b: Tensor) -> Array:
    if out.dtype == float64 and a.data.dtype != float64 and b.data.dtype != float64:
        # NumPy widens int64 with float32 (or int / int) to float64; PyTorch keeps float32.
        out = out.astype(float32)
    return out


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with NumPy's rules: 1-D operands, batched (broadcast) leading dimensions.

    Example:
        >>> from tinytorch.tensor import ones
        >>> matmul(ones(8, 2, 3), ones(3, 4)).shape
        (8, 2, 4)
    """
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(
            f"matmul: operands must be at least 1-D, got shapes {a.shape} and {b.shape}"
        )
    inner = (a.shape[-1], b.shape[-2] if b.ndim > 1 else b.shape[0])
    try:
        # BEGIN SOLUTION matmul-forward
        # HINT: set `out` to the matrix product of a.data and b.data with NumPy's rules (1-D
        # HINT: operands, broadcast batch dimensions). A stack of matrices times one matrix is
        # HINT: fastest as a single product of the stack folded into rows. A shape mismatch raises
        # HINT: ValueError here.
        # TESTS: matmul
        if b.ndim == 2 and a.ndim > 2:
            # A stack of rows times one matrix (a Linear layer over a sequence): one BLAS call on
            # the folded (batch * rows, k) matrix, not one per batch element (2-10x faster).
            rows = a.data.reshape(-1, a.shape[-1])
            out = np.matmul(rows, b.data).reshape(*a.shape[:-1], b.shape[-1])
        else:
            out = np.matmul(a.data, b.data)
        # END SOLUTION
    except ValueError:
        if inner[0] != inner[1]:
            reason = f"are not aligned (inner dimensions {inner[0]} and {inner[1]})"
        else:
            reason = "have batch dimensions that cannot be broadcast together"
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} {reason}") from None
    return record("matmul", _keep_float32(out, a, b), (a, b))


def _dim(d: SupportsIndex, ndim: int, op: str = "dim") -> int:
    i = int(d)
    if not -max(ndim, 1) <= i < max(ndim, 1):
        raise IndexError(f"{op}: dimension {i} is out of range for a tensor of {ndim} dimensions")
    return i % max(ndim, 1)


def _axes(op: str, axis: int | Sequence[int] | None, ndim: int) -> tuple[int, ...] | None:
    if axis is None:
        return None
    items = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(sorted({_dim(a, ndim, op) for a in items}))


def _aliases(op: str, dim: Any, keepdim: bool, axis: Any, keepdims: bool | None) -> Any:
    """``(dim, keepdim)``, from NumPy's spellings ``axis`` / ``keepdims`` where those are given."""
    return _pick_dim(op, dim, axis), _pick_keep(op, keepdim, keepdims)


def _pick_dim(op: str, dim: Any, axis: Any) -> Any:
    """``dim``, or NumPy's spelling ``axis`` when only that was given; both is an error."""
    if axis is None:
        return dim
    if dim is not None:
        raise TypeError(f"{op}: got both dim= and axis= (axis is NumPy's name for dim); give one")
    return axis


def _pick_keep(op: str, keepdim: bool, keepdims: bool | None) -> bool:
    """``keepdim``, or NumPy's spelling ``keepdims`` when only that was given."""
    if keepdims is None:
        return bool(keepdim)
    if keepdim:
        raise TypeError(f"{op}: got both keepdim= and keepdims= (NumPy's name); give one")
    return bool(keepdims)


def _floating(data: Array) -> Array:
    """``data`` as float32 when it holds integers or bools (the input of a float-valued op)."""
    return data if data.dtype.kind == "f" else data.astype(np.float32)


def _is_device(arg: Any) -> bool:
    if isinstance(arg, str):
        return arg.split(":")[0] in _DEVICE_TYPES
    return type(arg).__name__ == "device" and hasattr(arg, "type")


# PyTorch's device type names: a string among them is a device, any other string a dtype name.
_DEVICE_TYPES = frozenset({"cpu", "cuda", "mps", "xpu", "xla", "meta", "hip", "ipu", "hpu", "mtia"})


def parse_to_args(
    op: str, args: Sequence[Any], device: Any = None, dtype: npt.DTypeLike | None = None
) -> npt.DTypeLike | None:
    """Read ``to()``'s arguments as PyTorch takes them (a device, a dtype, both, or a tensor whose
    dtype to take) and return the dtype asked for, or ``None``; any device but the CPU is refused.

    ``Tensor.to`` and ``Module.to`` share it, so both accept the same forms.

    Example:
        >>> parse_to_args("to", ("cpu", float64)), parse_to_args("to", ("float32",))
        (dtype('float64'), 'float32')
        >>> parse_to_args("to", ("cuda",))
        Traceback (most recent call last):
        ...
        RuntimeError: to: TinyTorch runs on the CPU only; got device 'cuda'
    """
    for arg in args:
        if isinstance(arg, Tensor):
            if dtype is not None:
                raise TypeError(f"{op}: got a dtype twice (a tensor and a dtype)")
            dtype = arg.dtype
        elif _is_device(arg):
            if device is not None:
                raise TypeError(f"{op}: got a device twice ({device!r} and {arg!r})")
            device = arg
        else:
            if dtype is not None:
                raise TypeError(f"{op}: got a dtype twice ({dtype!r} and {arg!r})")
            dtype = arg
    _check_device(op, device)
    return dtype


def _check_device(op: str, device: Any) -> None:
    """Accept PyTorch's ``device=`` argument: ``None`` or the CPU (``"cpu"``, ``torch.device``)."""
    if device is None:
        return
    name = str(device)
    if name.split(":")[0] != "cpu":
        raise RuntimeError(f"{op}: TinyTorch runs on the CPU only; got device {name!r}")


def _max(
    input: Tensor,
    dim: SupportsIndex | None = None,
    keepdim: bool = False,
    *,
    axis: SupportsIndex | None = None,
    keepdims: bool | None = None,
) -> Tensor | ValuesIndices:
    """``input.max(dim, keepdim)`` as a function (``torch.max``): exported as ``max``.

    Example:
        >>> import tinytorch.tensor as tt
        >>> values, indices = tt.max(tt.tensor([[1.0, 5.0], [7.0, 2.0]]), 1)
        >>> values, indices
        (tensor([5., 7.]), tensor([1, 0]))
    """
    return input._extremum("max", np.max, np.argmax, dim, keepdim, axis, keepdims)


def _min(
    input: Tensor,
    dim: SupportsIndex | None = None,
    keepdim: bool = False,
    *,
    axis: SupportsIndex | None = None,
    keepdims: bool | None = None,
) -> Tensor | ValuesIndices:
    """``input.min(dim, keepdim)`` as a function (``torch.min``): exported as ``min``.

    Example:
        >>> import tinytorch.tensor as tt
        >>> tt.min(tt.tensor([[1.0, 5.0], [7.0, 2.0]]))
        tensor(1.)
    """
    return input._extremum("min", np.min, np.argmin, dim, keepdim, axis, keepdims)


_max.__name__ = _max.__qualname__ = "max"
_min.__name__ = _min.__qualname__ = "min"


def _check_nonempty(op: str, t: Tensor, axes: tuple[int, ...] | None) -> None:
    if t.data.size == 0 and (axes is None or any(t.shape[a] == 0 for a in axes)):
        raise ValueError(f"{op}: reduction over an empty dimension of shape {t.shape}")
    if axes is not None and len(axes) > 1 and op.startswith("arg"):
        raise ValueError(f"{op}: takes a single axis, got {axes}")


def _shape_arg(shape: tuple[int | Sequence[int], ...]) -> Shape:
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        return tuple(int(n) for n in shape[0])
    return tuple(int(n) for n in shape)  # type: ignore[arg-type]
