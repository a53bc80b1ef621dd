"""``sigserve inspect``: a SavedModel's signatures as ``saved_model_cli show`` prints
them, plus ready-to-send example request bodies; or the same as JSON.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from typing import Any

from tensorflow.core.protobuf import meta_graph_pb2

from sigserve.tools import examples
from sigserve.tools.rules_signatures import served
from sigserve.tools.savedmodel_reader import ModelDir, dtype_name, meta_graphs, read, shape_of
from sigserve.types import DEFAULT_SIGNATURE, SignatureInfo, TensorInfo

DEFAULT_URL = "http://localhost:8501"


@dataclass(frozen=True)
class RequestTarget:
    """Where the example requests go: a REST base URL, the model name, and the version
    when the version directory itself was inspected (then pinned in the URL)."""

    model_name: str
    url: str = DEFAULT_URL
    version: int | None = None

    def endpoint(self, verb: str) -> str:
        path = f"/v1/models/{self.model_name}"
        if self.version is not None:
            path += f"/versions/{self.version}"
        return f"{self.url.rstrip('/')}{path}:{verb}"


def request_target(
    given: str, model: ModelDir, url: str = DEFAULT_URL, model_name: str | None = None
) -> RequestTarget:
    """The model name from the directory: the base path's name, or the parent of a
    numbered version directory (``models/tiny/3`` -> ``tiny``, version 3)."""
    path = os.path.abspath(given)
    base = os.path.basename(path)
    if model.version is None and base.isdigit():
        name, version = os.path.basename(os.path.dirname(path)), int(base)
    else:
        name, version = base, None
    return RequestTarget(model_name or name, url, version)


def read_line(model: ModelDir, target: RequestTarget) -> str:
    """Which version was read, and from where."""
    version = model.version if model.version is not None else target.version
    path = os.path.abspath(model.path)
    if version is None:
        return f"Read the SavedModel in {path} (model name '{target.model_name}')"
    latest = " (the highest version, the one served by default)" if model.version else ""
    return f"Read version {version} of model '{target.model_name}' from {path}{latest}"


def tensor_info(proto: meta_graph_pb2.TensorInfo) -> TensorInfo:
    return TensorInfo(dtype=dtype_name(proto.dtype), shape=shape_of(proto), name=proto.name)


def signature_info(proto: meta_graph_pb2.SignatureDef) -> SignatureInfo:
    return SignatureInfo(
        method_name=proto.method_name,
        inputs={k: tensor_info(v) for k, v in sorted(proto.inputs.items())},
        outputs={k: tensor_info(v) for k, v in sorted(proto.outputs.items())},
    )


_HEADER = "The given SavedModel SignatureDef contains the following "


def _shape_text(shape: tuple[int, ...] | None) -> str:
    if shape is None:
        return "unknown_rank"
    return "(" + ", ".join(str(d) for d in shape) + ")"


def signature_lines(signature: SignatureInfo, indent: int) -> list[str]:
    """One SignatureDef's inputs, outputs and method, as saved_model_cli prints them."""
    pad = "  " * indent
    lines = [f"{pad}{_HEADER}input(s):"]
    for kind, tensors in (("inputs", signature.inputs), ("outputs", signature.outputs)):
        if kind == "outputs":
            lines.append(f"{pad}{_HEADER}output(s):")
        for key, info in tensors.items():
            lines += [
                f"{pad}  {kind}['{key}'] tensor_info:",
                f"{pad}      dtype: {info.dtype}",
                f"{pad}      shape: {_shape_text(info.shape)}",
                f"{pad}      name: {info.name}",
            ]
    lines.append(f"{pad}Method name is: {signature.method_name}")
    return lines


def ops_used(graph_def: Any) -> set[str]:
    """The op types a graph and its function library use (function calls excluded)."""
    functions = {f.signature.name for f in graph_def.library.function}
    ops = {node.op for node in graph_def.node}
    for function in graph_def.library.function:
        ops.update(node.op for node in function.node_def)
    return ops - functions


def _ops_line(meta_graph: meta_graph_pb2.MetaGraphDef) -> str:
    tags = list(meta_graph.meta_info_def.tags)
    ops = "{" + ", ".join(repr(op) for op in sorted(ops_used(meta_graph.graph_def))) + "}"
    return f"The MetaGraph with tag set {tags} contains the following ops: {ops}"


def _pick_signature(graphs: list[meta_graph_pb2.MetaGraphDef], key: str) -> SignatureInfo:
    from sigserve.errors import not_found

    for graph in graphs:
        if key in graph.signature_def:
            return signature_info(graph.signature_def[key])
    names = sorted({k for g in graphs for k in g.signature_def})
    raise not_found(f'Could not find signature "{key}". Please choose from: {", ".join(names)}')


