from __future__ import annotations

import numpy as np
import pytest

from tinytorch.quantization import (
    MinMaxObserver,
    MovingAverageMinMaxObserver,
    MovingAveragePerChannelMinMaxObserver,
    PercentileObserver,
    PerChannelMinMaxObserver,
    quantize_per_channel,
    quantize_per_tensor,
)
from tinytorch.tensor import Tensor

try:
    import torch
except ImportError:  # only the oracle tests need it; the others run without it
    torch = None
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
needs_torch = pytest.mark.skipif(torch is None, reason="needs torch (tox -e oracle installs it)")
TORCH_DTYPES = (
    {} if torch is None else {"qint8": torch.qint8, "quint8": torch.quint8, "qint32": torch.qint32}
)


def _data(rng: np.random.Generator) -> list[np.ndarray]:
    ties = (rng.integers(-300, 300, (16, 40)).astype(np.float32) + 0.5) * 0.25  # exact .5 ties
    return [
        rng.standard_normal((16, 40)).astype(np.float32) * 3,
        ties,
        np.full((16, 40), 1000.0, np.float32),  # clamped at the top
        np.full((16, 40), -1000.0, np.float32),
        np.zeros((16, 40), np.float32),
    ]


@needs_torch
@pytest.mark.parametrize("dtype", ["qint8", "quint8", "qint32"])
def test_quantize_per_tensor_is_bit_exact_with_torch(dtype: str) -> None:
    rng = np.random.default_rng(0)
    for x in _data(rng):
        for scale, zp in ((0.25, 3), (0.37, 7), (1.0, 0), (0.01, 100)):
            ours = quantize_per_tensor(Tensor(x), scale, zp, dtype)
            ref = torch.quantize_per_tensor(torch.tensor(x), scale, zp, TORCH_DTYPES[dtype])
            assert np.array_equal(ours.int_repr().data, ref.int_repr().numpy())
            assert ours.int_repr().dtype == ref.int_repr().numpy().dtype
            np.testing.assert_allclose(ours.dequantize().data, ref.dequantize().numpy(), rtol=1e-6)


