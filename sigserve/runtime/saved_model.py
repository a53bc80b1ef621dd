"""A loaded SavedModel version: its signatures, and calling them with numpy.

Calls are blocking (TensorFlow work): callers run them in a thread pool, never
on the event loop. Calls are thread-safe.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Mapping, Sequence

import numpy as np
import tensorflow as tf

from sigserve.errors import Code, ServingError, failed_precondition, internal, invalid_argument
from sigserve.runtime.checks import check_inputs
from sigserve.runtime.signatures import read_meta_graph, signature_info
from sigserve.types import DEFAULT_SIGNATURE, SignatureInfo

DEFAULT_TAGS = frozenset({"serve"})


class SavedModelServable:
    """One version of a model, loaded from a SavedModel directory."""

    def __init__(self, path: str, tags: frozenset[str] = DEFAULT_TAGS) -> None:
        self.path = path
        self.tags = tags
        meta_graph = read_meta_graph(path, tags)
        self.signature_defs = dict(meta_graph.signature_def)
        self.signatures: dict[str, SignatureInfo] = {
            name: signature_info(sig) for name, sig in self.signature_defs.items()
        }
        try:
            self._loaded = tf.saved_model.load(path, tags=sorted(tags))
        except tf.errors.OpError as e:
            raise ServingError(_op_error_code(e), e.message) from None
        except Exception as e:  # TF raises many types for a broken export
            raise invalid_argument(f"Failed to load SavedModel at {path}: {e}") from None
        self._functions = dict(self._loaded.signatures)
        self._lock = threading.Lock()

    def signature(self, name: str) -> SignatureInfo:
        """The signature ``name`` ('' is serving_default), or FAILED_PRECONDITION."""
        key = name or DEFAULT_SIGNATURE
        try:
            return self.signatures[key]
        except KeyError:
            raise failed_precondition(f'Serving signature key "{key}" not found.') from None

    def run(
        self,
        signature_name: str,
        inputs: Mapping[str, np.ndarray],
        output_filter: Sequence[str] = (),
    ) -> dict[str, np.ndarray]:
        """Call one signature with numpy inputs; the outputs as numpy, by output key."""
        key = signature_name or DEFAULT_SIGNATURE
        signature = self.signature(key)
        wanted = _outputs_wanted(signature, output_filter)
        tensors = check_inputs(signature, inputs)
        function = self._functions.get(key)
        if function is None:
            raise failed_precondition(f'Serving signature key "{key}" not found.')
        try:
            results = function(**{k: tf.constant(v) for k, v in tensors.items()})
        except tf.errors.OpError as e:
            raise ServingError(_op_error_code(e), e.message) from None
        except (TypeError, ValueError) as e:
            raise invalid_argument(str(e)) from None
        try:
            return {name: results[name].numpy() for name in wanted}
        except KeyError as e:
            raise internal(f"Signature {key} did not produce output {e}") from None

    def unload(self) -> None:
        """Drop the TensorFlow objects so their memory can be released."""
        self._functions.clear()
        self._loaded = None
        gc.collect()


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


def _op_error_code(error: tf.errors.OpError) -> Code:
    try:
        return Code(error.error_code)
    except ValueError:
        return Code.UNKNOWN


def load(path: str, tags: frozenset[str] = DEFAULT_TAGS) -> SavedModelServable:
    """Load the SavedModel at ``path`` (blocking)."""
    return SavedModelServable(path, tags)
