"""wrk's output -> LoadResult (no wrk, no network: wrk's text as it prints it)."""

from __future__ import annotations

import re

import pytest

from bench.harness.wrk_load import LUA, MARKER, WrkOutputError, parse_summary, point_seconds

WRK_OUTPUT = """\
Running 8s test @ http://127.0.0.1:41234/v1/models/mlp:predict
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    24.10ms   30.02ms 173.40ms   95.12%
    Req/Sec     2.61k   210.33     2.90k    80.00%
  Latency Distribution
     50%   23.00ms
     75%   25.10ms
     90%   28.70ms
     99%  173.00ms
  20800 requests in 8.00s, 4.10MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:   2600.00
Transfer/sec:    524.55KB
SIGSERVE_BENCH requests=20800 duration_us=8000000 p50_us=23000 p99_us=173000 max_us=173400 \
connect=0 read=2 write=0 status=7 timeout=3
"""


def test_parses_the_done_hook_line() -> None:
    result = parse_summary(WRK_OUTPUT, connections=64)
    assert result.connections == 64
    assert result.requests == 20800
    assert result.seconds == 8.0
    assert result.rps == pytest.approx(2600.0)
    assert (result.p50_ms, result.p99_ms, result.max_ms) == (23.0, 173.0, 173.4)
    assert result.non_2xx == 7
    assert result.socket_errors == 5  # read 2 + timeout 3
    assert result.errors == 12


def test_zero_requests_is_zero_req_per_s() -> None:
    line = f"{MARKER} requests=0 duration_us=0 p50_us=0 p99_us=0 max_us=0 "
    line += "connect=64 read=0 write=0 status=0 timeout=0"
    result = parse_summary(line, connections=64)
    assert result.rps == 0.0
    assert result.socket_errors == 64


def test_output_without_the_line_is_an_error() -> None:
    text = WRK_OUTPUT.split(MARKER)[0]
    with pytest.raises(WrkOutputError, match="no SIGSERVE_BENCH line"):
        parse_summary(text, connections=1)


@pytest.mark.parametrize(
    "line",
    [
        f"{MARKER} requests=10 duration_us=1000000",  # fields missing
        f"{MARKER} requests=ten duration_us=1 p50_us=1 p99_us=1 max_us=1 connect=0 read=0 "
        "write=0 status=0 timeout=0",
        f"{MARKER} requests",
    ],
)
def test_malformed_line_is_an_error(line: str) -> None:
    with pytest.raises(WrkOutputError, match="malformed"):
        parse_summary(line, connections=1)


def test_the_lua_script_prints_every_field_the_parser_reads() -> None:
    printed = set(re.findall(r"(\w+)=%d", LUA))
    assert printed == {
        "requests", "duration_us", "p50_us", "p99_us", "max_us",
        "connect", "read", "write", "status", "timeout",
    }  # fmt: skip
    assert '"MARKER"' not in LUA and MARKER in LUA


def test_points_last_longer_for_slow_models_within_a_cap() -> None:
    assert point_seconds(8.0, 64, rps=2600.0) == 8.0  # a fast model: the base duration
    assert point_seconds(8.0, 16, rps=4.0) == 12.0  # 3 requests per connection
    assert point_seconds(8.0, 64, rps=4.0) == 32.0  # capped at 4x
    assert point_seconds(3.0, 1, rps=None) == 3.0  # no rate known yet
