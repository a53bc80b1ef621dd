"""A loaded SavedModel version: its signatures, and calling them with numpy.

Like TF Serving (a ``SavedModelBundle`` and ``Session::Run`` over the
signature's tensor names), a version is loaded into its own TensorFlow graph
and session with TensorFlow's SavedModel loader, which works for TF1 and TF2
exports alike and runs their init ops (variables, tables). Each signature call
is a session callable fed and fetched by tensor name: no Python tracing per
request, and TensorFlow checks what the graph needs, as in TF Serving (a
``[3]`` tensor fed to a ``[-1, 1]`` placeholder runs when the graph allows it).

Calls are blocking and thread-safe; callers run them off the event loop.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import config_pb2

from sigserve import heap
from sigserve.errors import Code, ServingError, failed_precondition, invalid_argument
from sigserve.runtime.checks import check_inputs
from sigserve.runtime.run_errors import run_error
from sigserve.runtime.signatures import signature_info
from sigserve.types import DEFAULT_SIGNATURE, SignatureInfo

DEFAULT_TAGS = frozenset({"serve"})

# Set once from --tensorflow_intra_op_parallelism / --tensorflow_inter_op_parallelism.
SESSION_CONFIG = config_pb2.ConfigProto(allow_soft_placement=True)

# Session callables kept per version, least recently used evicted first. One is made
# per (signature, sorted output set), as TF Serving shares an executor per sorted fetch
# set; each costs about 90 KB even on a small model (issue 14: 206 callables, +18 MiB).
# 64 holds every output subset of a 6-output signature (63) plus one, or the few sets
# real clients use across many signatures, while bounding the memory at a few MiB.
MAX_CALLABLES = 64

# (signature key, sorted output aliases) for signature calls; (feed tensor names, sorted
# fetch tensor names) for calls by tensor name: the two shapes never collide.
_CallableKey = tuple[str | tuple[str, ...], tuple[str, ...]]


class SavedModelServable:
    """One version of a model, loaded from a SavedModel directory."""

    def __init__(self, path: str, tags: frozenset[str] = DEFAULT_TAGS) -> None:
        self.path = path
        self.tags = tags
        self._graph = tf.Graph()
        self._session = tf.compat.v1.Session(graph=self._graph, config=SESSION_CONFIG)
        try:
            with self._graph.as_default(), _quiet_tf_logs():
                meta_graph = tf.compat.v1.saved_model.loader.load(self._session, sorted(tags), path)
        except tf.errors.OpError as e:
            self._session.close()
            raise ServingError(_code(e), e.message) from None
        except Exception as e:  # the loader raises RuntimeError, ValueError, IOError, ...
            self._session.close()
            raise invalid_argument(f"Failed to load SavedModel at {path}: {e}") from None
        self.signature_defs = dict(meta_graph.signature_def)
        self.signatures: dict[str, SignatureInfo] = {
            name: signature_info(sig) for name, sig in self.signature_defs.items()
        }
        self._callables: OrderedDict[_CallableKey, Any] = OrderedDict()  # LRU
        self._lock = threading.Lock()

    def signature(self, name: str) -> SignatureInfo:
        """The signature ``name`` ('' is serving_default), or FAILED_PRECONDITION."""
        key = name or DEFAULT_SIGNATURE
        try:
            return self.signatures[key]
        except KeyError:
            raise failed_precondition(f'Serving signature key "{key}" not found.') from None

    def check(
        self, signature_name: str, inputs: Mapping[str, np.ndarray], output_filter: Sequence[str]
    ) -> None:
        """Raise what :meth:`run` would raise for these arguments before running anything
        (the batcher checks each request before it joins a batch)."""
        signature = self.signature(signature_name)
        _outputs_wanted(signature, output_filter)
        check_inputs(signature, inputs, signature_name or DEFAULT_SIGNATURE)

    def run(
        self,
        signature_name: str,
        inputs: Mapping[str, np.ndarray],
        output_filter: Sequence[str] = (),
    ) -> dict[str, np.ndarray]:
        """Call one signature with numpy inputs; the outputs as numpy, by output key."""
        key = signature_name or DEFAULT_SIGNATURE
        signature = self.signature(key)
        wanted = tuple(_outputs_wanted(signature, output_filter))
        feeds = check_inputs(signature, inputs, key)
        fetched = tuple(sorted(wanted))  # one callable per output set, whatever its order
        run = self._callable(key, fetched)
        try:
            values = run(*(feeds[name] for name in sorted(signature.inputs)))
        except tf.errors.OpError as e:
            raise run_error(e.error_code, e.message, key, signature) from None
        by_name = dict(zip(fetched, values, strict=True))
        return {name: _owned(by_name[name]) for name in wanted}  # in the client's order

    def run_tensors(
        self,
        feeds: Mapping[str, np.ndarray],
        fetches: Sequence[str],
        errors_as: str,
    ) -> dict[str, np.ndarray]:
        """One session run fed and fetched by graph tensor name (MultiInference runs the
        union of its tasks' outputs once, as TF Serving does). A TensorFlow error reads
        as one from running signature ``errors_as``."""
        feed_names = tuple(sorted(feeds))
        fetched = tuple(sorted(set(fetches)))
        run = self._callable_for(feed_names, fetched)
        try:
            values = run(*(feeds[name] for name in feed_names))
        except tf.errors.OpError as e:
            raise run_error(e.error_code, e.message, errors_as, self.signature(errors_as)) from None
        return {name: _owned(value) for name, value in zip(fetched, values, strict=True)}

    def _callable(self, key: str, outputs: tuple[str, ...]) -> Any:
        """The session callable of signature ``key`` fetching ``outputs`` (sorted)."""
        signature = self.signatures[key]
        feeds = tuple(signature.inputs[name].name for name in sorted(signature.inputs))
        fetches = tuple(signature.outputs[name].name for name in outputs)
        return self._cached((key, outputs), feeds, fetches)

    def _callable_for(self, feeds: tuple[str, ...], fetches: tuple[str, ...]) -> Any:
        """The session callable feeding and fetching these graph tensor names."""
        return self._cached((feeds, fetches), feeds, fetches)

    def _cached(
        self, cache_key: _CallableKey, feeds: tuple[str, ...], fetches: tuple[str, ...]
    ) -> Any:
        """A session callable, kept in a cache of at most :data:`MAX_CALLABLES` (an
        evicted one in use by a running call lives until that call ends)."""
        with self._lock:
            run = self._callables.get(cache_key)
            if run is not None:
                self._callables.move_to_end(cache_key)
                return run
            options = config_pb2.CallableOptions(feed=list(feeds), fetch=list(fetches))
            try:
                run = self._session._make_callable_from_options(options)
            except tf.errors.OpError as e:
                raise ServingError(_code(e), e.message) from None
            self._callables[cache_key] = run
            while len(self._callables) > MAX_CALLABLES:
                self._callables.popitem(last=False)
        return run

    def unload(self) -> None:
        """Close the session so its memory (variables, graph) is released."""
        self._callables.clear()
        self._session.close()
        heap.collect_after_unload()


def _outputs_wanted(signature: SignatureInfo, output_filter: Sequence[str]) -> list[str]:
    if not output_filter:
        return list(signature.outputs)
    seen: set[str] = set()
    for alias in output_filter:
        if alias not in signature.outputs:
            raise invalid_argument(
                f"output tensor alias not found in signature: {alias} Outputs expected to be "
                f"in the set {{{','.join(sorted(signature.outputs))}}}."
            )
        if alias in seen:
            raise invalid_argument(f"duplicate output tensor alias: {alias}")
        seen.add(alias)
    return list(output_filter)


def _owned(value: Any) -> np.ndarray:
    """Session results as numpy arrays; scalars stay 0-d arrays."""
    return value if isinstance(value, np.ndarray) else np.asarray(value)


def _code(error: tf.errors.OpError) -> Code:
    try:
        return Code(error.error_code)
    except ValueError:
        return Code.UNKNOWN


class _quiet_tf_logs:
    """Silence the loader's deprecation warning (it is the API TF Serving's loader mirrors)."""

    def __enter__(self) -> None:
        self._logger = logging.getLogger("tensorflow")
        self._level = self._logger.level
        self._logger.setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        self._logger.setLevel(self._level)


def configure_threads(intra_op: int, inter_op: int) -> None:
    """``--tensorflow_intra_op_parallelism`` / ``--tensorflow_inter_op_parallelism``
    (0 leaves TensorFlow's choice), applied to every session loaded afterwards."""
    SESSION_CONFIG.intra_op_parallelism_threads = max(intra_op, 0)
    SESSION_CONFIG.inter_op_parallelism_threads = max(inter_op, 0)


def load(path: str, tags: frozenset[str] = DEFAULT_TAGS) -> SavedModelServable:
    """Load the SavedModel at ``path`` (blocking)."""
    servable = SavedModelServable(path, tags)
    heap.freeze_after_load()
    return servable
