"""The Tensor: an n-dimensional NumPy array that can remember how it was computed."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from typing import Any, SupportsIndex, Union

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


def _to_array(data: Any, dtype: npt.DTypeLike | None) -> Array:
    """Convert user data, following PyTorch: Python floats become float32, ints int64."""
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.asarray(data, dtype=dtype)
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, np.generic):
        return np.asarray(data)
    array = np.asarray(data)
    if array.dtype.kind == "f":
        return array.astype(np.float32)
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind == "b":
        return array
    raise TypeError(
        f"Tensor: cannot make a Tensor from {type(data).__name__} of dtype {array.dtype}"
    )


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

    __slots__ = ("__weakref__", "_node", "data", "grad", "requires_grad")
    __array_priority__ = 1000  # make ``ndarray + Tensor`` defer to Tensor.__radd__

    data: Array
    grad: Tensor | None
    requires_grad: bool
    _node: Node | None

    def __init__(
        self, data: TensorLike, dtype: npt.DTypeLike | None = None, requires_grad: bool = False
    ) -> None:
        self.data = _to_array(data, dtype)
        self.grad = None
        self._node = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array: Array) -> Tensor:
        """A new Tensor on ``array`` without conversion (the hot path of every op)."""
        t = object.__new__(cls)
        t.data = array
        t.grad = None
        t._node = None
        t.requires_grad = False
        return t

    # ---- metadata -------------------------------------------------------------------------
    @property
    def shape(self) -> Shape:
        """The size of each dimension, a tuple."""
        return self.data.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        """The NumPy dtype of the elements."""
        return self.data.dtype

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self.data.ndim

    @property
    def size(self) -> int:
        """Number of elements (``numel()`` in PyTorch)."""
        return int(self.data.size)

    def numel(self) -> int:
        """Number of elements, as PyTorch names it (the property ``size`` gives the same)."""
        return int(self.data.size)

    @property
    def node(self) -> Node | None:
        """The op that produced this tensor, when the graph was recorded; ``None`` for leaves."""
        return self._node

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
        """A tensor on the same data, cut from the graph (never requires grad)."""
        return Tensor._wrap(self.data)

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
    def numpy(self) -> Array:
        """The underlying NumPy array (shared, not copied)."""
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

    def to(self, dtype: npt.DTypeLike) -> Tensor:
        """This tensor as ``dtype`` (differentiable between floating types).

        Example:
            >>> Tensor([1.7, -2.2]).to(int64)
            tensor([ 1, -2])
        """
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
        o = self._other(other)
        return record("add", _broadcast("add", np.add, self, o), (self, o))

    def __radd__(self, other: TensorLike) -> Tensor:
        return self._other(other).__add__(self)

    def __sub__(self, other: TensorLike) -> Tensor:
        o = self._other(other)
        return record("sub", _broadcast("sub", np.subtract, self, o), (self, o))

    def __rsub__(self, other: TensorLike) -> Tensor:
        return self._other(other).__sub__(self)

    def __mul__(self, other: TensorLike) -> Tensor:
        o = self._other(other)
        return record("mul", _broadcast("mul", np.multiply, self, o), (self, o))

    def __rmul__(self, other: TensorLike) -> Tensor:
        return self._other(other).__mul__(self)

    def __truediv__(self, other: TensorLike) -> Tensor:
        o = self._other(other)
        return record("div", _broadcast("div", np.true_divide, self, o), (self, o))

    def __rtruediv__(self, other: TensorLike) -> Tensor:
        return self._other(other).__truediv__(self)

    def __pow__(self, exponent: TensorLike) -> Tensor:
        # 0 ** -1 is inf, (-8) ** 0.5 nan and 10 ** 400 inf, silently, as in PyTorch (and as
        # exp and log here): no NumPy warning.
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

    def _inplace(self, op: str, ufunc: np.ufunc, other: TensorLike) -> Tensor:
        self._check_inplace(op)
        o = self._other(other)
        if not self.data.flags.writeable:
            raise ValueError(f"{op}: cannot write into a read-only view {self.shape} (from expand)")
        try:
            ufunc(self.data, o.data, out=self.data, casting="same_kind")
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
        """Elementwise e**x; overflows to inf without a warning, as in PyTorch."""
        with np.errstate(over="ignore"):
            return record("exp", np.exp(self.data), (self,))

    def log(self) -> Tensor:
        """Natural log; log(0) is -inf without a warning, as in PyTorch."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return record("log", np.log(self.data), (self,))

    def sqrt(self) -> Tensor:
        """Elementwise square root; sqrt of a negative is NaN without a warning, as in PyTorch."""
        with np.errstate(invalid="ignore"):
            return record("sqrt", np.sqrt(self.data), (self,))

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
    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (an int, several, or ``None`` for every element).

        Example:
            >>> x = Tensor([[1.0, 2.0], [3.0, 4.0]])
            >>> x.sum(), x.sum(axis=0), x.sum(axis=1, keepdims=True).shape
            (tensor(10.), tensor([4., 6.]), (2, 1))
        """
        ax = _axes("sum", axis, self.ndim)
        return record(
            "sum",
            np.sum(self.data, axis=ax, keepdims=keepdims),
            (self,),
            axis=ax,
            keepdims=keepdims,
        )

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis`` (an int, several, or ``None``) of a floating tensor.

        Example:
            >>> Tensor([[1.0, 2.0], [3.0, 4.0]]).mean(axis=(0, 1))
            tensor(2.5)
        """
        ax = _axes("mean", axis, self.ndim)
        if self.data.dtype.kind != "f":
            raise TypeError(f"mean: needs a floating tensor, got {self.dtype}")
        return record(
            "mean",
            np.mean(self.data, axis=ax, keepdims=keepdims),
            (self,),
            axis=ax,
            keepdims=keepdims,
        )

    def var(
        self, axis: int | Sequence[int] | None = None, keepdims: bool = False, correction: int = 1
    ) -> Tensor:
        """Variance with Bessel's ``correction`` (1 by default, as in PyTorch; 0 = population)."""
        ax = _axes("var", axis, self.ndim)
        out = np.var(self.data, axis=ax, keepdims=keepdims, ddof=correction)
        return record("var", out, (self,), axis=ax, keepdims=keepdims, correction=correction)

    def max(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        """Largest element (over ``axis``); the gradient is shared among tied maxima."""
        ax = _axes("max", axis, self.ndim)
        _check_nonempty("max", self, ax)
        return record(
            "max",
            np.max(self.data, axis=ax, keepdims=keepdims),
            (self,),
            axis=ax,
            keepdims=keepdims,
        )

    def min(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        """Smallest element (over ``axis``); the gradient is shared among tied minima."""
        ax = _axes("min", axis, self.ndim)
        _check_nonempty("min", self, ax)
        return record(
            "min",
            np.min(self.data, axis=ax, keepdims=keepdims),
            (self,),
            axis=ax,
            keepdims=keepdims,
        )

    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        """Index of the largest element (over ``axis``; of the flattened tensor without one).

        Example:
            >>> Tensor([[1.0, 5.0], [7.0, 2.0]]).argmax(axis=1)
            tensor([1, 0])
        """
        ax = _axes("argmax", axis, self.ndim)
        _check_nonempty("argmax", self, ax)
        out = np.argmax(self.data, axis=ax[0] if ax else None, keepdims=keepdims)
        return Tensor._wrap(np.asarray(out, dtype=np.int64))

    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        """Index of the smallest element (over ``axis``; of the flattened tensor without one)."""
        ax = _axes("argmin", axis, self.ndim)
        _check_nonempty("argmin", self, ax)
        out = np.argmin(self.data, axis=ax[0] if ax else None, keepdims=keepdims)
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
                f"({self.size} elements) into {target}"
            ) from None
        return record("reshape", out, (self,))

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge dimensions ``start_dim`` to ``end_dim`` into one.

        Example:
            >>> Tensor(np.zeros((2, 3, 4))).flatten(1).shape
            (2, 12)
        """
        if self.ndim == 0:
            return self.reshape(1)
        start, end = _dim(start_dim, self.ndim, "flatten"), _dim(end_dim, self.ndim, "flatten")
        shape = self.shape
        return self.reshape(*shape[:start], -1, *shape[end + 1 :])

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Tensor:
        """Swap two dimensions (by default the last two, as for a batch of matrices)."""
        axes = list(range(self.ndim))
        d0, d1 = _dim(dim0, self.ndim, "transpose"), _dim(dim1, self.ndim, "transpose")
        axes[d0], axes[d1] = axes[d1], axes[d0]
        return self.permute(*axes)

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

    def squeeze(self, axis: int | None = None) -> Tensor:
        """Drop size-1 dimensions (only ``axis``, if given and of size 1).

        Example:
            >>> Tensor(np.zeros((1, 3, 1))).squeeze().shape
            (3,)
        """
        if axis is None:
            target = tuple(n for n in self.shape if n != 1)
        else:
            ax = _dim(axis, self.ndim, "squeeze")
            if self.ndim == 0 or self.shape[ax] != 1:
                return self  # PyTorch: squeezing a non-1 dimension is a no-op
            target = self.shape[:ax] + self.shape[ax + 1 :]
        return self.reshape(target)

    def unsqueeze(self, axis: int) -> Tensor:
        """Insert a size-1 dimension at ``axis``.

        Example:
            >>> Tensor([1.0, 2.0]).unsqueeze(0).shape
            (1, 2)
        """
        ax = _dim(axis, self.ndim + 1, "unsqueeze")
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
        idx = _index_arg(index)
        try:
            out = self.data[idx]
        except IndexError as err:
            raise IndexError(f"getitem: {err} (tensor of shape {self.shape})") from None
        return record("getitem", out, (self,), index=idx)

    def __setitem__(self, index: Any, value: TensorLike) -> None:
        self._check_inplace("setitem")
        v = value.data if isinstance(value, Tensor) else value
        self.data[_index_arg(index)] = v


def _index_arg(index: Any) -> Any:
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def record(op: str, out: Array, inputs: tuple[Tensor, ...], **attrs: Any) -> Tensor:
    """Wrap the forward result ``out`` of op ``op`` as a Tensor, recording the graph if needed.

    This is the one place every op passes through. The node is kept only when grad mode is on
    and some input requires grad, so inference pays for a Python call and nothing more.

    Example:
        >>> x, op = Tensor([1.0, 2.0], requires_grad=True), "doc_double"
        >>> y = record(op, x.data * 2, (x,), factor=2)
        >>> y.node.op, y.node.attrs, record(op, x.data * 2, (x.detach(),)).node
        ('doc_double', {'factor': 2}, None)
    """
    t = Tensor._wrap(out)
    if graph._grad_enabled[0]:
        for x in inputs:
            if x.requires_grad:
                t.requires_grad = True
                t._node = Node(op, inputs, attrs, out)
                break
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
        if b.ndim == 2 and a.ndim > 2:
            # A stack of rows times one matrix (a Linear layer over a sequence): one BLAS call on
            # the folded (batch * rows, k) matrix, not one per batch element (2-10x faster).
            rows = a.data.reshape(-1, a.shape[-1])
            out = np.matmul(rows, b.data).reshape(*a.shape[:-1], b.shape[-1])
        else:
            out = np.matmul(a.data, b.data)
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


def _check_nonempty(op: str, t: Tensor, axes: tuple[int, ...] | None) -> None:
    if t.size == 0 and (axes is None or any(t.shape[a] == 0 for a in axes)):
        raise ValueError(f"{op}: reduction over an empty dimension of shape {t.shape}")
    if axes is not None and len(axes) > 1 and op.startswith("arg"):
        raise ValueError(f"{op}: takes a single axis, got {axes}")


def _shape_arg(shape: tuple[int | Sequence[int], ...]) -> Shape:
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        return tuple(int(n) for n in shape[0])
    return tuple(int(n) for n in shape)  # type: ignore[arg-type]
