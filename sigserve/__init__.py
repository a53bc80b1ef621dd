"""sigserve: TensorFlow Serving as a pip-installable Python package.

``import sigserve`` is light: TensorFlow is only loaded by the parts that run
models (``sigserve.runtime``, ``sigserve.tools``), on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
