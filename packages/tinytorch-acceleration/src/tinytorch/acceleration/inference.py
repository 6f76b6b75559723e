"""A graph-free inference plan: the lesson that at batch 1 the framework is the cost.

A LeNet forward on one 8x8 digit does about 0.1 MFLOP, microseconds of arithmetic; through
``Module.__call__`` it takes a few hundred. The rest is dispatch: hooks checked, Tensors
wrapped, arguments validated, ``record`` asked whether anyone is watching, for every layer of
every query. That is the work ``torch.jit.freeze`` and inference runtimes remove, and so does
:func:`compile_inference`: it walks a :class:`~tinytorch.layers.Sequential` chain once,
validates each layer once, and returns an :class:`InferencePlan`, a list of plain NumPy
kernels that call the same BLAS products on the same operands as the layers, so its outputs
equal ``model.eval()(x)`` bit for bit.

What the plan holds: the model's own arrays (shared, not copied; so the plan reads the weights
as they were when it was compiled, as a frozen module does: compile again after changing the
model) plus scratch buffers per input shape (the zero-padded input of each convolution), which
:attr:`InferencePlan.nbytes` counts. A layer the plan has no kernel for is refused, naming it,
unless it offers its own kernel: any module with a method ``inference_kernel()`` returning a
function from an array batch to an array batch (the :class:`KernelProvider` protocol; the
quantized layers of module 15 implement it) joins the plan as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from tinytorch.activations import GELU, ReLU, Sigmoid, Tanh
from tinytorch.layers import Dropout, Linear, Module, Sequential

Array = npt.NDArray[Any]
Kernel = Callable[[Array], Array]


@runtime_checkable
class KernelProvider(Protocol):
    """A module that can run without the framework: ``inference_kernel()`` returns a function
    from an input array batch to its output array batch, equal to the module's forward."""

    def inference_kernel(self) -> Kernel: ...


class InferencePlan:
    """The compiled chain: call it on a NumPy batch, get the model's output as a NumPy array.

    Build it with :func:`compile_inference`. ``steps`` names what each kernel runs.

    Example:
        >>> import numpy as np
        >>> from tinytorch.activations import ReLU
        >>> from tinytorch.layers import Linear, Sequential
        >>> from tinytorch.tensor import Generator, Tensor
        >>> model = Sequential(Linear(4, 8, generator=Generator(0)), ReLU(), Linear(8, 2))
        >>> plan = compile_inference(model)
        >>> x = np.ones((3, 4), np.float32)
        >>> bool((plan(x) == model.eval()(Tensor(x)).data).all()), plan.steps
        (True, ['Linear+ReLU', 'Linear'])
    """

    def __init__(
        self, steps: list[tuple[str, Kernel]], held: list[Array], scratch: list[Array]
    ) -> None:
        self.steps = [name for name, _ in steps]
        self._kernels = [kernel for _, kernel in steps]
        self._held = held
        self._scratch = scratch  # the kernels append their buffers as they make them

    def __call__(self, x: Array) -> Array:
        if not isinstance(x, np.ndarray):
            raise TypeError(f"InferencePlan: expects a NumPy array, got {type(x).__name__}")
        for kernel in self._kernels:
            x = kernel(x)
        return x

    @property
    def nbytes(self) -> int:
        """Bytes the plan holds: the model's arrays it runs on (each counted once) and the
        scratch buffers its kernels have allocated so far (they grow with each new input
        shape)."""
        seen: dict[int, int] = {}
        for a in [*self._held, *self._scratch]:
            base = a if a.base is None else a.base
            if isinstance(base, np.ndarray):
                seen[id(base)] = base.nbytes
        return sum(seen.values())

    def __repr__(self) -> str:
        return f"InferencePlan({' -> '.join(self.steps)})"


