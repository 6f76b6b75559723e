"""QConfig: which observers (or fake quantizers) a layer's activations and weight get
(``torch.ao.quantization.QConfig``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tinytorch.layers import Module
from tinytorch.quantization.fake_quant import (
    default_fake_quant,
    default_per_channel_weight_fake_quant,
)
from tinytorch.quantization.observers import (
    MinMaxObserver,
    PercentileObserver,
    PerChannelMinMaxObserver,
)
from tinytorch.quantization.qtypes import per_channel_symmetric, per_tensor_symmetric, qint8

__all__ = [
    "QConfig",
    "default_per_channel_weight_observer",
    "default_qat_qconfig",
    "default_qconfig",
    "default_weight_observer",
    "per_tensor_weight_qconfig",
    "percentile_qconfig",
]


@dataclass(frozen=True)
class QConfig:
    """Factories of the activation and weight observers (or FakeQuantize modules for QAT).

    >>> type(default_qconfig.weight()).__name__
    'PerChannelMinMaxObserver'
    """

    activation: Callable[[], Module]
    weight: Callable[[], Module]


def default_per_channel_weight_observer() -> PerChannelMinMaxObserver:
    """qint8, per output channel, symmetric: torch's default_per_channel_weight_observer.

    >>> default_per_channel_weight_observer().qscheme
    'per_channel_symmetric'
    """
    return PerChannelMinMaxObserver(ch_axis=0, dtype=qint8, qscheme=per_channel_symmetric)


def default_weight_observer() -> MinMaxObserver:
    """qint8, one scale for the whole weight, symmetric: torch's default_weight_observer.

    >>> default_weight_observer().qscheme
    'per_tensor_symmetric'
    """
    return MinMaxObserver(dtype=qint8, qscheme=per_tensor_symmetric)


#: Static PTQ: quint8 affine min-max activations, per-channel symmetric qint8 weights.
default_qconfig = QConfig(activation=MinMaxObserver, weight=default_per_channel_weight_observer)
#: As default_qconfig with one weight scale per layer (fewer bytes, coarser grid).
per_tensor_weight_qconfig = QConfig(activation=MinMaxObserver, weight=default_weight_observer)
#: Activations whose range ignores the rarest 0.01% at each end.
percentile_qconfig = QConfig(
    activation=PercentileObserver, weight=default_per_channel_weight_observer
)
#: QAT: moving-average fake quantizers, per-channel symmetric weights.
default_qat_qconfig = QConfig(
    activation=default_fake_quant, weight=default_per_channel_weight_fake_quant
)
