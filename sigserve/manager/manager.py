"""``ModelManager``: which model versions are loaded, and handing them to requests.

- Versions come from each model's base path through its version policy; the
  base paths are rescanned every ``--file_system_poll_wait_seconds``.
- Loads (and warmup, and with ``--probe_new_versions`` a call of every signature)
  run on a thread pool of ``--num_load_threads`` (0: one at a
  time, as TF Serving's manager thread), unloads on ``--num_unload_threads``;
  never on the event loop. A failed load is retried ``--max_num_load_retries``
  times, ``--load_retry_interval_micros`` apart, then reported as END with its
  error.
- A new version loads before the one it replaces is unloaded (TF Serving's
  availability-preserving policy). ``acquire`` counts holders: a version being
  unloaded takes no new requests, and is unloaded once the last one finishes.
  A version aspired again while it unloads loads again once the unload is done
  (TF Serving's pending aspired-versions requests).
- A config is applied as one unit: a reload's caller may stop waiting, the
  apply still completes.
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

STOP_WAIT_SECONDS = 30.0  # stop(): for loads in progress, then again for unloads
MAX_LISTED = 20  # names a NOT_FOUND message lists at most

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
        self._loads: set[asyncio.Task[Any]] = set()  # the _load tasks among _tasks
        self._stopping = False
        self._listeners: list[Callable[[], None]] = []

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

    async def stop(self, timeout: float = STOP_WAIT_SECONDS) -> None:
        """Stop polling; let loads in progress finish (up to ``timeout`` seconds) and
        unload what they produced; unload every version (waiting up to ``timeout``).

        A loader thread cannot be interrupted: one still running after the wait
        unloads its servable itself when it returns. Unloads still queued after the
        wait run in the background (the process exits once they are done).
        """
        self._stopping = True
        others = self._tasks - self._loads
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        with self._lock:
            for model in self._models.values():
                for entry in model.live.values():
                    entry.aspired = False  # loads not begun stop; the rest unload when done
        loads = set(self._loads)
        if loads:
            _, late = await asyncio.wait(loads, timeout=timeout)
            if late:
                log.warning("Stopped waiting for %d load(s) still in progress after %gs; "
                            "each unloads what it loads when it returns", len(late), timeout)
            for task in late:
                task.cancel()
            await asyncio.gather(*loads, return_exceptions=True)
        with self._lock:
            for model in self._models.values():
                self._retire(model, force=True)
        unloaded = await self._until(
            lambda: not any(m.live for m in self._models.values()), timeout=timeout
        )
        if not unloaded:
            log.warning("Versions still unloading after %gs; they finish in the background",
                        timeout)
        self._load_pool.shutdown(wait=False, cancel_futures=True)  # none is queued by now
        self._unload_pool.shutdown(wait=False)  # queued unloads still run

    async def reload_config(self, config: Any) -> None:
        """Apply a new ``ModelServerConfig`` at run time (HandleReloadConfigRequest).

        The apply runs as its own task: a caller that is cancelled (a client's
        deadline) stops waiting, but the config is still applied in full, as in
        TF Serving, where a reload runs to completion whatever the client does.
        """
        assert self._loop is not None, "start() first"
        apply = self._spawn(self._apply(config, first=False))
        try:
            new_models = await asyncio.shield(apply)
        except asyncio.CancelledError:
            apply.add_done_callback(_log_unwatched_failure)
            raise
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

    def availability(self) -> dict[str, bool]:
        """Per configured model: whether it has an AVAILABLE version (health checks)."""
        with self._lock:
            return {
                name: model.latest_available() is not None
                for name, model in self._models.items()
                if model.config is not None
            }

    def version_states(self) -> dict[str, dict[int, str]]:
        """Per model: each version's state, as GetModelStatus reports it (metrics)."""
        with self._lock:
            return {
                name: {v: status.state for v, status in model.statuses().items()}
                for name, model in self._models.items()
            }

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` on the event loop after versions or models change."""
        self._listeners.append(listener)

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
                raise not_found(f"Servable not found for request: {request}{self._hint(model)}")
            entry.refs += 1
            return entry

    def _hint(self, model: ModelEntry | None) -> str:
        """After TF Serving's NOT_FOUND text: the models served (unknown model), or the
        model's available versions (caller holds the lock)."""
        if model is None or model.config is None:
            served = sorted(
                n for n, m in self._models.items()
                if m.config is not None and m.latest_available() is not None
            )
            return f". Models served: {_listed(served)}"
        versions = sorted(v.version for v in model.live.values() if v.state == State.AVAILABLE)
        return f". Available versions: {_listed([str(v) for v in versions])}"

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
                self._spawn_load(model, entry)
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
        with self._lock:
            if entry.state != State.START:  # ended before this task ran (stop)
                return
            entry.move_to(State.LOADING)
        self._notify()
        try:
            loaded, error = await self._load_with_retries(entry)
        except BaseException as e:  # cancelled by stop() after its wait, or a bug here
            with self._lock:
                servable, entry.servable = entry.servable, None
                entry.abandoned = True  # a loader thread still running unloads its result
                if not isinstance(e, asyncio.CancelledError):
                    entry.error = load_failure(e)
                model.end(entry)
                self._retire(model)
            if servable is not None:
                self._unload_servable(servable)
            self._notify()
            raise
        with self._lock:
            if loaded:
                entry.move_to(State.AVAILABLE)
                log.info("Successfully loaded servable version {name: %s version: %d}",
                         entry.name, entry.version)
            else:  # failed, or no longer wanted before a load began
                entry.error = error
                model.end(entry)
            self._retire(model)
        self._notify()

    async def _load_with_retries(self, entry: ModelVersion) -> tuple[bool, ServingError | None]:
        """Load ``entry`` (the loader thread sets its servable): whether it loaded, and
        the last error."""
        assert self._loop is not None
        attempts = 1 + max(self._options.max_num_load_retries, 0)
        interval = max(self._options.load_retry_interval_micros, 0) / 1e6
        error: ServingError | None = None
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(interval)
            if not entry.aspired or self._stopping:
                break
            slots = self._load_slots
            assert slots is not None
            async with slots:
                if not entry.aspired or self._stopping:
                    break
                try:
                    await self._loop.run_in_executor(self._load_pool, self._load_in_thread, entry)
                    return True, None
                except Exception as e:
                    error = load_failure(e)
                    log.error("Loading servable: {name: %s version: %d} failed: %s",
                              entry.name, entry.version, error.message)
        return False, error

    def _load_in_thread(self, entry: ModelVersion) -> None:
        """Load, warm up, probe; hand the servable to ``entry`` or, if the manager gave
        up on this load meanwhile, unload it here."""
        try:
            servable = self._load_and_warm_up(entry)
        except Exception:
            raise
        except BaseException as e:  # SystemExit, KeyboardInterrupt...: still a failed load
            raise load_failure(e) from e
        with self._lock:
            if not entry.abandoned:
                entry.servable = servable
                return
        log.info("Unloading servable version {name: %s version: %d}: it finished loading "
                 "after the server stopped waiting for it", entry.name, entry.version)
        _unload_quietly(servable)

    def _load_and_warm_up(self, entry: ModelVersion) -> Any:
        """Load; replay warmup records; with ``--probe_new_versions``, call every
        signature. Whatever fails unloads the servable and fails the load."""
        servable = self._loader(entry.path, entry.version)
        options = self._options
        try:
            if options.enable_model_warmup:
                from sigserve.runtime import warmup

                warmup.run_warmup(
                    servable, entry.path, options.num_request_iterations_for_warmup,
                    version=entry.version,
                )
            if options.probe_new_versions:
                from sigserve.runtime import version_probe

                version_probe.probe_version(
                    servable, entry.path, version=entry.version,
                    warmup_replayed=options.enable_model_warmup,
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

    def _unload_servable(self, servable: Any) -> None:
        try:
            self._unload_pool.submit(_unload_quietly, servable)
        except RuntimeError:  # the pool is shut down
            _unload_quietly(servable)

    def _unload(self, entry: ModelVersion) -> None:
        _unload_quietly(entry.servable)
        with self._lock:
            model = self._models[entry.name]
            model.end(entry)
            again = None
            if (entry.aspired and not self._stopping and model.config is not None
                    and entry.version not in model.live):
                # Aspired again while it unloaded: load it again, now (TF Serving's
                # pending aspired-versions request). In ``live`` at once, so a reload
                # waiting on this model keeps waiting.
                again = ModelVersion(entry.name, entry.version, entry.path)
                model.live[entry.version] = again
        log.info("Done unloading servable version {name: %s version: %d}", entry.name,
                 entry.version)
        if again is not None:
            log.info("Aspiring version %d of servable %s again", entry.version, entry.name)
            self._on_loop(self._spawn_load, model, again)
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
            self._changed_on_loop()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._changed_on_loop)

    def _changed_on_loop(self) -> None:
        assert self._changed is not None
        self._changed.set()
        for listener in self._listeners:
            try:
                listener()
            except Exception:  # a listener must never break the manager
                log.exception("A model state listener failed")

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

    def _spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        assert self._loop is not None
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _spawn_load(self, model: ModelEntry, entry: ModelVersion) -> None:
        task = self._spawn(self._load(model, entry))
        self._loads.add(task)
        task.add_done_callback(self._loads.discard)

    def _on_loop(self, function: Callable[..., Any], *args: Any) -> None:
        """Call ``function`` on the event loop (from any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(function, *args)


def _listed(names: list[str]) -> str:
    if not names:
        return "(none)"
    shown = ", ".join(names[:MAX_LISTED])
    more = len(names) - MAX_LISTED
    return f"{shown} (and {more} more)" if more > 0 else shown


def _log_unwatched_failure(task: asyncio.Task[Any]) -> None:
    """A config apply whose caller stopped waiting: its failure is only logged."""
    if not task.cancelled() and task.exception() is not None:
        error = task.exception()
        message = error.message if isinstance(error, ServingError) else repr(error)
        log.error("ReloadConfig failed after its caller stopped waiting: %s", message)


def _unload_quietly(servable: Any) -> None:
    unload = getattr(servable, "unload", None)
    if unload is None:
        return
    try:
        unload()
    except Exception:
        log.exception("Unloading a servable failed")
