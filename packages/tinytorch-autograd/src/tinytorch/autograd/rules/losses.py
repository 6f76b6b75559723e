"""Gradient rules of the ops of tinytorch.losses."""
