"""REST URLs for a model, a version or a label (the client's side of rest/paths)."""

from __future__ import annotations

from urllib.parse import quote

from sigserve.errors import invalid_argument


def model_url(base: str, model: str, version: int | None = None, label: str | None = None) -> str:
    if version is not None and label is not None:
        raise invalid_argument("give a version or a label, not both")
    url = f"{base.rstrip('/')}/v1/models/{quote(model, safe='')}"
    if version is not None:
        url += f"/versions/{int(version)}"
    elif label is not None:
        url += f"/labels/{quote(label, safe='')}"
    return url
