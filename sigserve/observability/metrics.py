"""The server's Prometheus metrics: TF Serving's names where it has them, and sigserve's own.

Counting is kept off the request's way: a finished request adds to one record
(a dict lookup, a bisect and a few integer additions, on the event loop that
both transports share, so without a lock), and everything else happens when
Prometheus scrapes: :class:`MetricsCollector` turns the records, the manager's
version states, batching and load counts into metric families, written by
``prometheus_client`` from a registry of the server's own (never the global one).

TF Serving's metrics keep its names as its Prometheus exporter writes them
(``/tensorflow/serving/request_count`` becomes ``:tensorflow:serving:request_count``),
its labels and its units (microseconds). Its counters are written as ``untyped``:
``prometheus_client`` would add ``_total`` to a counter's name, and dashboards
query TF Serving's names. sigserve's own metrics follow Prometheus conventions
(``sigserve_*``, seconds, bytes, ``_total`` counters).
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# TF Serving's request latency buckets: scale 10 us, growth 1.8, 33 buckets (~20 minutes).
LATENCY_BOUNDS_US = tuple(10 * 1.8**i for i in range(33))
LATENCY_BOUNDS_S = tuple(bound / 1e6 for bound in LATENCY_BOUNDS_US)
# batching_session/queuing_latency: scale 100 us, growth 1.2, 52 buckets (~1 second).
QUEUING_BOUNDS_US = tuple(100 * 1.2**i for i in range(52))
# input/processed batch size and padding: 1, 2, 4, ... 2^13.
BATCH_SIZE_BOUNDS = tuple(float(2**i) for i in range(14))
THREAD_POOL_NAME = "batch_threads"  # TF Serving's default BatchingParameters.thread_pool_name

# TF Serving's ``API`` label, per transport and sigserve API name.
_TF_API = {
    "rest": {"predict": "predict", "classify": "classify", "regress": "regress"},
    "grpc": {
        "predict": "Predict", "classify": "Classify", "regress": "Regress",
        "multi_inference": "MultiInference", "metadata": "GetModelMetadata",
        "status": "GetModelStatus",
    },
}  # fmt: skip
_ENTRYPOINT = {"rest": "REST", "grpc": "GRPC"}

VersionStates = Callable[[], Mapping[str, Mapping[int, str]]]


class Histogram:
    """Counts per label tuple over fixed bounds (not cumulative until written)."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.cells: dict[tuple[str, ...], list[float]] = {}  # buckets..., +Inf, sum

    def add(self, labels: tuple[str, ...], value: float) -> None:
        cell = self.cells.get(labels)
        if cell is None:
            cell = self.cells[labels] = [0] * (len(self.bounds) + 2)
        cell[bisect.bisect_left(self.bounds, value)] += 1
        cell[-1] += value

    def family(self, name: str, doc: str, labelnames: Sequence[str]) -> HistogramMetricFamily:
        family = HistogramMetricFamily(name, doc, labels=labelnames)
        for labels, cell in sorted(self.cells.items()):
            family.add_metric(list(labels), _cumulative(self.bounds, cell[:-1]), cell[-1])
        return family


class RequestRecords:
    """Per (transport, api, model, code): count, latency buckets, latency sum, bytes in and
    out. Written on the event loop only."""

    SLOTS = len(LATENCY_BOUNDS_S) + 1  # latency buckets, the last one +Inf
    COUNT, SECONDS, BYTES_IN, BYTES_OUT = SLOTS, SLOTS + 1, SLOTS + 2, SLOTS + 3

    def __init__(self) -> None:
        self.cells: dict[tuple[str, str, str, str], list[float]] = {}
        self.in_flight = {"rest": 0, "grpc": 0}

    def add(
        self, transport: str, api: str, model: str, code: str,
        seconds: float, bytes_in: int, bytes_out: int,
    ) -> None:  # fmt: skip
        key = (transport, api, model, code)
        cell = self.cells.get(key)
        if cell is None:
            cell = self.cells[key] = [0] * (self.SLOTS + 4)
        cell[bisect.bisect_left(LATENCY_BOUNDS_S, seconds)] += 1
        cell[self.COUNT] += 1
        cell[self.SECONDS] += seconds
        cell[self.BYTES_IN] += bytes_in
        cell[self.BYTES_OUT] += bytes_out


