"""Which signature inputs each output depends on, read from the graph alone.

The analysis follows data and control edges through the MetaGraph's GraphDef and
into its function library (``PartitionedCall``, ``StatefulPartitionedCall``,
direct calls, ``If``/``Case`` branches). Whatever it cannot follow precisely
(``While`` loops, list-typed function arguments, recursion, graph cycles) it
over-approximates: "depends on every input". So a finding that an output
depends on *no* input, or that an input feeds *no* output, is never a guess.

Dependencies are bit masks: bit ``i`` is the ``i``-th source (signature input, or
function argument inside a function summary).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tensorflow.core.framework import function_pb2, graph_pb2, node_def_pb2
from tensorflow.core.protobuf import meta_graph_pb2

# Ops whose first input is binary data (JSON clients must send it as {"b64": ...}), by kind:
# encoded media and raw bytes, and serialized protos (tf.Example for :classify/:regress).
DECODE_OPS = frozenset({
    "DecodeJpeg", "DecodeAndCropJpeg", "DecodePng", "DecodeGif", "DecodeBmp", "DecodeImage",
    "DecodeWebP", "DecodeRaw", "DecodePaddedRaw", "DecodeCompressed", "DecodeWav", "ParseTensor",
    "DecodeProtoV2",
})  # fmt: skip
EXAMPLE_OPS = frozenset({
    "ParseExample", "ParseExampleV2", "ParseSingleExample", "ParseSequenceExample",
    "ParseSequenceExampleV2", "ParseSingleSequenceExample",
})  # fmt: skip
_REACH = {"decode": DECODE_OPS, "example": EXAMPLE_OPS}
_CALL_OPS = frozenset({"PartitionedCall", "StatefulPartitionedCall"})
_IF_OPS = frozenset({"If", "StatelessIf"})
_CASE_OPS = frozenset({"Case", "StatelessCase"})
_WHILE_OPS = frozenset({"While", "StatelessWhile"})
_LIST_OUTPUT_OPS = _CALL_OPS | _IF_OPS | _CASE_OPS


@dataclass(frozen=True)
class Summary:
    """What a function's results depend on, in terms of its arguments."""

    outputs: tuple[int, ...]  # per flat output: the arguments it depends on
    effects: int  # arguments that reach a side effect (the function's control outputs)
    reach: dict[str, int]  # per kind of _REACH: arguments that reach such an op


@dataclass(frozen=True)
class SignatureDeps:
    """For one signature: per output key, the input keys it depends on; and the inputs
    that reach a decoding op (``decode_inputs``) or a tf.Example parser (``example_inputs``)."""

    outputs: dict[str, frozenset[str]]
    decode_inputs: frozenset[str]
    example_inputs: frozenset[str]


class _Evaluator:
    """Dependencies of the nodes of one graph body (the top graph or one function)."""

    def __init__(
        self,
        nodes: Iterable[node_def_pb2.NodeDef],
        library: _Library,
        sources: Mapping[str, int],
        args: Mapping[str, int] | None = None,
    ) -> None:
        self.nodes = {node.name: node for node in nodes}
        self.library = library
        self.sources = sources  # node name -> bits (signature inputs)
        self.args = args  # function argument name -> bit; None for the top graph
        self.all_bits = 0
        for bits in (*sources.values(), *(args or {}).values()):
            self.all_bits |= bits
        self._memo: dict[tuple[str, int | None], int] = {}
        self._active: set[tuple[str, int | None]] = set()

    def ref(self, text: str) -> int:
        """The dependencies of an input reference (``n``, ``n:1``, ``n:out:0``, ``^n``, arg)."""
        if text.startswith("^"):
            return self.node(text[1:], None)
        parts = text.split(":")
        if self.args is not None:
            if len(parts) == 1:
                if text in self.args:
                    return self.args[text]
                return self.node(text, None)
            return self.node(parts[0], self._flat_index(parts[0], parts[1], int(parts[-1])))
        return self.node(parts[0], int(parts[1]) if len(parts) > 1 else 0)

    def _flat_index(self, name: str, out_arg: str, index: int) -> int | None:
        node = self.nodes.get(name)
        if node is None:
            return None
        if node.op in _LIST_OUTPUT_OPS:
            return index
        callee = self.library.functions.get(node.op)
        if callee is not None:
            names = [a.name for a in callee.signature.output_arg]
            return names.index(out_arg) + index if out_arg in names else None
        return None

    def node(self, name: str, index: int | None) -> int:
        node = self.nodes.get(name)
        if node is None:
            return self.all_bits  # an unknown reference: assume the worst
        key = (name, index if self._is_call(node) else None)
        if key in self._memo:
            return self._memo[key]
        if key in self._active:  # a graph cycle (TF1 while loop)
            return self.all_bits
        self._active.add(key)
        try:
            bits = self.sources.get(name, 0) | self._compute(node, key[1])
        finally:
            self._active.discard(key)
        self._memo[key] = bits
        return bits

    def _is_call(self, node: node_def_pb2.NodeDef) -> bool:
        return node.op in _LIST_OUTPUT_OPS or node.op in self.library.functions

    def _compute(self, node: node_def_pb2.NodeDef, index: int | None) -> int:
        data = [r for r in node.input if not r.startswith("^")]
        bits = 0
        for r in node.input:
            if r.startswith("^"):
                bits |= self.ref(r)
        calls = self.calls(node)
        if calls is None:
            for r in data:
                bits |= self.ref(r)
            return bits
        selector, args, summaries = calls
        if selector is not None:
            bits |= self.ref(selector)
        for summary in summaries:
            if summary is None:
                return bits | self._map(args, -1)
            outputs = summary.outputs
            if index is not None and index < len(outputs):
                wanted = outputs[index]
            else:
                wanted = 0
                for out in outputs:
                    wanted |= out
            bits |= self._map(args, wanted | summary.effects)
        return bits

    def calls(
        self, node: node_def_pb2.NodeDef
    ) -> tuple[str | None, list[str], list[Summary | None]] | None:
        """(selector input, argument inputs, callee summaries) for a call, else None."""
        data = [r for r in node.input if not r.startswith("^")]
        attr = node.attr
        if node.op in _CALL_OPS:
            return None, data, [self.library.summary(attr["f"].func.name)]
        if node.op in self.library.functions:
            return None, data, [self.library.summary(node.op)]
        if node.op in _IF_OPS and data:
            names = [attr["then_branch"].func.name, attr["else_branch"].func.name]
            return data[0], data[1:], [self.library.summary(n) for n in names]
        if node.op in _CASE_OPS and data:
            names = [f.name for f in attr["branches"].list.func]
            return data[0], data[1:], [self.library.summary(n) for n in names]
        return None

    def _loop(
        self, node: node_def_pb2.NodeDef
    ) -> tuple[None, list[str], list[Summary | None]] | None:
        """A While loop as a call of its body and condition on the loop variables: exact
        enough for what reaches an op, too coarse for outputs (which stay "every input")."""
        if node.op not in _WHILE_OPS:
            return None
        data = [r for r in node.input if not r.startswith("^")]
        names = [node.attr["body"].func.name, node.attr["cond"].func.name]
        return None, data, [self.library.summary(n) for n in names]

    def _map(self, args: list[str], callee_bits: int) -> int:
        """Callee argument bits as this body's bits (-1: every argument)."""
        bits = 0
        for j, r in enumerate(args):
            if callee_bits == -1 or callee_bits >> j & 1:
                bits |= self.ref(r)
        return bits

    def reach(self, kind: str) -> int:
        """Sources that reach an op of ``_REACH[kind]``, here or in a callee."""
        bits = 0
        for node in self.nodes.values():
            if node.op in _REACH[kind] and node.input:
                bits |= self.ref(node.input[0])
            calls = self.calls(node) or self._loop(node)
            if calls is not None:
                for summary in calls[2]:
                    if summary is not None:
                        bits |= self._map(calls[1], summary.reach[kind])
        return bits


