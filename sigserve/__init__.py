"""sigserve: TensorFlow Serving as a pip-installable Python package.

``import sigserve`` is light: the public names below are loaded on first use,
and TensorFlow only by the parts that run or build models (``sigserve.export``).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Client": "sigserve.client.rest",
    "GrpcClient": "sigserve.client.grpc",
    "ServingError": "sigserve.errors",
    "Code": "sigserve.errors",
    "export": "sigserve.tools.export",
}

__all__ = ["Client", "Code", "GrpcClient", "ServingError", "__version__", "export"]


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'sigserve' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
