"""Status and metadata answers as TF Serving renders them in JSON.

TF Serving prints these protos with protobuf's JSON printer, fields with no
presence included; metadata keeps the proto field names (``signature_def``,
``method_name``). The protos come in from the caller; this module only formats.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from google.protobuf import json_format


def _to_dict(message: Any, *, proto_names: bool) -> dict[str, Any]:
    return json_format.MessageToDict(
        message,
        preserving_proto_field_name=proto_names,
        always_print_fields_with_no_presence=True,
    )


def encode_status(response: Any) -> bytes:
    """A ``GetModelStatusResponse`` as TF Serving's REST status JSON."""
    return orjson.dumps(_to_dict(response, proto_names=False), option=orjson.OPT_INDENT_2)


def encode_metadata(name: str, version: int, signature_defs: Mapping[str, Any]) -> bytes:
    """The REST metadata answer: model_spec plus the full ``signature_def`` map."""
    signatures = {key: _to_dict(sig, proto_names=True) for key, sig in signature_defs.items()}
    body = {
        "model_spec": {"name": name, "signature_name": "", "version": str(version)},
        "metadata": {"signature_def": {"signature_def": signatures}},
    }
    return orjson.dumps(body, option=orjson.OPT_INDENT_2)
