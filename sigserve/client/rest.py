"""``sigserve.Client``: TF Serving's REST API from Python, numpy in and out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import numpy as np
import orjson

from sigserve.client.paths import model_url
from sigserve.codecs import examples_json, tf_json_client
from sigserve.errors import Code, ServingError

_CODE_BY_HTTP = {
    400: Code.INVALID_ARGUMENT,
    404: Code.NOT_FOUND,
    503: Code.UNAVAILABLE,
    504: Code.DEADLINE_EXCEEDED,
    501: Code.UNIMPLEMENTED,
    429: Code.RESOURCE_EXHAUSTED,
}


class Client:
    """``Client("http://localhost:8501").predict("model", {"x": array})``."""

    def __init__(self, url: str = "http://localhost:8501", *, timeout: float = 30.0) -> None:
        self.url = url
        self._http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def predict(
        self,
        model: str,
        inputs: np.ndarray | Mapping[str, Any],
        *,
        signature_name: str | None = None,
        version: int | None = None,
        label: str | None = None,
    ) -> np.ndarray | dict[str, np.ndarray]:
        """Outputs as numpy: one array for one output, else a dict by output name."""
        body = tf_json_client.encode_predict_request(_as_arrays(inputs), signature_name)
        return tf_json_client.decode_predict_response(
            self._post(model_url(self.url, model, version, label) + ":predict", body)
        )

    def classify(
        self,
        model: str,
        examples: list[dict[str, Any]],
        *,
        context: dict[str, Any] | None = None,
        signature_name: str | None = None,
        version: int | None = None,
        label: str | None = None,
    ) -> Any:
        body = self._post_examples("classify", model, examples, context, signature_name,
                                   version, label)  # fmt: skip
        return examples_json.decode_classification_response(body)

    def regress(
        self,
        model: str,
        examples: list[dict[str, Any]],
        *,
        context: dict[str, Any] | None = None,
        signature_name: str | None = None,
        version: int | None = None,
        label: str | None = None,
    ) -> Any:
        body = self._post_examples("regress", model, examples, context, signature_name,
                                   version, label)  # fmt: skip
        return examples_json.decode_regression_response(body)

    def status(
        self, model: str, *, version: int | None = None, label: str | None = None
    ) -> dict[str, Any]:
        return orjson.loads(self._get(model_url(self.url, model, version, label)))

    def metadata(
        self, model: str, *, version: int | None = None, label: str | None = None
    ) -> dict[str, Any]:
        return orjson.loads(self._get(model_url(self.url, model, version, label) + "/metadata"))

    def _post_examples(
        self,
        method: str,
        model: str,
        examples: list[dict[str, Any]],
        context: dict[str, Any] | None,
        signature_name: str | None,
        version: int | None,
        label: str | None,
    ) -> bytes:
        url = f"{model_url(self.url, model, version, label)}:{method}"
        return self._post(
            url, examples_json.encode_examples_request(examples, context, signature_name)
        )

    def _post(self, url: str, body: bytes) -> bytes:
        return _checked(
            self._http.post(url, content=body, headers={"content-type": "application/json"})
        )

    def _get(self, url: str) -> bytes:
        return _checked(self._http.get(url))


def _as_arrays(inputs: np.ndarray | Mapping[str, Any]) -> np.ndarray | dict[str, np.ndarray]:
    if isinstance(inputs, Mapping):
        return {k: np.asarray(v) for k, v in inputs.items()}
    return np.asarray(inputs)


def _checked(response: httpx.Response) -> bytes:
    if response.status_code == 200:
        return response.content
    try:
        message = orjson.loads(response.content)["error"]
    except Exception:
        message = response.text or f"HTTP {response.status_code}"
    raise ServingError(_CODE_BY_HTTP.get(response.status_code, Code.UNKNOWN), message)
