"""Find and read a SavedModel: a SavedModel directory or a base path of versions."""

from __future__ import annotations

import os
from dataclasses import dataclass

from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from sigserve.errors import invalid_argument, not_found


@dataclass(frozen=True)
class ModelDir:
    """A SavedModel directory, and its version when it was found under a base path."""

    path: str
    version: int | None = None


def resolve(path: str) -> ModelDir:
    """``path`` itself when it holds a SavedModel, else its highest numeric version."""
    if not os.path.isdir(path):
        raise not_found(f"No such directory: {path}")
    if _has_saved_model(path):
        return ModelDir(path)
    versions = sorted(
        (int(name), os.path.join(path, name))
        for name in os.listdir(path)
        if name.isdigit() and _has_saved_model(os.path.join(path, name))
    )
    if not versions:
        raise not_found(
            f"{path} is neither a SavedModel directory (no saved_model.pb) nor a base path "
            "with numbered version directories holding one"
        )
    version, version_path = versions[-1]
    return ModelDir(version_path, version)


def _has_saved_model(path: str) -> bool:
    return any(
        os.path.isfile(os.path.join(path, name)) for name in ("saved_model.pb", "saved_model.pbtxt")
    )


def read(path: str) -> saved_model_pb2.SavedModel:
    """The SavedModel proto stored in the directory ``path``."""
    saved = saved_model_pb2.SavedModel()
    pb_path = os.path.join(path, "saved_model.pb")
    if os.path.isfile(pb_path):
        with open(pb_path, "rb") as f:
            try:
                saved.ParseFromString(f.read())
            except Exception as e:  # protobuf's DecodeError
                raise invalid_argument(f"Could not parse {pb_path}: {e}") from None
        return saved
    from google.protobuf import text_format

    with open(os.path.join(path, "saved_model.pbtxt")) as f:
        try:
            text_format.Parse(f.read(), saved)
        except text_format.ParseError as e:
            raise invalid_argument(f"Could not parse saved_model.pbtxt in {path}: {e}") from None
    return saved


def parse_tag_set(tag_set: str) -> frozenset[str]:
    """``"serve,gpu"`` as a set of tags (saved_model_cli's spelling)."""
    tags = frozenset(t.strip() for t in tag_set.split(",") if t.strip())
    if not tags:
        raise invalid_argument("tag_set must contain at least one non-empty tag")
    return tags


def meta_graphs(
    saved: saved_model_pb2.SavedModel, tags: frozenset[str] | None = None
) -> list[meta_graph_pb2.MetaGraphDef]:
    """The MetaGraphs sorted by tags (saved_model_cli's order), or the one with ``tags``."""
    graphs = sorted(saved.meta_graphs, key=lambda m: list(m.meta_info_def.tags))
    if tags is None:
        return graphs
    chosen = [m for m in graphs if set(m.meta_info_def.tags) == tags]
    if not chosen:
        available = [",".join(sorted(m.meta_info_def.tags)) for m in graphs]
        raise not_found(
            f"No MetaGraphDef with tag-set {','.join(sorted(tags))!r}; available: {available}"
        )
    return chosen


def dtype_name(dtype: int) -> str:
    """``DT_FLOAT``, ``DT_FLOAT_REF``, ... (every DataType, as saved_model_cli prints it)."""
    try:
        return types_pb2.DataType.Name(dtype)
    except ValueError:
        return f"DT_UNKNOWN_{dtype}"


def shape_of(info: meta_graph_pb2.TensorInfo) -> tuple[int, ...] | None:
    """A TensorInfo's shape: None for unknown rank, -1 for an unknown dimension."""
    if info.tensor_shape.unknown_rank:
        return None
    return tuple(int(d.size) for d in info.tensor_shape.dim)
