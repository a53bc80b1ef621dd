"""``--rest_api_timeout_in_ms``: a request that runs longer gets 504, and the server goes on."""

from __future__ import annotations

from pathlib import Path

import requests


def test_slow_request_times_out_and_server_keeps_answering(start_server, echo_model: Path) -> None:
    server = start_server(
        "--model_name=echo", f"--model_base_path={echo_model}", "--rest_api_timeout_in_ms=300"
    )
    url = f"{server.rest_url}/v1/models/echo:predict"
    slow = requests.post(url, json={"signature_name": "slow", "inputs": {"n": 6000}}, timeout=60)
    assert slow.status_code == 504
    assert "Deadline" in slow.json()["error"]
    fast = requests.post(
        url, json={"signature_name": "two_outputs", "inputs": {"x": [[1.0, 2.0]]}}, timeout=60
    )
    assert fast.status_code == 200, fast.text
