"""Transforms over whole batches of images, shaped (N, C, H, W) (or one image, (C, H, W)).

Each transform takes a NumPy array or a Tensor and returns the same kind. The random ones draw
every sample's choice (crop offset, flip) in one call to their generator and apply all of them
with one indexing expression: no Python loop over the samples of a batch.

Apply them to a batch in the training loop (``x = augment(x)``) or to a dataset with
:class:`~tinytorch.dataloader.TransformDataset`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from tinytorch.tensor import Generator, Tensor, default_generator, from_numpy

__all__ = ["Compose", "Normalize", "RandomCrop", "RandomHorizontalFlip"]

Array = npt.NDArray[Any]
B = TypeVar("B", Tensor, npt.NDArray[Any])


def _images(op: str, x: Tensor | Array) -> tuple[Array, bool]:
    """The batch as a 4-D array, and whether the input was a single (C, H, W) image."""
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if data.ndim == 3:
        return data[None], True
    if data.ndim != 4:
        raise ValueError(
            f"{op}: expects images of shape (N, C, H, W) or (C, H, W), got shape {data.shape}"
        )
    return data, False


def _like(x: B, out: Array, single: bool) -> B:
    result = out[0] if single else out
    if isinstance(x, Tensor):
        return from_numpy(np.ascontiguousarray(result))
    return np.ascontiguousarray(result)


def _pair(op: str, name: str, v: int | Sequence[int]) -> tuple[int, int]:
    pair = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(pair) != 2 or any(int(p) < 0 for p in pair):
        raise ValueError(f"{op}: {name} must be a non-negative int or a pair of them, got {v}")
    return int(pair[0]), int(pair[1])


class Compose:
    """Apply transforms one after the other.

    Example:
        >>> import numpy as np
        >>> t = Compose([RandomHorizontalFlip(1.0), Normalize([0.5], [0.5])])
        >>> t(np.ones((2, 1, 4, 4), dtype=np.float32)).max()
        np.float32(1.0)
    """

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: B) -> B:
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"


class Normalize:
    """``(x - mean[c]) / std[c]`` for every channel ``c`` (integer images become float32).

    Example:
        >>> import numpy as np
        >>> Normalize([1.0, 2.0], [2.0, 4.0])(np.full((1, 2, 1, 1), 3.0, np.float32)).ravel()
        array([1.  , 0.25], dtype=float32)
    """

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.ndim != 1 or self.std.ndim != 1:
            raise ValueError(
                f"Normalize: mean and std must be numbers or 1-D sequences, got shapes "
                f"{self.mean.shape} and {self.std.shape}"
            )
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std {self.std.tolist()} has a zero (division by zero)")

    def __call__(self, x: B) -> B:
        data, single = _images("Normalize", x)
        channels = data.shape[1]
        for name, v in (("mean", self.mean), ("std", self.std)):
            if v.size not in (1, channels):
                raise ValueError(
                    f"Normalize: {name} has {v.size} values but the images have {channels} "
                    f"channels (shape {data.shape})"
                )
        # BEGIN SOLUTION normalize
        # HINT: (x - mean) / std per channel of an (N, C, H, W) batch: reshape mean and std to
        # HINT: broadcast over the channel axis; compute in the images' float dtype (float32 for
        # HINT: integer images), multiplying by 1 / std.
        # TESTS: normalize
        dtype = data.dtype if data.dtype.kind == "f" else np.dtype(np.float32)
        mean = self.mean.astype(dtype).reshape(1, -1, 1, 1)
        inv_std = (1.0 / self.std).astype(dtype).reshape(1, -1, 1, 1)
        out = (data.astype(dtype, copy=False) - mean) * inv_std
        # END SOLUTION
        return _like(x, out, single)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class RandomCrop:
    """Crop each image at its own random position, after optional zero padding.

    Offsets are drawn for the whole batch at once; the crops are then read from a
    ``sliding_window_view`` of the padded batch with one fancy index (a view, so nothing is
    copied before the crops themselves).

    Example:
        >>> import numpy as np
        >>> from tinytorch.tensor import Generator
        >>> crop = RandomCrop(8, padding=2, generator=Generator(0))
        >>> crop(np.ones((16, 1, 8, 8), dtype=np.float32)).shape
        (16, 1, 8, 8)
    """

    def __init__(
        self,
        size: int | Sequence[int],
        padding: int | Sequence[int] = 0,
        fill: float = 0.0,
        generator: Generator | None = None,
    ) -> None:
        self.size = _pair("RandomCrop", "size", size)
        if 0 in self.size:
            raise ValueError(f"RandomCrop: size must be positive, got {size}")
        self.padding = _pair("RandomCrop", "padding", padding)
        self.fill = fill
        self.generator = generator

    def __call__(self, x: B) -> B:
        data, single = _images("RandomCrop", x)
        n, _, height, width = data.shape
        ph, pw = self.padding
        h, w = self.size
        if height + 2 * ph < h or width + 2 * pw < w:
            raise ValueError(
                f"RandomCrop: crop size {self.size} is larger than the padded image "
                f"({height + 2 * ph}, {width + 2 * pw}) of batch shape {data.shape}"
            )
        # BEGIN SOLUTION random-crop
        # HINT: Zero-pad (with fill) by padding on each side, then draw one top-left offset per
        # HINT: image from the generator's rng (first all the tops, then all the lefts) and cut each
        # HINT: image's crop there. No Python loop over images:
        # HINT: np.lib.stride_tricks.sliding_window_view gives every h x w window as a view, and one
        # HINT: fancy index picks each image's window.
        # TESTS: random_crop
        if ph or pw:
            # np.pad is general and several times slower than filling a buffer and one copy.
            padded = np.full(
                (n, data.shape[1], height + 2 * ph, width + 2 * pw), self.fill, dtype=data.dtype
            )
            padded[:, :, ph : ph + height, pw : pw + width] = data
            data = padded
        rng = (self.generator or default_generator).rng
        top = rng.integers(0, data.shape[2] - h + 1, size=n)
        left = rng.integers(0, data.shape[3] - w + 1, size=n)
        windows = sliding_window_view(data, (h, w), axis=(2, 3))  # (N, C, H', W', h, w)
        # The advanced indices on axes 0, 2, 3 are split by a slice, so numpy puts their
        # broadcast dimension (N) first: the result is (N, C, h, w).
        out = windows[np.arange(n), :, top, left]
        # END SOLUTION
        return _like(x, out, single)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror each image left-right with probability ``p``, independently per image.

    Example:
        >>> import numpy as np
        >>> x = np.arange(4.0).reshape(1, 1, 1, 4)
        >>> RandomHorizontalFlip(p=1.0)(x).ravel()
        array([3., 2., 1., 0.])
    """

    def __init__(self, p: float = 0.5, generator: Generator | None = None) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must lie in [0, 1], got {p}")
        self.p = p
        self.generator = generator

    def __call__(self, x: B) -> B:
        data, single = _images("RandomHorizontalFlip", x)
        # BEGIN SOLUTION horizontal-flip
        # HINT: Draw one uniform number per image; where it is below p, use the image mirrored along
        # HINT: its last (width) axis.
        # TESTS: flip
        rng = (self.generator or default_generator).rng
        flip: npt.NDArray[np.bool_] = rng.random((data.shape[0],)) < self.p
        out = np.where(flip[:, None, None, None], data[..., ::-1], data)
        # END SOLUTION
        return _like(x, out, single)

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"
