"""The README's first command: ``sigserve demo`` builds a model, serves it, and its curl works."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests


def test_demo_serves_and_its_printed_request_works(tmp_path: Path, unused_port) -> None:
    rest, grpc_port = unused_port(), unused_port()
    env = dict(os.environ, SIGSERVE_CACHE=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="2")
    log = tmp_path / "demo.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "sigserve", "demo", f"--rest_api_port={rest}",
             f"--port={grpc_port}"],
            stdout=out, stderr=subprocess.STDOUT, env=env, text=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "sigserve ready" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        printed = re.search(r"curl -d '(.+?)' (\S+)", log.read_text())
        assert printed, log.read_text()
        answer = requests.post(printed.group(2), data=printed.group(1), timeout=30)
        assert answer.json() == {"predictions": [2.5, 3.0, 4.5]}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0, log.read_text()