def compile_inference(model: Module) -> InferencePlan:
    """Compile ``model`` (a :class:`~tinytorch.layers.Sequential` chain, nested chains
    flattened) into an :class:`InferencePlan` whose outputs equal ``model.eval()(x)`` bit for
    bit. ``Dropout`` is the identity, as in eval mode; a ReLU right after a Linear is applied in
    place on its output; a ReLU before a max pool is applied after it, on the pooled elements
    (ReLU is monotone, so the values are the same).

    Supported: Linear, Conv2d, MaxPool2d, AvgPool2d (no padding), Flatten, ReLU, Sigmoid, Tanh,
    GELU, Dropout, and any module with ``inference_kernel()`` (:class:`KernelProvider`).

    Example:
        >>> from tinytorch.layers import Linear, Module
        >>> class Custom(Module):
        ...     def forward(self, x): return x
        >>> compile_inference(Sequential(Linear(2, 2), Custom()))
        Traceback (most recent call last):
        ...
        TypeError: compile_inference: layer 1 (Custom) has no inference kernel; supported: ...
    """
    if not isinstance(model, Module):
        raise TypeError(f"compile_inference: expects a Module, got {type(model).__name__}")
    layers = list(_leaves(model))
    scratch: list[Array] = []
    steps: list[tuple[str, Kernel]] = []
    held: list[Array] = []
    i = 0
    while i < len(layers):
        layer = layers[i]
        after = layers[i + 1] if i + 1 < len(layers) else None
        name = type(layer).__name__
        if isinstance(layer, Dropout):
            i += 1
            continue
        if isinstance(layer, Linear) and isinstance(after, ReLU):
            steps.append((f"{name}+ReLU", _linear(layer, relu=True)))
            held += _arrays(layer)
            i += 2
            continue
        if isinstance(layer, ReLU) and _is_max_pool(after):
            steps.append((f"ReLU+{type(after).__name__}", _max_pool(after, relu=True)))
            i += 2
            continue
        kernel = _kernel(layer, scratch, i)
        steps.append((name, kernel))
        held += _arrays(layer)
        i += 1
    return InferencePlan(steps, held, scratch)


def _leaves(model: Any) -> Iterator[Any]:
    # A Sequential's layers in call order, repeats included (children() would skip a layer
    # used twice); the activations of module 02 are plain callables, not Modules.
    if isinstance(model, Sequential):
        for layer in model:
            yield from _leaves(layer)
    else:
        yield model


def _arrays(layer: Any) -> list[Array]:
    if not isinstance(layer, Module):
        return []
    return [t.data for t in (*layer.parameters(), *layer.buffers())]


def _kernel(layer: Module, scratch: list[Array], index: int) -> Kernel:
    if isinstance(layer, KernelProvider):
        kernel: Kernel = layer.inference_kernel()
        return kernel
    if isinstance(layer, Linear):
        return _linear(layer, relu=False)
    if isinstance(layer, ReLU):
        return _relu
    if isinstance(layer, Sigmoid | Tanh | GELU):
        # No framework-free copy of these activations exists to share, and writing a second
        # one would be a second source of their numerics: run the layer itself.
        return _through_layer(layer)
    vision = _vision_kernel(layer, scratch)
    if vision is not None:
        return vision
    raise TypeError(
        f"compile_inference: layer {index} ({type(layer).__name__}) has no inference kernel; "
        "supported: Linear, Conv2d, MaxPool2d, AvgPool2d, Flatten, ReLU, Sigmoid, Tanh, GELU, "
        "Dropout, or a module with inference_kernel()"
    )


def _relu(x: Array) -> Array:
    return np.maximum(x, 0)


def _linear(layer: Linear, relu: bool) -> Kernel:
    # The layer computes x @ weight.T, then + bias: the same two NumPy operations here.
    weight_t = layer.weight.data.T
    bias = None if layer.bias is None else layer.bias.data

    def linear(x: Array) -> Array:
        if x.ndim == 0 or x.shape[-1] != weight_t.shape[0] or x.dtype != weight_t.dtype:
            raise ValueError(
                f"InferencePlan: Linear expects (..., {weight_t.shape[0]}) {weight_t.dtype}, "
                f"got {x.shape} {x.dtype}"
            )
        out: Array = np.matmul(x, weight_t)
        if bias is not None:
            out = out + bias
        if relu:
            np.maximum(out, 0, out=out)
        return out

    return linear


def _through_layer(layer: Module) -> Kernel:
    from tinytorch.tensor import Tensor

    def run(x: Array) -> Array:
        out: Array = layer(Tensor(x)).data
        return out

    return run


