"""Read a SavedModel's SignatureDefs from ``saved_model.pb`` and describe them."""

from __future__ import annotations

import os
from collections.abc import Iterable

from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from sigserve.codecs.dtypes import NAME as DTYPE_NAME
from sigserve.errors import invalid_argument, not_found
from sigserve.types import SignatureInfo, TensorInfo


def read_meta_graph(path: str, tags: Iterable[str]) -> meta_graph_pb2.MetaGraphDef:
    """The MetaGraphDef of the SavedModel at ``path`` whose tag set is ``tags``."""
    pb_path = os.path.join(path, "saved_model.pb")
    if not os.path.isfile(pb_path):
        if os.path.isfile(os.path.join(path, "saved_model.pbtxt")):
            from google.protobuf import text_format

            saved = saved_model_pb2.SavedModel()
            with open(os.path.join(path, "saved_model.pbtxt")) as f:
                text_format.Parse(f.read(), saved)
        else:
            raise not_found(
                f"Could not find SavedModel .pb or .pbtxt at supplied export directory path: {path}"
            )
    else:
        saved = saved_model_pb2.SavedModel()
        with open(pb_path, "rb") as f:
            try:
                saved.ParseFromString(f.read())
            except Exception as e:  # protobuf DecodeError
                raise invalid_argument(f"Could not parse {pb_path}: {e}") from None
    wanted = set(tags)
    for meta_graph in saved.meta_graphs:
        if set(meta_graph.meta_info_def.tags) == wanted:
            return meta_graph
    available = [sorted(m.meta_info_def.tags) for m in saved.meta_graphs]
    raise not_found(
        f"Could not find meta graph def matching supplied tags: {{ {' '.join(sorted(wanted))} }}. "
        f"To inspect available tag-sets in the SavedModel, please use the SavedModel CLI: "
        f"`saved_model_cli`. Available tag-sets: {available}"
    )


def tensor_info(proto: meta_graph_pb2.TensorInfo) -> TensorInfo:
    shape: tuple[int, ...] | None
    if proto.tensor_shape.unknown_rank:
        shape = None
    else:
        shape = tuple(int(d.size) for d in proto.tensor_shape.dim)
    return TensorInfo(dtype=DTYPE_NAME.get(proto.dtype, "DT_INVALID"), shape=shape, name=proto.name)


def signature_info(proto: meta_graph_pb2.SignatureDef) -> SignatureInfo:
    return SignatureInfo(
        method_name=proto.method_name,
        inputs={k: tensor_info(v) for k, v in sorted(proto.inputs.items())},
        outputs={k: tensor_info(v) for k, v in sorted(proto.outputs.items())},
    )
