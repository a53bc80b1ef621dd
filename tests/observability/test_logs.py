"""Log lines: logfmt fields in plain lines, one JSON object per line."""

from __future__ import annotations

import json
import logging
import sys

from sigserve.observability.logs import PLAIN_FORMAT, Fields, JsonFormatter


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
