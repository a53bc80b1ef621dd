"""TF Serving's REST URL grammar (``http_rest_api_util.cc``), as pure functions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from sigserve.errors import invalid_argument
from sigserve.types import ModelRef

# Every path under /v1/ goes to the REST handler (case-insensitive), as TF Serving.
API_PREFIX = re.compile(r"(?i)/v1/.*", re.DOTALL)
_PREDICTION = re.compile(
    r"(?i)/v1/models/([^/:]+)(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?"
    r":(classify|regress|predict)"
)
_STATUS = re.compile(
    r"(?i)/v1/models(?:/([^/:]+))?(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?"
    r"(?:/(metadata))?"
)


@dataclass(frozen=True)
class Route:
    """What a REST path asks for: a model reference and an action."""

    model_name: str
    version: int | None
    label: str | None
    action: str  # "predict", "classify", "regress", "status", "metadata" or "" (no match)

    def ref(self) -> ModelRef:
        if self.version is not None and self.label is not None:
            raise invalid_argument(
                f"Both model version ({self.version}) and model version label ({self.label}) "
                "cannot be supplied."
            )
        return ModelRef(self.model_name, self.version, self.label)


def parse(method: str, raw_path: str) -> Route:
    """Parse a request line the way TF Serving's ``ParseModelInfo`` does.

    ``raw_path`` is the path as sent (still percent-encoded). An unparsable
    path gives a Route with ``action == ""``: the caller answers TF Serving's
    "Malformed request".
    """
    if method == "POST":
        m = _PREDICTION.fullmatch(raw_path)
        action = m.group(4) if m else ""
    elif method == "GET":
        m = _STATUS.fullmatch(raw_path)
        action = ("metadata" if m.group(4) else "status") if m else ""
    else:
        m, action = None, ""
    if m is None:
        return Route("", None, None, "")
    name = unquote(m.group(1) or "")
    version_text, label = m.group(2), m.group(3)
    version = None
    if version_text:
        try:
            version = int(version_text)
            if version >= 2**63:
                raise ValueError
        except ValueError:
            raise invalid_argument(
                f"Failed to convert version: {version_text} to numeric."
            ) from None
    return Route(name, version, unquote(label) if label else None, action)
