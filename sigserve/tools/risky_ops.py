"""TensorFlow ops that reach outside the computation: they read or write files, reach
the network, or run code that is not TensorFlow's own kernels.

The table is by op name; a few ops are risky only with some attribute values (they
are listed in :func:`risk_of` with that test). Every op named here is registered in
TensorFlow 2.x, except those in :data:`REMOVED` (ops older TensorFlow versions had;
a SavedModel may still carry them). An op this TensorFlow does not know at all
needs a custom op library, native code loaded into the server: reported as
``UNKNOWN_OP``.

Not listed, on purpose: ``DecodeCSV``, ``DecodeJSONExample``, ``ParseExample`` and the
other decoders (they parse strings the request holds, not files); ``Print`` (writes
to the server's stderr only); ``ReadVariableOp`` and other resource ops (memory).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Risk:
    code: str  # READS_FILES, WRITES_FILES, NETWORK, RUNS_CODE, UNKNOWN_OP
    why: str


READS = "READS_FILES"
WRITES = "WRITES_FILES"
NETWORK = "NETWORK"
CODE = "RUNS_CODE"
UNKNOWN = "UNKNOWN_OP"

_READ_FILE = "reads a file named by a tensor (any path the process can read)"
_READER = "a queue-based reader of files"
_DATASET = "a tf.data source reading files"
_CHECKPOINT_READ = "reads tensors from a checkpoint file"
_SUMMARY = "writes TensorBoard summaries to files"
_COLLECTIVE = "exchanges tensors with other workers"

# fmt: off
OPS: dict[str, Risk] = {
    # read files
    "ReadFile": Risk(READS, _READ_FILE),
    "MatchingFiles": Risk(READS, "lists files matching a glob pattern"),
    **{name: Risk(READS, _READER) for name in (
        "WholeFileReader", "WholeFileReaderV2", "TextLineReader", "TextLineReaderV2",
        "TFRecordReader", "TFRecordReaderV2", "FixedLengthRecordReader",
        "FixedLengthRecordReaderV2", "LMDBReader")},
    **{name: Risk(READS, _DATASET) for name in (
        "TFRecordDataset", "TFRecordDatasetV2", "TextLineDataset", "FixedLengthRecordDataset",
        "FixedLengthRecordDatasetV2", "LMDBDataset", "ExperimentalLMDBDataset",
        "MatchingFilesDataset", "ExperimentalMatchingFilesDataset", "LoadDataset",
        "CSVDataset", "CSVDatasetV2", "ExperimentalCSVDataset", "SqlDataset",
        "ExperimentalSqlDataset", "SnapshotDatasetReader", "SnapshotChunkDataset",
        "SnapshotNestedDatasetReader", "ListSnapshotChunksDataset")},
    "InitializeTableFromTextFile": Risk(READS, "fills a lookup table from a text file"),
    "InitializeTableFromTextFileV2": Risk(READS, "fills a lookup table from a text file"),
    "ImmutableConst": Risk(READS, "memory-maps a file named in its attributes"),
    "LoadAndRemapMatrix": Risk(READS, _CHECKPOINT_READ),
    "GenerateVocabRemapping": Risk(READS, "reads vocabulary files"),
    "Restore": Risk(READS, _CHECKPOINT_READ),
    "RestoreV2": Risk(READS, _CHECKPOINT_READ),
    "RestoreSlice": Risk(READS, _CHECKPOINT_READ),
    # write files
    "WriteFile": Risk(WRITES, "writes a file named by a tensor (any path the process can write)"),
    "Save": Risk(WRITES, "writes a checkpoint file"),
    "SaveV2": Risk(WRITES, "writes a checkpoint file"),
    "SaveSlices": Risk(WRITES, "writes a checkpoint file"),
    "MergeV2Checkpoints": Risk(WRITES, "moves checkpoint files and deletes their folders"),
    **{name: Risk(WRITES, "a tf.data step writing files") for name in (
        "SnapshotDataset", "SnapshotDatasetV2", "SaveDataset", "SaveDatasetV2",
        "DatasetToTFRecord", "ExperimentalDatasetToTFRecord", "CacheDataset",
        "CacheDatasetV2")},
    **{name: Risk(WRITES, _SUMMARY) for name in (
        "CreateSummaryFileWriter", "CreateSummaryDbWriter", "WriteSummary",
        "WriteScalarSummary", "WriteHistogramSummary", "WriteImageSummary",
        "WriteAudioSummary", "WriteGraphSummary", "WriteRawProtoSummary", "ImportEvent",
        "FlushSummaryWriter")},
    "DebugIdentityV2": Risk(WRITES, "dumps tensors to a debugger folder"),
    "DebugIdentityV3": Risk(WRITES, "dumps tensors to a debugger folder"),
    # network
    **{name: Risk(NETWORK, "reads from or registers with a tf.data service") for name in (
        "DataServiceDataset", "DataServiceDatasetV2", "DataServiceDatasetV3",
        "DataServiceDatasetV4", "RegisterDataset", "RegisterDatasetV2", "DistributedSave")},
    **{name: Risk(NETWORK, "makes or serves remote procedure calls") for name in (
        "RpcServer", "RpcClient", "RpcCall", "RpcServerStart", "RpcServerRegister", "Rpc",
        "TryRpc")},
    **{name: Risk(NETWORK, _COLLECTIVE) for name in (
        "CollectiveReduce", "CollectiveReduceV2", "CollectiveReduceV3", "CollectiveGather",
        "CollectiveGatherV2", "CollectiveBcastSend", "CollectiveBcastRecv",
        "CollectiveBcastSendV2", "CollectiveBcastRecvV2", "CollectiveAllToAllV2",
        "CollectiveAllToAllV3", "CollectiveInitializeCommunicator", "Send", "Recv", "_Send",
        "_Recv", "_HostSend", "_HostRecv")},
    "FileSystemSetConfiguration": Risk(
        NETWORK, "changes how a file system (e.g. gs://, s3://) connects and authenticates"
    ),
    # run code
    "PyFunc": Risk(CODE, "calls a Python function of the process (tf.py_func)"),
    "PyFuncStateless": Risk(CODE, "calls a Python function of the process (tf.numpy_function)"),
    "EagerPyFunc": Risk(CODE, "calls a Python function of the process (tf.py_function)"),
}
# fmt: on

REMOVED = frozenset({"Rpc", "TryRpc"})  # tf.contrib-era RPC ops

# Checkpoint I/O the SavedModel loader itself runs to restore variables (see security.py).
CHECKPOINT_OPS = frozenset({"Restore", "RestoreV2", "RestoreSlice", "Save", "SaveV2",
                            "SaveSlices", "MergeV2Checkpoints"})  # fmt: skip


def risk_of(node: Any) -> Risk | None:
    """The risk of one NodeDef, from its op and, for a few ops, its attributes."""
    op = node.op
    if op in OPS:
        return OPS[op]
    attr = node.attr
    if op == "PrintV2":
        stream = attr["output_stream"].s.decode(errors="replace") if "output_stream" in attr else ""
        if stream.startswith("file://"):
            return Risk(WRITES, f"prints to the file {stream[len('file://'):]}")
    if op in ("DecodeProtoV2", "EncodeProto") and "descriptor_source" in attr:
        source = attr["descriptor_source"].s.decode(errors="replace")
        if source not in ("", "local://"):
            return Risk(READS, f"reads proto descriptors from {source}")
    if op in ("DebugIdentity", "DebugNanCount", "DebugNumericSummary") and "debug_urls" in attr:
        urls = [u.decode(errors="replace") for u in attr["debug_urls"].list.s]
        if any(u.startswith("grpc://") for u in urls):
            return Risk(NETWORK, f"sends tensors to {', '.join(urls)}")
        if urls:
            return Risk(WRITES, f"dumps tensors to {', '.join(urls)}")
    return None