class LoadRecords:
    """TF's SavedModel load counts (from loader threads, hence the lock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.attempts: dict[tuple[str, str], int] = {}  # (model_path, success|fail)
        self.latency_us: dict[str, float] = {}  # model_path -> total of successful loads

    def add(self, path: str, ok: bool, seconds: float) -> None:
        with self._lock:
            key = (path, "success" if ok else "fail")
            self.attempts[key] = self.attempts.get(key, 0) + 1
            if ok:
                self.latency_us[path] = self.latency_us.get(path, 0.0) + seconds * 1e6

    def snapshot(self) -> tuple[dict[tuple[str, str], int], dict[str, float]]:
        with self._lock:
            return dict(self.attempts), dict(self.latency_us)


class BatchRecords:
    """TF Serving's batching_session histograms; the scheduler reports on the event loop."""

    def __init__(self) -> None:
        self.queuing_us = Histogram(QUEUING_BOUNDS_US)
        self.input_size = Histogram(BATCH_SIZE_BOUNDS)
        self.processed_size = Histogram(BATCH_SIZE_BOUNDS)
        self.padding = Histogram(BATCH_SIZE_BOUNDS)

    def add(self, sizes: Sequence[int], batch_size: int, waits: Sequence[float]) -> None:
        """One batch starting: its requests' sizes, its (padded) size, their waits (s)."""
        for size, wait in zip(sizes, waits, strict=True):
            self.input_size.add((), size)
            self.queuing_us.add((THREAD_POOL_NAME,), wait * 1e6)
        self.processed_size.add((), batch_size)
        self.padding.add((str(batch_size),), batch_size - sum(sizes))


