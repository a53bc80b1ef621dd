"""The server's log lines: plain text or one JSON object per line (``--log_format``),
at ``--log_level`` and above.

Plain lines are ``<time> <LEVEL> <logger>: <message>``. JSON lines carry
``time``, ``level``, ``logger`` and ``message``, an access line's fields as keys
of their own (:mod:`.access_log`), and ``exception`` with the traceback where
one was logged. Tracebacks go to the log only, never into an answer. Access
lines go through a :class:`BatchedStreamHandler` (one write every 0.2 s, from a
thread of its own), the rest straight to stderr.
"""

from __future__ import annotations

import collections
import json
import logging
import re
import sys
import threading
import time
from typing import Any, TextIO

import orjson

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


class PlainFormatter(logging.Formatter):
    """``<time> <LEVEL> <logger>: <message>``, fields as logfmt."""

    def __init__(self) -> None:
        super().__init__(PLAIN_FORMAT)
        self._second: tuple[int, str] = (-1, "")  # the last second written, as text

    def format_fields(self, created: float, level: str, name: str, fields: Fields) -> str:
        """What :meth:`format` gives for a record of ``fields``, without a record."""
        second = int(created)
        cached, text = self._second
        if second != cached:
            text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._second = (second, text)
        return f"{text},{int((created - second) * 1000):03d} {level} {name}: {fields}"


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._second: tuple[int, str] = (-1, "")

    def _time(self, created: float) -> str:
        second = int(created)
        cached, text = self._second
        if second != cached:
            text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, text)
        return f"{text}.{int((created - second) * 1000):03d}Z"

    def format_fields(self, created: float, level: str, name: str, fields: Fields) -> str:
        line: dict[str, Any] = {"time": self._time(created), "level": level, "logger": name}
        for key, value in fields.fields.items():
            if value is not None:
                line[key] = printable(value) if type(value) is str else value
        return _json(line)

    def format(self, record: logging.LogRecord) -> str:
        if isinstance(record.msg, Fields) and not record.args and not record.exc_info:
            return self.format_fields(record.created, record.levelname, record.name, record.msg)
        line = {
            "time": self._time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": printable(record.getMessage()),
        }
        if record.exc_info:
            line["exception"] = printable(self.formatException(record.exc_info))
        return _json(line)


def _json(line: dict[str, Any]) -> str:
    return orjson.dumps(line, default=str).decode()


class BatchedStreamHandler(logging.Handler):
    """Lines formatted where they are logged, written to ``stream`` by a thread of
    their own, in one write every ``interval`` seconds (and when logging shuts down).

    For access lines: the event loop does no write of its own per request. A
    write releases the GIL, and taking it back from the process's other threads
    cost ~50 us of CPU per request (measured, bench/bench_observability.py).
    A killed process loses at most the last ``interval`` of lines.
    """

    def __init__(self, stream: TextIO | None = None, interval: float = 0.2) -> None:
        super().__init__()
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self._lines: collections.deque[str] = collections.deque()
        self._writer: threading.Thread | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self.format(record))
        except Exception:
            self.handleError(record)
            return
        if self._writer is None:
            self._start_writer()

    def emit_fields(self, level: int, name: str, fields: Fields) -> None:
        """As ``emit`` of a record of ``fields``, without making the record."""
        formatter = self.formatter
        assert isinstance(formatter, (PlainFormatter, JsonFormatter))
        self._lines.append(
            formatter.format_fields(time.time(), logging.getLevelName(level), name, fields)
        )
        if self._writer is None:
            self._start_writer()

    def _start_writer(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_every_interval, name="sigserve-log-writer", daemon=True
                )
                self._writer.start()

    def _write_every_interval(self) -> None:
        while True:
            time.sleep(self.interval)
            self.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            count = len(self._lines)
            if not count:
                return
            text = "\n".join(self._lines.popleft() for _ in range(count)) + "\n"
            try:
                self.stream.write(text)
                self.stream.flush()
            except (OSError, ValueError):  # stderr closed at exit
                pass


def configure_logging(log_format: str = "plain", level: str = "info") -> None:
    """The root logger's one handler (stderr) with the chosen format and level; access
    lines (``sigserve.access``) through a :class:`BatchedStreamHandler` to stderr."""
    formatter = JsonFormatter() if log_format == "json" else PlainFormatter()
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    access = logging.getLogger("sigserve.access")
    for old in list(access.handlers):
        access.removeHandler(old)
    batched = BatchedStreamHandler()
    batched.setFormatter(formatter)
    access.addHandler(batched)
    access.propagate = False
