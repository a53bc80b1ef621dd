"""What runs when: the nodes and functions of a MetaGraph that a starting set of nodes
needs, through inputs, control inputs and function calls (a node whose op is a
library function, or any function-valued attribute: ``PartitionedCall``'s ``f``,
``If``/``While``/``Case`` branches, ``tf.data`` map functions, ...), with nested
functions. A function reached counts whole: every node in it may run."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reached:
    nodes: set[str] = field(default_factory=set)  # in the graph itself
    functions: set[str] = field(default_factory=set)


class GraphIndex:
    def __init__(self, graph_def: Any) -> None:
        self.nodes = {node.name: node for node in graph_def.node}
        self.functions = {f.signature.name: f for f in graph_def.library.function}

    def called(self, node: Any) -> Iterator[str]:
        """The library functions one NodeDef calls."""
        if node.op in self.functions:
            yield node.op
        for value in node.attr.values():
            yield from _functions_in(value)

    def reach(self, start: Iterable[str]) -> Reached:
        """Everything the nodes named ``start`` (node or tensor names) need to run."""
        reached = Reached()
        stack = [node_name(name) for name in start]
        functions: list[str] = []
        while stack:
            name = stack.pop()
            if name in reached.nodes or name not in self.nodes:
                continue
            reached.nodes.add(name)
            node = self.nodes[name]
            stack.extend(node_name(i) for i in node.input)
            functions.extend(self.called(node))
        while functions:
            name = functions.pop()
            if name in reached.functions or name not in self.functions:
                continue
            reached.functions.add(name)
            for inner in self.functions[name].node_def:
                functions.extend(self.called(inner))
        return reached


def node_name(name: str) -> str:
    """``^a``, ``a:0`` and ``a`` all name node ``a``."""
    return name.lstrip("^").split(":", 1)[0]


def tensor_names(info: Any) -> list[str]:
    """The graph tensors of a signature's TensorInfo (dense, sparse or composite)."""
    encoding = info.WhichOneof("encoding")
    if encoding == "name":
        return [info.name]
    if encoding == "coo_sparse":
        sparse = info.coo_sparse
        return [sparse.values_tensor_name, sparse.indices_tensor_name,
                sparse.dense_shape_tensor_name]  # fmt: skip
    if encoding == "composite_tensor":
        return [name for part in info.composite_tensor.components for name in tensor_names(part)]
    return []


def _functions_in(value: Any) -> Iterator[str]:
    kind = value.WhichOneof("value")
    if kind == "func":
        yield value.func.name
        for inner in value.func.attr.values():
            yield from _functions_in(inner)
    elif kind == "list":
        for func in value.list.func:
            yield func.name
