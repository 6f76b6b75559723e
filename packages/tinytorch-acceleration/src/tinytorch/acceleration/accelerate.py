"""``accelerate(model, optimizer)``: a faster equivalent, built beside the original.

In the spirit of ``torch.compile(model)``, which returns a new callable over the same
parameters: nothing is patched. The returned model is a new module whose layers share the
original's Parameter objects; the returned optimizer steps those same Parameters. What has no
fused kernel is kept as it is, and the report says so and why.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from tinytorch.acceleration.foreach import ForeachAdamW
from tinytorch.acceleration.modules import (
    FusedBlock,
    FusedGPT,
    FusedLinear,
    FusedMLP,
    FusedReLUMaxPool2d,
    FusedSelfAttention,
)
from tinytorch.layers import Linear, Module, Sequential
from tinytorch.optimizers import Adam, Optimizer

__all__ = ["Accelerated", "AccelerationReport", "accelerate"]


@dataclass
class AccelerationReport:
    """What :func:`accelerate` replaced (``fused``) and left alone (``left_alone``), each as
    ``(layer path, what / why)``, and what it did with the optimizer.

    Example:
        >>> r = AccelerationReport(fused=[("0", "Linear -> linear op")])
        >>> r.left_alone, "0: Linear -> linear op" in str(r)
        ([], True)
    """

    fused: list[tuple[str, str]] = field(default_factory=list)
    left_alone: list[tuple[str, str]] = field(default_factory=list)
    optimizer: str = "none given"

    def __str__(self) -> str:
        lines = ["accelerated:"] + [f"  {p}: {w}" for p, w in self.fused]
        lines += ["left alone:"] + [f"  {p}: {w}" for p, w in self.left_alone]
        lines.append(f"optimizer: {self.optimizer}")
        return "\n".join(lines)


class Accelerated(NamedTuple):
    """:func:`accelerate`'s result: ``model, optimizer, report = accelerate(m, opt)``."""

    model: Module
    optimizer: Optimizer | None
    report: AccelerationReport


def accelerate(model: Module, optimizer: Optimizer | None = None) -> Accelerated:
    """A faster equivalent of ``model`` (and of ``optimizer``), over the same Parameters.

    - A :class:`tinytorch.transformers.GPT`: each block's attention becomes the packed
      ``causal_self_attention`` op between two ``linear`` ops, its MLP ``linear_gelu`` +
      ``linear``, the head a ``linear``; LayerNorm is already one op and is shared as is.
    - A :class:`~tinytorch.layers.Sequential`: each ``Linear`` becomes a one-node ``linear``.
    - Adam / AdamW (no amsgrad): a :class:`ForeachAdamW` over one flat buffer; the Parameters
      become views of it (their values unchanged), so the original model sees every update.

    Anything else is kept as it is and listed in ``report.left_alone`` with the reason.

    Example:
        >>> from tinytorch.activations import ReLU
        >>> from tinytorch.optimizers import AdamW
        >>> from tinytorch.tensor import Generator
        >>> net = Sequential(Linear(4, 8, generator=Generator(0)), ReLU(), Linear(8, 2))
        >>> fast, opt, report = accelerate(net, AdamW(net.parameters()))
        >>> fast[0].weight is net[0].weight, type(opt).__name__
        (True, 'ForeachAdamW')
        >>> report.left_alone
        [('1', 'ReLU: elementwise, already one op; no fused kernel here')]
    """
    if not isinstance(model, Module):
        raise TypeError(f"accelerate: expects a Module, got {type(model).__name__}")
    report = AccelerationReport()
    new_model = _accelerate_model(model, report)
    new_opt = _accelerate_optimizer(optimizer, report)
    return Accelerated(new_model, new_opt, report)


def _accelerate_model(model: Module, report: AccelerationReport) -> Module:
    if _is_gpt(model):
        return _accelerate_gpt(model, report)
    if isinstance(model, Sequential):
        items = [(str(i), layer) for i, layer in enumerate(model)]
        layers: OrderedDict[str, Any] = OrderedDict()
        i = 0
        while i < len(items):
            name, layer = items[i]
            following = items[i + 1][1] if i + 1 < len(items) else None
            if type(layer) is Linear:
                layers[name] = FusedLinear(layer)
                report.fused.append((name, "Linear -> linear op (one node, no separate add)"))
            elif type(layer).__name__ == "ReLU" and _is_pool_2x2(following):
                layers[name] = FusedReLUMaxPool2d(following)
                report.fused.append(
                    (f"{name}, {items[i + 1][0]}", "ReLU + MaxPool2d(2) -> relu_max_pool2d")
                )
                i += 1
            else:
                layers[name] = layer
                report.left_alone.append((name, _why(layer)))
            i += 1
        out = Sequential(layers)
        out.train(model.training)
        return out
    report.left_alone.append(
        ("", f"{type(model).__name__}: no accelerated form (GPT and Sequential have one)")
    )
    return model


