"""Gradient rules of the ops of modules 01-04, one file per module, in the order of its forwards.

Each rule has one shape: ``rule(grad, node) -> tuple of input gradients``, registered under the
op name its forward passes to :func:`tinytorch.tensor.record`.
"""

from tinytorch.autograd.rules import activations, losses, tensor

__all__ = ["activations", "losses", "tensor"]
