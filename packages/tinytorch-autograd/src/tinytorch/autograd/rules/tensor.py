"""Gradient rules of the ops of tinytorch.tensor."""
