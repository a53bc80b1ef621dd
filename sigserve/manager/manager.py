"""``ModelManager``: which model versions are loaded, and handing them to requests.

- Versions come from each model's base path through its version policy; the
  base paths are rescanned every ``--file_system_poll_wait_seconds``.
- Loads (and warmup) run on a thread pool of ``--num_load_threads`` (0: one at a
  time, as TF Serving's manager thread), unloads on ``--num_unload_threads``;
  never on the event loop. A failed load is retried ``--max_num_load_retries``
  times, ``--load_retry_interval_micros`` apart, then reported as END with its
  error.
- A new version loads before the one it replaces is unloaded (TF Serving's
  availability-preserving policy). ``acquire`` counts holders: a version being
  unloaded takes no new requests, and is unloaded once the last one finishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sigserve.config import ServerConfig
from sigserve.errors import Code, ServingError, failed_precondition, invalid_argument, not_found
from sigserve.manager.config import load_model_config_file, validate_model_config
from sigserve.manager.layout import no_versions_message, scan_versions
from sigserve.manager.policy import aspired_versions, missing_specific_versions
from sigserve.manager.state import State, VersionStatus
from sigserve.manager.versions import ModelEntry, ModelVersion, load_failure
from sigserve.types import ModelRef

log = logging.getLogger("sigserve.manager")

Loader = Callable[[str, int], Any]  # (version directory, version) -> servable


@dataclass(frozen=True)
class Handle:
    """What ``acquire`` yields: the version that answers, and its servable."""

    name: str
    version: int
    servable: Any


class ModelManager:
    def __init__(self, config: Any, options: ServerConfig | None = None, *, loader: Loader) -> None:
        validate_model_config(config)
        self._config = config
        self._options = options or ServerConfig()
        self._loader = loader
        self._lock = threading.RLock()  # guards the tables; acquire/release come from any thread
        self._models: dict[str, ModelEntry] = {}
        initial_threads = 4 * (os.cpu_count() or 1)  # TF Serving's num_initial_load_threads
        self._load_threads = max(self._options.num_load_threads, 1)
        self._load_pool = ThreadPoolExecutor(
            max(initial_threads, self._load_threads), thread_name_prefix="sigserve-load"
        )
        self._unload_pool = ThreadPoolExecutor(
            max(self._options.num_unload_threads, 1), thread_name_prefix="sigserve-unload"
        )
        self._load_slots: asyncio.Semaphore | None = None
        self._initial_slots = asyncio.Semaphore(initial_threads)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None
        self._apply_lock: asyncio.Lock | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Load the initial versions; return once every model serves (as TF Serving)."""
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._apply_lock = asyncio.Lock()
        self._load_slots = self._initial_slots
        new_models = await self._apply(self._config, first=True)
        if self._options.file_system_poll_wait_seconds > 0:
            self._spawn(self._poll_file_system())
        await self._wait_available(new_models, waiting_on_disk=self._polls())
        self._load_slots = asyncio.Semaphore(self._load_threads)
        options = self._options
        if options.model_config_file and options.model_config_file_poll_wait_seconds > 0:
            self._spawn(self._poll_config_file())

    async def stop(self) -> None:
        """Stop polling, let loads finish, unload every version."""
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with self._lock:
            for model in self._models.values():
                for entry in list(model.live.values()):
                    entry.aspired = False
                    if entry.state in (State.START, State.LOADING):
                        model.end(entry)  # its load task was cancelled
                self._retire(model, force=True)
        await self._until(lambda: not any(m.live for m in self._models.values()), timeout=30)
        self._load_pool.shutdown(wait=False, cancel_futures=True)
        self._unload_pool.shutdown(wait=False, cancel_futures=True)

    async def reload_config(self, config: Any) -> None:
        """Apply a new ``ModelServerConfig`` at run time (HandleReloadConfigRequest)."""
        new_models = await self._apply(config, first=False)
        await self._wait_available(new_models, waiting_on_disk=self._polls())

    async def poll(self) -> None:
        """Rescan every base path once and load/unload to match (also run periodically)."""
        assert self._apply_lock is not None, "start() first"
        async with self._apply_lock:
            for name in list(self._models):
                await self._reconcile(name)

    # ------------------------------------------------------------------ requests

    @contextlib.contextmanager
    def acquire(self, ref: ModelRef) -> Iterator[Handle]:
        """Hold the version ``ref`` names (latest available by default) while in use."""
        entry = self._checkout(ref)
        try:
            yield Handle(entry.name, entry.version, entry.servable)
        finally:
            self._release(entry)

    def status(self, ref: ModelRef) -> list[VersionStatus]:
        """Per version: state and error, highest version first (GetModelStatus)."""
        if not ref.name:
            raise invalid_argument("ModelSpec has no name specified.")
        with self._lock:
            model = self._models.get(ref.name)
            statuses = model.statuses() if model is not None else {}
            version = ref.version
            if ref.label is not None:
                version = self._label_version(ref.name, ref.label)
        if version is not None:
            if version not in statuses:
                raise not_found(f"Could not find version {version} of model {ref.name}")
            return [statuses[version]]
        if not statuses:
            raise not_found(f"Could not find any versions of model {ref.name}")
        return [statuses[v] for v in sorted(statuses, reverse=True)]

    def _checkout(self, ref: ModelRef) -> ModelVersion:
        if not ref.name:
            raise invalid_argument("ModelSpec has no name specified.")
        if ref.version is not None and ref.label is not None:
            raise invalid_argument("ModelSpec has both version and version_label set.")
        with self._lock:
            model = self._models.get(ref.name)
            version = ref.version
            if ref.label is not None:
                version = self._label_version(ref.name, ref.label)
            if version is None:
                entry = model.latest_available() if model is not None else None
                request = f"Latest({ref.name})"
            else:
                entry = model.available(version) if model is not None else None
                request = f"Specific({ref.name}, {version})"
            if entry is None:
                raise not_found(f"Servable not found for request: {request}")
            entry.refs += 1
            return entry

    def _release(self, entry: ModelVersion) -> None:
        with self._lock:
            entry.refs -= 1
            if entry.refs == 0 and entry.state == State.UNLOADING:
                self._start_unload(entry)

    def _label_version(self, name: str, label: str) -> int:
        model = self._models.get(name)
        if model is None or label not in model.labels:
            raise invalid_argument(f"Unrecognized servable version label: {label}")
        return model.labels[label]

    # ------------------------------------------------------------ configuration

    async def _apply(self, config: Any, *, first: bool) -> list[str]:
        """Install ``config``; start loading; return the names of models it adds."""
        validate_model_config(config)
        assert self._apply_lock is not None, "start() first"
        async with self._apply_lock:
            labels = self._checked_labels(config)
            wanted = {m.name: m for m in config.model_config_list.config}
            with self._lock:
                new_models = [n for n in wanted if first or self._models.get(n) is None
                              or self._models[n].config is None]
                for name, model_config in wanted.items():
                    model = self._models.setdefault(name, ModelEntry(name, model_config))
                    model.config = model_config
                    model.labels = labels.get(name, {})
                for name, model in self._models.items():
                    if name not in wanted:
                        model.config = None
                        model.labels = {}
                self._config = config
            log.info("Adding/updating models.")
            for name in list(self._models):
                await self._reconcile(name, first=first)
        return new_models

    def _checked_labels(self, config: Any) -> dict[str, dict[str, int]]:
        """Labels of ``config``; each must name an available version (TF Serving's rule)."""
        allow_unavailable = self._options.allow_version_labels_for_unavailable_models
        result: dict[str, dict[str, int]] = {}
        with self._lock:
            for model_config in config.model_config_list.config:
                name = model_config.name
                model = self._models.get(name)
                for label, version in sorted(model_config.version_labels.items()):
                    current = model.labels.get(label) if model is not None else None
                    allowed = allow_unavailable and current in (None, version)
                    if not allowed and (model is None or model.available(version) is None):
                        raise failed_precondition(
                            f"Request to assign label to version {version} of model {name}, "
                            "which is not currently available for inference"
                        )
                    result.setdefault(name, {})[label] = version
        return result

    # ------------------------------------------------------- versions on disk

    async def _reconcile(self, name: str, *, first: bool = False) -> None:
        """Make the versions of one model match its policy and what is on disk."""
        model = self._models[name]
        config = model.config
        on_disk: dict[int, str] = {}
        if config is not None:
            try:
                on_disk = await asyncio.to_thread(scan_versions, name, config.base_path)
            except ServingError as e:
                log.error("FileSystemStoragePathSource encountered a filesystem access error: %s",
                          e.message)
                if first and not self._polls():
                    raise
                return  # keep serving what is loaded
            if not on_disk:
                log.warning(no_versions_message(name, config.base_path))
                if first and not self._polls():
                    raise not_found(no_versions_message(name, config.base_path))
            for version in missing_specific_versions(on_disk, config.model_version_policy):
                log.warning("Version %d of servable %s, which was requested to be served as "
                            "a 'specific' version in the servable's version policy, was not "
                            "found in the file system", version, name)
        aspired = (
            aspired_versions(on_disk, config.model_version_policy) if config is not None else set()
        )
        with self._lock:
            model.failed &= aspired
            for entry in model.live.values():
                entry.aspired = entry.version in aspired
            new = sorted(aspired - set(model.live) - model.failed, reverse=True)
            for version in new:
                model.ended.pop(version, None)
                entry = ModelVersion(name, version, on_disk[version])
                model.live[version] = entry
                log.info("Aspiring version %d of servable %s", version, name)
                self._spawn(self._load(model, entry))
            self._retire(model)
        self._notify()

    def _polls(self) -> bool:
        return self._options.file_system_poll_wait_seconds > 0

    async def _poll_file_system(self) -> None:
        while True:
            await asyncio.sleep(self._options.file_system_poll_wait_seconds)
            try:
                await self.poll()
            except Exception:  # a poll must never stop the poller
                log.exception("File system poll failed")

    async def _poll_config_file(self) -> None:
        path = self._options.model_config_file
        while True:
            await asyncio.sleep(self._options.model_config_file_poll_wait_seconds)
            try:
                config = await asyncio.to_thread(load_model_config_file, path)
                if config != self._config:
                    await self.reload_config(config)
            except ServingError as e:
                log.error("PollFilesystemAndReloadConfig failed to ReloadConfig: %s", e.message)

    # ------------------------------------------------------- load and unload

    async def _load(self, model: ModelEntry, entry: ModelVersion) -> None:
        assert self._loop is not None
        attempts = 1 + max(self._options.max_num_load_retries, 0)
        interval = max(self._options.load_retry_interval_micros, 0) / 1e6
        error: ServingError | None = None
        with self._lock:
            entry.move_to(State.LOADING)
        self._notify()
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(interval)
            if not entry.aspired or self._stopping:
                break
            slots = self._load_slots
            assert slots is not None
            async with slots:
                try:
                    servable = await self._loop.run_in_executor(
                        self._load_pool, self._load_and_warm_up, entry
                    )
                except Exception as e:
                    error = load_failure(e)
                    log.error("Loading servable: {name: %s version: %d} failed: %s",
                              entry.name, entry.version, error.message)
                    continue
            with self._lock:
                entry.servable = servable
                entry.move_to(State.AVAILABLE)
                log.info("Successfully loaded servable version {name: %s version: %d}",
                         entry.name, entry.version)
                self._retire(model)
            self._notify()
            return
        with self._lock:
            entry.error = error
            model.end(entry)
            self._retire(model)
        self._notify()

    def _load_and_warm_up(self, entry: ModelVersion) -> Any:
        servable = self._loader(entry.path, entry.version)
        if self._options.enable_model_warmup:
            from sigserve.runtime import warmup

            try:
                warmup.run_warmup(
                    servable, entry.path, self._options.num_request_iterations_for_warmup,
                    version=entry.version,
                )
            except BaseException:
                _unload_quietly(servable)
                raise
        return servable

    def _retire(self, model: ModelEntry, *, force: bool = False) -> None:
        """Unload what the policy no longer wants (caller holds the lock)."""
        unwanted = (
            [v for v in model.live.values() if not v.aspired and v.state == State.AVAILABLE]
            if force
            else model.versions_to_unload()
        )
        for entry in unwanted:
            entry.move_to(State.UNLOADING)
            log.info("Unloading servable version {name: %s version: %d}", entry.name,
                     entry.version)
            if entry.refs == 0:
                self._start_unload(entry)

    def _start_unload(self, entry: ModelVersion) -> None:
        if entry.unload_started:
            return
        entry.unload_started = True
        try:
            self._unload_pool.submit(self._unload, entry)
        except RuntimeError:  # the pool is shut down: a request outlived stop()
            self._unload(entry)

    def _unload(self, entry: ModelVersion) -> None:
        _unload_quietly(entry.servable)
        with self._lock:
            model = self._models[entry.name]
            model.end(entry)
        log.info("Done unloading servable version {name: %s version: %d}", entry.name,
                 entry.version)
        self._notify()

    # ------------------------------------------------------------- waiting

    def _notify(self) -> None:
        loop, changed = self._loop, self._changed
        if loop is None or changed is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            changed.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(changed.set)

    async def _until(self, done: Callable[[], bool], timeout: float | None = None) -> bool:
        """Wait until ``done()`` holds (checked at every state change)."""
        assert self._changed is not None
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            with self._lock:
                if done():
                    return True
            self._changed.clear()
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def _wait_available(self, names: list[str], *, waiting_on_disk: bool) -> None:
        """TF Serving's WaitUntilModelsAvailable: wait until no version of ``names`` is
        still loading; fail if a model's newest version did not become available."""

        def settled() -> bool:
            return all(self._settled(name, waiting_on_disk) for name in names)

        await self._until(settled)
        failures = []
        with self._lock:
            for name in names:
                model = self._models[name]
                latest = model.latest_available()
                newest_failed = max(model.failed, default=None)
                if newest_failed is not None and (latest is None or latest.version < newest_failed):
                    status = model.ended[newest_failed]
                    failures.append(
                        f"{{{{name: {name} version: {newest_failed}}} due to error: "
                        f"{Code(status.error_code).name}: {status.error_message}}}, "
                    )
        if failures:
            raise ServingError(
                Code.UNKNOWN,
                f"{len(failures)} model(s) did not become available: {{{''.join(failures)}}}",
            )

    def _settled(self, name: str, waiting_on_disk: bool) -> bool:
        model = self._models[name]
        if model.config is None:
            return True
        if model.pending():
            return False
        return model.latest_available() is not None or bool(model.failed) or not waiting_on_disk

    def _spawn(self, coroutine: Any) -> None:
        assert self._loop is not None
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _unload_quietly(servable: Any) -> None:
    unload = getattr(servable, "unload", None)
    if unload is None:
        return
    try:
        unload()
    except Exception:
        log.exception("Unloading a servable failed")
