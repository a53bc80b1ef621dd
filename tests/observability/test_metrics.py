"""The metric records and their exposition, and the REST middleware, without a server."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from sigserve.observability.metrics import LATENCY_BOUNDS_S, ServerMetrics
from sigserve.observability.rest_middleware import ObservedRestApp


def samples(metrics: ServerMetrics) -> dict[tuple[str, tuple], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_model_label_is_bounded_to_models_the_server_has() -> None:
    metrics = ServerMetrics(process=False)
    metrics.watch(lambda: {"a": {1: "AVAILABLE"}})
    assert metrics.model_label("", "a") == "a"
    assert metrics.model_label("", "made-up") == ""
    assert metrics.model_label("b", "b") == "b"  # a model that answered is known from then on
    assert metrics.model_label("", "b") == "b"


def test_histogram_buckets_are_cumulative_with_tf_serving_bounds() -> None:
    metrics = ServerMetrics(process=False)
    for seconds in (5e-6, 2e-5, 2e-5, 1e4):  # under the first bound, the third, over the last
        metrics.requests.add("grpc", "predict", "m", "OK", seconds, 10, 20)
    metrics.requests.add("grpc", "predict", "m", "INTERNAL", 1.0, 10, 0)
    got = samples(metrics)
    tf = ":tensorflow:serving:request_latency_bucket"
    labels = (("API", "Predict"), ("entrypoint", "GRPC"), ("model_name", "m"))
    assert got[tf, tuple(sorted((*labels, ("le", "10"))))] == 1
    assert got[tf, tuple(sorted((*labels, ("le", "18"))))] == 1
    assert got[tf, tuple(sorted((*labels, ("le", "32.4"))))] == 3
    assert got[tf, tuple(sorted((*labels, ("le", "+Inf"))))] == 4  # OK only
    own = (("api", "predict"), ("model_name", "m"), ("transport", "grpc"))
    assert got["sigserve_request_duration_seconds_count", own] == 5  # every status
    assert got["sigserve_request_bytes_total", own] == 50
    assert got["sigserve_response_bytes_total", own] == 80
    count = ":tensorflow:serving:request_count"
    assert got[count, (("model_name", "m"), ("status", "INTERNAL"))] == 1
    assert len(LATENCY_BOUNDS_S) == 33


def test_load_and_batch_records() -> None:
    metrics = ServerMetrics(process=False)
    metrics.loads.add("/m/1", True, 0.5)
    metrics.loads.add("/m/2", False, 0.1)
    metrics.batches.add([3, 2], 8, [0.001, 0.0])
    got = samples(metrics)
    attempts = ":tensorflow:cc:saved_model:load_attempt_count"
    assert got[attempts, (("model_path", "/m/1"), ("status", "success"))] == 1
    assert got[attempts, (("model_path", "/m/2"), ("status", "fail"))] == 1
    assert got[":tensorflow:cc:saved_model:load_latency", (("model_path", "/m/1"),)] == 500000
    prefix = ":tensorflow:serving:batching_session:"
    assert got[prefix + "processed_batch_size_sum", ()] == 8
    assert got[prefix + "input_batch_size_count", ()] == 2
    assert got[prefix + "padding_size_sum", (("execution_batch_size", "8"),)] == 3
    queuing = (("thread_pool_name", "batch_threads"),)
    assert got[prefix + "queuing_latency_sum", queuing] == 1000


def call(app, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    sent: list[dict] = []
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
             "headers": [], "client": ("127.0.0.1", 5)}  # fmt: skip

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def inner(scope, receive, send) -> None:
    message = await receive()
    status, body = (200, b"[1.0]") if message["body"] else (400, b'{"error": "empty"}')
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": body})


def test_middleware_counts_and_serves_the_page() -> None:
    metrics = ServerMetrics(process=False)
    metrics.watch(lambda: {"m": {1: "AVAILABLE"}})
    app = ObservedRestApp(inner, metrics=metrics, metrics_path="/metrics", access_log=False)
    assert call(app, "POST", "/v1/models/m:predict", b"abc")[0] == 200
    assert call(app, "POST", "/v1/models/m:predict")[0] == 400
    status, page = call(app, "GET", "/metrics")
    assert status == 200 and b"sigserve_requests_total" in page
    got = samples(metrics)
    labels = (("api", "predict"), ("model_name", "m"), ("transport", "rest"))
    for code in ("OK", "INVALID_ARGUMENT"):
        assert got["sigserve_requests_total", tuple(sorted((*labels, ("code", code))))] == 1
    assert got["sigserve_request_bytes_total", labels] == 3
    assert got["sigserve_response_bytes_total", labels] == 5 + 18
    assert got["sigserve_model_version_state", (("model_name", "m"), ("state", "AVAILABLE"),
                                                 ("version", "1"))] == 1  # fmt: skip


class FakeManager:
    """The two things observability reads of the manager."""

    def __init__(self) -> None:
        self.states: dict[str, dict[int, str]] = {}
        self.listeners: list = []

    def version_states(self) -> dict[str, dict[int, str]]:
        return self.states

    def add_listener(self, listener) -> None:
        self.listeners.append(listener)


def test_models_loaded_after_start_up_are_known_before_any_scrape() -> None:
    from sigserve.observability import Observability
    from sigserve.observability.monitoring_config import PrometheusOptions

    observability = Observability(PrometheusOptions(enable=True), access_log=False)
    manager = FakeManager()
    observability.watch(manager)  # before the models load, as the server does
    metrics = observability.metrics
    assert metrics is not None and metrics.model_label("", "m") == ""
    manager.states = {"m": {1: "AVAILABLE"}}
    for listener in manager.listeners:  # the manager calls them as versions change
        listener()
    assert metrics.model_label("", "m") == "m"
