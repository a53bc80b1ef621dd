"""``sigserve.Client``: TF Serving's REST API from Python, numpy in and out.

It answers as :class:`sigserve.GrpcClient` does: outputs in the signature's
dtypes (a float32 output is float32, though JSON carries it as text; the
signature is read once per model, version or label and cached), ``status()`` and
``metadata()`` as :mod:`sigserve.client.model_info`'s dataclasses, and every
failure as a ``ServingError`` with a code (a server that cannot be reached is
UNAVAILABLE, no answer in ``timeout`` seconds DEADLINE_EXCEEDED).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import numpy as np
import orjson

from sigserve.client import model_info
from sigserve.client.model_info import ModelMetadata, VersionStatus
from sigserve.client.outputs import output_dtypes
from sigserve.client.paths import model_url
from sigserve.codecs import examples_json, tf_json_client
from sigserve.errors import HTTP_STATUS, Code, ServingError

# TF Serving's HTTP statuses back to codes; where several codes share a status,
# the one TF Serving uses most for it.
_CODE_BY_HTTP = {status: code for code, status in reversed(HTTP_STATUS.items())}
_CODE_BY_HTTP.update({400: Code.INVALID_ARGUMENT, 409: Code.ABORTED, 500: Code.INTERNAL})


class Client:
    """``Client("http://localhost:8501").predict("model", {"x": array})``."""

    def __init__(self, url: str = "http://localhost:8501", *, timeout: float = 30.0) -> None:
        self.url = url
        self.timeout = timeout
        self._http = httpx.Client(timeout=timeout)
        self._metadata: dict[tuple[str, int | None, str | None], ModelMetadata] = {}

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
        """Outputs as numpy, in the signature's dtypes: one array for one output,
        else a dict by output name."""
        body = tf_json_client.encode_predict_request(_as_arrays(inputs), signature_name)
        answer = self._post(model_url(self.url, model, version, label) + ":predict", body)
        signature = self._signature(model, signature_name, version, label)
        dtypes = output_dtypes(signature.outputs) if signature else {}
        return tf_json_client.decode_predict_response(answer, dtypes)

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
    ) -> list[VersionStatus]:
        """The model's versions and their states."""
        doc = orjson.loads(self._get(model_url(self.url, model, version, label)))
        return model_info.status_from_json(doc)

    def metadata(
        self, model: str, *, version: int | None = None, label: str | None = None
    ) -> ModelMetadata:
        """The version answering and its signatures."""
        url = model_url(self.url, model, version, label) + "/metadata"
        return model_info.metadata_from_json(orjson.loads(self._get(url)))

    def _signature(
        self, model: str, signature_name: str | None, version: int | None, label: str | None
    ) -> model_info.SignatureInfo | None:
        """The signature called (from ``metadata()``, once per model spec), if known."""
        key = (model, version, label)
        if key not in self._metadata:
            try:
                self._metadata[key] = self.metadata(model, version=version, label=label)
            except ServingError:  # no metadata (yet): JSON's own types this time
                return None
        return self._metadata[key].signatures.get(signature_name or "serving_default")

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
        headers = {"content-type": "application/json"}
        return _checked(self._send(lambda: self._http.post(url, content=body, headers=headers)))

    def _get(self, url: str) -> bytes:
        return _checked(self._send(lambda: self._http.get(url)))

    def _send(self, request: Any) -> httpx.Response:
        """``request()``, with transport failures as ServingErrors."""
        try:
            return request()
        except httpx.TimeoutException:
            raise ServingError(
                Code.DEADLINE_EXCEEDED, f"no answer from {self.url} within {self.timeout:g}s"
            ) from None
        except httpx.ConnectError as e:
            raise ServingError(Code.UNAVAILABLE, f"cannot connect to {self.url}: {e}") from None
        except httpx.RemoteProtocolError as e:
            raise ServingError(
                Code.UNAVAILABLE,
                f"{self.url} does not answer HTTP/1.1 ({e})",
            ) from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as e:
            raise ServingError(Code.INVALID_ARGUMENT, f"bad URL {self.url!r}: {e}") from None
        except httpx.HTTPError as e:
            raise ServingError(Code.UNAVAILABLE, f"{self.url}: {type(e).__name__}: {e}") from None


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