def _is_pool_2x2(layer: Any) -> bool:
    """A MaxPool2d(2): 2x2 windows, stride 2, no padding, no dilation."""
    return (
        type(layer).__name__ == "MaxPool2d"
        and tuple(layer.kernel_size) == (2, 2)
        and tuple(layer.stride) == (2, 2)
        and tuple(layer.padding) == (0, 0)
        and tuple(getattr(layer, "dilation", (1, 1))) in ((1, 1),)
    )


def _is_gpt(model: Module) -> bool:
    try:
        from tinytorch.transformers import GPT
    except ImportError:  # the language extra is absent: no GPT can exist either
        return False
    return isinstance(model, GPT)


def _why(layer: Any) -> str:
    kind = type(layer).__name__
    if kind == "Conv2d":
        return "Conv2d: already one im2col + GEMM op (module 09); no fused kernel here"
    if kind in ("ReLU", "Sigmoid", "Tanh", "GELU", "LeakyReLU"):
        return f"{kind}: elementwise, already one op; no fused kernel here"
    if kind in ("MaxPool2d", "AvgPool2d", "Flatten", "Dropout"):
        return f"{kind}: already one op; no fused kernel here"
    if isinstance(layer, Linear):
        return f"{kind}: a subclass of Linear, whose forward may differ; kept"
    return f"{kind}: no fused kernel for this layer"


def _accelerate_gpt(gpt: Any, report: AccelerationReport) -> Module:
    blocks: list[Module] = []
    for i, block in enumerate(gpt.h):
        path = f"h.{i}"
        attn: Module = block.attn
        if not getattr(block, "causal", True):
            report.left_alone.append((f"{path}.attn", "non-causal block: kept"))
        elif block.attn.dropout > 0:
            report.left_alone.append(
                (f"{path}.attn", f"attention dropout {block.attn.dropout}: no fused kernel")
            )
        elif not block.attn.batch_first:
            report.left_alone.append((f"{path}.attn", "not batch_first: kept"))
        else:
            attn = FusedSelfAttention(block.attn)
            report.fused.append(
                (f"{path}.attn", "linear + causal_self_attention + linear (packed q/k/v)")
            )
        mlp: Module = block.mlp
        approximate = getattr(block.mlp.gelu, "approximate", None)
        if approximate != "tanh":
            report.left_alone.append(
                (f"{path}.mlp", f"GELU approximate={approximate!r}: the fused kernel is tanh's")
            )
        else:
            mlp = FusedMLP(block.mlp)
            report.fused.append((f"{path}.mlp", "linear_gelu + linear"))
        blocks.append(FusedBlock(block, attn, mlp))
        report.left_alone.append(
            (f"{path}.ln_1, {path}.ln_2", "LayerNorm: already one fused op (layer_norm)")
        )
    report.fused.append(("lm_head", "linear op (tied to wte.weight)"))
    report.left_alone.append(("wte, wpe, ln_f", "embedding and layer_norm: already one op each"))
    if gpt.is_gradient_checkpointing:
        report.left_alone.append(("", "gradient checkpointing is not applied by FusedGPT"))
    out = FusedGPT(gpt, blocks)
    out.train(gpt.training)
    return out


def _accelerate_optimizer(
    optimizer: Optimizer | None, report: AccelerationReport
) -> Optimizer | None:
    if optimizer is None:
        return None
    if isinstance(optimizer, Adam) and not any(g["amsgrad"] for g in optimizer.param_groups):
        dtypes = {p.dtype for g in optimizer.param_groups for p in g["params"]}
        if len(dtypes) == 1:
            report.optimizer = (
                f"{type(optimizer).__name__} -> ForeachAdamW (one flat buffer, "
                f"{sum(len(g['params']) for g in optimizer.param_groups)} parameters)"
            )
            return ForeachAdamW.from_optimizer(optimizer)
        report.optimizer = f"{type(optimizer).__name__}: mixed dtypes {dtypes}; kept"
        return optimizer
    report.optimizer = (
        f"{type(optimizer).__name__}: no foreach step here (Adam/AdamW without amsgrad); kept"
    )
    return optimizer
