"""``ModelServerConfig``: built from ``--model_name/--model_base_path``, or read
from ``--model_config_file`` (TF Serving's text-protobuf format), and checked
by TF Serving's rules before it is applied.
"""

from __future__ import annotations

from typing import Any

from sigserve import protos
from sigserve.errors import invalid_argument

TENSORFLOW_PLATFORM = "tensorflow"
_TENSORFLOW_MODEL_TYPE = 1  # ModelType.TENSORFLOW (deprecated field)


def single_model_config(name: str, base_path: str) -> Any:
    """The config TF Serving builds for ``--model_name`` / ``--model_base_path``."""
    config = protos.model_server_config_pb2.ModelServerConfig()
    model = config.model_config_list.config.add()
    model.name = name
    model.base_path = base_path
    model.model_platform = TENSORFLOW_PLATFORM
    return config


def parse_model_config(text: str, source: str = "<string>") -> Any:
    """Parse a text-format ``ModelServerConfig``; INVALID_ARGUMENT naming ``source``."""
    return protos.parse_text(text, protos.model_server_config_pb2.ModelServerConfig(), source)


def load_model_config_file(path: str) -> Any:
    """Read and parse ``--model_config_file``."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise invalid_argument(f"Could not read model config file '{path}': {e}") from None
    return parse_model_config(text, path)


def validate_model_config(config: Any) -> None:
    """TF Serving's checks on a ``model_config_list`` (names, paths, platform)."""
    if config.WhichOneof("config") != "model_config_list":
        raise invalid_argument("Invalid ServerModelConfig")
    names: set[str] = set()
    for model in config.model_config_list.config:
        if model.name in names:
            raise invalid_argument(
                f"Illegal to list model {model.name} multiple times in config list"
            )
        names.add(model.name)
        if not model.name:
            raise invalid_argument("ModelConfig has no name specified.")
        if not _is_absolute(model.base_path):
            raise invalid_argument(
                f"Expected model {model.name} to have an absolute path or URI; "
                f"got base_path()={model.base_path}"
            )
        platform = model_platform(model)
        if platform != TENSORFLOW_PLATFORM:
            raise invalid_argument(
                f"Model {model.name} requests unsupported platform {platform}"
            )


def model_platform(model: Any) -> str:
    """The platform of a ``ModelConfig`` (``model_platform`` or the deprecated ``model_type``)."""
    if model.model_type:
        if model.model_platform:
            raise invalid_argument(
                "Illegal setting both ModelServerConfig::model_type (deprecated) and "
                f"ModelServerConfig::model_platform, model name is {model.name}"
            )
        if model.model_type != _TENSORFLOW_MODEL_TYPE:
            raise invalid_argument(
                f"ModelServerConfig::model_type choice {model.model_type} not supported."
            )
        return TENSORFLOW_PLATFORM
    if not model.model_platform:
        raise invalid_argument(
            "Illegal setting neither ModelServerConfig::model_type (deprecated) nor "
            f"ModelServerConfig::model_platform, model name is {model.name}"
        )
    return model.model_platform


def _is_absolute(path: str) -> bool:
    return path.startswith("/") or "://" in path
