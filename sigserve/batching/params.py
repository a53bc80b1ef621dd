"""TF Serving's ``BatchingParameters``: read from text, checked, with its defaults.

``--batching_parameters_file`` holds a text-format
``tensorflow.serving.BatchingParameters`` (``session_bundle_config.proto``);
with ``--enable_per_model_batching_parameters`` each version's own
``batching_params.pbtxt`` is used instead (a version without one is not
batched), keeping only the thread count of the global file, as TF Serving
does. The message is declared here from its field list, because the
``tensorflow-serving-api`` package does not ship it.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Any

from sigserve.errors import invalid_argument
from sigserve.protos import declare_messages, parse_text

PER_MODEL_FILENAME = "batching_params.pbtxt"

# (name, number, type, repeated) from session_bundle_config.proto.
_FIELDS = [
    ("max_batch_size", 1, ".google.protobuf.Int64Value", False),
    ("batch_timeout_micros", 2, ".google.protobuf.Int64Value", False),
    ("max_enqueued_batches", 3, ".google.protobuf.Int64Value", False),
    ("num_batch_threads", 4, ".google.protobuf.Int64Value", False),
    ("thread_pool_name", 5, ".google.protobuf.StringValue", False),
    ("allowed_batch_sizes", 6, "int64", True),
    ("pad_variable_length_inputs", 7, "bool", False),
    ("enable_large_batch_splitting", 8, ".google.protobuf.BoolValue", False),
    ("max_execution_batch_size", 9, ".google.protobuf.Int64Value", False),
]

BatchingParametersProto = declare_messages(
    "sigserve/batching_parameters.proto", {"BatchingParameters": _FIELDS}
)["BatchingParameters"]


@dataclass(frozen=True)
class BatchingOptions:
    """Batching parameters with TF Serving's defaults filled in (SharedBatchScheduler's
    ``QueueOptions``: 1000 rows, no timeout, 10 batches queued)."""

    max_batch_size: int = 1000
    batch_timeout_micros: int = 0
    max_enqueued_batches: int = 10
    num_batch_threads: int = 0  # 0: one per CPU
    allowed_batch_sizes: tuple[int, ...] = ()
    pad_variable_length_inputs: bool = False
    enable_large_batch_splitting: bool = False
    max_execution_batch_size: int = 0  # 0: max_batch_size

    @property
    def execution_batch_size(self) -> int:
        """The most rows one model call takes."""
        if self.enable_large_batch_splitting and self.max_execution_batch_size > 0:
            return self.max_execution_batch_size
        return self.max_batch_size

    @property
    def threads(self) -> int:
        return self.num_batch_threads or (os.cpu_count() or 1)


def parse_batching_parameters(text: str, source: str = "<string>") -> BatchingOptions:
    """A text ``BatchingParameters`` as options; INVALID_ARGUMENT on a bad file or value."""
    proto = parse_text(text, BatchingParametersProto(), source)
    defaults = BatchingOptions()

    def value(name: str) -> Any:
        return getattr(proto, name).value if proto.HasField(name) else getattr(defaults, name)

    options = BatchingOptions(
        max_batch_size=value("max_batch_size"),
        batch_timeout_micros=value("batch_timeout_micros"),
        max_enqueued_batches=value("max_enqueued_batches"),
        num_batch_threads=value("num_batch_threads"),
        allowed_batch_sizes=tuple(proto.allowed_batch_sizes),
        pad_variable_length_inputs=proto.pad_variable_length_inputs,
        enable_large_batch_splitting=value("enable_large_batch_splitting"),
        max_execution_batch_size=value("max_execution_batch_size"),
    )
    _validate(options)
    return options


def _validate(options: BatchingOptions) -> None:
    for name in ("max_batch_size", "max_enqueued_batches"):
        if getattr(options, name) < 1:
            raise invalid_argument(f"{name} must be positive; was {getattr(options, name)}")
    if options.batch_timeout_micros < 0:
        raise invalid_argument("batch_timeout_micros must be non-negative")
    if options.num_batch_threads < 0:
        raise invalid_argument("num_batch_threads must be positive")
    sizes = options.allowed_batch_sizes
    if sizes:
        if any(b <= a for a, b in itertools.pairwise(sizes)) or sizes[0] < 1:
            raise invalid_argument("allowed_batch_sizes entries must be monotonically increasing")
        if sizes[-1] != options.execution_batch_size:
            raise invalid_argument(
                "Last entry in allowed_batch_sizes must match max_batch_size; last entry was "
                f"{sizes[-1]}; expected {options.execution_batch_size}"
            )


def read_batching_parameters(path: str) -> BatchingOptions:
    """``--batching_parameters_file``, read and parsed."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise invalid_argument(f"Could not read batching parameters file '{path}': {e}") from None
    return parse_batching_parameters(text, path)


def per_model_options(version_path: str, common: BatchingOptions) -> BatchingOptions | None:
    """A version's own ``batching_params.pbtxt`` (None: the version is not batched);
    the batch threads stay the common ones, shared by every model."""
    path = os.path.join(version_path, PER_MODEL_FILENAME)
    if not os.path.exists(path):
        return None
    own = read_batching_parameters(path)
    return BatchingOptions(**{**own.__dict__, "num_batch_threads": common.num_batch_threads})
