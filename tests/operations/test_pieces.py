"""The pieces behind health, limits and shutdown, without a server process."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from grpc_health.v1 import health_pb2

from sigserve.cli.flags import parse_serve_flags
from sigserve.health import Health
from sigserve.limits import RequestSlots
from sigserve.rest.app import BodyTooLarge, _read_body
from sigserve.rest.health import HealthRoutes
from sigserve.rest.limits import RequestsInProgress

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.mark.parametrize(
    "flag",
    [
        "rest_api_max_body_bytes",
        "max_requests_in_progress",
        "shutdown_drain_seconds",
        "shutdown_grace_seconds",
    ],
)
def test_negative_limits_are_usage_errors(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_serve_flags(["--model_base_path=/m", f"--{flag}=-1"])
    assert exit_.value.code == 2
    assert f"--{flag} cannot be negative" in capsys.readouterr().err


def test_defaults_are_generous_and_fit_kubernetes() -> None:
    config = parse_serve_flags(["--model_base_path=/m"])
    assert config.rest_api_max_body_bytes == 256 * 1024 * 1024
    assert config.max_requests_in_progress == 1000
    # drain + grace + the 5 s unload wait fit in Kubernetes' default 30 s.
    assert config.shutdown_drain_seconds + config.shutdown_grace_seconds + 5 <= 30


def test_slots_bound_and_count() -> None:
    slots = RequestSlots(2)
    assert [slots.take(), slots.take(), slots.take()] == [True, True, False]
    slots.give_back()
    assert slots.take() and slots.in_use == 2
    unbounded = RequestSlots(0)
    assert all(unbounded.take() for _ in range(10_000))
    assert slots.refusal().message == (
        "Server is at its limit of 2 requests in progress; try again later"
    )
    assert slots.refusal().http_status == 503


def test_readiness_needs_every_model_and_ends_at_shutdown() -> None:
    models = {"a": True, "b": False, "c": False}
    health = Health(lambda: dict(models))
    changes: list[bool] = []
    health.add_listener(lambda: changes.append(health.readiness().ready))
    readiness = health.readiness()
    assert not readiness.ready
    assert readiness.reason == "no version of these models is available yet: b, c"
    models.update(b=True, c=True)
    assert health.readiness().ready and health.readiness().reason == ""
    health.begin_shutdown()
    assert changes == [False]
    assert health.readiness().reason == "shutting down"
    assert Health(dict).readiness().ready  # no model configured: nothing to wait for


class Receiver:
    """ASGI ``receive`` giving body chunks, counting how many were taken."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.taken = 0

    async def __call__(self) -> dict[str, Any]:
        self.taken += 1
        more = self.taken < len(self.chunks)
        return {"type": "http.request", "body": self.chunks[self.taken - 1], "more_body": more}


def _scope(headers: list[tuple[bytes, bytes]] = (), path: str = "/", method: str = "POST"):
    return {"type": "http", "method": method, "path": path, "headers": list(headers)}


def test_body_limit_reads_nothing_when_content_length_is_over() -> None:
    receive = Receiver([b"x" * 10])
    scope = _scope([(b"content-length", b"11")])
    with pytest.raises(BodyTooLarge, match="11 bytes, more than the limit of 10 bytes"):
        asyncio.run(_read_body(receive, scope, 10))
    assert receive.taken == 0


def test_body_limit_stops_reading_streamed_chunks_past_it() -> None:
    receive = Receiver([b"x" * 6, b"x" * 6, b"x" * 6, b"x" * 6])
    with pytest.raises(BodyTooLarge, match="more than the limit of 10 bytes"):
        asyncio.run(_read_body(receive, _scope(), 10))
    assert receive.taken == 2
    whole = Receiver([b"x" * 5, b"x" * 5])
    assert asyncio.run(_read_body(whole, _scope(), 10)) == b"x" * 10
    assert asyncio.run(_read_body(Receiver([b"x" * 50]), _scope(), 0)) == b"x" * 50


async def _call(app: Any, scope: dict[str, Any]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, Receiver([b""]), send)
    return sent


def test_probes_never_reach_the_api_nor_take_a_slot() -> None:
    reached: list[str] = []

    async def api(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    slots = RequestSlots(1)
    slots.take()  # every slot is in use
    app = HealthRoutes(RequestsInProgress(api, slots), Health(lambda: {"m": True}))
    live = asyncio.run(_call(app, _scope(path="/livez", method="GET")))
    ready = asyncio.run(_call(app, _scope(path="/readyz", method="HEAD")))
    assert (live[0]["status"], live[1]["body"]) == (200, b'{"live": true}')
    assert ready[0]["status"] == 200
    refused = asyncio.run(_call(app, _scope(path="/v1/models/m", method="GET")))
    assert refused[0]["status"] == 503
    assert reached == [] and slots.in_use == 1
    slots.give_back()
    asyncio.run(_call(app, _scope(path="/readyz", method="POST")))  # not a probe
    assert reached == ["/readyz"] and slots.in_use == 0


def test_request_cut_short_at_shutdown_gets_503_and_gives_its_slot_back() -> None:
    async def stuck(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(60)

    slots = RequestSlots(5)

    async def run() -> list[dict[str, Any]]:
        task = asyncio.ensure_future(_call(RequestsInProgress(stuck, slots), _scope()))
        await asyncio.sleep(0.01)
        assert slots.in_use == 1
        task.cancel()  # what uvicorn does when the grace period ends
        return await task

    sent = asyncio.run(run())
    assert sent[0]["status"] == 503
    assert sent[1]["body"].startswith(b'{\n    "error": "Server shut down before the request')
    assert slots.in_use == 0


def test_grpc_health_follows_models_and_goes_not_serving_at_shutdown() -> None:
    from sigserve.grpc.health import GrpcHealth

    async def run() -> None:
        models = {"a": True, "b": False}
        health = Health(lambda: dict(models))
        grpc_health = GrpcHealth()
        await grpc_health.follow(health)
        status = grpc_health.servicer.statuses
        assert (status[""], status["a"], status["b"]) == (NOT_SERVING, SERVING, NOT_SERVING)
        assert status["ModelService"] == status["PredictionService"] == SERVING
        models["b"] = True
        health.changed()
        await asyncio.sleep(0.05)
        assert (status[""], status["b"]) == (SERVING, SERVING)
        del models["a"]  # removed from the config
        health.changed()
        await asyncio.sleep(0.05)
        assert status["a"] == NOT_SERVING and status[""] == SERVING
        health.begin_shutdown()
        await asyncio.sleep(0.05)
        assert set(status.values()) == {NOT_SERVING}
        await grpc_health.close()

    asyncio.run(run())
