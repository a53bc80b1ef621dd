"""The server's log lines: plain text or one JSON object per line (``--log_format``),
at ``--log_level`` and above.

Plain lines are ``<time> <LEVEL> <logger>: <message>``. JSON lines carry
``time``, ``level``, ``logger`` and ``message``, an access line's fields as keys
of their own (:mod:`.access_log`), and ``exception`` with the traceback where
one was logged. Tracebacks go to the log only, never into an answer.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
from typing import Any

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("plain", "json")
LEVELS = ("debug", "info", "warning", "error")


class Fields:
    """A log message made of named fields: written ``key=value`` (logfmt) in plain
    lines, as keys of the object in JSON lines."""

    __slots__ = ("fields",)

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields

    def __str__(self) -> str:
        return " ".join(f"{key}={_logfmt_value(value)}" for key, value in self.fields.items()
                        if value is not None)  # fmt: skip


_NEEDS_QUOTES = re.compile(r'[^!#-<>-\[\]-~]')  # not printable ASCII, or space " = \\


def _logfmt_value(value: Any) -> str:
    if type(value) is int:
        return str(value)
    if type(value) is float:
        return f"{value:.3f}"
    text = str(value)
    if text and _NEEDS_QUOTES.search(text) is None:
        return text
    return json.dumps(printable(text), ensure_ascii=False)


def printable(text: str) -> str:
    """``text`` made encodable as UTF-8: a request's byte that was not UTF-8 (kept as a
    surrogate) is written ``\\xff``, any other lone surrogate ``\\ud800``."""
    if text.isascii():
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
        }
        if isinstance(record.msg, Fields) and not record.args:
            line.update(
                (k, printable(v) if isinstance(v, str) else v)
                for k, v in record.msg.fields.items() if v is not None
            )  # fmt: skip
        else:
            line["message"] = printable(record.getMessage())
        if record.exc_info:
            line["exception"] = printable(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(log_format: str = "plain", level: str = "info") -> None:
    """The root logger's one handler (stderr) with the chosen format and level."""
    handler = logging.StreamHandler()
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(PLAIN_FORMAT)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
