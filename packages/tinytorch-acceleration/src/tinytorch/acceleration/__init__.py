"""TinyTorch module 18: acceleration.

The lessons (:mod:`tinytorch.acceleration.lessons`: loops against vectorized code, a tiled
matmul, fusion with preallocated buffers), the fused ops (:mod:`.ops`), the foreach AdamW
(:mod:`.foreach`) and :func:`accelerate`, which puts them together for a model and its
optimizer, and :func:`compile_inference`, a graph-free inference plan (:mod:`.inference`).
"""

from tinytorch.acceleration.accelerate import Accelerated, AccelerationReport, accelerate
from tinytorch.acceleration.foreach import ForeachAdamW
from tinytorch.acceleration.inference import InferencePlan, KernelProvider, compile_inference
from tinytorch.acceleration.modules import (
    FusedBlock,
    FusedGPT,
    FusedLinear,
    FusedMLP,
    FusedReLUMaxPool2d,
    FusedSelfAttention,
)
from tinytorch.acceleration.ops import (
    causal_self_attention,
    linear,
    linear_gelu,
    relu_max_pool2d,
)

__all__ = [
    "Accelerated",
    "AccelerationReport",
    "ForeachAdamW",
    "FusedBlock",
    "FusedGPT",
    "FusedLinear",
    "FusedMLP",
    "FusedReLUMaxPool2d",
    "FusedSelfAttention",
    "InferencePlan",
    "KernelProvider",
    "accelerate",
    "causal_self_attention",
    "compile_inference",
    "linear",
    "linear_gelu",
    "relu_max_pool2d",
]
