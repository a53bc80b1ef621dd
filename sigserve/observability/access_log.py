"""One line per request on the ``sigserve.access`` logger (``--access_log``).

REST lines: ``transport=rest method path model version status code latency_ms
bytes_in bytes_out peer``; gRPC lines: ``transport=grpc rpc model version code
latency_ms bytes_in bytes_out peer``. ``version`` is the version that answered
(else the one asked for); a failed request adds ``error``, the message its
client got. Answers with a 5xx status (or the gRPC codes that map to one) are
logged at WARNING, the rest at INFO, so ``--log_level=warning`` keeps only
the server's failures.
"""

from __future__ import annotations

import logging

from sigserve.errors import HTTP_STATUS, Code
from sigserve.observability.logs import BatchedStreamHandler, Fields

log = logging.getLogger("sigserve.access")


def log_rest(
    *, method: str, path: str, model: str, version: int | None, status: int, code: str,
    seconds: float, bytes_in: int, bytes_out: int, peer: str, error: str | None,
) -> None:  # fmt: skip
    level = logging.WARNING if status >= 500 else logging.INFO
    if not log.isEnabledFor(level):
        return
    _emit(level, {
        "transport": "rest", "method": method, "path": path, "model": model or None,
        "version": version, "status": status, "code": code,
        "latency_ms": round(seconds * 1000, 3), "bytes_in": bytes_in, "bytes_out": bytes_out,
        "peer": peer or None, "error": error,
    })  # fmt: skip


def log_grpc(
    *, rpc: str, model: str, version: int | None, code: str, seconds: float,
    bytes_in: int, bytes_out: int, peer: str, error: str | None,
) -> None:  # fmt: skip
    status = HTTP_STATUS.get(Code[code], 500) if code in Code.__members__ else 500
    level = logging.WARNING if status >= 500 else logging.INFO
    if not log.isEnabledFor(level):
        return
    _emit(level, {
        "transport": "grpc", "rpc": rpc, "model": model or None, "version": version,
        "code": code, "latency_ms": round(seconds * 1000, 3), "bytes_in": bytes_in,
        "bytes_out": bytes_out, "peer": peer or None, "error": error,
    })  # fmt: skip


def _emit(level: int, fields: dict[str, object]) -> None:
    """``log.log``, with a shortcut (no record, no caller lookup, a cached timestamp)
    when the line goes to the server's own batched handler alone."""
    handlers = log.handlers
    if len(handlers) == 1 and type(handlers[0]) is BatchedStreamHandler and not log.filters:
        handler = handlers[0]
        if level >= handler.level and not handler.filters:
            handler.emit_fields(level, log.name, Fields(fields))
            return
    log.handle(log.makeRecord(log.name, level, __file__, 0, Fields(fields), None, None))
