"""Synthetic inputs for the tools: the runtime's builder (``sigserve.runtime.synthetic``)."""

from sigserve.runtime.synthetic import inputs, shape_for, tensor

__all__ = ["inputs", "shape_for", "tensor"]
