"""``--probe_new_versions``: a new version answers every signature before it serves.

Not in TF Serving (there, only warmup records are replayed). After the load (and
warmup), each signature is called: the signatures the version's warmup records
(``assets.extra/tf_serving_warmup_requests``) name are probed by replaying those
records, the others with synthetic inputs built from the signature (batch size 1,
then 2, for unknown dimensions). A failure fails the load, so the version ends
with that error and the version it would replace keeps serving.

A warmup record is a real request: any failure counts. Synthetic values can be
rightly refused (a required tf.Example feature, an assertion on values, an index
out of range: INVALID_ARGUMENT), so a synthetic call counts against the version
only when it fails in a way no request could avoid (:data:`VERSION_FAULTS`: a
variable or table never initialised, a missing file, an op that cannot run).
"""

from __future__ import annotations

import logging
from typing import Any

from sigserve import protos
from sigserve.errors import Code, ServingError
from sigserve.runtime import synthetic, warmup
from sigserve.runtime.tfrecord import read_records
from sigserve.types import DEFAULT_SIGNATURE, SignatureInfo

log = logging.getLogger("sigserve.probe")

# (batch size, size of other unknown dimensions, seed) of the synthetic calls.
PLAN = ((1, 1, 1), (2, 2, 2))

# Failures that are the version's, whatever the request (as `sigserve check` judges).
VERSION_FAULTS = frozenset({
    Code.FAILED_PRECONDITION, Code.NOT_FOUND, Code.INTERNAL, Code.UNIMPLEMENTED, Code.DATA_LOSS,
})  # fmt: skip


def probe_version(servable: Any, version_dir: str, *, version: int = 0,
                  warmup_replayed: bool = False) -> None:
    """Call every signature of ``servable``; raise ServingError naming the signature that
    failed. ``warmup_replayed``: the warmup records already ran (``--enable_model_warmup``)."""
    signatures: dict[str, SignatureInfo] = getattr(servable, "signatures", {})
    covered = _replay_warmup(servable, version_dir, version, replay=not warmup_replayed)
    for name in sorted(signatures):
        if name not in covered:
            _probe_synthetic(servable, name, signatures[name])


def _replay_warmup(servable: Any, version_dir: str, version: int, *, replay: bool) -> set[str]:
    """The signatures the warmup records name (each record replayed once if ``replay``)."""
    path = warmup.warmup_path(version_dir)
    if path is None:
        return set()
    covered: set[str] = set()
    for count, record in enumerate(read_records(path), 1):
        if count > warmup.MAX_RECORDS:
            break
        entry = protos.prediction_log_pb2.PredictionLog()
        try:
            entry.ParseFromString(record)
        except Exception:  # protobuf's DecodeError: what warmup itself reports
            if replay:
                raise _failure("(warmup record)", f"record {count} of {path} does not parse",
                               Code.INVALID_ARGUMENT) from None
            continue
        names = _signatures_of(entry)
        if replay:
            try:
                warmup.replay(servable, entry, version)
            except ServingError as e:
                raise _failure(names[0] if names else "?", e.message, e.code) from None
        covered.update(names)
    return covered


def _signatures_of(entry: Any) -> list[str]:
    kind = entry.WhichOneof("log_type")
    if kind == "multi_inference_log":
        specs = [task.model_spec for task in entry.multi_inference_log.request.tasks]
    elif kind in ("predict_log", "classify_log", "regress_log"):
        specs = [getattr(entry, kind).request.model_spec]
    else:
        return []
    return [spec.signature_name or DEFAULT_SIGNATURE for spec in specs]


def _probe_synthetic(servable: Any, name: str, signature: SignatureInfo) -> None:
    refused: ServingError | None = None
    for batch, inner, seed in PLAN:
        feed = synthetic.inputs(signature, batch, inner, seed)
        try:
            servable.run(name, feed)
        except ServingError as e:
            if e.code in VERSION_FAULTS:
                raise _failure(name, e.message, e.code) from None
            refused = e
        except Exception as e:  # not a TensorFlow status: any request would meet it
            raise _failure(name, f"{type(e).__name__}: {e}", Code.INTERNAL) from None
        else:
            return
    assert refused is not None
    log.warning("Probe of signature %s: synthetic inputs refused (%s: %s); not held against "
                "the version (warmup records would probe it with real requests)",
                name, refused.code.name, _first_line(refused.message))


def _failure(signature: str, message: str, code: Code) -> ServingError:
    log.error("Probe of signature %s failed: %s: %s", signature, code.name, _first_line(message))
    return ServingError(code, f'New version failed its probe on signature "{signature}": {message}')


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0][:300] if message.strip() else message