def text_lines(
    model: ModelDir,
    tags: frozenset[str] | None = None,
    signature_def: str | None = None,
    target: RequestTarget | None = None,
) -> list[str]:
    """The text report: saved_model_cli's lines, then the example requests."""
    graphs = meta_graphs(read(model.path), tags)
    shown: list[tuple[str, SignatureInfo]] = []
    lines: list[str] = []
    if signature_def is not None:
        signature = _pick_signature(graphs, signature_def)
        lines += signature_lines(signature, indent=0)
        shown.append((signature_def, signature))
    else:
        for graph in graphs:
            tag_text = ", ".join(graph.meta_info_def.tags)
            lines += ["", f"MetaGraphDef with tag-set: '{tag_text}' "
                      "contains the following SignatureDefs:"]  # fmt: skip
            for key in sorted(graph.signature_def):
                signature = signature_info(graph.signature_def[key])
                lines += ["", f"signature_def['{key}']:", *signature_lines(signature, 1)]
                shown.append((key, signature))
            lines.append(_ops_line(graph))
    target = target or request_target(model.path, model)
    return [*lines, "", read_line(model, target), *example_lines(shown, target)]


def curl_line(key: str, found: dict[str, Any], target: RequestTarget) -> str | None:
    """A ready ``curl`` command for the signature's example (row format when possible)."""
    body = found.get("examples") or found.get("row") or found.get("columnar")
    if body is None:
        return None
    if key == DEFAULT_SIGNATURE:
        body = {k: v for k, v in body.items() if k != "signature_name"}
    text = examples.render(body, limit=1_000_000)
    return f"curl -d {shlex.quote(text)} {target.endpoint(found['verb'])}"


def example_lines(shown: list[tuple[str, SignatureInfo]], target: RequestTarget) -> list[str]:
    endpoint = target.endpoint("<verb>")
    lines = ["", f"Example requests (POST to {endpoint}; serve it with `sigserve serve "
             f"--model_name={target.model_name} --model_base_path=...`):"]  # fmt: skip
    for key, signature in shown:
        if key not in served([key]):
            continue  # TF Serving does not serve the init op
        found = examples.bodies(key, signature)
        lines += ["", f"signature_def['{key}']: :{found['verb']}"]
        if "examples" in found:
            lines += ["  examples format (fill in the tf.Example features the model parses):",
                      "    " + examples.render(found["examples"])]  # fmt: skip
        elif "unrepresentable" in found:
            names = ", ".join(found["unrepresentable"])
            lines.append(f"  no JSON body: TF Serving's JSON cannot carry the dtype of {names}")
        else:
            row = found["row"]
            lines.append("  row format:")
            lines.append(
                "    " + (examples.render(row) if row is not None
                          else "not usable: an input has no batch dimension (shape ())")
            )  # fmt: skip
            lines += ["  columnar format:", "    " + examples.render(found["columnar"])]
        curl = curl_line(key, found, target)
        if curl is not None:
            lines += ["  curl:", "    " + curl]
    return lines


def _tensor_json(info: TensorInfo) -> dict[str, Any]:
    shape = None if info.shape is None else list(info.shape)
    return {"dtype": info.dtype, "shape": shape, "name": info.name}


def as_json(
    model: ModelDir,
    tags: frozenset[str] | None = None,
    signature_def: str | None = None,
    target: RequestTarget | None = None,
) -> dict[str, Any]:
    """The machine-readable form: every MetaGraph's signatures with example bodies and
    curl lines (none for internal signatures such as ``__saved_model_init_op``)."""
    graphs = meta_graphs(read(model.path), tags)
    if signature_def is not None:
        _pick_signature(graphs, signature_def)  # a clear error when it does not exist
    target = target or request_target(model.path, model)
    version = model.version if model.version is not None else target.version
    result: dict[str, Any] = {"path": model.path, "version": version,
                              "model_name": target.model_name, "meta_graphs": []}  # fmt: skip
    for graph in graphs:
        signatures = {}
        for key in sorted(graph.signature_def):
            if signature_def is not None and key != signature_def:
                continue
            signature = signature_info(graph.signature_def[key])
            internal = key not in served([key])
            found = None if internal else examples.bodies(key, signature)
            signatures[key] = {
                "method_name": signature.method_name,
                "inputs": {k: _tensor_json(v) for k, v in signature.inputs.items()},
                "outputs": {k: _tensor_json(v) for k, v in signature.outputs.items()},
                "examples": found,
                "curl": None if found is None else curl_line(key, found, target),
            }
        result["meta_graphs"].append(
            {"tags": list(graph.meta_info_def.tags), "signatures": signatures}
        )
    return result