@needs_torch
@pytest.mark.parametrize("dtype", ["qint8", "quint8"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_quantize_per_channel_is_bit_exact_with_torch(dtype: str, axis: int) -> None:
    rng = np.random.default_rng(1)
    for x in _data(rng):
        n = x.shape[axis]
        scales = np.where(rng.random(n) < 0.5, 0.25, rng.uniform(0.001, 0.5, n))
        zps = rng.integers(0, 20, n)
        ours = quantize_per_channel(Tensor(x), scales, zps, axis, dtype)
        ref = torch.quantize_per_channel(
            torch.tensor(x), torch.tensor(scales), torch.tensor(zps), axis % 2, TORCH_DTYPES[dtype]
        )
        assert np.array_equal(ours.int_repr().data, ref.int_repr().numpy())
        assert ours.q_per_channel_axis() == axis % 2
        np.testing.assert_array_equal(ours.q_per_channel_zero_points().data, zps)


def test_round_half_to_even_after_the_zero_point() -> None:
    q = quantize_per_tensor(Tensor([0.5, 1.5, 2.5, -0.5, -1.5]), 1.0, 0, "qint8")
    assert q.int_repr().tolist() == [0, 2, 2, 0, -2]
    # The zero point is added before rounding: 0.5 + 1 = 1.5 -> 2.
    assert quantize_per_tensor(Tensor([0.5]), 1.0, 1, "qint8").int_repr().tolist() == [2]


def test_bad_inputs_name_the_op_and_the_value() -> None:
    x = Tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"quantize_per_tensor: input .* non-finite value nan"):
        quantize_per_tensor(Tensor([1.0, float("nan")]), 0.1, 0, "qint8")
    with pytest.raises(ValueError, match=r"quantize_per_tensor: .* inf"):
        quantize_per_tensor(Tensor([float("inf")]), 0.1, 0, "qint8")
    with pytest.raises(
        ValueError, match=r"quantize_per_tensor: scale must be finite and > 0, got -1.0"
    ):
        quantize_per_tensor(x, -1.0, 0, "qint8")
    with pytest.raises(ValueError, match=r"got 0.0"):
        quantize_per_tensor(x, 0.0, 0, "qint8")
    with pytest.raises(
        ValueError, match=r"zero_point 300 is outside the range of quint8 \[0, 255\]"
    ):
        quantize_per_tensor(x, 0.1, 300, "quint8")
    with pytest.raises(TypeError, match="quantize_per_tensor: unsupported dtype 'float16'"):
        quantize_per_tensor(x, 0.1, 0, "float16")
    with pytest.raises(TypeError, match="input must be floating"):
        quantize_per_tensor(Tensor(np.array([1, 2])), 0.1, 0, "qint8")
    m = Tensor(np.ones((2, 3), np.float32))
    with pytest.raises(
        IndexError, match=r"quantize_per_channel: axis 2 is out of range .* \(2, 3\)"
    ):
        quantize_per_channel(m, [1.0, 1.0], [0, 0], 2, "qint8")
    with pytest.raises(ValueError, match=r"scales of shape \(3,\) should be \(2,\)"):
        quantize_per_channel(m, [1.0, 1.0, 1.0], [0, 0], 0, "qint8")
    with pytest.raises(ValueError, match=r"got -0.5 at channel 1"):
        quantize_per_channel(m, [1.0, -0.5], [0, 0], 0, "qint8")
    with pytest.raises(ValueError, match="zero_point -129 at channel 0"):
        quantize_per_channel(m, [1.0, 1.0], [-129, 0], 0, "qint8")
    with pytest.raises(RuntimeError, match="per channel"):
        quantize_per_channel(m, [1.0, 1.0], [0, 0], 0, "qint8").q_scale()
    with pytest.raises(ValueError, match=r"MinMaxObserver: .* non-finite"):
        MinMaxObserver()(Tensor([float("nan")]))
    with pytest.raises(RuntimeError, match="nothing observed yet"):
        MinMaxObserver().calculate_qparams()


def _torch_observer(kind: str, **kw: object) -> object:
    obs = torch.ao.quantization
    table = {
        "minmax": obs.MinMaxObserver,
        "moving": obs.MovingAverageMinMaxObserver,
        "perchannel": obs.PerChannelMinMaxObserver,
        "moving_perchannel": obs.MovingAveragePerChannelMinMaxObserver,
    }
    args = dict(kw)
    args["dtype"] = TORCH_DTYPES[str(args["dtype"])]
    args["qscheme"] = getattr(torch, str(args["qscheme"]))
    return table[kind](**args)


OURS = {
    "minmax": MinMaxObserver,
    "moving": MovingAverageMinMaxObserver,
    "perchannel": PerChannelMinMaxObserver,
    "moving_perchannel": MovingAveragePerChannelMinMaxObserver,
}


# Every combination torch's observers accept (they refuse reduce_range for symmetric quint8).
SETTINGS = [
    (dtype, symmetric, reduce_range)
    for dtype in ("qint8", "quint8")
    for symmetric in (False, True)
    for reduce_range in (False, True)
    if not (reduce_range and symmetric and dtype == "quint8")
]


@needs_torch
@pytest.mark.parametrize("kind", list(OURS))
@pytest.mark.parametrize(("dtype", "symmetric", "reduce_range"), SETTINGS)
def test_observers_match_torch(kind: str, dtype: str, symmetric: bool, reduce_range: bool) -> None:
    per_channel = "perchannel" in kind
    scheme = ("per_channel_" if per_channel else "per_tensor_") + (
        "symmetric" if symmetric else "affine"
    )
    kw = {"dtype": dtype, "qscheme": scheme, "reduce_range": reduce_range}
    ours, ref = OURS[kind](**kw), _torch_observer(kind, **kw)  # type: ignore[arg-type]
    rng = np.random.default_rng(2)
    for step in range(4):
        x = (rng.standard_normal((6, 20)) * (step + 1) + rng.uniform(-2, 2)).astype(np.float32)
        ours(Tensor(x))
        ref(torch.tensor(x))  # type: ignore[operator]
    s, z = ours.calculate_qparams()
    rs, rz = ref.calculate_qparams()  # type: ignore[attr-defined]
    assert np.array_equal(s.data.reshape(-1), rs.numpy().astype(np.float32).reshape(-1))
    assert np.array_equal(z.data.reshape(-1), rz.numpy().astype(np.int64).reshape(-1))


def test_all_zero_and_constant_tensors_round_trip_exactly() -> None:
    for dtype in ("quint8", "qint8"):
        for value in (0.0, 0.3, 1.0, -2.5, 7.0, 123.456, -0.001):
            x = Tensor(np.full((3, 4), value, np.float32))
            obs = MinMaxObserver(dtype=dtype)
            obs(x)
            s, z = obs.calculate_qparams()
            q = quantize_per_tensor(x, float(s.item()), int(z.item()), dtype)
            assert np.array_equal(q.dequantize().data, x.data), (dtype, value)


def test_percentile_observer_ignores_outliers() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, 10_000).astype(np.float32)
    x[0] = 500.0
    obs = PercentileObserver(percentile=99.9)
    obs(Tensor(x))
    lo, hi = np.percentile(x, (0.1, 99.9))
    assert obs.max_val.item() == np.float32(hi)
    assert obs.min_val.item() == np.float32(lo)
    assert MinMaxObserver()(Tensor(x)) is not None
    assert obs.calculate_qparams()[0].item() < 0.01  # the outlier would make it ~2
