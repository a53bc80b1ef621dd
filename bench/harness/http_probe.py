"""Plain HTTP POSTs to a server under test on 127.0.0.1: wait until it first predicts."""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request

from bench.harness.processes import Launched

# No proxy, whatever the environment says: every request goes to loopback.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerExited(RuntimeError):
    def __init__(self, returncode: int | None, log_tail: str) -> None:
        super().__init__(f"exited with status {returncode}: {log_tail}")
        self.returncode = returncode
        self.log_tail = log_tail


def post_json(url: str, body: bytes, timeout_s: float) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with _opener.open(request, timeout=timeout_s) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_for_first_predict(
    launched: Launched, url: str, body: bytes, timeout_s: float
) -> tuple[float, bytes]:
    """Seconds from the launch to the first 200 answer to ``body``, and that answer.

    Raises ServerExited if the process ends first, TimeoutError after ``timeout_s``.
    """
    deadline = launched.started + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if launched.exited():
            raise ServerExited(launched.process.returncode, launched.log_tail())
        try:
            status, data = post_json(url, body, timeout_s=max(1.0, deadline - time.monotonic()))
        except (OSError, http.client.HTTPException) as e:  # not listening yet
            last = f"{type(e).__name__}: {e}"
        else:
            if status == 200:
                return time.monotonic() - launched.started, data
            last = f"HTTP {status}: {data[:200]!r}"
        time.sleep(0.02)
    raise TimeoutError(f"no successful predict within {timeout_s:.0f} s (last: {last})")