def _is_max_pool(layer: Module | None) -> bool:
    try:
        from tinytorch.convolutions import MaxPool2d
    except ImportError:
        return False
    return isinstance(layer, MaxPool2d)


def _vision_kernel(layer: Module, scratch: list[Array]) -> Kernel | None:
    try:  # the vision extra: only when a layer could be one of its own
        from tinytorch.convolutions import AvgPool2d, Conv2d, Flatten, MaxPool2d
    except ImportError:
        return None
    if isinstance(layer, Conv2d):
        return _conv2d(layer, scratch)
    if isinstance(layer, MaxPool2d):
        return _max_pool(layer, relu=False)
    if isinstance(layer, AvgPool2d) and layer.padding == (0, 0):
        return _through_layer(layer)
    if isinstance(layer, Flatten):
        start, end = layer.start_dim, layer.end_dim

        def flatten(x: Array) -> Array:
            s, e = start % x.ndim, end % x.ndim
            return x.reshape(*x.shape[:s], -1, *x.shape[e + 1 :])

        return flatten
    return None


def _conv2d(conv: Any, scratch: list[Array]) -> Kernel:
    # conv2d's im2col, from its own pieces: the zero-padded batch, its kernel-first window view
    # (tinytorch.convolutions.functional.windows) reshaped, the one copy, to (N, C*kh*kw,
    # Ho*Wo), one matmul with the (O, C*kh*kw) weight, then + bias. Here the padded buffer and
    # its window view are made once per input shape and reused.
    from tinytorch.convolutions.functional import output_size, windows

    weight = conv.weight.data
    out_channels = weight.shape[0]
    rows = weight.reshape(out_channels, -1)
    bias = None if conv.bias is None else conv.bias.data.reshape(1, out_channels, 1, 1)
    kernel, stride, (ph, pw), dilation = conv.kernel_size, conv.stride, conv.padding, conv.dilation
    prepared: dict[tuple[int, ...], tuple[Array, Array, int, int]] = {}

    def prepare(shape: tuple[int, ...], dtype: Any) -> tuple[Array, Array, int, int]:
        n, c, h, w = shape
        ho, wo = output_size("InferencePlan: Conv2d", shape, kernel, stride, (ph, pw), dilation)
        buffer = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=dtype)
        scratch.append(buffer)
        view = windows(buffer, kernel, stride, dilation, (ho, wo), kernel_first=True)
        prepared[shape] = (buffer, view, ho, wo)
        return prepared[shape]

    def conv2d(x: Array) -> Array:
        if x.ndim != 4 or x.shape[1] != weight.shape[1] or x.dtype != weight.dtype:
            raise ValueError(
                f"InferencePlan: Conv2d expects (N, {weight.shape[1]}, H, W) {weight.dtype}, "
                f"got {x.shape} {x.dtype}"
            )
        entry = prepared.get(x.shape)
        buffer, view, ho, wo = prepare(x.shape, x.dtype) if entry is None else entry
        n, c, h, w = x.shape
        buffer[:, :, ph : ph + h, pw : pw + w] = x
        cols = view.reshape(n, c * kernel[0] * kernel[1], ho * wo)
        out: Array = np.matmul(rows, cols).reshape(n, out_channels, ho, wo)
        if bias is not None:
            out += bias
        return out

    return conv2d


def _max_pool(pool: Any, relu: bool) -> Kernel:
    (kh, kw), (sh, sw), padding = pool.kernel_size, pool.stride, pool.padding
    if (kh, kw) != (sh, sw) or padding != (0, 0):
        layer_kernel = _through_layer(pool)
        return (lambda x: np.maximum(layer_kernel(x), 0)) if relu else layer_kernel

    def max_pool(x: Array) -> Array:
        # Non-overlapping windows: a reshape puts each window on its own two axes. A maximum
        # is exact, so the values are max_pool2d's (and NaN propagates, as there).
        n, c, h, w = x.shape
        ho, wo = h // kh, w // kw
        windows = x[:, :, : ho * kh, : wo * kw].reshape(n, c, ho, kh, wo, kw)
        out: Array = windows.max(axis=(3, 5))
        if relu:
            np.maximum(out, 0, out=out)
        return out

    return max_pool
