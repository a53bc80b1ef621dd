"""Log lines: logfmt fields in plain lines, one JSON object per line."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import time

from sigserve.observability.logs import (
    PLAIN_FORMAT,
    BatchedStreamHandler,
    Fields,
    JsonFormatter,
    PlainFormatter,
)


def record(msg: object, level: int = logging.INFO, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("sigserve.access", level, __file__, 1, msg, None, exc_info)


def test_plain_fields_are_logfmt_with_quoting() -> None:
    fields = Fields({
        "path": "/v1/models/m:predict", "model": "my model", "version": None,
        "latency_ms": 1.23456, "error": 'bad "x"\nnext', "raw": "a\udcffb",
    })  # fmt: skip
    text = logging.Formatter(PLAIN_FORMAT).format(record(fields))
    assert text.endswith(
        'sigserve.access: path=/v1/models/m:predict model="my model" latency_ms=1.235 '
        'error="bad \\"x\\"\\nnext" raw="a\\\\xffb"'
    )
    assert "\n" not in text  # one line, whatever a client sent
    text.encode("utf-8")  # valid UTF-8 even for bytes that were not


def test_json_lines_carry_fields_as_keys() -> None:
    fields = Fields({"transport": "rest", "status": 400, "version": None, "model": "m\udcff"})
    line = JsonFormatter().format(record(fields, logging.WARNING))
    parsed = json.loads(line.encode("utf-8"))
    assert parsed["level"] == "WARNING" and parsed["logger"] == "sigserve.access"
    assert parsed["time"].endswith("Z")
    assert (parsed["transport"], parsed["status"], parsed["model"]) == ("rest", 400, "m\\xff")
    assert "version" not in parsed and "message" not in parsed


def test_json_lines_of_other_loggers_keep_message_and_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        info = sys.exc_info()
    rec = logging.LogRecord("sigserve.rest", logging.ERROR, __file__, 1, "failed %s", ("x",), info)
    parsed = json.loads(JsonFormatter().format(rec))
    assert parsed["message"] == "failed x"
    assert "ValueError: boom" in parsed["exception"]


def test_the_shortcut_for_fields_writes_what_formatting_a_record_writes() -> None:
    fields = Fields({"transport": "grpc", "code": "OK", "latency_ms": 0.5, "peer": None})
    rec = record(fields)
    for formatter in (PlainFormatter(), JsonFormatter()):
        assert formatter.format_fields(rec.created, "INFO", rec.name, fields) == (
            formatter.format(rec)
        )
        again = formatter.format_fields(rec.created + 0.25, "INFO", rec.name, fields)
        assert again != formatter.format(rec)  # the cached second, other milliseconds


def test_batched_handler_writes_every_line_in_order_off_the_callers_thread() -> None:
    stream = io.StringIO()
    handler = BatchedStreamHandler(stream, interval=0.05)
    handler.setFormatter(PlainFormatter())
    logger = logging.getLogger("sigserve.test.batched")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        threads = [
            threading.Thread(target=lambda i=i: [logger.warning("t%d line %d", i, n)
                                                 for n in range(200)])
            for i in range(3)
        ]  # fmt: skip
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        handler.emit_fields(logging.INFO, logger.name, Fields({"last": 1}))
        assert stream.getvalue() == "" or stream.getvalue().endswith("\n")  # whole lines only
        deadline = time.monotonic() + 5
        while "last=1" not in stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 601 and lines[-1].endswith("sigserve.test.batched: last=1")
    for i in range(3):
        mine = [line.rsplit(": ", 1)[1] for line in lines if f": t{i} " in line]
        assert mine == [f"t{i} line {n}" for n in range(200)]
