"""``sigserve inspect``: a SavedModel's signatures as ``saved_model_cli show`` prints
them, plus ready-to-send example request bodies; or the same as JSON.
"""

from __future__ import annotations

from typing import Any

from tensorflow.core.protobuf import meta_graph_pb2

from sigserve.tools import examples
from sigserve.tools.savedmodel_reader import ModelDir, dtype_name, meta_graphs, read, shape_of
from sigserve.types import SignatureInfo, TensorInfo


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
    model: ModelDir, tags: frozenset[str] | None = None, signature_def: str | None = None
) -> list[str]:
    """The text report: saved_model_cli's lines, then the example request bodies."""
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
    return lines + example_lines(shown)


def example_lines(shown: list[tuple[str, SignatureInfo]]) -> list[str]:
    lines = ["", "Example request bodies (POST to /v1/models/<model_name>:<verb>):"]
    for key, signature in shown:
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
    return lines


def _tensor_json(info: TensorInfo) -> dict[str, Any]:
    shape = None if info.shape is None else list(info.shape)
    return {"dtype": info.dtype, "shape": shape, "name": info.name}


def as_json(
    model: ModelDir, tags: frozenset[str] | None = None, signature_def: str | None = None
) -> dict[str, Any]:
    """The machine-readable form: every MetaGraph's signatures with example bodies."""
    graphs = meta_graphs(read(model.path), tags)
    if signature_def is not None:
        _pick_signature(graphs, signature_def)  # a clear error when it does not exist
    result: dict[str, Any] = {"path": model.path, "version": model.version, "meta_graphs": []}
    for graph in graphs:
        signatures = {}
        for key in sorted(graph.signature_def):
            if signature_def is not None and key != signature_def:
                continue
            signature = signature_info(graph.signature_def[key])
            signatures[key] = {
                "method_name": signature.method_name,
                "inputs": {k: _tensor_json(v) for k, v in signature.inputs.items()},
                "outputs": {k: _tensor_json(v) for k, v in signature.outputs.items()},
                "examples": examples.bodies(key, signature),
            }
        result["meta_graphs"].append(
            {"tags": list(graph.meta_info_def.tags), "signatures": signatures}
        )
    return result
