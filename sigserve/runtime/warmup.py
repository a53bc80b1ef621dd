"""Warmup: replay ``assets.extra/tf_serving_warmup_requests`` before a version serves.

The file is TF Serving's: a TFRecord of ``tensorflow.serving.PredictionLog``
(predict, classify, regress or multi_inference requests), at most 1000 records,
each replayed ``--num_request_iterations_for_warmup`` times (when > 0; else once).
Any failing request fails the load, as in TF Serving.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from sigserve import protos
from sigserve.errors import invalid_argument, unimplemented
from sigserve.runtime.tfrecord import read_records

log = logging.getLogger("sigserve.warmup")

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
MAX_RECORDS = 1000


def warmup_path(version_dir: str) -> str | None:
    """The warmup file of a SavedModel version directory, if it has one."""
    path = os.path.join(version_dir, WARMUP_FILE)
    return path if os.path.isfile(path) else None


def run_warmup(servable: Any, version_dir: str, iterations: int = 0, *, version: int = 0) -> int:
    """Replay the warmup requests of ``version_dir`` on ``servable``; the records read."""
    path = warmup_path(version_dir)
    if path is None:
        return 0
    repeat = iterations if iterations > 0 else 1
    count = 0
    for record in read_records(path):
        count += 1
        if count > MAX_RECORDS:
            raise invalid_argument(
                f"Number of warmup records exceeds the maximum ({MAX_RECORDS}) at {path}"
            )
        entry = protos.prediction_log_pb2.PredictionLog()
        try:
            entry.ParseFromString(record)
        except Exception:  # protobuf's DecodeError
            raise invalid_argument(
                f"Failed to parse warmup record: {record[:64]!r} from file: {path}"
            ) from None
        for _ in range(repeat):
            replay(servable, entry, version)
    log.info(
        "Finished reading warmup data for model at %s. Number of warmup records read: %d.",
        path,
        count,
    )
    return count


def replay(servable: Any, entry: Any, version: int = 0) -> None:
    """Run one ``PredictionLog`` request on ``servable`` (its answer is discarded)."""
    kind = entry.WhichOneof("log_type")
    if kind == "predict_log":
        from sigserve.codecs.tensor_proto import decode_inputs

        request = entry.predict_log.request
        servable.run(
            request.model_spec.signature_name,
            decode_inputs(request.inputs),
            list(request.output_filter),
        )
    elif kind in ("classify_log", "regress_log", "multi_inference_log"):
        _replay_inference(servable, kind, entry, version)
    else:
        raise unimplemented(f"Unsupported log_type for warmup: {kind}")


def _replay_inference(servable: Any, kind: str, entry: Any, version: int) -> None:
    from sigserve.runtime import inference

    if kind == "classify_log":
        request = entry.classify_log.request
        inference.classify(servable, request.model_spec.signature_name, request.input)
    elif kind == "regress_log":
        request = entry.regress_log.request
        inference.regress(servable, request.model_spec.signature_name, request.input)
    else:
        inference.multi_inference(servable, entry.multi_inference_log.request, version=version)