class ServerMetrics:
    """Everything the server counts, and its Prometheus exposition."""

    def __init__(self, *, process: bool = True) -> None:
        self.requests = RequestRecords()
        self.loads = LoadRecords()
        self.batches = BatchRecords()
        self.known_models: set[str] = set()  # model_name label values allowed
        self.version_states: VersionStates = dict
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(MetricsCollector(self))
        if process:
            ProcessCollector(registry=self.registry)

    def watch(self, version_states: VersionStates) -> None:
        """Read model version states (model -> version -> state) at each scrape."""
        self.version_states = version_states
        self.known_models.update(version_states())

    def model_label(self, answered: str, requested: str) -> str:
        """The model_name label: the model that answered, or the one asked for if the server
        has it; other names count as "" so that clients cannot grow the series unbounded."""
        if answered:
            self.known_models.add(answered)
            return answered
        return requested if requested in self.known_models else ""

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsCollector:
    """The families, built from the records at scrape time."""

    def __init__(self, metrics: ServerMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self._tf_serving_requests()
        yield from self._requests()
        yield from self._models()
        yield from self._loads()
        yield from self._batching()

    def _tf_serving_requests(self) -> Iterator[Metric]:
        records = self.metrics.requests
        counts: dict[tuple[str, str], float] = {}
        latency = Histogram(LATENCY_BOUNDS_US)
        for (transport, api, model, code), cell in records.cells.items():
            counts[model, code] = counts.get((model, code), 0) + cell[records.COUNT]
            tf_api = _TF_API[transport].get(api)
            if code == "OK" and tf_api is not None:
                key = (model, tf_api, _ENTRYPOINT[transport])
                into = latency.cells.setdefault(key, [0] * (records.SLOTS + 1))
                for i in range(records.SLOTS):
                    into[i] += cell[i]
                into[-1] += cell[records.SECONDS] * 1e6
        yield _untyped(
            ":tensorflow:serving:request_count", "The total number of requests.",
            ("model_name", "status"), counts.items(),
        )  # fmt: skip
        yield latency.family(
            ":tensorflow:serving:request_latency",
            "Distribution of wall time (in microseconds) for Tensorflow Serving request.",
            ("model_name", "API", "entrypoint"),
        )

    def _requests(self) -> Iterator[Metric]:
        records = self.metrics.requests
        by_code: dict[tuple[str, ...], float] = {}
        sizes_in: dict[tuple[str, ...], float] = {}
        sizes_out: dict[tuple[str, ...], float] = {}
        durations = Histogram(LATENCY_BOUNDS_S)
        for (transport, api, model, code), cell in records.cells.items():
            by_code[transport, api, model, code] = cell[records.COUNT]
            key = (transport, api, model)
            sizes_in[key] = sizes_in.get(key, 0) + cell[records.BYTES_IN]
            sizes_out[key] = sizes_out.get(key, 0) + cell[records.BYTES_OUT]
            into = durations.cells.setdefault(key, [0] * (records.SLOTS + 1))
            for i in range(records.SLOTS):
                into[i] += cell[i]
            into[-1] += cell[records.SECONDS]
        labels = ("transport", "api", "model_name")
        yield _counter("sigserve_requests", "Requests answered, by status code.",
                       (*labels, "code"), by_code.items())
        yield durations.family(
            "sigserve_request_duration_seconds",
            "Time from a request's arrival to its answer, whatever its status.", labels,
        )  # fmt: skip
        yield _counter("sigserve_request_bytes", "Bytes of request bodies (REST) or "
                       "serialized request messages (gRPC).", labels, sizes_in.items())
        yield _counter("sigserve_response_bytes", "Bytes of response bodies (REST) or "
                       "serialized response messages (gRPC).", labels, sizes_out.items())
        in_flight = GaugeMetricFamily(
            "sigserve_requests_in_flight", "Requests received and not yet answered.",
            labels=["transport"],
        )  # fmt: skip
        for transport, count in sorted(records.in_flight.items()):
            in_flight.add_metric([transport], count)
        yield in_flight

    def _models(self) -> Iterator[Metric]:
        states = self.metrics.version_states()
        self.metrics.known_models.update(states)
        family = GaugeMetricFamily(
            "sigserve_model_version_state",
            "1 for each model version, labelled with its state (START, LOADING, AVAILABLE, "
            "UNLOADING, END), as GetModelStatus reports it.",
            labels=["model_name", "version", "state"],
        )
        for model, versions in sorted(states.items()):
            for version, state in sorted(versions.items()):
                family.add_metric([model, str(version), state], 1)
        yield family

    def _loads(self) -> Iterator[Metric]:
        attempts, latency = self.metrics.loads.snapshot()
        yield _untyped(
            ":tensorflow:cc:saved_model:load_attempt_count",
            "The number of times a SavedModel was successfully loaded.",
            ("model_path", "status"), attempts.items(),
        )  # fmt: skip
        yield _untyped(
            ":tensorflow:cc:saved_model:load_latency",
            "Latency in microseconds for SavedModels that were successfully loaded.",
            ("model_path",), (((path,), us) for path, us in latency.items()),
        )  # fmt: skip

    def _batching(self) -> Iterator[Metric]:
        batches = self.metrics.batches
        prefix = ":tensorflow:serving:batching_session:"
        yield batches.queuing_us.family(
            prefix + "queuing_latency",
            "Distribution of wall time spent (in microseconds) in queuing", ("thread_pool_name",),
        )  # fmt: skip
        yield batches.input_size.family(
            prefix + "input_batch_size", "Tracks the batch size distribution on the inputs.", ()
        )
        yield batches.processed_size.family(
            prefix + "processed_batch_size",
            "Tracks the batch size distribution on processing.", (),
        )  # fmt: skip
        yield batches.padding.family(
            prefix + "padding_size", "Tracks the padding size distribution on batches.",
            ("execution_batch_size",),
        )  # fmt: skip


def _cumulative(bounds: Sequence[float], counts: Sequence[float]) -> list[tuple[str, float]]:
    """Prometheus buckets from per-bucket counts (the last one is +Inf); bounds written as
    TF Serving writes them (six significant digits)."""
    buckets, total = [], 0.0
    for bound, count in zip([*bounds, float("inf")], counts, strict=True):
        total += count
        buckets.append(("+Inf" if bound == float("inf") else f"{bound:.6g}", total))
    return buckets


def _untyped(
    name: str, doc: str, labelnames: Sequence[str], values: Iterable[tuple[tuple[str, ...], float]]
) -> Metric:
    metric = Metric(name, doc, "unknown")
    for labels, value in sorted(values):
        metric.add_sample(name, dict(zip(labelnames, labels, strict=True)), value)
    return metric


def _counter(
    name: str, doc: str, labelnames: Sequence[str], values: Iterable[tuple[tuple[str, ...], float]]
) -> Metric:
    metric = Metric(name, doc, "counter")
    for labels, value in sorted(values):
        metric.add_sample(name + "_total", dict(zip(labelnames, labels, strict=True)), value)
    return metric
