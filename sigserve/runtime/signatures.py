"""SignatureDef protos described as sigserve's TensorInfo / SignatureInfo."""

from __future__ import annotations

from tensorflow.core.protobuf import meta_graph_pb2

from sigserve.codecs.dtypes import NAME as DTYPE_NAME
from sigserve.types import SignatureInfo, TensorInfo


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
