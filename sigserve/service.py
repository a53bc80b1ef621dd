"""The transport-agnostic serving API: REST and gRPC both call this.

Each method resolves the model version through the manager, runs blocking
TensorFlow work on the runtime thread pool (never on the event loop), and
returns plain numpy or TF Serving's protos. A version stays loaded until every
call that acquired it has finished, even if the caller stopped waiting.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from sigserve import request_scope
from sigserve.errors import Code, ServingError, invalid_argument
from sigserve.types import DEFAULT_SIGNATURE, ModelRef, TensorInfo

if TYPE_CHECKING:
    from sigserve.batching import Batcher
    from sigserve.manager import ModelManager

T = TypeVar("T")


@dataclass(frozen=True)
class ResolvedSpec:
    """The model spec a response carries: what actually answered."""

    name: str
    version: int
    signature_name: str


class Service:
    def __init__(
        self,
        manager: ModelManager,
        executor: ThreadPoolExecutor,
        *,
        check_method_name: bool = False,
        batcher: Batcher | None = None,
    ) -> None:
        self.manager = manager
        self._executor = executor
        self._check_method_name = check_method_name
        self._batcher = batcher

    async def _run(self, ref: ModelRef, work: Callable[[Any], T]) -> tuple[Any, T]:
        """Run ``work(handle)`` on the thread pool while holding the version."""
        return await self._held(ref, lambda handle: self._on_pool(work, handle))

    def hold(self, ref: ModelRef) -> HeldVersion:
        """The version ``ref`` names, held for one request: ``with service.hold(ref) as
        model:`` then decode against ``model.signature_inputs`` and run
        ``model.predict``, both on the same version (acquired once, at first use)."""
        return HeldVersion(self, ref)

    async def _held(self, ref: ModelRef, start: Callable[[Any], tuple[Any, Awaitable[T]]]) -> Any:
        """Begin ``start(handle)`` holding the version; it returns something whose
        ``add_done_callback`` fires once the work no longer needs the servable, and
        what to await. The version stays held until then, even if the caller left."""
        with self.hold(ref) as held:
            return await held.start(start)

    def _on_pool(self, work: Callable[[Any], T], handle: Any) -> tuple[Any, Awaitable[T]]:
        future = self._executor.submit(work, handle)
        return future, _result_of(future)

    def _batched(
        self, handle: Any, key: str, inputs: dict[str, np.ndarray], output_filter: Sequence[str]
    ) -> tuple[Any, Awaitable[dict[str, np.ndarray]]]:
        assert self._batcher is not None
        task = self._batcher.submit(handle.servable, key, inputs, output_filter)
        if task is None:  # cannot be merged: runs on its own
            return self._unbatched(handle, key, inputs, output_filter)
        return task, _in_order(task.result(), output_filter)

    def _unbatched(
        self, handle: Any, key: str, inputs: dict[str, np.ndarray], output_filter: Sequence[str]
    ) -> tuple[Any, Awaitable[dict[str, np.ndarray]]]:
        return self._on_pool(lambda h: h.servable.run(key, inputs, output_filter), handle)

    async def predict(
        self,
        ref: ModelRef,
        signature_name: str,
        inputs: dict[str, np.ndarray],
        output_filter: Sequence[str] = (),
    ) -> tuple[ResolvedSpec, dict[str, np.ndarray]]:
        with self.hold(ref) as held:
            return await held.predict(signature_name, inputs, output_filter)

    def _start_predict(
        self, key: str, inputs: dict[str, np.ndarray], output_filter: Sequence[str]
    ) -> Callable[[Any], tuple[Any, Awaitable[dict[str, np.ndarray]]]]:
        start = self._batched if self._batcher is not None else self._unbatched
        return lambda handle: start(handle, key, inputs, output_filter)

    async def classify(
        self, ref: ModelRef, signature_name: str, input: Any
    ) -> tuple[ResolvedSpec, Any]:
        """A ``ClassificationResult`` for an ``Input`` of tf.Examples."""
        return await self._on_examples("classify", ref, signature_name, input)

    async def regress(
        self, ref: ModelRef, signature_name: str, input: Any
    ) -> tuple[ResolvedSpec, Any]:
        """A ``RegressionResult`` for an ``Input`` of tf.Examples."""
        return await self._on_examples("regress", ref, signature_name, input)

    async def _on_examples(
        self, method: str, ref: ModelRef, signature_name: str, input: Any
    ) -> tuple[ResolvedSpec, Any]:
        from sigserve.runtime import inference

        run = getattr(inference, method)
        key = signature_name or DEFAULT_SIGNATURE
        handle, result = await self._run(
            ref, lambda h: run(h.servable, key, input, check_method_name=self._check_method_name)
        )
        return ResolvedSpec(handle.name, handle.version, key), result

    async def multi_inference(self, request: Any) -> Any:
        from sigserve.runtime import inference

        if not request.tasks:
            raise invalid_argument("Expected at least one task")
        spec = request.tasks[0].model_spec
        ref = model_ref_from_spec(spec)
        _, response = await self._run(
            ref,
            lambda h: inference.multi_inference(
                h.servable, request, version=h.version, check_method_name=self._check_method_name
            ),
        )
        return response

    def metadata(self, ref: ModelRef) -> tuple[ResolvedSpec, dict[str, Any]]:
        with self.manager.acquire(ref) as handle:
            request_scope.note_version(handle.name, handle.version)
            return ResolvedSpec(handle.name, handle.version, ""), handle.servable.signature_defs

    def status(self, ref: ModelRef) -> Any:
        """``GetModelStatusResponse`` for a model, or one version/label of it."""
        from tensorflow_serving.apis import get_model_status_pb2

        response = get_model_status_pb2.GetModelStatusResponse()
        for version in self.manager.status(ref):
            entry = response.model_version_status.add()
            entry.version = version.version
            entry.state = get_model_status_pb2.ModelVersionStatus.State.Value(version.state)
            entry.status.error_code = int(version.error_code)
            entry.status.error_message = version.error_message
        return response

    async def reload_config(self, config: Any) -> None:
        await self.manager.reload_config(config)


class HeldVersion:
    """One model version held for one request (see :meth:`Service.hold`).

    The version is acquired from the manager at first use, on whichever thread decodes
    the request, and released once the ``with`` block has ended and every call started
    on it has finished (a call outlives a caller that stopped waiting). Use after the
    block ended (a decode still running when the request timed out) acquires nothing.
    """

    def __init__(self, service: Service, ref: ModelRef) -> None:
        self._service = service
        self._ref = ref
        self._context: Any = None
        self._handle: Any = None
        self._users = 1  # the with-block
        self._lock = threading.Lock()

    def __enter__(self) -> HeldVersion:
        return self

    def __exit__(self, *exc: object) -> None:
        self._release()

    def handle(self) -> Any:
        """The manager's handle (name, version, servable), acquired on first use."""
        with self._lock:
            if self._handle is None:
                if self._users == 0:
                    raise ServingError(Code.CANCELLED, "The request ended before it ran")
                context = self._service.manager.acquire(self._ref)
                self._handle = context.__enter__()
                self._context = context
                # the version that answers, for the access log (a no-op off the event loop)
                request_scope.note_version(self._handle.name, self._handle.version)
            return self._handle

    def signature_inputs(self, signature_name: str) -> dict[str, TensorInfo]:
        """The inputs of a signature, for decoding a REST request."""
        key = signature_name or DEFAULT_SIGNATURE
        signature = self.handle().servable.signatures.get(key)
        if signature is None:
            raise invalid_argument(f'Serving signature name: "{key}" not found in signature def')
        return signature.inputs

    async def predict(
        self, signature_name: str, inputs: dict[str, np.ndarray], output_filter: Sequence[str] = ()
    ) -> tuple[ResolvedSpec, dict[str, np.ndarray]]:
        key = signature_name or DEFAULT_SIGNATURE
        handle, outputs = await self.start(self._service._start_predict(key, inputs, output_filter))
        return ResolvedSpec(handle.name, handle.version, key), outputs

    async def start(self, start: Callable[[Any], tuple[Any, Awaitable[T]]]) -> tuple[Any, T]:
        """Begin ``start(handle)``: it returns something whose ``add_done_callback`` fires
        once the work no longer needs the servable, and what to await."""
        handle = self.handle()
        request_scope.note_version(handle.name, handle.version)  # if acquired off the loop
        pending, result = start(handle)
        with self._lock:
            self._users += 1
        pending.add_done_callback(lambda _: self._release())
        return handle, await result

    def _release(self) -> None:
        with self._lock:
            self._users -= 1
            context = self._context if self._users == 0 else None
        if context is not None:
            context.__exit__(None, None, None)


async def _result_of(future: Future[T]) -> T:
    """Await a pool future. Wrapped only when awaited, so the caller's release callback,
    added before, runs before this request is told its result: a request that has its
    answer no longer holds its version."""
    return await asyncio.wrap_future(future)


async def _in_order(
    outputs: Awaitable[dict[str, np.ndarray]], output_filter: Sequence[str]
) -> dict[str, np.ndarray]:
    """A batch runs the sorted output set; answer in the order the caller asked."""
    result = await outputs
    return {name: result[name] for name in output_filter} if output_filter else result


def model_ref_from_spec(spec: Any) -> ModelRef:
    """A ModelRef from a ``tensorflow.serving.ModelSpec`` proto (version or label)."""
    choice = spec.WhichOneof("version_choice")
    if choice == "version":
        return ModelRef(spec.name, version=spec.version.value)
    if choice == "version_label":
        return ModelRef(spec.name, label=spec.version_label)
    return ModelRef(spec.name)