class _Library:
    """Summaries of the functions of a GraphDef's library, computed on demand."""

    def __init__(self, graph_def: graph_pb2.GraphDef) -> None:
        self.functions: dict[str, function_pb2.FunctionDef] = {
            f.signature.name: f for f in graph_def.library.function
        }
        self._summaries: dict[str, Summary | None] = {}
        self._active: set[str] = set()

    def summary(self, name: str) -> Summary | None:
        """None when the function cannot be analysed (callers then assume the worst)."""
        if name in self._summaries:
            return self._summaries[name]
        function = self.functions.get(name)
        if function is None or name in self._active or _has_list_args(function):
            return None
        self._active.add(name)
        try:
            result = self._summarize(function)
        finally:
            self._active.discard(name)
        self._summaries[name] = result
        return result

    def _summarize(self, function: function_pb2.FunctionDef) -> Summary:
        args = {arg.name: 1 << i for i, arg in enumerate(function.signature.input_arg)}
        body = _Evaluator(function.node_def, self, {}, args)
        outputs = tuple(body.ref(function.ret[a.name]) for a in function.signature.output_arg)
        effects = 0
        for node_name in function.control_ret.values():
            effects |= body.node(node_name, None)
        reach = {kind: body.reach(kind) for kind in _REACH}
        return Summary(outputs=outputs, effects=effects, reach=reach)


def _has_list_args(function: function_pb2.FunctionDef) -> bool:
    signature = function.signature
    return any(
        a.number_attr or a.type_list_attr for a in (*signature.input_arg, *signature.output_arg)
    )


def _node_name(tensor_name: str) -> str:
    return tensor_name.split(":")[0].lstrip("^")


def _tensor_ref(tensor_name: str) -> str:
    return tensor_name if ":" in tensor_name else f"{tensor_name}:0"


def analyze(graph_def: graph_pb2.GraphDef, signature: meta_graph_pb2.SignatureDef) -> SignatureDeps:
    """Dependencies between one SignatureDef's outputs and inputs in ``graph_def``."""
    keys = sorted(signature.inputs)
    sources: dict[str, int] = {}
    for i, key in enumerate(keys):
        node = _node_name(signature.inputs[key].name)
        sources[node] = sources.get(node, 0) | 1 << i
    top = _Evaluator(graph_def.node, _Library(graph_def), sources)

    def names(bits: int) -> frozenset[str]:
        return frozenset(k for i, k in enumerate(keys) if bits >> i & 1)

    outputs = {
        key: names(top.ref(_tensor_ref(info.name))) for key, info in signature.outputs.items()
    }
    return SignatureDeps(
        outputs=outputs,
        decode_inputs=names(top.reach("decode")),
        example_inputs=names(top.reach("example")),
    )
