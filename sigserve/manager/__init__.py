"""What is loaded: model config, version policies, polling, labels, version states.

``ModelManager`` is the one entry point; ``sigserve.manager.config`` builds and
reads ``ModelServerConfig``.
"""

from sigserve.manager.manager import Handle, ModelManager
from sigserve.manager.state import State, VersionStatus

__all__ = ["Handle", "ModelManager", "State", "VersionStatus"]
